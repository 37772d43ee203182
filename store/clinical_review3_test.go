package store_test

// The cases of a third clinical-safety review (care plans, appointments and
// visits, documents, vaccinations, procedures and care teams), each a
// failing test when found.

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

func carePlan(id, title, extra string) string {
	return `{"resourceType":"CarePlan","id":"` + id + `","status":"active","intent":"plan","subject":{"reference":"Patient/%s"},` +
		`"title":"` + title + `","category":[{"coding":[{"system":"http://snomed.info/sct","code":"734163000","display":"Care plan"}]}],` +
		`"period":{"start":"2026-10-01"}` + extra + `}`
}

// Two sources' plans of one category on one day with different titles are
// two plans; the same title from both is one.
func TestCarePlansWithOtherTitlesAreTwo(t *testing.T) {
	db := mustOpenDB(t)
	p := importSources(t, db,
		[]string{"gp", carePlan("g1", "Asthma action plan", ""), carePlan("g2", "Falls prevention", "")},
		[]string{"hospital", carePlan("h1", "Epilepsy rescue plan", ""), carePlan("h2", "Falls  prevention", "")})
	got := shownIn(t, context.Background(), db, p, fhir.SectionCarePlans)
	if len(got) != 3 {
		t.Errorf("care plans %q; want the asthma, epilepsy and (one) falls plans", got)
	}
}

// What a plan says not to do is said apart from what it includes, a step
// cancelled is left out, a proposal is proposed, and the plan's own words
// are kept beside its steps.
func TestCarePlanSaysWhatToAvoid(t *testing.T) {
	tests := []struct{ name, extra, status, detail string }{
		{"do not perform", `,"activity":[{"detail":{"code":{"text":"Bending the hip past 90 degrees"},"doNotPerform":true,"status":"in-progress"}},` +
			`{"detail":{"code":{"text":"Walking with frame"},"status":"in-progress"}},{"detail":{"code":{"coding":[{"display":"Non-steroidal anti-inflammatory agent"}]},"doNotPerform":true}}]`,
			"active", "Includes: Walking with frame. Avoid: Bending the hip past 90 degrees, Non-steroidal anti-inflammatory agent"},
		{"a proposal, with steps cancelled", `,"intent":"proposal","activity":[{"detail":{"code":{"text":"Chemotherapy"},"status":"not-started"}},` +
			`{"detail":{"code":{"text":"Radiotherapy"},"status":"cancelled"}},{"detail":{"code":{"text":"Warfarin monitoring"},"status":"stopped"}}]`,
			"proposed", "Includes: Chemotherapy"},
		{"the plan's words and its steps", `,"description":"Call 999 if chest pain lasts more than 15 minutes.","activity":[{"detail":{"code":{"text":"Cardiac rehabilitation"}}}]`,
			"active", "Call 999 if chest pain lasts more than 15 minutes. Includes: Cardiac rehabilitation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := strings.Replace(carePlan("c", "Plan", tt.extra), `"intent":"plan",`, "", strings.Count(tt.extra, `"intent"`))
			items, err := fhir.Project(fhir.Resource{Type: "CarePlan", ID: "c", Raw: []byte(strings.ReplaceAll(raw, "%s", "p"))})
			if err != nil || len(items) != 1 {
				t.Fatalf("%v %v", items, err)
			}
			if items[0].Status != tt.status || items[0].Detail != tt.detail {
				t.Errorf("status %q, detail %q; want %q, %q", items[0].Status, items[0].Detail, tt.status, tt.detail)
			}
		})
	}
}

func appointmentAt(id, st, start, extra string) string {
	return `{"resourceType":"Appointment","id":"` + id + `","status":"` + st + `","serviceType":[{"coding":[{"system":"http://snomed.info/sct","code":"11429006","display":"Consultation"}]}],` +
		`"start":"` + start + `","participant":[{"actor":{"reference":"Patient/%s"},"status":"accepted"}]` + extra + `}`
}

