package safefile

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "regular")
	big := filepath.Join(dir, "big")
	fifo := filepath.Join(dir, "fifo")
	dangling := filepath.Join(dir, "dangling")
	link := filepath.Join(dir, "link")
	sock := filepath.Join(dir, "sock")
	must(t, os.WriteFile(regular, []byte("hello"), 0o600))
	must(t, os.WriteFile(big, make([]byte, 101), 0o600))
	must(t, syscall.Mkfifo(fifo, 0o600))
	must(t, os.Symlink(filepath.Join(dir, "gone"), dangling))
	must(t, os.Symlink(regular, link))
	l, err := net.Listen("unix", sock)
	must(t, err)
	defer l.Close()

	for _, tt := range []struct {
		path     string
		want     string // content, or "" for an error
		problem  string // in the error
		notExist bool
	}{
		{path: regular, want: "hello"},
		{path: link, want: "hello"},
		{path: filepath.Join(dir, "missing"), notExist: true},
		{path: dangling, problem: "symbolic link to " + filepath.Join(dir, "gone")},
		{path: fifo, problem: "FIFO"},
		{path: sock, problem: "socket"},
		{path: dir, problem: "directory"},
		{path: "/dev/zero", problem: "character device"},
		{path: "/dev/urandom", problem: "character device"},
		{path: "/dev/null", problem: "character device"},
		{path: big, problem: "larger than 100 bytes"},
	} {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			data, _, err := Read(tt.path, 100)
			switch {
			case tt.notExist:
				if !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("Read(%s) = %v, want not exist", tt.path, err)
				}
			case tt.problem != "":
				if err == nil || !strings.Contains(err.Error(), tt.problem) || !strings.Contains(err.Error(), tt.path) {
					t.Fatalf("Read(%s) = %q, %v; want an error naming the file and %q", tt.path, data, err, tt.problem)
				}
			case err != nil || string(data) != tt.want:
				t.Fatalf("Read(%s) = %q, %v; want %q", tt.path, data, err, tt.want)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
