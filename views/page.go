// Package views renders the portal's pages as templ components in the NHS.UK
// frontend's markup. Views take typed data and never look at the request.
package views

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/mycarerecord/portal/store"
)

// AssetURLs gives the content-hashed address of a static file by name:
// "nhsuk.css", "nhsuk.js", "portal.css", "portal.js" or "passkey.js".
// *static.Assets satisfies it.
type AssetURLs interface{ URL(name string) string }

// Page is what the layout of every page needs to know.
type Page struct {
	Title    string // the page's own title; the layout adds " – My Care Record" (and "Error: " when a form has errors)
	Demo     bool   // serving made-up data: every page says so
	SignedIn bool
	// SessionLeft is how long the session has before it ends for want of use
	// (or at its absolute end, if sooner), and SessionIdle how long a request
	// gives it: the layout warns before it ends (sessionTimeout).
	SessionLeft, SessionIdle time.Duration
	// SessionEnd is how long the session has to its absolute end, which no
	// use puts off: the script never counts past it (static/js/portal.js).
	SessionEnd time.Duration
	// SessionFinal says SessionLeft is the time to the session's absolute
	// end, which staying signed in cannot put off.
	SessionFinal bool
	// SettingUp is, on a page where someone signed in to nobody sets up a
	// passkey with a code their session holds, which code: "enrolment" or
	// "invitation". Its time-out warning says setting up will stop, and that
	// the code works again until it expires (store.RedeemEnrolmentCode,
	// store.HeldInvitation), not that they will be signed out.
	SettingUp   string
	AccountName string
	CSRF        string // in <meta name="csrf-token"> and in every POST form as the hidden field "csrf"
	For         string // whose record the page is for ("self", or the carer's grant id): every POST form sends it as "for"
	Assets      AssetURLs
	Path        string // the current URL path, to mark the current navigation item
	Query       string // the current URL's query, without "?", so a link to this same page keeps it (Here)

	// Passkey loads passkey.js. SignIn and EnrolPasskey set it themselves; handlers need not.
	Passkey bool
	// HasErrors puts "Error: " before the title. Enrol sets it when its form has errors.
	HasErrors bool

	// Acting is whom a carer is acting for: every page then says so, with a way to switch. Nil for their own record.
	Acting *Acting
	// OwnRecord: the signed-in account has a record of its own (carers may not), so the header offers its carers page.
	OwnRecord bool
	// HelpsOthers: the account may act for someone else now (an active
	// carer's access), so the header offers to switch whose record it uses,
	// on every page, whoever's record is shown.
	HelpsOthers bool

	// Sync is how the record shown stands with each FHIR server source; record pages show it.
	Sync []store.SyncStatus
	// Now is when the page is made, for "4 minutes ago".
	Now time.Time
}

// FieldError is a problem with one form field. Field is the id of the input it
// is about, so the error summary can link to it.
type FieldError struct{ Field, Message string }

// EnrolForm is the enrolment form as sent, with anything wrong with it.
type EnrolForm struct {
	Code, Day, Month, Year string
	Errors                 []FieldError
}

// Form field names the enrolment form posts. The ids are dob-day, dob-month and
// dob-year (what the error summary links to); the names are what the handler reads.
const (
	FieldCode  = "code"
	FieldDay   = "day"
	FieldMonth = "month"
	FieldYear  = "year"
)

func (p Page) title() string {
	t := p.Title
	switch t {
	case "", serviceName:
		t = serviceName
	default:
		t += " – " + serviceName
	}
	if p.HasErrors {
		t = "Error: " + t
	}
	return t
}

func (p Page) asset(name string) string {
	if p.Assets == nil {
		return ""
	}
	return p.Assets.URL(name)
}

// withPasskey is the page with passkey.js loaded.
func withPasskey(p Page) Page {
	p.Passkey = true
	return p
}

// withErrors is the page titled as having errors when there are any.
func withErrors(p Page, errs []FieldError) Page {
	if len(errs) > 0 {
		p.HasErrors = true
	}
	return p
}

const serviceName = "My Care Record"

// errorFor is the message for the field, or "".
func errorFor(errs []FieldError, field string) string {
	for _, e := range errs {
		if e.Field == field {
			return e.Message
		}
	}
	return ""
}

// dateField is one NHS date input: three boxes with ids ID-day, ID-month and
// ID-year, and one message for all three.
type dateField struct {
	ID, Legend, Hint string
	Day, Month, Year string
	ShortNames       bool // the boxes are named day, month and year (FieldDay…), not ID-day…
	Birth            bool // a date of birth, which the browser may fill in
	Errors           []FieldError
}

func (d dateField) name(part string) string {
	if d.ShortNames {
		return part
	}
	return d.ID + "-" + part
}

func (d dateField) autocomplete(part string) string {
	if d.Birth {
		return "bday-" + part
	}
	return "off"
}

// err is the first message about the date, in day-month-year order.
func (d dateField) err() string { return dateErrorFor(d.Errors, d.ID) }

