package main

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/factflow/factflow/server/api"
)

func newStorageCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "storage",
		Short: "Browse and read the objects executions stored on a server",
	}
	c.AddCommand(newStorageListCmd(), newStorageBrowseCmd(), newStorageGetCmd(), newStorageMetadataCmd(), newStorageWatchCmd(), newStorageDownloadCmd())
	return c
}

// storageListFlags are the filters of storage list and browse.
type storageListFlags struct {
	prefix, delimiter, execution, extension, route, stage string
	limit, offset                                         int
}

func (f *storageListFlags) add(c *cobra.Command) {
	c.Flags().StringVar(&f.execution, "execution", "", "only objects of this execution (id or tag)")
	c.Flags().StringVar(&f.extension, "extension", "", "comma-separated key suffixes, e.g. .md,.json")
	c.Flags().StringVar(&f.route, "route", "", "only objects written by this route")
	c.Flags().StringVar(&f.stage, "stage", "", "only objects written by this stage")
	addPageFlags(c, &f.limit, &f.offset)
}

func (f *storageListFlags) query() url.Values {
	q := pageQuery(f.limit, f.offset)
	for k, v := range map[string]string{"prefix": f.prefix, "delimiter": f.delimiter, "execution_id": f.execution,
		"extension": f.extension, "route_id": f.route, "stage": f.stage} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// storageListTable shows folders (with their executions, when known) and
// objects.
func storageListTable(w io.Writer, list api.StorageList) error {
	execs := map[string]api.StorageExecution{}
	for _, x := range list.Executions {
		execs[x.Prefix] = x
	}
	tw := newTable(w)
	row(tw, "KEY", "SIZE", "TYPE", "MODIFIED")
	for _, p := range list.CommonPrefixes {
		kind := "folder"
		if x, ok := execs[p]; ok && x.Found {
			kind = fmt.Sprintf("folder: %s %s %s", x.ConfigName, x.Tag, x.Status)
		}
		row(tw, p, "", kind, "")
	}
	for _, o := range list.Items {
		row(tw, o.Key, humanBytes(o.Size), o.ContentType, o.LastModified)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return pageFooter(w, list.Total, list.Offset, len(list.Items), list.HasMore)
}

func newStorageBrowseCmd() *cobra.Command {
	var f storageListFlags
	c := &cobra.Command{
		Use:   "browse [PREFIX]",
		Short: "Show one folder level of storage, executions' folders described",
		Example: `  factflow storage browse
  factflow storage browse executions/
  factflow storage browse executions/0190c6c2-…/convert/`,
		Args: cobra.MaximumNArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			if len(args) == 1 {
				f.prefix = args[0]
			}
			f.delimiter = "/"
			q := f.query()
			q.Set("include_execution_info", "true")
			var list api.StorageList
			if err := cl.get(cmd.Context(), "/storage/objects", q, &list); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, list, func(w io.Writer) error { return storageListTable(w, list) })
		}),
	}
	f.add(c)
	return c
}

func newStorageListCmd() *cobra.Command {
	var f storageListFlags
	prefix, delimiter := &f.prefix, &f.delimiter
	c := &cobra.Command{
		Use:   "list",
		Short: "List stored objects under a prefix",
		Example: `  factflow storage list --prefix executions/ --delimiter /
  factflow storage list --prefix executions/0190c6c2-…/`,
		Args: cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, cl *client, _ []string) error {
			var list api.StorageList
			if err := cl.get(cmd.Context(), "/storage/objects", f.query(), &list); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, list, func(w io.Writer) error { return storageListTable(w, list) })
		}),
	}
	c.Flags().StringVar(prefix, "prefix", "", "only keys starting with this")
	c.Flags().StringVar(delimiter, "delimiter", "", `"/" groups deeper keys into folders`)
	f.add(c)
	return c
}

func newStorageGetCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "get KEY",
		Short: "Write an object's bytes to stdout or a file",
		Args:  cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			key := args[0]
			if out == "" || out == "-" {
				_, err := cl.download(cmd.Context(), "/storage/objects/"+seg(key), cmd.OutOrStdout())
				return exitFor(cmd.Context(), err)
			}
			n, err := downloadFile(cmd, cl, key, out)
			if err != nil {
				return exitFor(cmd.Context(), err)
			}
			if cl.output == "table" {
				fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%s) to %s\n", key, humanBytes(n), out)
			}
			return nil
		}),
	}
	c.Flags().StringVarP(&out, "out", "o", "", "write to this file instead of stdout")
	return c
}

// downloadFile writes the object next to path first, so that a failed
// download never leaves a truncated file under the name asked for.
func downloadFile(cmd *cobra.Command, cl *client, key, path string) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".part-*")
	if err != nil {
		return 0, withExit(exitUsage, err)
	}
	n, err := cl.download(cmd.Context(), "/storage/objects/"+seg(key), tmp)
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return n, err
	}
	return n, nil
}

func newStorageMetadataCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "metadata KEY",
		Short: "Show an object's size, type and metadata (provenance)",
		Args:  cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			var m api.ObjectMetadata
			if err := cl.get(cmd.Context(), "/storage/objects/"+seg(args[0])+"/metadata", nil, &m); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, m, func(w io.Writer) error {
				if err := fields(w, "Key", m.Key, "Size", fmt.Sprintf("%s (%d bytes)", humanBytes(m.Size), m.Size),
					"Type", m.ContentType, "ETag", m.ETag, "Modified", m.LastModified); err != nil {
					return err
				}
				if len(m.Metadata) == 0 {
					return nil
				}
				fmt.Fprintln(w, "Metadata:")
				return mapLines(w, "  ", m.Metadata)
			})
		}),
	}
}
