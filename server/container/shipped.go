package container

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/pipeline"
	"github.com/factflow/factflow/store"
)

// Codes of RegisterShipped and RegisterPipelineDir.
const (
	// CodeShippedInvalid: strict validation found invalid pipelines; none
	// was registered.
	CodeShippedInvalid = "SHIPPED_PIPELINE_INVALID"
	// CodeShippedUnreadable: a pipeline file or its directory cannot be read.
	CodeShippedUnreadable = "SHIPPED_PIPELINE_UNREADABLE"
)

// ShippedPipeline is what became of one pipeline file.
type ShippedPipeline struct {
	File       string // path inside the file system given
	SourcePath string // the config's source_path
	Name       string // the config's name: the file's stem
	ConfigID   string
	Version    int
	// Changed is true when the config was created or its YAML changed
	// (and its version bumped).
	Changed bool
	Valid   bool
	// Findings are the validation errors and warnings.
	Findings []pipeline.Finding
}

// ShippedReport lists the pipelines registered, in file name order.
type ShippedReport struct {
	Pipelines []ShippedPipeline
}

// Invalid counts the pipelines registered although invalid (non-strict).
func (r ShippedReport) Invalid() int {
	n := 0
	for _, p := range r.Pipelines {
		if !p.Valid {
			n++
		}
	}
	return n
}

// Changed counts the pipelines created or updated.
func (r ShippedReport) Changed() int {
	n := 0
	for _, p := range r.Pipelines {
		if p.Changed {
			n++
		}
	}
	return n
}

// RegisterShipped validates every *.yaml at the root of files against
// c.Registry and upserts each as a config named after its file stem, with
// source type "shipped" and source path "shipped:<file>", so a restart
// bumps the version only of a pipeline whose YAML changed.
//
// With strict, any invalid pipeline aborts with SHIPPED_PIPELINE_INVALID
// before anything is written; otherwise invalid ones are registered
// anyway (stored with their findings, not runnable) and logged as a
// warning.
func RegisterShipped(ctx context.Context, c *Container, files fs.FS, strict bool) (ShippedReport, error) {
	return registerPipelines(ctx, c, files, strict, func(name string) string { return "shipped:" + name })
}

// RegisterPipelineDir is RegisterShipped for a directory of the operator's
// (app config pipelines.dir): the source path of each config is the
// file's absolute path.
func RegisterPipelineDir(ctx context.Context, c *Container, dir string, strict bool) (ShippedReport, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ShippedReport{}, fmt.Errorf("resolving pipelines dir: %w", err)
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		if err == nil {
			err = errors.New("not a directory")
		}
		return ShippedReport{}, adapters.Coded(CodeShippedUnreadable,
			"point pipelines.dir (FACTFLOW_PIPELINES_DIR) at a directory of pipeline YAMLs, or leave it empty",
			fmt.Errorf("pipelines dir %s: %w", abs, err))
	}
	return registerPipelines(ctx, c, os.DirFS(abs), strict, func(name string) string {
		return filepath.Join(abs, filepath.FromSlash(name))
	})
}

func registerPipelines(ctx context.Context, c *Container, files fs.FS, strict bool, sourcePath func(string) string) (ShippedReport, error) {
	names, err := fs.Glob(files, "*.yaml")
	if err != nil {
		return ShippedReport{}, fmt.Errorf("listing pipelines: %w", err)
	}
	// Pipeline test files (*_test.yaml) sit beside pipelines; they are not
	// pipelines themselves.
	names = slices.DeleteFunc(names, func(n string) bool { return !pipeline.IsPipelineFile(n) })
	sort.Strings(names)

	type loaded struct {
		ShippedPipeline
		yaml, description string
	}
	all := make([]loaded, 0, len(names))
	var invalid []string
	for _, name := range names {
		data, err := fs.ReadFile(files, name)
		if err != nil {
			return ShippedReport{}, adapters.Coded(CodeShippedUnreadable, "check the file's permissions",
				fmt.Errorf("reading pipeline %s: %w", sourcePath(name), err))
		}
		p, report := pipeline.Load(data, c.Registry)
		l := loaded{
			ShippedPipeline: ShippedPipeline{
				File:       name,
				SourcePath: sourcePath(name),
				Name:       strings.TrimSuffix(path.Base(name), path.Ext(name)),
				Valid:      report.Valid(),
				Findings:   report.Findings,
			},
			yaml: string(data),
		}
		if p != nil {
			l.description = p.Description
		}
		if !l.Valid {
			invalid = append(invalid, describeInvalid(l.SourcePath, report))
		}
		all = append(all, l)
	}
	if strict && len(invalid) > 0 {
		return ShippedReport{}, adapters.Coded(CodeShippedInvalid,
			"fix the pipelines named, or start with FACTFLOW_CONFIG_VALIDATOR_STRICT=0 (pipelines.validate_strict: false) to register them as not runnable",
			fmt.Errorf("%d invalid pipeline(s): %s", len(invalid), strings.Join(invalid, "; ")))
	}

	var out ShippedReport
	for _, l := range all {
		if !l.Valid {
			c.log.Warn("registering an invalid pipeline; it cannot run until fixed",
				"pipeline", l.Name, "source_path", l.SourcePath, "errors", describeFindings(l.Findings))
		}
		cfg, changed, err := c.DB.Configs().UpsertBySourcePath(ctx, l.Name, l.yaml, l.description, store.SourceShipped, l.SourcePath)
		if err != nil {
			return out, fmt.Errorf("registering pipeline %s: %w", l.SourcePath, err)
		}
		l.ConfigID, l.Version, l.Changed = cfg.ID, cfg.Version, changed
		out.Pipelines = append(out.Pipelines, l.ShippedPipeline)
	}
	return out, nil
}

func describeInvalid(source string, r *pipeline.Report) string {
	return source + ": " + describeFindings(r.Findings)
}

// describeFindings names the first error findings (as Report.Err does).
func describeFindings(findings []pipeline.Finding) string {
	if err := (&pipeline.Report{Findings: findings}).Err(); err != nil {
		return err.Error()
	}
	return ""
}
