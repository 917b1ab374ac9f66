package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// describe renders everything Load uses of a parsed body: blocks, labels,
// attributes and every range, so two parses can be compared exactly.
func describe(b *hclsyntax.Body, indent string) string {
	var s strings.Builder
	for _, name := range sortedKeys(b.Attributes) {
		a := b.Attributes[name]
		fmt.Fprintf(&s, "%sattr %s %v %v\n", indent, name, a.SrcRange, a.Expr.Range())
		for _, v := range a.Expr.Variables() {
			fmt.Fprintf(&s, "%s  ref %v\n", indent, v.SourceRange())
		}
	}
	for _, blk := range b.Blocks {
		fmt.Fprintf(&s, "%sblock %s %q %v %v\n", indent, blk.Type, blk.Labels, blk.DefRange(), blk.Body.SrcRange)
		s.WriteString(describe(blk.Body, indent+"  "))
	}
	return s.String()
}

func diagText(d hcl.Diagnostics) string {
	var s strings.Builder
	for _, x := range d {
		fmt.Fprintf(&s, "%s|%s|%v\n", x.Summary, x.Detail, x.Subject)
	}
	return s.String()
}

// TestSplitParseMatchesWholeParse parses every .hcl file of the repository
// both whole and in the smallest possible pieces: blocks, ranges and
// diagnostics must be the same.
func TestSplitParseMatchesWholeParse(t *testing.T) {
	var files []string
	filepath.WalkDir("..", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".hcl") && !strings.Contains(p, "/.ansflow/") {
			files = append(files, p)
		}
		return nil
	})
	// A generated file with heredocs, templates, comments and nesting.
	var gen strings.Builder
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&gen, "# step %d {\nexec \"s%d\" {\n  command = [\"sh\", \"-c\", \"echo ${var.x} }{ $${lit} %%{x}\"]\n  env = { A = <<-EOT\n    }{ \"\n    EOT\n  }\n  /* } */ depends_on = []\n}\n\n", i, i)
	}
	tmp := filepath.Join(t.TempDir(), "gen.hcl")
	os.WriteFile(tmp, []byte(gen.String()), 0o644)
	files = append(files, tmp)
	if len(files) < 50 {
		t.Fatalf("only %d .hcl files found", len(files))
	}
	split := 0
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		whole, wd := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
		parts, pd := parsePieces(src, name, 0, 1)
		if diagText(wd) != diagText(pd) {
			t.Errorf("%s: diagnostics differ:\nwhole:\n%s\npieces:\n%s", name, diagText(wd), diagText(pd))
			continue
		}
		if whole == nil || parts == nil {
			continue
		}
		if len(blockStarts(src)) > 1 {
			split++
		}
		w, p := describe(whole.Body.(*hclsyntax.Body), ""), describe(parts.Body.(*hclsyntax.Body), "")
		if w != p {
			t.Errorf("%s: parses differ:\nwhole:\n%s\npieces:\n%s", name, w, p)
		}
	}
	if split < 10 {
		t.Errorf("only %d files were split: the splitter never runs", split)
	}
}
