package store_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

const (
	resLOINC  = "http://loinc.org"
	resSNOMED = "http://snomed.info/sct"
)

// resObs is an Observation for the results tests. unit may be "unit|code";
// rng is "low-high" in the same unit, or ""; flag is an HL7 interpretation code or "".
func resObs(id, patient, system, code, name, date string, value float64, unit, rng, flag string) fhir.Resource {
	display, ucum, _ := strings.Cut(unit, "|")
	if ucum == "" {
		ucum = display
	}
	coding := ""
	if code != "" {
		coding = fmt.Sprintf(`"coding":[{"system":%q,"code":%q,"display":%q}],`, system, code, name)
	}
	raw := fmt.Sprintf(`{"resourceType":"Observation","id":%q,"status":"final","subject":{"reference":"Patient/%s"},"code":{%s"text":%q},"effectiveDateTime":%q,"valueQuantity":{"value":%v,"unit":%q,"system":"http://unitsofmeasure.org","code":%q}`,
		id, patient, coding, name, date, value, display, ucum)
	if lo, hi, ok := strings.Cut(rng, "-"); ok {
		raw += fmt.Sprintf(`,"referenceRange":[{"low":{"value":%s,"unit":%q},"high":{"value":%s,"unit":%q}}]`, lo, display, hi, display)
	}
	if flag != "" {
		raw += fmt.Sprintf(`,"interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":%q}]}]`, flag)
	}
	return fhir.Resource{Type: "Observation", ID: id, Raw: []byte(raw + "}")}
}

func resText(id, patient, name, date, value string) fhir.Resource {
	raw := fmt.Sprintf(`{"resourceType":"Observation","id":%q,"status":"final","subject":{"reference":"Patient/%s"},"code":{"text":%q},"effectiveDateTime":%q,"valueString":%q}`,
		id, patient, name, date, value)
	return fhir.Resource{Type: "Observation", ID: id, Raw: []byte(raw)}
}

func resBP(id, patient, date string, sys, dia float64) fhir.Resource {
	comp := func(code, name string, v, high float64) string {
		return fmt.Sprintf(`{"code":{"coding":[{"system":"http://loinc.org","code":%q,"display":%q}]},"valueQuantity":{"value":%v,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"},"referenceRange":[{"high":{"value":%v,"unit":"mm[Hg]"}}]}`, code, name, v, high)
	}
	raw := fmt.Sprintf(`{"resourceType":"Observation","id":%q,"status":"final","subject":{"reference":"Patient/%s"},"code":{"coding":[{"system":"http://loinc.org","code":"85354-9","display":"Blood pressure"}]},"effectiveDateTime":%q,"component":[%s,%s]}`,
		id, patient, date, comp("8480-6", "Systolic blood pressure", sys, 140), comp("8462-4", "Diastolic blood pressure", dia, 90))
	return fhir.Resource{Type: "Observation", ID: id, Raw: []byte(raw)}
}

