-- 0069: a blood pressure's parts are stored systolic first, however the
-- source lists them (fhir projectObservation; a review: Synthea lists
-- diastolic first, and 107/74 read as 74/107).
-- Every stored resource is read again (the re-read, started again, covers it).
DELETE FROM reread_backlog;
INSERT INTO reread_backlog (after_rowid, upto_rowid) SELECT 0, MAX(rowid) FROM resources HAVING COUNT(*) > 0;
