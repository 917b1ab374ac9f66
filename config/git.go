package config

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"time"
)

// gitTimeout bounds each git command ReadGit runs.
const gitTimeout = 5 * time.Second

// ReadGit describes the git repository containing dir: commit, short
// commit, branch (empty when detached), tag (when HEAD is exactly at one)
// and whether the work tree has changes (ignoring ansflow's own .ansflow
// directories). It returns the zero value when dir
// is not in a repository or git is not installed.
func ReadGit(dir string) GitInfo {
	return ReadGitContext(context.Background(), dir)
}

// ReadGitContext is ReadGit with a context bounding the git commands.
func ReadGitContext(ctx context.Context, dir string) GitInfo {
	commit, ok := runGit(ctx, dir, "rev-parse", "HEAD")
	if !ok {
		return GitInfo{}
	}
	g := GitInfo{Commit: commit}
	g.ShortCommit, _ = runGit(ctx, dir, "rev-parse", "--short", "HEAD")
	if b, ok := runGit(ctx, dir, "symbolic-ref", "--quiet", "--short", "HEAD"); ok {
		g.Branch = b
	}
	if t, ok := runGit(ctx, dir, "describe", "--exact-match", "--tags", "HEAD"); ok {
		g.Tag = t
	}
	if st, ok := runGit(ctx, dir, "status", "--porcelain", "--", ":(top)", ":(exclude,glob)**/.ansflow/**"); ok {
		g.Dirty = st != ""
	}
	return g
}

// runGit runs git in dir and returns its trimmed output, or false when git
// is missing, fails or takes too long.
func runGit(ctx context.Context, dir string, args ...string) (string, bool) {
	ctx, cancel := context.WithTimeout(ctx, gitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Env = append(cmd.Environ(), "GIT_OPTIONAL_LOCKS=0", "LC_ALL=C")
	if err := cmd.Run(); err != nil {
		return "", false
	}
	return strings.TrimSpace(out.String()), true
}
