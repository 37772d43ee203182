-- 0055: an entry that gives another as its reason by reference counts it
-- among its reasons (fhir.Item.Reasons, "ref|" and the reference, "Type/id"
-- or "urn:uuid:…"), whatever the other's type (fhir.EntryRefs: reasons, a
-- visit's diagnoses, a care plan activity's reasons, a vaccination's
-- reactions). Keeping an entry out of sharing then keeps out those giving it
-- so at the same source, and keeping a kind of information out, those
-- giving an entry of that kind. Before, only a reference to a Condition
-- counted, stored as its bare id. A care team's reasons and a care plan
-- activity's count as codes too. Other references to a kept-out entry keep
-- nothing out: a carer's download masks them (fhir.MaskRefs).
--
-- Filled at once from stored resources, as 0045 and 0051 did, so nothing
-- kept out reaches a carer while the re-read below goes through a large
-- cache; only JSON objects and arrays reach the JSON functions, so a field
-- written otherwise cannot stop the portal from starting.
DELETE FROM record_item_reasons WHERE system = 'ref';

-- The references, as the importer reads them (fhir.EntryRefs, through the
-- writer's SQL function mcr_entry_refs): one reading, so none is missed here
-- that an import finds (a review: a reference written with a new line).
INSERT OR IGNORE INTO record_item_reasons (item_id, system, code)
SELECT ri.id, 'ref', j.value
FROM record_items ri JOIN resources r ON r.source_id = ri.source_id AND r.type = ri.resource_type AND r.id = ri.resource_id
    JOIN sources s ON s.id = ri.source_id,
    json_each(mcr_entry_refs(CAST(r.json AS BLOB), s.base_url,
        COALESCE((SELECT json_group_array(o.base_url) FROM sources o WHERE o.id != s.id AND o.base_url != ''), '[]'))) j
WHERE ri.resource_type IN ('Encounter', 'Procedure', 'Appointment', 'MedicationRequest', 'MedicationStatement', 'Immunization',
    'DiagnosticReport', 'CareTeam', 'CarePlan', 'Observation', 'Condition', 'DocumentReference');

-- A care team's reasons and a care plan activity's, as codes.
WITH stored (item_id, type, doc) AS (
    SELECT ri.id, ri.resource_type, CASE WHEN json_valid(CAST(r.json AS TEXT)) THEN CAST(r.json AS TEXT) ELSE '{}' END
    FROM record_items ri JOIN resources r ON r.source_id = ri.source_id AND r.type = ri.resource_type AND r.id = ri.resource_id
    WHERE ri.resource_type IN ('CareTeam', 'CarePlan')
),
concepts (item_id, cc) AS (
    SELECT s.item_id, j.value FROM stored s, json_each(s.doc, '$.reasonCode') j
    WHERE s.type = 'CareTeam' AND json_type(s.doc, '$.reasonCode') = 'array' AND j.type = 'object'
    UNION ALL
    SELECT s.item_id, rc.value FROM stored s, json_each(s.doc, '$.activity') a, json_each(a.value, '$.detail.reasonCode') rc
    WHERE s.type = 'CarePlan' AND json_type(s.doc, '$.activity') = 'array' AND a.type = 'object'
        AND json_type(a.value, '$.detail.reasonCode') = 'array' AND rc.type = 'object'
)
INSERT OR IGNORE INTO record_item_reasons (item_id, system, code)
SELECT k.item_id, json_extract(c.value, '$.system'), json_extract(c.value, '$.code')
FROM concepts k, json_each(k.cc, '$.coding') c
WHERE json_type(k.cc, '$.coding') = 'array' AND c.type = 'object'
AND json_type(c.value, '$.system') = 'text' AND json_type(c.value, '$.code') = 'text'
AND json_extract(c.value, '$.system') != '' AND json_extract(c.value, '$.code') != '';

-- Marked as having reasons until the re-read writes them, as 0045 did.
UPDATE record_items SET reason_codes = char(31) WHERE reason_codes = '' AND id IN (SELECT item_id FROM record_item_reasons);

-- Every stored resource is read again, to fill reason_codes (the re-read, started again, covers it).
DELETE FROM reread_backlog;
INSERT INTO reread_backlog (after_rowid, upto_rowid) SELECT 0, MAX(rowid) FROM resources HAVING COUNT(*) > 0;
