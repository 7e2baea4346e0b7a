package main

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/factflow/factflow/pipeline"
	"github.com/factflow/factflow/server/api"
)

// withRemoteValidation adds --remote to the local `config validate`: the
// same report, made by the server against its adapters.
func withRemoteValidation(c *cobra.Command) *cobra.Command {
	var remote bool
	local := c.RunE
	c.Long += `

With --remote the server validates (POST /configs/validate) against the
adapters it has; --server, FACTFLOW_URL and --timeout apply.`
	c.Example += `
  factflow config validate --remote docs.yaml`
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if !remote {
			return local(cmd, args)
		}
		return validateRemote(cmd, args[0])
	}
	c.Flags().BoolVar(&remote, "remote", false, "validate on the server instead of locally")
	return c
}

func validateRemote(cmd *cobra.Command, path string) error {
	output, _ := cmd.Flags().GetString("output")
	switch output {
	case "text", "table", "json":
	default:
		return withExit(exitUsage, fmt.Errorf("unknown --output %q; use text or json", output))
	}
	// The local --output (text|json) shadows the global one.
	cl, err := newClientWithOutput(cmd, "table")
	if err != nil {
		return err
	}
	files, err := pipelineFiles(path)
	if err != nil {
		return withExit(exitUsage, err)
	}
	reports := make([]pipeline.FileReport, 0, len(files))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return withExit(exitUsage, err)
		}
		var rep api.ValidationReport
		if err := cl.call(cmd.Context(), http.MethodPost, "/configs/validate", nil, api.ConfigValidate{ConfigYAML: string(data)}, &rep); err != nil {
			return exitFor(cmd.Context(), err)
		}
		reports = append(reports, pipeline.FileReport{File: f, Report: &pipeline.Report{Findings: rep.Findings}})
	}
	return reportValidation(cmd.OutOrStdout(), output, reports)
}

// pipelineFiles lists path, or the pipeline files under it, as the local
// validation does.
func pipelineFiles(path string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && pipeline.IsPipelineFile(d.Name()) {
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
	return files, nil
}

func newConfigCreateCmd() *cobra.Command {
	var file, name, description string
	c := &cobra.Command{
		Use:   "create -f FILE|-",
		Short: "Store a pipeline config on the server",
		Long: `Store a pipeline YAML on the server as a named config. The config is stored
even when it is invalid (with its validation report), but runs only once valid.
The name defaults to the file name without its extension.`,
		Example: `  factflow config create -f config/pipelines/folder-ingest.yaml
  cat p.yaml | factflow config create -f - --name my-pipeline`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return withExit(exitUsage, fmt.Errorf("-f FILE is required (- reads stdin)"))
			}
			if name == "" {
				if file == "-" {
					return withExit(exitUsage, fmt.Errorf("--name is required when the YAML comes from stdin"))
				}
				name = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
			}
			cl, err := newClient(cmd)
			if err != nil {
				return err
			}
			data, err := readArg(cmd, file)
			if err != nil {
				return err
			}
			body := api.ConfigCreate{Name: name, ConfigYAML: string(data), Description: description, SourceType: "cli"}
			if file != "-" {
				if abs, err := filepath.Abs(file); err == nil {
					body.SourcePath = abs
				}
			}
			var cfg api.Config
			if err := cl.call(cmd.Context(), http.MethodPost, "/configs", nil, body, &cfg); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, cfg, func(w io.Writer) error {
				fmt.Fprintf(w, "config %s created (id %s, version %d)\n", cfg.Name, cfg.ID, cfg.Version)
				return findingsNote(w, cfg)
			})
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "", "pipeline YAML file; - reads stdin")
	c.Flags().StringVar(&name, "name", "", "config name (default: the file name without extension)")
	c.Flags().StringVar(&description, "description", "", "description")
	return c
}

// findingsNote lists a config's findings and says whether it can run.
func findingsNote(w io.Writer, cfg api.Config) error {
	for _, f := range cfg.ValidationReport.Findings {
		line := "  " + f.String()
		if f.Remediation != "" {
			line += " (" + f.Remediation + ")"
		}
		fmt.Fprintln(w, line)
	}
	if !cfg.IsRunnable {
		_, err := fmt.Fprintf(w, "not runnable: %s; fix it with `factflow config edit %s -f FILE`\n",
			countOf(cfg.ValidationReport.ErrorCount, "error"), cfg.ID)
		return err
	}
	return nil
}

