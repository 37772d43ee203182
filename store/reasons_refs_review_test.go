package store_test

// Keeping out the entries that name a kept-out one by reference (fhir
// EntryRefs, store withheldIDs): each test failed when a review wrote it.

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

const (
	refDepression = `{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/%[1]s"},"clinicalStatus":{"coding":[{"code":"active"}]},` +
		`"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"F32.9","display":"Depressive episode, unspecified"}]},"recordedDate":"2025-02-01"}`
	refPregnancyTest = `{"resourceType":"Observation","id":"o1","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Pregnancy test"},` +
		`"effectiveDateTime":"2025-03-01","valueCodeableConcept":{"text":"Positive"}}`
)

// carerDownloadHolds is what of never a carer's download holds, resource by resource.
func carerDownloadHolds(t *testing.T, db *store.DB, p int64, never string) []string {
	t.Helper()
	var leaks []string
	for _, part := range strings.Split(carerDownload(t, db, p), `"resource":`)[1:] { // an entry may begin with its fullUrl (a review)
		if strings.Contains(part, never) {
			leaks = append(leaks, fmt.Sprintf("%.200s", part))
		}
	}
	return leaks
}

func keepOutKind(t *testing.T, db *store.DB, p int64, cat string) {
	t.Helper()
	if _, err := db.ChangeConsent(context.Background(), p, janeHerself, store.ConsentChange{Question: store.WithholdQuestion(cat), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
		t.Fatal(err)
	}
}

func keepOutEntryNamed(t *testing.T, db *store.DB, p int64, sec, display string) {
	t.Helper()
	ctx := context.Background()
	sp, err := db.RecordSection(ctx, p, sec, 1, 50)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(sp.Items, func(it store.RecordItem) bool { return it.Display == display })
	if i < 0 {
		t.Fatalf("no %q in %s", display, sec)
	}
	if _, err := db.ChangeConsent(ctx, p, janeHerself, store.ConsentChange{Question: store.WithholdItemQuestion(store.ItemKey(sp.Items[i])), Answer: "yes"}, store.ChoiceLogged(1)); err != nil {
		t.Fatal(err)
	}
}

// With mental health kept out, an entry naming the kept-out depression (or
// an entry of the kind) by reference in any of these fields is kept out
// too: its reference's display reached a carer's download.
func TestMoreFieldsNamingAKeptOutEntry(t *testing.T) {
	for _, tc := range []struct{ name, raw, never string }{
		{"Observation.focus", `{"resourceType":"Observation","id":"o9","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Symptom severity"},` +
			`"effectiveDateTime":"2025-02-03","valueString":"Moderate","focus":[{"reference":"Condition/c1","display":"Depressive episode"}]}`, "Depressive"},
		{"Observation.partOf (a psychiatric interview)", `{"resourceType":"Observation","id":"o9","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Blood pressure"},` +
			`"effectiveDateTime":"2025-02-03","valueString":"120/80","partOf":[{"reference":"Procedure/pr1","display":"Initial psychiatric interview"}]}`, "psychiatric"},
		{"Condition.evidence.detail", `{"resourceType":"Condition","id":"c9","subject":{"reference":"Patient/%[1]s"},"clinicalStatus":{"coding":[{"code":"active"}]},` +
			`"code":{"text":"Insomnia"},"recordedDate":"2025-02-05","evidence":[{"detail":[{"reference":"Condition/c1","display":"Depressive episode"}]}]}`, "Depressive"},
		{"DocumentReference.context.related", `{"resourceType":"DocumentReference","id":"d9","status":"current","subject":{"reference":"Patient/%[1]s"},"type":{"text":"Clinic letter"},` +
			`"date":"2025-02-06T10:00:00Z","content":[{"attachment":{"contentType":"text/plain","title":"Letter"}}],` +
			`"context":{"related":[{"reference":"Condition/c1","display":"Depressive episode"}]}}`, "Depressive"},
		{"CarePlan.activity.reference (a fluoxetine prescription)", `{"resourceType":"CarePlan","id":"cp9","status":"active","intent":"plan","title":"Support plan","subject":{"reference":"Patient/%[1]s"},` +
			`"period":{"start":"2025-02-01"},"activity":[{"reference":{"reference":"MedicationRequest/m1","display":"Fluoxetine 20mg capsules"}}]}`, "Fluoxetine"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := mustOpenDB(t)
			p := importSources(t, db, []string{"gp", refDepression,
				`{"resourceType":"Procedure","id":"pr1","status":"completed","subject":{"reference":"Patient/%[1]s"},"code":{"coding":[{"system":"http://snomed.info/sct","code":"79094001","display":"Initial psychiatric interview with mental status evaluation"}]},"performedDateTime":"2025-02-02T09:30:00Z"}`,
				`{"resourceType":"MedicationRequest","id":"m1","status":"active","intent":"order","subject":{"reference":"Patient/%[1]s"},"medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"406022","display":"Fluoxetine 25 MG"}]},"authoredOn":"2025-02-02"}`,
				tc.raw})
			keepOutKind(t, db, p, store.CategoryMentalHealth)
			if leaks := carerDownloadHolds(t, db, p, tc.never); len(leaks) != 0 {
				t.Errorf("a carer's download names %q, kept out with mental health, in: %q", tc.never, leaks)
			}
		})
	}
}

