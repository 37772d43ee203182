package store_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// TestNextReportOfAKeptOutFactAfterItsKeyChanged: an entry kept out of
// sharing by a key it has since lost (a re-read, or upstream, changed it)
// stays out with the reports of its fact that come after, by its key now:
// next month's prescription, the same team sent again (a review of
// migration 0046 found both reaching the carer). Shared again from its page,
// all of them are.
func TestNextReportOfAKeptOutFactAfterItsKeyChanged(t *testing.T) {
	ctx := context.Background()
	prep := func(id, when string) string {
		return `{"resourceType":"MedicationRequest","id":"` + id + `","status":"active","intent":"order","subject":{"reference":"Patient/%s"},` +
			`"medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"1858257","display":"emtricitabine 200 MG / tenofovir disoproxil fumarate 300 MG Oral Tablet"}]},` +
			`"authoredOn":"` + when + `","dosageInstruction":[{"sequence":1,"timing":{"repeat":{"frequency":1,"period":1,"periodUnit":"d"}},"doseAndRate":[{"doseQuantity":{"value":1}}]}]}`
	}
	team := func(id string) string {
		return `{"resourceType":"CareTeam","id":"` + id + `","status":"active","name":"Sexual health clinic team","subject":{"reference":"Patient/%s"},` +
			`"participant":[{"role":[{"text":"Health adviser"}],"member":{"reference":"Practitioner/9","display":"Sam Patel"}}]}`
	}
	for _, c := range []struct {
		name, sec   string
		first, next string
		oldKey      func(string) string // the key as stored before
	}{
		{"next month's prescription", fhir.SectionMedicines, prep("m1", "2026-09-01"), prep("m2", "2026-10-01"),
			func(k string) string { return k[:strings.LastIndex(k, "|")+1] }},
		{"the team sent again", fhir.SectionCareTeam, team("t1"), team("t2"),
			func(k string) string { return k[:strings.LastIndex(k, "|")] }},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, path := mustOpenDBFile(t)
			p := importSources(t, db, []string{"gp", c.first})
			raw, err := sql.Open("sqlite3", "file:"+store.URIPath(path))
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			var key string
			if err := raw.QueryRow(`SELECT dedup_key FROM record_items WHERE section = ?`, c.sec).Scan(&key); err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(`UPDATE record_items SET dedup_key = ? WHERE section = ?`, c.oldKey(key), c.sec); err != nil {
				t.Fatal(err)
			}
			sp, err := db.RecordSection(ctx, p, c.sec, 1, 50)
			if err != nil {
				t.Fatal(err)
			}
			oldKey := store.ItemKey(sp.Items[0])
			if _, err := db.ChangeConsent(ctx, p, janeHerself, store.ConsentChange{Question: store.WithholdItemQuestion(oldKey), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(`DELETE FROM reread_backlog; INSERT INTO reread_backlog (after_rowid, upto_rowid) SELECT 0, MAX(rowid) FROM resources`); err != nil {
				t.Fatal(err)
			}
			if err := db.FinishBulkLoad(ctx); err != nil {
				t.Fatal(err)
			}
			importSources(t, db, []string{"gp", c.first, c.next})
			if mine := shownIn(t, ctx, db, p, c.sec); len(mine) == 0 {
				t.Fatal("the person sees nothing")
			}
			if carer := shownIn(t, store.ForCarer(ctx, c.sec), db, p, c.sec); len(carer) != 0 {
				t.Errorf("the carer sees the kept-out fact's next report: %q", carer)
			}
			// Shared again by the key it was kept out by: every report is shared.
			if _, err := db.ChangeConsent(ctx, p, janeHerself, store.ConsentChange{Question: store.WithholdItemQuestion(oldKey), Answer: "no"}, store.ChoiceLogged(1)); err != nil {
				t.Fatal(err)
			}
			if carer := shownIn(t, store.ForCarer(ctx, c.sec), db, p, c.sec); len(carer) == 0 {
				t.Error("shared again, the carer still sees nothing")
			}
		})
	}
}
