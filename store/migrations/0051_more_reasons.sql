-- 0051: more of what an entry holds counts among its reasons
-- (fhir.Item.Reasons, migration 0045), so that keeping a kind of information
-- out of sharing keeps out an entry that names something of that kind: why
-- a vaccination, a prescription or a procedure was not done or was stopped
-- (statusReason; a carer's download held a vaccination not given for HIV
-- infection), a procedure's complications and follow-up, a result's coded
-- value and an allergy's reactions (found by a review). Filled at once from
-- stored resources, as 0045 did, so nothing kept out reaches a carer while
-- the re-read below goes through a large cache; only JSON objects and
-- arrays reach the JSON functions, so a field written otherwise cannot stop
-- the portal from starting.
WITH stored (item_id, type, doc) AS (
    SELECT ri.id, ri.resource_type, CASE WHEN json_valid(CAST(r.json AS TEXT)) THEN CAST(r.json AS TEXT) ELSE '{}' END
    FROM record_items ri JOIN resources r ON r.source_id = ri.source_id AND r.type = ri.resource_type AND r.id = ri.resource_id
    WHERE ri.resource_type IN ('Immunization', 'MedicationRequest', 'MedicationStatement', 'Procedure', 'Observation', 'AllergyIntolerance')
),
concepts (item_id, cc) AS (
    -- one concept
    SELECT item_id, json_extract(doc, '$.statusReason') FROM stored
    WHERE type IN ('Immunization', 'MedicationRequest', 'Procedure') AND json_type(doc, '$.statusReason') = 'object'
    UNION ALL
    SELECT item_id, json_extract(doc, '$.valueCodeableConcept') FROM stored
    WHERE type = 'Observation' AND json_type(doc, '$.valueCodeableConcept') = 'object'
    UNION ALL
    -- a list of concepts
    SELECT s.item_id, j.value FROM stored s, json_each(s.doc, '$.statusReason') j
    WHERE s.type = 'MedicationStatement' AND json_type(s.doc, '$.statusReason') = 'array' AND j.type = 'object'
    UNION ALL
    SELECT s.item_id, j.value FROM stored s, json_each(s.doc, '$.complication') j
    WHERE s.type = 'Procedure' AND json_type(s.doc, '$.complication') = 'array' AND j.type = 'object'
    UNION ALL
    SELECT s.item_id, j.value FROM stored s, json_each(s.doc, '$.followUp') j
    WHERE s.type = 'Procedure' AND json_type(s.doc, '$.followUp') = 'array' AND j.type = 'object'
    UNION ALL
    SELECT s.item_id, m.value FROM stored s, json_each(s.doc, '$.reaction') rx, json_each(rx.value, '$.manifestation') m
    WHERE s.type = 'AllergyIntolerance' AND json_type(s.doc, '$.reaction') = 'array' AND rx.type = 'object'
        AND json_type(rx.value, '$.manifestation') = 'array' AND m.type = 'object'
)
INSERT OR IGNORE INTO record_item_reasons (item_id, system, code)
SELECT k.item_id, json_extract(c.value, '$.system'), json_extract(c.value, '$.code')
FROM concepts k, json_each(k.cc, '$.coding') c
WHERE json_type(k.cc, '$.coding') = 'array' AND c.type = 'object'
AND json_type(c.value, '$.system') = 'text' AND json_type(c.value, '$.code') = 'text'
AND json_extract(c.value, '$.system') != '' AND json_extract(c.value, '$.code') != '';

-- Marked as having reasons until the re-read writes them, as 0045 did.
UPDATE record_items SET reason_codes = char(31) WHERE reason_codes = '' AND id IN (SELECT item_id FROM record_item_reasons);

-- Every stored resource is read again, to fill reason_codes (0050's re-read, started again, covers it).
DELETE FROM reread_backlog;
INSERT INTO reread_backlog (after_rowid, upto_rowid) SELECT 0, MAX(rowid) FROM resources HAVING COUNT(*) > 0;
