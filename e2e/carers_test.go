package e2e

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// tick focuses a checkbox or radio and presses Space on it, as a keyboard user would.
func (tb *tab) tick(what, selector string) {
	tb.t.Helper()
	tb.focus(what, selector)
	tb.do(what, chromedp.KeyEvent(" "))
	if !eval[bool](tb, `document.querySelector(`+jsString(selector)+`).checked`) {
		tb.t.Fatalf("%s: %s is not ticked", what, selector)
	}
}

// untick focuses a ticked checkbox and unticks it with the space bar.
func (tb *tab) untick(what, selector string) {
	tb.t.Helper()
	tb.focus(what, selector)
	tb.do(what, chromedp.KeyEvent(" "))
	if eval[bool](tb, `document.querySelector(`+jsString(selector)+`).checked`) {
		tb.t.Fatalf("%s: %s is still ticked", what, selector)
	}
}

// typeInto focuses a text box and types into it.
func (tb *tab) typeInto(what, selector, text string) {
	tb.t.Helper()
	tb.focus(what, selector)
	tb.do(what, chromedp.KeyEvent(text))
}

// navTexts are the links of the record's section navigation.
func navTexts(tb *tab) []string {
	tb.t.Helper()
	return eval[[]string](tb, `[...document.querySelectorAll('.mcr-section-nav a')].map(a => a.innerText.trim().split('\n')[0].replace(/\s*\(.*$/, ''))`)
}

// TestCarerJourney: Jane invites Amir to see her medicines and conditions
// and to answer her sharing choices; Amir, in a browser of his own, accepts
// with a passkey of his own (he has no record), chooses to act for Jane, sees
// the banner and only what he was given, and is refused anything else. He
// changes one of her choices on pages that name her, not him. Jane stops his
// access; Amir's next click is refused. Keyboard only where a form allows
// it; axe on every page.
// carerRelationship is what Jane says Amir is to her: long, as people write
// them, for the banner that says it on every page.
const carerRelationship = "son, and my main carer at weekends"

