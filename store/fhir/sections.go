package fhir

// Section slugs: the parts of a record a person reads, one page each.
const (
	SectionAllergies     = "allergies"
	SectionMedicines     = "medicines"
	SectionConditions    = "conditions"
	SectionImmunisations = "immunisations"
	SectionResults       = "results"
	SectionEncounters    = "encounters"
	SectionProcedures    = "procedures"
	SectionDocuments     = "documents"
	SectionCarePlans     = "care-plans"
	SectionCareTeam      = "care-team"
)

// Section describes one part of the record as people see it.
type Section struct {
	Slug  string // used in URLs: /record/{slug}
	Title string // page heading, e.g. "Test results"
	Empty string // what an empty section says, kindly
}

// Sections lists every section in the order pages show them. It returns a new
// slice each time, so callers cannot change it for others.
func Sections() []Section {
	return []Section{
		{SectionAllergies, "Allergies", "No allergies or reactions have been recorded for you."},
		{SectionMedicines, "Medicines", "No medicines have been recorded for you."},
		{SectionConditions, "Health conditions", "No health conditions have been recorded for you."},
		{SectionImmunisations, "Vaccinations", "No vaccinations have been recorded for you."},
		{SectionResults, "Test results", "You do not have any test results yet."},
		{SectionEncounters, "Appointments and visits", "No visits or appointments have been recorded for you."},
		{SectionProcedures, "Procedures", "No procedures have been recorded for you."},
		{SectionDocuments, "Documents", "You do not have any documents yet."},
		{SectionCarePlans, "Care plans", "You do not have a care plan yet."},
		{SectionCareTeam, "Care team", "No one has been recorded as part of your care team yet."},
	}
}

// SectionBySlug returns the section with that slug.
func SectionBySlug(slug string) (Section, bool) {
	for _, s := range Sections() {
		if s.Slug == slug {
			return s, true
		}
	}
	return Section{}, false
}
