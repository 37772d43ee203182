-- 0004: search within a person's record (SQLite FTS5).
--
-- A contentless table whose rowid is record_items.id: the words live only in the
-- index, the pages read everything else from record_items. contentless_delete lets
-- the triggers remove a row by rowid alone, without handing back the exact text
-- that was indexed, which a cascade from a deleted source could no longer supply.
-- The person is not in the index: a search joins record_items and filters on
-- record_items.person_id, so moving items to another person changes nothing here.
-- No prefix index: a prefix search scans the sorted terms well within the time
-- a page has, and prefix indexes made every import dearer.
CREATE VIRTUAL TABLE record_search USING fts5(
    display, code, value, detail, organisation, source,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- The source column is the organisation people see for the source (its name when it has none).
INSERT INTO record_search (rowid, display, code, value, detail, organisation, source)
SELECT ri.id, ri.display, ri.code, ri.value, ri.detail, ri.organisation, COALESCE(NULLIF(s.org_name, ''), s.name, '')
FROM record_items ri LEFT JOIN sources s ON s.id = ri.source_id;

CREATE TRIGGER record_search_insert AFTER INSERT ON record_items BEGIN
    INSERT INTO record_search (rowid, display, code, value, detail, organisation, source)
    VALUES (new.id, new.display, new.code, new.value, new.detail, new.organisation,
        COALESCE((SELECT COALESCE(NULLIF(org_name, ''), name) FROM sources WHERE id = new.source_id), ''));
END;

CREATE TRIGGER record_search_delete AFTER DELETE ON record_items BEGIN
    DELETE FROM record_search WHERE rowid = old.id;
END;

-- Only the searched columns: relinking items to a person (UPDATE ... SET person_id) leaves the index alone.
CREATE TRIGGER record_search_update AFTER UPDATE OF id, display, code, value, detail, organisation, source_id ON record_items BEGIN
    DELETE FROM record_search WHERE rowid = old.id;
    INSERT INTO record_search (rowid, display, code, value, detail, organisation, source)
    VALUES (new.id, new.display, new.code, new.value, new.detail, new.organisation,
        COALESCE((SELECT COALESCE(NULLIF(org_name, ''), name) FROM sources WHERE id = new.source_id), ''));
END;

-- Every import upserts its source, so re-index only when the name people see really changes.
CREATE TRIGGER record_search_source AFTER UPDATE OF name, org_name ON sources
WHEN COALESCE(NULLIF(old.org_name, ''), old.name) IS NOT COALESCE(NULLIF(new.org_name, ''), new.name) BEGIN
    DELETE FROM record_search WHERE rowid IN (SELECT id FROM record_items WHERE source_id = new.id);
    INSERT INTO record_search (rowid, display, code, value, detail, organisation, source)
    SELECT id, display, code, value, detail, organisation, COALESCE(NULLIF(new.org_name, ''), new.name)
    FROM record_items WHERE source_id = new.id;
END;
