-- 0012: carers. A person lets someone they trust act for them: an invitation
-- with a one-time code becomes a grant when the carer accepts it.

-- One row from invitation to end. Until accepted it is an invitation (the code,
-- stored as SHA-256 only, and its tries); once accepted, grantee_account_id and
-- accepted_at are set and it is a grant. Revocation, giving up and the end date
-- are read on every request, never copied into a session.
CREATE TABLE carer_grants (
    id                 INTEGER PRIMARY KEY,
    person_id          INTEGER NOT NULL REFERENCES persons(id) ON DELETE CASCADE, -- whose record
    invited_by         INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    carer_name         TEXT NOT NULL,                 -- as the person wrote it, e.g. "John Smith"
    relationship       TEXT NOT NULL,                 -- e.g. "son"
    scopes             TEXT NOT NULL,                 -- space-separated section slugs and actions ("choices", "download")
    ends_at            TEXT,                          -- NULL: until the person cancels
    parental           INTEGER NOT NULL DEFAULT 0,    -- parental responsibility for a child: ends at the child's 16th birthday
    code_hash          BLOB NOT NULL UNIQUE,
    code_expires_at    TEXT NOT NULL,
    failed_attempts    INTEGER NOT NULL DEFAULT 0,
    locked_at          TEXT,
    held_by_session    BLOB,                          -- SHA-256 of the session that proved code and date of birth
    grantee_account_id INTEGER REFERENCES accounts(id) ON DELETE CASCADE,
    accepted_at        TEXT,
    revoked_at         TEXT,
    given_up_at        TEXT,
    created_at         TEXT NOT NULL
);
CREATE INDEX carer_grants_person ON carer_grants(person_id);
CREATE INDEX carer_grants_grantee ON carer_grants(grantee_account_id);
CREATE INDEX carer_grants_held ON carer_grants(held_by_session);

-- What happened to each grant, appended only, so both sides see it with dates.
CREATE TABLE carer_grant_events (
    id         INTEGER PRIMARY KEY,
    grant_id   INTEGER NOT NULL REFERENCES carer_grants(id) ON DELETE CASCADE,
    at         TEXT NOT NULL,
    account_id INTEGER,                               -- who did it; NULL when the portal did (an end date passing)
    what       TEXT NOT NULL                          -- plain words, e.g. "Invited John Smith (son)"
);
CREATE INDEX carer_grant_events_grant ON carer_grant_events(grant_id, id);
CREATE TRIGGER carer_grant_events_no_update BEFORE UPDATE ON carer_grant_events BEGIN SELECT RAISE(ABORT, 'grant history is append-only'); END;

-- Whom the session's account is acting for: a grant id, checked against the
-- grant on every request. NULL: their own record.
ALTER TABLE sessions ADD COLUMN acting_grant_id INTEGER;
