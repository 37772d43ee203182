package web

import (
	"testing"

	"github.com/mycarerecord/portal/views"
)

func TestDeviceOf(t *testing.T) {
	for _, tt := range []struct{ ua, want string }{
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome on Android"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on Windows"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "Edge on Windows"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari on iPhone"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", "Chrome on iPhone"},
		{"Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15", "Firefox on iPad"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", "Safari on Mac"},
		{"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36", "Samsung Internet on Android"},
		{"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome on a Chromebook"},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36", "Chrome on Linux"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0", "Opera on Windows"},
		{"curl/8.5.0", "A web browser on an unknown device"},
		{"", "A web browser on an unknown device"},
		{"<script>alert(1)</script> 192.168.1.20", "A web browser on an unknown device"},
	} {
		if got := deviceOf(tt.ua); got != tt.want {
			t.Errorf("deviceOf(%q) = %q, want %q", tt.ua, got, tt.want)
		}
	}
}

// A date of birth with several boxes wrong names every one in one message,
// on the first, so one sending puts them all right.
func TestBirthDateNamesEveryWrongBox(t *testing.T) {
	for _, tt := range []struct {
		d, m, y     string
		field, want string
	}{
		{"", "", "", "dob-day", "Enter your date of birth"},
		{"12", "", "19", "dob-month", "Date of birth must include a month between 1 and 12 and a year with 4 numbers"},
		{"40", "13", "1957", "dob-day", "Date of birth must include a day between 1 and 31 and a month between 1 and 12"},
		{"x", "y", "z", "dob-day", "Date of birth must include a day between 1 and 31 and a month between 1 and 12 and a year with 4 numbers"},
		{"14", "3", "57", "dob-year", "Year must include 4 numbers, like 1984"},
		{"14", "", "1957", "dob-month", "Date of birth must include a month between 1 and 12"},
		{"31", "2", "1957", "dob-day", "Date of birth must be a real date"},
		{"14", "3", "1957", "", ""},
	} {
		_, errs := birthDate(tt.d, tt.m, tt.y, "your")
		got := views.FieldError{}
		if len(errs) > 0 {
			got = errs[0]
		}
		if len(errs) > 1 || got.Field != tt.field || got.Message != tt.want {
			t.Errorf("%q/%q/%q: %+v, want %s: %q", tt.d, tt.m, tt.y, errs, tt.field, tt.want)
		}
	}
}
