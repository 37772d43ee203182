package fhir

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// dosage is one of a medicine's dosage instructions (FHIR Dosage), as far as
// the pages say it in words.
type dosage struct {
	Sequence              *int              `json:"sequence"`
	Text                  string            `json:"text"`
	PatientInstruction    string            `json:"patientInstruction"`
	AdditionalInstruction []CodeableConcept `json:"additionalInstruction"`
	Timing                struct {
		Repeat struct {
			BoundsDuration *Quantity   `json:"boundsDuration"`
			Count          json.Number `json:"count"`
			Frequency      json.Number `json:"frequency"`
			FrequencyMax   json.Number `json:"frequencyMax"`
			Period         json.Number `json:"period"`
			PeriodMax      json.Number `json:"periodMax"`
			PeriodUnit     string      `json:"periodUnit"`
			DayOfWeek      []string    `json:"dayOfWeek"`
			TimeOfDay      []string    `json:"timeOfDay"`
			When           []string    `json:"when"`
			Offset         json.Number `json:"offset"`
		} `json:"repeat"`
		Code CodeableConcept `json:"code"`
	} `json:"timing"`
	AsNeededBoolean         bool            `json:"asNeededBoolean"`
	AsNeededCodeableConcept CodeableConcept `json:"asNeededCodeableConcept"`
	Site                    CodeableConcept `json:"site"`
	DoseAndRate             []struct {
		DoseQuantity *Quantity `json:"doseQuantity"`
		DoseRange    *struct {
			Low  *Quantity `json:"low"`
			High *Quantity `json:"high"`
		} `json:"doseRange"`
		RateQuantity *Quantity `json:"rateQuantity"`
	} `json:"doseAndRate"`
	MaxDosePerPeriod *struct {
		Numerator   *Quantity `json:"numerator"`
		Denominator *Quantity `json:"denominator"`
	} `json:"maxDosePerPeriod"`
}

// UnmarshalJSON reads a dosage instruction. One whose structured parts, or
// patient instruction, are malformed keeps its text, if that is text: a
// medicine is better listed with the words its prescriber wrote than kept
// aside for a part the pages could only have put in other words (a review:
// a patient instruction written as an object set a new prescription aside).
func (d *dosage) UnmarshalJSON(b []byte) error {
	type plain dosage
	var v plain
	if err := json.Unmarshal(b, &v); err == nil {
		*d = dosage(v)
		return nil
	}
	var parts map[string]json.RawMessage
	if err := json.Unmarshal(b, &parts); err != nil {
		return err
	}
	*d = dosage{}
	_ = json.Unmarshal(parts["text"], &d.Text)
	_ = json.Unmarshal(parts["patientInstruction"], &d.PatientInstruction)
	return nil
}

// dosageText is a medicine's dosage instructions in words: each as written,
// else put in words from its structured parts (Synthea's, and some
// systems', have no text: "1, once a day"), then its patient instruction,
// which UK Core gives as a further note ("Take with food"), never in the
// dose's place. Several instructions are all said, in their sequence: ones
// at once joined by "and", ones in a stated sequence by "then" (a split dose,
// "1 tablet in the morning and 2 tablets at night"; a reducing dose, "4
// tablets a day for 5 days; then 2 tablets a day"), ones whose order is not
// stated by a semicolon. A clinical-safety review found a split dose shown as
// its first part alone.
func dosageText(ds []dosage) string {
	type said struct {
		seq   int
		words string
	}
	var all []said
	for _, d := range ds {
		w := strings.TrimRight(strings.TrimSpace(d.words()), ".;, ")
		if w == "" {
			continue
		}
		seq := -1 // none given: in the order written, no order stated
		if d.Sequence != nil {
			seq = *d.Sequence
		}
		all = append(all, said{seq, w})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].seq >= 0 && (all[j].seq < 0 || all[i].seq < all[j].seq) })
	var b strings.Builder
	for i, s := range all {
		if i > 0 {
			prev := all[i-1].seq
			switch {
			case s.seq < 0 || prev < 0:
				b.WriteString("; ")
			case s.seq == prev:
				b.WriteString(" and ")
			case strings.HasPrefix(strings.ToLower(s.words), "then "):
				b.WriteString("; ")
			default:
				b.WriteString("; then ")
			}
			s.words = lowerFirst(s.words)
		}
		b.WriteString(s.words)
	}
	return b.String()
}

