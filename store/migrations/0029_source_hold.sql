-- 0029: a source that asked us to wait is left alone until then, by every process.
--
-- A FHIR server that answers 429 or 503 with a Retry-After longer than a
-- call may wait (30 s) is not called again until the time it gave, a day at
-- most (store/fhirsync/client.go). That was held in the memory of the
-- process that heard it: a portal sync run a second later, or serve after a
-- restart, asked again at once. The time is now kept with the source
-- (store.HoldSource), and every process's client starts from it.
ALTER TABLE sources ADD COLUMN held_until TEXT NOT NULL DEFAULT '';
