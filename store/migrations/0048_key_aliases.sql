-- 0048: the keys a re-read of stored resources gave a person's facts kept
-- out of sharing (our reading changed, not the fact: a migration such as
-- 0046 re-reads every resource). A choice made by the old key holds every
-- report known by the new one, those that come after too (store
-- holdKeptOutKey, consent.go keyAliases), whatever becomes of the report
-- that was re-read: deleted upstream, refiled, or changed again upstream. A
-- review found next month's prescription of a medicine kept out reaching
-- the carer after 0046. A key changed by upstream (a code corrected) holds
-- only that report, as before (held_keys): another source's report of what
-- it says now is an entry the person never chose about.
CREATE TABLE IF NOT EXISTS key_aliases (
    person_id INTEGER NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
    old_key   TEXT NOT NULL,
    new_key   TEXT NOT NULL,
    PRIMARY KEY (person_id, old_key, new_key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS key_aliases_new ON key_aliases(person_id, new_key);
