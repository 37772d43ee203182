package views_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/views"
)

// aboutTheReader are words that, on a carer's choices pages, would make the
// person's record, data or choices the carer's own.
var aboutTheReader = regexp.MustCompile(`(?i)\b(your (record|health record|data|choices?)|for you\b|you can choose|you want to keep|you keep|my (record|data))`)

// The choices pages speak to the person of "your" choices, and to a carer of
// the person's, by name, with one h1 each; a carer is told whom they are
// answering for.
func TestChoicesPagesNameThePersonToACarer(t *testing.T) {
	when := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	decision := store.ConsentDecision{ID: 3, Question: store.QuestionResearch, Answer: "no", MadeAt: when, EffectiveFrom: when,
		Performer:  store.Performer{AccountID: 7, Name: "Ann Example", Carer: true, Relationship: "daughter"},
		Deliveries: []store.ConsentDelivery{{ID: 1, SourceID: 1, SourceName: "Leeds Teaching Hospitals", Status: store.DeliveryFailed, Superseded: true}}}
	choices := store.ConsentChoices{State: store.DefaultConsentState(), Latest: &decision,
		Origins: map[string]store.ChoiceOrigin{store.QuestionResearch: {Kind: store.OriginDecision, Decision: &decision}}}
	pages := []struct {
		name          string
		page          func(views.Page) templ.Component
		person, carer string   // the h1 each reads
		carerSays     []string // more a carer reads
	}{
		{"choices", func(p views.Page) templ.Component {
			return views.Choices(p, views.ChoicesView{Person: jane, Choices: choices, ViewerID: 9, Carer: p.Acting != nil})
		}, "Your choices", "Mrs Jane Example's choices", []string{
			"Mrs Jane Example can change these choices at any time.",
			"hide anything they keep out of sharing from anyone who acts for them, including you.",
			"The organisations that hold Mrs Jane Example's record cannot receive choices from us yet, so these choices do not change what they do.",
			"These choices do not change the National Data Opt-out. To choose whether Mrs Jane Example's health data is used for research and planning across the NHS",
			"Sharing with staff who care for Mrs Jane ExampleYes Nobody has changed this", // key and value, read one after the other
			"Set by someone else acting for Mrs Jane Example",                             // another carer, not named to this one
			"Things Mrs Jane Example keeps out of sharing",
			"We never show these to anyone who acts for Mrs Jane Example, including you.",
			"See every change to Mrs Jane Example's choices",
		}},
		{"direct care question", func(p views.Page) templ.Component {
			return views.ChoiceQuestion(p, views.QuestionView{Person: jane, Question: store.QuestionDirectCare, Answer: "yes", Receivers: 1})
		}, "Do you want staff in other organisations to see your record when they care for you?",
			"Does Mrs Jane Example want staff in other organisations who care for them to see their record?",
			[]string{"helps them give Mrs Jane Example safe care", "We pass this answer on to the organisations that hold Mrs Jane Example's record, where they can receive it."}},
		{"research question", func(p views.Page) templ.Component {
			return views.ChoiceQuestion(p, views.QuestionView{Person: jane, Question: store.QuestionResearch, Answer: "yes"})
		}, "Do you want your data to be used for research?", "Does Mrs Jane Example want their data to be used for research?",
			[]string{"Mrs Jane Example's choices", "My Care Record itself does not give anyone data for research. This does not change the National Data Opt-out: to stop the NHS using Mrs Jane Example's data for research and planning, they need to use the National Data Opt-out."}},
		{"mental health question", func(p views.Page) templ.Component {
			return views.ChoiceQuestion(p, views.QuestionView{Person: jane, Question: store.WithholdQuestion(store.CategoryMentalHealth), Answer: "no"})
		}, "Do you want to keep mental health information out of sharing?", "Does Mrs Jane Example want to keep mental health information out of sharing?",
			[]string{"No, share it like the rest of Mrs Jane Example's record"}},
		{"entry question", func(p views.Page) templ.Component {
			return views.ChoiceQuestion(p, views.QuestionView{Person: jane, Question: store.WithholdItemQuestion("medicines|x|1"), ItemKey: "medicines|x|1", ItemName: "Metformin"})
		}, "Do you want to keep this entry out of sharing?", "Does Mrs Jane Example want to keep this entry out of sharing?",
			[]string{"You and anyone else who acts for Mrs Jane Example will not see it, and only Mrs Jane Example can share it again."}},
		{"check", func(p views.Page) templ.Component {
			return views.ChoiceCheck(p, views.CheckView{Person: jane, Question: store.QuestionDirectCare, Before: "yes", Answer: "no"})
		}, "Check your change", "Check your change", []string{
			"NowYesAfter your changeNo",
			"After you confirm, we will record that Mrs Jane Example does not want staff in other organisations to see their record.",
			"everyone who acts for Mrs Jane Example, including you, follows it",
			"Cancel and go back to Mrs Jane Example's choices",
		}},
		{"saved", func(p views.Page) templ.Component {
			return views.ChoiceDone(p, views.ChoiceDoneView{Person: jane, Decision: decision, ViewerID: 9, Carer: p.Acting != nil})
		}, "Your choice has been saved", "Mrs Jane Example's choice has been saved", []string{
			": Mrs Jane Example does not want their data to be used for research.",
			"Telling the organisations that hold Mrs Jane Example's record",
			"A later change, with all Mrs Jane Example's choices, has been sent to them since.",
		}},
		{"history", func(p views.Page) templ.Component {
			return views.ChoicesHistory(p, views.ChoicesHistoryView{Person: jane, Decisions: []store.ConsentDecision{decision}, ViewerID: 9, Carer: p.Acting != nil})
		}, "History of your choices", "History of Mrs Jane Example's choices", []string{
			"Every change to Mrs Jane Example's choices, newest first.",
			"Research: no",
			"Someone else acting for Mrs Jane Example",
		}},
	}
	carer := &views.Acting{Name: "Mrs Jane Example", Relationship: "son", Active: true, Scopes: []string{store.ScopeChoices, "medicines"}}
	for _, tt := range pages {
		t.Run(tt.name, func(t *testing.T) {
			for _, acting := range []*views.Acting{nil, carer} {
				p := page("", "/choices", true)
				p.Acting = acting
				d, _ := render(t, tt.page(p))
				main := strings.Join(strings.Fields(d.Find("main").Text()), " ")
				if n := d.Find("h1").Length(); n != 1 {
					t.Fatalf("%d h1s", n)
				}
				h1 := strings.TrimSpace(d.Find("h1").Text())
				if acting == nil {
					if h1 != tt.person {
						t.Errorf("the person's h1 %q, want %q", h1, tt.person)
					}
					if strings.Contains(main, "Mrs Jane Example's") || strings.Contains(main, "answering for") {
						t.Errorf("the person's own page speaks of them by name: %s", main)
					}
					continue
				}
				if h1 != tt.carer {
					t.Errorf("a carer's h1 %q, want %q", h1, tt.carer)
				}
				if tt.name != "saved" && !strings.Contains(main, "You are answering for Mrs Jane Example.") {
					t.Errorf("a carer is not told whom they answer for: %s", main)
				}
				for _, want := range tt.carerSays {
					if !strings.Contains(main, want) {
						t.Errorf("a carer's page lacks %q: %s", want, main)
					}
				}
				if m := aboutTheReader.FindAllString(main, -1); m != nil {
					t.Errorf("a carer's page makes the person's choices theirs: %q in %s", m, main)
				}
			}
		})
	}
}

