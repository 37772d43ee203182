package fhirsync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// manifestExport: a server (base /fhir) whose export is ready at once with
// manifest(base); files[name] is served at base/files/name.
func manifestExport(t *testing.T, manifest func(base string) string, files map[string]string) *httptest.Server {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		base := srv.URL + "/fhir"
		name, isFile := strings.CutPrefix(r.URL.Path, "/fhir/files/")
		switch {
		case r.URL.Path == "/fhir/$export":
			w.Header().Set("Content-Location", base+"/$export-status/1")
			w.WriteHeader(http.StatusAccepted)
		case r.URL.Path == "/fhir/$export-status/1" && r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusAccepted)
		case r.URL.Path == "/fhir/$export-status/1":
			io.WriteString(w, manifest(base))
		case isFile && files[name] != "":
			w.Header().Set("Content-Type", "application/fhir+ndjson")
			io.WriteString(w, files[name])
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func confPuller(db *store.DB) *fhirsync.Puller {
	return &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" }, fhirsync.ClientOptions{Timeout: 10 * time.Second,
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }}).Get}
}

// confSource adds the source at base, holding Patient p1 and Observation o1
// (stored as a sync stores them), its last complete export at since ("" none).
func confSource(t *testing.T, db *store.DB, base, obsUpdated, since string) store.Source {
	ctx := context.Background()
	src, err := db.AddSource(ctx, store.Source{Name: "region", BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.ApplyPage(ctx, store.PageUpdate{Source: src.Name, SourceID: src.ID, Origin: "sync", Resources: []fhir.Resource{
		{Type: "Patient", ID: "p1", Raw: []byte(`{"resourceType":"Patient","id":"p1","birthDate":"1957-03-14"}`)},
		{Type: "Observation", ID: "o1", LastUpdated: obsUpdated, Raw: []byte(`{"resourceType":"Observation","id":"o1","meta":{"lastUpdated":"` + obsUpdated +
			`"},"status":"final","code":{"text":"Weight"},"subject":{"reference":"Patient/p1"}}`)}}})
	if err == nil && since != "" {
		err = db.SetBulkSince(ctx, src.ID, since)
	}
	if err != nil {
		t.Fatal(err)
	}
	return src
}

const deletesO1 = `{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"DELETE","url":"Observation/o1"}}]}` + "\n"

// TestBulkExportWithAStoredCollectionBundleCompletes: a file of valid
// resources the portal sets aside by choice (a stored collection Bundle; a
// line over 64 MB, TestBulkFileOfOneHugeResourceCompletes) is NDJSON, and
// the export completes (a review, against the Bulk Data IG: every run failed).
func TestBulkExportWithAStoredCollectionBundleCompletes(t *testing.T) {
	ctx := context.Background()
	srv := bulkServer(t)
	if st, b := srv.Do(t, "PUT", "Bundle/coll1", []byte(`{"resourceType":"Bundle","id":"coll1","type":"collection","entry":[]}`)); st != 200 && st != 201 {
		t.Fatalf("PUT Bundle: %d %s", st, b)
	}
	db, _ := bulkDB(t)
	src, err := db.AddSource(ctx, store.Source{Name: "lth", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	for run := 1; run <= 2; run++ {
		if _, err := confPuller(db).PullBulk(ctx, src, nil); err != nil {
			t.Errorf("run %d: %v", run, err)
		}
	}
	if since, _ := db.BulkSince(ctx, src.ID); since == "" {
		t.Error("after two runs the next export still asks for everything")
	}
}

func TestBulkFileOfOneHugeResourceCompletes(t *testing.T) {
	huge := `{"resourceType":"Patient","id":"big","photo":[{"data":"` + strings.Repeat("A", 65<<20) + `"}]}` + "\n"
	srv, _ := oneFileExport(t, nil, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, huge) })
	db, _ := bulkDB(t)
	src, _ := db.AddSource(context.Background(), store.Source{Name: "region", BaseURL: srv.URL + "/fhir"})
	if _, err := confPuller(db).PullBulk(context.Background(), src, nil); err != nil {
		t.Errorf("a file of one resource too long to read: %v", err)
	}
}

// TestBulkDeletedFileTypedByWhatItDeletes: SMART's reference server types a
// deleted file by what it deletes, not Bundle (a review: the manifest was refused).
func TestBulkDeletedFileTypedByWhatItDeletes(t *testing.T) {
	srv := manifestExport(t, func(base string) string {
		return `{"transactionTime":"2024-06-01T09:00:00Z","requiresAccessToken":true,"output":[],"error":[],
"deleted":[{"type":"Observation","count":1,"url":"` + base + `/files/1.Observation.ndjson"}]}`
	}, map[string]string{"1.Observation.ndjson": deletesO1})
	db, _ := bulkDB(t)
	src := confSource(t, db, srv.URL+"/fhir", "2024-05-02T00:00:00Z", "2024-05-01T00:00:00Z")
	if _, err := confPuller(db).PullBulk(context.Background(), src, nil); err != nil {
		t.Fatalf("an export whose deleted file is typed Observation: %v", err)
	}
	if mustCounts(t, db)["Observation"] != 0 {
		t.Error("Observation/o1, deleted upstream, is still cached")
	}
}

// TestBulkStatusThrottledIsBusyNotFailed: a status check answered 429 or 503
// with an issue coded as a kind of transient (throttled, timeout, lock-error)
// is waited out, not a failed export (a review: the export was cancelled).
func TestBulkStatusThrottledIsBusyNotFailed(t *testing.T) {
	for _, tc := range []struct {
		status int
		code   string
	}{{429, "throttled"}, {503, "timeout"}, {503, "lock-error"}} {
		t.Run(fmt.Sprint(tc.status, tc.code), func(t *testing.T) {
			srv, counts := oneFileExport(t, func(w http.ResponseWriter, n int) bool {
				if n == 1 {
					w.Header().Set("Retry-After", "120")
					w.WriteHeader(tc.status)
					fmt.Fprintf(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":%q,"diagnostics":"try later"}]}`, tc.code)
				}
				return n == 1
			}, nil)
			clock := newSteppedClock()
			c, _ := fhirsync.NewClient(srv.URL+"/fhir", nil, fhirsync.ClientOptions{MaxAttempts: 2, Now: clock.Now, Sleep: clock.Sleep})
			m, err := c.BulkExport(context.Background(), nil, "", nil)
			if checks, deletes := counts.get(); err != nil || len(m.Output) != 1 {
				t.Fatalf("%v after %d checks, %d DELETEs; want the export waited for", err, checks, deletes)
			}
		})
	}
}

// TestBulkDeletionOlderThanTheStoredVersionKeepsIt: a deletion an export
// lists was made by its transactionTime at the latest, so it does not remove
// a version stored since (a review: made again upstream, and synced).
func TestBulkDeletionOlderThanTheStoredVersionKeepsIt(t *testing.T) {
	srv := manifestExport(t, func(base string) string {
		return `{"transactionTime":"2024-06-01T09:00:00Z","requiresAccessToken":true,"output":[],"error":[],
"deleted":[{"type":"Bundle","url":"` + base + `/files/deleted.ndjson"}]}`
	}, map[string]string{"deleted.ndjson": deletesO1})
	db, _ := bulkDB(t)
	src := confSource(t, db, srv.URL+"/fhir", "2024-06-01T10:00:00Z", "2024-05-01T00:00:00Z")
	if _, err := confPuller(db).PullBulk(context.Background(), src, nil); err != nil {
		t.Fatal(err)
	}
	if mustCounts(t, db)["Observation"] != 1 {
		t.Error("Observation/o1, stored at 10:00, was removed by a deletion the export dates no later than 09:00")
	}
}

// TestBulkKickOffIsNotRepeated: a kick-off whose answer is lost (a 504 from
// a gateway) is not sent again, as it may have started an export the portal
// would never know of or cancel (a review).
func TestBulkKickOffIsNotRepeated(t *testing.T) {
	var kickoffs atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/fhir/$export" && kickoffs.Add(1) == 1:
			w.WriteHeader(http.StatusGatewayTimeout) // the job began; the gateway gave up waiting for its answer
		case r.URL.Path == "/fhir/$export":
			w.Header().Set("Content-Location", srv.URL+"/fhir/$export-status/2")
			w.WriteHeader(http.StatusAccepted)
		default:
			io.WriteString(w, `{"transactionTime":"2024-01-01T00:00:00Z","requiresAccessToken":true,"output":[],"error":[]}`)
		}
	}))
	defer srv.Close()
	clock := newSteppedClock()
	c, _ := fhirsync.NewClient(srv.URL+"/fhir", nil, fhirsync.ClientOptions{Now: clock.Now, Sleep: clock.Sleep})
	_, err := c.BulkExport(context.Background(), nil, "", nil)
	if n := kickoffs.Load(); n > 1 {
		t.Errorf("kick-off sent %d times (%v): %d whole-server export jobs, only the last known (and ever cancelled)", n, err, n)
	}
}

