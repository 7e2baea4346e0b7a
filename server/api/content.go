package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/factflow/factflow/archive"
	"github.com/factflow/factflow/store"
)

// Codes of content archives.
const (
	CodeArchiveEmpty    = "ARCHIVE_EMPTY"
	CodeArchiveNotReady = "ARCHIVE_NOT_READY"
)

// ArchiveSelection is the body of POST /content/archive/count and
// /prepare.
type ArchiveSelection struct {
	ExecutionIDs    []string `json:"execution_ids,omitempty" maxItems:"100" doc:"Executions (ids or tags) whose artefacts are archived"`
	Prefix          string   `json:"prefix,omitempty" maxLength:"1024" doc:"Only keys under this prefix (alone: any key under it)"`
	Route           string   `json:"route,omitempty" maxLength:"100"`
	Stage           string   `json:"stage,omitempty" maxLength:"100"`
	Extensions      []string `json:"extensions,omitempty" maxItems:"50" doc:"Key suffixes such as .md"`
	IncludeMetadata bool     `json:"include_metadata,omitempty" doc:"Add each object's metadata as <key>.meta.json"`
}

// ArchiveCount answers POST /content/archive/count.
type ArchiveCount struct {
	Objects int   `json:"objects"`
	Bytes   int64 `json:"bytes"`
}

// ArchiveJob is a content archive job.
type ArchiveJob = store.ArchiveJob

func (a *API) selection(ctx context.Context, in ArchiveSelection) (archive.Selection, error) {
	sel := archive.Selection{Prefix: in.Prefix, Route: in.Route, Stage: in.Stage, Extensions: in.Extensions,
		IncludeMetadata: in.IncludeMetadata}
	for _, ref := range in.ExecutionIDs {
		rec, err := a.execution(ctx, ref)
		if err != nil {
			return sel, err
		}
		sel.ExecutionIDs = append(sel.ExecutionIDs, rec.ID)
	}
	if len(sel.ExecutionIDs) == 0 && sel.Prefix == "" {
		return sel, problem(http.StatusUnprocessableEntity, CodeValidationFailed, "name execution_ids or a prefix",
			"an archive of the whole store is refused; select executions or a prefix")
	}
	return sel, nil
}

func (a *API) archiveErr(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, archive.ErrEmpty):
		return problem(http.StatusNotFound, CodeArchiveEmpty, err.Error(), "widen the selection; POST /content/archive/count tells what it matches")
	case errors.Is(err, archive.ErrNotReady):
		return problem(http.StatusConflict, CodeArchiveNotReady, err.Error(), "poll GET /content/archive/{job}/status until completed")
	case errors.Is(err, archive.ErrStopped):
		return problem(http.StatusServiceUnavailable, CodeShuttingDown, err.Error(), "retry against a running server")
	}
	return a.fail(ctx, err)
}

func (a *API) registerContent() {
	if a.opts.Archives == nil {
		return
	}
	huma.Register(a.huma, op(http.MethodPost, "/content/archive/count", "count-archive",
		"How many objects and bytes an archive of this selection would hold", "content"),
		func(ctx context.Context, in *struct{ Body ArchiveSelection }) (*struct{ Body ArchiveCount }, error) {
			sel, err := a.selection(ctx, in.Body)
			if err != nil {
				return nil, err
			}
			n, b, err := a.opts.Archives.Count(ctx, sel)
			if err != nil {
				return nil, a.archiveErr(ctx, err)
			}
			return &struct{ Body ArchiveCount }{Body: ArchiveCount{Objects: n, Bytes: b}}, nil
		})

	huma.Register(a.huma, func() huma.Operation {
		o := op(http.MethodPost, "/content/archive/prepare", "prepare-archive",
			"Start building a zip of the selection in the background (archives/<job>.zip)", "content")
		o.DefaultStatus = http.StatusAccepted
		return o
	}(), func(ctx context.Context, in *struct{ Body ArchiveSelection }) (*struct{ Body ArchiveJob }, error) {
		sel, err := a.selection(ctx, in.Body)
		if err != nil {
			return nil, err
		}
		j, err := a.opts.Archives.Prepare(ctx, sel)
		if err != nil {
			return nil, a.archiveErr(ctx, err)
		}
		return &struct{ Body ArchiveJob }{Body: *j}, nil
	})

	type jobIn struct {
		Job string `path:"job" maxLength:"64" doc:"Archive job id"`
	}
	huma.Register(a.huma, op(http.MethodGet, "/content/archive/{job}/status", "get-archive-status",
		"A job's status and progress (objects and bytes done of the total)", "content"),
		func(ctx context.Context, in *jobIn) (*struct{ Body ArchiveJob }, error) {
			j, err := a.opts.Archives.Job(ctx, in.Job)
			if err != nil {
				return nil, a.archiveErr(ctx, err)
			}
			return &struct{ Body ArchiveJob }{Body: *j}, nil
		})

	huma.Register(a.huma, op(http.MethodGet, "/content/archive/{job}/download", "download-archive",
		"The zip of a completed job, streamed", "content"),
		func(ctx context.Context, in *jobIn) (*huma.StreamResponse, error) {
			rc, info, j, err := a.opts.Archives.Open(ctx, in.Job)
			if err != nil {
				return nil, a.archiveErr(ctx, err)
			}
			return &huma.StreamResponse{Body: func(hctx huma.Context) {
				defer rc.Close()
				hctx.SetHeader("Content-Type", "application/zip")
				hctx.SetHeader("Content-Length", strconv.FormatInt(info.Size, 10))
				hctx.SetHeader("Content-Disposition", fmt.Sprintf(`attachment; filename="factflow-%s.zip"`, j.ID))
				hctx.SetStatus(http.StatusOK)
				if _, err := io.Copy(hctx.BodyWriter(), rc); err != nil && hctx.Context().Err() == nil {
					a.log.Warn("streaming archive", "archive_job", j.ID, "correlation_id", requestID(hctx.Context()), "error", err)
				}
			}}, nil
		})

	huma.Register(a.huma, func() huma.Operation {
		o := op(http.MethodDelete, "/content/archive/{job}", "delete-archive",
			"Cancel a job that is building and remove its archive and record", "content")
		o.DefaultStatus = http.StatusNoContent
		return o
	}(), func(ctx context.Context, in *jobIn) (*struct{}, error) {
		if err := a.opts.Archives.Delete(ctx, in.Job); err != nil {
			return nil, a.archiveErr(ctx, err)
		}
		return nil, nil
	})
}
