package views

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mycarerecord/portal/store"
)

// The chart's drawing space, in SVG user units; CSS scales it to the page.
const (
	chartWidth  = 640.0
	chartHeight = 320.0
	plotLeft    = 64.0
	plotRight   = chartWidth - 20
	plotTop     = 16.0
	plotBottom  = chartHeight - 48
	// maxMarkers is how many points still get a dot each; more would blur into the line.
	maxMarkers = 60
)

// chart is a series laid out as an SVG line chart.
type chart struct {
	ID      string // prefix for the ids of its title and description
	Title   string
	Desc    string
	Path    string // the line, as SVG path data
	Thinned bool   // the line goes through each pixel column's lowest and highest points only
	Markers []chartXY
	Band    *chartBox // the normal range, when known
	XTicks  []chartTick
	YTicks  []chartTick
	Unit    string
}

type chartXY struct{ X, Y float64 }

type chartBox struct{ X, Y, W, H float64 }

type chartTick struct {
	Pos   float64 // x for the time axis, y for the value axis
	Label string
}

// f writes a coordinate with at most one decimal place.
func f(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

// newChart lays out a series: time across, values up, the normal range as a
// band behind the line. A series needs two points with different dates or
// values to be worth drawing; see chartable.
func newChart(id, testName string, s store.Series) chart {
	c := chart{ID: id, Unit: s.Unit}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range s.Points {
		lo, hi = math.Min(lo, p.Value), math.Max(hi, p.Value)
	}
	if s.Range.HasLow {
		lo = math.Min(lo, s.Range.Low)
	}
	if s.Range.HasHigh {
		hi = math.Max(hi, s.Range.High)
	}
	ticks, lo, hi := niceTicks(lo, hi, 5)
	t0, t1 := s.Points[0].Date, s.Points[len(s.Points)-1].Date
	if !t1.After(t0) {
		t0, t1 = t0.Add(-24*time.Hour), t1.Add(24*time.Hour)
	}
	x := func(t time.Time) float64 {
		return plotLeft + (plotRight-plotLeft)*float64(t.Sub(t0))/float64(t1.Sub(t0))
	}
	y := func(v float64) float64 { return plotBottom - (plotBottom-plotTop)*(v-lo)/(hi-lo) }

	c.Path, c.Thinned = linePath(s.Points, t0, t1, lo, hi)
	if len(s.Points) <= maxMarkers {
		for _, p := range s.Points {
			c.Markers = append(c.Markers, chartXY{x(p.Date), y(p.Value)})
		}
	}
	if s.Range.HasLow || s.Range.HasHigh {
		top, bottom := plotTop, plotBottom
		if s.Range.HasHigh {
			top = y(s.Range.High)
		}
		if s.Range.HasLow {
			bottom = y(s.Range.Low)
		}
		c.Band = &chartBox{plotLeft, top, plotRight - plotLeft, bottom - top}
	}
	for _, v := range ticks {
		c.YTicks = append(c.YTicks, chartTick{y(v), formatValue(v)})
	}
	for _, t := range timeTicks(t0, t1, 6) {
		c.XTicks = append(c.XTicks, chartTick{x(t.at), t.label})
	}
	c.Title = chartTitle(testName, s)
	c.Desc = chartDesc(s)
	return c
}

// linePath is the series' line as SVG path data, coordinates to a tenth of a
// unit. A series with more points than twice the plot's width in units is
// drawn through each unit-wide column's lowest and highest points, in the
// order they came (and the first and last): at the chart's size nearly the
// same picture, with far fewer points to write. The table keeps every result.
func linePath(pts []store.Point, t0, t1 time.Time, lo, hi float64) (string, bool) {
	// Tenths of a unit, as integers: much cheaper to write than floats.
	sx := (plotRight - plotLeft) * 10 / float64(t1.Sub(t0))
	sy := (plotBottom - plotTop) * 10 / (hi - lo)
	// Seconds and nanoseconds apart, as time.Time.Sub would saturate for dates centuries apart.
	bs, bn := t0.Unix(), int64(t0.Nanosecond())
	px := func(p store.Point) int64 {
		d := float64(p.Date.Unix()-bs)*1e9 + float64(int64(p.Date.Nanosecond())-bn)
		return int64(math.Round(plotLeft*10 + d*sx))
	}
	py := func(p store.Point) int64 { return int64(math.Round(plotBottom*10 - (p.Value-lo)*sy)) }
	b := make([]byte, 0, min(len(pts), 2*int(plotRight-plotLeft+1))*14+8)
	n := 0
	point := func(x, y int64) {
		if n == 0 {
			b = append(b, 'M')
		} else {
			b = append(b, " L"...)
		}
		n++
		b = appendTenths(b, x)
		b = append(b, ' ')
		b = appendTenths(b, y)
	}
	thin := len(pts) > 2*int(plotRight-plotLeft)
	if !thin {
		for _, p := range pts {
			point(px(p), py(p))
		}
		return string(b), false
	}
	// One column at a time: its points' lowest and highest y, in time order.
	for i := 0; i < len(pts); {
		x := px(pts[i])
		col := x / 10
		j, ylo, yhi, ilo, ihi := i, py(pts[i]), py(pts[i]), i, i
		for j++; j < len(pts); j++ {
			xj := px(pts[j])
			if xj/10 != col {
				break
			}
			if y := py(pts[j]); y < ylo {
				ylo, ilo = y, j
			} else if y > yhi {
				yhi, ihi = y, j
			}
		}
		// The series' first and last points stay, so the line spans it all.
		keep := [4]int{ilo, ihi, -1, -1}
		if i == 0 {
			keep[2] = 0
		}
		if j == len(pts) {
			keep[3] = len(pts) - 1
		}
		slices.Sort(keep[:])
		prev := -1
		for _, k := range keep {
			if k >= 0 && k != prev {
				point(px(pts[k]), py(pts[k]))
				prev = k
			}
		}
		i = j
	}
	return string(b), true
}

// appendTenths writes v tenths as a decimal: 1234 is "123.4", 120 is "12".
func appendTenths(b []byte, v int64) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	b = strconv.AppendInt(b, v/10, 10)
	if d := v % 10; d != 0 {
		b = append(b, '.', byte('0'+d))
	}
	return b
}

