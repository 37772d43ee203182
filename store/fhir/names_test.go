package fhir_test

import (
	"slices"
	"testing"

	"github.com/mycarerecord/portal/store/fhir"
)

func TestNamedRef(t *testing.T) {
	for ref, want := range map[string]string{
		"Organization/o1":                               "Organization/o1",
		"https://fhir.example/R4/Practitioner/7":        "Practitioner/7",
		"Location/l-1.2":                                "Location/l-1.2",
		"Medication/m1":                                 "Medication/m1",
		"Patient/p1":                                    "",
		"Organization/o1/_history/2":                    "",
		"Organization?identifier=https://x|1":           "",
		"urn:uuid:2b1f9c6e-0000-4000-8000-000000000001": "",
		"": "",
	} {
		if got := fhir.NamedRef(ref); got != want {
			t.Errorf("NamedRef(%q) = %q, want %q", ref, got, want)
		}
	}
}

// TestLocalRef: a reference names a resource at the server only when it is
// relative or under the server's own base URL; another server's resource
// with the same type and id is not it.
func TestLocalRef(t *testing.T) {
	const base = "https://fhir.lth.example/R4"
	for _, tc := range []struct {
		ref, base, want string
	}{
		{"Organization/org1", base, "Organization/org1"},
		{"Organization/org1", "", "Organization/org1"},
		{" Patient/p1 ", base, "Patient/p1"},
		{base + "/Organization/org1", base, "Organization/org1"},
		{base + "/Organization/org1", "", ""},
		// The server as written another way (SameServer): host case, default port, http, slashes.
		{"https://FHIR.lth.example:443/R4/Organization/org1", base, "Organization/org1"},
		{"http://fhir.lth.example/R4/Organization/org1", base, "Organization/org1"},
		{base + "//Organization/org1", base, "Organization/org1"},
		{base + "/Organization/org1", base + "/", "Organization/org1"},
		{"https://fhir.lth.example:8443/R4/Organization/org1", base, ""},
		{"https://fhir.lth.example/r4/Organization/org1", base, ""}, // a path's case is its own
		{"https://other-trust.example/fhir/Organization/org1", base, ""},
		{"https://fhir.lth.example/R4x/Organization/org1", base, ""},
		{"https://fhir.lth.example/Organization/org1", base, ""},
		{base + "/Organization/org1/_history/2", base, ""},
		{"Organization/org1/_history/2", base, ""},
		{"Organization?identifier=https://x|1", base, ""},
		{"urn:uuid:2b1f9c6e-0000-4000-8000-000000000001", base, ""},
		{"", base, ""},
	} {
		if got := fhir.LocalRef(tc.ref, tc.base); got != tc.want {
			t.Errorf("LocalRef(%q, %q) = %q, want %q", tc.ref, tc.base, got, tc.want)
		}
	}
}

