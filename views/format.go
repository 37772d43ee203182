package views

import (
	"fmt"
	"html"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/a-h/templ"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// dateLayouts are the shapes of FHIR date and dateTime values, and of SQLite's
// datetime(), most precise first.
func dateLayouts() []struct{ layout, format string } {
	return []struct{ layout, format string }{
		{time.RFC3339Nano, "2 January 2006"},
		{"2006-01-02T15:04Z07:00", "2 January 2006"}, // no seconds, as fhir.IsDateTime takes
		{"2006-01-02T15:04:05", "2 January 2006"},
		{"2006-01-02T15:04", "2 January 2006"},
		{"2006-01-02 15:04:05", "2 January 2006"},
		{"2006-01-02", "2 January 2006"},
		{"2006-01", "January 2006"},
		{"2006", "2006"},
	}
}

// formatDate writes a FHIR date or date-time the way people read it:
// "14 March 2026", or "March 2026" and "2026" for partial dates. A date-time
// with an offset of its own keeps the date as written where it was recorded,
// so a result taken late in the evening is not moved to the next day; one in
// UTC (Z or +00:00, as systems send times) is the date in the UK, so a
// result taken at 00:30 on a summer morning is not shown on the day before.
// An empty date is "Date not recorded"; one that cannot be read is shown as it is.
func formatDate(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "Date not recorded"
	}
	for _, l := range dateLayouts() {
		if t, err := time.Parse(l.layout, s); err == nil {
			if _, offset := t.Zone(); offset == 0 && strings.HasSuffix(l.layout, "Z07:00") {
				t = t.In(ukZone())
			}
			return t.Format(l.format)
		}
	}
	return s
}

// statusWord is a FHIR status code (from any resource the record shows) in plain words.
func statusWord(code string) (string, bool) {
	switch code {
	case "active":
		return "Active", true
	case "inactive":
		return "Inactive", true
	case "resolved":
		return "Resolved", true
	case "remission":
		return "In remission", true
	case "recurrence", "relapse":
		return "Returned", true
	case "completed":
		return "Completed", true
	case "stopped":
		return "Stopped", true
	case "entered-in-error":
		return "Recorded in error", true
	case "finished":
		return "Took place", true
	case "final":
		return "Complete", true // not "Final", which reads as the last
	case "amended":
		return "Updated", true
	case "corrected":
		return "Corrected", true
	case "appended":
		return "Added to", true
	case "preliminary":
		return "Early result: it may change", true
	case "registered":
		return "Not ready yet", true
	case "partial":
		return "Partly ready", true
	case "current":
		return "Current", true
	case "superseded":
		return "Replaced by a newer version", true
	case "in-progress":
		return "In progress", true
	case "achieved":
		return "Achieved", true
	case "not-achieved":
		return "Not achieved", true
	case "sustaining":
		return "Keeping it up", true
	case "improving":
		return "Improving", true
	case "worsening":
		return "Getting worse", true
	case "no-change":
		return "No change", true
	case "accepted":
		return "Agreed", true
	case "preparation":
		return "Being prepared", true
	case "booked":
		return "Booked", true
	case "arrived":
		return "Arrived", true
	case "checked-in":
		return "Checked in", true
	case "fulfilled":
		return "Attended", true
	case "noshow":
		return "Did not attend", true
	case "cancelled":
		return "Cancelled", true
	case "not-done":
		return "Not done", true
	case "on-hold":
		return "On hold", true
	case "unconfirmed":
		return "Suspected, not confirmed", true // as the summary's tag says
	case "confirmed":
		return "Confirmed", true
	case "provisional":
		return "Provisional", true
	case "differential":
		return "Possible", true
	case "refuted":
		return "Ruled out", true
	case "draft":
		return "Draft", true
	case "revoked":
		return "Withdrawn", true
	case "intended", "planned":
		return "Planned", true
	case "proposed":
		return "Proposed", true
	case "pending":
		return "Pending", true
	case "waitlist":
		return "On the waiting list", true
	case "triaged":
		return "Triaged", true
	case "onleave":
		return "On leave", true
	case "suspended":
		return "Suspended", true
	case "unknown":
		return "Unknown", true
	case "not-taken":
		return "Not taken", true
	case "on-target":
		return "On target", true
	}
	return "", false
}

