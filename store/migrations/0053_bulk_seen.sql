-- 0053: the resources a full bulk export listed, noted as each batch is
-- stored when the cache already held some of the source's, so that once
-- the export is complete what it did not list, stored before it began, is
-- removed as deleted upstream (store SweepUnseen). A full export lists no
-- deletions: after a load stopped half way, the next is a full one, and a
-- resource deleted upstream in between stayed in the record for good (a
-- review). Emptied when a full export starts and when its sweep is done.
CREATE TABLE bulk_seen (
    source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    type      TEXT NOT NULL,
    id        TEXT NOT NULL,
    PRIMARY KEY (source_id, type, id)
) WITHOUT ROWID;
