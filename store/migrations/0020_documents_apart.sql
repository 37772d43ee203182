-- 0020: two sources' documents merge only when they say the same about themselves.
--
-- A document's fact was its type and day (store/fhir dedupKey), so two
-- sources' letters of one type on one day (a cardiology letter and a
-- psychiatry letter, both "Consult note") showed as one entry, the second
-- behind the first. Now they merge only when their descriptions are the same
-- too (store/dedup.go standsAside); otherwise each is an entry of its own.
-- The key stays as it was, so a document kept out of sharing stays out. Every person with a document marked
-- as another's duplicate is worked out again, with those facts noted so their
-- entries' search words are written afresh, finished as a stalled load's work
-- is (store.FinishStalledBulkLoad).
INSERT OR IGNORE INTO dedup_backlog (person_id)
SELECT DISTINCT person_id FROM record_items WHERE section = 'documents' AND dup = 1 AND person_id IS NOT NULL;
INSERT OR IGNORE INTO dedup_backlog_facts (person_id, dedup_key)
SELECT DISTINCT person_id, dedup_key FROM record_items WHERE section = 'documents' AND dup = 1 AND person_id IS NOT NULL;