// chartable reports whether a series has a trend to draw: two or more points.
func chartable(s store.Series) bool { return len(s.Points) >= 2 }

// chartTitle names the chart in the page's words: the test's name kept as
// inSentence says, and no "in" for a series with no unit (a score).
func chartTitle(testName string, s store.Series) string {
	name := testName
	if s.Name != "" {
		name = s.Name
	}
	if s.Unit == "" {
		return "Chart of your " + inSentence(name) + " results over time"
	}
	return "Chart of your " + inSentence(name) + " results in " + s.Unit + " over time"
}

// chartDesc says in words what the chart shows, for people who cannot see it.
func chartDesc(s store.Series) string {
	first, last := s.Points[0], s.Points[len(s.Points)-1]
	lo, hi := first, first
	for _, p := range s.Points {
		if p.Value < lo.Value {
			lo = p
		}
		if p.Value > hi.Value {
			hi = p
		}
	}
	d := fmt.Sprintf("%d results %s. Lowest %s in %s, highest %s in %s.",
		len(s.Points), between(first.Date, last.Date),
		store.WithUnit(pointValue(lo), s.Unit), lo.Date.Format("January 2006"),
		store.WithUnit(pointValue(hi), s.Unit), hi.Date.Format("January 2006"))
	if s.Range.HasLow || s.Range.HasHigh {
		r := s.Range
		r.Unit = s.Unit
		d += " The shaded band is the normal range, " + r.String() + "."
	}
	return d + " The results are also in a table below."
}

// niceTicks picks about n round values for an axis that covers lo to hi,
// and gives back the axis' own ends, which are ticks too.
func niceTicks(lo, hi float64, n int) ([]float64, float64, float64) {
	if math.IsInf(lo, 0) || math.IsInf(hi, 0) || math.IsNaN(lo) || math.IsNaN(hi) {
		lo, hi = 0, 1
	}
	if hi-lo < 1e-9 {
		// One value: an axis around it, in proportion to it, so 0.003 is not
		// drawn on one from -1 to 1.5, and never below 0 for a value that is
		// not (found by an accessibility review).
		pad := math.Abs(lo) * 0.1
		if pad == 0 {
			pad = 1
		}
		lo, hi = lo-pad, hi+pad
		if lo < 0 && lo+pad >= 0 {
			lo = 0
		}
	}
	step := niceNumber((hi - lo) / float64(max(n-1, 1)))
	// Rounded to nine decimal places, so 0.35 is not 0.35000000000000003.
	tidy := func(v float64) float64 { return math.Round(v*1e9) / 1e9 }
	lo, hi = tidy(math.Floor(lo/step)*step), tidy(math.Ceil(hi/step)*step)
	var ticks []float64
	for i := 0; ; i++ {
		v := tidy(lo + float64(i)*step)
		if v > hi+step/2 {
			break
		}
		ticks = append(ticks, v)
	}
	return ticks, lo, hi
}

// niceNumber is 1, 2, 2.5 or 5 times a power of ten, at least x.
func niceNumber(x float64) float64 {
	if x <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= x-1e-12 {
			return m * p
		}
	}
	return 10 * p
}

type timeTick struct {
	at    time.Time
	label string
}

// timeTicks marks years, or months for a span of under two years, at most n of them.
func timeTicks(t0, t1 time.Time, n int) []timeTick {
	var out []timeTick
	if t1.Sub(t0) >= 2*365*24*time.Hour {
		years := t1.Year() - t0.Year()
		step := max(1, int(math.Ceil(float64(years)/float64(n))))
		for y := t0.Year() + 1; y <= t1.Year(); y++ {
			if (y-t0.Year()-1)%step == 0 {
				out = append(out, timeTick{time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC), strconv.Itoa(y)})
			}
		}
		return out
	}
	months := (t1.Year()-t0.Year())*12 + int(t1.Month()) - int(t0.Month())
	step := max(1, int(math.Ceil(float64(months)/float64(n))))
	m := time.Date(t0.Year(), t0.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0)
	for i := 0; !m.After(t1); i, m = i+1, m.AddDate(0, 1, 0) {
		if i%step == 0 {
			out = append(out, timeTick{m, m.Format("Jan 2006")})
		}
	}
	if len(out) == 0 {
		out = append(out, timeTick{t0, t0.Format("2 Jan 2006")})
	}
	return out
}