// statusText writes a FHIR status code in plain words: "in-progress" is
// "In progress". An unknown code is made readable ("some-code" is "Some code");
// an empty one is "Not recorded".
// readableValue is an item's value with the units written as people read
// them, as on the results pages (store.WithUnit): "121 mm[Hg]" is "121
// mmHg", "98 %" is "98%", and "8 {score}" is "8", and a date as FHIR writes
// it in words ("Ended 2020-09-01" is "Ended 1 September 2020"). The value was
// put in words when the item was stored; only these change.
func readableValue(v string) string { return readableWords(v, false) }

// readableResult is readableValue for a test result's value, whose digits
// a device or a calculation gave past what people read are rounded
// (store.ReadableNumber): 72.97763358096024 kg is 72.98 kg. A medicine's dose
// is never rounded.
func readableResult(v string) string { return readableWords(v, true) }

func readableWords(v string, round bool) string {
	v = semanticTagInWords.ReplaceAllString(v, "$2") // "Reason: Sinusitis (disorder), Cough (finding)"
	var out []string
	for _, w := range strings.Split(v, " ") {
		core := strings.TrimRight(w, ",;:.)")
		if n := strings.TrimLeft(core, "<>=≤≥~"); n != "" {
			if r := store.ReadableNumber(n); round && r != n {
				w = core[:len(core)-len(n)] + r + w[len(core):] // 72.97763358096024 is 72.98
				core = core[:len(core)-len(n)] + r
			} else if isoDate(core) {
				w = formatDate(core) + w[len(core):] // "Ended 2020-09-01" is "Ended 1 September 2020"
				core = formatDate(core)
			}
		}
		switch u, known := store.KnownUnit(core); {
		case core == "":
		case known && u != core && strings.ContainsAny(core, "[]{}*^"):
			// A UCUM spelling no word has ("mm[Hg]", "10*9/L"), wherever it stands.
			w = u + w[len(core):]
		case !afterNumber(out):
			// Words, not a measurement: "reduced by %", "1 {tbl}" in a dose's
			// text, and a word that only spells a unit: "Kidney stone" is no
			// "Kidney st" (a clinical-safety review), "Meter reading" no "m reading".
		case known && u != core:
			w = u + w[len(core):]
		case countedOnly[strings.ToLower(core)]:
			// What was counted ("8 {score}"), which the number says already.
			// Others ("1 {tbl}" in a dose) say what the number counts: kept.
			if w != core {
				out[len(out)-1] += w[len(core):]
			}
			continue
		case core == "%":
			out[len(out)-1] += w
			continue
		}
		out = append(out, w)
	}
	return strings.Join(out, " ")
}

// isoDate reports whether w is a date as FHIR writes one, 2020-09-01.
func isoDate(w string) bool {
	_, err := time.Parse("2006-01-02", w)
	return err == nil
}

// countedOnly are the UCUM annotations that stand alone as a unit and say
// nothing a person needs: the number is the score, ratio, index or count.
var countedOnly = map[string]bool{"{score}": true, "{ratio}": true, "{index}": true, "{count}": true}

// afterNumber reports whether the last word of words is a number, as a
// measurement's is before its unit ("8", "7.2", "<5").
func afterNumber(words []string) bool {
	if len(words) == 0 {
		return false
	}
	w := strings.TrimLeft(words[len(words)-1], "<>=≤≥~-+−(")
	if w == "" {
		return false
	}
	// One number, or numbers a unit follows together: "120/80", "20-41",
	// "20–41"; "1,200" with its thousands marked.
	for _, n := range strings.FieldsFunc(strings.ReplaceAll(w, ",", ""), func(r rune) bool { return r == '/' || r == '-' || r == '–' }) {
		if _, err := strconv.ParseFloat(n, 64); err != nil {
			return false
		}
	}
	return true
}

