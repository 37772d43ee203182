-- 0064: a medicine naming another source's Medication by its address at
-- that source's server (a hospital's prescription naming the GP's
-- https://gp.example.org/fhir/Medication/med1) is kept out of sharing for
-- that Medication's codes, as one naming its own source's is (0063): a
-- review found the GP's Fluoxetine so reaching a carer with mental health
-- kept out. Beside such a reference goes its key, "Type/id", a space and
-- the reference ('xmedref', as 'xref' in 0059), by which the Medication,
-- stored or recoded later, finds the medicines naming it (store/names.go
-- medicinesNaming). Filled here for those stored before, through the
-- importer's own functions.
INSERT OR IGNORE INTO record_item_reasons (item_id, system, code)
SELECT item_id, 'xmedref', mcr_other_source_ref(code) FROM record_item_reasons
WHERE system = 'medref' AND instr(code, '://') > 0 AND mcr_other_source_ref(code) != '';

INSERT OR IGNORE INTO record_item_reasons (item_id, system, code)
SELECT m.item_id, substr(j.value, 1, instr(j.value, '|') - 1), substr(j.value, instr(j.value, '|') + 1)
FROM record_item_reasons m JOIN record_items ri ON ri.id = m.item_id
    JOIN sources s ON s.id != ri.source_id AND s.base_url != ''
    JOIN reference_names n ON n.source_id = s.id AND n.ref = mcr_local_ref(m.code, s.base_url),
    json_each(mcr_medication_codes(n.code_system, n.code, n.other_codes)) j
WHERE m.system = 'medref' AND instr(m.code, '://') > 0 AND instr(j.value, '|') > 0;
