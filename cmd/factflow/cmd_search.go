package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/factflow/factflow/search"
	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/store"
)

func newSearchCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "search",
		Short: "Search the indexed segments: semantic, hybrid, rrf or multi-model",
		Long: `Segments stored by embedding_generator are searchable by meaning (their
vectors), by keywords (full-text) or both. Every mode prints the hits best
first with their score, document and heading.`,
	}
	modes := []struct{ use, path, short string }{
		{"semantic", "/search", "Nearest segments to the query's embedding (cosine similarity)"},
		{"hybrid", "/search/hybrid", "Vector similarity blended with full-text rank"},
		{"rrf", "/search/rrf", "Reciprocal rank fusion of vector and full-text rankings"},
		{"multi-model", "/search/multi-model", "Search several embedding slots (--models) and merge"},
	}
	for _, m := range modes {
		c.AddCommand(newSearchModeCmd(m.use, m.path, m.short))
	}
	c.AddCommand(newSearchSourcesCmd(), newSearchCapabilitiesCmd())
	return c
}

func newSearchModeCmd(use, path, short string) *cobra.Command {
	var (
		b          api.SearchBody
		executions []string
	)
	c := &cobra.Command{
		Use:   use + " QUERY",
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		Example: `  factflow search ` + use + ` "how are retries configured" --limit 5
  factflow search ` + use + ` "sitemap" --execution nightly --output json`,
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			b.Query = strings.Join(args, " ")
			b.Filter.ExecutionIDs = executions
			if use == "multi-model" && len(b.Models) == 0 {
				return withExit(exitUsage, fmt.Errorf("multi-model needs --models, e.g. --models hashing,openai-small"))
			}
			var res search.Response
			if err := cl.call(cmd.Context(), http.MethodPost, path, nil, b, &res); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, res, func(w io.Writer) error { return searchTable(w, res) })
		}),
	}
	fl := c.Flags()
	fl.IntVar(&b.Limit, "limit", 10, "hits to return (1-100)")
	fl.StringVar(&b.Model, "model", "", "embedding slot to search (default: the server's default slot)")
	fl.StringSliceVar(&b.Models, "models", nil, "slots to search (multi-model; rrf fuses them all)")
	fl.StringSliceVar(&executions, "execution", nil, "only segments of these executions (id or tag; repeatable)")
	fl.Float64Var(&b.MinScore, "min-score", 0, "drop vector hits less similar than this")
	fl.StringVar(&b.Language, "language", "", "text search configuration of the keyword part (english, simple, …)")
	if use == "hybrid" {
		fl.Float64Var(&b.VectorWeight, "vector-weight", 0, "weight of the vector score against the keyword score (0-1, default 0.7)")
	}
	return c
}

func searchTable(w io.Writer, res search.Response) error {
	if len(res.Hits) == 0 {
		_, err := fmt.Fprintf(w, "No hits for %q.\n", res.Query)
		return err
	}
	for i, h := range res.Hits {
		title := firstNonEmpty(h.Title, h.DocumentKey)
		if _, err := fmt.Fprintf(w, "%d. %.4f  %s", i+1, h.Score, title); err != nil {
			return err
		}
		if h.Heading != "" {
			fmt.Fprintf(w, " — %s", h.Heading)
		}
		fmt.Fprintln(w)
		if loc := firstNonEmpty(h.URL, h.StorageKey); loc != "" && loc != title {
			fmt.Fprintf(w, "   %s\n", loc)
		}
		fmt.Fprintf(w, "   %s\n", snippet(h.Text, 200))
	}
	_, err := fmt.Fprintf(w, "%d hit(s), %s, %.1f ms\n", len(res.Hits), res.Mode, res.TookMS)
	return err
}

// snippet is text on one line, cut at about n characters.
func snippet(text string, n int) string {
	s := strings.Join(strings.Fields(text), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func newSearchSourcesCmd() *cobra.Command {
	var q api.SourcesQuery
	c := &cobra.Command{
		Use:   "sources",
		Short: "Executions with searchable segments",
		Args:  cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, cl *client, _ []string) error {
			var res api.IndexedSources
			if err := cl.get(cmd.Context(), "/search/sources", sourcesQuery(q), &res); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, res, func(w io.Writer) error { return sourcesTable(w, res.Sources) })
		}),
	}
	c.Flags().StringVar(&q.Model, "model", "", "only executions with vectors in this slot")
	c.Flags().IntVar(&q.MinSegments, "min-segments", 1, "only executions with at least this many segments")
	return c
}

func sourcesQuery(q api.SourcesQuery) map[string][]string {
	v := map[string][]string{"min_segments": {fmt.Sprint(q.MinSegments)}}
	if q.Model != "" {
		v["embedding_model"] = []string{q.Model}
	}
	return v
}

func sourcesTable(w io.Writer, src []store.IndexedSource) error {
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "EXECUTION\tCONFIG\tTAG\tDOCUMENTS\tSEGMENTS\tMODELS\tINDEXED")
	for _, s := range src {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", s.ExecutionID, s.ConfigName, s.Tag, s.Documents, s.Segments,
			strings.Join(s.Models, ","), s.IndexedAt.Local().Format("2006-01-02 15:04:05"))
	}
	return tw.Flush()
}

func newSearchCapabilitiesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "capabilities",
		Short: "Search modes, embedding slots and whether pgvector is available",
		Args:  cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, cl *client, _ []string) error {
			var res search.Capabilities
			if err := cl.get(cmd.Context(), "/search/capabilities", nil, &res); err != nil {
				return exitFor(cmd.Context(), err)
			}
			return render(cmd.OutOrStdout(), cl.output, res, func(w io.Writer) error { return writeYAML(w, res) })
		}),
	}
}
