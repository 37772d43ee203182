package views_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/mycarerecord/portal/views"
)

// Near a session's longest time the warning offers no way to get more time,
// and says why, signed in or setting up a passkey (a review: setting up, it
// read as the ordinary warning); and setting up, it never says "signed out".
func TestTheLastWarningSaysWhy(t *testing.T) {
	for _, settingUp := range []string{"", "enrolment", "invitation"} {
		p := views.Page{Title: "Create a passkey", Assets: fakeAssets{}, CSRF: token, SignedIn: settingUp == "", SettingUp: settingUp,
			SessionIdle: 30 * time.Minute, SessionLeft: time.Minute, SessionFinal: true}
		var b bytes.Buffer
		if err := views.Help(p).Render(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		d, err := goquery.NewDocumentFromReader(&b)
		if err != nil {
			t.Fatal(err)
		}
		live := strings.TrimSpace(d.Find("#session-timeout-heading").Text())
		last := strings.Join(strings.Fields(d.Find("[data-session-last]").Text()), " ")
		if strings.HasPrefix(last, live) || !strings.Contains(last, "12 hours at most") {
			t.Errorf("%q: the last warning %q, after %q", settingUp, last, live)
		}
		if settingUp != "" && strings.Contains(d.Find("dialog").Text(), "signed out") {
			t.Errorf("%q: setting up, the warning says signed out: %q", settingUp, d.Find("dialog").Text())
		}
	}
}