func newConfigListCmd() *cobra.Command {
	var all bool
	var limit, offset int
	c := &cobra.Command{
		Use:   "list",
		Short: "List the configs stored on the server",
		Args:  cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, cl *client, _ []string) error {
			q := pageQuery(limit, offset)
			if all {
				q.Set("include_inactive", "true")
			}
			var page api.Page[api.Config]
			if err := cl.get(cmd.Context(), "/configs", q, &page); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, page, func(w io.Writer) error {
				tw := newTable(w)
				row(tw, "ID", "NAME", "VERSION", "RUNNABLE", "ACTIVE", "SOURCE", "UPDATED")
				for _, c := range page.Items {
					row(tw, c.ID, c.Name, c.Version, c.IsRunnable, c.IsActive, c.SourceType, c.UpdatedAt)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				return pageFooter(w, page.Total, page.Offset, len(page.Items), page.HasMore)
			})
		}),
	}
	c.Flags().BoolVar(&all, "all", false, "include deleted (inactive) configs")
	addPageFlags(c, &limit, &offset)
	return c
}

func newConfigGetCmd() *cobra.Command {
	var rawYAML bool
	c := &cobra.Command{
		Use:   "get ID|NAME",
		Short: "Show a config and its validation report",
		Args:  cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			var cfg api.Config
			if err := cl.get(cmd.Context(), "/configs/"+seg(args[0]), nil, &cfg); err != nil {
				return exitFor(cmd.Context(), err)
			}
			w := cmd.OutOrStdout()
			if rawYAML {
				_, err := io.WriteString(w, cfg.YAML)
				if err == nil && !strings.HasSuffix(cfg.YAML, "\n") {
					_, err = io.WriteString(w, "\n")
				}
				return err
			}
			return render(w, cl.output, cfg, func(w io.Writer) error {
				source := cfg.SourceType
				if cfg.SourcePath != "" {
					source += " " + cfg.SourcePath
				}
				if err := fields(w, "ID", cfg.ID, "Name", cfg.Name, "Description", cfg.Description,
					"Version", cfg.Version, "Active", cfg.IsActive, "Runnable", cfg.IsRunnable,
					"Source", source, "Hash", cfg.Hash, "Created", cfg.CreatedAt, "Updated", cfg.UpdatedAt); err != nil {
					return err
				}
				if r := cfg.ValidationReport; len(r.Findings) > 0 {
					fmt.Fprintf(w, "Findings: %s, %s\n", countOf(r.ErrorCount, "error"), countOf(r.WarningCount, "warning"))
				}
				return findingsNote(w, cfg)
			})
		}),
	}
	c.Flags().BoolVar(&rawYAML, "yaml", false, "print only the pipeline YAML")
	return c
}

func newConfigEditCmd() *cobra.Command {
	var file, name, description string
	c := &cobra.Command{
		Use:   "edit ID|NAME -f FILE|-",
		Short: "Replace a config's YAML (its version goes up by one)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return withExit(exitUsage, fmt.Errorf("-f FILE is required (- reads stdin)"))
			}
			cl, err := newClient(cmd)
			if err != nil {
				return err
			}
			data, err := readArg(cmd, file)
			if err != nil {
				return err
			}
			var cur api.Config
			if err := cl.get(cmd.Context(), "/configs/"+seg(args[0]), nil, &cur); err != nil {
				return exitFor(cmd.Context(), err)
			}
			body := api.ConfigUpdate{Name: cur.Name, ConfigYAML: string(data), Description: cur.Description}
			if cmd.Flags().Changed("name") {
				body.Name = name
			}
			if cmd.Flags().Changed("description") {
				body.Description = description
			}
			var cfg api.Config
			if err := cl.call(cmd.Context(), http.MethodPut, "/configs/"+seg(cur.ID), nil, body, &cfg); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, cfg, func(w io.Writer) error {
				fmt.Fprintf(w, "config %s updated to version %d\n", cfg.Name, cfg.Version)
				return findingsNote(w, cfg)
			})
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "", "pipeline YAML file; - reads stdin")
	c.Flags().StringVar(&name, "name", "", "rename the config")
	c.Flags().StringVar(&description, "description", "", "new description")
	return c
}

