package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// TestExportKeepsWhatABundleNamesByUUID: the practice and clinician a
// Synthea bundle names by "urn:uuid:" address are in the download, so its
// references to them resolve (a review: the download left them out, and a
// real export had hundreds of references pointing at nothing).
func TestExportKeepsWhatABundleNamesByUUID(t *testing.T) {
	const (
		pt   = "11111111-1111-4111-8111-111111111111"
		org  = "22222222-2222-4222-8222-222222222222"
		prac = "33333333-3333-4333-8333-333333333333"
	)
	bundle := `{"resourceType":"Bundle","type":"transaction","entry":[
{"fullUrl":"urn:uuid:` + pt + `","resource":{"resourceType":"Patient","id":"` + pt + `","name":[{"given":["Alexia"],"family":"Rice"}],"birthDate":"1983-10-09"},"request":{"method":"POST","url":"Patient"}},
{"fullUrl":"urn:uuid:` + org + `","resource":{"resourceType":"Organization","id":"` + org + `","name":"PCP12345"},"request":{"method":"POST","url":"Organization"}},
{"fullUrl":"urn:uuid:` + prac + `","resource":{"resourceType":"Practitioner","id":"` + prac + `","name":[{"family":"Lowe","given":["Ricky"],"prefix":["Dr."]}]},"request":{"method":"POST","url":"Practitioner"}},
{"fullUrl":"urn:uuid:44444444-4444-4444-8444-444444444444","resource":{"resourceType":"Encounter","id":"44444444-4444-4444-8444-444444444444","status":"finished",
 "class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},"type":[{"coding":[{"system":"http://snomed.info/sct","code":"185345009","display":"Encounter for symptom"}],"text":"Encounter for symptom"}],
 "subject":{"reference":"urn:uuid:` + pt + `"},"participant":[{"individual":{"reference":"urn:uuid:` + prac + `"}}],"period":{"start":"2020-01-27T03:43:05+00:00","end":"2020-01-27T03:58:05+00:00"},
 "serviceProvider":{"reference":"urn:uuid:` + org + `"}},"request":{"method":"POST","url":"Encounter"}}]}`
	buf := exportOfFile(t, bundle)
	var b struct {
		Entry []struct {
			FullURL  string          `json:"fullUrl"`
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal([]byte(buf), &b); err != nil {
		t.Fatal(err)
	}
	full := map[string]bool{}
	for _, e := range b.Entry {
		full[e.FullURL] = true
	}
	refs := regexp.MustCompile(`"reference":"(urn:uuid:[^"]*)"`)
	for _, e := range b.Entry {
		for _, m := range refs.FindAllStringSubmatch(string(e.Resource), -1) {
			if !full[m[1]] {
				t.Errorf("%s points at nothing in the download: %.120s", m[1], e.Resource)
			}
		}
	}
	if n := strings.Count(buf, `"resourceType":"Organization"`) + strings.Count(buf, `"resourceType":"Practitioner"`); n != 2 {
		t.Errorf("%d Organizations and Practitioners in the download; want the 2 the visit names", n)
	}
}

// TestExportGivesAFilesOwnAddress: a resource whose file gave it an address
// of its own ("urn:uuid:…" for the Patient pt1) has that as its fullUrl in
// the download, so the file's references to it resolve (a review: it had
// none, and they pointed at nothing).
func TestExportGivesAFilesOwnAddress(t *testing.T) {
	const ptURL = "urn:uuid:55555555-5555-4555-8555-555555555555"
	bundle := `{"resourceType":"Bundle","type":"collection","entry":[
{"fullUrl":"` + ptURL + `","resource":{"resourceType":"Patient","id":"pt1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"name":[{"given":["Jane"],"family":"Example"}],"birthDate":"1957-03-14"}},
{"fullUrl":"urn:uuid:66666666-6666-4666-8666-666666666666","resource":{"resourceType":"Condition","id":"c1","subject":{"reference":"` + ptURL + `"},
 "clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},"code":{"coding":[{"system":"http://snomed.info/sct","code":"195967001","display":"Asthma"}]},"recordedDate":"2025-01-01"}}]}`
	buf := exportOfFile(t, bundle)
	if !strings.Contains(buf, `"fullUrl":"`+ptURL+`","resource":{"birthDate"`) {
		t.Errorf("the Patient the Condition names by %s is not under that address in the download:\n%s", ptURL, buf)
	}
}

// exportOfFile is the download of the one person the bundle, imported for
// a source "gp" into a fresh cache, is about.
func exportOfFile(t *testing.T, bundle string) string {
	t.Helper()
	ctx := context.Background()
	db := mustOpenDB(t)
	res, err := fhir.ParseBundle([]byte(bundle))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", res); err != nil {
		t.Fatal(err)
	}
	ps, err := db.Persons(ctx)
	if err != nil || len(ps) != 1 {
		t.Fatalf("persons %v, %v", ps, err)
	}
	var buf bytes.Buffer
	if _, err := db.WriteBundle(ctx, ps[0].ID, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}
