-- 0058: the address a bundle entry gave a resource ("urn:uuid:…") when it
-- is not the resource's own id, so that a reference by that address from
-- another entry of the bundle names the resource (store/consent.go
-- namesOneOf: a report naming a kept-out result so was shared; found by a
-- review). Those imported before are not known: importing the file again
-- notes them.
CREATE TABLE bundle_urls (
    source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    type      TEXT NOT NULL,
    id        TEXT NOT NULL,
    url       TEXT NOT NULL,
    PRIMARY KEY (source_id, type, id, url)
) WITHOUT ROWID;
