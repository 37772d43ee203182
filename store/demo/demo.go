// Package demo builds realistic, multi-source FHIR R4 demo data in code.
//
// Every organisation's share of the record comes back as a FHIR Bundle of type
// "collection". The data overlaps between sources on purpose (the same
// medicine, allergy, condition and test results recorded by the GP and the
// hospital), so de-duplication has something to do. Output is deterministic:
// a fixed random seed and a fixed reference date, never the clock.
package demo

import (
	"math/rand/v2"
	"time"
)

// Source is one organisation's share of the demo data, as a FHIR Bundle.
type Source struct {
	Name    string // short machine name, e.g. "meanwood-gp"
	OrgName string // e.g. "Meanwood Group Practice"
	Bundle  []byte // a FHIR R4 Bundle of type "collection", as JSON
}

// Person describes a demo person, enough to print an enrolment link.
type Person struct {
	Prefix    string
	Given     string
	Family    string
	BirthDate string // YYYY-MM-DD
	NHSNumber string // 10 digits, valid modulus-11 check digit
	Gender    string // FHIR administrative gender
}

// Name returns the person's name as a letter would address them.
func (p Person) Name() string {
	return p.Prefix + " " + p.Given + " " + p.Family
}

// People returns the demo persons. The first is always Mrs Jane Example; the
// last has almost no data, so pages can show their empty sections.
func People() []Person {
	return []Person{
		{Prefix: "Mrs", Given: "Jane", Family: "Example", BirthDate: "1957-03-14", NHSNumber: "9434765919", Gender: "female"},
		{Prefix: "Mr", Given: "Amir", Family: "Khan", BirthDate: "1968-09-22", NHSNumber: "9434765927", Gender: "male"},
		{Prefix: "Ms", Given: "Chloe", Family: "Taylor", BirthDate: "1995-07-30", NHSNumber: "9434765935", Gender: "female"},
	}
}

// LargePerson returns the single person that Large generates data for.
func LargePerson() Person {
	return Person{Prefix: "Mr", Given: "Lawrence", Family: "Large", BirthDate: "1950-06-02", NHSNumber: "9434765943", Gender: "male"}
}

// ReferenceDate is "today" in the demo world: every past event is before it
// and every booked appointment after it.
func ReferenceDate() time.Time {
	return time.Date(2026, time.November, 1, 9, 0, 0, 0, time.UTC)
}

// newRand returns the generator's source of variation. A fixed seed keeps
// every call byte-for-byte identical.
func newRand(stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(20261101, stream))
}

// Generate returns the demo sources: the GP practice, the hospital trust and
// a community care provider. It returns the same bytes on every call.
func Generate() []Source {
	r := newRand(1)
	people := People()
	jane := janeHbA1cSeries(r)

	return []Source{
		meanwoodGP(r, people, jane),
		leedsHospital(r, people, jane),
		leedsCommunity(people),
	}
}
