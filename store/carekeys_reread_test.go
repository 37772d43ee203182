package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// gpTeam is a care team whose GP is given only as Practitioner/1.
const gpTeam = `{"resourceType":"CareTeam","id":"ct1","status":"active","subject":{"reference":"Patient/%[1]s"},"participant":[` +
	`{"role":[{"coding":[{"system":"http://snomed.info/sct","code":"62247001","display":"General practitioner"}]}],"member":{"reference":"Practitioner/1"}}]}`

// careTeamMembers is the person's care team as "Display from sources", sorted, and the entries' keys.
func careTeamMembers(t *testing.T, db *store.DB, p int64) ([]string, []string) {
	t.Helper()
	sp, err := db.RecordSection(context.Background(), p, fhir.SectionCareTeam, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got, keys []string
	for _, it := range sp.Items {
		got = append(got, it.Display+" from "+it.SourceLabels())
		keys = append(keys, store.ItemKey(it))
	}
	slices.Sort(got)
	return got, keys
}

// After the upgrade's re-read (0054 restarts it), two servers' Practitioner/1
// stay two entries (a review: the re-read made their keys one again).
func TestTwoServersPractitioner1StayTwoAfterAReread(t *testing.T) {
	db, path := mustOpenDBFile(t)
	p := importSources(t, db,
		[]string{"gp", `{"resourceType":"Practitioner","id":"1","meta":{"source":"x-%[1]s"},"name":[{"text":"Dr Alice Smith"}]}`, gpTeam},
		[]string{"hospital", `{"resourceType":"Practitioner","id":"1","meta":{"source":"x-%[1]s"},"name":[{"text":"Dr Bob Jones"}]}`, gpTeam})
	got, keys := careTeamMembers(t, db, p)
	t.Logf("before: %q %q", got, keys)
	db = rerunMigration(t, db, path, 54)
	if _, err := db.FinishStalledBulkLoad(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	got, keys = careTeamMembers(t, db, p)
	t.Logf("after re-read: %q %q", got, keys)
	if want := []string{"Dr Alice Smith from gp", "Dr Bob Jones from hospital"}; !slices.Equal(got, want) {
		t.Errorf("care team after the re-read: %q; want %q", got, want)
	}
}

// A member kept out under the previous build (key without "|source N")
// stays out after the upgrade's re-read and the next sync.
func TestAMemberKeptOutByAKeyWithoutItsSourceStaysOut(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	p := importSources(t, db, []string{"gp", twoMembersByReference})
	// as the previous build stored it: keys without the source
	db = reopenWith(t, db, path, `UPDATE record_items SET dedup_key = substr(dedup_key, 1, instr(dedup_key, '|source ') - 1) WHERE dedup_key LIKE '%|source %'`)
	keepOutRole(t, db, p, "Psychiatrist")
	if got := carerCareTeam(t, db, p); len(got) != 1 {
		t.Fatalf("before upgrade carer sees %q", got)
	}
	db = rerunMigration(t, db, path, 54)
	if _, err := db.FinishStalledBulkLoad(ctx, true); err != nil {
		t.Fatal(err)
	}
	_, keys := careTeamMembers(t, db, p)
	t.Logf("after re-read keys %q", keys)
	carerSeesNone(t, db, p, "Psychiatrist", "after re-read a carer sees the kept-out member")
	importAs(t, db, "gp",
		ct1Version2(
			`{"role":[{"text":"Psychiatrist"}],"member":{"reference":"Practitioner/dr1"}}`,
			`{"role":[{"text":"Care coordinator"}],"member":{"reference":"Practitioner/dr2"}}`,
		))
	_, keys = careTeamMembers(t, db, p)
	t.Logf("after sync keys %q", keys)
	carerSeesNone(t, db, p, "Psychiatrist", "after sync a carer sees the kept-out member")
}

// Kept out under the previous build, synced after the upgrade: the entry
// page names the key it is kept out by, and sharing it again shares it.
func TestAMemberKeptOutByAKeyWithoutItsSourceIsSharedAgain(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	p := importSources(t, db, []string{"gp", twoMembersByReference})
	db = reopenWith(t, db, path, `UPDATE record_items SET dedup_key = substr(dedup_key, 1, instr(dedup_key, '|source ') - 1) WHERE dedup_key LIKE '%|source %'`)
	keepOutRole(t, db, p, "Psychiatrist")
	db = rerunMigration(t, db, path, 54)
	if _, err := db.FinishStalledBulkLoad(ctx, true); err != nil {
		t.Fatal(err)
	}
	importAs(t, db, "gp",
		ct1Version2(
			`{"role":[{"text":"Psychiatrist"}],"member":{"reference":"Practitioner/dr1"}}`,
			`{"role":[{"text":"Care coordinator"}],"member":{"reference":"Practitioner/dr2"}}`,
		))
	sp, err := db.RecordSection(ctx, p, fhir.SectionCareTeam, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range sp.Items {
		if !strings.HasPrefix(it.Detail, "Psychiatrist") {
			continue
		}
		k, err := db.KeptOutKeyOf(context.Background(), p, it)
		if err != nil {
			t.Fatal(err)
		}
		label, err := db.ItemLabelByKey(context.Background(), p, k)
		t.Logf("item key %s; kept out by %s; label %q %v", store.ItemKey(it), k, label.Display, err)
		if err != nil {
			t.Errorf("ItemLabelByKey(%s): %v", k, err)
		}
		if _, err := db.ChangeConsent(context.Background(), p, janeHerself, store.ConsentChange{Question: store.WithholdItemQuestion(k), Answer: "no"}, store.ChoiceLogged(2)); err != nil {
			t.Fatal(err)
		}
	}
	if got := carerCareTeam(t, db, p); len(got) != 2 {
		t.Errorf("after sharing again a carer sees %q; want both", got)
	}
}

// Kept out under this build (key with the source); the re-read and the next sync keep it out.
func TestAMemberKeptOutStaysOutThroughARereadAndASync(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	p := importSources(t, db, []string{"gp", twoMembersByReference})
	keepOutRole(t, db, p, "Psychiatrist")
	db = rerunMigration(t, db, path, 54)
	if _, err := db.FinishStalledBulkLoad(ctx, true); err != nil {
		t.Fatal(err)
	}
	carerSeesNone(t, db, p, "Psychiatrist", "after re-read a carer sees the kept-out member")
	importAs(t, db, "gp",
		ct1Version2(
			`{"role":[{"text":"Psychiatrist"}],"member":{"reference":"Practitioner/dr1"}}`,
			`{"role":[{"text":"Care coordinator"}],"member":{"reference":"Practitioner/dr2"}}`,
		))
	carerSeesNone(t, db, p, "Psychiatrist", "after sync a carer sees the kept-out member")
}

// Two servers' Practitioner/1; the gp's kept out. A sync of the hospital's
// team while the re-read has not reached it (rereadFirst) must leave the
// hospital's GP shared and the gp's out (a review).
func TestKeepingOutOneServersGPLeavesTheOthers(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	p := importSources(t, db,
		[]string{"gp", `{"resourceType":"Practitioner","id":"1","meta":{"source":"x-%[1]s"},"name":[{"text":"Dr Alice Smith"}]}`, gpTeam},
		[]string{"hospital", `{"resourceType":"Practitioner","id":"1","meta":{"source":"x-%[1]s"},"name":[{"text":"Dr Bob Jones"}]}`, gpTeam})
	sp, err := db.RecordSection(ctx, p, fhir.SectionCareTeam, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range sp.Items {
		if it.Display == "Dr Alice Smith" {
			keepOutItem(t, db, p, it)
		}
	}
	if !strings.Contains(t.Name(), "Control") {
		db = rerunMigration(t, db, path, 54) // re-read pending, not run
	}
	_ = path
	importAs(t, db, "hospital",
		`{"resourceType":"CareTeam","id":"ct1","meta":{"versionId":"2"},"status":"active","subject":{"reference":"Patient/p1"},"participant":[`+
			`{"role":[{"coding":[{"system":"http://snomed.info/sct","code":"62247001","display":"General practitioner"}]}],"member":{"reference":"Practitioner/1"}},`+
			`{"role":[{"text":"Nurse"}],"member":{"reference":"Practitioner/2"}}]}`)
	sp2, err := db.RecordSection(store.ForCarer(context.Background(), fhir.SectionCareTeam), p, fhir.SectionCareTeam, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range sp2.Items {
		got = append(got, it.Display+"/"+it.Detail)
	}
	t.Logf("carer sees %q", got)
	all, keys := careTeamMembers(t, db, p)
	t.Logf("all %q keys %q", all, keys)
	bob := false
	for _, g := range got {
		bob = bob || strings.HasPrefix(g, "Dr Bob Jones")
		if strings.HasPrefix(g, "Dr Alice Smith") {
			t.Errorf("carer sees the kept-out gp's GP: %s", g)
		}
	}
	if !bob {
		t.Errorf("carer does not see the hospital's GP: %q", got)
	}
}
