package web_test

import (
	"testing"

	"github.com/mycarerecord/portal/store"
)

// Jane's community mental health team is kept out with mental health; a
// blood pressure it took is kept from John, as his pages, print and search
// named the team "by Community mental health team" (a review).
func TestCarerPagesNeverNameAKeptOutCareTeam(t *testing.T) {
	f, john := keptOutWorld(t, []string{
		`{"resourceType":"CareTeam","id":"ct1","status":"active","name":"Community mental health team","subject":{"reference":"Patient/jane"},` +
			`"reasonCode":[{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"F32.9","display":"Depressive episode, unspecified"}]}],` +
			`"participant":[{"member":{"reference":"Practitioner/cpn","display":"Sam Nurse (CPN)"}}]}`,
		`{"resourceType":"Observation","id":"o9","status":"final","subject":{"reference":"Patient/jane"},"code":{"text":"Blood pressure"},` +
			`"effectiveDateTime":"2025-02-03","valueString":"120/80","performer":[{"reference":"CareTeam/ct1","display":"Community mental health team"}]}`,
	}, category(store.CategoryMentalHealth))
	downloadHoldsNone(t, f, john, "mental health")
	mustNotShow(t, f, john, []string{"/record/results", "/record/print", "/record/search?q=mental+health"}, []string{"Community mental health team"})
}
