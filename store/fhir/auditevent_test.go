package fhir_test

import (
	"testing"

	"github.com/mycarerecord/portal/store/fhir"
)

func TestParseAuditEvent(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want fhir.AuditEventInfo
		ref  string
	}{
		{
			name: "a practitioner reads a document through the hospital's record system",
			raw: `{"resourceType":"AuditEvent","id":"a","action":"R","recorded":"2026-03-02T09:30:00Z","outcome":"0",
"subtype":[{"system":"http://hl7.org/fhir/restful-interaction","code":"read"}],
"agent":[{"who":{"reference":"Device/epr","display":"EPR"}},{"who":{"reference":"Practitioner/p1","display":"Dr A Jones"},"requestor":true,"network":{"address":"10.0.0.1"}}],
"source":{"site":"St James's","observer":{"reference":"Organization/rr8","display":"Leeds Teaching Hospitals"}},
"entity":[{"what":{"reference":"Patient/h-jane"}},{"what":{"reference":"DocumentReference/d1"}}]}`,
			want: fhir.AuditEventInfo{Recorded: "2026-03-02T09:30:00Z", Who: "Dr A Jones", Organisation: "Leeds Teaching Hospitals", Action: "Viewed", What: "a document"},
			ref:  "Patient/h-jane",
		},
		{
			name: "an organisation agent names the organisation; agent name wins over the display",
			raw: `{"resourceType":"AuditEvent","id":"b","action":"U","recorded":"2026-03-02T09:30:00+01:00","outcome":"8",
"agent":[{"who":{"reference":"PractitionerRole/r1","display":"Nurse"},"name":"Nurse B Patel","requestor":true},{"who":{"reference":"Organization/x","display":"Leeds Community Healthcare"}}],
"source":{"site":"Community","observer":{"reference":"Device/d"}},
"entity":[{"what":{"reference":"https://fhir.example.org/Patient/c-9/_history/2"}},{"what":{"reference":"CarePlan/cp"},"name":"Diabetes care plan"}]}`,
			want: fhir.AuditEventInfo{Recorded: "2026-03-02T09:30:00+01:00", Who: "Nurse B Patel", Organisation: "Leeds Community Healthcare", Action: "Changed", What: "Diabetes care plan", Failed: true},
			ref:  "https://fhir.example.org/Patient/c-9/_history/2",
		},
		{
			name: "the patient themselves through another service: only the organisation and site",
			raw: `{"resourceType":"AuditEvent","id":"c","action":"E","recorded":"2026-03-02T09:30:00Z",
"subtype":[{"code":"search-type"}],
"agent":[{"who":{"reference":"Patient/p7","display":"Jane Example"},"requestor":true}],
"source":{"site":"NHS App","observer":{"display":"NHS App"}}}`,
			want: fhir.AuditEventInfo{Recorded: "2026-03-02T09:30:00Z", Organisation: "NHS App", Action: "Searched"},
			ref:  "Patient/p7",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fhir.ParseAuditEvent([]byte(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			r, err := fhir.ParseResource([]byte(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			if ref := fhir.PatientRef(r); ref != tt.ref {
				t.Errorf("PatientRef = %q, want %q", ref, tt.ref)
			}
			if p := fhir.Prepare(r); p.PatientRef != tt.ref || p.Err != nil || len(p.Items) != 0 {
				t.Errorf("Prepare = %q, %v, %d items; want the patient and no record items", p.PatientRef, p.Err, len(p.Items))
			}
		})
	}
	if _, err := fhir.ParseAuditEvent([]byte(`{"resourceType":"Patient"}`)); err == nil {
		t.Error("a Patient read as an AuditEvent")
	}
}
