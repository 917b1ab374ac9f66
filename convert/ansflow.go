package convert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/ansflow/ansflow/providers/builtin"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	"go.yaml.in/yaml/v3"
)

// This file handles the parts of AnsFlow's real pipeline model (its Django
// PipelineStep and the JSON its API and editor send) beyond the seed
// report's YAML: step_type, parameters, the non-container step types,
// parallel groups, dependencies, retry policies and object conditions.

// targetTypes maps AnsFlow's non-container step types to the ansflow step
// type they become; container types keep their names.
var targetTypes = map[string]string{
	"fetch_code": "exec", "git_clone": "exec",
	"build": "exec", "test": "exec", "test_execution": "exec", "security_scan": "exec",
	"deploy": "exec", "custom": "exec", "script": "exec", "shell_command": "exec",
	"ansible": "exec",
}

// sourceTypeNames lists the AnsFlow step types the conversion knows.
func sourceTypeNames() []string {
	names := make([]string, 0, len(stepConverters))
	for n := range stepConverters {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// group is a parallel group as the pipeline defines it.
type group struct {
	key        string
	line       int
	syncPolicy string
	policyLine int
	timeout    *yaml.Node
	members    []*step
}

// readGroups reads parallel_groups: a list of {id, name, sync_policy,
// timeout_seconds, steps} mappings (or a mapping of them by name).
func (c *converter) readGroups(p *pipeline, n *yaml.Node) {
	if n == nil {
		return
	}
	var items []*yaml.Node
	var keys []string
	switch n.Kind {
	case yaml.SequenceNode:
		items = n.Content
		keys = make([]string, len(items))
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			keys = append(keys, n.Content[i].Value)
			items = append(items, n.Content[i+1])
		}
	default:
		c.warnf(n.Line, "", "parallel_groups must be a list of groups; dropped")
		return
	}
	for i, item := range items {
		f := c.fieldsOf(item, "", "parallel_groups[].")
		if f == nil {
			continue
		}
		g := &group{key: keys[i], line: resolve(item).Line}
		for _, k := range []string{"id", "name"} {
			if v, ok := scalarString(f.take(k)); ok && v != "" && g.key == "" {
				g.key = v
			}
		}
		if v := f.take("sync_policy"); v != nil {
			g.syncPolicy, g.policyLine = v.Value, v.Line
		}
		g.timeout = f.takeFirst("timeout_seconds", "timeout")
		if steps := f.take("steps"); steps != nil && steps.Kind == yaml.SequenceNode {
			for _, m := range steps.Content {
				p.memberOf = append(p.memberOf, groupRef{group: g, step: m})
			}
		}
		f.take("description")
		f.unused("", nil)
		if g.key == "" {
			c.warnf(g.line, "", "a parallel group has neither id nor name; its settings are dropped")
			continue
		}
		p.groups[g.key] = g
	}
}

// groupRef is a step a group lists in its steps field.
type groupRef struct {
	group *group
	step  *yaml.Node
}

// groupOrders puts the steps a group lists into it, then moves every
// group's steps to the group's lowest order, so that they run together
// after every step of lower order and before every step of higher order.
func (c *converter) groupOrders(p *pipeline) {
	for _, r := range p.memberOf {
		if s := findStep(p.steps, r.step.Value); s != nil && s.group == "" {
			s.group = r.group.key
		}
	}
	byGroup := map[string][]*step{}
	var keys []string
	for _, s := range p.steps {
		if s.group == "" {
			continue
		}
		if byGroup[s.group] == nil {
			keys = append(keys, s.group)
		}
		byGroup[s.group] = append(byGroup[s.group], s)
	}
	for _, k := range keys {
		members := byGroup[k]
		low, high := members[0].order, members[0].order
		for _, s := range members {
			low, high = min(low, s.order), max(high, s.order)
		}
		if low != high {
			c.warnf(members[0].line, "", "parallel group %q has steps of orders %d to %d; they all run together at order %d", k, low, high, low)
		}
		for _, s := range members {
			s.order = low
		}
		g := p.groups[k]
		if g == nil {
			g = &group{key: k}
			p.groups[k] = g
		}
		g.members = members
	}
}

// groupPolicies reports what of a group's settings ansflow cannot keep and
// gives its timeout to members without one of their own.
func (c *converter) groupPolicies(p *pipeline) {
	keys := make([]string, 0, len(p.groups))
	for k := range p.groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g := p.groups[k]
		switch g.syncPolicy {
		case "", "wait_all":
		case "wait_any", "fail_fast":
			c.warnf(g.policyLine, "", "parallel group %q has sync_policy %q; ansflow always waits for every step of a group (wait_all), and a failure skips only the steps that depend on the failed one; dropped", k, g.syncPolicy)
		default:
			c.warnf(g.policyLine, "", "parallel group %q has an unknown sync_policy %q (AnsFlow knows wait_all, wait_any, fail_fast); dropped", k, g.syncPolicy)
		}
		if g.timeout == nil {
			continue
		}
		c.warnf(g.timeout.Line, "", "parallel group %q has a timeout for the whole group; ansflow has timeouts per step, so each step of the group without its own timeout gets it", k)
		for _, s := range g.members {
			if s.timeout == nil {
				s.timeout = c.duration(s, g.timeout)
			}
		}
	}
}

