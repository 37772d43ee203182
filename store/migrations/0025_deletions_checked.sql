-- 0025: how far each person's deletions have been read from a source's type
-- history. Deletions were read since the type's watermark, which moves only
-- when the person gets a newer resource, while the history is the whole
-- server's: for most people the window, and the pages read on every sync,
-- grew without bound. This moves after every history read that succeeds, to
-- when that read began, stored with the deletions it applied. '' means not
-- yet read: the watermark stands in.
ALTER TABLE sync_checkpoints ADD COLUMN deletions_checked TEXT NOT NULL DEFAULT '';
