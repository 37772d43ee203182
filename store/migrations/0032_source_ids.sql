-- 0032: a source's id is never given to another source.
--
-- sources.id has no AUTOINCREMENT, so SQLite gave the id of a removed
-- newest source to the next one added. A sync of the removed source still
-- running knows it by id and name (sourceStillThere), so a source added
-- again under the same name, perhaps for another address, took what that
-- sync went on fetching from the old one. Sources are now given ids above
-- the highest ever given (newSourceID in store/sync.go).
CREATE TABLE source_ids (high INTEGER NOT NULL);
INSERT INTO source_ids (high) SELECT COALESCE(MAX(id), 0) FROM sources;
CREATE TRIGGER source_ids_removed AFTER DELETE ON sources BEGIN
    UPDATE source_ids SET high = MAX(high, OLD.id);
END;
