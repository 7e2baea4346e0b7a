package main

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/store"
)

func newIndexCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "index",
		Short: "Manage the vector indexes of the embedding slots",
		Long: `Each embedding slot (model_name) can have one vector index: HNSW (best
recall and latency, slower to build) or IVFFlat (fast to build). Without one
a semantic search scans every vector of the slot. auto-manage creates an
IVFFlat index once a slot is big enough and replaces it with HNSW past
100k vectors.`,
	}
	c.AddCommand(newIndexListCmd(), newIndexCreateCmd(), newIndexDropCmd(), newIndexAutoCmd())
	return c
}

func newIndexListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List vector indexes with their size and use",
		Args:  cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, cl *client, _ []string) error {
			var res api.IndexList
			if err := cl.get(cmd.Context(), "/indexes", nil, &res); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, res, func(w io.Writer) error { return indexTable(w, res.Items) })
		}),
	}
}

func indexTable(w io.Writer, items []store.IndexInfo) error {
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tMODEL\tTYPE\tDIMS\tROWS\tSIZE\tSCANS\tPARAMETERS")
	for _, ix := range items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%d\t%s\n", ix.Name, ix.Model, ix.Type, ix.Dims, ix.Rows, ix.SizePretty,
			ix.Scans, indexParams(ix.Parameters))
	}
	return tw.Flush()
}

func indexParams(p map[string]int) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, p[k])
	}
	return strings.Join(parts, ",")
}

func newIndexCreateCmd() *cobra.Command {
	var (
		b      api.IndexCreate
		params map[string]int
	)
	c := &cobra.Command{
		Use:     "create MODEL",
		Short:   "Build a vector index for an embedding slot",
		Args:    cobra.ExactArgs(1),
		Example: `  factflow index create hashing --type hnsw --param m=16 --param ef_construction=64`,
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			b.Model, b.Parameters = args[0], params
			var ix store.IndexInfo
			if err := cl.call(cmd.Context(), http.MethodPost, "/indexes", nil, b, &ix); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, ix, func(w io.Writer) error { return indexTable(w, []store.IndexInfo{ix}) })
		}),
	}
	c.Flags().StringVar(&b.Type, "type", "hnsw", "hnsw or ivfflat")
	c.Flags().StringToIntVar(&params, "param", nil, "index parameter (hnsw: m, ef_construction; ivfflat: lists); repeatable")
	return c
}

func newIndexDropCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "drop NAME",
		Short: "Drop a vector index",
		Args:  cobra.ExactArgs(1),
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			if err := cl.call(cmd.Context(), http.MethodDelete, "/indexes/"+seg(args[0]), nil, nil, nil); err != nil {
				return exitFor(cmd.Context(), err)
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "Dropped %s.\n", args[0])
			return err
		}),
	}
}

func newIndexAutoCmd() *cobra.Command {
	var b api.AutoManageBody
	c := &cobra.Command{
		Use:   "auto-manage",
		Short: "Create, upgrade or rebuild indexes by slot size (--dry-run to see the plan)",
		Args:  cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, cl *client, _ []string) error {
			var res api.AutoManageResult
			if err := cl.call(cmd.Context(), http.MethodPost, "/indexes/auto-manage", nil, b, &res); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, res, func(w io.Writer) error {
				tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
				fmt.Fprintln(tw, "MODEL\tACTION\tAPPLIED\tREASON")
				for _, r := range res.Results {
					fmt.Fprintf(tw, "%s\t%s\t%t\t%s\n", r.Model, r.Action, r.Applied, r.Reason)
				}
				return tw.Flush()
			})
		}),
	}
	c.Flags().BoolVar(&b.DryRun, "dry-run", false, "report without changing anything")
	c.Flags().Int64Var(&b.CreateAt, "create-at", 0, "vector count from which a slot gets an index (default 1000)")
	c.Flags().Int64Var(&b.HNSWAt, "hnsw-at", 0, "vector count past which IVFFlat becomes HNSW (default 100000)")
	return c
}
