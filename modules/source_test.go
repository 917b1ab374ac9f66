package modules

import (
	"strings"
	"testing"
)

func TestParseSource(t *testing.T) {
	tests := []struct {
		raw  string
		want Source
	}{
		{"git::https://example.com/org/repo.git//sub/dir?ref=v1.2.0", Source{Repo: "https://example.com/org/repo.git", Subdir: "sub/dir", Ref: "v1.2.0"}},
		{"git::https://example.com/org/repo.git?ref=main", Source{Repo: "https://example.com/org/repo.git", Ref: "main"}},
		{"git::https://example.com/org/repo.git", Source{Repo: "https://example.com/org/repo.git"}},
		{"git::ssh://git@example.com/org/repo.git//m?ref=feature/x", Source{Repo: "ssh://git@example.com/org/repo.git", Subdir: "m", Ref: "feature/x"}},
		{"git::file:///srv/repo//a/b/?ref=1a2b3c4", Source{Repo: "file:///srv/repo", Subdir: "a/b", Ref: "1a2b3c4"}},
		{"git::file:///srv/repo", Source{Repo: "file:///srv/repo"}},
		{"git::/srv/repo//m?ref=v1", Source{Repo: "/srv/repo", Subdir: "m", Ref: "v1"}},
		{"git::https://example.com/repo.git//./m/../n", Source{Repo: "https://example.com/repo.git", Subdir: "n"}},
		{"git::https://example.com/repo.git//", Source{Repo: "https://example.com/repo.git"}},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := ParseSource(tt.raw)
			if err != nil {
				t.Fatalf("ParseSource(%q): %v", tt.raw, err)
			}
			tt.want.Raw = tt.raw
			if got != tt.want {
				t.Errorf("ParseSource(%q) = %+v, want %+v", tt.raw, got, tt.want)
			}
		})
	}
}

func TestParseSourceErrors(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"https://example.com/repo.git", "must start with git::"},
		{"./modules/x", "a local path is read in place"},
		{"git::", "repository address after git:: is empty"},
		{"git::https://example.com/repo.git?ref=v1&depth=1", `query argument "depth" is not supported`},
		{"git::https://example.com/repo.git?ref=a&ref=b", "ref= is given 2 times"},
		{"git::https://example.com/repo.git?ref=", `ref "" is not a tag`},
		{"git::https://example.com/repo.git?ref=-upload-pack=x", "is not a tag, branch or commit name"},
		{"git::https://example.com/repo.git?ref=a..b", "is not a tag, branch or commit name"},
		{"git::https://example.com/repo.git//../up", "must stay inside the repository"},
		{"git::https://example.com/repo.git///abs", "must stay inside the repository"},
		{"git::https://user:secret@example.com/repo.git", "holds a password"},
		{"git::git@example.com:org/repo.git", "scp-style address"},
		{"git::ftp://example.com/repo.git", `scheme "ftp" is not supported`},
		{"git::ext::sh -c touch% /tmp/pwned", `scheme "ext" is not supported`},
		{"git::https:///repo.git", "has no host"},
		{"git::file://host/srv/repo", "not the host"},
		{"git::repo.git", "neither a URL"},
		{"git::https://example.com/repo.git?ref=%zz", "cannot be parsed"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			_, err := ParseSource(tt.raw)
			if err == nil {
				t.Fatalf("ParseSource(%q) succeeded, want an error with %q", tt.raw, tt.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || !strings.Contains(msg, "write it like git::https://") {
				t.Errorf("ParseSource(%q) error:\n%s\nwant it to contain %q and an example", tt.raw, msg, tt.want)
			}
			if strings.Contains(msg, "secret") {
				t.Errorf("the error repeats the password: %s", msg)
			}
		})
	}
}

func TestDirName(t *testing.T) {
	tests := []struct{ raw, prefix string }{
		{"git::https://example.com/org/repo.git//sub/dir?ref=v1.2.0", "repo-sub-dir-v1.2.0-"},
		{"git::file:///srv/repo?ref=feature/x", "repo-feature-x-"},
		{"git::/srv/my%20repo", "my-20repo-"},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		s, err := ParseSource(tt.raw)
		if err != nil {
			t.Fatal(err)
		}
		name := s.DirName()
		if !strings.HasPrefix(name, tt.prefix) || len(name) != len(tt.prefix)+8 {
			t.Errorf("DirName(%q) = %q, want %q followed by 8 hex digits", tt.raw, name, tt.prefix)
		}
		if seen[name] {
			t.Errorf("DirName(%q) = %q is not unique", tt.raw, name)
		}
		seen[name] = true
	}
}
