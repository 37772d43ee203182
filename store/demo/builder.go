package demo

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

// Code systems and identifier systems used in the demo data.
const (
	systemSNOMED    = "http://snomed.info/sct"
	systemDMD       = "https://dmd.nhs.uk"
	systemLOINC     = "http://loinc.org"
	systemUCUM      = "http://unitsofmeasure.org"
	systemNHSNumber = "https://fhir.nhs.uk/Id/nhs-number"
	systemODS       = "https://fhir.nhs.uk/Id/ods-organization-code"
	systemGMC       = "https://fhir.hl7.org.uk/Id/gmc-number"
	systemNMC       = "https://fhir.hl7.org.uk/Id/nmc-number"
	systemHCPC      = "https://fhir.hl7.org.uk/Id/hcpc-number"

	terminology = "http://terminology.hl7.org/CodeSystem/"
)

// obj is one JSON object of a FHIR resource. Maps marshal with sorted keys,
// which keeps the output deterministic.
type obj = map[string]any

// code is one coded concept from a code system.
type code struct {
	system, code, display string
}

func (c code) coding() obj {
	return obj{"system": c.system, "code": c.code, "display": c.display}
}

// concept is the CodeableConcept for c, with its display as the text.
func (c code) concept() obj {
	return obj{"coding": []obj{c.coding()}, "text": c.display}
}

func sct(c, display string) code   { return code{systemSNOMED, c, display} }
func loinc(c, display string) code { return code{systemLOINC, c, display} }
func dmd(c, display string) code   { return code{systemDMD, c, display} }

// hl7 is a code from one of HL7's own terminology code systems, e.g.
// hl7("condition-clinical", "active", "Active").
func hl7(system, c, display string) obj {
	return code{terminology + system, c, display}.concept()
}

func reference(resourceType, id, display string) obj {
	return obj{"reference": resourceType + "/" + id, "display": display}
}

func quantity(value float64, unit string) obj {
	return obj{"value": value, "unit": unit, "system": systemUCUM, "code": unit}
}

func dateTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
func date(t time.Time) string     { return t.Format("2006-01-02") }

func day(y int, m time.Month, d, hour, minute int) time.Time {
	return time.Date(y, m, d, hour, minute, 0, 0, time.UTC)
}

func period(start time.Time, length time.Duration) obj {
	return obj{"start": dateTime(start), "end": dateTime(start.Add(length))}
}

// organisation is a care provider that holds part of someone's record.
type organisation struct {
	id, name, ods string
	phone         string
	line, city    string
	postcode      string
}

func (o organisation) ref() obj { return reference("Organization", o.id, o.name) }

// clinician is a member of staff who records, prescribes or performs care.
type clinician struct {
	id, prefix, given, family string
	idSystem, idValue         string // professional registration
	role                      code   // SNOMED occupation, e.g. General practitioner
}

func (c clinician) name() string { return c.prefix + " " + c.given + " " + c.family }
func (c clinician) ref() obj     { return reference("Practitioner", c.id, c.name()) }

// bundle collects one source's resources and gives them ids.
type bundle struct {
	name    string // source name, part of every fullUrl
	prefix  string // id prefix, e.g. "gp"
	entries []obj
	next    map[string]int
}

func newBundle(name, prefix string) *bundle {
	return &bundle{name: name, prefix: prefix, next: map[string]int{}}
}

// id returns the next id for a kind of resource, e.g. "gp-obs-12".
func (b *bundle) id(kind string) string {
	b.next[kind]++
	return fmt.Sprintf("%s-%s-%d", b.prefix, kind, b.next[kind])
}

// add stamps res with meta.lastUpdated and appends it as an entry.
func (b *bundle) add(res obj, updated time.Time) {
	res["meta"] = obj{"lastUpdated": dateTime(updated)}
	fullURL := fmt.Sprintf("https://demo.mycarerecord.example/%s/fhir/%s/%s", b.name, res["resourceType"], res["id"])
	b.entries = append(b.entries, obj{"fullUrl": fullURL, "resource": res})
}

func (b *bundle) len() int { return len(b.entries) }

func (b *bundle) marshal() []byte {
	data, err := json.Marshal(obj{
		"resourceType": "Bundle",
		"id":           b.name,
		"type":         "collection",
		"timestamp":    dateTime(ReferenceDate()),
		"entry":        b.entries,
	})
	if err != nil {
		// Only maps, slices, strings and numbers go in, so this cannot happen.
		panic(fmt.Sprintf("demo: marshal bundle %s: %v", b.name, err))
	}
	return data
}

