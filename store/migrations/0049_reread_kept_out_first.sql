-- 0049: a re-read notes when it has read the resources of entries kept out
-- of sharing first (store rereadKeptOutFirst), so a file opened again while
-- the re-read goes on does not read them again, holding the writer each
-- time (a review: 1.5 s an open with 5,000 entries kept out, and a sync
-- beside it waited). A migration that asks for a re-read starts its row
-- again, so it is 0.
ALTER TABLE reread_backlog ADD COLUMN kept_out_first INTEGER NOT NULL DEFAULT 0;
