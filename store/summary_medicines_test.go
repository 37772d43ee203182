package store_test

import (
	"context"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// TestSummaryOneLinePerMedicine: a source that sent two prescriptions of the
// same medicine (a repeat) lists it once among current medicines, the newest.
func TestSummaryOneLinePerMedicine(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	res := []fhir.Resource{
		searchPatient("p", "9434765870", "Sam"),
		searchMedicine("m1", "p", "109081006", "Metformin 500mg tablets", "2025-01-10", "Dr Alison Hughes"),
		searchMedicine("m2", "p", "109081006", "Metformin 500mg tablets", "2025-03-10", "Dr Zed Other"),
		searchMedicine("m3", "p", "318135008", "Ramipril 5mg capsules", "2024-03-01", "Dr Alison Hughes"),
	}
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp", OrgName: "Meanwood Group Practice"}, "test", res); err != nil {
		t.Fatal(err)
	}
	p, err := db.PersonByNHSNumber(ctx, "9434765870")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := db.RecordSummary(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range sum.Medicines {
		got = append(got, it.Display+" "+it.Date[:10])
	}
	want := []string{"Metformin 500mg tablets 2025-03-10", "Ramipril 5mg capsules 2024-03-01"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("current medicines: got %q, want %q", got, want)
	}
}
