package cmd

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ansflow/ansflow/state"
	"github.com/ansflow/ansflow/state/backends"
)

// migrateOptions are the flags of `ansflow state migrate`.
type migrateOptions struct {
	to         string
	namespace  string
	name       string
	kubeconfig string
	context    string
	force      bool
	lock       lockOptions
}

func newStateMigrateCommand(app *App, g *globalOptions) *cobra.Command {
	var o migrateOptions
	c := &cobra.Command{
		Use:   "migrate -to=local|kubernetes",
		Short: "Copy the current workspace's state between the local and the kubernetes backend",
		Long: `Copies the state of the current workspace, lineage, serial, instances and run
history included, from the local store (.ansflow/state) to the kubernetes backend
(-to=kubernetes) or back (-to=local). The kubernetes side is the pipeline's
backend "kubernetes" block, with -namespace, -name, -kubeconfig and -context
overriding its attributes. Both stores are locked during the copy. A destination
holding the state of another lineage, or a newer serial of the same one, is
refused unless -force. The source is left as it was.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMigrate(cmd.Context(), app, g, &o)
		},
	}
	fs := c.Flags()
	fs.StringVar(&o.to, "to", "", "the backend to copy the state to: `local` or kubernetes")
	fs.StringVar(&o.namespace, "namespace", "", "namespace of the kubernetes backend")
	fs.StringVar(&o.name, "name", "", "state name of the kubernetes backend")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the kubernetes backend")
	fs.StringVar(&o.context, "context", "", "kubeconfig context of the kubernetes backend")
	fs.BoolVar(&o.force, "force", false, "overwrite a destination holding another lineage or a newer serial")
	o.lock.register(fs)
	return c
}

// kubernetesBackend is the pipeline's kubernetes backend with the flags
// applied.
func (o *migrateOptions) kubernetesBackend(configured backends.Backend) (backends.Backend, error) {
	b := backends.Backend{Type: backends.Kubernetes}
	if configured.Type == backends.Kubernetes {
		b.Kubernetes = configured.Kubernetes
	}
	k := &b.Kubernetes
	for _, f := range []struct {
		dst *string
		v   string
	}{
		{&k.Namespace, o.namespace}, {&k.Name, o.name}, {&k.Kubeconfig, o.kubeconfig}, {&k.Context, o.context},
	} {
		if f.v != "" {
			*f.dst = f.v
		}
	}
	if k.Name == "" {
		return b, errors.New(`the kubernetes backend needs a state name: pass -name=NAME, or configure ansflow { backend "kubernetes" { name = "..." } }`)
	}
	return b, nil
}

func runMigrate(ctx context.Context, app *App, g *globalOptions, o *migrateOptions) error {
	dir := g.dir()
	ws, err := workspace(dir)
	if err != nil {
		return err
	}
	configured, diags := loadBackend(dir)
	if diags.HasErrors() {
		return diagsError(app, g, nil, diags)
	}
	kube, err := o.kubernetesBackend(configured)
	if err != nil {
		return err
	}
	local := backends.Backend{Type: backends.Local}
	var from, to backends.Backend
	switch o.to {
	case backends.Kubernetes:
		from, to = local, kube
	case backends.Local:
		from, to = kube, local
	default:
		return fmt.Errorf("-to=%q: say where to copy the state, -to=kubernetes or -to=local", o.to)
	}
	src, err := from.Open(dir, ws)
	if err != nil {
		return err
	}
	defer closeStore(src)
	dst, err := to.Open(dir, ws)
	if err != nil {
		return err
	}
	defer closeStore(dst)
	for _, s := range []state.Store{src, dst} {
		lock, err := o.lock.lock(ctx, s, "state migrate")
		if err != nil {
			return lockError(err)
		}
		defer lock.Unlock()
	}
	m := state.Migration{Workspace: ws, From: src, To: dst, FromName: from.String(), ToName: to.String(), Force: o.force}
	st, serial, err := m.Run(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(app.Stdout, "Migrated workspace %q from the %s backend to the %s backend: %d instances, %d runs, lineage %s, serial %d.\n",
		ws, from, to, len(st.Instances), len(st.Runs), st.Lineage, serial)
	switch {
	case to.Type == backends.Kubernetes && configured.Type != backends.Kubernetes:
		k := to.Kubernetes
		fmt.Fprintf(app.Stdout, "Now make every run use it: add to the pipeline\n\n  ansflow {\n    backend \"kubernetes\" {\n      namespace = %q\n      name      = %q\n    }\n  }\n", k.Namespace, k.Name)
	case to.Type == backends.Local && configured.Type == backends.Kubernetes:
		fmt.Fprintln(app.Stdout, "Now remove the backend block from the pipeline's ansflow block, so that runs use the local state.")
	}
	return nil
}
