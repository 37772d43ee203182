package fhir_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/mycarerecord/portal/e2e/upstream"
	"github.com/mycarerecord/portal/store/fhir"
)

// syntheaSeeds are small inputs cut from the shared Synthea bundles (written by
// no one here), read once per test binary: up to perType resources of each
// type, and per bundle a short Bundle and the same entries as NDJSON. The
// bundles themselves are megabytes; a fuzzer mutates small inputs far faster.
var syntheaSeeds = sync.OnceValues(func() (seeds, error) {
	const perType, perBundle, scan = 6, 4, 80
	names, err := filepath.Glob("../../../shared/fhir/synthea/*.json")
	if err != nil || len(names) == 0 {
		return seeds{}, err
	}
	var s seeds
	count := map[string]int{}
	for _, name := range names {
		typ, entries, err := upstream.FirstEntries(name, scan)
		if err != nil {
			return seeds{}, fmt.Errorf("%s: %w", name, err)
		}
		bundle, err := json.Marshal(map[string]any{"resourceType": "Bundle", "type": typ, "entry": entries[:min(perBundle, len(entries))]})
		if err != nil {
			return seeds{}, err
		}
		s.bundles = append(s.bundles, bundle)
		all, err := fhir.ParseBundle(must(json.Marshal(map[string]any{"resourceType": "Bundle", "type": typ, "entry": entries})))
		if err != nil {
			return seeds{}, fmt.Errorf("%s: %w", name, err)
		}
		var nd bytes.Buffer
		for i, r := range all {
			if i < perBundle {
				nd.Write(r.Raw)
				nd.WriteByte('\n')
			}
			if count[r.Type] < perType {
				count[r.Type]++
				s.resources = append(s.resources, r)
			}
		}
		s.ndjson = append(s.ndjson, nd.Bytes())
	}
	return s, nil
})

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

type seeds struct {
	bundles, ndjson [][]byte
	resources       []fhir.Resource
}

func loadSeeds(f *testing.F) seeds {
	f.Helper()
	s, err := syntheaSeeds()
	if err != nil || len(s.bundles) == 0 {
		f.Fatalf("shared FHIR data missing beside the repository: %v", err)
	}
	return s
}

// FuzzParse feeds any bytes to the Bundle, NDJSON and single-resource readers
// and projects whatever they accept. Nothing may panic, and what is accepted
// must be a resource the store can keep: a type, a valid id, and compact JSON
// that reads back the same.
func FuzzParse(f *testing.F) {
	s := loadSeeds(f)
	for _, b := range s.bundles {
		f.Add(b)
	}
	for _, b := range s.ndjson {
		f.Add(b)
	}
	for _, in := range []string{
		``, `{}`, `null`, `[]`, `{"resourceType":"Bundle","type":"collection","entry":[null,{},{"resource":null}]}`,
		`{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:","resource":{"resourceType":"Patient"}}]}`,
		`{"resourceType":"Bundle","type":"batch","entry":[{"fullUrl":"urn:uuid:a/b","resource":{"resourceType":"Patient"}}]}`,
		"{\"resourceType\":\"Patient\",\"id\":\"a\"}\n\n{\"resourceType\":\"Observation\",\"id\":\"\u00e9\"}\n",
		`{"resourceType":"Observation","id":"x","valueQuantity":{"value":1e999999}}`,
	} {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var accepted []fhir.Resource
		if res, err := fhir.ParseBundle(data); err == nil {
			accepted = append(accepted, res...)
		}
		if res, err := fhir.ParseNDJSON(data); err == nil {
			for _, r := range res {
				if r.ID == "" {
					t.Fatalf("NDJSON accepted a %s without an id", r.Type)
				}
			}
			accepted = append(accepted, res...)
		}
		if r, err := fhir.ParseResource(data); err == nil {
			accepted = append(accepted, r)
		}
		for _, r := range accepted {
			checkResource(t, r)
			checkPrepared(t, fhir.Prepare(r))
		}
	})
}

// FuzzProject feeds any JSON to the projector of a type the portal reads.
// Nothing may panic; what projects must land in a real section with a
// de-duplication key when it has a code, and a result's kept numbers must read back.
func FuzzProject(f *testing.F) {
	s := loadSeeds(f)
	for _, r := range s.resources {
		f.Add(r.Type, []byte(r.Raw))
	}
	f.Add("Observation", []byte(`{"resourceType":"Observation","id":"o","code":{"text":"a\u001fb"},"valueQuantity":{"value":1,"unit":"\u001e"}}`))
	f.Add("Patient", []byte(`{"resourceType":"Patient","id":"p","name":[{"given":null,"family":"\u0000"}],"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":" 943 476 5919 "}]}`))
	f.Add("Appointment", []byte(`{"resourceType":"Appointment","id":"a","participant":[{"actor":{"reference":"Patient/"}}]}`))
	f.Add("Patient", []byte(`{"resourceType":"Patient","id":"a","meta":null}`))
	f.Fuzz(func(t *testing.T, typ string, raw []byte) {
		r := fhir.Resource{Type: typ, ID: "fuzz", Raw: raw}
		checkPrepared(t, fhir.Prepare(r))
		if typ == "Patient" {
			_, _ = fhir.ParsePatient(raw)
		}
		if out, err := fhir.WithMetaSource(raw, "https://gp.example/fhir"); err == nil {
			var back struct {
				Meta struct {
					Source string `json:"source"`
				} `json:"meta"`
			}
			if err := json.Unmarshal(out, &back); err != nil || back.Meta.Source != "https://gp.example/fhir" {
				t.Fatalf("WithMetaSource gave %q (%v)", out, err)
			}
		}
	})
}

func checkResource(t *testing.T, r fhir.Resource) {
	t.Helper()
	if r.Type == "" {
		t.Fatal("accepted a resource with no type")
	}
	if len(r.ID) > 64 {
		t.Fatalf("accepted id %q longer than 64", r.ID)
	}
	if !json.Valid(r.Raw) {
		t.Fatalf("kept JSON that is not JSON: %q", r.Raw)
	}
	again, err := fhir.ParseResource(r.Raw)
	if err != nil {
		t.Fatalf("kept JSON does not read back: %v", err)
	}
	if again.Type != r.Type || !bytes.Equal(again.Raw, r.Raw) {
		t.Fatalf("kept JSON reads back as %s %q, was %s %q", again.Type, again.Raw, r.Type, r.Raw)
	}
}

func checkPrepared(t *testing.T, p fhir.Prepared) {
	t.Helper()
	if p.Err != nil {
		if len(p.Items) != 0 {
			t.Fatalf("items and an error: %v", p.Err)
		}
		return
	}
	for _, it := range p.Items {
		if _, ok := fhir.SectionBySlug(it.Section); !ok {
			t.Fatalf("item in unknown section %q", it.Section)
		}
		// One with neither a code nor words of its own has none: it merges with nothing.
		if it.DedupKey == "" && it.Code != "" {
			t.Fatalf("coded item %q has no de-duplication key", it.Display)
		}
		if it.Exact != "" {
			if _, ok := fhir.ExactMeasures(it.Exact); !ok {
				t.Fatalf("kept numbers %q do not read back", it.Exact)
			}
		}
	}
}
