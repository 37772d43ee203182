-- 0008: a result's numbers kept beside it. For an Observation, exact holds the
-- parts of the resource its value, units, normal range and flag come from (the
-- JSON array [valueQuantity, referenceRange, interpretation, component]), so a
-- trend page reads a few hundred bytes off its record item instead of the
-- whole resource. NULL when not known: the page then reads the resource.
ALTER TABLE record_items ADD COLUMN exact TEXT;
UPDATE record_items SET exact = (
    SELECT json_extract(CAST(r.json AS TEXT), '$.valueQuantity', '$.referenceRange', '$.interpretation', '$.component')
    FROM resources r
    WHERE r.source_id = record_items.source_id AND r.type = record_items.resource_type AND r.id = record_items.resource_id
      AND json_valid(CAST(r.json AS TEXT)) AND json_type(CAST(r.json AS TEXT)) = 'object')
WHERE resource_type = 'Observation';
