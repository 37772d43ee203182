-- 0044: the summary says what a person's record holds that no page shows
-- (store.DB.UnshownKinds: a device such as an implant, a scan, a medicine a
-- pharmacy supplied), so that "one record" never hides that it is more. The
-- index holds only those kinds, so counting them reads nothing else, and a
-- bulk load of everything else keeps nothing more.
CREATE INDEX resources_unshown ON resources(source_id, patient_id, type) WHERE type IN ('Device', 'DeviceUseStatement', 'DeviceRequest',
    'ImagingStudy', 'MedicationDispense', 'MedicationAdministration', 'FamilyMemberHistory', 'Flag', 'ServiceRequest', 'Goal',
    'RiskAssessment', 'ClinicalImpression', 'NutritionOrder', 'QuestionnaireResponse', 'Media');
