-- 0035: which organisation's report stands for a medicine changed (store/dedup.go:
-- one whose latest report says something else than the latest report of all no
-- longer stands). The persons with medicines reported by more than one
-- organisation have their duplicate marks worked out again, as after a bulk
-- load (migration 0010: the next sync, import or serve worker does it).
INSERT OR IGNORE INTO dedup_backlog (person_id)
SELECT DISTINCT person_id FROM record_items WHERE section = 'medicines' AND dup = 1 AND person_id IS NOT NULL;
