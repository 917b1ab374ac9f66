package modules

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// manifestFile lists what is installed in ModulesDir.
const manifestFile = "modules.json"

// installed is one installed source.
type installed struct {
	Source string `json:"source"`
	Dir    string `json:"dir"` // under ModulesDir
	Commit string `json:"commit"`
	Hash   string `json:"hash"`
}

// manifest is what is installed, by source.
type manifest map[string]installed

type manifestJSON struct {
	Modules []installed `json:"modules"`
}

// readManifest reads root's module manifest; a missing one is empty.
func readManifest(root string) (manifest, error) {
	name := filepath.Join(root, ModulesDir, manifestFile)
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return manifest{}, nil
	}
	if err != nil {
		return nil, err
	}
	var mj manifestJSON
	if err := json.Unmarshal(data, &mj); err != nil {
		return nil, fmt.Errorf("%s is damaged (%v); run ansflow init to install the modules again", name, err)
	}
	m := manifest{}
	for _, e := range mj.Modules {
		if e.Dir == "" || e.Dir != filepath.Base(e.Dir) || e.Dir[0] == '.' {
			return nil, fmt.Errorf("%s is damaged (bad directory %q); run ansflow init to install the modules again", name, e.Dir)
		}
		m[e.Source] = e
	}
	return m, nil
}

// write saves the manifest unless it is unchanged.
func (m manifest) write(root string) error {
	mj := manifestJSON{Modules: []installed{}}
	for _, e := range m {
		mj.Modules = append(mj.Modules, e)
	}
	sort.Slice(mj.Modules, func(i, j int) bool { return mj.Modules[i].Source < mj.Modules[j].Source })
	data, err := json.MarshalIndent(mj, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Join(root, ModulesDir)
	if len(m) == 0 {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			return nil
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	_, err = writeIfChanged(filepath.Join(dir, manifestFile), append(data, '\n'), 0o644)
	return err
}
