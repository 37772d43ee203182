-- 0061: an enrolment code is held by the session that proved it, and spent
-- only when a passkey, or an account's record, came of it (completed_at):
-- a person who took longer than the session allows on "Create a passkey"
-- found their code used up, with no way back but a new one from their GP
-- practice (a review, WCAG 2.2.1). Codes used before are taken as spent.
ALTER TABLE enrolment_codes ADD COLUMN completed_at TEXT;
UPDATE enrolment_codes SET completed_at = used_at WHERE used_at IS NOT NULL;
