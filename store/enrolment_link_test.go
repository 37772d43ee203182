package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
)

// LinkEnrolment adds the record an enrolment code proved to the account
// signed in after it, only when that account has no record of its own and
// the record has no account; and a code proved in a signed-in session signs
// it out first.
func TestLinkEnrolment(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		setup func(t *testing.T, s carerSetup) (person store.Person, account int64)
		want  string // error code, "" for linked
	}{
		{"a carer's account, a record with none", func(t *testing.T, s carerSetup) (store.Person, int64) {
			return addPerson(t, s.db, "9000000017", "1980-01-02"), s.carer.ID
		}, ""},
		{"an account with a record of its own", func(t *testing.T, s carerSetup) (store.Person, int64) {
			return addPerson(t, s.db, "9000000017", "1980-01-02"), s.own.ID
		}, store.ECONFLICT},
		{"a record with an account already", func(t *testing.T, s carerSetup) (store.Person, int64) {
			p := addPerson(t, s.db, "9000000017", "1980-01-02")
			if _, err := s.db.EnrolPasskey(ctx, p.ID, []byte("h2"), p.Name(), store.Passkey{CredentialID: []byte("p2"), PublicKey: []byte("k")}); err != nil {
				t.Fatal(err)
			}
			return p, s.carer.ID
		}, store.ECONFLICT},
		{"the record of someone the account acts for, who has an account to invite with", func(t *testing.T, s carerSetup) (store.Person, int64) {
			s.grant(t, "medicines")
			return s.patient, s.carer.ID
		}, store.ECONFLICT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newCarerSetup(t, "1957-03-14")
			person, account := tt.setup(t, s)
			code, _, err := s.db.CreateEnrolmentCode(ctx, person.ID, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			// Signed in before the code: the code signs the session out.
			before, _, err := s.db.CreateSession(ctx, account, store.DefaultSessionPolicy())
			if err != nil {
				t.Fatal(err)
			}
			_, proved, err := s.db.RedeemEnrolmentCode(ctx, before, code, person.BirthDate)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.db.LinkEnrolment(ctx, proved, account); store.ErrorCode(err) != store.EFORBIDDEN {
				t.Errorf("linked in the session signed in before the code: %v", err)
			}
			// Signed in after it.
			after, sess, _, err := s.db.RotateSession(ctx, proved, account, nil, store.DefaultSessionPolicy())
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" && sess.EnrolPersonID != person.ID {
				t.Fatalf("the sign-in did not keep the enrolment: %+v", sess)
			}
			_, err = s.db.LinkEnrolment(ctx, after, account)
			if store.ErrorCode(err) != tt.want {
				t.Fatalf("link: %v, want %q", err, tt.want)
			}
			if tt.want != "" {
				return
			}
			if acct, err := s.db.AccountByPerson(ctx, person.ID); err != nil || acct.ID != account {
				t.Errorf("the record's account: %+v %v", acct, err)
			}
			if _, err := s.db.LinkEnrolment(ctx, after, account); store.ErrorCode(err) != store.EFORBIDDEN {
				t.Errorf("linked twice with one code: %v", err)
			}
		})
	}
}
