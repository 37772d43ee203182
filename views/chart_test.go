package views

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 9, 0, 0, 0, time.UTC) }

func TestNiceTicks(t *testing.T) {
	tests := []struct {
		lo, hi         float64
		wantLo, wantHi float64
		wantStep       float64
	}{
		{32, 69, 30, 70, 10},
		{20, 69, 20, 80, 20},
		{4.1, 5.9, 4, 6, 0.5},
		{48, 48, 42.5, 55, 2.5}, // one value: padded around it
		{0.12, 0.31, 0.1, 0.35, 0.05},
		{121, 150, 120, 150, 10},
	}
	for _, tt := range tests {
		ticks, lo, hi := niceTicks(tt.lo, tt.hi, 5)
		if lo != tt.wantLo || hi != tt.wantHi {
			t.Errorf("niceTicks(%v, %v): axis %v to %v, want %v to %v", tt.lo, tt.hi, lo, hi, tt.wantLo, tt.wantHi)
		}
		if len(ticks) < 2 || math.Abs((ticks[1]-ticks[0])-tt.wantStep) > 1e-9 {
			t.Errorf("niceTicks(%v, %v): ticks %v, want a step of %v", tt.lo, tt.hi, ticks, tt.wantStep)
		}
		if ticks[0] != lo || math.Abs(ticks[len(ticks)-1]-hi) > 1e-9 {
			t.Errorf("niceTicks(%v, %v): ticks %v do not run from %v to %v", tt.lo, tt.hi, ticks, lo, hi)
		}
	}
}

