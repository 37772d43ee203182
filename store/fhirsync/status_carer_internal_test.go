package fhirsync

import (
	"context"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// A source that has never answered for the person shows a carer nothing, so
// a carer hears of it without its name (the name of a source whose only
// part is kept from them may say what that part is), but hears that it is
// failing: a carer reading "No medicines have been recorded" must know the
// GP's system has not answered (a review found a carer told nothing). Once
// it answers, a carer hears nothing of it again.
func TestCarerIsWarnedOfASourceNeverReachedUnnamed(t *testing.T) {
	ctx := context.Background()
	db, srcs, person := personWithSources(t, "gp")
	gp := srcs[0]
	by := store.RunnerID("serve")
	finish := func(errText string) {
		t.Helper()
		if err := db.SyncStarted(ctx, gp.ID, person.ID, by); err != nil {
			t.Fatal(err)
		}
		if err := db.SyncFinished(ctx, gp.ID, person.ID, by, errText, false); err != nil {
			t.Fatal(err)
		}
	}
	finish(Explain(ErrCircuitOpen))
	own, err := db.SyncStatuses(ctx, person.ID)
	if err != nil || len(own) != 1 || own[0].LastError == "" || own[0].Unnamed || own[0].Source.Name != "gp" {
		t.Fatalf("the person's own statuses: %+v, %v; want gp, named, failing", own, err)
	}
	carer, err := db.SyncStatuses(store.ForCarer(ctx, fhir.SectionMedicines), person.ID)
	if err != nil || len(carer) != 1 || !carer[0].Unnamed || carer[0].Source.Name != "" || carer[0].Source.OrgName != "" || carer[0].LastError != own[0].LastError {
		t.Errorf("a carer's statuses: %+v, %v; want one, failing, unnamed", carer, err)
	}
	finish("")
	if carer, err := db.SyncStatuses(store.ForCarer(ctx, fhir.SectionMedicines), person.ID); err != nil || len(carer) != 0 {
		t.Errorf("a carer's statuses once it answered with nothing for them: %+v, %v; want none", carer, err)
	}
}
