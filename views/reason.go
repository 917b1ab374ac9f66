package views

import (
	"fmt"
	"strings"

	"github.com/ansflow/ansflow/engine"
)

// fixedReasons are the sentences of the reasons without parameters.
var fixedReasons = map[engine.ReasonCode]string{
	engine.ReasonNew:              "it is not in the state yet",
	engine.ReasonNeverRan:         "it has not run yet",
	engine.ReasonReplaceRequested: "-replace was requested",
	engine.ReasonGone:             "it was deleted outside ansflow",
	engine.ReasonInputsChanged:    "its inputs changed",
	engine.ReasonNotTargeted:      "not selected by -target",
	engine.ReasonOrphan:           "it is no longer in the configuration",
	engine.ReasonDestroy:          "destroy was requested",
	engine.ReasonRecordOnly:       "only its record is removed",
}

// ReasonText is the sentence fragment people read for one reason of a
// change: "command changed (var.v: \"1\" -> \"9\")".
func ReasonText(r engine.Reason) string {
	if s, ok := fixedReasons[r.Code]; ok {
		return s
	}
	switch r.Code {
	case engine.ReasonDrift:
		return fmt.Sprintf("%s was changed outside ansflow (%s -> %s)", strings.Join(r.Attrs, ", "), r.Before, r.After)
	case engine.ReasonFilesChanged:
		return "the contents of " + r.File + " changed"
	case engine.ReasonAttrsChanged:
		return attrsText(r)
	case engine.ReasonForceNew:
		return strings.Join(r.Attrs, ", ") + " cannot be changed in place"
	case engine.ReasonFailedLastTime:
		if r.ExitCode != nil {
			return fmt.Sprintf("it failed last run (exit code %d)", *r.ExitCode)
		}
		return "it failed last run"
	case engine.ReasonUpstreamChanged:
		return upstreamText(r)
	case engine.ReasonUpstreamFiles:
		return upstreamText(r) + ", which may change the files it reads (checked again before it is applied)"
	case engine.ReasonWhenFalse:
		if r.Kept {
			return "when is false; what it created is left as it is"
		}
		return "when is false"
	}
	return r.Code.String()
}

// Reasons are the reasons of c as text: made from its reason codes, or,
// for a change without any (from a plan written before reasons were data,
// or made by hand), the text it carries.
func Reasons(c *engine.Change) []string {
	if len(c.Why) == 0 {
		return c.Reasons
	}
	out := make([]string, len(c.Why))
	for i, r := range c.Why {
		out[i] = ReasonText(r)
	}
	return out
}

// ExplainPlan sets the Reasons of every change in p that has reason codes
// to their sentences, for what shows a plan's text without this package
// (the web UI, run logs, traces, plan files read by older tools).
func ExplainPlan(p *engine.Plan) {
	for _, c := range p.Changes {
		if len(c.Why) > 0 {
			c.Reasons = Reasons(c)
		}
	}
}

// attrsText is "a, b changed (causes); c will be known only after apply
// (upstream ...)".
func attrsText(r engine.Reason) string {
	var parts []string
	if len(r.Attrs) > 0 {
		s := listNames(r.Attrs) + " changed"
		if len(r.Causes) > 0 {
			causes := make([]string, len(r.Causes))
			for i, c := range r.Causes {
				causes[i] = c.Ref + ": " + c.Before + " -> " + c.After
			}
			s += " (" + listNames(causes) + ")"
		}
		parts = append(parts, s)
	}
	if len(r.Unknown) > 0 {
		s := listNames(r.Unknown) + " will be known only after apply"
		if len(r.Upstream) > 0 {
			s += " (" + upstreamText(r) + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// upstreamText is "upstream docker_build.app will be updated, exec.b will
// run, 2 more".
func upstreamText(r engine.Reason) string {
	parts := make([]string, 0, len(r.Upstream)+1)
	for _, u := range r.Upstream {
		parts = append(parts, u.Addr+" will "+upstreamVerb(u.Action))
	}
	if r.MoreUpstream > 0 {
		parts = append(parts, fmt.Sprintf("%d more", r.MoreUpstream))
	}
	return "upstream " + strings.Join(parts, ", ")
}

// upstreamVerbs say what the plan does to a dependency.
var upstreamVerbs = map[engine.Action]string{
	engine.Create:  "be created",
	engine.Update:  "be updated",
	engine.Replace: "be replaced",
	engine.Delete:  "be deleted",
	engine.Run:     "run",
}

func upstreamVerb(a engine.Action) string {
	if v, ok := upstreamVerbs[a]; ok {
		return v
	}
	return "stay as it is"
}

// listNames joins names, the first few of them when there are many.
func listNames(names []string) string {
	const shown = 5
	if len(names) > shown {
		return strings.Join(names[:shown], ", ") + fmt.Sprintf(" and %d more", len(names)-shown)
	}
	return strings.Join(names, ", ")
}
