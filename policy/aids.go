package policy

import (
	"embed"
	"io/fs"
	"path"
)

//go:embed rego/aids/*.rego rego/aids/catalogue.json
var aidsFS embed.FS

// AidModules returns the shipped aid rules and their tests by file name.
func AidModules() (map[string]string, error) {
	out := map[string]string{}
	err := fs.WalkDir(aidsFS, "rego/aids", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".rego" {
			return err
		}
		b, err := aidsFS.ReadFile(p)
		out[p] = string(b)
		return err
	})
	return out, err
}

// AidCatalogue returns the shipped aid catalogue (JSON).
func AidCatalogue() ([]byte, error) { return aidsFS.ReadFile("rego/aids/catalogue.json") }
