-- 0042: which report stands for an allergy or condition two sources report
-- (store/dedup.go standsAside, heldFacts) is now one that says it holds now,
-- or else the latest: before, a hospital's older "inactive" penicillin
-- allergy could stand for, and so hide from the summary, the GP's current
-- one. The facts of every person with two sources' reports of an allergy or
-- condition are worked out again, as 0018's were: queued as a bulk load's
-- are, and finished a part per transaction (store.FinishStalledBulkLoad).
INSERT OR IGNORE INTO dedup_backlog (person_id)
SELECT DISTINCT person_id FROM record_items WHERE dup = 1 AND person_id IS NOT NULL AND section IN ('allergies', 'conditions');
