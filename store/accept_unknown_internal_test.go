package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store/fhir"
)

// TestAcceptingANumberDoesNotKeepTwoPeopleMergedByUNKNOWN: a database from
// before the NHS-number check holds two sources' Patients numbered
// "UNKNOWN", made one person (the case a review found). The clinic corrects
// its Patient; accepting its number must not give the merged person (still
// holding the GP's other human) a real NHS number: refused while the GP's
// stored Patient still gives "UNKNOWN" (a later review: taken, as its
// number no longer read, for one giving none).
func TestAcceptingANumberDoesNotKeepTwoPeopleMergedByUNKNOWN(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	patient := func(id, nhs, family, born string) fhir.Resource {
		return fhir.Resource{Type: "Patient", ID: id, Raw: []byte(`{"resourceType":"Patient","id":"` + id +
			`","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"` + nhs + `"}],"name":[{"family":"` + family + `","given":["A"]}],"birthDate":"` + born + `"}`)}
	}
	// As the portal stored them before the check: one person, "UNKNOWN".
	const placeholder = "9434765919"
	for _, s := range []struct{ source, id, family, born string }{{"clinic", "pa", "Alpha", "1950-01-01"}, {"gp", "pb", "Beta", "1970-05-05"}} {
		if _, err := db.ImportResources(ctx, ImportOptions{Source: s.source}, "test", []fhir.Resource{patient(s.id, placeholder, s.family, s.born)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		`UPDATE resources SET json = CAST(replace(CAST(json AS TEXT), '` + placeholder + `', 'UNKNOWN') AS BLOB) WHERE type = 'Patient'`,
		`UPDATE persons SET nhs_number = 'UNKNOWN'`,
		`UPDATE person_identifiers SET value = 'UNKNOWN' WHERE value = '` + placeholder + `'`,
	} {
		if _, err := db.db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	var persons int
	if err := db.db.QueryRowContext(ctx, `SELECT COUNT(DISTINCT person_id) FROM source_patients`).Scan(&persons); err != nil || persons != 1 {
		t.Fatalf("%d persons, %v; want the two Patients merged, as before the check", persons, err)
	}
	// The clinic corrects its Patient: set aside, its number not the person's.
	res, err := db.ImportResources(ctx, ImportOptions{Source: "clinic"}, "test", []fhir.Resource{patient("pa", "9434765927", "Alpha", "1950-01-01")})
	if err != nil || res.Rejected != 1 {
		t.Fatalf("the corrected Patient: %+v, %v; want it set aside", res, err)
	}
	acc, err := db.AcceptNHSNumber(ctx, "clinic", "pa", Access{ActorKind: ActorOperator, ActorName: "ops"})
	if err == nil {
		var nhs string
		_ = db.db.QueryRowContext(ctx, `SELECT nhs_number FROM persons WHERE id = ?`, acc.PersonID).Scan(&nhs)
		t.Errorf("accepted: person %d, holding the GP's Beta as well as the clinic's Alpha, now has NHS number %s; want it refused while gp's Patient/pb still gives the old number", acc.PersonID, nhs)
	} else if !strings.Contains(err.Error(), "Patient/pb") {
		t.Errorf("refused, but not for the GP's Patient: %v", err)
	}
}
