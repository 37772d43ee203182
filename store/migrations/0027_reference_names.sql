-- 0027: names from the resources record items point at.
--
-- A source may name who took part only by a reference ("Organization/123",
-- "Practitioner/7"), and a medicine only by a reference to a Medication, with
-- no display text beside it: the item showed no organisation, or "Medicine
-- (name not recorded)", though sync fetches those resources. Now the item
-- keeps the reference (store/fhir Item.OrganisationRef, Item.DisplayRef) and
-- reference_names holds each such resource's name, and a Medication's code,
-- as the importer stores it (store/names.go). Pages and the search index read
-- who took part through the reference (store/record.go itemOrganisation, the
-- view below), so a renamed practice rewrites no item. A medicine's name and
-- code are written into its item, since sharing choices read the code there;
-- its dedup key stays as stored, so a choice to keep the entry out of sharing
-- still holds. Items stored before are read again from their stored resources
-- (reread_backlog below; store.rereadStored).
ALTER TABLE record_items ADD COLUMN organisation_ref TEXT NOT NULL DEFAULT '';
ALTER TABLE record_items ADD COLUMN display_ref TEXT NOT NULL DEFAULT '';
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
-- names them, and a named
-- resource's name is noted (store/names.go).
-- Resources with a rowid above after_rowid and up to upto_rowid are left.
CREATE TABLE reread_backlog (after_rowid INTEGER NOT NULL, upto_rowid INTEGER NOT NULL);
INSERT INTO reread_backlog (after_rowid, upto_rowid) SELECT 0, MAX(rowid) FROM resources HAVING COUNT(*) > 0;

-- The search index reads who took part as the pages do (store/record.go
-- itemOrganisation): through the reference, when the resource gave only that.
-- A practice renamed later is found by its new name once its entries are
-- indexed again (a sync of the person that brings anything in, or the
-- daily listing, does so: store.IndexNamesFor).
DROP VIEW record_search_rows;
CREATE VIEW record_search_rows AS
SELECT ri.id AS item_id, ri.person_id, ri.dedup_key,
    (COALESCE((SELECT n FROM search_sections WHERE slug = ri.section), 0) << 40) | ri.id AS fts_rowid,
    CASE WHEN ri.person_id IS NULL THEN '' ELSE '0p' || ri.person_id || 'v 0p' || ri.person_id || replace(ri.section, '-', '') END AS scope,
    ri.display, ri.code, ri.value, ri.detail,
    CASE WHEN ri.organisation_ref = '' THEN ri.organisation ELSE COALESCE((SELECT n.display FROM reference_names n
        WHERE n.source_id = ri.source_id AND n.ref = ri.organisation_ref), '') END AS organisation,
    COALESCE((SELECT COALESCE(NULLIF(org_name, ''), name) FROM sources WHERE id = ri.source_id), '') AS source,
    CASE WHEN ri.dedup_key = '' OR ri.person_id IS NULL THEN '' ELSE COALESCE((
        SELECT group_concat(DISTINCT d.display || ' ' || d.code || ' ' || d.value || ' ' || d.detail || ' '
            || CASE WHEN d.organisation_ref = '' THEN d.organisation ELSE COALESCE((SELECT n.display FROM reference_names n
                WHERE n.source_id = d.source_id AND n.ref = d.organisation_ref), '') END || ' '
            || COALESCE((SELECT COALESCE(NULLIF(org_name, ''), name) FROM sources WHERE id = d.source_id), ''))
        FROM record_items d WHERE d.person_id = ri.person_id AND d.dedup_key = ri.dedup_key AND d.dup = 1), '') END AS others
FROM record_items ri WHERE ri.dup = 0;

-- The keys an item was kept out of sharing by before its key changed. A
-- choice to keep one entry out is held by the entry's key (store.ItemKey:
-- its dedup key, or its resource when it has none), and the key can change:
-- a medicine's dose or code corrected upstream, a medicine that comes to be
-- given by a Medication, or the re-read below. The importer, rewriting an
-- item the person keeps out, keeps its old key here (store/import.go
-- holdKeptOutKey; an item keeps its held keys when its resource gains or
-- loses items), sharing choices match an item by any of its keys
-- (store/consent.go), and sharing the entry again removes the key's rows.
-- Only kept-out keys are held, so a later choice about another entry with
-- the old key never catches this one.
CREATE TABLE held_keys (
    key     TEXT NOT NULL,
    item_id INTEGER NOT NULL REFERENCES record_items(id) ON DELETE CASCADE,
    PRIMARY KEY (key, item_id)
) WITHOUT ROWID;
CREATE INDEX held_keys_item ON held_keys(item_id);

-- An item's words in the search index change too when it comes to name
-- someone else only by a reference (a prescriber changed upstream).
DROP TRIGGER record_search_update;
CREATE TRIGGER record_search_update AFTER UPDATE OF id, person_id, section, dup, display, code, value, detail, organisation, organisation_ref, source_id ON record_items
WHEN (old.id IS NOT new.id OR old.person_id IS NOT new.person_id OR old.section IS NOT new.section OR old.dup IS NOT new.dup
    OR old.display IS NOT new.display OR old.code IS NOT new.code OR old.value IS NOT new.value OR old.detail IS NOT new.detail
    OR old.organisation IS NOT new.organisation OR old.organisation_ref IS NOT new.organisation_ref OR old.source_id IS NOT new.source_id)
    AND NOT EXISTS (SELECT 1 FROM search_backlog WHERE after_id < old.id OR after_id < new.id) BEGIN
    DELETE FROM record_search WHERE old.dup = 0 AND rowid = (COALESCE((SELECT n FROM search_sections WHERE slug = old.section), 0) << 40) | old.id;
    INSERT INTO record_search (rowid, scope, display, code, value, detail, organisation, source, others)
    SELECT fts_rowid, scope, display, code, value, detail, organisation, source, others FROM record_search_rows WHERE item_id = new.id;
END;
