-- 0068: a visit over more than one day (a hospital stay) says when it
-- ended, "Until 2026-03-01", which the pages say in words (fhir
-- projectEncounter; a review: Synthea's three-night stays read as one day).
-- Every stored resource is read again (the re-read, started again, covers it).
DELETE FROM reread_backlog;
INSERT INTO reread_backlog (after_rowid, upto_rowid) SELECT 0, MAX(rowid) FROM resources HAVING COUNT(*) > 0;
