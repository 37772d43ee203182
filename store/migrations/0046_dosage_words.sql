-- 0046: every stored resource is read again (as 0043's were: a part per
-- transaction, store.rereadStored), so a medicine's dose takes what the
-- importer now reads: every dosage instruction, in its sequence, not the
-- first alone (a split dose read as its first part), and one with no text
-- put in words from its parts ("1, once a day", "when needed"), which
-- showed nothing (store/fhir dosageText). A re-read already under way starts
-- again from the beginning, which covers it.
DELETE FROM reread_backlog;
INSERT INTO reread_backlog (after_rowid, upto_rowid) SELECT 0, MAX(rowid) FROM resources HAVING COUNT(*) > 0;
