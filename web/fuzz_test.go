package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// fuzzAddr gives each fuzz input its own client address, so the per-client
// rate limits (which the rate limit tests cover) do not turn every later input into a 429.
var fuzzAddr atomic.Uint32

func nextAddr() string {
	n := fuzzAddr.Add(1)
	return fmt.Sprintf("10.%d.%d.%d:40000", byte(n>>16), byte(n>>8), byte(n))
}

// checkNoInjection fails when a page carries markup that input could have
// smuggled in: a script that is not one of the portal's files, an event
// handler attribute, a javascript: link, or an element the portal never writes.
func checkNoInjection(t *testing.T, body string) {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	d.Find("script").Each(func(_ int, s *goquery.Selection) {
		if src, _ := s.Attr("src"); !strings.HasPrefix(src, "/static/") && !strings.HasPrefix(src, "/assets/") {
			t.Fatalf("page has a script from %q", src)
		}
	})
	d.Find("*").Each(func(_ int, s *goquery.Selection) {
		for _, a := range s.Nodes[0].Attr {
			if strings.HasPrefix(strings.ToLower(a.Key), "on") || strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Val)), "javascript:") {
				t.Fatalf("page has %s=%q on a <%s>", a.Key, a.Val, s.Nodes[0].Data)
			}
		}
	})
	if n := d.Find("iframe, object, embed, img, base, meta[http-equiv], style").Length(); n > 0 {
		t.Fatalf("page has %d elements the portal never writes", n)
	}
}

// FuzzEnrolForm submits the enrolment form, whose date of birth is read from
// three free-text boxes, with any values: the answer is the next page or the
// form again with its errors, never a server error or injected markup.
func FuzzEnrolForm(f *testing.F) {
	fx := newFixture(f)
	code, _, err := fx.db.CreateEnrolmentCode(context.Background(), fx.amir.ID, 3600e9)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(code, "1", "7", "1980")
	f.Add(code, "01", "07", "1980")
	f.Add(" "+strings.ToLower(code)+" ", "1", "7", "1980")
	f.Add("ABCD-EFGH-JKMN", "31", "2", "1957")
	f.Add("", "", "", "")
	f.Add("<script>alert(1)</script>", "29", "2", "2000")
	f.Add("x", "-0", "+7", "01980")
	f.Add("x", "1e1", "0x7", "１９８０") // fullwidth digits
	f.Add(strings.Repeat("A", 41), "99999999999999999999", "12", "2099")
	f.Add("\"><img src=x onerror=alert(1)>", "1", "1", "1900")
	for _, p := range syntheaPatients(f) {
		if len(p.BirthDate) == 10 {
			f.Add(p.ID, p.BirthDate[8:10], p.BirthDate[5:7], p.BirthDate[0:4])
		}
	}
	f.Fuzz(func(t *testing.T, code, day, month, year string) {
		c := newPasskeyBrowser(t, fx.handler)
		c.addr = nextAddr()
		c.page("/enrol")
		rec := c.form("/enrol", url.Values{"code": {code}, "day": {day}, "month": {month}, "year": {year}})
		switch rec.Code {
		case http.StatusSeeOther, http.StatusTooManyRequests:
		case http.StatusBadRequest:
			d, _ := goquery.NewDocumentFromReader(strings.NewReader(rec.Body.String()))
			if d.Find(".nhsuk-error-summary a").Length() == 0 {
				t.Fatalf("400 without an error summary: %s", rec.Body.String())
			}
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
		checkNoInjection(t, rec.Body.String())
	})
}

// FuzzRecordParams asks for a record page with any section, item id, result
// code, page number and search words in the address, signed in as a Synthea
// person: never a server error or injected markup.
func FuzzRecordParams(f *testing.F) {
	fx := newFixture(f)
	ctx := context.Background()
	bundle, err := os.ReadFile(filepath.Join("..", "..", "shared", "fhir", "synthea", "Cecelia952_Romaguera67_f1731e33-dc55-4ee8-72d7-cece2e49bedd.json"))
	if err != nil {
		f.Fatalf("shared FHIR data missing beside the repository: %v", err)
	}
	res, err := fhir.ParseBundle(bundle)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := fx.db.ImportResources(ctx, store.ImportOptions{Source: "synthea", OrgName: "Synthea", LinkSystems: []string{"https://github.com/synthetichealth/synthea"}}, "fuzz", res); err != nil {
		f.Fatal(err)
	}
	persons, err := fx.db.Persons(ctx)
	if err != nil {
		f.Fatal(err)
	}
	var cecelia store.Person
	for _, p := range persons {
		if p.ID != fx.jane.ID && p.ID != fx.amir.ID {
			cecelia = p
		}
	}
	cookie := fx.signIn(f, cecelia)
	seen := map[string]bool{}
	for _, r := range res {
		p := fhir.Prepare(r)
		for _, it := range p.Items {
			if seen[it.Section+it.Code] {
				continue
			}
			seen[it.Section+it.Code] = true
			words := append(strings.Fields(it.Display), "")
			f.Add(uint8(len(seen)), it.Section, "1", "loinc-"+it.Code, "1", words[0])
		}
	}
	for _, s := range []string{"", "..", "%2e%2e", "results", "RESULTS", "medicines\x00", "é"} {
		f.Add(uint8(len(s)), s, "0", "", "0", "")
	}
	f.Add(uint8(1), "conditions", "-1", "loinc-", "-1", "<b>")
	f.Add(uint8(2), "conditions", "99999999999999999999", "x-y-z", "100001", strings.Repeat("a ", 500))
	f.Add(uint8(4), "conditions", "1e3", "loinc-%", "2147483648", `"*" OR NEAR(a b)`)
	// Words with other spellings or names beside others (store searchVariants;
	// a review: "flu vaccine" was an FTS5 syntax error).
	for _, q := range []string{"flu vaccine", "leg oedema", "a&e copd b12", "anaemia test", "paracetamol 500", `influenza "jab`, "tumours AND colour OR"} {
		f.Add(uint8(5), "", "0", "", "1", q)
		f.Add(uint8(4), "immunisations", "0", "", "1", q)
	}
	f.Fuzz(func(t *testing.T, which uint8, section, id, code, page, q string) {
		paths := []string{
			"/record/" + url.PathEscape(section) + "?page=" + url.QueryEscape(page),
			"/record/item/" + url.PathEscape(id),
			"/record/item/" + url.PathEscape(id) + "/attachment/" + url.PathEscape(page),
			"/record/results/" + url.PathEscape(code),
			"/record/search?" + url.Values{"q": {q}, "section": {section}, "page": {page}}.Encode(),
			"/record/search?" + url.Values{"q": {q}}.Encode(),
		}
		// One page an input, so the fuzzer spends its time on varied inputs.
		path := paths[int(which)%len(paths)]
		resp := fx.get(t, path, cookie)
		if resp.StatusCode >= 500 {
			t.Fatalf("GET %s: status %d", path, resp.StatusCode)
		}
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			checkNoInjection(t, readAll(resp))
		}
	})
}

