// Package archive builds content archives: a zip of the artefacts a
// selection names (executions, prefix, route, stage, extensions), written
// in the background into storage as archives/<job>.zip while the job's
// progress is kept in PostgreSQL. A job never stays stuck: a cancel or a
// shutdown ends it, and a job whose process died is failed at the next
// start.
package archive

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/factflow/factflow/storage"
	"github.com/factflow/factflow/store"
)

// Prefix is where archives are stored; they are never archived themselves.
const Prefix = "archives/"

// Selection names the artefacts of an archive.
type Selection struct {
	// ExecutionIDs (resolved UUIDs): objects under executions/<id>/.
	ExecutionIDs []string `json:"execution_ids,omitempty"`
	// Prefix narrows further (or, without executions, selects alone).
	Prefix     string   `json:"prefix,omitempty"`
	Route      string   `json:"route,omitempty"`
	Stage      string   `json:"stage,omitempty"`
	Extensions []string `json:"extensions,omitempty"`
	// IncludeMetadata adds each object's metadata as <key>.meta.json.
	IncludeMetadata bool `json:"include_metadata,omitempty"`
}

// Errors the API maps to client errors.
var (
	ErrNotReady = errors.New("archive is not ready")
	ErrEmpty    = errors.New("the selection matches no object")
	// ErrStopped: the service is stopping and starts no job.
	ErrStopped = errors.New("archive service is stopping")
)

var (
	errCancelled = errors.New("cancelled by request")
	errStopping  = errors.New("the server stopped while building it; prepare it again")
)

// Service runs archive jobs.
type Service struct {
	jobs     *store.ArchiveJobs
	storage  storage.Store
	instance string
	log      *slog.Logger
	// ProgressEvery spaces progress writes (default 500 ms).
	ProgressEvery time.Duration

	mu      sync.Mutex
	running map[string]*build
	wg      sync.WaitGroup
	closed  bool
}

type build struct {
	cancel context.CancelCauseFunc
	done   chan struct{}
}

// New returns a service building archives from st, recording jobs in db
// under this process's instance id.
func New(db *store.DB, st storage.Store, instanceID string, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{jobs: db.ArchiveJobs(), storage: st, instance: instanceID, log: log,
		ProgressEvery: 500 * time.Millisecond, running: map[string]*build{}}
}

// Recover fails the jobs of processes that died while building them.
func (s *Service) Recover(ctx context.Context) ([]string, error) {
	return s.jobs.FailOrphans(ctx, s.instance)
}

// Count says how many objects and bytes the selection holds.
func (s *Service) Count(ctx context.Context, sel Selection) (objects int, bytes int64, err error) {
	err = s.each(ctx, sel, func(info storage.ObjectInfo) error {
		objects++
		bytes += info.Size
		return nil
	})
	return objects, bytes, err
}

// each calls fn for every object of the selection, in key order.
func (s *Service) each(ctx context.Context, sel Selection, fn func(storage.ObjectInfo) error) error {
	prefixes := []string{sel.Prefix}
	if len(sel.ExecutionIDs) > 0 {
		prefixes = prefixes[:0]
		for _, id := range sel.ExecutionIDs {
			p := "executions/" + id + "/"
			switch {
			case sel.Prefix == "" || strings.HasPrefix(sel.Prefix, p):
				if sel.Prefix != "" {
					p = sel.Prefix
				}
			case !strings.HasPrefix(p, sel.Prefix):
				continue // disjoint from the prefix
			}
			prefixes = append(prefixes, p)
		}
	}
	withMeta := sel.Route != "" || sel.Stage != ""
	for _, p := range prefixes {
		for info, err := range s.storage.List(ctx, p, storage.ListOptions{WithMetadata: withMeta}) {
			if err != nil {
				return fmt.Errorf("listing %q: %w", p, err)
			}
			if info.IsPrefix || strings.HasPrefix(info.Key, Prefix) || !matches(info, sel) {
				continue
			}
			if err := fn(info); err != nil {
				return err
			}
		}
	}
	return nil
}

