package store

import "testing"

// TestFTSQueryLooksForOtherSpellings: each word is looked for as typed and
// as a record from a US system may write it, the last perhaps unfinished;
// short words and words with no US form are left as they are.
func TestFTSQueryLooksForOtherSpellings(t *testing.T) {
	tests := []struct{ typed, want string }{
		{"anaemia", `("anaemia"* OR "anemia"*)`},
		{"Haematocrit", `("Haematocrit"* OR "hematocrit"*)`},
		{"oedema leg", `("oedema" OR "edema") AND "leg"*`},
		{"tumours", `("tumours"* OR "tumors"*)`},
		{"immunisation", `("immunisation"* OR "immunization"*)`},
		{"centre", `("centre"* OR "center"*)`},
		{"paracetamol", `("paracetamol"* OR "acetaminophen")`},
		{"Acetaminophen", `("Acetaminophen"* OR "paracetamol")`},
		{"flu jab", `("flu" OR "influenza") AND "jab"*`},
		{"influenza", `("influenza"* OR "flu")`},
		{"a&e copd b12", `("a&e" OR "emergency") AND ("copd" OR "chronic obstructive") AND ("b12"* OR "b 12"*)`},
		{"COPD", `("COPD"* OR "chronic obstructive")`},
		{"B12", `("B12"* OR "b 12"*)`},
		{"four", `"four"*`},
		{"toe", `"toe"*`},
		{"metformin", `"metformin"*`},
		{`say "hi"`, `"say" AND """hi"""*`},
		{"a", `"a"`},
	}
	for _, tt := range tests {
		if got := ftsQuery(tt.typed); got != tt.want {
			t.Errorf("ftsQuery(%q) = %s, want %s", tt.typed, got, tt.want)
		}
	}
}
