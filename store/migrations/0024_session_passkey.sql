-- 0024: the passkey a session was signed in with. Removing a passkey ends
-- the sessions it began (ON DELETE CASCADE), so a person who removes a
-- passkey they lost, or one someone else added, also ends what it signed in.
-- Sessions begun before this migration have none and end by their own time.
ALTER TABLE sessions ADD COLUMN passkey_id INTEGER REFERENCES passkeys(id) ON DELETE CASCADE;
CREATE INDEX sessions_passkey ON sessions(passkey_id);
