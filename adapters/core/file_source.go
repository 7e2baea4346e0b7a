package core

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/storage"
)

// File source modes.
const (
	FileModeStore = "store"
	FileModePath  = "path"
)

// FileSourceConfig configures file_source.
type FileSourceConfig struct {
	Root         string   `json:"root" doc:"Folder (or single file) to read. A payload field root or path overrides it; a relative override is resolved against this root and may not leave it. Without a root here, the payload must name an absolute one."`
	Include      []string `json:"include" doc:"Glob patterns of files to take, relative to the root (docs/**/*.md); a pattern without a slash matches the file name at any depth (*.html). Empty takes every file."`
	Exclude      []string `json:"exclude" doc:"Glob patterns of files and folders to leave out (node_modules, **/*.tmp, drafts/**); an excluded folder is not entered."`
	Recursive    bool     `json:"recursive" default:"true" doc:"Descend into subfolders."`
	MaxFiles     int      `json:"max_files" default:"10000" minimum:"0" maximum:"10000000" doc:"Stop after this many files, in path order (0: no limit)."`
	MaxFileBytes int64    `json:"max_file_bytes" default:"52428800" minimum:"0" doc:"Skip files larger than this (0: no limit)."`
	Mode         string   `json:"mode" default:"store" enum:"store,path" doc:"store copies each file into the execution's storage and emits its storage_key; path emits only where the file is."`
}

// Validate checks the patterns.
func (c FileSourceConfig) Validate() error {
	_, err1 := compileGlobs("include", c.Include)
	_, err2 := compileGlobs("exclude", c.Exclude)
	var err3 error
	if c.Mode != FileModeStore && c.Mode != FileModePath {
		err3 = fmt.Errorf("mode: %q is not one of store, path", c.Mode)
	}
	return errors.Join(err1, err2, err3)
}

func fileSourceSpec() adapters.Spec {
	s := adapters.Define("file_source", "core", "Read the files of a local folder",
		func(cfg FileSourceConfig, deps adapters.Deps) (adapters.Adapter, error) {
			if err := cfg.Validate(); err != nil {
				return nil, err
			}
			if cfg.Mode == FileModeStore && deps.Storage == nil {
				return nil, errors.New("file_source in store mode needs a storage provider")
			}
			a := &fileSource{cfg: cfg, store: deps.Storage, log: deps.Logger}
			a.include, _ = compileGlobs("include", cfg.Include)
			a.exclude, _ = compileGlobs("exclude", cfg.Exclude)
			if a.log == nil {
				a.log = slog.New(slog.DiscardHandler)
			}
			if cfg.Root != "" {
				root, err := filepath.Abs(cfg.Root)
				if err != nil {
					return nil, fmt.Errorf("root: %w", err)
				}
				a.root = root
			}
			return a, nil
		})
	s.Description = "Walks a folder and emits one message per file, in path order, so runs are " +
		"reproducible. In `store` mode (the default) each file is copied into the execution's " +
		"storage under `executions/<execution>/<route>/<stage>/<relative path>` and the message " +
		"carries `storage_key`; in `path` mode it only says where the file is. Messages hold " +
		"`path`, `relative_path`, `size`, `modified_at` and `content_type` (by extension for " +
		"HTML, Markdown and text, otherwise sniffed from the content), plus the incoming payload's " +
		"other fields.\n\n" +
		"Symbolic links are followed only to files inside the root; links to folders are not " +
		"followed. A root that is a file yields that file alone. A missing root fails with " +
		"`FILE_SOURCE_NOT_FOUND`; an override leaving the configured root with " +
		"`FILE_SOURCE_OUTSIDE_ROOT`. A folder with no matching file is skipped."
	s.Reads = []string{"root", "path"}
	s.Writes = []string{"storage_key", "path", "relative_path", "size", "modified_at", "content_type"}
	s.Emits = true
	return s
}

type fileSource struct {
	cfg     FileSourceConfig
	root    string // absolute configured root, or ""
	include globs
	exclude globs
	store   storage.Store
	log     *slog.Logger
}

