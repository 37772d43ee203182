package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestSourceOrgNamesWhatPeopleSee: a source added without --org is said to
// be shown to people by its name, with how to name its organisation, which
// source org does later, keeping what is cached; bad input is refused
// saying why (a sync review: patients read "Updated from lth", and the only
// way to change it, removing the source, lost everyone's cache).
func TestSourceOrgNamesWhatPeopleSee(t *testing.T) {
	db := filepath.Join(t.TempDir(), "portal.db")
	out, _, err := portal(t, "source", "add", "lth", "https://fhir.lth.example/r4", "--db", db)
	if err != nil || !strings.Contains(out, `People will see it as "lth" until you name the organisation, e.g. portal source org lth "Leeds Teaching Hospitals"`) {
		t.Errorf("source add without --org: %v\n%s\nwant how to name the organisation", err, out)
	}
	if _, _, err := portal(t, "import", largestBundle, "--db", db, "--source", "files"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no organisation", []string{"lth"}, `source org: give the source's name and the organisation people see it as, e.g. portal source org lth "Leeds Teaching Hospitals"`},
		{"an empty one", []string{"lth", "  "}, `source org: give the source's name and the organisation people see it as, e.g. portal source org lth "Leeds Teaching Hospitals"`},
		{"a new line in it", []string{"lth", "Leeds\nTeaching"}, "source org: the organisation holds a control character, such as a new line, a tab, an escape or one that turns the text's direction: give it without"},
		{"no such source", []string{"ycc", "Yorkshire Community Care"}, `source org: There is no source called "ycc".`},
	} {
		if _, _, err := portal(t, append([]string{"source", "org", "--db", db}, tt.args...)...); err == nil || err.Error() != tt.want {
			t.Errorf("%s: %v; want %q", tt.name, err, tt.want)
		}
	}
	for src, org := range map[string]string{"lth": "Leeds Teaching Hospitals", "files": "Meanwood  Group Practice"} {
		out, _, err := portal(t, "source", "org", src, org, "--db", db)
		if err != nil || !strings.Contains(out, "People now see source "+src+" as ") {
			t.Errorf("source org %s: %v\n%s", src, err, out)
		}
	}
	list, _, err := portal(t, "source", "list", "--db", db)
	if err != nil || !strings.Contains(list, "Leeds Teaching Hospitals") || !strings.Contains(list, "Meanwood Group Practice") {
		t.Errorf("source list after source org: %v\n%s", err, list)
	}
	if persons, _, err := portal(t, "persons", "--db", db); err != nil || !strings.Contains(persons, "files") {
		t.Errorf("the imported record is gone after source org: %v\n%s", err, persons)
	}
}
