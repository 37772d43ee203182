package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/views"
)

// choicesActor is the actor using the choices pages, refused unless they may manage choices.
func (s *Server) choicesActor(c echo.Context) (actor, error) {
	a, err := s.actor(c)
	if err != nil {
		return a, err
	}
	if !a.May(store.ScopeChoices) {
		return a, store.Errorf(store.EFORBIDDEN, "You cannot change the choices for %s.", a.Person.Name())
	}
	return a, nil
}

// seesDecision says whether the actor is shown a change to the person's
// choices: a carer is not shown a single entry kept out or shared again but
// by themselves, which would say such entries exist, and how many, and when
// (a product review: "One single entry is kept out of sharing").
func (a actor) seesDecision(d store.ConsentDecision) bool {
	_, item := store.ItemQuestionKey(d.Question)
	return !a.Carer() || !item || d.Performer.AccountID == a.Account.ID
}

// shownHistory is the history of the person's choices, newest first, as
// the actor is shown it. To a carer, changes they are not shown
// (seesDecision) are left out, and so is any trace of them in the
// deliveries of those they are: a delivery a later change to the same
// organisation has overtaken says so only when the carer is shown that
// change; one overtaken only by changes they are not shown is shown as the
// newest delivery there stands, which carries every choice, theirs among
// them (a review: "A later change … has been sent to them since", and "Try
// sending again" gone, told of a single entry kept out). stands maps such a
// delivery to the one it is shown as, which sending again sends.
func (s *Server) shownHistory(ctx context.Context, a actor) (hist []store.ConsentDecision, stands map[int64]int64, err error) {
	all, err := s.db.ConsentHistory(ctx, a.Person.ID)
	if err != nil || !a.Carer() {
		return all, nil, err
	}
	stands = map[int64]int64{}
	// By source: the newest delivery of any change, and the newest sent,
	// which carries every choice as far as it goes.
	newest, newestSent := map[int64]store.ConsentDelivery{}, map[int64]store.ConsentDelivery{}
	shownLater, sentLater := map[int64]bool{}, map[int64]bool{}
	for _, d := range all {
		for j := range d.Deliveries {
			if dl := &d.Deliveries[j]; dl.Refresh {
				// Sent before, and queued again as the organisation came to
				// hold an entry kept out: what it holds still carries every
				// choice, so to a carer it was sent, and stays so, the carer's
				// own or another's (fourth and fifth reviews: "Waiting to send
				// again … naming what they now hold"). Carers are told no dates
				// of sending (views deliveryWords), which a resend moves.
				dl.Status, dl.Refresh = store.DeliverySent, false
			}
		}
		if a.seesDecision(d) {
			for j := range d.Deliveries {
				dl := &d.Deliveries[j]
				dl.Overtaken, dl.Superseded = shownLater[dl.SourceID], sentLater[dl.SourceID]
				n, ok := newestSent[dl.SourceID]
				if !ok {
					n, ok = newest[dl.SourceID]
				}
				// One sent stays so: it reached them (a third review: shown
				// "Not accepted" once a later change was refused).
				if ok && !dl.Overtaken && dl.Status != store.DeliverySent {
					stands[dl.ID] = n.ID
					dl.Status, dl.SentAt, dl.Attempts, dl.LastAttemptAt, dl.NextAttemptAt, dl.LastError =
						n.Status, n.SentAt, n.Attempts, n.LastAttemptAt, n.NextAttemptAt, n.LastError
				}
			}
			for _, dl := range d.Deliveries {
				if dl.SourceID != 0 { // a source since removed: none of its deliveries overtakes another
					shownLater[dl.SourceID] = true
					sentLater[dl.SourceID] = sentLater[dl.SourceID] || dl.Status == store.DeliverySent
				}
			}
			hist = append(hist, d)
		}
		for _, dl := range d.Deliveries {
			if dl.SourceID == 0 {
				continue
			}
			if _, ok := newest[dl.SourceID]; !ok {
				newest[dl.SourceID] = dl
			}
			if _, ok := newestSent[dl.SourceID]; !ok && dl.Status == store.DeliverySent {
				newestSent[dl.SourceID] = dl
			}
		}
	}
	return hist, stands, nil
}