// findStep finds a step by AnsFlow id, name or label.
func findStep(steps []*step, key string) *step {
	for _, match := range []func(*step) bool{
		func(s *step) bool { return s.id != "" && s.id == key },
		func(s *step) bool { return s.name == key },
		func(s *step) bool { return s.label == key },
	} {
		for _, s := range steps {
			if match(s) {
				return s
			}
		}
	}
	return nil
}

// explicitDependencies turns dependencies (step ids or names) into
// depends_on, where no reference already implies the edge.
func (c *converter) explicitDependencies() {
	for _, s := range c.steps {
		for _, d := range s.deps {
			key, _ := scalarString(d)
			to := findStep(c.steps, key)
			switch {
			case to == nil:
				c.warnf(d.Line, s.name, "dependencies names %q, which is no step of this pipeline (or one that was dropped); dropped", key)
			case to == s:
				c.warnf(d.Line, s.name, "dependencies names the step itself; dropped")
			case reaches(to, s, map[*step]bool{}):
				c.warnf(d.Line, s.name, "dependencies names %q, which already depends on this step; dropped, since it would make a cycle", key)
			case !reaches(s, to, map[*step]bool{}):
				s.dependsOn = append(s.dependsOn, to)
			}
		}
	}
}

// retryBlock is a step's retry { attempts, delay }.
type retryBlock struct {
	attempts int
	delay    hclwrite.Tokens
}

// commonFields converts the fields every AnsFlow step may have.
func (c *converter) commonFields(s *step) {
	if d, ok := scalarString(s.f.take("description")); ok {
		s.description = d
	}
	if deps := s.f.take("dependencies"); deps != nil {
		if deps.Kind == yaml.SequenceNode {
			s.deps = deps.Content
			s.explicitDep = len(deps.Content) > 0
		} else {
			c.warnf(deps.Line, s.name, "dependencies must be a list of step ids or names; dropped")
		}
	}
	if schema := builtin.Schemas().Lookup(s.typ); schema != nil && schema.Input("env") != nil {
		if env := s.f.take("environment_vars"); env != nil {
			if _, set := s.attrs["env"]; set {
				c.warnf(env.Line, s.name, "environment_vars is ignored because the step's own environment is set")
			} else {
				s.set("env", c.value(s, env))
			}
		}
	}
	if v := s.f.take("timeout_seconds"); v != nil && s.timeout == nil {
		s.timeout = c.duration(s, v)
	}
	c.retryPolicy(s)
}

// retryPolicy converts retry_policy {max_retries, retry_delay,
// continue_on_failure} into retry and continue_on_error.
func (c *converter) retryPolicy(s *step) {
	rp := s.f.sub("retry_policy")
	if rp == nil {
		return
	}
	if v := rp.takeFirst("max_retries", "retries"); v != nil {
		n, err := strconv.Atoi(v.Value)
		switch {
		case err != nil || n < 0:
			c.warnf(v.Line, s.name, "retry_policy.max_retries %q is not a whole number; dropped", v.Value)
		case n > 0:
			s.retry = &retryBlock{attempts: n + 1}
		}
	}
	if v := rp.takeFirst("retry_delay", "delay"); v != nil {
		if s.retry == nil {
			c.warnf(v.Line, s.name, "retry_policy.retry_delay without max_retries has no effect; dropped")
		} else {
			s.retry.delay = c.duration(s, v)
		}
	}
	if v := rp.takeFirst("continue_on_failure", "continue_on_error"); v != nil {
		var b bool
		if err := v.Decode(&b); err != nil {
			c.warnf(v.Line, s.name, "retry_policy.continue_on_failure must be true or false; dropped")
		}
		s.continueOn = b
	}
	rp.unused("", nil)
}

// stepConfig is the step's type-specific settings: the named mapping
// (docker_config, k8s_config), or else parameters, where pipelines sent
// from AnsFlow's editor keep them.
func (c *converter) stepConfig(s *step, key string) *fields {
	if s.f.has(key) || !s.f.has("parameters") {
		return s.f.sub(key)
	}
	return s.f.sub("parameters")
}

