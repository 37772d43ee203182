package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// consentFixture is a database holding one person, Jane, at an upstream FHIR
// server source (so decisions queue deliveries), with a few coded entries.
type consentFixture struct {
	db   *store.DB
	path string
	jane store.Person
	gp   store.Source
}

func res(typ, id, body string) fhir.Resource {
	return fhir.Resource{Type: typ, ID: id, Raw: []byte(`{"resourceType":"` + typ + `","id":"` + id + `",` + body + `}`)}
}

func condition(id, system, code, display string) fhir.Resource {
	return res("Condition", id, `"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},`+
		`"code":{"coding":[{"system":"`+system+`","code":"`+code+`","display":"`+display+`"}],"text":"`+display+`"},"subject":{"reference":"Patient/jane"},"onsetDateTime":"2024-0`+id[len(id)-1:]+`-01"`)
}

func newConsentFixture(t *testing.T) *consentFixture {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "portal.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	gp, err := db.AddSource(ctx, store.Source{Name: "gp", OrgName: "Meanwood Group Practice", BaseURL: "http://127.0.0.1:1/fhir"})
	if err != nil {
		t.Fatal(err)
	}
	resources := []fhir.Resource{
		res("Patient", "jane", `"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"name":[{"given":["Jane"],"family":"Example"}],"birthDate":"1957-03-14"`),
		condition("c1", "http://snomed.info/sct", "44054006", "Diabetes mellitus type 2"),
		condition("c2", "http://snomed.info/sct", "370143000", "Major depression disorder"),
		condition("c3", "http://hl7.org/fhir/sid/icd-10", "F41.1", "Generalized anxiety disorder"),
		condition("c4", "http://snomed.info/sct", "86406008", "Human immunodeficiency virus infection"),
		condition("c5", "http://snomed.info/sct", "195662009", "Acute viral pharyngitis"),
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp", OrgName: "Meanwood Group Practice"}, "test", resources); err != nil {
		t.Fatal(err)
	}
	jane, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	return &consentFixture{db: db, path: path, jane: jane, gp: gp}
}

var janeHerself = store.Performer{AccountID: 1, Name: "Jane Example"}

