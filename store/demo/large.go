package demo

import (
	"fmt"
	"math"
	"time"
)

// Large returns one source holding LargePerson's record with exactly n
// resources (at least a small fixed minimum), for benchmarks and load tests.
// Most of them are Observations and Encounters spread over 25 years, as in a
// long GP record; there is some of every other type too. It is
// deterministic.
func Large(n int) Source {
	r := newRand(2)
	org := meanwood()
	b := newBundle("large", "big")
	b.addOrganisation(org)
	gp := clinician{"big-dr-hughes", "Dr", "Alison", "Hughes", systemGMC, "7234567", generalPractitioner()}
	nurse := clinician{"big-nurse-shah", "Nurse", "Priya", "Shah", systemNMC, "11B2345E", registeredNurse()}
	b.addClinician(gp)
	b.addClinician(nurse)

	c := b.addPatient(LargePerson(), "big-1", org, org, "1 Long Row")
	c.allergy(penicillin(), penicillinAllergy(), urticaria(), "high", "moderate", day(1985, time.March, 3, 10, 0), gp)
	dm := c.condition(type2Diabetes(), day(2003, time.May, 20, 10, 0), "active", gp)
	c.condition(hypertension(), day(2001, time.November, 14, 9, 0), "active", gp)
	c.prescription(metformin(), day(2026, time.October, 1, 8, 0), gp)
	c.medicineTaken(ramipril(), day(2002, time.January, 1, 0, 0), day(2026, time.April, 1, 10, 0), gp)
	ecgVisit := c.encounter(visit{"AMB", symptomVisit(), chestPain(), day(2015, time.June, 2, 9, 50), minutes(30), gp})
	c.procedure(ecg(), chest(), day(2015, time.June, 2, 10, 0), minutes(10), nurse, chestPain(), ecgVisit, "Sinus rhythm")
	c.document(letter{clinicLetter(), "Annual review summary", "Annual review: stable. Continue current medicines.", day(2025, time.June, 2, 12, 0), gp}, "")
	c.carePlan(carePlanCategory(), "Diabetes care plan", "Yearly review with HbA1c every 6 months.", day(2004, time.January, 10, 10, 0), gp, dm,
		[]activity{{hba1cMeasurement(), "in-progress", "HbA1c blood test every 6 months"}})
	c.careTeam("Practice team", day(2001, time.November, 14, 0, 0), []clinician{gp, nurse})
	c.appointment(sct("394814009", "General practice"), "Annual review", day(2026, time.December, 1, 9, 0), minutes(20), nurse, day(2026, time.October, 1, 9, 0))

	// Visits are spaced evenly over 25 years; each brings an Encounter and
	// about five results, and now and then a report, prescription or vaccine.
	const perVisit = 6
	start := day(2001, time.November, 1, 9, 0)
	span := ReferenceDate().Sub(start)
	visits := max(1, (n-b.len())/perVisit+1)
	step := span / time.Duration(visits)
	for i := 0; b.len() < n; i++ {
		when := start.Add(step*time.Duration(i%visits) + time.Duration(r.IntN(8*60))*time.Minute)
		years := when.Sub(start).Hours() / (24 * 365)
		add := func(f func()) {
			if b.len() < n {
				f()
			}
		}
		add(func() { c.encounter(visit{"AMB", checkUp(), type2Diabetes(), when, minutes(15), nurse}) })
		add(func() {
			c.bloodPressure(when, math.Round(150-years+r.NormFloat64()*6), math.Round(90-0.4*years+r.NormFloat64()*4), nurse)
		})
		add(func() { c.observation(bodyWeight(), result{when, noisy(r, 92-0.3*years, 1.2)}, nurse.ref()) })
		add(func() {
			c.observation(hba1c(), result{when, math.Round(55 + 6*math.Sin(years/3) + r.NormFloat64()*2)}, org.ref())
		})
		chol := ""
		add(func() { chol = c.observation(cholesterol(), result{when, noisy(r, 5.4-0.04*years, 0.3)}, org.ref()) })
		add(func() { c.observation(egfr(), result{when, math.Round(82 - 1.1*years + r.NormFloat64()*3)}, org.ref()) })
		if i%5 == 0 && chol != "" {
			add(func() {
				c.report(loinc("57698-3", "Lipid panel with direct LDL - Serum or Plasma"), hl7("v2-0074", "CH", "Chemistry"), when, []string{chol}, "Reviewed by GP.", "")
			})
		}
		if i%4 == 0 {
			add(func() { c.prescription(metformin(), when, gp) })
		}
		if i%8 == 3 {
			add(func() { c.immunisation(fluVaccine(), when, nurse, fmt.Sprintf("FLU%d%03d", when.Year(), r.IntN(1000))) })
		}
	}

	return Source{Name: "large", OrgName: org.name, Bundle: b.marshal()}
}
