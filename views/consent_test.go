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
			"Mrs Jane Example can choose who can see their health record",
			"Sharing with staff who care for Mrs Jane Example",
			"Yes, staff caring for Mrs Jane Example can see their record",
			"Set by Ann Example (daughter), acting for Mrs Jane Example",
			"Things Mrs Jane Example keeps out of sharing",
			"We never show these to Mrs Jane Example's carers, including you.",
			"See every change to Mrs Jane Example's choices",
		}},
		{"direct care question", func(p views.Page) templ.Component {
			return views.ChoiceQuestion(p, views.QuestionView{Person: jane, Question: store.QuestionDirectCare, Answer: "yes"})
		}, "Can staff in other organisations see your record when they care for you?",
			"Can staff in other organisations who care for Mrs Jane Example see their record?",
			[]string{"Yes, they can see Mrs Jane Example's record", "No, do not let them see Mrs Jane Example's record", "helps them give Mrs Jane Example safe care"}},
		{"research question", func(p views.Page) templ.Component {
			return views.ChoiceQuestion(p, views.QuestionView{Person: jane, Question: store.QuestionResearch, Answer: "yes"})
		}, "Can your data be used for research?", "Can Mrs Jane Example's data be used for research?",
			[]string{"Mrs Jane Example's choices", "Yes, Mrs Jane Example's data can be used", "No, do not use Mrs Jane Example's data", "cannot tell the data is theirs"}},
		{"mental health question", func(p views.Page) templ.Component {
			return views.ChoiceQuestion(p, views.QuestionView{Person: jane, Question: store.WithholdQuestion(store.CategoryMentalHealth), Answer: "no"})
		}, "Do you want to keep mental health information out of sharing?", "Does Mrs Jane Example want to keep mental health information out of sharing?",
			[]string{"No, share it like the rest of Mrs Jane Example's record"}},
		{"entry question", func(p views.Page) templ.Component {
			return views.ChoiceQuestion(p, views.QuestionView{Person: jane, Question: store.WithholdItemQuestion("medicines|x|1"), ItemKey: "medicines|x|1", ItemName: "Metformin"})
		}, "Do you want to keep this entry out of sharing?", "Does Mrs Jane Example want to keep this entry out of sharing?",
			[]string{"Carers Mrs Jane Example lets use their record, including you, will not see it"}},
		{"check", func(p views.Page) templ.Component {
			return views.ChoiceCheck(p, views.CheckView{Person: jane, Question: store.QuestionDirectCare, Before: "yes", Answer: "no"})
		}, "Check your change", "Check your change", []string{
			"No, staff in other organisations cannot see Mrs Jane Example's record",
			"After you confirm, staff in other organisations will not be able to see Mrs Jane Example's record.",
			"Mrs Jane Example's carers, including you, follow it",
			"Cancel and go back to Mrs Jane Example's choices",
		}},
		{"saved", func(p views.Page) templ.Component {
			return views.ChoiceDone(p, views.ChoiceDoneView{Person: jane, Decision: decision, ViewerID: 9, Carer: p.Acting != nil})
		}, "Your choice has been saved", "Mrs Jane Example's choice has been saved", []string{
			"Mrs Jane Example's data will not be used for research.",
			"Telling the organisations that hold Mrs Jane Example's record",
			"A later change, with all Mrs Jane Example's choices, has been sent to them since.",
		}},
		{"history", func(p views.Page) templ.Component {
			return views.ChoicesHistory(p, views.ChoicesHistoryView{Person: jane, Decisions: []store.ConsentDecision{decision}, ViewerID: 9, Carer: p.Acting != nil})
		}, "History of your choices", "History of Mrs Jane Example's choices", []string{
			"Every change to Mrs Jane Example's choices, newest first.",
			"Research: no, Mrs Jane Example's data is not used",
			"Ann Example (daughter), acting for Mrs Jane Example",
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
