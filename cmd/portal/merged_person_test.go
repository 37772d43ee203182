package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// TestAPersonMergedAwayPointsOperatorsOn: a hospital's record, taken for a
// person of its own, is later merged into Jane's: portal persons lists the
// person it leaves holding nothing as merged into hers, and a command naming
// that person by id refuses, naming hers, with nothing made or synced
// (before, it was listed with no source, and an invitation to it opened an
// empty record).
func TestAPersonMergedAwayPointsOperatorsOn(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "portal.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	jayne := `{"resourceType":"Patient","id":"p2","identifier":[{"system":"https://mrn.example","value":"M-2"}],"name":[{"family":"Exampel","given":["Jayne"]}],"birthDate":"1957-03-14"}`
	jane := `{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"name":[{"family":"Example","given":["Jane"]}],"birthDate":"1957-03-14"}`
	merged := strings.Replace(jayne, `"birthDate"`, `"active":false,"link":[{"type":"replaced-by","other":{"reference":"Patient/p1"}}],"birthDate"`, 1)
	for _, raw := range []string{jayne, jane, merged} {
		r, err := fhir.ParseResource([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "lth", LinkSystems: []string{"https://mrn.example"}}, "test", []fhir.Resource{r}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	out, _, err := portal(t, "persons", "--db", path)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^1 +Jayne Exampel +1957-03-14 +- +- \(merged into 2\)$`).MatchString(out) || !regexp.MustCompile(`(?m)^2 +Jane Example .* lth$`).MatchString(out) {
		t.Errorf("portal persons:\n%s\nwant person 1 listed as merged into person 2, Jane, who holds the hospital's record", out)
	}
	for _, args := range [][]string{
		{"export", "--person", "1"},
		{"invite", "--person", "1"},
		{"sync", "--person", "1"},
	} {
		stdout, stderr, err := portal(t, append(args, "--db", path)...)
		if err == nil || !strings.Contains(err.Error(), "Person 1 holds nothing now: a source merged their records into person 2's, so name that person with --person 2") {
			t.Errorf("portal %s: %v\nstdout: %s\nstderr: %s\nwant a refusal naming person 2", strings.Join(args, " "), err, stdout, stderr)
		}
		if strings.Contains(stdout, "resourceType") || strings.Contains(stdout, "code") {
			t.Errorf("portal %s printed %q after refusing", strings.Join(args, " "), stdout)
		}
	}
}
