-- 0003: sync from upstream FHIR servers.

-- How to reach a source. Secrets are never stored here: auth_config names the
-- files or environment variables that hold them.
ALTER TABLE sources ADD COLUMN auth_kind TEXT NOT NULL DEFAULT 'none';   -- none | bearer | smart-backend
ALTER TABLE sources ADD COLUMN auth_config TEXT NOT NULL DEFAULT '{}';   -- JSON object of strings

-- Where the pull for one person, source and resource type has got to. Each page
-- is stored in the same transaction as the checkpoint that follows it.
CREATE TABLE sync_checkpoints (
    source_id     INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    person_id     INTEGER NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    resource_type TEXT NOT NULL,
    watermark     TEXT NOT NULL DEFAULT '',   -- everything last updated up to here is stored
    next_url      TEXT NOT NULL DEFAULT '',   -- the next page of a search in progress, or ''
    pending       TEXT NOT NULL DEFAULT '',   -- newest lastUpdated seen by the search in progress
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (source_id, person_id, resource_type)
);

-- The state of each person's sync with each source, for the pages and the worker.
CREATE TABLE sync_status (
    source_id        INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    person_id        INTEGER NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    running_since    TEXT NOT NULL DEFAULT '',
    last_attempt_at  TEXT NOT NULL DEFAULT '',
    last_success_at  TEXT NOT NULL DEFAULT '',
    last_reconciled_at TEXT NOT NULL DEFAULT '',
    last_error       TEXT NOT NULL DEFAULT '',  -- in plain words, for people
    failing_since    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (source_id, person_id)
);

-- A resource kept aside is read again on later syncs until a readable version arrives.
ALTER TABLE rejected_resources ADD COLUMN resolved_at TEXT NOT NULL DEFAULT '';
CREATE INDEX rejected_resources_open ON rejected_resources(source_id, resolved_at);

-- The transactionTime of the last complete bulk export from the source: the next asks only for what changed since.
ALTER TABLE sources ADD COLUMN bulk_since TEXT NOT NULL DEFAULT '';