// words is one dosage instruction in words: as written, else from its
// parts, and its patient instruction after.
func (d dosage) words() string {
	said := strings.TrimRight(strings.TrimSpace(d.Text), ". ")
	if said == "" {
		said = d.structured()
	}
	if note := strings.TrimRight(strings.TrimSpace(d.PatientInstruction), ". "); note != "" && note != said {
		if said == "" {
			return note
		}
		return said + ". " + upperFirst(note)
	}
	return said
}

// structured is a dosage instruction put in words from its parts.
func (d dosage) structured() string {
	var parts []string
	if dose := d.dose(); dose != "" {
		parts = append(parts, dose)
	}
	if rate := d.rate(); rate != "" {
		parts = append(parts, rate)
	}
	if when := d.when(); when != "" {
		parts = append(parts, when)
	}
	if asNeeded := d.asNeeded(); asNeeded != "" {
		parts = append(parts, asNeeded)
	}
	said := strings.Join(parts, ", ")
	var more []string
	if w := bodySiteWords([]CodeableConcept{d.Site}); w != "" {
		more = append(more, "Where: "+w)
	}
	if m := d.MaxDosePerPeriod; m != nil && m.Numerator != nil && m.Denominator != nil {
		if most, per := doseAmount(m.Numerator), duration(m.Denominator); most != "" && per != "" {
			more = append(more, "No more than "+most+" in "+per)
		}
	}
	for _, a := range d.AdditionalInstruction {
		if w := strings.TrimRight(a.Words(), ". "); w != "" {
			more = append(more, w)
		}
	}
	if said == "" && len(more) == 0 {
		return ""
	}
	if said != "" {
		more = append([]string{upperFirst(said)}, more...)
	}
	return strings.Join(more, ". ")
}

// dose is how much each time: "1", "2 tablets", "5 to 10 mL".
func (d dosage) dose() string {
	for _, dr := range d.DoseAndRate {
		if dr.DoseQuantity != nil {
			if s := doseAmount(dr.DoseQuantity); s != "" {
				return s
			}
		}
		if r := dr.DoseRange; r != nil && r.Low != nil && r.High != nil {
			low, high := *r.Low, *r.High
			if low.Unit == "" && low.Code == "" {
				low.Unit, low.Code = high.Unit, high.Code
			}
			if high.Unit == "" && high.Code == "" {
				high.Unit, high.Code = low.Unit, low.Code
			}
			l, h := doseAmount(&low), doseAmount(&high)
			if l == "" || h == "" {
				continue
			}
			if unit := doseUnit(&low); unit != "" && unit == doseUnit(&high) {
				return strings.TrimSuffix(l, " "+unit) + " to " + h // "5 to 10 mL"
			}
			return l + " to " + h // "500 mg to 1 g"
		}
	}
	return ""
}

// rate is how fast, for an infusion or oxygen: "at 2 L/min".
func (d dosage) rate() string {
	for _, dr := range d.DoseAndRate {
		if s := doseAmount(dr.RateQuantity); s != "" {
			return "at " + s
		}
	}
	return ""
}

// doseAmount is an amount as a dose is said: its number as written, without
// a trailing ".0", and its unit (doseUnit).
func doseAmount(q *Quantity) string {
	if q == nil || q.Value == "" {
		return ""
	}
	return strings.TrimSpace(q.Comparator + plainNumber(q.Value) + " " + doseUnit(q))
}

// doseUnit is an amount's unit in words: as written, else its code without
// UCUM's braces ("{tablet}"), UCUM's international units as "units", and
// never a code of digits alone (a SNOMED CT unit given without its name,
// which would read as a number).
func doseUnit(q *Quantity) string {
	unit := strings.TrimSpace(q.Unit)
	if unit == "" {
		unit = strings.Trim(strings.TrimSpace(q.Code), "{}")
	}
	switch {
	case unit == "[iU]" || unit == "[IU]":
		return "units"
	case strings.Trim(unit, "0123456789") == "":
		return ""
	}
	return unit
}

