package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/factflow/factflow/orchestrator"
	"github.com/factflow/factflow/pipeline"
	"github.com/factflow/factflow/store"
)

type configRef struct {
	ID string `path:"id" maxLength:"200" example:"docs-ingest" doc:"Config id (UUID) or name"`
}

// CodeConfigNameTaken: another active config has the name.
const CodeConfigNameTaken = "CONFIG_NAME_TAKEN"

// checkName refuses a name another active config holds: names are how
// people and the CLI address configs.
func (a *API) checkName(ctx context.Context, name, selfID string) error {
	other, err := a.opts.DB.Configs().GetByName(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return a.fail(ctx, err)
	case other.ID != selfID:
		return problem(http.StatusConflict, CodeConfigNameTaken, fmt.Sprintf("config name %q is taken by %s", name, other.ID),
			"choose another name, or update that config with PUT /api/v1/configs/"+other.ID)
	}
	return nil
}

type configOut struct{ Body Config }

func reportOf(r *pipeline.Report) ValidationReport {
	out := ValidationReport{IsValid: r.Valid(), ErrorCount: r.ErrorCount(), WarningCount: r.WarningCount(), Findings: r.Findings}
	if out.Findings == nil {
		out.Findings = []pipeline.Finding{}
	}
	return out
}

// load validates YAML against the current registry.
func (a *API) load(yaml string) (*pipeline.Pipeline, *pipeline.Report) {
	return pipeline.Load([]byte(yaml), a.opts.Registry)
}

func (a *API) configView(c *store.PipelineConfig) Config {
	_, rep := a.load(c.YAML)
	r := reportOf(rep)
	return Config{PipelineConfig: *c, ValidationReport: r, IsRunnable: r.IsValid && c.IsActive}
}

// resolveConfig finds a config by UUID, else by (active) name.
func (a *API) resolveConfig(ctx context.Context, ref string) (*store.PipelineConfig, error) {
	if _, err := uuid.Parse(ref); err == nil {
		return a.opts.DB.Configs().Get(ctx, ref)
	}
	return a.opts.DB.Configs().GetByName(ctx, ref)
}

