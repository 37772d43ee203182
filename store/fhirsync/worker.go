package fhirsync

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/mycarerecord/portal/store"
)

// Worker runs pulls in the background, a bounded number at a time from each
// source, so no request ever waits on an upstream server (requests only queue
// work) and a source that hangs or crawls holds up only its own pulls: every
// other source's pulls, for this person and everyone else, go on beside them.
type Worker struct {
	puller    *Puller
	log       *slog.Logger
	perSource int // pulls from one source at once
	waiting   int // pulls from one source waiting or under way, at most
	freshness time.Duration
	now       func() time.Time

	queue  chan int64
	mu     sync.Mutex
	queued map[int64]bool         // persons in the queue
	pulls  map[pull]bool          // waiting for their source's turn or under way, so none runs twice at once
	slots  map[int64]*sourceTurns // by source
}

// pull is one person's pull from one source.
type pull struct{ person, source int64 }

// sourceTurns are a source's turns: a slot for each pull from it under way,
// and how many pulls are waiting or under way.
type sourceTurns struct {
	run  chan struct{}
	held int
}

// WorkerOptions tune the worker.
type WorkerOptions struct {
	Concurrency int           // persons pulled at once from each source; default 2
	Freshness   time.Duration // data younger than this is not pulled again on sign-in; default 15 minutes
	// QueueSize bounds the persons queued, and the pulls waiting at any one
	// source; default 1000. Beyond it new work is dropped and picked up by
	// the next round.
	QueueSize int
}

// NewWorker returns a worker; Run starts it.
func NewWorker(p *Puller, log *slog.Logger, opts WorkerOptions) *Worker {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 2
	}
	if opts.Freshness <= 0 {
		opts.Freshness = 15 * time.Minute
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 1000
	}
	return &Worker{puller: p, log: log, perSource: opts.Concurrency, waiting: opts.QueueSize, freshness: opts.Freshness, now: time.Now,
		queue: make(chan int64, opts.QueueSize), queued: map[int64]bool{}, pulls: map[pull]bool{}, slots: map[int64]*sourceTurns{}}
}

// Enqueue asks for the person to be pulled from every FHIR server source. It
// never blocks; it reports whether the work was queued. A source the person
// is being pulled from already is not pulled again meanwhile.
func (w *Worker) Enqueue(personID int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.queued[personID] {
		return true
	}
	select {
	case w.queue <- personID:
		w.queued[personID] = true
		return true
	default:
		return false
	}
}

// EnqueueIfStale queues the person when any source's data is older than the
// freshness, or has never been pulled, and no sync of it is under way. A
// running mark older than store.RunningMarkLife was left by a process that
// stopped (a portal sync killed while serve runs): it holds nothing up.
// Every source counts, though a carer's request may ask: one that shows the
// carer nothing yet may be the one that has something new.
func (w *Worker) EnqueueIfStale(ctx context.Context, personID int64) {
	sts, err := w.puller.DB.SyncStatuses(store.ForPortal(ctx), personID)
	if err != nil {
		w.log.Error("sync status", "person", personID, "err", err)
		return
	}
	now := w.now()
	for _, st := range sts {
		if w.stale(st, now) {
			w.Enqueue(personID)
			return
		}
	}
}

// stale says whether the person's data from the source is older than the
// freshness, or was never brought, and no pull of it is under way nor
// failed within retryGap. By when it was last brought, not last tried (a
// review: signing in with data five hours old, minutes after a try failed,
// pulled nothing, for up to the freshness again).
func (w *Worker) stale(st store.SyncStatus, now time.Time) bool {
	if st.Running(now) {
		return false
	}
	if brought, err := time.Parse(time.RFC3339Nano, st.LastSuccessAt); err == nil && now.Sub(brought) < w.freshness {
		return false
	}
	// A try that failed is not made again within retryGap; one that worked
	// is, once the freshness has passed.
	tried, err := time.Parse(time.RFC3339Nano, st.LastAttemptAt)
	return err != nil || st.LastError == "" || now.Sub(tried) >= retryGap
}

// retryGap is the least time between tries of a source whose last failed,
// on sign-in or in the periodic round: as long as a source's breaker stays
// open (ClientOptions.BreakerCooldown), so a source down is not asked on
// every sign-in, nor is anyone kept waiting the freshness for one back up.
const retryGap = time.Minute

// Run pulls queued persons until ctx ends. A pull in progress is cancelled;
// its last stored page and checkpoint stand, so the next run resumes there.
func (w *Worker) Run(ctx context.Context) {
	if err := w.puller.DB.ClearRunning(ctx); err != nil {
		w.log.Error("clear running syncs", "err", err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-w.queue:
			w.mu.Lock()
			delete(w.queued, id)
			w.mu.Unlock()
			w.pullAll(ctx, &wg, id)
		}
	}
}

