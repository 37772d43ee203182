-- 0077: a person whose records were all merged into another's (store/import.go
-- foldMergedInto: a source merged their Patient into another, which came
-- later) names that person, so that operators are pointed on to them: the
-- person left holds nothing, yet keeps their id for the access log. Persons
-- emptied so before this migration name nobody (which is not known now).
ALTER TABLE persons ADD COLUMN merged_into INTEGER REFERENCES persons(id);
