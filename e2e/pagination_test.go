package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// importMore gives Jane, from an organisation of its own, immunisations
// enough to take her 17 past a page of the record's (25), and reports of
// looks at her record enough to fill more than a page of her access log.
func importMore(t *testing.T, p *portal, immunisations, looks int) {
	t.Helper()
	entries := []string{`{"resource":{"resourceType":"Patient","id":"px-jane","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"name":[{"family":"Example","given":["Jane"]}]}}`}
	for i := range immunisations {
		entries = append(entries, fmt.Sprintf(`{"resource":{"resourceType":"Immunization","id":"px-imm-%d","status":"completed",
"vaccineCode":{"coding":[{"system":"http://snomed.info/sct","code":"1181000221105","display":"Influenza vaccine"}],"text":"Influenza vaccine"},
"patient":{"reference":"Patient/px-jane"},"occurrenceDateTime":"%d-10-%02d"}}`, i, 2000+i, 1+i))
	}
	for i := range looks {
		entries = append(entries, fmt.Sprintf(`{"resource":{"resourceType":"AuditEvent","id":"px-ae-%d","type":{"system":"http://terminology.hl7.org/CodeSystem/audit-event-type","code":"rest"},
"subtype":[{"system":"http://hl7.org/fhir/restful-interaction","code":"read"}],"action":"R","recorded":"2026-02-%02dT09:%02d:00Z","outcome":"0",
"agent":[{"who":{"reference":"Practitioner/px1","display":"Dr B Patel"},"requestor":true}],
"source":{"observer":{"reference":"Organization/px","display":"Pennine Community Care"}},
"entity":[{"what":{"reference":"Patient/px-jane"}}]}}`, i, 1+i%28, i))
	}
	bundle := `{"resourceType":"Bundle","type":"collection","entry":[` + strings.Join(entries, ",\n") + `]}`
	file := filepath.Join(t.TempDir(), "more.json")
	if err := os.WriteFile(file, []byte(bundle), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := portalCmd(t, "import", "--db", p.DB, "--source", "px", "--org", "Pennine Community Care", file); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
}

// TestPagination pages, by keyboard, through each list that has pages, with
// axe on every page of it: a section of the record (25 a page), one
// section's search matches (20 a page) and the access log (25 a page).
func TestPagination(t *testing.T) {
	p, tb, _ := signedIn(t)
	importMore(t, p, 10, 30)

	// pageThrough opens the list's first page and presses Next until the last,
	// checking each page's links and how it reads.
	pageThrough := func(first string, pages int) {
		t.Helper()
		path := strings.SplitN(first, "?", 2)[0]
		resp := tb.navigate(p.BaseURL + first)
		status := resp.Status
		for page := 1; ; page++ {
			wantOn(tb, path, status)
			prev, next := tb.nodeCount(`nav.nhsuk-pagination a[rel="prev"]`), tb.nodeCount(`nav.nhsuk-pagination a[rel="next"]`)
			if want := min(page-1, 1); prev != want {
				t.Errorf("%s page %d has %d links to the previous page, want %d", path, page, prev, want)
			}
			if want := min(pages-page, 1); next != want {
				t.Errorf("%s page %d has %d links to the next page, want %d", path, page, next, want)
			}
			if got := eval[string](tb, `[...document.querySelectorAll('nav.nhsuk-pagination a')].map(a => a.innerText.replace(/\s+/g, ' ').trim()).join(' | ')`); !strings.Contains(got, fmt.Sprintf("of %d", pages)) {
				t.Errorf("%s page %d: pagination reads %q, want it to say of %d", path, page, got, pages)
			}
			tb.checkPage()
			if next == 0 || page == pages {
				break
			}
			status = tb.press("next page", `nav.nhsuk-pagination a[rel="next"]`)
		}
	}
	pageThrough("/record/immunisations", 2)
	pageThrough("/record/search?q=blood&section=results", 3)
	pageThrough("/record/access-log", 2)
}