// shellStep converts AnsFlow's shell-like step types (build, test,
// script, custom, ...) into exec steps that run their command through
// sh -c, as AnsFlow's executor did.
func (c *converter) shellStep(s *step) {
	params := s.f.sub("parameters")
	cmd := s.f.take("command")
	for _, k := range []string{"command", "script", "test_command", "build_command", "scan_command", "deploy_command"} {
		if v := params.take(k); v != nil {
			if cmd != nil {
				c.warnf(v.Line, s.name, "parameters.%s is ignored because the step's command is set", k)
				continue
			}
			cmd = v
		}
	}
	switch {
	case cmd != nil:
		s.set("command", c.shell(s, cmd))
	case s.srcType == "fetch_code" || s.srcType == "git_clone":
		c.gitClone(s, params)
	case s.srcType == "ansible":
		c.ansible(s, params)
	default:
		s.set("command", c.missing(s, "command", "list(string)", "no command given"))
	}
	c.execCommon(s, params)
}

// execCommon sets env and workdir of an exec step.
func (c *converter) execCommon(s *step, params *fields) {
	if pe := params.takeFirst("environment", "env"); pe != nil {
		if s.f.has("environment_vars") {
			c.warnf(pe.Line, s.name, "parameters.environment is ignored because environment_vars is set")
		} else {
			s.set("env", c.value(s, pe))
		}
	}
	c.copyField(s, params, "workdir", "working_dir", "workdir", "directory")
	params.unused("", nil)
}

// shell runs a command string through sh -c; lists stay argv.
func (c *converter) shell(s *step, n *yaml.Node) hclwrite.Tokens {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return c.value(s, n)
	}
	return hclwrite.TokensForTuple([]hclwrite.Tokens{quoted("sh"), quoted("-c"), c.str(s, n.Value, n.Line)})
}

// gitClone converts fetch_code and git_clone.
func (c *converter) gitClone(s *step, params *fields) {
	url := params.takeFirst("repository_url", "repo_url", "repository", "url")
	if url == nil {
		s.set("command", c.missing(s, "command", "list(string)", "no parameters.repository_url given"))
		return
	}
	argv := []hclwrite.Tokens{quoted("git"), quoted("clone")}
	if b := params.takeFirst("branch", "ref"); b != nil {
		argv = append(argv, quoted("--branch"), c.value(s, b))
	}
	if d := params.take("depth"); d != nil {
		argv = append(argv, quoted("--depth"), c.str(s, d.Value, d.Line))
	}
	argv = append(argv, c.value(s, url))
	if p := params.takeFirst("path", "target_dir", "destination"); p != nil {
		argv = append(argv, c.value(s, p))
	}
	for _, k := range []string{"git_credential", "credentials", "token", "username", "password"} {
		if v := params.take(k); v != nil {
			c.warnf(v.Line, s.name, "parameters.%s: git credentials are not carried over; give git its credentials (a credential helper or SSH key) on the machine that runs ansflow", k)
		}
	}
	s.set("command", hclwrite.TokensForTuple(argv))
}

// ansible converts an ansible step into ansible-playbook.
func (c *converter) ansible(s *step, params *fields) {
	pb := params.takeFirst("playbook", "playbook_path")
	if pb == nil {
		s.set("command", c.missing(s, "command", "list(string)", "no parameters.playbook given"))
		return
	}
	argv := []hclwrite.Tokens{quoted("ansible-playbook")}
	if inv := params.takeFirst("inventory", "inventory_path"); inv != nil {
		argv = append(argv, quoted("-i"), c.value(s, inv))
	}
	if ev := params.take("extra_vars"); ev != nil {
		argv = append(argv, quoted("--extra-vars"), hclwrite.TokensForFunctionCall("jsonencode", c.value(s, ev)))
	}
	if t := params.take("tags"); t != nil {
		argv = append(argv, quoted("--tags"), c.str(s, commaList(t), t.Line))
	}
	argv = append(argv, c.value(s, pb))
	s.set("command", hclwrite.TokensForTuple(argv))
}

// commaList renders a scalar or a list of scalars as "a,b".
func commaList(n *yaml.Node) string {
	if n.Kind != yaml.SequenceNode {
		return n.Value
	}
	parts := make([]string, len(n.Content))
	for i, e := range n.Content {
		parts[i] = e.Value
	}
	return strings.Join(parts, ",")
}

