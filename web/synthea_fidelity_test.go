package web_test

// From a product and data-fidelity review against the shared Synthea
// bundles (../shared/fhir/synthea): each test reads a real patient's pages
// and checks them against what the bundle holds; each failed before its fix.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

const (
	rvLawerence = "Lawerence6_Baumbach677_ea8d2576-4a23-4906-c353-bfed5adb23bd.json" // fhir-data-pipes HIV set
	rvJosue     = "Josue_Sipes_7d27f180-98d6-456d-98c0-d91df32cd023.json"            // smart-on-fhir set
	rvEvelyn    = "Evelyn_McCullough_b3e8d121-f742-438c-92e3-02135e4543d5.json"      // smart-on-fhir set
)

// rvWorld imports the named Synthea bundles (with the HIV set's shared
// organisations and practitioners) and signs in as the person of the first.
func rvWorld(t *testing.T, names ...string) (*fixture, store.Person, *http.Cookie) {
	t.Helper()
	f := newFixture(t)
	ctx := context.Background()
	all := append([]string{"hospitalInformation1633536936158.json", "practitionerInformation1633536936158.json"}, names...)
	for _, name := range all {
		data, err := os.ReadFile(filepath.Join("..", "..", "shared", "fhir", "synthea", name))
		if err != nil {
			t.Fatalf("shared FHIR data missing beside the repository: %v", err)
		}
		res, err := fhir.ParseBundle(data)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.ImportResources(ctx, store.ImportOptions{Source: "synthea", OrgName: "Synthea Hospital",
			LinkSystems: []string{"https://github.com/synthetichealth/synthea"}, IndexNames: true}, name, res); err != nil {
			t.Fatal(err)
		}
	}
	family := strings.TrimRight(strings.Split(names[0], "_")[1], "0123456789")
	persons, err := f.db.Persons(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range persons {
		if strings.HasPrefix(p.Family, family) {
			h := fmt.Sprintf("rv-%d", p.ID) // Synthea people have no NHS number for f.signIn's handle
			acct, err := f.db.EnrolPasskey(ctx, p.ID, []byte(h), p.Name(), store.Passkey{CredentialID: []byte("cred-" + h), PublicKey: []byte("k")})
			if err != nil {
				t.Fatal(err)
			}
			id, _, err := f.db.CreateSession(ctx, acct.ID, store.DefaultSessionPolicy())
			if err != nil {
				t.Fatal(err)
			}
			return f, p, sessionCookie(t, id)
		}
	}
	t.Fatalf("no person %s", family)
	return nil, store.Person{}, nil
}

var rvSpace = regexp.MustCompile(`\s+`)

// rvMain is the text of a page's main content, one space between words.
func rvMain(t *testing.T, f *fixture, path string, ck *http.Cookie) string {
	t.Helper()
	resp := f.get(t, path, ck)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d", path, resp.StatusCode)
	}
	return rvSpace.ReplaceAllString(doc(t, resp).Find("main").Text(), " ")
}

// rvRow is the text of the first row of the results page whose text holds name.
func rvRow(t *testing.T, f *fixture, ck *http.Cookie, name string) string {
	t.Helper()
	var row string
	doc(t, f.get(t, "/record/results", ck)).Find("main tr").Each(func(_ int, tr *goquery.Selection) {
		if txt := rvSpace.ReplaceAllString(tr.Text(), " "); strings.Contains(txt, name) && row == "" {
			row = txt
		}
	})
	if row == "" {
		t.Fatalf("no row for %s", name)
	}
	return row
}

// rvLink is the address of the first link on path whose text holds words.
func rvLink(t *testing.T, f *fixture, path string, ck *http.Cookie, words string) string {
	t.Helper()
	var href string
	doc(t, f.get(t, path, ck)).Find("main a[href]").EachWithBreak(func(_ int, a *goquery.Selection) bool {
		if strings.Contains(rvSpace.ReplaceAllString(a.Text(), " "), words) {
			href, _ = a.Attr("href")
			return false
		}
		return true
	})
	if href == "" {
		t.Fatalf("%s has no link %q", path, words)
	}
	return href
}

// rvKeepOut has p keep a category out of sharing and returns a carer with
// every scope of p's record.
func rvKeepOut(t *testing.T, f *fixture, p store.Person, ck *http.Cookie, category string) carerSession {
	t.Helper()
	john := f.newCarer(t, "John Carer")
	f.grant(t, p, f.ownAccount(t, p), john, store.CarerScopes()...)
	form := url.Values{"csrf": {csrfOf(t, f, ck)}, "for": {"self"}, "answer": {"yes"}}
	if rec := f.post(t, "/choices/"+store.ConsentQuestionSlug(store.WithholdQuestion(category))+"/confirm", ck, form); rec.Code != http.StatusSeeOther {
		t.Fatalf("keeping %s out: %d", category, rec.Code)
	}
	return john
}

