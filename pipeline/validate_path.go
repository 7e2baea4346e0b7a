package pipeline

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// FileReport is the validation result of one pipeline file.
type FileReport struct {
	File     string
	Pipeline *Pipeline
	Report   *Report
}

// Valid reports whether the file has no errors.
func (f FileReport) Valid() bool { return f.Report.Valid() }

// MarshalJSON renders {file, valid, error_count, warning_count, findings}.
func (f FileReport) MarshalJSON() ([]byte, error) {
	findings := []Finding{}
	if f.Report != nil && f.Report.Findings != nil {
		findings = f.Report.Findings
	}
	return json.Marshal(struct {
		File         string    `json:"file"`
		Valid        bool      `json:"valid"`
		ErrorCount   int       `json:"error_count"`
		WarningCount int       `json:"warning_count"`
		Findings     []Finding `json:"findings"`
	}{f.File, f.Valid(), f.Report.ErrorCount(), f.Report.WarningCount(), findings})
}

// IsPipelineFile reports whether a file name is a pipeline document:
// *.yaml or *.yml, but not a pipeline test file (*_test.yaml).
func IsPipelineFile(name string) bool {
	ext := filepath.Ext(name)
	if ext != ".yaml" && ext != ".yml" {
		return false
	}
	return !strings.HasSuffix(strings.TrimSuffix(name, ext), "_test")
}

// ValidatePath loads one file, or every pipeline file under a directory
// (recursively, in lexical order; see IsPipelineFile). A file named
// explicitly is validated whatever its name. It fails only when the path
// cannot be read or a directory holds no pipeline file; problems inside
// files are in the reports.
func ValidatePath(path string, cat Catalog) ([]FileReport, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("validating %s: %w", path, err)
	}
	var files []string
	if !info.IsDir() {
		files = []string{path}
	} else {
		err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && IsPipelineFile(d.Name()) {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("listing pipelines in %s: %w", path, err)
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("no pipeline files (*.yaml, *.yml) in %s", path)
		}
		slices.Sort(files)
	}
	out := make([]FileReport, 0, len(files))
	for _, f := range files {
		p, r, err := LoadFile(f, cat)
		if err != nil {
			return nil, err
		}
		out = append(out, FileReport{File: f, Pipeline: p, Report: r})
	}
	return out, nil
}