// formatValue writes a value for people as the tables do (store.ReadableNumber):
// no trailing zeros, four significant figures, so 0.003 and 0.012 stay apart
// (found by a clinical-safety review: two decimal places made a troponin of
// 0.003 read "0").
func formatValue(v float64) string {
	if v == 0 {
		v = 0 // not "-0"
	}
	return store.ReadableNumber(strconv.FormatFloat(v, 'f', -1, 64))
}

// pointValue is a point's value as given, in words for a value given as a
// limit: "less than 25" for "<25", as a screen reader would not say "<"
// plainly (found by an accessibility review).
func pointValue(p store.Point) string {
	return comparatorWords[p.Comparator] + formatValue(p.Value)
}

var comparatorWords = map[string]string{"<": "less than ", ">": "more than ", "<=": "at most ", ">=": "at least "}

// testName is what the sentence calls a test: its plain name when known, else its name as recorded.
func testName(t store.ResultTest) string {
	if n, ok := store.PlainTestName(t.CodeSystem, t.Code); ok {
		return n
	}
	// As entries' names are (plainName): "ANTIRETROVIRALS STARTED" read so
	// on the results pages and "Antiretrovirals started" on the summary (a
	// review).
	if n := plainName(strings.TrimSpace(t.Name)); n != "" {
		return n
	}
	return "test"
}

// testHeading is the test's plain name as a heading: "HbA1c", "Weight".
func testHeading(t store.ResultTest) string {
	n := testName(t)
	if w, _, _ := strings.Cut(n, " "); strings.ContainsFunc(w[1:], unicode.IsUpper) {
		return n // an abbreviation such as "eGFR" keeps its case
	}
	return strings.ToUpper(n[:1]) + n[1:]
}

// trendSentence is the series in one sentence: "Your HbA1c went from 48 to
// 53 mmol/mol between March and September 2026." The name keeps its capitals
// as inSentence says, and the unit is written as the tables write it ("98%";
// none for a score).
func trendSentence(testName string, s store.Series) string {
	if len(s.Points) == 0 {
		return ""
	}
	name := inSentence(testName)
	if s.Name != "" {
		name = inSentence(s.Name)
	}
	first, last := s.Points[0], s.Points[len(s.Points)-1]
	when := between(first.Date, last.Date)
	a, b := pointValue(first), pointValue(last)
	if a == b {
		return fmt.Sprintf("Your %s was %s at the start and at the end of the %d results %s.", name, store.WithUnit(a, s.Unit), len(s.Points), when)
	}
	return fmt.Sprintf("Your %s went from %s to %s %s.", name, a, store.WithUnit(b, s.Unit), when)
}

// between is "between March and September 2026", "between March 2017 and
// September 2026", or "in March 2026".
func between(a, b time.Time) string {
	switch {
	case a.Year() == b.Year() && a.Month() == b.Month():
		return "in " + a.Format("January 2006")
	case a.Year() == b.Year():
		return "between " + a.Format("January") + " and " + b.Format("January 2006")
	}
	return "between " + a.Format("January 2006") + " and " + b.Format("January 2006")
}

// inSentence is a test's name inside a sentence: "How your weight has
// changed". A first word that is an ordinary capitalised word loses its
// capital, but only when no later word has one: an abbreviation ("HbA1c",
// "eGFR") or a name in title case ("Patient Health Questionnaire", a
// laboratory's "Oxygen saturation in Arterial blood") is a name, kept as it
// is written, not "your patient Health Questionnaire".
func inSentence(name string) string {
	words := strings.Fields(name)
	if len(words) == 0 || !capitalisedWord(words[0]) {
		return name
	}
	for _, w := range words[1:] {
		if capitalisedWord(strings.TrimLeft(w, "([\"'‘“")) {
			return name
		}
	}
	r, n := utf8.DecodeRuneInString(name)
	return string(unicode.ToLower(r)) + name[n:]
}

// capitalisedWord reports whether w is an ordinary word with a capital first
// letter ("Weight"), not an abbreviation ("HbA1c", "PHQ-9", "A1c") or a word
// in lower case.
func capitalisedWord(w string) bool {
	r, n := utf8.DecodeRuneInString(w)
	if !unicode.IsUpper(r) || n == len(w) {
		return false
	}
	for _, c := range w[n:] {
		if !unicode.IsLower(c) {
			return false
		}
	}
	return true
}

// TrendTitle is the title of a test's page of results, e.g. "HbA1c results".
func TrendTitle(t store.ResultTest) string { return testHeading(t) + " results" }
