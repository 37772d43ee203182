package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// TestUnitWords checks units as the results pages write them. Before, every
// "/min" read "beats per minute" (a breathing rate too), UCUM annotations
// were shown as they are coded ("8 {score}") and a per cent sign stood apart
// from its number ("98 %").
func TestUnitWords(t *testing.T) {
	for _, tt := range []struct {
		number, unit, want string
	}{
		{"17", "/min", "17 per minute"},
		{"73", "{beats}/min", "73 beats per minute"},
		{"16", "{breaths}/min", "16 breaths per minute"},
		{"73", "bpm", "73 beats per minute"},
		{"8", "{score}", "8"},
		{"8", "", "8"},
		{"98", "%", "98%"},
		{"6.1", "percent", "6.1%"},
		{"48", "mmol/mol", "48 mmol/mol"},
		{"59", "mL/min/{1.73_m2}", "59 mL/min/1.73m²"},
		// A device's or a calculation's digits, as people read them (found by a review).
		{"72.97763358096024", "kg", "72.98 kg"},
		{"107.80855864552082", "mg/dL", "107.8 mg/dL"},
		{"0.0123456", "mg/L", "0.01235 mg/L"},
		{"0.0004", "mg/L", "0.0004 mg/L"},
		{"-0.00001", "", "-0.00001"},
	} {
		t.Run(tt.number+" "+tt.unit, func(t *testing.T) {
			if got := store.WithUnit(tt.number, tt.unit); got != tt.want {
				t.Errorf("WithUnit(%q, %q) = %q, want %q", tt.number, tt.unit, got, tt.want)
			}
			if got := (store.Measure{Number: tt.number, Unit: tt.unit}).ValueText(); got != tt.want {
				t.Errorf("ValueText = %q, want %q", got, tt.want)
			}
			// With a comparator, as rounded (found by a review: "<0.012345678" was not).
			if got, want := (store.Measure{Comparator: "<", Number: tt.number, Unit: tt.unit}).ValueText(), "<"+tt.want; got != want {
				t.Errorf("ValueText with a comparator = %q, want %q", got, want)
			}
		})
	}
	for _, tt := range []struct {
		r    store.Range
		want string
	}{
		{store.Range{Low: 95, High: 100, HasLow: true, HasHigh: true, Unit: "%"}, "95 to 100%"},
		{store.Range{Low: 94, HasLow: true, Unit: "%"}, "94% or higher"},
		{store.Range{High: 10, HasHigh: true, Unit: "{score}"}, "10 or lower"},
	} {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.r, got, tt.want)
		}
	}
	// An annotation changes nothing: a score is no unit, and "{beats}/min" is "/min".
	if !store.SameKindOfUnit("{score}", "") || !store.SameKindOfUnit("{beats}/min", "/min") || store.SameKindOfUnit("{score}", "%") {
		t.Errorf("annotated units are not the kind their unit is")
	}
}