// wholeNumber is a count written as a whole number, "2" or "2.0"; else 0.
func wholeNumber(n json.Number) int {
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || f != float64(int(f)) || f < 0 || f > 1e6 {
		return 0
	}
	return int(f)
}

// plainNumber is a number as written, less a fraction of only zeros ("1.0" is
// "1").
func plainNumber(n json.Number) string {
	s := string(n)
	if i := strings.IndexByte(s, '.'); i >= 0 && strings.Trim(s[i+1:], "0") == "" {
		return s[:i]
	}
	return s
}

// when is how often and when: "once a day", "every 4 to 6 hours", "twice a
// day in the morning and at night for 7 days".
func (d dosage) when() string {
	r := d.Timing.Repeat
	var parts []string
	if often := howOften(r.Frequency, r.FrequencyMax, r.Period, r.PeriodMax, r.PeriodUnit); often != "" {
		parts = append(parts, often)
	} else if w := firstNonEmpty(d.Timing.Code.Words(), d.Timing.Code.First().Code); w != "" {
		parts = append(parts, timingCodeWords(w))
	}
	var at []string
	for _, w := range r.When {
		if s, ok := eventTiming[w]; ok {
			at = append(at, offsetFrom(w, s, wholeNumber(r.Offset)))
		}
	}
	for _, t := range r.TimeOfDay {
		if len(t) >= 5 {
			at = append(at, "at "+t[:5])
		}
	}
	if len(at) > 0 {
		parts = append(parts, joinAnd(at))
	}
	var days []string
	for _, day := range r.DayOfWeek {
		if s, ok := weekdays[day]; ok {
			days = append(days, s)
		}
	}
	if len(days) > 0 {
		parts = append(parts, "on "+joinAnd(days))
	}
	if r.BoundsDuration != nil {
		if s := duration(r.BoundsDuration); s != "" {
			parts = append(parts, "for "+s)
		}
	}
	if n := wholeNumber(r.Count); n > 0 {
		parts = append(parts, fmt.Sprintf("(%d %s in all)", n, plural(n, "dose", "doses")))
	}
	return strings.Join(parts, " ")
}

// asNeeded is "when needed", and for what when it says.
func (d dosage) asNeeded() string {
	if w := d.AsNeededCodeableConcept.Words(); w != "" {
		return "when needed for " + lowerFirst(w)
	}
	if d.AsNeededBoolean {
		return "when needed"
	}
	return ""
}

// periodUnits are FHIR's units of time (UnitsOfTime), one and many.
var periodUnits = map[string][2]string{
	"s": {"second", "seconds"}, "min": {"minute", "minutes"}, "h": {"hour", "hours"},
	"d": {"day", "days"}, "wk": {"week", "weeks"}, "mo": {"month", "months"}, "a": {"year", "years"},
}

// howOften is a repeat's frequency in words: "once a day", "3 times a day",
// "1 to 2 times a day", "every 4 hours", "every 4 to 6 hours", "once every 2
// weeks". It is "" when the repeat gives no period in a known unit.
func howOften(freq, freqMax, period, periodMax json.Number, unit string) string {
	names, ok := periodUnits[unit]
	p, err := strconv.ParseFloat(string(period), 64)
	if !ok || err != nil || p <= 0 {
		return ""
	}
	f, fMax := wholeNumber(freq), wholeNumber(freqMax) // "2.0" is 2
	if f < 1 {
		f = 1
	}
	pMax, _ := strconv.ParseFloat(string(periodMax), 64)
	if f == 1 && fMax <= 1 && (p != 1 || pMax > p || unit == "h" || unit == "min" || unit == "s") {
		// "every 4 hours", "every 4 to 6 hours", "every hour", "every 2 days"
		every := "every " + plainNumber(period) + " " + names[1]
		if p == 1 {
			every = "every " + names[0]
		}
		if pMax > p {
			every = "every " + plainNumber(period) + " to " + plainNumber(periodMax) + " " + names[1]
		}
		return every
	}
	times := map[int]string{1: "once", 2: "twice"}[f]
	if times == "" {
		times = strconv.Itoa(f) + " times"
	}
	if fMax > f {
		times = strconv.Itoa(f) + " to " + strconv.Itoa(fMax) + " times"
	}
	per := "a " + names[0]
	if unit == "h" {
		per = "an hour"
	}
	if p != 1 {
		per = "every " + plainNumber(period) + " " + names[1]
	}
	return times + " " + per
}

