package kubernetes

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/ansflow/ansflow/providers"
)

// The inputs a k8s_deploy step can take its objects from; exactly one is used.
const (
	srcManifest      = "manifest"
	srcManifestFiles = "manifest_files"
	srcKustomize     = "kustomize"
)

// compactInputs are the compact form's own inputs.
var compactInputs = []string{"image", "replicas", "ports", "env", "labels", "command", "args", "resources", "service"}

// objectSource returns which input the step's objects come from ("" for
// the compact form), or an *providers.InputError when more than one is set.
func objectSource(in attrs) (string, error) {
	var set []string
	for _, n := range []string{srcManifest, srcManifestFiles, srcKustomize} {
		if in.isSet(n) {
			set = append(set, n)
		}
	}
	if len(set) > 1 {
		return "", &providers.InputError{Input: set[1], Err: fmt.Errorf("only one of manifest, manifest_files and kustomize may be set, and %s is set too; keep one", set[0])}
	}
	if len(set) == 0 {
		return "", nil
	}
	for _, n := range compactInputs {
		if in.isSet(n) {
			return "", &providers.InputError{Input: n, Err: fmt.Errorf("%s belongs to the compact form, which cannot be combined with %s; put it in the objects instead, or drop %s", n, set[0], set[0])}
		}
	}
	return set[0], nil
}

// loaded is what a k8s_deploy step's inputs point at: the objects to apply
// and, for manifest_files and kustomize, the hashes of the files read (by
// path relative to the pipeline directory) for the step's fingerprint.
type loaded struct {
	objs  []*unstructured.Unstructured
	files map[string]string
}

// loadObjects builds the objects of a k8s_deploy step. dir is the pipeline
// directory, which manifest_files and kustomize paths are relative to;
// namespaced objects without a namespace are given one at apply time.
func loadObjects(in attrs, dir, ns string) (*loaded, error) {
	src, err := objectSource(in)
	if err != nil {
		return nil, err
	}
	var l *loaded
	switch src {
	case srcManifest:
		objs, err := manifestObjects(in.get(srcManifest))
		if err != nil {
			return nil, &providers.InputError{Input: srcManifest, Err: err}
		}
		l = &loaded{objs: objs}
	case srcManifestFiles:
		l, err = readManifestFiles(dir, in.strList(srcManifestFiles))
	case srcKustomize:
		l, err = kustomizeBuild(dir, in.str(srcKustomize))
	default:
		var objs []*unstructured.Unstructured
		objs, err = compactObjects(in, ns)
		l = &loaded{objs: objs}
	}
	if err != nil {
		return nil, err
	}
	if len(l.objs) == 0 {
		return nil, &providers.InputError{Input: src, Err: errors.New("there are no objects to apply; give at least one")}
	}
	if err := checkUnique(l.objs); err != nil {
		return nil, &providers.InputError{Input: src, Err: err}
	}
	return l, nil
}

// checkUnique refuses two objects with the same kind, namespace and name.
func checkUnique(objs []*unstructured.Unstructured) error {
	seen := map[objectKey]bool{}
	for _, o := range objs {
		r := refOf(o).key()
		if seen[r] {
			return fmt.Errorf("%s appears twice; each object may be given once", refOf(o))
		}
		seen[r] = true
	}
	return nil
}

// manifestObjects converts a manifest input: one object, a list/tuple of
// objects, a kind: List object, or a YAML/JSON string of documents
// separated by --- (a list may mix objects and such strings).
func manifestObjects(v cty.Value) ([]*unstructured.Unstructured, error) {
	if v.Type() == cty.String {
		return decodeDocuments([]byte(v.AsString()), "manifest")
	}
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return nil, err
	}
	var raw any
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	items, ok := raw.([]any)
	if !ok {
		items = []any{raw}
	}
	var out []*unstructured.Unstructured
	for i, it := range items {
		switch t := it.(type) {
		case string:
			objs, err := decodeDocuments([]byte(t), fmt.Sprintf("manifest[%d]", i))
			if err != nil {
				return nil, err
			}
			out = append(out, objs...)
		case map[string]any:
			objs, err := objectsOf(dropNulls(t).(map[string]any), fmt.Sprintf("manifest[%d]", i))
			if err != nil {
				return nil, err
			}
			out = append(out, objs...)
		default:
			return nil, fmt.Errorf("manifest[%d] is not an object or a YAML string; give objects such as yamldecode(file(\"app.yaml\")) or the text of a manifest", i)
		}
	}
	return out, nil
}

// objectsOf checks one decoded object; a kind: List gives its items.
func objectsOf(m map[string]any, where string) ([]*unstructured.Unstructured, error) {
	if k, _ := m["kind"].(string); strings.HasSuffix(k, "List") && m["items"] != nil {
		items, _ := m["items"].([]any)
		var out []*unstructured.Unstructured
		for i, it := range items {
			im, ok := it.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s.items[%d] is not an object", where, i)
			}
			objs, err := objectsOf(im, fmt.Sprintf("%s.items[%d]", where, i))
			if err != nil {
				return nil, err
			}
			out = append(out, objs...)
		}
		return out, nil
	}
	u := &unstructured.Unstructured{Object: m}
	if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
		return nil, fmt.Errorf("%s needs apiVersion, kind and metadata.name", where)
	}
	return []*unstructured.Unstructured{u}, nil
}

