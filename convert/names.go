package convert

import (
	"fmt"
	"strings"
	"unicode"
)

// labelFor derives a step label, a snake_case identifier, from a step's
// display name ("Run Unit Tests" → "run_unit_tests"). Names without ASCII
// letters or digits fall back to step_<position>; taken holds the labels
// already handed out and receives the new one, so labels stay unique.
func labelFor(name string, position int, taken map[string]bool) string {
	label := snakeCase(name)
	if label == "" {
		label = fmt.Sprintf("step_%d", position)
	} else if label[0] >= '0' && label[0] <= '9' {
		label = "step_" + label
	}
	unique := label
	for i := 2; taken[unique]; i++ {
		unique = fmt.Sprintf("%s_%d", label, i)
	}
	taken[unique] = true
	return unique
}

// snakeCase keeps the ASCII letters and digits of s, lower-cased, separating
// words (runs split by anything else, or camelCase humps) with underscores.
func snakeCase(s string) string {
	var b strings.Builder
	pendingSep := false
	var prev rune
	for _, r := range s {
		if r >= unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r)) {
			pendingSep = true
			prev = r
			continue
		}
		if unicode.IsUpper(r) && (unicode.IsLower(prev) || unicode.IsDigit(prev)) {
			pendingSep = true
		}
		if pendingSep && b.Len() > 0 {
			b.WriteByte('_')
		}
		pendingSep = false
		b.WriteRune(unicode.ToLower(r))
		prev = r
	}
	return b.String()
}
