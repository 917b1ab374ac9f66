package modules

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Scaffold writes a starter module into root/modules/NAME: variables.hcl
// (its inputs), main.hcl (an exec step reading one) and outputs.hcl. It
// writes nothing if any of the files exists, unless force. It returns the
// paths written.
func Scaffold(root, name string, force bool) ([]string, error) {
	if !hclsyntax.ValidIdentifier(name) {
		return nil, fmt.Errorf("%q cannot be a module name: use letters, digits, underscores and dashes, starting with a letter (e.g. -module=service)", name)
	}
	dir := filepath.Join(root, "modules", name)
	files := []struct{ name, text string }{
		{"variables.hcl", scaffoldVariables},
		{"main.hcl", scaffoldMain},
		{"outputs.hcl", scaffoldOutputs},
	}
	var exist []string
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if _, err := os.Lstat(p); err == nil {
			exist = append(exist, p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if len(exist) > 0 && !force {
		return nil, fmt.Errorf("%s already exist(s); nothing was written. Pick another name, or use -force to overwrite", strings.Join(exist, ", "))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", dir, err)
	}
	var written []string
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, []byte(f.text), 0o644); err != nil {
			return written, err
		}
		written = append(written, p)
	}
	return written, nil
}

// CallExample is how a pipeline calls the module Scaffold wrote.
func CallExample(name string) string {
	return fmt.Sprintf(`module %q {
  source  = "./modules/%s"
  message = "hello from %s"
}
`, name, name, name)
}

const scaffoldVariables = `# The module's inputs: every variable without a default must be given by
# the module block that calls the module.

variable "message" {
  type        = string
  description = "What the module's step prints."
}
`

const scaffoldMain = `# The module's steps. Inside the module they are addressed as usual
# (exec.hello); from outside, as module.NAME.exec.hello.

exec "hello" {
  command = ["echo", var.message]
}
`

const scaffoldOutputs = `# What the caller can read, as module.NAME.stdout.

output "stdout" {
  value = trimspace(exec.hello.stdout)
}
`
