package fhirsync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mycarerecord/portal/e2e/upstream"
	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/store/fhirsync"
)

const (
	largest       = "Lawerence6_Baumbach677_ea8d2576-4a23-4906-c353-bfed5adb23bd.json"
	syntheaSystem = "https://github.com/synthetichealth/synthea"
)

// fastClient retries quickly so fault tests run in seconds, with a breaker
// that does not open on purpose-made faults.
var fastClient = fhirsync.ClientOptions{Timeout: 10 * time.Second, MaxAttempts: 8, BaseDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond, BreakerThreshold: 1000}

func openDB(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// startServer runs the real FHIR server with the largest Synthea patient and
// the organisations and practitioners it refers to, and returns the patient's id.
func startServer(t *testing.T) (*upstream.Server, string) {
	t.Helper()
	return upstream.StartWithPatient(t, largest)
}

type versions map[string]string // "Type/id" → versionId

// upstreamCopy is every resource the server holds about the patient, of the types pulled.
func upstreamCopy(t *testing.T, srv *upstream.Server, patientID string) versions {
	t.Helper()
	out := versions{}
	for _, typ := range fhirsync.PullTypes() {
		for _, raw := range srv.Resources(t, typ, "patient=Patient/"+patientID) {
			id, v := idVersion(t, raw)
			out[typ+"/"+id] = v
		}
	}
	return out
}

// localCopy is every cached resource about the person of the types pulled.
func localCopy(t *testing.T, db *store.DB, personID int64) versions {
	t.Helper()
	pulled := map[string]bool{}
	for _, typ := range fhirsync.PullTypes() {
		pulled[typ] = true
	}
	out := versions{}
	err := db.PersonResources(context.Background(), personID, func(c store.CachedResource) error {
		if pulled[c.Type] {
			key := c.Type + "/" + c.ID
			if _, dup := out[key]; dup {
				return fmt.Errorf("%s cached twice", key)
			}
			_, out[key] = idVersion(t, c.Raw)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func idVersion(t *testing.T, raw []byte) (string, string) {
	var r struct {
		ID   string
		Meta struct{ VersionID string }
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return r.ID, r.Meta.VersionID
}

func sameCopy(t *testing.T, want, got versions) {
	t.Helper()
	var diffs []string
	for k, v := range want {
		if g, ok := got[k]; !ok {
			diffs = append(diffs, "missing "+k)
		} else if g != v {
			diffs = append(diffs, fmt.Sprintf("%s: version %s, upstream has %s", k, g, v))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, "extra "+k)
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("cache differs from upstream in %d places (of %d upstream): %s", len(diffs), len(want), strings.Join(diffs[:min(10, len(diffs))], "; "))
	}
}

// TestPullIsAnExactCopy syncs the largest Synthea patient from a real FHIR
// server, then changes, deletes and adds resources upstream and syncs again.
func TestPullIsAnExactCopy(t *testing.T) {
	ctx := context.Background()
	srv, patientID := startServer(t)
	db := openDB(t)
	src, err := db.AddSource(ctx, store.Source{Name: "lth", OrgName: "Leeds Teaching Hospitals", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" }, fastClient).Get, PageSize: 50}
	person, err := puller.FindPerson(ctx, src, syntheaSystem, patientID)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	sum, err := puller.PullPerson(ctx, src, person.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := upstreamCopy(t, srv, patientID)
	t.Logf("first sync: %+v, %d resources upstream, %s", sum, len(want), time.Since(start).Round(time.Millisecond))
	if len(want) < 1000 {
		t.Fatalf("upstream holds only %d resources for the patient: the server did not load the bundle", len(want))
	}
	sameCopy(t, want, localCopy(t, db, person.ID))

	// A second sync with nothing changed upstream changes nothing here.
	again, err := puller.PullPerson(ctx, src, person.ID, nil)
	if err != nil || again.Added != 0 || again.Updated != 0 || again.Deleted != 0 {
		t.Errorf("sync with nothing new: %+v, %v", again, err)
	}

	// Upstream changes one observation, deletes one immunisation and adds a condition.
	obs := srv.Search(t, "Observation?patient=Patient/"+patientID+"&_count=1").Entry[0].Resource
	obsID, _ := idVersion(t, obs)
	changed := strings.Replace(string(obs), `"status":"final"`, `"status":"amended"`, 1)
	if status, body := srv.Do(t, "PUT", "/Observation/"+obsID, []byte(changed)); status != 200 {
		t.Fatalf("update observation: %d %s", status, body)
	}
	imm := srv.Search(t, "Immunization?patient=Patient/"+patientID+"&_count=1").Entry[0].Resource
	immID, _ := idVersion(t, imm)
	if status, body := srv.Do(t, "DELETE", "/Immunization/"+immID, nil); status != 200 && status != 204 {
		t.Fatalf("delete immunisation: %d %s", status, body)
	}
	cond := `{"resourceType":"Condition","subject":{"reference":"Patient/` + patientID + `"},"code":{"text":"Hay fever"},"clinicalStatus":{"coding":[{"code":"active"}]}}`
	if status, body := srv.Do(t, "POST", "/Condition", []byte(cond)); status != 201 {
		t.Fatalf("add condition: %d %s", status, body)
	}
	puller.Reconcile = -1 // the type history shows the deletion; no full listing needed
	inc, err := puller.PullPerson(ctx, src, person.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Added != 1 || inc.Updated != 1 || inc.Deleted != 1 {
		t.Errorf("incremental sync: %+v, want 1 added, 1 updated, 1 deleted", inc)
	}
	sameCopy(t, upstreamCopy(t, srv, patientID), localCopy(t, db, person.ID))
	sp, err := db.RecordSection(ctx, person.ID, "conditions", 1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, it := range sp.Items {
		found = found || it.Display == "Hay fever"
	}
	if !found {
		t.Error("the new condition is not on the conditions page")
	}
}

// TestPullConvergesUnderFaults syncs through a proxy that fails one request in
// five (delays, dropped connections, 500s, 429s with Retry-After, cut bodies,
// damaged resources) until the cache is an exact copy, once for each of
// several seeds: one seed's few dozen requests may meet few faults, or not
// every kind, so across them at least 15% of requests must have met one
// (a damage drawn for an answer that is not a page of results does nothing,
// and does not count) and every kind at least once.
func TestPullConvergesUnderFaults(t *testing.T) {
	var requests, injected int
	kinds := map[upstream.Fault]int{}
	for seed := int64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			proxy := convergeUnderFaults(t, seed)
			requests += proxy.Requests()
			injected += proxy.Injected()
			for k, n := range proxy.InjectedByKind() {
				kinds[k] += n
			}
		})
	}
	t.Logf("%d requests, %d faults (%.0f%%) %v", requests, injected, 100*float64(injected)/float64(max(requests, 1)), kinds)
	if float64(injected) < 0.15*float64(requests) {
		t.Errorf("%d faults in %d requests: under 15%%, so the test did not sync through a 20%% fault rate", injected, requests)
	}
	for _, k := range upstream.AllFaults {
		if kinds[k] == 0 {
			t.Errorf("no %v fault was injected", k)
		}
	}
}

// convergeUnderFaults syncs the patient through a proxy failing one request
// in five, drawn from seed, until the cache is an exact copy.
func convergeUnderFaults(t *testing.T, seed int64) *upstream.FaultProxy {
	ctx := context.Background()
	srv, patientID := startServer(t)
	proxy := upstream.NewFaultProxy(t, srv.URL, upstream.Faults{Rate: 0.2, Seed: seed, Delay: 20 * time.Millisecond})
	db := openDB(t)
	src, err := db.AddSource(ctx, store.Source{Name: "lth", BaseURL: proxy.URL})
	if err != nil {
		t.Fatal(err)
	}
	// The clients' clock moves on when the source asks to wait (below).
	var ahead atomic.Int64
	opts := fastClient
	opts.Now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" }, opts).Get, PageSize: 100}
	var person store.Person
	for try := 0; ; try++ {
		if person, err = puller.FindPerson(ctx, src, syntheaSystem, patientID); err == nil {
			break
		}
		if try == 10 {
			t.Fatal(err)
		}
	}
	runs := 0
	for ; ; runs++ {
		_, err := puller.PullPerson(ctx, src, person.ID, nil)
		open, uerr := db.Unresolved(ctx, src.ID, 1)
		if uerr != nil {
			t.Fatal(uerr)
		}
		if err == nil && len(open) == 0 {
			break
		}
		if runs == 30 {
			t.Fatalf("not converged after %d syncs: %v", runs+1, err)
		}
		// A 429's Retry-After (1 s) is longer than these clients wait within a
		// call, so the source is left alone until then: the next sync is then.
		if we := (*fhirsync.WaitError)(nil); errors.As(err, &we) {
			ahead.Add(int64(we.Until.Sub(opts.Now())))
		}
	}
	t.Logf("converged after %d syncs; proxy: %d requests, %d faults %v", runs+1, proxy.Requests(), proxy.Injected(), proxy.InjectedByKind())
	sameCopy(t, upstreamCopy(t, srv, patientID), localCopy(t, db, person.ID))
	return proxy
}

// TestFailingSourceDoesNotStopAnother pulls one person from a working source
// and from one that does not answer.
func TestFailingSourceDoesNotStopAnother(t *testing.T) {
	ctx := context.Background()
	srv, patientID := startServer(t)
	db := openDB(t)
	good, err := db.AddSource(ctx, store.Source{Name: "good", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := db.AddSource(ctx, store.Source{Name: "dead", OrgName: "Dead Hospital", BaseURL: "http://127.0.0.1:1/fhir"})
	if err != nil {
		t.Fatal(err)
	}
	puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" }, fastClient).Get}
	person, err := puller.FindPerson(ctx, good, syntheaSystem, patientID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := puller.PullPerson(ctx, bad, person.ID, nil); err == nil {
		t.Fatal("a source that does not answer reported success")
	}
	if _, err := puller.PullPerson(ctx, good, person.ID, nil); err != nil {
		t.Fatalf("working source failed after the dead one: %v", err)
	}
	sts, err := db.SyncStatuses(ctx, person.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sts {
		switch st.Source.Name {
		case "dead":
			if st.LastError == "" || st.FailingSince == "" {
				t.Errorf("dead source status: %+v", st)
			}
			if strings.Contains(st.LastError, "127.0.0.1") {
				t.Errorf("status shown to people leaks an address: %q", st.LastError)
			}
		case "good":
			if st.LastError != "" || st.LastSuccessAt == "" {
				t.Errorf("good source status: %+v", st)
			}
		}
	}
}

// TestReconcileFindsDeletions removes a resource upstream in a way its history
// does not show (as on servers without history) and checks a full listing finds it.
func TestReconcileFindsDeletions(t *testing.T) {
	ctx := context.Background()
	srv, patientID := startServer(t)
	db, src, puller, person := syncedPerson(t, srv.URL, patientID)
	// Empty the server and load the patient again without one procedure: history starts afresh.
	if status, body := srv.Do(t, "POST", "/$reset", nil); status >= 300 {
		t.Fatalf("reset: %d %s", status, body)
	}
	for _, name := range []string{upstream.HospitalBundle, upstream.PractitionerBundle, largest} {
		srv.Load(t, withoutFirst(t, upstream.SharedBundle(t, name), "Procedure"))
	}
	puller.Reconcile = time.Nanosecond
	sum, err := puller.PullPerson(ctx, src, person.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Deleted != 1 {
		t.Errorf("reconciliation deleted %d, want 1", sum.Deleted)
	}
	sameCopy(t, upstreamCopy(t, srv, patientID), localCopy(t, db, person.ID))
}

// TestReconcileRepairsAndChecksBeforeDeleting syncs, then loses one cached
// procedure (as a search whose offset pages shifted while they were read can
// skip one) and reconciles through a proxy whose searches leave another out
// (as a listing read while upstream changes can): the lost one is fetched
// again, and the left-out one, which upstream still has, is kept.
func TestReconcileRepairsAndChecksBeforeDeleting(t *testing.T) {
	ctx := context.Background()
	srv, patientID := startServer(t)
	proxy := upstream.NewFaultProxy(t, srv.URL, upstream.Faults{})
	db, src, puller, person := syncedPerson(t, proxy.URL, patientID)
	want := upstreamCopy(t, srv, patientID)
	procs := srv.Search(t, "Procedure?patient=Patient/"+patientID+"&_count=2").Entry
	if len(procs) != 2 {
		t.Fatalf("the patient has %d procedures; the test needs 2", len(procs))
	}
	lost, _ := idVersion(t, procs[0].Resource)
	left, _ := idVersion(t, procs[1].Resource)
	if _, err := db.ApplyPage(ctx, store.PageUpdate{Source: "lth", PersonID: person.ID, ResourceType: "Procedure", Origin: "test",
		Deleted: []fhir.Resource{{Type: "Procedure", ID: lost}}}); err != nil {
		t.Fatal(err)
	}
	proxy.SetFaults(upstream.Faults{LeaveOut: []string{"Procedure/" + left}})
	puller.Reconcile = time.Nanosecond
	sum, err := puller.PullPerson(ctx, src, person.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Deleted != 0 || sum.Added != 1 {
		t.Errorf("reconciliation: %+v; want the lost procedure added again and nothing deleted", sum)
	}
	sameCopy(t, want, localCopy(t, db, person.ID))
}

// TestPullRepairsAShiftedSearch changes an observation upstream while the
// first sync reads the observations page by page: the search is sorted by
// _lastUpdated and its next links are offsets, so the changed one moves to
// the end, every later one moves up a place, and one is skipped, which the
// watermark then passes. The sync sees that a later page changed after the
// first was served, and searches again from where it started, fetching the
// one skipped.
func TestPullRepairsAShiftedSearch(t *testing.T) {
	ctx := context.Background()
	srv, patientID := startServer(t)
	db, src, puller, person := foundPerson(t, srv.URL, patientID)
	puller.PageSize = 20
	changed := false
	progress := func(pr fhirsync.Progress) {
		if pr.ResourceType != "Observation" || changed {
			return
		}
		changed = true
		obs := srv.Search(t, "Observation?patient=Patient/"+patientID+"&_sort=_lastUpdated&_count=1").Entry[0].Resource
		id, _ := idVersion(t, obs)
		amend(t, srv, id)
	}
	if _, err := puller.PullPerson(ctx, src, person.ID, progress); err != nil {
		t.Fatal(err)
	}
	if !changed {
		t.Fatal("no observation page was stored: the test changed nothing")
	}
	sameCopy(t, upstreamCopy(t, srv, patientID), localCopy(t, db, person.ID))
}

// TestPullGoesOnPastDeadEnds resumes a sync whose saved next link the server
// no longer answers (links can expire), with a resource kept aside that
// cannot be read again (it named no type): the search starts again from the
// watermark, the kept-aside one stays aside, and neither stops the sync.
func TestPullGoesOnPastDeadEnds(t *testing.T) {
	ctx := context.Background()
	srv, patientID := startServer(t)
	db, src, puller, person := foundPerson(t, srv.URL, patientID)
	cp := store.Checkpoint{NextURL: srv.URL + "/Observation/expired-search?page=2"}
	if _, err := db.ApplyPage(ctx, store.PageUpdate{Source: "lth", PersonID: person.ID, ResourceType: "Observation", Origin: "test", Checkpoint: &cp,
		Rejected: []store.Rejected{{ID: "x1", Error: "the resource has no resourceType", Raw: []byte(`{"id":"x1"}`)}}}); err != nil {
		t.Fatal(err)
	}
	for run := 1; run <= 2; run++ {
		if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
			t.Fatalf("sync %d: %v", run, err)
		}
	}
	sameCopy(t, upstreamCopy(t, srv, patientID), localCopy(t, db, person.ID))
	if open, err := db.Unresolved(ctx, src.ID, 10); err != nil || len(open) != 1 || open[0].ID != "x1" {
		t.Errorf("kept aside: %+v, %v; want x1 still", open, err)
	}
}

// foundPerson is a store with the FHIR server at base as the source "lth", a
// puller for it that reconciles only when told to, and the person the
// server's Patient patientID is, found there but not yet synced.
func foundPerson(t *testing.T, base, patientID string) (*store.DB, store.Source, *fhirsync.Puller, store.Person) {
	t.Helper()
	ctx := context.Background()
	db := openDB(t)
	src, err := db.AddSource(ctx, store.Source{Name: "lth", BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" }, fastClient).Get, Reconcile: -1}
	person, err := puller.FindPerson(ctx, src, syntheaSystem, patientID)
	if err != nil {
		t.Fatal(err)
	}
	return db, src, puller, person
}

// syncedPerson is foundPerson, synced once.
func syncedPerson(t *testing.T, base, patientID string) (*store.DB, store.Source, *fhirsync.Puller, store.Person) {
	t.Helper()
	db, src, puller, person := foundPerson(t, base, patientID)
	if _, err := puller.PullPerson(context.Background(), src, person.ID, nil); err != nil {
		t.Fatal(err)
	}
	return db, src, puller, person
}

// withoutFirst is the bundle file with its first resource of that type left out.
func withoutFirst(t *testing.T, path, typ string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var b map[string]json.RawMessage
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	var entries []struct {
		Resource struct{ ResourceType string } `json:"resource"`
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b["entry"], &entries); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b["entry"], &raw); err != nil {
		t.Fatal(err)
	}
	for i, e := range entries {
		if e.Resource.ResourceType == typ {
			raw = append(raw[:i], raw[i+1:]...)
			break
		}
	}
	if b["entry"], err = json.Marshal(raw); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPullStopsOnANextLinkItCannotFollow pulls through a server whose
// Observation pages link to another host, as a server behind a proxy that
// names its own inner address can: the search starts again once, the fresh
// first page has the same link, and the type then fails (it did not loop for
// ever, searching thousands of times), recorded like any failure, and the
// other types are pulled all the same.
func TestPullStopsOnANextLinkItCannotFollow(t *testing.T) {
	srv, patientID := startServer(t)
	stub := newStubProxy(t, srv.URL, nil, func(r *http.Request, body []byte) []byte {
		if r.URL.Path != upstream.BasePath+"/Observation" {
			return body
		}
		return bytes.ReplaceAll(body, []byte(`"relation":"next","url":"http://`+r.Host), []byte(`"relation":"next","url":"http://internal-host:8080`))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	db, src, puller, person := foundPerson(t, stub.URL, patientID)
	for run := 1; run <= 2; run++ {
		before := stub.Requests(upstream.BasePath + "/Observation")
		_, err := puller.PullPerson(ctx, src, person.ID, nil)
		searches := stub.Requests(upstream.BasePath+"/Observation") - before
		if err == nil || ctx.Err() != nil {
			t.Fatalf("sync %d: %v after %d Observation searches; want it to fail at once on the link", run, err, searches)
		}
		if searches > 2 {
			t.Errorf("sync %d searched Observations %d times; want at most 2 (the search and one fresh start)", run, searches)
		}
		if !strings.Contains(err.Error(), "Observation") || !errors.Is(err, fhirsync.ErrForeignURL) {
			t.Errorf("sync %d: %v; want it to say the Observation link was not followed", run, err)
		}
	}
	// The types after it are pulled all the same.
	sameCopy(t, without(upstreamCopy(t, srv, patientID), "Observation"), without(localCopy(t, db, person.ID), "Observation"))
	sts, err := db.SyncStatuses(ctx, person.ID)
	if err != nil || len(sts) != 1 {
		t.Fatalf("statuses %+v, %v", sts, err)
	}
	if st := sts[0]; st.LastError != "Their system sent an answer we could not follow. We will try again soon." || st.FailingSince == "" || st.LastSuccessAt == "" || !st.Partial {
		t.Errorf("status %+v; want it failing in part, the rest updated", st)
	}
}

// TestPullGoesOnPastARefusedType pulls from a server that refuses one
// resource type (403), as one that does not let the portal read AuditEvents
// does: that type fails alone and keeps its checkpoint, every other type is
// pulled (Consent after AuditEvent too), the resources they point at are
// fetched and the deletions listing runs, and the source is reported as
// failing, in words. Once the refusal is lifted the type comes; refused again,
// what it sent is kept.
func TestPullGoesOnPastARefusedType(t *testing.T) {
	srv, patientID := startServer(t)
	consent := `{"resourceType":"Consent","status":"active","patient":{"reference":"Patient/` + patientID + `"},"dateTime":"2025-06-01T09:00:00Z",
"scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},
"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],"policy":[{"uri":"https://www.nhs.uk/your-nhs-data-matters/"}],
"provision":{"type":"permit"}}`
	if status, body := srv.Do(t, "POST", "/Consent", []byte(consent)); status != http.StatusCreated {
		t.Fatalf("add consent: %d %s", status, body)
	}
	for _, refused := range []string{"AuditEvent", "Condition"} {
		t.Run(refused, func(t *testing.T) {
			ctx := context.Background()
			var refusing atomic.Bool
			refusing.Store(true)
			stub := newStubProxy(t, srv.URL, func(w http.ResponseWriter, r *http.Request) bool {
				if refusing.Load() && strings.HasPrefix(r.URL.Path, upstream.BasePath+"/"+refused) {
					refuse(w)
					return true
				}
				return false
			}, nil)
			db, src, puller, person := foundPerson(t, stub.URL, patientID)
			puller.Reconcile = time.Nanosecond
			status := func() store.SyncStatus {
				t.Helper()
				sts, err := db.SyncStatuses(ctx, person.ID)
				if err != nil || len(sts) != 1 {
					t.Fatalf("statuses %+v, %v", sts, err)
				}
				return sts[0]
			}

			_, err := puller.PullPerson(ctx, src, person.ID, nil)
			if err == nil || !strings.Contains(err.Error(), refused) {
				t.Fatalf("sync with %s refused: %v; want an error naming it", refused, err)
			}
			want := upstreamCopy(t, srv, patientID)
			sameCopy(t, without(want, refused), localCopy(t, db, person.ID))
			if _, ok := want["Consent/"+idOf(t, srv, "Consent?patient=Patient/"+patientID)]; !ok {
				t.Fatal("the test's Consent is not upstream")
			}
			if cp, err := db.Checkpoint(ctx, src.ID, person.ID, refused); err != nil || cp != (store.Checkpoint{}) {
				t.Errorf("%s checkpoint %+v, %v; want none", refused, cp, err)
			}
			missing, err := db.MissingReferences(ctx, src.ID, person.ID, map[string]bool{"Organization": true, "Practitioner": true, "Location": true, "Medication": true})
			if err != nil || len(missing) != 0 {
				t.Errorf("references not fetched: %v, %v", missing, err)
			}
			st := status()
			// Failing in part: the rest came now (SyncFinishedInPart).
			if st.LastError != "Their system would not let us read the record. We will try again soon." || st.FailingSince == "" || st.LastSuccessAt == "" || !st.Partial {
				t.Errorf("status %+v; want failing in part, in words, the rest updated", st)
			}
			if st.LastReconciledAt == "" {
				t.Error("the deletions listing did not run")
			}

			refusing.Store(false)
			if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
				t.Fatalf("sync with nothing refused: %v", err)
			}
			sameCopy(t, want, localCopy(t, db, person.ID))
			if st := status(); st.LastError != "" || st.FailingSince != "" || st.LastSuccessAt == "" {
				t.Errorf("status %+v; want succeeded", st)
			}

			refusing.Store(true)
			if _, err := puller.PullPerson(ctx, src, person.ID, nil); err == nil {
				t.Fatalf("sync with %s refused again succeeded", refused)
			}
			sameCopy(t, want, localCopy(t, db, person.ID))
		})
	}
}

// without is the copy without the resources of one type.
func without(v versions, typ string) versions {
	out := versions{}
	for k, ver := range v {
		if !strings.HasPrefix(k, typ+"/") {
			out[k] = ver
		}
	}
	return out
}

// idOf is the id of the first resource a search finds.
func idOf(t *testing.T, srv *upstream.Server, search string) string {
	t.Helper()
	b := srv.Search(t, search)
	if len(b.Entry) == 0 {
		t.Fatalf("%s finds nothing", search)
	}
	id, _ := idVersion(t, b.Entry[0].Resource)
	return id
}

// TestDeletionsAreReadSinceTheLastRead syncs a person, loads ten more patients
// upstream and syncs twice with nothing of theirs changed. Type history is the
// whole server's: read since the person's newest resource, every sync read all
// the other patients' resources again (hundreds of pages). Each read now moves
// on to when it began, so the third sync asks for the last moments only: the
// first history page of each type, and no more. A deletion after that is
// still found.
func TestDeletionsAreReadSinceTheLastRead(t *testing.T) {
	ctx := context.Background()
	srv, patientID := startServer(t)
	db, src, puller, person := foundPerson(t, srv.URL, patientID)
	counter := &countingTransport{}
	opts := fastClient
	opts.HTTPClient = &http.Client{Transport: counter}
	puller.Client = fhirsync.NewClients(func(string) string { return "" }, opts).Get
	puller.Overlap = time.Second
	if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
		t.Fatal(err)
	}

	dir := filepath.Dir(upstream.SharedBundle(t, largest))
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	loaded := 0
	for _, f := range files {
		if base := filepath.Base(f); base == largest || base == upstream.HospitalBundle || base == upstream.PractitionerBundle {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		srv.Load(t, data)
		if loaded++; loaded == 10 {
			break
		}
	}
	time.Sleep(3 * time.Second) // past the overlap and a Date header's whole second

	// history is what the sync read of type histories: the first pages (one a
	// type the person has), the later ones, and their bytes.
	history := func() (first, later, size int) {
		urls, sizes := counter.sent()
		for i, u := range urls {
			switch {
			case !strings.Contains(u.Path, "/_history"):
				continue
			case u.Query().Has("_offset"):
				later++
			default:
				first++
			}
			size += sizes[i]
		}
		return first, later, size
	}
	for run := 2; run <= 3; run++ {
		counter.reset()
		start := time.Now()
		sum, err := puller.PullPerson(ctx, src, person.ID, nil)
		if err != nil || sum.Added+sum.Updated+sum.Deleted != 0 {
			t.Fatalf("sync %d with nothing of the person's changed: %+v, %v", run, sum, err)
		}
		first, later, size := history()
		t.Logf("sync %d: %d requests, %.1f MB, %s; history: %d types, %d more pages, %.1f MB", run, counter.requests, float64(counter.bytes)/1e6,
			time.Since(start).Round(time.Millisecond), first, later, float64(size)/1e6)
		if run == 3 && later > 0 {
			t.Errorf("sync 3 read %d more history pages after the first of each type; want none: nothing has changed since sync 2 read them", later)
		}
	}

	imm := srv.Search(t, "Immunization?patient=Patient/"+patientID+"&_count=1").Entry[0].Resource
	immID, _ := idVersion(t, imm)
	if status, body := srv.Do(t, "DELETE", "/Immunization/"+immID, nil); status != 200 && status != 204 {
		t.Fatalf("delete immunisation: %d %s", status, body)
	}
	sum, err := puller.PullPerson(ctx, src, person.ID, nil)
	if err != nil || sum.Deleted != 1 {
		t.Errorf("sync after a deletion: %+v, %v; want 1 deleted", sum, err)
	}
	sameCopy(t, upstreamCopy(t, srv, patientID), localCopy(t, db, person.ID))
}

// janeNHS is the NHS number of the patient serverWithJane adds.
const janeNHS = "9434765919"

// serverWithJane runs the real FHIR server holding one patient, Jane, with
// NHS number janeNHS and nothing else, and returns it with her id there.
func serverWithJane(t *testing.T) (*upstream.Server, string) {
	t.Helper()
	srv := upstream.Start(t)
	status, body := srv.Do(t, "POST", "/Patient", []byte(`{"resourceType":"Patient","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"`+janeNHS+`"}],
"name":[{"given":["Jane"],"family":"Example"}],"birthDate":"1957-03-14"}`))
	if status != http.StatusCreated {
		t.Fatalf("add patient: %d %s", status, body)
	}
	id, _ := idVersion(t, body)
	return srv, id
}

// TestPullFetchesWhatADeletionMidSearchSkipped syncs a record of 11
// observations 10 a page; after the first page is stored, one on it is
// deleted upstream, so every later one moves up a place and the second page
// (offset 10) starts past the 11th. The search received fewer than its first
// page's total, so the watermark does not pass the skipped one: the search
// runs again and fetches it.
func TestPullFetchesWhatADeletionMidSearchSkipped(t *testing.T) {
	ctx := context.Background()
	srv, patientID := serverWithJane(t)
	var added []string
	for i := range 11 {
		obs := fmt.Sprintf(`{"resourceType":"Observation","status":"final","code":{"text":"Test %d"},"subject":{"reference":"Patient/%s"},
"effectiveDateTime":"2026-01-01T00:00:00Z","valueQuantity":{"value":%d,"unit":"mmol/L"}}`, i, patientID, i)
		status, body := srv.Do(t, "POST", "/Observation", []byte(obs))
		if status != http.StatusCreated {
			t.Fatalf("add observation: %d %s", status, body)
		}
		id, _ := idVersion(t, body)
		added = append(added, id)
	}
	db := openDB(t)
	src, err := db.AddSource(ctx, store.Source{Name: "lth", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	// Almost no overlap, so the history read after the search must start
	// before the deletion for the next sync to see it (not a minute before).
	puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" }, fastClient).Get, Reconcile: -1, PageSize: 10, Overlap: time.Millisecond}
	person, err := puller.FindPerson(ctx, src, "https://fhir.nhs.uk/Id/nhs-number", janeNHS)
	if err != nil {
		t.Fatal(err)
	}
	// Past the second the observations were stored in, so no page looks as if
	// it changed while the search was read (a Date header has whole seconds).
	time.Sleep(1100 * time.Millisecond)
	progress, deleted := deleteOnFirstPage(t, srv, added[0])
	if _, err := puller.PullPerson(ctx, src, person.ID, progress); err != nil {
		t.Fatal(err)
	}
	if !deleted() {
		t.Fatal("no observation page was stored: the test deleted nothing")
	}
	local := localCopy(t, db, person.ID)
	for _, id := range added[1:] {
		if _, ok := local["Observation/"+id]; !ok {
			t.Errorf("Observation/%s, skipped when the pages shifted, is not cached", id)
		}
	}
	// The next sync's history read removes the deleted one.
	if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
		t.Fatal(err)
	}
	sameCopy(t, upstreamCopy(t, srv, patientID), localCopy(t, db, person.ID))
}

// TestNoRecordIsNotAFailure syncs a person from a source that holds their
// record and from one that holds none: the second is no failure, and its
// status says there is no record rather than carrying an error to warn of.
// When that source later has a record, the next sync brings it.
func TestNoRecordIsNotAFailure(t *testing.T) {
	ctx := context.Background()
	srv, patientID := startServer(t)
	empty := upstream.Start(t)
	db, src, puller, person := syncedPerson(t, srv.URL, patientID)
	none, err := db.AddSource(ctx, store.Source{Name: "gp", OrgName: "Chapel Allerton Surgery", BaseURL: empty.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := puller.PullPerson(ctx, none, person.ID, nil); !errors.Is(err, fhirsync.ErrNoRecord) {
		t.Fatalf("sync from a source with no record: %v; want ErrNoRecord", err)
	}
	statuses := func() map[string]store.SyncStatus {
		t.Helper()
		sts, err := db.SyncStatuses(ctx, person.ID)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]store.SyncStatus{}
		for _, st := range sts {
			out[st.Source.Name] = st
		}
		return out
	}
	sts := statuses()
	if st := sts["gp"]; !st.NoRecord || st.LastError != "" || st.FailingSince != "" || st.RunningSince != "" || st.LastSuccessAt == "" {
		t.Errorf("status of the source with no record: %+v; want no record, no error", st)
	}
	if st := sts[src.Name]; st.NoRecord || st.LastError != "" || st.LastSuccessAt == "" {
		t.Errorf("status of the source with the record: %+v", st)
	}

	status, body := srv.Do(t, "GET", "Patient/"+patientID, nil)
	if status != http.StatusOK {
		t.Fatalf("read patient: %d %s", status, body)
	}
	empty.Load(t, []byte(`{"resourceType":"Bundle","type":"collection","entry":[{"resource":`+string(body)+`}]}`))
	if _, err := puller.PullPerson(ctx, none, person.ID, nil); err != nil {
		t.Fatalf("sync once the source has a record: %v", err)
	}
	if st := statuses()["gp"]; st.NoRecord || st.LastError != "" || st.LastSuccessAt == "" {
		t.Errorf("status once the source has a record: %+v", st)
	}
}

// TestDeletionsCheckedMovesWhileATypeIsEmpty: for a type the person has none
// of, each search moves the time deletions were checked to, so the first
// resource of it to come does not make the next sync read the type's whole
// history since the person was first synced.
func TestDeletionsCheckedMovesWhileATypeIsEmpty(t *testing.T) {
	ctx := context.Background()
	srv, _ := serverWithJane(t)
	db := openDB(t)
	src, err := db.AddSource(ctx, store.Source{Name: "lth", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" }, fastClient).Get, Reconcile: -1}
	person, err := puller.FindPerson(ctx, src, "https://fhir.nhs.uk/Id/nhs-number", janeNHS)
	if err != nil {
		t.Fatal(err)
	}
	var checked []string
	for range 2 {
		if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
			t.Fatal(err)
		}
		c, err := db.DeletionsChecked(ctx, src.ID, person.ID, "AllergyIntolerance")
		if err != nil || c == "" {
			t.Fatalf("deletions checked %q, %v", c, err)
		}
		checked = append(checked, c)
		time.Sleep(1100 * time.Millisecond) // a Date header has whole seconds
	}
	if checked[1] <= checked[0] {
		t.Errorf("with no allergies, deletions were checked to %s, then %s: it did not move", checked[0], checked[1])
	}
}

// TestAHistoryReadKeepsItsSyncRunning: a sync reading many history pages of
// other people's changes stores nothing for a while, yet its running mark is
// renewed, so it is not taken for a sync left behind.
func TestAHistoryReadKeepsItsSyncRunning(t *testing.T) {
	ctx := context.Background()
	srv, patientID := serverWithJane(t)
	if status, body := srv.Do(t, "POST", "/Observation", []byte(`{"resourceType":"Observation","status":"final","code":{"text":"Weight"},"subject":{"reference":"Patient/`+patientID+`"}}`)); status != http.StatusCreated {
		t.Fatalf("add observation: %d %s", status, body)
	}
	db := openDB(t)
	src, err := db.AddSource(ctx, store.Source{Name: "lth", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	// Each look at the store's clock is a minute later, so a renewed mark shows.
	var mu sync.Mutex
	clock := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	db.SetClock(func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Minute)
		return clock
	})
	var marks []string // the running mark as each later history page was asked for
	watch := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if strings.HasSuffix(r.URL.Path, "/Observation/_history") && r.URL.Query().Has("_offset") {
			sts, err := db.SyncStatuses(ctx, 1)
			if err == nil && len(sts) == 1 {
				marks = append(marks, sts[0].RunningSince)
			}
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	opts := fastClient
	opts.HTTPClient = &http.Client{Transport: watch}
	puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" }, opts).Get, Reconcile: -1, Overlap: time.Millisecond,
		HistorySize: 20}
	person, err := puller.FindPerson(ctx, src, "https://fhir.nhs.uk/Id/nhs-number", janeNHS)
	if err != nil || person.ID != 1 {
		t.Fatalf("person %+v, %v", person, err)
	}
	if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // a Date header has whole seconds
	// Someone else's 200 changes: ten pages of history with nothing of Jane's.
	var entries []string
	for i := range 200 {
		entries = append(entries, fmt.Sprintf(`{"resource":{"resourceType":"Observation","id":"other-%03d","status":"final","code":{"text":"Weight"},"subject":{"reference":"Patient/other"}}}`, i))
	}
	srv.Load(t, []byte(`{"resourceType":"Bundle","type":"collection","entry":[`+strings.Join(entries, ",")+`]}`))
	if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
		t.Fatal(err)
	}
	if len(marks) < 2*3 {
		t.Fatalf("the sync read %d later history pages; the test needs more", len(marks))
	}
	if marks[0] == "" || marks[len(marks)-1] <= marks[0] {
		t.Errorf("over %d history pages that stored nothing the running mark went from %q to %q: it was not renewed", len(marks), marks[0], marks[len(marks)-1])
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestPullNamesItemsFromWhatTheyPointAt syncs, from the real FHIR server, a
// medicine given only as a reference to a Medication and a clinic visit at a
// practice given only as a reference: sync fetches the two and the record
// shows their names, and after the practice is renamed upstream and the
// record synced again with a full reconciliation, the new name.
func TestPullNamesItemsFromWhatTheyPointAt(t *testing.T) {
	ctx := context.Background()
	srv, patientID := serverWithJane(t)
	create := func(typ, body string) string {
		status, resp := srv.Do(t, "POST", "/"+typ, []byte(body))
		if status != http.StatusCreated {
			t.Fatalf("add %s: %d %s", typ, status, resp)
		}
		id, _ := idVersion(t, resp)
		return id
	}
	med := create("Medication", `{"resourceType":"Medication","code":{"coding":[{"system":"http://snomed.info/sct","code":"322236009","display":"Paracetamol 500mg tablets"}]}}`)
	org := create("Organization", `{"resourceType":"Organization","name":"Meanwood Group Practice"}`)
	create("MedicationRequest", `{"resourceType":"MedicationRequest","status":"active","intent":"order","subject":{"reference":"Patient/`+patientID+`"},
"medicationReference":{"reference":"Medication/`+med+`"},"authoredOn":"2026-02-01","dosageInstruction":[{"text":"One tablet daily"}]}`)
	create("Encounter", `{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/`+patientID+`"},
"period":{"start":"2026-02-01T09:00:00Z"},"serviceProvider":{"reference":"Organization/`+org+`"}}`)

	db := openDB(t)
	src, err := db.AddSource(ctx, store.Source{Name: "gp", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	// Every sync is a full reconciliation.
	puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" }, fastClient).Get, Reconcile: time.Nanosecond}
	person, err := puller.FindPerson(ctx, src, "https://fhir.nhs.uk/Id/nhs-number", janeNHS)
	if err != nil {
		t.Fatal(err)
	}
	shown := func() (medicine, provider string) {
		t.Helper()
		if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
			t.Fatal(err)
		}
		for _, sec := range []string{"medicines", "encounters"} {
			page, err := db.RecordSection(ctx, person.ID, sec, 1, 10)
			if err != nil || len(page.Items) != 1 {
				t.Fatalf("%s: %+v, %v; want one item", sec, page.Items, err)
			}
			if sec == "medicines" {
				medicine = page.Items[0].Display
			} else {
				provider = page.Items[0].Organisation
			}
		}
		return medicine, provider
	}
	found := func(words string) int {
		t.Helper()
		res, err := db.SearchRecord(ctx, person.ID, words, store.SearchOptions{PerSection: 5})
		if err != nil {
			t.Fatal(err)
		}
		return res.Total
	}
	if m, p := shown(); m != "Paracetamol 500mg tablets" || p != "Meanwood Group Practice" {
		t.Errorf("after sync: medicine %q, provider %q; want the Medication's and the Organization's names", m, p)
	}
	if n := found("meanwood group"); n != 1 {
		t.Errorf("search for the practice finds %d entries, want the visit", n)
	}
	if status, body := srv.Do(t, "PUT", "/Organization/"+org, []byte(`{"resourceType":"Organization","id":"`+org+`","name":"Meanwood Health Centre"}`)); status != http.StatusOK {
		t.Fatalf("rename the practice: %d %s", status, body)
	}
	if _, p := shown(); p != "Meanwood Health Centre" {
		t.Errorf("after the practice was renamed upstream: provider %q, want the new name", p)
	}
	if n := found("health centre"); n != 1 {
		t.Errorf("search for the practice's new name finds %d entries, want the visit", n)
	}
}