func (b *bundle) addOrganisation(o organisation) {
	b.add(obj{
		"resourceType": "Organization",
		"id":           o.id,
		"active":       true,
		"identifier":   []obj{{"system": systemODS, "value": o.ods}},
		"type":         []obj{hl7("organization-type", "prov", "Healthcare Provider")},
		"name":         o.name,
		"telecom":      []obj{{"system": "phone", "value": o.phone, "use": "work"}},
		"address":      []obj{{"use": "work", "line": []string{o.line}, "city": o.city, "postalCode": o.postcode, "country": "GB"}},
	}, day(2015, time.January, 5, 9, 0))
}

func (b *bundle) addClinician(c clinician) {
	b.add(obj{
		"resourceType":  "Practitioner",
		"id":            c.id,
		"active":        true,
		"identifier":    []obj{{"system": c.idSystem, "value": c.idValue}},
		"name":          []obj{{"use": "official", "prefix": []string{c.prefix}, "given": []string{c.given}, "family": c.family, "text": c.name()}},
		"qualification": []obj{{"code": c.role.concept()}},
	}, day(2018, time.April, 3, 9, 0))
}

// chart writes one person's resources into one source's bundle.
type chart struct {
	b       *bundle
	org     organisation
	patient obj // reference to the person's Patient in this source
}

func (b *bundle) addPatient(p Person, id string, org, gp organisation, address string) chart {
	// Another organisation's GP practice is not in this bundle, so it is
	// named by its ODS code, as a hospital system would.
	gpRef := gp.ref()
	if gp.id != org.id {
		gpRef = obj{"identifier": obj{"system": systemODS, "value": gp.ods}, "display": gp.name}
	}
	b.add(obj{
		"resourceType": "Patient",
		"id":           id,
		"active":       true,
		"identifier": []obj{{
			"system": systemNHSNumber,
			"value":  p.NHSNumber,
		}},
		"name": []obj{{
			"use":    "official",
			"prefix": []string{p.Prefix},
			"given":  []string{p.Given},
			"family": p.Family,
			"text":   p.Name(),
		}},
		"gender":               p.Gender,
		"birthDate":            p.BirthDate,
		"address":              []obj{{"use": "home", "line": []string{address}, "city": "Leeds", "postalCode": "LS6 4JN", "country": "GB"}},
		"generalPractitioner":  []obj{gpRef},
		"managingOrganization": org.ref(),
	}, day(2024, time.June, 1, 8, 30))
	return chart{b: b, org: org, patient: reference("Patient", id, p.Name())}
}

func (c chart) allergy(substance, allergy code, manifestation code, criticality, severity string, onset time.Time, by clinician) {
	c.b.add(obj{
		"resourceType":       "AllergyIntolerance",
		"id":                 c.b.id("alg"),
		"clinicalStatus":     hl7("allergyintolerance-clinical", "active", "Active"),
		"verificationStatus": hl7("allergyintolerance-verification", "confirmed", "Confirmed"),
		"type":               "allergy",
		"category":           []string{"medication"},
		"criticality":        criticality,
		"code":               allergy.concept(),
		"patient":            c.patient,
		"onsetDateTime":      dateTime(onset),
		"recordedDate":       dateTime(onset),
		"recorder":           by.ref(),
		"reaction": []obj{{
			"substance":     substance.concept(),
			"manifestation": []obj{manifestation.concept()},
			"severity":      severity,
			"description":   manifestation.display + " after taking " + substance.display,
		}},
	}, onset.Add(2*time.Hour))
}

// device is a device the person was given, which no page of the portal
// shows yet: the summary says the record holds it (store.DB.UnshownKinds).
func (c chart) device(what code, given time.Time) {
	c.b.add(obj{
		"resourceType": "Device",
		"id":           c.b.id("dev"),
		"status":       "active",
		"type":         what.concept(),
		"deviceName":   []obj{{"name": what.display, "type": "user-friendly-name"}},
		"patient":      c.patient,
	}, given)
}

