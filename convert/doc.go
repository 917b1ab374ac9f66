// Package convert translates pipelines written for AnsFlow, ansflow's YAML
// predecessor, into ansflow HCL.
//
// AnsFlow steps pass context implicitly: a docker_run uses "the image built
// before", a k8s_wait waits for "the deployment", steps run in `order`
// groups. The conversion makes each of these an explicit reference
// (docker_build.app.ref, k8s_deploy.app.name) so that it becomes a real edge
// of ansflow's dependency graph, and adds depends_on only where no reference
// already orders a step after the group before it.
//
// Nothing is dropped silently: every field without an ansflow equivalent is
// reported as a Warning naming the step, the field and its line.
package convert
