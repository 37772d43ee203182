package store

import "context"

// Performer is who made a change: an account, by name, and whether as a carer
// acting for the person (with their relationship, e.g. "daughter").
type Performer struct {
	AccountID    int64
	Name         string
	Carer        bool
	Relationship string
}

type forCarerKey struct{}

// ForCarer marks reads made on ctx as being for a carer: items the person has
// withheld from sharing are left out of every read of their record.
func ForCarer(ctx context.Context) context.Context {
	return context.WithValue(ctx, forCarerKey{}, true)
}

// IsForCarer says whether reads on ctx are for a carer.
func IsForCarer(ctx context.Context) bool {
	v, _ := ctx.Value(forCarerKey{}).(bool)
	return v
}
