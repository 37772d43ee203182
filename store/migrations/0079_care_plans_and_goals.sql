-- 0079: a completed care plan says when it ended ("Ended 26 April 1976"),
-- as a condition does (fhir projectCarePlan), and health goals are shown
-- with the care plans, each plan linking its own (fhir projectGoal): a
-- review of real Synthea records found a respiratory therapy plan giving
-- only when it began, and a diabetes plan's five goals on no page. Every
-- stored resource is read again (the re-read covers it).
DELETE FROM reread_backlog;
INSERT INTO reread_backlog (after_rowid, upto_rowid) SELECT 0, MAX(rowid) FROM resources HAVING COUNT(*) > 0;
