package e2e

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocumentsNeverRunScript gives Jane a document that is a web page with a
// script in it, as an upstream system might, and checks the portal offers it
// only as a sandboxed download: the script never runs in the portal's origin.
// A second document, recorded in error, has its page's warning checked, with axe.
func TestDocumentsNeverRunScript(t *testing.T) {
	p, tb, _ := signedIn(t)
	html := `<html><body><h1>Clinic letter</h1><script>document.title = "script ran"; window.parent.scriptRan = true;</script></body></html>`
	bundle := fmt.Sprintf(`{"resourceType":"Bundle","type":"collection","entry":[
{"resource":{"resourceType":"Patient","id":"lab-jane","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"name":[{"family":"Example","given":["Jane"]}]}},
{"resource":{"resourceType":"DocumentReference","id":"lab-letter","status":"current","type":{"text":"Web page letter"},"subject":{"reference":"Patient/lab-jane"},"date":"2026-11-20T10:00:00Z",
"content":[{"attachment":{"contentType":"text/html","title":"Letter from the lab","data":%q}}]}},
{"resource":{"resourceType":"DocumentReference","id":"lab-wrong","status":"entered-in-error","type":{"text":"Misfiled result letter"},"subject":{"reference":"Patient/lab-jane"},"date":"2026-11-21T10:00:00Z",
"content":[{"attachment":{"contentType":"text/plain","title":"Result letter","data":%q}}]}}]}`,
		base64.StdEncoding.EncodeToString([]byte(html)), base64.StdEncoding.EncodeToString([]byte("Your results are normal.")))
	file := filepath.Join(t.TempDir(), "lab.json")
	if err := os.WriteFile(file, []byte(bundle), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := portalCmd(t, "import", "--db", p.DB, "--source", "lab", "--org", "Leeds Pathology", file); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}

	resp := tb.navigate(p.BaseURL + "/record/documents")
	wantPage(tb, "/record/documents", resp.Status)
	tb.checkPage()
	href := eval[string](tb, `[...document.querySelectorAll('main a')].find(a => a.textContent.includes('Web page letter'))?.getAttribute('href') ?? ''`)
	if !strings.HasPrefix(href, "/record/item/") {
		t.Fatalf("the documents page has no link to the new letter (got %q)", href)
	}
	resp = tb.navigate(p.BaseURL + href)
	wantPage(tb, href, resp.Status)
	tb.checkPage()
	download := eval[string](tb, `document.querySelector('a[download]')?.getAttribute('href') ?? ''`)
	if download == "" {
		t.Fatal("the letter's page offers no download")
	}
	type headers struct {
		Status                       int
		Type, Disposition, CSP, Body string
	}
	h := evalAsync[headers](tb, `fetch(`+jsString(download)+`).then(async r => ({Status: r.status, Type: r.headers.get('content-type') || '',
		Disposition: r.headers.get('content-disposition') || '', CSP: r.headers.get('content-security-policy') || '', Body: await r.text()}))`)
	if h.Status != 200 || !strings.HasPrefix(h.Disposition, "attachment") || !strings.Contains(h.CSP, "sandbox") || strings.HasPrefix(h.Type, "text/html") {
		t.Errorf("the HTML document is served as %+v; want an attachment, sandboxed, not text/html", h)
	}
	if !strings.Contains(h.Body, "<script>") {
		t.Errorf("the download is not the document as sent: %.200s", h.Body)
	}
	if title := eval[string](tb, `document.title`); strings.Contains(title, "script ran") || eval[bool](tb, `window.scriptRan === true`) {
		t.Error("the document's script ran in the portal's page")
	}

	// A document the lab says was recorded in error: its page warns, in the
	// NHS warning callout, and passes axe as every page does.
	resp = tb.navigate(p.BaseURL + "/record/documents")
	wantPage(tb, "/record/documents", resp.Status)
	href = eval[string](tb, `[...document.querySelectorAll('main a')].find(a => a.textContent.includes('Misfiled result letter'))?.getAttribute('href') ?? ''`)
	if !strings.HasPrefix(href, "/record/item/") {
		t.Fatalf("the documents page has no link to the letter recorded in error (got %q)", href)
	}
	resp = tb.navigate(p.BaseURL + href)
	wantPage(tb, href, resp.Status)
	tb.checkPage()
	// Among the page's warnings: a source not yet synced has one of its own.
	if warning := eval[string](tb, `[...document.querySelectorAll('main .nhsuk-warning-callout')].map(e => e.textContent).join(' | ')`); !strings.Contains(warning, "This document was recorded in error") {
		t.Errorf("the page of a document recorded in error does not warn: %q", warning)
	}
}
