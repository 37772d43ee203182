-- 0001: the foundation: people, sign-in, and the cached record.

-- A person is a citizen known to one or more sources.
CREATE TABLE persons (
    id           INTEGER PRIMARY KEY,
    prefix       TEXT NOT NULL DEFAULT '',
    given        TEXT NOT NULL DEFAULT '',
    family       TEXT NOT NULL DEFAULT '',
    birth_date   TEXT NOT NULL DEFAULT '',          -- YYYY-MM-DD
    nhs_number   TEXT UNIQUE,                      -- 10 digits, no spaces; NULL when unknown
    created_at   TEXT NOT NULL
);

-- Identifiers that link a person across sources (NHS number and configured systems).
CREATE TABLE person_identifiers (
    person_id INTEGER NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    system    TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (system, value)
);
CREATE INDEX person_identifiers_person ON person_identifiers(person_id);

-- A source is an upstream FHIR server or a named set of imported files.
CREATE TABLE sources (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    org_name    TEXT NOT NULL DEFAULT '',          -- organisation shown to people, e.g. "Meanwood Group Practice"
    base_url    TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    last_import_at TEXT
);

-- Which Patient resource at which source is which person.
CREATE TABLE source_patients (
    source_id  INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    patient_id TEXT NOT NULL,                      -- the Patient resource id at that source
    person_id  INTEGER NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    PRIMARY KEY (source_id, patient_id)
);
CREATE INDEX source_patients_person ON source_patients(person_id);

-- Every resource as received, kept whole for export.
CREATE TABLE resources (
    source_id     INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    type          TEXT NOT NULL,
    id            TEXT NOT NULL,
    version_id    TEXT NOT NULL DEFAULT '',
    last_updated  TEXT NOT NULL DEFAULT '',
    patient_id    TEXT NOT NULL DEFAULT '',        -- the Patient it is about, at that source ('' when none)
    json          BLOB NOT NULL,
    stored_at     TEXT NOT NULL,
    PRIMARY KEY (source_id, type, id)
);
CREATE INDEX resources_patient ON resources(source_id, patient_id);

-- The projection the pages read: one row per thing a person sees.
CREATE TABLE record_items (
    id             INTEGER PRIMARY KEY,
    source_id      INTEGER NOT NULL,
    resource_type  TEXT NOT NULL,
    resource_id    TEXT NOT NULL,
    patient_id     TEXT NOT NULL,
    -- The person the source's Patient is linked to, kept in step with source_patients by the
    -- importer, so a page of a 10,000-item record is read straight off an index in date order.
    person_id      INTEGER REFERENCES persons(id) ON DELETE SET NULL,
    section        TEXT NOT NULL,
    code_system    TEXT NOT NULL DEFAULT '',
    code           TEXT NOT NULL DEFAULT '',
    display        TEXT NOT NULL,
    date           TEXT NOT NULL DEFAULT '',       -- ISO 8601, sortable
    status         TEXT NOT NULL DEFAULT '',
    value          TEXT NOT NULL DEFAULT '',       -- e.g. "7.2 mmol/L", dose, reaction
    organisation   TEXT NOT NULL DEFAULT '',       -- performer or service provider named in the resource
    detail         TEXT NOT NULL DEFAULT '',       -- one more line of plain words
    dedup_key      TEXT NOT NULL DEFAULT '',
    FOREIGN KEY (source_id, resource_type, resource_id)
        REFERENCES resources(source_id, type, id) ON DELETE CASCADE
);
CREATE INDEX record_items_person ON record_items(person_id, section, date);
CREATE INDEX record_items_patient ON record_items(source_id, patient_id);
CREATE INDEX record_items_resource ON record_items(source_id, resource_type, resource_id);

-- Files that failed to import, and resources kept aside with their error.
CREATE TABLE rejected_resources (
    id          INTEGER PRIMARY KEY,
    source_id   INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    origin      TEXT NOT NULL,                     -- file and place, or URL
    type        TEXT NOT NULL DEFAULT '',
    resource_id TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL,
    json        BLOB,
    created_at  TEXT NOT NULL
);

-- An account signs in with passkeys. It may be linked to its own person.
CREATE TABLE accounts (
    id           INTEGER PRIMARY KEY,
    user_handle  BLOB NOT NULL UNIQUE,             -- 64 random bytes: the WebAuthn user id, never the NHS number
    person_id    INTEGER UNIQUE REFERENCES persons(id) ON DELETE SET NULL,
    display_name TEXT NOT NULL,
    created_at   TEXT NOT NULL
);

CREATE TABLE passkeys (
    id               INTEGER PRIMARY KEY,
    account_id       INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    credential_id    BLOB NOT NULL UNIQUE,
    public_key       BLOB NOT NULL,
    attestation_type TEXT NOT NULL DEFAULT '',
    sign_count       INTEGER NOT NULL DEFAULT 0,
    aaguid           BLOB,
    transports       TEXT NOT NULL DEFAULT '',     -- comma separated
    backup_eligible  INTEGER NOT NULL DEFAULT 0,
    backup_state     INTEGER NOT NULL DEFAULT 0,
    user_verified    INTEGER NOT NULL DEFAULT 0,
    nickname         TEXT NOT NULL DEFAULT '',
    created_at       TEXT NOT NULL,
    last_used_at     TEXT
);
CREATE INDEX passkeys_account ON passkeys(account_id);

-- One-time enrolment codes, stored as SHA-256 of the code.
CREATE TABLE enrolment_codes (
    id              INTEGER PRIMARY KEY,
    person_id       INTEGER NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    code_hash       BLOB NOT NULL UNIQUE,
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    used_at         TEXT,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_at       TEXT
);

-- Server-side sessions; the cookie carries only the id, and the table holds its SHA-256.
CREATE TABLE sessions (
    id_hash         BLOB PRIMARY KEY,
    account_id      INTEGER REFERENCES accounts(id) ON DELETE CASCADE,
    csrf_token      TEXT NOT NULL,
    enrol_person_id INTEGER REFERENCES persons(id) ON DELETE CASCADE, -- set once code and date of birth match
    ceremony        BLOB,                          -- in-flight WebAuthn session data (JSON)
    created_at      TEXT NOT NULL,
    last_seen_at    TEXT NOT NULL,
    expires_at      TEXT NOT NULL                  -- absolute end
);
CREATE INDEX sessions_account ON sessions(account_id);
