-- 0013: the access log says who acted and for whom: the person themselves, or a
-- carer acting for them (by name and relationship). Rows written before this
-- migration keep hash formula 1, which does not cover the new columns, so they
-- still verify; verification then insists those rows hold the defaults below.
-- Every row written from now on uses formula 2, which covers every column.
ALTER TABLE access_log ADD COLUMN hash_version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE access_log ADD COLUMN actor_kind   TEXT NOT NULL DEFAULT 'self';   -- 'self' | 'carer'
ALTER TABLE access_log ADD COLUMN actor_name   TEXT NOT NULL DEFAULT '';       -- the account's name when written
ALTER TABLE access_log ADD COLUMN relationship TEXT NOT NULL DEFAULT '';       -- a carer's relationship, e.g. "son"

-- The carers who have used a person's record, for the filter, without reading every entry.
CREATE INDEX access_log_actor ON access_log(person_id, actor_kind, account_id);

-- Upstream AuditEvents about a person, found without reading every resource the person has.
CREATE INDEX resources_audit_events ON resources(source_id, patient_id) WHERE type = 'AuditEvent';

-- What each upstream AuditEvent says, read once from its JSON: the access log page
-- lists them with the portal's own entries on every view. Rows are found through
-- resources, so an AuditEvent deleted upstream drops out of the page with its resource;
-- a row is read again whenever its resource's stored_at changes.
CREATE TABLE upstream_accesses (
    source_id    INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    resource_id  TEXT NOT NULL,
    stored_at    TEXT NOT NULL,          -- resources.stored_at when read
    at           TEXT NOT NULL,          -- when it happened, as the access log stores times; '' when unreadable
    who          TEXT NOT NULL DEFAULT '',
    organisation TEXT NOT NULL DEFAULT '',
    action       TEXT NOT NULL DEFAULT '',
    what         TEXT NOT NULL DEFAULT '',
    failed       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (source_id, resource_id)
);
