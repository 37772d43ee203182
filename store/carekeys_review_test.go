package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

const twoMembersByReference = `{"resourceType":"CareTeam","id":"ct1","status":"active","name":"Community mental health team","subject":{"reference":"Patient/%[1]s"},"participant":[` +
	`{"role":[{"text":"Psychiatrist"}],"member":{"reference":"Practitioner/dr1"}},` +
	`{"role":[{"text":"Care coordinator"}],"member":{"reference":"Practitioner/dr2"}}]}`

// A care team member known only by reference was kept out, for a while, by
// "item:<source>/CareTeam/<id>" (no "#part"). A person who kept the team's
// members out that way still has them kept out after the upgrade (a review).
func TestCareTeamMemberKeptOutByTheKeyItHadBefore(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	p := importSources(t, db, []string{"gp", twoMembersByReference})
	sp, err := db.RecordSection(ctx, p, fhir.SectionCareTeam, 1, 10)
	if err != nil || len(sp.Items) != 2 {
		t.Fatalf("%d members (%v), want 2", len(sp.Items), err)
	}
	newKey := store.ItemKey(sp.Items[0])
	oldKey, _, _ := strings.Cut(newKey, "#")
	if _, err := db.ChangeConsent(ctx, p, janeHerself, store.ConsentChange{Question: store.WithholdItemQuestion(newKey), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
		t.Fatal(err)
	}
	// The decision as the version before this change recorded it.
	// (Decisions are append-only: the latest, as the old version would have
	// written it, is appended; the latest decision is the state.)
	db = reopenWith(t, db, path, `INSERT INTO consent_decisions (person_id, identifier, made_at, effective_from, performer_account_id,
performer_name, performer_carer, performer_relationship, question, answer, item_label, state, fhir)
SELECT person_id, identifier || '-old', made_at, effective_from, performer_account_id, performer_name, performer_carer, performer_relationship,
replace(question, '`+newKey+`', '`+oldKey+`'), answer, item_label, replace(state, '`+newKey+`', '`+oldKey+`'), fhir
FROM consent_decisions ORDER BY id DESC LIMIT 1`)
	t.Logf("kept out by %s (recorded before the upgrade)", oldKey)
	carer, err := db.RecordSection(store.ForCarer(context.Background(), fhir.SectionCareTeam), p, fhir.SectionCareTeam, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range carer.Items {
		t.Errorf("after the upgrade a carer sees %q (%s), kept out before it", it.Display, it.Detail)
	}
}

// One practitioner in two roles in one team, known only by reference:
// keeping one role out keeps out that one alone, as for two practitioners.
func TestKeepOutOneOfTwoRolesOfOneMemberByReference(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp",
		`{"resourceType":"CareTeam","id":"ct1","status":"active","name":"Community mental health team","subject":{"reference":"Patient/%[1]s"},"participant":[` +
			`{"role":[{"text":"Psychiatrist"}],"member":{"reference":"Practitioner/dr1"}},` +
			`{"role":[{"text":"Care coordinator"}],"member":{"reference":"Practitioner/dr1"}}]}`,
	})
	sp, err := db.RecordSection(ctx, p, fhir.SectionCareTeam, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(sp.Items) != 2 {
		t.Fatalf("the person's care team: %d entries, want 2 (one a role)", len(sp.Items))
	}
	t.Logf("keys: %s, %s", store.ItemKey(sp.Items[0]), store.ItemKey(sp.Items[1]))
	if _, err := db.ChangeConsent(ctx, p, janeHerself, store.ConsentChange{Question: store.WithholdItemQuestion(store.ItemKey(sp.Items[0])), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
		t.Fatal(err)
	}
	carer, err := db.RecordSection(store.ForCarer(context.Background(), fhir.SectionCareTeam), p, fhir.SectionCareTeam, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(carer.Items) != 1 {
		t.Errorf("a carer sees %d of the two entries, want 1 (the role not kept out)", len(carer.Items))
	}
}

// A database migrated by 0051: an allergy's reactions among its reasons, a
// result's part's coded value not. 0054 corrects it: a kept-out rash does
// not take the penicillin allergy from the carer, and the HIV finding of a
// panel's part does not reach them (a review).
func TestReasonsFixedForADatabaseMigratedBefore(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	p := importSources(t, db, []string{"gp",
		`{"resourceType":"Observation","id":"o1","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Screening panel"},"effectiveDateTime":"2025-04-01",` +
			`"component":[{"code":{"text":"Finding"},"valueCodeableConcept":` + hivReason + `}]}`,
		rashCondition, penicillinRash,
	})
	db = reopenWith(t, db, path,
		`INSERT INTO record_item_reasons (item_id, system, code) SELECT id, 'http://snomed.info/sct', '271807003' FROM record_items WHERE resource_type = 'AllergyIntolerance'`,
		`UPDATE record_items SET reason_codes = 'http://snomed.info/sct|271807003' || char(31) WHERE resource_type = 'AllergyIntolerance'`,
		`DELETE FROM record_item_reasons WHERE item_id IN (SELECT id FROM record_items WHERE resource_type = 'Observation')`,
		`UPDATE record_items SET reason_codes = '' WHERE resource_type = 'Observation'`,
		`DELETE FROM schema_migrations WHERE version = 54`) // as a database that ran 0051 alone
	withholdSexualHealth(t, db, p)
	sp, err := db.RecordSection(ctx, p, fhir.SectionConditions, 1, 10)
	if err != nil || len(sp.Items) != 1 {
		t.Fatalf("%d conditions (%v)", len(sp.Items), err)
	}
	if _, err := db.ChangeConsent(ctx, p, janeHerself, store.ConsentChange{Question: store.WithholdItemQuestion(store.ItemKey(sp.Items[0])), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
		t.Fatal(err)
	}
	if got := shownIn(t, store.ForCarer(context.Background(), fhir.SectionAllergies), db, p, fhir.SectionAllergies); len(got) != 1 {
		t.Errorf("a carer's allergies: %q; want the penicillin allergy", got)
	}
	if got := shownIn(t, store.ForCarer(context.Background(), fhir.SectionResults), db, p, fhir.SectionResults); len(got) != 0 {
		t.Errorf("a carer's results: %q; want none (its part found HIV infection)", got)
	}
}

// Jane keeps the team's psychiatrist, known only by reference, out of
// sharing. The source's next version of the team gives the same
// practitioners' references in full (absolute) form: the same members, the
// psychiatrist still kept out.
func TestKeptOutMemberStaysOutWhenTheReferenceIsWrittenInFull(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp", twoMembersByReference})
	sp, err := db.RecordSection(ctx, p, fhir.SectionCareTeam, 1, 10)
	if err != nil || len(sp.Items) != 2 {
		t.Fatalf("%d members (%v), want 2", len(sp.Items), err)
	}
	for _, it := range sp.Items {
		if strings.HasPrefix(it.Detail, "Psychiatrist") {
			if _, err := db.ChangeConsent(ctx, p, janeHerself, store.ConsentChange{Question: store.WithholdItemQuestion(store.ItemKey(it)), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", parsed(t,
		`{"resourceType":"CareTeam","id":"ct1","meta":{"versionId":"2"},"status":"active","name":"Community mental health team","subject":{"reference":"Patient/p0"},"participant":[`+
			`{"role":[{"text":"Psychiatrist"}],"member":{"reference":"https://gp.example.nhs.uk/fhir/Practitioner/dr1"}},`+
			`{"role":[{"text":"Care coordinator"}],"member":{"reference":"https://gp.example.nhs.uk/fhir/Practitioner/dr2"}}]}`)); err != nil {
		t.Fatal(err)
	}
	carer, err := db.RecordSection(store.ForCarer(context.Background(), fhir.SectionCareTeam), p, fhir.SectionCareTeam, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range carer.Items {
		if strings.HasPrefix(it.Detail, "Psychiatrist") {
			t.Errorf("a carer sees the kept-out member: %s (%s)", it.Display, it.Detail)
		}
	}
}