// TestBulkFileOfAnErrorIsNoCompleteExport: an output file that holds only an
// OperationOutcome (a gateway's 200 error page in FHIR's words) is not the
// Observations the manifest promised: the export is not complete (a review
// of the fix that takes a file of lines set aside by choice as NDJSON).
func TestBulkFileOfAnErrorIsNoCompleteExport(t *testing.T) {
	srv := manifestExport(t, func(base string) string {
		return `{"transactionTime":"2024-06-01T09:00:00Z","requiresAccessToken":true,"output":[{"type":"Observation","url":"` + base + `/files/1.ndjson"}],"error":[]}`
	}, map[string]string{"1.ndjson": `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"expired","diagnostics":"the link has expired"}]}` + "\n"})
	db, _ := bulkDB(t)
	src := confSource(t, db, srv.URL+"/fhir", "2024-05-02T00:00:00Z", "2024-05-01T00:00:00Z")
	_, err := confPuller(db).PullBulk(context.Background(), src, nil)
	since, _ := db.BulkSince(context.Background(), src.ID)
	if err == nil || since == "2024-06-01T09:00:00Z" {
		t.Errorf("an Observation file holding only an error: %v, the next export from %q; want a failure, and everything since 2024-05-01 asked for again", err, since)
	}
}

// TestBulkMergedPatientIsNotAPersonOfItsOwn: a system-level export holds
// every Patient, records merged into another among them (not active,
// replaced-by, often without the identifiers): one whose survivor is linked
// is that person's record, not a person of its own (a review against the
// Bulk Data IG: one person was made two, the record split between them).
func TestBulkMergedPatientIsNotAPersonOfItsOwn(t *testing.T) {
	ctx := context.Background()
	srv := bulkServer(t)
	var kept struct {
		ID        string          `json:"id"`
		Name      json.RawMessage `json:"name"`
		BirthDate string          `json:"birthDate"`
	}
	if err := json.Unmarshal(srv.Search(t, "Patient?_count=1").Entry[0].Resource, &kept); err != nil {
		t.Fatal(err)
	}
	for path, body := range map[string]string{
		"Patient/merged-dup": fmt.Sprintf(`{"resourceType":"Patient","id":"merged-dup","active":false,"name":%s,"birthDate":%q,"link":[{"type":"replaced-by","other":{"reference":"Patient/%s"}}]}`, kept.Name, kept.BirthDate, kept.ID),
		"Observation/on-dup": `{"resourceType":"Observation","id":"on-dup","status":"final","code":{"text":"Body weight"},"subject":{"reference":"Patient/merged-dup"}}`,
	} {
		if st, b := srv.Do(t, "PUT", path, []byte(body)); st != 200 && st != 201 {
			t.Fatalf("PUT %s: %d %s", path, st, b)
		}
	}
	db, _ := bulkDB(t)
	src, _ := db.AddSource(ctx, store.Source{Name: "lth", BaseURL: srv.URL})
	if _, err := confPuller(db).PullBulk(ctx, src, nil); err != nil {
		t.Fatal(err)
	}
	if persons, _ := db.PersonsAt(ctx, src.ID); len(persons) != 1 {
		t.Errorf("%d persons from one person and a record merged into theirs: %+v", len(persons), persons)
	}
}