// resultsDB holds Sam's results from a GP and a hospital, and one of Ola's.
func resultsDB(t *testing.T) (*store.DB, store.Person, store.Person) {
	t.Helper()
	ctx := context.Background()
	db := mustOpenDB(t)
	gp := []fhir.Resource{
		searchPatient("sam", "9434765870", "Sam"),
		searchPatient("ola", "9434765889", "Ola"),
		resObs("h1", "sam", resLOINC, "59261-8", "HbA1c", "2026-03-10T09:00:00Z", 48, "mmol/mol", "20-41", "H"),
		resObs("h2", "sam", resLOINC, "59261-8", "HbA1c", "2026-09-12T09:00:00Z", 53, "mmol / mol|mmol/mol", "20-41", ""),
		resObs("h3", "sam", resLOINC, "59261-8", "HbA1c", "2025-09-01T09:00:00Z", 40, "millimoles per mole|mmol/mol", "20-41", "N"),
		// The same test as a percentage: a different code, never merged with the IFCC one.
		resObs("p1", "sam", resLOINC, "4548-4", "HbA1c (DCCT)", "2024-01-01", 6.5, "%", "4-6", ""),
		resObs("p2", "sam", resLOINC, "4548-4", "HbA1c (DCCT)", "2024-06-01", 6.1, "percent|%", "", ""),
		// A SNOMED code that happens to be the same digits as nothing else here,
		// and a code from an unknown system that shares a LOINC code's text.
		resObs("s1", "sam", resSNOMED, "59261-8", "Something else", "2023-01-01", 1, "kg", "", ""),
		resObs("w1", "sam", resLOINC, "29463-7", "Body weight", "2026-01-01", 80.5, "kg", "", ""),
		resObs("w2", "sam", resLOINC, "29463-7", "Body weight", "2026-02-01", 79500, "g", "", ""),
		resObs("w3", "sam", resLOINC, "29463-7", "Body weight", "2026-03-01", 178, "lb|[lb_av]", "", ""),
		resObs("w4", "sam", resLOINC, "29463-7", "Body weight", "2025-12-01", 81, "kg", "", ""),
		resBP("bp1", "sam", "2026-04-01T10:00:00Z", 150, 88),
		resBP("bp2", "sam", "2026-05-01T10:00:00Z", 128, 82),
		resText("u1", "sam", "Urine dipstick", "2026-02-02", "Negative"),
		resText("u2", "sam", "urine  Dipstick", "2026-01-02", "Trace protein"),
		resObs("g1", "sam", resLOINC, "2345-7", "Glucose", "2026-01-05", 90, "mg/dL", "70-99", ""),
		resObs("g2", "sam", resLOINC, "2345-7", "Glucose", "2026-02-05", 6.1, "mmol/L", "3.9-5.5", ""),
		resObs("o1", "ola", resLOINC, "59261-8", "HbA1c", "2026-10-01", 99, "mmol/mol", "20-41", "HH"),
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp", OrgName: "Meanwood Group Practice"}, "test", gp); err != nil {
		t.Fatal(err)
	}
	hospital := []fhir.Resource{
		searchPatient("sam-h", "9434765870", "Sam"),
		// The GP's March result, sent again by the hospital lab.
		resObs("lab1", "sam-h", resLOINC, "59261-8", "Haemoglobin A1c", "2026-03-10T09:00:00Z", 48, "mmol/mol", "20-41", "H"),
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "hospital", OrgName: "Leeds Teaching Hospitals"}, "test", hospital); err != nil {
		t.Fatal(err)
	}
	sam, err := db.PersonByNHSNumber(ctx, "9434765870")
	if err != nil {
		t.Fatal(err)
	}
	ola, err := db.PersonByNHSNumber(ctx, "9434765889")
	if err != nil {
		t.Fatal(err)
	}
	return db, sam, ola
}

