package convert

import (
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// approval converts approval_required and approval_users.
func (c *converter) approval(s *step) {
	req, users := s.f.take("approval_required"), s.f.take("approval_users")
	switch {
	case req != nil && req.Value == "true":
		c.approvalRequest(s, req.Line)
	case users != nil:
		c.warnf(users.Line, s.name, "approval_users without approval_required: true has no effect; dropped")
	}
}

// approvalRequest notes that the step needs a manual approval.
func (c *converter) approvalRequest(s *step, line int) {
	c.warnf(line, s.name, "manual approval has no equivalent in this build of ansflow; dropped, so the step runs without one")
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
func renderExtras(_ *hclwrite.Body, _ *step) {}
