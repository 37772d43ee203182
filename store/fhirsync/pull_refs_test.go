package fhirsync_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mycarerecord/portal/e2e/upstream"
	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// refTypes are the resources a sync fetches because record items point at them.
var refTypes = []string{"Organization", "Practitioner", "Location", "Medication"}

// refRecorder sees every request a sync's client sends and keeps those for
// referenced resources (a search by _id of one of refTypes): each one's ids,
// and how many were in flight at once at most. It holds each of those a
// moment before sending it, so requests that may overlap do.
type refRecorder struct {
	hold time.Duration

	mu       sync.Mutex
	inFlight int
	most     int
	asked    map[string][][]string // type → the ids of each request
}

func (rr *refRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	typ := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	if !slices.Contains(refTypes, typ) || !r.URL.Query().Has("_id") {
		return http.DefaultTransport.RoundTrip(r)
	}
	rr.mu.Lock()
	rr.inFlight++
	rr.most = max(rr.most, rr.inFlight)
	rr.asked[typ] = append(rr.asked[typ], strings.Split(r.URL.Query().Get("_id"), ","))
	rr.mu.Unlock()
	defer func() {
		rr.mu.Lock()
		rr.inFlight--
		rr.mu.Unlock()
	}()
	time.Sleep(rr.hold)
	return http.DefaultTransport.RoundTrip(r)
}

// reset forgets what was recorded, for the next sync.
func (rr *refRecorder) reset() {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	rr.most, rr.asked = 0, map[string][][]string{}
}

// seen returns the ids each request asked for, by type, and the most in flight at once.
func (rr *refRecorder) seen() (map[string][][]string, int) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return rr.asked, rr.most
}

// addReferences loads, beside the patient's own data, n Practitioners and
// n/2 Organizations, 6 Locations and 3 Medications, and encounters and
// prescriptions of the patient that point at every one of them.
func addReferences(t *testing.T, srv *upstream.Server, patientID string, n int) {
	t.Helper()
	var entries []string
	add := func(format string, args ...any) {
		entries = append(entries, `{"resource":`+fmt.Sprintf(format, args...)+`}`)
	}
	for i := range n {
		add(`{"resourceType":"Practitioner","id":"ref-pr-%03d","name":[{"family":"Clinician%03d","given":["Sam"]}]}`, i, i)
		if i < n/2 {
			add(`{"resourceType":"Organization","id":"ref-org-%03d","name":"Practice %03d"}`, i, i)
		}
		if i < 6 {
			add(`{"resourceType":"Location","id":"ref-loc-%d","name":"Clinic room %d"}`, i, i)
		}
		if i < 3 {
			add(`{"resourceType":"Medication","id":"ref-med-%d","code":{"text":"Medicine %d"}}`, i, i)
			add(`{"resourceType":"MedicationRequest","id":"ref-mr-%d","status":"active","intent":"order","subject":{"reference":"Patient/%s"},
"medicationReference":{"reference":"Medication/ref-med-%d"},"authoredOn":"2026-02-01"}`, i, patientID, i)
		}
		add(`{"resourceType":"Encounter","id":"ref-enc-%03d","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/%s"},
"period":{"start":"2026-02-01T09:00:00Z"},"participant":[{"individual":{"reference":"Practitioner/ref-pr-%03d"}}],
"serviceProvider":{"reference":"Organization/ref-org-%03d"},"location":[{"location":{"reference":"Location/ref-loc-%d"}}]}`,
			i, patientID, i, i%(n/2), i%6)
	}
	srv.Load(t, []byte(`{"resourceType":"Bundle","type":"collection","entry":[`+strings.Join(entries, ",")+`]}`))
}

var anyRef = regexp.MustCompile(`"reference"\s*:\s*"([^"]+)"`)

