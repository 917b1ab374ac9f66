// Package buildcontext selects, hashes and archives a Docker build context the
// way the docker CLI does: it reads .dockerignore with
// github.com/moby/patternmatcher, always keeps the Dockerfile and the
// .dockerignore file, and walks the tree with the same directory-skipping
// rules as the CLI's archiver.
//
// The context hash is reproducible across machines: it covers relative paths,
// entry types, file contents, symlink targets and the executable bit, and
// nothing else (no mtimes, owners, umask-dependent permission bits). Large
// files are hashed in parallel chunks, and an optional stat cache keyed by
// (path, size, mtime, inode, mode) lets an unchanged tree be rechecked
// without reading file contents.
//
// The tar archive sent to the engine is normalised the same way (uid/gid 0,
// mode 0644 or 0755, a fixed mtime), so equal hashes mean byte-equal
// archives and the engine's build cache and image IDs are reproducible too.
package buildcontext
