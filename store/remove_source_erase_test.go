package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"testing"

	"github.com/mycarerecord/portal/store"
)

// TestRemovedSourceLeavesNoWordsInTheFile: a source removed leaves nothing it
// said in the database file: not in the search index, which only marks what
// is deleted until its parts are merged, nor in the pages freed (a privacy
// review: a sexual health clinic's diagnosis stayed in the index, and in the
// file every backup copies).
func TestRemovedSourceLeavesNoWordsInTheFile(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "shc"}, "test", parsed(t,
		`{"resourceType":"Patient","id":"p1","identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9434765919"}],"birthDate":"1957-03-14"}`,
		`{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p1"},"code":{"text":"Chlamydiaxq infection"},"recordedDate":"2024-01-05"}`)); err != nil {
		t.Fatal(err)
	}
	indexed := func() int {
		raw, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		var n int
		if err := raw.QueryRow(`SELECT COUNT(*) FROM record_search_data WHERE instr(block, ?) > 0`, []byte("chlamydiaxq")).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if indexed() == 0 {
		t.Fatal("the search index does not hold the word: the test shows nothing")
	}
	if _, err := db.RemoveSource(ctx, "shc", false); err != nil {
		t.Fatal(err)
	}
	if n := indexed(); n > 0 {
		t.Errorf("the source is removed, but %d blocks of the search index hold its word", n)
	}
	db.Close() // the WAL checkpointed into the file
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(bytes.ToLower(b), []byte("chlamydiaxq")) {
			t.Errorf("%s still holds the removed source's word", f)
		}
	}
}
