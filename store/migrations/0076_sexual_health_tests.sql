-- 0076: keeping sexual health out of sharing keeps out the laboratory tests
-- for it by their LOINC codes too, as laboratories send them: before, only
-- SNOMED CT's "Human immunodeficiency virus antigen test" and the like were
-- listed, so an HIV antibody test or viral load coded in LOINC stayed on a
-- carer's pages while the question said HIV tests were kept out (a product
-- review). HIV antibody, antigen and RNA tests; chlamydia, gonorrhoea and
-- syphilis tests; and SNOMED CT's disorders for those infections. Which
-- report of a fact stands can lean on whether its reasons are of such a
-- kind (store/dedup.go); that is worked out again when the fact next
-- changes, not here: a dedup backlog would have the next command finish the
-- re-read 0074 leaves to serve (a review).
INSERT OR IGNORE INTO sensitive_codes (category, system, code, prefix, display) VALUES
    ('sexual-health', 'http://loinc.org', '7917-8', 0, 'HIV 1 Ab [Presence] in Serum'),
    ('sexual-health', 'http://loinc.org', '7918-6', 0, 'HIV 1+2 Ab [Presence] in Serum'),
    ('sexual-health', 'http://loinc.org', '7919-4', 0, 'HIV 2 Ab [Presence] in Serum'),
    ('sexual-health', 'http://loinc.org', '5220-9', 0, 'HIV 1 Ab [Units/volume] in Serum or Plasma by Immunoassay'),
    ('sexual-health', 'http://loinc.org', '5221-7', 0, 'HIV 1 Ab [Presence] in Serum or Plasma by Immunoblot'),
    ('sexual-health', 'http://loinc.org', '5222-5', 0, 'HIV 1 Ag [Presence] in Serum or Plasma by Immunoassay'),
    ('sexual-health', 'http://loinc.org', '5223-3', 0, 'HIV 1+2 Ab [Units/volume] in Serum or Plasma by Immunoassay'),
    ('sexual-health', 'http://loinc.org', '31201-7', 0, 'HIV 1+2 Ab [Presence] in Serum or Plasma by Immunoassay'),
    ('sexual-health', 'http://loinc.org', '48345-3', 0, 'HIV 1+O+2 Ab [Presence] in Serum or Plasma'),
    ('sexual-health', 'http://loinc.org', '49580-4', 0, 'HIV 1+2 Ab [Presence] in Specimen by Rapid immunoassay'),
    ('sexual-health', 'http://loinc.org', '56888-1', 0, 'HIV 1+2 Ab+HIV1 p24 Ag [Presence] in Serum or Plasma by Immunoassay'),
    ('sexual-health', 'http://loinc.org', '58900-2', 0, 'HIV 1+2 Ab+HIV1 p24 Ag [Units/volume] in Serum or Plasma by Immunoassay'),
    ('sexual-health', 'http://loinc.org', '68961-2', 0, 'HIV 1 Ab [Presence] in Serum, Plasma or Blood by Rapid immunoassay'),
    ('sexual-health', 'http://loinc.org', '69668-2', 0, 'HIV 1 and 2 Ab [Identifier] in Serum or Plasma by Rapid immunoassay'),
    ('sexual-health', 'http://loinc.org', '73905-2', 0, 'HIV 1+2 IgG Ab [Presence] in Serum or Plasma by Rapid immunoassay'),
    ('sexual-health', 'http://loinc.org', '75622-1', 0, 'HIV 1 and 2 tests - Meaningful Use set'),
    ('sexual-health', 'http://loinc.org', '75666-8', 0, 'HIV 1+2 Ab and HIV1 p24 Ag [Identifier] in Serum, Plasma or Blood by Rapid immunoassay'),
    ('sexual-health', 'http://loinc.org', '80387-4', 0, 'HIV 1+2 Ab [Presence] in Serum, Plasma or Blood by Rapid immunoassay'),
    ('sexual-health', 'http://loinc.org', '83101-6', 0, 'HIV 1+2 Ab and HIV1 p24 Ag panel - Serum or Plasma by Immunoassay'),
    ('sexual-health', 'http://loinc.org', '9821-0', 0, 'HIV 1 p24 Ag [Presence] in Serum'),
    ('sexual-health', 'http://loinc.org', '5017-9', 0, 'HIV 1 RNA [#/volume] (viral load) in Blood by NAA with probe detection'),
    ('sexual-health', 'http://loinc.org', '5018-7', 0, 'HIV 1 RNA [Presence] in Blood by NAA with probe detection'),
    ('sexual-health', 'http://loinc.org', '10351-5', 0, 'HIV 1 RNA [Units/volume] (viral load) in Serum or Plasma by Probe with amplification'),
    ('sexual-health', 'http://loinc.org', '20447-9', 0, 'HIV 1 RNA [#/volume] (viral load) in Serum or Plasma by NAA with probe detection'),
    ('sexual-health', 'http://loinc.org', '21008-8', 0, 'HIV 1 RNA [#/volume] (viral load) in Serum or Plasma by Probe'),
    ('sexual-health', 'http://loinc.org', '23876-6', 0, 'HIV 1 RNA [Units/volume] (viral load) in Plasma by Probe with signal amplification'),
    ('sexual-health', 'http://loinc.org', '25835-0', 0, 'HIV 1 RNA [Presence] in Serum or Plasma by NAA with probe detection'),
    ('sexual-health', 'http://loinc.org', '25836-8', 0, 'HIV 1 RNA [#/volume] (viral load) in Serum or Plasma by NAA with probe detection'),
    ('sexual-health', 'http://loinc.org', '48551-2', 0, 'HIV 1 RNA [Log #/volume] (viral load) in Serum or Plasma by NAA with probe detection'),
    ('sexual-health', 'http://loinc.org', '62469-2', 0, 'HIV 1 RNA [Presence] in Serum or Plasma by NAA with probe detection'),
    ('sexual-health', 'http://loinc.org', '21613-5', 0, 'Chlamydia trachomatis DNA [Presence] in Specimen by NAA with probe detection'),
    ('sexual-health', 'http://loinc.org', '43304-5', 0, 'Chlamydia trachomatis rRNA [Presence] in Specimen by NAA with probe detection'),
    ('sexual-health', 'http://loinc.org', '24111-7', 0, 'Neisseria gonorrhoeae DNA [Presence] in Specimen by NAA with probe detection'),
    ('sexual-health', 'http://loinc.org', '43305-2', 0, 'Neisseria gonorrhoeae rRNA [Presence] in Specimen by NAA with probe detection'),
    ('sexual-health', 'http://loinc.org', '20507-0', 0, 'Reagin Ab [Presence] in Serum by RPR'),
    ('sexual-health', 'http://loinc.org', '5292-8', 0, 'Reagin Ab [Presence] in Serum by VDRL'),
    ('sexual-health', 'http://loinc.org', '22587-0', 0, 'Treponema pallidum Ab [Presence] in Serum'),
    ('sexual-health', 'http://snomed.info/sct', '105629000', 0, 'Chlamydial infection'),
    ('sexual-health', 'http://snomed.info/sct', '15628003', 0, 'Gonorrhea'),
    ('sexual-health', 'http://snomed.info/sct', '76272004', 0, 'Syphilis'),
    ('sexual-health', 'http://snomed.info/sct', '33839006', 0, 'Genital herpes simplex'),
    ('sexual-health', 'http://snomed.info/sct', '165816005', 0, 'Human immunodeficiency virus detected');
