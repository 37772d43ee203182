package fhir_test

import (
	"testing"

	"github.com/mycarerecord/portal/store/fhir"
)

func TestValidNHSNumber(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"9434765919", true},
		{"9434765918", false},
		{"abc", false},
		{"", false},
		{"943476591", false},
		{"94347659190", false},
		{"943476591a", false},
		{"9434765960", false}, // check digit would be 10: never issued
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := fhir.ValidNHSNumber(tt.in); got != tt.want {
				t.Errorf("ValidNHSNumber(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
