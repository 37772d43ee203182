package views

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// reportsHeading heads the list of reports: by how many organisations, when
// more than one (a repeat prescription is many reports from one).
func reportsHeading(e store.Entry) string {
	if n := len(e.Item.Sources); n > 1 {
		return fmt.Sprintf("Recorded by %d organisations", n)
	}
	return "Where this comes from"
}

// reportText is one source's report in words.
func reportText(r store.Report) string {
	parts := []string{ItemName(r.Item)}
	if r.Item.Value != "" {
		parts = append(parts, itemValue(r.Item))
	}
	parts = append(parts, reportStatus(r.Item))
	if r.Item.Detail != "" {
		parts = append(parts, readableValue(r.Item.Detail))
	}
	return strings.Join(parts, ". ")
}

// reportUpdated says when the source last changed its report, or when we stored it.
func reportUpdated(r store.Report) string {
	if r.LastUpdated != "" {
		return formatDate(r.LastUpdated)
	}
	return "Received " + formatDate(r.StoredAt)
}

func attachmentLabel(a store.Attachment) string {
	kind := "file"
	switch {
	case strings.HasPrefix(a.ContentType, "application/pdf"):
		kind = "PDF"
	case strings.HasPrefix(a.ContentType, "text/plain"):
		kind = "text file"
	case strings.HasPrefix(a.ContentType, "text/html"):
		kind = "web page file"
	case strings.HasPrefix(a.ContentType, "image/"):
		kind = "image"
	}
	name := firstNonEmpty(a.Title, "the document")
	return fmt.Sprintf("Download %s (%s)", name, kind)
}

// relatedHeading heads the entries related to it by what they are: a
// report's results, unless it names other entries too, such as its visit
// (a review: "Results in this report" listed an emergency visit, and a
// Synthea note's "Well child visit" alone).
func relatedHeading(it store.RecordItem, related []store.RecordItem) string {
	switch it.ResourceType {
	case "Encounter":
		return "Found or done at this visit"
	case "DiagnosticReport":
		if !slices.ContainsFunc(related, func(r store.RecordItem) bool { return r.Section != fhir.SectionResults }) {
			return "Results in this report"
		}
	}
	return "Related"
}

// relatedWhen tells apart, in the link's own words, related entries of the
// same name: eight visits called "Normal pregnancy" (WCAG 2.4.4).
func relatedWhen(r store.RecordItem) string {
	if strings.TrimSpace(r.Date) == "" {
		return ""
	}
	return ", " + itemDate(r)
}

// relatedMeta is what the related entry is, when, its value, and its status
// when that is other than the usual one for what it is: a diagnosis at a
// visit that was recorded in error or ruled out, a procedure not done, a
// result still early, must never read as standing (found by a
// clinical-safety review).
func relatedMeta(r store.RecordItem) string {
	s := " – " + sectionTitle(r.Section) + ", " + itemDate(r)
	if r.Value != "" {
		s += ": " + itemValue(r)
	}
	if st := strings.ToLower(strings.TrimSpace(r.Status)); st != "" && !usualStatus[st] {
		s += ". " + statusText(st)
	}
	return s
}

// usualStatus are the statuses a related entry goes without saying: it
// happened, it holds, it is the final word.
var usualStatus = map[string]bool{"final": true, "amended": true, "corrected": true, "completed": true,
	"finished": true, "active": true, "current": true, "confirmed": true, "fulfilled": true}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