func (c chart) condition(what code, onset time.Time, status string, by clinician) string {
	id := c.b.id("cond")
	clinical := hl7("condition-clinical", status, titleCase(status))
	c.b.add(obj{
		"resourceType":       "Condition",
		"id":                 id,
		"clinicalStatus":     clinical,
		"verificationStatus": hl7("condition-ver-status", "confirmed", "Confirmed"),
		"category":           []obj{hl7("condition-category", "problem-list-item", "Problem List Item")},
		"code":               what.concept(),
		"subject":            c.patient,
		"onsetDateTime":      dateTime(onset),
		"recordedDate":       dateTime(onset),
		"recorder":           by.ref(),
	}, onset.Add(time.Hour))
	return id
}

// medicine is one prescribed or reported medicine with how to take it.
type medicine struct {
	drug   code
	dosage string
	reason code
	acute  bool // a short course, e.g. on leaving hospital, not a repeat
}

func (c chart) prescription(m medicine, authored time.Time, by clinician) {
	category := hl7("medicationrequest-category", "community", "Community")
	course := hl7("medicationrequest-course-of-therapy", "continuous", "Continuous long term therapy")
	if m.acute {
		category = hl7("medicationrequest-category", "discharge", "Discharge")
		course = hl7("medicationrequest-course-of-therapy", "acute", "Short course (acute) therapy")
	}
	c.b.add(obj{
		"resourceType":              "MedicationRequest",
		"id":                        c.b.id("medreq"),
		"status":                    "active",
		"intent":                    "order",
		"category":                  []obj{category},
		"medicationCodeableConcept": m.drug.concept(),
		"subject":                   c.patient,
		"authoredOn":                dateTime(authored),
		"requester":                 by.ref(),
		"reasonCode":                []obj{m.reason.concept()},
		"dosageInstruction":         []obj{{"text": m.dosage}},
		"courseOfTherapyType":       course,
	}, authored)
}

func (c chart) medicineTaken(m medicine, since, asserted time.Time, by clinician) {
	c.b.add(obj{
		"resourceType":              "MedicationStatement",
		"id":                        c.b.id("medstmt"),
		"status":                    "active",
		"medicationCodeableConcept": m.drug.concept(),
		"subject":                   c.patient,
		"effectivePeriod":           obj{"start": date(since)},
		"dateAsserted":              dateTime(asserted),
		"informationSource":         by.ref(),
		"reasonCode":                []obj{m.reason.concept()},
		"dosage":                    []obj{{"text": m.dosage}},
	}, asserted)
}

func (c chart) immunisation(vaccine code, when time.Time, by clinician, lot string) {
	c.b.add(obj{
		"resourceType":       "Immunization",
		"id":                 c.b.id("imm"),
		"status":             "completed",
		"vaccineCode":        vaccine.concept(),
		"patient":            c.patient,
		"occurrenceDateTime": dateTime(when),
		"recorded":           dateTime(when),
		"primarySource":      true,
		"lotNumber":          lot,
		"site":               sct("368208006", "Left upper arm structure").concept(),
		"route":              sct("78421000", "Intramuscular route").concept(),
		"performer": []obj{
			{"function": hl7("v2-0443", "AP", "Administering Provider"), "actor": by.ref()},
			{"actor": c.org.ref()},
		},
	}, when.Add(30*time.Minute))
}

// test is a kind of result with its normal range, if it has one.
type test struct {
	what      code
	unit      string
	low, high float64 // zero when there is no limit that side
	category  string  // "laboratory" or "vital-signs"
}

// result is one value of a test on one day. Two sources that share a result
// share this value exactly.
type result struct {
	when  time.Time
	value float64
}

func (c chart) observation(t test, r result, performer obj) string {
	id := c.b.id("obs")
	categoryDisplay := map[string]string{"laboratory": "Laboratory", "vital-signs": "Vital Signs"}[t.category]
	res := obj{
		"resourceType":      "Observation",
		"id":                id,
		"status":            "final",
		"category":          []obj{hl7("observation-category", t.category, categoryDisplay)},
		"code":              t.what.concept(),
		"subject":           c.patient,
		"effectiveDateTime": dateTime(r.when),
		"issued":            dateTime(r.when.Add(26 * time.Hour)),
		"performer":         []obj{performer},
		"valueQuantity":     quantity(r.value, t.unit),
	}
	if t.low != 0 || t.high != 0 {
		rng := obj{"text": rangeText(t)}
		if t.low != 0 {
			rng["low"] = quantity(t.low, t.unit)
		}
		if t.high != 0 {
			rng["high"] = quantity(t.high, t.unit)
		}
		res["referenceRange"] = []obj{rng}
		res["interpretation"] = []obj{interpret(r.value, t.low, t.high)}
	}
	c.b.add(res, r.when.Add(26*time.Hour))
	return id
}

