package config

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// ParseInstanceAddr checks an instance address written on the command line
// (exec.build, exec.build["a"], k8s_deploy.app) and returns its step address
// (type.name) and instance key. The error says what is wrong in a sentence.
func ParseInstanceAddr(s string) (string, InstanceKey, error) {
	bad := func(why string) (string, InstanceKey, error) {
		return "", NoKey, fmt.Errorf("%q is not a step address: %s; write TYPE.NAME or TYPE.NAME[\"KEY\"], e.g. exec.build or exec.build[\"api\"]", s, why)
	}
	if s == "" {
		return bad("it is empty")
	}
	trav, diags := hclsyntax.ParseTraversalAbs([]byte(s), "", hcl.InitialPos)
	if diags.HasErrors() {
		return bad(diags[0].Summary)
	}
	if len(trav) < 2 {
		return bad("it has no step name")
	}
	typ := trav.RootName()
	attr, ok := trav[1].(hcl.TraverseAttr)
	if !ok {
		return bad("the step name must follow a dot")
	}
	key := NoKey
	switch len(trav) {
	case 2:
	case 3:
		idx, ok := trav[2].(hcl.TraverseIndex)
		if !ok {
			return bad("it has more parts than TYPE.NAME[\"KEY\"]")
		}
		if idx.Key.Type() != cty.String || idx.Key.IsNull() {
			return bad("an instance key is a quoted string in brackets")
		}
		key = StringKey(idx.Key.AsString())
	default:
		return bad("it has more parts than TYPE.NAME[\"KEY\"]")
	}
	return typ + "." + attr.Name, key, nil
}