func TestResultTests(t *testing.T) {
	db, sam, ola := resultsDB(t)
	ctx := context.Background()
	tests, err := db.ResultTests(ctx, sam.ID)
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]store.ResultTest{}
	var order []string
	for _, tt := range tests {
		if _, dup := byKey[tt.Key]; dup {
			t.Errorf("two groups with key %s", tt.Key)
		}
		byKey[tt.Key] = tt
		order = append(order, tt.Key)
	}
	// Newest first: HbA1c (September 2026), then blood pressure (May 2026), ...
	if len(order) < 2 || order[0] != "loinc-59261-8" || order[1] != "loinc-85354-9" {
		t.Errorf("order %v, want HbA1c then blood pressure first", order)
	}
	cases := []struct {
		name, key    string
		trend        bool
		latest, flag string
	}{
		{"HbA1c: two sources' copy of one result counts once", "loinc-59261-8", true, "53 mmol/mol", "High"},
		{"HbA1c as a percentage is another test", "loinc-4548-4", true, "6.1%", ""},
		{"same digits in SNOMED are another test", "snomed-59261-8", false, "1 kg", ""},
		{"weight in three units is one test", "loinc-29463-7", true, "178 lb", ""},
		{"blood pressure", "loinc-85354-9", true, "Systolic blood pressure: 128 mmHg; Diastolic blood pressure: 82 mmHg", "Normal"},
		{"results without a code grouped by name, whatever its case and spacing", store.TestKey("", "", "Urine dipstick"), false, "Negative", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := byKey[c.key]
			if !ok {
				t.Fatalf("no group %s in %v", c.key, order)
			}
			if got.Trend != c.trend {
				t.Errorf("Trend %v, want %v", got.Trend, c.trend)
			}
			var parts []string
			for _, m := range got.Latest.Measures {
				s := m.ValueText()
				if m.Name != "" {
					s = m.Name + ": " + s
				}
				parts = append(parts, s)
			}
			latest := strings.Join(parts, "; ")
			if latest == "" {
				latest = got.Latest.Text
			}
			if latest != c.latest {
				t.Errorf("latest %q, want %q", latest, c.latest)
			}
			if len(got.Latest.Measures) > 0 && got.Latest.Measures[0].Flag != c.flag {
				t.Errorf("flag %q, want %q", got.Latest.Measures[0].Flag, c.flag)
			}
		})
	}
	if got := byKey["loinc-59261-8"].Latest.Measures[0].Range.String(); got != "20 to 41 mmol/mol" {
		t.Errorf("HbA1c range %q", got)
	}
	for _, tt := range tests {
		if tt.Latest.Item.Display == "HbA1c" && tt.Latest.Measures[0].Value == 99 {
			t.Errorf("Sam's results include Ola's")
		}
	}
	olas, err := db.ResultTests(ctx, ola.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(olas) != 1 || olas[0].Latest.Measures[0].Flag != "Very high" {
		t.Errorf("Ola's results: %+v", olas)
	}
}

