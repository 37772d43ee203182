package fhir_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/mycarerecord/portal/store/fhir"
)

// twoSteps is what ReadResource must give: ParseResource, then Prepare.
func twoSteps(line []byte) (fhir.Prepared, error) {
	r, err := fhir.ParseResource(line)
	if err != nil {
		return fhir.Prepared{}, err
	}
	return fhir.Prepare(r), nil
}

// sameRead fails the test unless ReadResource reads line exactly as the two steps do.
func sameRead(t *testing.T, where string, line []byte) {
	t.Helper()
	got, gotErr := fhir.ReadResource(line)
	want, wantErr := twoSteps(line)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
		t.Errorf("%s: error %v, want %v", where, gotErr, wantErr)
		return
	}
	if fmt.Sprint(got.Err) != fmt.Sprint(want.Err) {
		t.Errorf("%s: prepared error %v, want %v", where, got.Err, want.Err)
	}
	got.Err, want.Err = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: read\n%+v\nwant\n%+v", where, got, want)
	}
}

// TestReadResourceSynthea reads every resource of the shared Synthea data
// (written by no one here) both as the files lay it out, over many lines, and
// compacted on one line as bulk exports write it (every fifth resource is
// read both ways; the rest only as one line, to keep the test quick).
func TestReadResourceSynthea(t *testing.T) {
	names, err := filepath.Glob("../../../shared/fhir/synthea/*.json")
	if err != nil || len(names) == 0 {
		t.Fatalf("shared FHIR data missing beside the repository: %v", err)
	}
	var n atomic.Int64
	t.Run("files", func(t *testing.T) {
		for _, name := range names {
			t.Run(filepath.Base(name), func(t *testing.T) {
				t.Parallel()
				n.Add(int64(readAllWays(t, name)))
			})
		}
	})
	if n.Load() < 38_000 {
		t.Fatalf("read %d resources, want the 38,976 in the shared data", n.Load())
	}
}

// readAllWays checks ReadResource on every resource of a bundle file and
// returns how many there were.
func readAllWays(t *testing.T, name string) int {
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for i, e := range b.Entry {
		var compact bytes.Buffer
		if err := json.Compact(&compact, e.Resource); err != nil {
			t.Fatal(err)
		}
		where := fmt.Sprintf("entry %d", i+1)
		if i%5 == 0 {
			sameRead(t, where+" (as in the file)", e.Resource)
		}
		sameRead(t, where+" (one line)", compact.Bytes())
	}
	return len(b.Entry)
}

// TestReadResourceEdges reads resources that must not take the one-decode way,
// or only partly: ReadResource must still read them as the two steps do.
func TestReadResourceEdges(t *testing.T) {
	for _, line := range []string{
		`{"resourceType":"Observation","id":"o1","meta":{"versionId":"2","lastUpdated":"2024-01-01T00:00:00Z"},"status":"final","code":{"text":"Pulse"},"subject":{"reference":"Patient/p1"},"valueQuantity":{"value":70,"unit":"/min"}}`,
		`{"resourceType":"Observation","id":"o1","code":{"text":"Blood  pressure\t\"high\" \\"},"subject":{"reference":"Patient/p1"}}`,
		`{"resourceType":"Observation", "id":"o1", "code": {"text":"Pulse"}}`,
		`{"id":"o1","resourceType":"Observation","code":{"text":"Pulse"}}`,
		`{"resourceType":"Observation","id":"o1","resourceType":"Condition","code":{"text":"Asthma"}}`,
		`{"resourceType":"Observation","id":"bad id!","code":{"text":"Pulse"}}`,
		`{"resourceType":"Observation","code":{"text":"Pulse"}}`,
		`{"resourceType":"Observation","id":"o1","code":{"text":5}}`,
		`{"resourceType":"Observation","id":"o1","code":{"text":"Pulse"}`,
		`{"resourceType":"Observation","id":"o1","code":{"text":"Pulse"}} trailing`,
		`{"resourceType":"Observation","id":"o1","code" :{"text":"Pulse"}`,
		`{"resourceType":"Observation","id":5}`,
		`{"resourceType":"Observation","id":"o1","meta":"no"}`,
		`{"resourceType":"Patient","id":"p1","name":[{"family":"Smith","given":["Ann"]}]}`,
		`{"resourceType":"Organization","id":"g1","name":"Meanwood Practice"}`,
		`{"resourceType":"Claim","id":"c1","patient":{"reference":"Patient/p1"}}`,
		`{"resourceType":"Claim","id":"c1","patient":{"reference":5}}`,
		`{"resourceType":"ExplanationOfBenefit","id":"e1","beneficiary":{"reference":"Patient/p1"}}`,
		`{"resourceType":"AuditEvent","id":"e1","entity":[{"what":{"reference":"Patient/p1"}}]}`,
		`{"resourceType":"Appointment","id":"a1","status":"booked","participant":[{"actor":{"reference":"Patient/p1"}}]}`,
		`{"resourceType":"","id":"o1"}`,
		`{"resourceType":"Obs\"ervation","id":"o1"}`,
		`[]`,
		`null`,
		``,
	} {
		sameRead(t, line, []byte(line))
	}
}
