package fhir

import "time"

// IsDate reports whether s is a FHIR date: a year, a year and month, or a
// whole date (1957, 1957-03, 1957-03-14), and a real one (not 2020-02-31).
func IsDate(s string) bool {
	n, ok := datePart(s)
	return ok && n == len(s)
}

// IsDateTime reports whether s is a FHIR date or dateTime: a date as IsDate
// takes, or a whole date with a time of day (2020-02-28T09:30:00Z, with
// fractions of a second and a time zone or offset as FHIR allows). A time
// without a zone, or without seconds, is taken too: servers send them, and
// they say plainly when something happened.
func IsDateTime(s string) bool {
	n, ok := datePart(s)
	if !ok {
		return false
	}
	if n == len(s) {
		return true
	}
	if n != 10 || s[10] != 'T' {
		return false
	}
	for _, layout := range dateTimeLayouts {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

var dateTimeLayouts = []string{
	"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999", "2006-01-02T15:04Z07:00", "2006-01-02T15:04",
}

// datePart is how much of s is a date as IsDate takes it.
func datePart(s string) (int, bool) {
	digits := func(from, to int) (int, bool) {
		if len(s) < to {
			return 0, false
		}
		v := 0
		for _, c := range s[from:to] {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	year, ok := digits(0, 4)
	if !ok || year == 0 {
		return 0, false
	}
	if len(s) == 4 || s[4] != '-' {
		return 4, true
	}
	month, ok := digits(5, 7)
	if !ok || month < 1 || month > 12 {
		return 0, false
	}
	if len(s) == 7 || s[7] != '-' {
		return 7, true
	}
	day, ok := digits(8, 10)
	if !ok || day < 1 || time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC).Day() != day {
		return 0, false
	}
	return 10, true
}
