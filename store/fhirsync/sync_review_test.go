package fhirsync_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/store/fhirsync"
)

func post(t *testing.T, srv interface {
	Do(testing.TB, string, string, []byte) (int, []byte)
}, path, body string) string {
	status, b := srv.Do(t, "POST", path, []byte(body))
	if status != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", path, status, b)
	}
	id, _ := idVersion(t, b)
	return id
}

// A next link back to a page already read ends the search with an error,
// not a sync that reads the same page for ever, saying "Updating…" (a review).
func TestANextLinkThatLoopsEnds(t *testing.T) {
	srv, patientID := serverWithJane(t)
	addObservations(t, srv, patientID, 3)
	var served atomic.Int32
	var proxy *stubProxy
	proxy = newStubProxy(t, srv.URL, nil, func(r *http.Request, body []byte) []byte {
		if r.URL.Path != "/fhir/Observation" || served.Add(1) > 200 { // 200: let the test end
			return body
		}
		self := proxy.origin + r.URL.RequestURI()
		return bytes.Replace(body, []byte(`"relation":"next","url":"`), []byte(`"relation":"next","url":"`+self+`","x":"`), 1)
	})
	_, src, puller, person := janeFound(t, proxy.URL)
	puller.PageSize = 1
	sum, err := puller.PullPerson(context.Background(), src, person.ID, nil)
	if n := served.Load(); n > 10 || err == nil || !strings.Contains(err.Error(), "leads back to a page already read") {
		t.Errorf("fetched the same Observation page %d times (pages %d, err %v); want the loop stopped, saying why", n, sum.Pages, err)
	}
}

// "Medication\/x", as PHP writes JSON, is the reference "Medication/x": the
// sync fetches the Medication and the medicine is named (a review).
func TestAnEscapedSlashInAReferenceIsFollowed(t *testing.T) {
	ctx := context.Background()
	srv, patientID := serverWithJane(t)
	medID := post(t, srv, "/Medication", `{"resourceType":"Medication","code":{"text":"Warfarin 1mg tablets"}}`)
	post(t, srv, "/MedicationRequest", fmt.Sprintf(`{"resourceType":"MedicationRequest","status":"active","intent":"order",
"subject":{"reference":"Patient/%s"},"medicationReference":{"reference":"Medication/%s"},"authoredOn":"2026-01-01"}`, patientID, medID))
	proxy := newStubProxy(t, srv.URL, nil, func(r *http.Request, body []byte) []byte {
		return bytes.ReplaceAll(body, []byte(`"Medication/`), []byte(`"Medication\/`)) // JSON-escaped "/"
	})
	db, src, puller, person := janeFound(t, proxy.URL)
	if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
		t.Fatal(err)
	}
	meds, err := db.RecordSection(ctx, person.ID, "medicines", 1, 100)
	if err != nil || len(meds.Items) != 1 {
		t.Fatalf("medicines: %+v %v", meds.Items, err)
	}
	if got := meds.Items[0].Display; got != "Warfarin 1mg tablets" {
		t.Errorf("medicines page shows %q (Medication requests: %d); want \"Warfarin 1mg tablets\"", got, proxy.Requests("/fhir/Medication"))
	}
}

// A Medication contained in the prescription names the medicine (a review).
func TestAContainedMedicationNamesTheMedicine(t *testing.T) {
	ctx := context.Background()
	srv, patientID := serverWithJane(t)
	post(t, srv, "/MedicationRequest", fmt.Sprintf(`{"resourceType":"MedicationRequest","status":"active","intent":"order",
"contained":[{"resourceType":"Medication","id":"med1","code":{"text":"Amoxicillin 500mg capsules"}}],
"subject":{"reference":"Patient/%s"},"medicationReference":{"reference":"#med1"},"authoredOn":"2026-01-01"}`, patientID))
	db, src, puller, person := janeFound(t, srv.URL)
	if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
		t.Fatal(err)
	}
	meds, err := db.RecordSection(ctx, person.ID, "medicines", 1, 100)
	if err != nil || len(meds.Items) != 1 || meds.Items[0].Display != "Amoxicillin 500mg capsules" {
		t.Errorf("medicines page: %+v, %v; want one item \"Amoxicillin 500mg capsules\"", meds.Items, err)
	}
}

