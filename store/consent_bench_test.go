package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// BenchmarkConsentChange times a sharing choice (its decision, its Consent
// for each source and the access log entry, in one transaction) on the
// 10,000-resource record from three sources, with nothing kept out one by
// one and with 250 visits kept out: each choice's Consent names every entry
// kept out, and the figure to watch is how much more the second costs. Each
// is also reported as a multiple of a one-row change committed in the same
// run (referenceWrite).
func BenchmarkConsentChange(b *testing.B) {
	ctx := context.Background()
	db, p := largeRecord(b)
	ref := referenceWrite(b, db)
	change := func(q, a string) {
		if _, err := db.ChangeConsent(ctx, p.ID, janeHerself, store.ConsentChange{Question: q, Answer: a}, store.ChoiceLogged(1)); err != nil {
			b.Fatal(err)
		}
	}
	// median toggles the research choice b.N times and reports the median.
	median := func(name string) time.Duration {
		var m time.Duration
		b.Run(name, func(b *testing.B) {
			var took []time.Duration
			answer := "no"
			for b.Loop() {
				start := time.Now()
				change(store.QuestionResearch, answer)
				took = append(took, time.Since(start))
				answer = map[string]string{"no": "yes", "yes": "no"}[answer]
			}
			slices.Sort(took)
			m = took[len(took)/2]
			reportAgainst(b, m, ref, "one-row-write")
		})
		return m
	}
	none := median("none-kept-out")
	visits, err := db.RecordSection(ctx, p.ID, fhir.SectionEncounters, 1, 250)
	if err != nil || len(visits.Items) != 250 {
		b.Fatalf("%d visits, %v; want a page of 250", len(visits.Items), err)
	}
	for _, it := range visits.Items {
		change(store.WithholdItemQuestion(store.ItemKey(it)), "yes")
	}
	many := median("250-kept-out")
	b.Logf("a sharing choice: %.2f ms with nothing kept out one by one, %.2f ms with 250 visits kept out (%.1fx); a one-row change committed: %.2f ms (%.1fx, %.1fx)",
		float64(none.Nanoseconds())/1e6, float64(many.Nanoseconds())/1e6, float64(many)/float64(none),
		float64(ref.Nanoseconds())/1e6, float64(none)/float64(ref), float64(many)/float64(ref))
}