func (a *API) registerConfigs() {
	huma.Register(a.huma, func() huma.Operation {
		o := op(http.MethodPost, "/configs", "create-config", "Store a pipeline config (even an invalid one, with its report)", "configs")
		o.DefaultStatus = http.StatusCreated
		return o
	}(), func(ctx context.Context, in *struct{ Body ConfigCreate }) (*configOut, error) {
		if err := a.checkName(ctx, in.Body.Name, ""); err != nil {
			return nil, err
		}
		c := &store.PipelineConfig{Name: in.Body.Name, Description: in.Body.Description, YAML: in.Body.ConfigYAML,
			SourceType: in.Body.SourceType, SourcePath: in.Body.SourcePath}
		if err := a.opts.DB.Configs().Create(ctx, c); err != nil {
			return nil, a.fail(ctx, err)
		}
		return &configOut{Body: a.configView(c)}, nil
	})

	type listIn struct {
		Limit           int  `query:"limit" minimum:"1" maximum:"1000" default:"100"`
		Offset          int  `query:"offset" minimum:"0"`
		IncludeInactive bool `query:"include_inactive" doc:"Also list deleted (deactivated) configs"`
	}
	huma.Register(a.huma, op(http.MethodGet, "/configs", "list-configs", "List configs, validation derived again", "configs"),
		func(ctx context.Context, in *listIn) (*struct{ Body Page[Config] }, error) {
			pg, err := a.opts.DB.Configs().List(ctx, store.ConfigFilter{IncludeInactive: in.IncludeInactive, Limit: in.Limit, Offset: in.Offset})
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			out := Page[Config]{Total: pg.Total, Limit: pg.Limit, Offset: pg.Offset, HasMore: pg.HasMore(), Items: make([]Config, 0, len(pg.Items))}
			for i := range pg.Items {
				out.Items = append(out.Items, a.configView(&pg.Items[i]))
			}
			return &struct{ Body Page[Config] }{Body: out}, nil
		})

	huma.Register(a.huma, op(http.MethodGet, "/configs/{id}", "get-config", "One config with its YAML and a fresh validation report", "configs"),
		func(ctx context.Context, in *configRef) (*configOut, error) {
			c, err := a.resolveConfig(ctx, in.ID)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &configOut{Body: a.configView(c)}, nil
		})

	huma.Register(a.huma, op(http.MethodPut, "/configs/{id}", "update-config", "Replace a config's YAML; the version goes up by one", "configs"),
		func(ctx context.Context, in *struct {
			ID   string `path:"id" maxLength:"200" example:"docs-ingest" doc:"Config id (UUID) or name"`
			Body ConfigUpdate
		}) (*configOut, error) {
			cur, err := a.resolveConfig(ctx, in.ID)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			if err := a.checkName(ctx, in.Body.Name, cur.ID); err != nil {
				return nil, err
			}
			c, err := a.opts.DB.Configs().Update(ctx, cur.ID, in.Body.Name, in.Body.ConfigYAML, in.Body.Description)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &configOut{Body: a.configView(c)}, nil
		})

	huma.Register(a.huma, func() huma.Operation {
		o := op(http.MethodDelete, "/configs/{id}", "delete-config", "Deactivate a config (its executions and versions stay)", "configs")
		o.DefaultStatus = http.StatusNoContent
		return o
	}(), func(ctx context.Context, in *configRef) (*struct{}, error) {
		cur, err := a.resolveConfig(ctx, in.ID)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		if err := a.opts.DB.Configs().Deactivate(ctx, cur.ID); err != nil {
			return nil, a.fail(ctx, err)
		}
		return nil, nil
	})

	huma.Register(a.huma, op(http.MethodGet, "/configs/{id}/versions", "list-config-versions",
		"Every YAML a config has had, oldest first, each with its validation report against today's adapters", "configs"),
		func(ctx context.Context, in *configRef) (*struct{ Body ConfigVersions }, error) {
			c, err := a.resolveConfig(ctx, in.ID)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			vs, err := a.opts.DB.Configs().Versions(ctx, c.ID)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			out := ConfigVersions{ConfigID: c.ID, Current: c.Version, Items: make([]ConfigVersion, 0, len(vs))}
			for _, v := range vs {
				_, rep := a.load(v.YAML)
				out.Items = append(out.Items, ConfigVersion{ConfigVersion: v, ValidationReport: reportOf(rep)})
			}
			out.Total = len(out.Items)
			return &struct{ Body ConfigVersions }{Body: out}, nil
		})

	huma.Register(a.huma, op(http.MethodPost, "/configs/validate", "validate-config",
		"Validate pipeline YAML without storing it (always 200 with the report)", "configs"),
		func(_ context.Context, in *struct{ Body ConfigValidate }) (*struct{ Body ValidationReport }, error) {
			_, rep := a.load(in.Body.ConfigYAML)
			return &struct{ Body ValidationReport }{Body: reportOf(rep)}, nil
		})

	type runIn struct {
		ID              string          `path:"id" maxLength:"200" example:"docs-ingest" doc:"Config id (UUID) or name"`
		Tag             string          `query:"tag" maxLength:"200" pattern:"^[A-Za-z0-9][A-Za-z0-9._-]*$" doc:"Unique alias of the new execution"`
		SkipInitMessage bool            `query:"skip_init_message" doc:"Start the routes without publishing the init message"`
		Body            *map[string]any `doc:"Fields merged into init_message.payload"`
	}
	huma.Register(a.huma, func() huma.Operation {
		o := op(http.MethodPost, "/configs/{id}/run", "run-config", "Start an execution of a config", "configs")
		o.DefaultStatus = http.StatusCreated
		return o
	}(), func(ctx context.Context, in *runIn) (*struct{ Body Execution }, error) {
		c, err := a.resolveConfig(ctx, in.ID)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		var payload map[string]any
		if in.Body != nil {
			payload = *in.Body
		}
		ex, err := a.start(ctx, c, orchestrator.StartRequest{Payload: payload, Tag: in.Tag, SkipInit: in.SkipInitMessage})
		if err != nil {
			return nil, err
		}
		return &struct{ Body Execution }{Body: *ex}, nil
	})
}

// runnable checks that c can run and fills req's pipeline and config
// fields from it.
func (a *API) runnable(c *store.PipelineConfig, req *orchestrator.StartRequest) error {
	if !c.IsActive {
		return problem(http.StatusConflict, CodeConfigInactive, "config "+c.Name+" was deleted",
			"create it again, or run an active config")
	}
	p, rep := a.load(c.YAML)
	if !rep.Valid() {
		pr := problem(http.StatusBadRequest, CodeConfigInvalid, rep.Err().Error(),
			"fix the findings in validation_report and update the config")
		r := reportOf(rep)
		pr.ValidationReport = &r
		return pr
	}
	req.Pipeline, req.ConfigID, req.ConfigName, req.YAML = p, c.ID, c.Name, c.YAML
	return nil
}

// errDuplicate comes with the execution a repeated idempotency key started.
var errDuplicate = errors.New("idempotency key already used")

// start runs a stored config; req carries the per-run fields. A start
// whose idempotency key was already used returns that execution with
// errDuplicate.
func (a *API) start(ctx context.Context, c *store.PipelineConfig, req orchestrator.StartRequest) (*store.Execution, error) {
	if err := a.runnable(c, &req); err != nil {
		return nil, err
	}
	ex, err := a.opts.Manager.Start(ctx, req)
	var dup *orchestrator.DuplicateStartError
	if errors.As(err, &dup) {
		return dup.Execution, errDuplicate
	}
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	rec, err := a.opts.DB.Executions().Get(ctx, ex.ID)
	if err != nil {
		return nil, a.fail(ctx, err)
	}
	return rec, nil
}
