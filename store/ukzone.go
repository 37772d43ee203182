package store

import (
	"sync"
	"time"
)

// UKZone is UK time (Europe/London), in which people name days: the date a
// carer's access ends begins at midnight there, not at midnight UTC, an hour
// earlier in summer. The binary carries the zone data (time/tzdata in
// cmd/portal), so it does not depend on the machine's.
var UKZone = sync.OnceValue(func() *time.Location {
	if l, err := time.LoadLocation("Europe/London"); err == nil {
		return l
	}
	return time.UTC
})
