package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// auditEvent is an AuditEvent shaped as FHIR servers write them (HAPI, the NHS
// national services): a RESTful read by a practitioner through a system, the
// patient and the document read as entities, the network address of the client.
func auditEvent(id, patientRef, recorded, who, docRef string) fhir.Resource {
	raw := `{
  "resourceType": "AuditEvent",
  "id": "` + id + `",
  "meta": {"versionId": "1", "lastUpdated": "` + recorded + `"},
  "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest", "display": "RESTful Operation"},
  "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": "read", "display": "read"}],
  "action": "R",
  "recorded": "` + recorded + `",
  "outcome": "0",
  "agent": [
    {
      "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/extra-security-role-type", "code": "humanuser", "display": "human user"}]},
      "who": {"reference": "Practitioner/pr-1", "display": "` + who + `"},
      "requestor": true,
      "network": {"address": "10.12.0.5", "type": "2"}
    },
    {
      "type": {"coding": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110153", "display": "Source Role ID"}]},
      "who": {"reference": "Device/epr", "display": "Electronic patient record"},
      "requestor": false
    }
  ],
  "source": {
    "site": "St James's University Hospital",
    "observer": {"reference": "Organization/rr8", "display": "Leeds Teaching Hospitals"},
    "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4", "display": "Application Server"}]
  },
  "entity": [
    {
      "what": {"reference": "` + patientRef + `"},
      "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person"},
      "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient"}
    },
    {
      "what": {"reference": "` + docRef + `"},
      "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object"}
    }
  ]
}`
	return fhir.Resource{Type: "AuditEvent", ID: id, Raw: []byte(raw)}
}

