-- 0045: an entry's reasons, as codes (fhir.Item.Reasons): an encounter's or
-- a procedure's reasonCode, each system|code and a unit separator. Keeping a
-- kind of information out of sharing (mental health, sexual health) keeps
-- out a visit or procedure whose reason is of that kind, as its words name
-- the reason; before, only the entry's own code counted, and a carer read
-- "Reason: Human immunodeficiency virus infection" on a visit (found by a
-- review). Stored entries are read again, as 0027's were, to fill it in.
ALTER TABLE record_items ADD COLUMN reason_codes TEXT NOT NULL DEFAULT '';
DELETE FROM reread_backlog;
INSERT INTO reread_backlog (after_rowid, upto_rowid) SELECT 0, MAX(rowid) FROM resources HAVING COUNT(*) > 0;
