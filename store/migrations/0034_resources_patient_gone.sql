-- 0034: resources_patient (source_id, patient_id) is the first two columns of
-- resources_updated (0023), which answers every look-up it did as well: one
-- index fewer to keep up on every resource stored, and to build at the end
-- of a bulk load (0.5 s of a million-resource load).
DROP INDEX IF EXISTS resources_patient;
DELETE FROM deferred_indexes WHERE name = 'resources_patient';
