-- 0060: an entry any of whose own codes is of a kind kept out of sharing is
-- kept out, not only one whose first code is (store/consent.go withheldIDs):
-- a diagnosis coded in SNOMED CT and then in ICD-10 as F42.9 reached a carer
-- once mental health was kept out (a review). The importer now stores an
-- entry's other codes among its reasons, as "own:" and the system
-- (fhir ownCodes); here those of entries stored before, at once, read
-- through the importer's own code (the writer's SQL function mcr_own_codes).
INSERT OR IGNORE INTO record_item_reasons (item_id, system, code)
SELECT ri.id, substr(j.value, 1, instr(j.value, '|') - 1), substr(j.value, instr(j.value, '|') + 1)
FROM record_items ri JOIN resources r ON r.source_id = ri.source_id AND r.type = ri.resource_type AND r.id = ri.resource_id,
    json_each(mcr_own_codes(ri.resource_type, CAST(r.json AS BLOB), ri.part)) j
WHERE instr(j.value, '|') > 0;