// conditionMap converts AnsFlow's object form of conditions: branch,
// environment {k: v} (variables), previous_steps_success, manual_approval
// and expression.
func (c *converter) conditionMap(s *step, n *yaml.Node) []hclwrite.Tokens {
	f := c.fieldsOf(n, s.name, "conditions.")
	var exprs []hclwrite.Tokens
	if b := f.take("branch"); b != nil {
		exprs = append(exprs, c.oneOf(s, traversalTokens("git", "branch"), b))
	}
	if env := f.take("environment"); env != nil {
		if env.Kind != yaml.MappingNode {
			c.warnf(env.Line, s.name, "conditions.environment must be a mapping of names to values; dropped")
		}
		for i := 0; env.Kind == yaml.MappingNode && i+1 < len(env.Content); i += 2 {
			k, v := env.Content[i], env.Content[i+1]
			name := varName(k.Value)
			c.declareVar(name, "string")
			c.warnf(k.Line, s.name, "condition on environment %s: the step runs only when var.%s (set it with -var %s=... or ANSFLOW_VAR_%s) is %s", k.Value, name, name, name, v.Value)
			exprs = append(exprs, c.oneOf(s, traversalTokens("var", name), v))
		}
	}
	if v := f.take("previous_steps_success"); v != nil && v.Value != "true" {
		c.warnf(v.Line, s.name, "conditions.previous_steps_success: false has no equivalent (a step runs only after the steps it depends on succeeded); set continue_on_error = true on the steps before it instead; dropped")
	}
	if v := f.take("manual_approval"); v != nil && v.Value == "true" {
		c.approvalRequest(s, v.Line)
	}
	if v := f.take("expression"); v != nil {
		c.warnf(v.Line, s.name, "conditions.expression %q cannot be translated; write it as the step's when expression; dropped", v.Value)
	}
	f.unused("", nil)
	return exprs
}

// oneOf is lhs == "value", or contains([...], lhs) for a list of values.
func (c *converter) oneOf(s *step, lhs hclwrite.Tokens, v *yaml.Node) hclwrite.Tokens {
	if v.Kind == yaml.SequenceNode {
		return hclwrite.TokensForFunctionCall("contains", c.value(s, v), lhs)
	}
	toks := append(hclwrite.Tokens{}, lhs...)
	toks = append(toks, &hclwrite.Token{Type: opToken("=="), Bytes: []byte("==")})
	return append(toks, c.str(s, v.Value, v.Line)...)
}

func traversalTokens(root string, attrs ...string) hclwrite.Tokens {
	return hclwrite.TokensForTraversal(traversal(root, attrs...))
}

// varName turns a name into a variable name.
func varName(name string) string {
	if v := snakeCase(name); v != "" && !(v[0] >= '0' && v[0] <= '9') {
		return v
	}
	return "var_" + snakeCase(name)
}

// secretKeys are the parts of field names that hold secrets.
var secretKeys = []string{"password", "passwd", "secret", "token", "api_key", "apikey", "credential", "private_key", "access_key"}

// isSecretKey reports whether a field name suggests a secret.
func isSecretKey(key string) bool {
	k := strings.ToLower(key)
	for _, part := range secretKeys {
		if strings.Contains(k, part) {
			return true
		}
	}
	return false
}

// secret stands in for a secret value: a sensitive variable, reported, so
// that the value itself never reaches the HCL.
func (c *converter) secret(s *step, name string, line int, what string) hclwrite.Tokens {
	v := c.declareVar(name, "string")
	v.sensitive = true
	stepName := ""
	if s != nil {
		stepName = s.name
	}
	c.warnf(line, stepName, "%s is a secret: it is not written to the HCL but read from the sensitive variable var.%s; set it with ANSFLOW_VAR_%s", what, name, name)
	return traversalTokens("var", name)
}

// prepareJSON checks input that looks like JSON with encoding/json, so
// that syntax errors come with line and column, and makes it palatable to
// the YAML parser (which reads JSON, keeping every node's line): tabs,
// which JSON allows only between tokens, become spaces.
func prepareJSON(src []byte, filename string) ([]byte, error) {
	trimmed := bytes.TrimLeft(src, " \t\r\n\ufeff")
	if len(trimmed) == 0 || (trimmed[0] != '{' && trimmed[0] != '[') {
		return src, nil
	}
	var v any
	if err := json.Unmarshal(src, &v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := position(src, se.Offset)
			return nil, &Error{File: filename, Line: line, Message: fmt.Sprintf("invalid JSON at column %d: %s", col, se.Error())}
		}
		// Not JSON after all (a YAML flow mapping, say): let YAML read it.
		return src, nil
	}
	return bytes.ReplaceAll(src, []byte("\t"), []byte(" ")), nil
}

// position converts a byte offset into a 1-based line and column.
func position(src []byte, offset int64) (line, col int) {
	offset = min(max(offset, 0), int64(len(src)))
	before := src[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - (bytes.LastIndexByte(before, '\n') + 1)
	return line, max(col, 1)
}

// number renders an integer.
func number(n int) hclwrite.Tokens { return hclwrite.TokensForValue(cty.NumberIntVal(int64(n))) }
