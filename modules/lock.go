package modules

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/ansflow/ansflow/internal/safefile"
)

// LockFile is the lock file's name, at the pipeline root. It is meant to
// be committed with the pipeline.
const LockFile = ".ansflow.lock.hcl"

// ModulesDir is where init installs remote modules, relative to the
// pipeline root (inside the .ansflow working directory).
var ModulesDir = filepath.Join(".ansflow", "modules")

// Pin is what the lock file records for one source.
type Pin struct {
	// Commit is the full commit id the source's ref resolved to.
	Commit string
	// Hash is the content hash of the installed tree (dirhash "h1:").
	Hash string
}

// Lock is the content of the lock file: a pin per source string.
type Lock struct {
	Pins map[string]Pin
}

// lockHeader opens every lock file.
const lockHeader = `# This file is maintained by "ansflow init"; commit it with the pipeline.
# It pins every remote module source to a commit. Move the pins with
# "ansflow init -upgrade" rather than by hand.
`

// ReadLock reads the lock file of the pipeline in root. A missing file is
// an empty lock.
func ReadLock(root string) (*Lock, hcl.Diagnostics) {
	l := &Lock{Pins: map[string]Pin{}}
	name := filepath.Join(root, LockFile)
	src, _, err := safefile.Read(name, safefile.ConfigLimit)
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return l, hcl.Diagnostics{{
			Severity: hcl.DiagError, Summary: "Cannot read the lock file",
			Detail:  fmt.Sprintf("%s cannot be read (%v); fix its permissions, or delete it and run ansflow init.", name, err),
			Subject: &hcl.Range{Filename: name, Start: hcl.InitialPos, End: hcl.InitialPos},
		}}
	}
	f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		return l, diags
	}
	content, diags := f.Body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "module", LabelNames: []string{"source"}}}})
	for _, b := range content.Blocks {
		diags = append(diags, l.decodePin(b)...)
	}
	return l, diags
}

// decodePin reads one module "SOURCE" { commit = ..., hash = ... } block.
func (l *Lock) decodePin(b *hcl.Block) hcl.Diagnostics {
	source := b.Labels[0]
	if _, dup := l.Pins[source]; dup {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError, Summary: "Duplicate lock entry",
			Detail:  fmt.Sprintf("The source %q is pinned twice; delete one block, or delete the lock file and run ansflow init.", source),
			Subject: b.DefRange.Ptr(),
		}}
	}
	attrs, diags := b.Body.Content(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "commit", Required: true}, {Name: "hash", Required: true}}})
	if diags.HasErrors() {
		return diags
	}
	var pin Pin
	for name, dst := range map[string]*string{"commit": &pin.Commit, "hash": &pin.Hash} {
		a := attrs.Attributes[name]
		v, vdiags := a.Expr.Value(nil)
		diags = append(diags, vdiags...)
		if vdiags.HasErrors() {
			continue
		}
		if v.Type() != cty.String || v.IsNull() {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "Invalid lock entry",
				Detail:  fmt.Sprintf("%s must be a string; delete the lock file and run ansflow init to write it again.", name),
				Subject: a.Expr.Range().Ptr(),
			})
			continue
		}
		*dst = v.AsString()
	}
	if !diags.HasErrors() && !commitPattern.MatchString(pin.Commit) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: "Invalid lock entry",
			Detail:  fmt.Sprintf("%q is not a commit id; delete the block and run ansflow init to pin the source again.", pin.Commit),
			Subject: attrs.Attributes["commit"].Expr.Range().Ptr(),
		})
	}
	if !diags.HasErrors() {
		l.Pins[source] = pin
	}
	return diags
}

// Bytes is the lock file's content: sorted by source, formatted as
// `ansflow fmt` would.
func (l *Lock) Bytes() []byte {
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	body.AppendUnstructuredTokens(hclwrite.Tokens{{Type: hclsyntax.TokenComment, Bytes: []byte(lockHeader)}})
	sources := make([]string, 0, len(l.Pins))
	for s := range l.Pins {
		sources = append(sources, s)
	}
	sort.Strings(sources)
	for _, s := range sources {
		body.AppendNewline()
		b := body.AppendNewBlock("module", []string{s}).Body()
		b.SetAttributeValue("commit", cty.StringVal(l.Pins[s].Commit))
		b.SetAttributeValue("hash", cty.StringVal(l.Pins[s].Hash))
	}
	return hclwrite.Format(f.Bytes())
}

// writeIfChanged writes data to name (atomically, through a temporary file
// in the same directory) unless it already holds exactly data. It reports
// whether it wrote.
func writeIfChanged(name string, data []byte, perm fs.FileMode) (bool, error) {
	if old, err := os.ReadFile(name); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	return true, os.Rename(tmp.Name(), name)
}

// diagsError turns diagnostics about the lock file into one error.
func diagsError(diags hcl.Diagnostics) error {
	var msgs []string
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		where := ""
		if d.Subject != nil {
			where = fmt.Sprintf("%s:%d:%d: ", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
		}
		msgs = append(msgs, where+d.Summary+": "+d.Detail)
	}
	return errors.New(strings.Join(msgs, "; "))
}
