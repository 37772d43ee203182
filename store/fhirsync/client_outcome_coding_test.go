package fhirsync

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// An OperationOutcome whose words are only its details' codings' displays, as
// NHS England's APIs write them, is reported in those words (a review).
func TestOutcomeWordsInCodingDisplayAreReported(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeFHIR(w, http.StatusBadRequest, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"value",
"details":{"coding":[{"system":"https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode","code":"INVALID_SEARCH_DATA","display":"Search parameter subject is not supported for this resource"}]}}]}`)
	}))
	defer srv.Close()
	c := mustClient(t, srv.URL, nil, ClientOptions{MaxAttempts: 1})
	_, err := c.Search(context.Background(), "Observation", url.Values{"subject": {"Patient/1"}})
	if err == nil || !strings.Contains(err.Error(), "Search parameter subject is not supported") {
		t.Errorf("error %q; want it to report the OperationOutcome's words (details.coding.display)", err)
	}
}
