package modules

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"
)

// Source is a parsed remote module source.
type Source struct {
	// Raw is the source as written; the lock file is keyed by it.
	Raw string
	// Repo is what git clones: a URL (https, http, ssh, file, git) or an
	// absolute path.
	Repo string
	// Subdir is the module's directory inside the repository ("" for its
	// root), slash-separated and clean.
	Subdir string
	// Ref is the tag, branch or commit to check out; "" means the
	// repository's default branch (its HEAD).
	Ref string
}

// sourceExample is how a well-formed source looks, for error messages.
const sourceExample = "git::https://host/org/repo.git//sub/dir?ref=v1.2.0"

// IsLocal reports whether source is a local path (./ or ../), which the
// loader reads in place and never installs.
func IsLocal(source string) bool {
	return source == "." || source == ".." || strings.HasPrefix(source, "./") || strings.HasPrefix(source, "../")
}

// ParseSource parses a remote module source. The error says what is wrong
// and how a good source looks.
func ParseSource(raw string) (Source, error) {
	bad := func(format string, args ...any) (Source, error) {
		return Source{}, fmt.Errorf("invalid module source %q: %s; write it like %s", redact(raw), fmt.Sprintf(format, args...), sourceExample)
	}
	rest, ok := strings.CutPrefix(raw, "git::")
	if !ok {
		if IsLocal(raw) {
			return bad("a local path is read in place, not installed")
		}
		return bad("only git repositories are supported as remote sources, so it must start with git:: (or be a local path starting with ./ or ../)")
	}
	base, query, _ := strings.Cut(rest, "?")
	repo, subdir := splitSubdir(base)
	if repo == "" {
		return bad("the repository address after git:: is empty")
	}
	ref, err := parseQuery(query)
	if err != nil {
		return bad("%v", err)
	}
	if err := checkRepo(repo); err != nil {
		return bad("%v", err)
	}
	if subdir != "" {
		clean := path.Clean(subdir)
		if clean == ".." || strings.HasPrefix(clean, "../") || strings.HasPrefix(subdir, "/") {
			return bad("the subdirectory %q must stay inside the repository", subdir)
		}
		if clean == "." {
			clean = ""
		}
		subdir = clean
	}
	return Source{Raw: raw, Repo: repo, Subdir: subdir, Ref: ref}, nil
}

// userPassword matches the password of a URL's user information.
var userPassword = regexp.MustCompile(`(://[^/@:]*):[^/@]*@`)

// redact hides the password of a URL in s.
func redact(s string) string { return userPassword.ReplaceAllString(s, "$1:xxxxx@") }

// splitSubdir splits "URL//sub/dir" at the "//" that follows the URL's
// scheme separator (or, for a plain path, at the first "//").
func splitSubdir(s string) (repo, subdir string) {
	from := 0
	if i := strings.Index(s, "://"); i >= 0 {
		from = i + 3
	}
	j := strings.Index(s[from:], "//")
	if j < 0 {
		return s, ""
	}
	return s[:from+j], s[from+j+2:]
}

// refPattern is what a ref may look like: git's own rules are looser, but
// a ref that could be read as a command-line option or that holds spaces
// or control characters is refused.
var refPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._/+-]*$`)

// parseQuery reads ?ref=..., the only query argument a source takes.
func parseQuery(q string) (string, error) {
	if q == "" {
		return "", nil
	}
	vals, err := url.ParseQuery(q)
	if err != nil {
		return "", fmt.Errorf("the query %q cannot be parsed (%v)", q, err)
	}
	for k := range vals {
		if k != "ref" {
			return "", fmt.Errorf("the query argument %q is not supported (only ref= is)", k)
		}
	}
	refs := vals["ref"]
	if len(refs) != 1 {
		return "", fmt.Errorf("ref= is given %d times; give it once", len(refs))
	}
	ref := refs[0]
	if !refPattern.MatchString(ref) || strings.Contains(ref, "..") {
		return "", fmt.Errorf("ref %q is not a tag, branch or commit name", ref)
	}
	return ref, nil
}

// checkRepo checks the repository address: a URL with a scheme git
// understands, or an absolute path.
func checkRepo(repo string) error {
	if strings.HasPrefix(repo, "/") {
		return nil
	}
	u, err := url.Parse(repo)
	if err != nil || u.Scheme == "" {
		if strings.Contains(repo, "@") && strings.Contains(repo, ":") {
			return fmt.Errorf("%q looks like an scp-style address; write it as a URL, e.g. git::ssh://git@host/org/repo.git", repo)
		}
		return fmt.Errorf("%q is neither a URL (https://, ssh://, file://) nor an absolute path", repo)
	}
	if _, hasPassword := u.User.Password(); hasPassword {
		return fmt.Errorf("the address holds a password, which would end up in the lock file and logs; use a git credential helper or SSH keys instead")
	}
	switch u.Scheme {
	case "https", "http", "ssh", "git":
		if u.Host == "" {
			return fmt.Errorf("the %s:// address has no host", u.Scheme)
		}
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return fmt.Errorf("a file:// address takes an absolute path (file:///path/to/repo), not the host %q", u.Host)
		}
		if !strings.HasPrefix(u.Path, "/") {
			return fmt.Errorf("a file:// address needs an absolute path (file:///path/to/repo)")
		}
	default:
		return fmt.Errorf("the scheme %q is not supported (use https, ssh, git or file)", u.Scheme)
	}
	return nil
}

// unsafeChars are replaced in directory names.
var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// DirName is the directory under .ansflow/modules that holds s: readable
// (the repository's last path element, the subdirectory and the ref) and
// unique (a hash of the whole source string).
func (s Source) DirName() string {
	name := strings.TrimSuffix(path.Base(strings.TrimRight(s.Repo, "/")), ".git")
	parts := []string{name}
	if s.Subdir != "" {
		parts = append(parts, s.Subdir)
	}
	if s.Ref != "" {
		parts = append(parts, s.Ref)
	}
	readable := strings.Trim(unsafeChars.ReplaceAllString(strings.Join(parts, "-"), "-"), "-.")
	if len(readable) > 60 {
		readable = readable[:60]
	}
	sum := sha256.Sum256([]byte(s.Raw))
	if readable == "" {
		readable = "module"
	}
	return readable + "-" + hex.EncodeToString(sum[:4])
}
