package config

import (
	"fmt"

	"github.com/agext/levenshtein"
)

// suggestName returns the candidate closest to given when it is close enough
// to be a likely typo, else "". It is meant for error paths only: it looks at
// every candidate.
func suggestName(given string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		d := levenshtein.Distance(given, c, nil)
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// didYouMean formats a " Did you mean "x"?" hint, or "" when nothing is
// close to given.
func didYouMean(given string, candidates []string) string {
	if s := suggestName(given, candidates); s != "" {
		return fmt.Sprintf(" Did you mean %q?", s)
	}
	return ""
}
