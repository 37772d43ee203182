package fhirsync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/mycarerecord/portal/store"
)

// TestPollDelayJitter: without Retry-After, the waits between status checks
// are spread between half and all of 1s, 2s, 4s …, so exports started
// together do not poll in step; a Retry-After the server gave is kept as it is.
func TestPollDelayJitter(t *testing.T) {
	c, err := NewClient("https://fhir.example.org/r4", nil, ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		n          int
		retryAfter string
		lo, hi     time.Duration
		spread     bool
	}{
		{"first check", 1, "", time.Second / 2, time.Second, true},
		{"third check", 3, "", 2 * time.Second, 4 * time.Second, true},
		{"long after", 20, "", 32 * time.Second, 64 * time.Second, true},
		{"the server said when", 3, "7", 7 * time.Second, 7 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := map[time.Duration]bool{}
			for range 200 {
				d := c.pollDelay(tt.n, tt.retryAfter)
				if d < tt.lo || d > tt.hi {
					t.Fatalf("wait %v outside [%v, %v]", d, tt.lo, tt.hi)
				}
				seen[d] = true
			}
			if got := len(seen) > 100; got != tt.spread {
				t.Errorf("%d different waits of 200: spread %v, want %v", len(seen), got, tt.spread)
			}
		})
	}
}

