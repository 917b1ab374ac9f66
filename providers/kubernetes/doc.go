// Package kubernetes implements the k8s_* step types (k8s_deploy, k8s_scale,
// k8s_delete, k8s_wait, k8s_exec, k8s_logs) with client-go.
//
// Objects are written by server-side apply under the field manager "ansflow"
// (k8s_scale uses "ansflow-scale" on the scale subresource), kinds are
// resolved kubectl-style through API discovery, and every wait is a watch,
// never a polling loop. Rollout waits fail fast when pods crash-loop or cannot
// pull their image, quoting the pod's reason, events and last log lines.
//
// One set of clients is kept per distinct cluster settings (kubeconfig path,
// context) and shared by all steps of a Provider.
//
// helm_release (helm_*.go) runs Helm 4's install, upgrade and uninstall
// actions over the same clients, with one action.Configuration per cluster
// and namespace; Helm stores the releases (as Secrets) and owns the fields it
// applies (field manager: the program's name, as with the helm command).
package kubernetes