// choicesPage shows the person's choices and where each came from.
func (s *Server) choicesPage(c echo.Context) error {
	a, err := s.choicesActor(c)
	if err != nil {
		return err
	}
	ch, err := s.db.ConsentChoices(c.Request().Context(), a.Person.ID)
	if err != nil {
		return err
	}
	if a.Carer() && ch.Latest != nil {
		// The newest change a carer is shown stands for the latest, with its deliveries as they are shown it.
		hist, _, err := s.shownHistory(c.Request().Context(), a)
		if err != nil {
			return err
		}
		ch.Latest = nil
		if len(hist) > 0 {
			ch.Latest = &hist[0]
		}
	}
	s.logView(c, a.Person, "choices")
	p := s.page(c, "")
	p.Title = views.ChoicesTitle(p) // a carer's: "Mrs Jane Example's choices"
	return s.render(c, http.StatusOK, views.Choices(p, views.ChoicesView{Person: a.Person, Choices: ch, ViewerID: a.Account.ID, Carer: a.Carer(),
		Unchanged: doneOf(c) == "unchanged", SavedBefore: doneOf(c) == "saved-before"}))
}

// choicesHistory lists every change to the person's choices.
func (s *Server) choicesHistory(c echo.Context) error {
	a, err := s.choicesActor(c)
	if err != nil {
		return err
	}
	hist, _, err := s.shownHistory(c.Request().Context(), a)
	if err != nil {
		return err
	}
	s.logView(c, a.Person, "history of choices")
	p := s.page(c, "")
	p.Title = views.ChoicesHistoryTitle(p)
	return s.render(c, http.StatusOK, views.ChoicesHistory(p, views.ChoicesHistoryView{Person: a.Person, Decisions: hist, ViewerID: a.Account.ID, Carer: a.Carer(),
		Retried: doneOf(c) == "retried"}))
}

// choiceQuestionOf reads the question a choices address names: a slug, or
// /choices/entry with the entry's item id (from its page) or key (to share it again).
func (s *Server) choiceQuestionOf(c echo.Context, a actor, st store.ConsentState) (q, key, name string, err error) {
	if slug := c.Param("question"); slug != "" {
		q, ok := store.ConsentQuestionBySlug(slug)
		if !ok {
			return "", "", "", store.Errorf(store.ENOTFOUND, "There is no such choice.")
		}
		if a.Carer() && st.KeepsOut(q) && !(c.Request().Method == http.MethodPost && c.FormValue(views.FieldAnswer) == "yes") {
			// What the person keeps out of sharing is theirs alone to share again
			// (store.ChangeConsent); keeping it out again (a form sent twice) changes nothing.
			return "", "", "", store.Errorf(store.EFORBIDDEN, "Only %s can share that information again.", a.Person.Name())
		}
		return q, "", "", nil
	}
	if id := c.QueryParam("item"); id != "" && c.Request().Method == http.MethodGet {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n <= 0 {
			return "", "", "", store.Errorf(store.ENOTFOUND, "There is no such entry in this record.")
		}
		e, err := s.db.RecordEntry(c.Request().Context(), a.Person.ID, n)
		if err != nil {
			return "", "", "", err
		}
		if !a.May(e.Item.Section) {
			return "", "", "", store.Errorf(store.EFORBIDDEN, "You cannot see that part of %s's record.", a.Person.Name())
		}
		key = store.ItemKey(e.Item)
		if !a.Carer() { // an entry kept out under a key it has since lost is asked about by that key
			if key, err = s.db.KeptOutKeyOf(c.Request().Context(), a.Person.ID, e.Item); err != nil {
				return "", "", "", err
			}
		}
		return store.WithholdItemQuestion(key), key, views.ItemName(e.Item), nil
	}
	key = c.FormValue("key")
	if key == "" {
		key = c.QueryParam("key")
	}
	// To a carer, an entry kept out of sharing, one in a part of the record they
	// cannot see and one that does not exist are all the same: keys are made of
	// codes, so any difference would tell them what the record holds.
	notFound := store.Errorf(store.ENOTFOUND, "There is no such entry in this record.")
	for _, w := range st.WithheldItems {
		if w.Key == key {
			if a.Carer() {
				return "", "", "", notFound // the person's alone to see or share again
			}
			return store.WithholdItemQuestion(key), key, w.Label, nil
		}
	}
	if key != "" && c.Request().Method == http.MethodPost && store.ValidQuestion(store.WithholdItemQuestion(key)) {
		// Keeping an entry out: only one of the person's own entries (for a carer, one they can see).
		it, err := s.db.ItemLabelByKey(c.Request().Context(), a.Person.ID, key)
		if err != nil {
			return "", "", "", err
		}
		if !a.May(it.Section) {
			return "", "", "", notFound
		}
		return store.WithholdItemQuestion(key), key, views.ItemName(it), nil
	}
	return "", "", "", notFound
}

