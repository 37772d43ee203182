-- 0037: what waits on a Patient set aside for its NHS number says so in a
-- column, not only in the words of its reason.
--
-- A new version of a Patient whose NHS number is not the one held for it is
-- set aside, and so is what comes about that Patient until the source sends
-- the held number again (importer.otherNHSNumber, heldAside). The importer
-- found such a hold by the words of the reason, and nothing could find what
-- waits on it. held_for is the Patient's id at the source for both; '' for
-- every other reason. portal source accept-nhs-number reads it.
ALTER TABLE rejected_resources ADD COLUMN held_for TEXT NOT NULL DEFAULT '';

UPDATE rejected_resources SET held_for = resource_id
WHERE type = 'Patient' AND instr(error, 'Patient/' || resource_id || ': its NHS number is now') = 1;

UPDATE rejected_resources
SET held_for = substr(error, instr(error, ': it is about Patient/') + 22,
                      instr(error, ', whose new version was set aside as its NHS number') - instr(error, ': it is about Patient/') - 22)
WHERE type <> 'Patient' AND instr(error, ': it is about Patient/') > 0
  AND instr(error, ', whose new version was set aside as its NHS number') > instr(error, ': it is about Patient/');

CREATE INDEX rejected_resources_held ON rejected_resources(source_id, held_for) WHERE resolved_at = '' AND held_for <> '';
