package state

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

const (
	filePerm = 0o600
	dirPerm  = 0o700
)

// writeFileAtomic replaces path with data: it writes a temporary file in the
// same directory, syncs it and renames it over path, so readers see the old
// or the new content, never a mixture. The directory is not synced; see
// syncDir. The file is created with mode 0600.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := writeTemp(path, data)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // fails harmlessly once renamed
	return os.Rename(tmp, path)
}

// writeTemp writes data, synced and with mode 0600, to a new temporary file
// next to path and returns its name; the caller moves it into place (or
// removes it).
func writeTemp(path string, data []byte) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", err
	}
	err = f.Chmod(filePerm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// syncDir makes the creation, renaming and removal of entries in dir
// durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// rotateBackups keeps the current content of path as path.1, moving older
// backups up to path.keep and dropping the oldest. The current file stays in
// place (it is hard-linked, or copied where links are not supported), so
// readers never find it missing.
func rotateBackups(path string, keep int) error {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	for i := keep - 1; i >= 1; i-- {
		err := os.Rename(backupName(path, i), backupName(path, i+1))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("rotating state backups: %w", err)
		}
	}
	first := backupName(path, 1)
	if err := os.Remove(first); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("rotating state backups: %w", err)
	}
	if os.Link(path, first) == nil {
		return nil
	}
	if err := copyFile(path, first); err != nil {
		return fmt.Errorf("backing up the state: %w", err)
	}
	return nil
}

func backupName(path string, n int) string { return fmt.Sprintf("%s.%d", path, n) }

// copyFile copies src to a new file dst with mode 0600.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