// RunPeriodic queues, every interval, the persons whose sessions were active
// within the last active period, forgets syncs left running by a process
// that was killed (store.ClearRunning), and finishes the work of a bulk load that
// stopped half way (store.FinishStalledBulkLoad), until ctx ends; it returns
// once that finishing has stopped too.
func (w *Worker) RunPeriodic(ctx context.Context, every, active time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	finishing := make(chan struct{}, 1) // one finish at a time, beside the queueing
	finish := func() {
		select {
		case finishing <- struct{}{}:
			go func() {
				defer func() { <-finishing }()
				switch done, err := w.puller.DB.FinishStalledBulkLoad(ctx, true); {
				case err != nil && ctx.Err() == nil:
					w.log.Error("finish a stalled bulk load", "err", err)
				case err == nil && done:
					// Not when stopped part way (an operator review: it said finished).
					w.log.Info("finished work left for later: a bulk load that had stopped half way, or stored records read again after an update")
				}
			}()
		default: // the last one is still at work
		}
	}
	finish() // at start too: work a portal stopped in, or a migration queued, waits no longer than it must
	for {
		select {
		case <-ctx.Done():
			finishing <- struct{}{} // the last finish has stopped: the database may close
			return
		case <-t.C:
			finish()
			// A portal sync killed meanwhile left its syncs marked running: they
			// are taken up again now, not when their marks grow old.
			if err := w.puller.DB.ClearRunning(ctx); err != nil && ctx.Err() == nil {
				w.log.Error("clear syncs left running", "err", err)
			}
			ids, err := w.puller.DB.RecentlyActivePersons(ctx, w.now().Add(-active))
			if err != nil {
				w.log.Error("recently active persons", "err", err)
				continue
			}
			for _, id := range ids {
				w.EnqueueIfStale(ctx, id)
			}
		}
	}
}

// pullAll starts the person's pull from every FHIR server source whose data
// of them is stale, each waiting for a turn at its own source only, and
// returns: a source that never answers holds up only the pulls from it, and
// a person queued again while one waits there is pulled again only from
// sources due a pull.
func (w *Worker) pullAll(ctx context.Context, wg *sync.WaitGroup, personID int64) {
	srcs, err := w.puller.DB.Sources(ctx)
	if err != nil {
		w.log.Error("list sources", "err", err)
		return
	}
	sts, err := w.puller.DB.SyncStatuses(store.ForPortal(ctx), personID)
	if err != nil {
		w.log.Error("sync status", "person", personID, "err", err)
		return
	}
	fresh := map[int64]bool{}
	now := w.now()
	for _, st := range sts {
		fresh[st.Source.ID] = !w.stale(st, now)
	}
	for _, src := range srcs {
		if src.BaseURL == "" || fresh[src.ID] {
			continue
		}
		p := pull{personID, src.ID}
		turns, ok := w.take(p)
		if !ok {
			continue
		}
		wg.Go(func() {
			defer w.release(p, turns)
			select {
			case turns.run <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-turns.run }()
			w.pullOne(ctx, src, personID)
		})
	}
}

// take notes the pull as waiting for its source's turn, unless it is waiting
// or under way already, or too many are waiting there (the next round
// queues it again).
func (w *Worker) take(p pull) (*sourceTurns, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := w.slots[p.source]
	if t == nil {
		t = &sourceTurns{run: make(chan struct{}, w.perSource)}
		w.slots[p.source] = t
	}
	if w.pulls[p] || t.held >= w.waiting {
		return nil, false
	}
	w.pulls[p] = true
	t.held++
	return t, true
}

// release notes the pull as done.
func (w *Worker) release(p pull, t *sourceTurns) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.pulls, p)
	t.held--
}

func (w *Worker) pullOne(ctx context.Context, src store.Source, personID int64) {
	start := time.Now()
	sum, err := w.puller.PullPerson(ctx, src, personID, nil)
	switch {
	case errors.Is(err, ErrNoIdentifier):
		// Not asked: an operator can give them an identifier (import with --link-system) so they are.
		w.log.Info("not looked for there: no NHS number or linking identifier", "source", src.Name, "person", personID)
		return
	case errors.Is(err, ErrNoRecord):
		w.log.Info("no record there", "source", src.Name, "person", personID) // not a failure (store.SyncStatus.NoRecord)
		return
	case errors.Is(err, store.ErrSyncUnderWay):
		w.log.Info("left to the sync under way already (portal sync, say)", "source", src.Name, "person", personID)
		return
	case err != nil && ctx.Err() != nil:
		w.log.Info("sync stopped part way; the next resumes there", "source", src.Name, "person", personID)
		return
	case err != nil:
		w.log.Warn("sync failed", "source", src.Name, "person", personID, "err", err)
		return
	}
	w.log.Info("synced", "source", src.Name, "person", personID, "added", sum.Added, "updated", sum.Updated,
		"deleted", sum.Deleted, "deleted_from_others", sum.DeletedOthers, "rejected", sum.Rejected, "took", time.Since(start).Round(time.Millisecond))
	for _, words := range sum.Warnings {
		w.log.Warn("the server warned", "source", src.Name, "person", personID, "said", words)
	}
}
