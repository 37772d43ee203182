package views

import (
	"context"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/a-h/templ"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// Acting is whom a carer is acting for, for the banner on every page and the
// section navigation. Nil in Page when the account uses its own record.
type Acting struct {
	Name         string   // e.g. "Mary Smith"
	Relationship string   // e.g. "mother"
	Scopes       []string // what the grant allows: section slugs, "choices", "download"
	Active       bool     // false once the grant has ended or been stopped
}

// May says whether the carer may see the section or do the action.
func (a *Acting) May(scope string) bool {
	return a == nil || (a.Active && slices.Contains(a.Scopes, scope))
}

type actingKey struct{}

// actingScope renders its children knowing whom the page is acting for, so
// shared pieces (the section navigation, the summary cards) show only what the
// carer may see without every page passing it down.
func actingScope(a *Acting) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		return templ.GetChildren(ctx).Render(context.WithValue(ctx, actingKey{}, a), w)
	})
}

// theirs rewrites a sentence about "your" record for the page being
// rendered: to a carer (actingScope) it is the person's ("Mrs Jane
// Example's HbA1c went from…", "No medicines have been recorded for Mrs
// Jane Example."). Whole words only ("for young" stays). Only for sentences
// about the record, never about the reader ("your search", "your passkey"),
// nor with words the reader typed in them.
func theirs(ctx context.Context, s string) string {
	a, _ := ctx.Value(actingKey{}).(*Acting)
	if a == nil {
		return s
	}
	return aboutYou.ReplaceAllStringFunc(s, func(m string) string {
		switch m {
		case "for you":
			return "for " + a.Name
		case "You do not have":
			return a.Name + " does not have"
		}
		return a.Name + "'s" // Your, your
	})
}

// aboutYou are the words theirs rewrites.
var aboutYou = regexp.MustCompile(`\b(Your|your|for you|You do not have)\b`)

// mayShow says whether the page being rendered may show the section (or action).
func mayShow(ctx context.Context, scope string) bool {
	a, _ := ctx.Value(actingKey{}).(*Acting)
	return a.May(scope)
}

// notShared tells a carer a part of the record is not theirs to see, as
// the part's own page does.
func notShared(ctx context.Context) string {
	if a, _ := ctx.Value(actingKey{}).(*Acting); a != nil {
		return a.Name + " has not given you access to this part of their record."
	}
	return ""
}

// notSearched is the parts of the record the carer acting now may not
// see, by title, none when acting for no one or seeing every part: a search that finds nothing says it did not look there, so a
// carer never reads "nothing" as "not in the record" (a product review: a
// carer not given allergies searched "penicillin").
func notSearched(ctx context.Context) []string {
	a, _ := ctx.Value(actingKey{}).(*Acting)
	if a == nil {
		return nil
	}
	var parts []string
	for _, s := range fhir.Sections() {
		if !a.May(s.Slug) {
			parts = append(parts, s.Title)
		}
	}
	return parts
}

// scopeTitle names a scope in plain words.
func scopeTitle(scope string) string {
	switch scope {
	case store.ScopeChoices:
		return "Manage sharing choices"
	case store.ScopeDownload:
		return "Download or print the record"
	}
	if s, ok := fhir.SectionBySlug(scope); ok {
		return s.Title
	}
	return scope
}

// ScopeTitle names a scope (a section slug or an action) in plain words.
func ScopeTitle(scope string) string { return scopeTitle(scope) }

// InviteForm is the invitation form as sent, with anything wrong with it.
type InviteForm struct {
	Name, Relationship string
	Scopes             []string
	Ends               string // "12m" (default), "date" or "never"
	Day, Month, Year   string // the end date when Ends is "date"
	Parental           bool
	Child              bool // the person is under 16: the form asks about parental responsibility
	// AtSixteen: the access ends sooner than the form's choice, on the
	// person's 16th birthday, as parental responsibility does.
	AtSixteen bool
	Once      string // the form's own random token: sent twice, it makes one invitation
	Errors    []FieldError
}

// Has says whether the form has the scope ticked.
func (f InviteForm) Has(scope string) bool { return slices.Contains(f.Scopes, scope) }

// AcceptForm is the form a carer fills in to accept an invitation.
type AcceptForm struct {
	Code, Day, Month, Year string
	Errors                 []FieldError
}

// GrantView is a grant with its history, for the pages that show one.
type GrantView struct {
	Grant  store.Grant
	Events []store.GrantEvent
}

// Invited is what the page shown once after inviting needs: the code and the link.
type Invited struct {
	Grant store.Grant
	Code  string
	Link  string
}

// grantEnds says until when a grant lasts.
func grantEnds(g store.Grant) string {
	if g.EndsAt.IsZero() {
		return "No end date"
	}
	return g.EndsAt.In(ukZone()).Format("2 January 2006")
}

// statusTag is the NHS tag colour for a grant's status.
func statusTag(status string) string {
	switch status {
	case store.GrantActive:
		return "nhsuk-tag nhsuk-tag--green"
	case store.GrantInvited:
		return "nhsuk-tag nhsuk-tag--blue"
	case store.GrantRevoked, store.GrantLocked:
		return "nhsuk-tag nhsuk-tag--red"
	}
	return "nhsuk-tag nhsuk-tag--grey"
}

// grantStatus is a grant's status in plain words.
func grantStatus(status string) string {
	switch status {
	case store.GrantInvited:
		return "Invited"
	case store.GrantExpired:
		return "Invitation ran out"
	case store.GrantLocked:
		return "Invitation stopped: too many wrong tries"
	case store.GrantActive:
		return "Active"
	case store.GrantEnded:
		return "Ended"
	case store.GrantRevoked:
		return "Stopped"
	}
	return capitalise(status)
}

// describedBy joins the ids of a field's hint ("id-hint") and error ("id-error") that exist.
func describedBy(id string, hint, err bool) string {
	out := ""
	if hint {
		out = id + "-hint"
	}
	if err {
		if out != "" {
			out += " "
		}
		out += id + "-error"
	}
	return out
}

// describedByAttrs is aria-describedby as describedBy gives it, or no
// attribute at all when the field has neither hint nor error: an empty one
// points at nothing.
func describedByAttrs(id string, hint, err bool) templ.Attributes {
	if ids := describedBy(id, hint, err); ids != "" {
		return templ.Attributes{"aria-describedby": ids}
	}
	return templ.Attributes{}
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }

// youAreTheir is "You are their son. " before a person's date of birth on
// the whose-record form: "Mrs Jane Example (son)" read as if she were.
func youAreTheir(relationship string) string {
	if strings.TrimSpace(relationship) == "" {
		return ""
	}
	return "You are their " + relationship + ". "
}

// grantWhich tells grants[i] apart from the others to one name on the page,
// as ", invitation 2 of 2", and is "" when the name is the only one: a
// second invitation to someone who lost the first read the same as it, in
// its heading and its link (WCAG 2.4.4, 2.4.6; a review).
func grantWhich(grants []store.Grant, i int) string {
	n, of := 0, 0
	for j, g := range grants {
		if g.CarerName == grants[i].CarerName {
			of++
			if j <= i {
				n++
			}
		}
	}
	if of < 2 {
		return ""
	}
	return ", invitation " + strconv.Itoa(n) + " of " + strconv.Itoa(of)
}
