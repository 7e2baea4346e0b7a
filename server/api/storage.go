package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/factflow/factflow/storage"
	"github.com/factflow/factflow/store"
)

func (a *API) registerPipelines() {
	huma.Register(a.huma, op(http.MethodGet, "/pipelines", "list-route-states",
		"Persisted pause state of every route key that was ever paused or resumed", "pipelines"),
		func(ctx context.Context, _ *struct{}) (*struct{ Body Page[RouteState] }, error) {
			states, err := a.opts.DB.RouteStates().List(ctx)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			if states == nil {
				states = []store.RouteState{}
			}
			return &struct{ Body Page[RouteState] }{Body: Page[RouteState]{Total: len(states), Limit: len(states), Items: states}}, nil
		})

	type controlIn struct {
		RouteID string `path:"route_id" minLength:"1" maxLength:"100"`
		Body    PipelineControl
	}
	huma.Register(a.huma, op(http.MethodPatch, "/pipelines/{route_id}", "control-route",
		"Pause or resume a route key in every execution using it, and in later ones", "pipelines"),
		func(ctx context.Context, in *controlIn) (*struct{ Body PipelineControlResult }, error) {
			paused := in.Body.State == string(store.RoutePaused)
			if err := a.opts.Manager.SetRoutePaused(ctx, in.RouteID, paused); err != nil {
				return nil, a.fail(ctx, err)
			}
			verb := "resumed"
			if paused {
				verb = "paused"
			}
			return &struct{ Body PipelineControlResult }{Body: PipelineControlResult{Success: true, RouteID: in.RouteID,
				Status: in.Body.State, Message: fmt.Sprintf("route %s %s", in.RouteID, verb)}}, nil
		})
}

type objectRef struct {
	Key string `path:"key" minLength:"1" maxLength:"1024" doc:"Object key, path-escaped (a slash is %2F)"`
}

func (a *API) storageErr(ctx context.Context, key string, err error) error {
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return problem(http.StatusNotFound, CodeObjectNotFound, fmt.Sprintf("no object %q", key),
			"GET /api/v1/storage/objects lists the keys")
	case errors.Is(err, storage.ErrInvalidKey):
		return problem(http.StatusBadRequest, CodeStorageKeyInvalid, err.Error(),
			"keys are relative, slash-separated and stay inside the store")
	}
	return a.fail(ctx, err)
}

