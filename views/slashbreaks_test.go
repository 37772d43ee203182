package views

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/a-h/templ"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// TestUnitsBreakAfterASlash: a result's value and normal range may break
// their line after each "/" of a unit, and add no space, so "mL/min/1.73m²"
// never holds a results table wider than its column (a WCAG 2.2 review:
// with text spaced out for reading it ran under the record's menu).
func TestUnitsBreakAfterASlash(t *testing.T) {
	egfr := store.Result{Measures: []store.Measure{{Value: 58, Number: "58", Unit: "mL/min/1.73m2", UnitCode: "mL/min/{1.73_m2}",
		Range: store.Range{Low: 60, HasLow: true, Unit: "mL/min/1.73m2"}}}}
	for name, c := range map[string]templ.Component{"value": resultValue(egfr), "normal range": resultRange(egfr)} {
		var b strings.Builder
		if err := c.Render(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		got := b.String()
		if n := strings.Count(got, "/"); n == 0 || strings.Count(got, "/<wbr>") != n || strings.Contains(got, "/<wbr> ") || strings.Contains(got, " /") {
			t.Errorf("the %s of an eGFR: %q; want a place to break after each slash, and no space beside one", name, got)
		}
	}
}

// TestResultPartsApartWithoutStyles: with the site's styles off, a blood
// pressure's parts share a line, so something must stand between them
// (a WCAG 2.2 review: "121 mmHgDiastolic: 80 mmHg"); with them on, each
// is a line of its own and the separator is not shown.
func TestResultPartsApartWithoutStyles(t *testing.T) {
	bp := store.Result{Measures: []store.Measure{
		{Name: "Systolic blood pressure", Value: 121, Number: "121", Unit: "mmHg", Range: store.Range{High: 140, HasHigh: true, Unit: "mmHg"}},
		{Name: "Diastolic blood pressure", Value: 80, Number: "80", Unit: "mmHg", Range: store.Range{High: 90, HasHigh: true, Unit: "mmHg"}},
	}}
	tags := regexp.MustCompile(`<[^>]*>`)
	for name, c := range map[string]templ.Component{"value": resultValue(bp), "normal range": resultRange(bp), "flag": resultFlag(bp)} {
		var b strings.Builder
		if err := c.Render(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		html := b.String()
		text := strings.Join(strings.Fields(tags.ReplaceAllString(html, "")), " ")
		if !regexp.MustCompile(`\S; Diastolic`).MatchString(text) || strings.Count(html, `<span class="mcr-part-sep">; </span>`) != 1 {
			t.Errorf("the %s of a blood pressure, without styles: %q (from %q); want its parts apart, as \"…; Diastolic…\"", name, text, html)
		}
	}
	css, err := os.ReadFile("../static/css/portal.css")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`\.mcr-part-sep \{\s*display: none;\s*\}`).Match(css) {
		t.Error("portal.css does not hide .mcr-part-sep: with the styles on, a part's separator would show at the start of its line")
	}
}

// TestSectionTablesKeepAnItemsNameApartFromItsDetail: in the record's and
// print's section tables, an item's name and its detail read apart with the
// site's styles off, or copied (a review: "Type 2 diabetesDiet controlled").
func TestSectionTablesKeepAnItemsNameApartFromItsDetail(t *testing.T) {
	it := store.RecordItem{ID: 1, Section: "conditions", Display: "Type 2 diabetes", Date: "2026-01-02", Status: "active",
		Detail: "Diet controlled", Source: store.Source{Name: "lth", OrgName: "Leeds"}}
	sp := store.SectionPage{Section: fhir.Section{Slug: "conditions", Title: "Conditions"}, Items: []store.RecordItem{it}, Total: 1, Page: 1, PerPage: 20}
	tags := regexp.MustCompile(`<[^>]*>`)
	for name, c := range map[string]templ.Component{"print": printTable(sp), "record": itemTable(sp)} {
		var b strings.Builder
		if err := c.Render(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		if text := tags.ReplaceAllString(b.String(), ""); !strings.Contains(text, " Diet controlled") || !strings.Contains(text, "Type 2 diabetes") {
			t.Errorf("the %s table's row reads %q: want the name and its detail apart", name, text)
		}
	}
}