func encounterAt(id, st, start string) string {
	return `{"resourceType":"Encounter","id":"` + id + `","status":"` + st + `","class":{"code":"AMB"},"subject":{"reference":"Patient/%s"},` +
		`"type":[{"coding":[{"system":"http://snomed.info/sct","code":"185349003","display":"Encounter for check up"}]}],"period":{"start":"` + start + `"}}`
}

// Two sources' appointments or visits of one kind on one day are one only at
// one moment, however each wrote its offset; at one moment, a cancellation
// stands, for a visit as for an appointment, whichever source came first.
func TestVisitsOnOneDayAtOtherTimesAreTwo(t *testing.T) {
	tests := []struct {
		name     string
		gp, hosp string
		want     []string
	}{
		{"a clinic cancelled in the morning, another booked in the afternoon",
			appointmentAt("g1", "booked", "2026-12-03T15:00:00Z", ""), appointmentAt("h1", "cancelled", "2026-12-03T09:30:00Z", ""),
			[]string{"booked 2026-12-03T15:00:00Z", "cancelled 2026-12-03T09:30:00Z"}},
		{"one clinic, its offset written two ways: the cancellation stands",
			appointmentAt("g1", "booked", "2026-06-03T09:30:00+01:00", ""), appointmentAt("h1", "cancelled", "2026-06-03T08:30:00Z", ""),
			[]string{"cancelled 2026-06-03T08:30:00Z"}},
		{"a visit planned at one source, cancelled at another",
			encounterAt("g1", "planned", "2026-12-07T07:30:00Z"), encounterAt("h1", "cancelled", "2026-12-07T07:30:00Z"),
			[]string{"cancelled 2026-12-07T07:30:00Z"}},
		{"the same, the cancellation first",
			encounterAt("g1", "cancelled", "2026-12-07T07:30:00Z"), encounterAt("h1", "planned", "2026-12-07T07:30:00Z"),
			[]string{"cancelled 2026-12-07T07:30:00Z"}},
		// A visit one source says took place did, whatever another says (a review).
		{"a visit that took place at one source, cancelled at another",
			encounterAt("g1", "finished", "2026-10-07T07:30:00Z"), encounterAt("h1", "cancelled", "2026-10-07T07:30:00Z"),
			[]string{"finished 2026-10-07T07:30:00Z"}},
		{"a time without an offset is UK time",
			encounterAt("g1", "finished", "2026-07-07T09:30:00"), encounterAt("h1", "finished", "2026-07-07T08:30:00Z"),
			[]string{"finished 2026-07-07T09:30:00"}},
		{"a day and a midnight are one day",
			encounterAt("g1", "finished", "2026-01-07"), encounterAt("h1", "finished", "2026-01-07T00:00:00Z"),
			[]string{"finished 2026-01-07"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := mustOpenDB(t)
			p := importSources(t, db, []string{"gp", tt.gp}, []string{"hospital", tt.hosp})
			var got []string
			for _, s := range shownIn(t, context.Background(), db, p, fhir.SectionEncounters) {
				f := strings.Fields(s)
				got = append(got, f[0]+" "+f[1])
			}
			if strings.Join(got, ", ") != strings.Join(tt.want, ", ") {
				t.Errorf("entries %q, want %q", got, tt.want)
			}
		})
	}
}

// An appointment's instructions to the patient are on its entry.
func TestAppointmentSaysWhatToDoBefore(t *testing.T) {
	raw := strings.ReplaceAll(appointmentAt("a", "booked", "2026-12-10T08:00:00Z",
		`,"description":"Endoscopy","patientInstruction":"Do not eat anything for 6 hours before. Someone must drive you home."`), "%s", "p")
	items, err := fhir.Project(fhir.Resource{Type: "Appointment", ID: "a", Raw: []byte(raw)})
	if err != nil || len(items) != 1 {
		t.Fatalf("%v %v", items, err)
	}
	if want := "Endoscopy. Before your appointment: do not eat anything for 6 hours before. Someone must drive you home"; items[0].Detail != want {
		t.Errorf("detail %q, want %q", items[0].Detail, want)
	}
}

