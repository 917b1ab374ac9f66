package modules

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
)

// Git runs the git command-line tool, the way Terraform's go-getter
// fetches git sources: it honours the user's credential helpers, SSH keys
// and insteadOf rules, and never prompts.
type Git struct {
	// Path is the git binary; "" means "git" on PATH.
	Path string
	// Env is the environment git runs with; nil means this process's.
	// GIT_TERMINAL_PROMPT=0 is always added.
	Env []string
}

// run runs git with args in dir and returns its standard output. The error
// carries git's own message.
func (g *Git) run(ctx context.Context, dir string, args ...string) (string, error) {
	bin := g.Path
	if bin == "" {
		bin = "git"
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	env := g.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(cleanEnv(env), "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "SSH_ASKPASS=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("git %s: %w", args[0], context.Cause(ctx))
		}
		var notFound *exec.Error
		if errors.As(err, &notFound) {
			return "", fmt.Errorf("the git command-line tool is needed for git:: module sources and was not found (%v); install git", err)
		}
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("git %s: %s", args[0], lastLines(msg, 3))
	}
	return stdout.String(), nil
}

// repoEnv are the variables that point git at another repository (they
// are set inside git hooks, for instance): git must work on the
// directories init gives it.
var repoEnv = []string{"GIT_DIR=", "GIT_WORK_TREE=", "GIT_INDEX_FILE=", "GIT_OBJECT_DIRECTORY=", "GIT_ALTERNATE_OBJECT_DIRECTORIES=", "GIT_NAMESPACE=", "GIT_COMMON_DIR="}

// cleanEnv is env without repoEnv.
func cleanEnv(env []string) []string {
	out := make([]string, 0, len(env)+3)
	for _, kv := range env {
		keep := true
		for _, p := range repoEnv {
			if strings.HasPrefix(kv, p) {
				keep = false
			}
		}
		if keep {
			out = append(out, kv)
		}
	}
	return out
}

// lastLines keeps the last n lines of s, where git puts the reason.
func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " ")
}

// commitPattern matches a full or abbreviated commit id.
var (
	commitPattern = regexp.MustCompile(`^[0-9a-f]{7,40}$`)
)

// resolveRef asks the repository which commit ref names, without fetching
// anything: a tag (peeled to its commit), then a branch, as git itself
// prefers. ref "" is the default branch. A ref that looks like a commit id
// and names no tag or branch is returned as it is (abbreviated ids are
// expanded by fetch).
func (g *Git) resolveRef(ctx context.Context, repo, ref string) (string, error) {
	patterns := []string{"HEAD"}
	if ref != "" {
		patterns = []string{"refs/tags/" + ref, "refs/tags/" + ref + "^{}", "refs/heads/" + ref}
	}
	out, err := g.run(ctx, "", append([]string{"ls-remote", "--", repo}, patterns...)...)
	if err != nil {
		return "", fmt.Errorf("cannot read the refs of %s: %w", repo, err)
	}
	found := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if id, name, ok := strings.Cut(line, "\t"); ok {
			found[name] = id
		}
	}
	for _, p := range []string{"refs/tags/" + ref + "^{}", "refs/tags/" + ref, "refs/heads/" + ref, "HEAD"} {
		if id := found[p]; id != "" && (ref != "" || p == "HEAD") {
			return id, nil
		}
	}
	if commitPattern.MatchString(ref) {
		return ref, nil
	}
	if ref == "" {
		return "", fmt.Errorf("%s has no default branch (HEAD); add ?ref=TAG-OR-BRANCH to the source", repo)
	}
	return "", fmt.Errorf("%s has no tag or branch named %q; check the ref= of the source", repo, ref)
}

// checkout fetches commit (full or abbreviated) from repo into the new
// directory dir and checks it out, then removes dir/.git so that only the
// files remain. It returns the full commit id.
func (g *Git) checkout(ctx context.Context, repo, commit, dir string) (string, error) {
	if _, err := g.run(ctx, "", "init", "-q", dir); err != nil {
		return "", err
	}
	if _, err := g.run(ctx, dir, "fetch", "-q", "--depth=1", "--", repo, commit); err != nil {
		// An abbreviated id cannot be asked for, and some servers refuse
		// commits no ref advertises: fetch every branch and tag instead.
		if _, err := g.run(ctx, dir, "fetch", "-q", "--", repo, "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"); err != nil {
			return "", fmt.Errorf("cannot fetch commit %s from %s: %w", short(commit), repo, err)
		}
		if _, err := g.run(ctx, dir, "rev-parse", "-q", "--verify", commit+"^{commit}"); err != nil {
			return "", fmt.Errorf("cannot fetch commit %s from %s: no branch or tag holds it any more (was it removed by a force push?); run ansflow init -upgrade to pin what the ref names now", short(commit), repo)
		}
	}
	// The same files on every machine, whatever the user's line-ending
	// settings: the lock file holds their hash.
	if _, err := g.run(ctx, dir, "-c", "advice.detachedHead=false", "-c", "core.autocrlf=false", "-c", "core.eol=lf", "checkout", "-q", "--detach", commit); err != nil {
		return "", err
	}
	full, err := g.run(ctx, dir, "rev-parse", "HEAD")
	if err != nil {
		return "", err
	}
	if err := os.RemoveAll(dir + "/.git"); err != nil {
		return "", err
	}
	return strings.TrimSpace(full), nil
}
