package demo

import (
	"fmt"
	"time"

	"github.com/mycarerecord/portal/store/fhir"
)

// Populace returns n made-up people for a load test: valid, distinct NHS
// numbers that no other demo person has, and birth dates spread over 90 years.
func Populace(n int) []Person {
	given := []string{"Alex", "Sam", "Priya", "Tom", "Aisha", "Mo", "Grace", "Oliver", "Zara", "Ewan"}
	family := []string{"Smith", "Jones", "Patel", "Brown", "Ahmed", "Wilson", "Taylor", "Evans", "Begum", "Walker"}
	out := make([]Person, 0, n)
	for stem := 945000000; len(out) < n; stem++ {
		nhs, ok := fhir.NHSNumberFrom(fmt.Sprint(stem))
		if !ok {
			continue // this stem's check digit would be 10: never issued
		}
		i := len(out)
		born := time.Date(1935, time.January, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, (i*7919)%(90*365))
		gender := []string{"female", "male"}[i%2]
		prefix := map[string]string{"female": "Ms", "male": "Mr"}[gender]
		out = append(out, Person{Prefix: prefix, Given: given[i%len(given)], Family: family[(i/len(given))%len(family)],
			BirthDate: born.Format("2006-01-02"), NHSNumber: nhs, Gender: gender})
	}
	return out
}

// Population returns one GP practice's records for people, as bundles of at
// most perBundle people each: every person has an allergy or not, a
// condition, a medicine, an immunisation, a visit and a few results, so
// every record page has something to show.
func Population(people []Person, perBundle int) []Source {
	r := newRand(3)
	org := meanwood()
	gp := clinician{"pop-dr-hughes", "Dr", "Alison", "Hughes", systemGMC, "7234567", generalPractitioner()}
	var out []Source
	for start := 0; start < len(people); start += perBundle {
		b := newBundle("population", fmt.Sprintf("pop%d", start/perBundle))
		b.addOrganisation(org)
		b.addClinician(gp)
		for i, p := range people[start:min(start+perBundle, len(people))] {
			c := b.addPatient(p, fmt.Sprintf("pop-%s", p.NHSNumber), org, org, fmt.Sprintf("%d Long Row", start+i+1))
			when := day(2020+r.IntN(6), time.Month(1+r.IntN(12)), 1+r.IntN(28), 9, 0)
			if r.IntN(4) == 0 {
				c.allergy(penicillin(), penicillinAllergy(), urticaria(), "high", "moderate", when.AddDate(-5, 0, 0), gp)
			}
			cond := []func() code{type2Diabetes, hypertension, hypercholesterolaemia}[r.IntN(3)]
			c.condition(cond(), when.AddDate(-3, 0, 0), "active", gp)
			c.prescription([]func() medicine{metformin, ramipril, atorvastatin}[r.IntN(3)](), when, gp)
			c.immunisation(fluVaccine(), when.AddDate(0, -2, 0), gp, fmt.Sprintf("FLU%d", r.IntN(1000)))
			c.encounter(visit{"AMB", checkUp(), cond(), when, minutes(15), gp})
			for k := range 3 {
				c.observation(hba1c(), result{when.AddDate(0, -6*k, 0), float64(45 + r.IntN(20))}, org.ref())
			}
			c.bloodPressure(when, float64(120+r.IntN(40)), float64(70+r.IntN(25)), gp)
		}
		out = append(out, Source{Name: "population", OrgName: org.name, Bundle: b.marshal()})
	}
	return out
}
