package fhir_test

import (
	"testing"

	"github.com/mycarerecord/portal/store/fhir"
)

// TestDosageInWords: a medicine's dosage instructions are all said, in
// their sequence, in the patient's words when given, else as written, else
// from their structured parts (Synthea's have no text).
func TestDosageInWords(t *testing.T) {
	tests := []struct {
		name, dosage, want string
	}{
		{"text as written", `[{"text":"One tablet twice a day"}]`, "One tablet twice a day"},
		// UK Core's patient instruction is a further note, never in the dose's place (a review).
		{"the patient's instruction after", `[{"text":"One tablet twice a day","patientInstruction":"Take with or just after food."}]`, "One tablet twice a day. Take with or just after food"},
		{"the patient's instruction alone", `[{"patientInstruction":"Take one tablet twice a day by mouth"}]`, "Take one tablet twice a day by mouth"},
		{"a malformed patient instruction keeps the text", `[{"text":"One a day","patientInstruction":{"text":"With food"}}]`, "One a day"},
		{"Synthea: a dose once a day, no text", `[{"sequence":1,"timing":{"repeat":{"frequency":1,"period":1.0,"periodUnit":"d"}},"asNeededBoolean":false,
"doseAndRate":[{"type":{"coding":[{"code":"ordered"}]},"doseQuantity":{"value":1.0}}]}]`, "1, once a day"},
		{"Synthea: as needed alone", `[{"sequence":1,"asNeededBoolean":true}]`, "When needed"},
		{"Synthea: with an additional instruction", `[{"sequence":1,"additionalInstruction":[{"coding":[{"system":"http://snomed.info/sct","code":"418577003",
"display":"Take at regular intervals. Complete the prescribed course unless otherwise directed."}],"text":"Take at regular intervals. Complete the prescribed course unless otherwise directed."}],
"timing":{"repeat":{"frequency":4,"period":1,"periodUnit":"d"}},"asNeededBoolean":false,"doseAndRate":[{"doseQuantity":{"value":1}}]}]`,
			"1, 4 times a day. Take at regular intervals. Complete the prescribed course unless otherwise directed"},
		{"units, hours, a range, a reason and a most", `[{"timing":{"repeat":{"frequency":1,"period":4,"periodMax":6,"periodUnit":"h"}},
"asNeededCodeableConcept":{"text":"Pain"},"doseAndRate":[{"doseRange":{"low":{"value":1},"high":{"value":2,"unit":"tablets"}}}],
"maxDosePerPeriod":{"numerator":{"value":8,"unit":"tablets"},"denominator":{"value":24,"unit":"hours","code":"h"}}}]`,
			"1 to 2 tablets, every 4 to 6 hours, when needed for pain. No more than 8 tablets in 24 hours"},
		{"UCUM's braces", `[{"timing":{"repeat":{"frequency":2,"period":1,"periodUnit":"d","when":["MORN","NIGHT"]}},"doseAndRate":[{"doseQuantity":{"value":1,"code":"{tablet}"}}]}]`,
			"1 tablet, twice a day in the morning and at night"},
		{"weekly on a day for a time", `[{"timing":{"repeat":{"frequency":1,"period":1,"periodUnit":"wk","dayOfWeek":["mon"],"boundsDuration":{"value":12,"code":"wk"}}},
"doseAndRate":[{"doseQuantity":{"value":10,"unit":"mg"}}]}]`, "10 mg, once a week on Mondays for 12 weeks"},
		{"a timing code", `[{"timing":{"code":{"coding":[{"code":"BID"}],"text":"BID"}},"doseAndRate":[{"doseQuantity":{"value":5,"unit":"mL"}}]}]`, "5 mL, twice a day"},
		{"every other day", `[{"timing":{"repeat":{"frequency":1,"period":2,"periodUnit":"d"}}}]`, "Every 2 days"},
		{"a split dose: at once, joined by and", `[{"sequence":1,"text":"One tablet in the morning"},{"sequence":1,"text":"Two tablets at night."}]`,
			"One tablet in the morning and two tablets at night"},
		{"a reducing dose: in turn, joined by then, in sequence order", `[{"sequence":2,"text":"Two tablets a day for 5 days"},{"sequence":1,"text":"Four tablets a day for 5 days"}]`,
			"Four tablets a day for 5 days; then two tablets a day for 5 days"},
		{"no sequence: no order said", `[{"text":"1 tablet in the morning"},{"text":"2 tablets at night"}]`, "1 tablet in the morning; 2 tablets at night"},
		{"a sequence and a note without one", `[{"sequence":1,"text":"1 tablet in the morning"},{"text":"Avoid grapefruit"}]`, "1 tablet in the morning; avoid grapefruit"},
		{"a then written already", `[{"sequence":1,"text":"10 mg daily for a week"},{"sequence":2,"text":"then 5 mg daily"}]`, "10 mg daily for a week; then 5 mg daily"},
		{"a dose range in two units", `[{"doseAndRate":[{"doseRange":{"low":{"value":500,"unit":"mg"},"high":{"value":1,"unit":"g"}}}]}]`, "500 mg to 1 g"},
		{"a dose range with one unit", `[{"doseAndRate":[{"doseRange":{"low":{"value":5,"unit":"mL"},"high":{"value":10}}}]}]`, "5 to 10 mL"},
		{"a frequency written 2.0", `[{"timing":{"repeat":{"frequency":2.0,"period":1,"periodUnit":"d"}},"doseAndRate":[{"doseQuantity":{"value":1,"unit":"tablet"}}]}]`, "1 tablet, twice a day"},
		{"a unit by SNOMED CT code alone, and a timing code without words", `[{"timing":{"code":{"coding":[{"code":"BID"}]}},"doseAndRate":[{"doseQuantity":{"value":1,"system":"http://snomed.info/sct","code":"428673006"}}]}]`, "1, twice a day"},
		{"international units", `[{"timing":{"repeat":{"when":["ACM"]}},"doseAndRate":[{"doseQuantity":{"value":10,"code":"[iU]"}}]}]`, "10 units, before breakfast"},
		{"oxygen: a rate", `[{"timing":{"repeat":{"boundsDuration":{"value":15,"code":"h"}}},"doseAndRate":[{"rateQuantity":{"value":2,"unit":"L/min"}}]}]`, "At 2 L/min, for 15 hours"},
		{"eye drops: where", `[{"timing":{"repeat":{"frequency":4,"period":1,"periodUnit":"d"}},"site":{"text":"Left eye"},"doseAndRate":[{"doseQuantity":{"value":1,"unit":"drop"}}]}]`, "1 drop, 4 times a day. Where: Left eye"},
		{"eye drops: where, as SNOMED CT names it", `[{"timing":{"repeat":{"frequency":4,"period":1,"periodUnit":"d"}},"site":{"coding":[{"system":"http://snomed.info/sct","code":"8966001","display":"Left eye structure"}]},"doseAndRate":[{"doseQuantity":{"value":1,"unit":"drop"}}]}]`, "1 drop, 4 times a day. Where: Left eye"},
		// The offset is counted before a meal or bedtime, and after any other event (FHIR's EventTiming).
		{"an offset before breakfast", `[{"timing":{"repeat":{"frequency":1,"period":1,"periodUnit":"d","when":["ACM"],"offset":30}},"doseAndRate":[{"doseQuantity":{"value":1,"unit":"tablet"}}]}]`,
			"1 tablet, once a day 30 minutes before breakfast"},
		{"an offset in hours after a meal and before bedtime", `[{"timing":{"repeat":{"when":["PC","HS"],"offset":60}}}]`, "1 hour after a meal and 1 hour before bedtime"},
		{"an offset after waking, at a meal", `[{"timing":{"repeat":{"when":["WAKE","CM"],"offset":15}}}]`, "15 minutes after waking and 15 minutes after breakfast"},
		{"an offset from no moment", `[{"timing":{"repeat":{"when":["MORN","NIGHT"],"offset":30}}}]`, "In the morning and at night"},
		{"malformed timing keeps its words", `[{"text":"One a day","timing":{"repeat":{"frequency":"often"}}}]`, "One a day"},
		{"nothing said", `[{"sequence":1}]`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := `{"resourceType":"MedicationRequest","id":"m","status":"active","intent":"order","authoredOn":"2024-01-05",
"medicationCodeableConcept":{"text":"Something"},"dosageInstruction":` + tt.dosage + `}`
			items, err := fhir.Project(fhir.Resource{Type: "MedicationRequest", ID: "m", Raw: []byte(raw)})
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != 1 || items[0].Detail != tt.want {
				t.Fatalf("got %+v, want detail %q", items, tt.want)
			}
			st := `{"resourceType":"MedicationStatement","id":"s","status":"active","medicationCodeableConcept":{"text":"Something"},"dosage":` + tt.dosage + `}`
			if items, err = fhir.Project(fhir.Resource{Type: "MedicationStatement", ID: "s", Raw: []byte(st)}); err != nil || len(items) != 1 || items[0].Detail != tt.want {
				t.Fatalf("statement: got %+v, %v, want detail %q", items, err, tt.want)
			}
		})
	}
}
