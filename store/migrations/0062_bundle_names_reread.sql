-- 0062: who took part, named by a bundle's address for it ("urn:uuid:…"),
-- is shown by name (store names.go named, fhir who): a set of Synthea
-- bundles named every visit's hospital and every prescriber so, and the
-- pages showed none (a review). Each organisation, person and place is
-- noted under "urn:uuid:" and its id, and under any other address its
-- bundle gave it, as the importer now notes them.
INSERT OR IGNORE INTO reference_names (source_id, ref, display, code_system, code)
SELECT source_id, 'urn:uuid:' || substr(ref, instr(ref, '/') + 1), display, code_system, code FROM reference_names
WHERE ref GLOB 'Organization/*' OR ref GLOB 'Practitioner/*' OR ref GLOB 'Location/*';
INSERT OR IGNORE INTO reference_names (source_id, ref, display, code_system, code)
SELECT n.source_id, b.url, n.display, n.code_system, n.code FROM bundle_urls b
JOIN reference_names n ON n.source_id = b.source_id AND n.ref = b.type || '/' || b.id
WHERE b.type IN ('Organization', 'Practitioner', 'Location') AND b.url GLOB 'urn:uuid:*';

-- Every stored resource is read again (the re-read, started again, covers
-- it): items take such a reference to name who took part; a vaccination,
-- where it was given when it names no one who gave it; an entry, its other
-- codes (0063 stores those at once); and a report that is a note, a key
-- with its content, so a document of the same content at its source stands
-- aside for it (store/dedup.go noteAlsoReported: Synthea's notes showed twice).
DELETE FROM reread_backlog;
INSERT INTO reread_backlog (after_rowid, upto_rowid) SELECT 0, MAX(rowid) FROM resources HAVING COUNT(*) > 0;