// A report naming the kept-out pregnancy test among its results is kept out
// with it however the reference is written: absolute under the source's own
// address (written otherwise too), in a file imported with no address,
// versioned, or by a bundle entry's urn:uuid fullUrl whose resource has its
// own id (bundle_urls). Each named the test to a carer (reviews).
func TestReferenceFormsToAKeptOutEntry(t *testing.T) {
	report := func(ref string) string {
		return `{"resourceType":"DiagnosticReport","id":"r1","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Urine tests"},` +
			`"effectiveDateTime":"2025-03-01","result":[{"reference":"` + ref + `","display":"Pregnancy test: Positive"}]}`
	}
	for _, tc := range []struct{ name, base, ref string }{
		{"absolute, at the source's own server", "https://gp.example.org/fhir", "https://gp.example.org/fhir/Observation/o1"},
		{"absolute, the host in capitals and its port written", "https://gp.example.org/fhir", "https://GP.example.org:443/fhir/Observation/o1"},
		{"absolute, over http", "https://gp.example.org/fhir", "http://gp.example.org/fhir/Observation/o1"},
		{"absolute, in a file imported", "", "https://gp.example.org/fhir/Observation/o1"},
		{"versioned", "https://gp.example.org/fhir", "Observation/o1/_history/1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := mustOpenDB(t)
			if tc.base != "" {
				if _, err := db.AddSource(context.Background(), store.Source{Name: "gp", BaseURL: tc.base}); err != nil {
					t.Fatal(err)
				}
			}
			p := importSources(t, db, []string{"gp", refPregnancyTest, report(tc.ref)})
			keepOutEntryNamed(t, db, p, fhir.SectionResults, "Pregnancy test")
			carerSees(t, db, p, fhir.SectionResults, 0, "Pregnancy")
		})
	}
	t.Run("a bundle's urn:uuid fullUrl, the resource having its own id", func(t *testing.T) {
		db := mustOpenDB(t)
		ctx := context.Background()
		bundle := fmt.Sprintf(`{"resourceType":"Bundle","type":"collection","entry":[
{"fullUrl":"urn:uuid:7d1c7a52-1b7e-4a1e-9a55-000000000001","resource":{"resourceType":"Patient","id":"pt1","identifier":[{"system":%q,"value":"9434765919"}]}},
{"fullUrl":"urn:uuid:7d1c7a52-1b7e-4a1e-9a55-000000000002","resource":%s},
{"fullUrl":"urn:uuid:7d1c7a52-1b7e-4a1e-9a55-000000000003","resource":%s}]}`, fhir.NHSNumberSystem,
			fmt.Sprintf(refPregnancyTest, "pt1"), fmt.Sprintf(report("urn:uuid:7d1c7a52-1b7e-4a1e-9a55-000000000002"), "pt1"))
		res, err := fhir.ParseBundle([]byte(bundle))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ImportResources(ctx, store.ImportOptions{Source: "gp"}, "test", res); err != nil {
			t.Fatal(err)
		}
		person, err := db.PersonByNHSNumber(ctx, "9434765919")
		if err != nil {
			t.Fatal(err)
		}
		keepOutEntryNamed(t, db, person.ID, fhir.SectionResults, "Pregnancy test")
		if leaks := carerDownloadHolds(t, db, person.ID, "Pregnancy"); len(leaks) != 0 {
			t.Errorf("a carer's download names the kept-out pregnancy test in: %q", leaks)
		}
	})
}