func TestCarerJourney(t *testing.T) {
	p, jane, _ := signedIn(t)
	who := p.Invites[0]

	// 1. Jane: "People who can act for you" in the header, then "Invite someone".
	status := jane.press("open People who can act for you", `.nhsuk-header__navigation a[href="/carers"]`)
	wantOn(jane, "/carers", status)
	jane.checkPage()
	status = jane.press("invite someone", `a[href="/carers/invite"]`)
	wantOn(jane, "/carers/invite", status)
	jane.checkPage()
	// The end date is asked only once "On a date I choose" is chosen: with "In
	// 12 months", the default, its boxes were in the way and in the Tab order,
	// and a date typed there was an error (found by an accessibility review).
	const dateShown = `document.getElementById('ends-day').checkVisibility()`
	if eval[bool](jane, dateShown) {
		t.Error("the end date's boxes show while \"In 12 months\" is chosen")
	}
	jane.tick("choose an end date", "#ends-date")
	if !eval[bool](jane, dateShown) {
		t.Error("the end date's boxes do not show once \"On a date I choose\" is chosen")
	}
	jane.checkPage()
	// A date typed, then another choice made: the hidden date is not sent,
	// which would be refused as two answers (the invitation below goes on
	// with "In 12 months").
	jane.typeInto("type an end day", "#ends-day", "1")
	jane.tick("choose 12 months again", "#ends")
	if eval[bool](jane, dateShown) {
		t.Error("the end date's boxes still show once \"In 12 months\" is chosen again")
	}

	// An empty form says what is missing, in an NHS error summary.
	jane.allow("400")
	resp := jane.follow("send an empty invitation", chromedp.Click(chromedp.CSS(`form[action="/carers/invite"] button[type=submit]`)))
	if resp.Status != 400 || jane.nodeCount(".nhsuk-error-summary a[href='#carer-name']") != 1 {
		t.Fatalf("empty invitation: status %d, errors %q", resp.Status, jane.shownErrors())
	}
	jane.checkPage()

	jane.typeInto("type the carer's name", "#carer-name", "Amir Khan")
	jane.typeInto("type the relationship", "#relationship", carerRelationship)
	jane.tick("tick medicines", "#scope-medicines")
	jane.tick("tick conditions", "#scope-conditions")
	jane.tick("tick choices", "#scope-choices")
	status = jane.press("continue to check the answers", `form[action="/carers/invite"] button[type=submit]`)
	wantOn(jane, "/carers/invite", status)
	if h1 := eval[string](jane, `document.querySelector('h1').innerText`); h1 != "Check your answers before sending the invitation" {
		t.Fatalf("after the form: %q, want the check page", h1)
	}
	jane.checkPage()
	// Change: the form again, filled in as it was sent.
	status = jane.press("change the relationship", `.nhsuk-summary-list__actions a[href$="#relationship"]`)
	wantOn(jane, "/carers/invite", status)
	if got, ticked := value(jane, "#relationship"), eval[bool](jane, `document.getElementById('scope-choices').checked`); got != carerRelationship || !ticked || value(jane, "#carer-name") != "Amir Khan" {
		t.Errorf("after Change: relationship %q, choices ticked %v; want the answers kept", got, ticked)
	}
	jane.checkPage()
	status = jane.press("continue to check the answers again", `form[action="/carers/invite"] button[type=submit]`)
	wantOn(jane, "/carers/invite", status)
	status = jane.press("send the invitation", `form[action="/carers/invite/confirm"] button[type=submit]`)
	wantOn(jane, "/carers/invite/confirm", status)
	code := strings.TrimSpace(eval[string](jane, `document.getElementById('invite-code').innerText`))
	link := strings.TrimSpace(eval[string](jane, `document.getElementById('invite-link').innerText`))
	if len(code) != 14 || !strings.HasPrefix(link, p.BaseURL+"/carers/accept?code=") {
		t.Fatalf("invitation code %q, link %q", code, link)
	}
	jane.checkPage()

	// 2. Amir opens the link in his own browser and proves he knows Jane's date of birth.
	amir := newTab(t)
	amir.navigate(p.BaseURL + "/")
	amir.addPasskeyAuthenticator()
	status = amir.navigate(link).Status
	wantOn(amir, "/carers/accept", int64(status))
	if got := value(amir, "#code"); got != code {
		t.Errorf("the link filled in code %q, want %q", got, code)
	}
	amir.checkPage()
	// Continuing without the date of birth says what is missing; the code is kept.
	amir.allow("400")
	resp = amir.follow("continue with no date of birth", chromedp.Click(chromedp.CSS(`form[action="/carers/accept"] button[type=submit]`)))
	if resp.Status != 400 || amir.nodeCount(".nhsuk-error-summary a[href='#dob-day']") != 1 || value(amir, "#code") != code {
		t.Fatalf("no date of birth: status %d, errors %q", resp.Status, amir.shownErrors())
	}
	checkErrorSummary(amir)
	amir.checkPage()
	amir.typeInto("day", "#dob-day", strconv.Itoa(who.BirthDate.Day()))
	amir.typeInto("month", "#dob-month", strconv.Itoa(int(who.BirthDate.Month())))
	amir.typeInto("year", "#dob-year", strconv.Itoa(who.BirthDate.Year()))
	status = amir.press("continue", `form[action="/carers/accept"] button[type=submit]`)
	wantOn(amir, "/carers/accept/confirm", status)
	if got := eval[string](amir, `document.getElementById('inviter-name').innerText`); got != who.Name {
		t.Errorf("confirm page names %q, want %q", got, who.Name)
	}
	amir.waitVisible("#passkey-create")
	amir.checkPage()

	// He is new: he creates a passkey, comes back signed in, and accepts.
	status = amir.pressThenLoad("create a passkey", "#passkey-create")
	wantOn(amir, "/carers/accept/confirm", int64(status))
	amir.checkPage()
	status = amir.press("accept", "#accept-invitation")
	wantOn(amir, "/acting-for", status)
	amir.checkPage()

	// 3. Jane, the one person he may act for, is chosen already: he continues.
	if !eval[bool](amir, `document.querySelector('input[name=who]').checked`) {
		t.Fatal("whose record: the one choice there is is not chosen already")
	}
	status = amir.press("continue", `form[action="/acting-for"] button[type=submit]`)
	wantOn(amir, "/record", status)
	banner := eval[string](amir, `document.querySelector('.mcr-acting-banner')?.innerText ?? ''`)
	if !strings.Contains(banner, "You are acting for") || !strings.Contains(banner, who.Name) {
		t.Errorf("banner says %q", banner)
	}
	nav := navTexts(amir)
	for _, want := range []string{"Medicines", "Health conditions"} {
		if !strings.Contains(strings.Join(nav, "|"), want) {
			t.Errorf("navigation %q lacks %s", nav, want)
		}
	}
	for _, not := range []string{"Allergies", "Test results", "Documents"} {
		if strings.Contains(strings.Join(nav, "|"), not) {
			t.Errorf("navigation %q offers %s, which Jane did not give", nav, not)
		}
	}
	if strings.Contains(amir.text(), "Download your record") {
		t.Error("the summary offers a download Amir was not given")
	}
	amir.checkPage()
	// On a 320 pixel wide screen the banner's long relationship wraps: kept on
	// one line, it scrolled every page sideways (WCAG 1.4.10, a keyboard review).
	amir.do("set a 320 pixel wide screen", chromedp.EmulateViewport(320, 640))
	if wide := eval[int](amir, `document.documentElement.scrollWidth`); wide > 320 {
		t.Errorf("acting for Jane at 320 pixels, the page is %dpx wide: it scrolls sideways", wide)
	}
	amir.do("set the wide screen again", chromedp.EmulateViewport(1280, 1024))
	status = amir.press("open medicines", `.mcr-section-nav a[href="/record/medicines"]`)
	wantOn(amir, "/record/medicines", status)
	if !strings.Contains(amir.text(), "Metformin") {
		t.Error("Amir cannot see Jane's medicines")
	}
	amir.checkPage()
	carerChoices(amir, who.Name)

	// A section he was not given, typed in: a clear 403 page.
	amir.allow("403")
	resp = amir.navigate(p.BaseURL + "/record/allergies")
	if resp.Status != 403 || !strings.Contains(amir.text(), "has not given you access to allergies") {
		t.Errorf("ungranted section: status %d, says %.300s", resp.Status, amir.text())
	}
	amir.checkPage()
	// The people he helps, and the page that would give up his access (he does not, yet).
	amir.navigate(p.BaseURL + "/caring")
	amir.checkPage()
	status = amir.press("give up access", `a[href$="/give-up"]`)
	if !strings.HasSuffix(amir.path(), "/give-up") || status != 200 {
		t.Fatalf("give-up page: %s %d", amir.path(), status)
	}
	amir.checkPage()
	amir.navigate(p.BaseURL + "/record/medicines")
	amir.checkPage()

	// 4. Jane sees Amir as active, and stops his access.
	jane.navigate(p.BaseURL + "/carers")
	if !strings.Contains(jane.text(), "Active") {
		t.Errorf("Jane's list does not show Amir as active: %.400s", jane.text())
	}
	jane.checkPage()
	status = jane.press("change or stop", `.nhsuk-card a[href^="/carers/"]`)
	if !strings.HasPrefix(jane.path(), "/carers/") || status != 200 {
		t.Fatalf("grant page: %s %d", jane.path(), status)
	}
	grantPath := jane.path()
	jane.checkPage()
	// A change that leaves nothing ticked says what is missing.
	jane.untick("untick medicines", "#scope-medicines")
	jane.untick("untick conditions", "#scope-conditions")
	jane.allow("400")
	resp = jane.follow("save with nothing ticked", chromedp.Click(chromedp.CSS(`form[action="`+grantPath+`"] button[type=submit]`)))
	if resp.Status != 400 || jane.nodeCount(".nhsuk-error-summary") != 1 {
		t.Fatalf("nothing ticked: status %d, errors %q", resp.Status, jane.shownErrors())
	}
	checkErrorSummary(jane)
	jane.checkPage()
	jane.navigate(p.BaseURL + grantPath)
	status = jane.press("stop access", `a[href="`+grantPath+`/revoke"]`)
	wantOn(jane, grantPath+"/revoke", status)
	jane.checkPage()
	status = jane.press("confirm", `form[action="`+grantPath+`/revoke"] button[type=submit]`)
	wantOn(jane, "/carers", status)
	if !strings.Contains(jane.text(), "Stopped") {
		t.Errorf("after stopping, Jane's list says %.400s", jane.text())
	}
	jane.checkPage()

	// 5. Amir's very next click, in the session he already had open, is refused.
	amir.allow("403")
	resp = amir.follow("click Conditions", chromedp.Click(chromedp.CSS(`.mcr-section-nav a[href="/record/conditions"]`)))
	if resp.Status != 403 || !strings.Contains(amir.text(), "has been stopped") || strings.Contains(amir.text(), "ask ") || strings.Contains(amir.text(), "Metformin") {
		t.Errorf("after revocation: status %d, page says %.300s", resp.Status, amir.text())
	}
	amir.checkPage()
	// He can still see what happened, from his side.
	status = amir.press("whose record", `a[href="/acting-for"]`)
	wantOn(amir, "/acting-for", status)
	amir.checkPage()
	amir.navigate(p.BaseURL + "/caring")
	if !strings.Contains(amir.text(), "Stopped") || !strings.Contains(amir.text(), "stopped your access") {
		t.Errorf("Amir's side does not show the revocation: %.500s", amir.text())
	}
	amir.checkPage()

	// 6. His GP gives Amir (the demo's second person) an enrolment code for
	// his own record. Typing it signs him out; on the enrolment page he uses
	// the passkey he made as a carer, and his record is added to that
	// account rather than a second one being made.
	own := p.Invites[1]
	if !strings.Contains(own.Name, "Amir Khan") {
		t.Fatalf("the demo's second person is %s, not Amir Khan", own.Name)
	}
	wantOn(amir, "/enrol", int64(amir.navigate(own.URL).Status))
	if got := value(amir, "#code"); got != own.Code {
		t.Errorf("the enrolment link filled in code %q, want %q", got, own.Code)
	}
	amir.typeInto("type the day of birth", "#dob-day", strconv.Itoa(own.BirthDate.Day()))
	amir.typeInto("type the month of birth", "#dob-month", strconv.Itoa(int(own.BirthDate.Month())))
	amir.typeInto("type the year of birth", "#dob-year", strconv.Itoa(own.BirthDate.Year()))
	wantOn(amir, "/enrol/passkey", amir.press("continue", enrolSubmit))
	if !strings.Contains(amir.text(), "Already helping someone with My Care Record?") {
		t.Errorf("the enrolment page offers no sign-in to someone who helps others: %.500s", amir.text())
	}
	amir.checkPage()
	amir.waitVisible("#passkey-signin")
	wantOn(amir, "/enrol/link", amir.clickThenLoad("use his passkey", "#passkey-signin"))
	if !strings.Contains(amir.text(), "The passkey you used is for the account in the name of Amir Khan.") {
		t.Errorf("the confirmation does not name the account: %.500s", amir.text())
	}
	amir.checkPage()
	// The confirmation goes out of date when a passkey is used again in
	// another window (a race a browser cannot stage with one authenticator):
	// the page's account then differs from the one the server holds, as
	// here. The answer is an error summary whose link goes to the button
	// that puts it right, and nothing is added.
	amir.do("make the confirmation out of date", chromedp.Evaluate[chromedp.Void](
		`document.querySelector('form[action="/enrol/link"] input[name="account"]').value = '0'`))
	amir.allow("409")
	if status := amir.press("add his record from an out-of-date page", `form[action="/enrol/link"] button[type=submit]`); status != 409 || amir.path() != "/enrol/link" {
		t.Errorf("an out-of-date confirmation answered %d on %s, want 409 on /enrol/link", status, amir.path())
	}
	checkErrorSummary(amir)
	if !strings.Contains(amir.text(), "Nothing was added") || !strings.HasPrefix(eval[string](amir, `document.title`), "Error: ") {
		t.Errorf("the out-of-date confirmation does not say so: title %q: %.500s", eval[string](amir, `document.title`), amir.text())
	}
	amir.checkPage()
	amir.waitVisible("#passkey-signin")
	wantOn(amir, "/enrol/link", amir.clickThenLoad("use his passkey again", "#passkey-signin"))
	wantOn(amir, "/record", amir.press("add his record", `form[action="/enrol/link"] button[type=submit]`))
	amir.checkPage()
	wantOn(amir, "/acting-for", int64(amir.navigate(p.BaseURL+"/acting-for").Status))
	if !strings.Contains(amir.text(), "Go to your own record") {
		t.Errorf("after adding his record, the choice of whose record: %.500s", amir.text())
	}
	amir.checkPage()

	// 7. Jane invites "A. Neighbour"; Amir, signed in, enters that code: it
	// signs him out, and the page says why. He signs in and accepts, and
	// Jane's list warns that someone using another name accepted.
	jane.navigate(p.BaseURL + "/carers/invite")
	jane.typeInto("type the carer's name", "#carer-name", "A. Neighbour")
	jane.typeInto("type the relationship", "#relationship", "neighbour")
	jane.tick("tick medicines", "#scope-medicines")
	wantOn(jane, "/carers/invite", jane.press("continue to check the answers", `form[action="/carers/invite"] button[type=submit]`))
	wantOn(jane, "/carers/invite/confirm", jane.press("send the invitation", `form[action="/carers/invite/confirm"] button[type=submit]`))
	code = strings.TrimSpace(eval[string](jane, `document.getElementById('invite-code').innerText`))
	amir.navigate(p.BaseURL + "/carers/accept?code=" + code)
	amir.typeInto("day", "#dob-day", strconv.Itoa(who.BirthDate.Day()))
	amir.typeInto("month", "#dob-month", strconv.Itoa(int(who.BirthDate.Month())))
	amir.typeInto("year", "#dob-year", strconv.Itoa(who.BirthDate.Year()))
	wantOn(amir, "/carers/accept/confirm", amir.press("continue", `form[action="/carers/accept"] button[type=submit]`))
	if !strings.Contains(amir.text(), "We signed you out when you entered the code") {
		t.Errorf("the accept page does not say the code signed him out: %.600s", amir.text())
	}
	amir.waitVisible("#passkey-signin")
	amir.checkPage()
	wantOn(amir, "/carers/accept/confirm", amir.clickThenLoad("sign in with his passkey", "#passkey-signin"))
	wantOn(amir, "/acting-for", amir.press("accept", "#accept-invitation"))
	jane.navigate(p.BaseURL + "/carers")
	if !strings.Contains(jane.text(), "Accepted by Amir Khan") {
		t.Errorf("Jane's list does not warn that Amir Khan accepted A. Neighbour's invitation: %.600s", jane.text())
	}
	jane.checkPage()
}

