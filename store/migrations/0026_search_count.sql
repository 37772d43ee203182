-- 0026: how many resources the search in progress has received, and the
-- Bundle.total its first page gave. A resource deleted upstream while a search
-- is read by offset pages moves every later one up a place, so the next page
-- skips one; a search that ends with fewer than its total does not move the
-- watermark past the skipped one. Kept with the next link, so a search resumed
-- by a later sync still counts from its first page.
ALTER TABLE sync_checkpoints ADD COLUMN search_total INTEGER NOT NULL DEFAULT 0;    -- 0 when not given
ALTER TABLE sync_checkpoints ADD COLUMN search_received INTEGER NOT NULL DEFAULT 0;