func letter(id, extra string) string {
	return `{"resourceType":"DocumentReference","id":"` + id + `","status":"current","subject":{"reference":"Patient/%s"},` +
		`"type":{"coding":[{"system":"http://loinc.org","code":"34133-9","display":"Summary of episode note"}]},"date":"2026-10-01T10:00:00Z"` + extra + `}`
}

// Two sources' documents of one type on one day, neither described, are one
// letter only when they say so (a master identifier) or hold the same
// content.
func TestLettersOnOneDayAreOneOnlyWhenTheSame(t *testing.T) {
	text := func(s string) string {
		return `,"content":[{"attachment":{"contentType":"text/plain","data":"` + base64.StdEncoding.EncodeToString([]byte(s)) + `"}}]`
	}
	tests := []struct {
		name     string
		gp, hosp string
		want     int
	}{
		{"other content", letter("g1", text("Stop taking aspirin.")), letter("h1", text("Start rivaroxaban 20 mg daily.")), 2},
		{"the same content", letter("g1", text("Stop taking aspirin.")), letter("h1", text("Stop taking aspirin.")), 1},
		{"one master identifier", letter("g1", `,"masterIdentifier":{"system":"urn:ietf:rfc:3986","value":"urn:oid:1.2.3"}`+text("A")),
			letter("h1", `,"masterIdentifier":{"system":"urn:ietf:rfc:3986","value":"urn:oid:1.2.3"}`+text("A, as printed")), 1},
		{"each held where it is", letter("g1", `,"content":[{"attachment":{"url":"Binary/1"}}]`), letter("h1", `,"content":[{"attachment":{"url":"Binary/1"}}]`), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := mustOpenDB(t)
			p := importSources(t, db, []string{"gp", tt.gp}, []string{"hospital", tt.hosp})
			if got := shownIn(t, context.Background(), db, p, fhir.SectionDocuments); len(got) != tt.want {
				t.Errorf("documents %q, want %d", got, tt.want)
			}
		})
	}
}

// A vaccination's reaction is said, and neither a reaction nor a part dose
// hides behind another source's report of the dose without one, which is
// still the same dose.
func TestVaccinationReactionAndPartDoseStand(t *testing.T) {
	dose := func(id, extra string) string {
		return `{"resourceType":"Immunization","id":"` + id + `","status":"completed","patient":{"reference":"Patient/%s"},` +
			`"vaccineCode":{"coding":[{"system":"http://snomed.info/sct","code":"1119349007","display":"COVID-19 mRNA vaccine"}]},"occurrenceDateTime":"2025-10-01"` + extra + `}`
	}
	db := mustOpenDB(t)
	p := importSources(t, db,
		[]string{"gp", dose("g1", ""), strings.Replace(dose("g2", ""), "2025-10-01", "2025-11-01", 1)},
		[]string{"pharmacy", dose("x1", `,"reaction":[{"detail":{"display":"Anaphylaxis"}}]`), strings.Replace(dose("x2", `,"isSubpotent":true`), "2025-10-01", "2025-11-01", 1)})
	shown := shownIn(t, context.Background(), db, p, fhir.SectionImmunisations)
	got := strings.Join(shown, "\n")
	if len(shown) != 2 || !strings.Contains(got, "Reaction: Anaphylaxis from ") || !strings.Contains(got, "Less than a full dose: it may need to be given again from ") {
		t.Errorf("entries, want the two doses, each one, with the pharmacy's words:\n%s", got)
	}
}

