package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

func meanwood() organisation {
	return organisation{
		id: "meanwood", name: "Meanwood Group Practice", ods: "B86999",
		phone: "0113 295 1234", line: "Church Lane, Meanwood", city: "Leeds", postcode: "LS6 4NP",
	}
}

func leedsTeaching() organisation {
	return organisation{
		id: "lth", name: "Leeds Teaching Hospitals NHS Trust", ods: "RR8",
		phone: "0113 243 3144", line: "St James's University Hospital, Beckett Street", city: "Leeds", postcode: "LS9 7TF",
	}
}

func leedsCommunityHealthcare() organisation {
	return organisation{
		id: "lch", name: "Leeds Community Healthcare NHS Trust", ods: "RY6",
		phone: "0113 220 8500", line: "White Rose Office Park, Millshaw Park Lane", city: "Leeds", postcode: "LS11 0DL",
	}
}

// minutes is a visit or procedure length.
func minutes(n int) time.Duration { return time.Duration(n) * time.Minute }

// janeHbA1cSeries is Mrs Example's HbA1c every six months from 2017: rising
// until her medicines were changed in 2021, then coming down. The GP holds all
// of it; the hospital lab shares some of the same results.
func janeHbA1cSeries(r *rand.Rand) []result {
	var out []result
	for i := range 19 {
		when := day(2017, time.March, 3+r.IntN(20), 9+r.IntN(3), 10*r.IntN(6)).AddDate(0, 6*i, 0)
		trend := 50 + 2.5*float64(i)
		if i > 8 {
			trend = 70 - 2*float64(i)
		}
		out = append(out, result{when, math.Round(trend + r.NormFloat64()*1.5)})
	}
	return out
}

// noisy returns base plus some variation, to one decimal place.
func noisy(r *rand.Rand, base, spread float64) float64 {
	return math.Round((base+r.NormFloat64()*spread)*10) / 10
}