// A reference to a kept-out entry is masked in a carer's download, and an
// entry giving one as its reason kept out, down a chain and whyever the one
// named is kept out: it went one step, and only from entries kept out one by
// one or by their own code (a review).
func TestChainsOfReferencesToAKeptOutEntry(t *testing.T) {
	t.Run("report -> panel -> kept-out result (one by one)", func(t *testing.T) {
		db := mustOpenDB(t)
		p := importSources(t, db, []string{"gp", refPregnancyTest,
			`{"resourceType":"Observation","id":"p1","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Urine panel"},"effectiveDateTime":"2025-03-01",` +
				`"hasMember":[{"reference":"Observation/o1","display":"Pregnancy test: Positive"}]}`,
			`{"resourceType":"DiagnosticReport","id":"r1","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Urine tests"},"effectiveDateTime":"2025-03-01",` +
				`"result":[{"reference":"Observation/p1","display":"Urine panel"}]}`,
		})
		keepOutEntryNamed(t, db, p, fhir.SectionResults, "Pregnancy test")
		carerSees(t, db, p, fhir.SectionResults, 2, "Pregnancy")
	})
	t.Run("report -> result kept out for its value (sexual health kept out)", func(t *testing.T) {
		db := mustOpenDB(t)
		p := importSources(t, db, []string{"gp",
			`{"resourceType":"Observation","id":"o1","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Screening result"},"effectiveDateTime":"2025-04-01","valueCodeableConcept":` + hivReason + `}`,
			`{"resourceType":"DiagnosticReport","id":"r1","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Blood tests"},"effectiveDateTime":"2025-04-01",` +
				`"result":[{"reference":"Observation/o1","display":"Screening result: HIV infection"}]}`,
		})
		withholdSexualHealth(t, db, p)
		carerSees(t, db, p, fhir.SectionResults, 0, "HIV")
	})
	t.Run("visit -> therapy -> depression (mental health kept out)", func(t *testing.T) {
		db := mustOpenDB(t)
		p := importSources(t, db, []string{"gp", refDepression,
			`{"resourceType":"Procedure","id":"pr1","status":"completed","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Cognitive behavioural therapy"},"performedDateTime":"2025-02-02T09:30:00Z",` +
				`"reasonReference":[{"reference":"Condition/c1","display":"Depressive episode"}]}`,
			`{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},"type":[{"text":"Clinic visit"}],"subject":{"reference":"Patient/%[1]s"},"period":{"start":"2025-02-02T09:00:00Z"},` +
				`"reasonReference":[{"reference":"Procedure/pr1","display":"CBT for depression"}]}`,
		})
		keepOutKind(t, db, p, store.CategoryMentalHealth)
		carerSees(t, db, p, fhir.SectionEncounters, 0, "depression")
	})
}

