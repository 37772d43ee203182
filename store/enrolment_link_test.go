package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
)

// LinkEnrolment adds the record an enrolment code proved to the account
// whose passkey answered on the enrolment page of the same session, only
// when that account has no record of its own, is in the person's name, and
// the record has no account; a code proved in a signed-in session signs it
// out, and a sign-in after never carries the enrolment (someone else at the
// same computer would take it up: found by a review).
func TestLinkEnrolment(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		setup func(t *testing.T, s carerSetup) (person store.Person, account int64)
		want  string // error code, "" for linked
	}{
		{"a carer's account in the person's name, a record with none", func(t *testing.T, s carerSetup) (store.Person, int64) {
			return addNamedPerson(t, s.db, "9000000017", "John", "Smith"), s.carer.ID
		}, ""},
		{"a carer's account in the first name only", func(t *testing.T, s carerSetup) (store.Person, int64) {
			john, err := s.db.CreateCarerAccount(ctx, []byte("john-handle"), "John", store.Passkey{CredentialID: []byte("c2"), PublicKey: []byte("k")})
			if err != nil {
				t.Fatal(err)
			}
			return addNamedPerson(t, s.db, "9000000017", "John", "Smith"), john.ID
		}, store.ECONFLICT},
		{"a carer's account in the person's name with more to it", func(t *testing.T, s carerSetup) (store.Person, int64) {
			return addNamedPerson(t, s.db, "9000000017", "John", "Smith-Okafor"), s.carer.ID
		}, store.ECONFLICT},
		{"a person of one name", func(t *testing.T, s carerSetup) (store.Person, int64) {
			cher, err := s.db.CreateCarerAccount(ctx, []byte("cher-handle"), "Cher", store.Passkey{CredentialID: []byte("c3"), PublicKey: []byte("k")})
			if err != nil {
				t.Fatal(err)
			}
			return addNamedPerson(t, s.db, "9000000017", "Cher", ""), cher.ID
		}, ""},
		{"a carer's account in another name", func(t *testing.T, s carerSetup) (store.Person, int64) {
			return addNamedPerson(t, s.db, "9000000017", "Bob", "Jones"), s.carer.ID
		}, store.ECONFLICT},
		{"an account with a record of its own", func(t *testing.T, s carerSetup) (store.Person, int64) {
			return addNamedPerson(t, s.db, "9000000017", "Jane", "Example"), s.own.ID
		}, store.ECONFLICT},
		{"a record with an account already", func(t *testing.T, s carerSetup) (store.Person, int64) {
			p := addNamedPerson(t, s.db, "9000000017", "John", "Smith")
			if _, err := s.db.EnrolPasskey(ctx, p.ID, []byte("h2"), p.Name(), store.Passkey{CredentialID: []byte("p2"), PublicKey: []byte("k")}); err != nil {
				t.Fatal(err)
			}
			return p, s.carer.ID
		}, store.ECONFLICT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newCarerSetup(t, "1957-03-14") // the carer's account is John Smith's
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
			if sess, err := s.db.Session(ctx, proved, store.DefaultSessionPolicy()); err != nil || sess.AccountID != 0 || sess.EnrolPersonID != person.ID {
				t.Fatalf("after the code: %+v %v; want signed out, holding the enrolment", sess, err)
			}
			// An ordinary sign-in in that session does not take the enrolment up.
			signedIn, sess, _, err := s.db.RotateSession(ctx, proved, account, nil, store.DefaultSessionPolicy())
			if err != nil || sess.EnrolPersonID != 0 {
				t.Fatalf("a sign-in after the code: %+v %v; want no enrolment", sess, err)
			}
			pks, err := s.db.Passkeys(ctx, account)
			if err != nil || len(pks) == 0 {
				t.Fatalf("the account's passkeys: %v %v", pks, err)
			}
			cred := pks[0].CredentialID
			link := func(session string) error {
				_, _, _, err := s.db.LinkEnrolment(ctx, session, account, cred, store.DefaultSessionPolicy())
				return err
			}
			if err := link(signedIn); store.ErrorCode(err) != store.EFORBIDDEN {
				t.Errorf("linked in a session signed in after the code: %v", err)
			}

			// The code proved again, then the passkey's ceremony on the enrolment page.
			code, _, err = s.db.CreateEnrolmentCode(ctx, person.ID, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			_, proved, err = s.db.RedeemEnrolmentCode(ctx, signedIn, code, person.BirthDate)
			if err != nil {
				t.Fatal(err)
			}
			// A credential that is not the account's adds nothing.
			if _, _, _, err := s.db.LinkEnrolment(ctx, proved, account, []byte("no such passkey"), store.DefaultSessionPolicy()); err == nil {
				t.Fatal("linked with a passkey the account does not have")
			}
			err = link(proved)
			if store.ErrorCode(err) != tt.want {
				t.Fatalf("link: %v, want %q", err, tt.want)
			}
			if tt.want != "" {
				return
			}
			if acct, err := s.db.AccountByPerson(ctx, person.ID); err != nil || acct.ID != account {
				t.Errorf("the record's account: %+v %v", acct, err)
			}
			// The session it was proved in is gone, replaced by a signed-in one.
			if err := link(proved); store.ErrorCode(err) != store.ENOTFOUND {
				t.Errorf("linked twice with one code: %v", err)
			}
		})
	}
}

// addNamedPerson stores a person with that NHS number and name, born 2 January 1980.
func addNamedPerson(t *testing.T, db *store.DB, nhs, given, family string) store.Person {
	t.Helper()
	raw := `{"resourceType":"Patient","id":"p-` + nhs + `","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"` + nhs + `"}],` +
		`"name":[{"use":"official","prefix":["Mr"],"given":["` + given + `"],"family":"` + family + `"}],"birthDate":"1980-01-02"}`
	if _, err := db.ImportResources(context.Background(), store.ImportOptions{Source: "gp"}, "test", parsed(t, raw)); err != nil {
		t.Fatal(err)
	}
	p, err := db.PersonByNHSNumber(context.Background(), nhs)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
