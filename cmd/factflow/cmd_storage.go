package main

import (
	"fmt"
	"io"
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
	c.AddCommand(newStorageListCmd(), newStorageGetCmd(), newStorageMetadataCmd())
	return c
}

func newStorageListCmd() *cobra.Command {
	var prefix, delimiter string
	var limit, offset int
	c := &cobra.Command{
		Use:   "list",
		Short: "List stored objects under a prefix",
		Example: `  factflow storage list --prefix executions/ --delimiter /
  factflow storage list --prefix executions/0190c6c2-…/`,
		Args: cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, cl *client, _ []string) error {
			q := pageQuery(limit, offset)
			if prefix != "" {
				q.Set("prefix", prefix)
			}
			if delimiter != "" {
				q.Set("delimiter", delimiter)
			}
			var list api.StorageList
			if err := cl.get(cmd.Context(), "/storage/objects", q, &list); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, list, func(w io.Writer) error {
				tw := newTable(w)
				row(tw, "KEY", "SIZE", "TYPE", "MODIFIED")
				for _, p := range list.CommonPrefixes {
					row(tw, p, "", "folder", "")
				}
				for _, o := range list.Items {
					row(tw, o.Key, humanBytes(o.Size), o.ContentType, o.LastModified)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				return pageFooter(w, list.Total, list.Offset, len(list.Items), list.HasMore)
			})
		}),
	}
	c.Flags().StringVar(&prefix, "prefix", "", "only keys starting with this")
	c.Flags().StringVar(&delimiter, "delimiter", "", `"/" groups deeper keys into folders`)
	addPageFlags(c, &limit, &offset)
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
