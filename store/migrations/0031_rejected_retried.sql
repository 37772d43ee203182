-- 0031: resources kept aside are read again in turn, not the same first 200 for ever.
--
-- Each sync read again the first 200 resources kept aside at the source, in
-- order of type and id. With 200 that stay unreadable upstream, one later in
-- that order, only damaged on the way, was never read again, and every sync
-- of every person asked for the same 200. Each try is now noted: those tried
-- least lately go first, and one still unreadable waits an hour before the
-- next (store.RetryDue).
ALTER TABLE rejected_resources ADD COLUMN retried_at TEXT NOT NULL DEFAULT '';
CREATE INDEX rejected_resources_retry ON rejected_resources(source_id, resolved_at, retried_at);