func matches(info storage.ObjectInfo, sel Selection) bool {
	if len(sel.Extensions) > 0 {
		ok := false
		for _, e := range sel.Extensions {
			if e = strings.TrimSpace(e); e != "" && !strings.HasPrefix(e, ".") {
				e = "." + e
			}
			if e != "" && strings.HasSuffix(info.Key, e) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if sel.Route != "" && info.Metadata[storage.MetaRoute] != sel.Route {
		return false
	}
	return sel.Stage == "" || info.Metadata[storage.MetaStage] == sel.Stage
}

// Prepare records a job for sel and builds its archive in the background.
func (s *Service) Prepare(ctx context.Context, sel Selection) (*store.ArchiveJob, error) {
	objects, _, err := s.Count(ctx, sel)
	if err != nil {
		return nil, err
	}
	if objects == 0 {
		return nil, ErrEmpty
	}
	raw, err := json.Marshal(sel)
	if err != nil {
		return nil, fmt.Errorf("encoding the selection: %w", err)
	}
	id, err := store.NewID()
	if err != nil {
		return nil, err
	}
	j := &store.ArchiveJob{ID: id, Selection: raw, ObjectsTotal: objects, ArchiveKey: Prefix + id + ".zip", OwnerID: s.instance}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrStopped
	}
	if err := s.jobs.Create(ctx, j); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	bctx, cancel := context.WithCancelCause(context.Background())
	b := &build{cancel: cancel, done: make(chan struct{})}
	s.running[j.ID] = b
	s.wg.Add(1)
	s.mu.Unlock()

	go func() {
		defer s.wg.Done()
		defer close(b.done)
		defer func() {
			s.mu.Lock()
			delete(s.running, j.ID)
			s.mu.Unlock()
		}()
		s.run(bctx, j, sel)
	}()
	return j, nil
}

// run builds one archive and records how it ended.
func (s *Service) run(ctx context.Context, j *store.ArchiveJob, sel Selection) {
	log := s.log.With("archive_job", j.ID)
	var done int
	var bytes int64
	pr, pw := io.Pipe()
	written := make(chan struct{})
	go func() {
		defer close(written)
		pw.CloseWithError(s.write(ctx, pw, j, sel, &done, &bytes))
	}()
	info, err := s.storage.Put(ctx, j.ArchiveKey, pr, storage.Metadata{
		storage.MetaContentType: "application/zip", "archive_job": j.ID})
	_ = pr.CloseWithError(err) // lets the writer stop if Put gave up first
	// The writer owns the counts until it returns; when Put gave up early
	// it may still be finishing an object.
	<-written

	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	status, msg := store.ArchiveCompleted, ""
	switch cause := context.Cause(ctx); {
	case err == nil:
	case errors.Is(cause, errCancelled):
		status, msg = store.ArchiveCancelled, cause.Error()
	case errors.Is(cause, errStopping):
		status, msg = store.ArchiveFailed, cause.Error()
	default:
		status, msg = store.ArchiveFailed, err.Error()
	}
	if status != store.ArchiveCompleted {
		info.Size = 0
		if derr := s.storage.Delete(fctx, j.ArchiveKey); derr != nil {
			log.Warn("removing an unfinished archive", "error", derr)
		}
	}
	if _, ferr := s.jobs.Finish(fctx, j.ID, status, msg, info.Size, done, bytes); ferr != nil {
		log.Error("cannot record the end of an archive job", "status", status, "error", ferr)
	}
}

// write streams the zip of sel into w, recording progress.
func (s *Service) write(ctx context.Context, w io.Writer, j *store.ArchiveJob, sel Selection, done *int, bytes *int64) error {
	zw := zip.NewWriter(w)
	last := time.Now()
	err := s.each(ctx, sel, func(info storage.ObjectInfo) error {
		rc, meta, err := s.storage.Get(ctx, info.Key)
		if err != nil {
			return fmt.Errorf("reading %s: %w", info.Key, err)
		}
		defer rc.Close()
		name, err := entryName(info.Key)
		if err != nil {
			return err
		}
		f, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: meta.ModTime})
		if err != nil {
			return err
		}
		n, err := io.Copy(f, rc)
		if err != nil {
			return fmt.Errorf("archiving %s: %w", info.Key, err)
		}
		if sel.IncludeMetadata {
			m, err := json.MarshalIndent(meta.Metadata, "", "  ")
			if err != nil {
				return err
			}
			f, err := zw.Create(name + storage.MetaSuffix)
			if err != nil {
				return err
			}
			if _, err := f.Write(m); err != nil {
				return err
			}
		}
		*done++
		*bytes += n
		if time.Since(last) >= s.ProgressEvery {
			last = time.Now()
			if err := s.jobs.Progress(ctx, j.ID, *done, *bytes); err != nil {
				s.log.Warn("recording archive progress", "archive_job", j.ID, "error", err)
			}
		}
		return ctx.Err()
	})
	if err != nil {
		return err
	}
	return zw.Close()
}

