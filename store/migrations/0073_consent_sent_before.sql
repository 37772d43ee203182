-- 0073: the history of a person's choices says one was "Sent again …,
-- naming what they now hold" only where it had reached the source before.
-- A delivery queued again (0072) whose first try never arrived is marked
-- refresh all the same, as that try may have made the Consent and the
-- sender must look for it, but to the person it is sent for the first time
-- (a review: "Sent again" for a choice the source never had). Rows already
-- marked refresh keep what the history said of them.
ALTER TABLE consent_outbox ADD COLUMN sent_before INTEGER NOT NULL DEFAULT 0;
UPDATE consent_outbox SET sent_before = refresh;
