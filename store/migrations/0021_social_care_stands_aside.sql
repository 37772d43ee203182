-- 0021: a social care service's report no longer stands for a fact a health
-- service reports too (store/dedup.go standsAside). When a person keeps social
-- care out of sharing, their carer's lists leave out the social care reports;
-- if one of those stood for a fact, the fact went missing from the carer's
-- list, though the GP reports it too. The facts of every person with a report
-- from a social care service are worked out again, queued as 0018's were.
INSERT OR IGNORE INTO dedup_backlog (person_id)
SELECT DISTINCT person_id FROM record_items
WHERE person_id IS NOT NULL AND source_id IN (SELECT id FROM sources WHERE social_care = 1);
