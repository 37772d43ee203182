package demo_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store/demo"
	"github.com/mycarerecord/portal/store/fhir"
)

// bundle is the part of a FHIR Bundle the tests look at.
type bundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Entry        []struct {
		FullURL  string         `json:"fullUrl"`
		Resource map[string]any `json:"resource"`
	} `json:"entry"`
}

func mustParse(t *testing.T, name string, data []byte) bundle {
	t.Helper()
	var b bundle
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatalf("%s: not valid JSON: %v", name, err)
	}
	return b
}

func TestGenerateIsDeterministic(t *testing.T) {
	first, second := demo.Generate(), demo.Generate()
	if got, want := len(second), len(first); got != want {
		t.Fatalf("len = %d, want %d", got, want)
	}
	for i := range first {
		if first[i].Name != second[i].Name || !bytes.Equal(first[i].Bundle, second[i].Bundle) {
			t.Errorf("source %d (%s) differs between calls", i, first[i].Name)
		}
	}
	if !bytes.Equal(demo.Large(500).Bundle, demo.Large(500).Bundle) {
		t.Error("Large differs between calls")
	}
}

func TestSources(t *testing.T) {
	sources := demo.Generate()
	if len(sources) < 2 {
		t.Fatalf("got %d sources, want at least 2", len(sources))
	}
	orgs := map[string]bool{}
	for _, s := range sources {
		orgs[s.OrgName] = true
	}
	for _, want := range []string{"Meanwood Group Practice", "Leeds Teaching Hospitals NHS Trust"} {
		if !orgs[want] {
			t.Errorf("no source for %q", want)
		}
	}
	for _, s := range sources {
		t.Run(s.Name, func(t *testing.T) { checkBundle(t, s) })
	}
}

func TestLarge(t *testing.T) {
	s := demo.Large(10000)
	b := mustParse(t, s.Name, s.Bundle)
	if got := len(b.Entry); got < 10000 {
		t.Errorf("Large(10000) has %d entries, want at least 10000", got)
	}
	counts := map[string]int{}
	for _, e := range b.Entry {
		counts[e.Resource["resourceType"].(string)]++
	}
	for _, typ := range clinicalTypes() {
		if counts[typ] == 0 {
			t.Errorf("Large has no %s", typ)
		}
	}
	if counts["Observation"] < len(b.Entry)/2 {
		t.Errorf("Large has %d Observations of %d, want most", counts["Observation"], len(b.Entry))
	}
	checkBundle(t, s)
	if p := demo.LargePerson(); !fhir.ValidNHSNumber(p.NHSNumber) {
		t.Errorf("LargePerson NHS number %s is not valid", p.NHSNumber)
	}
}

func clinicalTypes() []string {
	return []string{"AllergyIntolerance", "MedicationRequest", "MedicationStatement", "Condition", "Immunization",
		"Observation", "DiagnosticReport", "Encounter", "Appointment", "Procedure", "DocumentReference", "CarePlan", "CareTeam"}
}

// checkBundle checks the rules every demo bundle keeps: a collection, each
// entry with a fullUrl and a resource with a type, a unique id and
// meta.lastUpdated, every Organization or Practitioner reference with a
// display, and every subject or patient pointing at a Patient in the bundle.
func checkBundle(t *testing.T, s demo.Source) {
	t.Helper()
	b := mustParse(t, s.Name, s.Bundle)
	if b.ResourceType != "Bundle" || b.Type != "collection" {
		t.Fatalf("resourceType %q type %q, want Bundle collection", b.ResourceType, b.Type)
	}
	ids := map[string]bool{}
	for _, e := range b.Entry {
		typ, _ := e.Resource["resourceType"].(string)
		id, _ := e.Resource["id"].(string)
		ids[typ+"/"+id] = true
	}
	seen := map[string]bool{}
	for i, e := range b.Entry {
		typ, _ := e.Resource["resourceType"].(string)
		id, _ := e.Resource["id"].(string)
		key := typ + "/" + id
		if typ == "" || id == "" {
			t.Errorf("entry %d: resourceType %q id %q", i, typ, id)
			continue
		}
		if seen[key] {
			t.Errorf("%s appears twice", key)
		}
		seen[key] = true
		if !strings.HasSuffix(e.FullURL, "/"+key) {
			t.Errorf("%s: fullUrl %q does not end with it", key, e.FullURL)
		}
		if meta, _ := e.Resource["meta"].(map[string]any); meta == nil || meta["lastUpdated"] == nil {
			t.Errorf("%s: no meta.lastUpdated", key)
		}
		for _, field := range []string{"subject", "patient"} {
			ref, ok := e.Resource[field].(map[string]any)
			if !ok {
				continue
			}
			if target, _ := ref["reference"].(string); !strings.HasPrefix(target, "Patient/") || !ids[target] {
				t.Errorf("%s: %s %q is not a Patient in the bundle", key, field, target)
			}
		}
		walkReferences(e.Resource, func(ref map[string]any) {
			target, _ := ref["reference"].(string)
			if strings.HasPrefix(target, "Organization/") || strings.HasPrefix(target, "Practitioner/") {
				if d, _ := ref["display"].(string); d == "" {
					t.Errorf("%s: reference to %s has no display", key, target)
				}
				if !ids[target] {
					t.Errorf("%s: reference to %s not in the bundle", key, target)
				}
			}
		})
	}
}

