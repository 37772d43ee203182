package store

import "github.com/mycarerecord/portal/store/fhir"

// UKZone is UK time (Europe/London), in which people name days (fhir.UKZone,
// which the projection of resources reads too).
var UKZone = fhir.UKZone
