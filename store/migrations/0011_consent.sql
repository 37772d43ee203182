-- 0011: a person's choices about who may use their record and for what.

-- Every decision, appended and never changed: who made it, the one change it
-- made, the whole state it left, and the FHIR Consent that records it.
CREATE TABLE consent_decisions (
    id                     INTEGER PRIMARY KEY,
    person_id              INTEGER NOT NULL REFERENCES persons(id),
    identifier             TEXT NOT NULL UNIQUE,           -- urn:uuid:…, the Consent's identifier everywhere
    made_at                TEXT NOT NULL,
    effective_from         TEXT NOT NULL,
    performer_account_id   INTEGER NOT NULL DEFAULT 0,
    performer_name         TEXT NOT NULL,
    performer_carer        INTEGER NOT NULL DEFAULT 0,
    performer_relationship TEXT NOT NULL DEFAULT '',
    question               TEXT NOT NULL,                  -- e.g. research, withhold:mental-health, withhold-item:<key>
    answer                 TEXT NOT NULL,                  -- yes | no
    item_label             TEXT NOT NULL DEFAULT '',       -- for a single item: what it was called when withheld
    state                  TEXT NOT NULL,                  -- JSON: every choice after this decision
    fhir                   TEXT NOT NULL                   -- the Consent, with the patient named by NHS number
);
CREATE INDEX consent_decisions_person ON consent_decisions(person_id, id);

CREATE TRIGGER consent_decisions_no_update BEFORE UPDATE ON consent_decisions
BEGIN SELECT RAISE(ABORT, 'consent decisions are never changed'); END;
CREATE TRIGGER consent_decisions_no_delete BEFORE DELETE ON consent_decisions
BEGIN SELECT RAISE(ABORT, 'consent decisions are never deleted'); END;

-- One row per decision and upstream source, written in the same transaction as
-- the decision; the pusher sends it and records how that went. Rows are never
-- deleted: a removed source leaves its rows with source_id NULL and source_name.
CREATE TABLE consent_outbox (
    id               INTEGER PRIMARY KEY,
    decision_id      INTEGER NOT NULL REFERENCES consent_decisions(id),
    person_id        INTEGER NOT NULL REFERENCES persons(id),
    source_id        INTEGER REFERENCES sources(id) ON DELETE SET NULL,
    source_name      TEXT NOT NULL,                  -- the organisation, as people saw it then
    patient_id       TEXT NOT NULL,                  -- the person's Patient at that source
    fhir             TEXT NOT NULL,                  -- the Consent exactly as it is sent (without id)
    status           TEXT NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,                  -- also the lease of a claimed row
    last_attempt_at  TEXT NOT NULL DEFAULT '',
    last_error       TEXT NOT NULL DEFAULT '',
    sent_at          TEXT NOT NULL DEFAULT '',
    upstream_id      TEXT NOT NULL DEFAULT '',
    upstream_version TEXT NOT NULL DEFAULT '',
    UNIQUE (decision_id, source_id)
);
CREATE INDEX consent_outbox_due ON consent_outbox(status, next_attempt_at);
CREATE INDEX consent_outbox_person ON consent_outbox(person_id, source_id, id);

CREATE TRIGGER consent_outbox_no_delete BEFORE DELETE ON consent_outbox
BEGIN SELECT RAISE(ABORT, 'consent deliveries are never deleted'); END;

-- Which coded items count as sensitive. SNOMED CT is matched code by code (its
-- codes say nothing by their digits); ICD-10 by prefix (F = mental and
-- behavioural disorders). An item is in a category only when its own code is
-- listed here: nothing is inferred from free text.
CREATE TABLE sensitive_codes (
    category TEXT NOT NULL,          -- mental-health | sexual-health | social-care
    system   TEXT NOT NULL,
    code     TEXT NOT NULL,
    prefix   INTEGER NOT NULL DEFAULT 0,
    display  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (category, system, code)
);
CREATE INDEX sensitive_codes_code ON sensitive_codes(system, code);
CREATE INDEX sensitive_codes_prefix ON sensitive_codes(prefix, system);

