-- 0067: an entry is kept out of sharing for a code anywhere in its
-- resource, not only in the fields the projectors read (fhir
-- withEveryCoding): a dosage's "when needed for anxiety disorder", a normal
-- range for people with HIV, a procedure's outcome, a visit's service type,
-- a Condition held inside a letter, and others each reached a carer with
-- their kind kept out, on the pages, in search or in the download (a
-- review). Stored as "any:" and the system: "own:" codes say what the
-- entry is, and match another source's report of it (store/consent.go), where
-- these may be a severity many entries share. Filled here at once for
-- entries stored before, through the importer's own code, as 0063 did
-- (mcr_own_codes now gives these too).
INSERT OR IGNORE INTO record_item_reasons (item_id, system, code)
SELECT ri.id, substr(j.value, 1, instr(j.value, '|') - 1), substr(j.value, instr(j.value, '|') + 1)
FROM record_items ri JOIN resources r ON r.source_id = ri.source_id AND r.type = ri.resource_type AND r.id = ri.resource_id
    JOIN sources s ON s.id = ri.source_id,
    json_each(mcr_own_codes(ri.resource_type, CAST(r.json AS BLOB), ri.part, s.base_url,
        COALESCE((SELECT json_group_array(o.base_url) FROM sources o WHERE o.id != s.id AND o.base_url != ''), '[]'))) j
WHERE instr(j.value, '|') > 0 AND j.value GLOB 'any:*';

-- Every stored resource is read again (the re-read, started again, covers
-- it), so each entry's reason_codes says what its rows now hold.
DELETE FROM reread_backlog;
INSERT INTO reread_backlog (after_rowid, upto_rowid) SELECT 0, MAX(rowid) FROM resources HAVING COUNT(*) > 0;
