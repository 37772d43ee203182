package fhir

import (
	"strings"
	"unicode"
)

// NormaliseNHSNumber drops the spaces and dashes an NHS number is often
// written with ("943 476 5919", "943-476-5919").
func NormaliseNHSNumber(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) {
			return -1
		}
		return r
	}, s)
}

// NHSNumberFrom makes a valid NHS number from nine digits by adding its
// check digit, or says there is none (a stem whose check digit would be 10
// is never issued).
func NHSNumberFrom(stem string) (string, bool) {
	for d := '0'; d <= '9'; d++ {
		if n := stem + string(d); ValidNHSNumber(n) {
			return n, true
		}
	}
	return "", false
}

// ValidNHSNumber reports whether s is ten digits with a correct modulus-11
// check digit.
func ValidNHSNumber(s string) bool {
	if len(s) != 10 {
		return false
	}
	sum := 0
	for i := range 10 {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		if i < 9 {
			sum += int(s[i]-'0') * (10 - i)
		}
	}
	check := 11 - sum%11
	switch check {
	case 11:
		check = 0
	case 10:
		return false // no number is issued with this check digit
	}
	return int(s[9]-'0') == check
}
