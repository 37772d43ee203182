package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

const twoMembersByReference = `{"resourceType":"CareTeam","id":"ct1","status":"active","name":"Community mental health team","subject":{"reference":"Patient/%[1]s"},"participant":[` +
	`{"role":[{"text":"Psychiatrist"}],"member":{"reference":"Practitioner/dr1"}},` +
	`{"role":[{"text":"Care coordinator"}],"member":{"reference":"Practitioner/dr2"}}]}`

// One practitioner in two roles in one team, known only by reference:
// keeping one role out keeps out that one alone, as for two practitioners.
func TestKeepOutOneOfTwoRolesOfOneMemberByReference(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp", oneMemberTwoRoles})
	sp, err := db.RecordSection(ctx, p, fhir.SectionCareTeam, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(sp.Items) != 2 {
		t.Fatalf("the person's care team: %d entries, want 2 (one a role)", len(sp.Items))
	}
	t.Logf("keys: %s, %s", store.ItemKey(sp.Items[0]), store.ItemKey(sp.Items[1]))
	keepOutItem(t, db, p, sp.Items[0])
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
	keepOutItem(t, db, p, sp.Items[0])
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
			keepOutItem(t, db, p, it)
		}
	}
	importAs(t, db, "gp",
		ct1Version2(
			`{"role":[{"text":"Psychiatrist"}],"member":{"reference":"https://gp.example.nhs.uk/fhir/Practitioner/dr1"}}`,
			`{"role":[{"text":"Care coordinator"}],"member":{"reference":"https://gp.example.nhs.uk/fhir/Practitioner/dr2"}}`,
		))
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

const oneMemberTwoRoles = `{"resourceType":"CareTeam","id":"ct1","status":"active","name":"Community mental health team","subject":{"reference":"Patient/%[1]s"},"participant":[` +
	`{"role":[{"text":"Psychiatrist"}],"member":{"reference":"Practitioner/dr1"}},` +
	`{"role":[{"text":"Care coordinator"}],"member":{"reference":"Practitioner/dr1"}}]}`