func TestConsentDefaultsAndHistory(t *testing.T) {
	ctx := context.Background()
	f := newConsentFixture(t)
	ch, err := f.db.ConsentChoices(ctx, f.jane.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ch.State, store.DefaultConsentState(); got.DirectCare != want.DirectCare || got.Research != want.Research || got.Planning != want.Planning || len(got.Withheld) != 0 {
		t.Fatalf("starting state %+v, want the default %+v", got, want)
	}
	if ch.Origins[store.QuestionResearch].Kind != store.OriginDefault || ch.Latest != nil {
		t.Fatalf("origins %+v, latest %v", ch.Origins, ch.Latest)
	}

	mary := store.Performer{AccountID: 2, Name: "Mary Smith", Carer: true, Relationship: "daughter"}
	changes := []struct {
		by store.Performer
		ch store.ConsentChange
	}{
		{janeHerself, store.ConsentChange{Question: store.QuestionResearch, Answer: "no"}},
		{mary, store.ConsentChange{Question: store.WithholdQuestion(store.CategoryMentalHealth), Answer: "yes"}},
		{janeHerself, store.ConsentChange{Question: store.QuestionResearch, Answer: "yes"}},
		{janeHerself, store.ConsentChange{Question: store.QuestionPlanning, Answer: "no"}},
	}
	for _, c := range changes {
		if _, err := f.db.ChangeConsent(ctx, f.jane.ID, c.by, c.ch, store.ChoiceLogged(1)); err != nil {
			t.Fatal(err)
		}
	}
	ch, err = f.db.ConsentChoices(ctx, f.jane.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := store.ConsentState{DirectCare: true, Research: true, Planning: false, Withheld: []string{store.CategoryMentalHealth}}
	if got := ch.State; got.DirectCare != want.DirectCare || got.Research != want.Research || got.Planning != want.Planning || strings.Join(got.Withheld, ",") != "mental-health" {
		t.Fatalf("state %+v, want %+v", got, want)
	}
	if o := ch.Origins[store.WithholdQuestion(store.CategoryMentalHealth)]; o.Kind != store.OriginDecision || o.Decision.Performer.Describe() != "Mary Smith (daughter), acting for you" {
		t.Fatalf("mental health origin %+v", o)
	}
	if ch.Latest == nil || ch.Latest.Question != store.QuestionPlanning || len(ch.Latest.Deliveries) != 1 || ch.Latest.Deliveries[0].Status != store.DeliveryWaiting {
		t.Fatalf("latest %+v", ch.Latest)
	}

	hist, err := f.db.ConsentHistory(ctx, f.jane.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != len(changes) {
		t.Fatalf("history holds %d decisions, want %d", len(hist), len(changes))
	}
	for i, d := range hist { // newest first
		c := changes[len(changes)-1-i]
		if d.Question != c.ch.Question || d.Answer != c.ch.Answer || d.Performer != c.by || len(d.Deliveries) != 1 || !strings.HasPrefix(d.Identifier, "urn:uuid:") {
			t.Errorf("history[%d] = %s=%s by %+v (%d deliveries), want %s=%s by %+v", i, d.Question, d.Answer, d.Performer, len(d.Deliveries), c.ch.Question, c.ch.Answer, c.by)
		}
	}
	// Each decision's state is the one before it with its one change made.
	if hist[3].State.Research || hist[3].State.Withholds(store.CategoryMentalHealth) || hist[2].State.Research || !hist[2].State.Withholds(store.CategoryMentalHealth) {
		t.Errorf("intermediate states wrong: %+v / %+v", hist[3].State, hist[2].State)
	}

	t.Run("append only", func(t *testing.T) {
		raw, err := sql.Open("sqlite3", "file:"+f.path+"?_busy_timeout=5000")
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		for _, q := range []string{
			`UPDATE consent_decisions SET answer = 'yes' WHERE question = 'planning'`,
			`DELETE FROM consent_decisions`,
			`DELETE FROM consent_outbox`,
		} {
			if _, err := raw.Exec(q); err == nil || !strings.Contains(err.Error(), "never") {
				t.Errorf("%s: err %v, want it refused", q, err)
			}
		}
		again, err := f.db.ConsentHistory(ctx, f.jane.ID)
		if err != nil || len(again) != len(hist) || again[0].Answer != "no" {
			t.Fatalf("history changed: %v %+v", err, again)
		}
	})

	t.Run("invalid changes are refused", func(t *testing.T) {
		for _, c := range []store.ConsentChange{
			{Question: "share-with-everyone", Answer: "yes"},
			{Question: store.QuestionResearch, Answer: "maybe"},
			{Question: store.WithholdQuestion("astrology"), Answer: "yes"},
			{Question: store.WithholdItemQuestion("no-such-entry"), Answer: "yes"},
		} {
			if _, err := f.db.ChangeConsent(ctx, f.jane.ID, janeHerself, c, store.ChoiceLogged(1)); store.ErrorCode(err) != store.EINVALID && store.ErrorCode(err) != store.ENOTFOUND {
				t.Errorf("%+v: err %v", c, err)
			}
		}
	})
}

// TestConcurrentConsentChanges makes many changes to different questions at
// once, on one real SQLite file: every change survives in the final state and
// in the history.
func TestConcurrentConsentChanges(t *testing.T) {
	ctx := context.Background()
	f := newConsentFixture(t)
	// A second connection pool to the same file, as a second process would have.
	other, err := store.Open(ctx, f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	changes := []store.ConsentChange{
		{Question: store.QuestionDirectCare, Answer: "no"},
		{Question: store.QuestionResearch, Answer: "no"},
		{Question: store.QuestionPlanning, Answer: "no"},
		{Question: store.WithholdQuestion(store.CategoryMentalHealth), Answer: "yes"},
		{Question: store.WithholdQuestion(store.CategorySexualHealth), Answer: "yes"},
		{Question: store.WithholdQuestion(store.CategorySocialCare), Answer: "yes"},
	}
	sec, err := f.db.RecordSection(ctx, f.jane.ID, fhir.SectionConditions, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range sec.Items {
		changes = append(changes, store.ConsentChange{Question: store.WithholdItemQuestion(store.ItemKey(it)), Answer: "yes"})
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, len(changes))
	for i, c := range changes {
		db := f.db
		if i%2 == 1 {
			db = other
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := db.ChangeConsent(ctx, f.jane.ID, janeHerself, c, store.ChoiceLogged(1))
			errs <- err
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	ch, err := f.db.ConsentChoices(ctx, f.jane.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		if got := ch.State.Answer(c.Question); got != c.Answer {
			t.Errorf("%s = %s after all changes, want %s: a concurrent change was lost", c.Question, got, c.Answer)
		}
	}
	hist, err := f.db.ConsentHistory(ctx, f.jane.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != len(changes) {
		t.Fatalf("history holds %d decisions, want %d", len(hist), len(changes))
	}
	// Each decision's state holds exactly the changes made up to it.
	for i := range hist {
		d := hist[len(hist)-1-i]
		n := 0
		for _, c := range changes {
			if d.State.Answer(c.Question) == c.Answer {
				n++
			}
		}
		if n != i+1 {
			t.Errorf("decision %d holds %d changes, want %d", i+1, n, i+1)
		}
	}
	counts, err := f.db.ConsentOutboxCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts[store.DeliveryWaiting] != len(changes) {
		t.Errorf("outbox %v, want %d waiting (one per decision and source)", counts, len(changes))
	}
}

// TestWithheldFilter checks what a carer's reads leave out for each choice,
// and that the person's own reads show everything, labelled.
func TestWithheldFilter(t *testing.T) {
	ctx := context.Background()
	all := []string{"Acute viral pharyngitis", "Diabetes mellitus type 2", "Generalized anxiety disorder", "Human immunodeficiency virus infection", "Major depression disorder"}
	tests := []struct {
		name      string
		changes   []store.ConsentChange
		carerSees []string
	}{
		{"nothing withheld", nil, all},
		{"mental health", []store.ConsentChange{{Question: store.WithholdQuestion(store.CategoryMentalHealth), Answer: "yes"}},
			[]string{"Acute viral pharyngitis", "Diabetes mellitus type 2", "Human immunodeficiency virus infection"}},
		{"sexual health", []store.ConsentChange{{Question: store.WithholdQuestion(store.CategorySexualHealth), Answer: "yes"}},
			[]string{"Acute viral pharyngitis", "Diabetes mellitus type 2", "Generalized anxiety disorder", "Major depression disorder"}},
		{"social care, where nothing is social care", []store.ConsentChange{{Question: store.WithholdQuestion(store.CategorySocialCare), Answer: "yes"}},
			[]string{"Acute viral pharyngitis", "Diabetes mellitus type 2", "Generalized anxiety disorder", "Human immunodeficiency virus infection", "Major depression disorder"}},
		{"one item", []store.ConsentChange{{Question: "item:Diabetes mellitus type 2", Answer: "yes"}},
			[]string{"Acute viral pharyngitis", "Generalized anxiety disorder", "Human immunodeficiency virus infection", "Major depression disorder"}},
		{"withheld then shared again", []store.ConsentChange{
			{Question: store.WithholdQuestion(store.CategoryMentalHealth), Answer: "yes"},
			{Question: store.WithholdQuestion(store.CategoryMentalHealth), Answer: "no"},
		}, all},
		{"everything", []store.ConsentChange{
			{Question: store.WithholdQuestion(store.CategoryMentalHealth), Answer: "yes"},
			{Question: store.WithholdQuestion(store.CategorySexualHealth), Answer: "yes"},
			{Question: "item:Acute viral pharyngitis", Answer: "yes"},
		}, []string{"Diabetes mellitus type 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newConsentFixture(t)
			own, err := f.db.RecordSection(ctx, f.jane.ID, fhir.SectionConditions, 1, 100)
			if err != nil {
				t.Fatal(err)
			}
			byName := map[string]store.RecordItem{}
			for _, it := range own.Items {
				byName[it.Display] = it
			}
			for _, c := range tt.changes {
				if name, ok := strings.CutPrefix(c.Question, "item:"); ok {
					c.Question = store.WithholdItemQuestion(store.ItemKey(byName[name]))
				}
				if _, err := f.db.ChangeConsent(ctx, f.jane.ID, janeHerself, c, store.ChoiceLogged(1)); err != nil {
					t.Fatal(err)
				}
			}
			carer := store.ForCarer(ctx)
			sec, err := f.db.RecordSection(carer, f.jane.ID, fhir.SectionConditions, 1, 100)
			if err != nil {
				t.Fatal(err)
			}
			if got := displays(sec.Items); strings.Join(got, "|") != strings.Join(tt.carerSees, "|") || sec.Total != len(tt.carerSees) {
				t.Errorf("carer's conditions page: %v (total %d), want %v", got, sec.Total, tt.carerSees)
			}
			sum, err := f.db.RecordSummary(carer, f.jane.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got := displays(sum.Conditions); strings.Join(got, "|") != strings.Join(tt.carerSees, "|") || sum.Counts[fhir.SectionConditions] != len(tt.carerSees) {
				t.Errorf("carer's summary: %v (count %d), want %v", got, sum.Counts[fhir.SectionConditions], tt.carerSees)
			}
			seen := map[string]bool{}
			for _, s := range tt.carerSees {
				seen[s] = true
			}
			for name, it := range byName {
				_, err := f.db.RecordEntry(carer, f.jane.ID, it.ID)
				if seen[name] && err != nil {
					t.Errorf("carer cannot open %s: %v", name, err)
				}
				if !seen[name] && store.ErrorCode(err) != store.ENOTFOUND {
					t.Errorf("carer opens withheld %s: err %v", name, err)
				}
				// The person sees everything, the withheld entries labelled.
				e, err := f.db.RecordEntry(ctx, f.jane.ID, it.ID)
				if err != nil {
					t.Fatal(err)
				}
				if e.Item.Withheld == seen[name] {
					t.Errorf("%s: Withheld = %v on the person's own page", name, e.Item.Withheld)
				}
			}
			own, err = f.db.RecordSection(ctx, f.jane.ID, fhir.SectionConditions, 1, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(own.Items) != len(all) {
				t.Errorf("the person's own page shows %d conditions, want %d", len(own.Items), len(all))
			}
			for _, it := range own.Items {
				if it.Withheld == seen[it.Display] {
					t.Errorf("%s: labelled withheld = %v", it.Display, it.Withheld)
				}
			}
		})
	}

	t.Run("social care service", func(t *testing.T) {
		f := newConsentFixture(t)
		if err := f.db.SetSourceSocialCare(ctx, "gp", true); err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.ChangeConsent(ctx, f.jane.ID, janeHerself, store.ConsentChange{Question: store.WithholdQuestion(store.CategorySocialCare), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
			t.Fatal(err)
		}
		sec, err := f.db.RecordSection(store.ForCarer(ctx), f.jane.ID, fhir.SectionConditions, 1, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(sec.Items) != 0 {
			t.Errorf("carer sees %v from a social care service kept out of sharing", displays(sec.Items))
		}
	})
}

func displays(items []store.RecordItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Display)
	}
	sort.Strings(out)
	return out
}

// TestSensitiveCategoriesOnRealData classifies the entries of Synthea patients
// and checks the categories against the codes' own names: only listed codes count.
func TestSensitiveCategoriesOnRealData(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	for _, name := range []string{"Alexia_Rice_a39449f8-f68c-4fc7-a481-1d0720c45fd8.json", "Monserrate_Mayert_0883b933-72d2-4f78-b06e-1b8646c8183c.json"} {
		f, err := fhirsync.ReadFile(filepath.Join(syntheaDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "synthea", OrgName: "Synthea Hospital"}, f.Path, f.Resources); err != nil {
			t.Fatal(err)
		}
	}
	ps, err := db.Persons(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]map[string]bool{}
	total := 0
	for _, p := range ps {
		for _, sec := range fhir.Sections() {
			sp, err := db.RecordSection(ctx, p.ID, sec.Slug, 1, 100000)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range sp.Items {
				total++
				cats, err := db.SensitiveCategoriesOf(ctx, p.ID, it.ID)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range cats {
					if found[c] == nil {
						found[c] = map[string]bool{}
					}
					found[c][it.Display] = true
				}
			}
		}
	}
	words := map[string][]string{
		store.CategoryMentalHealth: {"depress", "psych", "mental", "drug", "alcohol", "opioid", "anxiety", "fluoxetine", "phq", "gad"},
		store.CategorySexualHealth: {"gonorrhea", "syphilis", "chlamydia", "contracept", "tubal", "pregnancy", "immunodeficiency", "etonogestrel",
			"intrauterine", "vaginal ring", "norelgestromin", "medroxyprogesterone", "28 day pack", "91 day pack"}, // contraceptives (migration 0078)
	}
	for cat, names := range found {
		for name := range names {
			ok := false
			for _, w := range words[cat] {
				if strings.Contains(strings.ToLower(name), w) {
					ok = true
				}
			}
			if !ok {
				t.Errorf("%q classed as %s", name, cat)
			}
		}
	}
	if len(found[store.CategoryMentalHealth]) == 0 || len(found[store.CategorySexualHealth]) == 0 {
		t.Fatalf("found %v among %d entries; want both mental and sexual health entries in these patients", found, total)
	}
	t.Logf("of %d entries: %d kinds of mental health entry, %d of sexual health", total, len(found[store.CategoryMentalHealth]), len(found[store.CategorySexualHealth]))
}

// TestUpstreamConsentIsTheStartingState reads a Consent a source holds (as
// the GP would record it) as the starting state, with its source.
func TestUpstreamConsentIsTheStartingState(t *testing.T) {
	ctx := context.Background()
	f := newConsentFixture(t)
	gpConsent := res("Consent", "gp-consent-1", `"status":"active",
"scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},
"category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],
"patient":{"reference":"Patient/jane"},"dateTime":"2025-06-01T09:00:00Z",
"policy":[{"uri":"https://www.nhs.uk/your-nhs-data-matters/"}],
"provision":{"type":"permit","provision":[
 {"type":"deny","purpose":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActReason","code":"HRESCH"}]},
 {"type":"deny","securityLabel":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"STD"}]}]}`)
	older := res("Consent", "gp-consent-0", `"status":"active",
"scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},
"patient":{"reference":"Patient/jane"},"dateTime":"2020-01-01T09:00:00Z","provision":{"type":"deny"}`)
	treatment := res("Consent", "op-consent", `"status":"active",
"scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"treatment"}]},
"patient":{"reference":"Patient/jane"},"dateTime":"2026-01-01T09:00:00Z","provision":{"type":"deny"}`)
	if _, err := f.db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", []fhir.Resource{older, gpConsent, treatment}); err != nil {
		t.Fatal(err)
	}
	ch, err := f.db.ConsentChoices(ctx, f.jane.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Upstream == nil || ch.Upstream.Source.Label() != "Meanwood Group Practice" || ch.Upstream.DateTime != "2025-06-01T09:00:00Z" {
		t.Fatalf("upstream %+v", ch.Upstream)
	}
	if st := ch.State; !st.DirectCare || st.Research || !st.Planning || strings.Join(st.Withheld, ",") != store.CategorySexualHealth {
		t.Fatalf("starting state %+v", st)
	}
	if o := ch.Origins[store.QuestionResearch]; o.Kind != store.OriginUpstream {
		t.Fatalf("origin %+v", o)
	}
	// A change starts from the upstream state, not from the default.
	if _, err := f.db.ChangeConsent(ctx, f.jane.ID, janeHerself, store.ConsentChange{Question: store.QuestionPlanning, Answer: "no"}, store.ChoiceLogged(1)); err != nil {
		t.Fatal(err)
	}
	ch, err = f.db.ConsentChoices(ctx, f.jane.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st := ch.State; !st.DirectCare || st.Research || st.Planning || !st.Withholds(store.CategorySexualHealth) {
		t.Fatalf("after a change: %+v", st)
	}
}

// A change of choices is one unit with its access log entry: when the entry
// cannot be written, no decision is recorded or queued; when it is made, the
// entry is there.
func TestConsentChangeIsLogged(t *testing.T) {
	ctx := context.Background()
	f := newConsentFixture(t)
	state := func() string {
		hist, err := f.db.ConsentHistory(ctx, f.jane.ID)
		if err != nil {
			t.Fatal(err)
		}
		counts, err := f.db.ConsentOutboxCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%d decisions, deliveries %v, %d entries", len(hist), counts, accessLogLength(t, f.db, f.jane.ID))
	}
	change := store.ConsentChange{Question: store.QuestionResearch, Answer: "no"}
	before, logged := state(), accessLogLength(t, f.db, f.jane.ID)
	decided, err := f.db.ConsentHistory(ctx, f.jane.ID)
	if err != nil {
		t.Fatal(err)
	}
	unloggable := func(store.ConsentDecision) store.Access { return store.Access{ActorKind: "nobody"} }
	if _, err := f.db.ChangeConsent(ctx, f.jane.ID, janeHerself, change, unloggable); err == nil {
		t.Fatal("a change whose access log entry cannot be written was made")
	}
	if after := state(); after != before {
		t.Fatalf("a change whose entry could not be written left %s; was %s", after, before)
	}
	if _, err := f.db.ChangeConsent(ctx, f.jane.ID, janeHerself, change, store.ChoiceLogged(1)); err != nil {
		t.Fatal(err)
	}
	if hist, _ := f.db.ConsentHistory(ctx, f.jane.ID); len(hist) != len(decided)+1 || accessLogLength(t, f.db, f.jane.ID) != logged+1 {
		t.Fatalf("the change and one entry were not both stored: %s; was %s", state(), before)
	}
}

// A carer may keep more out of sharing, but never share again what the
// person keeps out: they would then see it.
func TestCarerCannotLiftWithholding(t *testing.T) {
	ctx := context.Background()
	f := newConsentFixture(t)
	john := store.Performer{AccountID: 9, Name: "John Smith", Carer: true, Relationship: "son"}
	mental := store.WithholdQuestion(store.CategoryMentalHealth)
	for _, step := range []struct {
		by     store.Performer
		answer string
		want   string
	}{
		{john, "yes", ""}, {john, "no", store.EFORBIDDEN}, {janeHerself, "no", ""}, {john, "no", ""}, // nothing kept out any more
	} {
		_, err := f.db.ChangeConsent(ctx, f.jane.ID, step.by, store.ConsentChange{Question: mental, Answer: step.answer}, store.ChoiceLogged(step.by.AccountID))
		if store.ErrorCode(err) != step.want {
			t.Errorf("%s answers %s: %v, want %q", step.by.Name, step.answer, err, step.want)
		}
	}
}

// TestConsentOutboxClaims checks the order and leases of deliveries.
func TestConsentOutboxClaims(t *testing.T) {
	ctx := context.Background()
	f := newConsentFixture(t)
	now := time.Date(2026, 11, 25, 10, 42, 0, 0, time.UTC)
	f.db.SetClock(func() time.Time { return now })
	for _, a := range []string{"no", "yes", "no"} {
		if _, err := f.db.ChangeConsent(ctx, f.jane.ID, janeHerself, store.ConsentChange{Question: store.QuestionResearch, Answer: a}, store.ChoiceLogged(1)); err != nil {
			t.Fatal(err)
		}
	}
	items, err := f.db.ClaimConsentOutbox(ctx, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].CurrentID != "" || items[0].PatientID != "jane" || items[0].Attempts != 1 {
		t.Fatalf("claimed %+v, want only the first decision (deliveries to one source go in order)", items)
	}
	var body map[string]any
	if err := json.Unmarshal(items[0].Body, &body); err != nil || body["patient"].(map[string]any)["reference"] != "Patient/jane" {
		t.Fatalf("body %s", items[0].Body)
	}
	if again, _ := f.db.ClaimConsentOutbox(ctx, 10, time.Minute); len(again) != 0 {
		t.Fatalf("claimed again while leased: %+v", again)
	}
	// The pusher stopped without saying: after the lease the same delivery is due again.
	now = now.Add(2 * time.Minute)
	again, err := f.db.ClaimConsentOutbox(ctx, 10, time.Minute)
	if err != nil || len(again) != 1 || again[0].ID != items[0].ID || again[0].Attempts != 2 {
		t.Fatalf("after the lease: %v %+v", err, again)
	}
	// The first claim is the second's now: its holder renews nothing and records nothing.
	if held, err := f.db.RenewConsentClaim(ctx, items[0], time.Minute); err != nil || held {
		t.Errorf("renewing a claim taken over: %v, %v; want it refused", held, err)
	}
	for _, record := range []func() error{
		func() error { return f.db.ConsentDelivered(ctx, items[0], "c-0", "1") },
		func() error { return f.db.ConsentNotDelivered(ctx, items[0], "The server said: no", time.Time{}) },
		func() error { return f.db.ConsentNotDelivered(ctx, items[0], "no answer", now.Add(time.Hour)) },
	} {
		if err := record(); !errors.Is(err, store.ErrClaimLost) {
			t.Errorf("recording by a claim taken over: %v; want ErrClaimLost", err)
		}
	}
	// A process starting frees no claim held by a running one (this one).
	if err := f.db.ReleaseConsentClaims(ctx, true); err != nil {
		t.Fatal(err)
	}
	if stolen, _ := f.db.ClaimConsentOutbox(ctx, 10, time.Minute); len(stolen) != 0 {
		t.Fatalf("claimed after a release while a running sender holds it: %+v", stolen)
	}
	if held, err := f.db.RenewConsentClaim(ctx, again[0], time.Minute); err != nil || !held {
		t.Fatalf("renewing the claim held: %v, %v", held, err)
	}
	if err := f.db.ConsentDelivered(ctx, again[0], "c-1", "1"); err != nil {
		t.Fatal(err)
	}
	next, err := f.db.ClaimConsentOutbox(ctx, 10, time.Minute)
	if err != nil || len(next) != 1 || next[0].CurrentID != "c-1" || next[0].CurrentVersion != "1" {
		t.Fatalf("second delivery %+v (%v), want it to update c-1", next, err)
	}
	if err := f.db.ConsentNotDelivered(ctx, next[0], "The server said: no", time.Time{}); err != nil {
		t.Fatal(err)
	}
	// A refused delivery does not hold up the next one, which supersedes it once sent.
	third, err := f.db.ClaimConsentOutbox(ctx, 10, time.Minute)
	if err != nil || len(third) != 1 || third[0].CurrentID != "c-1" {
		t.Fatalf("third %+v %v", third, err)
	}
	// The later one carries every choice: the refused one is not sent again, even before the later one is.
	if err := f.db.RetryConsentDelivery(ctx, f.jane.ID, next[0].ID, store.Access{AccountID: 1, PersonID: f.jane.ID, Action: "choice", What: "send change again"}); store.ErrorCode(err) != store.ENOTFOUND {
		t.Fatalf("retry while a later one is being sent: %v", err)
	}
	if err := f.db.ConsentNotDelivered(ctx, third[0], "The server said: no", time.Time{}); err != nil {
		t.Fatal(err)
	}
	// A retry whose access log entry cannot be written is not made: the good one after it still finds the delivery failed.
	if err := f.db.RetryConsentDelivery(ctx, f.jane.ID, third[0].ID, store.Access{ActorKind: "nobody"}); err == nil {
		t.Fatal("a retry whose access log entry cannot be written was made")
	}
	logged := accessLogLength(t, f.db, f.jane.ID)
	if err := f.db.RetryConsentDelivery(ctx, f.jane.ID, third[0].ID, store.Access{AccountID: 1, PersonID: f.jane.ID, Action: "choice", What: "send change again"}); err != nil {
		t.Fatalf("retry of the latest: %v", err)
	}
	if accessLogLength(t, f.db, f.jane.ID) != logged+1 {
		t.Fatal("the retry wrote no access log entry")
	}
	retried, err := f.db.ClaimConsentOutbox(ctx, 10, time.Minute)
	if err != nil || len(retried) != 1 || retried[0].ID != third[0].ID || retried[0].CurrentID != "c-1" {
		t.Fatalf("after the retry: %+v %v, want the latest again", retried, err)
	}
	if err := f.db.ConsentDelivered(ctx, retried[0], "c-1", "2"); err != nil {
		t.Fatal(err)
	}
	if err := f.db.RetryConsentDelivery(ctx, f.jane.ID, next[0].ID, store.Access{AccountID: 1, PersonID: f.jane.ID, Action: "choice", What: "send change again"}); store.ErrorCode(err) != store.ENOTFOUND {
		t.Fatalf("retry of a superseded delivery: %v", err)
	}
	hist, err := f.db.ConsentHistory(ctx, f.jane.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, d := range hist {
		got = append(got, fmt.Sprintf("%s/%v", d.Deliveries[0].Status, d.Deliveries[0].Superseded))
	}
	if strings.Join(got, " ") != "sent/false failed/true sent/true" {
		t.Fatalf("deliveries newest first: %v", got)
	}
	if !hist[2].Deliveries[0].SentAt.Equal(now) {
		t.Errorf("sent at %v, want %v", hist[2].Deliveries[0].SentAt, now)
	}
}

func labResult(id, code, display, value, date string) fhir.Resource {
	return res("Observation", id, `"status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],`+
		`"code":{"coding":[{"system":"http://loinc.org","code":"`+code+`","display":"`+display+`"}]},"subject":{"reference":"Patient/jane"},`+
		`"effectiveDateTime":"`+date+`","valueQuantity":{"value":`+value+`,"unit":"1"}`)
}

// TestWithheldFilterResultsAndExport: a carer's results pages and download
// leave out what the person keeps out of sharing; the person's own do not.
func TestWithheldFilterResultsAndExport(t *testing.T) {
	ctx := context.Background()
	f := newConsentFixture(t)
	if _, err := f.db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", []fhir.Resource{
		labResult("o1", "44261-6", "PHQ-9 total score", "12", "2025-01-01"),
		labResult("o2", "44261-6", "PHQ-9 total score", "9", "2025-03-01"),
		labResult("o3", "4548-4", "Hemoglobin A1c", "48", "2025-01-01"),
		labResult("o4", "4548-4", "Hemoglobin A1c", "52", "2025-03-01"),
		labResult("o5", "4548-4", "Hemoglobin A1c", "55", "2025-05-01"),
	}); err != nil {
		t.Fatal(err)
	}
	tests := func(ctx context.Context) map[string]int {
		ts, err := f.db.ResultTests(ctx, f.jane.ID)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, rt := range ts {
			tr, err := f.db.ResultTrend(ctx, f.jane.ID, rt.Key, 1, 100)
			if err != nil {
				t.Fatal(err)
			}
			out[rt.Key] = len(tr.Results)
		}
		return out
	}
	bundle := func(ctx context.Context) string {
		var b strings.Builder
		if _, err := f.db.WriteBundle(ctx, f.jane.ID, &b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	if got := tests(store.ForCarer(ctx)); got["loinc-44261-6"] != 2 || got["loinc-4548-4"] != 3 {
		t.Fatalf("before any choice a carer sees %v", got)
	}
	f.db.ChangeConsent(ctx, f.jane.ID, janeHerself, store.ConsentChange{Question: store.WithholdQuestion(store.CategoryMentalHealth), Answer: "yes"}, store.ChoiceLogged(1))
	res, err := f.db.RecordSection(ctx, f.jane.ID, fhir.SectionResults, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range res.Items {
		if it.ResourceID == "o4" {
			if _, err := f.db.ChangeConsent(ctx, f.jane.ID, janeHerself, store.ConsentChange{Question: store.WithholdItemQuestion(store.ItemKey(it)), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	carer := store.ForCarer(ctx)
	got := tests(carer)
	if _, ok := got["loinc-44261-6"]; ok || got["loinc-4548-4"] != 2 {
		t.Errorf("carer's results %v, want no PHQ-9 and two HbA1c", got)
	}
	if _, err := f.db.ResultTrend(carer, f.jane.ID, "loinc-44261-6", 1, 100); store.ErrorCode(err) != store.ENOTFOUND {
		t.Errorf("carer opens the PHQ-9 trend: %v", err)
	}
	if own := tests(ctx); own["loinc-44261-6"] != 2 || own["loinc-4548-4"] != 3 {
		t.Errorf("the person's own results %v", own)
	}
	b := bundle(carer)
	for _, id := range []string{`"id":"c2"`, `"id":"c3"`, `"id":"o1"`, `"id":"o4"`} {
		if strings.Contains(b, id) {
			t.Errorf("carer's download holds %s", id)
		}
	}
	for _, id := range []string{`"id":"c1"`, `"id":"o3"`, `"id":"c4"`} {
		if !strings.Contains(b, id) {
			t.Errorf("carer's download lacks %s", id)
		}
	}
	if own := bundle(ctx); !strings.Contains(own, `"id":"c2"`) || !strings.Contains(own, `"id":"o4"`) {
		t.Error("the person's own download leaves things out")
	}
}

// TestWithheldFilterSearch: a carer's search never finds what the person
// keeps out of sharing, nor counts it; the person's own search finds it, labelled.
func TestWithheldFilterSearch(t *testing.T) {
	ctx := context.Background()
	f := newConsentFixture(t)
	search := func(ctx context.Context, q string) []string {
		res, err := f.db.SearchRecord(ctx, f.jane.ID, q, store.SearchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		n := 0
		for _, s := range res.Sections {
			n += s.Total
			got = append(got, displays(s.Items)...)
		}
		if n != res.Total || n != len(got) {
			t.Errorf("%q: totals %d/%d for %d entries", q, n, res.Total, len(got))
		}
		sort.Strings(got)
		return got
	}
	if got := search(store.ForCarer(ctx), "disorder"); len(got) != 2 {
		t.Fatalf("before any choice a carer finds %v", got)
	}
	if _, err := f.db.ChangeConsent(ctx, f.jane.ID, janeHerself, store.ConsentChange{Question: store.WithholdQuestion(store.CategoryMentalHealth), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
		t.Fatal(err)
	}
	if got := search(store.ForCarer(ctx), "disorder"); len(got) != 0 {
		t.Errorf("a carer finds %v kept out of sharing", got)
	}
	if got := search(store.ForCarer(ctx), "diabetes"); len(got) != 1 {
		t.Errorf("a carer's search for what is shared finds %v", got)
	}
	if got := search(ctx, "disorder"); len(got) != 2 {
		t.Errorf("the person's own search finds %v", got)
	}
}

// A Consent names every resource the source holds for an entry kept out (a
// fact recorded twice, a repeat prescription), since a provision's data
// matches only what it lists; and the entry's code and words as they are now.
func TestConsentNamesEveryResourceOfAnEntry(t *testing.T) {
	ctx := context.Background()
	f := newConsentFixture(t)
	if _, err := f.db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test",
		[]fhir.Resource{condition("c6", "http://snomed.info/sct", "44054006", "Type 2 diabetes")}); err != nil {
		t.Fatal(err)
	}
	sec, err := f.db.RecordSection(ctx, f.jane.ID, fhir.SectionConditions, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	var key string
	for _, it := range sec.Items {
		if it.Code == "44054006" {
			key = store.ItemKey(it)
		}
	}
	if _, err := f.db.ChangeConsent(ctx, f.jane.ID, janeHerself, store.ConsentChange{Question: store.WithholdItemQuestion(key), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
		t.Fatal(err)
	}
	items, err := f.db.ClaimConsentOutbox(ctx, 10, time.Minute)
	if err != nil || len(items) != 1 {
		t.Fatalf("claimed %+v, %v; want the one delivery", items, err)
	}
	var body struct {
		Provision struct {
			Provision []struct {
				Type  string
				Class []struct{ Code string }
				Code  []struct {
					Coding []struct{ Code string }
				}
				Data []struct {
					Reference struct{ Reference string }
				}
			}
		}
	}
	if err := json.Unmarshal(items[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	var refs []string
	found := false
	for _, p := range body.Provision.Provision {
		if len(p.Code) == 1 && len(p.Code[0].Coding) == 1 && p.Code[0].Coding[0].Code == "44054006" {
			found = true
			for _, d := range p.Data {
				refs = append(refs, d.Reference.Reference)
			}
			if len(p.Class) != 1 || p.Class[0].Code != "Condition" {
				t.Errorf("the provision's class: %+v; want Condition once", p.Class)
			}
		}
	}
	slices.Sort(refs)
	if !found || strings.Join(refs, " ") != "Condition/c1 Condition/c6" {
		t.Errorf("the provision keeping diabetes out names %v (found: %v); want Condition/c1 and Condition/c6\n%s", refs, found, items[0].Body)
	}
}

// A change sent twice is made once: the second finds the answer already
// given and records, queues and logs nothing, returning no decision (ID 0).
func TestSameChangeTwiceIsMadeOnce(t *testing.T) {
	ctx := context.Background()
	john := store.Performer{AccountID: 9, Name: "John Smith", Carer: true, Relationship: "son"}
	diabetes := store.WithholdItemQuestion("conditions|http://snomed.info/sct|44054006")
	for _, tt := range []struct {
		name   string
		by     store.Performer
		before []store.ConsentChange
		change store.ConsentChange
	}{
		{"research", janeHerself, nil, store.ConsentChange{Question: store.QuestionResearch, Answer: "no"}},
		{"keep a category out", janeHerself, nil, store.ConsentChange{Question: store.WithholdQuestion(store.CategoryMentalHealth), Answer: "yes"}},
		{"a carer keeps a category out", john, nil, store.ConsentChange{Question: store.WithholdQuestion(store.CategoryMentalHealth), Answer: "yes"}},
		{"keep an entry out", janeHerself, nil, store.ConsentChange{Question: diabetes, Answer: "yes"}},
		{"share an entry again", janeHerself, []store.ConsentChange{{Question: diabetes, Answer: "yes"}}, store.ConsentChange{Question: diabetes, Answer: "no"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newConsentFixture(t)
			for _, ch := range tt.before {
				if _, err := f.db.ChangeConsent(ctx, f.jane.ID, janeHerself, ch, store.ChoiceLogged(1)); err != nil {
					t.Fatal(err)
				}
			}
			state := func() string {
				hist, err := f.db.ConsentHistory(ctx, f.jane.ID)
				if err != nil {
					t.Fatal(err)
				}
				counts, err := f.db.ConsentOutboxCounts(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return fmt.Sprintf("%d decisions, deliveries %v, %d entries", len(hist), counts, accessLogLength(t, f.db, f.jane.ID))
			}
			first, err := f.db.ChangeConsent(ctx, f.jane.ID, tt.by, tt.change, store.ChoiceLogged(tt.by.AccountID))
			if err != nil || first.ID == 0 {
				t.Fatalf("first: decision %d, %v", first.ID, err)
			}
			before := state()
			again, err := f.db.ChangeConsent(ctx, f.jane.ID, tt.by, tt.change, store.ChoiceLogged(tt.by.AccountID))
			if err != nil || again.ID != 0 {
				t.Errorf("sent again: decision %d, %v; want none and no error", again.ID, err)
			}
			if got := state(); got != before {
				t.Errorf("sent again, it left %s; was %s", got, before)
			}
		})
	}
}

// Each entry kept out is named in the Consent by its own reports, all read at
// once (itemRefsOf): diabetes by both its reports, and pharyngitis, whose code
// upstream corrected to tonsillitis after it was kept out, by the report held
// to it (held_keys), with the code it has now; neither by the other's.
func TestConsentNamesEachKeptOutEntryByItsOwnReports(t *testing.T) {
	ctx := context.Background()
	f := newConsentFixture(t)
	keepOut := func(code string) store.ConsentDecision {
		t.Helper()
		sec, err := f.db.RecordSection(ctx, f.jane.ID, fhir.SectionConditions, 1, 100)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(sec.Items, func(it store.RecordItem) bool { return it.Code == code })
		if i < 0 {
			t.Fatalf("no condition coded %s", code)
		}
		d, err := f.db.ChangeConsent(ctx, f.jane.ID, janeHerself, store.ConsentChange{Question: store.WithholdItemQuestion(store.ItemKey(sec.Items[i])), Answer: "yes"}, store.ChoiceLogged(1))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	keepOut("195662009")
	sent, err := f.db.ClaimConsentOutbox(ctx, 10, time.Minute)
	if err != nil || len(sent) != 1 {
		t.Fatalf("claimed %d, %v; want the first decision's delivery", len(sent), err)
	}
	if err := f.db.ConsentDelivered(ctx, sent[0], "consent-1", "1"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", []fhir.Resource{
		condition("c5", "http://snomed.info/sct", "17741008", "Tonsillitis"),
		condition("c6", "http://snomed.info/sct", "44054006", "Type 2 diabetes"),
	}); err != nil {
		t.Fatal(err)
	}
	last := keepOut("44054006")
	items, err := f.db.ClaimConsentOutbox(ctx, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(items, func(it store.OutboxItem) bool { return it.DecisionID == last.ID })
	if i < 0 {
		t.Fatalf("claimed %d deliveries; none is the last decision's", len(items))
	}
	var body struct {
		Provision struct {
			Provision []struct {
				Code []struct{ Coding []struct{ Code string } }
				Data []struct{ Reference struct{ Reference string } }
			}
		}
	}
	if err := json.Unmarshal(items[i].Body, &body); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range body.Provision.Provision {
		if len(p.Code) != 1 || len(p.Code[0].Coding) != 1 {
			continue // a kind of information, not an entry
		}
		var refs []string
		for _, d := range p.Data {
			refs = append(refs, d.Reference.Reference)
		}
		slices.Sort(refs)
		got[p.Code[0].Coding[0].Code] = strings.Join(refs, " ")
	}
	want := map[string]string{"44054006": "Condition/c1 Condition/c6", "17741008": "Condition/c5"}
	if !maps.Equal(got, want) {
		t.Errorf("the Consent names entries by %v; want %v\n%s", got, want, items[i].Body)
	}
}