// logChoiceView logs a look at one of the person's choices: about the
// entry named, or, with none, their sharing choices.
//
// An entry asked about from its page (?item=, which choiceQuestionOf has
// checked) is logged by its id, which the log page names as the record
// names it then; one asked about by its key, kept out already and perhaps
// no longer in the record, by the name the person's choices keep for it.
func (s *Server) logChoiceView(c echo.Context, person store.Person, name string) {
	what := "choices"
	if id, err := strconv.ParseInt(c.QueryParam("item"), 10, 64); err == nil && c.Param("question") == "" && c.Request().Method == http.MethodGet {
		// Only /choices/entry reads ?item= (choiceQuestionOf); another
		// choice's page given one is no look at that entry (a review).
		what += " entry " + strconv.FormatInt(id, 10)
	} else if name != "" {
		what += ": " + name
	}
	s.logView(c, person, what)
}

// choiceQuestion shows one question page, with the current answer chosen.
func (s *Server) choiceQuestion(c echo.Context) error {
	a, err := s.choicesActor(c)
	if err != nil {
		return err
	}
	ch, err := s.db.ConsentChoices(c.Request().Context(), a.Person.ID)
	if err != nil {
		return err
	}
	q, key, name, err := s.choiceQuestionOf(c, a, ch.State)
	if err != nil {
		return err
	}
	answer := ch.State.Answer(q)
	if v := c.QueryParam("answer"); v == "yes" || v == "no" {
		answer = v // coming back from "Check your change"
	}
	if _, isItem := store.ItemQuestionKey(q); isItem && !ch.State.WithholdsItem(key) && c.QueryParam("answer") == "" {
		answer = "" // a new entry to keep out: nothing chosen yet
	}
	s.logChoiceView(c, a.Person, name) // the page shows the answer held now
	p := s.page(c, "")
	p.Title = views.QuestionTitle(p, q) // to a carer, what the person wants, by name
	if name != "" {
		p.Title += " – " + name // which entry: every entry's question is the same
	}
	v := views.QuestionView{Person: a.Person, Question: q, Answer: answer, ItemKey: key, ItemName: name, Receivers: ch.Receivers}
	if id, err := strconv.ParseInt(c.QueryParam("item"), 10, 64); err == nil && name != "" {
		v.ItemID = id // come from the entry's page (mayItem let it through): back goes there
	}
	return s.render(c, http.StatusOK, views.ChoiceQuestion(p, v))
}

// choiceCheck reads the answer and shows "Check your change", or the question again with an error.
func (s *Server) choiceCheck(c echo.Context) error {
	a, err := s.choicesActor(c)
	if err != nil {
		return err
	}
	ch, err := s.db.ConsentChoices(c.Request().Context(), a.Person.ID)
	if err != nil {
		return err
	}
	q, key, name, err := s.choiceQuestionOf(c, a, ch.State)
	if err != nil {
		return err
	}
	// Both pages this may show show the answer held now, and may name the
	// entry: each logs the look. The redirect for an unchanged answer shows
	// nothing, and logs nothing.
	logNamed := func() { s.logChoiceView(c, a.Person, name) }
	answer := c.FormValue(views.FieldAnswer)
	if answer != "yes" && answer != "no" {
		logNamed()
		if name == "" && key != "" {
			name = "This entry"
		}
		p := s.page(c, "")
		question := views.QuestionTitle(p, q)
		p.Title = question
		if name != "" && name != "This entry" {
			p.Title += " – " + name
		}
		v := views.QuestionView{Person: a.Person, Question: q, ItemKey: key, ItemName: name, Receivers: ch.Receivers,
			Errors: []views.FieldError{{Field: "answer", Message: "Select yes or no to answer “" + question + "”"}}}
		if id, err := strconv.ParseInt(c.FormValue("item"), 10, 64); err == nil && key != "" {
			v.ItemID = id // asked from the entry's page: back still goes there (a review)
		}
		return s.render(c, http.StatusBadRequest, views.ChoiceQuestion(p, v))
	}
	if answer == ch.State.Answer(q) {
		return c.Redirect(http.StatusSeeOther, "/choices?done=unchanged") // the same answer as now: nothing to change, and it says so
	}
	logNamed()
	if name == "" && key != "" {
		name = "This entry"
	}
	p := s.page(c, "")
	p.Title = views.CheckTitle(p, q, name)
	return s.render(c, http.StatusOK, views.ChoiceCheck(p,
		views.CheckView{Person: a.Person, Question: q, Before: ch.State.Answer(q), Answer: answer, ItemKey: key, ItemName: name, Receivers: ch.Receivers}))
}