func walkReferences(v any, f func(map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		if _, ok := v["reference"].(string); ok {
			f(v)
		}
		for _, child := range v {
			walkReferences(child, f)
		}
	case []any:
		for _, child := range v {
			walkReferences(child, f)
		}
	}
}

func TestGPAndHospitalHaveEveryType(t *testing.T) {
	for _, s := range demo.Generate()[:2] {
		b := mustParse(t, s.Name, s.Bundle)
		counts := map[string]int{}
		for _, e := range b.Entry {
			counts[e.Resource["resourceType"].(string)]++
		}
		want := append(clinicalTypes(), "Organization", "Practitioner", "Patient")
		if s.Name == "leeds-teaching-hospitals" {
			want = without(want, "Immunization", "CarePlan")
		} else {
			want = without(want, "DiagnosticReport", "Procedure", "DocumentReference")
		}
		for _, typ := range want {
			if counts[typ] == 0 {
				t.Errorf("%s has no %s", s.Name, typ)
			}
		}
	}
}

func without(list []string, drop ...string) []string {
	var out []string
	for _, s := range list {
		keep := true
		for _, d := range drop {
			keep = keep && s != d
		}
		if keep {
			out = append(out, s)
		}
	}
	return out
}

func TestPeople(t *testing.T) {
	people := demo.People()
	if len(people) < 3 {
		t.Fatalf("got %d people, want at least 3", len(people))
	}
	jane := people[0]
	if got, want := fmt.Sprint(jane.Prefix, " ", jane.Given, " ", jane.Family, " ", jane.BirthDate, " ", jane.NHSNumber),
		"Mrs Jane Example 1957-03-14 9434765919"; got != want {
		t.Errorf("first person = %q, want %q", got, want)
	}
	numbers := map[string]bool{}
	for _, p := range append(people, demo.LargePerson()) {
		if !fhir.ValidNHSNumber(p.NHSNumber) {
			t.Errorf("%s: NHS number %q is not valid", p.Name(), p.NHSNumber)
		}
		if numbers[p.NHSNumber] {
			t.Errorf("%s: NHS number %q used twice", p.Name(), p.NHSNumber)
		}
		numbers[p.NHSNumber] = true
	}

	// Every Patient in every source is one of the people, with their details.
	byNumber := map[string]demo.Person{}
	for _, p := range people {
		byNumber[p.NHSNumber] = p
	}
	for _, s := range demo.Generate() {
		for _, e := range mustParse(t, s.Name, s.Bundle).Entry {
			if e.Resource["resourceType"] != "Patient" {
				continue
			}
			var pat struct {
				ID         string `json:"id"`
				Identifier []struct{ System, Value string }
				Name       []struct {
					Use    string
					Prefix []string
					Given  []string
					Family string
				}
				BirthDate string
				Gender    string
			}
			raw, _ := json.Marshal(e.Resource)
			if err := json.Unmarshal(raw, &pat); err != nil {
				t.Fatal(err)
			}
			if len(pat.Identifier) == 0 || pat.Identifier[0].System != "https://fhir.nhs.uk/Id/nhs-number" {
				t.Errorf("%s Patient/%s: no NHS number identifier", s.Name, pat.ID)
				continue
			}
			p, ok := byNumber[pat.Identifier[0].Value]
			if !ok || !fhir.ValidNHSNumber(pat.Identifier[0].Value) {
				t.Errorf("%s Patient/%s: NHS number %s is not a demo person's", s.Name, pat.ID, pat.Identifier[0].Value)
				continue
			}
			if len(pat.Name) == 0 || pat.Name[0].Use != "official" || pat.Name[0].Family != p.Family ||
				fmt.Sprint(pat.Name[0].Prefix) != fmt.Sprint([]string{p.Prefix}) || fmt.Sprint(pat.Name[0].Given) != fmt.Sprint([]string{p.Given}) {
				t.Errorf("%s Patient/%s: name %+v, want %s", s.Name, pat.ID, pat.Name, p.Name())
			}
			if pat.BirthDate != p.BirthDate || pat.Gender == "" {
				t.Errorf("%s Patient/%s: birthDate %q gender %q", s.Name, pat.ID, pat.BirthDate, pat.Gender)
			}
		}
	}
}

