package fhirsync_test

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/e2e/upstream"
	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// signedInAt gives the person an account with a session last used at the
// time given, as signing in then would.
func signedInAt(t *testing.T, db *store.DB, p store.Person, at time.Time) {
	t.Helper()
	ctx := context.Background()
	acct, err := db.EnrolPasskey(ctx, p.ID, []byte("handle-"+itoa(p.ID)), "Person "+itoa(p.ID), store.Passkey{CredentialID: []byte("cred-" + itoa(p.ID)), PublicKey: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	db.SetClock(func() time.Time { return at })
	defer db.SetClock(time.Now)
	if _, _, err := db.CreateSession(ctx, acct.ID, store.DefaultSessionPolicy()); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// importedPerson is a person with an NHS number, imported from files.
func importedPerson(t *testing.T, db *store.DB, nhs string) store.Person {
	t.Helper()
	ctx := context.Background()
	pt, err := fhir.ParseResource([]byte(`{"resourceType":"Patient","id":"p` + nhs + `","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"` + nhs + `"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "files"}, "test", []fhir.Resource{pt}); err != nil {
		t.Fatal(err)
	}
	p, err := db.PersonByNHSNumber(ctx, nhs)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startBoth runs w.Run and w.RunPeriodic, as serve does; stop cancels them and
// fails the test unless both return within the bound.
func startBoth(t *testing.T, w *fhirsync.Worker, every, active time.Duration) (stop func(bound time.Duration)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	runDone, periodicDone := make(chan struct{}), make(chan struct{})
	go func() { defer close(runDone); w.Run(ctx) }()
	go func() { defer close(periodicDone); w.RunPeriodic(ctx, every, active) }()
	stopped := false
	stop = func(bound time.Duration) {
		t.Helper()
		if stopped {
			return
		}
		stopped = true
		cancel()
		timeout := time.After(bound)
		for name, done := range map[string]chan struct{}{"Run": runDone, "RunPeriodic": periodicDone} {
			select {
			case <-done:
			case <-timeout:
				t.Fatalf("%s did not return within %s of ctx being cancelled", name, bound)
			}
		}
	}
	t.Cleanup(func() { stop(10 * time.Second) })
	return stop
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// otherTypes counts the person's cached resources that are not Patients.
func otherTypes(t *testing.T, db *store.DB, personID int64) int {
	t.Helper()
	n := 0
	err := db.PersonResources(context.Background(), personID, func(c store.CachedResource) error {
		if c.Type != "Patient" {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRunPeriodicSyncsOnlyTheRecentlyActive: with nothing else queueing
// work, RunPeriodic brings the record of a person whose session was used
// within the active period up to date from the FHIR server, and leaves alone
// one whose session was last used before it.
func TestRunPeriodicSyncsOnlyTheRecentlyActive(t *testing.T) {
	srv := upstream.Start(t, upstream.SharedBundle(t, upstream.HospitalBundle), upstream.SharedBundle(t, upstream.PractitionerBundle),
		upstream.SharedBundle(t, smallPatient), upstream.SharedBundle(t, otherSmallPatient))
	ctx := context.Background()
	db := openDB(t)
	live, err := db.AddSource(ctx, store.Source{Name: "live", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" }, fastClient).Get, Runner: store.RunnerID("serve")}
	var persons []store.Person
	for _, raw := range srv.Resources(t, "Patient", "") {
		pt, err := fhir.ParseResource(raw)
		if err != nil {
			t.Fatal(err)
		}
		p, err := puller.FindPerson(ctx, live, syntheaSystem, pt.ID)
		if err != nil {
			t.Fatal(err)
		}
		persons = append(persons, p)
	}
	if len(persons) != 2 {
		t.Fatalf("%d persons, want 2", len(persons))
	}
	active, idle := persons[0], persons[1]
	signedInAt(t, db, active, time.Now().Add(-time.Minute))
	signedInAt(t, db, idle, time.Now().Add(-2*time.Hour))
	for _, p := range persons {
		if st := statusOf(t, db, p.ID, "live"); st.LastAttemptAt != "" || st.RunningSince != "" || otherTypes(t, db, p.ID) != 0 {
			t.Fatalf("person %d synced before the worker started: %+v", p.ID, st)
		}
	}

	const every = 50 * time.Millisecond
	stop := startBoth(t, fhirsync.NewWorker(puller, quietLog(), fhirsync.WorkerOptions{}), every, time.Hour)
	start := time.Now()
	for statusOf(t, db, active.ID, "live").LastSuccessAt == "" {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("the person active a minute ago was not synced %s after RunPeriodic started: %+v",
				time.Since(start).Round(time.Millisecond), statusOf(t, db, active.ID, "live"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := statusOf(t, db, active.ID, "live"); st.LastError != "" {
		t.Errorf("the active person's sync failed: %s", st.LastError)
	}
	if otherTypes(t, db, active.ID) == 0 {
		t.Error("the active person's sync stored nothing but their Patient")
	}
	time.Sleep(10 * every) // rounds enough to have queued the idle one, were it queued
	stop(5 * time.Second)
	if st := statusOf(t, db, idle.ID, "live"); st.LastAttemptAt != "" || st.RunningSince != "" || st.LastSuccessAt != "" {
		t.Errorf("the person last active two hours ago was synced (active period an hour): %+v", st)
	}
	if n := otherTypes(t, db, idle.ID); n != 0 {
		t.Errorf("the idle person has %d resources besides their Patient, want none", n)
	}
}

// TestRunPeriodicStopsPromptly: with a recently active person's pull from
// a server that never answers under way, cancelling ctx makes RunPeriodic
// (and Run beside it) return within a second, leaving no goroutine pulling or
// finishing a bulk load, and the pull recorded as stopped, not running.
func TestRunPeriodicStopsPromptly(t *testing.T) {
	ctx := context.Background()
	stalled := upstream.StartStalled(t)
	db := openDB(t)
	if _, err := db.AddSource(ctx, store.Source{Name: "stalled", BaseURL: stalled.URL}); err != nil {
		t.Fatal(err)
	}
	person := importedPerson(t, db, "9434765919")
	signedInAt(t, db, person, time.Now())
	puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" },
		fhirsync.ClientOptions{Timeout: time.Hour, MaxAttempts: 1}).Get, Runner: store.RunnerID("serve")}
	stop := startBoth(t, fhirsync.NewWorker(puller, quietLog(), fhirsync.WorkerOptions{}), 10*time.Millisecond, time.Hour)
	start := time.Now()
	for statusOf(t, db, person.ID, "stalled").RunningSince == "" || !stalled.AskedAbout(person.NHSNumber) {
		if time.Since(start) > 3*time.Second {
			t.Fatal("RunPeriodic did not get the active person's pull under way within 3 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // some rounds more while it waits
	stop(time.Second)
	if st := statusOf(t, db, person.ID, "stalled"); st.RunningSince != "" || st.LastError != "" {
		t.Errorf("after stopping, the pull: %+v; want it neither running nor failed", st)
	}
	buf := make([]byte, 1<<20)
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		for _, fn := range []string{"fhirsync.(*Puller).PullPerson", "store.(*DB).FinishStalledBulkLoad"} {
			if strings.Contains(g, fn) {
				t.Errorf("a goroutine is still in %s after RunPeriodic and Run returned:\n%s", fn, g)
			}
		}
	}
}

// TestEnqueueIfStaleNeverWaitsOnUpstream: queueing a stale person returns at
// once while the server it is to be pulled from takes the request and never
// answers, whether the worker is running or has not started (its queue full),
// and the queued pull gets under way behind the caller's back.
func TestEnqueueIfStaleNeverWaitsOnUpstream(t *testing.T) {
	const bound = time.Second
	tests := []struct {
		name    string
		running bool // the worker's Run has started
		queue   int  // WorkerOptions.QueueSize
	}{
		{"worker running", true, 0},
		{"worker not started, queue full", false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			stalled := upstream.StartStalled(t)
			db := openDB(t)
			if _, err := db.AddSource(ctx, store.Source{Name: "stalled", BaseURL: stalled.URL}); err != nil {
				t.Fatal(err)
			}
			jane, amir := importedPerson(t, db, "9434765919"), importedPerson(t, db, "9000000009")
			puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" },
				fhirsync.ClientOptions{Timeout: time.Hour, MaxAttempts: 1}).Get, Runner: store.RunnerID("serve")}
			w := fhirsync.NewWorker(puller, quietLog(), fhirsync.WorkerOptions{QueueSize: tt.queue})
			if tt.running {
				runCtx, cancel := context.WithCancel(ctx)
				done := make(chan struct{})
				go func() { defer close(done); w.Run(runCtx) }()
				t.Cleanup(func() { cancel(); <-done })
			}
			for _, p := range []store.Person{jane, amir, jane} {
				returned := make(chan struct{})
				go func() { defer close(returned); w.EnqueueIfStale(ctx, p.ID) }()
				select {
				case <-returned:
				case <-time.After(bound):
					t.Fatalf("EnqueueIfStale(person %d) had not returned after %s: it blocked on the upstream or a full queue", p.ID, bound)
				}
				if tt.running {
					waitUnderWay(t, db, stalled, p)
				}
			}
		})
	}
}

// waitUnderWay waits up to 3 s for the person's pull from the stalled source
// to be under way and asking the server about them.
func waitUnderWay(t *testing.T, db *store.DB, stalled *upstream.Stalled, p store.Person) {
	t.Helper()
	start := time.Now()
	for statusOf(t, db, p.ID, "stalled").RunningSince == "" || !stalled.AskedAbout(p.NHSNumber) {
		if time.Since(start) > 3*time.Second {
			t.Fatalf("person %d queued, but their pull was not under way within 3 s", p.ID)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
