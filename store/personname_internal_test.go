package store

import "testing"

// A name names the person however its words are run together or written
// apart ("O Brien" for O'Brien), but never with a word that is not theirs.
func TestNamesPersonWordsJoined(t *testing.T) {
	siobhan := Person{Given: "Siobhan Mary", Family: "O'Brien"}
	for _, tt := range []struct {
		name string
		want bool
	}{
		{"Siobhan O'Brien", true},
		{"Siobhan O Brien", true},
		{"Siobhan Mary OBrien", true},
		{"Siobhan Brien", false},
		{"Siobhan O Brien Jones", false},
		{"Mary O'Brien", false},
	} {
		if got := namesPerson(tt.name, siobhan); got != tt.want {
			t.Errorf("%q names Siobhan Mary O'Brien: %v, want %v", tt.name, got, tt.want)
		}
	}
	if !namesPerson("Ian McDonald", Person{Given: "Ian", Family: "Mc Donald"}) {
		t.Error("Ian McDonald does not name Ian Mc Donald")
	}
}
