// Package e2e holds the end-to-end tests of My Care Record: they build the
// real binary, run it with demo data, and walk through it as a patient would
// in headless Chromium, with a virtual passkey authenticator and axe-core
// checking every page. Run them with
//
//	GOTOOLCHAIN=local go test -tags sqlite_fts5 -count=1 -v ./e2e/
//
// They need /usr/bin/chromium (`make tools`) and static/node_modules
// (`make deps`).
package e2e