// The choices page says, before any choice, what the choices change and what
// they do not (the National Data Opt-out, with a link to it), and each
// answer is the person's answer, not a promise of what organisations do:
// research is never said to hide who the data is about, which the portal
// cannot make true. A choice nobody has changed says so to its reader.
func TestChoicesSayWhatTheyChange(t *testing.T) {
	research := func(p views.Page) string {
		d, _ := render(t, views.ChoiceQuestion(p, views.QuestionView{Person: jane, Question: store.QuestionResearch, Answer: "yes", Receivers: 1}))
		return strings.Join(strings.Fields(d.Find("main").Text()), " ")
	}
	for _, tt := range []struct {
		name      string
		receivers int
		says      []string
	}{
		{"no organisation can receive choices", 0, []string{
			"You can change these choices at any time. We keep them in My Care Record, and hide anything you keep out of sharing from people who can act for you.",
			"The organisations that hold your record cannot receive choices from us yet, so these choices do not change what they do.",
		}},
		{"some can", 1, []string{
			"We also send your choices to the organisations that hold your record, where they can receive them.",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			choices := store.ConsentChoices{State: store.DefaultConsentState(), Receivers: tt.receivers, Origins: map[string]store.ChoiceOrigin{}}
			d, _ := render(t, views.Choices(page("Your choices", "/choices", true), views.ChoicesView{Person: jane, Choices: choices, ViewerID: 9}))
			main := strings.Join(strings.Fields(d.Find("main").Text()), " ")
			says := append(tt.says,
				"These choices do not change the National Data Opt-out. To choose whether your health data is used for research and planning across the NHS, use the National Data Opt-out on the NHS website.",
				"Sharing with staff who care for youYes You have not changed this", // key and value, read one after the other
				"ResearchYes You have not changed this",
				"Mental healthShared You have not changed this")
			for _, want := range says {
				if !strings.Contains(main, want) {
					t.Errorf("the choices page lacks %q: %s", want, main)
				}
			}
			for _, never := range []string{"Standard setting", "nobody has changed this", "can see your record", "data can be used", "cannot tell the data"} {
				if strings.Contains(main, never) {
					t.Errorf("the choices page says %q: %s", never, main)
				}
			}
			if a := d.Find(`main a[href="https://www.nhs.uk/your-nhs-data-matters/"]`); a.Length() != 1 || a.Text() != "National Data Opt-out on the NHS website" {
				t.Errorf("no link to the National Data Opt-out: %d %q", a.Length(), a.Text())
			}
			// What the choices change comes before the first choice.
			if first := d.Find("main p, main dl").First(); !strings.Contains(first.Text(), "You can change these choices at any time.") {
				t.Errorf("the page starts with %q", first.Text())
			}
		})
	}
	main := research(page("", "/choices/research", true))
	for _, want := range []string{"Do you want your data to be used for research?", "We pass this answer on to the organisations that hold your record, where they can receive it.",
		"My Care Record itself does not give anyone data for research.", "This does not change the National Data Opt-out: to stop the NHS using your data for research and planning, use the National Data Opt-out.", "Yes No"} {
		if !strings.Contains(main, want) {
			t.Errorf("the research question lacks %q: %s", want, main)
		}
	}
	for _, never := range []string{"cannot tell the data", "taken out first", "data can be used"} {
		if strings.Contains(main, never) {
			t.Errorf("the research question says %q: %s", never, main)
		}
	}
	// With no organisation able to receive choices, the question does not say
	// the answer is passed on, which the choices page says it cannot be
	// (found by an accessibility review).
	d0, _ := render(t, views.ChoiceQuestion(page("", "/choices/research", true), views.QuestionView{Person: jane, Question: store.QuestionResearch, Answer: "yes"}))
	if main := strings.Join(strings.Fields(d0.Find("main").Text()), " "); strings.Contains(main, "We pass this answer on") ||
		!strings.Contains(main, "We keep this answer in My Care Record: the organisations that hold your record cannot receive it from us yet.") {
		t.Errorf("the research question, with no organisation able to receive it: %s", main)
	}
	d, _ := render(t, views.ChoiceCheck(page("Check your change", "/choices/research", true), views.CheckView{Person: jane, Question: store.QuestionResearch, Before: "yes", Answer: "no"}))
	if main := strings.Join(strings.Fields(d.Find("main").Text()), " "); !strings.Contains(main, "After you confirm, we will record that you do not want your data to be used for research.") {
		t.Errorf("the check page says: %s", main)
	}
}

// An entry kept out with another (of a kind kept out, or naming an entry
// kept out) says so, with no "Share it again", which would ask about it
// alone and change nothing; one kept out by itself offers it.
func TestKeepOutOfSharingSaysWhy(t *testing.T) {
	for _, tc := range []struct {
		it         store.RecordItem
		want, lack string
	}{
		{store.RecordItem{ID: 7, Withheld: true, WithheldWithOther: true}, `because of another choice you made`, "Share it again"},
		{store.RecordItem{ID: 7, Withheld: true, WithheldChosen: true}, `href="/choices/entry?item=7">Share it again`, "another choice"},
		{store.RecordItem{ID: 7, Withheld: true, WithheldChosen: true, WithheldWithOther: true}, `Another choice you made keeps it out too`, "Share it again"},
	} {
		var b strings.Builder
		if err := views.KeepOutOfSharing(tc.it).Render(t.Context(), &b); err != nil {
			t.Fatal(err)
		}
		if html := b.String(); !strings.Contains(html, tc.want) || strings.Contains(html, tc.lack) {
			t.Errorf("%+v: %s; want %q, not %q", tc.it, html, tc.want, tc.lack)
		}
	}
}
