package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store/fhir"
)

// TestEntryPagesAreOwnOnly opens entries by id: one's own shows, another
// person's answers 404 as if it did not exist, and so do its attachments.
func TestEntryPagesAreOwnOnly(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	jane := f.signIn(t, f.jane)
	own, err := f.db.RecordSection(ctx, f.jane.ID, "medicines", 1, 10)
	if err != nil || len(own.Items) != 1 {
		t.Fatalf("Jane's medicines: %+v, %v", own, err)
	}
	other, err := f.db.RecordSection(ctx, f.amir.ID, "medicines", 1, 10)
	if err != nil || len(other.Items) != 1 {
		t.Fatalf("Amir's medicines: %+v, %v", other, err)
	}
	resp := f.get(t, "/record/item/"+itoa(own.Items[0].ID), jane)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("own entry: status %d", resp.StatusCode)
	}
	d := doc(t, resp)
	if h1 := strings.TrimSpace(d.Find("h1").Text()); h1 != "Metformin 500mg tablets" {
		t.Errorf("own entry's heading is %q", h1)
	}
	if from := d.Find("main").Text(); !strings.Contains(from, "Meanwood Group Practice") {
		t.Error("the entry does not say where it came from")
	}
	for _, path := range []string{
		"/record/item/" + itoa(other.Items[0].ID),
		"/record/item/" + itoa(other.Items[0].ID) + "/attachment/0",
		"/record/item/" + itoa(own.Items[0].ID) + "/attachment/0", // a medicine has no document
		"/record/item/0", "/record/item/-1", "/record/item/abc",
	} {
		if resp := f.get(t, path, jane); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", path, resp.StatusCode)
		}
	}
	if resp := f.get(t, "/record/item/"+itoa(own.Items[0].ID), nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("anonymous entry: status %d, want a redirect to sign in", resp.StatusCode)
	}
}

// Entries of one name have pages whose titles differ by the entry's date, as
// the links to them in the record's tables do (WCAG 2.4.2); an entry with no
// date keeps the plain name.
func TestEntryTitlesSayTheDate(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.importJSON(t, "gp",
		`{"resourceType":"Encounter","id":"v1","status":"finished","class":{"code":"AMB"},"type":[{"text":"Follow-up visit"}],"subject":{"reference":"Patient/jane"},"period":{"start":"2025-09-15"}}`,
		`{"resourceType":"Encounter","id":"v2","status":"finished","class":{"code":"AMB"},"type":[{"text":"Follow-up visit"}],"subject":{"reference":"Patient/jane"},"period":{"start":"2024-03-01T10:30:00Z"}}`,
		`{"resourceType":"Encounter","id":"v3","status":"finished","class":{"code":"AMB"},"type":[{"text":"Follow-up visit"}],"subject":{"reference":"Patient/jane"}}`,
	)
	sp, err := f.db.RecordSection(ctx, f.jane.ID, fhir.SectionEncounters, 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{} // by date
	for _, it := range sp.Items {
		if it.Display == "Follow-up visit" {
			ids[it.Date] = it.ID
		}
	}
	jane := f.signIn(t, f.jane)
	tests := []struct {
		name, date, want string
	}{
		{"a date", "2025-09-15", "Follow-up visit, 15 September 2025 – My Care Record"},
		{"a date and time", "2024-03-01T10:30:00Z", "Follow-up visit, 1 March 2024 – My Care Record"},
		{"no date", "", "Follow-up visit – My Care Record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, ok := ids[tt.date]
			if !ok {
				t.Fatalf("no entry dated %q among %v", tt.date, ids)
			}
			d := doc(t, f.get(t, "/record/item/"+itoa(id), jane))
			if got := d.Find("head title").Text(); got != tt.want {
				t.Errorf("title %q, want %q", got, tt.want)
			}
			if got := strings.TrimSpace(d.Find("h1").Text()); got != "Follow-up visit" {
				t.Errorf("heading %q, want the entry's name alone", got)
			}
		})
	}
}
