package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/e2e/upstream"
)

const (
	smallBundle   = "Cecelia952_Romaguera67_f1731e33-dc55-4ee8-72d7-cece2e49bedd.json"
	syntheaSystem = "https://github.com/synthetichealth/synthea"
)

// startFHIR runs the real FHIR server with one small Synthea patient, and
// returns it with the patient's id.
func startFHIR(t *testing.T) (*upstream.Server, string) {
	t.Helper()
	return upstream.StartWithPatient(t, smallBundle)
}

// TestSyncHangingSourceDoesNotHoldUpOthers: `portal sync` pulls from its
// sources at once, so a source that takes requests and never answers (first
// by name, and taking minutes to give up on with the default timeouts) does
// not keep the live ones waiting. Lines are whole, and the totals come last
// in the sources' order whichever finished first.
func TestSyncHangingSourceDoesNotHoldUpOthers(t *testing.T) {
	srv, patientID := startFHIR(t)
	hang := upstream.NewFaultProxy(t, srv.URL, upstream.Faults{Rate: 1, Kinds: []upstream.Fault{upstream.FaultDelay}, Delay: time.Hour})
	// b-live answers each request 100 ms late, so c-live is likely done first.
	slow := upstream.NewFaultProxy(t, srv.URL, upstream.Faults{Rate: 1, Kinds: []upstream.Fault{upstream.FaultDelay}, Delay: 100 * time.Millisecond})
	db := filepath.Join(t.TempDir(), "portal.db")
	for _, s := range []struct{ name, url string }{{"a-hang", hang.URL}, {"b-live", slow.URL}, {"c-live", srv.URL}} {
		if _, _, err := portal(t, "source", "add", s.name, s.url, "--db", db); err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	var errOut bytes.Buffer
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		done <- run(ctx, []string{"sync", "--db", db, "--identifier", syntheaSystem + "|" + patientID}, noEnv, &out, &errOut)
	}()
	upToDate := regexp.MustCompile(`(?m)^([bc]-live): .+ brought up to date in `)
	deadline := time.After(60 * time.Second) // well under the minutes the hanging source takes to fail
	for len(upToDate.FindAllString(out.String(), -1)) < 2 {
		select {
		case err := <-done:
			t.Fatalf("sync ended before the live sources were done: %v\n%s", err, out.String())
		case <-deadline:
			t.Fatalf("the live sources were not synced after %s: they waited behind the hanging source\n%s", time.Since(start).Round(time.Second), out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Logf("live sources synced %s after sync started", time.Since(start).Round(time.Millisecond))
	if strings.Contains(out.String(), "a-hang") {
		t.Errorf("a-hang should still be waiting for its answer:\n%s", out.String())
	}
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Error("sync stopped before a-hang answered, yet reported success")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sync did not stop within 10 s of being told to")
	}

	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	whole := regexp.MustCompile(`^(a-hang|b-live|c-live)[ :]`)
	for _, l := range lines {
		if !whole.MatchString(l) || strings.Count(l, "-live")+strings.Count(l, "a-hang") != 1 {
			t.Errorf("line not whole: %q", l)
		}
	}
	totals := regexp.MustCompile(`^[a-c]-[a-z]+: \d+ added, \d+ updated, \d+ deleted, \d+ failed to read$`)
	var got []string
	for _, l := range lines {
		if totals.MatchString(l) {
			got = append(got, l[:strings.Index(l, ":")])
		}
	}
	if want := []string{"b-live", "c-live"}; strings.Join(got, " ") != strings.Join(want, " ") || !totals.MatchString(lines[len(lines)-1]) {
		t.Errorf("totals for %v, want %v, last:\n%s", got, want, out.String())
	}
}

// TestSyncBulkCommand: `portal sync --bulk` fills the cache from $export and
// says what it did; the second run asks only for what changed, and removes
// what the server deleted since, saying how many.
func TestSyncBulkCommand(t *testing.T) {
	srv, _ := startFHIR(t)
	db := filepath.Join(t.TempDir(), "portal.db")
	if _, _, err := portal(t, "source", "add", "lth", srv.URL, "--db", db); err != nil {
		t.Fatal(err)
	}
	summary := regexp.MustCompile(`(?m)^lth: (\d+) added, (\d+) updated, (\d+) deleted, (\d+) failed to read, in `)
	out, _, err := portal(t, "sync", "--bulk", "lth", "--db", db)
	m := summary.FindStringSubmatch(out)
	if err != nil || m == nil || m[1] == "0" || m[3] != "0" || m[4] != "0" {
		t.Fatalf("first bulk run: %v\n%s", err, out)
	}
	var obs struct{ ID string }
	if err := json.Unmarshal(srv.Resources(t, "Observation", "_count=1")[0], &obs); err != nil {
		t.Fatal(err)
	}
	if status, body := srv.Do(t, "DELETE", "/Observation/"+obs.ID, nil); status >= 300 {
		t.Fatalf("delete upstream: %d %s", status, body)
	}
	out, _, err = portal(t, "sync", "--bulk", "lth", "--db", db)
	if m := summary.FindStringSubmatch(out); err != nil || m == nil || m[1] != "0" || m[3] != "1" {
		t.Fatalf("second bulk run, after one deletion upstream: %v\n%s", err, out)
	}
}
