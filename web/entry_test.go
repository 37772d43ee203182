package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
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
