package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// patientBundle is a collection of Patients: id, then NHS number ("" for none).
func patientBundle(t *testing.T, patients ...[2]string) []fhir.Resource {
	t.Helper()
	entries := ""
	for i, p := range patients {
		if i > 0 {
			entries += ","
		}
		ident := ""
		if p[1] != "" {
			ident = fmt.Sprintf(`,"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":%q}]`, p[1])
		}
		entries += fmt.Sprintf(`{"resource":{"resourceType":"Patient","id":%q,"name":[{"given":["Pat"],"family":%q}],"birthDate":"1970-01-0%d"%s}}`, p[0], "Person-"+p[0], i+1, ident)
	}
	res, err := fhir.ParseBundle([]byte(`{"resourceType":"Bundle","type":"collection","entry":[` + entries + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestEachPerson: every person, in id order, with the sources holding them;
// only those added after an id when asked; and LastPersonID the newest.
func TestEachPerson(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	list := func(after int64) []store.PersonListing {
		t.Helper()
		var got []store.PersonListing
		if err := db.EachPerson(ctx, after, func(p store.PersonListing) error { got = append(got, p); return nil }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := list(0); got != nil {
		t.Errorf("an empty database lists %+v", got)
	}
	if id, err := db.LastPersonID(ctx); id != 0 || err != nil {
		t.Errorf("LastPersonID of an empty database: %d, %v", id, err)
	}

	// Jane is at both sources, linked by her NHS number (the later name
	// wins); Sam only at the GP; Ann only at the hospital.
	for _, imp := range []struct {
		source   string
		patients [][2]string
	}{
		{"zeta-gp", [][2]string{{"jane", "9434765919"}, {"sam", ""}}},
		{"alpha-hospital", [][2]string{{"jay", "9434765919"}, {"ann", ""}}},
	} {
		if _, err := db.ImportResources(ctx, store.ImportOptions{Source: imp.source}, imp.source+".json", patientBundle(t, imp.patients...)); err != nil {
			t.Fatal(err)
		}
	}
	all := list(0)
	type row struct {
		id      int64
		family  string
		born    string
		nhs     string
		sources []string
	}
	var got []row
	for _, p := range all {
		got = append(got, row{p.ID, p.Family, p.BirthDate, p.NHSNumber, p.Sources})
	}
	want := []row{
		{1, "Person-jay", "1970-01-01", "9434765919", []string{"alpha-hospital", "zeta-gp"}},
		{2, "Person-sam", "1970-01-02", "", []string{"zeta-gp"}},
		{3, "Person-ann", "1970-01-02", "", []string{"alpha-hospital"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if id, err := db.LastPersonID(ctx); id != 3 || err != nil {
		t.Errorf("LastPersonID: %d, %v; want 3", id, err)
	}
	if after := list(1); len(after) != 2 || after[0].ID != 2 || after[1].ID != 3 {
		t.Errorf("after person 1: %+v; want persons 2 and 3", after)
	}
	if after := list(3); after != nil {
		t.Errorf("after the last person: %+v", after)
	}
	// An error from fn stops the listing and is returned.
	stop := errors.New("stop")
	n := 0
	if err := db.EachPerson(ctx, 0, func(store.PersonListing) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("got %v after %d calls; want the error after 1", err, n)
	}
}
