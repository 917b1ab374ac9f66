package docker

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"
)

func TestContainerName(t *testing.T) {
	tests := []struct {
		addr, name string
		unique     bool
		want       string
	}{
		{"docker_run.unit_tests", "", false, "ansflow-docker_run-unit_tests"},
		{`docker_run.tests["a b"]`, "", false, "ansflow-docker_run-tests_a_b"},
		{"docker_run.x", "mine", true, "mine"},
	}
	for _, tt := range tests {
		in := inputs("docker_run", map[string]cty.Value{"image": cty.StringVal("i"), "name": strVal(tt.name)})
		if got := containerName(tt.addr, in, tt.unique); got != tt.want {
			t.Errorf("containerName(%q, %q) = %q, want %q", tt.addr, tt.name, got, tt.want)
		}
	}
	in := inputs("docker_run", map[string]cty.Value{"image": cty.StringVal("i")})
	a, b := containerName("docker_run.x", in, true), containerName("docker_run.x", in, true)
	if a == b || !strings.HasPrefix(a, "ansflow-docker_run-x-") {
		t.Errorf("unique names %q, %q: want distinct ansflow-docker_run-x-<random>", a, b)
	}
}

func TestImageTags(t *testing.T) {
	in := inputs("docker_build", map[string]cty.Value{
		"image": cty.StringVal("app"), "tag": cty.StringVal("1"),
		"tags": strs("latest", "other:2", "127.0.0.1:5000/app"),
	})
	want := []string{"app:1", "app:latest", "other:2", "127.0.0.1:5000/app"}
	if diff := cmp.Diff(want, imageTags(in)); diff != "" {
		t.Errorf("imageTags (-want +got):\n%s", diff)
	}
}

func TestPlanPush(t *testing.T) {
	reg := cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("main"), "address": cty.StringVal("127.0.0.1:5000"), "username": cty.StringVal("u"), "password": cty.StringVal("p")})
	tests := []struct {
		name        string
		vals        map[string]cty.Value
		wantTargets []string
		wantName    string
	}{
		{"registry block, defaults", map[string]cty.Value{"image": cty.StringVal("my-app:7"), "registry": reg},
			[]string{"127.0.0.1:5000/my-app:7"}, "127.0.0.1:5000/my-app"},
		{"address string, untagged image", map[string]cty.Value{"image": cty.StringVal("team/app"), "registry": cty.StringVal("reg.local:5000")},
			[]string{"reg.local:5000/team/app:latest"}, "reg.local:5000/team/app"},
		{"image host dropped from repository", map[string]cty.Value{"image": cty.StringVal("other.io/x/app:1"), "registry": cty.StringVal("127.0.0.1:5000"), "tags": strs("a", "b")},
			[]string{"127.0.0.1:5000/x/app:a", "127.0.0.1:5000/x/app:b"}, "127.0.0.1:5000/x/app"},
		{"no registry: the image's own", map[string]cty.Value{"image": cty.StringVal("127.0.0.1:5000/app:1")},
			[]string{"127.0.0.1:5000/app:1"}, "127.0.0.1:5000/app"},
		{"repository override", map[string]cty.Value{"image": cty.StringVal("app:1"), "registry": cty.StringVal("127.0.0.1:5000"), "repository": cty.StringVal("ci/app")},
			[]string{"127.0.0.1:5000/ci/app:1"}, "127.0.0.1:5000/ci/app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pp, err := planPush(inputs("docker_push", tt.vals))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantTargets, pp.targets); diff != "" {
				t.Errorf("targets (-want +got):\n%s", diff)
			}
			if pp.name() != tt.wantName {
				t.Errorf("name = %q, want %q", pp.name(), tt.wantName)
			}
		})
	}
}

func TestAbsBind(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"./data:/data:ro", "/p/data:/data:ro"},
		{"../x:/x", "/x:/x"},
		{"/abs:/abs", "/abs:/abs"},
		{"cache:/cache", "cache:/cache"},
	} {
		if got := absBind("/p", tt.in); got != tt.want {
			t.Errorf("absBind(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLineTailAndCap(t *testing.T) {
	tail := &lineTail{n: 3}
	tail.Write([]byte("1\n2\n3"))
	tail.Write([]byte("\n4\n5"))
	if got := tail.String(); got != "3\n4\n5" {
		t.Errorf("tail = %q, want last three lines", got)
	}
	c := &cappedBuffer{max: 4}
	c.Write([]byte("abc"))
	c.Write([]byte("def"))
	if c.String() != "abcd" || !c.truncated {
		t.Errorf("capped = %q truncated=%v, want abcd true", c.String(), c.truncated)
	}
}

func TestSchemeAndPlatform(t *testing.T) {
	for host, want := range map[string]string{"127.0.0.1:5000": "http", "localhost:5000": "http", "[::1]:5000": "http", "registry.example.com": "https"} {
		if got := schemeFor(host); got != want {
			t.Errorf("schemeFor(%q) = %q, want %q", host, got, want)
		}
	}
	if p, err := parsePlatform("linux/arm64/v8"); err != nil || p.OS != "linux" || p.Architecture != "arm64" || p.Variant != "v8" {
		t.Errorf("parsePlatform = %+v, %v", p, err)
	}
	if _, err := parsePlatform("linux"); err == nil {
		t.Error("parsePlatform(linux) accepted")
	}
}

func TestOutputsHaveEveryAttribute(t *testing.T) {
	for _, typ := range []string{"docker_build", "docker_run", "docker_push", "docker_pull"} {
		v := outputs(lookupSchema(typ), nil)
		for name := range v.Type().AttributeTypes() {
			if !v.GetAttr(name).IsNull() {
				t.Errorf("%s.%s not null", typ, name)
			}
		}
	}
}