// entryName is the zip entry name of an object: its key without the
// executions/ prefix. Whoever extracts the archive joins entry names to a
// folder of their own, so a name must never be absolute, hold a ".."
// segment or a backslash, or start with a drive letter (zip slip). Store
// keys already pass storage.ValidateKey; the check is repeated here so the
// archive stays safe whatever a storage provider lists.
func entryName(key string) (string, error) {
	name := strings.TrimPrefix(key, "executions/")
	if err := storage.ValidateKey(name); err != nil {
		return "", fmt.Errorf("archiving %q: %w", key, err)
	}
	if first, _, _ := strings.Cut(name, "/"); len(first) == 2 && first[1] == ':' {
		return "", fmt.Errorf("archiving %q: %w: %q reads as a drive letter", key, storage.ErrInvalidKey, first)
	}
	return name, nil
}

// Cancel stops a job building here and waits for it to end; a job that
// already ended is returned as it is.
func (s *Service) Cancel(ctx context.Context, id string) (*store.ArchiveJob, error) {
	s.mu.Lock()
	b := s.running[id]
	s.mu.Unlock()
	if b != nil {
		b.cancel(errCancelled)
		select {
		case <-b.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return s.jobs.Get(ctx, id)
}

// Delete cancels a job if it runs, then removes its archive and its record.
func (s *Service) Delete(ctx context.Context, id string) error {
	j, err := s.Cancel(ctx, id)
	if err != nil {
		return err
	}
	if err := s.storage.Delete(ctx, j.ArchiveKey); err != nil {
		return fmt.Errorf("removing archive %s: %w", j.ArchiveKey, err)
	}
	return s.jobs.Delete(ctx, id)
}

// Open streams a completed archive.
func (s *Service) Open(ctx context.Context, id string) (io.ReadCloser, storage.ObjectInfo, *store.ArchiveJob, error) {
	j, err := s.jobs.Get(ctx, id)
	if err != nil {
		return nil, storage.ObjectInfo{}, nil, err
	}
	if j.Status != store.ArchiveCompleted {
		return nil, storage.ObjectInfo{}, j, fmt.Errorf("%w: job %s is %s", ErrNotReady, id, j.Status)
	}
	rc, info, err := s.storage.Get(ctx, j.ArchiveKey)
	if err != nil {
		return nil, info, j, fmt.Errorf("opening archive %s: %w", j.ArchiveKey, err)
	}
	return rc, info, j, nil
}

// Job returns a job's record.
func (s *Service) Job(ctx context.Context, id string) (*store.ArchiveJob, error) {
	return s.jobs.Get(ctx, id)
}

// Stop ends every job building here (they are recorded failed: prepare
// them again) and waits for them within ctx. No job starts afterwards.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	for _, b := range s.running {
		b.cancel(errStopping)
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stopping archive jobs: %w", ctx.Err())
	}
}
