-- 0065: a source that comes to hold a person after they made their sharing
-- choices (their Patient there found, or linked, later) is sent the latest
-- of them, as the choices pages say every organisation holding the record
-- is: a review found mental health kept out never reaching a hospital
-- connected later. Linking a Patient to a person with choices notes the
-- pair here; the outbox's next claim queues the latest decision for the
-- source, unless one was sent or queued there already (store/consent.go
-- queueLateDeliveries). Filled here for the pairs waiting now.
CREATE TABLE consent_catchup (
    person_id INTEGER NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    PRIMARY KEY (person_id, source_id)
) WITHOUT ROWID;

CREATE TRIGGER source_patients_consent_catchup AFTER INSERT ON source_patients
WHEN EXISTS (SELECT 1 FROM consent_decisions WHERE person_id = new.person_id) BEGIN
    INSERT OR IGNORE INTO consent_catchup (person_id, source_id) VALUES (new.person_id, new.source_id);
END;

CREATE TRIGGER source_patients_consent_catchup_relinked AFTER UPDATE OF person_id ON source_patients
WHEN EXISTS (SELECT 1 FROM consent_decisions WHERE person_id = new.person_id) BEGIN
    INSERT OR IGNORE INTO consent_catchup (person_id, source_id) VALUES (new.person_id, new.source_id);
END;

INSERT OR IGNORE INTO consent_catchup (person_id, source_id)
SELECT DISTINCT sp.person_id, sp.source_id FROM source_patients sp JOIN sources s ON s.id = sp.source_id AND s.base_url != ''
WHERE EXISTS (SELECT 1 FROM consent_decisions d WHERE d.person_id = sp.person_id)
AND NOT EXISTS (SELECT 1 FROM consent_outbox o WHERE o.person_id = sp.person_id AND o.source_id = sp.source_id);
