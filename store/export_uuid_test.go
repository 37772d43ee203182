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

// TestAUUIDReferenceIsResolvedByItsAddress: "urn:uuid:X" names what its file
// gave that address, not any resource whose id is X (ids are unique only
// within a type): a carer's download took the clinician only a kept-out
// visit names, whose id was the Patient's address (a review).
func TestAUUIDReferenceIsResolvedByItsAddress(t *testing.T) {
	const (
		aaa = "11111111-1111-4111-8111-111111111111"
		bbb = "22222222-2222-4222-8222-222222222222"
	)
	ctx := context.Background()
	db := mustOpenDB(t)
	bundle := `{"resourceType":"Bundle","type":"collection","entry":[
{"fullUrl":"urn:uuid:` + aaa + `","resource":{"resourceType":"Patient","id":"pt1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"name":[{"given":["Jane"],"family":"Example"}],"birthDate":"1957-03-14"}},
{"fullUrl":"urn:uuid:` + bbb + `","resource":{"resourceType":"Practitioner","id":"` + aaa + `","name":[{"text":"Dr Genitourinary Clinic"}]}},
{"fullUrl":"urn:uuid:33333333-3333-4333-8333-333333333333","resource":{"resourceType":"Encounter","id":"e1","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},
 "type":[{"text":"Sexual health clinic visit"}],"subject":{"reference":"urn:uuid:` + aaa + `"},"participant":[{"individual":{"reference":"urn:uuid:` + bbb + `"}}],"period":{"start":"2025-01-27T03:43:05+00:00"}}},
{"fullUrl":"urn:uuid:44444444-4444-4444-8444-444444444444","resource":{"resourceType":"Condition","id":"c1","subject":{"reference":"urn:uuid:` + aaa + `"},
 "clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},"code":{"coding":[{"system":"http://snomed.info/sct","code":"195967001","display":"Asthma"}]},"recordedDate":"2025-01-01"}}]}`
	res, err := fhir.ParseBundle([]byte(bundle))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", res); err != nil {
		t.Fatal(err)
	}
	p, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	keepOutEntryNamed(t, db, p.ID, fhir.SectionEncounters, "Sexual health clinic visit")
	var buf bytes.Buffer
	if _, err := db.WriteBundle(store.ForCarer(ctx), p.ID, &buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "Asthma") {
		t.Fatalf("the shared asthma is not in the carer's download:\n%s", buf.String())
	}
	if strings.Contains(buf.String(), "Genitourinary") {
		t.Errorf("the carer's download holds the clinician only the kept-out visit names:\n%s", buf.String())
	}
}

// TestADownloadOfTwoFilesSourcesImportsAgain: two files of one Synthea run
// name one hospital by one id; the download holds it once, so it imports
// again (a review: it held it twice, with two sources, and was refused).
func TestADownloadOfTwoFilesSourcesImportsAgain(t *testing.T) {
	const org = "22222222-2222-4222-8222-222222222222"
	ctx := context.Background()
	db := mustOpenDB(t)
	file := func(pt, enc, when string) string {
		return `{"resourceType":"Bundle","type":"transaction","entry":[
{"fullUrl":"urn:uuid:` + pt + `","resource":{"resourceType":"Patient","id":"` + pt + `","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"name":[{"given":["Jane"],"family":"Example"}],"birthDate":"1957-03-14"},"request":{"method":"POST","url":"Patient"}},
{"fullUrl":"urn:uuid:` + org + `","resource":{"resourceType":"Organization","id":"` + org + `","name":"LEEDS TEACHING HOSPITALS"},"request":{"method":"POST","url":"Organization"}},
{"fullUrl":"urn:uuid:` + enc + `","resource":{"resourceType":"Encounter","id":"` + enc + `","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},
 "type":[{"text":"Check up"}],"subject":{"reference":"urn:uuid:` + pt + `"},"period":{"start":"` + when + `"},"serviceProvider":{"reference":"urn:uuid:` + org + `"}},"request":{"method":"POST","url":"Encounter"}}]}`
	}
	for i, f := range []string{
		file("11111111-1111-4111-8111-111111111111", "44444444-4444-4444-8444-444444444444", "2020-01-27T03:43:05+00:00"),
		file("55555555-5555-4555-8555-555555555555", "66666666-6666-4666-8666-666666666666", "2021-02-27T03:43:05+00:00"),
	} {
		res, err := fhir.ParseBundle([]byte(f))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ImportResources(ctx, store.ImportOptions{Source: []string{"gp", "hospital"}[i]}, "test", res); err != nil {
			t.Fatal(err)
		}
	}
	p, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := db.WriteBundle(ctx, p.ID, &buf); err != nil {
		t.Fatal(err)
	}
	if _, err := fhir.ParseBundle(buf.Bytes()); err != nil {
		t.Errorf("the person's download does not import again: %v", err)
	}
	if n := strings.Count(buf.String(), `"resourceType":"Organization"`); n != 1 {
		t.Errorf("%d Organizations in the download; want the hospital once", n)
	}
}