// itemValue is an item's value as readableValue writes it, a rate saying
// what it counts as the results pages do: a heart rate's "72 per minute" is
// "72 beats per minute", a breathing rate's "breaths per minute".
func itemValue(it store.RecordItem) string {
	if it.Section != fhir.SectionResults {
		return readableValue(it.Value)
	}
	v := readableResult(it.Value)
	if rate := store.RateUnit(it.CodeSystem, it.Code, it.Display); rate != "" {
		v = strings.ReplaceAll(v, " per minute", " "+rate)
	}
	return v
}

// itemStatus is an item's status in the record's lists: a medicine
// prescribed again since says so, whatever status its old prescription
// still carries.
func itemStatus(it store.RecordItem) string {
	if it.PrescribedSince {
		return "Prescribed again since"
	}
	return reportStatus(it)
}

// reportStatus is a report's status in words: "Ended" once a care plan's or
// team member's end has passed (hasEnded), else its status.
func reportStatus(it store.RecordItem) string {
	today := time.Now().In(ukZone())
	if hasEnded(it, today) {
		return "Ended"
	}
	if bookedBefore(it, today) {
		return "Booked, not known if it took place"
	}
	return statusText(it.Status)
}

// bookedBefore reports whether it is an appointment still "booked" on a day
// before today (a UK day): the source never said whether it took place, and
// "Booked" alone left a person wondering if they had missed it (a review).
func bookedBefore(it store.RecordItem, today time.Time) bool {
	if it.ResourceType != "Appointment" || it.Status != "booked" || len(it.Date) < len("2006-01-02") {
		return false
	}
	day := it.Date[:10]
	if at, err := time.Parse(time.RFC3339, it.Date); err == nil {
		day = at.In(ukZone()).Format("2006-01-02") // the day the page shows it on (a review: 23:30Z is tomorrow in summer)
	}
	return day < today.In(ukZone()).Format("2006-01-02")
}

// untilDay is the end a care plan or care team member gives, as the
// importer says it: "Until 2026-03-01", "Until 2026-03", "Until 2026".
var untilDay = regexp.MustCompile(`(?:^|· |\. )Until (\d{4})(?:-(\d{2}))?(?:-(\d{2}))?(?:$| ·|\.)`)

// hasEnded reports whether a care plan or care team member still active
// (or on hold) gave an end that has passed by today (a UK day): a member who
// left a team in 2022, a plan to 2019, read as current, whatever the status
// still says (a clinical-safety review). Worked out as the page is shown,
// so an end still to come when the source last changed it is seen to pass.
// An end given as a month or a year lasts to its last day.
func hasEnded(it store.RecordItem, today time.Time) bool {
	if (it.Section != fhir.SectionCarePlans && it.Section != fhir.SectionCareTeam) || (it.Status != "active" && it.Status != "on-hold") {
		return false
	}
	m := untilDay.FindStringSubmatch(it.Detail)
	if m == nil {
		return false
	}
	y, _ := strconv.Atoi(m[1])
	end := time.Date(y+1, 1, 1, 0, 0, 0, 0, time.UTC) // the day after the end
	if m[2] != "" {
		mo, _ := strconv.Atoi(m[2])
		end = time.Date(y, time.Month(mo)+1, 1, 0, 0, 0, 0, time.UTC)
		if m[3] != "" {
			d, _ := strconv.Atoi(m[3])
			end = time.Date(y, time.Month(mo), d+1, 0, 0, 0, 0, time.UTC)
		}
	}
	return !time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC).Before(end)
}

func statusText(code string) string {
	code = strings.TrimSpace(code)
	if code == "" {
		return "Not recorded"
	}
	if w, ok := statusWord(strings.ToLower(code)); ok {
		return w
	}
	return humanise(code)
}

// humanise turns a code such as "some-code" or "some_code" into "Some code".
func humanise(code string) string {
	s := strings.Join(strings.Fields(strings.NewReplacer("-", " ", "_", " ").Replace(code)), " ")
	if s == "" {
		return "Not recorded"
	}
	s = strings.ToLower(s)
	return strings.ToUpper(s[:1]) + s[1:]
}

