package e2e

import (
	"database/sql"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEmptyRecordAndServiceError has axe check two states a person can meet
// that no other browser test shows: parts of a record with nothing in them
// (Chloe Taylor, the demo person with almost no data: her summary, her
// allergies and her test results), her summary and print view once a
// hospital's record says she has died, and the service's own error page, which
// the portal shows with a 500 when a page fails inside. The failure is a real
// one: a table the access log page reads is renamed under the running
// portal, as a bad upgrade or a damaged file would leave it, and then put
// back.
func TestEmptyRecordAndServiceError(t *testing.T) {
	p := startPortal(t)
	chloe := p.Invites[len(p.Invites)-1]
	if !strings.Contains(chloe.Name, "Chloe") {
		t.Fatalf("last demo person is %q, want Chloe Taylor, who has almost no data", chloe.Name)
	}
	tb, _ := enrolledTab(t, p, chloe)

	// The summary, with its empty parts.
	checkRecordPage(tb, "Chloe")
	tb.checkPage()

	// A section with no entries, and the results, which have a page of their own.
	for _, path := range []string{"/record/allergies", "/record/results"} {
		resp := tb.navigate(p.BaseURL + path)
		wantPage(tb, path, resp.Status)
		if n := tb.nodeCount("main table"); n != 0 {
			t.Fatalf("%s has %d tables: Chloe's demo record was meant to have nothing here, so this is no empty page", path, n)
		}
		if n := tb.nodeCount("main .nhsuk-inset-text"); n == 0 {
			t.Errorf("%s does not say that nothing is recorded: %.400s", path, tb.text())
		}
		tb.checkPage()
	}

	// The record saying she has died, from a hospital's Patient: the summary
	// says so in an inset, and its card and the print view's give the date;
	// axe checks both.
	died := `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"died-chloe",
"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765935"}],"name":[{"family":"Taylor","given":["Chloe"]}],
"birthDate":"1995-07-30","deceasedDateTime":"2026-03-04T10:00:00Z"}}]}`
	file := filepath.Join(t.TempDir(), "died.json")
	if err := os.WriteFile(file, []byte(died), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := portalCmd(t, "import", "--db", p.DB, "--source", "died", "--org", "Pennine Hospital", file); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	for _, path := range []string{"/record", "/record/print"} {
		resp := tb.navigate(p.BaseURL + path)
		wantOn(tb, path, resp.Status)
		death := eval[string](tb, `[...document.querySelectorAll('main .nhsuk-summary-list__row')].filter(r => r.innerText.startsWith('Date of death')).map(r => r.querySelector('dd').innerText).join(' | ')`)
		if death != "4 March 2026" {
			t.Errorf("%s gives Chloe's date of death as %q, want 4 March 2026", path, death)
		}
		inset := eval[string](tb, `[...document.querySelectorAll('main .nhsuk-inset-text')].map(e => e.innerText).join(' | ')`)
		if path == "/record" && !strings.Contains(inset, "The record says Ms Chloe Taylor died on 4 March 2026.") {
			t.Errorf("%s does not say the record says Chloe died on 4 March 2026; its insets read %q", path, inset)
		}
		tb.checkPage()
	}

	// The service's error page.
	db, err := sql.Open("sqlite3", "file:"+p.DB+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`ALTER TABLE upstream_accesses RENAME TO upstream_accesses_away`); err != nil {
		t.Fatalf("take away a table the access log page reads: %v", err)
	}
	tb.allow("the server responded with a status of 500")
	resp := tb.navigate(p.BaseURL + "/record/access-log")
	if resp.Status != http.StatusInternalServerError {
		t.Errorf("/record/access-log with a table missing answered %d, want 500 (page says: %.300s)", resp.Status, tb.text())
	}
	if h1 := eval[string](tb, `document.querySelector('h1')?.innerText ?? ''`); h1 != "Sorry, there is a problem with the service" {
		t.Errorf("the error page's heading is %q", h1)
	}
	if text := tb.text(); strings.Contains(text, "upstream_accesses") || strings.Contains(text, "no such table") {
		t.Errorf("the error page shows the portal's internals: %.400s", text)
	}
	tb.checkPage()
	if _, err := db.Exec(`ALTER TABLE upstream_accesses_away RENAME TO upstream_accesses`); err != nil {
		t.Fatalf("put the table back: %v", err)
	}
	resp = tb.navigate(p.BaseURL + "/record/access-log")
	wantPage(tb, "/record/access-log", resp.Status)
	tb.checkConsole("access log once the table is back")
}
