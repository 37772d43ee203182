-- 0063: a medicine named through a Medication is kept out of sharing for any
-- of that Medication's codes, not only its first, as one giving them itself
-- is (a review: a Fluoxetine named so reached a carer with mental health
-- kept out). reference_names keeps a Medication's other codes (fhir
-- Named.Others, "own:" and the system, "|" and the code, each ended by
-- char(31)); the items named by it hold them among their reasons. Filled
-- here, at once, through the importer's own function (mcr_named_codes).
ALTER TABLE reference_names ADD COLUMN other_codes TEXT NOT NULL DEFAULT '';

UPDATE reference_names SET other_codes = COALESCE((
    SELECT group_concat(j.value || char(31), '') FROM resources m, json_each(mcr_named_codes(m.type, CAST(m.json AS BLOB))) j
    WHERE m.source_id = reference_names.source_id AND m.type = 'Medication' AND 'Medication/' || m.id = reference_names.ref), '')
WHERE ref GLOB 'Medication/*';

INSERT OR IGNORE INTO record_item_reasons (item_id, system, code)
SELECT ri.id, substr(j.value, 1, instr(j.value, '|') - 1), substr(j.value, instr(j.value, '|') + 1)
FROM record_items ri JOIN resources m ON m.source_id = ri.source_id AND m.type = 'Medication' AND 'Medication/' || m.id = ri.display_ref,
    json_each(mcr_named_codes(m.type, CAST(m.json AS BLOB))) j
WHERE ri.display_ref GLOB 'Medication/*' AND instr(j.value, '|') > 0;