// TestCarerNeverReadsKeptOutContraceptionOrDrugProblems: The "Sexual health" question says it keeps out "contraception", but of
// RxNorm only the etonogestrel implant (389221) is listed: with it kept out,
// Jene_Cummings's carer reads her pills (Trinessa 751905, Yaz 748856, Ortho
// Tri-Cyclen 749785, Estrostep Fe 1359133) and contraceptive injection
// (medroxyprogesterone 1000126), and Alix_Reilly's her Mirena coil
// (807283), contraceptive patch (1534809) and Camila (748962). Likewise
// "Mental health" ("drug or alcohol problems"): Sherman_McGlynn's CarePlan
// 884961bc-… of counselling for substance abuse (SNOMED 313071005,
// 408935001, 408936000) reaches his carer.
func TestCarerNeverReadsKeptOutContraceptionOrDrugProblems(t *testing.T) {
	for _, tt := range []struct {
		bundle, category string
		never            []string
	}{
		{"Jene_Cummings_8a2bb726-2f79-4940-a134-a374eef39af7.json", store.CategorySexualHealth, []string{"Trinessa", "Yaz", "Ortho Tri-Cyclen", "Estrostep", "medroxyprogesterone"}},
		{"Alix_Reilly_b5598b1a-2e02-493b-86bf-d6446851fcf4.json", store.CategorySexualHealth, []string{"Mirena", "norelgestromin", "Camila", "Seasonique"}},
		{"Sherman_McGlynn_8ef2ef98-48c5-427e-80d4-5e8f30ac8bf5.json", store.CategoryMentalHealth, []string{"substance abuse"}},
	} {
		t.Run(strings.Split(tt.bundle, "_")[0], func(t *testing.T) {
			f, p, ck := rvWorld(t, tt.bundle)
			john := rvKeepOut(t, f, p, ck, tt.category)
			for _, path := range []string{"/record", "/record/medicines", "/record/care-plans", "/record/print"} {
				body := readAll(f.get(t, path, john.cookie))
				for _, w := range tt.never {
					if strings.Contains(body, w) {
						t.Errorf("%s shows the carer %q, with %s kept out of sharing", path, w, tt.category)
					}
				}
			}
		})
	}
}

// TestCarerNeverReadsHIVCareAsOpenMRSSendsIt: Lawerence6_Baumbach677 (HIV set): with "Sexual health" kept out of
// sharing, his carer still reads his HIV viral load (Observation
// ef6249f2-…), positive HIV rapid tests and antiretroviral regimen: the
// source codes them in http://loinc.org with codes no LOINC list holds
// ("856AAAA…"), and only listed codes are ever kept out.
func TestCarerNeverReadsHIVCareAsOpenMRSSendsIt(t *testing.T) {
	f, p, ck := rvWorld(t, rvLawerence)
	john := rvKeepOut(t, f, p, ck, store.CategorySexualHealth)
	for _, path := range []string{"/record", "/record/results", "/record/search?q=HIV", "/record/print"} {
		body := readAll(f.get(t, path, john.cookie))
		for _, w := range []string{"HIV viral load", "HIV rapid test", "ntiretroviral"} {
			if strings.Contains(body, w) {
				t.Errorf("%s shows the carer %q, with sexual health kept out of sharing", path, w)
			}
		}
	}
}

// TestLatestResultShowsEveryValueAtItsTime: The results page's "Latest result"/"Latest answer" is one of the
// values recorded at the latest time, the greatest as text
// (store/results.go queryTestItems: ORDER BY ri.date DESC, ri.value DESC):
// Lawerence6_Baumbach677 had seven "Current antiretroviral drugs used for
// treatment" answers on 4 January 2002 (Observations b31edbee-…, 7d839bf0-…,
// 829337aa-…, 8d0298c8-…, 89cc6a21-…, 1497963c-…, ee28aa14-…) and the page
// says only "Tenofovir"; Josue_Sipes had two calciums on 13 March 2021
// (d1704ec5-… 10.00 mg/dL, 7b4a32c7-… 8.852 mg/dL) and the page says only
// 8.852, as "8" sorts after "1".
func TestLatestResultShowsEveryValueAtItsTime(t *testing.T) {
	f, _, ck := rvWorld(t, rvLawerence)
	arv := rvRow(t, f, ck, "Current antiretroviral drugs used for treatment")
	for _, drug := range []string{"Didanosine", "Nevirapine", "Tenofovir", "Lamivudine / zidovudine"} {
		if !strings.Contains(arv, drug) {
			t.Errorf("latest answer (4 January 2002) leaves out %s: %q", drug, arv)
		}
	}
	f, _, ck = rvWorld(t, rvJosue)
	if calcium := rvRow(t, f, ck, "Test Calcium"); !strings.Contains(calcium, "10 mg") {
		t.Errorf("latest calcium (13 March 2021) leaves out 10 mg/dL: %q", calcium)
	}
}