func TestUpstreamAuditEventsReachThePersonsLog(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	jane := addPerson(t, db, "9434765919", "1957-03-14")
	other := addPerson(t, db, "9000000009", "1980-07-01")
	// The hospital sends its Patient and its audit of who read her record; the AuditEvent
	// has no subject or patient: only its entity names her.
	hospital := store.ImportOptions{Source: "lth", OrgName: "Leeds Teaching Hospitals NHS Trust"}
	res := []fhir.Resource{
		{Type: "Patient", ID: "h-jane", Raw: []byte(`{"resourceType":"Patient","id":"h-jane","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}]}`)},
		auditEvent("ae-1", "Patient/h-jane", "2026-11-20T10:15:00+00:00", "Dr A Jones", "DocumentReference/d1"),
		auditEvent("ae-other", "Patient/p-9000000009", "2026-11-21T09:00:00Z", "Dr B Smith", "Observation/o1"),
	}
	if _, err := db.ImportResources(ctx, hospital, "audit.json", res); err != nil {
		t.Fatal(err)
	}
	lp, err := db.PersonAccessLog(ctx, jane.ID, store.AccessFilter{}, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if lp.Total != 1 || len(lp.Entries) != 1 || lp.Entries[0].Upstream == nil {
		t.Fatalf("Jane's log = %+v, want her one upstream entry", lp)
	}
	u := lp.Entries[0].Upstream
	if got, want := u.Label(), "Dr A Jones at Leeds Teaching Hospitals"; got != want {
		t.Errorf("label %q, want %q", got, want)
	}
	if u.Action != "Viewed" || u.What != "a document" || u.ReportedBy != "Leeds Teaching Hospitals NHS Trust" || u.At != "2026-11-20T10:15:00.000000000Z" {
		t.Errorf("entry = %+v", u)
	}
	if len(lp.Who) != 2 || lp.Who[1].Label != "Dr A Jones at Leeds Teaching Hospitals" || lp.Who[1].Kind != "professional" {
		t.Errorf("who = %+v, want You and Dr A Jones", lp.Who)
	}
	// The other person's AuditEvent names a Patient at a source where nobody is linked yet: nobody's.
	if lp, err := db.PersonAccessLog(ctx, other.ID, store.AccessFilter{}, 1, 10); err != nil || lp.Total != 0 {
		t.Errorf("another person's log = %+v, %v; want empty", lp, err)
	}
	// Filtering by that professional keeps them and nobody else.
	if lp, err := db.PersonAccessLog(ctx, jane.ID, store.AccessFilter{Who: lp.Who[1].Key}, 1, 10); err != nil || lp.Total != 1 {
		t.Errorf("filtered to Dr Jones: %+v, %v", lp, err)
	}
	if lp, err := db.PersonAccessLog(ctx, jane.ID, store.AccessFilter{Who: store.AccessByYou}, 1, 10); err != nil || lp.Total != 0 {
		t.Errorf("filtered to You: %+v, %v", lp, err)
	}
	// A corrected AuditEvent is read again; what was read before is not shown.
	if _, err := db.ImportResources(ctx, hospital, "audit2.json", []fhir.Resource{auditEvent("ae-1", "Patient/h-jane", "2026-11-20T10:15:00+00:00", "Dr C Brown", "DocumentReference/d1")}); err != nil {
		t.Fatal(err)
	}
	lp, err = db.PersonAccessLog(ctx, jane.ID, store.AccessFilter{}, 1, 10)
	if err != nil || len(lp.Entries) != 1 || lp.Entries[0].Upstream.Who != "Dr C Brown" {
		t.Errorf("after the correction: %+v, %v", lp.Entries, err)
	}
}

func TestAccessLogActingFor(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	for _, a := range []store.Access{
		{AccountID: 1, PersonID: 7, Action: "view", What: "summary", Device: "Chrome on Linux", ActorName: "Mary Smith"},
		{AccountID: 2, PersonID: 7, Action: "view", What: "medicines", Device: "Safari on iPhone", ActorKind: store.ActorCarer, ActorName: "John Smith", Relationship: "son"},
	} {
		if err := db.LogAccess(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.LogAccess(ctx, store.Access{AccountID: 3, PersonID: 7, ActorKind: "professional"}); err == nil {
		t.Error("an unknown kind of actor was logged")
	}
	lp, err := db.PersonAccessLog(ctx, 7, store.AccessFilter{}, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(lp.Entries) != 2 || lp.Entries[0].Local.ActorKind != store.ActorCarer || lp.Entries[1].Local.ActorKind != store.ActorSelf {
		t.Fatalf("entries = %+v", lp.Entries)
	}
	want := []store.AccessWho{{Key: "you", Label: "You", Kind: "self"}, {Key: "carer-2", Label: "Your carer John Smith (son)", Kind: "carer"}}
	if fmt.Sprint(lp.Who) != fmt.Sprint(want) {
		t.Errorf("who = %+v, want %+v", lp.Who, want)
	}
	for _, tt := range []struct{ who, what string }{{"you", "summary"}, {"carer-2", "medicines"}} {
		lp, err := db.PersonAccessLog(ctx, 7, store.AccessFilter{Who: tt.who}, 1, 10)
		if err != nil || len(lp.Entries) != 1 || lp.Entries[0].Local.What != tt.what {
			t.Errorf("%s: %+v, %v", tt.who, lp.Entries, err)
		}
	}
	if _, err := db.PersonAccessLog(ctx, 7, store.AccessFilter{Who: "carer-x"}, 1, 10); store.ErrorCode(err) != store.EINVALID {
		t.Errorf("bad carer key: %v", err)
	}
	if c, err := db.CheckAccessLog(ctx); err != nil || !c.Intact() || c.Entries != 2 {
		t.Errorf("check = %+v, %v", c, err)
	}
}

// TestAccessLogPagesMergeInTimeOrder pages through local entries and upstream
// AuditEvents at random times, with and without date filters, and compares each
// page with the whole log merged and sorted the plain way.
func TestAccessLogPagesMergeInTimeOrder(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	jane := addPerson(t, db, "9434765919", "1957-03-14")
	rng := rand.New(rand.NewPCG(3, 4))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type entry struct{ at, label string }
	var all []entry
	var ups []fhir.Resource
	for i := range 40 {
		at := base.Add(time.Duration(rng.IntN(60*24)) * time.Hour)
		ups = append(ups, auditEvent(fmt.Sprintf("ae-%d", i), "Patient/p-9434765919", at.Format(time.RFC3339), "Dr "+string(rune('A'+i%3)), "Observation/o"))
		all = append(all, entry{at.UTC().Format("2006-01-02T15:04:05.000000000Z"), "up"})
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "audit", ups); err != nil {
		t.Fatal(err)
	}
	c := &clock{}
	db.SetClock(c.now)
	for i := range 57 {
		c.t = base.Add(time.Duration(rng.IntN(60*24)) * time.Hour)
		if i%5 == 0 && i > 0 {
			// Some at exactly an upstream entry's time: the local one comes first.
			c.t, _ = time.Parse(time.RFC3339Nano, all[i%40].at)
		}
		if err := db.LogAccess(ctx, store.Access{AccountID: 1, PersonID: jane.ID, Action: "view", What: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
		all = append(all, entry{c.t.UTC().Format("2006-01-02T15:04:05.000000000Z"), "local"})
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].at != all[j].at {
			return all[i].at > all[j].at
		}
		return all[i].label == "local" && all[j].label != "local"
	})
	for _, f := range []store.AccessFilter{
		{},
		{From: base.AddDate(0, 0, 10), To: base.AddDate(0, 0, 40)},
		{From: base.AddDate(0, 0, 50)},
	} {
		var want []string
		for _, e := range all {
			if (f.From.IsZero() || e.at >= f.From.UTC().Format("2006-01-02T15:04:05.000000000Z")) && (f.To.IsZero() || e.at < f.To.UTC().Format("2006-01-02T15:04:05.000000000Z")) {
				want = append(want, e.label+"@"+e.at)
			}
		}
		for _, per := range []int{1, 7, 25, 200} {
			var got []string
			for page := 1; ; page++ {
				lp, err := db.PersonAccessLog(ctx, jane.ID, f, page, per)
				if err != nil {
					t.Fatal(err)
				}
				if lp.Total != len(want) {
					t.Fatalf("filter %v: total %d, want %d", f, lp.Total, len(want))
				}
				for _, e := range lp.Entries {
					label := "local"
					if e.Upstream != nil {
						label = "up"
					}
					got = append(got, label+"@"+e.At)
				}
				if page >= lp.Pages() {
					break
				}
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("filter %v, %d a page: pages do not make the merged log\ngot  %v\nwant %v", f, per, got, want)
			}
		}
	}
}

// BenchmarkPersonAccessLog reads pages of a long log (20,000 entries of the
// portal's own and 200 AuditEvents from a source): the first page, and one
// far back, each reported as a multiple of a one-row read by key in the
// same run (referenceRead); and the whole chain's check.
func BenchmarkPersonAccessLog(b *testing.B) {
	ctx := context.Background()
	db := mustOpenDB(b)
	raw := `{"resourceType":"Patient","id":"p-9434765919","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}]}`
	res := []fhir.Resource{{Type: "Patient", ID: "p-9434765919", Raw: []byte(raw)}}
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 200 {
		res = append(res, auditEvent(fmt.Sprintf("ae-%d", i), "Patient/p-9434765919", base.Add(time.Duration(i)*37*time.Hour).Format(time.RFC3339), "Dr A Jones", "Observation/o"))
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "bench", res); err != nil {
		b.Fatal(err)
	}
	jane, err := db.PersonByNHSNumber(ctx, "9434765919")
	if err != nil {
		b.Fatal(err)
	}
	c := &clock{t: base}
	db.SetClock(c.now)
	for i := range 20000 {
		c.t = base.Add(time.Duration(i) * 23 * time.Minute)
		if err := db.LogAccess(ctx, store.Access{AccountID: 1, PersonID: jane.ID, Action: "view", What: "medicines", Device: "Chrome on Linux"}); err != nil {
			b.Fatal(err)
		}
	}
	ref := referenceRead(b, db, jane.ID)
	for _, page := range []int{1, 400} {
		b.Run(fmt.Sprintf("page %d", page), func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				start := time.Now()
				lp, err := db.PersonAccessLog(ctx, jane.ID, store.AccessFilter{}, page, 25)
				if err != nil || len(lp.Entries) != 25 {
					b.Fatalf("%d entries, %v", len(lp.Entries), err)
				}
				took = append(took, time.Since(start))
			}
			slices.Sort(took)
			reportAgainst(b, took[len(took)/2], ref, "one-row-read")
		})
	}
	b.Run("verify", func(b *testing.B) {
		var took []time.Duration
		for b.Loop() {
			start := time.Now()
			if c, err := db.CheckAccessLog(ctx); err != nil || !c.Intact() {
				b.Fatal(c, err)
			}
			took = append(took, time.Since(start))
		}
		slices.Sort(took)
		reportAgainst(b, took[len(took)/2], ref, "one-row-read")
	})
}
