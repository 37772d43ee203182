package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
	"github.com/mycarerecord/portal/views"
)

// Keys for what the acting-for middleware leaves on the request.
const (
	ctxGrant   = "grant"   // store.Grant: the session acts for someone under it (active or not)
	ctxGuarded = "guarded" // bool: a route guard has checked the grant's scope for this request
)

// actor is who is asking and for whom: the signed-in account, the person
// whose record they are using, and, when that is someone else's, the grant
// that lets them.
type actor struct {
	Account store.Account
	Person  store.Person
	Grant   *store.Grant // nil for the account's own record
}

// Carer says whether the account is using someone else's record.
func (a actor) Carer() bool { return a.Grant != nil }

// May says whether the actor may use a part of the record ("medicines") or do
// something with it ("choices", "download"). People may do everything with
// their own record; a carer only what the grant allows, while it is active.
func (a actor) May(scope string) bool {
	return a.Grant == nil || (a.Grant.Active() && a.Grant.Has(scope))
}

// actor gives the signed-in account and the person whose record it is using.
func (s *Server) actor(c echo.Context) (actor, error) {
	person, err := s.recordPerson(c)
	if err != nil {
		return actor{}, err
	}
	a := actor{Account: signedInAccount(c), Person: person}
	if g, ok := actingGrant(c); ok {
		a.Grant = &g
	}
	return a, nil
}

// performer names who is making a change, for the record of decisions.
func (s *Server) performer(c echo.Context) store.Performer {
	acct := signedInAccount(c)
	p := store.Performer{AccountID: acct.ID, Name: acct.DisplayName}
	if g, ok := actingGrant(c); ok {
		p.Carer, p.Relationship = true, g.Relationship
	}
	return p
}

// actingGrant is the grant the session acts under, as read on this request.
func actingGrant(c echo.Context) (store.Grant, bool) {
	g, ok := c.Get(ctxGrant).(store.Grant)
	return g, ok
}

// recordPerson is the person whose record the signed-in account is using:
// their own, or, while acting for someone, that person, and only when the
// grant is active and a route guard has checked its scope for this request.
// The person is never taken from the request.
func (s *Server) recordPerson(c echo.Context) (store.Person, error) {
	if g, ok := actingGrant(c); ok {
		if !g.Active() {
			return store.Person{}, store.Errorf(store.EFORBIDDEN, "%s", g.EndedSentence())
		}
		if guarded, _ := c.Get(ctxGuarded).(bool); !guarded {
			// A route with no guard is not for carers: refuse rather than show everything.
			return store.Person{}, store.Errorf(store.EFORBIDDEN, "You cannot use this page for %s.", g.Person.Name())
		}
		return g.Person, nil
	}
	acct := signedInAccount(c)
	if acct.PersonID == 0 {
		return store.Person{}, store.Errorf(store.ENOTFOUND, "There is no health record linked to your account.")
	}
	return s.db.Person(c.Request().Context(), acct.PersonID)
}

// loadActing reads, on every request, whom the session acts for and the grant
// as it stands now: a revocation or an end date that has passed applies at the
// next click, whatever the session remembers. Reads made for a carer leave out
// what the person has withheld.
func (s *Server) loadActing(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		// The session row was read for this request already; only the grant is read here.
		g, ok, err := s.db.ActingGrantFor(c.Request().Context(), sessionOf(c).ActingGrantID, signedInAccount(c).ID)
		if err != nil {
			return err
		}
		if ok {
			c.Set(ctxGrant, g)
			c.SetRequest(c.Request().WithContext(store.ForCarer(c.Request().Context(), g.Scopes...)))
		}
		return next(c)
	}
}

// subject says whose record the session is using now: "self", or the id of
// the grant it acts under. Pages put it in their forms (views.Page.For), and
// a change is made only for the record its form was made for (sameSubject).
func subject(c echo.Context) string {
	if g, ok := actingGrant(c); ok {
		return strconv.FormatInt(g.ID, 10)
	}
	return "self"
}

// sameSubject refuses a change sent from a form made for another record than
// the one the session uses now: a carer who switched whom they act for in
// another window would otherwise change the wrong person's record.
func sameSubject(c echo.Context) error {
	switch c.Request().Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if c.FormValue("for") == subject(c) {
		return nil
	}
	now := "your own record"
	if g, ok := actingGrant(c); ok {
		now = g.Person.Name() + "'s record"
	}
	return store.Errorf(store.ECONFLICT, "You have switched to %s since this page was opened, perhaps in another window, so we did not make this change. Check the page and try again.", now)
}

// actingView is whom the page is acting for, for the banner and navigation.
func actingView(c echo.Context) *views.Acting {
	g, ok := actingGrant(c)
	if !ok {
		return nil
	}
	return &views.Acting{Name: g.Person.Name(), Relationship: g.Relationship, Scopes: g.Scopes, Active: g.Active()}
}

// Route guards. Each one lets the account's own record through, and lets a
// carer through only with an active grant that covers what the route shows.

// may guards a route showing one part of the record, or doing one thing with it.
func (s *Server) may(scope string) echo.MiddlewareFunc {
	return s.guard(func(echo.Context, store.Grant) (string, error) { return scope, nil })
}

// mayAny guards a route every carer may use (the summary, search): the handler
// shows only the sections the grant covers.
func (s *Server) mayAny() echo.MiddlewareFunc {
	return s.guard(func(echo.Context, store.Grant) (string, error) { return "", nil })
}