// Migration 0055 and entryRefs store different references for the same
// resource: the SQL trims only spaces (trim()), Go all white space
// (strings.TrimSpace): a procedure whose reason is written "Observation/o1\n"
// was kept out after an import and after the re-read, but not from the
// moment the migration ran until the re-read reached it. The migration now
// reads through the importer's code (mcr_entry_refs).
func TestMigrationReadsReferencesAsTheImportDoes(t *testing.T) {
	ctx := context.Background()
	db, path := mustOpenDBFile(t)
	p := importSources(t, db, []string{"gp", refPregnancyTest,
		`{"resourceType":"Procedure","id":"pr1","status":"completed","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Ultrasound scan"},"performedDateTime":"2025-03-02T09:30:00Z",` +
			`"reasonReference":[{"reference":"Observation/o1\n","display":"Pregnancy test: Positive"}]}`,
	})
	keepOutEntryNamed(t, db, p, fhir.SectionResults, "Pregnancy test")
	stored := func() []string {
		raw, err := sql.Open("sqlite3", "file:"+store.URIPath(path))
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		rows, err := raw.QueryContext(ctx, `SELECT code FROM record_item_reasons WHERE system = 'ref' ORDER BY code`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var c string
			rows.Scan(&c)
			out = append(out, c)
		}
		return out
	}
	imported := stored()
	if got := shownIn(t, store.ForCarer(ctx, fhir.SectionProcedures), db, p, fhir.SectionProcedures); len(got) != 0 {
		t.Fatalf("as imported, a carer's procedures: %q; want none", got)
	}
	db = rerunMigration(t, db, path, 55, `DELETE FROM record_item_reasons`, `UPDATE record_items SET reason_codes = ''`)
	if migrated := stored(); !slices.Equal(migrated, imported) {
		t.Errorf("references stored: %q by the import (entryRefs), %q by migration 0055", imported, migrated)
	}
	if got := shownIn(t, store.ForCarer(ctx, fhir.SectionProcedures), db, p, fhir.SectionProcedures); len(got) != 0 {
		t.Errorf("after migration 0055, before the re-read, a carer's procedures: %q; want none", got)
	}
}

// What the review found held: a reference that names no entry, or another source's, keeps nothing out.
func TestReferencesThatKeepNothingOut(t *testing.T) {
	t.Run("Encounter.diagnosis naming a procedure, Immunization.reasonReference a result", func(t *testing.T) {
		db := mustOpenDB(t)
		p := importSources(t, db, []string{"gp", refPregnancyTest,
			`{"resourceType":"Procedure","id":"pr1","status":"completed","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Pregnancy scan"},"performedDateTime":"2025-03-02T09:30:00Z"}`,
			`{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"AMB"},"type":[{"text":"Clinic visit"}],"subject":{"reference":"Patient/%[1]s"},"period":{"start":"2025-03-02T09:00:00Z"},"diagnosis":[{"condition":{"reference":"Procedure/pr1","display":"Pregnancy scan"}}]}`,
			`{"resourceType":"Immunization","id":"i1","status":"completed","patient":{"reference":"Patient/%[1]s"},"vaccineCode":{"text":"Whooping cough vaccine"},"occurrenceDateTime":"2025-03-05","reasonReference":[{"reference":"Observation/o1","display":"Pregnancy test: Positive"}]}`,
		})
		keepOutEntryNamed(t, db, p, fhir.SectionResults, "Pregnancy test")
		keepOutEntryNamed(t, db, p, fhir.SectionProcedures, "Pregnancy scan")
		if leaks := carerDownloadHolds(t, db, p, "Pregnancy"); len(leaks) != 0 {
			t.Errorf("leaks: %q", leaks)
		}
	})
	t.Run("another source's resource of the same id, and a reference to the Patient, hide nothing", func(t *testing.T) {
		db := mustOpenDB(t)
		p := importSources(t, db, []string{"gp", refPregnancyTest},
			[]string{"hospital", `{"resourceType":"DiagnosticReport","id":"r1","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Urine tests"},"effectiveDateTime":"2025-03-09","result":[{"reference":"Observation/o1","display":"Glucose"}],"resultsInterpreter":[{"reference":"Patient/%[1]s"}]}`,
				`{"resourceType":"Observation","id":"o1","status":"final","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Glucose"},"effectiveDateTime":"2025-03-09","valueString":"negative"}`,
				`{"resourceType":"Procedure","id":"pr1","status":"completed","subject":{"reference":"Patient/%[1]s"},"code":{"text":"Dressing"},"performedDateTime":"2025-03-02T09:30:00Z","reasonReference":[{"reference":"Patient/%[1]s"}]}`})
		keepOutEntryNamed(t, db, p, fhir.SectionResults, "Pregnancy test")
		if got := shownIn(t, store.ForCarer(context.Background(), fhir.SectionResults), db, p, fhir.SectionResults); len(got) != 2 {
			t.Errorf("a carer's results: %q; want the hospital's report and glucose", got)
		}
		if got := shownIn(t, store.ForCarer(context.Background(), fhir.SectionProcedures), db, p, fhir.SectionProcedures); len(got) != 1 {
			t.Errorf("a carer's procedures: %q; want the dressing", got)
		}
	})
}

