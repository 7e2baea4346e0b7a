package pipeline_test

import (
	"encoding/json"
	"testing"

	"github.com/factflow/factflow/pipeline"
)

// FuzzLoad: Load never panics, always returns a report, returns a pipeline
// for every document it could read as a mapping, and whatever it returns
// can be wired and serialized.
func FuzzLoad(f *testing.F) {
	for _, c := range pipeline.Catalogue() {
		f.Add([]byte(c.Example))
	}
	f.Add([]byte(specExample))
	cat := testCatalog(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, r := pipeline.Load(data, cat)
		if r == nil {
			t.Fatal("nil report")
		}
		for _, fd := range r.Findings {
			if fd.Code == "" || fd.Message == "" || fd.Severity == "" || fd.Remediation == "" || fd.Line < 1 {
				t.Fatalf("incomplete finding %+v", fd)
			}
		}
		if p == nil {
			if r.Valid() {
				t.Fatal("no pipeline but a valid report")
			}
			return
		}
		_ = pipeline.Edges(p)
		for _, id := range p.RouteOrder {
			if p.Routes[id] == nil {
				t.Fatalf("route %q listed but missing", id)
			}
		}
		if _, err := json.Marshal(p); err != nil && r.Valid() {
			t.Fatalf("valid pipeline does not serialize: %v", err)
		}
	})
}
