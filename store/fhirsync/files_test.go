package fhirsync_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store/fhirsync"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestListAndReadFiles(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "b.json"), `{"resourceType":"Bundle","type":"searchset","entry":[{"fullUrl":"urn:uuid:p1","resource":{"resourceType":"Patient"}}]}`)
	write(t, filepath.Join(dir, "sub", "a.ndjson"), "{\"resourceType\":\"Patient\",\"id\":\"p2\"}\n\n{\"resourceType\":\"Condition\",\"id\":\"c1\",\"subject\":{\"reference\":\"Patient/p2\"}}\n")
	write(t, filepath.Join(dir, "notes.txt"), "not FHIR")
	write(t, filepath.Join(dir, ".git", "x.json"), "{}")

	names, err := fhirsync.ListFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "b.json"), filepath.Join(dir, "sub", "a.ndjson")}
	if !slices.Equal(names, want) {
		t.Fatalf("got %v, want %v", names, want)
	}

	tests := []struct {
		file    string
		wantIDs []string
	}{
		{want[0], []string{"Patient/p1"}}, // an id-less transaction entry is named by its urn:uuid
		{want[1], []string{"Patient/p2", "Condition/c1"}},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			f, err := fhirsync.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range f.Resources {
				got = append(got, r.Type+"/"+r.ID)
			}
			if !slices.Equal(got, tt.wantIDs) {
				t.Errorf("got %v, want %v", got, tt.wantIDs)
			}
		})
	}

	// An NDJSON line that does not read as a resource is kept aside, with its
	// line and why; a file none of whose lines reads is not NDJSON at all.
	mixed := filepath.Join(dir, "mixed.ndjson")
	write(t, mixed, "{\"resourceType\":\"Patient\",\"id\":\"p3\"}\n{\"resourceType\":\"Patient\",\"id\":\"p4\" oops}\n")
	f, err := fhirsync.ReadFile(mixed)
	if err != nil || len(f.Resources) != 1 || len(f.Rejected) != 1 || f.Rejected[0].Type != "" ||
		!strings.HasPrefix(f.Rejected[0].Error, "line 2, column ") || string(f.Rejected[0].Raw) != `{"resourceType":"Patient","id":"p4" oops}` {
		t.Errorf("a file with one bad line: %+v, %v", f, err)
	}
	pretty := filepath.Join(dir, "pretty.ndjson")
	write(t, pretty, "{\n  \"resourceType\": \"Patient\",\n  \"id\": \"p5\"\n}\n")
	if _, err := fhirsync.ReadFile(pretty); err == nil || !strings.HasPrefix(err.Error(), pretty+": line 1, column ") {
		t.Errorf("a Patient over several lines: %v, want the file refused at line 1", err)
	}

	if _, err := fhirsync.ListFiles(filepath.Join(dir, "nope")); err == nil || !strings.HasPrefix(err.Error(), filepath.Join(dir, "nope")+": ") {
		t.Errorf("missing path: got %v", err)
	}
	empty := t.TempDir()
	if _, err := fhirsync.ListFiles(empty); err == nil || !strings.Contains(err.Error(), "no .json") {
		t.Errorf("empty folder: got %v", err)
	}
}
