-- 0007: one entry per fact. An item that another source reported first (same
-- person, same dedup_key) is marked dup; pages list the first report and name
-- every source that sent it.
ALTER TABLE record_items ADD COLUMN dup INTEGER NOT NULL DEFAULT 0;
DROP INDEX record_items_person;
CREATE INDEX record_items_person ON record_items(person_id, section, dup, date);
CREATE INDEX record_items_person_key ON record_items(person_id, dedup_key, source_id);
