package web

import (
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
)

func TestLimiter(t *testing.T) {
	start := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	type step struct {
		at   time.Duration // since start
		key  string
		want bool
	}
	tests := []struct {
		name  string
		rate  RateLimit
		max   int
		steps []step
	}{
		{"burst then refused", RateLimit{Burst: 2, Every: time.Minute}, 10, []step{
			{0, "a", true}, {0, "a", true}, {0, "a", false}, {59 * time.Second, "a", false},
		}},
		{"refills one per interval", RateLimit{Burst: 2, Every: time.Minute}, 10, []step{
			{0, "a", true}, {0, "a", true}, {0, "a", false}, {time.Minute, "a", true}, {time.Minute, "a", false},
		}},
		{"never more than the burst after a long wait", RateLimit{Burst: 2, Every: time.Minute}, 10, []step{
			{0, "a", true}, {time.Hour, "a", true}, {time.Hour, "a", true}, {time.Hour, "a", false},
		}},
		{"keys are separate", RateLimit{Burst: 1, Every: time.Minute}, 10, []step{
			{0, "a", true}, {0, "a", false}, {0, "b", true}, {0, "b", false},
		}},
		{"a forgotten key starts full, but only once it has refilled", RateLimit{Burst: 1, Every: time.Minute}, 2, []step{
			{0, "a", true}, {0, "b", true}, {time.Minute, "c", true}, {time.Minute, "a", true}, {time.Minute, "a", false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := start
			l := newLimiter(tt.rate, tt.max, func() time.Time { return now })
			for i, s := range tt.steps {
				now = start.Add(s.at)
				if got, _ := l.allow(s.key); got != s.want {
					t.Fatalf("step %d (%s at %v): allowed %v, want %v", i, s.key, s.at, got, s.want)
				}
			}
		})
	}
}

// TestLimiterMemoryIsBounded: a flood of new clients never grows the table past its bound.
func TestLimiterMemoryIsBounded(t *testing.T) {
	now := time.Now()
	l := newLimiter(RateLimit{Burst: 1, Every: time.Hour}, 100, func() time.Time { return now })
	for i := range 10000 {
		l.allow("client-" + strconv.Itoa(i))
		if len(l.buckets) > 100 {
			t.Fatalf("%d buckets after %d clients", len(l.buckets), i+1)
		}
	}
}

// TestLimiterGivesNoBurstBack: when the table was full the limiter forgot
// arbitrary buckets, so a client that had used up its tries got a full burst
// again once its other addresses filled the table; forgetting the fullest
// instead still let it cycle two addresses for a burst each time (found by
// reviews). Under a full table a new or forgotten key starts with one try,
// and nobody is refused for the table being full.
func TestLimiterGivesNoBurstBack(t *testing.T) {
	now := time.Unix(0, 0)
	l := newLimiter(RateLimit{Burst: 20, Every: time.Hour}, 3, func() time.Time { return now })
	tries := func(key string) int {
		n := 0
		for ok, _ := l.allow(key); ok; ok, _ = l.allow(key) {
			n++
		}
		return n
	}
	if n := tries("target"); n != 20 {
		t.Fatalf("first burst: %d tries, want 20", n)
	}
	total := 0
	for i := range 50 { // the attacker's other addresses fill the table, and the target comes back
		tries("other-" + strconv.Itoa(i))
		total += tries("target")
	}
	if total > 50 {
		t.Errorf("the target had %d more tries within the hour through 50 other addresses; want at most one per address", total)
	}
	if ok, _ := l.allow("newcomer"); !ok {
		t.Error("a newcomer was refused for the table being full")
	}
	if len(l.buckets) > 3 {
		t.Errorf("%d buckets; want at most 3", len(l.buckets))
	}
}

func TestClientKey(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name, remote string
		forwarded    []string
		want         string
	}{
		{"the connection", "192.0.2.1:1234", nil, "192.0.2.1"},
		{"X-Forwarded-For from anyone but a proxy", "192.0.2.1:9999", []string{"203.0.113.9"}, "192.0.2.1"},
		{"an IPv6 address's /64", "[2001:db8:1:2:3:4:5:6]:443", nil, "2001:db8:1:2::/64"},
		{"another in the same /64", "[2001:db8:1:2:ffff::1]:443", nil, "2001:db8:1:2::/64"},
		{"not an address", "not an address", nil, "not an address"},
		{"through the proxy", "10.0.0.5:40000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"an IPv4-mapped proxy", "[::ffff:10.0.0.5]:40000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"the proxy, with nothing forwarded", "10.0.0.5:40000", nil, "10.0.0.5"},
		{"what the client wrote itself is not believed", "10.0.0.5:40000", []string{"198.51.100.7, 203.0.113.9"}, "203.0.113.9"},
		{"through two proxies", "10.0.0.5:40000", []string{"203.0.113.9, 10.1.2.3"}, "203.0.113.9"},
		{"in two headers", "10.0.0.5:40000", []string{"198.51.100.7", "203.0.113.9"}, "203.0.113.9"},
		{"a hop that is not an address", "10.0.0.5:40000", []string{"203.0.113.9, unknown"}, "10.0.0.5"},
		{"a hop with its port", "10.0.0.5:40000", []string{"203.0.113.9:5123"}, "203.0.113.9"},
		{"an IPv6 hop in brackets", "10.0.0.5:40000", []string{"[2001:db8:1:2::7]"}, "2001:db8:1:2::/64"},
		{"an IPv6 hop with its port", "10.0.0.5:40000", []string{"[2001:db8:1:2::7]:443"}, "2001:db8:1:2::/64"},
		{"an IPv6 client through the proxy", "[fd00::1]:443", []string{"2001:db8:1:2:3:4:5:6"}, "2001:db8:1:2::/64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/signin/begin", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.forwarded {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientKey(r, proxies); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestCodeKey checks that tries at one code are counted together however it
// is typed, exactly as the store compares codes, and that a huge value makes
// a short key.
func TestCodeKey(t *testing.T) {
	for in, want := range map[string]string{"abcd-efgh-jkmn": "ABCDEFGHJKMN", " ABCD EFGH JKMN ": "ABCDEFGHJKMN", "": "",
		strings.Repeat("a", 100_000): strings.Repeat("A", 64)} {
		if got := codeKey(in); got != want {
			t.Errorf("%.20q: got %.20q, want %.20q", in, got, want)
		}
		if got, compared := codeKey(in), store.NormaliseCode(in); len(in) < 64 && got != compared {
			t.Errorf("%q: key %q, but the store compares %q", in, got, compared)
		}
	}
}

func TestWaitWords(t *testing.T) {
	for _, tc := range []struct {
		wait time.Duration
		want string
	}{
		{time.Second, "Wait a minute, then try again."},
		{time.Minute, "Wait a minute, then try again."},
		{time.Minute + time.Second, "Wait 2 minutes, then try again."},
		{15 * time.Minute, "Wait 15 minutes, then try again."},
	} {
		if got := waitWords(tc.wait); got != tc.want {
			t.Errorf("waitWords(%s) = %q, want %q", tc.wait, got, tc.want)
		}
	}
}