func (a *API) registerStorage() {
	type listIn struct {
		Prefix               string `query:"prefix" maxLength:"1024"`
		Delimiter            string `query:"delimiter" maxLength:"1" doc:"\"/\" groups keys into folders (common_prefixes)"`
		Extension            string `query:"extension" maxLength:"200" doc:"Comma-separated key suffixes, e.g. .md,.json"`
		ExecutionID          string `query:"execution_id" maxLength:"200" doc:"Only objects of this execution (id or tag)"`
		Route                string `query:"route_id" maxLength:"100" doc:"Only objects written by this route"`
		Stage                string `query:"stage" maxLength:"100" doc:"Only objects written by this stage (adapter step)"`
		Limit                int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
		Offset               int    `query:"offset" minimum:"0"`
		IncludeMetadata      bool   `query:"include_metadata" default:"true"`
		IncludeExecutionInfo bool   `query:"include_execution_info" doc:"Describe the executions behind executions/<id>/ folders"`
	}
	huma.Register(a.huma, op(http.MethodGet, "/storage/objects", "list-objects", "List stored objects", "storage"),
		func(ctx context.Context, in *listIn) (*struct{ Body StorageList }, error) {
			if in.Prefix != "" && !strings.HasSuffix(in.Prefix, "/") {
				if err := storage.ValidateKey(in.Prefix); err != nil {
					return nil, a.storageErr(ctx, in.Prefix, err)
				}
			}
			prefix := in.Prefix
			if in.ExecutionID != "" {
				rec, err := a.execution(ctx, in.ExecutionID)
				if err != nil {
					return nil, err
				}
				// Every artefact of an execution lives under its folder.
				execPrefix := "executions/" + rec.ID + "/"
				switch {
				case strings.HasPrefix(prefix, execPrefix):
				case prefix == "" || strings.HasPrefix(execPrefix, prefix):
					prefix = execPrefix
				default: // disjoint: nothing can match
					out := StorageList{Prefix: in.Prefix, CommonPrefixes: []string{}}
					out.Limit, out.Offset, out.Items = in.Limit, in.Offset, []StorageObject{}
					return &struct{ Body StorageList }{Body: out}, nil
				}
			}
			exts := splitExtensions(in.Extension)
			byMeta := in.Route != "" || in.Stage != ""
			out := StorageList{Prefix: in.Prefix, CommonPrefixes: []string{}}
			out.Limit, out.Offset, out.Items = in.Limit, in.Offset, []StorageObject{}
			seen := 0
			for info, err := range a.opts.Storage.List(ctx, prefix, storage.ListOptions{Delimiter: in.Delimiter, WithMetadata: byMeta}) {
				if err != nil {
					return nil, a.storageErr(ctx, prefix, err)
				}
				if info.IsPrefix {
					out.CommonPrefixes = append(out.CommonPrefixes, info.Key)
					continue
				}
				if !matchesObject(info, exts, in.Route, in.Stage) {
					continue
				}
				seen++
				if seen <= in.Offset || len(out.Items) >= in.Limit {
					continue
				}
				obj := StorageObject{Key: info.Key, Size: info.Size, ContentType: info.ContentType}
				if !info.ModTime.IsZero() {
					t := info.ModTime.UTC()
					obj.LastModified = &t
				}
				if in.IncludeMetadata {
					st, err := a.opts.Storage.Stat(ctx, info.Key)
					if err == nil {
						obj.Metadata = st.Metadata
						if obj.ContentType == "" {
							obj.ContentType = st.ContentType
						}
					}
				}
				out.Items = append(out.Items, obj)
			}
			out.Total = seen
			out.HasMore = in.Offset+len(out.Items) < seen
			if in.IncludeExecutionInfo {
				out.Executions = a.executionFolders(ctx, out.CommonPrefixes)
			}
			return &struct{ Body StorageList }{Body: out}, nil
		})

	huma.Register(a.huma, op(http.MethodGet, "/storage/objects/{key}", "get-object", "The raw bytes of an object", "storage"),
		func(ctx context.Context, in *objectRef) (*huma.StreamResponse, error) {
			if err := storage.ValidateKey(in.Key); err != nil {
				return nil, a.storageErr(ctx, in.Key, err)
			}
			rc, info, err := a.opts.Storage.Get(ctx, in.Key)
			if err != nil {
				return nil, a.storageErr(ctx, in.Key, err)
			}
			return &huma.StreamResponse{Body: func(hctx huma.Context) {
				defer rc.Close()
				ct := info.ContentType
				if ct == "" {
					ct = "application/octet-stream"
				}
				hctx.SetHeader("Content-Type", ct)
				hctx.SetHeader("Content-Length", strconv.FormatInt(info.Size, 10))
				if info.ETag != "" {
					hctx.SetHeader("ETag", strconv.Quote(info.ETag))
				}
				hctx.SetStatus(http.StatusOK)
				if _, err := io.Copy(hctx.BodyWriter(), rc); err != nil && hctx.Context().Err() == nil {
					a.log.Warn("streaming object", "key", in.Key, "correlation_id", requestID(hctx.Context()), "error", err)
				}
			}}, nil
		})

	huma.Register(a.huma, op(http.MethodGet, "/storage/objects/{key}/metadata", "get-object-metadata",
		"An object's size, type and sidecar metadata", "storage"),
		func(ctx context.Context, in *objectRef) (*struct{ Body ObjectMetadata }, error) {
			if err := storage.ValidateKey(in.Key); err != nil {
				return nil, a.storageErr(ctx, in.Key, err)
			}
			info, err := a.opts.Storage.Stat(ctx, in.Key)
			if err != nil {
				return nil, a.storageErr(ctx, in.Key, err)
			}
			out := ObjectMetadata{Key: info.Key, Size: info.Size, ContentType: info.ContentType, ETag: info.ETag, Metadata: info.Metadata}
			if out.Metadata == nil {
				out.Metadata = storage.Metadata{}
			}
			if !info.ModTime.IsZero() {
				t := info.ModTime.UTC()
				out.LastModified = &t
			}
			return &struct{ Body ObjectMetadata }{Body: out}, nil
		})
}

// matchesObject applies the list filters that the key alone cannot.
func matchesObject(info storage.ObjectInfo, exts []string, route, stage string) bool {
	if len(exts) > 0 {
		ok := false
		for _, e := range exts {
			if !strings.HasPrefix(e, ".") {
				e = "." + e
			}
			if strings.HasSuffix(info.Key, e) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if route != "" && info.Metadata[storage.MetaRoute] != route {
		return false
	}
	if stage != "" && info.Metadata[storage.MetaStage] != stage {
		return false
	}
	return true
}

// executionFolders describes the executions behind executions/<id>/
// folders among prefixes.
func (a *API) executionFolders(ctx context.Context, prefixes []string) []StorageExecution {
	var out []StorageExecution
	for _, p := range prefixes {
		id, ok := strings.CutPrefix(p, "executions/")
		if !ok {
			continue
		}
		id = strings.TrimSuffix(id, "/")
		if strings.Contains(id, "/") {
			continue
		}
		se := StorageExecution{Prefix: p, ExecutionID: id}
		if rec, err := a.opts.DB.Executions().Get(ctx, id); err == nil {
			se.Found, se.Status, se.ConfigName, se.Tag, se.StartedAt = true, rec.Status, rec.ConfigName, rec.Tag, rec.StartedAt
		}
		out = append(out, se)
	}
	return out
}
