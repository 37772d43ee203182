-- 0081: 0080's changes to how resources are read, read into what is stored
-- (a review: 0079's re-read had run before them): a goal's addressed
-- conditions keep it out of sharing with them, and it shares no key with a
-- later plan's goal of the same words (fhir projectGoal, entryTypes); a
-- vaccine given by CVX code is named as the NHS names it (projectImmunization);
-- a report filed as a note with "result": [] names its visit (fhir noResults).
-- Every stored resource is read again (the re-read covers it).
DELETE FROM reread_backlog;
INSERT INTO reread_backlog (after_rowid, upto_rowid) SELECT 0, MAX(rowid) FROM resources HAVING COUNT(*) > 0;
