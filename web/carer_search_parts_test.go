package web_test

import (
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store/fhir"
)

// TestACarersSearchSaysWhatItDidNotSearch: a carer given medicines alone who
// finds nothing is told which parts were not searched, so "nothing" never
// reads as "not in the record" (a product review: a carer not given
// allergies searched "penicillin" and read that nothing matched).
func TestACarersSearchSaysWhatItDidNotSearch(t *testing.T) {
	f := newFixture(t)
	jane := f.signIn(t, f.jane)
	john := f.newCarer(t, "John Smith")
	f.grant(t, f.jane, f.ownAccount(t, f.jane), john, fhir.SectionMedicines)
	got := strings.Join(strings.Fields(doc(t, f.get(t, "/record/search?q=penicillin", john.cookie)).Find("main").Text()), " ")
	allergies, _ := fhir.SectionBySlug(fhir.SectionAllergies)
	if !strings.Contains(got, "We did not search") || !strings.Contains(got, allergies.Title) || strings.Contains(got, "We could not find anything in Jane Example's record that") {
		t.Errorf("a carer given medicines alone finds nothing: %q; want it to say the allergies were not searched", got)
	}
	if own := doc(t, f.get(t, "/record/search?q=zzzzqq", jane)).Find("main").Text(); strings.Contains(own, "We did not search") {
		t.Errorf("the person's own search says parts were not searched: %q", own)
	}
}

// TestACarerRefusedAPartIsLedBackToTheRecord: a carer opening a part of the
// record they were not given is refused with a way back to what they may
// see, not only to choosing whose record to use (a product review: a dead
// end).
func TestACarerRefusedAPartIsLedBackToTheRecord(t *testing.T) {
	f := newFixture(t)
	f.signIn(t, f.jane)
	john := f.newCarer(t, "John Smith")
	f.grant(t, f.jane, f.ownAccount(t, f.jane), john, fhir.SectionMedicines)
	resp := f.get(t, "/record/allergies", john.cookie)
	if d := doc(t, resp); resp.StatusCode != 403 || d.Find(`main a[href="/record"]`).Length() != 1 {
		t.Errorf("John opens the allergies he was not given: %d, links %q; want 403 with a link back to Jane's record", resp.StatusCode, d.Find("main a").Text())
	}
}
