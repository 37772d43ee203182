package fhir_test

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/mycarerecord/portal/store/fhir"
)

// obs is an Observation with that id and value, last updated then ("" for no meta).
func obs(id, value, updated string) string {
	meta := ""
	if updated != "" {
		meta = `,"meta":{"lastUpdated":"` + updated + `"}`
	}
	return `{"resourceType":"Observation","id":"` + id + `","status":"final","code":{"text":"Weight"},"subject":{"reference":"Patient/p1"},"valueQuantity":{"value":` + value + `,"unit":"kg"}` + meta + `}`
}

func bundle(typ string, entries ...string) []byte {
	return []byte(`{"resourceType":"Bundle","type":"` + typ + `","entry":[` + strings.Join(entries, ",") + `]}`)
}

// TestBundleHoldingAResourceTwiceIsRefused: two entries with one resource and
// different contents would have the second overwrite the first unseen; which
// is right cannot be told, so the file is refused, naming both entries.
func TestBundleHoldingAResourceTwiceIsRefused(t *testing.T) {
	_, err := fhir.ParseBundle(bundle("collection", `{"resource":`+obs("o1", "80", "")+`}`, `{"resource":`+obs("o2", "70", "")+`}`, `{"resource":`+obs("o1", "55", "")+`}`))
	if err == nil || !strings.Contains(err.Error(), "entries 1 and 3 both hold Observation/o1") {
		t.Fatalf("got %v; want the file refused, naming entries 1 and 3 and Observation/o1", err)
	}
	// The same resource twice over loses nothing: it is imported once, and said so.
	res, skipped, err := fhir.ReadBundle(bundle("searchset", `{"resource":`+obs("o1", "80", "")+`}`, `{"resource":`+obs("o1", "80", "")+`}`))
	if err != nil || len(res) != 1 || len(skipped) != 1 || skipped[0].String() != "entry 2: Observation/o1 is the same as in entry 1, so it was imported once" {
		t.Fatalf("an entry repeated as it was: %d resources, %v, %v", len(res), skipped, err)
	}
}

// TestReadBundleSaysWhatItLeavesOut: every entry that holds nothing to
// import is named, with why.
func TestReadBundleSaysWhatItLeavesOut(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		ids  []string
		want []string
	}{
		{"no resource", bundle("transaction", `{"resource":`+obs("o1", "80", "")+`}`, `{"fullUrl":"urn:uuid:x"}`), []string{"o1"},
			[]string{"entry 2: it holds no resource, so there was nothing to import"}},
		{"null resource", bundle("collection", `{"resource":null}`, `{"resource":`+obs("o1", "80", "")+`}`), []string{"o1"},
			[]string{"entry 1: its resource is null, so there was nothing to import"}},
		{"a delete in a transaction", bundle("transaction", `{"request":{"method":"DELETE","url":"Observation/o1"}}`), nil,
			[]string{"entry 1: it asks to delete Observation/o1, and portal import never deletes what is stored, so it was not applied"}},
		{"a read in a batch", bundle("batch", `{"request":{"method":"GET","url":"Patient/p1"}}`), nil,
			[]string{"entry 1: it is a GET request for Patient/p1 with no resource, so there was nothing to import"}},
		{"a response with no body", bundle("transaction-response", `{"response":{"status":"201 Created"}}`), nil,
			[]string{"entry 1: it is a response (201 Created) with no resource, so there was nothing to import"}},
		{"a history, newest first", bundle("history",
			`{"resource":`+obs("o1", "3", "2024-01-01T00:00:00Z")+`}`,
			`{"resource":`+obs("o1", "2", "2023-01-01T00:00:00Z")+`}`,
			`{"resource":`+obs("o2", "1", "")+`}`), []string{"o1", "o2"},
			[]string{"entry 2: Observation/o1 is older than the version in entry 1, which was imported instead"}},
		{"a history, oldest first", bundle("history",
			`{"resource":`+obs("o1", "2", "2023-01-01T00:00:00Z")+`}`,
			`{"resource":`+obs("o1", "3", "2024-01-01T00:00:00Z")+`}`), []string{"o1"},
			[]string{"entry 1: Observation/o1 is older than the version in entry 2, which was imported instead"}},
		{"a history that ends in a deletion", bundle("history",
			`{"request":{"method":"DELETE","url":"Observation/o1/_history/3"},"response":{"status":"204"}}`,
			`{"resource":`+obs("o1", "2", "")+`}`), nil,
			[]string{"entry 1: it asks to delete Observation/o1/_history/3, and portal import never deletes what is stored, so it was not applied",
				"entry 2: Observation/o1 was deleted later in this history (entry 1), so it was not imported"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, skipped, err := fhir.ReadBundle(tt.data)
			if err != nil {
				t.Fatal(err)
			}
			var ids, got []string
			for _, r := range res {
				ids = append(ids, r.ID)
			}
			for _, s := range skipped {
				got = append(got, s.String())
			}
			if !slices.Equal(ids, tt.ids) || !slices.Equal(got, tt.want) {
				t.Errorf("got %v, left out %q; want %v, %q", ids, got, tt.ids, tt.want)
			}
		})
	}
	// The newest version in a history is the one read.
	res, _, err := fhir.ReadBundle(tests[6].data)
	if err != nil || len(res) != 1 || !strings.Contains(string(res[0].Raw), `"value":3`) {
		t.Errorf("history oldest first: %v, %v; want the version of 2024", res, err)
	}
}

// TestFilesNotInUTF8: a UTF-8 byte order mark is no fault, and a file in
// UTF-16 is named as such rather than as "invalid character 'ÿ'".
func TestFilesNotInUTF8(t *testing.T) {
	data := bundle("collection", `{"resource":`+obs("o1", "80", "")+`}`)
	bom := append([]byte{0xEF, 0xBB, 0xBF}, data...)
	if res, err := fhir.ParseBundle(bom); err != nil || len(res) != 1 {
		t.Errorf("a Bundle after a byte order mark: %d resources, %v", len(res), err)
	}
	if res, bad := fhir.ReadNDJSON(append([]byte{0xEF, 0xBB, 0xBF}, obs("o1", "80", "")+"\n"+obs("o2", "80", "")...)); len(bad) != 0 || len(res) != 2 {
		t.Errorf("NDJSON after a byte order mark: %d resources, %v", len(res), bad)
	}
	le := []byte{0xFF, 0xFE}
	be := []byte{0xFE, 0xFF}
	for _, u := range utf16.Encode([]rune(string(data))) {
		le = append(le, byte(u), byte(u>>8))
		be = append(be, byte(u>>8), byte(u))
	}
	for name, text := range map[string][]byte{"little-endian": le, "big-endian": be, "little-endian, no mark": le[2:], "big-endian, no mark": be[2:]} {
		_, err := fhir.ParseBundle(text)
		if err == nil || !strings.Contains(err.Error(), "the file is UTF-16 text, and FHIR JSON must be UTF-8") {
			t.Errorf("%s UTF-16: %v; want it named", name, err)
		}
	}
}
