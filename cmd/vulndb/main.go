// Command vulndb builds a Go vulnerability database that govulncheck reads
// with -db file://DIR from the OSV entries of the golang.org/x/vulndb module
// (its data/osv folder), so the check runs where vuln.go.dev cannot be reached
// but the Go module proxy can. The entries are the Go team's own; this only
// writes the index files the database format adds around them
// (https://go.dev/security/vuln/database#api).
//
//	go run ./cmd/vulndb -osv "$(go mod download -json golang.org/x/vulndb@VERSION | …)/data/osv" -out DIR
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

type entry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases,omitempty"`
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
		Ranges []struct {
			Events []struct {
				Fixed string `json:"fixed,omitempty"`
			} `json:"events"`
		} `json:"ranges"`
	} `json:"affected"`
}

type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Fixed    string    `json:"fixed,omitempty"`
}

type module struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

type vuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases,omitempty"`
}

func main() {
	osvDir := flag.String("osv", "", "the data/osv folder of the golang.org/x/vulndb module")
	out := flag.String("out", "", "folder to write the database to")
	asOf := flag.String("as-of", "", "when the entries were taken (the module version's time, 20061102150405), for entries that carry no time of their own")
	flag.Parse()
	if err := run(*osvDir, *out, *asOf); err != nil {
		fmt.Fprintln(os.Stderr, "vulndb:", err)
		os.Exit(1)
	}
}

func run(osvDir, out, asOf string) error {
	if osvDir == "" || out == "" {
		return fmt.Errorf("need -osv and -out")
	}
	var taken time.Time
	if asOf != "" {
		var err error
		if taken, err = time.Parse("20060102150405", asOf); err != nil {
			return fmt.Errorf("-as-of: %w", err)
		}
	}
	names, err := filepath.Glob(filepath.Join(osvDir, "GO-*.json"))
	if err != nil || len(names) == 0 {
		return fmt.Errorf("no GO-*.json entries in %s (%v)", osvDir, err)
	}
	for _, d := range []string{"index", "ID"} {
		if err := os.MkdirAll(filepath.Join(out, d), 0o755); err != nil {
			return err
		}
	}
	modules := map[string]*module{}
	var vulns []vuln
	var newest time.Time
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		var e entry
		if err := json.Unmarshal(data, &e); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if e.Modified.IsZero() {
			// The module's copies leave the time to the repository's history, which a module lacks.
			e.Modified = taken
		}
		if err := os.WriteFile(filepath.Join(out, "ID", e.ID+".json"), data, 0o644); err != nil {
			return err
		}
		vulns = append(vulns, vuln{ID: e.ID, Modified: e.Modified, Aliases: e.Aliases})
		if e.Modified.After(newest) {
			newest = e.Modified
		}
		for _, a := range e.Affected {
			m := modules[a.Package.Name]
			if m == nil {
				m = &module{Path: a.Package.Name}
				modules[a.Package.Name] = m
			}
			mv := moduleVuln{ID: e.ID, Modified: e.Modified}
			for _, r := range a.Ranges {
				for _, ev := range r.Events {
					if ev.Fixed != "" {
						mv.Fixed = ev.Fixed // the latest fixed version listed
					}
				}
			}
			m.Vulns = append(m.Vulns, mv)
		}
	}
	var mods []module
	for _, m := range modules {
		mods = append(mods, *m)
	}
	slices.SortFunc(mods, func(a, b module) int { return strings.Compare(a.Path, b.Path) })
	for path, v := range map[string]any{
		"index/db.json":      map[string]time.Time{"modified": newest},
		"index/modules.json": mods,
		"index/vulns.json":   vulns,
	} {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, path), b, 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("Go vulnerability database: %d entries, as of %s\n", len(vulns), newest.Format("2 January 2006"))
	return nil
}