// TestAtServer: read from a server, an item keeps a reference to who took
// part, or to its medicine, only when the resource points at the server's
// own resource; a medicine whose reference is dropped is read as one with no
// reference at all: unnamed, and with no key, so it never merges with
// another source's unnamed medicine.
func TestAtServer(t *testing.T) {
	const base = "https://fhir.lth.example/R4"
	request := func(med, by string) string {
		return `{"resourceType":"MedicationRequest","id":"mr1","status":"active","subject":{"reference":"Patient/p1"},` +
			`"medicationReference":` + med + `,"requester":` + by + `,"authoredOn":"2026-02-01","dosageInstruction":[{"text":"One tablet daily"}]}`
	}
	const none = `{"display":""}`
	for _, tc := range []struct {
		name, med, by              string
		wantDisplayRef, wantOrgRef string
	}{
		{"relative", `{"reference":"Medication/m1"}`, `{"reference":"Practitioner/dr1"}`, "Medication/m1", "Practitioner/dr1"},
		{"under the base", `{"reference":"` + base + `/Medication/m1"}`, `{"reference":"` + base + `/Practitioner/dr1"}`, "Medication/m1", "Practitioner/dr1"},
		{"another server's", `{"reference":"https://other.example/fhir/Medication/m1"}`, `{"reference":"https://other.example/fhir/Practitioner/dr1"}`, "", ""},
		{"one of each", `{"reference":"https://other.example/fhir/Medication/m1"}`, `{"reference":"Practitioner/dr1"}`, "", "Practitioner/dr1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := fhir.ParseResource([]byte(request(tc.med, tc.by)))
			if err != nil {
				t.Fatal(err)
			}
			p := fhir.Prepare(r)
			before := p.Items[0]
			if before.DisplayRef != "Medication/m1" {
				t.Fatalf("read with reference %q, want Medication/m1 before AtServer", before.DisplayRef)
			}
			it := p.AtServer(base).Items[0]
			if it.DisplayRef != tc.wantDisplayRef || it.OrganisationRef != tc.wantOrgRef {
				t.Errorf("refs %q, %q; want %q, %q", it.DisplayRef, it.OrganisationRef, tc.wantDisplayRef, tc.wantOrgRef)
			}
			if p.Items[0] != before {
				t.Errorf("the prepared items were changed: %+v", p.Items[0])
			}
			if it.DisplayRef == "" {
				unnamed, err := fhir.ParseResource([]byte(request(none, none)))
				if err != nil {
					t.Fatal(err)
				}
				want := fhir.Prepare(unnamed).Items[0]
				if it.DedupKey != "" || want.DedupKey != "" || it.Display != want.Display {
					t.Errorf("key %q, display %q; want no key (with no reference: %q) and %q", it.DedupKey, it.Display, want.DedupKey, want.Display)
				}
			}
		})
	}
}

// A medicine given as a Medication contained in the prescription ("#med1")
// is named by it, as it is named by one the server holds (a review: it read
// "Medicine (name not recorded)"); a reference's own words stand, and a
// contained list that is not as FHIR has it costs nothing of the medicine. An
// escaped slash in a reference ("Medication\/m1") is the reference it stands
// for, for the sync to fetch.
func TestContainedAndEscapedMedicines(t *testing.T) {
	const amox = `{"resourceType":"Medication","id":"med1","code":{"coding":[{"system":"http://snomed.info/sct","code":"323509004","display":"Amoxicillin 500mg capsules"}]}}`
	for _, tc := range []struct {
		name, fields, want string
	}{
		{"contained", `"contained":[` + amox + `],"medicationReference":{"reference":"#med1"}`, "Amoxicillin 500mg capsules"},
		{"contained, the reference's words first", `"contained":[` + amox + `],"medicationReference":{"reference":"#med1","display":"Amoxil"}`, "Amoxil"},
		{"another id contained", `"contained":[` + amox + `],"medicationReference":{"reference":"#med2"}`, "Medicine (name not recorded)"},
		{"contained not as FHIR has it", `"contained":[{"resourceType":"Medication","id":"med1","code":"amoxicillin"},"x"],"medicationReference":{"reference":"#med1"}`, "Medicine (name not recorded)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := fhir.ParseResource([]byte(`{"resourceType":"MedicationRequest","id":"mr1","status":"active","intent":"order","subject":{"reference":"Patient/p1"},` + tc.fields + `}`))
			if err != nil {
				t.Fatal(err)
			}
			p := fhir.Prepare(r)
			if p.Err != nil || len(p.Items) != 1 || p.Items[0].Display != tc.want {
				t.Errorf("%+v, %v; want one medicine, %q", p.Items, p.Err, tc.want)
			}
		})
	}
	raw := []byte(`{"resourceType":"MedicationRequest","id":"mr1","medicationReference":{"reference":"Medication\/m1"},"requester":{"reference":"https:\/\/fhir.example\/r4\/Practitioner\/dr1"}}`)
	if got := fhir.LocalRefs(raw, "https://fhir.example/r4"); !slices.Equal(got, []string{"Medication/m1", "Practitioner/dr1"}) {
		t.Errorf("references %q; want Medication/m1 and Practitioner/dr1", got)
	}
}