// foundFile is a file picked by the walk.
type foundFile struct {
	path string // where it was found (a link's own path for links)
	read string // what to read (a link's target)
	rel  string // slash-separated, relative to the root
	size int64
	mod  time.Time
}

func (a *fileSource) Process(ctx context.Context, in *adapters.Input) (*adapters.Result, error) {
	root, err := a.resolveRoot(in.Payload)
	if err != nil {
		return nil, err
	}
	files, err := a.walk(ctx, root)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, adapters.Skip("no file under " + root + " matched")
	}
	base := adapters.DeepCopy(in.Payload).(map[string]any)
	delete(base, "root")
	delete(base, "path")
	msgs := make([]adapters.Payload, 0, len(files))
	for i, f := range files {
		m := base
		if i < len(files)-1 {
			m = adapters.DeepCopy(base).(map[string]any)
		}
		if err := a.describe(ctx, in.Meta, f, m); err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	return adapters.Emit(msgs...), nil
}

func (a *fileSource) resolveRoot(p map[string]any) (string, error) {
	override, _ := p["root"].(string)
	if override == "" {
		override, _ = p["path"].(string)
	}
	if override == "" {
		if a.root == "" {
			return "", adapters.PermanentCoded("FILE_SOURCE_NO_ROOT",
				"set root in the adapter config or send root (or path) in the payload",
				errors.New("no folder to read"))
		}
		return a.root, nil
	}
	if a.root == "" {
		if !filepath.IsAbs(override) {
			return "", adapters.PermanentCoded("FILE_SOURCE_OUTSIDE_ROOT",
				"without a configured root, the payload must name an absolute path",
				fmt.Errorf("relative path %q", override))
		}
		return filepath.Clean(override), nil
	}
	target := override
	if !filepath.IsAbs(target) {
		target = filepath.Join(a.root, target)
	}
	target = filepath.Clean(target)
	if !within(a.root, target) {
		return "", outsideRoot(override, a.root)
	}
	// A link inside the root may lead out of it.
	if real, err := filepath.EvalSymlinks(target); err == nil {
		realRoot, err := filepath.EvalSymlinks(a.root)
		if err == nil && !within(realRoot, real) {
			return "", outsideRoot(override, a.root)
		}
	}
	return target, nil
}

func outsideRoot(p, root string) error {
	return adapters.PermanentCoded("FILE_SOURCE_OUTSIDE_ROOT",
		"the payload may only name folders inside the configured root",
		fmt.Errorf("%q is outside %s", p, root))
}

// within reports whether p is root or lies under it (both clean and
// absolute).
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

func (a *fileSource) walk(ctx context.Context, root string) ([]foundFile, error) {
	info, err := os.Stat(root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, adapters.PermanentCoded("FILE_SOURCE_NOT_FOUND",
			"check the path; it must exist on the machine running the pipeline", err)
	case errors.Is(err, fs.ErrPermission):
		return nil, adapters.PermanentCoded("FILE_SOURCE_UNREADABLE",
			"give the server's user read access to the folder", err)
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", root, err)
	}
	if !info.IsDir() {
		if a.cfg.MaxFileBytes > 0 && info.Size() > a.cfg.MaxFileBytes {
			return nil, nil
		}
		return []foundFile{{path: root, read: root, rel: filepath.Base(root), size: info.Size(), mod: info.ModTime()}}, nil
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", root, err)
	}
	var files []foundFile
	truncated := false
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if err != nil {
			// An unreadable subfolder should not sink the whole walk.
			a.log.Warn("file_source: skipping unreadable entry", "path", p, "error", err)
			if d != nil && d.IsDir() && p != root {
				return fs.SkipDir
			}
			return nil
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if !a.cfg.Recursive || a.exclude.any(rel) {
				return fs.SkipDir
			}
			return nil
		}
		if a.exclude.any(rel) || len(a.include) > 0 && !a.include.any(rel) {
			return nil
		}
		read := p
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := filepath.EvalSymlinks(p)
			if err != nil || !within(realRoot, target) {
				a.log.Debug("file_source: not following link", "path", p)
				return nil
			}
			read = target
		} else if !d.Type().IsRegular() {
			return nil // devices, sockets, pipes
		}
		fi, err := os.Stat(read)
		if err != nil || !fi.Mode().IsRegular() {
			return nil
		}
		if a.cfg.MaxFileBytes > 0 && fi.Size() > a.cfg.MaxFileBytes {
			a.log.Info("file_source: skipping large file", "path", p, "size", fi.Size(), "max_file_bytes", a.cfg.MaxFileBytes)
			return nil
		}
		if a.cfg.MaxFiles > 0 && len(files) >= a.cfg.MaxFiles {
			truncated = true
			return fs.SkipAll
		}
		files = append(files, foundFile{path: p, read: read, rel: rel, size: fi.Size(), mod: fi.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walking %s: %w", root, err)
	}
	if truncated {
		a.log.Warn("file_source: stopped at max_files", "root", root, "max_files", a.cfg.MaxFiles)
	}
	return files, nil
}

