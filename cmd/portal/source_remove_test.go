package main

import (
	"strings"
	"testing"
)

// Removing a source to which a change to someone's sharing choices is still
// waiting to be sent is refused, as the change could never be sent after,
// and nothing is removed; --even-if-waiting removes it all the same and says
// what will not be sent, which the outbox then counts apart from what waits
// (a review: it was counted as waiting for ever, and remove said nothing).
func TestSourceRemoveWithAChangeWaiting(t *testing.T) {
	path := janeWithAChangeWaiting(t)

	out, _, err := portal(t, "source", "remove", "gp", "--db", path)
	if err == nil || !strings.Contains(err.Error(), "still waiting to be sent to gp") || !strings.Contains(err.Error(), "--even-if-waiting") {
		t.Fatalf("remove with a change waiting: %q, %v; want it refused, saying why and how", out, err)
	}
	if list, _, err := portal(t, "source", "list", "--db", path); err != nil || !strings.Contains(list, "Meanwood Group Practice") {
		t.Fatalf("after a refused remove: %q, %v; want the source still there", list, err)
	}

	out, _, err = portal(t, "source", "remove", "--even-if-waiting", "gp", "--db", path)
	if err != nil || !strings.Contains(out, "Removed source gp") || !strings.Contains(out, "\n1 change to sharing choices will not be sent to it") {
		t.Fatalf("remove --even-if-waiting: %q, %v; want it removed, saying the change will not be sent", out, err)
	}
	counts, _, err := portal(t, "outbox", "--db", path)
	if err != nil || !strings.Contains(counts, "waiting 0,") || !strings.Contains(counts, "never to be sent (their source removed) 1") {
		t.Errorf("outbox after: %q, %v; want the change counted as never to be sent, not waiting", counts, err)
	}
}