func newConfigRunCmd() *cobra.Command {
	var payload, tag, progress string
	var sets []string
	var skipInit, wait bool
	c := &cobra.Command{
		Use:   "run ID|NAME",
		Short: "Start an execution of a stored config",
		Long: `Start an execution of a stored config on the server. --payload and --set
override fields of the pipeline's init_message.payload. A --set value that
parses as JSON (a number, true, false, null, a quoted string, an object or an
array) is taken as JSON, anything else as a string; a dotted key sets a nested
field.

With --wait, waits like ` + "`factflow execution wait`" + ` and exits the same way.`,
		Example: `  factflow config run folder-ingest --set root=/srv/docs --wait
  factflow config run docs-ingest --payload @payload.json --tag nightly`,
		Args: cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			mode, err := parseProgress(progress)
			if err != nil {
				return err
			}
			body, err := runPayload(cmd, payload, sets)
			if err != nil {
				return err
			}
			q := url.Values{}
			if tag != "" {
				q.Set("tag", tag)
			}
			if skipInit {
				q.Set("skip_init_message", "true")
			}
			var ex api.Execution
			var b any
			if body != nil {
				b = body
			}
			if err := cl.call(cmd.Context(), http.MethodPost, "/configs/"+seg(args[0])+"/run", q, b, &ex); err != nil {
				return exitFor(cmd.Context(), err)
			}
			w := cmd.OutOrStdout()
			if wait {
				if cl.output == "table" {
					fmt.Fprintf(w, "execution %s of %s started\n", ex.ID, ex.ConfigName)
				}
				return waitExecution(cmd, cl, ex.ID, mode)
			}
			return render(w, cl.output, ex, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "execution %s of %s started (follow it with `factflow execution wait %s`)\n", ex.ID, ex.ConfigName, ex.ID)
				return err
			})
		}),
	}
	f := c.Flags()
	f.StringVar(&payload, "payload", "", "JSON object merged over init_message.payload; @FILE reads it from a file, @- from stdin")
	f.StringArrayVar(&sets, "set", nil, "KEY=VALUE override of one payload field (repeatable)")
	f.StringVar(&tag, "tag", "", "unique tag to find the execution by")
	f.BoolVar(&skipInit, "skip-init", false, "do not publish the init message (messages come from elsewhere)")
	f.BoolVar(&wait, "wait", false, "wait for the execution to end (see `execution wait`)")
	addProgressFlag(c, &progress)
	return c
}

// runPayload builds the init-payload override of --payload and --set; nil
// when there is none.
func runPayload(cmd *cobra.Command, payload string, sets []string) (map[string]any, error) {
	var out map[string]any
	if payload != "" {
		raw := []byte(payload)
		if name, ok := strings.CutPrefix(payload, "@"); ok {
			b, err := readArg(cmd, name)
			if err != nil {
				return nil, err
			}
			raw = b
		}
		if err := json.Unmarshal(raw, &out); err != nil || out == nil {
			if err == nil {
				err = fmt.Errorf("got null")
			}
			return nil, withExit(exitUsage, fmt.Errorf("--payload must be a JSON object: %w", err))
		}
	}
	for _, s := range sets {
		key, value, ok := strings.Cut(s, "=")
		if !ok || key == "" {
			return nil, withExit(exitUsage, fmt.Errorf("--set %q: use KEY=VALUE", s))
		}
		var v any
		if err := json.Unmarshal([]byte(value), &v); err != nil {
			v = value
		}
		if out == nil {
			out = map[string]any{}
		}
		if err := setPath(out, key, v); err != nil {
			return nil, withExit(exitUsage, fmt.Errorf("--set %q: %w", s, err))
		}
	}
	return out, nil
}

// setPath sets m[a][b]… for the dotted key "a.b…", making objects on the way.
func setPath(m map[string]any, key string, v any) error {
	parts := strings.Split(key, ".")
	for i, p := range parts[:len(parts)-1] {
		if p == "" {
			return fmt.Errorf("empty key segment")
		}
		next, ok := m[p].(map[string]any)
		if !ok {
			if _, exists := m[p]; exists {
				return fmt.Errorf("%s is not an object", strings.Join(parts[:i+1], "."))
			}
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	last := parts[len(parts)-1]
	if last == "" {
		return fmt.Errorf("empty key segment")
	}
	m[last] = v
	return nil
}

func newConfigDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID|NAME",
		Short: "Delete (deactivate) a config; its executions are kept",
		Args:  cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			if err := cl.call(cmd.Context(), http.MethodDelete, "/configs/"+seg(args[0]), nil, nil, nil); err != nil {
				return exitFor(cmd.Context(), err)
			}
			res := map[string]any{"id": args[0], "deleted": true}
			return render(cmd.OutOrStdout(), cl.output, res, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "config %s deleted (deactivated; `config list --all` still shows it)\n", args[0])
				return err
			})
		}),
	}
}
