package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/demo"
	"github.com/mycarerecord/portal/store/fhir"
)

// BenchmarkSearchRecord times SearchRecord alone (no handler, session or
// access log) on the person with 10,000 resources from three sources that
// web's BenchmarkRecordSearch uses, and reports the median, and it as a
// multiple of a one-row read by key in the same run (referenceRead).
func BenchmarkSearchRecord(b *testing.B) {
	ctx := context.Background()
	db, p := largeRecord(b)
	ref := referenceRead(b, db, p.ID)
	for _, s := range []struct {
		name, text string
		opt        store.SearchOptions
	}{
		{"one medicine", "metformin", store.SearchOptions{}},
		{"a common test", "cholesterol", store.SearchOptions{}},
		{"an organisation", "meanwood", store.SearchOptions{}},
		{"a prefix", "hypert", store.SearchOptions{}},
		{"two words", "blood pressure", store.SearchOptions{}},
		{"a code", "59261-8", store.SearchOptions{}},
		{"nothing found", "xyzzyplugh", store.SearchOptions{}},
		{"one section, page 5", "cholesterol", store.SearchOptions{Section: "results", Page: 5}},
	} {
		s.opt.PerSection = 20
		b.Run(s.name, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				start := time.Now()
				if _, err := db.SearchRecord(ctx, p.ID, s.text, s.opt); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
			}
			slices.Sort(took)
			reportAgainst(b, took[len(took)/2], ref, "one-row-read")
		})
	}
}

// largeRecord is a store on a real file holding the person with 10,000
// resources from three sources, each sending the same record, so every fact
// has three reports: the most work one entry per fact can take.
func largeRecord(b *testing.B) (*store.DB, store.Person) {
	ctx := context.Background()
	db := mustOpenDB(b)
	res, err := fhir.ParseBundle(demo.Large(3334).Bundle)
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"meanwood-gp", "leeds-hospitals", "leeds-community"} {
		if _, err := db.ImportResources(ctx, store.ImportOptions{Source: name, OrgName: name}, "large", res); err != nil {
			b.Fatal(err)
		}
	}
	p, err := db.PersonByNHSNumber(ctx, demo.LargePerson().NHSNumber)
	if err != nil {
		b.Fatal(err)
	}
	return db, p
}