// upstreamReferences reads, from the server itself, what the patient's
// resources of the types pulled (and their Patient) point at among refTypes:
// type → ids.
func upstreamReferences(t *testing.T, srv *upstream.Server, patientID string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	raws := srv.Resources(t, "Patient", "_id="+patientID)
	for _, typ := range fhirsync.PullTypes() {
		raws = append(raws, srv.Resources(t, typ, "patient=Patient/"+patientID)...)
	}
	for _, raw := range raws {
		for _, m := range anyRef.FindAllSubmatch(raw, -1) {
			typ, id, ok := strings.Cut(strings.TrimPrefix(string(m[1]), srv.URL+"/"), "/")
			if ok && slices.Contains(refTypes, typ) && !strings.Contains(id, "/") && !slices.Contains(out[typ], id) {
				out[typ] = append(out[typ], id)
			}
		}
	}
	return out
}

// TestPullResolvesReferencesInBoundedBatches syncs the largest Synthea
// patient from the real FHIR server, with 130 Practitioners and 65
// Organizations more that their visits name, and watches the searches for
// referenced resources: none asks for more than 50 ids, no more than 4 are in
// flight at once, every Organization, Practitioner, Location and Medication
// the record points at is then cached, and a second sync with nothing changed
// upstream asks for none of them again.
func TestPullResolvesReferencesInBoundedBatches(t *testing.T) {
	const (
		maxIDs     = 50 // ids in one search
		maxWorkers = 4  // searches in flight at once
	)
	ctx := context.Background()
	srv, patientID := startServer(t)
	addReferences(t, srv, patientID, 130)
	want := upstreamReferences(t, srv, patientID)
	if len(want["Practitioner"]) <= 2*maxIDs || len(want["Organization"]) <= maxIDs || len(want["Location"]) == 0 || len(want["Medication"]) == 0 {
		t.Fatalf("the record points at %d Practitioners, %d Organizations, %d Locations, %d Medications; the test needs more",
			len(want["Practitioner"]), len(want["Organization"]), len(want["Location"]), len(want["Medication"]))
	}

	db := openDB(t)
	src, err := db.AddSource(ctx, store.Source{Name: "lth", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	rec := &refRecorder{hold: 150 * time.Millisecond}
	rec.reset()
	opts := fastClient
	opts.HTTPClient = &http.Client{Transport: rec}
	puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" }, opts).Get, Reconcile: -1}
	person, err := puller.FindPerson(ctx, src, syntheaSystem, patientID)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
		t.Fatal(err)
	}
	asked, most := rec.seen()
	requests := 0
	for typ, reqs := range asked {
		for i, ids := range reqs {
			requests++
			if len(ids) > maxIDs {
				t.Errorf("%s search %d asked for %d ids, want at most %d", typ, i+1, len(ids), maxIDs)
			}
		}
	}
	t.Logf("first sync: %d searches for %d Practitioners, %d Organizations, %d Locations and %d Medications, at most %d at once",
		requests, len(want["Practitioner"]), len(want["Organization"]), len(want["Location"]), len(want["Medication"]), most)
	if most > maxWorkers {
		t.Errorf("%d searches for referenced resources were in flight at once, want at most %d", most, maxWorkers)
	}
	if most < 2 {
		t.Errorf("no more than %d search for referenced resources was in flight at once: they are not fetched concurrently", most)
	}
	for _, typ := range refTypes {
		cached, err := db.CachedIDs(ctx, src.ID, "", typ)
		if err != nil {
			t.Fatal(err)
		}
		var missing []string
		for _, id := range want[typ] {
			if !slices.Contains(cached, id) {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			t.Errorf("%d of the %d %ss the record points at are not cached: %v", len(missing), len(want[typ]), typ, missing[:min(5, len(missing))])
		}
	}

	rec.reset()
	if sum, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil || sum.Added+sum.Updated+sum.Deleted != 0 {
		t.Fatalf("second sync with nothing changed upstream: %+v, %v", sum, err)
	}
	if asked, _ := rec.seen(); len(asked) > 0 {
		again := url.Values{}
		for typ, reqs := range asked {
			for _, ids := range reqs {
				again[typ] = append(again[typ], ids...)
			}
		}
		t.Errorf("second sync with nothing changed upstream fetched cached references again: %v", again)
	}
}