// TestTidyTestName checks that the LOINC parts in square brackets leave a
// test's name. Before, the pages said "Patient Health Questionnaire 9 item
// (PHQ-9) total score [Reported]".
func TestTidyTestName(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]", "Patient Health Questionnaire 9 item (PHQ-9) total score"},
		{"Microalbumin/Creatinine [Mass Ratio] in Urine", "Microalbumin/Creatinine in Urine"},
		{"Glucose [Mass/volume] in Serum or Plasma", "Glucose in Serum or Plasma"},
		{"[Reported] score", "score"},
		{"Pressure in mm[Hg]", "Pressure in mm[Hg]"},
		{"Odd [unclosed", "Odd [unclosed"},
		{"[Reported]", "[Reported]"},
		{"  Body   weight ", "Body weight"},
	} {
		if got := store.TidyTestName(tt.in); got != tt.want {
			t.Errorf("TidyTestName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestResultWordsOnThePages checks names and units as ResultTests and
// ResultTrend give them: a breathing rate counts breaths, a heart rate beats,
// any other rate per minute nothing in particular; a score has no unit; a
// name loses its bracketed LOINC parts.
func TestResultWordsOnThePages(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	res := []fhir.Resource{
		searchPatient("p", "9434765870", "Sam"),
		resObs("rr1", "p", resLOINC, "9279-1", "Respiratory rate", "2024-01-11", 16, "/min", "", ""),
		resObs("rr2", "p", resLOINC, "9279-1", "Respiratory rate", "2025-01-11", 17, "/min", "12-20", ""),
		resObs("hr1", "p", resLOINC, "8867-4", "Heart rate", "2024-05-11", 70, "/min", "", ""),
		resObs("hr2", "p", resLOINC, "8867-4", "Heart rate", "2025-05-11", 73, "/min", "", ""),
		resObs("x1", "p", "", "", "Drip rate", "2025-02-01", 20, "/min", "", ""),
		resObs("phq1", "p", resLOINC, "44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]", "2024-02-11", 7, "{score}", "", ""),
		resObs("phq2", "p", resLOINC, "44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]", "2025-02-11", 8, "{score}", "", ""),
		resObs("o2", "p", resLOINC, "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "2025-04-11", 98, "%", "", ""),
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", res); err != nil {
		t.Fatal(err)
	}
	p, err := db.PersonByNHSNumber(ctx, "9434765870")
	if err != nil {
		t.Fatal(err)
	}
	tests, err := db.ResultTests(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]store.ResultTest{}
	for _, tt := range tests {
		byKey[tt.Key] = tt
	}
	for _, tt := range []struct {
		name, key, wantName, wantValue, wantRange, wantSeriesUnit string
	}{
		{"a breathing rate counts breaths", "loinc-9279-1", "Respiratory rate", "17 breaths per minute", "12 to 20 breaths per minute", "breaths per minute"},
		{"a heart rate counts beats", "loinc-8867-4", "Heart rate", "73 beats per minute", "", "beats per minute"},
		{"another rate says only how often", store.TestKey("", "", "Drip rate"), "Drip rate", "20 per minute", "", ""},
		{"a score has no unit, and its name no brackets", "loinc-44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score", "8", "", ""},
		{"a percentage", "loinc-59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "98%", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := byKey[tt.key]
			if !ok {
				t.Fatalf("no test %s", tt.key)
			}
			if got.Name != tt.wantName {
				t.Errorf("name %q, want %q", got.Name, tt.wantName)
			}
			if v := got.Latest.Measures[0].ValueText(); v != tt.wantValue {
				t.Errorf("latest %q, want %q", v, tt.wantValue)
			}
			if tt.wantRange != "" {
				if r := got.Latest.Measures[0].Range.String(); r != tt.wantRange {
					t.Errorf("range %q, want %q", r, tt.wantRange)
				}
			}
			if !got.Trend {
				return
			}
			tr, err := db.ResultTrend(ctx, p.ID, tt.key, 1, 25)
			if err != nil {
				t.Fatal(err)
			}
			if tr.Test.Name != tt.wantName {
				t.Errorf("trend's name %q, want %q", tr.Test.Name, tt.wantName)
			}
			if len(tr.Series) != 1 || tr.Series[0].Unit != tt.wantSeriesUnit {
				t.Fatalf("series %+v, want one in %q", tr.Series, tt.wantSeriesUnit)
			}
			if v := tr.Results[0].Measures[0].ValueText(); v != tt.wantValue {
				t.Errorf("trend's newest %q, want %q", v, tt.wantValue)
			}
		})
	}
}

// TestSearchSaysRangesAsTheResultsPagesDo checks a result's range in a
// search: before, it was the source's words ("Normal range: above 60
// mL/min/1.73m2") while the results pages said "60 mL/min/1.73m² or higher".
func TestSearchSaysRangesAsTheResultsPagesDo(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	egfr := func(id, date string, value float64, rng string) fhir.Resource {
		raw := `{"resourceType":"Observation","id":"` + id + `","status":"final","subject":{"reference":"Patient/p"},` +
			`"code":{"coding":[{"system":"http://loinc.org","code":"62238-1","display":"eGFR"}]},"effectiveDateTime":"` + date + `",` +
			`"valueQuantity":{"value":` + fmt.Sprint(value) + `,"unit":"mL/min/1.73m2","system":"http://unitsofmeasure.org","code":"mL/min/{1.73_m2}"}` + rng + `}`
		return fhir.Resource{Type: "Observation", ID: id, Raw: []byte(raw)}
	}
	res := []fhir.Resource{
		searchPatient("p", "9434765870", "Sam"),
		egfr("low", "2026-03-17", 59, `,"referenceRange":[{"low":{"value":60,"unit":"mL/min/1.73m2"},"text":"above 60 mL/min/1.73m2"}],`+
			`"interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"L","display":"Low"}]}]`),
		egfr("words", "2025-03-17", 76, `,"referenceRange":[{"text":"see report"}]`),
		egfr("none", "2024-03-17", 80, ``),
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", res); err != nil {
		t.Fatal(err)
	}
	p, err := db.PersonByNHSNumber(ctx, "9434765870")
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.SearchRecord(ctx, p.ID, "egfr", store.SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Sections) != 1 || len(r.Sections[0].Items) != 3 {
		t.Fatalf("sections %+v, want the three results", r.Sections)
	}
	for i, want := range []string{"Normal range: 60 mL/min/1.73m² or higher. Low", "Normal range: see report", ""} {
		if got := r.Sections[0].Items[i].Detail; got != want {
			t.Errorf("%s: detail %q, want %q", r.Sections[0].Items[i].Date, got, want)
		}
	}
}