func meanwoodGP(r *rand.Rand, people []Person, janeHbA1c []result) Source {
	org := meanwood()
	b := newBundle("meanwood-gp", "gp")
	b.addOrganisation(org)

	whitaker := clinician{"gp-dr-whitaker", "Dr", "Sarah", "Whitaker", systemGMC, "7012345", generalPractitioner()}
	patel := clinician{"gp-dr-patel", "Dr", "Rajesh", "Patel", systemGMC, "6098765", generalPractitioner()}
	clarke := clinician{"gp-nurse-clarke", "Nurse", "Emma", "Clarke", systemNMC, "09A1234E", registeredNurse()}
	nwosu := clinician{"gp-pharm-nwosu", "Mr", "Daniel", "Nwosu", "https://fhir.hl7.org.uk/Id/gphc-number", "2081234", pharmacist()}
	for _, c := range []clinician{whitaker, patel, clarke, nwosu} {
		b.addClinician(c)
	}

	// Mrs Jane Example: a full record.
	jane := b.addPatient(people[0], "gp-1", org, org, "12 Example Street")
	jane.allergy(penicillin(), penicillinAllergy(), urticaria(), "high", "moderate", day(1998, time.May, 12, 11, 0), patel)
	jane.condition(hypertension(), day(2009, time.April, 2, 10, 20), "active", patel)
	dm := jane.condition(type2Diabetes(), day(2012, time.September, 18, 9, 40), "active", whitaker)
	jane.device(glucoseMeter(), day(2012, time.October, 1, 10, 0))
	jane.condition(hypercholesterolaemia(), day(2013, time.February, 7, 10, 0), "active", whitaker)
	jane.condition(sct("68566005", "Urinary tract infectious disease"), day(2023, time.July, 4, 15, 10), "resolved", patel)

	jane.prescription(metformin(), day(2026, time.September, 5, 8, 0), whitaker)
	jane.prescription(ramipril(), day(2026, time.September, 5, 8, 0), whitaker)
	jane.prescription(atorvastatin(), day(2026, time.September, 5, 8, 0), whitaker)
	jane.medicineTaken(metformin(), day(2012, time.October, 1, 0, 0), day(2026, time.April, 14, 10, 30), nwosu)
	jane.medicineTaken(ramipril(), day(2009, time.May, 1, 0, 0), day(2026, time.April, 14, 10, 30), nwosu)
	jane.medicineTaken(atorvastatin(), day(2013, time.March, 1, 0, 0), day(2026, time.April, 14, 10, 30), nwosu)
	jane.medicineTaken(paracetamol(sct("239873007", "Osteoarthritis of knee")), day(2020, time.January, 1, 0, 0), day(2026, time.April, 14, 10, 30), nwosu)

	for year := 2015; year <= 2025; year++ {
		jane.immunisation(fluVaccine(), day(year, time.October, 2+r.IntN(20), 9+r.IntN(6), 10*r.IntN(6)), clarke, fmt.Sprintf("FLU%d%03d", year, r.IntN(1000)))
	}
	for _, d := range []time.Time{day(2021, time.January, 16, 10, 0), day(2021, time.April, 10, 11, 30), day(2021, time.December, 8, 14, 0), day(2023, time.October, 12, 9, 30), day(2024, time.October, 17, 10, 10)} {
		jane.immunisation(covidVaccine(), d, clarke, fmt.Sprintf("CV%d%04d", d.Year(), r.IntN(10000)))
	}
	jane.immunisation(pneumococcalVaccine(), day(2022, time.October, 20, 11, 0), clarke, "PN22A0457")

	for _, res := range janeHbA1c {
		jane.observation(hba1c(), res, org.ref())
	}
	for year := 2017; year <= 2026; year++ {
		review := day(year, time.March, 8+r.IntN(15), 9+r.IntN(7), 10*r.IntN(6))
		jane.observation(cholesterol(), result{review, noisy(r, 5.6-0.12*float64(year-2017), 0.3)}, org.ref())
		jane.observation(egfr(), result{review, math.Round(76 - 1.6*float64(year-2017) + r.NormFloat64()*2)}, org.ref())
		for half := range 2 {
			seen := review.AddDate(0, 6*half, 2)
			jane.bloodPressure(seen, math.Round(146-1.5*float64(year-2017)+r.NormFloat64()*5), math.Round(88-0.5*float64(year-2017)+r.NormFloat64()*3), clarke)
			jane.observation(bodyWeight(), result{seen, noisy(r, 84-0.6*float64(year-2017), 0.8)}, clarke.ref())
		}
		jane.encounter(visit{"AMB", checkUp(), type2Diabetes(), review.AddDate(0, 0, 2), minutes(20), clarke})
	}
	jane.encounter(visit{"AMB", symptomVisit(), sct("68566005", "Urinary tract infectious disease"), day(2023, time.July, 4, 14, 50), minutes(10), patel})
	jane.encounter(visit{"VR", telephoneCall(), hypertension(), day(2025, time.November, 20, 12, 15), minutes(8), whitaker})
	jane.encounter(visit{"AMB", symptomVisit(), sct("239873007", "Osteoarthritis of knee"), day(2026, time.June, 9, 10, 40), minutes(10), whitaker})

	jane.appointment(sct("394814009", "General practice"), "Annual diabetes review with the practice nurse: please bring a urine sample",
		day(2026, time.November, 18, 10, 20), minutes(20), clarke, day(2026, time.October, 14, 9, 5))

	jane.carePlan(carePlanCategory(), "Diabetes care plan",
		"Keep HbA1c at or below 53 mmol/mol and blood pressure below 140/90, with a yearly review, foot check and eye screening.",
		day(2021, time.September, 14, 10, 0), whitaker, dm, []activity{
			{hba1cMeasurement(), "in-progress", "HbA1c blood test every 6 months"},
			{diabeticFootCheck(), "scheduled", "Foot check at the annual review"},
			{diabeticDiet(), "in-progress", "Eat less sugar and refined carbohydrate; referral to a structured education course"},
			{exerciseTherapy(), "in-progress", "Walk for 30 minutes on most days"},
		})
	jane.careTeam("Meanwood diabetes team", day(2012, time.September, 18, 0, 0), []clinician{whitaker, clarke, nwosu})
	jane.answer(loinc("72166-2", "Tobacco smoking status"), sct("8517006", "Ex-smoker"), day(2025, time.March, 12, 9, 50), clarke)

	// Mr Amir Khan: high blood pressure, seen now and then.
	amir := b.addPatient(people[1], "gp-2", org, org, "4 Stainbeck Lane")
	amirHyp := amir.condition(hypertension(), day(2019, time.June, 11, 11, 0), "active", patel)
	amir.prescription(amlodipine(), day(2026, time.August, 22, 8, 30), patel)
	amir.medicineTaken(amlodipine(), day(2019, time.June, 11, 0, 0), day(2025, time.June, 30, 9, 0), nwosu)
	for year := 2019; year <= 2026; year++ {
		seen := day(year, time.June, 3+r.IntN(20), 8+r.IntN(8), 10*r.IntN(6))
		amir.encounter(visit{"AMB", checkUp(), hypertension(), seen, minutes(10), patel})
		amir.bloodPressure(seen, math.Round(158-3*float64(year-2019)+r.NormFloat64()*4), math.Round(96-1.5*float64(year-2019)+r.NormFloat64()*2), patel)
		amir.observation(cholesterol(), result{seen, noisy(r, 4.8, 0.3)}, org.ref())
	}
	for year := 2022; year <= 2025; year++ {
		amir.immunisation(fluVaccine(), day(year, time.November, 3+r.IntN(20), 9+r.IntN(6), 10*r.IntN(6)), clarke, fmt.Sprintf("FLU%d%03d", year, r.IntN(1000)))
	}
	amir.carePlan(carePlanCategory(), "Blood pressure plan", "Bring blood pressure below 140/90 with medicine and less salt.",
		day(2019, time.June, 11, 11, 20), patel, amirHyp, []activity{
			{sct("443402002", "Lifestyle education regarding hypertension"), "in-progress", "Check blood pressure at home each week and bring readings to the review"},
		})

	// Ms Chloe Taylor: registered, seen once.
	chloe := b.addPatient(people[2], "gp-3", org, org, "27 Grove Lane")
	chloe.encounter(visit{"AMB", checkUp(), code{}, day(2025, time.January, 20, 9, 30), minutes(15), clarke})

	return Source{Name: "meanwood-gp", OrgName: org.name, Bundle: b.marshal()}
}

