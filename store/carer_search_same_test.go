package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// TestACarersSearchIsTheSameWhateverIsKeptOut: what a carer's search finds
// of the entries they see is the same whether or not the person keeps
// something else out: before, other sources' words were searched only while
// nothing was kept out, so a search that stopped finding an entry told the
// carer that something now was (a product review).
func TestACarersSearchIsTheSameWhateverIsKeptOut(t *testing.T) {
	ctx := context.Background()
	f := newConsentFixture(t)
	// The GP and the clinic report one diagnosis, each in its own words.
	if _, err := f.db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", []fhir.Resource{
		condition("g1", "http://snomed.info/sct", "105629000", "Chlamydial infection")}); err != nil {
		t.Fatal(err)
	}
	addSHC(t, f, "Chlamydia - partner notified")
	found := func() map[string][]string {
		t.Helper()
		out := map[string][]string{}
		for _, q := range []string{"partner", "notified", "chlamydial", "chlamydia"} {
			res, err := f.db.SearchRecord(store.ForCarer(ctx), f.jane.ID, q, store.SearchOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range res.Sections {
				out[q] = append(out[q], displays(s.Items)...)
			}
			slices.Sort(out[q])
		}
		return out
	}
	before := found()
	keepOutCode(t, f, "44054006") // the diabetes, nothing to do with the words searched
	after := found()
	for q, was := range before {
		if !slices.Equal(was, after[q]) {
			t.Errorf("a carer's search for %q found %v; once the diabetes is kept out, %v", q, was, after[q])
		}
	}
}
