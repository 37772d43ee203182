package store

import (
	"context"
	"fmt"
	"slices"
)

// UnshownKind is a kind of clinical resource the person's record holds that
// no page of the portal shows yet, and how many of it.
type UnshownKind struct {
	Type  string // the FHIR resource type, e.g. "Device"
	Count int
	From  []string // the organisations that sent them, by name (a review: "ask the organisation that recorded them" named none)
}

// unshownTypes are the clinical resource types the record may hold but no
// page shows, and Goal, shown since migration 0079 (fhir projectGoal),
// left out by the query; the index of migration 0044 holds exactly these. Billing
// (Claim, ExplanationOfBenefit) and what pages read for who and where
// (Organization, Provenance) are no part of the record to a person.
const unshownTypes = `('Device', 'DeviceUseStatement', 'DeviceRequest',
    'ImagingStudy', 'MedicationDispense', 'MedicationAdministration', 'FamilyMemberHistory', 'Flag', 'ServiceRequest', 'Goal',
    'RiskAssessment', 'ClinicalImpression', 'NutritionOrder', 'QuestionnaireResponse', 'Media')`

// UnshownKinds says what the person's record holds that no page shows, by
// kind, for the summary to say so and point to the download, which holds it
// all. A carer is told nothing of it: their download holds only what their
// pages show.
func (db *DB) UnshownKinds(ctx context.Context, personID int64) ([]UnshownKind, error) {
	if IsForCarer(ctx) {
		return nil, nil
	}
	rows, err := db.db.QueryContext(ctx, `SELECT r.type, s.org_name, s.name, COUNT(*) FROM source_patients sp
JOIN resources r INDEXED BY resources_unshown ON r.source_id = sp.source_id AND r.patient_id = sp.patient_id AND r.type IN `+unshownTypes+` AND r.type != 'Goal'
JOIN sources s ON s.id = sp.source_id
WHERE sp.person_id = ? GROUP BY r.type, s.id ORDER BY r.type, s.id`, personID)
	if err != nil {
		return nil, fmt.Errorf("kinds not shown: %w", err)
	}
	defer rows.Close()
	var out []UnshownKind
	for rows.Next() {
		var typ string
		var src Source
		var n int
		if err := rows.Scan(&typ, &src.OrgName, &src.Name, &n); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].Type != typ {
			out = append(out, UnshownKind{Type: typ})
		}
		k := &out[len(out)-1]
		k.Count += n
		if !slices.Contains(k.From, src.Label()) {
			k.From = append(k.From, src.Label()) // as the pages name the source
		}
	}
	return out, rows.Err()
}
