package fhirsync_test

import (
	"context"
	"testing"

	"github.com/mycarerecord/portal/e2e/upstream"
	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// TestPullBringsAuditEvents pulls a hospital's AuditEvents about a patient from a
// real FHIR server: AuditEvent names the patient only as an entity, and the
// server finds it by the patient search parameter; the person's access log then shows it.
func TestPullBringsAuditEvents(t *testing.T) {
	ctx := context.Background()
	srv := upstream.Start(t)
	srv.Load(t, []byte(`{"resourceType":"Bundle","type":"collection","entry":[
{"fullUrl":"Patient/h-jane","resource":{"resourceType":"Patient","id":"h-jane","meta":{"lastUpdated":"2026-03-01T00:00:00Z"},
 "identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"name":[{"given":["Jane"],"family":"Example"}],"birthDate":"1957-03-14"}},
{"fullUrl":"Patient/h-other","resource":{"resourceType":"Patient","id":"h-other","meta":{"lastUpdated":"2026-03-01T00:00:00Z"},
 "identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9000000009"}]}},
{"fullUrl":"AuditEvent/ae-1","resource":{"resourceType":"AuditEvent","id":"ae-1","meta":{"lastUpdated":"2026-03-02T09:30:01Z"},
 "type":{"system":"http://terminology.hl7.org/CodeSystem/audit-event-type","code":"rest","display":"RESTful Operation"},
 "subtype":[{"system":"http://hl7.org/fhir/restful-interaction","code":"read","display":"read"}],
 "action":"R","recorded":"2026-03-02T09:30:00Z","outcome":"0",
 "agent":[{"who":{"reference":"Practitioner/p1","display":"Dr A Jones"},"requestor":true,"network":{"address":"10.12.0.5","type":"2"}}],
 "source":{"site":"St James's University Hospital","observer":{"reference":"Organization/rr8","display":"Leeds Teaching Hospitals"}},
 "entity":[{"what":{"reference":"Patient/h-jane"},"role":{"system":"http://terminology.hl7.org/CodeSystem/object-role","code":"1"}},
   {"what":{"reference":"DocumentReference/d1"}}]}},
{"fullUrl":"AuditEvent/ae-2","resource":{"resourceType":"AuditEvent","id":"ae-2","meta":{"lastUpdated":"2026-03-03T09:30:01Z"},
 "action":"R","recorded":"2026-03-03T09:30:00Z","agent":[{"who":{"reference":"Practitioner/p2","display":"Dr B Smith"},"requestor":true}],
 "source":{"observer":{"reference":"Organization/rr8","display":"Leeds Teaching Hospitals"}},
 "entity":[{"what":{"reference":"Patient/h-other"}}]}}
]}`))
	db := openDB(t)
	src, err := db.AddSource(ctx, store.Source{Name: "lth", OrgName: "Leeds Teaching Hospitals NHS Trust", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	puller := &fhirsync.Puller{DB: db, Client: fhirsync.NewClients(func(string) string { return "" }, fastClient).Get}
	person, err := puller.FindPerson(ctx, src, "https://fhir.nhs.uk/Id/nhs-number", "9434765919")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := puller.PullPerson(ctx, src, person.ID, nil); err != nil {
		t.Fatal(err)
	}
	lp, err := db.PersonAccessLog(ctx, person.ID, store.AccessFilter{}, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(lp.Entries) != 1 || lp.Entries[0].Upstream == nil {
		t.Fatalf("Jane's access log = %+v, want the hospital's one AuditEvent about her", lp.Entries)
	}
	if u := lp.Entries[0].Upstream; u.Label() != "Dr A Jones at Leeds Teaching Hospitals" || u.ReportedBy != "Leeds Teaching Hospitals NHS Trust" || u.What != "a document" {
		t.Errorf("entry = %+v", u)
	}
}
