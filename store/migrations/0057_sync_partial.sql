-- 0057: a sync that brought most of a record up to date while a part
-- failed (a type the source refuses, say) is noted as partly done: its time
-- is the record's last update, and the part that failed is warned of (a
-- review: a source refusing one type had the pages say, after every sync,
-- that the record was what it sent weeks before).
ALTER TABLE sync_status ADD COLUMN partial INTEGER NOT NULL DEFAULT 0;