// carerChoices: a carer whose grant allows choices answers one of the
// person's choices (research), keyboard only, through each choices page:
// the list, the question, "Check your change", the confirmation and the
// history. Each page names the person, not the carer, and axe checks each as
// the carer sees it.
func carerChoices(tb *tab, name string) {
	tb.t.Helper()
	// wantH1 checks the page's one h1, and that the title is the h1's, or
	// the title given (the check page's says which choice, and whose).
	wantH1 := func(where, want string, title ...string) {
		tb.t.Helper()
		if n := tb.nodeCount("h1"); n != 1 {
			tb.t.Errorf("%s: %d h1 elements, want 1", where, n)
		}
		if h1 := strings.TrimSpace(eval[string](tb, `document.querySelector('h1').innerText`)); h1 != want {
			tb.t.Errorf("%s: h1 %q, want %q", where, h1, want)
		}
		wantTitle := append(title, want)[0] + " – My Care Record"
		if got := eval[string](tb, `document.title`); got != wantTitle {
			tb.t.Errorf("%s: title %q, want %q", where, got, wantTitle)
		}
	}
	answering := "You are answering for " + name + "."
	main := func() string { return eval[string](tb, `document.querySelector('main').innerText`) }

	wantOn(tb, "/choices", tb.press("open Jane's choices", `.mcr-section-nav a[href="/choices"]`))
	wantH1("choices", name+"'s choices")
	if txt := main(); !strings.Contains(txt, answering) || !strings.Contains(txt, name+" can change these choices at any time.") {
		tb.t.Errorf("the choices page does not speak of %s: %.600s", name, txt)
	}
	tb.checkPage()

	wantOn(tb, "/choices/research", tb.press("change research", `.nhsuk-summary-list__actions a[href="/choices/research"]`))
	wantH1("research question", "Does "+name+" want their data to be used for research?")
	if label := eval[string](tb, `document.querySelector('#answer-2')?.parentElement.querySelector('label')?.innerText ?? ''`); label != "No" {
		tb.t.Errorf("the research question's answer reads %q", label)
	}
	tb.checkPage()
	tb.tick("answer no", "#answer-2")
	wantOn(tb, "/choices/research", tb.press("continue", `main form button[type="submit"]`))
	wantH1("check", "Check your change", "Check your change: Research – "+name+"'s choices")
	if txt := main(); !strings.Contains(txt, "After you confirm, we will record that "+name+" does not want their data to be used for research.") {
		tb.t.Errorf("the check page does not say what happens to %s's data: %.600s", name, txt)
	}
	tb.checkPage()

	status := tb.press("confirm the change", `form[action="/choices/research/confirm"] button`)
	if !strings.HasPrefix(tb.path(), "/choices/done/") || status != 200 {
		tb.t.Fatalf("confirmed onto %s (%d)", tb.path(), status)
	}
	wantH1("saved", name+"'s choice has been saved")
	tb.checkPage()

	wantOn(tb, "/choices/history", tb.press("open the history", `main a[href="/choices/history"]`))
	wantH1("history", "History of "+name+"'s choices")
	if first := eval[string](tb, `document.querySelector('.mcr-choice-history > li')?.innerText ?? ''`); !strings.Contains(first, "You, acting for them") || !strings.Contains(first, "Research: no") {
		tb.t.Errorf("the newest change in the history reads %q", first)
	}
	tb.checkPage()
}

