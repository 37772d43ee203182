-- 0002: the access log. Every look at a record is appended here, hash-chained so
-- that a changed or removed row shows: each row's hash covers its fields and the previous hash.
CREATE TABLE access_log (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    account_id  INTEGER NOT NULL,
    person_id   INTEGER NOT NULL,                  -- whose record
    action      TEXT NOT NULL,                     -- e.g. "view"
    what        TEXT NOT NULL,                     -- e.g. "summary", "medicines"
    device      TEXT NOT NULL DEFAULT '',          -- a coarse description, never a raw IP address
    prev_hash   BLOB NOT NULL,
    hash        BLOB NOT NULL
);
CREATE INDEX access_log_person ON access_log(person_id, at);
CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
