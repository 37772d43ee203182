package store_test

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

func TestAddSource(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	tests := []struct {
		name     string
		src      store.Source
		wantCode string
	}{
		{"plain", store.Source{Name: "lth", OrgName: "Leeds Teaching Hospitals", BaseURL: "https://fhir.lth.example/r4"}, ""},
		{"bearer with secret file", store.Source{Name: "gp", BaseURL: "http://localhost:9/fhir", AuthKind: store.AuthBearer,
			AuthConfig: map[string]string{"token-file": "/run/secrets/gp"}}, ""},
		{"same name", store.Source{Name: "lth", BaseURL: "https://other.example"}, store.ECONFLICT},
		{"two words", store.Source{Name: "two words", BaseURL: "https://x.example"}, store.EINVALID},
		{"no scheme", store.Source{Name: "x", BaseURL: "fhir.example.org"}, store.EINVALID},
		{"unknown auth", store.Source{Name: "y", BaseURL: "https://y.example", AuthKind: "basic"}, store.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.AddSource(ctx, tt.src)
			if got := store.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("got %q (%v), want %q", got, err, tt.wantCode)
			}
			if tt.wantCode != "" {
				return
			}
			got, err := db.SourceByName(ctx, tt.src.Name)
			if err != nil {
				t.Fatal(err)
			}
			if got.BaseURL != tt.src.BaseURL || got.AuthConfig["token-file"] != tt.src.AuthConfig["token-file"] {
				t.Errorf("stored %+v, want %+v", got, tt.src)
			}
		})
	}
	if _, err := db.RemoveSource(ctx, "gp", false); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SourceByName(ctx, "gp"); store.ErrorCode(err) != store.ENOTFOUND {
		t.Errorf("removed source still there: %v", err)
	}
}

// TestAddSourceAddress: a bad address is refused for what is wrong with it,
// and one holding a password is refused without repeating it.
func TestAddSourceAddress(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	tests := []struct {
		addr, want string
	}{
		{"http://user:s3cret@fhir.example.org/r4", "must not hold a user name or password: it would be stored and shown in the list of sources. Give the server's token with --auth bearer and --token-file or --token-env instead."},
		{"https://user@fhir.example.org", "must not hold a user name or password"},
		{"http://", `The FHIR server address "http://" has no server name after http://.`},
		{"https:///r4", `The FHIR server address "https:///r4" has no server name after https://.`},
		{"https://fhir.example.org/r4 x", `The FHIR server address "https://fhir.example.org/r4 x" has a space in it: an address has none (a space in a path is written %20).`},
		{"fhir.example.org", `The FHIR server address "fhir.example.org" must start with https:// (or http:// for a test server).`},
		{"ftp://fhir.example.org", `must start with https://`},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			_, err := db.AddSource(ctx, store.Source{Name: "lth", BaseURL: tt.addr})
			if store.ErrorCode(err) != store.EINVALID || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the message repeats the password: %v", err)
			}
		})
	}
	src, err := db.AddSource(ctx, store.Source{Name: "lth", BaseURL: "https://fhir.example.org/r4/"})
	if err != nil || src.BaseURL != "https://fhir.example.org/r4" {
		t.Errorf("a trailing slash: got %q, %v", src.BaseURL, err)
	}
}

func observation(id, patient, updated string) fhir.Resource {
	raw := fmt.Sprintf(`{"resourceType":"Observation","id":%q,"meta":{"lastUpdated":%q},"status":"final","code":{"text":"Pulse"},"subject":{"reference":"Patient/%s"},"valueQuantity":{"value":70,"unit":"/min"}}`, id, updated, patient)
	return fhir.Resource{Type: "Observation", ID: id, LastUpdated: updated, Raw: []byte(raw)}
}

