-- 0027: names from the resources record items point at.
--
-- A source may name who took part only by a reference ("Organization/123",
-- "Practitioner/7"), and a medicine only by a reference to a Medication, with
-- no display text beside it: the item showed no organisation, or "Medicine
-- (name not recorded)", though sync fetches those resources. Now the item
-- keeps the reference (store/fhir Item.OrganisationRef, Item.DisplayRef) and
-- the importer fills the name in from the resource once the cache holds it,
-- and again whenever it changes (store/import.go): reference_names holds each
-- such resource's name, and for a Medication its code, so a medicine named
-- this way is found by its code for sharing choices and duplicates as any
-- other. Items stored before are read again from their stored resources
-- (reread_backlog below; store.RereadStored).
ALTER TABLE record_items ADD COLUMN organisation_ref TEXT NOT NULL DEFAULT '';
ALTER TABLE record_items ADD COLUMN display_ref TEXT NOT NULL DEFAULT '';
CREATE INDEX record_items_organisation_ref ON record_items(source_id, organisation_ref) WHERE organisation_ref != '';
CREATE INDEX record_items_display_ref ON record_items(source_id, display_ref) WHERE display_ref != '';

CREATE TABLE reference_names (
    source_id   INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    ref         TEXT NOT NULL,              -- e.g. 'Medication/5'
    display     TEXT NOT NULL,
    code_system TEXT NOT NULL DEFAULT '',
    code        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (source_id, ref)
) WITHOUT ROWID;

-- Every resource stored before is read again, a part per transaction, by the
-- next bulk-load finishing step (store.FinishStalledBulkLoad: the serve
-- worker at start, portal sync or import): its items are written again in
-- place where they changed, so they keep their ids and the access log still
-- names them, and a named resource's name is noted (store/names.go).
-- Resources with a rowid above after_rowid and up to upto_rowid are left.
CREATE TABLE reread_backlog (after_rowid INTEGER NOT NULL, upto_rowid INTEGER NOT NULL);
INSERT INTO reread_backlog (after_rowid, upto_rowid) SELECT 0, MAX(rowid) FROM resources HAVING COUNT(*) > 0;
