package config

import (
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// blockNotify is notify "NAME" { url = "...", on = [...] }: a webhook told
// about the result of every apply.
const blockNotify = "notify"

var notifyAttrs = []string{"url", "on", "format", "timeout", "retries", "link"}

// Notification events and payload formats of a notify block.
var (
	NotifyEvents  = []string{"failure", "success", "approval"}
	NotifyFormats = []string{"json", "slack", "teams"}
)

// Defaults of a notify block.
const (
	DefaultNotifyTimeout = 10 * time.Second
	DefaultNotifyRetries = 3
)

// Notify is a notify "NAME" block.
type Notify struct {
	Name      string
	Config    hcl.Body
	DeclRange hcl.Range
}

// NotifyTarget is an evaluated notify block.
type NotifyTarget struct {
	Name    string
	URL     string
	On      []string // of NotifyEvents
	Format  string   // of NotifyFormats
	Timeout time.Duration
	Retries int // attempts after the first
	Link    string
	// SensitiveURL is set when the URL comes from a sensitive value: it
	// must not be shown in messages.
	SensitiveURL bool
}

// Wants reports whether the target is told about event.
func (t NotifyTarget) Wants(event string) bool {
	for _, e := range t.On {
		if e == event {
			return true
		}
	}
	return false
}

// decodeNotify reads a notify "NAME" block.
func (l *loader) decodeNotify(b *hclsyntax.Block) {
	if !l.checkLabels(b, true, "name") {
		return
	}
	name := b.Labels[0]
	if prev, ok := l.p.Notifies[name]; ok {
		l.errorf(b.DefRange(), "Duplicate notify block",
			"A notify block named %q was already declared at %s; rename or remove one of them.", name, prev.DeclRange)
		return
	}
	l.checkBody(b.Body, b.DefRange(), bodyRule{where: "a notify block", attrs: notifyAttrs, required: []string{"url"}})
	var scratch NotifyTarget
	for _, a := range sortedAttrs(b.Body) {
		check := notifySetter(&scratch, a.Name)
		if check != nil {
			rng := a.Expr.Range()
			l.checkStaticMeta(a.Expr, func(v cty.Value) hcl.Diagnostics { return check(v, rng) })
		}
	}
	if l.p.Notifies == nil {
		l.p.Notifies = map[string]*Notify{}
	}
	l.p.Notifies[name] = &Notify{Name: name, Config: b.Body, DeclRange: b.DefRange()}
	l.notifyOrder = append(l.notifyOrder, l.p.Notifies[name])
}

// notifySetter returns the function that checks the value of one notify
// argument and sets it in t.
func notifySetter(t *NotifyTarget, name string) func(cty.Value, hcl.Range) hcl.Diagnostics {
	switch name {
	case "url":
		return func(v cty.Value, r hcl.Range) hcl.Diagnostics { return notifyURL(t, v, r) }
	case "on":
		return func(v cty.Value, r hcl.Range) hcl.Diagnostics { return notifyOn(t, v, r) }
	case "format":
		return func(v cty.Value, r hcl.Range) hcl.Diagnostics { return notifyFormat(t, v, r) }
	case "timeout":
		return func(v cty.Value, r hcl.Range) (d hcl.Diagnostics) {
			t.Timeout, d = durationMeta(v, "notify timeout", r)
			return d
		}
	case "retries":
		return func(v cty.Value, r hcl.Range) hcl.Diagnostics { return notifyRetries(t, v, r) }
	case "link":
		return func(v cty.Value, r hcl.Range) hcl.Diagnostics { return notifyLink(t, v, r) }
	}
	return nil
}

func notifyString(v cty.Value, name string, rng hcl.Range) (string, bool, hcl.Diagnostics) {
	sensitive := HasSensitive(v)
	v, diags := knownMeta(v, name, rng)
	if diags.HasErrors() {
		return "", false, diags
	}
	s, err := convert.Convert(v, cty.String)
	if err != nil {
		return "", false, metaError("Invalid "+name, fmt.Sprintf("The %s must be a string, not %s.", name, typeDescription(v.Type())), rng)
	}
	return s.AsString(), sensitive, nil
}

func notifyURL(t *NotifyTarget, v cty.Value, rng hcl.Range) hcl.Diagnostics {
	u, sensitive, diags := notifyString(v, "notify url", rng)
	if diags.HasErrors() {
		return diags
	}
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return metaError("Invalid notify url", "The url must be an http:// or https:// address of a webhook.", rng)
	}
	t.URL, t.SensitiveURL = u, sensitive
	return nil
}

