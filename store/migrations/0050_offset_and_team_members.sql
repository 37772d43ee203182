-- 0050: every stored resource is read again (as 0046's were), so items
-- stored before take what the importer now reads: a dose's timing says its
-- offset ("30 minutes before breakfast", where it said "before breakfast"),
-- and a care team member given only as a reference to a practitioner is
-- listed, under the practitioner's name (they were left out). Kept-out
-- choices hold through a medicine's new key (store holdKeptOutKey). A
-- re-read already under way starts again from the beginning, which covers it.
DELETE FROM reread_backlog;
INSERT INTO reread_backlog (after_rowid, upto_rowid) SELECT 0, MAX(rowid) FROM resources HAVING COUNT(*) > 0;