// maySection guards /record/:section: the section in the address is the scope.
// An unknown section passes on, to be "not found".
func (s *Server) maySection() echo.MiddlewareFunc {
	return s.guard(func(c echo.Context, _ store.Grant) (string, error) {
		if _, ok := fhir.SectionBySlug(c.Param("section")); !ok {
			return "", nil
		}
		return c.Param("section"), nil
	})
}

// maySearch guards /record/search: a search of one section (?section=) needs
// that section; a search of them all shows only granted sections (grantedResults).
func (s *Server) maySearch() echo.MiddlewareFunc {
	return s.guard(func(c echo.Context, _ store.Grant) (string, error) {
		if _, ok := fhir.SectionBySlug(c.QueryParam("section")); ok {
			return c.QueryParam("section"), nil
		}
		return "", nil
	})
}

// grantedResults leaves out of search results the sections a carer may not see.
func grantedResults(c echo.Context, res store.SearchResults) store.SearchResults {
	g, ok := actingGrant(c)
	if !ok {
		return res
	}
	kept := res.Sections[:0:0]
	for _, sec := range res.Sections {
		if g.Has(sec.Section.Slug) {
			kept = append(kept, sec)
		} else {
			res.Total -= sec.Total
		}
	}
	res.Sections = kept
	return res
}

// grantedItems leaves out items of sections a carer may not see (an entry's related items).
func grantedItems(c echo.Context, items []store.RecordItem) []store.RecordItem {
	g, ok := actingGrant(c)
	if !ok {
		return items
	}
	var kept []store.RecordItem
	for _, it := range items {
		if g.Has(it.Section) {
			kept = append(kept, it)
		}
	}
	return kept
}

// mayItem guards /record/item/:id and its attachments, and any route naming an
// item as ?item= (the choices page keeping one entry out): the item's section is
// the scope. An item that is not the person's passes on, to be "not found"; to
// a carer, so does one kept out of sharing (ItemSection) or in a section the
// grant leaves out, as a refusal naming the section would say that it exists.
func (s *Server) mayItem() echo.MiddlewareFunc {
	return s.guard(func(c echo.Context, g store.Grant) (string, error) {
		raw := c.Param("id")
		if raw == "" {
			raw = c.QueryParam("item")
		}
		if raw == "" {
			return "", nil
		}
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return "", nil
		}
		section, err := s.db.ItemSection(c.Request().Context(), g.PersonID, id)
		if store.ErrorCode(err) == store.ENOTFOUND || (err == nil && !g.Has(section)) {
			return "", nil
		}
		return section, err
	})
}

// ownOnly guards a route about the account's own record that a carer never
// uses for someone else (their access log, their carers).
func (s *Server) ownOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if g, ok := actingGrant(c); ok {
			why := "This page is only for the person whose record it is, so it cannot be used for " + g.Person.Name() + "."
			if signedInAccount(c).PersonID != 0 {
				why += " To use it for your own record, switch to yourself."
			}
			return s.ownRefuse(c, g, why)
		}
		return next(c)
	}
}

// guard builds a route guard: scopeOf names the scope the request needs
// ("" for none beyond an active grant).
func (s *Server) guard(scopeOf func(echo.Context, store.Grant) (string, error)) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			g, ok := actingGrant(c)
			if !ok {
				if signedInAccount(c).PersonID == 0 && c.Request().Method == http.MethodGet {
					// A carer with no record of their own: choose whom to act for.
					return c.Redirect(http.StatusSeeOther, "/acting-for")
				}
				if err := sameSubject(c); err != nil {
					return err
				}
				return next(c)
			}
			if !g.Active() {
				return s.ended(c, g)
			}
			scope, err := scopeOf(c, g)
			if err != nil {
				return err
			}
			if scope != "" && !g.Has(scope) {
				return s.refuse(c, g, g.Person.Name()+" has not given you access to "+strings.ToLower(views.ScopeTitle(scope))+".")
			}
			if err := sameSubject(c); err != nil {
				return err
			}
			c.Set(ctxGuarded, true)
			return next(c)
		}
	}
}

// ended answers a request made under a grant that has ended, saying so
// plainly, never that the person might be asked to give it back (a carer
// they stopped, or a parent whose child turned 16, found by a review). The
// page leads to the choice of whose record to use, which stops the session
// acting under it.
func (s *Server) ended(c echo.Context, g store.Grant) error {
	if wantsJSON(c) {
		return c.JSON(http.StatusForbidden, map[string]string{"error": g.EndedSentence()})
	}
	const heading = "Your access has ended"
	return s.render(c, http.StatusForbidden, views.CarerRefused(s.page(c, heading), g, heading, g.EndedSentence(), false))
}

// refuse answers 403 with a page saying why, that the person could grant
// more, and how to switch.
func (s *Server) refuse(c echo.Context, g store.Grant, why string) error {
	return s.refused(c, g, why, true)
}

// ownRefuse is refuse for a page no grant can open (a person's own carers
// and access log): asking the person for more would not help.
func (s *Server) ownRefuse(c echo.Context, g store.Grant, why string) error {
	return s.refused(c, g, why, false)
}

func (s *Server) refused(c echo.Context, g store.Grant, why string, grantable bool) error {
	if wantsJSON(c) {
		return c.JSON(http.StatusForbidden, map[string]string{"error": why})
	}
	const heading = "You cannot see this page"
	return s.render(c, http.StatusForbidden, views.CarerRefused(s.page(c, heading), g, heading, why, grantable))
}
