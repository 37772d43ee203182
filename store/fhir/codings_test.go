package fhir

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// refCodings is codingsIn done the slow way, decoding the whole resource:
// what the scanner must agree with.
func refCodings(raw []byte, skip map[string]bool) []string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	var out []string
	var walk func(v any, top bool)
	walk = func(v any, top bool) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if !(top && skip[k]) {
					walk(x, false)
				}
			}
			system, ok1 := v["system"].(string)
			code, ok2 := v["code"].(string)
			_, value := v["value"]
			_, unit := v["unit"]
			if ok1 && ok2 && !value && !unit && !top {
				out = append(out, system+"|"+code)
			}
		case []any:
			for _, x := range v {
				walk(x, false)
			}
		}
	}
	walk(v, true)
	return out
}

func scanned(raw []byte, skip map[string]bool) []string {
	var out []string
	codingsIn(raw, skip, func(_ bool, system, code string) { out = append(out, system+"|"+code) })
	return out
}

// TestCodingsInAgreesWithDecoding: the scanner finds the codings that
// decoding the whole resource finds, in resources written by hand to be
// awkward and in every resource of the shared Synthea bundles.
func TestCodingsInAgreesWithDecoding(t *testing.T) {
	skip := map[string]bool{"meta": true, "reaction": true}
	hand := []string{
		`{"resourceType":"MedicationRequest","dosageInstruction":[{"asNeededCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"197480006","display":"Anxiety disorder"}]}}]}`,
		`{ "a" : [ 1 , -2.5e3 , true , null , "x\"y" , { "system" : "s\u00e9" , "code" : "c\\d" } ] , "meta" : { "tag" : [ { "system" : "t" , "code" : "1" } ] } }`,
		`{"valueQuantity":{"value":5,"unit":"mg","system":"http://unitsofmeasure.org","code":"mg"},"x":{"unit":"u","system":"s","code":"c"}}`,
		`{"code":"not an object","system":"top level is no coding of a field","reaction":[{"manifestation":[{"coding":[{"system":"s","code":"rash"}]}]}]}`,
		`{"contained":[{"resourceType":"Condition","code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"F32.9"}]}}],"extension":[{"url":"u","valueCoding":{"system":"e","code":"1"}}]}`,
		`{"system":{"code":"x"},"code":{"system":"y","code":"z"},"a":{"system":1,"code":"n"}}`,
		"{}", "[]", `{"a":[]}`, `{"a":{}}`,
	}
	for _, raw := range hand {
		got, want := scanned([]byte(raw), skip), refCodings([]byte(raw), skip)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s:\nscanned %q\nwant    %q", raw, got, want)
		}
	}
	names, err := filepath.Glob("../../../shared/fhir/synthea/*.json")
	if err != nil || len(names) == 0 {
		t.Fatalf("no Synthea bundles beside the repository: %v", err)
	}
	resources, codings := 0, 0
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		all, err := ParseBundle(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, r := range all {
			got, want := scanned(r.Raw, walkSkip[r.Type]), refCodings(r.Raw, walkSkip[r.Type])
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("%s %s/%s:\nscanned %q\nwant    %q", filepath.Base(name), r.Type, r.ID, got, want)
			}
			resources++
			codings += len(got)
		}
	}
	t.Logf("%d resources, %d codings, agreed", resources, codings)
}

// TestEveryCodingIsAnOwnCode: a coding anywhere in an entry's resource is
// among its own codes, so keeping its kind out keeps the entry out; an
// allergy's reactions, a care team's members, units, HL7's own systems and
// the codes it holds already are not added (a review found each field in
// the first rows reaching a carer with its kind kept out).
func TestEveryCodingIsAnOwnCode(t *testing.T) {
	const p = `"subject":{"reference":"Patient/p"}`
	tests := []struct {
		name, raw string
		want      []string // own: codes the first item must hold
		never     []string // codes it must not hold at all
	}{
		{"when needed for", `{"resourceType":"MedicationRequest","id":"m","status":"active","intent":"order",` + p + `,"medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"321180003"}]},"dosageInstruction":[{"asNeededCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"197480006"}]},"additionalInstruction":[{"coding":[{"system":"http://snomed.info/sct","code":"111"}]}]}]}`,
			[]string{"any:http://snomed.info/sct|197480006", "any:http://snomed.info/sct|111"}, []string{"any:http://snomed.info/sct|321180003", "own:http://snomed.info/sct|321180003"}},
		{"normal range for", `{"resourceType":"Observation","id":"o","status":"final",` + p + `,"code":{"text":"CD4"},"valueQuantity":{"value":500,"unit":"cells/uL","system":"http://unitsofmeasure.org","code":"/uL"},"referenceRange":[{"low":{"value":350},"appliesTo":[{"coding":[{"system":"http://snomed.info/sct","code":"86406008"}]}]}]}`,
			[]string{"any:http://snomed.info/sct|86406008"}, []string{"/uL"}},
		{"held inside", `{"resourceType":"DocumentReference","id":"d","status":"current",` + p + `,"type":{"text":"Letter"},"content":[{"attachment":{"title":"x"}}],"contained":[{"resourceType":"Condition","id":"c1","code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"F32.9"}]}}]}`,
			[]string{"any:http://hl7.org/fhir/sid/icd-10|F32.9"}, nil},
		{"a visit's service", `{"resourceType":"Encounter","id":"e","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},` + p + `,"serviceType":{"coding":[{"system":"http://snomed.info/sct","code":"79094001"}]},"hospitalization":{"reAdmission":{"coding":[{"system":"http://snomed.info/sct","code":"55680006"}]}},"period":{"start":"2025-02-01"}}`,
			[]string{"any:http://snomed.info/sct|79094001", "any:http://snomed.info/sct|55680006"}, []string{"AMB"}},
		{"an allergy's reaction", `{"resourceType":"AllergyIntolerance","id":"a",` + p + `,"code":{"coding":[{"system":"http://snomed.info/sct","code":"91936005"}]},"reaction":[{"manifestation":[{"coding":[{"system":"http://snomed.info/sct","code":"271807003"}]}]}]}`,
			nil, []string{"271807003"}},
		{"the record's own tags", `{"resourceType":"Procedure","id":"pr","status":"completed",` + p + `,"meta":{"security":[{"system":"http://example.org/labels","code":"R"}]},"code":{"text":"Procedure"},"performedDateTime":"2025-02-02","outcome":{"coding":[{"system":"http://snomed.info/sct","code":"35489007"}]}}`,
			[]string{"any:http://snomed.info/sct|35489007"}, []string{"labels|R"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseResource([]byte(tc.raw))
			if err != nil {
				t.Fatal(err)
			}
			items, err := Project(r)
			if err != nil || len(items) == 0 {
				t.Fatalf("%v, %d items", err, len(items))
			}
			got := items[0].Reasons
			for _, w := range tc.want {
				if !strings.Contains(got, w+"\x1f") {
					t.Errorf("reasons %q lack %q", got, w)
				}
				if strings.Count(got, w+"\x1f") != 1 {
					t.Errorf("reasons %q hold %q more than once", got, w)
				}
			}
			for _, n := range tc.never {
				if strings.Contains(got, n) {
					t.Errorf("reasons %q hold %q", got, n)
				}
			}
		})
	}
}
