package config

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// ModuleStep is one module call in an address: module.NAME or
// module.NAME["KEY"].
type ModuleStep struct {
	Name string
	Key  InstanceKey
}

// Addr is a parsed address: a module path (empty for the root pipeline)
// followed by a step TYPE.NAME and an optional instance key. An address
// of a module alone (module.api, as -target takes it) has an empty Type.
type Addr struct {
	Module []ModuleStep
	Type   string
	Name   string
	Key    InstanceKey
}

// ModulePath is the module part of a, "module.a.module.b[\"k\"]", or "".
func (a Addr) ModulePath() string {
	var sb strings.Builder
	for i, m := range a.Module {
		if i > 0 {
			sb.WriteByte('.')
		}
		sb.WriteString("module.")
		sb.WriteString(m.Name)
		if m.Key.Valid {
			sb.WriteString("[" + strconv.Quote(m.Key.Key) + "]")
		}
	}
	return sb.String()
}

// StepAddr is the address of a's step without its instance key:
// [MODULE.]TYPE.NAME.
func (a Addr) StepAddr() string {
	mp := a.ModulePath()
	if a.Type == "" {
		return mp
	}
	if mp == "" {
		return a.Type + "." + a.Name
	}
	return mp + "." + a.Type + "." + a.Name
}

// String is the canonical form of a, as state and plans record it.
func (a Addr) String() string {
	if a.Type == "" {
		return a.ModulePath()
	}
	return InstanceAddr(a.StepAddr(), a.Key)
}

// IsModule reports whether a names a module (instance) rather than a step.
func (a Addr) IsModule() bool { return a.Type == "" }

// ParseAddr parses an address written on the command line or in a moved
// block: exec.build, exec.build["a"], module.api.docker_build.app,
// module.svc["api"].k8s_deploy.web, and, when allowModule is set, a module
// alone (module.api, module.svc["api"]). The error says what is wrong in a
// sentence.
func ParseAddr(s string, allowModule bool) (Addr, error) {
	bad := func(why string) (Addr, error) {
		tail := ", with module.NAME. in front for a step in a module"
		if allowModule {
			tail += " (module.NAME alone for all of a module)"
		}
		return Addr{}, fmt.Errorf("%q is not a step address: %s; write TYPE.NAME or TYPE.NAME[\"KEY\"], e.g. exec.build or exec.build[\"api\"]%s", s, why, tail)
	}
	if s == "" {
		return bad("it is empty")
	}
	trav, diags := hclsyntax.ParseTraversalAbs([]byte(s), "", hcl.InitialPos)
	if diags.HasErrors() {
		return bad(diags[0].Summary)
	}
	// Flatten the traversal into names and keys.
	type part struct {
		name string
		key  InstanceKey
	}
	var parts []part
	for i, t := range trav {
		switch t := t.(type) {
		case hcl.TraverseRoot:
			parts = append(parts, part{name: t.Name})
		case hcl.TraverseAttr:
			parts = append(parts, part{name: t.Name})
		case hcl.TraverseIndex:
			if i == 0 || parts[len(parts)-1].key.Valid {
				return bad("an instance key must follow a name")
			}
			if t.Key.IsNull() || t.Key.Type() != cty.String {
				return bad("an instance key is a quoted string in brackets")
			}
			parts[len(parts)-1].key = StringKey(t.Key.AsString())
		default:
			return bad("it has an unexpected part")
		}
	}
	var a Addr
	for len(parts) >= 2 && parts[0].name == "module" && !parts[0].key.Valid {
		if parts[1].name == "" {
			return bad("a module name must follow module.")
		}
		a.Module = append(a.Module, ModuleStep{Name: parts[1].name, Key: parts[1].key})
		parts = parts[2:]
	}
	switch len(parts) {
	case 0:
		if len(a.Module) == 0 {
			return bad("it is empty")
		}
		if !allowModule {
			return bad("it names a module, not a step")
		}
		return a, nil
	case 1:
		if parts[0].name == "module" {
			return bad("a module name must follow module.")
		}
		return bad("it has no step name")
	case 2:
		if parts[0].key.Valid {
			return bad("the step name must follow a dot")
		}
		a.Type, a.Name, a.Key = parts[0].name, parts[1].name, parts[1].key
		return a, nil
	default:
		return bad("it has more parts than TYPE.NAME[\"KEY\"]")
	}
}

// ParseInstanceAddr checks an instance address written on the command line
// (exec.build, exec.build["a"], module.api.k8s_deploy.app) and returns its
// step address ([module path.]type.name) and instance key. The error says
// what is wrong in a sentence.
func ParseInstanceAddr(s string) (string, InstanceKey, error) {
	a, err := ParseAddr(s, false)
	if err != nil {
		return "", NoKey, err
	}
	return a.StepAddr(), a.Key, nil
}
