package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/factflow/factflow/chat"
	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/store"
)

// chatFlags are the retrieval and model settings of `factflow chat`.
type chatFlags struct {
	thread     string
	stateless  bool
	model      string
	profile    string
	strategy   string
	executions []string
	limit      int
}

func (f *chatFlags) options() api.ChatOptions {
	o := api.ChatOptions{Profile: f.profile}
	if f.strategy != "" || len(f.executions) > 0 || f.limit > 0 || f.model != "" {
		src := api.RAGSource{ModelName: f.model, ExecutionIDs: f.executions, Limit: f.limit}
		o.RAGConfig = &api.RAGConfig{Sources: []api.RAGSource{src}, RetrievalStrategy: f.strategy}
	}
	return o
}

func newChatCmd() *cobra.Command {
	var f chatFlags
	c := &cobra.Command{
		Use:   "chat [QUESTION]",
		Short: "Ask questions about the indexed content; answers stream and cite their sources",
		Long: `With a question, chat answers it and exits. Without one it is an interactive
session: each line is a question, the answer streams as it is written, and
the sources it cites as [n] are listed under it. The session is a thread kept
by the server, so follow-up questions see the conversation (--stateless keeps
nothing on the server; --thread ID continues an earlier thread).

In a session: /new starts a new thread, /thread shows the current one, /quit
or Ctrl-D ends it.`,
		Args: cobra.ArbitraryArgs,
		Example: `  factflow chat "How do I configure retries?"
  factflow chat --execution nightly --strategy ensemble
  factflow chat --thread 0193f0c2-… "and what about dead letters?"`,
		RunE: withClient(func(cmd *cobra.Command, cl *client, args []string) error {
			s := &chatSession{cl: cl, flags: f, out: cmd.OutOrStdout(), thread: f.thread}
			if len(args) > 0 {
				return s.ask(cmd.Context(), strings.Join(args, " "))
			}
			return s.repl(cmd.Context(), cmd.InOrStdin())
		}),
	}
	fl := c.Flags()
	fl.StringVar(&f.thread, "thread", "", "continue this thread")
	fl.BoolVar(&f.stateless, "stateless", false, "keep no thread on the server (history stays in this session)")
	fl.StringVar(&f.model, "model", "", "embedding slot to retrieve from (default: the server's default)")
	fl.StringVar(&f.profile, "profile", "", "completion profile (default: the server's llm.default_completion)")
	fl.StringVar(&f.strategy, "strategy", "", "retrieval strategy: merge (default), sequential or ensemble")
	fl.StringSliceVar(&f.executions, "execution", nil, "only retrieve from these executions (id or tag; repeatable)")
	fl.IntVar(&f.limit, "limit", 0, "passages to retrieve (default 5)")
	return c
}

type chatSession struct {
	cl      *client
	flags   chatFlags
	out     io.Writer
	thread  string
	history []api.ChatTurn // --stateless only
}

func (s *chatSession) repl(ctx context.Context, in io.Reader) error {
	tty := false
	if f, ok := in.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for {
		if tty {
			fmt.Fprint(s.out, "› ")
		}
		if !sc.Scan() {
			if err := sc.Err(); err != nil {
				return fmt.Errorf("reading the question: %w", err)
			}
			return nil
		}
		line := strings.TrimSpace(sc.Text())
		switch line {
		case "":
			continue
		case "/quit", "/exit":
			return nil
		case "/new":
			s.thread, s.history = "", nil
			fmt.Fprintln(s.out, "(new conversation)")
			continue
		case "/thread":
			fmt.Fprintln(s.out, firstNonEmpty(s.thread, "(none yet)"))
			continue
		}
		if err := s.ask(ctx, line); err != nil {
			if ctx.Err() != nil {
				return exitFor(ctx, err)
			}
			// A failed answer does not end the session.
			fmt.Fprintln(s.out, "error:", err)
		}
	}
}

