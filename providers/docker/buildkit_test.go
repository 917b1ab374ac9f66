package docker

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/client"
	"github.com/zclconf/go-cty/cty"

	"github.com/ansflow/ansflow/providers"
)

// busyboxPath is Debian's busybox-static (hack/deps.sh installs it).
const busyboxPath = "/bin/busybox"

// busyboxBase builds a FROM scratch image with a shell from the host's
// static busybox, so RUN instructions work without pulling anything.
func busyboxBase(t *testing.T, p *Provider) string {
	t.Helper()
	bin, err := os.ReadFile(busyboxPath)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("busybox-static is missing (%v): run hack/deps.sh", err)
		}
		t.Skipf("busybox-static is missing (%v): apt-get install -y busybox-static", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "busybox"), bin, 0o755)
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n"), 0o644)
	image := randName("bk-base-")
	resp := buildIn(t, p, dir, map[string]cty.Value{"image": cty.StringVal(image), "network": cty.StringVal("none")})
	return attrString(resp.Outputs, "ref")
}

// buildIn applies a docker_build of dir with vals and deletes its image at
// cleanup.
func buildIn(t *testing.T, p *Provider, dir string, vals map[string]cty.Value) providers.ApplyResponse {
	t.Helper()
	resp, l, err := tryBuild(p, dir, vals)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, l.stdout.String())
	}
	step := p.Steps()["docker_build"]
	in := inputs("docker_build", vals)
	t.Cleanup(func() {
		step.Delete(context.Background(), providers.DeleteRequest{Env: env(dir), Prior: providers.Prior{Inputs: in, Outputs: resp.Outputs, Private: resp.Private}})
	})
	return resp
}

func tryBuild(p *Provider, dir string, vals map[string]cty.Value) (providers.ApplyResponse, *testLogs, error) {
	var l testLogs
	resp, err := p.Steps()["docker_build"].Apply(context.Background(), providers.ApplyRequest{
		Addr: "docker_build.app", Env: env(dir), Action: providers.Create, Inputs: inputs("docker_build", vals), Logs: l.logs(),
	})
	return resp, &l, err
}

func TestBuildKitSmoke(t *testing.T) {
	requireEngine(t)
	p := New(WithDockerConfig(filepath.Join(t.TempDir(), "config.json")))
	defer p.Close()
	base := busyboxBase(t, p)
	t.Log(base)
}

// savedLayers returns the concatenated file contents of an image's layers.
func savedLayers(t *testing.T, raw *client.Client, image string) string {
	t.Helper()
	rc, err := raw.ImageSave(context.Background(), []string{image})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var b strings.Builder
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		b.WriteString(h.Name + "\n")
		b.Write(data)
	}
	return b.String()
}
