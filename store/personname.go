package store

import (
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Names are compared where they are a safeguard: to warn a person that
// someone other than the carer they invited accepted (Grant.AcceptedByOther),
// and to refuse adding a record to an account in another name
// (LinkEnrolment). Both compare the words of names as people write them, so
// that the same name written two ways is one name, and nothing else is.

// nameTitles are words a name may carry or leave off without being another
// person's.
var nameTitles = map[string]bool{"mr": true, "mrs": true, "ms": true, "miss": true, "mx": true, "dr": true, "prof": true, "sir": true, "dame": true, "rev": true}

// nameWords are a name's words as compared: lower case, accents and titles
// taken off, apostrophes written one way, a hyphen a break between words
// ("Zoë O’Brien-Smith" is zoe, o'brien, smith).
func nameWords(name string) []string {
	var b strings.Builder
	for _, r := range norm.NFKD.String(name) {
		switch {
		case unicode.Is(unicode.Mn, r):
			// an accent, taken off its letter
		case r == '’' || r == '‘' || r == '`' || r == '´' || r == 'ʼ':
			b.WriteRune('\'')
		case r == '-' || r == '‐' || r == '‑' || r == '–':
			b.WriteRune(' ')
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	var out []string
	for _, w := range strings.Fields(b.String()) {
		if w = strings.Trim(w, ".,"); w != "" && !nameTitles[w] {
			out = append(out, w)
		}
	}
	return out
}

// sameName says whether two names are one, as nameWords reads them: the
// same words, in any order. "Sam Patel" is "Mr Sam Patel", but "John" is not
// "John Smith", nor "John Smith Okafor": each could be someone else, and the
// person is better warned of a name that differs than not.
func sameName(a, b string) bool {
	wa, wb := nameWords(a), nameWords(b)
	slices.Sort(wa)
	slices.Sort(wb)
	return len(wa) > 0 && slices.Equal(wa, wb)
}

// namesPerson says whether an account's name is the person's: both their
// first given name and their family name, and nothing that is not one of
// their names (a middle name may be left out: "Amir Khan" for Amir Hussain Khan).
func namesPerson(name string, p Person) bool {
	words := nameWords(name)
	given, family := nameWords(p.Given), nameWords(p.Family)
	if len(given) == 0 || len(family) == 0 || !slices.Contains(words, given[0]) {
		return false
	}
	for _, w := range family {
		if !slices.Contains(words, w) {
			return false
		}
	}
	for _, w := range words {
		if !slices.Contains(given, w) && !slices.Contains(family, w) {
			return false
		}
	}
	return true
}

// nameProblem says what is wrong with a name a person types for someone
// else, or "" when nothing is: characters that do not show (which make two
// names that look the same differ), or a word in two alphabets at once (a
// Cyrillic letter that looks like a Latin one), either of which would let
// the warning that someone else accepted an invitation read as if it named
// the carer invited.
func nameProblem(name string) string {
	for _, r := range name {
		if unicode.In(r, unicode.Cf, unicode.Cc, unicode.Co) {
			return "Their name must only use letters, spaces, hyphens and apostrophes."
		}
	}
	for _, w := range strings.FieldsFunc(name, func(r rune) bool { return unicode.IsSpace(r) || r == '-' }) {
		var script *unicode.RangeTable
		for _, r := range w {
			if !unicode.IsLetter(r) {
				continue
			}
			var this *unicode.RangeTable
			for _, t := range []*unicode.RangeTable{unicode.Latin, unicode.Cyrillic, unicode.Greek, unicode.Arabic, unicode.Hebrew, unicode.Han, unicode.Devanagari, unicode.Bengali, unicode.Gurmukhi, unicode.Gujarati, unicode.Tamil, unicode.Thai, unicode.Hangul, unicode.Hiragana, unicode.Katakana} {
				if unicode.Is(t, r) {
					this = t
					break
				}
			}
			if this == nil {
				continue
			}
			if script != nil && script != this && !(isCJK(script) && isCJK(this)) {
				return "Each word of their name must be written in one alphabet."
			}
			script = this
		}
	}
	return ""
}

// isCJK says whether a script is one of those Japanese mixes in a word.
func isCJK(t *unicode.RangeTable) bool {
	return t == unicode.Han || t == unicode.Hiragana || t == unicode.Katakana
}