// TestResultsPagesDropSNOMEDSemanticTags: Josue_Sipes: coded results carry SNOMED CT's kind of concept on the
// results list and each test's page: "Urine protein test = ++ (finding)"
// (Observation 35a75ec2-…), "Brown color (qualifier value)" (1e04ff68-…);
// the entry page and the printout take it off.
func TestResultsPagesDropSNOMEDSemanticTags(t *testing.T) {
	f, _, ck := rvWorld(t, rvJosue)
	for _, path := range []string{"/record/results", "/record/results/loinc-20454-5", "/record/results/loinc-5778-6", "/record/search?q=urine"} {
		body := rvMain(t, f, path, ck)
		for _, tag := range []string{"(finding)", "(qualifier value)"} {
			if strings.Contains(body, tag) {
				t.Errorf("%s shows %q", path, tag)
			}
		}
	}
}

// TestSearchFindsUKWordsInUSRecords: Search misses what a UK patient types: British spellings and the
// names the NHS uses for what the record holds in US words.
func TestSearchFindsUKWordsInUSRecords(t *testing.T) {
	for _, tt := range []struct{ bundle, q, want string }{
		{rvJosue, "anaemia", "Anemia"},                // Condition "Anemia (disorder)"
		{rvEvelyn, "hyperglycaemia", "Hyperglycemia"}, // Condition "Hyperglycemia (disorder)"
		{rvEvelyn, "paracetamol", "Paracetamol"},      // MedicationRequest a7bde06b-…, RxNorm 1049221: "Acetaminophen…", named so here (ukName)
		{rvJosue, "COPD", "Chronic obstructive"},      // CarePlan "Chronic obstructive pulmonary disease clinical management plan"
		{rvJosue, "flu", "Flu vaccine"},               // 11 Immunizations, CVX 140 "Influenza, seasonal…"; "flu" found only Fluticasone
		{rvJosue, "haematocrit", "Hematocrit"},        // LOINC 4544-3 "Hematocrit [Volume Fraction] of Blood by Automated count"
		{rvEvelyn, "B12", "Vitamin B 12"},             // MedicationRequest a96444d6-…
	} {
		t.Run(tt.q, func(t *testing.T) {
			f, _, ck := rvWorld(t, tt.bundle)
			if body := rvMain(t, f, "/record/search?q="+url.QueryEscape(tt.q), ck); !strings.Contains(body, tt.want) {
				t.Errorf("searching %q finds no %q: %.200s", tt.q, tt.want, body)
			}
		})
	}
}

// TestResultsListNamesEachTestApart: Josue_Sipes: the results list names two different tests alike four
// times over: LOINC 5770-3 "Bilirubin.total [Presence] in Urine by Test
// strip" and 20505-4 "Bilirubin.total [Mass/volume] in Urine by Test strip"
// are both "Bilirubin.total in Urine by Test strip"; so are glucose
// (25428-4, 5792-7), ketones (2514-8, 5797-6) and protein (20454-5, 5804-0).
func TestResultsListNamesEachTestApart(t *testing.T) {
	f, _, ck := rvWorld(t, rvJosue)
	seen := map[string]string{}
	doc(t, f.get(t, "/record/results", ck)).Find(`main a[href^="/record/results/"]`).Each(func(_ int, a *goquery.Selection) {
		name := strings.TrimSpace(rvSpace.ReplaceAllString(a.Text(), " "))
		href, _ := a.Attr("href")
		if other, ok := seen[name]; ok && other != href {
			t.Errorf("two tests named %q: %s and %s", name, other, href)
		}
		seen[name] = href
	})
}

