package views

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

func TestFormatDate(t *testing.T) {
	tests := []struct{ in, want string }{
		{"2026-03-14", "14 March 2026"},
		{"2026-03-04", "4 March 2026"},
		{"2026-03", "March 2026"},
		{"2026", "2026"},
		{"", "Date not recorded"},
		{"   ", "Date not recorded"},
		{"2026-03-14T09:30:00Z", "14 March 2026"},
		{"2026-03-14T09:30:00.123Z", "14 March 2026"},
		{"2026-06-14T23:30:00+01:00", "14 June 2026"}, // the date where it was recorded
		{"2026-06-14T00:30:00-05:00", "14 June 2026"},
		{"2026-06-14T23:30:00Z", "15 June 2026"},      // UTC: 00:30 the next morning in the UK (summer time)
		{"2026-06-14T23:30:00+00:00", "15 June 2026"}, // the same, as Synthea writes it
		{"2026-01-14T23:30:00Z", "14 January 2026"},   // winter: the UK is on UTC
		{"2026-06-01T23:30Z", "2 June 2026"},          // no seconds, as FHIR allows: still the UK day (a clinical-safety review)
		{"2026-06-01T23:30+01:00", "1 June 2026"},
		{"2026-03-14T09:30:00", "14 March 2026"},
		{"2026-03-14 09:30:00", "14 March 2026"}, // SQLite datetime()
		{"1957-03-14", "14 March 1957"},
		{"not a date", "not a date"},
		{"2026-02-30", "2026-02-30"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := formatDate(tt.in); got != tt.want {
				t.Errorf("formatDate(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestStatusText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"active", "Active"},
		{"ACTIVE", "Active"},
		{"completed", "Completed"},
		{"resolved", "Resolved"},
		{"inactive", "Inactive"},
		{"stopped", "Stopped"},
		{"entered-in-error", "Recorded in error"},
		{"finished", "Took place"},
		{"final", "Complete"},
		{"amended", "Updated"},
		{"preliminary", "Early result: it may change"},
		{"registered", "Not ready yet"},
		{"superseded", "Replaced by a newer version"},
		{"current", "Current"},
		{"in-progress", "In progress"},
		{"booked", "Booked"},
		{"cancelled", "Cancelled"},
		{"not-done", "Not done"},
		{"on-hold", "On hold"},
		{"unconfirmed", "Suspected, not confirmed"},
		{"confirmed", "Confirmed"},
		{"refuted", "Ruled out"},
		{"noshow", "Did not attend"},
		{"some-code", "Some code"},
		{"SOME_OTHER-code", "Some other code"},
		{"", "Not recorded"},
		{" - ", "Not recorded"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := statusText(tt.in); got != tt.want {
				t.Errorf("statusText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestItemNameAndFrom(t *testing.T) {
	gp := store.Source{Name: "gp", OrgName: "Meanwood Group Practice"}
	tests := []struct {
		name           string
		it             store.RecordItem
		wantName, from string
	}{
		{"plain", store.RecordItem{Display: "Penicillin", Source: gp}, "Penicillin", "Meanwood Group Practice"},
		{"blank display", store.RecordItem{Display: "  ", Source: gp}, "Unnamed item", "Meanwood Group Practice"},
		{"organisation is the source", store.RecordItem{Display: "x", Organisation: "meanwood group practice", Source: gp}, "x", "Meanwood Group Practice"},
		{"another organisation", store.RecordItem{Display: "x", Organisation: "Leeds Pathology", Source: gp}, "x", "Meanwood Group Practice (Leeds Pathology)"},
		{"source without org name", store.RecordItem{Display: "x", Source: store.Source{Name: "lab-feed"}}, "x", "lab-feed"},
		{"two sources: the clinician beside the one that named them", store.RecordItem{Display: "x", Organisation: "Dr Tom Reid", Source: gp,
			Sources: []store.Source{gp, {Name: "lth", OrgName: "Leeds Teaching Hospitals"}}}, "x", "Meanwood Group Practice (Dr Tom Reid), Leeds Teaching Hospitals"},
		{"no source at all", store.RecordItem{Display: "x", Organisation: "Dr Tom Reid"}, "x", "Dr Tom Reid"},
		{"nothing known", store.RecordItem{Display: "x"}, "x", "Not recorded"},
		// A coding system's words, and capitals, as people write them (found by a review).
		{"a SNOMED CT kind of concept", store.RecordItem{Display: "Osteoporosis (disorder)"}, "Osteoporosis", "Not recorded"},
		{"a procedure", store.RecordItem{Display: "General examination of patient (procedure)"}, "General examination of patient", "Not recorded"},
		{"brackets that say more", store.RecordItem{Display: "Fracture (left wrist)"}, "Fracture (left wrist)", "Not recorded"},
		{"all capitals", store.RecordItem{Display: "CURRENT ANTIRETROVIRAL DRUGS USED FOR TREATMENT"}, "Current antiretroviral drugs used for treatment", "Not recorded"},
		{"an abbreviation", store.RecordItem{Display: "HIV"}, "HIV", "Not recorded"},
		{"a medicine's strength", store.RecordItem{Section: fhir.SectionMedicines, Display: "NDA020800 0.3 ML Epinephrine 1 MG/ML Auto-Injector"}, "0.3 ml Adrenaline 1 mg/ml Auto-Injector", "Not recorded"}, // the UK name (ukName)
		{"Tall Man lettering", store.RecordItem{Section: fhir.SectionMedicines, Display: "diphenhydrAMINE Hydrochloride 25 MG Oral Tablet"}, "diphenhydrAMINE Hydrochloride 25 mg Oral Tablet", "Not recorded"},
		// Abbreviations in capitals, and units with no lower case of their own (found by a review).
		{"an abbreviation in capitals", store.RecordItem{Display: "MMR VACCINE"}, "MMR vaccine", "Not recorded"},
		{"a number in capitals", store.RecordItem{Display: "COVID-19 VACCINE"}, "COVID-19 vaccine", "Not recorded"},
		{"a test in capitals", store.RecordItem{Display: "HIV ANTIBODY TEST"}, "HIV antibody test", "Not recorded"},
		{"a letter in capitals", store.RecordItem{Display: "HEPATITIS B VACCINE"}, "Hepatitis B vaccine", "Not recorded"},
		{"units", store.RecordItem{Section: fhir.SectionMedicines, Display: "Insulin Glargine 100 UNT/ML Pen Injector"}, "Insulin Glargine 100 units/ml Pen Injector", "Not recorded"},
		{"milliequivalents", store.RecordItem{Section: fhir.SectionMedicines, Display: "Potassium Chloride 20 MEQ Extended Release Oral Tablet"}, "Potassium Chloride 20 mEq Extended Release Oral Tablet", "Not recorded"},
		{"a medicine in capitals", store.RecordItem{Section: fhir.SectionMedicines, Display: "INSULIN GLARGINE 100 UNT/ML PEN INJECTOR"}, "Insulin glargine 100 units/ml pen injector", "Not recorded"},
		{"an inhaler in capitals", store.RecordItem{Section: fhir.SectionMedicines, Display: "FLUTICASONE 50 MCG/ACTUAT NASAL SPRAY"}, "Fluticasone 50 micrograms/puff nasal spray", "Not recorded"},
		{"short words in capitals", store.RecordItem{Display: "RASH ON FACE"}, "Rash on face", "Not recorded"},
		{"an abbreviation and short words in capitals", store.RecordItem{Display: "ECG AT REST"}, "ECG at rest", "Not recorded"},
		{"only short words in capitals", store.RecordItem{Display: "HEP A"}, "HEP A", "Not recorded"},
		{"a short abbreviation in capitals", store.RecordItem{Display: "PCP PROPHYLAXIS PLAN"}, "PCP prophylaxis plan", "Not recorded"},
		{"an abbreviation among words in capitals", store.RecordItem{Display: "PATIENT REPORTED CURRENT TB TREATMENT"}, "Patient reported current TB treatment", "Not recorded"},
		{"an abbreviation without a vowel", store.RecordItem{Display: "VDRL"}, "VDRL", "Not recorded"},
		{"a single letter in capitals", store.RecordItem{Display: "HEPATITIS A VACCINE"}, "Hepatitis A vaccine", "Not recorded"},
		{"puffs", store.RecordItem{Section: fhir.SectionMedicines, Display: "120 ACTUAT Albuterol 0.09 MG/ACTUAT Metered Dose Inhaler"}, "120 puffs Salbutamol 0.09 mg/puff Metered Dose Inhaler", "Not recorded"},
		// UK names for US ones (a review of real records).
		{"a US medicine name", store.RecordItem{Section: fhir.SectionMedicines, Display: "Acetaminophen 325 MG Oral Tablet"}, "Paracetamol 325 mg Oral Tablet", "Not recorded"},
		// FHIR's word for a visit, which people do not use (a review).
		{"an encounter", store.RecordItem{Section: fhir.SectionEncounters, Display: "Encounter for check up (procedure)"}, "Visit for check up", "Not recorded"},
		{"an encounter within", store.RecordItem{Section: fhir.SectionDocuments, Display: "Report of clinic encounter"}, "Report of clinic visit", "Not recorded"},
		{"encountered is no encounter", store.RecordItem{Display: "Problems encountered at school"}, "Problems encountered at school", "Not recorded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ItemName(tt.it); got != tt.wantName {
				t.Errorf("itemName = %q, want %q", got, tt.wantName)
			}
			if got := itemFrom(tt.it); got != tt.from {
				t.Errorf("itemFrom = %q, want %q", got, tt.from)
			}
		})
	}
}

func TestShowing(t *testing.T) {
	items := func(n int) []store.RecordItem { return make([]store.RecordItem, n) }
	tests := []struct {
		name string
		sp   store.SectionPage
		want string
	}{
		{"empty", store.SectionPage{PerPage: 25}, ""},
		{"one", store.SectionPage{Items: items(1), Total: 1, Page: 1, PerPage: 25}, "Showing 1 item."},
		{"all on one page", store.SectionPage{Items: items(3), Total: 3, Page: 1, PerPage: 25}, "Showing 3 items."},
		{"second page", store.SectionPage{Items: items(25), Total: 130, Page: 2, PerPage: 25}, "Showing 26 to 50 of 130 items."},
		{"last page", store.SectionPage{Items: items(5), Total: 130, Page: 6, PerPage: 25}, "Showing 126 to 130 of 130 items."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := showing(tt.sp); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCurrentNav(t *testing.T) {
	tests := []struct{ path, href, want string }{
		{"/record", "/record", "page"},
		{"/record/medicines", "/record", "true"},
		{"/recordings", "/record", ""},
		{"/", "/record", ""},
		{"/signin", "/", ""},
	}
	for _, tt := range tests {
		if got := currentNav(tt.path, tt.href); got != tt.want {
			t.Errorf("currentNav(%q, %q) = %q, want %q", tt.path, tt.href, got, tt.want)
		}
	}
}

func TestTitle(t *testing.T) {
	tests := []struct {
		p    Page
		want string
	}{
		{Page{Title: "Sign in"}, "Sign in – My Care Record"},
		{Page{Title: "My Care Record"}, "My Care Record"},
		{Page{}, "My Care Record"},
		{Page{Title: "Set up your account", HasErrors: true}, "Error: Set up your account – My Care Record"},
	}
	for _, tt := range tests {
		if got := tt.p.title(); got != tt.want {
			t.Errorf("title(%+v) = %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestSectionHelpers(t *testing.T) {
	for _, s := range fhir.Sections() {
		if itemHeading(s.Slug) == "Item" {
			t.Errorf("section %s has no column heading of its own", s.Slug)
		}
		if sectionEmpty(s.Slug) != s.Empty {
			t.Errorf("section %s: empty text %q", s.Slug, sectionEmpty(s.Slug))
		}
	}
	if got := allCounts(map[string]int{"medicines": 3}); got["medicines"] != 3 || len(got) != len(fhir.Sections()) {
		t.Errorf("allCounts = %v", got)
	}
	if got := navCount(map[string]int{}, "medicines"); got != -1 {
		t.Errorf("navCount of a missing section = %d, want -1", got)
	}
}

// Each box a date's message names is marked, and only those.
func TestDateBoxesMarked(t *testing.T) {
	for _, tt := range []struct {
		field, msg string
		want       string // the boxes marked, in day month year order
	}{
		{"dob-month", "Date of birth must include a month between 1 and 12 and a year with 4 numbers", "month year"},
		{"dob-day", "Date of birth must include a day between 1 and 31 and a month between 1 and 12", "day month"},
		{"dob-year", "Year must include 4 numbers, like 1984", "year"},
		{"dob-day", "Date of birth must be a real date", "day month year"},
		{"from-day", "Date from must include a day and a month", "day month"},
	} {
		d := dateField{ID: strings.SplitN(tt.field, "-", 2)[0], Errors: []FieldError{{tt.field, tt.msg}}}
		var got []string
		for _, part := range []string{"day", "month", "year"} {
			if d.boxWrong(part) {
				got = append(got, part)
			}
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("%q on %s marks %q, want %q", tt.msg, tt.field, got, tt.want)
		}
	}
}

func TestWholeDateWrong(t *testing.T) {
	tests := []struct {
		msg  string
		want bool
	}{
		{"Enter your date of birth", true},
		{"Date of birth must be a real date", true},
		{"Date of birth must include a day between 1 and 31", false},
		{"The date of birth does not match our records", true},
	}
	for _, tt := range tests {
		if got := wholeDateWrong([]FieldError{{"dob-day", tt.msg}}, "dob"); got != tt.want {
			t.Errorf("wholeDateWrong(%q) = %v, want %v", tt.msg, got, tt.want)
		}
	}
	if wholeDateWrong([]FieldError{{"dob-year", "Year must include 4 numbers, like 1984"}}, "dob") {
		t.Error("a year error marks every box")
	}
}

func TestReadableValue(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"121 mm[Hg]", "121 mmHg"},
		{"Systolic 121 mm[Hg], diastolic 80 mm[Hg]", "Systolic 121 mmHg, diastolic 80 mmHg"},
		{"59 mL/min/{1.73_m2}", "59 mL/min/1.73m²"},
		{"Normal range: at least 60 mL/min/{1.73_m2}. Low", "Normal range: at least 60 mL/min/1.73m². Low"},
		{"7.2 mmol/L", "7.2 mmol/L"},
		{"1 tablet twice a day", "1 tablet twice a day"},
		{"8 {score}", "8"},
		{"Total: 8 {score}; anxiety: 3 {score}", "Total: 8; anxiety: 3"},
		{"98 %", "98%"},
		{"98 %.", "98%."},
		{"Reduced by % each week", "Reduced by % each week"},
		{"1 {tbl} twice daily", "1 {tbl} twice daily"},
		{"Score {score} recorded", "Score {score} recorded"},
		{"<5 %", "<5%"},
		{"", ""},
		{"1.0625 mg twice a day", "1.0625 mg twice a day"}, // a dose: never rounded
		{"Ended 2020-09-01", "Ended 1 September 2020"},
		{"Ended 2020-09-01.", "Ended 1 September 2020."},
		{"Until 1990-06-19. Reason: Appendicitis", "Until 19 June 1990. Reason: Appendicitis"}, // a hospital stay
		{"Code 2020-99-01", "Code 2020-99-01"},
	} {
		if got := readableValue(tt.in); got != tt.want {
			t.Errorf("readableValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// A test result's digits from a device or a calculation, as people read
// them (found by a review).
func TestReadableResult(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"72.97763358096024 kg", "72.98 kg"},
		{"107.80855864552082 mg/dL", "107.8 mg/dL"},
		{"2.075236851568944 {score}", "2.075"},
		{"-3.7203722204883998 {T-score}", "-3.72 {T-score}"},
		{"<0.012345678 mg/L", "<0.01235 mg/L"},
		{"7.125 mmol/L", "7.125 mmol/L"},
		{"Systolic 121.00004 mm[Hg], diastolic 80 mm[Hg]", "Systolic 121 mmHg, diastolic 80 mmHg"},
	} {
		if got := readableResult(tt.in); got != tt.want {
			t.Errorf("readableResult(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestItemValueSaysWhatARateCounts(t *testing.T) {
	for _, tt := range []struct {
		it   store.RecordItem
		want string
	}{
		{store.RecordItem{Section: fhir.SectionResults, CodeSystem: "http://loinc.org", Code: "8867-4", Display: "Heart rate", Value: "72 /min"}, "72 beats per minute"},
		{store.RecordItem{Section: fhir.SectionResults, CodeSystem: "http://loinc.org", Code: "9279-1", Display: "Respiratory rate", Value: "17 /min"}, "17 breaths per minute"},
		{store.RecordItem{Section: fhir.SectionResults, Display: "Pulse rate", Value: "64 /min"}, "64 beats per minute"},
		{store.RecordItem{Section: fhir.SectionResults, Display: "Infusion rate", Value: "5 /min"}, "5 per minute"},
		{store.RecordItem{Section: fhir.SectionMedicines, Display: "Heart rate tablets", Value: "1 per minute"}, "1 per minute"},
	} {
		if got := itemValue(tt.it); got != tt.want {
			t.Errorf("itemValue(%s %q) = %q, want %q", tt.it.Display, tt.it.Value, got, tt.want)
		}
	}
}

func TestItemNameOfAKnownTest(t *testing.T) {
	for _, tt := range []struct {
		it   store.RecordItem
		want string
	}{
		{store.RecordItem{Section: fhir.SectionResults, CodeSystem: "http://loinc.org", Code: "85354-9", Display: "Blood pressure panel with all children optional"}, "Blood pressure"},
		{store.RecordItem{Section: fhir.SectionResults, CodeSystem: "http://loinc.org", Code: "4548-4", Display: "Hemoglobin A1c/Hemoglobin.total in Blood"}, "HbA1c"},
		{store.RecordItem{Section: fhir.SectionResults, CodeSystem: "http://loinc.org", Code: "99999-9", Display: "Kidney stone analysis"}, "Kidney stone analysis"},
		{store.RecordItem{Section: fhir.SectionResults, CodeSystem: "http://loinc.org", Code: "99998-9", Display: "Microalbumin/Creatinine [Mass Ratio] in Urine"}, "Microalbumin/Creatinine in Urine"},
		{store.RecordItem{Section: fhir.SectionMedicines, Display: "Cream [Ointment base]"}, "Cream [Ointment base]"},
		{store.RecordItem{Section: fhir.SectionMedicines, CodeSystem: "http://loinc.org", Code: "4548-4", Display: "Not a test"}, "Not a test"},
		{store.RecordItem{Section: fhir.SectionResults}, "Unnamed item"},
	} {
		if got := ItemName(tt.it); got != tt.want {
			t.Errorf("ItemName(%q) = %q, want %q", tt.it.Display, got, tt.want)
		}
	}
}

func TestViewedWhat(t *testing.T) {
	named := LogNames{
		Entries: map[int64]store.RecordItem{
			12: {ID: 12, Section: fhir.SectionMedicines, Display: "Metformin 500mg tablets"},
			14: {ID: 14, Section: fhir.SectionDocuments, Display: "Discharge summary"},
			16: {ID: 16, Section: fhir.SectionResults, ResourceType: "DiagnosticReport", Display: "Full blood count"},
			17: {ID: 17, Section: fhir.SectionResults, ResourceType: "Observation", Display: "Haemoglobin"},
		},
		Tests: map[string]string{"loinc-2951-2": "Sodium [Moles/volume] in Serum or Plasma"},
	}
	for _, tt := range []struct{ what, want string }{
		{"results:loinc-4548-4", "your HbA1c results"},
		{"results:loinc-2951-2", "the results of the test Sodium in Serum or Plasma"},
		{"results:loinc-99999-9", "the results of one test"}, // no longer in the record
		{"download document 14/1", "Discharge summary, a document (downloaded)"},
		{"download document 15/1", "a document (downloaded)"},
		{"download document 12/1", "a document (downloaded)"}, // its id taken since by an entry elsewhere
		{"download document 16/0", "Full blood count, in your test results (its document downloaded)"},
		{"download document 17/0", "a document (downloaded)"}, // a result has no document: its id taken since
		{"choices entry 12", "your sharing choices about Metformin 500mg tablets"},
		{"choices entry 13", "your sharing choices about an entry"}, // no longer in the record
		{store.PersonsListed, "your name, date of birth, NHS number and which organisations hold your record, in the list of people this portal holds"},
		{"medicines entry 12", "Metformin 500mg tablets, in your medicines"},
		{"medicines entry 13", "an entry in medicines"},          // no longer in the record
		{"conditions entry 12", "an entry in health conditions"}, // its id taken since by an entry elsewhere
		{"medicines", "your medicines"},
	} {
		if got := viewedWhat(tt.what, named); got != tt.want {
			t.Errorf("viewedWhat(%q) = %q, want %q", tt.what, got, tt.want)
		}
	}
}

func TestAccessWho(t *testing.T) {
	for _, tt := range []struct {
		a    store.Access
		want string
	}{
		{store.Access{ActorKind: store.ActorSelf}, "You"},
		{store.Access{ActorKind: store.ActorCarer, ActorName: "John Smith", Relationship: "son"}, "Your carer John Smith (son)"},
		{store.Access{ActorKind: store.ActorOperator, ActorName: "jsmith"}, store.OperatorLabel("jsmith")},
	} {
		a := tt.a
		if got := accessWho(store.AccessLogEntry{Local: &a}); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.a.ActorKind, got, tt.want)
		}
	}
}

func TestRecordedAs(t *testing.T) {
	test := store.ResultTest{CodeSystem: "http://loinc.org", Code: "4548-4", Name: "HbA1c",
		Latest: store.Result{Item: store.RecordItem{Section: fhir.SectionResults, CodeSystem: "http://loinc.org", Code: "4548-4", Display: "Hemoglobin A1c/Hemoglobin.total in Blood"}}}
	if got, want := recordedAs(test), `The record names this test "Hemoglobin A1c/Hemoglobin.total in Blood". Its LOINC code is 4548-4.`; got != want {
		t.Errorf("recordedAs = %q, want %q", got, want)
	}
}

func TestTheirs(t *testing.T) {
	carer := context.WithValue(context.Background(), actingKey{}, &Acting{Name: "Mrs Jane Example"})
	for _, tt := range []struct{ in, want string }{
		{"Your HbA1c went from 48 to 53 mmol/mol.", "Mrs Jane Example's HbA1c went from 48 to 53 mmol/mol."},
		{"No medicines have been recorded for you.", "No medicines have been recorded for Mrs Jane Example."},
		{"You do not have any documents yet.", "Mrs Jane Example does not have any documents yet."},
		{"the organisations that care for you", "the organisations that care for Mrs Jane Example"},
		{"Vitamin drops for young children", "Vitamin drops for young children"}, // whole words only
		{"yourself and yours", "yourself and yours"},
	} {
		if got := theirs(carer, tt.in); got != tt.want {
			t.Errorf("theirs(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := theirs(context.Background(), tt.in); got != tt.in {
			t.Errorf("theirs changed %q for the person themselves: %q", tt.in, got)
		}
	}
	if got := foundText(store.SearchResults{Total: 1, Query: "for young"}, theirs(carer, "your record")); got != "We found 1 entry in Mrs Jane Example's record that matches ‘for young’." {
		t.Errorf("foundText = %q", got)
	}
	if got := optionLabel(Page{Acting: &Acting{Name: "Mrs Jane Example"}}, store.WithholdQuestion(store.CategoryMentalHealth), "no"); got != "No, share it like the rest of Mrs Jane Example's record" {
		t.Errorf("a carer's answer = %q", got)
	}
}

// Dates in words are UK dates: 23:30 UTC on 1 July is 2 July in the UK, and
// "Updated … on" said 1 July (found by a review).
func TestAgoNamesTheUKDay(t *testing.T) {
	at := time.Date(2026, 7, 1, 23, 30, 0, 0, time.UTC)
	if got := ago(at.Add(72*time.Hour), at); got != "on 2 July 2026" {
		t.Errorf("ago: %q; want the UK date, on 2 July 2026", got)
	}
	if got := printedOn(Page{Now: at}); got != "Printed on 2 July 2026" {
		t.Errorf("printedOn: %q; want the UK date", got)
	}
}

// A related entry says its status when it is other than the usual one, so a
// diagnosis at a visit recorded in error or ruled out, a procedure not done
// or an early result never reads as standing (found by a clinical-safety
// review).
func TestRelatedEntrySaysItsStatus(t *testing.T) {
	for _, tt := range []struct {
		it   store.RecordItem
		want string
	}{
		{store.RecordItem{Section: fhir.SectionConditions, Date: "2025-05-01", Status: "entered-in-error"}, " – Health conditions, 1 May 2025. Recorded in error"},
		{store.RecordItem{Section: fhir.SectionConditions, Date: "2025-05-01", Status: "refuted"}, " – Health conditions, 1 May 2025. Ruled out"},
		{store.RecordItem{Section: fhir.SectionProcedures, Date: "2025-05-01", Status: "not-done"}, " – Procedures, 1 May 2025. Not done"},
		{store.RecordItem{Section: fhir.SectionResults, Date: "2025-05-01", Status: "preliminary", Value: "118 mmol/L"}, " – Test results, 1 May 2025: 118 mmol/L. Early result: it may change"},
		{store.RecordItem{Section: fhir.SectionConditions, Date: "2025-05-01", Status: "active"}, " – Health conditions, 1 May 2025"},
		{store.RecordItem{Section: fhir.SectionResults, Date: "2025-05-01", Status: "final", Value: "4.1 mmol/L"}, " – Test results, 1 May 2025: 4.1 mmol/L"},
	} {
		if got := relatedMeta(tt.it); got != tt.want {
			t.Errorf("%s %s: %q, want %q", tt.it.Section, tt.it.Status, got, tt.want)
		}
	}
}

// An appointment's date says its time too, in UK time when given in UTC.
func TestItemDateOfAnAppointment(t *testing.T) {
	for _, tt := range []struct{ typ, date, want string }{
		{"Appointment", "2026-03-20T09:30:00Z", "20 March 2026 at 9:30am"},
		{"Appointment", "2026-03-30T09:30:00Z", "30 March 2026 at 10:30am"}, // British Summer Time
		{"Appointment", "2026-06-01T23:30Z", "2 June 2026 at 12:30am"},
		{"Appointment", "2026-06-01T14:05:00+01:00", "1 June 2026 at 2:05pm"},
		{"Appointment", "2026-06-01", "1 June 2026"},
		{"Encounter", "2026-03-30T09:30:00Z", "30 March 2026"},
		// Found by a review: any offset is UK time, and the day is its day.
		{"Appointment", "2026-01-15T09:30:00+01:00", "15 January 2026 at 8:30am"},
		{"Appointment", "2026-06-01T23:30:00-05:00", "2 June 2026 at 5:30am"},
		{"Appointment", "2026-06-01T10:00:00+02:00", "1 June 2026 at 9:00am"},
		// Midnight exactly is a day without a time; the hour that comes twice says which.
		{"Appointment", "2026-06-01T00:00:00+01:00", "1 June 2026"},
		{"Appointment", "2026-05-31T23:00:00Z", "1 June 2026"},
		{"Appointment", "2026-10-25T00:30:00Z", "25 October 2026 at 1:30am BST"},
		{"Appointment", "2026-10-25T01:30:00Z", "25 October 2026 at 1:30am GMT"},
	} {
		if got := itemDate(store.RecordItem{ResourceType: tt.typ, Date: tt.date}); got != tt.want {
			t.Errorf("%s at %s: %q, want %q", tt.typ, tt.date, got, tt.want)
		}
	}
	// A visit planned says its time as an appointment does (a clinical-safety
	// review: a planned 7:30 admission showed only its day).
	planned := store.RecordItem{ResourceType: "Encounter", Status: "planned", Date: "2026-12-07T07:30:00Z"}
	if got, want := itemDate(planned), "7 December 2026 at 7:30am"; got != want {
		t.Errorf("a planned visit: %q, want %q", got, want)
	}
}

// TestUnitsOnlyAfterANumber: a unit's spelling is put as people read it only
// where it follows a number, never in words that merely spell one ("Kidney
// stone" read "Kidney st" on a procedure's reason, a clinical-safety review);
// and a SNOMED CT kind of concept is left out of words as out of names.
func TestUnitsOnlyAfterANumber(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"Reason: Kidney stone", "Reason: Kidney stone"},
		{"Stone in ureter", "Stone in ureter"},
		{"Meter reading", "Meter reading"},
		{"Normal range: 20 to 41 mmol/mol", "Normal range: 20 to 41 mmol/mol"},
		{"Systolic 128 mm[Hg]", "Systolic 128 mmHg"},
		{"120/80 mm[Hg]", "120/80 mmHg"},
		{"(128 mm[Hg]) at rest", "(128 mmHg) at rest"},
		{"Normal range 3.5-5.3 mmol/L", "Normal range 3.5-5.3 mmol/L"},
		// A name's SNOMED CT kind of concept is left out in words, as in a name.
		{"Reason: Viral sinusitis (disorder), Cough (finding). Where: Left kidney (body structure)", "Reason: Viral sinusitis, Cough. Where: Left kidney"},
		{"Reason: Acute bronchitis (disorder) · Key worker", "Reason: Acute bronchitis · Key worker"},
		{"Reason: a note (see the disorder) here", "Reason: a note (see the disorder) here"},
		// Found by a review of the change: a Unicode minus, thousands, a UCUM spelling standing alone.
		{"−2.5 kg/m2", "−2.5 kg/m²"},
		{"1,200 mm[Hg]", "1,200 mmHg"},
		{"Units: mm[Hg]", "Units: mmHg"},
	} {
		if got := readableWords(tt.in, false); got != tt.want {
			t.Errorf("readableWords(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestHasEnded: a care plan or care team member still active whose end has
// passed reads "Ended", worked out on the day the page is shown; an end given
// as a month or a year lasts to its last day (a review: "2026-11" read as
// ended in November 2026).
func TestHasEnded(t *testing.T) {
	today := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		section, status, detail string
		want                    bool
	}{
		{fhir.SectionCareTeam, "active", "Key worker · Falls team · Until 2022-03-01", true},
		{fhir.SectionCareTeam, "active", "Key worker · Until 2026-11-27", true},
		{fhir.SectionCareTeam, "active", "Key worker · Until 2026-11-28", false},
		{fhir.SectionCareTeam, "active", "Key worker · Until 2026-11", false},
		{fhir.SectionCareTeam, "active", "Key worker · Until 2026-10", true},
		{fhir.SectionCarePlans, "on-hold", "Until 2026", false},
		{fhir.SectionCarePlans, "active", "Includes: Exercise. Until 2025", true},
		{fhir.SectionCarePlans, "completed", "Until 2019-01-01", false},
		{fhir.SectionConditions, "active", "Until 2019-01-01", false},
		{fhir.SectionCarePlans, "active", "Stay active Until 2019 is over", false},
	} {
		it := store.RecordItem{Section: tt.section, Status: tt.status, Detail: tt.detail}
		if got := hasEnded(it, today); got != tt.want {
			t.Errorf("%s %s %q: ended %v, want %v", tt.section, tt.status, tt.detail, got, tt.want)
		}
	}
	if got := itemStatus(store.RecordItem{Section: fhir.SectionCareTeam, Status: "active", Detail: "Until 2000-01-01"}); got != "Ended" {
		t.Errorf("itemStatus of a member who left in 1999: %q", got)
	}
}

// TestPastBookedAppointment: an appointment still "booked" on a day gone
// says it is not known whether it took place; one today or to come, or one
// whose status moved on, says its status (a review: "Booked" ten days on).
func TestPastBookedAppointment(t *testing.T) {
	today := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		typ, status, date string
		want              bool
	}{
		{"Appointment", "booked", "2026-11-18T10:20:00Z", true},
		{"Appointment", "booked", "2026-11-28T08:00:00Z", false},
		{"Appointment", "booked", "2026-12-01", false},
		{"Appointment", "fulfilled", "2026-11-18", false},
		{"Encounter", "booked", "2026-11-18", false},
		{"Appointment", "booked", "2026", false},
		{"Appointment", "booked", "2026-11-27T23:30:00Z", true}, // 27 November in the UK in winter
	} {
		it := store.RecordItem{ResourceType: tt.typ, Status: tt.status, Date: tt.date}
		if got := bookedBefore(it, today); got != tt.want {
			t.Errorf("%s %s on %s: booked before today %v, want %v", tt.typ, tt.status, tt.date, got, tt.want)
		}
	}
	// In summer, 23:30Z is the next day's half past midnight: 20 minutes
	// before it, it is no appointment gone (a review).
	summer := time.Date(2026, 7, 1, 23, 10, 0, 0, time.UTC).In(ukZone()) // as reportStatus gives it
	if bookedBefore(store.RecordItem{ResourceType: "Appointment", Status: "booked", Date: "2026-07-01T23:30:00Z"}, summer) {
		t.Error("an appointment at 00:30 on 2 July (UK) is taken as gone at 00:10 on 2 July")
	}
	if got := itemStatus(store.RecordItem{ResourceType: "Appointment", Status: "booked", Date: "2020-01-01"}); got != "Booked, not known if it took place" {
		t.Errorf("itemStatus of an appointment booked for 2020: %q", got)
	}
}

// TestDiedWords: a death given as a year or a month is said "in", and one
// with no date says what shows as current may not have been then (a review).
func TestDiedWords(t *testing.T) {
	p := store.Person{Prefix: "Mr", Given: "Fletcher", Family: "Hyatt"}
	for _, tt := range []struct{ died, want string }{
		{"1996-01-21T19:20:06+00:00", "The record says Mr Fletcher Hyatt died on 21 January 1996. Medicines and health conditions shown as current were current then."},
		{"1996-01-21", "The record says Mr Fletcher Hyatt died on 21 January 1996. Medicines and health conditions shown as current were current then."},
		{"1996-01", "The record says Mr Fletcher Hyatt died in January 1996. Medicines and health conditions shown as current were current then."},
		{"1996", "The record says Mr Fletcher Hyatt died in 1996. Medicines and health conditions shown as current were current then."},
		{"yes", "The record says Mr Fletcher Hyatt has died. Medicines and health conditions shown as current may not have been current when they died."},
	} {
		if got := diedWords(p, tt.died); got != tt.want {
			t.Errorf("diedWords(%q) = %q; want %q", tt.died, got, tt.want)
		}
	}
}