func TestResultTrend(t *testing.T) {
	db, sam, ola := resultsDB(t)
	ctx := context.Background()
	t.Run("HbA1c: one series, merged sources, exact numbers", func(t *testing.T) {
		tr, err := db.ResultTrend(ctx, sam.ID, "loinc-59261-8", 1, 50)
		if err != nil {
			t.Fatal(err)
		}
		if len(tr.Series) != 1 {
			t.Fatalf("%d series, want 1: %+v", len(tr.Series), tr.Series)
		}
		s := tr.Series[0]
		if s.Unit != "mmol/mol" || len(s.Points) != 3 || s.Points[0].Value != 40 || s.Points[2].Value != 53 {
			t.Errorf("series %+v", s)
		}
		if !s.Range.HasLow || !s.Range.HasHigh || s.Range.Low != 20 || s.Range.High != 41 {
			t.Errorf("range %+v", s.Range)
		}
		if tr.Total != 3 || len(tr.Results) != 3 {
			t.Fatalf("total %d, %d on the page", tr.Total, len(tr.Results))
		}
		march := tr.Results[1]
		if len(march.Sources) != 2 {
			t.Errorf("March result names %d sources, want the GP and the hospital", len(march.Sources))
		}
		wantFlags := []string{"High", "High", "Normal"} // worked out from the range; the source's own H; the source's own N
		for i, r := range tr.Results {
			if !r.Exact || r.Measures[0].Flag != wantFlags[i] {
				t.Errorf("result %d: exact %v flag %q, want %q", i, r.Exact, r.Measures[0].Flag, wantFlags[i])
			}
		}
	})
	t.Run("weight in kg, g and lb is one series in kg, the unit most used", func(t *testing.T) {
		tr, err := db.ResultTrend(ctx, sam.ID, "loinc-29463-7", 1, 50)
		if err != nil {
			t.Fatal(err)
		}
		if len(tr.Series) != 1 {
			t.Fatalf("%d series: %+v", len(tr.Series), tr.Series)
		}
		s := tr.Series[0]
		want := []float64{81, 80.5, 79.5, 178 * 0.45359237}
		if s.Unit != "kg" || len(s.Points) != 4 {
			t.Fatalf("points %+v", s.Points)
		}
		for i, p := range s.Points {
			if math.Abs(p.Value-want[i]) > 1e-6 {
				t.Errorf("point %d: %v in %s, want %v", i, p.Value, s.Unit, want[i])
			}
		}
	})
	t.Run("glucose in mg/dL and mmol/L is never mixed", func(t *testing.T) {
		tr, err := db.ResultTrend(ctx, sam.ID, "loinc-2345-7", 1, 50)
		if err != nil {
			t.Fatal(err)
		}
		if len(tr.Series) != 2 {
			t.Fatalf("%d series, want 2: %+v", len(tr.Series), tr.Series)
		}
		units := []string{tr.Series[0].Unit, tr.Series[1].Unit}
		if units[0] != "mmol/L" || units[1] != "mg/dL" {
			t.Errorf("series units %v", units)
		}
	})
	t.Run("blood pressure: a series for each part", func(t *testing.T) {
		tr, err := db.ResultTrend(ctx, sam.ID, "loinc-85354-9", 1, 50)
		if err != nil {
			t.Fatal(err)
		}
		if len(tr.Series) != 2 || tr.Series[0].Name != "Systolic blood pressure" || tr.Series[1].Name != "Diastolic blood pressure" {
			t.Fatalf("series %+v", tr.Series)
		}
		if s := tr.Series[0]; s.Unit != "mmHg" || s.Points[0].Value != 150 || !s.Range.HasHigh || s.Range.High != 140 {
			t.Errorf("systolic %+v", s)
		}
		if f := tr.Results[1].Measures[0].Flag; f != "High" {
			t.Errorf("systolic 150 flagged %q, want High", f)
		}
	})
	t.Run("paging", func(t *testing.T) {
		tr, err := db.ResultTrend(ctx, sam.ID, "loinc-59261-8", 2, 2)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Pages() != 2 || len(tr.Results) != 1 || len(tr.Series[0].Points) != 3 {
			t.Errorf("page 2 of 2: %d results, %d points", len(tr.Results), len(tr.Series[0].Points))
		}
		if _, err := db.ResultTrend(ctx, sam.ID, "loinc-59261-8", 3, 2); store.ErrorCode(err) != store.ENOTFOUND {
			t.Errorf("page 3: %v, want not found", err)
		}
	})
	for _, key := range []string{"loinc-0000-0", "nonsense", "", "loinc-", "snomed-4548-4", "name-0000", "cdeadbeef-59261-8"} {
		t.Run("unknown key "+key, func(t *testing.T) {
			if _, err := db.ResultTrend(ctx, sam.ID, key, 1, 50); store.ErrorCode(err) != store.ENOTFOUND {
				t.Errorf("got %v, want not found", err)
			}
		})
	}
	t.Run("a test only another person has is not found", func(t *testing.T) {
		if _, err := db.ResultTrend(ctx, ola.ID, "loinc-29463-7", 1, 50); store.ErrorCode(err) != store.ENOTFOUND {
			t.Errorf("got %v, want not found", err)
		}
		tr, err := db.ResultTrend(ctx, ola.ID, "loinc-59261-8", 1, 50)
		if err != nil || tr.Total != 1 {
			t.Errorf("Ola's HbA1c: %v, %d results, want only her own", err, tr.Total)
		}
	})
	t.Run("uncoded results by name", func(t *testing.T) {
		tr, err := db.ResultTrend(ctx, sam.ID, store.TestKey("", "", "URINE DIPSTICK"), 1, 50)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Total != 2 || len(tr.Series) != 0 || tr.Results[0].Text != "Negative" {
			t.Errorf("urine: %d results, %d series", tr.Total, len(tr.Series))
		}
	})
}