func notifyLink(t *NotifyTarget, v cty.Value, rng hcl.Range) hcl.Diagnostics {
	if HasSensitive(v) {
		return metaError("Invalid notify link", "The link is sent in every notification, so it must not be sensitive; use a value that is not secret.", rng)
	}
	s, _, diags := notifyString(v, "notify link", rng)
	t.Link = s
	return diags
}

func notifyOn(t *NotifyTarget, v cty.Value, rng hcl.Range) hcl.Diagnostics {
	v, diags := knownMeta(v, "on", rng)
	if diags.HasErrors() {
		return diags
	}
	list, err := convert.Convert(v, cty.List(cty.String))
	if err != nil {
		return metaError("Invalid notify events", fmt.Sprintf("on must be a list of events among %s, such as [\"failure\"].", strings.Join(NotifyEvents, ", ")), rng)
	}
	t.On = nil
	for it := list.ElementIterator(); it.Next(); {
		_, el := it.Element()
		if el.IsNull() {
			return metaError("Invalid notify events", "on must not contain null; remove it.", rng)
		}
		if !contains(NotifyEvents, el.AsString()) {
			return metaError("Invalid notify events", fmt.Sprintf("%q is not an event; use %s.", el.AsString(), strings.Join(NotifyEvents, ", ")), rng)
		}
		t.On = append(t.On, el.AsString())
	}
	return nil
}

func notifyFormat(t *NotifyTarget, v cty.Value, rng hcl.Range) hcl.Diagnostics {
	s, _, diags := notifyString(v, "notify format", rng)
	if diags.HasErrors() {
		return diags
	}
	if !contains(NotifyFormats, s) {
		return metaError("Invalid notify format", fmt.Sprintf("%q is not a payload format; use %s.", s, strings.Join(NotifyFormats, ", ")), rng)
	}
	t.Format = s
	return nil
}

func notifyRetries(t *NotifyTarget, v cty.Value, rng hcl.Range) hcl.Diagnostics {
	v, diags := knownMeta(v, "retries", rng)
	if diags.HasErrors() {
		return diags
	}
	if n, err := convert.Convert(v, cty.Number); err == nil {
		if i, acc := n.AsBigFloat().Int64(); acc == big.Exact && i >= 0 && i <= 100 {
			t.Retries = int(i)
			return nil
		}
	}
	return metaError("Invalid notify retries", "retries is the number of tries after the first and must be a whole number from 0 to 100.", rng)
}

// EvalNotify evaluates a notify block with the variables, locals and
// built-in values of the scope (run.number is the run being reported).
func (s *Scope) EvalNotify(n *Notify) (NotifyTarget, hcl.Diagnostics) {
	t := NotifyTarget{Name: n.Name, On: []string{"failure"}, Format: "json", Timeout: DefaultNotifyTimeout, Retries: DefaultNotifyRetries}
	attrs, diags := n.Config.JustAttributes()
	ctx := s.EvalContext(nil)
	for _, name := range sortedKeys(attrs) {
		a := attrs[name]
		v, d := a.Expr.Value(ctx)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		if set := notifySetter(&t, name); set != nil {
			diags = append(diags, set(v, a.Expr.Range())...)
		}
	}
	if t.Timeout <= 0 {
		t.Timeout = DefaultNotifyTimeout
	}
	return t, diags
}