// choiceConfirm records the change, logs it, and shows the confirmation.
func (s *Server) choiceConfirm(c echo.Context) error {
	a, err := s.choicesActor(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	ch, err := s.db.ConsentChoices(ctx, a.Person.ID)
	if err != nil {
		return err
	}
	q, _, _, err := s.choiceQuestionOf(c, a, ch.State)
	if err != nil {
		return err
	}
	answer := c.FormValue(views.FieldAnswer)
	if answer != "yes" && answer != "no" {
		return store.Errorf(store.EINVALID, "Choose yes or no.")
	}
	d, err := s.db.ChangeConsent(ctx, a.Person.ID, s.performer(c), store.ConsentChange{Question: q, Answer: answer, Name: views.ItemName},
		func(d store.ConsentDecision) store.Access {
			return s.accessEntry(c, a.Person, "choice", choiceLogWords(q, d.ItemLabel, answer))
		})
	if err != nil {
		return err
	}
	if d.ID == 0 { // the answer already (the form sent twice): nothing changed, and it says so
		return c.Redirect(http.StatusSeeOther, "/choices?done=saved-before")
	}
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/choices/done/%d", d.ID))
}

// choiceLogWords is a change as the person reads it in their access log,
// after "Changed your sharing choices:", e.g. "do not use your record for
// research" or "keep mental health out of sharing".
func choiceLogWords(q, label, answer string) string {
	yes := answer == "yes"
	pick := func(ifYes, ifNo string) string {
		if yes {
			return ifYes
		}
		return ifNo
	}
	switch q {
	case store.QuestionDirectCare:
		return pick("share your record with staff who care for you", "do not share your record with staff who care for you")
	case store.QuestionResearch:
		return pick("use your record for research", "do not use your record for research")
	case store.QuestionPlanning:
		return pick("use your record to plan and improve services", "do not use your record to plan and improve services")
	}
	what := label
	if _, ok := store.ItemQuestionKey(q); !ok {
		what = strings.ReplaceAll(store.ConsentQuestionSlug(q), "-", " ")
	}
	return pick("keep "+what+" out of sharing", "share "+what+" again")
}

// choiceDone shows the confirmation panel for a saved change.
func (s *Server) choiceDone(c echo.Context) error {
	a, err := s.choicesActor(c)
	if err != nil {
		return err
	}
	id, err := idParam(c, "id", "There is no such change to your choices.")
	if err != nil {
		return err
	}
	d, err := s.db.ConsentDecision(c.Request().Context(), a.Person.ID, id)
	if err != nil {
		return err
	}
	if d.Performer.AccountID != a.Account.ID {
		// The confirmation of the viewer's own change: anyone else's is in
		// the history, in words that say whose (a product review: a carer
		// read the person's change as "What you changed").
		return store.Errorf(store.ENOTFOUND, "There is no such change to your choices.")
	}
	if a.Carer() {
		// Its deliveries as the carer's history shows them (a review).
		hist, _, err := s.shownHistory(c.Request().Context(), a)
		if err != nil {
			return err
		}
		if i := slices.IndexFunc(hist, func(h store.ConsentDecision) bool { return h.ID == d.ID }); i >= 0 {
			d.Deliveries = hist[i].Deliveries
		}
	}
	s.logView(c, a.Person, "choices")
	p := s.page(c, "")
	p.Title = views.ChoiceSavedTitle(p)
	return s.render(c, http.StatusOK, views.ChoiceDone(p, views.ChoiceDoneView{Person: a.Person, Decision: d, ViewerID: a.Account.ID, Carer: a.Carer()}))
}

// choiceRetry sends a change an organisation did not accept once more.
func (s *Server) choiceRetry(c echo.Context) error {
	a, err := s.choicesActor(c)
	if err != nil {
		return err
	}
	id, err := idParam(c, "id", "There is no change waiting to be sent again.")
	if err != nil {
		return err
	}
	if a.Carer() {
		// Only a delivery the carer is shown; one shown as a later one
		// stands sends that one (shownHistory).
		hist, stands, err := s.shownHistory(c.Request().Context(), a)
		if err != nil {
			return err
		}
		shown := slices.ContainsFunc(hist, func(d store.ConsentDecision) bool {
			return slices.ContainsFunc(d.Deliveries, func(dl store.ConsentDelivery) bool { return dl.ID == id })
		})
		if !shown {
			return store.Errorf(store.ENOTFOUND, "There is no change waiting to be sent again.")
		}
		if later, ok := stands[id]; ok {
			id = later
		}
	}
	entry := s.accessEntry(c, a.Person, "choice", "send a change again to an organisation that did not accept it")
	if err := s.db.RetryConsentDelivery(c.Request().Context(), a.Person.ID, id, entry); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/choices/history?done=retried")
}