// duration is a length of time in words: "7 days", "24 hours".
func duration(q *Quantity) string {
	if q == nil || q.Value == "" {
		return ""
	}
	unit := firstNonEmpty(q.Code, q.Unit)
	names, ok := periodUnits[unit]
	if !ok {
		return doseAmount(q)
	}
	n := plainNumber(q.Value)
	return n + " " + map[bool]string{true: names[0], false: names[1]}[n == "1"]
}

// timingCodeWords says HL7's common timing abbreviations (GTSAbbreviation)
// in words, and any other timing code's words as they are.
func timingCodeWords(w string) string {
	if s, ok := map[string]string{
		"QD": "once a day", "BID": "twice a day", "TID": "3 times a day", "QID": "4 times a day",
		"QOD": "every other day", "AM": "in the morning", "PM": "in the afternoon or evening",
		"Q1H": "every hour", "Q2H": "every 2 hours", "Q3H": "every 3 hours", "Q4H": "every 4 hours",
		"Q6H": "every 6 hours", "Q8H": "every 8 hours", "WK": "once a week", "MO": "once a month",
	}[strings.ToUpper(w)]; ok {
		return s
	}
	return lowerFirst(w)
}

// eventTiming says FHIR's event timings (EventTiming) in words.
var eventTiming = map[string]string{
	"MORN": "in the morning", "MORN.early": "early in the morning", "MORN.late": "late in the morning",
	"NOON": "at noon", "AFT": "in the afternoon", "AFT.early": "early in the afternoon", "AFT.late": "late in the afternoon",
	"EVE": "in the evening", "EVE.early": "early in the evening", "EVE.late": "late in the evening",
	"NIGHT": "at night", "PHS": "after going to bed", "HS": "at bedtime", "WAKE": "on waking",
	"C": "with a meal", "CM": "with breakfast", "CD": "with lunch", "CV": "with the evening meal",
	"AC": "before a meal", "ACM": "before breakfast", "ACD": "before lunch", "ACV": "before the evening meal",
	"PC": "after a meal", "PCM": "after breakfast", "PCD": "after lunch", "PCV": "after the evening meal",
}

// offsetFrom is an event timing said with its offset in minutes: "30
// minutes before breakfast", "1 hour after a meal". FHIR counts the offset
// before a meal or bedtime (AC, ACM, ACD, ACV, HS) and after every other
// event; "at" one (a meal, noon) is then after it. An event said without a
// moment to count from ("in the morning", "at night") keeps its words alone.
func offsetFrom(code, words string, minutes int) string {
	if minutes <= 0 {
		return words
	}
	var event string
	for _, p := range []string{"before ", "after ", "with ", "at ", "on "} {
		if strings.HasPrefix(words, p) {
			event = strings.TrimPrefix(words, p)
			break
		}
	}
	if event == "" || code == "NIGHT" {
		return words
	}
	long := fmt.Sprintf("%d %s", minutes, plural(minutes, "minute", "minutes"))
	if minutes%60 == 0 {
		long = fmt.Sprintf("%d %s", minutes/60, plural(minutes/60, "hour", "hours"))
	}
	if strings.HasPrefix(code, "AC") || code == "HS" {
		return long + " before " + event
	}
	return long + " after " + event
}

// weekdays say FHIR's days of the week (DaysOfWeek) in words.
var weekdays = map[string]string{
	"mon": "Mondays", "tue": "Tuesdays", "wed": "Wednesdays", "thu": "Thursdays",
	"fri": "Fridays", "sat": "Saturdays", "sun": "Sundays",
}

// joinAnd joins words as a list is said: "a", "a and b", "a, b and c".
func joinAnd(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// upperFirst and lowerFirst change the first letter's case, leaving a word
// of capitals ("INR", "HbA1c" aside) as it is.
func upperFirst(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if next, _ := utf8.DecodeRuneInString(s[n:]); !unicode.IsLower(next) {
		return s // "INR", "HbA1c", a number
	}
	return string(unicode.ToLower(r)) + s[n:]
}
