-- 0075: a source's Patient merged into another (Patient.link replaced-by)
-- notes that one, so that when the survivor comes after it, as a region's
-- Bulk Data export may send them, it joins the person the merged record was
-- taken for, rather than being made another person beside them with the
-- record split between the two (store/import.go linkPatient; a review of
-- Bulk Data found the order mattered). Filled here for Patients stored
-- before.
ALTER TABLE source_patients ADD COLUMN replaced_by TEXT NOT NULL DEFAULT '';

UPDATE source_patients SET replaced_by = COALESCE((
    SELECT substr(trim(json_extract(l.value, '$.other.reference')), 9)
    FROM resources r, json_each(CAST(r.json AS TEXT), '$.link') l
    WHERE r.source_id = source_patients.source_id AND r.type = 'Patient' AND r.id = source_patients.patient_id
      AND json_valid(CAST(r.json AS TEXT)) AND json_extract(l.value, '$.type') = 'replaced-by'
      AND trim(json_extract(l.value, '$.other.reference')) LIKE 'Patient/_%'
      AND instr(substr(trim(json_extract(l.value, '$.other.reference')), 9), '/') = 0
    ORDER BY l.key DESC LIMIT 1), '');

CREATE INDEX source_patients_replaced_by ON source_patients(source_id, replaced_by) WHERE replaced_by != '';