func leedsHospital(r *rand.Rand, people []Person, janeHbA1c []result) Source {
	org := leedsTeaching()
	b := newBundle("leeds-teaching-hospitals", "lth")
	b.addOrganisation(org)

	okafor := clinician{"lth-mr-okafor", "Mr", "David", "Okafor", systemGMC, "4567890", ophthalmologist()}
	brooks := clinician{"lth-dr-brooks", "Dr", "Helen", "Brooks", systemGMC, "5678901", physician()}
	reid := clinician{"lth-dr-reid", "Dr", "Tom", "Reid", systemGMC, "7123456", medicalPractitioner()}
	for _, c := range []clinician{okafor, brooks, reid} {
		b.addClinician(c)
	}

	jane := b.addPatient(people[0], "lth-1", org, meanwood(), "12 Example Street")
	// The same allergy, condition and medicine the GP holds: de-duplication
	// should show each once, from both places.
	jane.allergy(penicillin(), penicillinAllergy(), urticaria(), "high", "moderate", day(1998, time.May, 12, 11, 0), reid)
	jane.condition(type2Diabetes(), day(2012, time.September, 18, 9, 40), "active", brooks)
	jane.condition(cataract(), day(2025, time.June, 4, 14, 0), "resolved", okafor)
	jane.medicineTaken(metformin(), day(2012, time.October, 1, 0, 0), day(2025, time.September, 15, 7, 45), okafor)
	jane.medicineTaken(ramipril(), day(2009, time.May, 1, 0, 0), day(2025, time.September, 15, 7, 45), okafor)

	// Chest pain in A&E: blood tests, an ECG, home the same night.
	ae := jane.encounter(visit{"EMER", emergencyVisit(), chestPain(), day(2024, time.February, 10, 19, 25), minutes(290), reid})
	taken := day(2024, time.February, 10, 20, 5)
	fbc := []string{
		jane.observation(haemoglobin(), result{taken, math.Round(noisy(r, 128, 4))}, org.ref()),
		jane.observation(whiteCells(), result{taken, noisy(r, 11.8, 0.3)}, org.ref()),
		jane.observation(platelets(), result{taken, math.Round(noisy(r, 260, 20))}, org.ref()),
	}
	jane.report(fullBloodCount(), haematology(), taken, fbc, "Slightly raised white cell count; otherwise normal.", ae)
	jane.procedure(ecg(), chest(), day(2024, time.February, 10, 19, 40), minutes(10), reid, chestPain(), ae, "Sinus rhythm, no acute changes")
	jane.prescription(paracetamol(chestPain()), day(2024, time.February, 10, 23, 50), reid)
	jane.document(letter{dischargeSummary(), "Emergency department discharge summary", fmt.Sprintf(
		"Leeds Teaching Hospitals NHS Trust - Emergency Department\n\nPatient: Mrs Jane Example, NHS number %s\nSeen: 10 February 2024\n\n"+
			"Presented with central chest pain at rest. ECG showed sinus rhythm with no acute changes; troponin was not raised. "+
			"Pain settled with paracetamol. Likely musculoskeletal.\n\nPlan: discharged home. GP to review blood pressure. Return if pain comes back.\n\nDr Tom Reid",
		people[0].NHSNumber), day(2024, time.February, 11, 0, 20), reid}, ae)

	// Diabetes clinic: HbA1c done on the ward machine, and two lab results the
	// GP holds too.
	clinic := jane.encounter(visit{"AMB", consultation(), type2Diabetes(), day(2025, time.March, 12, 14, 30), minutes(30), brooks})
	jane.observation(hba1c(), result{day(2025, time.March, 12, 14, 40), 57}, org.ref())
	for _, i := range []int{12, 16} {
		jane.observation(hba1c(), janeHbA1c[i], org.ref())
	}
	jane.document(letter{clinicLetter(), "Diabetes clinic letter", fmt.Sprintf(
		"Dear Dr Whitaker,\n\nRe: Mrs Jane Example, born 14 March 1957, NHS number %s\n\n"+
			"I saw Mrs Example in the diabetes clinic today. Her HbA1c is 57 mmol/mol, improved from a peak in 2021. "+
			"She is taking metformin 500mg twice daily and tolerating it well. Blood pressure 138/84.\n\n"+
			"Plan: continue metformin; recheck HbA1c in 6 months; retinal screening showed early cataract in the left eye, "+
			"referred to ophthalmology.\n\nYours sincerely,\nDr Helen Brooks, Consultant Diabetologist",
		people[0].NHSNumber), day(2025, time.March, 14, 11, 0), brooks}, clinic)

	// Cataract: clinic, surgery as a day case, follow-up booked.
	jane.encounter(visit{"AMB", consultation(), cataract(), day(2025, time.June, 4, 13, 40), minutes(25), okafor})
	surgery := jane.encounter(visit{"IMP", admission(), cataract(), day(2025, time.September, 15, 7, 30), 7 * time.Hour, okafor})
	jane.procedure(cataractSurgery(), leftEye(), day(2025, time.September, 15, 10, 5), minutes(25), okafor, cataract(), surgery, "Uncomplicated; lens implanted")
	jane.document(letter{dischargeSummary(), "Day case discharge letter: left cataract surgery", fmt.Sprintf(
		"Leeds Teaching Hospitals NHS Trust - Ophthalmology Day Case Unit\n\nPatient: Mrs Jane Example, NHS number %s\nAdmitted and discharged: 15 September 2025\n\n"+
			"Procedure: phacoemulsification of left cataract with intraocular lens implant under local anaesthetic. Uncomplicated.\n\n"+
			"Medicines on discharge: usual medicines unchanged. Eye drops as shown on the leaflet for 4 weeks.\n"+
			"Allergies: penicillin (urticaria).\n\nFollow-up: eye clinic in 4 weeks; second eye to be considered.\n\nMr David Okafor, Consultant Ophthalmologist",
		people[0].NHSNumber), day(2025, time.September, 15, 15, 0), okafor}, surgery)
	jane.encounter(visit{"AMB", followUp(), cataract(), day(2025, time.October, 13, 9, 50), minutes(15), okafor})
	jane.appointment(sct("394594003", "Ophthalmology service"), "Eye clinic: assessment for right cataract surgery",
		day(2026, time.December, 3, 14, 15), minutes(30), okafor, day(2026, time.September, 2, 11, 40))
	jane.careTeam("Ophthalmology team", day(2025, time.June, 4, 0, 0), []clinician{okafor})

	// Mr Amir Khan: a sprained ankle in A&E.
	amir := b.addPatient(people[1], "lth-2", org, meanwood(), "4 Stainbeck Lane")
	sprain := amir.encounter(visit{"EMER", emergencyVisit(), sprainedAnkle(), day(2023, time.March, 18, 16, 5), minutes(185), reid})
	amir.condition(sprainedAnkle(), day(2023, time.March, 18, 16, 30), "resolved", reid)
	amir.document(letter{dischargeSummary(), "Emergency department discharge summary", fmt.Sprintf(
		"Leeds Teaching Hospitals NHS Trust - Emergency Department\n\nPatient: Mr Amir Khan, NHS number %s\n\n"+
			"Twisted right ankle playing football. X-ray showed no fracture. Sprain of ankle: rest, ice, compression and elevation; "+
			"paracetamol for pain.\n\nDr Tom Reid", people[1].NHSNumber), day(2023, time.March, 18, 19, 20), reid}, sprain)

	return Source{Name: "leeds-teaching-hospitals", OrgName: org.name, Bundle: b.marshal()}
}

func leedsCommunity(people []Person) Source {
	org := leedsCommunityHealthcare()
	b := newBundle("leeds-community", "lch")
	b.addOrganisation(org)

	begum := clinician{"lch-podiatrist-begum", "Ms", "Nasreen", "Begum", systemHCPC, "CH12345", podiatrist()}
	b.addClinician(begum)

	jane := b.addPatient(people[0], "lch-1", org, meanwood(), "12 Example Street")
	jane.encounter(visit{"AMB", consultation(), type2Diabetes(), day(2026, time.February, 24, 11, 0), minutes(40), begum})
	jane.carePlan(carePlanCategory(), "Foot care plan",
		"Moderate risk of diabetic foot problems. Check feet daily; podiatry review every 6 months.",
		day(2026, time.February, 24, 11, 40), begum, "", []activity{
			{diabeticFootCheck(), "scheduled", "Podiatry foot check every 6 months"},
		})
	jane.careTeam("Community podiatry", day(2026, time.February, 24, 0, 0), []clinician{begum})

	return Source{Name: "leeds-community", OrgName: org.name, Bundle: b.marshal()}
}
