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
	// Also are the person's Patients at other sources held for the same new
	// number, accepted with it ("hospital Patient/p7").
	Also []string
}

// heldPatient is a source's Patient held for its NHS number, with what waits on it.
type heldPatient struct {
	sourceID  int64
	source    string
	patientID string
	rows      []fhir.Resource // the Patient first
}

// AcceptNHSNumber takes the new version of a source's Patient that was set
// aside because its NHS number was not the one held for it (otherNHSNumber),
// once an operator has checked with the source that the number was
// corrected: the person the Patient is linked to has the new number in place
// of the old, and the Patient and what waited on it are stored (the latest
// of each), all in one transaction. The person's Patients at other sources
// held for the same new number are accepted with it.
//
// It refuses, changing nothing, when nothing is held for the Patient; when
// the new number is another person's here (accepting it would make two
// people one); and when another source the person is linked to still gives
// the old number (the person would hold both): that source is asked to
// correct it first, and its corrected Patient, held the same way, is then
// accepted with this one.
//
// by is who accepts it (an operator): the person's access log says so, in
// the same transaction (a privacy review: it changed whose record it is, and
// nothing said so).
func (db *DB) AcceptNHSNumber(ctx context.Context, source, patientID string, by Access) (Accepted, error) {
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
		accept := []heldPatient{{sourceID, source, patientID, held}}
		others, err := otherLinks(ctx, tx, out, sourceID, patientID)
		if err != nil {
			return err
		}
		for _, h := range others {
			accept = append(accept, h)
			out.Also = append(out.Also, h.source+" Patient/"+h.patientID)
		}
		// The old number goes: it may be another person's, whom it must not bring here.
		if _, err := tx.ExecContext(ctx, `UPDATE persons SET nhs_number = ? WHERE id = ?`, out.Now, out.PersonID); err != nil {
			return fmt.Errorf("give person %d the NHS number accepted: %w", out.PersonID, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM person_identifiers WHERE person_id = ? AND system = ? AND value <> ?`, out.PersonID, fhir.NHSNumberSystem, out.Now); err != nil {
			return err
		}
		for _, h := range accept {
			res, err := importTx(ctx, tx, db.stamp(), ImportOptions{Source: h.source, SourceID: h.sourceID, Accepted: map[string]string{h.patientID: out.Now}, IndexNames: true},
				"accepted NHS number of Patient/"+h.patientID, PrepareAll(h.rows))
			if err != nil {
				return err
			}
			out.Stored.Add(res)
			out.Stored.SetAside = append(out.Stored.SetAside, res.SetAside...)
		}
		by.PersonID, by.Action, by.What = out.PersonID, ActionAccount, NHSNumberAccepted
		return db.logTx(ctx, tx, by)
	})
	if err != nil {
		return Accepted{}, err
	}
	return out, nil
}

// otherLinks looks at the person's Patients at other sources, before their
// NHS number changes from out.Was to out.Now: one held for the same new
// number is to be accepted too; one whose stored version still gives the old
// number refuses the change, which would leave the person with both.
func otherLinks(ctx context.Context, tx *sql.Tx, out Accepted, sourceID int64, patientID string) ([]heldPatient, error) {
	rows, err := tx.QueryContext(ctx, `SELECT sp.source_id, s.name, sp.patient_id, COALESCE(r.json, '') FROM source_patients sp JOIN sources s ON s.id = sp.source_id
LEFT JOIN resources r ON r.source_id = sp.source_id AND r.type = 'Patient' AND r.id = sp.patient_id
WHERE sp.person_id = ? AND NOT (sp.source_id = ? AND sp.patient_id = ?) ORDER BY s.name, sp.patient_id`, out.PersonID, sourceID, patientID)
	if err != nil {
		return nil, fmt.Errorf("read the person's other links: %w", err)
	}
	type link struct {
		sourceID        int64
		source, patient string
		stored          []byte
	}
	var links []link
	for rows.Next() {
		var l link
		if err := rows.Scan(&l.sourceID, &l.source, &l.patient, &l.stored); err != nil {
			rows.Close()
			return nil, err
		}
		links = append(links, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var accept []heldPatient
	for _, l := range links {
		held, err := heldWith(ctx, tx, l.sourceID, l.patient)
		if err != nil {
			return nil, err
		}
		if len(held) > 0 && held[0].Type == "Patient" {
			if p, err := fhir.ParsePatient(held[0].Raw); err == nil && p.NHSNumber == out.Now {
				accept = append(accept, heldPatient{l.sourceID, l.source, l.patient, held})
				continue
			}
		}
		if was := fhir.StatedNHSNumber(l.stored); was != "" && was == out.Was {
			return nil, Errorf(ECONFLICT, "Person %d is also linked to Patient/%s at %s, which still gives NHS number %s: accepting %s now would leave them with both. Nothing was changed. Ask %s to correct it too; once a sync or import of it holds the corrected Patient, accepting this one accepts both.",
				out.PersonID, l.patient, l.source, nhsNumber(out.Was), nhsNumber(out.Now), l.source)
		}
	}
	return accept, nil
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
