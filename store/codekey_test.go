package store_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
)

// TestCodesAreKeyed: codes were stored as a plain SHA-256 of themselves, so
// a copy of the database (a backup) gave up every pending code in one pass,
// beside the date of birth it is checked with (found by a security review).
// Under the server's secret they are stored as HMACs; one made before the
// key was used still works until it expires; a key the database does not
// know is refused to portal invite and, taken by serve, leaves codes made
// before unusable.
func TestCodesAreKeyed(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	p := addPerson(t, db, "9434765919", "1957-03-14")
	before, _, err := db.CreateEnrolmentCode(ctx, p.ID, time.Hour) // plain: no key yet
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("0123456789abcdef0123456789abcdef")
	if changed, err := db.UseCodeKey(ctx, secret, true); err != nil || changed {
		t.Fatalf("first key: changed %v, %v", changed, err)
	}
	keyed, _, err := db.CreateEnrolmentCode(ctx, p.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	plain := sha256.Sum256([]byte(store.NormaliseCode(keyed)))
	var n int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM enrolment_codes WHERE code_hash = ?`, plain[:]).Scan(&n); err != nil || n != 0 {
		t.Errorf("the code made under the key is stored as its plain SHA-256 (%d, %v)", n, err)
	}
	for _, code := range []string{before, keyed} {
		sess, _, err := db.CreateSession(ctx, 0, store.DefaultSessionPolicy())
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.RedeemEnrolmentCode(ctx, sess, code, "1957-03-14"); err != nil {
			t.Errorf("code %s: %v", code, err)
		}
	}
	// portal invite with another secret is refused; serve takes it, and codes made before stop working.
	other := []byte("fedcba9876543210fedcba9876543210")
	if _, err := db.UseCodeKey(ctx, other, false); store.ErrorCode(err) != store.EINVALID {
		t.Errorf("another secret for portal invite: %v; want it refused", err)
	}
	waiting, _, err := db.CreateEnrolmentCode(ctx, p.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := db.UseCodeKey(ctx, other, true); err != nil || !changed {
		t.Fatalf("serve with another secret: changed %v, %v", changed, err)
	}
	if set, err := db.CodeKeyIsSet(ctx); err != nil || !set {
		t.Errorf("code key set: %v, %v", set, err)
	}
	sess, _, _ := db.CreateSession(ctx, 0, store.DefaultSessionPolicy())
	if _, _, err := db.RedeemEnrolmentCode(ctx, sess, waiting, "1957-03-14"); store.ErrorCode(err) != store.EINVALID {
		t.Errorf("a code made under the old secret: %v; want it not recognised", err)
	}
}