// FuzzPasskeyFinish sends any body to the two passkey endpoints that read an
// authenticator's response, each with a ceremony in flight, seeded with real
// responses from the software key: refused with a 4xx, never a server error.
func FuzzPasskeyFinish(f *testing.F) {
	fx := newFixture(f)
	k, _ := fx.enrolWithKey(f, fx.jane)
	enrolling := fx.enrolForm(f, fx.amir)

	signin := newPasskeyBrowser(f, fx.handler)
	signin.page("/signin")
	opts := signin.must(signin.json("/signin/begin", nil), http.StatusOK, "begin")
	f.Add(false, keyGet(f, k, opts))
	k.Flags = flagUP
	f.Add(false, keyGet(f, k, opts))
	k.Flags = flagUP | flagUV
	regOpts := enrolling.must(enrolling.json("/enrol/passkey/begin", nil), http.StatusOK, "enrol begin")
	f.Add(true, keyCreate(f, newSoftKey(f, "http://localhost:8080", "localhost"), regOpts))
	for _, s := range []string{``, `{}`, `null`, `[]`, `{"id":"","rawId":"","type":"public-key","response":{}}`,
		`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"","signature":"","userHandle":""}}`,
		`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","attestationObject":"oA"}}`} {
		f.Add(false, []byte(s))
		f.Add(true, []byte(s))
	}
	f.Fuzz(func(t *testing.T, enrol bool, body []byte) {
		var c *passkeyBrowser
		var path string
		if enrol {
			b := *enrolling
			c, path = &b, "/enrol/passkey/finish"
			c.t = t
			c.addr = nextAddr()
			c.must(c.json("/enrol/passkey/begin", nil), http.StatusOK, "enrol begin")
		} else {
			c, path = newPasskeyBrowser(t, fx.handler), "/signin/finish"
			c.addr = nextAddr()
			c.page("/signin")
			c.must(c.json("/signin/begin", nil), http.StatusOK, "begin")
		}
		rec := c.do(http.MethodPost, path, "application/json", body)
		if rec.Code >= 500 || rec.Code == http.StatusOK {
			t.Fatalf("%s: status %d: %s", path, rec.Code, rec.Body.String())
		}
		var answer struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil || answer.Error == "" {
			t.Fatalf("%s: %d answer is not a JSON error: %q", path, rec.Code, rec.Body.String())
		}
	})
}

func readAll(resp *http.Response) string {
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

// syntheaPatients reads the Patients of a few shared Synthea bundles, for
// realistic names, ids and dates of birth.
func syntheaPatients(f *testing.F) []fhir.PatientInfo {
	names, err := filepath.Glob(filepath.Join("..", "..", "shared", "fhir", "synthea", "*.json"))
	if err != nil || len(names) == 0 {
		f.Fatalf("shared FHIR data missing beside the repository: %v", err)
	}
	var out []fhir.PatientInfo
	for _, name := range names[:min(8, len(names))] {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		res, err := fhir.ParseBundle(data)
		if err != nil {
			f.Fatal(err)
		}
		for _, r := range res {
			if r.Type == "Patient" {
				if p, err := fhir.ParsePatient(r.Raw); err == nil {
					out = append(out, p)
				}
			}
		}
	}
	return out
}

// TestDownloadWithNullMeta: a source may send "meta": null. Found by
// FuzzProject: writing such a resource into a download panicked.
func TestDownloadWithNullMeta(t *testing.T) {
	f := newFixture(t)
	raw := `{"resourceType":"Condition","id":"c-null-meta","meta":null,"subject":{"reference":"Patient/jane"},"code":{"text":"Asthma"}}`
	if _, err := f.db.ImportResources(context.Background(), store.ImportOptions{Source: "gp"}, "test", []fhir.Resource{{Type: "Condition", ID: "c-null-meta", Raw: []byte(raw)}}); err != nil {
		t.Fatal(err)
	}
	resp := f.get(t, "/record/download", f.signIn(t, f.jane))
	body := readAll(resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "c-null-meta") {
		t.Fatalf("download: %d, has the resource: %v", resp.StatusCode, strings.Contains(body, "c-null-meta"))
	}
}
