-- 0036: what is still set aside of one resource is looked up by it: each
-- resource a sync or load stores settles its own (store.settleSetAside), and
-- each Patient's held version is looked for (importer.heldAside). With only
-- 0031's indexes each look read every open row of the source.
CREATE INDEX rejected_resources_resource ON rejected_resources(source_id, type, resource_id) WHERE resolved_at = '';
