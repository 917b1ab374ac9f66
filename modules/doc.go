// Package modules installs remote module sources and keeps the lock file.
//
// A module source that is not a local path (./ or ../) is a git
// repository: git::https://host/org/repo.git//sub/dir?ref=v1.2.0, or
// git::file:///abs/path/repo for repositories on this machine. `ansflow
// init` resolves each ref to a commit, checks the commit out into
// .ansflow/modules/<name> with the git command-line tool and pins it in
// .ansflow.lock.hcl. The other commands use [Pinned], which reads only the
// lock file and the installed copies and never touches the network.
//
// [Installer] and [Pinned] both implement config.ModuleResolver, so the
// pipeline loader finds the sources (including those that remote modules
// call) by itself.
package modules
