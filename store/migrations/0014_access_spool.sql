-- Access log entries now reach the table through a spool file (store/spool.go):
-- each is written there, and synced, before the page it logs is shown, and
-- moved into this table soon after. spool_id names an entry in the spool, so
-- an entry moved just before a crash, and still in the spool after it, is
-- not moved twice.
ALTER TABLE access_log ADD COLUMN spool_id TEXT;
CREATE UNIQUE INDEX access_log_spool_id ON access_log (spool_id) WHERE spool_id IS NOT NULL;
