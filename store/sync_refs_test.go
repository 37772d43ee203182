package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// TestAnotherServersReferenceNamesNothing: an item that names who took part
// by a reference to another server's resource is not named after the
// source's resource with the same type and id, and the sync does not fetch
// that one for it; it shows the reference's own words when it has some.
func TestAnotherServersReferenceNamesNothing(t *testing.T) {
	const base = "http://localhost:1/fhir" // syncSource's
	for _, tc := range []struct {
		name, provider string // the Encounter's serviceProvider
		wantOrg        string
		wantRefs       string // the Organizations the sync fetches for the record
	}{
		{"relative", `{"reference":"Organization/org1"}`, "Meanwood Practice", "org1"},
		{"absolute, to the source", `{"reference":"` + base + `/Organization/org1"}`, "Meanwood Practice", "org1"},
		{"absolute, to another server", `{"reference":"https://other-trust.example/fhir/Organization/org1"}`, "", ""},
		{"another server's, with words", `{"reference":"https://other-trust.example/fhir/Organization/org1","display":"Other Trust Surgery"}`, "Other Trust Surgery", ""},
		{"a longer base", `{"reference":"` + base + `2/Organization/org1"}`, "", ""},
	} {
		for _, bulk := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, bulk %v", tc.name, bulk), func(t *testing.T) {
				ctx := context.Background()
				db := mustOpenDB(t)
				src, person := syncSource(t, db)
				res := parsed(t,
					fmt.Sprintf(`{"resourceType":"Patient","id":"pt1","identifier":[{"system":%q,"value":"9434765919"}]}`, fhir.NHSNumberSystem),
					`{"resourceType":"Organization","id":"org1","name":"Meanwood Practice"}`,
					`{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/pt1"},`+
						`"period":{"start":"2026-02-01T09:00:00Z"},"serviceProvider":`+tc.provider+`}`)
				if bulk {
					if _, err := db.ImportBulk(ctx, store.ImportOptions{Source: src.Name, SourceID: src.ID}, "export", store.PrepareAll(res)); err != nil {
						t.Fatal(err)
					}
					if err := db.FinishBulkLoad(ctx); err != nil {
						t.Fatal(err)
					}
				} else if _, err := db.ApplyPage(ctx, store.PageUpdate{Source: src.Name, SourceID: src.ID, PersonID: person.ID, ResourceType: "Encounter", Origin: "search", Resources: res}); err != nil {
					t.Fatal(err)
				}
				page, err := db.RecordSection(ctx, person.ID, "encounters", 1, 10)
				if err != nil || len(page.Items) != 1 {
					t.Fatalf("%+v, %v; want one visit", page.Items, err)
				}
				if got := page.Items[0].Organisation; got != tc.wantOrg {
					t.Errorf("visit shows organisation %q, want %q", got, tc.wantOrg)
				}
				refs, err := db.References(ctx, src.ID, person.ID, map[string]bool{"Organization": true})
				if err != nil {
					t.Fatal(err)
				}
				if got := strings.Join(refs["Organization"], " "); got != tc.wantRefs {
					t.Errorf("references to fetch %q, want %q", got, tc.wantRefs)
				}
			})
		}
	}
}
