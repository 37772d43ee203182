-- 0019: which report stands for a fact (store/dedup.go standsAside) reads
-- each report's status since 0018; the index it is read from holds it too,
-- so working out a fact still touches no table row.
DROP INDEX IF EXISTS record_items_person_key;
CREATE INDEX record_items_person_key ON record_items(person_id, dedup_key, source_id, status);
