-- 0074: where on the body a procedure was done, or a dose is given, is said
-- in a person's words, not as SNOMED CT names a body structure ("Left eye
-- structure" is "Left eye"; fhir bodySiteWords; a plain-English review).
-- Every stored resource is read again (the re-read covers it).
DELETE FROM reread_backlog;
INSERT INTO reread_backlog (after_rowid, upto_rowid) SELECT 0, MAX(rowid) FROM resources HAVING COUNT(*) > 0;
