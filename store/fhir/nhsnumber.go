package fhir

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