func rangeText(t test) string {
	switch {
	case t.low != 0 && t.high != 0:
		return fmt.Sprintf("%g to %g %s", t.low, t.high, t.unit)
	case t.high != 0:
		return fmt.Sprintf("below %g %s", t.high, t.unit)
	default:
		return fmt.Sprintf("above %g %s", t.low, t.unit)
	}
}

func interpret(v, low, high float64) obj {
	switch {
	case high != 0 && v > high:
		return hl7("v3-ObservationInterpretation", "H", "High")
	case low != 0 && v < low:
		return hl7("v3-ObservationInterpretation", "L", "Low")
	default:
		return hl7("v3-ObservationInterpretation", "N", "Normal")
	}
}

// answer is an answer to a question asked at an appointment, such as
// whether the person smokes: an Observation of HL7's category social-history.
func (c chart) answer(question, answer code, when time.Time, by clinician) {
	c.b.add(obj{
		"resourceType":         "Observation",
		"id":                   c.b.id("sh"),
		"status":               "final",
		"category":             []obj{hl7("observation-category", "social-history", "Social History")},
		"code":                 question.concept(),
		"subject":              c.patient,
		"effectiveDateTime":    dateTime(when),
		"performer":            []obj{by.ref()},
		"valueCodeableConcept": answer.concept(),
	}, when.Add(10*time.Minute))
}

func (c chart) bloodPressure(when time.Time, systolic, diastolic float64, by clinician) {
	component := func(what code, v, high float64) obj {
		return obj{
			"code":           what.concept(),
			"valueQuantity":  quantity(v, "mm[Hg]"),
			"interpretation": []obj{interpret(v, 0, high)},
			"referenceRange": []obj{{"high": quantity(high, "mm[Hg]"), "text": fmt.Sprintf("below %g mm[Hg]", high)}},
		}
	}
	c.b.add(obj{
		"resourceType":      "Observation",
		"id":                c.b.id("obs"),
		"status":            "final",
		"category":          []obj{hl7("observation-category", "vital-signs", "Vital Signs")},
		"code":              loinc("85354-9", "Blood pressure panel with all children optional").concept(),
		"subject":           c.patient,
		"effectiveDateTime": dateTime(when),
		"performer":         []obj{by.ref()},
		"component": []obj{
			component(loinc("8480-6", "Systolic blood pressure"), systolic, 140),
			component(loinc("8462-4", "Diastolic blood pressure"), diastolic, 90),
		},
	}, when.Add(10*time.Minute))
}

func (c chart) report(what code, category obj, when time.Time, results []string, conclusion string, encounter string) {
	refs := make([]obj, len(results))
	for i, id := range results {
		refs[i] = obj{"reference": "Observation/" + id}
	}
	res := obj{
		"resourceType":      "DiagnosticReport",
		"id":                c.b.id("dr"),
		"status":            "final",
		"category":          []obj{category},
		"code":              what.concept(),
		"subject":           c.patient,
		"effectiveDateTime": dateTime(when),
		"issued":            dateTime(when.Add(26 * time.Hour)),
		"performer":         []obj{c.org.ref()},
		"result":            refs,
		"conclusion":        conclusion,
	}
	if encounter != "" {
		res["encounter"] = obj{"reference": "Encounter/" + encounter}
	}
	c.b.add(res, when.Add(26*time.Hour))
}

// visit is one contact between the person and the organisation.
type visit struct {
	class  string // v3 ActCode: AMB, EMER, IMP, VR
	typ    code
	reason code
	start  time.Time
	length time.Duration
	with   clinician
}

