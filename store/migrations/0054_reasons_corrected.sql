-- 0054: 0051's reasons corrected, from a review of it. An allergy's
-- reactions are no reason: an allergy is never hidden for what it caused (a
-- rash kept out took a penicillin allergy from the carer who gives
-- medicines). A result's part's coded value is one, as the value's is (a
-- panel's part read "Finding: HIV infection" to a carer). Done at once, as
-- 0051 was, and then by the re-read, started again.
DELETE FROM record_item_reasons WHERE item_id IN (SELECT id FROM record_items WHERE resource_type = 'AllergyIntolerance');
UPDATE record_items SET reason_codes = '' WHERE resource_type = 'AllergyIntolerance' AND reason_codes != '';

WITH parts (item_id, cc) AS (
    SELECT ri.id, json_extract(c.value, '$.valueCodeableConcept')
    FROM record_items ri JOIN resources r ON r.source_id = ri.source_id AND r.type = ri.resource_type AND r.id = ri.resource_id,
        json_each(CASE WHEN json_valid(CAST(r.json AS TEXT)) AND json_type(CAST(r.json AS TEXT), '$.component') = 'array'
            THEN CAST(r.json AS TEXT) ELSE '{"component":[]}' END, '$.component') c
    WHERE ri.resource_type = 'Observation' AND c.type = 'object' AND json_type(c.value, '$.valueCodeableConcept') = 'object'
)
INSERT OR IGNORE INTO record_item_reasons (item_id, system, code)
SELECT k.item_id, json_extract(c.value, '$.system'), json_extract(c.value, '$.code')
FROM parts k, json_each(k.cc, '$.coding') c
WHERE json_type(k.cc, '$.coding') = 'array' AND c.type = 'object'
AND json_type(c.value, '$.system') = 'text' AND json_type(c.value, '$.code') = 'text'
AND json_extract(c.value, '$.system') != '' AND json_extract(c.value, '$.code') != '';

UPDATE record_items SET reason_codes = char(31) WHERE reason_codes = '' AND id IN (SELECT item_id FROM record_item_reasons);

DELETE FROM reread_backlog;
INSERT INTO reread_backlog (after_rowid, upto_rowid) SELECT 0, MAX(rowid) FROM resources HAVING COUNT(*) > 0;