// ask sends one question and prints the answer as it streams.
func (s *chatSession) ask(ctx context.Context, question string) error {
	var (
		path string
		body any
	)
	if s.flags.stateless {
		path, body = "/chat/stream", api.ChatBody{Query: question, History: s.history, ChatOptions: s.flags.options()}
	} else {
		if s.thread == "" {
			var th store.ChatThread
			if err := s.cl.call(ctx, http.MethodPost, "/chat/threads", nil, api.ThreadCreate{}, &th); err != nil {
				return exitFor(ctx, err)
			}
			s.thread = th.ID
		}
		path, body = "/chat/threads/"+seg(s.thread)+"/messages", api.ThreadMessage{Content: question, ChatOptions: s.flags.options()}
	}
	resp, err := s.cl.send(ctx, http.MethodPost, path, nil, body, http.Header{"Accept": {"text/event-stream"}})
	if err != nil {
		return exitFor(ctx, err)
	}
	defer resp.Body.Close()
	answer, err := s.print(newSSEParser(resp.Body))
	if err != nil {
		return err
	}
	if s.flags.stateless {
		s.history = append(s.history, api.ChatTurn{Role: "user", Content: question},
			api.ChatTurn{Role: "assistant", Content: answer})
	}
	return nil
}

// print writes the events of one answer: text as it comes, then the
// sources it cites.
func (s *chatSession) print(p *sseParser) (string, error) {
	var (
		sources []chat.Citation
		text    strings.Builder
	)
	for {
		ev, err := p.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return text.String(), errors.New("the answer stream ended before it was done")
			}
			return text.String(), fmt.Errorf("reading the answer: %w", err)
		}
		switch ev.Type {
		case "sources":
			var d struct {
				Sources []chat.Citation `json:"sources"`
			}
			if err := json.Unmarshal([]byte(ev.Data), &d); err != nil {
				return "", fmt.Errorf("the sources event is not JSON: %w", err)
			}
			sources = d.Sources
		case "text":
			var d struct {
				Content string `json:"content"`
			}
			if err := json.Unmarshal([]byte(ev.Data), &d); err != nil {
				return "", fmt.Errorf("a text event is not JSON: %w", err)
			}
			text.WriteString(d.Content)
			fmt.Fprint(s.out, d.Content)
		case "error":
			var prob api.Problem
			if err := json.Unmarshal([]byte(ev.Data), &prob); err != nil {
				return "", fmt.Errorf("the answer failed: %s", ev.Data)
			}
			fmt.Fprintln(s.out)
			return "", &apiError{problem: prob}
		case "done":
			// Which sources the answer cites is known once it is written.
			var d chat.DoneData
			if err := json.Unmarshal([]byte(ev.Data), &d); err != nil {
				return "", fmt.Errorf("the done event is not JSON: %w", err)
			}
			for i := range sources {
				sources[i].Cited = slices.Contains(d.Cited, sources[i].Index)
			}
			if d.ThreadID != "" {
				s.thread = d.ThreadID
			}
			fmt.Fprintln(s.out)
			printCitations(s.out, sources)
			return text.String(), nil
		}
	}
}

// printCitations lists the sources an answer cited, [n] as in its text.
func printCitations(w io.Writer, sources []chat.Citation) {
	var cited []chat.Citation
	for _, c := range sources {
		if c.Cited {
			cited = append(cited, c)
		}
	}
	if len(cited) == 0 {
		return
	}
	fmt.Fprintln(w, "\nSources:")
	for _, c := range cited {
		title := firstNonEmpty(c.Title, c.URL, c.StorageKey)
		if c.Heading != "" && c.Heading != title {
			title += " — " + c.Heading
		}
		fmt.Fprintf(w, "  [%d] %s\n", c.Index, title)
		if loc := firstNonEmpty(c.URL, c.StorageKey); loc != "" && loc != title {
			fmt.Fprintf(w, "      %s\n", loc)
		}
		if c.StorageKey != "" && c.StorageKey != c.URL {
			fmt.Fprintf(w, "      storage: %s\n", c.StorageKey)
		}
	}
}
