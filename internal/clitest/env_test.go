package clitest

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEnviron(t *testing.T) {
	parent := []string{
		"PATH=/usr/bin", "USER=ci", "LANG=C.UTF-8", "TERM=xterm",
		"HOME=/root", "XDG_CONFIG_HOME=/root/.config", "XDG_RUNTIME_DIR=/run/user/0",
		"ANSFLOW_WORKSPACE=staging", "ANSFLOW_VAR_token=leak", "ANSFLOW_STEP_SUPERVISOR=1", "TF_LOG=trace",
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://collector", "DOCKER_HOST=unix:///other.sock", "DOCKER_CONFIG=/root/.docker",
		"HELM_NAMESPACE=x", "KUBECONFIG=/tmp/kc", "GIT_DIR=/elsewhere/.git", "https_proxy=http://proxy",
		"NO_COLOR=", "FORCE_COLOR=1", "GOCACHE=/mine/go-build",
	}
	goEnv := map[string]string{"GOCACHE": "/root/.cache/go-build", "GOENV": "/root/.config/go/env"}
	home := []string{
		"HOME=/t/home", "DOCKER_CONFIG=/t/home/.docker",
		"XDG_CACHE_HOME=/t/home/.cache", "XDG_CONFIG_HOME=/t/home/.config",
		"XDG_DATA_HOME=/t/home/.local/share", "XDG_STATE_HOME=/t/home/.local/state",
	}
	kept := []string{"PATH=/usr/bin", "USER=ci", "LANG=C.UTF-8", "TERM=xterm"}
	for _, tc := range []struct {
		name string
		env  Env
		want []string
	}{
		{
			name: "clean",
			env:  Env{Parent: parent, Home: "/t/home", Go: goEnv},
			want: concat(kept, []string{"XDG_RUNTIME_DIR=/run/user/0", "GOCACHE=/mine/go-build"}, home,
				[]string{"GOENV=/root/.config/go/env", "NO_COLOR=1"}),
		},
		{
			name: "kept cluster and engine, extra wins",
			env: Env{Parent: parent, Home: "/t/home", Keep: []string{"KUBECONFIG", "DOCKER_HOST"},
				Extra: []string{"ANSFLOW_VAR_n=1", "KUBECONFIG=/own/kc", "NO_COLOR=2"}},
			want: concat(kept, []string{"XDG_RUNTIME_DIR=/run/user/0", "DOCKER_HOST=unix:///other.sock", "KUBECONFIG=/own/kc", "GOCACHE=/mine/go-build"},
				home, []string{"NO_COLOR=2", "ANSFLOW_VAR_n=1"}),
		},
		{
			name: "kept prefix and home",
			env:  Env{Parent: parent, Home: "/t/home", Go: goEnv, Keep: []string{"ANSFLOW_VAR_*", "HOME", "DOCKER_CONFIG"}},
			want: concat(kept, []string{"HOME=/root", "XDG_CONFIG_HOME=/root/.config", "XDG_RUNTIME_DIR=/run/user/0", "ANSFLOW_VAR_token=leak",
				"DOCKER_CONFIG=/root/.docker", "GOCACHE=/mine/go-build", "NO_COLOR=1"}),
		},
		{
			name: "no home: HOME and XDG stay",
			env:  Env{Parent: parent},
			want: concat(kept, []string{"HOME=/root", "XDG_CONFIG_HOME=/root/.config", "XDG_RUNTIME_DIR=/run/user/0", "GOCACHE=/mine/go-build", "NO_COLOR=1"}),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.env.Environ()); diff != "" {
				t.Errorf("Environ() (-want +got):\n%s", diff)
			}
		})
	}
}

func concat(lists ...[]string) []string { return slices.Concat(lists...) }
