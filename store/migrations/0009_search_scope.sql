-- 0009: search within a person's record, answered inside FTS5. This replaces the
-- table 0004 made (the project is unreleased, but 0004 stays as it was so that
-- migrations never change under a database); it has to come after 0007, since
-- the index now knows which items pages show (dup = 0).
--
-- A search used to find every match in the whole region's index, then join
-- record_items to keep the person's own and to count and rank each section: a
-- broad search of a 10,000-item record took 80 ms. Now each row carries its
-- scope as tokens in a column of its own: "0p<person>v 0p<person><section>"
-- for an item the pages show (the section without its hyphen), "0p<person>dup"
-- for another source's report of a fact that is shown once. A search ANDs a
-- scope token with the words typed, so FTS5 keeps only that person's matches
-- (or one section's), and ranks them without touching record_items. The tokens start
-- with "0p" so that a prefix people type ("p1", "pa") never expands into them.
-- Items not yet linked to a person have no scope and are never found.
DROP TRIGGER IF EXISTS record_search_insert;
DROP TRIGGER IF EXISTS record_search_delete;
DROP TRIGGER IF EXISTS record_search_update;
DROP TRIGGER IF EXISTS record_search_source;
DROP TABLE IF EXISTS record_search;

-- Contentless, with rowid = record_items.id: the words live only in the index.
-- contentless_delete lets the triggers remove a row by rowid alone, which a
-- cascade from a deleted source could not otherwise do. No prefix index: a
-- prefix search scans the sorted terms well within the time a page has, and
-- prefix indexes made every import dearer.
CREATE VIRTUAL TABLE record_search USING fts5(
    scope, display, code, value, detail, organisation, source,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- The source column is the organisation people see for the source (its name when it has none).
INSERT INTO record_search (rowid, scope, display, code, value, detail, organisation, source)
SELECT ri.id,
    CASE WHEN ri.person_id IS NULL THEN '' WHEN ri.dup THEN '0p' || ri.person_id || 'dup'
        ELSE '0p' || ri.person_id || 'v 0p' || ri.person_id || replace(ri.section, '-', '') END,
    ri.display, ri.code, ri.value, ri.detail, ri.organisation, COALESCE(NULLIF(s.org_name, ''), s.name, '')
FROM record_items ri LEFT JOIN sources s ON s.id = ri.source_id;

-- A search counts its matches by section: one look-up per match. In the table
-- a look-up reads a whole wide row (the raw projection, JSON and all), about
-- 2.5 µs; in this narrow index it is about a tenth of that, and a search that
-- finds a whole record (every item from one organisation) is counted in 5 ms,
-- not 20. Only shown items are counted, so only they are indexed.
CREATE INDEX record_items_shown ON record_items(id, section) WHERE dup = 0;

CREATE TRIGGER record_search_insert AFTER INSERT ON record_items BEGIN
    INSERT INTO record_search (rowid, scope, display, code, value, detail, organisation, source)
    VALUES (new.id,
        CASE WHEN new.person_id IS NULL THEN '' WHEN new.dup THEN '0p' || new.person_id || 'dup'
            ELSE '0p' || new.person_id || 'v 0p' || new.person_id || replace(new.section, '-', '') END,
        new.display, new.code, new.value, new.detail, new.organisation,
        COALESCE((SELECT COALESCE(NULLIF(org_name, ''), name) FROM sources WHERE id = new.source_id), ''));
END;

CREATE TRIGGER record_search_delete AFTER DELETE ON record_items BEGIN
    DELETE FROM record_search WHERE rowid = old.id;
END;

-- Working out duplicates rewrites dup for every report of a fact, changed or
-- not (store/dedup.go), and relinking rewrites person_id: re-index a row only
-- when something the index holds really changed.
CREATE TRIGGER record_search_update AFTER UPDATE OF id, person_id, section, dup, display, code, value, detail, organisation, source_id ON record_items
WHEN old.id IS NOT new.id OR old.person_id IS NOT new.person_id OR old.section IS NOT new.section OR old.dup IS NOT new.dup
    OR old.display IS NOT new.display OR old.code IS NOT new.code OR old.value IS NOT new.value OR old.detail IS NOT new.detail
    OR old.organisation IS NOT new.organisation OR old.source_id IS NOT new.source_id BEGIN
    DELETE FROM record_search WHERE rowid = old.id;
    INSERT INTO record_search (rowid, scope, display, code, value, detail, organisation, source)
    VALUES (new.id,
        CASE WHEN new.person_id IS NULL THEN '' WHEN new.dup THEN '0p' || new.person_id || 'dup'
            ELSE '0p' || new.person_id || 'v 0p' || new.person_id || replace(new.section, '-', '') END,
        new.display, new.code, new.value, new.detail, new.organisation,
        COALESCE((SELECT COALESCE(NULLIF(org_name, ''), name) FROM sources WHERE id = new.source_id), ''));
END;

-- Every import upserts its source, so re-index only when the name people see really changes.
CREATE TRIGGER record_search_source AFTER UPDATE OF name, org_name ON sources
WHEN COALESCE(NULLIF(old.org_name, ''), old.name) IS NOT COALESCE(NULLIF(new.org_name, ''), new.name) BEGIN
    DELETE FROM record_search WHERE rowid IN (SELECT id FROM record_items WHERE source_id = new.id);
    INSERT INTO record_search (rowid, scope, display, code, value, detail, organisation, source)
    SELECT id,
        CASE WHEN person_id IS NULL THEN '' WHEN dup THEN '0p' || person_id || 'dup'
            ELSE '0p' || person_id || 'v 0p' || person_id || replace(section, '-', '') END,
        display, code, value, detail, organisation, COALESCE(NULLIF(new.org_name, ''), new.name)
    FROM record_items WHERE source_id = new.id;
END;

-- A match in another source's copy of a fact (dup = 1) leads to the fact's shown
-- entry: its first shown item by (person, dedup_key) is one seek here, where the
-- wider record_items_person_key index would visit every report of the fact
-- (hundreds for a repeat prescription).
CREATE INDEX record_items_shown_key ON record_items(person_id, dedup_key, id) WHERE dup = 0;