// A procedure says where on the body, what went wrong, what was left in and
// what comes next; one done at a time known only in words says it.
func TestProcedureSaysWhereAndWhatFollows(t *testing.T) {
	proc := func(id, extra string) string {
		return `{"resourceType":"Procedure","id":"` + id + `","status":"completed","subject":{"reference":"Patient/%s"},` +
			`"code":{"coding":[{"system":"http://snomed.info/sct","code":"175905003","display":"Nephrectomy"}]}` + extra + `}`
	}
	items, err := fhir.Project(fhir.Resource{Type: "Procedure", ID: "n", Raw: []byte(strings.ReplaceAll(proc("n", `,"performedDateTime":"2024-05-01",`+
		`"bodySite":[{"text":"Left kidney"}],"reasonCode":[{"text":"Kidney stone"}],"complication":[{"text":"Bleeding needing transfusion"}],`+
		`"focalDevice":[{"manipulated":{"display":"Ureteric stent (remove within 6 weeks)"}}],"followUp":[{"text":"Stent removal"}]`), "%s", "p"))})
	want := "Where: Left kidney. Reason: Kidney stone. Complications: Bleeding needing transfusion. Device: Ureteric stent (remove within 6 weeks). Follow-up: Stent removal"
	if err != nil || len(items) != 1 || items[0].Detail != want {
		t.Fatalf("%+v %v; want detail %q", items, err, want)
	}
	items, err = fhir.Project(fhir.Resource{Type: "Procedure", ID: "t", Raw: []byte(strings.ReplaceAll(proc("t", `,"performedString":"As a child, about 1975"`), "%s", "p"))})
	if err != nil || len(items) != 1 || items[0].Detail != "Done as a child, about 1975" {
		t.Fatalf("%+v %v", items, err)
	}
	// One source's report with a site and another's without are one
	// procedure (a review: the site in the key split them).
	db := mustOpenDB(t)
	p := importSources(t, db,
		[]string{"gp", proc("g1", `,"performedDateTime":"2024-05-01","bodySite":[{"text":"Left kidney"}]`)},
		[]string{"hospital", proc("h1", `,"performedDateTime":"2024-05-01"`)})
	if got := shownIn(t, context.Background(), db, p, fhir.SectionProcedures); len(got) != 1 {
		t.Errorf("procedures %q; want one", got)
	}
}

