package convert

import (
	"errors"
	"strings"
)

// shellSpecial are the characters that make a command line need a shell:
// pipes, lists, redirections, substitutions, globs and comments.
const shellSpecial = "|&;<>()$`*?[]~#{}\n"

// splitCommand turns an AnsFlow command string into an argv list, the way a
// POSIX shell would split words: whitespace separates words, single quotes
// keep everything literally, double quotes and backslashes escape. It
// reports needsShell when the line uses shell syntax beyond word splitting
// (pipes, &&, redirections, $VAR, globs), since an argv list runs without a
// shell; the caller then wraps the line in ["sh", "-c", line].
func splitCommand(line string) (argv []string, needsShell bool, err error) {
	var (
		word    strings.Builder
		inWord  bool
		quote   rune // 0, '\'' or '"'
		escaped bool
	)
	flush := func() {
		if inWord {
			argv = append(argv, word.String())
			word.Reset()
			inWord = false
		}
	}
	for _, r := range line {
		switch {
		case escaped:
			if quote == '"' && !strings.ContainsRune("\"\\$`\n", r) {
				word.WriteByte('\\')
			}
			word.WriteRune(r)
			escaped = false
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				word.WriteRune(r)
			}
		case r == '\\':
			escaped, inWord = true, true
		case quote == '"':
			if r == '"' {
				quote = 0
			} else {
				if r == '$' || r == '`' {
					needsShell = true
				}
				word.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			flush()
		case strings.ContainsRune(shellSpecial, r) && !isPlaceholderBrace(line, r):
			needsShell = true
			word.WriteRune(r)
			inWord = true
		default:
			word.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 || escaped {
		return nil, true, errors.New("unterminated quote or trailing backslash")
	}
	flush()
	return argv, needsShell, nil
}

// isPlaceholderBrace reports whether r is a brace that may belong to a
// {{placeholder}}, which is not shell syntax.
func isPlaceholderBrace(line string, r rune) bool {
	return (r == '{' || r == '}') && placeholderRE.MatchString(line)
}