// ItemName is what the item is, never blank: its page's title and heading.
// A test the portal knows by its code is called by its plain name, as on the
// results pages ("Blood pressure", not "Blood pressure panel with all
// children optional"); the entry page still shows each source's own words.
func ItemName(it store.RecordItem) string {
	if it.Section == fhir.SectionResults {
		if _, ok := store.PlainTestName(it.CodeSystem, it.Code); ok {
			return testHeading(store.ResultTest{CodeSystem: it.CodeSystem, Code: it.Code, Name: it.Display})
		}
	}
	if uk, ok := ukName(it); ok {
		return uk
	}
	if d := plainName(it.Display); d != "" {
		if it.Section == fhir.SectionResults {
			return store.TidyTestName(d) // no "[Mass Ratio]", as on the results pages
		}
		if it.Section == fhir.SectionMedicines {
			return medicineName(d)
		}
		return d
	}
	return "Unnamed item"
}

// ukName is the name a UK patient knows an item by, where the record gives a
// US one (a review of real records): a medicine whose ingredient has another
// name here ("Acetaminophen 325 MG Oral Tablet" is "Paracetamol 325 mg oral
// tablet"). The entry's page gives the record's own words too
// (recordedName). A vaccine by its CVX code is named so as it is read (fhir
// ukVaccineNames), so that search finds it by that name too.
func ukName(it store.RecordItem) (string, bool) {
	switch it.Section {
	case fhir.SectionMedicines:
		if d := plainName(it.Display); usDrugNames.MatchString(d) {
			return medicineName(usDrugNames.ReplaceAllStringFunc(d, func(w string) string {
				uk := ukDrugNames[strings.ToLower(w)]
				if w[0] >= 'A' && w[0] <= 'Z' {
					uk = strings.ToUpper(uk[:1]) + uk[1:]
				}
				return uk
			})), true
		}
	}
	return "", false
}

// recordedName is the record's own name for an item the pages call by its UK
// name (ukName), "" for any other.
func recordedName(it store.RecordItem) string {
	if _, ok := ukName(it); !ok {
		return ""
	}
	return plainName(it.Display)
}

// ukDrugNames are medicines' ingredients by their US names, lower case, and
// their names here; usDrugNames finds them as whole words.
var ukDrugNames = map[string]string{
	"acetaminophen": "paracetamol", "albuterol": "salbutamol", "epinephrine": "adrenaline", "norepinephrine": "noradrenaline",
	"meperidine": "pethidine", "glyburide": "glibenclamide", "acyclovir": "aciclovir",
}

var usDrugNames = regexp.MustCompile(`(?i)\b(acetaminophen|albuterol|norepinephrine|epinephrine|meperidine|glyburide|acyclovir)\b`)

// encounterWord is FHIR's and SNOMED CT's word for a visit, which people do
// not use: "Encounter for check up" is "Visit for check up", "Telephone
// encounter" "Telephone visit" (a review, against the NHS content style).
var encounterWord = regexp.MustCompile(`\b[Ee]ncounter\b`)

// semanticTag is the kind of concept a SNOMED CT fully specified name ends
// with, in brackets, which a coding system needs and a person does not:
// "Osteoporosis (disorder)", "General examination of patient (procedure)".
var semanticTag = regexp.MustCompile(`\s+\((disorder|finding|procedure|situation|record artifact|record artefact|regime/therapy|observable entity|substance|event|qualifier value|body structure|morphologic abnormality|physical object|product|medicinal product|medicinal product form|clinical drug|assessment scale|environment|occupation|person|specimen|disposition|social concept|staging scale|organism|cell|cell structure|life style|ethnic group)\)$`)

// semanticTagInWords is a semanticTag within words, where a name ends: before
// a comma, a stop, a semicolon, a middle dot or the end.
var semanticTagInWords = regexp.MustCompile(strings.TrimSuffix(semanticTag.String(), "$") + `([,.;]|\s·|$)`)