// TestBulkFileOfOneSetAsideResourceCompletes: an export whose file holds
// one resource the portal sets aside as it reads the line (a value of the
// wrong kind, a type R4 does not have, no id) completes: the line names a
// resource, so the file is NDJSON, not a sign-in page (a review of the fix
// that counted only a Bundle or a line too long).
func TestBulkFileOfOneSetAsideResourceCompletes(t *testing.T) {
	for name, c := range map[string]struct{ typ, line string }{
		"wrong-typed code": {"Observation", `{"resourceType":"Observation","id":"o9","meta":{"lastUpdated":"2024-05-20T10:00:00Z"},"status":"final","code":12,"subject":{"reference":"Patient/p1"}}`},
		"not R4":           {"DeviceUsage", `{"resourceType":"DeviceUsage","id":"d1","status":"active","patient":{"reference":"Patient/p1"}}`},
		"no id":            {"Observation", `{"resourceType":"Observation","status":"final","code":{"text":"Weight"},"subject":{"reference":"Patient/p1"}}`},
	} {
		srv := manifestExport(t, func(base string) string {
			return `{"transactionTime":"2024-06-01T09:00:00Z","requiresAccessToken":true,"output":[{"type":"` + c.typ + `","url":"` + base + `/files/1.ndjson"}],"error":[]}`
		}, map[string]string{"1.ndjson": c.line + "\n"})
		db, _ := bulkDB(t)
		src := confSource(t, db, srv.URL+"/fhir", "2024-05-02T00:00:00Z", "2024-05-01T00:00:00Z")
		_, err := confPuller(db).PullBulk(context.Background(), src, nil)
		got, _ := db.BulkSince(context.Background(), src.ID)
		if err != nil || got != "2024-06-01T09:00:00Z" {
			t.Errorf("%s: %v; the next export from %q, want the export complete", name, err, got)
		}
	}
}
