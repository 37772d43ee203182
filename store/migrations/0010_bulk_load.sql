-- 0010: search by fact, and bulk loads that index and mark duplicates once.
--
-- Search (replacing 0009's index). A search used to find every report of a
-- fact (one per source), then look each report of another source up in
-- record_items to find the fact's one entry: a search matching a whole record
-- took 80 ms. Now only the entries the pages show (dup = 0) are in the index,
-- and each carries, in a column of its own ("others"), the words of the other
-- sources' reports of the same fact, so a match is an entry and needs no
-- look-up. The index's rowid is the item's id with its section's number above
-- bit 40, so that a search counts its matches by section from the rowids
-- alone. The scope column is as in 0009: "0p<person>v 0p<person><section>".
-- The triggers index an entry with the reports stored so far; the importer
-- indexes a fact's entries again once it has worked out its duplicates
-- (store/dedup.go), since a new report of a fact changes its entry's words.
--
-- Bulk loads. Keeping the index and the one-entry-per-fact marks (0007) up to
-- date row by row made a bulk import twenty times slower than storing the
-- rows. A bulk load instead notes, in the same transaction as the rows, what
-- it left for later:
--   search_backlog: record items with an id above after_id are not in the
--     search index yet (at most one row; the triggers leave them alone);
--   dedup_backlog: persons whose duplicate marks need working out again.
-- The end of the load (store.FinishBulkLoad), or any later import, indexes the
-- backlog with one INSERT ... SELECT and marks duplicates once per person. A
-- load killed half way leaves both notes committed with the rows they cover,
-- so nothing is lost: the next import finishes the work.
CREATE TABLE search_backlog (after_id INTEGER NOT NULL);
CREATE TABLE dedup_backlog (person_id INTEGER PRIMARY KEY);

-- The number of each section in the index's rowids (0 for any other).
CREATE TABLE search_sections (slug TEXT PRIMARY KEY, n INTEGER NOT NULL UNIQUE) WITHOUT ROWID;
INSERT INTO search_sections (slug, n) VALUES ('allergies', 1), ('medicines', 2), ('conditions', 3), ('immunisations', 4),
    ('results', 5), ('encounters', 6), ('procedures', 7), ('documents', 8), ('care-plans', 9), ('care-team', 10);

-- 0009's narrow index for counting matches by section: the rowids say the section now.
DROP INDEX record_items_shown;

DROP TRIGGER record_search_insert;
DROP TRIGGER record_search_delete;
DROP TRIGGER record_search_update;
DROP TRIGGER record_search_source;
DROP TABLE record_search;

CREATE VIRTUAL TABLE record_search USING fts5(
    scope, display, code, value, detail, organisation, source, others,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- What the index holds for each entry: every write to record_search selects from here.
CREATE VIEW record_search_rows AS
SELECT ri.id AS item_id, ri.person_id, ri.dedup_key,
    (COALESCE((SELECT n FROM search_sections WHERE slug = ri.section), 0) << 40) | ri.id AS fts_rowid,
    CASE WHEN ri.person_id IS NULL THEN '' ELSE '0p' || ri.person_id || 'v 0p' || ri.person_id || replace(ri.section, '-', '') END AS scope,
    ri.display, ri.code, ri.value, ri.detail, ri.organisation,
    COALESCE((SELECT COALESCE(NULLIF(org_name, ''), name) FROM sources WHERE id = ri.source_id), '') AS source,
    CASE WHEN ri.dedup_key = '' OR ri.person_id IS NULL THEN '' ELSE COALESCE((
        SELECT group_concat(DISTINCT d.display || ' ' || d.code || ' ' || d.value || ' ' || d.detail || ' ' || d.organisation || ' '
            || COALESCE((SELECT COALESCE(NULLIF(org_name, ''), name) FROM sources WHERE id = d.source_id), ''))
        FROM record_items d WHERE d.person_id = ri.person_id AND d.dedup_key = ri.dedup_key AND d.dup = 1), '') END AS others
FROM record_items ri WHERE ri.dup = 0;

INSERT INTO record_search (rowid, scope, display, code, value, detail, organisation, source, others)
SELECT fts_rowid, scope, display, code, value, detail, organisation, source, others FROM record_search_rows;

-- Only entries (dup = 0) are indexed, and an item in the backlog is neither
-- indexed nor removed from the index (it is not in it): the backlog's catch-up
-- indexes it as it is then.
CREATE TRIGGER record_search_insert AFTER INSERT ON record_items
WHEN new.dup = 0 AND NOT EXISTS (SELECT 1 FROM search_backlog WHERE after_id < new.id) BEGIN
    INSERT INTO record_search (rowid, scope, display, code, value, detail, organisation, source, others)
    SELECT fts_rowid, scope, display, code, value, detail, organisation, source, others FROM record_search_rows WHERE item_id = new.id;
END;

CREATE TRIGGER record_search_delete AFTER DELETE ON record_items
WHEN old.dup = 0 AND NOT EXISTS (SELECT 1 FROM search_backlog WHERE after_id < old.id) BEGIN
    DELETE FROM record_search WHERE rowid = (COALESCE((SELECT n FROM search_sections WHERE slug = old.section), 0) << 40) | old.id;
END;

-- Working out duplicates rewrites dup and relinking rewrites person_id: re-index
-- a row only when something the index holds really changed.
CREATE TRIGGER record_search_update AFTER UPDATE OF id, person_id, section, dup, display, code, value, detail, organisation, source_id ON record_items
WHEN (old.id IS NOT new.id OR old.person_id IS NOT new.person_id OR old.section IS NOT new.section OR old.dup IS NOT new.dup
    OR old.display IS NOT new.display OR old.code IS NOT new.code OR old.value IS NOT new.value OR old.detail IS NOT new.detail
    OR old.organisation IS NOT new.organisation OR old.source_id IS NOT new.source_id)
    AND NOT EXISTS (SELECT 1 FROM search_backlog WHERE after_id < old.id OR after_id < new.id) BEGIN
    DELETE FROM record_search WHERE old.dup = 0 AND rowid = (COALESCE((SELECT n FROM search_sections WHERE slug = old.section), 0) << 40) | old.id;
    INSERT INTO record_search (rowid, scope, display, code, value, detail, organisation, source, others)
    SELECT fts_rowid, scope, display, code, value, detail, organisation, source, others FROM record_search_rows WHERE item_id = new.id;
END;

-- Every import upserts its source, so re-index only when the name people see
-- really changes: the source's own entries, and the entries its reports are "others" of.
CREATE TRIGGER record_search_source AFTER UPDATE OF name, org_name ON sources
WHEN COALESCE(NULLIF(old.org_name, ''), old.name) IS NOT COALESCE(NULLIF(new.org_name, ''), new.name) BEGIN
    DELETE FROM record_search WHERE rowid IN (SELECT fts_rowid FROM record_search_rows
        WHERE item_id <= COALESCE((SELECT after_id FROM search_backlog), item_id) AND item_id IN (
            SELECT id FROM record_items WHERE source_id = new.id AND dup = 0
            UNION SELECT e.id FROM record_items ri JOIN record_items e ON e.person_id = ri.person_id AND e.dedup_key = ri.dedup_key AND e.dup = 0
            WHERE ri.source_id = new.id AND ri.dup = 1 AND ri.dedup_key != ''));
    INSERT INTO record_search (rowid, scope, display, code, value, detail, organisation, source, others)
    SELECT fts_rowid, scope, display, code, value, detail, organisation, source, others FROM record_search_rows
    WHERE item_id <= COALESCE((SELECT after_id FROM search_backlog), item_id) AND item_id IN (
        SELECT id FROM record_items WHERE source_id = new.id AND dup = 0
        UNION SELECT e.id FROM record_items ri JOIN record_items e ON e.person_id = ri.person_id AND e.dedup_key = ri.dedup_key AND e.dup = 0
        WHERE ri.source_id = new.id AND ri.dup = 1 AND ri.dedup_key != '');
END;
