-- 0071: a type whose search shifted even when run again is listed, to fetch
-- what its pages skipped; that it is due is kept with the checkpoint the
-- search ends with, so a sync stopped before the listing (kill -9, or serve
-- shutting down) leaves it to the next, not to the daily listing (a review:
-- the watermark had passed the skipped update, and nothing said so).
ALTER TABLE sync_checkpoints ADD COLUMN list_due INTEGER NOT NULL DEFAULT 0;