// One care plan activity, or one element of it, written wrongly loses no
// other's reason, by reference or by code: the plan for the depression is
// kept out as imported, from migration 0055, and after the re-read. Read as
// one list, one odd element lost them all.
func TestOneOddActivityLosesNoOtherReason(t *testing.T) {
	for _, tc := range []struct{ name, activity string }{
		{"a reference written wrongly beside one to the depression", `[{"detail":{"status":"in-progress","code":{"text":"Weekly talk"},"reasonReference":[{"reference":"Condition/c1","display":"Depressive episode"},{"reference":"Condition/c2","display":["Low mood"]}]}}]`},
		{"a code written wrongly in another activity", `[{"detail":{"status":"in-progress","code":{"text":"Weekly talk"},"reasonCode":[{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":"F32.9","display":"Depressive episode, unspecified"}]}]}},` +
			`{"detail":{"status":"in-progress","code":{"text":"Walking group"},"reasonCode":[{"coding":"exercise"}]}}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db, path := mustOpenDBFile(t)
			p := importSources(t, db, []string{"gp", refDepression,
				`{"resourceType":"CarePlan","id":"cp1","status":"active","intent":"plan","title":"Support plan","subject":{"reference":"Patient/%[1]s"},"period":{"start":"2025-02-01"},"activity":` + tc.activity + `}`,
			})
			keepOutKind(t, db, p, store.CategoryMentalHealth)
			check := func(when string) {
				t.Helper()
				if got := shownIn(t, store.ForCarer(ctx, fhir.SectionCarePlans), db, p, fhir.SectionCarePlans); len(got) != 0 {
					t.Errorf("%s, a carer's care plans: %q; want none", when, got)
				}
				if leaks := carerDownloadHolds(t, db, p, "Depressive"); len(leaks) != 0 {
					t.Errorf("%s, a carer's download: %q", when, leaks)
				}
			}
			check("as imported")
			db = rerunMigration(t, db, path, 55, `DELETE FROM record_item_reasons`, `UPDATE record_items SET reason_codes = ''`)
			check("after migration 0055, before the re-read")
			if _, err := db.FinishStalledBulkLoad(ctx, true); err != nil {
				t.Fatal(err)
			}
			check("after the re-read")
		})
	}
}

// carerSees fails unless a carer sees n entries in the section and their
// download names never nowhere.
func carerSees(t *testing.T, db *store.DB, p int64, section string, n int, never string) {
	t.Helper()
	if got := shownIn(t, store.ForCarer(context.Background(), section), db, p, section); len(got) != n {
		t.Errorf("a carer's %s: %q; want %d", section, got, n)
	}
	if leaks := carerDownloadHolds(t, db, p, never); len(leaks) != 0 {
		t.Errorf("a carer's download names %q in: %q", never, leaks)
	}
}