INSERT INTO sensitive_codes (category, system, code, prefix, display) VALUES
    ('mental-health', 'http://snomed.info/sct', '370143000', 0, 'Major depression disorder'),
    ('mental-health', 'http://snomed.info/sct', '36923009', 0, 'Major depression, single episode'),
    ('mental-health', 'http://snomed.info/sct', '35489007', 0, 'Depressive disorder'),
    ('mental-health', 'http://snomed.info/sct', '197480006', 0, 'Anxiety disorder'),
    ('mental-health', 'http://snomed.info/sct', '58214004', 0, 'Schizophrenia'),
    ('mental-health', 'http://snomed.info/sct', '13746004', 0, 'Bipolar disorder'),
    ('mental-health', 'http://snomed.info/sct', '47505003', 0, 'Posttraumatic stress disorder'),
    ('mental-health', 'http://snomed.info/sct', '5602001', 0, 'Opioid abuse'),
    ('mental-health', 'http://snomed.info/sct', '7200002', 0, 'Alcoholism'),
    ('mental-health', 'http://snomed.info/sct', '55680006', 0, 'Drug overdose'),
    ('mental-health', 'http://snomed.info/sct', '718347000', 0, 'Mental health care plan'),
    ('mental-health', 'http://snomed.info/sct', '736254008', 0, 'Psychiatry care plan'),
    ('mental-health', 'http://snomed.info/sct', '79094001', 0, 'Initial psychiatric interview with mental status evaluation'),
    ('mental-health', 'http://snomed.info/sct', '56876005', 0, 'Drug rehabilitation and detoxification'),
    ('mental-health', 'http://snomed.info/sct', '171207006', 0, 'Depression screening'),
    ('mental-health', 'http://hl7.org/fhir/sid/icd-10', 'F', 1, 'Mental and behavioural disorders'),
    ('mental-health', 'http://hl7.org/fhir/sid/icd-10-uk', 'F', 1, 'Mental and behavioural disorders'),
    ('mental-health', 'http://loinc.org', '44249-1', 0, 'PHQ-9 quick depression assessment panel'),
    ('mental-health', 'http://loinc.org', '44261-6', 0, 'PHQ-9 total score'),
    ('mental-health', 'http://loinc.org', '55757-9', 0, 'PHQ-2 panel'),
    ('mental-health', 'http://loinc.org', '69737-5', 0, 'GAD-7 panel'),
    ('mental-health', 'http://loinc.org', '70274-6', 0, 'GAD-7 total score'),
    ('mental-health', 'http://www.nlm.nih.gov/research/umls/rxnorm', '406022', 0, 'Fluoxetine 25 MG'),
    ('sexual-health', 'http://snomed.info/sct', '86406008', 0, 'Human immunodeficiency virus infection'),
    ('sexual-health', 'http://snomed.info/sct', '62479008', 0, 'Acquired immune deficiency syndrome'),
    ('sexual-health', 'http://snomed.info/sct', '31676001', 0, 'Human immunodeficiency virus antigen test'),
    ('sexual-health', 'http://snomed.info/sct', '165829005', 0, 'Gonorrhea infection test'),
    ('sexual-health', 'http://snomed.info/sct', '269828009', 0, 'Syphilis infection test'),
    ('sexual-health', 'http://snomed.info/sct', '310861008', 0, 'Chlamydia antigen test'),
    ('sexual-health', 'http://snomed.info/sct', '169553002', 0, 'Insertion of subcutaneous contraceptive'),
    ('sexual-health', 'http://snomed.info/sct', '301807007', 0, 'Removal of subcutaneous contraceptive'),
    ('sexual-health', 'http://snomed.info/sct', '65200003', 0, 'Insertion of intrauterine contraceptive device'),
    ('sexual-health', 'http://snomed.info/sct', '287664005', 0, 'Bilateral tubal ligation'),
    ('sexual-health', 'http://snomed.info/sct', '10383002', 0, 'Counseling for termination of pregnancy'),
    ('sexual-health', 'http://snomed.info/sct', '386394001', 0, 'Pregnancy termination care'),
    ('sexual-health', 'http://snomed.info/sct', '714812005', 0, 'Induced termination of pregnancy'),
    ('sexual-health', 'http://www.nlm.nih.gov/research/umls/rxnorm', '389221', 0, 'Etonogestrel 68 MG drug implant'),
    ('sexual-health', 'http://hl7.org/fhir/sid/icd-10', 'A5', 1, 'Infections with a predominantly sexual mode of transmission (A50-A59)'),
    ('sexual-health', 'http://hl7.org/fhir/sid/icd-10', 'A60', 1, 'Anogenital herpesviral infection'),
    ('sexual-health', 'http://hl7.org/fhir/sid/icd-10', 'A63', 1, 'Other predominantly sexually transmitted diseases'),
    ('sexual-health', 'http://hl7.org/fhir/sid/icd-10', 'A64', 1, 'Unspecified sexually transmitted disease'),
    ('sexual-health', 'http://hl7.org/fhir/sid/icd-10', 'B20', 1, 'HIV disease resulting in infectious and parasitic diseases'),
    ('sexual-health', 'http://hl7.org/fhir/sid/icd-10', 'B21', 1, 'HIV disease resulting in malignant neoplasms'),
    ('sexual-health', 'http://hl7.org/fhir/sid/icd-10', 'B22', 1, 'HIV disease resulting in other specified diseases'),
    ('sexual-health', 'http://hl7.org/fhir/sid/icd-10', 'B23', 1, 'HIV disease resulting in other conditions'),
    ('sexual-health', 'http://hl7.org/fhir/sid/icd-10', 'B24', 1, 'Unspecified HIV disease'),
    ('sexual-health', 'http://hl7.org/fhir/sid/icd-10', 'Z30', 1, 'Contraceptive management'),
    ('social-care', 'http://snomed.info/sct', '410606002', 0, 'Social service procedure');

-- The organisations that are social care services: everything they send counts as social care.
ALTER TABLE sources ADD COLUMN social_care INTEGER NOT NULL DEFAULT 0;