func TestTimeTicks(t *testing.T) {
	tests := []struct {
		name   string
		t0, t1 time.Time
		want   []string
	}{
		{"ten years: every other year", day(2017, time.March, 3), day(2026, time.March, 17), []string{"2018", "2020", "2022", "2024", "2026"}},
		{"three years: every year", day(2023, time.June, 1), day(2026, time.May, 1), []string{"2024", "2025", "2026"}},
		{"six months: each month", day(2026, time.March, 10), day(2026, time.September, 12), []string{"Apr 2026", "May 2026", "Jun 2026", "Jul 2026", "Aug 2026", "Sep 2026"}},
		{"eighteen months: every third", day(2025, time.January, 10), day(2026, time.July, 12), []string{"Feb 2025", "May 2025", "Aug 2025", "Nov 2025", "Feb 2026", "May 2026"}},
		{"within a month: the day", day(2026, time.March, 2), day(2026, time.March, 20), []string{"2 Mar 2026"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, tk := range timeTicks(tt.t0, tt.t1, 6) {
				got = append(got, tk.label)
				if tk.at.Before(tt.t0) || tk.at.After(tt.t1) {
					t.Errorf("tick %s outside %s to %s", tk.label, tt.t0, tt.t1)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewChart(t *testing.T) {
	s := store.Series{Unit: "mmol/mol", Range: store.Range{Low: 20, High: 41, HasLow: true, HasHigh: true}, Points: []store.Point{
		{Date: day(2026, time.March, 1), Value: 48},
		{Date: day(2026, time.June, 1), Value: 20},
		{Date: day(2026, time.September, 1), Value: 53},
	}}
	c := newChart("c", "HbA1c", s)
	if len(c.Markers) != 3 {
		t.Fatalf("%d markers", len(c.Markers))
	}
	first, low, last := c.Markers[0], c.Markers[1], c.Markers[2]
	if first.X != plotLeft || last.X != plotRight {
		t.Errorf("first and last points at x %v and %v, want the plot's edges %v and %v", first.X, last.X, plotLeft, plotRight)
	}
	if !(last.Y < first.Y && first.Y < low.Y) {
		t.Errorf("higher values must be higher up: y %v, %v, %v", first.Y, low.Y, last.Y)
	}
	for _, m := range c.Markers {
		if m.Y < plotTop || m.Y > plotBottom {
			t.Errorf("point %v outside the plot", m)
		}
	}
	if c.Band == nil {
		t.Fatal("no band for the normal range")
	}
	if math.Abs(c.Band.Y+c.Band.H-low.Y) > 0.01 {
		t.Errorf("band bottom %v, want the value 20 at %v", c.Band.Y+c.Band.H, low.Y)
	}
	if !strings.HasPrefix(c.Path, "M64 ") || strings.Count(c.Path, "L") != 2 {
		t.Errorf("path %q", c.Path)
	}
	if !strings.Contains(c.Desc, "normal range, 20 to 41 mmol/mol") || !strings.Contains(c.Desc, "3 results between March and September 2026") {
		t.Errorf("description %q", c.Desc)
	}
	if c.Title == "" || len(c.YTicks) < 2 || len(c.XTicks) == 0 {
		t.Errorf("title %q, %d value ticks, %d date ticks", c.Title, len(c.YTicks), len(c.XTicks))
	}

	t.Run("only an upper limit: the band runs from the axis", func(t *testing.T) {
		s := store.Series{Unit: "mmol/L", Range: store.Range{High: 5, HasHigh: true}, Points: []store.Point{{Date: day(2025, 1, 1), Value: 5.5}, {Date: day(2026, 1, 1), Value: 4.2}}}
		c := newChart("c", "cholesterol", s)
		if c.Band == nil || c.Band.Y+c.Band.H != plotBottom {
			t.Errorf("band %+v", c.Band)
		}
	})
	t.Run("many points: a line without dots", func(t *testing.T) {
		var pts []store.Point
		for i := range 500 {
			pts = append(pts, store.Point{Date: day(2000, 1, 1).AddDate(0, 0, 7*i), Value: float64(i % 9)})
		}
		c := newChart("c", "weight", store.Series{Unit: "kg", Points: pts})
		if len(c.Markers) != 0 || c.Band != nil || strings.Count(c.Path, "L") != 499 {
			t.Errorf("%d markers, band %v, %d segments", len(c.Markers), c.Band, strings.Count(c.Path, "L"))
		}
	})
	t.Run("more points than the plot is wide: each column's lowest and highest", func(t *testing.T) {
		var pts []store.Point
		for i := range 5000 {
			pts = append(pts, store.Point{Date: day(2000, 1, 1).Add(time.Duration(i) * 7 * time.Hour), Value: float64(10 + (i*37)%81)})
		}
		pts[2500].Value, pts[4001].Value = 100, 0 // one high and one low value among thousands are still drawn
		c := newChart("c", "weight", store.Series{Unit: "kg", Points: pts})
		full := newChart("c", "weight", store.Series{Unit: "kg", Points: pts[:1000]})
		if !c.Thinned || full.Thinned {
			t.Fatalf("thinned %v, %v", c.Thinned, full.Thinned)
		}
		coords := func(path string) [][2]float64 {
			var out [][2]float64
			for _, seg := range strings.FieldsFunc(path, func(r rune) bool { return r == 'M' || r == 'L' }) {
				var x, y float64
				if _, err := fmt.Sscan(seg, &x, &y); err != nil {
					t.Fatalf("segment %q: %v", seg, err)
				}
				out = append(out, [2]float64{x, y})
			}
			return out
		}
		got := coords(c.Path)
		if n := len(got); n > 2*int(plotRight-plotLeft+1)+2 || n < int(plotRight-plotLeft) {
			t.Errorf("%d points drawn", n)
		}
		if got[0][0] != plotLeft || got[len(got)-1][0] != plotRight {
			t.Errorf("line runs from %v to %v", got[0], got[len(got)-1])
		}
		top, bottom := plotBottom, plotTop
		for i, p := range got {
			if i > 0 && p[0] < got[i-1][0] {
				t.Fatalf("point %d goes back in time: %v after %v", i, p, got[i-1])
			}
			top, bottom = math.Min(top, p[1]), math.Max(bottom, p[1])
		}
		if top != plotTop || bottom != plotBottom {
			t.Errorf("line spans y %v to %v, want the highest and lowest values %v to %v", top, bottom, plotTop, plotBottom)
		}
		if n := len(coords(full.Path)); n != 1000 {
			t.Errorf("%d of 1000 points drawn", n)
		}
	})
	t.Run("same day twice", func(t *testing.T) {
		c := newChart("c", "x", store.Series{Unit: "kg", Points: []store.Point{{Date: day(2026, 1, 1), Value: 1}, {Date: day(2026, 1, 1), Value: 2}}})
		if strings.Contains(c.Path, "NaN") || strings.Contains(c.Path, "Inf") {
			t.Errorf("path %q", c.Path)
		}
	})
}

func TestTrendSentence(t *testing.T) {
	pts := func(a, b float64, t0, t1 time.Time) []store.Point {
		return []store.Point{{Date: t0, Value: a}, {Date: t1, Value: b}}
	}
	tests := []struct {
		name, test string
		s          store.Series
		want       string
	}{
		{"the issue's example", "HbA1c", store.Series{Unit: "mmol/mol", Points: pts(48, 53, day(2026, 3, 10), day(2026, 9, 12))},
			"Your HbA1c went from 48 to 53 mmol/mol between March and September 2026."},
		{"years apart", "HbA1c", store.Series{Unit: "mmol/mol", Points: pts(51, 32, day(2017, 3, 10), day(2026, 3, 12))},
			"Your HbA1c went from 51 to 32 mmol/mol between March 2017 and March 2026."},
		{"a part of a test", "blood pressure", store.Series{Name: "Systolic blood pressure", Unit: "mmHg", Points: pts(141, 121, day(2017, 3, 10), day(2026, 9, 12))},
			"Your systolic blood pressure went from 141 to 121 mmHg between March 2017 and September 2026."},
		{"the same month", "weight", store.Series{Unit: "kg", Points: pts(80.25, 79.5, day(2026, 3, 1), day(2026, 3, 20))},
			"Your weight went from 80.25 to 79.5 kg in March 2026."},
		{"no change", "cholesterol", store.Series{Unit: "mmol/L", Points: pts(4.5, 4.5, day(2025, 3, 1), day(2026, 3, 20))},
			"Your cholesterol was 4.5 mmol/L at the start and at the end of the 2 results between March 2025 and March 2026."},
		{"an abbreviation keeps its case", "eGFR (kidney function)", store.Series{Unit: "mL/min/1.73m²", Points: pts(76, 59, day(2017, 3, 1), day(2026, 3, 20))},
			"Your eGFR (kidney function) went from 76 to 59 mL/min/1.73m² between March 2017 and March 2026."},
		// Found by a clinical-safety review: two decimal places made these "0 to 0.01".
		{"small values keep their figures", "troponin T", store.Series{Unit: "ug/L", Points: pts(0.003, 0.012, day(2026, 3, 1), day(2026, 3, 20))},
			"Your troponin T went from 0.003 to 0.012 ug/L in March 2026."},
		{"a value given as a limit keeps its sign", "vitamin D", store.Series{Unit: "nmol/L", Points: []store.Point{{Date: day(2025, 3, 1), Value: 60}, {Date: day(2026, 3, 20), Value: 25, Comparator: "<"}}},
			"Your vitamin D went from 60 to less than 25 nmol/L between March 2025 and March 2026."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := trendSentence(tt.test, tt.s); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestTestNames(t *testing.T) {
	tests := []struct {
		t             store.ResultTest
		name, heading string
	}{
		{store.ResultTest{CodeSystem: "http://loinc.org", Code: "59261-8", Name: "Hemoglobin A1c/Hemoglobin.total in Blood by IFCC protocol"}, "HbA1c", "HbA1c"},
		{store.ResultTest{CodeSystem: "http://loinc.org", Code: "29463-7", Name: "Body weight"}, "weight", "Weight"},
		{store.ResultTest{CodeSystem: "http://loinc.org", Code: "62238-1"}, "eGFR (kidney function)", "eGFR (kidney function)"},
		{store.ResultTest{CodeSystem: "http://snomed.info/sct", Code: "59261-8", Name: "something else"}, "something else", "Something else"},
		{store.ResultTest{Name: "Urine dipstick"}, "Urine dipstick", "Urine dipstick"},
		// In capitals, as Synthea records some: as the summary names it (a review).
		{store.ResultTest{Name: "ANTIRETROVIRALS STARTED"}, "Antiretrovirals started", "Antiretrovirals started"},
		{store.ResultTest{Name: "TEMPERATURE"}, "Temperature", "Temperature"},
	}
	for _, tt := range tests {
		if got := testName(tt.t); got != tt.name {
			t.Errorf("testName(%s %s) = %q, want %q", tt.t.CodeSystem, tt.t.Code, got, tt.name)
		}
		if got := testHeading(tt.t); got != tt.heading {
			t.Errorf("testHeading(%s %s) = %q, want %q", tt.t.CodeSystem, tt.t.Code, got, tt.heading)
		}
	}
}