// A resource Bob's sync kept aside as unreadable is read again by Bob's
// sync: Jane's read it, found it not hers, and put it off for an hour each
// time, so it stayed out of Bob's record (a review; migration 0052).
func TestASetAsideResourceIsReadAgainByItsPersonsSync(t *testing.T) {
	ctx := context.Background()
	srv, _ := serverWithJane(t)
	const bobNHS = "9434765870"
	bobID := post(t, srv, "/Patient", `{"resourceType":"Patient","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"`+bobNHS+`"}],"name":[{"family":"Other"}],"birthDate":"1960-01-01"}`)
	obs := `{"resourceType":"Observation","status":"final","code":{"text":"%s"},"subject":{"reference":"Patient/` + bobID + `"},"valueQuantity":{"value":5}}`
	post(t, srv, "/Observation", fmt.Sprintf(obs, "Bob result"))
	time.Sleep(1100 * time.Millisecond)
	post(t, srv, "/Observation", fmt.Sprintf(obs, "Bob later result"))
	var broken atomic.Bool
	broken.Store(true)
	proxy := newStubProxy(t, srv.URL, nil, func(r *http.Request, body []byte) []byte {
		if broken.Load() && strings.HasPrefix(r.URL.Path, "/fhir/Observation") {
			return bytes.ReplaceAll(body, []byte(`"code":{"text":"Bob result"}`), []byte(`"code":12`))
		}
		return body
	})
	db, src, puller, jane := janeFound(t, proxy.URL)
	bob, err := puller.FindPerson(ctx, src, fhir.NHSNumberSystem, bobNHS)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Now()
	db.SetClock(func() time.Time { return clock })
	if sum, err := puller.PullPerson(ctx, src, bob.ID, nil); err != nil || sum.Rejected != 1 {
		t.Fatalf("Bob's first sync: %+v, %v; want one set aside", sum, err)
	}
	broken.Store(false) // whole upstream from now on
	for range 4 {       // each hour Jane (active) syncs, then Bob
		clock = clock.Add(61 * time.Minute)
		if _, err := puller.PullPerson(ctx, src, jane.ID, nil); err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(time.Minute)
		if _, err := puller.PullPerson(ctx, src, bob.ID, nil); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	db.PersonResources(ctx, bob.ID, func(c store.CachedResource) error { //nolint:errcheck
		if c.Type == "Observation" {
			n++
		}
		return nil
	})
	if n != 2 {
		t.Errorf("after 4 hourly rounds, Bob's record holds %d observations, want 2", n)
	}
}

// A search answered with a Bundle that is not results (a batch-response of
// failures) is a failure, in the server's words, not a search that found
// nothing (a review).
func TestABundleThatIsNotResultsIsAFailure(t *testing.T) {
	srv, patientID := serverWithJane(t)
	addObservations(t, srv, patientID, 2)
	proxy := newStubProxy(t, srv.URL, func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/fhir/Observation" {
			return false
		}
		w.Header().Set("Content-Type", "application/fhir+json")
		io.WriteString(w, `{"resourceType":"Bundle","type":"batch-response","entry":[{"response":{"status":"503",
"outcome":{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"transient","diagnostics":"observation store unavailable"}]}}}]}`) //nolint:errcheck
		return true
	}, nil)
	db, src, puller, person := janeFound(t, proxy.URL)
	sum, err := puller.PullPerson(context.Background(), src, person.ID, nil)
	if st := syncStatus(t, db, src.ID, person.ID); err == nil || !strings.Contains(err.Error(), "observation store unavailable") || st.LastError == "" {
		t.Errorf("taken as a successful sync, or the server's words lost: err %v, last error %q, last success %q, set aside %q", err, st.LastError, st.LastSuccessAt, sum.SetAside)
	}
}

// A source whose Patient for the person cannot be read has not "no record"
// of them: the Patient is set aside and the sync fails, saying so (a review:
// the source's whole record of the person went missing without a word).
func TestAnUnreadablePatientIsNotNoRecord(t *testing.T) {
	ctx := context.Background()
	srv, patientID := serverWithJane(t)
	addObservations(t, srv, patientID, 2)
	proxy := newStubProxy(t, srv.URL, nil, func(r *http.Request, body []byte) []byte {
		return bytes.ReplaceAll(body, []byte(`"birthDate":"1957-03-14"`), []byte(`"birthDate":"14/03/1957"`))
	})
	db, _, puller, jane := janeFound(t, srv.URL) // Jane known from the first source
	gp, err := db.AddSource(ctx, store.Source{Name: "gp", BaseURL: proxy.URL})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := puller.PullPerson(ctx, gp, jane.ID, nil)
	if st := syncStatus(t, db, gp.ID, jane.ID); err == nil || errors.Is(err, fhirsync.ErrNoRecord) || st.NoRecord || sum.Rejected != 1 {
		t.Errorf("recorded as holding no record of her, or nothing set aside: err %v, NoRecord %v, %d set aside", err, st.NoRecord, sum.Rejected)
	}
}

// A search of several pages from a server that sends no Date header runs
// again, as one whose pages may have shifted: an update while it was read
// was otherwise missed for good (a review).
func TestAShiftIsCaughtWithoutADateHeader(t *testing.T) {
	ctx := context.Background()
	srv, patientID := serverWithJane(t)
	ids := addObservations(t, srv, patientID, 11)
	origin := strings.TrimSuffix(srv.URL, "/fhir")
	var proxy *stubProxy
	proxy = newStubProxy(t, srv.URL, func(w http.ResponseWriter, r *http.Request) bool {
		req, _ := http.NewRequest(r.Method, origin+r.URL.RequestURI(), r.Body)
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return true
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.Header()["Date"] = nil // suppress Date
		w.WriteHeader(resp.StatusCode)
		w.Write(bytes.ReplaceAll(body, []byte(origin), []byte(proxy.origin))) //nolint:errcheck
		return true
	}, nil)
	db, src, puller, person := janeFound(t, proxy.URL)
	sync := func(progress func(fhirsync.Progress)) {
		time.Sleep(1100 * time.Millisecond)
		if _, err := puller.PullPerson(ctx, src, person.ID, progress); err != nil {
			t.Fatal(err)
		}
	}
	sync(nil)
	time.Sleep(1100 * time.Millisecond)
	for _, id := range ids {
		amend(t, srv, id)
	}
	amended := false
	sync(func(pr fhirsync.Progress) { // after the first Observation page, update the first one again
		if pr.ResourceType == "Observation" && !amended {
			amended = true
			amend(t, srv, ids[0])
		}
	})
	sync(nil) // and one more sync
	sameCopy(t, upstreamCopy(t, srv, patientID), localCopy(t, db, person.ID))
}
