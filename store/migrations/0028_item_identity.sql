-- 0028: a record item keeps its id, and its id is never another entry's.
--
-- The access log names the entries viewed by item id, and a resource
-- changed upstream has its items rewritten in place (store/import.go
-- writeItems), each paired with the stored item it follows on from. Three
-- things let an id come to name another entry:
--
-- * A care team that gained and lost members paired them by order. Each
--   item now keeps what it is within its resource (part: a care team
--   member's reference, e.g. 'Practitioner/7'), and items pair by that
--   first. Items stored before have none until their resource next changes,
--   and pair as they did.
-- * record_items.id has no AUTOINCREMENT, so SQLite gave the id of a deleted
--   newest item to the next one stored. The importer now gives ids itself,
--   above the highest ever given (record_item_ids) or named in the log.
-- * A key held for an item kept out of sharing (held_keys, 0027) held for
--   whichever person the item came to be about. It now names the person
--   whose choice it is, and holds only while the item is theirs.
ALTER TABLE record_items ADD COLUMN part TEXT NOT NULL DEFAULT '';

CREATE TABLE record_item_ids (high INTEGER NOT NULL);
-- Above every item stored, and every one the access log names as viewed
-- ("conditions entry 12"), even one deleted since.
INSERT INTO record_item_ids (high) SELECT MAX(COALESCE((SELECT MAX(id) FROM record_items), 0),
    COALESCE((SELECT MAX(CAST(substr(what, instr(what, ' entry ') + 7) AS INTEGER)) FROM access_log WHERE action = 'view' AND instr(what, ' entry ') > 0), 0));

CREATE TABLE held_keys_0028 (
    person_id INTEGER NOT NULL,
    key       TEXT NOT NULL,
    item_id   INTEGER NOT NULL REFERENCES record_items(id) ON DELETE CASCADE,
    PRIMARY KEY (person_id, key, item_id)
) WITHOUT ROWID;
INSERT INTO held_keys_0028 (person_id, key, item_id)
SELECT ri.person_id, h.key, h.item_id FROM held_keys h JOIN record_items ri ON ri.id = h.item_id WHERE ri.person_id IS NOT NULL;
DROP TABLE held_keys;
ALTER TABLE held_keys_0028 RENAME TO held_keys;
CREATE INDEX held_keys_item ON held_keys(item_id);

-- An item kept out of sharing that its resource no longer gives (a member
-- who left a care team, a resource filed against nobody) is removed; the keys
-- it was kept out by wait here for an item of the same resource, part and
-- person, which is held to them (store/import.go removeItem, keepOutAgain).
-- Only the person sharing the entry again removes keys that never find one.
CREATE TABLE held_keys_waiting (
    source_id     INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    part          TEXT NOT NULL,
    person_id     INTEGER NOT NULL,
    key           TEXT NOT NULL,
    PRIMARY KEY (source_id, resource_type, resource_id, part, person_id, key)
) WITHOUT ROWID;
