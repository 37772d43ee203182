-- 0045: an entry's reasons, as codes (fhir.Item.Reasons): why a visit, a
-- procedure, an appointment, a prescription or a vaccination happened, and
-- a report's conclusion. Keeping a kind of information out of sharing
-- (mental health, sexual health) keeps out an entry whose reason is of that
-- kind, as its words name the reason; before, only the entry's own code
-- counted, and a carer read "Reason: Human immunodeficiency virus infection"
-- on a visit (found by a review).
--
-- reason_codes holds them as the importer gives them (system|code and a unit
-- separator each), so a re-read rewrites an item whose reasons changed;
-- record_item_reasons holds them one a row, where store/consent.go looks
-- them up by code through its index, as it looks up an item's own code.
ALTER TABLE record_items ADD COLUMN reason_codes TEXT NOT NULL DEFAULT '';
CREATE TABLE record_item_reasons (
    item_id INTEGER NOT NULL REFERENCES record_items(id) ON DELETE CASCADE,
    system  TEXT NOT NULL,
    code    TEXT NOT NULL,
    PRIMARY KEY (item_id, system, code)
) WITHOUT ROWID;
CREATE INDEX record_item_reasons_code ON record_item_reasons(system, code);

-- Stored entries' reasons, at once, from their resources, so that nothing
-- kept out shows to a carer while the re-read below goes through a large
-- cache: the fields the importer reads (store/fhir reasonCodes). Only JSON
-- objects reach the JSON functions: a reason or coding written otherwise,
-- which the importer stored before it read reasons, must not stop the
-- migration, and so the portal, from starting (found by a review).
INSERT OR IGNORE INTO record_item_reasons (item_id, system, code)
SELECT ri.id, json_extract(CASE WHEN c.type = 'object' THEN c.value ELSE '{}' END, '$.system'),
    json_extract(CASE WHEN c.type = 'object' THEN c.value ELSE '{}' END, '$.code')
FROM record_items ri
JOIN resources r ON r.source_id = ri.source_id AND r.type = ri.resource_type AND r.id = ri.resource_id,
    json_each(CASE WHEN json_valid(CAST(r.json AS TEXT)) THEN CAST(r.json AS TEXT) ELSE '{}' END,
        CASE ri.resource_type WHEN 'DiagnosticReport' THEN '$.conclusionCode' ELSE '$.reasonCode' END) rc,
    json_each(CASE WHEN rc.type = 'object' THEN rc.value ELSE '{}' END, '$.coding') c
WHERE ri.resource_type IN ('Encounter', 'Procedure', 'Appointment', 'MedicationRequest', 'MedicationStatement', 'Immunization', 'DiagnosticReport')
AND c.type = 'object'
AND json_type(CASE WHEN c.type = 'object' THEN c.value ELSE '{}' END, '$.system') = 'text'
AND json_type(CASE WHEN c.type = 'object' THEN c.value ELSE '{}' END, '$.code') = 'text'
AND json_extract(CASE WHEN c.type = 'object' THEN c.value ELSE '{}' END, '$.system') != ''
AND json_extract(CASE WHEN c.type = 'object' THEN c.value ELSE '{}' END, '$.code') != '';

-- (Reasons given by reference to a Condition, "ref|" and its id, come with
-- the re-read.)
-- Marked as having reasons until the re-read writes them, so the person's own
-- pages (store/consent.go rowRule) label them kept out meanwhile too.
UPDATE record_items SET reason_codes = char(31) WHERE id IN (SELECT item_id FROM record_item_reasons);

-- Every stored resource is read again, as 0027's were, to fill reason_codes.
DELETE FROM reread_backlog;
INSERT INTO reread_backlog (after_rowid, upto_rowid) SELECT 0, MAX(rowid) FROM resources HAVING COUNT(*) > 0;
