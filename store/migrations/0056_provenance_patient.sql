-- 0056: a Provenance is about the patient its targets name, by type
-- ("Patient/x") or, as a Synthea bundle writes them, by the Patient entry's
-- address ("urn:uuid:x", x the Patient's id). Before, one that named its
-- patient only so was cached about nobody, and left out of the person's
-- export (found by a review). Those stored before are given their patient
-- here, from the Patients stored at the same source: only one naming one
-- Patient, as the importer does (store patientRef), for one naming two
-- would put another's name in that one's export.
UPDATE resources SET patient_id = COALESCE((
    SELECT MIN(p.id) FROM json_each(CAST(resources.json AS TEXT), '$.target') t
    JOIN resources p ON p.source_id = resources.source_id AND p.type = 'Patient'
        AND trim(json_extract(t.value, '$.reference')) IN ('Patient/' || p.id, 'urn:uuid:' || p.id)
    WHERE t.type = 'object' AND json_type(t.value, '$.reference') = 'text'
    HAVING COUNT(DISTINCT p.id) = 1), '')
WHERE type = 'Provenance' AND patient_id = ''
AND json_valid(CAST(json AS TEXT)) AND json_type(CAST(json AS TEXT), '$.target') = 'array';
