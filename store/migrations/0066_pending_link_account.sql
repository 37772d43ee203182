-- 0066: a passkey's answer waiting on the enrolment page for the person to
-- confirm "Add this record to my account" (web ceremonyLinkConfirm) signs
-- that browser in to the account once confirmed. It was held in a session
-- that is not yet the account's, so "Sign out of all other sessions" and
-- removing the last passkey left it: at a shared computer, the next person
-- could press "Add" and be signed in to a carer's account (found by a
-- review). pending_account_id names the account the answer is for, and
-- those two end such sessions as they end the account's own.
ALTER TABLE sessions ADD COLUMN pending_account_id INTEGER REFERENCES accounts(id) ON DELETE CASCADE;
CREATE INDEX sessions_pending_account ON sessions(pending_account_id) WHERE pending_account_id IS NOT NULL;

-- Answers waiting from before this version name no account: they are let
-- go, and the person uses their passkey again.
UPDATE sessions SET ceremony = NULL
WHERE account_id IS NULL AND ceremony IS NOT NULL
AND json_valid(CAST(ceremony AS TEXT)) AND json_extract(CAST(ceremony AS TEXT), '$.kind') = 'link-confirm';
