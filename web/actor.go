package web

import (
	"github.com/labstack/echo/v4"

	"github.com/mycarerecord/portal/store"
)

// actor is who is asking and for whom: the signed-in account and the person
// whose record they are using. Carers acting for someone come with the carers work.
type actor struct {
	Account store.Account
	Person  store.Person
}

// Carer says whether the account is using someone else's record.
func (a actor) Carer() bool { return a.Account.PersonID != a.Person.ID }

// May says whether the actor may use a part of the record ("medicines") or do
// something with it ("choices", "download"). People may do everything with their own record.
func (a actor) May(scope string) bool { return !a.Carer() }

// actor gives the signed-in account and the person whose record it is using.
func (s *Server) actor(c echo.Context) (actor, error) {
	person, err := s.recordPerson(c)
	if err != nil {
		return actor{}, err
	}
	return actor{Account: c.Get(ctxAccount).(store.Account), Person: person}, nil
}

// performer names who is making a change, for the record of decisions.
func (s *Server) performer(c echo.Context) store.Performer {
	acct := c.Get(ctxAccount).(store.Account)
	return store.Performer{AccountID: acct.ID, Name: acct.DisplayName}
}
