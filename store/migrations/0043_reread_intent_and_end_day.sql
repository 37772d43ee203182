-- 0043: every stored resource is read again (as 0027's were: a part per
-- transaction by the next bulk-load finishing step, store.rereadStored), so
-- items stored before take what the importer now reads: a medicine request
-- that only proposes the medicine is "proposed" (or "proposal-cancelled" and
-- the like), never a prescription (store/fhir requestStatus), a condition's end is its
-- UK day (store/fhir dayOf), and a result with normal ranges for several
-- groups (women and men) is compared with none of them, each named with
-- whom it is for (store/fhir ComparedRange), and a result's value is one
-- fact however its numbers are written, "5.0" or "5", and on its UK day
-- (store/fhir sameNumbers and dayOf, in its dedup key); a value compared
-- the same way with each of several ranges is flagged so (AgreedFlag); a
-- draft document is no current one, a vaccination says what it is of
-- itself, and what did not happen is another fact than what did. A re-read already under way starts again
-- from the beginning, which covers it.
DELETE FROM reread_backlog;
INSERT INTO reread_backlog (after_rowid, upto_rowid) SELECT 0, MAX(rowid) FROM resources HAVING COUNT(*) > 0;
