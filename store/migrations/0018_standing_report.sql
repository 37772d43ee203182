-- 0018: which report stands for a fact reported by two sources (store/dedup.go
-- standsAside) now passes over a source that says the fact was recorded in
-- error or ruled out: before, a hospital's allergy recorded in error could
-- stand for, and so hide, the GP's current one. The facts of every person with such a report, or with reports of one
-- fact from two sources, are worked out again: they are queued as a bulk
-- load's are (0010), and finished, a part per transaction, as a stalled load
-- is (store.FinishStalledBulkLoad: at once by the next sync or import
-- command, or by the serve worker within minutes).
INSERT OR IGNORE INTO dedup_backlog (person_id)
SELECT DISTINCT person_id FROM record_items WHERE dup = 1 AND person_id IS NOT NULL;
