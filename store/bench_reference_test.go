package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
)

// medianOf runs fn n times and returns the median time it took.
func medianOf(b *testing.B, n int, fn func()) time.Duration {
	b.Helper()
	took := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		fn()
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	return took[len(took)/2]
}

// referenceRead is the median time the store takes to read one row by its
// key (the person), measured in the same run: the least any page's read
// can take on this machine, which the read benchmarks report as multiples of.
func referenceRead(b *testing.B, db *store.DB, personID int64) time.Duration {
	b.Helper()
	ctx := context.Background()
	return medianOf(b, 2000, func() {
		if _, err := db.Person(ctx, personID); err != nil {
			b.Fatal(err)
		}
	})
}

// referenceWrite is the median time the store takes to commit a change of
// one row (a session marked seen, to disk as every change is), measured in
// the same run: the least any change can take here, which the write
// benchmarks report as multiples of.
func referenceWrite(b *testing.B, db *store.DB) time.Duration {
	b.Helper()
	ctx := context.Background()
	p := store.DefaultSessionPolicy()
	id, _, err := db.CreateSession(ctx, 0, p)
	if err != nil {
		b.Fatal(err)
	}
	return medianOf(b, 200, func() {
		if _, err := db.TouchSession(ctx, id, p); err != nil {
			b.Fatal(err)
		}
	})
}

// reportAgainst reports took in milliseconds and as a multiple of ref.
func reportAgainst(b *testing.B, took, ref time.Duration, refName string) {
	b.Helper()
	b.ReportMetric(float64(took.Nanoseconds())/1e6, "median-ms")
	b.ReportMetric(float64(took)/float64(ref), "x-"+refName)
}
