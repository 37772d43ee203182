-- 0039: enrolment and invitation codes are stored as HMAC-SHA-256 under a
-- key derived from the server's secret (PORTAL_SESSION_KEY), which is kept
-- outside the database.
--
-- A code was stored as a plain SHA-256 of itself. Codes carry about 59 bits,
-- so anyone with a copy of the database (a backup) could work out every
-- code still pending in one pass, and pair it with the date of birth stored
-- beside it. Keyed, the hashes are worth nothing without the secret.
--
-- code_key holds a check value of the key in use (an HMAC of a constant),
-- never the key: portal invite, which makes codes outside serve, refuses to
-- make one under another key, or none, once serve has set one. Codes made
-- before are still found by their plain hash until they expire.
CREATE TABLE code_key (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    key_check TEXT NOT NULL,
    set_at    TEXT NOT NULL
);