func (c chart) encounter(v visit) string {
	id := c.b.id("enc")
	classDisplay := map[string]string{"AMB": "ambulatory", "EMER": "emergency", "IMP": "inpatient encounter", "VR": "virtual"}[v.class]
	res := obj{
		"resourceType": "Encounter",
		"id":           id,
		"status":       "finished",
		"class":        obj{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": v.class, "display": classDisplay},
		"type":         []obj{v.typ.concept()},
		"subject":      c.patient,
		"participant": []obj{{
			"type":       []obj{hl7("v3-ParticipationType", "PPRF", "primary performer")},
			"individual": v.with.ref(),
		}},
		"period":          period(v.start, v.length),
		"serviceProvider": c.org.ref(),
	}
	if v.reason.code != "" {
		res["reasonCode"] = []obj{v.reason.concept()}
	}
	c.b.add(res, v.start.Add(v.length+time.Hour))
	return id
}

func (c chart) appointment(service code, description string, start time.Time, length time.Duration, with clinician, booked time.Time) {
	c.b.add(obj{
		"resourceType": "Appointment",
		"id":           c.b.id("appt"),
		"status":       "booked",
		"serviceType":  []obj{service.concept()},
		"description":  description,
		"start":        dateTime(start),
		"end":          dateTime(start.Add(length)),
		"created":      dateTime(booked),
		"participant": []obj{
			{"actor": c.patient, "required": "required", "status": "accepted"},
			{"actor": with.ref(), "required": "required", "status": "accepted"},
		},
	}, booked)
}

func (c chart) procedure(what code, bodySite code, when time.Time, length time.Duration, by clinician, reason code, encounter, outcome string) {
	c.b.add(obj{
		"resourceType":    "Procedure",
		"id":              c.b.id("proc"),
		"status":          "completed",
		"code":            what.concept(),
		"subject":         c.patient,
		"encounter":       obj{"reference": "Encounter/" + encounter},
		"performedPeriod": period(when, length),
		"performer":       []obj{{"actor": by.ref(), "onBehalfOf": c.org.ref()}},
		"reasonCode":      []obj{reason.concept()},
		"bodySite":        []obj{bodySite.concept()},
		"outcome":         obj{"text": outcome},
	}, when.Add(length+2*time.Hour))
}

// letter is a document written to or about the person.
type letter struct {
	typ    code
	title  string
	text   string
	when   time.Time
	author clinician
}

func (c chart) document(l letter, encounter string) {
	res := obj{
		"resourceType": "DocumentReference",
		"id":           c.b.id("doc"),
		"status":       "current",
		"docStatus":    "final",
		"type":         l.typ.concept(),
		"subject":      c.patient,
		"date":         dateTime(l.when),
		"author":       []obj{l.author.ref(), c.org.ref()},
		"custodian":    c.org.ref(),
		"description":  l.title,
		"content": []obj{{"attachment": obj{
			"contentType": "text/plain",
			"language":    "en-GB",
			"data":        base64.StdEncoding.EncodeToString([]byte(l.text)),
			"title":       l.title,
			"creation":    dateTime(l.when),
		}}},
	}
	if encounter != "" {
		res["context"] = obj{"encounter": []obj{{"reference": "Encounter/" + encounter}}}
	}
	c.b.add(res, l.when)
}

// activity is one thing a care plan says will happen.
type activity struct {
	what   code
	status string // FHIR care plan activity status, e.g. "in-progress"
	detail string
}

func (c chart) carePlan(category code, title, description string, start time.Time, author clinician, addresses string, activities []activity) {
	acts := make([]obj, len(activities))
	for i, a := range activities {
		acts[i] = obj{"detail": obj{
			"kind":        "ServiceRequest",
			"code":        a.what.concept(),
			"status":      a.status,
			"description": a.detail,
			"performer":   []obj{author.ref()},
		}}
	}
	res := obj{
		"resourceType": "CarePlan",
		"id":           c.b.id("cp"),
		"status":       "active",
		"intent":       "plan",
		"category":     []obj{category.concept()},
		"title":        title,
		"description":  description,
		"subject":      c.patient,
		"period":       obj{"start": date(start)},
		"created":      dateTime(start),
		"author":       author.ref(),
		"activity":     acts,
	}
	if addresses != "" {
		res["addresses"] = []obj{{"reference": "Condition/" + addresses}}
	}
	c.b.add(res, start)
}

func (c chart) careTeam(name string, since time.Time, members []clinician) {
	participants := make([]obj, 0, len(members)+1)
	for _, m := range members {
		participants = append(participants, obj{
			"role":       []obj{m.role.concept()},
			"member":     m.ref(),
			"onBehalfOf": c.org.ref(),
			"period":     obj{"start": date(since)},
		})
	}
	c.b.add(obj{
		"resourceType":         "CareTeam",
		"id":                   c.b.id("ct"),
		"status":               "active",
		"name":                 name,
		"subject":              c.patient,
		"period":               obj{"start": date(since)},
		"participant":          participants,
		"managingOrganization": []obj{c.org.ref()},
	}, since)
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
