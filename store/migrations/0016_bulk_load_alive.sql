-- 0016: an ordinary import no longer finishes a bulk load's work.
--
-- Before, every ordinary import finished what a bulk load had left (0010,
-- 0015): one person's sync during a region's first load indexed and marked
-- everything the load had stored so far, and built its deferred indexes, in
-- the one transaction of a page, holding the write lock for as long as that
-- took. Now an import made while a load has work left leaves what it stores
-- to the load's end, like the load's own rows. The load notes here, with
-- each batch and each step of its end, when it last did something. A load
-- quiet for longer than store.BulkLoadQuiet is taken to have died: the serve
-- worker, or the next sync or import command, finishes its work
-- (store.FinishStalledBulkLoad), one index, or one batch of items or
-- persons, per transaction.
CREATE TABLE bulk_load_alive (id INTEGER PRIMARY KEY CHECK (id = 1), at TEXT NOT NULL);

-- A person's facts waiting in dedup_backlog (0010) are worked out together at
-- the load's end, which covers every fact still reported twice, but not one
-- that lost its last other report (deleted or changed upstream while the load
-- had work left): its entry would keep the lost report's words in search for
-- good. Those facts are noted here too.
CREATE TABLE dedup_backlog_facts (person_id INTEGER NOT NULL, dedup_key TEXT NOT NULL, PRIMARY KEY (person_id, dedup_key)) WITHOUT ROWID;