// describe fills m with the file's fields, storing it first in store mode.
func (a *fileSource) describe(ctx context.Context, meta adapters.Meta, f foundFile, m map[string]any) error {
	fh, err := os.Open(f.read)
	if err != nil {
		return fmt.Errorf("opening %s: %w", f.path, err)
	}
	defer fh.Close()
	r := bufio.NewReaderSize(fh, 4096)
	ct := contentTypeOf(f.rel, r)
	m["path"] = f.path
	m["relative_path"] = f.rel
	m["size"] = f.size
	m["modified_at"] = f.mod.UTC().Format(time.RFC3339Nano)
	m["content_type"] = ct
	if a.cfg.Mode != FileModeStore {
		return nil
	}
	key := fileKey(meta, f.rel)
	info, err := a.store.Put(ctx, key, r, storage.Metadata{
		storage.MetaContentType: ct,
		storage.MetaExecutionID: meta.ExecutionID,
		storage.MetaRoute:       meta.Route,
		storage.MetaStage:       meta.Stage,
		storage.MetaMessageID:   meta.CorrelationID,
		storage.MetaSourceURL:   (&url.URL{Scheme: "file", Path: filepath.ToSlash(f.path)}).String(),
		"relative_path":         f.rel,
	})
	if err != nil {
		return fmt.Errorf("storing %s as %s: %w", f.path, key, err)
	}
	m["storage_key"] = info.Key
	return nil
}

// contentTypeOf names the MIME type by extension for the document types
// pipelines route on, and sniffs the rest.
func contentTypeOf(rel string, r *bufio.Reader) string {
	switch strings.ToLower(path.Ext(rel)) {
	case ".html", ".htm":
		return "text/html"
	case ".md", ".markdown":
		return "text/markdown"
	case ".txt":
		return "text/plain"
	}
	head, err := r.Peek(512)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return "application/octet-stream"
	}
	return http.DetectContentType(head)
}

// fileKey builds the storage key of a file: the standard artefact key with
// the relative path as the message part, made valid for every provider.
func fileKey(meta adapters.Meta, rel string) string {
	segs := strings.Split(rel, "/")
	for i, s := range segs {
		s = strings.ToValidUTF8(s, "_")
		s = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f || r == '\\' {
				return '_'
			}
			return r
		}, s)
		if s == "" || s == "." || s == ".." {
			s = "_"
		}
		if strings.HasSuffix(s, storage.MetaSuffix) {
			s += "_"
		}
		segs[i] = s
	}
	key := adapters.ArtefactKeyFor(meta, strings.Join(segs, "/"), "")
	if storage.ValidateKey(key) != nil {
		// Too long or otherwise unfit: a digest of the path keeps the key
		// stable across reruns, and the extension keeps it recognisable.
		sum := sha256.Sum256([]byte(rel))
		digest := adapters.ArtefactKeyFor(meta, hex.EncodeToString(sum[:]), "")
		key = digest
		if ext := path.Ext(segs[len(segs)-1]); len(ext) <= 16 && storage.ValidateKey(digest+ext) == nil {
			key = digest + ext
		}
	}
	return key
}
