package store

import "time"

// RunningMarkLife is how long a sync may be marked running before the mark is
// taken as left behind by a process that stopped without clearing it (killed,
// or the machine lost power). Pages and the sync worker read the mark by this
// one rule, through SyncStatus.Running.
const RunningMarkLife = 10 * time.Minute

// Running reports whether the sync was under way at now: marked running less
// than RunningMarkLife ago. A mark that cannot be read counts as left behind.
func (st SyncStatus) Running(now time.Time) bool {
	since, err := time.Parse(time.RFC3339Nano, st.RunningSince)
	return st.RunningSince != "" && err == nil && now.Sub(since) < RunningMarkLife
}
