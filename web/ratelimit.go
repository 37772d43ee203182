package web

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mycarerecord/portal/store"
)

// RateLimit is how often something may be tried: Burst tries at once, then
// one more every Every.
type RateLimit struct {
	Burst int
	Every time.Duration
}

// limits are the limits on the endpoints that guess at something secret or
// cost a passkey ceremony. They are generous to people (a mistyped code, a
// passkey prompt cancelled and tried again, a care home sharing one address)
// and slow guessing by orders of magnitude; the store also locks a code after
// a few wrong tries.
type limits struct {
	signIn     RateLimit // per client
	enrolCode  RateLimit // per client, codes submitted
	perCode    RateLimit // per code, from anywhere
	enrolSetup RateLimit // per client, passkey ceremonies
	sessionGet RateLimit // per client, signed-out pages that start a session (a database write)
}

func defaultLimits() limits {
	return limits{
		signIn:     RateLimit{Burst: 30, Every: 2 * time.Second},
		enrolCode:  RateLimit{Burst: 20, Every: time.Minute},
		perCode:    RateLimit{Burst: 10, Every: 5 * time.Minute},
		enrolSetup: RateLimit{Burst: 30, Every: 2 * time.Second},
		sessionGet: RateLimit{Burst: 120, Every: time.Second},
	}
}

// limitMaxKeys is how many buckets a limiter keeps.
const limitMaxKeys = 10000

// limiter is a token bucket per key, held in memory. It keeps at most max
// keys: when full it forgets keys whose buckets have refilled (they remember
// nothing), else the fullest bucket. A key forgotten that way, or any new
// one while the table is full of buckets still spending, starts with one
// try rather than a full burst: otherwise a client that had used up its
// tries could have them back by filling the table from other addresses, as
// a review found. Nobody is refused for the table being full, so memory
// stays bounded whatever arrives, and a flood of addresses costs others no
// more than their burst.
type limiter struct {
	mu      sync.Mutex
	rate    RateLimit
	max     int
	now     func() time.Time
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate RateLimit, max int, now func() time.Time) *limiter {
	return &limiter{rate: rate, max: max, now: now, buckets: map[string]*bucket{}}
}

// allow takes a token from key's bucket; when there is none it says how long until there is.
func (l *limiter) allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		tokens := float64(l.rate.Burst)
		if len(l.buckets) >= l.max && !l.evict(now) {
			tokens = 1 // the table is full of clients still spending: no burst for a newcomer
		}
		b = &bucket{tokens: tokens, last: now}
		l.buckets[key] = b
	}
	b.tokens = l.refill(b, now)
	b.last = now
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) * float64(l.rate.Every))
	}
	b.tokens--
	return true, 0
}

func (l *limiter) refill(b *bucket, now time.Time) float64 {
	elapsed := now.Sub(b.last)
	if elapsed <= 0 {
		return b.tokens
	}
	return math.Min(float64(l.rate.Burst), b.tokens+float64(elapsed)/float64(l.rate.Every))
}

// evict makes room for one key: it forgets every bucket that has refilled,
// and says whether one had; if none had, it forgets the fullest. Called
// with l.mu held.
func (l *limiter) evict(now time.Time) (refilled bool) {
	fullest, most := "", -1.0
	for k, b := range l.buckets {
		switch tokens := l.refill(b, now); {
		case tokens >= float64(l.rate.Burst):
			delete(l.buckets, k)
			refilled = true
		case tokens > most:
			fullest, most = k, tokens
		}
	}
	if len(l.buckets) >= l.max {
		delete(l.buckets, fullest)
	}
	return refilled
}

// clientKey is the coarse identity of a client: its IP address (an IPv6
// address's /64, which one household or phone usually holds). It is the
// connection's address, unless that is one of the trusted proxies (the TLS
// proxy in front of the portal): then it is the nearest address in
// X-Forwarded-For that is not a trusted proxy. From anyone else,
// X-Forwarded-For is ignored: anyone can write it.
func clientKey(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = forwardedFor(ip.Unmap(), r.Header.Values("X-Forwarded-For"), trusted)
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// forwardedFor walks back from the connection's address peer through the
// X-Forwarded-For hops (each proxy adds the address it was reached from, at
// the end) while the address is a trusted proxy, and returns where it stops:
// the first address a trusted proxy vouches for that is not one itself. A
// hop that is not an address stops the walk at the proxy that wrote it.
func forwardedFor(peer netip.Addr, headers []string, trusted []netip.Prefix) netip.Addr {
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	var hops []string
	for _, h := range headers {
		hops = append(hops, strings.Split(h, ",")...)
	}
	addr := peer
	for i := len(hops) - 1; i >= 0 && isTrusted(addr); i-- {
		prev, ok := parseHop(hops[i])
		if !ok {
			break
		}
		addr = prev.Unmap()
	}
	return addr
}

// parseHop reads one X-Forwarded-For address as proxies write them: bare,
// with a port ("203.0.113.9:1234", "[2001:db8::1]:443"), or bracketed.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil {
		return a, true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr(), true
	}
	return netip.Addr{}, false
}

// codeKey is an enrolment or invitation code as the store compares it
// (store.NormaliseCode), cut to a length no real code reaches so that a huge
// form value cannot make a huge key.
func codeKey(code string) string {
	code = store.NormaliseCode(code)
	if len(code) > 64 {
		code = code[:64]
	}
	return code
}

// rateLimit refuses a client's request with 429 "Too many tries" once it has
// used up perClient. When codeField is not "", the code submitted in that form
// field is limited too, by perCode across all clients, so a guesser spread over
// many addresses still gets few tries at any one code.
func (s *Server) rateLimit(perClient RateLimit, codeField string, perCode RateLimit) echo.MiddlewareFunc {
	clients := newLimiter(perClient, limitMaxKeys, time.Now)
	codes := newLimiter(perCode, limitMaxKeys, time.Now)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ok, wait := clients.allow(clientKey(c.Request(), s.cfg.TrustedProxies))
			if ok && codeField != "" {
				if code := codeKey(c.FormValue(codeField)); code != "" {
					ok, wait = codes.allow(code)
				}
			}
			if !ok {
				c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
				return echo.NewHTTPError(http.StatusTooManyRequests, waitWords(wait))
			}
			return next(c)
		}
	}
}

// waitWords tells someone refused for too many tries how long to wait, in
// words: a page refused for a second is not worth "a few minutes".
func waitWords(wait time.Duration) string {
	if wait <= time.Minute {
		return "Wait a minute, then try again."
	}
	return fmt.Sprintf("Wait %d minutes, then try again.", int(math.Ceil(wait.Minutes())))
}
