-- 0063: an entry is kept out of sharing for any of its own codes, not only
-- its first: a diagnosis coded in SNOMED CT and then in ICD-10 as F42.9, a
-- visit's second type (a psychiatric interview), a plan's mental health
-- category or its activities, a document's, report's, procedure's or team's
-- category, a member's other roles, a result's parts, and every code of the
-- Medication a medicine names, however it names it (reviews: each reached a
-- carer with its kind kept out). The importer stores them among an entry's
-- reasons: "own:" and the system (fhir ownCodes, otherCodes); for a
-- medicine, the Medication it names ("medref") and that Medication's codes
-- ("med:", fhir Named.Codes), which change when it does; reference_names
-- keeps a Medication's other codes (Named.Others, each ended by char(31)),
-- and notes a Medication under a bundle's address for it too. Filled here
-- at once for those stored before, through the importer's own code (the
-- writer's SQL functions), as a re-read (0062) takes a while.
ALTER TABLE reference_names ADD COLUMN other_codes TEXT NOT NULL DEFAULT '';

UPDATE reference_names SET other_codes = COALESCE((
    SELECT group_concat(j.value || char(31), '') FROM resources m, json_each(mcr_named_codes(m.type, CAST(m.json AS BLOB))) j
    WHERE m.source_id = reference_names.source_id AND m.type = 'Medication' AND 'Medication/' || m.id = reference_names.ref), '')
WHERE ref GLOB 'Medication/*';

-- A Medication under "urn:uuid:" and its id, and the address its bundle gave it.
INSERT OR IGNORE INTO reference_names (source_id, ref, display, code_system, code, other_codes)
SELECT source_id, 'urn:uuid:' || substr(ref, length('Medication/') + 1), display, code_system, code, other_codes
FROM reference_names WHERE ref GLOB 'Medication/*';
INSERT OR IGNORE INTO reference_names (source_id, ref, display, code_system, code, other_codes)
SELECT n.source_id, b.url, n.display, n.code_system, n.code, n.other_codes FROM bundle_urls b
JOIN reference_names n ON n.source_id = b.source_id AND n.ref = 'Medication/' || b.id
WHERE b.type = 'Medication' AND b.url GLOB 'urn:uuid:*';

-- Each entry's own codes besides its first, and a medicine's Medication.
INSERT OR IGNORE INTO record_item_reasons (item_id, system, code)
SELECT ri.id, substr(j.value, 1, instr(j.value, '|') - 1), substr(j.value, instr(j.value, '|') + 1)
FROM record_items ri JOIN resources r ON r.source_id = ri.source_id AND r.type = ri.resource_type AND r.id = ri.resource_id
    JOIN sources s ON s.id = ri.source_id,
    json_each(mcr_own_codes(ri.resource_type, CAST(r.json AS BLOB), ri.part, s.base_url,
        COALESCE((SELECT json_group_array(o.base_url) FROM sources o WHERE o.id != s.id AND o.base_url != ''), '[]'))) j
WHERE instr(j.value, '|') > 0;

-- That Medication's codes, among its medicines' reasons.
INSERT OR IGNORE INTO record_item_reasons (item_id, system, code)
SELECT m.item_id, substr(j.value, 1, instr(j.value, '|') - 1), substr(j.value, instr(j.value, '|') + 1)
FROM record_item_reasons m JOIN record_items ri ON ri.id = m.item_id
    JOIN reference_names n ON n.source_id = ri.source_id AND n.ref = m.code,
    json_each(mcr_medication_codes(n.code_system, n.code, n.other_codes)) j
WHERE m.system = 'medref' AND instr(j.value, '|') > 0;