// keepOutRole keeps out the member's entry whose detail starts with role.
func keepOutRole(t *testing.T, db *store.DB, p int64, role string) {
	t.Helper()
	sp, err := db.RecordSection(context.Background(), p, fhir.SectionCareTeam, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range sp.Items {
		if strings.HasPrefix(it.Detail, role) {
			t.Logf("keep out %s by %s", role, store.ItemKey(it))
			keepOutItem(t, db, p, it)
			return
		}
	}
	t.Fatalf("no %s", role)
}

// ct1Version2 is the care team ct1's next version, with these participants.
func ct1Version2(participants ...string) string {
	return `{"resourceType":"CareTeam","id":"ct1","meta":{"versionId":"2"},"status":"active","name":"Community mental health team","subject":{"reference":"Patient/p0"},"participant":[` +
		strings.Join(participants, ",") + `]}`
}

// keepOutItem has Jane keep the entry out of sharing, on its own.
func keepOutItem(t *testing.T, db *store.DB, p int64, it store.RecordItem) {
	t.Helper()
	if _, err := db.ChangeConsent(context.Background(), p, janeHerself, store.ConsentChange{Question: store.WithholdItemQuestion(store.ItemKey(it)), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
		t.Fatal(err)
	}
}

// carerSeesNone fails, saying what, when a carer reads a care team member
// whose words begin with prefix.
func carerSeesNone(t *testing.T, db *store.DB, p int64, prefix, what string) {
	t.Helper()
	for _, d := range carerCareTeam(t, db, p) {
		if strings.HasPrefix(d, prefix) {
			t.Errorf("%s: %s", what, d)
		}
	}
}

// carerCareTeam is what a carer reads of the care team, member by member.
func carerCareTeam(t *testing.T, db *store.DB, p int64) []string {
	t.Helper()
	sp, err := db.RecordSection(store.ForCarer(context.Background(), fhir.SectionCareTeam), p, fhir.SectionCareTeam, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range sp.Items {
		out = append(out, it.Detail)
	}
	return out
}

// Jane keeps out Dr 1's second role (care coordinator). Upstream's next
// version lists the same two roles the other way round: the care
// coordinator role must stay out, the psychiatrist role shared.
func TestAKeptOutRoleStaysOutWhenRolesAreReordered(t *testing.T) {
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp", oneMemberTwoRoles})
	keepOutRole(t, db, p, "Care coordinator")
	importAs(t, db, "gp",
		ct1Version2(
			`{"role":[{"text":"Care coordinator"}],"member":{"reference":"Practitioner/dr1"}}`,
			`{"role":[{"text":"Psychiatrist"}],"member":{"reference":"Practitioner/dr1"}}`,
		))
	carerSeesNone(t, db, p, "Care coordinator", "a carer sees the kept-out role")
}

// Jane keeps out Dr 1's second role. Upstream ends the first role (the
// psychiatrist role leaves the team): the care coordinator role, still in
// the team, must stay out.
func TestAKeptOutRoleStaysOutWhenTheOtherLeaves(t *testing.T) {
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp", oneMemberTwoRoles})
	keepOutRole(t, db, p, "Care coordinator")
	importAs(t, db, "gp",
		ct1Version2(
			`{"role":[{"text":"Care coordinator"}],"member":{"reference":"Practitioner/dr1"}}`,
		))
	carerSeesNone(t, db, p, "Care coordinator", "a carer sees the kept-out role")
}

// Jane keeps out the team's psychiatrist, known only by a reference written
// in full. The source's next version of the team gives the psychiatrist's
// name beside the same reference: the same member, still kept out.
func TestAKeptOutMemberStaysOutWhenTheSourceAddsTheName(t *testing.T) {
	const full = "https://gp.example.nhs.uk/fhir/Practitioner/"
	db := mustOpenDB(t)
	p := importSources(t, db, []string{"gp",
		`{"resourceType":"CareTeam","id":"ct1","status":"active","name":"Community mental health team","subject":{"reference":"Patient/%[1]s"},"participant":[` +
			`{"role":[{"text":"Psychiatrist"}],"member":{"reference":"` + full + `dr1"}},` +
			`{"role":[{"text":"Care coordinator"}],"member":{"reference":"` + full + `dr2"}}]}`})
	keepOutRole(t, db, p, "Psychiatrist")
	importAs(t, db, "gp",
		ct1Version2(
			`{"role":[{"text":"Psychiatrist"}],"member":{"reference":"`+full+`dr1","display":"Dr Anita Rao"}}`,
			`{"role":[{"text":"Care coordinator"}],"member":{"reference":"`+full+`dr2"}}`,
		))
	carerSeesNone(t, db, p, "Psychiatrist", "a carer sees the kept-out member")
}

// Two sources' care teams each name their own Practitioner/1, a GP at each
// practice, by reference alone: two people, two entries (a review: one key
// made them one, and the second GP vanished from the list).
func TestTwoServersPractitioner1AreTwoMembers(t *testing.T) {
	db := mustOpenDB(t)
	p := importSources(t, db,
		[]string{"gp", `{"resourceType":"Practitioner","id":"1","meta":{"source":"x-%[1]s"},"name":[{"text":"Dr Alice Smith"}]}`, gpTeam},
		[]string{"hospital", `{"resourceType":"Practitioner","id":"1","meta":{"source":"x-%[1]s"},"name":[{"text":"Dr Bob Jones"}]}`, gpTeam})
	if got, _ := careTeamMembers(t, db, p); !slices.Equal(got, []string{"Dr Alice Smith from gp", "Dr Bob Jones from hospital"}) {
		t.Errorf("care team: %q; want Dr Alice Smith from gp and Dr Bob Jones from hospital", got)
	}
}