// plainName is a name as a source recorded it, without a SNOMED CT kind of
// concept at its end, and in sentence case when it is all capitals with a
// word of four letters or more that is no abbreviation ("PULSE" is "Pulse",
// "RASH ON FACE" is "Rash on face"). An abbreviation stays in capitals: one
// known ("COPD"), a word of four letters or more without a vowel ("VDRL"), a
// shorter one that is not a common word ("PCP", "TB"), one with a digit
// ("COVID-19") or a single letter ("HEPATITIS B"); a name of short words
// only ("HEP A", "FLU JAB") is left as it is.
func plainName(name string) string {
	name = semanticTag.ReplaceAllString(strings.TrimSpace(name), "")
	name = encounterWord.ReplaceAllStringFunc(name, func(w string) string {
		return map[bool]string{true: "Visit", false: "visit"}[w[0] == 'E']
	})
	if strings.ToUpper(name) != name || strings.ToLower(name) == name {
		return name
	}
	words := strings.Fields(name)
	shouting := false
	lower := make([]bool, len(words))
	for i, w := range words {
		letters := strings.Map(func(r rune) rune {
			if unicode.IsLetter(r) {
				return r
			}
			return -1
		}, w)
		n := utf8.RuneCountInString(letters)
		switch {
		case strings.IndexFunc(w, unicode.IsDigit) >= 0, n <= 1, abbreviations[letters]:
		case n < 4:
			lower[i] = commonWords[strings.ToLower(letters)]
		case strings.ContainsAny(letters, "AEIOUY"):
			lower[i], shouting = true, true
		}
	}
	if !shouting {
		return name
	}
	for i, w := range words {
		if lower[i] {
			words[i] = strings.ToLower(w)
		}
	}
	out := strings.Join(words, " ")
	r, size := utf8.DecodeRuneInString(out)
	return string(unicode.ToUpper(r)) + out[size:]
}

// abbreviations are those of four letters or more, with a vowel, a name in
// capitals may hold, which stay in capitals.
var abbreviations = map[string]bool{
	"COPD": true, "ADHD": true, "MRSA": true, "COVID": true, "NSAID": true, "SARS": true, "DTAP": true, "EGFR": true, "AIDS": true,
	"MERS": true, "SIDS": true, "ARDS": true, "OCPD": true,
}

// commonWords are words of three letters or fewer a name in capitals may
// hold that are not abbreviations.
var commonWords = map[string]bool{
	"a": true, "an": true, "and": true, "as": true, "at": true, "by": true, "for": true, "in": true, "is": true, "no": true,
	"not": true, "of": true, "on": true, "or": true, "per": true, "the": true, "to": true, "use": true, "due": true, "low": true,
	"day": true, "eye": true, "ear": true, "leg": true, "arm": true, "hip": true, "red": true, "pen": true, "gel": true, "tab": true,
	"cap": true, "bag": true, "kit": true, "dry": true, "flu": true, "jab": true, "new": true, "old": true, "dog": true, "cat": true,
	"bee": true, "via": true,
}

// strengthUnit is a unit of a medicine's strength in capitals, as RxNorm
// writes it after a number ("325 MG", "1 MG/ML").
var strengthUnit = regexp.MustCompile(`(?i)(\d) (MG/ML|MCG/ML|MG/HR|MCG/HR|UNT/ML|MEQ/ML|MCG/ACTUAT|MG/ACTUAT|MCG|MEQ|MG|ML|UNT|HR|ACTUAT)\b`)

// strengthUnits are those units as people write them: RxNorm's UNT is units,
// MEQ is mEq, ACTUAT a puff of an inhaler.
var strengthUnits = strings.NewReplacer("MCG", "micrograms", "MEQ", "mEq", "MG", "mg", "ML", "ml", "UNT", "units", "HR", "hour", "ACTUAT", "puff")

// nationalDrugCode is an approved application number RxNorm puts before a
// pack's name ("NDA020800 0.3 ML Epinephrine …"): nothing a person reads.
var nationalDrugCode = regexp.MustCompile(`^(NDA|ANDA|BLA)\d+\s+`)

