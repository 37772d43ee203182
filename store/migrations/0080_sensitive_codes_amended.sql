-- 0080: 0078 amended (a review of it): Levora, a contraceptive pill Synthea
-- prescribes, and a rapid plasma reagin (syphilis) test as OpenMRS orders it
-- (CIEL 1619, an answer to "Tests ordered") are kept out with sexual health;
-- tenofovir and lamivudine alone, by CIEL, no longer are: each treats
-- hepatitis B too, which is no sexual health code here, and HIV treatment is
-- kept out by its questions' codes (CIEL 1088, 1250, 1255, 159911), whose
-- answers these are. SNOMED CT's 5880005, which Synthea names "Physical exam
-- following abortion", is every physical examination, so is not listed.
INSERT OR IGNORE INTO sensitive_codes (category, system, code, prefix, display) VALUES
    ('sexual-health', 'http://www.nlm.nih.gov/research/umls/rxnorm', '748879', 0, 'Levora 0.15/30 28 Day Pack'),
    ('sexual-health', 'http://loinc.org', '1619AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 0, 'Rapid plasma reagin (CIEL 1619)'),
    ('sexual-health', 'http://snomed.info/sct', '1619AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 0, 'Rapid plasma reagin (CIEL 1619)'),
    ('sexual-health', 'https://cielterminology.org', '1619', 0, 'Rapid plasma reagin');
DELETE FROM sensitive_codes WHERE category = 'sexual-health' AND code IN (
    '84795', '84795AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', '78643', '78643AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')
    AND system IN ('http://loinc.org', 'http://snomed.info/sct', 'https://cielterminology.org');
