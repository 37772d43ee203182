-- 0059: an entry that gives, as what it is for or about, an entry of another
-- source by its address at that source's server (a hospital's report whose
-- results include the GP's test) is kept out with it (store/consent.go
-- namedAtOtherSources). The importer keeps such a reference whole (0055);
-- beside it now goes its key, "Type/id", a space and the reference
-- ('xref'), by which a kept-out entry finds it. Filled here for those stored
-- before, through the importer's own function (crossRef).
INSERT OR IGNORE INTO record_item_reasons (item_id, system, code)
SELECT item_id, 'xref', mcr_other_source_ref(code) FROM record_item_reasons
WHERE system = 'ref' AND instr(code, '://') > 0 AND mcr_other_source_ref(code) != '';