// TestCarePlanLinksItsGoals: Evelyn_McCullough: CarePlan 1e711114-… (Diabetes self management plan)
// names five Goals ("Hemoglobin A1c total in Blood < 7.0", "Maintain blood
// pressure below 140/90 mmHg", …). No page shows them; the summary says
// only that 5 health goals "these pages cannot show yet".
func TestCarePlanLinksItsGoals(t *testing.T) {
	f, _, ck := rvWorld(t, rvEvelyn)
	plan := rvLink(t, f, "/record/care-plans", ck, "Diabetes self management plan")
	if body := rvMain(t, f, plan, ck); !strings.Contains(body, "140/90") || !strings.Contains(body, "7.0") {
		t.Errorf("the diabetes care plan does not show its goals: %.600s", body)
	}
}

// TestVisitLinksItsNoteAndVaccination: Lawerence6_Baumbach677: the visit of 9 April 2021 (Encounter
// 7fd90e7f-…) has a note (DocumentReference 6b143dcf-…, context.encounter)
// and a flu vaccination; the visit's page links neither (store/entry.go
// relates only conditions, procedures and medicines to a visit).
func TestVisitLinksItsNoteAndVaccination(t *testing.T) {
	f, _, ck := rvWorld(t, rvLawerence)
	visit := rvLink(t, f, "/record/encounters", ck, "9 April 2021")
	body := rvMain(t, f, visit, ck)
	for _, w := range []string{"History and physical note", "Flu vaccine"} {
		if !strings.Contains(body, w) {
			t.Errorf("the visit of 9 April 2021 does not link %q", w)
		}
	}
}

// TestConditionLinksWhatWasPrescribedForIt: Josue_Sipes: MedicationRequest a1190c62-… (Metformin) gives
// Condition 9440dbf4-… (Diabetes) as its reason, and the medicine's page
// links the diabetes; the diabetes page links nothing back (store/entry.go
// related follows only the entry's own references, and a visit's).
func TestConditionLinksWhatWasPrescribedForIt(t *testing.T) {
	f, _, ck := rvWorld(t, rvJosue)
	cond := rvLink(t, f, "/record/conditions", ck, "Diabetes, 21 March 1998")
	if body := rvMain(t, f, cond, ck); !strings.Contains(body, "Metformin") {
		t.Errorf("the diabetes page does not link the metformin prescribed for it: %.500s", body)
	}
}

// TestCompletedCarePlanSaysWhenItEnded: Evelyn_McCullough: CarePlan 48da4d3b-… (Respiratory therapy, completed)
// ran from 21 January to 26 April 1976; its page gives only the start.
func TestCompletedCarePlanSaysWhenItEnded(t *testing.T) {
	f, _, ck := rvWorld(t, rvEvelyn)
	plan := rvLink(t, f, "/record/care-plans", ck, "Respiratory therapy")
	if body := rvMain(t, f, plan, ck); !strings.Contains(body, "26 April 1976") {
		t.Errorf("the completed plan does not say it ended on 26 April 1976: %.400s", body)
	}
}

// TestUKNamesForMedicinesAndVaccines: US names a UK patient does not use: RxNorm's "Acetaminophen" for
// paracetamol (Evelyn, MedicationRequest a7bde06b-…) and CVX's "Influenza,
// seasonal, injectable, preservative free" for a flu vaccine (Josue,
// Immunization CVX 140).
func TestUKNamesForMedicinesAndVaccines(t *testing.T) {
	f, _, ck := rvWorld(t, rvEvelyn)
	if body := rvMain(t, f, "/record/medicines", ck); !strings.Contains(strings.ToLower(body), "paracetamol") {
		t.Errorf("medicines page never says paracetamol: %.300s", body)
	}
	f, _, ck = rvWorld(t, rvJosue)
	if body := rvMain(t, f, "/record/immunisations", ck); !strings.Contains(strings.ToLower(body), "flu vaccine") {
		t.Errorf("vaccinations page never says flu vaccine: %.300s", body)
	}
}

// TestNamesInNHSStyle: a person's title is written without a full stop, as
// NHS style has it ("Mr", not Synthea's "Mr."), and a clinician named in a
// record is named as a patient is, without Synthea's digits ("Dr Ivey
// Friesen", not "Dr. Ivey393 Friesen796"; a review of real records).
func TestNamesInNHSStyle(t *testing.T) {
	f, _, ck := rvWorld(t, rvLawerence)
	body := rvMain(t, f, "/record/encounters", ck)
	if strings.Contains(body, "Mr. ") || strings.Contains(body, "Dr. ") || !strings.Contains(body, "Mr Lawerence Baumbach") {
		t.Errorf("the visits page writes titles with a full stop, or not the person's name: %.300s", body)
	}
	if regexp.MustCompile(`Dr\.? \p{L}+[0-9]+`).MatchString(readAll(f.get(t, "/record/print", ck))) {
		t.Error("the printed record names a clinician with Synthea's digits")
	}
}