// decodeDocuments parses YAML or JSON text holding one or more documents
// separated by ---; empty documents (only comments) are skipped.
func decodeDocuments(text []byte, where string) ([]*unstructured.Unstructured, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(text)))
	var out []*unstructured.Unstructured
	for doc := 1; ; doc++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: reading document %d: %w", where, doc, err)
		}
		j, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d is not valid YAML: %w", where, doc, err)
		}
		if t := bytes.TrimSpace(j); len(t) == 0 || string(t) == "null" {
			continue
		}
		var m map[string]any
		if err := utiljson.Unmarshal(j, &m); err != nil {
			return nil, fmt.Errorf("%s: document %d is not an object (a Kubernetes object has apiVersion, kind and metadata)", where, doc)
		}
		objs, err := objectsOf(m, fmt.Sprintf("%s document %d", where, doc))
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
}

// readManifestFiles reads the files that the patterns match (relative to
// dir), documents in file order: pattern by pattern, each pattern's
// matches in name order, a file matched twice read once.
func readManifestFiles(dir string, patterns []string) (*loaded, error) {
	fail := func(format string, args ...any) (*loaded, error) {
		return nil, &providers.InputError{Input: srcManifestFiles, Err: fmt.Errorf(format, args...)}
	}
	if len(patterns) == 0 {
		return fail("no patterns given; list files such as [\"k8s/*.yaml\"]")
	}
	l := &loaded{files: map[string]string{}}
	for _, pat := range patterns {
		matches, err := filepath.Glob(resolve(dir, pat))
		if err != nil {
			return fail("%q is not a valid pattern (%v); use * ? and [...] as in a shell", pat, err)
		}
		if len(matches) == 0 {
			return fail("%q matches no file in %s; fix the path or the pattern", pat, dir)
		}
		for _, m := range matches {
			rel := relative(dir, m)
			if _, dup := l.files[rel]; dup {
				continue
			}
			b, err := os.ReadFile(m)
			if err != nil {
				return fail("reading %s: %v", rel, err)
			}
			l.files[rel] = hashBytes(b)
			objs, err := decodeDocuments(b, rel)
			if err != nil {
				return nil, &providers.InputError{Input: srcManifestFiles, Err: err}
			}
			l.objs = append(l.objs, objs...)
		}
	}
	return l, nil
}

// kustomizeBuild runs `kustomize build` on path (relative to dir) in
// process, with kustomize's defaults (no plugins, files only from inside
// the kustomization root). The files it read and its output are hashed.
func kustomizeBuild(dir, path string) (*loaded, error) {
	fs := &recordingFS{FileSystem: filesys.MakeFsOnDisk(), dir: dir, read: map[string]string{}}
	rm, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, resolve(dir, path))
	if err != nil {
		return nil, &providers.InputError{Input: srcKustomize, Err: fmt.Errorf("kustomize build %s: %v", path, err)}
	}
	out, err := rm.AsYaml()
	if err != nil {
		return nil, &providers.InputError{Input: srcKustomize, Err: fmt.Errorf("kustomize build %s: %v", path, err)}
	}
	objs, err := decodeDocuments(out, "kustomize build "+path)
	if err != nil {
		return nil, &providers.InputError{Input: srcKustomize, Err: err}
	}
	files := fs.hashes()
	files["kustomize build "+path] = hashBytes(out)
	return &loaded{objs: objs, files: files}, nil
}

// recordingFS is the disk, remembering the hash of every file read.
type recordingFS struct {
	filesys.FileSystem
	dir  string
	mu   sync.Mutex
	read map[string]string
}

func (f *recordingFS) ReadFile(path string) ([]byte, error) {
	b, err := f.FileSystem.ReadFile(path)
	if err == nil {
		f.mu.Lock()
		f.read[relative(f.dir, path)] = hashBytes(b)
		f.mu.Unlock()
	}
	return b, err
}

func (f *recordingFS) hashes() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]string, len(f.read)+1)
	for k, v := range f.read {
		out[k] = v
	}
	return out
}

func resolve(dir, p string) string {
	if filepath.IsAbs(p) || dir == "" {
		return p
	}
	return filepath.Join(dir, p)
}

// relative names a file by its path from dir, in slash form, when it is inside.
func relative(dir, p string) string {
	if dir == "" {
		return filepath.ToSlash(p)
	}
	if abs, err := filepath.Abs(dir); err == nil && filepath.IsAbs(p) {
		dir = abs
	}
	if rel, err := filepath.Rel(dir, p); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(p)
}

func hashBytes(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}
