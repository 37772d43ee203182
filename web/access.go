package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/views"
)

// logRecordUse appends a use of the person's record (a download, a printout)
// to the access log, saying who did it: the person themselves, or a carer
// acting for them. A change to the record's choices or carers is logged by
// the store with the change itself (store.Logged).
func (s *Server) logRecordUse(c echo.Context, person store.Person, action, what string) error {
	return s.db.LogAccess(c.Request().Context(), s.accessEntry(c, person, action, what))
}

// grantLog makes the access log entry of a change to who may act for a
// person, on that person's record, with words saying what changed.
func (s *Server) grantLog(c echo.Context, words func(store.Grant) string) store.Logged[store.Grant] {
	return func(g store.Grant) store.Access {
		a := s.accessEntry(c, g.Person, "grant", words(g))
		if g.GranteeAccountID != 0 && g.GranteeAccountID == signedInAccount(c).ID {
			// The carer, accepting or giving up their own access: this grant says who they
			// are to the person, whoever they act for in this session.
			a.ActorKind, a.Relationship = store.ActorCarer, g.Relationship
		}
		return a
	}
}

// accessEntry is the access log entry for a use of the person's record by whoever asks.
func (s *Server) accessEntry(c echo.Context, person store.Person, action, what string) store.Access {
	acct := c.Get(ctxAccount).(store.Account)
	p := s.performer(c)
	a := store.Access{
		AccountID: acct.ID, PersonID: person.ID, Action: action, What: what, Device: deviceOf(c.Request().UserAgent()),
		ActorKind: store.ActorSelf, ActorName: p.Name,
	}
	// Anyone else's account is a carer's, acting or (giving up their access) not.
	if p.Carer || acct.PersonID != person.ID {
		a.ActorKind, a.Relationship = store.ActorCarer, p.Relationship
	}
	if a.ActorName == "" {
		a.ActorName = acct.DisplayName
	}
	return a
}

// deviceOf describes a browser coarsely, e.g. "Chrome on Android": enough for a person to
// recognise their own device, without keeping a fingerprint. Only these fixed words are
// stored, never the user agent itself or an IP address.
func deviceOf(ua string) string {
	browser, system := "A web browser", "an unknown device"
	// Order matters: most browsers also claim to be Chrome or Safari, and iPhones claim to be Macs.
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"EdgA/", "Edge"}, {"EdgiOS/", "Edge"}, {"OPR/", "Opera"}, {"SamsungBrowser/", "Samsung Internet"},
		{"Firefox/", "Firefox"}, {"FxiOS/", "Firefox"}, {"CriOS/", "Chrome"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	for _, o := range []struct{ token, name string }{
		{"Android", "Android"}, {"iPhone", "iPhone"}, {"iPad", "iPad"}, {"CrOS", "a Chromebook"}, {"Windows", "Windows"},
		{"Mac OS X", "Mac"}, {"Macintosh", "Mac"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			system = o.name
			break
		}
	}
	return browser + " on " + system
}

