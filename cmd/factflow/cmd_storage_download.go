package main

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/store"
)

func newStorageDownloadCmd() *cobra.Command {
	var (
		sel       api.ArchiveSelection
		outputDir string
		keep      bool
	)
	c := &cobra.Command{
		Use:   "download ID|TAG... --output-dir DIR",
		Short: "Download executions' artefacts into a folder, keeping their key hierarchy",
		Long: `Download the artefacts of one or more executions: the server builds a zip
(POST /content/archive/prepare), the command shows its progress, downloads it
and unpacks it under --output-dir as <execution id>/<route>/<stage>/…; the
server's copy is removed afterwards unless --keep-archive.`,
		Example: `  factflow storage download nightly --output-dir ./nightly
  factflow storage download nightly --extension .md --stage segments --output-dir ./segments`,
		Args: cobra.MinimumNArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			if outputDir == "" {
				return withExit(exitUsage, errors.New("--output-dir is required"))
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), waitTimeout(cmd))
			defer cancel()
			sel.ExecutionIDs = args
			var j api.ArchiveJob
			if err := cl.call(ctx, http.MethodPost, "/content/archive/prepare", nil, sel, &j); err != nil {
				return exitFor(cmd.Context(), err)
			}
			errw := cmd.ErrOrStderr()
			for j.Status == store.ArchivePending || j.Status == store.ArchiveRunning {
				fmt.Fprintf(errw, "\rarchiving: %d of %d objects", j.ObjectsDone, j.ObjectsTotal)
				select {
				case <-ctx.Done():
					return downloadErr(cmd, ctx)
				case <-time.After(300 * time.Millisecond):
				}
				if err := cl.get(ctx, "/content/archive/"+seg(j.ID)+"/status", nil, &j); err != nil {
					return exitFor(cmd.Context(), err)
				}
			}
			fmt.Fprintf(errw, "\rarchiving: %d of %d objects\n", j.ObjectsDone, j.ObjectsTotal)
			if j.Status != store.ArchiveCompleted {
				return withExit(exitFailed, fmt.Errorf("archive job %s %s: %s", j.ID, j.Status, j.Error))
			}
			tmp, err := os.CreateTemp("", "factflow-archive-*.zip")
			if err != nil {
				return fmt.Errorf("creating a temporary file: %w", err)
			}
			defer os.Remove(tmp.Name())
			defer tmp.Close()
			if _, err := downloadTo(ctx, cl, "/content/archive/"+seg(j.ID)+"/download", tmp); err != nil {
				if ctx.Err() != nil {
					return downloadErr(cmd, ctx)
				}
				return exitFor(cmd.Context(), err)
			}
			n, err := unzipInto(tmp, outputDir)
			if err != nil {
				return withExit(exitFailed, err)
			}
			if !keep {
				if err := cl.call(ctx, http.MethodDelete, "/content/archive/"+seg(j.ID), nil, nil, nil); err != nil {
					fmt.Fprintf(errw, "warning: the server's archive %s was not removed: %v\n", j.ID, err)
				}
			}
			return render(cmd.OutOrStdout(), cl.output, map[string]any{"archive_job": j.ID, "files": n, "output_dir": outputDir},
				func(w io.Writer) error {
					_, err := fmt.Fprintf(w, "%d files written under %s\n", n, outputDir)
					return err
				})
		}),
	}
	f := c.Flags()
	f.StringVar(&outputDir, "output-dir", "", "folder to unpack into (created if missing)")
	f.StringVar(&sel.Stage, "stage", "", "only objects written by this stage")
	f.StringVar(&sel.Route, "route", "", "only objects written by this route")
	f.StringSliceVar(&sel.Extensions, "extension", nil, "only keys with these suffixes (.md,.json)")
	f.BoolVar(&sel.IncludeMetadata, "with-metadata", false, "also write each object's metadata as <file>.meta.json")
	f.BoolVar(&keep, "keep-archive", false, "leave the zip on the server")
	return c
}

func downloadErr(cmd *cobra.Command, ctx context.Context) error {
	if cmd.Context().Err() != nil {
		return withExit(exitInterrupted, errors.New("interrupted"))
	}
	return withExit(exitTimeout, fmt.Errorf("--timeout %s reached", waitTimeout(cmd)))
}

// downloadTo streams a GET into w.
func downloadTo(ctx context.Context, cl *client, path string, w io.Writer) (int64, error) {
	resp, err := cl.send(ctx, http.MethodGet, path, nil, nil, nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return io.Copy(w, resp.Body)
}

// unzipInto unpacks an archive under dir, refusing entries that would land
// outside it.
func unzipInto(f *os.File, dir string) (int, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	zr, err := zip.NewReader(f, st.Size())
	if err != nil {
		return 0, fmt.Errorf("reading the archive: %w", err)
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, zf := range zr.File {
		dst := filepath.Join(root, filepath.FromSlash(zf.Name))
		if !strings.HasPrefix(dst, root+string(filepath.Separator)) || zf.FileInfo().IsDir() {
			if zf.FileInfo().IsDir() {
				continue
			}
			return n, fmt.Errorf("archive entry %q leaves the output folder", zf.Name)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return n, err
		}
		if err := extract(zf, dst); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func extract(zf *zip.File, dst string) error {
	rc, err := zf.Open()
	if err != nil {
		return fmt.Errorf("reading %s from the archive: %w", zf.Name, err)
	}
	defer rc.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, rc); err != nil {
		out.Close()
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	return out.Close()
}
