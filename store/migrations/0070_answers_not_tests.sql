-- 0070: an Observation of HL7's category survey or social-history (an
-- answer to a questionnaire, a smoking status) is marked an answer, not a
-- test, which the summary's recent test results leave out (fhir KindAnswer;
-- a review: Synthea's "PCP prophylaxis plan – Start drugs" was listed as a
-- test). Every stored resource is read again (the re-read covers it).
DELETE FROM reread_backlog;
INSERT INTO reread_backlog (after_rowid, upto_rowid) SELECT 0, MAX(rowid) FROM resources HAVING COUNT(*) > 0;
