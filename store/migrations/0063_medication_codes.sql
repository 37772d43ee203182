-- 0063: an entry is kept out of sharing for any of its own codes, not only
-- its first: a diagnosis coded in SNOMED CT and then in ICD-10 as F42.9, a
-- visit's second type (a psychiatric interview), a plan's mental health
-- category or its activities, a document's, report's, procedure's or team's
-- category, a member's other roles, a result's parts, and the codes of the
-- Medication a medicine names, however it is named (reviews: each reached a
-- carer with its kind kept out). The importer stores them among an entry's
-- reasons, "own:" and the system (fhir ownCodes, otherCodes), a medicine
-- the Medication it names ("medref"), and reference_names a Medication's
-- other codes (fhir Named.Others, each ended by char(31)). Filled here at
-- once for those stored before, through the importer's own code (the
-- writer's SQL functions), as a re-read (0062) would take a while.
ALTER TABLE reference_names ADD COLUMN other_codes TEXT NOT NULL DEFAULT '';

UPDATE reference_names SET other_codes = COALESCE((
    SELECT group_concat(j.value || char(31), '') FROM resources m, json_each(mcr_named_codes(m.type, CAST(m.json AS BLOB))) j
    WHERE m.source_id = reference_names.source_id AND m.type = 'Medication' AND 'Medication/' || m.id = reference_names.ref), '')
WHERE ref GLOB 'Medication/*';

-- Each entry's own codes besides its first, and a medicine's Medication.
INSERT OR IGNORE INTO record_item_reasons (item_id, system, code)
SELECT ri.id, substr(j.value, 1, instr(j.value, '|') - 1), substr(j.value, instr(j.value, '|') + 1)
FROM record_items ri JOIN resources r ON r.source_id = ri.source_id AND r.type = ri.resource_type AND r.id = ri.resource_id,
    json_each(mcr_own_codes(ri.resource_type, CAST(r.json AS BLOB), ri.part)) j
WHERE instr(j.value, '|') > 0;

-- That Medication's codes, among its medicines' own.
INSERT OR IGNORE INTO record_item_reasons (item_id, system, code)
SELECT m.item_id, substr(j.value, 1, instr(j.value, '|') - 1), substr(j.value, instr(j.value, '|') + 1)
FROM record_item_reasons m JOIN record_items ri ON ri.id = m.item_id
    JOIN resources med ON med.source_id = ri.source_id AND med.type = 'Medication' AND 'Medication/' || med.id = m.code,
    json_each(mcr_medication_codes(CAST(med.json AS BLOB))) j
WHERE m.system = 'medref' AND instr(j.value, '|') > 0;
