-- 0072: a source that comes to hold an entry the person keeps out, after
-- the choice was sent to it, is sent the choice again, naming its own
-- report of the entry. A Consent names a kept-out entry only to the sources
-- that hold it (store/consent.go consentItem; a privacy review: a clinic's
-- diagnosis was sent to the GP), so the GP that later files it would never
-- be asked not to share it (a review of that fix). An item stored for a
-- person with choices notes the pair in consent_catchup; the outbox's next
-- claim sends the latest decision again (refresh) where the Consent it
-- would send now is not the one sent last (queueLateDeliveries).
ALTER TABLE consent_outbox ADD COLUMN refresh INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER record_items_consent_catchup AFTER INSERT ON record_items
WHEN new.person_id IS NOT NULL AND EXISTS (SELECT 1 FROM consent_decisions WHERE person_id = new.person_id) BEGIN
    INSERT OR IGNORE INTO consent_catchup (person_id, source_id) VALUES (new.person_id, new.source_id);
END;

CREATE TRIGGER record_items_consent_catchup_relinked AFTER UPDATE OF person_id, dedup_key ON record_items
WHEN new.person_id IS NOT NULL AND EXISTS (SELECT 1 FROM consent_decisions WHERE person_id = new.person_id) BEGIN
    INSERT OR IGNORE INTO consent_catchup (person_id, source_id) VALUES (new.person_id, new.source_id);
END;

-- And every pair sent to before, so a source that came to hold a kept-out
-- entry under the version before this one is sent its choice again now (a
-- review: only items stored from now on were noted).
INSERT OR IGNORE INTO consent_catchup (person_id, source_id)
SELECT DISTINCT person_id, source_id FROM consent_outbox WHERE source_id IS NOT NULL;
