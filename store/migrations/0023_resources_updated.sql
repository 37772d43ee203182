-- 0023: "Where your record comes from" says when each source last sent
-- something about the person: the newest stored_at of their resources there.
-- Without this index that read every one of them, past its JSON, on every
-- summary (16 ms for a record of 10,000); with it, one look per source.
-- A bulk load into an empty cache builds it at its end (store/bulkindex.go).
CREATE INDEX resources_updated ON resources(source_id, patient_id, stored_at);
