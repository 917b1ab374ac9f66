package convert

import (
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

// stepNotifications converts a step's notification_config.
func (c *converter) stepNotifications(s *step) {
	if n := s.f.take("notification_config"); n != nil {
		c.warnf(n.Line, s.name, "notification_config has no equivalent in this build of ansflow; dropped")
	}
}

// pipelineExtras converts pipeline-level settings beyond name and steps.
func (c *converter) pipelineExtras(_ *pipeline, pf *fields) {
	if n := pf.take("notification_config"); n != nil {
		c.warnf(n.Line, "", "notification_config has no equivalent in this build of ansflow; dropped")
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
