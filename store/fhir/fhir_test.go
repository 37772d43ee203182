package fhir_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store/fhir"
)

func TestProjectExamples(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want fhir.Item
	}{
		{
			name: "allergy with reaction",
			raw: `{"resourceType":"AllergyIntolerance","id":"a","clinicalStatus":{"coding":[{"code":"active"}]},"criticality":"high",
"code":{"coding":[{"system":"http://snomed.info/sct","code":"764146007","display":"Penicillin"}]},"recordedDate":"2019-04-02",
"reaction":[{"manifestation":[{"text":"Hives"}]}]}`,
			want: fhir.Item{Section: "allergies", CodeSystem: "http://snomed.info/sct", Code: "764146007", Display: "Penicillin", Date: "2019-04-02",
				Status: "active", Detail: "High risk. Reaction: Hives"},
		},
		{
			name: "medicine with dosage and no text: the coding's display is used",
			raw: `{"resourceType":"MedicationRequest","id":"m","status":"active","authoredOn":"2024-01-05",
"medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"325278007","display":"Metformin 500mg tablets"}]},
"dosageInstruction":[{"text":"One tablet twice a day"}],"requester":{"display":"Dr Sarah Patel"}}`,
			want: fhir.Item{Section: "medicines", CodeSystem: "http://snomed.info/sct", Code: "325278007", Display: "Metformin 500mg tablets",
				Date: "2024-01-05", Status: "active", Detail: "One tablet twice a day", Organisation: "Dr Sarah Patel"},
		},
		{
			name: "bare code only: words, not the code",
			raw:  `{"resourceType":"Condition","id":"c","code":{"coding":[{"system":"http://snomed.info/sct","code":"44054006"}]}}`,
			want: fhir.Item{Section: "conditions", CodeSystem: "http://snomed.info/sct", Code: "44054006", Display: "Condition (not named)"},
		},
		{
			name: "observation quantity",
			raw: `{"resourceType":"Observation","id":"o","status":"final","code":{"text":"HbA1c"},"effectiveDateTime":"2026-03-01T09:00:00Z",
"valueQuantity":{"value":48,"unit":"mmol/mol"},"referenceRange":[{"low":{"value":20},"high":{"value":41,"unit":"mmol/mol"}}]}`,
			want: fhir.Item{Section: "results", Display: "HbA1c", Date: "2026-03-01T09:00:00Z", Status: "final", Value: "48 mmol/mol",
				Detail: "Normal range: 20 to 41 mmol/mol"},
		},
		{
			name: "blood pressure components",
			raw: `{"resourceType":"Observation","id":"bp","status":"final","code":{"text":"Blood pressure"},"effectiveDateTime":"2026-03-01",
"component":[{"code":{"text":"Systolic"},"valueQuantity":{"value":128,"unit":"mmHg"}},{"code":{"text":"Diastolic"},"valueQuantity":{"value":82,"unit":"mmHg"}}]}`,
			want: fhir.Item{Section: "results", Display: "Blood pressure", Date: "2026-03-01", Status: "final", Value: "Systolic: 128 mmHg; Diastolic: 82 mmHg"},
		},
		{
			// Synthea lists diastolic first; people read blood pressure top
			// number first, so 107/74 read as 74/107 (a review).
			name: "blood pressure, systolic first however listed",
			raw: `{"resourceType":"Observation","id":"bp","status":"final","code":{"text":"Blood pressure"},"effectiveDateTime":"2026-03-01",
"component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4","display":"Diastolic Blood Pressure"}]},"valueQuantity":{"value":74,"unit":"mm[Hg]"}},
{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6","display":"Systolic Blood Pressure"}]},"valueQuantity":{"value":107,"unit":"mm[Hg]"}}]}`,
			want: fhir.Item{Section: "results", Display: "Blood pressure", Date: "2026-03-01", Status: "final", Value: "Systolic Blood Pressure: 107 mm[Hg]; Diastolic Blood Pressure: 74 mm[Hg]",
				Reasons: "own:http://loinc.org|8480-6\x1fown:http://loinc.org|8462-4\x1f"},
		},
		{
			name: "encounter without type uses its class in words",
			raw:  `{"resourceType":"Encounter","id":"e","status":"finished","class":{"code":"EMER"},"period":{"start":"2025-12-24"},"serviceProvider":{"display":"Leeds General Infirmary"}}`,
			want: fhir.Item{Section: "encounters", Display: "Emergency visit", Date: "2025-12-24", Status: "finished", Organisation: "Leeds General Infirmary"},
		},
		{
			name: "appointment",
			raw: `{"resourceType":"Appointment","id":"ap","status":"booked","serviceType":[{"text":"Diabetes review"}],"start":"2026-12-01T10:00:00Z",
"participant":[{"actor":{"reference":"Patient/p","display":"Jane"}},{"actor":{"reference":"Practitioner/x","display":"Nurse Amy Lee"}}]}`,
			want: fhir.Item{Section: "encounters", Display: "Diabetes review", Date: "2026-12-01T10:00:00Z", Status: "booked", Organisation: "Nurse Amy Lee"},
		},
		{
			name: "care team member",
			raw: `{"resourceType":"CareTeam","id":"ct","status":"active","name":"Diabetes team","participant":[{"role":[{"text":"Diabetes nurse"}],
"member":{"reference":"Practitioner/n","display":"Amy Lee"}}],"managingOrganization":[{"display":"Meanwood Group Practice"}]}`,
			want: fhir.Item{Section: "care-team", Display: "Amy Lee", Status: "active", Detail: "Diabetes nurse · Diabetes team", Organisation: "Meanwood Group Practice", Part: "Practitioner/n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := fhir.ParseResource([]byte(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			items, err := fhir.Project(r)
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != 1 {
				t.Fatalf("got %d items, want 1", len(items))
			}
			got := items[0]
			got.DedupKey = ""
			got.Exact = "" // see TestExactMeasures
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDedupKeyIgnoresSourceAndTime(t *testing.T) {
	a := `{"resourceType":"Observation","id":"gp-1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"4548-4","display":"HbA1c"}]},"effectiveDateTime":"2026-03-01T09:00:00Z","valueQuantity":{"value":48,"unit":"mmol/mol"}}`
	b := `{"resourceType":"Observation","id":"hosp-9","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"4548-4","display":"Haemoglobin A1c"}]},"effectiveDateTime":"2026-03-01T11:30:00Z","valueQuantity":{"value":48,"unit":"mmol/mol"}}`
	c := strings.Replace(b, `"value":48`, `"value":53`, 1)
	key := func(raw string) string {
		r, err := fhir.ParseResource([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		items, err := fhir.Project(r)
		if err != nil {
			t.Fatal(err)
		}
		return items[0].DedupKey
	}
	if key(a) != key(b) {
		t.Errorf("same test, same day, same value: keys differ: %q, %q", key(a), key(b))
	}
	if key(b) == key(c) {
		t.Error("different values share a key: that would merge two different results")
	}
}

func TestParsePatientName(t *testing.T) {
	raw := `{"resourceType":"Patient","id":"p","name":[{"use":"official","prefix":["Mr."],"given":["Lawerence6"],"family":"Baumbach677"}],
"birthDate":"1950-02-03","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"943 476 5919"}]}`
	got, err := fhir.ParsePatient([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if got.Prefix != "Mr." || got.Given != "Lawerence" || got.Family != "Baumbach" || got.NHSNumber != "9434765919" || got.BirthDate != "1950-02-03" {
		t.Errorf("got %+v", got)
	}
}

// TestProjectSynthea projects every resource in the shared Synthea data (written
// by no one here): every known type must read without error, and every item must
// say in words what it is.
func TestProjectSynthea(t *testing.T) {
	names, err := filepath.Glob("../../../shared/fhir/synthea/*.json")
	if err != nil || len(names) == 0 {
		t.Fatalf("shared FHIR data missing beside the repository: %v", err)
	}
	bySection := map[string]int{}
	unknown := map[string]bool{}
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		res, err := fhir.ParseBundle(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, r := range res {
			items, err := fhir.Project(r)
			if err != nil {
				t.Errorf("%s: %v", filepath.Base(name), err)
				continue
			}
			if !fhir.Known(r.Type) {
				unknown[r.Type] = true
			}
			for _, it := range items {
				bySection[it.Section]++
				if strings.TrimSpace(it.Display) == "" || it.Display == it.Code {
					t.Errorf("%s/%s shows %q", r.Type, r.ID, it.Display)
				}
				if it.DedupKey == "" && r.Type != "Goal" { // a goal is its plan's, never one fact of two reports (projectGoal)
					t.Errorf("%s/%s has no de-duplication key", r.Type, r.ID)
				}
			}
		}
	}
	for _, s := range []string{"allergies", "medicines", "conditions", "immunisations", "results", "encounters", "procedures", "documents", "care-plans"} {
		if bySection[s] == 0 {
			t.Errorf("no items in section %s", s)
		}
	}
	for _, typ := range []string{"Claim", "ExplanationOfBenefit", "Provenance"} {
		if !unknown[typ] {
			t.Errorf("%s should be stored raw, not projected", typ)
		}
	}
}

func TestParseErrorsSayWhere(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"syntax", "{\n\"resourceType\": \"Bundle\",\n\"type\": collection}", "line 3, column 9"},
		{"wrong type", `{"resourceType": "Bundle", "type": 5}`, "line 1, column 37: type should be text, not a number"},
		{"not an object", `["resourceType"]`, "the resource should be an object { … }, not a list"},
		{"entry number", `{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Patient","id":"a"}},{"resource":{"resourceType":"Patient","id":"bad id!"}}]}`, "entry 2:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := fhir.ParseBundle([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want it to say %q", err, tt.want)
			}
		})
	}
}

// TestFaultsNameTheFilesLineAndColumn: a fault inside an entry or an NDJSON
// line is placed by the file's own line and column, not the resource's, and
// once: "line 11, column 22", never "entry 3: line 2, column 22".
func TestFaultsNameTheFilesLineAndColumn(t *testing.T) {
	bundle := "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[\n" +
		"{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"p1\"}},\n" +
		"{\"request\":{\"method\":\"PUT\"},\"RESOURCE\":\n" + // keys in any case, as json.Unmarshal reads them
		"  {\n" +
		"    \"resourceType\":\"Observation\",\n" +
		"    \"id\":\"o1\",\n" +
		"    \"meta\": %s\n" +
		"  }\n" +
		"}]}\n"
	tests := []struct {
		name, in, want string
		parse          func([]byte) ([]fhir.Resource, error)
	}{
		{"bundle entry", strings.Replace(bundle, "%s", `{"versionId": 2}`, 1), "line 7, column 28: meta.versionId should be text, not a number", nil},
		{"bundle entry with a header fault", strings.Replace(strings.Replace(bundle, "%s", `{}`, 1), `"id":"o1"`, `"id":1`, 1),
			"line 6, column 11: id should be text, not a number", nil},
		{"bundle entry whose fault has no place", strings.Replace(bundle, "%s", `{}, "id":"a b"`, 1),
			`entry 2: the Observation id "a b" is not a valid FHIR id (letters, digits, '-' and '.', at most 64)`, nil},
		{"ndjson line", "{\"resourceType\":\"Patient\",\"id\":\"p1\"}\n\n{\"resourceType\":\"Patient\", \"id\": 5}\n",
			"line 3, column 35: id should be text, not a number", fhir.ParseNDJSON},
		{"ndjson line with spaces before it", "{\"resourceType\":\"Patient\",\"id\":\"p1\"}\r\n \t{\"resourceType\":\"Patient\", \"id\": 5}\r\n",
			"line 2, column 37: id should be text, not a number", fhir.ParseNDJSON},
		{"ndjson syntax", "{\"resourceType\":\"Patient\",\"id\":\"p1\"}\n{\"resourceType\":\"Patient\" \"id\":\"p2\"}\n",
			"line 2, column 27: invalid JSON: invalid character '\"' after object key:value pair", fhir.ParseNDJSON},
		{"ndjson line ending too soon", "{\"resourceType\":\"Patient\",\"id\":\"p1\"}\n{\"resourceType\":\"Patient\"\n",
			"line 2, column 26: invalid JSON: the text ends too soon", fhir.ParseNDJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.parse == nil {
				tt.parse = fhir.ParseBundle
			}
			_, err := tt.parse([]byte(tt.in))
			if err == nil || err.Error() != tt.want {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

// TestTextThatIsNotUTF8IsPlacedInTheFile: a resource set aside for a byte
// that is not UTF-8 has that byte's line and column in the file as its place.
func TestTextThatIsNotUTF8IsPlacedInTheFile(t *testing.T) {
	bundle := "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[\n" +
		"{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"p1\"}},\n" +
		"{\"resource\":\n" +
		"  {\"resourceType\":\"Observation\",\"id\":\"o1\",\n" +
		"   \"code\":{\"text\":\"Pul\xffse\"}}},\n" +
		"{\"resource\":{\"resourceType\":\"Basic\",\"id\":\"b1\",\"code\":{\"text\":\"\xc3(\"}}}]}"
	ndjson := "{\"resourceType\":\"Patient\",\"id\":\"p1\"}\n  {\"resourceType\":\"Patient\",\"id\":\"p2\",\"name\":[{\"text\":\"\xc3(\"}]}\n"
	tests := []struct {
		name, in string
		parse    func([]byte) ([]fhir.Resource, error)
		want     []string // each resource's place
	}{
		{"bundle", bundle, fhir.ParseBundle, []string{"entry 1", "line 5, column 23", "line 6, column 63"}},
		{"ndjson", ndjson, fhir.ParseNDJSON, []string{"line 1", "line 2, column 56"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := tt.parse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range res {
				got = append(got, r.Place)
				if strings.HasPrefix(r.Place, "line ") && strings.Contains(r.Place, "column") && r.Damaged != "not UTF-8 text (FHIR JSON must be UTF-8)" {
					t.Errorf("%s/%s: damaged %q", r.Type, r.ID, r.Damaged)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got places %q, want %q", got, tt.want)
			}
		})
	}
	// Read alone, as from a server, the byte is counted in the resource.
	r, err := fhir.ParseResource([]byte("{\"resourceType\":\"Basic\",\"id\":\"b1\",\"code\":{\"text\":\"\xc3(\"}}"))
	if err != nil || r.Place != "" || r.Damaged != "byte 50 of the resource is not UTF-8 text (FHIR JSON must be UTF-8)" {
		t.Errorf("got %+v, %v", r, err)
	}
}

// TestSetAsideReasonsArePlain: a resource set aside says which field is
// wrong and why in words, never in Go's terms.
func TestSetAsideReasonsArePlain(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"value as words", `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"Pulse"},"valueQuantity":{"value":"abc"}}`,
			"Observation/o1: valueQuantity.value should be a number, not text"},
		{"value as a number in text", `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"Pulse"},"valueQuantity":{"value":"12"}}`,
			"Observation/o1: valueQuantity.value should be a number, not text"},
		{"a unit as a number", `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"Pulse"},"valueQuantity":{"value":1,"unit":5}}`,
			"Observation/o1: valueQuantity.unit should be text, not a number"},
		{"name as an object", `{"resourceType":"Patient","id":"p1","name":{"family":"Example"}}`,
			"Patient/p1: name should be a list [ … ], not an object"},
		{"status as a list", `{"resourceType":"Condition","id":"c1","clinicalStatus":[]}`,
			"Condition/c1: clinicalStatus should be an object { … }, not a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := fhir.ParseResource([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			p := fhir.Prepare(r)
			if p.Err == nil || p.Err.Error() != tt.want {
				t.Errorf("got %v, want %q", p.Err, tt.want)
			}
		})
	}
}

func TestWithMetaSource(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"resourceType":"Patient","id":"a"}`, `{"id":"a","meta":{"source":"https://gp.example/fhir"},"resourceType":"Patient"}`},
		{`{"resourceType":"Patient","id":"a","meta":{"versionId":"3","source":"old"}}`, `{"id":"a","meta":{"source":"https://gp.example/fhir","versionId":"3"},"resourceType":"Patient"}`},
	}
	for _, tt := range tests {
		got, err := fhir.WithMetaSource([]byte(tt.in), "https://gp.example/fhir")
		if err != nil || string(got) != tt.want {
			t.Errorf("WithMetaSource(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

// TestObservationValues: every kind of value an Observation can hold is shown
// in words, and only a quantity (or a ratio with units) starts with its
// number, so nothing else is charted as one.
func TestObservationValues(t *testing.T) {
	for _, tt := range []struct{ value, want string }{
		{`"valueQuantity":{"value":7.2,"unit":"mmol/L"}`, "7.2 mmol/L"},
		{`"valueQuantity":{"value":5,"comparator":"<","unit":"mmol/L"}`, "<5 mmol/L"},
		{`"valueRatio":{"numerator":{"value":1},"denominator":{"value":160}}`, "1:160"},
		{`"valueRatio":{"numerator":{"value":5,"unit":"mg"},"denominator":{"value":1,"unit":"mL"}}`, "5 mg per 1 mL"},
		{`"valueRange":{"low":{"value":2,"unit":"mmol/L"},"high":{"value":5,"unit":"mmol/L"}}`, "Between 2 and 5 mmol/L"},
		{`"valueRange":{"high":{"value":5,"unit":"mmol/L"}}`, "Up to 5 mmol/L"},
		{`"valueDateTime":"2024-02-03"`, "2024-02-03"},
		{`"valueTime":"08:30:00"`, "08:30:00"},
		{`"valuePeriod":{"start":"2024-01-01","end":"2024-02-01"}`, "2024-01-01 to 2024-02-01"},
		{`"valueCodeableConcept":{"text":"Positive"}`, "Positive"},
		{`"valueString":"Normal"`, "Normal"},
	} {
		r, err := fhir.ParseResource([]byte(`{"resourceType":"Observation","id":"o","status":"final","code":{"text":"Test"},"effectiveDateTime":"2024-01-01",` + tt.value + `}`))
		if err != nil {
			t.Fatal(err)
		}
		items, err := fhir.Project(r)
		if err != nil || len(items) != 1 {
			t.Fatalf("%s: %v, %d items", tt.value, err, len(items))
		}
		if items[0].Value != tt.want {
			t.Errorf("%s: value %q, want %q", tt.value, items[0].Value, tt.want)
		}
	}
}

// A normal range with one end is kept, as a limit.
func TestOneEndedNormalRange(t *testing.T) {
	for _, tt := range []struct{ rr, want string }{
		{`{"high":{"value":5,"unit":"mmol/L"}}`, "Normal range: up to 5 mmol/L"},
		{`{"low":{"value":60,"unit":"mL/min"}}`, "Normal range: at least 60 mL/min"},
		{`{"low":{"value":4,"unit":"mmol/L"},"high":{"value":6,"unit":"mmol/L"}}`, "Normal range: 4 to 6 mmol/L"},
	} {
		r, err := fhir.ParseResource([]byte(`{"resourceType":"Observation","id":"o","status":"final","code":{"text":"Test"},"effectiveDateTime":"2024-01-01",` +
			`"valueQuantity":{"value":3,"unit":"mmol/L"},"referenceRange":[` + tt.rr + `]}`))
		if err != nil {
			t.Fatal(err)
		}
		items, err := fhir.Project(r)
		if err != nil || len(items) != 1 || items[0].Detail != tt.want {
			t.Errorf("%s: %+v, %v; want detail %q", tt.rr, items, err, tt.want)
		}
	}
}

// Of several normal ranges (for women and for men, for an age), none is the
// one a value is compared with, since which is the person's is not known;
// each is named with whom it is for. A therapeutic range beside a normal one
// leaves the normal one (found by a clinical-safety review).
func TestNormalRangesForGroups(t *testing.T) {
	hb := `{"low":{"value":120,"unit":"g/L"},"high":{"value":150,"unit":"g/L"},"appliesTo":[{"text":"Female"}]},` +
		`{"low":{"value":130,"unit":"g/L"},"high":{"value":170,"unit":"g/L"},"appliesTo":[{"text":"Male"}]}`
	for _, tt := range []struct {
		name, rr, detail string
		compared         bool
	}{
		{"for women and for men", hb, "Normal range (Female): 120 to 150 g/L. Normal range (Male): 130 to 170 g/L", false},
		{"one, for women", `{"low":{"value":120,"unit":"g/L"},"high":{"value":150,"unit":"g/L"},"appliesTo":[{"text":"Female"}]}`, "Normal range (Female): 120 to 150 g/L", true},
		{"normal and therapeutic", `{"low":{"value":120,"unit":"g/L"},"high":{"value":150,"unit":"g/L"}},` +
			`{"low":{"value":100,"unit":"g/L"},"high":{"value":110,"unit":"g/L"},"type":{"coding":[{"code":"treatment"}],"text":"Treatment"}}`,
			"Normal range: 120 to 150 g/L. Normal range (Treatment): 100 to 110 g/L", true},
		{"by age", `{"high":{"value":5,"unit":"g/L"},"age":{"low":{"value":16,"unit":"years"}}},{"high":{"value":3,"unit":"g/L"},"age":{"high":{"value":16,"unit":"years"}}}`,
			"Normal range (age 16 years and over): up to 5 g/L. Normal range (age up to 16 years): up to 3 g/L", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := fhir.ParseResource([]byte(`{"resourceType":"Observation","id":"o","status":"final","code":{"text":"Haemoglobin"},"effectiveDateTime":"2024-01-01",` +
				`"valueQuantity":{"value":125,"unit":"g/L"},"referenceRange":[` + tt.rr + `]}`))
			if err != nil {
				t.Fatal(err)
			}
			items, err := fhir.Project(r)
			if err != nil || len(items) != 1 || items[0].Detail != tt.detail {
				t.Fatalf("%+v, %v; want detail %q", items, err, tt.detail)
			}
			ms, ok := fhir.ExactMeasures(items[0].Exact)
			if !ok || len(ms) != 1 || (ms[0].Range != nil) != tt.compared {
				t.Errorf("exact %+v (%v): a range compared %v, want %v", ms, ok, len(ms) == 1 && ms[0].Range != nil, tt.compared)
			}
		})
	}
}

// What a document or a vaccination says of itself is read (found by a
// clinical-safety review): a draft document is no current one; a dose below
// full strength, or not given and why, is said; a dose given at a time
// known only in words is not dated the day it was recorded.
func TestDocumentAndVaccinationSayWhatTheyAre(t *testing.T) {
	for _, tt := range []struct {
		name, raw                   string
		wantStatus, wantDate, wantD string
	}{
		{"a draft discharge summary", `{"resourceType":"DocumentReference","id":"d1","status":"current","docStatus":"preliminary","type":{"text":"Discharge summary"},"subject":{"reference":"Patient/p"},"date":"2025-05-04"}`,
			"draft", "2025-05-04", ""},
		{"a document recorded in error", `{"resourceType":"DocumentReference","id":"d2","status":"current","docStatus":"entered-in-error","type":{"text":"Letter"},"subject":{"reference":"Patient/p"},"date":"2025-05-04"}`,
			"entered-in-error", "2025-05-04", ""},
		{"a dose below strength", `{"resourceType":"Immunization","id":"i1","status":"completed","isSubpotent":true,"vaccineCode":{"text":"COVID-19 vaccine"},"patient":{"reference":"Patient/p"},"occurrenceDateTime":"2025-01-10","protocolApplied":[{"doseNumberPositiveInt":2}]}`,
			"completed", "2025-01-10", "Dose 2. Less than a full dose: it may need to be given again"},
		{"a dose given about 1990", `{"resourceType":"Immunization","id":"i2","status":"completed","vaccineCode":{"text":"Tetanus"},"patient":{"reference":"Patient/p"},"occurrenceString":"About 1990","recorded":"2025-03-01"}`,
			"completed", "", "Given About 1990"},
		{"a dose not given, and why", `{"resourceType":"Immunization","id":"i3","status":"not-done","statusReason":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActReason","code":"PATOBJ"}],"text":"Patient refused"},"vaccineCode":{"text":"Flu vaccine"},"patient":{"reference":"Patient/p"},"occurrenceDateTime":"2025-10-01","protocolApplied":[{"doseNumberString":"Booster"}]}`,
			"not-done", "2025-10-01", "Dose Booster. Why not: the person chose not to have it"},
		{"a dose not given, for a reason in other words", `{"resourceType":"Immunization","id":"i5","status":"not-done","statusReason":{"text":"HIV infection"},"vaccineCode":{"text":"BCG"},"patient":{"reference":"Patient/p"},"occurrenceDateTime":"2025-10-01"}`,
			"not-done", "2025-10-01", ""},
		{"a dose with only a recorded date", `{"resourceType":"Immunization","id":"i4","status":"completed","vaccineCode":{"text":"MMR"},"patient":{"reference":"Patient/p"},"recorded":"2025-03-01"}`,
			"completed", "2025-03-01", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := fhir.ParseResource([]byte(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			items, err := fhir.Project(r)
			if err != nil || len(items) != 1 {
				t.Fatalf("%+v, %v", items, err)
			}
			if it := items[0]; it.Status != tt.wantStatus || it.Date != tt.wantDate || it.Detail != tt.wantD {
				t.Errorf("status %q date %q detail %q; want %q, %q, %q", it.Status, it.Date, it.Detail, tt.wantStatus, tt.wantDate, tt.wantD)
			}
		})
	}
}

// A vaccination says where it was given when it does not say who gave it:
// every Synthea vaccination names only its practice, as its location (a
// review); who gave it, when said, comes first.
func TestVaccinationSaysWhereItWasGiven(t *testing.T) {
	for _, tt := range []struct{ name, more, wantOrg, wantRef string }{
		{"its location's name", `"location":{"reference":"Location/l1","display":"PCP3958"}`, "PCP3958", ""},
		{"its location, by reference alone", `"location":{"reference":"Location/l1"}`, "", "Location/l1"},
		{"who gave it, and where", `"performer":[{"actor":{"display":"Dr A Nurse"}}],"location":{"display":"PCP3958"}`, "Dr A Nurse", ""},
		{"who gave it, by reference, and where", `"performer":[{"actor":{"reference":"Practitioner/p1"}}],"location":{"display":"PCP3958"}`, "", "Practitioner/p1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := fhir.ParseResource([]byte(`{"resourceType":"Immunization","id":"i1","status":"completed","vaccineCode":{"text":"Flu vaccine"},"patient":{"reference":"Patient/p"},"occurrenceDateTime":"2025-10-01",` + tt.more + `}`))
			if err != nil {
				t.Fatal(err)
			}
			items, err := fhir.Project(r)
			if err != nil || len(items) != 1 {
				t.Fatalf("%+v, %v", items, err)
			}
			if it := items[0]; it.Organisation != tt.wantOrg || it.OrganisationRef != tt.wantRef {
				t.Errorf("organisation %q, ref %q; want %q, %q", it.Organisation, it.OrganisationRef, tt.wantOrg, tt.wantRef)
			}
		})
	}
}
