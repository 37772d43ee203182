package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// addPerson stores one Patient at a source and returns the person it made.
func addPerson(t *testing.T, db *store.DB, nhs, birthDate string) store.Person {
	t.Helper()
	ctx := context.Background()
	raw := `{"resourceType":"Patient","id":"p-` + nhs + `","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"` + nhs + `"}],` +
		`"name":[{"use":"official","prefix":["Mrs"],"given":["Jane"],"family":"Example"}],"birthDate":"` + birthDate + `"}`
	_, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp", OrgName: "Meanwood Group Practice"}, "test",
		[]fhir.Resource{{Type: "Patient", ID: "p-" + nhs, Raw: []byte(raw)}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := db.PersonByNHSNumber(ctx, nhs)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// clock is a settable time for tests.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestMigrations(t *testing.T) {
	db := mustOpenDB(t)
	v, err := db.SchemaVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v < 1 {
		t.Fatalf("schema version = %d, want at least 1", v)
	}
}

func TestEnrolmentCode(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		attempts []string // dates of birth tried, in order
		advance  time.Duration
		wantCode []string // error code after each attempt ("" = success)
	}{
		{"right date of birth", []string{"1957-03-14"}, 0, []string{""}},
		// Proved again while no passkey came of it (a session that ran out on
		// "Create a passkey"); spent once one does (TestEnrolmentCodeSpent).
		{"proved twice", []string{"1957-03-14", "1957-03-14"}, 0, []string{"", ""}},
		{"expired", []string{"1957-03-14"}, 73 * time.Hour, []string{store.EEXPIRED}},
		{"wrong then right", []string{"1957-03-15", "1957-03-14"}, 0, []string{store.EINVALID, ""}},
		{"locks after five wrong tries", []string{"1900-01-01", "1900-01-02", "1900-01-03", "1900-01-04", "1900-01-05", "1957-03-14"}, 0,
			[]string{store.EINVALID, store.EINVALID, store.EINVALID, store.EINVALID, store.ELOCKED, store.ELOCKED}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := mustOpenDB(t)
			clk := &clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
			db.SetClock(clk.now)
			p := addPerson(t, db, "9434765919", "1957-03-14")
			code, _, err := db.CreateEnrolmentCode(ctx, p.ID, 72*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			clk.t = clk.t.Add(tt.advance)
			for i, dob := range tt.attempts {
				sess := newSession(t, db)
				got, id, err := db.RedeemEnrolmentCode(ctx, sess, code, dob)
				if c := store.ErrorCode(err); c != tt.wantCode[i] {
					t.Fatalf("attempt %d (%s): error code %q (%v), want %q", i+1, dob, c, err, tt.wantCode[i])
				}
				// A code that can no longer be used says whom to ask for another (WCAG 3.3.3).
				if c := store.ErrorCode(err); (c == store.EEXPIRED || c == store.ELOCKED) && !strings.Contains(err.Error(), "your GP practice") {
					t.Errorf("attempt %d: %q; want it to say to ask your GP practice", i+1, err)
				}
				if err == nil && got.ID != p.ID {
					t.Fatalf("attempt %d: person %d, want %d", i+1, got.ID, p.ID)
				}
				if err == nil {
					// What the code proved is held under a new id: the one from
					// before, which another could have planted or copied, is worth nothing.
					if _, serr := db.Session(ctx, sess, store.DefaultSessionPolicy()); serr == nil || id == sess {
						t.Fatalf("attempt %d: the session kept its id from before the code", i+1)
					}
					sess = id
				}
				if s, serr := db.Session(ctx, sess, store.DefaultSessionPolicy()); serr != nil || (err == nil) != (s.EnrolPersonID == p.ID) {
					t.Fatalf("attempt %d: the session may enrol for person %d (%v), after %v", i+1, s.EnrolPersonID, serr, err)
				}
			}
		})
	}
	// A code is spent when a passkey comes of it: it cannot be proved again,
	// and another session that proved it meanwhile cannot add a passkey.
	t.Run("spent once a passkey comes of it", func(t *testing.T) {
		db := mustOpenDB(t)
		p := addPerson(t, db, "9434765919", "1957-03-14")
		code, _, err := db.CreateEnrolmentCode(ctx, p.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		_, first, err := db.RedeemEnrolmentCode(ctx, newSession(t, db), code, "1957-03-14")
		if err != nil {
			t.Fatal(err)
		}
		_, other, err := db.RedeemEnrolmentCode(ctx, newSession(t, db), code, "1957-03-14")
		if err != nil {
			t.Fatalf("proved again before any passkey: %v", err)
		}
		if _, err := db.EnrolPasskey(ctx, p.ID, []byte("handle"), p.Name(), store.Passkey{CredentialID: []byte("c1"), PublicKey: []byte("k")}); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{first, other} {
			if s, err := db.Session(ctx, id, store.DefaultSessionPolicy()); err != nil || s.EnrolPersonID != 0 {
				t.Errorf("a session that proved the code may still enrol: %+v, %v", s, err)
			}
		}
		if _, _, err := db.RedeemEnrolmentCode(ctx, newSession(t, db), code, "1957-03-14"); store.ErrorCode(err) != store.EEXPIRED || !strings.Contains(err.Error(), "already been used") {
			t.Errorf("proved after a passkey came of it: %v, want already used", err)
		}
	})
	t.Run("typed loosely", func(t *testing.T) {
		db := mustOpenDB(t)
		p := addPerson(t, db, "9434765919", "1957-03-14")
		code, _, err := db.CreateEnrolmentCode(ctx, p.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		loose := " " + string(append([]byte{}, []byte(code)...)) + " "
		if _, _, err := db.RedeemEnrolmentCode(ctx, newSession(t, db), toLowerNoDash(loose), "1957-03-14"); err != nil {
			t.Fatalf("lower case without dashes: %v", err)
		}
	})
	t.Run("unknown code", func(t *testing.T) {
		db := mustOpenDB(t)
		addPerson(t, db, "9434765919", "1957-03-14")
		if _, _, err := db.RedeemEnrolmentCode(ctx, newSession(t, db), "AAAA-BBBB-CCCC", "1957-03-14"); store.ErrorCode(err) != store.EINVALID {
			t.Fatalf("error %v, want invalid", err)
		}
	})
	// A code is spent only with a session to hold what it proved: one that
	// ended meanwhile leaves the code to use again.
	t.Run("session ended", func(t *testing.T) {
		db := mustOpenDB(t)
		p := addPerson(t, db, "9434765919", "1957-03-14")
		code, _, err := db.CreateEnrolmentCode(ctx, p.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		ended := newSession(t, db)
		if err := db.DeleteSession(ctx, ended); err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.RedeemEnrolmentCode(ctx, ended, code, "1957-03-14"); store.ErrorCode(err) != store.ENOTFOUND {
			t.Fatalf("with an ended session: %v, want not found", err)
		}
		if _, _, err := db.RedeemEnrolmentCode(ctx, newSession(t, db), code, "1957-03-14"); err != nil {
			t.Fatalf("the code was spent by a session that had ended: %v", err)
		}
	})
}

// newSession starts a signed-out session, as the enrolment pages do.
func newSession(t *testing.T, db *store.DB) string {
	t.Helper()
	id, _, err := db.CreateSession(context.Background(), 0, store.DefaultSessionPolicy())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func toLowerNoDash(s string) string {
	out := []byte{}
	for _, b := range []byte(s) {
		switch {
		case b == '-':
		case b >= 'A' && b <= 'Z':
			out = append(out, b+'a'-'A')
		default:
			out = append(out, b)
		}
	}
	return string(out)
}

func TestSessions(t *testing.T) {
	ctx := context.Background()
	policy := store.SessionPolicy{Idle: 30 * time.Minute, Absolute: 12 * time.Hour}
	tests := []struct {
		name    string
		steps   []time.Duration // time between requests
		wantErr bool            // after the last step
	}{
		{"fresh", []time.Duration{0}, false},
		{"busy all day stays within the absolute limit", []time.Duration{20 * time.Minute, 20 * time.Minute, 20 * time.Minute}, false},
		{"idle too long", []time.Duration{31 * time.Minute}, true},
		{"past the absolute limit however busy", repeat(25*time.Minute, 29), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := mustOpenDB(t)
			clk := &clock{t: time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)}
			db.SetClock(clk.now)
			// Signed in: a bare session lasts longer (TestABareSessionOutlastsTheIdleTime).
			p := addPerson(t, db, "9434765919", "1957-03-14")
			acct, err := db.EnrolPasskey(ctx, p.ID, []byte("handle"), p.Name(), store.Passkey{CredentialID: []byte("c1"), PublicKey: []byte("k")})
			if err != nil {
				t.Fatal(err)
			}
			id, _, err := db.CreateSession(ctx, acct.ID, policy)
			if err != nil {
				t.Fatal(err)
			}
			for i, d := range tt.steps {
				clk.t = clk.t.Add(d)
				_, err = db.Session(ctx, id, policy)
				if i < len(tt.steps)-1 && err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				// An ended session stays ended.
				clk.t = clk.t.Add(-time.Hour * 100)
				if _, err := db.Session(ctx, id, policy); store.ErrorCode(err) != store.ENOTFOUND {
					t.Fatalf("ended session answered again: %v", err)
				}
			}
		})
	}
	t.Run("rotation ends the old id", func(t *testing.T) {
		db := mustOpenDB(t)
		old, _, err := db.CreateSession(ctx, 0, policy)
		if err != nil {
			t.Fatal(err)
		}
		p := addPerson(t, db, "9434765919", "1957-03-14")
		acct, err := db.EnrolPasskey(ctx, p.ID, make([]byte, 64), p.Name(), store.Passkey{CredentialID: []byte("cred"), PublicKey: []byte("key")})
		if err != nil {
			t.Fatal(err)
		}
		id, s, _, err := db.RotateSession(ctx, old, acct.ID, nil, policy)
		if err != nil {
			t.Fatal(err)
		}
		if id == old || s.AccountID != acct.ID {
			t.Fatalf("rotated to %q for account %d", id, s.AccountID)
		}
		if _, err := db.Session(ctx, old, policy); store.ErrorCode(err) != store.ENOTFOUND {
			t.Fatalf("old session still answers: %v", err)
		}
		got, err := db.Session(ctx, id, policy)
		if err != nil || got.AccountID != acct.ID {
			t.Fatalf("new session: %+v, %v", got, err)
		}
	})
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

func TestEnrolPasskeyAddsToExistingAccount(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	p := addPerson(t, db, "9434765919", "1957-03-14")
	first, err := db.EnrolPasskey(ctx, p.ID, []byte("handle-1"), p.Name(), store.Passkey{CredentialID: []byte("c1"), PublicKey: []byte("k1")})
	if err != nil {
		t.Fatal(err)
	}
	second, err := db.EnrolPasskey(ctx, p.ID, []byte("handle-2"), p.Name(), store.Passkey{CredentialID: []byte("c2"), PublicKey: []byte("k2")})
	if err != nil {
		t.Fatal(err)
	}
	if first.ID != second.ID {
		t.Fatalf("second enrolment made account %d, want the existing %d", second.ID, first.ID)
	}
	_, pks, err := db.AccountByUserHandle(ctx, []byte("handle-1"))
	if err != nil || len(pks) != 2 {
		t.Fatalf("passkeys = %d, %v; want 2", len(pks), err)
	}
	if _, err := db.EnrolPasskey(ctx, p.ID, nil, "", store.Passkey{CredentialID: []byte("c2"), PublicKey: []byte("k2")}); store.ErrorCode(err) != store.ECONFLICT {
		t.Fatalf("same credential twice: %v, want conflict", err)
	}
}

func TestAccessLogChain(t *testing.T) {
	ctx := context.Background()
	db := mustOpenDB(t)
	for _, what := range []string{"summary", "medicines", "results"} {
		if err := db.LogAccess(ctx, store.Access{AccountID: 1, PersonID: 7, Action: "view", What: what, Device: "Chrome on Linux"}); err != nil {
			t.Fatal(err)
		}
	}
	if bad, err := db.VerifyAccessLog(ctx); err != nil || bad != 0 {
		t.Fatalf("verify = %d, %v; want intact", bad, err)
	}
	got, err := db.AccessLog(ctx, 7, 10)
	if err != nil || len(got) != 3 || got[0].What != "results" {
		t.Fatalf("log = %+v, %v; want 3 entries newest first", got, err)
	}
}