// TestDeleteNDJSON reads a deleted file in batches of two: a line naming more
// than a batch, lines and entries that say nothing deleted (kept aside), a
// deletion of what is not cached, then a file broken off mid-way and asked
// for again after the lines already done.
func TestDeleteNDJSON(t *testing.T) {
	ctx := context.Background()
	db := tempStore(t)
	opts := store.ImportOptions{Source: "region"}
	cached := []string{`{"resourceType":"Patient","id":"p1","name":[{"family":"Smith"}]}`}
	for i := 1; i <= 8; i++ {
		cached = append(cached, fmt.Sprintf(`{"resourceType":"Observation","id":"o%d","status":"final","code":{"text":"Weight %d"},"subject":{"reference":"Patient/p1"}}`, i, i))
	}
	if _, err := ImportNDJSON(ctx, db, opts, "cached", strings.NewReader(strings.Join(cached, "\n")), 0); err != nil {
		t.Fatal(err)
	}
	del := func(refs ...string) string {
		var entries []string
		for _, r := range refs {
			entries = append(entries, fmt.Sprintf(`{"request":{"method":"DELETE","url":%q}}`, r))
		}
		return `{"resourceType":"Bundle","type":"transaction","entry":[` + strings.Join(entries, ",") + `]}`
	}
	lines := []string{
		del("Observation/o1", "Observation/o2", "Observation/o3"),
		`not json`,
		`{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"GET","url":"Observation/o6"}},{"request":{"method":"DELETE","url":"Observation/o4"}}]}`,
		``,
		del("https://fhir.example.org/r4/Observation/o5/_history/2", "Observation/gone"),
	}
	res, done, err := deleteNDJSON(ctx, db, store.ImportOptions{Source: "region"}, "deleted.ndjson", strings.NewReader(strings.Join(lines, "\n")), 2, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Deleted != 5 || res.listed != 6 || res.Rejected != 2 || done != 5 || res.batches != 4 {
		t.Errorf("got %d deleted, %d listed, %d set aside, %d lines done in %d batches; want 5, 6, 2, 5 in 4", res.Deleted, res.listed, res.Rejected, done, res.batches)
	}
	if n := mustCount(t, db, "Observation"); n != 3 {
		t.Errorf("%d observations cached, want 3", n)
	}

	// Broken off in line 3: lines 1 and 2 are done, line 3 is asked for again.
	broken := io.MultiReader(strings.NewReader(del("Observation/o6")+"\n"+del("Observation/o7")+"\n"+del("Observation/o8")+"\n"+`{"resourceType":"Bun`),
		iotest.ErrReader(errors.New("connection reset")))
	res, done, err = deleteNDJSON(ctx, db, store.ImportOptions{Source: "region"}, "deleted.ndjson", broken, 2, 0, "")
	var se *streamError
	if !errors.As(err, &se) || done != 2 || res.Deleted != 2 {
		t.Fatalf("broken file: %d deleted, %d lines done, %v; want 2, 2 and a stream error", res.Deleted, done, err)
	}
	all := del("Observation/o6") + "\n" + del("Observation/o7") + "\n" + del("Observation/o8")
	res, done, err = deleteNDJSON(ctx, db, store.ImportOptions{Source: "region"}, "deleted.ndjson", strings.NewReader(all), 2, done, "")
	if err != nil || done != 3 || res.Deleted != 1 || res.listed != 1 {
		t.Errorf("asked again: %d deleted of %d listed, %d lines done, %v; want 1 of 1, 3", res.Deleted, res.listed, done, err)
	}
	if n := mustCount(t, db, "Observation"); n != 0 {
		t.Errorf("%d observations cached, want none", n)
	}
}

func mustCount(t *testing.T, db *store.DB, typ string) int {
	t.Helper()
	counts, err := db.ResourceCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return counts[typ]
}

// TestFileURL: an export file under the source is always allowed; elsewhere
// only when the manifest needs no token and the operator named its origin
// (scheme, host and port, however written), over https from an https source,
// and never with a user name or password.
func TestFileURL(t *testing.T) {
	secure, err := NewClient("https://fhir.example.org/r4", nil, ClientOptions{FilesFrom: []string{"https://Storage.Example.NET", "https://exports.example.org:8443/"}})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := NewClient("http://fhir.example.org/r4", nil, ClientOptions{FilesFrom: []string{"http://storage.example.net"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		c             *Client
		url           string
		requiresToken bool
		ok            bool
	}{
		{"under the source", secure, "https://fhir.example.org/r4/files/Patient.ndjson", true, true},
		{"under the source, no token", secure, "https://fhir.example.org/r4/files/Patient.ndjson", false, true},
		{"named, token needed", secure, "https://storage.example.net/bucket/Patient.ndjson?sig=x", true, false},
		{"named", secure, "https://storage.example.net/bucket/Patient.ndjson?sig=x", false, true},
		{"named, in capitals", secure, "https://STORAGE.example.net/bucket/Patient.ndjson", false, true},
		{"named, default port written", secure, "https://storage.example.net:443/bucket/Patient.ndjson", false, true},
		{"named with its port", secure, "https://exports.example.org:8443/Patient.ndjson", false, true},
		{"named host, another port", secure, "https://storage.example.net:8443/bucket/Patient.ndjson", false, false},
		{"named host and port, default port", secure, "https://exports.example.org/Patient.ndjson", false, false},
		{"a host under the named one", secure, "https://evil.storage.example.net/Patient.ndjson", false, false},
		{"a host the named one is under", secure, "https://example.net/Patient.ndjson", false, false},
		{"the named host as a prefix", secure, "https://storage.example.net.evil.example/Patient.ndjson", false, false},
		{"not named", secure, "https://other.example.net/bucket/Patient.ndjson", false, false},
		{"cloud metadata", secure, "https://169.254.169.254/latest/meta-data/", false, false},
		{"the source's host outside its path", secure, "https://fhir.example.org/admin/Patient.ndjson", false, false},
		{"named, down to http from an https source", secure, "http://storage.example.net/bucket/Patient.ndjson", false, false},
		{"named, with a password", secure, "https://user:pw@storage.example.net/bucket/Patient.ndjson", false, false},
		{"outside the base path, and not elsewhere either", secure, "/files/Patient.ndjson", false, false},
		{"by ftp", secure, "ftp://storage.example.net/Patient.ndjson", false, false},
		{"named, http from an http source", plain, "http://storage.example.net:80/bucket/Patient.ndjson", false, true},
		{"named over http, https asked", plain, "https://storage.example.net/bucket/Patient.ndjson", false, false},
		{"not named, from an http source", plain, "http://localhost:8080/admin", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.c.fileURL(tt.url, tt.requiresToken)
			if got := err == nil; got != tt.ok {
				t.Errorf("%s (token needed: %v): %v, want allowed %v", tt.url, tt.requiresToken, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrForeignURL) {
				t.Errorf("refused with %v, want it to wrap ErrForeignURL", err)
			}
		})
	}
	_, err = secure.fileURL("https://other.example.net:9000/bucket/Patient.ndjson?sig=x", false)
	if want := "refused https://other.example.net:9000/bucket/Patient.ndjson: its host other.example.net:9000 is not one allowed with --files-from"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %v, want it to start %q", err, want)
	}
}

// TestParseOrigin: an origin is a scheme, host and port, however written;
// anything more or less is refused, saying why.
func TestParseOrigin(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{"https://exports.example.nhs.uk", "https://exports.example.nhs.uk:443", ""},
		{"HTTPS://Exports.Example.NHS.uk:443/", "https://exports.example.nhs.uk:443", ""},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", ""},
		{"https://[::1]:8443", "https://[::1]:8443", ""},
		{"ftp://exports.example.nhs.uk", "", "an origin starts with https:// (or http://), such as https://exports.example.nhs.uk"},
		{"exports.example.nhs.uk", "", "an origin starts with https:// (or http://), such as https://exports.example.nhs.uk"},
		{"https://", "", "there is no host name, as in https://exports.example.nhs.uk"},
		{"https://exports.example.nhs.uk/bucket", "", "an origin is the scheme, host and port alone, with no path or query: write https://exports.example.nhs.uk"},
		{"https://exports.example.nhs.uk?sig=x", "", "an origin is the scheme, host and port alone, with no path or query: write https://exports.example.nhs.uk"},
		{"https://me:pw@exports.example.nhs.uk", "", "an origin has no user name or password"},
		{"https://exports.example.nhs.uk:99999", "", "port 99999 is not a number from 1 to 65535"},
		{"https://exports.example.nhs.uk:x", "", "not an address such as https://exports.example.nhs.uk"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseOrigin(tt.in)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if got != tt.want || gotErr != tt.wantErr {
				t.Errorf("got %q, %v; want %q, %q", got, err, tt.want, tt.wantErr)
			}
		})
	}
	if _, err := NewClient("https://fhir.example.org/r4", nil, ClientOptions{FilesFrom: []string{"https://storage.example.net/bucket"}}); err == nil {
		t.Error("a client was made with a path for an origin")
	}
}

