-- 0017: what was recorded in error, ruled out or never done is not shown as a fact.
--
-- Results: a trend, a test's latest result or the summary's recent results
-- leave out results upstream says were recorded in error or cancelled. The
-- results index (0006) gains the status, so its pages still read it alone.
DROP INDEX IF EXISTS record_items_results;
CREATE INDEX record_items_results ON record_items(person_id, section, code_system, code, date, value, status);

-- Allergies and conditions: the importer now reads their verification status
-- too (store/fhir verifiedStatus): ruled out shows as "refuted", and a current
-- one not yet confirmed (unconfirmed, provisional, differential) as
-- "unconfirmed", so neither is listed as a current allergy or condition.
-- Entries stored before are read again here the same way, from the first
-- coding that has a code, as the importer reads it.
UPDATE record_items SET status = 'refuted'
WHERE section IN ('allergies', 'conditions') AND status != 'entered-in-error' AND EXISTS (
    SELECT 1 FROM resources r WHERE r.source_id = record_items.source_id AND r.type = record_items.resource_type AND r.id = record_items.resource_id
    AND (SELECT json_extract(c.value, '$.code') FROM json_each(CAST(r.json AS TEXT), '$.verificationStatus.coding') c
         WHERE COALESCE(json_extract(c.value, '$.code'), '') != '' ORDER BY c.key LIMIT 1) = 'refuted');
UPDATE record_items SET status = 'unconfirmed'
WHERE section IN ('allergies', 'conditions') AND status IN ('', 'active', 'recurrence', 'relapse') AND EXISTS (
    SELECT 1 FROM resources r WHERE r.source_id = record_items.source_id AND r.type = record_items.resource_type AND r.id = record_items.resource_id
    AND (SELECT json_extract(c.value, '$.code') FROM json_each(CAST(r.json AS TEXT), '$.verificationStatus.coding') c
         WHERE COALESCE(json_extract(c.value, '$.code'), '') != '' ORDER BY c.key LIMIT 1) IN ('unconfirmed', 'provisional', 'differential'));
