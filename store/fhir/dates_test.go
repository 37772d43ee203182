package fhir_test

import (
	"testing"

	"github.com/mycarerecord/portal/store/fhir"
)

func TestDates(t *testing.T) {
	for _, tc := range []struct {
		s              string
		date, dateTime bool
	}{
		{"1957", true, true},
		{"1957-03", true, true},
		{"1957-03-14", true, true},
		{"2024-02-29", true, true},
		{"2020-02-28T09:30:00Z", false, true},
		{"2020-02-28T09:30:00.123+01:00", false, true},
		{"2020-02-28T09:30:00", false, true},
		{"2020-02-28T09:30Z", false, true},
		{"", false, false},
		{"not-a-date", false, false},
		{"31/02/2020", false, false},
		{"2020-02-31", false, false},
		{"2023-02-29", false, false},
		{"2020-13", false, false},
		{"0000-01-01", false, false},
		{"1957-3-14", false, false},
		{"1957-03-14 09:30", false, false},
		{"2020-02-28T25:00:00Z", false, false},
		{"2020-02-28T09:30:00Zjunk", false, false},
		{"20200228", false, false},
	} {
		if got := fhir.IsDate(tc.s); got != tc.date {
			t.Errorf("IsDate(%q) = %v, want %v", tc.s, got, tc.date)
		}
		if got := fhir.IsDateTime(tc.s); got != tc.dateTime {
			t.Errorf("IsDateTime(%q) = %v, want %v", tc.s, got, tc.dateTime)
		}
	}
}

// A condition's end is the day the pages name its start by: a time in UTC on
// its UK day (found by a clinical-safety review: 23:30 UTC in June ended the
// day before the page's start date).
func TestConditionEndsOnItsUKDay(t *testing.T) {
	for _, tt := range []struct{ end, want string }{
		{"2020-06-20T23:30:00Z", "Ended 2020-06-21"},      // 00:30 BST
		{"2020-06-20T23:30Z", "Ended 2020-06-21"},         // the same, without seconds
		{"2020-12-20T23:30:00Z", "Ended 2020-12-20"},      // GMT
		{"2020-06-20T23:30:00-05:00", "Ended 2020-06-20"}, // the day as written
		{"2020-06-20", "Ended 2020-06-20"},
		{"2020-06", "Ended 2020-06"},
	} {
		raw := `{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p"},"code":{"text":"Asthma"},` +
			`"onsetDateTime":"2020-06-02T23:30:00Z","abatementDateTime":"` + tt.end + `"}`
		items, err := fhir.Project(fhir.Resource{Type: "Condition", ID: "c1", Raw: []byte(raw)})
		if err != nil || len(items) != 1 || items[0].Detail != tt.want {
			t.Errorf("ended %s: %+v (%v); want %q", tt.end, items, err, tt.want)
		}
	}
}
