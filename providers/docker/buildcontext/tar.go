package buildcontext

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// epoch is the modification time written for every archive entry, so that
// equal context hashes give byte-equal archives.
var epoch = time.Unix(0, 0).UTC()

// WriteTar writes the context entries as an uncompressed tar stream, with
// owners, permissions and times normalised (files 0644 or 0755, directories
// 0755, uid/gid 0).
func (c *Context) WriteTar(ctx context.Context, w io.Writer) error {
	tw := tar.NewWriter(w)
	buf := make([]byte, 256<<10)
	for _, e := range c.Entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := c.writeEntry(tw, e, buf); err != nil {
			return err
		}
	}
	return tw.Close()
}

func (c *Context) writeEntry(tw *tar.Writer, e Entry, buf []byte) error {
	hdr := &tar.Header{Name: e.Path, ModTime: epoch}
	switch e.Kind {
	case KindDir:
		hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, e.Path+"/", 0o755
		return tw.WriteHeader(hdr)
	case KindSymlink:
		hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, e.Target, 0o777
		return tw.WriteHeader(hdr)
	}
	f, err := os.Open(filepath.Join(c.Dir, filepath.FromSlash(e.Path)))
	if err != nil {
		return fmt.Errorf("archiving build context: %w", err)
	}
	defer f.Close()
	hdr.Typeflag, hdr.Size, hdr.Mode = tar.TypeReg, e.Size, 0o644
	if e.Exec {
		hdr.Mode = 0o755
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	// Send exactly the size recorded at walk time even if the file grew.
	if _, err := io.CopyBuffer(tw, io.LimitReader(f, e.Size), buf); err != nil {
		return fmt.Errorf("archiving build context file %s: %w", e.Path, err)
	}
	return nil
}
