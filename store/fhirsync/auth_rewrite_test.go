package fhirsync

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mycarerecord/portal/store"
)

// A token file rewritten in place (echo "$NEW" > token) or removed and
// written again while syncs run: both tokens are good, so no request fails.
// Read part way through being written, the file is empty, missing or cut
// short: the token held still serves, and one the server refuses is read
// again for the client's one more try (found by a review: thousands of
// requests failed in two seconds).
func TestATokenFileRewrittenWhileSyncsRun(t *testing.T) {
	for _, how := range []string{"rewritten in place", "removed and written again"} {
		t.Run(how, func(t *testing.T) {
			srv := fhirServer(t, nil, func(tok string) bool { return tok == "TokenOne1111" || tok == "TokenTwo2222" })
			path := filepath.Join(t.TempDir(), "token")
			if err := os.WriteFile(path, []byte("TokenOne1111\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			src := store.Source{ID: 1, Name: "lth", BaseURL: srv.URL, AuthKind: store.AuthBearer, AuthConfig: map[string]string{"token-file": path}}
			c, err := NewClients(os.Getenv, ClientOptions{MaxAttempts: 1}).Get(src)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			var ok, failed atomic.Int64
			var first atomic.Value
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for ctx.Err() == nil {
						if _, err := c.Search(ctx, "Patient", nil); err != nil && ctx.Err() == nil {
							failed.Add(1)
							first.CompareAndSwap(nil, err.Error())
						} else {
							ok.Add(1)
						}
					}
				})
			}
			rotations := 0
			for ctx.Err() == nil {
				for _, tok := range []string{"TokenTwo2222\n", "TokenOne1111\n"} {
					if how == "removed and written again" {
						os.Remove(path)
					}
					os.WriteFile(path, []byte(tok), 0o600)
					rotations++
					time.Sleep(20 * time.Millisecond)
				}
			}
			wg.Wait()
			t.Logf("%d rotations; %d requests good, %d failed; first failure: %v", rotations, ok.Load(), failed.Load(), first.Load())
			if failed.Load() > 0 {
				t.Errorf("requests failed while the token file was rotated, though both tokens were good")
			}
		})
	}
}
