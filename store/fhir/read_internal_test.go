package fhir

import "testing"

// TestReadOnceApplies checks which lines ReadResource reads with one decode:
// if none did, bulk imports would quietly read every line twice.
func TestReadOnceApplies(t *testing.T) {
	tests := []struct {
		line string
		once bool
	}{
		{`{"resourceType":"Observation","id":"o1","code":{"text":"Pulse"},"subject":{"reference":"Patient/p1"}}`, true},
		{`{"resourceType":"Condition","id":"c1","code":{"text":"Blood  pressure"},"subject":{"reference":"Patient/p1"}}`, true},
		{`{"resourceType":"Observation", "id":"o1"}`, true}, // compacted first
		{`{"id":"o1","resourceType":"Observation"}`, false},
		{`{"resourceType":"Observation","id":"o1","resourceType":"Condition"}`, false},
		{`{"resourceType":"Patient","id":"p1"}`, false}, // its projector reads no header
		{`{"resourceType":"Claim","id":"c1","patient":{"reference":"Patient/p1"}}`, true},
		{`{"resourceType":"AuditEvent","id":"e1"}`, false},                     // names its patient among its entities
		{`{"resourceType":"Organization","id":"g1","name":"Meanwood"}`, false}, // its projector reads no header
		{`{"resourceType":"Observation","id":"o 1"}`, false},
		{`{"resourceType":"Observation","id":"o1","code":5}`, false},
	}
	for _, tt := range tests {
		if _, ok := readOnce([]byte(tt.line)); ok != tt.once {
			t.Errorf("%s: one decode %v, want %v", tt.line, ok, tt.once)
		}
	}
}