// accessLog is "Who has looked at my record": the person's own access log with what
// their sources reported. Looking at it is not itself logged: it shows of the record
// only the names of what was looked at, only the person sees it, and an entry for every
// look would bury the entries they came to read.
func (s *Server) accessLog(c echo.Context) error {
	a, err := s.actor(c)
	if err != nil {
		return err
	}
	if a.Carer() {
		// Who looked at a record, and from where, is the person's own business, whatever else they share.
		return store.Errorf(store.EFORBIDDEN, "Only %s can see who has looked at their record.", a.Person.Name())
	}
	page, err := pageParam(c, "the list of who has looked at your record")
	if err != nil {
		return err
	}
	form := views.AccessLogForm{
		Who:     c.QueryParam(views.FieldAccessWho),
		FromDay: c.QueryParam("from-day"), FromMonth: c.QueryParam("from-month"), FromYear: c.QueryParam("from-year"),
		ToDay: c.QueryParam("to-day"), ToMonth: c.QueryParam("to-month"), ToYear: c.QueryParam("to-year"),
	}
	filter := store.AccessFilter{Who: form.Who}
	from, fromErr := parseFilterDate("from", "Date from", form.FromDay, form.FromMonth, form.FromYear)
	to, toErr := parseFilterDate("to", "Date to", form.ToDay, form.ToMonth, form.ToYear)
	for _, e := range []*views.FieldError{fromErr, toErr} {
		if e != nil {
			form.Errors = append(form.Errors, *e)
		}
	}
	if fromErr == nil && toErr == nil && !from.IsZero() && !to.IsZero() && to.Before(from) {
		form.Errors = append(form.Errors, views.FieldError{Field: "to-day", Message: "Date to must be the same as or after date from"})
	}
	if len(form.Errors) == 0 {
		filter.From = from
		if !to.IsZero() {
			filter.To = to.AddDate(0, 0, 1) // the whole of the last day
		}
	}
	lp, err := s.db.PersonAccessLog(c.Request().Context(), a.Person.ID, filter, page, s.cfg.PerPage)
	if err != nil && store.ErrorCode(err) != store.EINVALID {
		return err
	}
	known := form.Who == store.AccessByAnyone
	for _, w := range lp.Who {
		known = known || w.Key == form.Who
	}
	if err != nil || !known {
		form.Errors = append([]views.FieldError{{Field: views.FieldAccessWho, Message: "Select who from the list"}}, form.Errors...)
		if lp, err = s.db.PersonAccessLog(c.Request().Context(), a.Person.ID, store.AccessFilter{}, 1, s.cfg.PerPage); err != nil {
			return err
		}
	}
	if page > lp.Pages() {
		return store.Errorf(store.ENOTFOUND, "There is no such page of the list of who has looked at your record.")
	}
	status := http.StatusOK
	if len(form.Errors) > 0 {
		status = http.StatusBadRequest
	}
	var names views.LogNames
	if names.Entries, err = s.db.ItemsByID(c.Request().Context(), a.Person.ID, views.LoggedEntries(lp.Entries)); err != nil {
		return err
	}
	if names.Tests, err = s.db.TestNames(c.Request().Context(), a.Person.ID, views.LoggedTests(lp.Entries)); err != nil {
		return err
	}
	title := "Who has looked at your record"
	if len(form.Errors) == 0 {
		title = pagedTitle(title, page, lp.Pages()) // with errors the list is not shown, nor any page of it
	}
	return s.render(c, status, views.AccessLog(s.page(c, title), a.Person, form, lp, names))
}

// parseFilterDate reads one of the filter's dates (day, month, year boxes), in
// the portal's time zone; all three empty means no date.
func parseFilterDate(id, label, day, month, year string) (time.Time, *views.FieldError) {
	day, month, year = strings.TrimSpace(day), strings.TrimSpace(month), strings.TrimSpace(year)
	if day == "" && month == "" && year == "" {
		return time.Time{}, nil
	}
	var missing []string
	for _, p := range []struct{ v, name string }{{day, "day"}, {month, "month"}, {year, "year"}} {
		if p.v == "" {
			missing = append(missing, p.name)
		}
	}
	if len(missing) > 0 {
		field := id + "-" + missing[0]
		return time.Time{}, &views.FieldError{Field: field, Message: label + " must include a " + strings.Join(missing, " and a ")}
	}
	if len(year) != 4 {
		return time.Time{}, &views.FieldError{Field: id + "-year", Message: label + " must include a year with 4 numbers"}
	}
	d, derr := strconv.Atoi(day)
	m, merr := strconv.Atoi(month)
	y, yerr := strconv.Atoi(year)
	if derr != nil || merr != nil || yerr != nil || m < 1 || m > 12 || d < 1 || d > 31 {
		return time.Time{}, &views.FieldError{Field: id + "-day", Message: label + " must be a real date"}
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, store.UKZone()) // the day as the page shows it, whatever the server's zone
	if t.Day() != d || int(t.Month()) != m {
		return time.Time{}, &views.FieldError{Field: id + "-day", Message: label + " must be a real date"}
	}
	return t, nil
}
