package fhirsync_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mycarerecord/portal/e2e/upstream"
	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhirsync"
)

const bulkLargest = "Lawerence6_Baumbach677_ea8d2576-4a23-4906-c353-bfed5adb23bd.json"

// sleepRecorder stands in for the client's sleep: it notes each wait and returns at once.
type sleepRecorder struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (s *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.delays = append(s.delays, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleepRecorder) waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.delays)
}

func bulkDB(t testing.TB) (*store.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "portal.db")
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func bulkServer(t testing.TB) *upstream.Server {
	t.Helper()
	return upstream.Start(t, upstream.SharedBundle(t, upstream.HospitalBundle), upstream.SharedBundle(t, upstream.PractitionerBundle),
		upstream.SharedBundle(t, bulkLargest))
}

// serverCounts asks the server how many resources of each type it holds.
func serverCounts(t *testing.T, srv *upstream.Server, types []string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, typ := range types {
		b := srv.Search(t, typ+"?_summary=count")
		if b.Total == nil {
			t.Fatalf("%s?_summary=count has no total", typ)
		}
		if *b.Total > 0 {
			out[typ] = *b.Total
		}
	}
	return out
}

// bundleTypes lists the resource types in the shared bundles the server was started with.
func bundleTypes(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, name := range []string{upstream.HospitalBundle, upstream.PractitionerBundle, bulkLargest} {
		data, err := os.ReadFile(upstream.SharedBundle(t, name))
		if err != nil {
			t.Fatal(err)
		}
		var b struct {
			Entry []struct {
				Resource struct{ ResourceType string } `json:"resource"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(data, &b); err != nil {
			t.Fatal(err)
		}
		for _, e := range b.Entry {
			seen[e.Resource.ResourceType] = true
		}
	}
	var out []string
	for typ := range seen {
		out = append(out, typ)
	}
	slices.Sort(out)
	return out
}

func sameCounts(t *testing.T, want, got map[string]int) {
	t.Helper()
	var diffs []string
	for typ, n := range want {
		if got[typ] != n {
			diffs = append(diffs, fmt.Sprintf("%s: %d cached, %d upstream", typ, got[typ], n))
		}
	}
	for typ, n := range got {
		if _, ok := want[typ]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: %d cached, none upstream", typ, n))
		}
	}
	slices.Sort(diffs)
	if len(diffs) > 0 {
		t.Errorf("cache differs from upstream: %s", strings.Join(diffs, "; "))
	}
}

// TestPullBulkImportsEverything exports the whole test server (the largest
// Synthea patient, the shared organisations and practitioners) and checks the
// cache holds exactly what the server holds, that the status URL was polled
// as Retry-After said, and that a second run changes nothing.
func TestPullBulkImportsEverything(t *testing.T) {
	ctx := context.Background()
	srv := bulkServer(t)
	db, _ := bulkDB(t)
	src, err := db.AddSource(ctx, store.Source{Name: "lth", OrgName: "Leeds Teaching Hospitals", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	var sleeps sleepRecorder
	puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" },
		fhirsync.ClientOptions{Timeout: 10 * time.Second, Sleep: sleeps.sleep}).Get}
	var said []string
	start := time.Now()
	sum, err := puller.PullBulk(ctx, src, func(s string) { said = append(said, s) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bulk pull: %+v in %s", sum, time.Since(start).Round(time.Millisecond))
	if got, want := sleeps.waits(), []time.Duration{time.Second, time.Second}; !slices.Equal(got, want) {
		t.Errorf("waits between status checks: %v, want %v (Retry-After: 1, twice)", got, want)
	}
	if !slices.ContainsFunc(said, func(s string) bool { return strings.Contains(s, "preparing files (1 of 2)") }) {
		t.Errorf("progress did not pass on X-Progress: %q", said)
	}
	if i, j := slices.IndexFunc(said, func(s string) bool { return strings.HasPrefix(s, "Patient: 1 read") }),
		slices.IndexFunc(said, func(s string) bool { return strings.HasPrefix(s, "Observation: ") && strings.Contains(s, " added") }); i < 0 || j < 0 || i > j {
		t.Errorf("the Patient file was not imported first: %q", said)
	}

	want := serverCounts(t, srv, bundleTypes(t))
	got, err := db.ResourceCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want["Observation"] < 500 || want["Organization"] < 100 {
		t.Fatalf("the server holds too little: %v", want)
	}
	sameCounts(t, want, got)
	n := 0
	for _, v := range want {
		n += v
	}
	if sum.Added != n || sum.Updated != 0 || sum.Rejected != 0 {
		t.Errorf("summary %+v, want %d added", sum, n)
	}

	persons, err := db.PersonsAt(ctx, src.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(persons) != 1 || !strings.Contains(persons[0].Name(), "Baumbach") {
		t.Fatalf("persons at the source: %+v", persons)
	}
	sp, err := db.RecordSection(ctx, persons[0].ID, "conditions", 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(sp.Items) == 0 {
		t.Error("the person's conditions page is empty after the bulk import")
	}

	again, err := puller.PullBulk(ctx, src, nil)
	if err != nil || again.Added != 0 || again.Updated != 0 || again.Rejected != 0 {
		t.Errorf("second bulk pull: %+v, %v; want nothing changed", again, err)
	}
	got2, err := db.ResourceCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sameCounts(t, want, got2)

	// The second export asked only for changes since the first: after one change upstream,
	// the third brings just that one.
	obs := srv.Search(t, "Observation?_count=1").Entry[0].Resource
	var o struct{ ID string }
	if err := json.Unmarshal(obs, &o); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond) // the server's clock has millisecond steps
	if status, body := srv.Do(t, "PUT", "/Observation/"+o.ID, []byte(strings.Replace(string(obs), `"status":"final"`, `"status":"amended"`, 1))); status != 200 {
		t.Fatalf("update: %d %s", status, body)
	}
	third, err := puller.PullBulk(ctx, src, nil)
	if err != nil || third.Updated != 1 || third.Added != 0 || third.Pages > 2 {
		t.Errorf("incremental bulk pull: %+v, %v; want just the changed observation", third, err)
	}
}

// TestPullBulkConvergesUnderFaults exports through a proxy that fails a third
// of the requests (500s, 429s, dropped connections, bodies cut in half): broken
// downloads resume after the lines already stored, without reading any twice.
func TestPullBulkConvergesUnderFaults(t *testing.T) {
	ctx := context.Background()
	srv := bulkServer(t)
	proxy := upstream.NewFaultProxy(t, srv.URL, upstream.Faults{Rate: 0.3, Seed: 7,
		Kinds: []upstream.Fault{upstream.Fault500, upstream.Fault429, upstream.FaultDrop, upstream.FaultTruncate}})
	db, _ := bulkDB(t)
	src, err := db.AddSource(ctx, store.Source{Name: "lth", BaseURL: proxy.URL})
	if err != nil {
		t.Fatal(err)
	}
	var sleeps sleepRecorder
	puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" },
		fhirsync.ClientOptions{Timeout: 10 * time.Second, MaxAttempts: 10, BreakerThreshold: 1000, Sleep: sleeps.sleep}).Get}
	var said []string
	sum, err := puller.PullBulk(ctx, src, func(s string) { said = append(said, s) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bulk pull through faults: %+v; proxy: %d requests, faults %v", sum, proxy.Requests(), proxy.InjectedByKind())
	if proxy.InjectedByKind()[upstream.FaultTruncate] == 0 {
		t.Fatal("the proxy cut no body short")
	}
	sameCounts(t, serverCounts(t, srv, bundleTypes(t)), mustCounts(t, db))
	files := 0
	for _, s := range said {
		var typ string
		var read, added, updated, unchanged int
		if n, _ := fmt.Sscanf(s, "%s %d read, %d added, %d updated, %d unchanged", &typ, &read, &added, &updated, &unchanged); n == 5 {
			files++
			if unchanged != 0 || read != added {
				t.Errorf("%s: a resumed download read lines again", s)
			}
		}
	}
	if files < 10 {
		t.Errorf("progress reported %d files: %q", files, said)
	}
}

func mustCounts(t *testing.T, db *store.DB) map[string]int {
	t.Helper()
	got, err := db.ResourceCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestImportNDJSONSetsAsideBadLines imports NDJSON with an unreadable line, a
// resource without an id and a line of several megabytes, in small batches.
func TestImportNDJSONSetsAsideBadLines(t *testing.T) {
	ctx := context.Background()
	db, path := bulkDB(t)
	big := strings.Repeat("x", 3<<20) // longer than any default scanner buffer
	lines := []string{
		`{"resourceType":"Patient","id":"p1","name":[{"family":"Smith","given":["Ann"]}],"birthDate":"1970-01-01"}`,
		`{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"Weight"},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2024-01-01"}`,
		`{"resourceType":"Observation","id":"o2","status":"final","code":{"text":"Height"`, // line 3: cut short
		``,
		`{"resourceType":"Observation","status":"final","code":{"text":"No id"},"subject":{"reference":"Patient/p1"}}`, // line 5
		`{"resourceType":"Observation","id":"o3","status":"final","code":{"text":"Note"},"subject":{"reference":"Patient/p1"},"note":[{"text":"` + big + `"}]}`,
		`{"resourceType":"Condition","id":"c1","code":{"text":"Asthma"},"subject":{"reference":"Patient/p1"},"clinicalStatus":{"coding":[{"code":"active"}]}}`,
	}
	input := strings.Join(lines, "\n") // no newline after the last line
	opts := store.ImportOptions{Source: "bulkfile"}
	res, err := fhirsync.ImportNDJSON(ctx, db, opts, "test.ndjson", strings.NewReader(input), 2)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 4 || res.Rejected != 2 || res.NewPersons != 1 {
		t.Errorf("import: %+v, want 4 added, 2 rejected, 1 new person", res)
	}
	counts := mustCounts(t, db)
	if counts["Observation"] != 2 || counts["Condition"] != 1 || counts["Patient"] != 1 {
		t.Errorf("stored: %v", counts)
	}

	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.QueryContext(ctx, `SELECT type, resource_id, error FROM rejected_resources ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var rejected []string
	for rows.Next() {
		var typ, id, msg string
		if err := rows.Scan(&typ, &id, &msg); err != nil {
			t.Fatal(err)
		}
		rejected = append(rejected, typ+"|"+id+"|"+msg)
	}
	if len(rejected) != 2 || !strings.HasPrefix(rejected[0], "||line 3: ") || !strings.HasPrefix(rejected[1], "Observation||line 5: ") {
		t.Errorf("rejected: %q; want line 3 (cut short) and line 5 (no id)", rejected)
	}

	again, err := fhirsync.ImportNDJSON(ctx, db, opts, "test.ndjson", strings.NewReader(input), 1000)
	if err != nil || again.Added != 0 || again.Updated != 0 || again.Unchanged != 4 {
		t.Errorf("second import: %+v, %v; want 4 unchanged", again, err)
	}
}

// TestBulkExportRefusesForeignURLs checks status and file URLs must be under
// the base URL, that without Retry-After the status is polled with growing
// waits, and that an export given up is cancelled at the server.
func TestBulkExportRefusesForeignURLs(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		status, file, deleted string // paths or absolute URLs; "" means on this server (for deleted: none)
		noToken               bool   // the manifest says no token is needed
	}{
		{name: "status elsewhere", status: "http://elsewhere.example/fhir/$export-status/1"},
		{name: "status outside the base path", status: "/other/$export-status/1"},
		{name: "file elsewhere", file: "http://elsewhere.example/files/Patient.ndjson"},
		{name: "deleted file elsewhere", deleted: "http://elsewhere.example/files/deleted.ndjson"},
		// Elsewhere is allowed when no token is needed and the origin is named (TestBulkFileElsewhereNeedsNoToken), but not these.
		{name: "file elsewhere not named", file: "http://elsewhere.example/files/Patient.ndjson", noToken: true},
		{name: "file elsewhere with a password", file: "http://user:pw@elsewhere.example/files/Patient.ndjson", noToken: true},
		{name: "file elsewhere by ftp", file: "ftp://elsewhere.example/files/Patient.ndjson", noToken: true},
		{name: "file elsewhere without a host", file: "file:///etc/passwd", noToken: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			polls, deletes := 0, 0
			var srv *httptest.Server
			srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				switch {
				case r.URL.Path == "/fhir/$export":
					if r.Header.Get("Prefer") != "respond-async" {
						w.WriteHeader(http.StatusBadRequest)
						return
					}
					loc := srv.URL + "/fhir/$export-status/1"
					if tc.status != "" {
						loc = tc.status
					}
					w.Header().Set("Content-Location", loc)
					w.WriteHeader(http.StatusAccepted)
				case r.URL.Path == "/fhir/$export-status/1" && r.Method == http.MethodDelete:
					deletes++
					w.WriteHeader(http.StatusAccepted)
				case r.URL.Path == "/fhir/$export-status/1":
					if polls++; polls <= 2 {
						w.WriteHeader(http.StatusAccepted) // no Retry-After
						return
					}
					file := srv.URL + "/fhir/files/Patient.ndjson"
					if tc.file != "" {
						file = tc.file
					}
					deleted := ""
					if tc.deleted != "" {
						deleted = fmt.Sprintf(`,"deleted":[{"type":"Bundle","url":%q}]`, tc.deleted)
					}
					fmt.Fprintf(w, `{"transactionTime":"2024-01-01T00:00:00Z","request":"x","requiresAccessToken":%v,"output":[{"type":"Patient","url":%q}],"error":[]%s}`, !tc.noToken, file, deleted)
				default:
					w.WriteHeader(http.StatusNotFound)
				}
			}))
			defer srv.Close()
			var sleeps sleepRecorder
			c, err := fhirsync.NewClient(srv.URL+"/fhir", nil, fhirsync.ClientOptions{Sleep: sleeps.sleep})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.BulkExport(context.Background(), []string{"Patient"}, "", nil)
			if !errors.Is(err, fhirsync.ErrForeignURL) {
				t.Fatalf("got %v, want a refusal of a foreign URL", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if tc.file != "" || tc.deleted != "" {
				if got := sleeps.waits(); len(got) != 2 || got[0] < time.Second/2 || got[0] > time.Second || got[1] < time.Second || got[1] > 2*time.Second {
					t.Errorf("waits without Retry-After: %v, want one in [0.5s, 1s] then one in [1s, 2s]", got)
				}
				if deletes != 1 {
					t.Errorf("%d DELETEs of the status URL, want 1 (cancel the export given up)", deletes)
				}
			} else if polls != 0 {
				t.Errorf("polled a foreign status URL %d times", polls)
			}
		})
	}
}

// TestBulkFileRetryAfterBeyondMaxDelay: a file whose server asks to wait
// longer than a call may is given up at once, as a search is, rather than
// asked for again early (and refused again) until the tries run out.
func TestBulkFileRetryAfterBeyondMaxDelay(t *testing.T) {
	var mu sync.Mutex
	fileAsks := 0
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/fhir/$export":
			w.Header().Set("Content-Location", srv.URL+"/fhir/$export-status/1")
			w.WriteHeader(http.StatusAccepted)
		case "/fhir/$export-status/1":
			fmt.Fprintf(w, `{"transactionTime":"2024-01-01T00:00:00Z","request":"x","requiresAccessToken":false,"output":[{"type":"Patient","url":%q}],"error":[]}`,
				srv.URL+"/fhir/files/Patient.ndjson")
		case "/fhir/files/Patient.ndjson":
			fileAsks++
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	db, _ := bulkDB(t)
	src, err := db.AddSource(ctx, store.Source{Name: "region", BaseURL: srv.URL + "/fhir"})
	if err != nil {
		t.Fatal(err)
	}
	var sleeps sleepRecorder
	puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" },
		fhirsync.ClientOptions{Sleep: sleeps.sleep, MaxAttempts: 4, MaxDelay: time.Minute}).Get}
	if _, err := puller.PullBulk(ctx, src, nil); err == nil {
		t.Fatal("the bulk pull succeeded without its file")
	}
	mu.Lock()
	defer mu.Unlock()
	if fileAsks != 1 {
		t.Errorf("asked for the file %d times (waits %v), want once: the server asked for an hour", fileAsks, sleeps.waits())
	}
}

// storageExport is a FHIR server (its base under /fhir) whose export's one
// file, of Patients, is at fileURL on another host and needs no token
// ("{source}" in it stands for the server's own address, whose
// /fhir/files/redirect?to=URL redirects); seen is told of each request to it.
func storageExport(t *testing.T, fileURL string, seen func(*http.Request)) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen(r)
		switch r.URL.Path {
		case "/fhir/$export":
			w.Header().Set("Content-Location", srv.URL+"/fhir/$export-status/1")
			w.WriteHeader(http.StatusAccepted)
		case "/fhir/files/redirect": // a file under the source, kept elsewhere
			http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
		case "/fhir/$export-status/1":
			if r.Method == http.MethodDelete {
				w.WriteHeader(http.StatusAccepted)
				return
			}
			fmt.Fprintf(w, `{"transactionTime":"2024-01-01T00:00:00Z","request":"x","requiresAccessToken":false,"output":[{"type":"Patient","url":%q}],"error":[]}`,
				strings.ReplaceAll(fileURL, "{source}", srv.URL))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestBulkFileElsewhereNeedsNoToken: a manifest that says no token is needed
// may name files on another host the operator named (a server's object
// storage): they are fetched and imported, and the source's token never goes
// with them; the status checks, at the source, still carry it.
func TestBulkFileElsewhereNeedsNoToken(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var sourceAuth, storageAuth []string
	storage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		storageAuth = append(storageAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/fhir+ndjson")
		fmt.Fprintln(w, `{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"birthDate":"1957-03-14"}`)
	}))
	defer storage.Close()
	srv := storageExport(t, storage.URL+"/bucket/Patient.ndjson?signature=abc", func(r *http.Request) {
		mu.Lock()
		sourceAuth = append(sourceAuth, r.Header.Get("Authorization"))
		mu.Unlock()
	})
	db, _ := bulkDB(t)
	src, err := db.AddSource(ctx, store.Source{Name: "region", BaseURL: srv.URL + "/fhir", AuthKind: store.AuthBearer, AuthConfig: map[string]string{"token-env": "REGION_TOKEN"}})
	if err != nil {
		t.Fatal(err)
	}
	puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(k string) string { return map[string]string{"REGION_TOKEN": "s3cret"}[k] },
		fhirsync.ClientOptions{Sleep: func(context.Context, time.Duration) error { return nil }, FilesFrom: []string{storage.URL}}).Get}
	sum, err := puller.PullBulk(ctx, src, nil)
	if err != nil || sum.Added != 1 {
		t.Fatalf("bulk pull with its file in storage elsewhere: %+v, %v", sum, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(storageAuth) != 1 || storageAuth[0] != "" {
		t.Errorf("the file elsewhere was asked for with Authorization %q", storageAuth)
	}
	for _, a := range sourceAuth {
		if a != "Bearer s3cret" {
			t.Errorf("a request to the source went without its token: %q", sourceAuth)
			break
		}
	}
}

// TestBulkStorageAskingToWaitHoldsOffOnlyItself: export files kept on
// another host (--files-from), named by the manifest or reached by a
// redirect from the source, whose storage answers 429 with a long
// Retry-After, or fails, fail that load, but leave the source's FHIR server
// free to call: the next load, and every sync, asks it at once, and its
// breaker stays shut.
func TestBulkStorageAskingToWaitHoldsOffOnlyItself(t *testing.T) {
	for _, tt := range []struct {
		name     string
		redirect bool // the manifest names a file under the source, which redirects to the storage
		status   int
	}{
		{"named by the manifest, asking to wait", false, http.StatusTooManyRequests},
		{"reached by a redirect, asking to wait", true, http.StatusTooManyRequests},
		{"reached by a redirect, failing", true, http.StatusServiceUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			var asks atomic.Int32
			storage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if asks.Add(1) == 1 {
					if tt.status == http.StatusTooManyRequests {
						w.Header().Set("Retry-After", "3600")
					}
					w.WriteHeader(tt.status)
					return
				}
				w.Header().Set("Content-Type", "application/fhir+ndjson")
				fmt.Fprintln(w, `{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"birthDate":"1957-03-14"}`)
			}))
			defer storage.Close()
			file := storage.URL + "/bucket/Patient.ndjson"
			if tt.redirect {
				file = "{source}/fhir/files/redirect?" + url.Values{"to": {file}}.Encode()
			}
			srv := storageExport(t, file, func(*http.Request) {})
			db, _ := bulkDB(t)
			src, err := db.AddSource(ctx, store.Source{Name: "region", BaseURL: srv.URL + "/fhir"})
			if err != nil {
				t.Fatal(err)
			}
			puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" },
				fhirsync.ClientOptions{Sleep: func(context.Context, time.Duration) error { return nil }, MaxAttempts: 1, BreakerThreshold: 1,
					FilesFrom: []string{storage.URL}, Holds: db}).Get}
			if _, err := puller.PullBulk(ctx, src, nil); err == nil {
				t.Fatal("the load succeeded though its file's storage did not give it")
			}
			if held, err := db.SourceHeldUntil(ctx, src.ID); err != nil || !held.IsZero() {
				t.Errorf("the source is held until %v (%v), want it free: its server never asked to wait", held, err)
			}
			sum, err := puller.PullBulk(ctx, src, nil)
			if err != nil || sum.Added != 1 {
				t.Errorf("the next load: %+v, %v; want the source asked at once, and the file stored", sum, err)
			}
		})
	}
}

// TestBulkFilesOnlyFromNamedOrigins: a file not under the source is fetched
// only from an origin the operator named (--files-from), and a redirect
// while fetching any file, under the source or not, goes only to the source
// or such an origin; anything else is refused without a request, so a server
// cannot have the portal fetch internal addresses for it. A redirect refused
// is not tried again.
func TestBulkFilesOnlyFromNamedOrigins(t *testing.T) {
	const patient = `{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"birthDate":"1957-03-14"}`
	tests := []struct {
		name         string
		file         string   // where the manifest says the file is: "source" or "storage", then its path
		filesFrom    []string // "storage" or "other", named with --files-from
		ok           bool
		storageAsked int
	}{
		{name: "not named", file: "storage/bucket/Patient.ndjson"},
		{name: "another port on the same host named", file: "storage/bucket/Patient.ndjson", filesFrom: []string{"other"}},
		{name: "named", file: "storage/bucket/Patient.ndjson", filesFrom: []string{"storage", "other"}, ok: true, storageAsked: 1},
		{name: "named, redirecting to a host not named", file: "storage/bucket/moved", filesFrom: []string{"storage"}, storageAsked: 1},
		{name: "named, redirecting to the source", file: "storage/bucket/home", filesFrom: []string{"storage"}, ok: true, storageAsked: 1},
		{name: "under the source, redirecting to a host not named", file: "source/fhir/files/moved", filesFrom: []string{"storage"}},
		{name: "under the source, redirecting to a named origin", file: "source/fhir/files/stored", filesFrom: []string{"storage"}, ok: true, storageAsked: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			var mu sync.Mutex
			asked := map[string][]string{} // server: the Authorization of each request
			note := func(server string, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				asked[server] = append(asked[server], r.Header.Get("Authorization"))
			}
			// other stands for an internal address the server would have the portal read.
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				note("other", r)
				fmt.Fprintln(w, patient)
			}))
			defer other.Close()
			var source *httptest.Server
			storage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				note("storage", r)
				switch r.URL.Path {
				case "/bucket/Patient.ndjson":
					fmt.Fprintln(w, patient)
				case "/bucket/moved":
					http.Redirect(w, r, other.URL+"/latest/meta-data", http.StatusFound)
				case "/bucket/home":
					http.Redirect(w, r, source.URL+"/fhir/files/Patient.ndjson", http.StatusFound)
				default:
					w.WriteHeader(http.StatusNotFound)
				}
			}))
			defer storage.Close()
			servers := map[string]string{"other": other.URL, "storage": storage.URL}
			source = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/fhir/$export":
					w.Header().Set("Content-Location", source.URL+"/fhir/$export-status/1")
					w.WriteHeader(http.StatusAccepted)
				case "/fhir/$export-status/1":
					if r.Method == http.MethodDelete {
						w.WriteHeader(http.StatusAccepted)
						return
					}
					server, path, _ := strings.Cut(tt.file, "/")
					fmt.Fprintf(w, `{"transactionTime":"2024-01-01T00:00:00Z","request":"x","requiresAccessToken":false,"output":[{"type":"Patient","url":%q}],"error":[]}`,
						servers[server]+"/"+path)
				case "/fhir/files/Patient.ndjson":
					fmt.Fprintln(w, patient)
				case "/fhir/files/moved":
					http.Redirect(w, r, other.URL+"/admin", http.StatusFound)
				case "/fhir/files/stored":
					http.Redirect(w, r, storage.URL+"/bucket/Patient.ndjson?sig=abc", http.StatusFound)
				default:
					w.WriteHeader(http.StatusNotFound)
				}
			}))
			defer source.Close()
			servers["source"] = source.URL
			var filesFrom []string
			for _, name := range tt.filesFrom {
				filesFrom = append(filesFrom, servers[name])
			}
			db, _ := bulkDB(t)
			src, err := db.AddSource(ctx, store.Source{Name: "region", BaseURL: source.URL + "/fhir", AuthKind: store.AuthBearer, AuthConfig: map[string]string{"token-env": "REGION_TOKEN"}})
			if err != nil {
				t.Fatal(err)
			}
			puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(k string) string { return map[string]string{"REGION_TOKEN": "s3cret"}[k] },
				fhirsync.ClientOptions{Sleep: func(context.Context, time.Duration) error { return nil }, FilesFrom: filesFrom}).Get}

			sum, err := puller.PullBulk(ctx, src, nil)
			if tt.ok && (err != nil || sum.Added != 1) {
				t.Errorf("got %+v, %v; want the file imported", sum, err)
			}
			if !tt.ok && (!errors.Is(err, fhirsync.ErrForeignURL) || !strings.Contains(err.Error(), "is not one allowed with --files-from") || sum.Added != 0) {
				t.Errorf("got %+v, %v; want a refusal naming --files-from", sum, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(asked["other"]) != 0 {
				t.Errorf("the host not named was asked %d times", len(asked["other"]))
			}
			if got := asked["storage"]; len(got) != tt.storageAsked || slices.ContainsFunc(got, func(a string) bool { return a != "" }) {
				t.Errorf("storage was asked with Authorization %q, want %d times without", got, tt.storageAsked)
			}
		})
	}
}

// TestPullBulkRemovesDeletions deletes resources upstream between two bulk
// exports (one updated first, one changed before the second export began and
// deleted while it ran, so it is in both an output file and the deleted file)
// and checks the second export's deleted file takes them all out of the cache
// and off the record pages, leaving it holding exactly what the server holds.
func TestPullBulkRemovesDeletions(t *testing.T) {
	ctx := context.Background()
	srv := bulkServer(t)
	db, _ := bulkDB(t)
	src, err := db.AddSource(ctx, store.Source{Name: "lth", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	var duringExport func() // run at the first wait for an export, then forgotten
	puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" },
		fhirsync.ClientOptions{Timeout: 10 * time.Second, Sleep: func(ctx context.Context, _ time.Duration) error {
			if f := duringExport; f != nil {
				duringExport = nil
				f()
			}
			return ctx.Err()
		}}).Get}
	if _, err := puller.PullBulk(ctx, src, nil); err != nil {
		t.Fatal(err)
	}
	persons, err := db.PersonsAt(ctx, src.ID)
	if err != nil || len(persons) != 1 {
		t.Fatalf("persons at the source: %+v, %v", persons, err)
	}
	person := persons[0].ID
	conditions, err := db.RecordSection(ctx, person, "conditions", 1, 1000)
	if err != nil || len(conditions.Items) == 0 || conditions.Items[0].ResourceType != "Condition" {
		t.Fatalf("conditions page: %+v, %v", conditions, err)
	}
	shown := conditions.Items[0] // a condition the page shows, to be deleted

	var obs []struct {
		ID  string
		Raw json.RawMessage
	}
	for _, e := range srv.Search(t, "Observation?_count=5").Entry {
		var o struct{ ID string }
		if err := json.Unmarshal(e.Resource, &o); err != nil {
			t.Fatal(err)
		}
		obs = append(obs, struct {
			ID  string
			Raw json.RawMessage
		}{o.ID, e.Resource})
	}
	var org struct{ ID string }
	if err := json.Unmarshal(srv.Search(t, "Organization?_count=1").Entry[0].Resource, &org); err != nil || len(obs) != 5 {
		t.Fatalf("organisation %v, %d observations", err, len(obs))
	}
	do := func(method, path string, body []byte) {
		t.Helper()
		if status, resp := srv.Do(t, method, path, body); status != 200 && status != 204 {
			t.Fatalf("%s %s: %d %s", method, path, status, resp)
		}
	}
	amend := func(raw json.RawMessage) []byte {
		return []byte(strings.Replace(string(raw), `"status":"final"`, `"status":"amended"`, 1))
	}
	time.Sleep(5 * time.Millisecond) // the server's clock has millisecond steps
	do("DELETE", "Condition/"+shown.ResourceID, nil)
	do("DELETE", "Organization/"+org.ID, nil)
	for _, o := range obs[:3] {
		do("DELETE", "Observation/"+o.ID, nil)
	}
	do("PUT", "Observation/"+obs[3].ID, amend(obs[3].Raw)) // updated, then deleted
	do("DELETE", "Observation/"+obs[3].ID, nil)
	do("PUT", "Observation/"+obs[4].ID, amend(obs[4].Raw)) // in the export's output, then deleted while it runs
	duringExport = func() { do("DELETE", "Observation/"+obs[4].ID, nil) }

	var said []string
	sum, err := puller.PullBulk(ctx, src, func(s string) { said = append(said, s) })
	if err != nil {
		t.Fatal(err)
	}
	if duringExport != nil {
		t.Fatal("the export was not waited for: nothing was deleted while it ran")
	}
	if sum.Deleted != 7 || sum.Updated != 1 || sum.Added != 0 || sum.Rejected != 0 {
		t.Errorf("bulk pull after deletions: %+v, want 7 deleted and the observation changed before its deletion updated", sum)
	}
	if !slices.ContainsFunc(said, func(s string) bool {
		return strings.HasPrefix(s, "Deleted upstream: 7 listed, 7 removed from the cache, 0 set aside")
	}) {
		t.Errorf("progress did not count the deletions: %q", said)
	}
	sameCounts(t, serverCounts(t, srv, bundleTypes(t)), mustCounts(t, db))

	gone := map[string]bool{"Condition/" + shown.ResourceID: true}
	for _, o := range obs {
		gone["Observation/"+o.ID] = true
	}
	if err := db.PersonResources(ctx, person, func(r store.CachedResource) error {
		if gone[r.Type+"/"+r.ID] {
			t.Errorf("%s/%s is still cached", r.Type, r.ID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	after, err := db.RecordSection(ctx, person, "conditions", 1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range after.Items {
		if it.ResourceID == shown.ResourceID {
			t.Errorf("the conditions page still shows the deleted %s", shown.Display)
		}
	}
	found, err := db.SearchRecord(ctx, person, shown.Display, store.SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range found.Sections {
		for _, it := range s.Items {
			if it.ResourceID == shown.ResourceID {
				t.Errorf("search for %q still finds the deleted condition", shown.Display)
			}
		}
	}

	// The next export lists again what was deleted while the last one ran: nothing changes.
	again, err := puller.PullBulk(ctx, src, nil)
	if err != nil || again.Added+again.Updated+again.Deleted+again.Rejected != 0 {
		t.Errorf("bulk pull with nothing changed: %+v, %v", again, err)
	}
	sameCounts(t, serverCounts(t, srv, bundleTypes(t)), mustCounts(t, db))
}

// TestRedirectsKeepTheTokenAtTheSource: a search under the source that
// redirects elsewhere (another port on the same host, which Go would send the
// token to) is refused, so a server cannot point the portal at internal
// addresses, and the token goes nowhere else; one that redirects under the
// source is followed, with the token; a redirect from https down to http is
// refused. (An export file's redirects may also go where --files-from says:
// TestBulkFilesOnlyFromNamedOrigins.)
func TestRedirectsKeepTheTokenAtTheSource(t *testing.T) {
	var mu sync.Mutex
	var elsewhereAuth []string
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		elsewhereAuth = append(elsewhereAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		fmt.Fprintln(w, `{"resourceType":"Bundle","type":"searchset","entry":[]}`)
	}))
	defer elsewhere.Close()
	var sourceAuth []string
	source := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		sourceAuth = append(sourceAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		http.Redirect(w, r, elsewhere.URL+"/moved"+r.URL.Path, http.StatusFound) // same host (127.0.0.1), another port
	}))
	defer source.Close()
	c, err := fhirsync.NewClient(source.URL+"/fhir", fhirsync.BearerAuth("s3cret"), fhirsync.ClientOptions{MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Search(context.Background(), "Observation", url.Values{"patient": {"Patient/1"}})
	mu.Lock()
	defer mu.Unlock()
	if len(sourceAuth) != 1 || sourceAuth[0] != "Bearer s3cret" {
		t.Errorf("the source was asked with Authorization %q", sourceAuth)
	}
	if len(elsewhereAuth) != 0 || !errors.Is(err, fhirsync.ErrForeignURL) {
		t.Errorf("a search redirected away from the source: %v, and elsewhere was asked %d times; want it refused, unasked", err, len(elsewhereAuth))
	}

	var movedAuth []string
	moving := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/fhir/moved/") {
			mu.Lock()
			movedAuth = append(movedAuth, r.Header.Get("Authorization"))
			mu.Unlock()
			fmt.Fprintln(w, `{"resourceType":"Bundle","type":"searchset","entry":[]}`)
			return
		}
		http.Redirect(w, r, "/fhir/moved"+strings.TrimPrefix(r.URL.Path, "/fhir"), http.StatusFound)
	}))
	defer moving.Close()
	c, err = fhirsync.NewClient(moving.URL+"/fhir", fhirsync.BearerAuth("s3cret"), fhirsync.ClientOptions{MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	mu.Unlock()
	_, err = c.Search(context.Background(), "Observation", url.Values{"patient": {"Patient/1"}})
	mu.Lock()
	if err != nil || len(movedAuth) != 1 || movedAuth[0] != "Bearer s3cret" {
		t.Errorf("a search redirected under the source: %v, asked with Authorization %q; want it followed with the token", err, movedAuth)
	}

	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/plain"+r.URL.Path, http.StatusFound)
	}))
	defer secure.Close()
	c, err = fhirsync.NewClient(secure.URL+"/fhir", fhirsync.BearerAuth("s3cret"), fhirsync.ClientOptions{MaxAttempts: 1, HTTPClient: secure.Client()})
	if err != nil {
		t.Fatal(err)
	}
	asked := len(elsewhereAuth)
	mu.Unlock()
	_, err = c.Search(context.Background(), "Observation", url.Values{"patient": {"Patient/1"}})
	mu.Lock()
	if err == nil || len(elsewhereAuth) != asked {
		t.Errorf("a redirect from https to http was followed: %v", err)
	}
}

// Values FHIR R4 does not allow are set aside with their reason, whether
// read in one decode (bulk lines that name their type first) or two, and a
// good version stored before is kept: a date of birth that is not a date
// would stop the person enrolling, since enrolment checks it.
func TestImportNDJSONSetsAsideWhatIsNotR4(t *testing.T) {
	ctx := context.Background()
	db, path := bulkDB(t)
	opts := store.ImportOptions{Source: "bulkfile"}
	good := `{"resourceType":"Patient","id":"p1","name":[{"family":"Smith","given":["Ann"]}],"birthDate":"1970-01-01"}`
	if res, err := fhirsync.ImportNDJSON(ctx, db, opts, "first.ndjson", strings.NewReader(good), 0); err != nil || res.Added != 1 {
		t.Fatalf("first import: %+v, %v", res, err)
	}
	lines := []string{
		`{"resourceType":"Patient","id":"p1","name":[{"family":"Smith","given":["Ann"]}],"birthDate":"not-a-date"}`,
		`{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"Weight"},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"31/02/2020"}`,
		`{"id":"o2","resourceType":"Observation","status":"final","code":{"text":"Height"},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2020-02-31"}`,
		`{"resourceType":"Frobnication","id":"f1","subject":{"reference":"Patient/p1"}}`,
		`{"resourceType":"Observation","id":"o3","status":"final","code":{"text":"Pulse"},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2020-02-28T09:30:00Z"}`,
	}
	res, err := fhirsync.ImportNDJSON(ctx, db, opts, "second.ndjson", strings.NewReader(strings.Join(lines, "\n")), 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 1 || res.Rejected != 4 {
		t.Errorf("import: %+v; want the pulse added and 4 set aside", res)
	}
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var birth string
	if err := raw.QueryRowContext(ctx, `SELECT birth_date FROM persons`).Scan(&birth); err != nil || birth != "1970-01-01" {
		t.Errorf("the person's date of birth: %q, %v; want 1970-01-01 kept", birth, err)
	}
	rows, err := raw.QueryContext(ctx, `SELECT error FROM rejected_resources ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var why []string
	for rows.Next() {
		var msg string
		if err := rows.Scan(&msg); err != nil {
			t.Fatal(err)
		}
		why = append(why, msg)
	}
	for i, want := range []string{
		`Patient/p1: birthDate should be a date such as 1957-03-14, not "not-a-date"`,
		`Observation/o1: its date should be a FHIR date or date-time such as 2020-02-28 or 2020-02-28T09:30:00Z, not "31/02/2020"`,
		`Observation/o2: its date should be a FHIR date or date-time`,
		`Frobnication/f1: "Frobnication" is not a FHIR R4 resource type`,
	} {
		if i >= len(why) || !strings.Contains(why[i], want) {
			t.Errorf("set aside: %q; want %d to say %q", why, i+1, want)
		}
	}
}