// TestEndDateRefusedThenAnotherChoice: after a date was refused (31
// February), choosing "In 12 months" still sent the date, which stayed shown
// and enabled for its error, and the form was refused as two answers (found
// by a review). Another choice hides and disables it.
func TestEndDateRefusedThenAnotherChoice(t *testing.T) {
	_, jane, _ := signedIn(t)
	wantOn(jane, "/carers", jane.press("open People who can act for you", `.nhsuk-header__navigation a[href="/carers"]`))
	wantOn(jane, "/carers/invite", jane.press("invite someone", `a[href="/carers/invite"]`))
	jane.typeInto("name", "#carer-name", "John Smith")
	jane.typeInto("relationship", "#relationship", "son")
	jane.tick("tick medicines", "#scope-medicines")
	jane.tick("choose an end date", "#ends-date")
	jane.typeInto("day", "#ends-day", "31")
	jane.typeInto("month", "#ends-month", "2")
	jane.typeInto("year", "#ends-year", "2027")
	jane.allow("400")
	if resp := jane.follow("send an impossible date", chromedp.Click(chromedp.CSS(`form[action="/carers/invite"] button[type=submit]`))); resp.Status != 400 {
		t.Fatalf("31 February: %d, errors %q; want it refused", resp.Status, jane.shownErrors())
	}
	jane.tick("choose 12 months instead", "#ends")
	if eval[bool](jane, `document.getElementById('ends-day').checkVisibility() || !document.getElementById('ends-day').disabled`) {
		t.Error("the refused date still shows, or would be sent, once 'In 12 months' is chosen")
	}
	status := jane.press("continue to check the answers", `form[action="/carers/invite"] button[type=submit]`)
	if h1 := eval[string](jane, `document.querySelector('h1').innerText`); status != 200 || h1 != "Check your answers before sending the invitation" {
		t.Errorf("after choosing 'In 12 months': %d, %q, errors %q; want the check page", status, h1, jane.shownErrors())
	}
}