// TestApplyPageIsAtomic checks that a page and its checkpoint are stored
// together or not at all, and that deletions and reconciliation remove items.
func TestApplyPageIsAtomic(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	src, err := db.AddSource(ctx, store.Source{Name: "lth", OrgName: "Leeds Teaching Hospitals", BaseURL: "http://localhost:1/fhir"})
	if err != nil {
		t.Fatal(err)
	}
	person := addPerson(t, db, "9434765919", "1957-03-14")
	patient := fmt.Sprintf(`{"resourceType":"Patient","id":"pt1","identifier":[{"system":%q,"value":"9434765919"}]}`, fhir.NHSNumberSystem)
	page1 := []fhir.Resource{{Type: "Patient", ID: "pt1", Raw: []byte(patient)}, observation("o1", "pt1", "2026-01-01T00:00:00Z"), observation("o2", "pt1", "2026-01-02T00:00:00Z")}
	cp1 := store.Checkpoint{NextURL: "http://localhost:1/fhir/Observation?page=2", Pending: "2026-01-02T00:00:00Z"}
	if _, err := db.ApplyPage(ctx, store.PageUpdate{Source: "lth", PersonID: person.ID, ResourceType: "Observation", Origin: "test", Resources: page1, Checkpoint: &cp1}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Checkpoint(ctx, src.ID, person.ID, "Observation")
	if err != nil || got != cp1 {
		t.Fatalf("checkpoint %+v, %v; want %+v", got, err, cp1)
	}
	results := func() int {
		sp, err := db.RecordSection(ctx, person.ID, fhir.SectionResults, 1, 100)
		if err != nil {
			t.Fatal(err)
		}
		return sp.Total
	}
	if n := results(); n != 2 {
		t.Fatalf("results after page 1: %d, want 2", n)
	}

	// A page that fails to commit leaves neither its resources nor its checkpoint.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	cp2 := store.Checkpoint{Watermark: "2026-01-03T00:00:00Z"}
	if _, err := db.ApplyPage(cancelled, store.PageUpdate{Source: "lth", PersonID: person.ID, ResourceType: "Observation", Origin: "test",
		Resources: []fhir.Resource{observation("o3", "pt1", "2026-01-03T00:00:00Z")}, Checkpoint: &cp2}); err == nil {
		t.Fatal("cancelled apply succeeded")
	}
	if got, _ := db.Checkpoint(ctx, src.ID, person.ID, "Observation"); got != cp1 {
		t.Errorf("checkpoint moved without its page: %+v", got)
	}
	if n := results(); n != 2 {
		t.Errorf("results after failed page: %d, want 2", n)
	}

	// A deletion from upstream removes the item.
	res, err := db.ApplyPage(ctx, store.PageUpdate{Source: "lth", PersonID: person.ID, ResourceType: "Observation", Origin: "history",
		Deleted: []fhir.Resource{{Type: "Observation", ID: "o1"}}})
	if err != nil || res.Deleted != 1 {
		t.Fatalf("delete: %+v, %v", res, err)
	}
	if n := results(); n != 1 {
		t.Errorf("results after delete: %d, want 1", n)
	}
	// A reconciliation compares what upstream lists with what the cache holds of the patient.
	ids, err := db.CachedIDs(ctx, src.ID, "pt1", "Observation")
	if err != nil || strings.Join(ids, " ") != "o2" {
		t.Fatalf("cached observations: %q, %v; want o2", ids, err)
	}
}

// A page a sync fetched, or a bulk load's batch, from a source removed
// meanwhile is refused: the source is not made again by name.
func TestPageFromARemovedSourceIsRefused(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	old, err := db.AddSource(ctx, store.Source{Name: "gp", BaseURL: "http://localhost:9/fhir"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.RemoveSource(ctx, "gp", false); err != nil {
		t.Fatal(err)
	}
	page := store.PageUpdate{Source: "gp", SourceID: old.ID, ResourceType: "Observation", Origin: "http://localhost:9/fhir/Observation"}
	if _, err := db.ApplyPage(ctx, page); store.ErrorCode(err) != store.ENOTFOUND {
		t.Errorf("a page from the removed source: %v, want it refused", err)
	}
	// Nor does a batch of a bulk load.
	if _, err := db.ImportBulk(ctx, store.ImportOptions{Source: "gp", SourceID: old.ID}, "Patient.ndjson lines 1-2", nil); store.ErrorCode(err) != store.ENOTFOUND {
		t.Errorf("a bulk batch from the removed source: %v, want it refused", err)
	}
	if _, err := db.SourceByName(ctx, "gp"); store.ErrorCode(err) != store.ENOTFOUND {
		t.Errorf("the removed source was made again: %v", err)
	}
}

// TestCheckpointKeepsWhenTheSearchStarted: a search in progress keeps when
// its first page was served and whether it is the search run again, so a
// sync that resumes it can tell whether its pages shifted and does not run
// it again a second time; a search run again keeps that before its first
// page, and the end of a search clears both.
func TestCheckpointKeepsWhenTheSearchStarted(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	src, person := syncSource(t, db)
	for _, want := range []store.Checkpoint{
		{NextURL: "http://localhost:1/fhir/Observation?_offset=10", Pending: "2026-01-02T00:00:00Z", Total: 25, Received: 10, Started: "2026-01-03T10:00:00Z"},
		{Repeat: true},
		{NextURL: "http://localhost:1/fhir/Observation?_offset=10", Pending: "2026-01-02T00:00:00Z", Total: 25, Received: 10, Started: "2026-01-03T10:05:00Z", Repeat: true},
		{Watermark: "2026-01-02T00:00:00Z"},
	} {
		if _, err := db.ApplyPage(ctx, store.PageUpdate{Source: "lth", PersonID: person.ID, ResourceType: "Observation", Origin: "test", Checkpoint: &want}); err != nil {
			t.Fatal(err)
		}
		if got, err := db.Checkpoint(ctx, src.ID, person.ID, "Observation"); err != nil || got != want {
			t.Errorf("checkpoint %+v, %v; want %+v", got, err, want)
		}
	}
}

// A person is found by an identifier one of their cached Patients carries;
// two people whose Patients carry it are not told apart, and it says so.
func TestPersonByPatientIdentifier(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	patient := func(id, nhs string) string {
		return `{"resourceType":"Patient","id":"` + id + `","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"` + nhs + `"},` +
			`{"system":"https://hospital.example/mrn","value":"` + id + `"},{"system":"https://hospital.example/shared","value":"S1"}]}`
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "lth"}, "test", parsed(t, patient("m1", "9434765919"), patient("m2", "9434765870"))); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		value string
		want  string // the person's NHS number, or the error code
	}{{"m1", "9434765919"}, {"m2", "9434765870"}, {"m3", store.ENOTFOUND}} {
		p, err := db.PersonByPatientIdentifier(ctx, "https://hospital.example/mrn", tt.value)
		if got := cmp.Or(store.ErrorCode(err), p.NHSNumber); got != tt.want {
			t.Errorf("mrn %s: %q; want %q", tt.value, got, tt.want)
		}
	}
	if _, err := db.PersonByPatientIdentifier(ctx, "https://hospital.example/shared", "S1"); store.ErrorCode(err) != store.ECONFLICT {
		t.Errorf("an identifier two people's Patients carry: %v; want a conflict", err)
	}
}
