package store

import (
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/cases"
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

// nameWords are a name's words as compared: case folded (ß is ss, a final
// σ is σ, a dotless ı is i), accents, apostrophes, joiners and titles taken
// off, a hyphen a break between words ("Zoë O’Brien-Smith" is zoe, obrien,
// smith; "IŞIK" and "Işık" are both isik).
func nameWords(name string) []string {
	// A nickname in brackets is not part of the name: "John (Jack) Smith".
	for {
		open := strings.IndexByte(name, '(')
		end := strings.IndexByte(name, ')')
		if open < 0 || end < open {
			break
		}
		name = name[:open] + " " + name[end+1:]
	}
	var b strings.Builder
	for _, r := range norm.NFKD.String(cases.Fold().String(name)) {
		if plain, ok := lettersApart[r]; ok {
			b.WriteString(plain)
			continue
		}
		switch {
		case unicode.Is(unicode.Mn, r), r == '\u200c', r == '\u200d':
			// an accent, taken off its letter; a joiner, which changes how letters join, not which
		case r == '\'' || r == '’' || r == '‘' || r == '`' || r == '´' || r == 'ʼ':
			// O'Brien is OBrien
		case r == '-' || r == '‐' || r == '‑' || r == '–':
			b.WriteRune(' ')
		case r == 'ı':
			b.WriteRune('i')
		default:
			b.WriteRune(r)
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

// joinWords joins words written apart that the other name writes as one:
// "O Brien" is "OBrien", "Mc Donald" "McDonald", "Mary Ann" "Maryann", as
// people and records write them either way. Only words next to each other
// that together make one of the other name's words are joined.
func joinWords(words, other []string) []string {
	var out []string
	for i := 0; i < len(words); i++ {
		joined, end := words[i], i
		for j, w := i+1, words[i]; j < len(words); j++ {
			if w += words[j]; slices.Contains(other, w) {
				joined, end = w, j
			}
		}
		out = append(out, joined)
		i = end
	}
	return out
}

// lettersApart are letters with a mark that no decomposition takes off, as
// people write them without it ("Søren" as "Soren").
var lettersApart = map[rune]string{'ø': "o", 'ł': "l", 'đ': "d", 'ð': "d", 'þ': "th", 'æ': "ae", 'œ': "oe", 'ħ': "h", 'ŧ': "t"}

// sameName says whether two names are one, as nameWords reads them: the
// same words, in any order. "Sam Patel" is "Mr Sam Patel", but "John" is not
// "John Smith", nor "John Smith Okafor": each could be someone else, and the
// person is better warned of a name that differs than not.
func sameName(a, b string) bool {
	wa, wb := nameWords(a), nameWords(b)
	wa, wb = joinWords(wa, wb), joinWords(wb, wa)
	slices.Sort(wa)
	slices.Sort(wb)
	return len(wa) > 0 && slices.Equal(wa, wb)
}

// namesPerson says whether a name is the person's: their first given name
// and their family name, whichever of the two their record has (one name
// only: "Cher"; or a name held only as text, read as the family name), and
// nothing that is not one of their names (a middle name may be left out:
// "Amir Khan" for Amir Hussain Khan).
func namesPerson(name string, p Person) bool {
	words := nameWords(name)
	given, family := nameWords(p.Given), nameWords(p.Family)
	words = joinWords(joinWords(words, given), family)
	given, family = joinWords(given, words), joinWords(family, words)
	var need []string
	switch {
	case len(given) > 0:
		need = append([]string{given[0]}, family...)
	case len(family) > 1:
		// A name held only as text ("Amir Hussain Khan"): its first and last words.
		need = []string{family[0], family[len(family)-1]}
	default:
		need = family
	}
	if len(need) == 0 {
		return false
	}
	for _, w := range need {
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
// else, or "" when nothing is: a character that does not show (which makes
// two names that look the same differ; a joiner, as a Persian or Indian
// keyboard types, is part of writing the name), or letters
// of more than one alphabet (a Cyrillic "Сох" beside a Latin "Jane"), either
// of which would let the warning that someone else accepted an invitation
// read as if it named the carer invited. Japanese, mixing kanji and kana,
// and Korean, with hanja, count as one.
func nameProblem(name string) string {
	runes := []rune(name)
	for _, r := range runes {
		if r == '\u200c' || r == '\u200d' {
			continue // joiners, part of writing Persian and Indian names; names are compared without them
		}
		if unicode.In(r, unicode.Cf, unicode.Cc, unicode.Co) {
			return "Their name has a character that does not show, such as a zero-width space. Type their name again."
		}
	}
	script := ""
	for _, r := range runes {
		if !unicode.IsLetter(r) {
			continue
		}
		this := scriptOf(r)
		switch this {
		case "Han", "Hiragana", "Katakana", "Hangul":
			this = "CJK"
		case "", "Common", "Inherited":
			continue
		}
		if script != "" && this != script {
			return "Write their name in one alphabet."
		}
		script = this
	}
	return ""
}

// scriptOf is the name of the Unicode script r is written in.
func scriptOf(r rune) string {
	for name, t := range unicode.Scripts {
		if unicode.Is(t, r) {
			return name
		}
	}
	return ""
}

// lookalikes are letters of other alphabets that look like Latin ones.
var lookalikes = strings.NewReplacer(
	"а", "a", "в", "b", "е", "e", "ѕ", "s", "і", "i", "ј", "j", "к", "k", "м", "m", "н", "h", "о", "o", "р", "p", "с", "c", "т", "t", "у", "y", "х", "x", "ԁ", "d", "ԛ", "q", "ԝ", "w",
	"α", "a", "β", "b", "ε", "e", "ζ", "z", "η", "n", "ι", "i", "κ", "k", "μ", "m", "ν", "v", "ο", "o", "ρ", "p", "τ", "t", "υ", "u", "χ", "x",
	"օ", "o", "ս", "u", "հ", "h", "ո", "n", "ց", "g", "ք", "p",
)

// looksAlike says whether two names that are not the same would look the
// same on a page: one written with letters of another alphabet that look
// like the other's ("Сох" and "Cox").
func looksAlike(a, b string) bool {
	skeleton := func(s string) string { return lookalikes.Replace(strings.Join(nameWords(s), " ")) }
	return !sameName(a, b) && skeleton(a) == skeleton(b)
}