// medicineName is a medicine's name with its strength's units as people
// write them: "Acetaminophen 325 MG Oral Tablet" is "Acetaminophen 325 mg
// Oral Tablet". Capitals inside a drug's name ("diphenhydrAMINE") are Tall
// Man lettering, which keeps look-alike names apart: kept.
func medicineName(name string) string {
	name = nationalDrugCode.ReplaceAllString(name, "")
	return strengthUnit.ReplaceAllStringFunc(name, func(m string) string {
		number, unit, _ := strings.Cut(m, " ")
		if unit = strings.ToUpper(unit); unit == "ACTUAT" {
			return number + " puffs" // an inhaler's count: "120 ACTUAT" is "120 puffs"
		}
		return number + " " + strengthUnits.Replace(unit)
	})
}

// itemFrom says where the item came from: the source, and the organisation
// named in the item when that is someone else.
// The organisation named in the item goes beside the source whose report
// named it (the first), not after every source: "Meanwood Group Practice
// (Dr Tom Reid), Leeds Teaching Hospitals".
func itemFrom(it store.RecordItem) string {
	labels := []string{it.Source.Label()}
	if len(it.Sources) > 0 {
		labels = labels[:0]
		for _, s := range it.Sources {
			labels = append(labels, s.Label())
		}
	}
	if org := strings.TrimSpace(it.Organisation); org != "" && !strings.EqualFold(org, labels[0]) {
		if labels[0] == "" {
			labels[0] = org
		} else {
			labels[0] += " (" + org + ")"
		}
	}
	labels = slices.DeleteFunc(labels, func(l string) bool { return l == "" })
	if len(labels) == 0 {
		return "Not recorded"
	}
	return strings.Join(labels, ", ")
}

// lastUpdated says when a source last brought the person's record up to date (store.Summary.Updated).
func lastUpdated(at string) string {
	if strings.TrimSpace(at) == "" {
		return "Not brought in yet"
	}
	return "Last updated " + formatDate(at)
}

// count is the number of items in a section: store.Summary.Counts leaves out
// the empty ones.
func count(counts map[string]int, slug string) int {
	return counts[slug]
}

// countText is a count in words: "1 item", "3 items", "no items".
func countText(n int) string {
	switch n {
	case 0:
		return "no items"
	case 1:
		return "1 item"
	default:
		return strconv.Itoa(n) + " items"
	}
}

// sectionURL is the address of a section of the record.
func sectionURL(slug string) string {
	return "/record/" + slug
}

// pageURL is the link to a page of the current section.
func pageURL(n int) string {
	return fmt.Sprintf("?page=%d", n)
}

// pageOf is "Page 2 of 7".
func pageOf(n, of int) string {
	return fmt.Sprintf("Page %d of %d", n, of)
}

// showing is "Showing 26 to 50 of 130 items" for a page of a section.
func showing(sp store.SectionPage) string {
	if sp.Total == 0 || len(sp.Items) == 0 {
		return ""
	}
	first := (sp.Page-1)*sp.PerPage + 1
	if sp.PerPage <= 0 {
		first = 1
	}
	last := first + len(sp.Items) - 1
	if first == 1 && last == sp.Total {
		return "Showing " + countText(sp.Total) + "."
	}
	return fmt.Sprintf("Showing %d to %d of %d items.", first, last, sp.Total)
}

// anyValue reports whether any item has a value, so the table needs a column for it.
func anyValue(items []store.RecordItem) bool {
	for _, it := range items {
		if strings.TrimSpace(it.Value) != "" || conclusionIsValue(it) {
			return true
		}
	}
	return false
}

// currentNav is the aria-current value for a navigation link to href when the
// page is at path: "page" on that page, "true" below it, "" elsewhere.
func currentNav(path, href string) string {
	switch {
	case path == href:
		return "page"
	case href != "/" && strings.HasPrefix(path, href+"/"):
		return "true"
	default:
		return ""
	}
}

// plural is one or many by n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// sectionEmpty is what an empty section says, kindly.
func sectionEmpty(slug string) string {
	if s, ok := fhir.SectionBySlug(slug); ok {
		return sectionEmptyText(s)
	}
	return "Nothing has been recorded here yet."
}

