package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/mycarerecord/portal/store/fhir"
)

// Accepted is what AcceptNHSNumber did.
type Accepted struct {
	PersonID int64
	Name     string // the person's, as the Patient accepted gives it
	Was, Now string // their NHS number before and after
	Stored   ImportResult
}

// AcceptNHSNumber takes the new version of a source's Patient that was set
// aside because its NHS number was not the one held for it (otherNHSNumber),
// once an operator has checked with the source that the number was
// corrected: the person the Patient is linked to has the new number in place
// of the old, and the Patient and what waited on it are stored (the latest
// of each), all in one transaction.
//
// It refuses, changing nothing, when nothing is held for the Patient, or
// when the new number is another person's here: accepting it would make two
// people one, so that is for the source to put right.
func (db *DB) AcceptNHSNumber(ctx context.Context, source, patientID string) (Accepted, error) {
	var out Accepted
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var sourceID int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM sources WHERE name = ?`, source).Scan(&sourceID)
		if errors.Is(err, sql.ErrNoRows) {
			return Errorf(ENOTFOUND, "No source is named %q: portal source list shows them.", source)
		}
		if err != nil {
			return err
		}
		held, err := heldWith(ctx, tx, sourceID, patientID)
		if err != nil {
			return err
		}
		if len(held) == 0 || held[0].Type != "Patient" {
			return Errorf(ENOTFOUND, "Nothing from %s is set aside for Patient/%s's NHS number, so there is nothing to accept.", source, patientID)
		}
		patient, err := fhir.ParsePatient(held[0].Raw)
		if err != nil {
			return fmt.Errorf("read the Patient/%s set aside: %w", patientID, err)
		}
		out.Now, out.Name = patient.NHSNumber, Person{Prefix: patient.Prefix, Given: patient.Given, Family: patient.Family}.Name()
		err = tx.QueryRowContext(ctx, `SELECT p.id, COALESCE(p.nhs_number, '') FROM source_patients sp JOIN persons p ON p.id = sp.person_id
WHERE sp.source_id = ? AND sp.patient_id = ?`, sourceID, patientID).Scan(&out.PersonID, &out.Was)
		if errors.Is(err, sql.ErrNoRows) {
			return Errorf(ENOTFOUND, "Patient/%s at %s is linked to nobody here, so there is no one whose NHS number to change.", patientID, source)
		}
		if err != nil {
			return err
		}
		var other Person
		err = tx.QueryRowContext(ctx, `SELECT id, prefix, given, family FROM persons WHERE id <> ?1 AND (nhs_number = ?2
OR id IN (SELECT person_id FROM person_identifiers WHERE system = ?3 AND value = ?2)) LIMIT 1`, out.PersonID, out.Now, fhir.NHSNumberSystem).
			Scan(&other.ID, &other.Prefix, &other.Given, &other.Family)
		if err == nil {
			return Errorf(ECONFLICT, "NHS number %s is person %d's (%s): accepting it for Patient/%s, linked to person %d, would make two people one. Nothing was changed; ask %s which is right.",
				nhsNumber(out.Now), other.ID, other.Name(), patientID, out.PersonID, source)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// The old number goes: it may be another person's, whom it must not bring here.
		if _, err := tx.ExecContext(ctx, `UPDATE persons SET nhs_number = ? WHERE id = ?`, out.Now, out.PersonID); err != nil {
			return fmt.Errorf("give person %d the NHS number accepted: %w", out.PersonID, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM person_identifiers WHERE person_id = ? AND system = ? AND value <> ?`, out.PersonID, fhir.NHSNumberSystem, out.Now); err != nil {
			return err
		}
		out.Stored, err = importTx(ctx, tx, db.stamp(), ImportOptions{Source: source, SourceID: sourceID, Accepted: map[string]string{patientID: out.Now}},
			"accepted NHS number of Patient/"+patientID, PrepareAll(held))
		return err
	})
	if err != nil {
		return Accepted{}, err
	}
	return out, nil
}

// heldWith reads what is set aside at the source waiting on the Patient held
// for its NHS number, the latest version of each, the Patient first.
func heldWith(ctx context.Context, tx *sql.Tx, sourceID int64, patientID string) ([]fhir.Resource, error) {
	rows, err := tx.QueryContext(ctx, `SELECT json FROM rejected_resources r
WHERE source_id = ?1 AND held_for = ?2 AND resolved_at = '' AND json IS NOT NULL
AND id = (SELECT MAX(id) FROM rejected_resources l WHERE l.source_id = ?1 AND l.type = r.type AND l.resource_id = r.resource_id AND l.held_for = ?2 AND l.resolved_at = '')
ORDER BY type <> 'Patient', id`, sourceID, patientID)
	if err != nil {
		return nil, fmt.Errorf("read what is held for Patient/%s: %w", patientID, err)
	}
	defer rows.Close()
	var out []fhir.Resource
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return nil, err
		}
		r, err := fhir.ParseResource(raw)
		if err != nil {
			return nil, fmt.Errorf("read what is held for Patient/%s: %w", patientID, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
