package demo

// The codes below are real UK-relevant codes: SNOMED CT for clinical terms,
// dm+d for medicines and LOINC for results. They are functions rather than
// package variables so nothing can change them for other callers.

func penicillin() code        { return sct("764146007", "Penicillin") }
func penicillinAllergy() code { return sct("91936005", "Allergy to penicillin") }
func urticaria() code         { return sct("126485001", "Urticaria") }

func type2Diabetes() code         { return sct("44054006", "Type 2 diabetes mellitus") }
func hypertension() code          { return sct("59621000", "Essential hypertension") }
func hypercholesterolaemia() code { return sct("13644009", "Hypercholesterolaemia") }
func cataract() code              { return sct("193570009", "Cataract") }
func chestPain() code             { return sct("29857009", "Chest pain") }
func sprainedAnkle() code         { return sct("44465007", "Sprain of ankle") }
func glucoseMeter() code          { return sct("337414009", "Blood glucose meter") }

func metformin() medicine {
	return medicine{dmd("325278007", "Metformin 500mg tablets"), "Take ONE tablet TWICE a day with food", type2Diabetes(), false}
}

func ramipril() medicine {
	return medicine{dmd("319773006", "Ramipril 5mg capsules"), "Take ONE capsule ONCE a day", hypertension(), false}
}

func atorvastatin() medicine {
	return medicine{dmd("320000009", "Atorvastatin 20mg tablets"), "Take ONE tablet at NIGHT", hypercholesterolaemia(), false}
}

func amlodipine() medicine {
	return medicine{dmd("319283006", "Amlodipine 5mg tablets"), "Take ONE tablet ONCE a day", hypertension(), false}
}

func paracetamol(reason code) medicine {
	return medicine{dmd("322236009", "Paracetamol 500mg tablets"), "Take ONE or TWO tablets up to FOUR times a day when required for pain. No more than 8 tablets in 24 hours", reason, true}
}

func fluVaccine() code          { return sct("1181000221105", "Influenza vaccine") }
func covidVaccine() code        { return sct("1119349007", "COVID-19 mRNA vaccine") }
func pneumococcalVaccine() code { return sct("836398006", "Pneumococcal vaccine") }

func hba1c() test {
	return test{loinc("59261-8", "Hemoglobin A1c/Hemoglobin.total in Blood by IFCC protocol"), "mmol/mol", 20, 41, "laboratory"}
}

func cholesterol() test {
	return test{loinc("14647-2", "Cholesterol [Moles/volume] in Serum or Plasma"), "mmol/L", 0, 5, "laboratory"}
}

func egfr() test {
	return test{loinc("62238-1", "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI)"), "mL/min/{1.73_m2}", 60, 0, "laboratory"}
}

func bodyWeight() test {
	return test{loinc("29463-7", "Body weight"), "kg", 0, 0, "vital-signs"}
}

func haemoglobin() test {
	return test{loinc("718-7", "Hemoglobin [Mass/volume] in Blood"), "g/L", 115, 165, "laboratory"}
}

func whiteCells() test {
	return test{loinc("6690-2", "Leukocytes [#/volume] in Blood by Automated count"), "10*9/L", 4, 11, "laboratory"}
}

func platelets() test {
	return test{loinc("777-3", "Platelets [#/volume] in Blood by Automated count"), "10*9/L", 150, 400, "laboratory"}
}

func fullBloodCount() code { return sct("26604007", "Full blood count") }

func haematology() obj { return hl7("v2-0074", "HM", "Hematology") }

// Encounter types.
func checkUp() code        { return sct("185349003", "Encounter for check up") }
func symptomVisit() code   { return sct("185345009", "Encounter for symptom") }
func telephoneCall() code  { return sct("185317003", "Telephone encounter") }
func consultation() code   { return sct("11429006", "Consultation") }
func followUp() code       { return sct("390906007", "Follow-up encounter") }
func emergencyVisit() code { return sct("4525004", "Emergency department patient visit") }
func admission() code      { return sct("32485007", "Hospital admission") }
func homeVisit() code      { return sct("439708006", "Home visit") }

// Roles of staff.
func generalPractitioner() code { return sct("62247001", "General practitioner") }
func registeredNurse() code     { return sct("224535009", "Registered nurse") }
func ophthalmologist() code     { return sct("422234006", "Ophthalmologist") }
func physician() code           { return sct("309343006", "Physician") }
func medicalPractitioner() code { return sct("158965000", "Medical practitioner") }
func podiatrist() code          { return sct("159034002", "Podiatrist") }
func pharmacist() code          { return sct("46255001", "Pharmacist") }

// Care plans and what they contain.
func carePlanCategory() code  { return sct("734163000", "Care plan") }
func diabetesPlan() code      { return sct("698360004", "Diabetes self management plan") }
func diabeticDiet() code      { return sct("160670007", "Diabetic diet") }
func exerciseTherapy() code   { return sct("229065009", "Exercise therapy") }
func hba1cMeasurement() code  { return sct("43396009", "Haemoglobin A1c measurement") }
func diabeticFootCheck() code { return sct("401191002", "Diabetic foot examination") }

// Documents and procedures.
func dischargeSummary() code { return sct("373942005", "Discharge summary") }
func clinicLetter() code     { return sct("371531000", "Report of clinic encounter") }
func cataractSurgery() code {
	return sct("415089008", "Phacoemulsification of cataract with intraocular lens implantation")
}
func ecg() code     { return sct("29303009", "Electrocardiographic procedure") }
func leftEye() code { return sct("8966001", "Left eye structure") }
func chest() code   { return sct("51185008", "Thoracic structure") }