func TestUnitNormalisation(t *testing.T) {
	tests := []struct {
		a, b    string
		same    bool
		display string  // of a
		factor  float64 // a to b, when same
	}{
		{"mmol/mol", "mmol / mol", true, "mmol/mol", 1},
		{"MMOL/MOL", "mmol/mol", true, "mmol/mol", 1},
		{"mg/dL", "mg/dl", true, "mg/dL", 1},
		{"%", "percent", true, "%", 1},
		{"kg", "g", true, "kg", 1000},
		{"g", "kg", true, "g", 0.001},
		{"mmHg", "mm[Hg]", true, "mmHg", 1},
		{"mm[Hg]", "mm Hg", true, "mmHg", 1},
		{"10*9/L", "x10^9/L", true, "×10⁹/L", 1},
		{"mL/min/{1.73_m2}", "mL/min/1.73m2", true, "mL/min/1.73m²", 1},
		{"umol/L", "µmol/L", true, "µmol/L", 1},
		{"mmol/L", "umol/L", true, "mmol/L", 1000},
		{"g/dL", "g/L", true, "g/dL", 10},
		{"[lb_av]", "kg", true, "lb", 0.45359237},
		{"G/L", "10*9/L", true, "×10⁹/L", 1}, // giga, not grams (a clinical-safety review)
		{"G/L", "g/L", false, "×10⁹/L", 0},
		{"T/L", "10*12/L", true, "×10¹²/L", 1},
		{"M", "m", false, "M", 0},
		{"mmol/mol", "%", false, "mmol/mol", 0},
		{"mg/dL", "mmol/L", false, "mg/dL", 0},
		{"kg", "mmHg", false, "kg", 0},
		{"furlongs", "kg", false, "furlongs", 0},
		{"furlongs", " Furlongs", true, "furlongs", 1}, // an unknown unit is still itself in another case
	}
	for _, tt := range tests {
		t.Run(tt.a+" vs "+tt.b, func(t *testing.T) {
			if got := store.SameKindOfUnit(tt.a, tt.b); got != tt.same {
				t.Errorf("SameKindOfUnit = %v, want %v", got, tt.same)
			}
			if got := store.NormaliseUnit(tt.a); got != tt.display {
				t.Errorf("NormaliseUnit(%q) = %q, want %q", tt.a, got, tt.display)
			}
			if tt.same {
				if got := store.UnitFactor(tt.a, tt.b); math.Abs(got-tt.factor) > 1e-12 {
					t.Errorf("UnitFactor = %v, want %v", got, tt.factor)
				}
			}
		})
	}
}

func TestFlagWords(t *testing.T) {
	hl7 := func(code string) []fhir.CodeableConcept {
		return []fhir.CodeableConcept{{Coding: []fhir.Coding{{System: "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", Code: code}}}}
	}
	both := store.Range{Low: 20, High: 41, HasLow: true, HasHigh: true}
	tests := []struct {
		name   string
		interp []fhir.CodeableConcept
		value  float64
		rng    store.Range
		want   string
	}{
		{"source says high", hl7("H"), 48, both, "High"},
		{"source says very high", hl7("HH"), 99, both, "Very high"},
		{"source says low", hl7("L"), 10, both, "Low"},
		{"source says normal", hl7("N"), 30, both, "Normal"},
		{"source says abnormal", hl7("A"), 30, both, "Outside the normal range"},
		{"source's word wins over the range", hl7("N"), 45, both, "Normal"},
		{"source's own text", []fhir.CodeableConcept{{Text: "borderline"}}, 42, both, "Borderline"},
		{"above the range", nil, 42, both, "High"},
		{"below the range", nil, 19.9, both, "Low"},
		{"on the upper limit is normal", nil, 41, both, "Normal"},
		{"only an upper limit", nil, 6, store.Range{High: 5, HasHigh: true}, "High"},
		{"only a lower limit", nil, 55, store.Range{Low: 60, HasLow: true}, "Low"},
		{"no range, no word", nil, 42, store.Range{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := store.Flag(tt.interp, tt.value, "", tt.rng); got != tt.want {
				t.Errorf("Flag = %q, want %q", got, tt.want)
			}
		})
	}
}

