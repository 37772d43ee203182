-- 0030: who marked a sync running, so that serve's start clears only its own.
--
-- serve, at its start, cleared every sync marked running, taking them for
-- ones a killed serve left behind. A portal sync running beside it lost its
-- marks: pages stopped saying "Updating…", and serve's worker started a
-- second pull of the same person and source beside it. A mark now says who
-- set it ('serve' or 'portal sync'), a sync is not started while another
-- holds a live mark (store.SyncStarted), and serve clears only marks of its
-- own, or of no one (set before this migration).
ALTER TABLE sync_status ADD COLUMN running_by TEXT NOT NULL DEFAULT '';