// fact is what de-duplication compares: the resource type, the code and,
// for results, the date and value.
func facts(t *testing.T, s demo.Source) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, e := range mustParse(t, s.Name, s.Bundle).Entry {
		r := e.Resource
		typ := r["resourceType"].(string)
		concept, _ := r["code"].(map[string]any)
		if concept == nil {
			concept, _ = r["medicationCodeableConcept"].(map[string]any)
		}
		if concept == nil {
			continue
		}
		coding := concept["coding"].([]any)[0].(map[string]any)
		key := fmt.Sprint(typ, " ", coding["system"], "|", coding["code"])
		if typ == "MedicationRequest" || typ == "MedicationStatement" {
			key = fmt.Sprint("Medication ", coding["system"], "|", coding["code"])
		}
		if typ == "Observation" {
			q, _ := r["valueQuantity"].(map[string]any)
			key = fmt.Sprint(key, " ", r["effectiveDateTime"], " ", q["value"], " ", q["unit"])
		}
		out[key] = true
	}
	return out
}

func TestOverlapBetweenGPAndHospital(t *testing.T) {
	sources := demo.Generate()
	gp, hospital := facts(t, sources[0]), facts(t, sources[1])
	var shared []string
	for k := range gp {
		if hospital[k] {
			shared = append(shared, k)
		}
	}
	for _, want := range []string{
		"Medication https://dmd.nhs.uk|325278007",            // Metformin 500mg tablets
		"AllergyIntolerance http://snomed.info/sct|91936005", // Allergy to penicillin
		"Condition http://snomed.info/sct|44054006",          // Type 2 diabetes mellitus
	} {
		if !gp[want] || !hospital[want] {
			t.Errorf("%s is not in both GP and hospital", want)
		}
	}
	hba1c := 0
	for _, k := range shared {
		if strings.HasPrefix(k, "Observation http://loinc.org|59261-8 ") {
			hba1c++
		}
	}
	if hba1c < 2 {
		t.Errorf("GP and hospital share %d identical HbA1c results, want at least 2", hba1c)
	}
	onlyOne := func(a, b map[string]bool) bool {
		for k := range a {
			if strings.HasPrefix(k, "Observation ") && !b[k] {
				return true
			}
		}
		return false
	}
	if !onlyOne(gp, hospital) || !onlyOne(hospital, gp) {
		t.Error("want results that only the GP has and results that only the hospital has")
	}
}

func TestDocumentsHaveText(t *testing.T) {
	n := 0
	for _, s := range demo.Generate() {
		for _, e := range mustParse(t, s.Name, s.Bundle).Entry {
			if e.Resource["resourceType"] != "DocumentReference" {
				continue
			}
			n++
			content := e.Resource["content"].([]any)[0].(map[string]any)
			att := content["attachment"].(map[string]any)
			text, err := base64.StdEncoding.DecodeString(att["data"].(string))
			if err != nil || len(text) == 0 || att["contentType"] != "text/plain" || att["title"] == "" {
				t.Errorf("%s: attachment %v: %v", e.Resource["id"], att["title"], err)
			}
		}
	}
	if n < 2 {
		t.Errorf("got %d documents, want at least 2", n)
	}
}

func TestThirdPersonHasLittleData(t *testing.T) {
	third := demo.People()[2]
	for _, s := range demo.Generate() {
		b := mustParse(t, s.Name, s.Bundle)
		patients := map[string]bool{}
		for _, e := range b.Entry {
			if e.Resource["resourceType"] == "Patient" && strings.Contains(fmt.Sprint(e.Resource["identifier"]), third.NHSNumber) {
				patients["Patient/"+e.Resource["id"].(string)] = true
			}
		}
		n := 0
		for _, e := range b.Entry {
			for _, f := range []string{"subject", "patient"} {
				if ref, ok := e.Resource[f].(map[string]any); ok && patients[ref["reference"].(string)] {
					n++
				}
			}
		}
		if n > 2 {
			t.Errorf("%s has %d resources for %s, want very few", s.Name, n, third.Name())
		}
	}
}

func TestPopulace(t *testing.T) {
	people := demo.Populace(2000)
	seen := map[string]bool{}
	for _, p := range append(demo.People(), demo.LargePerson()) {
		seen[p.NHSNumber] = true
	}
	for _, p := range people {
		if !fhir.ValidNHSNumber(p.NHSNumber) {
			t.Fatalf("%s: invalid NHS number %s", p.Name(), p.NHSNumber)
		}
		if seen[p.NHSNumber] {
			t.Fatalf("NHS number %s given twice", p.NHSNumber)
		}
		seen[p.NHSNumber] = true
		if _, err := time.Parse("2006-01-02", p.BirthDate); err != nil {
			t.Fatalf("%s: birth date %q: %v", p.Name(), p.BirthDate, err)
		}
	}
	if got := len(demo.Population(people[:250], 100)); got != 3 {
		t.Fatalf("250 people at 100 a bundle: %d bundles, want 3", got)
	}
}