// boxWrong marks the box the message is about, any other box it names ("must
// include a month between 1 and 12 and a year with 4 numbers"), or all three
// when it is about the date as a whole (wholeDateWrong).
func (d dateField) boxWrong(part string) bool {
	return errorFor(d.Errors, d.ID+"-"+part) != "" || wholeDateWrong(d.Errors, d.ID) ||
		strings.Contains(d.err(), " must include ") && (strings.Contains(d.err(), " a "+part+" ") || strings.HasSuffix(d.err(), " a "+part))
}

// dateErrorFor is the first message about one of the form's dates.
func dateErrorFor(errs []FieldError, id string) string {
	for _, part := range []string{"-day", "-month", "-year"} {
		if m := errorFor(errs, id+part); m != "" {
			return m
		}
	}
	return ""
}

// wholeDateWrong reports whether the date's error is about the date as a
// whole (missing, not a real date, out of order, not the one we hold) rather
// than about the day box alone: such errors are put on the day box.
func wholeDateWrong(errs []FieldError, id string) bool {
	m := errorFor(errs, id+"-day")
	return m != "" && !strings.Contains(strings.ToLower(m), " day ")
}

// Whose says whose record the page is about, to start a heading: "Your",
// or, for a carer, "Mrs Jane Example's". Carers read someone else's record,
// and the pages must not talk to them as if it were theirs.
func (p Page) Whose() string { return capitalise(p.whose()) }

// whose is Whose inside a sentence: "your", or "Mrs Jane Example's".
func (p Page) whose() string {
	if p.Acting != nil {
		return p.Acting.Name + "'s"
	}
	return "your"
}

// Record is "your record", or, for a carer, "Mrs Jane Example's record".
func (p Page) Record() string { return p.whose() + " record" }

// whom is "you", or, for a carer, the person's name: the object of a sentence.
func (p Page) whom() string {
	if p.Acting != nil {
		return p.Acting.Name
	}
	return "you"
}

// Here is the address of this same page, with its query: "Check for updates"
// on a search keeps the search.
func (p Page) Here() string {
	if p.Query == "" {
		return p.Path
	}
	return p.Path + "?" + p.Query
}

// durationWords says a length of time as people do: "30 minutes", "1 hour",
// "1 hour 30 minutes", "40 seconds".
func durationWords(d time.Duration) string {
	unit := func(n int, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return strconv.Itoa(n) + " " + one + "s"
	}
	if d < time.Minute {
		return unit(int(d.Round(time.Second)/time.Second), "second")
	}
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h == 0:
		return unit(m, "minute")
	case m == 0:
		return unit(h, "hour")
	}
	return unit(h, "hour") + " " + unit(m, "minute")
}

// SecondsLeft is d in whole seconds, rounded up: the page's script counts
// down from it, and must never say someone has been signed out while the
// server still holds their session (rounded down, it said so up to a second
// early, and a form sent then was taken).
func SecondsLeft(d time.Duration) string {
	return strconv.Itoa(int(math.Ceil(d.Seconds())))
}

// timeoutWords are the words of the warning before a session ends
// (sessionTimeout): signed in, or setting up a passkey with a code held
// (Page.SettingUp), when a passkey not made in time costs only typing the
// code again. countdown begins the count static/js/portal.js keeps, which
// ends it with the time left.
type timeoutWords struct {
	heading, why, countdown, after, stay  string
	lastHeading, lastAfter, lastMore      string
	endedHeading, ended, again, againHref string
}

func timeoutWordsOf(p Page) timeoutWords {
	if p.SettingUp != "" {
		code, doing, verb, href, gives := "enrolment code", "Setting up your account", "Setting up", "/enrol", "your GP practice"
		if p.SettingUp == "invitation" {
			code, doing, verb, href, gives = "invitation code", "Accepting the invitation", "Accepting", "/carers/accept", "the person who invited you"
		}
		again := "If " + strings.ToLower(verb) + " stops, you can enter your " + code + " again, as long as it has not expired."
		return timeoutWords{
			heading:   doing + " will stop soon",
			why:       "For your security, we stop when you have not done anything for " + durationWords(p.SessionIdle) + ".",
			countdown: verb + " will stop in", after: again, stay: "I need more time",
			lastHeading: "You cannot have more time", lastAfter: "This can go on for 12 hours at most.", lastMore: again,
			endedHeading: doing + " has stopped",
			// Also what "I need more time" ends with once the code has expired (a review).
			ended: "You can enter your " + code + " again to carry on. If it has expired, ask " + gives + " for a new one.",
			again: "Enter your " + code, againHref: href,
		}
	}
	return timeoutWords{
		heading:   "You will be signed out soon",
		why:       "For your security, we sign you out when you have not done anything for " + durationWords(p.SessionIdle) + ".",
		countdown: "You will be signed out in", after: "Anything you have typed on this page will stay here.", stay: "Stay signed in",
		lastHeading: "You cannot stay signed in any longer", lastAfter: "You can be signed in for 12 hours at most.",
		lastMore:     "Copy anything you need from this page, then sign in again.",
		endedHeading: "You have been signed out",
		ended:        "Anything you typed on this page is still here, but has not been saved. Copy it if you need it, then sign in again.",
		again:        "Sign in again", againHref: "/signin",
	}
}