func sectionEmptyText(s fhir.Section) string {
	if s.Empty != "" {
		return s.Empty
	}
	return "Nothing has been recorded here yet."
}

// sectionCounts is what the section navigation knows on a section page: only
// this section's total. Other sections show no count there.
func sectionCounts(sp store.SectionPage) map[string]int {
	return map[string]int{sp.Section.Slug: sp.Total}
}

// itemHeading names the first column of a section's table.
func itemHeading(slug string) string {
	switch slug {
	case fhir.SectionAllergies:
		return "Allergy or reaction"
	case fhir.SectionMedicines:
		return "Medicine"
	case fhir.SectionConditions:
		return "Condition"
	case fhir.SectionImmunisations:
		return "Vaccination"
	case fhir.SectionResults:
		return "Test"
	case fhir.SectionEncounters:
		return "Visit or appointment"
	case fhir.SectionProcedures:
		return "Procedure"
	case fhir.SectionDocuments:
		return "Document"
	case fhir.SectionCarePlans:
		return "Care plan"
	case fhir.SectionCareTeam:
		return "Person or team"
	default:
		return "Item"
	}
}

// valueHeading names the value column of a section's table.
func valueHeading(slug string) string {
	if slug == fhir.SectionResults {
		return "Result"
	}
	return "Details"
}

// tableCaption describes the table for screen readers: "Medicines, page 2 of 7".
func tableCaption(sp store.SectionPage) string {
	if sp.Pages() > 1 {
		return sp.Section.Title + ", page " + strconv.Itoa(sp.Page) + " of " + strconv.Itoa(sp.Pages())
	}
	return sp.Section.Title
}

// allCounts fills in the sections store.Summary.Counts leaves out (the empty
// ones), so the navigation shows a count for every section.
func allCounts(counts map[string]int) map[string]int {
	all := make(map[string]int, len(counts))
	for _, s := range fhir.Sections() {
		all[s.Slug] = counts[s.Slug]
	}
	return all
}

// navCount is the count the navigation shows for a section, or -1 for none.
func navCount(counts map[string]int, slug string) int {
	if n, ok := counts[slug]; ok {
		return n
	}
	return -1
}

// ukZone is UK time, for the moments people read.
var ukZone = store.UKZone

// clockTime is a time of day today as people read it, in UK time: "2:43pm".
func clockTime(t time.Time) string {
	return t.In(ukZone()).Format("3:04pm")
}

// dateTime is a moment as people read it, in UK time, with the 12-hour clock
// as the NHS writes it: "26 November 2026 at 2:43pm".
func dateTime(t time.Time) string {
	return t.In(ukZone()).Format("2 January 2006 at 3:04pm")
}

// unshownKinds are the kinds of resource store.UnshownKinds counts, in words:
// one, and more than one.
var unshownKinds = map[string][2]string{
	"Device":                   {"device, such as an implant, a pacemaker or a meter you use at home", "devices, such as implants, pacemakers or meters you use at home"},
	"DeviceUseStatement":       {"note of a device used", "notes of devices used"},
	"DeviceRequest":            {"request for a device", "requests for devices"},
	"ImagingStudy":             {"scan or X-ray", "scans or X-rays"},
	"MedicationDispense":       {"medicine supplied by a pharmacy", "medicines supplied by a pharmacy"},
	"MedicationAdministration": {"medicine given to you", "medicines given to you"},
	"FamilyMemberHistory":      {"note of your family's health", "notes of your family's health"},
	"Flag":                     {"alert for staff", "alerts for staff"},
	"ServiceRequest":           {"referral or request for a test", "referrals or requests for tests"},
	"Goal":                     {"health goal", "health goals"},
	"RiskAssessment":           {"risk assessment", "risk assessments"},
	"ClinicalImpression":       {"clinical assessment", "clinical assessments"},
	"NutritionOrder":           {"diet or feeding plan", "diet or feeding plans"},
	"QuestionnaireResponse":    {"questionnaire you or a professional answered", "questionnaires you or a professional answered"},
	"Media":                    {"photo or recording", "photos or recordings"},
}

