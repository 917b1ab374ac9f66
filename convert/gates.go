package convert

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ansflow/ansflow/config"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"go.yaml.in/yaml/v3"
)

// approval converts approval_required and approval_users into an approval
// block; conditions.manual_approval asks for one too.
func (c *converter) approval(s *step) {
	req, users := s.f.take("approval_required"), s.f.take("approval_users")
	if req != nil && req.Value == "true" {
		c.approvalRequest(s, req.Line)
	}
	if users == nil {
		return
	}
	if s.approval == nil {
		c.warnf(users.Line, s.name, "approval_users without approval_required: true has no effect; dropped")
		return
	}
	if users.Kind != yaml.SequenceNode {
		c.warnf(users.Line, s.name, "approval_users must be a list of user names; dropped, so anyone may approve")
		return
	}
	s.approval.approvers = c.value(s, users)
}

// approvalSpec is the approval block a step gets.
type approvalSpec struct {
	approvers hclwrite.Tokens // nil: anyone may approve
}

// approvalRequest notes that the step needs a manual approval.
func (c *converter) approvalRequest(s *step, _ int) {
	if s.approval == nil {
		s.approval = &approvalSpec{}
	}
}

// notifyBlock is a notify block the conversion declares.
type notifyBlock struct {
	name    string
	comment string
	url     hclwrite.Tokens
	on      []string
	format  string
}

// stepNotifications converts a step's notification_config: ansflow
// notifies about whole runs, so it becomes a notify block of its own.
func (c *converter) stepNotifications(s *step) {
	if nf := s.f.sub("notification_config"); nf != nil {
		c.warnf(s.line, s.name, "notification_config: ansflow notifies about whole runs, not single steps; notify.%s reports every run", s.label)
		c.notification(s, nf, s.label, "from the notification_config of step "+s.name)
	}
}

// pipelineExtras converts pipeline-level settings beyond name and steps.
func (c *converter) pipelineExtras(_ *pipeline, pf *fields) {
	if nf := pf.sub("notification_config"); nf != nil {
		c.notification(nil, nf, "default", "from the pipeline's notification_config")
	}
}

// notification converts a notification_config mapping into a notify block.
func (c *converter) notification(s *step, nf *fields, name, comment string) {
	nb := &notifyBlock{name: c.notifyName(name), comment: comment}
	for _, ev := range []struct{ key, event string }{{"on_success", "success"}, {"on_failure", "failure"}, {"on_approval", "approval"}} {
		if v := nf.take(ev.key); v != nil && v.Value == "true" {
			nb.on = append(nb.on, ev.event)
		}
	}
	if v := nf.takeFirst("events", "on"); v != nil && v.Kind == yaml.SequenceNode {
		for _, e := range v.Content {
			ev := strings.TrimPrefix(strings.TrimPrefix(e.Value, "on_"), "pipeline_")
			if !slices.Contains(config.NotifyEvents, ev) || slices.Contains(nb.on, ev) {
				c.warnf(e.Line, stepName(s), "notification event %q: ansflow notifies on %s; dropped", e.Value, strings.Join(config.NotifyEvents, ", "))
				continue
			}
			nb.on = append(nb.on, ev)
		}
	}
	c.notifyTarget(s, nf, nb)
}

// notifyStep converts AnsFlow's notify step type: it becomes a notify
// block told about successful runs, since the step ran once every step
// before it had succeeded.
func (c *converter) notifyStep(s *step) {
	params := s.f.sub("parameters")
	nb := &notifyBlock{name: c.notifyName(s.label), comment: fmt.Sprintf("from the notify step %q (order %d)", s.name, s.order), on: []string{"success"}}
	c.warnf(s.line, s.name, "the notify step becomes notify.%s, told when the run succeeds (the step ran after every step before it succeeded); ansflow sends its own summary", nb.name)
	if m := params.takeFirst("message", "content", "title"); m != nil {
		c.warnf(m.Line, s.name, "parameters.%s: ansflow sends its own summary of the run; dropped", "message")
	}
	c.notifyTarget(s, params, nb)
	for _, k := range []string{"order", "conditions", "description", "dependencies", "parallel_group", "timeout_seconds", "retry_policy"} {
		s.f.take(k)
	}
	s.f.unused("notify", knownStepFields)
}

// notifyTarget reads the webhook of a notify block; without one (e-mail,
// chat ids), there is nothing ansflow can post to.
func (c *converter) notifyTarget(s *step, f *fields, nb *notifyBlock) {
	kind, _ := scalarString(f.takeFirst("notify_type", "type", "channel_type", "provider"))
	u := f.takeFirst("webhook_url", "webhook", "url")
	if u == nil {
		c.warnf(c.lineOf(s, f), stepName(s), "no webhook_url: ansflow notifies only webhooks (generic JSON, Slack, Teams); dropped")
		f.unused("", nil)
		return
	}
	switch {
	case strings.Contains(strings.ToLower(kind), "slack") || strings.Contains(u.Value, "hooks.slack.com"):
		nb.format = "slack"
	case strings.Contains(strings.ToLower(kind), "teams") || strings.Contains(u.Value, "office.com"):
		nb.format = "teams"
	}
	nb.url = c.secret(s, nb.name+"_notify_url", u.Line, "the webhook URL (it usually holds a token)")
	if len(nb.on) == 0 {
		nb.on = []string{"failure"}
	}
	f.unused("", nil)
	c.notifies = append(c.notifies, nb)
}

// notifyName is a notify block name not used yet.
func (c *converter) notifyName(base string) string {
	name := base
	for i := 2; c.notifyNames[name]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	if c.notifyNames == nil {
		c.notifyNames = map[string]bool{}
	}
	c.notifyNames[name] = true
	return name
}

func (c *converter) lineOf(s *step, f *fields) int {
	if len(f.keys) > 0 {
		return f.keys[0].Line
	}
	if s != nil {
		return s.line
	}
	return 0
}

func stepName(s *step) string {
	if s == nil {
		return ""
	}
	return s.name
}

// renderNotify writes a notify block.
func renderNotify(body *hclwrite.Body, nb *notifyBlock) {
	body.AppendNewline()
	b := body.AppendNewBlock("notify", []string{nb.name}).Body()
	b.AppendUnstructuredTokens(comment("Converted " + nb.comment + "."))
	b.SetAttributeRaw("url", nb.url)
	elems := make([]hclwrite.Tokens, len(nb.on))
	for i, e := range nb.on {
		elems[i] = quoted(e)
	}
	b.SetAttributeRaw("on", hclwrite.TokensForTuple(elems))
	if nb.format != "" {
		b.SetAttributeRaw("format", quoted(nb.format))
	}
}

// renderExtras writes the blocks a step gains beyond retry.
func renderExtras(b *hclwrite.Body, s *step) {
	if s.approval != nil {
		b.AppendNewline()
		ab := b.AppendNewBlock("approval", nil).Body()
		if s.approval.approvers != nil {
			ab.SetAttributeRaw("approvers", s.approval.approvers)
		}
	}
}