// A care team's member is one entry a team: the same name and role in
// another team is another, with its own status; a member's or a plan's end
// is said, for the page to say when it has passed (views hasEnded).
func TestCareTeamMembersAndPlansEnd(t *testing.T) {
	team := func(id, status, name, extra string) string {
		return `{"resourceType":"CareTeam","id":"` + id + `","status":"` + status + `","name":"` + name + `","subject":{"reference":"Patient/%s"},` +
			`"participant":[{"role":[{"text":"Key worker"}],"member":{"reference":"Practitioner/9","display":"Sam Patel"}` + extra + `}]}`
	}
	db := mustOpenDB(t)
	p := importSources(t, db,
		[]string{"gp", team("g1", "inactive", "Stroke early supported discharge", `,"period":{"start":"2022-01-01"}`)},
		[]string{"community", team("c1", "active", "District nursing", `,"period":{"start":"2026-01-01"}`),
			team("c2", "active", "Falls team", `,"period":{"start":"2021-01-01","end":"2022-03-01"}`),
			team("c3", "active", "Heart failure nurses", `,"period":{"start":"2026-01-01","end":"2999-03-01"}`)})
	got := strings.Join(shownIn(t, context.Background(), db, p, fhir.SectionCareTeam), "\n")
	for _, want := range []string{
		"inactive 2022-01-01 Key worker · Stroke early supported discharge from gp",
		"active 2026-01-01 Key worker · District nursing from community",
		"active 2021-01-01 Key worker · Falls team · Until 2022-03-01 from community", // "Ended" on the page (views hasEnded)
		"active 2026-01-01 Key worker · Heart failure nurses · Until 2999-03-01 from community",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
	plan := `{"resourceType":"CarePlan","id":"c","status":"active","intent":"plan","title":"Diabetes plan","period":{"start":"2018-01-01","end":"2019-01-01"}}`
	items, err := fhir.Project(fhir.Resource{Type: "CarePlan", ID: "c", Raw: []byte(plan)})
	if err != nil || len(items) != 1 || items[0].Status != "active" || items[0].Detail != "Until 2019-01-01" {
		t.Errorf("a plan to 2019: %+v %v", items, err)
	}
}

// A visit and an appointment at one moment are ranked by one rule, whatever
// each report's type: one entry, saying it took place, else cancelled, over
// booked or planned (a review: each stood aside for the other, and the visit
// vanished).
func TestAnAppointmentAndAVisitAtOneMomentAreOne(t *testing.T) {
	appt := func(id, st string) string {
		return `{"resourceType":"Appointment","id":"` + id + `","status":"` + st + `","serviceType":[{"coding":[{"system":"http://snomed.info/sct","code":"185349003","display":"Encounter for check up"}]}],` +
			`"start":"2026-12-07T07:30:00Z","participant":[{"actor":{"reference":"Patient/%s"},"status":"accepted"}]}`
	}
	for _, c := range []struct{ appt, visit, want string }{
		{"arrived", "planned", "arrived"}, {"booked", "finished", "finished"}, {"cancelled", "finished", "finished"},
		{"arrived", "cancelled", "arrived"}, {"booked", "cancelled", "cancelled"}, {"cancelled", "planned", "cancelled"},
	} {
		for _, gpFirst := range []bool{true, false} {
			db := mustOpenDB(t)
			a, v := []string{"gp", appt("g1", c.appt)}, []string{"hospital", encounterAt("h1", c.visit, "2026-12-07T07:30:00Z")}
			if !gpFirst {
				a[0], v[0] = "hospital", "gp"
				a, v = v, a
			}
			p := importSources(t, db, a, v)
			got := shownIn(t, context.Background(), db, p, fhir.SectionEncounters)
			if len(got) != 1 || !strings.HasPrefix(got[0], c.want+" ") {
				t.Errorf("appointment %s, visit %s (appointment first %v): entries %q, want one, %s", c.appt, c.visit, gpFirst, got, c.want)
			}
		}
	}
}

// Of a part dose at one source and a reaction at another (a dose stopped for
// anaphylaxis), the reaction stands; a report by a social care service, or
// with a reason of a kind a person may keep out, never stands over the GP's
// plain report for its reaction, so a carer still sees the dose.
func TestAReactionStandsButNotOverTheCarersView(t *testing.T) {
	ctx := context.Background()
	dose := func(id, extra string) string {
		return `{"resourceType":"Immunization","id":"` + id + `","status":"completed","patient":{"reference":"Patient/%s"},` +
			`"vaccineCode":{"coding":[{"system":"http://snomed.info/sct","code":"1119349007","display":"COVID-19 mRNA vaccine"}]},"occurrenceDateTime":"2025-10-01"` + extra + `}`
	}
	db := mustOpenDB(t)
	p := importSources(t, db,
		[]string{"gp", dose("g1", `,"isSubpotent":true`)},
		[]string{"pharmacy", dose("x1", `,"reaction":[{"detail":{"display":"Anaphylaxis"}}]`)})
	if got := shownIn(t, ctx, db, p, fhir.SectionImmunisations); len(got) != 1 || !strings.Contains(got[0], "Anaphylaxis") {
		t.Errorf("entries %q; want the anaphylaxis to stand", got)
	}

	db = mustOpenDB(t)
	p = importSources(t, db,
		[]string{"gp", dose("g1", "")},
		[]string{"carehome", dose("c1", `,"reaction":[{"detail":{"display":"Sore arm"}}]`)},
		[]string{"clinic", dose("k1", `,"reasonCode":[{"coding":[{"system":"http://snomed.info/sct","code":"86406008","display":"Human immunodeficiency virus infection"}]}],"reaction":[{"detail":{"display":"Sore arm"}}]`)})
	if err := db.SetSourceSocialCare(ctx, "carehome", true); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FinishStalledBulkLoad(ctx, true); err != nil {
		t.Fatal(err)
	}
	for _, cat := range []string{store.CategorySocialCare, store.CategorySexualHealth} {
		if _, err := db.ChangeConsent(ctx, p, janeHerself, store.ConsentChange{Question: store.WithholdQuestion(cat), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
			t.Fatal(err)
		}
	}
	if c := shownIn(t, store.ForCarer(ctx, fhir.SectionImmunisations), db, p, fhir.SectionImmunisations); len(c) != 1 {
		t.Errorf("the carer sees %q; want the GP's dose", c)
	}
}
