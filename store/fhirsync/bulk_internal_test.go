package fhirsync

import (
	"testing"
	"time"
)

// TestPollDelayJitter: without Retry-After, the waits between status checks
// are spread between half and all of 1s, 2s, 4s …, so exports started
// together do not poll in step; a Retry-After the server gave is kept as it is.
func TestPollDelayJitter(t *testing.T) {
	c, err := NewClient("https://fhir.example.org/r4", nil, ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		n          int
		retryAfter string
		lo, hi     time.Duration
		spread     bool
	}{
		{"first check", 1, "", time.Second / 2, time.Second, true},
		{"third check", 3, "", 2 * time.Second, 4 * time.Second, true},
		{"long after", 20, "", 32 * time.Second, 64 * time.Second, true},
		{"the server said when", 3, "7", 7 * time.Second, 7 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := map[time.Duration]bool{}
			for range 200 {
				d := c.pollDelay(tt.n, tt.retryAfter)
				if d < tt.lo || d > tt.hi {
					t.Fatalf("wait %v outside [%v, %v]", d, tt.lo, tt.hi)
				}
				seen[d] = true
			}
			if got := len(seen) > 100; got != tt.spread {
				t.Errorf("%d different waits of 200: spread %v, want %v", len(seen), got, tt.spread)
			}
		})
	}
}