// A value given as a limit is flagged only when every value within the
// limit would be (found by a clinical-safety review: vitamin D "<25" against
// 25 to 200 was called Normal).
func TestFlagOfALimit(t *testing.T) {
	vitD := store.Range{Low: 25, High: 200, HasLow: true, HasHigh: true}
	for _, tt := range []struct {
		name       string
		comparator string
		value      float64
		rng        store.Range
		want       string
	}{
		{"below the range's bottom", "<", 25, vitD, "Low"},
		{"at most the bottom is not surely low", "<=", 25, vitD, ""},
		{"at most below the bottom", "<=", 24, vitD, "Low"},
		{"below a value inside the range: could be low", "<", 50, vitD, ""},
		{"below the top of a range starting at 0", "<", 5, store.Range{Low: 0, High: 10, HasLow: true, HasHigh: true}, "Normal"},
		{"below the top of an upper limit only", "<", 5, store.Range{High: 10, HasHigh: true}, "Normal"},
		{"below a value over an upper limit only: could be high", "<", 15, store.Range{High: 10, HasHigh: true}, ""},
		{"above the range's top", ">", 2000, store.Range{Low: 180, High: 2000, HasLow: true, HasHigh: true}, "High"},
		{"at least the top is not surely high", ">=", 2000, store.Range{Low: 180, High: 2000, HasLow: true, HasHigh: true}, ""},
		{"above a lower limit only", ">", 90, store.Range{Low: 60, HasLow: true}, "Normal"},
		{"above a value under a lower limit only: could be low", ">", 50, store.Range{Low: 60, HasLow: true}, ""},
		{"above a value inside the range: could be high", ">", 100, vitD, ""},
		{"no range", "<", 5, store.Range{}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := store.Flag(nil, tt.value, tt.comparator, tt.rng); got != tt.want {
				t.Errorf("Flag = %q, want %q", got, tt.want)
			}
		})
	}
}

// A range's limits are inside it, as the flags take them: its words must not
// say a normal value is out of it.
func TestRangeWords(t *testing.T) {
	for _, tt := range []struct {
		r    store.Range
		want string
	}{
		{store.Range{Low: 20, High: 41, HasLow: true, HasHigh: true, Unit: "mmol/mol"}, "20 to 41 mmol/mol"},
		{store.Range{High: 140, HasHigh: true, Unit: "mm[Hg]"}, "140 mmHg or lower"},
		{store.Range{Low: 60, HasLow: true}, "60 or higher"},
		{store.Range{Text: "negative"}, "negative"},
	} {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.r, got, tt.want)
		}
	}
}

// A result given as a limit ("<25 nmol/L") keeps its comparator on the trend
// page, in its flag, its table and its chart's points, from the stored
// resource (found by a clinical-safety review: "<25" was flagged Normal
// against 25 to 200 and charted as 25).
func TestResultGivenAsALimit(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	limit := func(id, date, comparator string, value float64) fhir.Resource {
		raw := fmt.Sprintf(`{"resourceType":"Observation","id":%q,"status":"final","subject":{"reference":"Patient/vd"},`+
			`"code":{"coding":[{"system":"http://loinc.org","code":"62292-8","display":"25-Hydroxyvitamin D"}]},"effectiveDateTime":%q,`+
			`"valueQuantity":{"value":%v,%s"unit":"nmol/L","system":"http://unitsofmeasure.org","code":"nmol/L"},`+
			`"referenceRange":[{"low":{"value":25,"unit":"nmol/L"},"high":{"value":200,"unit":"nmol/L"}}]}`, id, date, value, comparator)
		return fhir.Resource{Type: "Observation", ID: id, Raw: []byte(raw)}
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", []fhir.Resource{
		searchPatient("vd", "9434765919", "Val"),
		limit("v1", "2025-03-01", "", 60),
		limit("v2", "2026-03-01", `"comparator":"<",`, 25),
	}); err != nil {
		t.Fatal(err)
	}
	p, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := db.ResultTrend(ctx, p.ID, "loinc-62292-8", 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Results) != 2 || tr.Results[0].Measures[0].Flag != "Low" || tr.Results[0].Measures[0].Comparator != "<" || tr.Results[1].Measures[0].Flag != "Normal" {
		t.Errorf("results %+v; want <25 Low, then 60 Normal", tr.Results)
	}
	if len(tr.Series) != 1 || len(tr.Series[0].Points) != 2 || tr.Series[0].Points[1].Comparator != "<" || tr.Series[0].Points[0].Comparator != "" {
		t.Errorf("series %+v; want 60, then <25", tr.Series)
	}
}