// unshownWords is a count of one kind the pages do not show: "1 device,
// such as an implant or a pacemaker", "6 scans or X-rays".
func unshownWords(k store.UnshownKind) string {
	w, ok := unshownKinds[k.Type]
	if !ok {
		w = [2]string{k.Type, k.Type}
	}
	from := ""
	if len(k.From) > 0 {
		from = ", from " + andList(k.From)
	}
	if k.Count == 1 {
		return "1 " + w[0] + from
	}
	return strconv.Itoa(k.Count) + " " + w[1] + from
}

// slashBreaks writes s, escaped, with a place to break the line after each
// "/" (<wbr>, which adds no space), so a unit such as "mL/min/1.73m²" never
// holds a results table wider than its column: with text spaced out for
// reading (WCAG 1.4.12) it ran under the record's menu, text over text (a
// WCAG 2.2 review).
func slashBreaks(s string) templ.Component {
	parts := strings.Split(s, "/")
	for i, p := range parts {
		parts[i] = html.EscapeString(p)
	}
	return templ.Raw(strings.Join(parts, "/<wbr>"))
}

// conclusionIsValue says whether a test report's conclusion is what a
// table shows as its result, as the results pages do (store newResult): a
// report with no value of its own ("Full blood count": "Slightly raised
// white cell count"), which print and search said was "Not recorded" (a
// product review).
func conclusionIsValue(it store.RecordItem) bool {
	return it.Value == "" && it.Detail != "" && it.ResourceType == "DiagnosticReport" && it.Section == fhir.SectionResults
}

// andList is names as a sentence says them: "A", "A and B", "A, B and C".
func andList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// earlyResult says whether a result's status is that it is not final yet:
// the summary tags it, so an early result never reads as the last word
// (found by a clinical-safety review).
func earlyResult(status string) bool {
	return status == "preliminary" || status == "partial" || status == "registered"
}

// itemDate is when an entry was, as formatDate writes it, and for an
// appointment, or a visit planned, the time too, in UK time when the source gave it in UTC:
// "30 March 2026 at 9:30am" (found by a clinical-safety review: a booked
// clinic showed only its day).
//
// An appointment happens in the UK: a time with any offset is UK time, and
// so is its day; one at midnight exactly is a day without a time; in the
// hour the clocks go back, which comes twice, the time says which ("1:30am
// GMT"). Found by reviews.
func itemDate(it store.RecordItem) string {
	if it.ResourceType != "Appointment" && (it.ResourceType != "Encounter" || it.Status != "planned") {
		return formatDate(it.Date) // a visit planned is said as an appointment is
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		t, err := time.Parse(layout, strings.TrimSpace(it.Date))
		if err != nil {
			continue
		}
		if strings.HasSuffix(layout, "Z07:00") {
			t = t.In(ukZone())
		}
		d := t.Format("2 January 2006")
		if t.Hour() == 0 && t.Minute() == 0 {
			return d
		}
		d += " at " + strings.ToLower(t.Format("3:04PM"))
		if strings.HasSuffix(layout, "Z07:00") {
			for _, other := range []time.Time{t.Add(-time.Hour), t.Add(time.Hour)} {
				if other.Format("15:04") == t.Format("15:04") {
					d += " " + t.Format("MST") // the hour that comes twice
				}
			}
		}
		return d
	}
	return formatDate(it.Date)
}

// diedWords says that the record says the person has died, and when: "The
// record says Mr Fletcher Hyatt died on 21 January 1996." died is as
// store.Died gives it.
func diedWords(person store.Person, died string) string {
	switch {
	case died == "yes":
		return "The record says " + person.Name() + " has died. Medicines and health conditions shown as current may not have been current when they died."
	case len(died) < len("2006-01-02"):
		return "The record says " + person.Name() + " died in " + formatDate(died) + ". Medicines and health conditions shown as current were current then." // a year, or a month
	}
	return "The record says " + person.Name() + " died on " + formatDate(died) + ". Medicines and health conditions shown as current were current then."
}