// TestManifestSilentOnTokenNeedsOne: a manifest that does not say whether a
// token is needed may not name files elsewhere; one that says none is needed may.
func TestManifestSilentOnTokenNeedsOne(t *testing.T) {
	c, err := NewClient("https://fhir.example.org/r4", nil, ClientOptions{FilesFrom: []string{"https://storage.example.net"}})
	if err != nil {
		t.Fatal(err)
	}
	file := `"output":[{"type":"Patient","url":"https://storage.example.net/bucket/Patient.ndjson"}]`
	if _, err := c.readManifest([]byte(`{"transactionTime":"2024-01-01T00:00:00Z",` + file + `}`)); !errors.Is(err, ErrForeignURL) {
		t.Errorf("silent on the token: %v, want a refusal", err)
	}
	if _, err := c.readManifest([]byte(`{"transactionTime":"2024-01-01T00:00:00Z","requiresAccessToken":false,` + file + `}`)); err != nil {
		t.Errorf("no token needed: %v", err)
	}
}

func TestImportOrder(t *testing.T) {
	var files []ExportFile
	for _, typ := range []string{"Observation", "Medication", "MedicationRequest", "Patient", "Organization", "Encounter", "Patient"} {
		files = append(files, ExportFile{Type: typ, URL: typ + strconv.Itoa(len(files))})
	}
	var got []string
	for _, f := range importOrder(files) {
		got = append(got, f.URL)
	}
	want := []string{"Patient3", "Patient6", "Medication1", "Organization4", "Observation0", "MedicationRequest2", "Encounter5"}
	if !slices.Equal(got, want) {
		t.Errorf("import order %v, want %v", got, want)
	}
}

// TestCancelExportPastAnOpenBreaker: cancelling an export goes out even when
// failures in a row have opened the source's breaker, as it does past a
// hold: one request, which frees what the server keeps for us.
func TestCancelExportPastAnOpenBreaker(t *testing.T) {
	var deletes atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			deletes.Add(1)
			w.WriteHeader(http.StatusAccepted)
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	c, err := NewClient(srv.URL+"/fhir", nil, ClientOptions{MaxAttempts: 1, Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 5 {
		if _, err := c.Read(ctx, "Observation", "o1"); err == nil {
			t.Fatal("a read of a failing server succeeded")
		}
	}
	if _, err := c.Read(ctx, "Observation", "o1"); !errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("after five failures: %v, want the breaker open", err)
	}
	c.cancelExport(ctx, srv.URL+"/fhir/$export-status/1")
	if n := deletes.Load(); n != 1 {
		t.Errorf("%d DELETEs of the export's status URL with the breaker open, want 1", n)
	}
}
