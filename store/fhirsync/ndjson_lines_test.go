package fhirsync_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhirsync"
)

// An export file that begins with a UTF-8 byte order mark is read whole, as
// portal import reads one (a review: its first line, the Patient, was set
// aside, so no person was made to show the rest to); a line that is not JSON
// is set aside naming its line and the column in it, not "line 1" twice.
func TestNDJSONLinesAsWritten(t *testing.T) {
	const (
		patient   = `{"resourceType":"Patient","id":"p1","birthDate":"1970-01-01"}`
		condition = `{"resourceType":"Condition","id":"c1","code":{"text":"Asthma"},"subject":{"reference":"Patient/p1"}}`
	)
	for _, tc := range []struct {
		name, input    string
		added, persons int
		setAside       string
	}{
		{"a byte order mark", "\ufeff" + patient + "\n" + condition + "\n", 2, 1, ""},
		{"a byte order mark and CRLF", "\ufeff" + patient + "\r\n" + condition + "\r\n", 2, 1, ""},
		{"not JSON on line 2", patient + "\n" + `{"resourceType":"Condition",` + "\n", 1, 1, "line 2: column "},
		// A patient's Bundle on one line is no resource to store (a review).
		{"a Bundle on line 2", patient + "\n" + `{"resourceType":"Bundle","id":"b1","type":"collection","entry":[{"resource":` + condition + `}]}` + "\n", 1, 1,
			"line 2: a Bundle (collection) of 1 entry: an NDJSON line holds one resource"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db, path := bulkDB(t)
			res, err := fhirsync.ImportNDJSON(ctx, db, store.ImportOptions{Source: "bulkfile"}, "export.ndjson", strings.NewReader(tc.input), 1000)
			raw, rerr := sql.Open("sqlite3", path)
			if rerr != nil {
				t.Fatal(rerr)
			}
			defer raw.Close()
			var why string
			if err := raw.QueryRow(`SELECT COALESCE(MAX(error), '') FROM rejected_resources`).Scan(&why); err != nil {
				t.Fatal(err)
			}
			if err != nil || res.Added != tc.added || res.NewPersons != tc.persons || !strings.HasPrefix(why, tc.setAside) || (tc.setAside == "") != (why == "") {
				t.Errorf("got %d added, %d new persons, set aside %q, %v; want %d added, %d new persons, set aside %q…", res.Added, res.NewPersons, why, err, tc.added, tc.persons, tc.setAside)
			}
		})
	}
}
