package fhirsync_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/store/fhirsync"
)

func withOutcome(body []byte, words string) []byte {
	oo := fmt.Sprintf(`{"resource":{"resourceType":"OperationOutcome","issue":[{"severity":"warning","code":"suppressed","diagnostics":%q}]},"search":{"mode":"outcome"}},`, words)
	return bytes.Replace(body, []byte(`"entry":[`), []byte(`"entry":[`+oo), 1)
}

// What a server says beside the pages of a search for the Patient and of
// referenced resources is reported, as beside a type's search (a review: dropped).
func TestOutcomesBesideEveryPageAreReported(t *testing.T) {
	ctx := context.Background()
	srv, patientID := serverWithJane(t)
	medID := post(t, srv, "/Medication", `{"resourceType":"Medication","code":{"text":"Warfarin 1mg tablets"}}`)
	post(t, srv, "/MedicationRequest", fmt.Sprintf(`{"resourceType":"MedicationRequest","status":"active","intent":"order",
"subject":{"reference":"Patient/%s"},"medicationReference":{"reference":"Medication/%s"},"authoredOn":"2026-01-01"}`, patientID, medID))
	const patientWords = "Some of this patient's details are restricted and were withheld"
	const medWords = "1 Medication was withheld: the caller may not read it"
	proxy := newStubProxy(t, srv.URL, nil, func(r *http.Request, body []byte) []byte {
		switch r.URL.Path {
		case "/fhir/Patient":
			return withOutcome(body, patientWords)
		case "/fhir/Medication":
			return withOutcome(body, medWords)
		}
		return body
	})
	db := openDB(t)
	src, err := db.AddSource(ctx, store.Source{Name: "lth", BaseURL: proxy.URL})
	if err != nil {
		t.Fatal(err)
	}
	puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" }, fastClient).Get, Reconcile: -1}
	var found fhirsync.Summary
	person, err := puller.FindPersonCounted(ctx, src, fhir.NHSNumberSystem, janeNHS, &found)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := puller.PullPerson(ctx, src, person.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if proxy.Requests("/fhir/Patient") == 0 || proxy.Requests("/fhir/Medication") == 0 {
		t.Fatalf("searches made: Patient %d, Medication %d", proxy.Requests("/fhir/Patient"), proxy.Requests("/fhir/Medication"))
	}
	said := append(found.Warnings, sum.Warnings...)
	for _, words := range []string{patientWords, medWords} {
		if !slices.ContainsFunc(said, func(w string) bool { return strings.Contains(w, words) }) {
			t.Errorf("the server said %q beside a page; the sync's warnings are %q", words, said)
		}
	}
}
