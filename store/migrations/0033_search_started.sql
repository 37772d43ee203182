-- 0033: when the server served the first page of the search in progress,
-- and whether that search is already the one run again.
--
-- A search resumed from a saved next link did not know when its first page
-- was served, so it could not tell whether its pages had shifted since: it
-- took them to have, and searched again from the watermark. Whether it had
-- searched again was known only to the run, so a search stopped every page
-- or two (a server asking the sync to wait, restarts) was resumed, searched
-- again, stopped, resumed and searched again for ever, and its watermark
-- never moved. Both are now kept with the next link: a resumed search
-- compares its pages with the time its first page was served, and one that
-- is already the search run again is not run again. A checkpoint saved
-- before this migration has no time, and its search is taken to have shifted.
ALTER TABLE sync_checkpoints ADD COLUMN search_started TEXT NOT NULL DEFAULT '';   -- '' when not known
ALTER TABLE sync_checkpoints ADD COLUMN search_repeat INTEGER NOT NULL DEFAULT 0;  -- 1 for the search run again
