package chat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"

	"github.com/factflow/factflow/llm"
	"github.com/factflow/factflow/search"
	"github.com/factflow/factflow/store"
)

// Event types of a stream.
const (
	EventSources = "sources"
	EventText    = "text"
	EventDone    = "done"
	EventError   = "error"
)

// Event is one streamed event; Data is JSON-encodable.
type Event struct {
	Type string `json:"type"`
	Data any    `json:"data"`
}

// SourcesData is the data of the "sources" event.
type SourcesData struct {
	Sources     []Citation `json:"sources"`
	Strategy    string     `json:"strategy,omitempty"`
	RetrievalMS float64    `json:"retrieval_ms"`
}

// TextData is the data of a "text" event.
type TextData struct {
	Content string `json:"content"`
}

// DoneData is the data of the "done" event.
type DoneData struct {
	Completed    bool   `json:"completed"`
	Model        string `json:"model,omitempty"`
	Profile      string `json:"profile,omitempty"`
	Strategy     string `json:"strategy,omitempty"`
	FinishReason string `json:"finish_reason,omitempty"`
	Usage        Usage  `json:"usage"`
	Timing       Timing `json:"timing"`
	// Cited lists the source indexes the answer cites.
	Cited         []int  `json:"cited"`
	ThreadID      string `json:"thread_id,omitempty"`
	MessageID     string `json:"message_id,omitempty"`
	UserMessageID string `json:"user_message_id,omitempty"`
}

// ErrorData is the data of an "error" event.
type ErrorData struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Citation is a numbered source of an answer: [Index] in the text.
type Citation struct {
	Index       int     `json:"index"`
	SegmentID   string  `json:"segment_id"`
	DocumentID  string  `json:"document_id"`
	ExecutionID string  `json:"execution_id"`
	StorageKey  string  `json:"storage_key,omitempty"`
	MarkdownKey string  `json:"markdown_key,omitempty"`
	URL         string  `json:"url,omitempty"`
	Title       string  `json:"title,omitempty"`
	Heading     string  `json:"heading,omitempty"`
	Snippet     string  `json:"snippet"`
	Score       float64 `json:"score"`
	// Source is the name of the SourceSpec the hit came from, Model its
	// embedding slot.
	Source string `json:"source,omitempty"`
	Model  string `json:"model,omitempty"`
	// Cited tells whether the answer's text cites this source.
	Cited bool `json:"cited"`
}

// Usage is the token usage, when the provider reports it.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// Timing is where a turn spent its time.
type Timing struct {
	RetrievalMS  float64 `json:"retrieval_ms"`
	GenerationMS float64 `json:"generation_ms"`
	TotalMS      float64 `json:"total_ms"`
}

// Answer is a finished turn.
type Answer struct {
	Text string `json:"text"`
	// Sources are numbered as cited: [n] is Sources[n-1].
	Sources      []Citation `json:"sources"`
	Model        string     `json:"model"`
	Profile      string     `json:"profile"`
	Usage        Usage      `json:"usage"`
	Timing       Timing     `json:"timing"`
	Strategy     string     `json:"strategy,omitempty"`
	ContextMode  string     `json:"context_mode"`
	FinishReason string     `json:"finish_reason,omitempty"`
	// FollowUp is true when retrieval needed the previous user turn to
	// find passages.
	FollowUp bool `json:"follow_up,omitempty"`
	// Thread fields are set by SendMessage.
	ThreadID      string `json:"thread_id,omitempty"`
	MessageID     string `json:"message_id,omitempty"`
	UserMessageID string `json:"user_message_id,omitempty"`
}

// Completers hands out completion clients by LLM profile name.
type Completers interface {
	Completer(profile string) (llm.Completer, error)
}

// Options configure a Service.
type Options struct {
	// HistoryTurns is how many stored messages of a thread a new turn
	// sees (default 20).
	HistoryTurns int
	// MaxPassageChars bounds the text of one passage in the prompt
	// (default 4000); segments are usually far shorter.
	MaxPassageChars int
	Logger          *slog.Logger
}

// Service answers chat turns. It is safe for concurrent use.
type Service struct {
	search *search.Service
	// v is kept for features that read segments directly (whole-document
	// context); retrieval goes through search.
	v       *store.Vectors
	threads *store.ChatThreads
	c       Completers
	opts    Options
	log     *slog.Logger
}

// New returns a chat service. threads may be nil (no persisted threads);
// c may be nil (every turn fails with CHAT_NOT_CONFIGURED).
func New(s *search.Service, v *store.Vectors, threads *store.ChatThreads, c Completers, opts Options) *Service {
	if opts.HistoryTurns <= 0 {
		opts.HistoryTurns = 20
	}
	if opts.MaxPassageChars <= 0 {
		opts.MaxPassageChars = 4000
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Service{search: s, v: v, threads: threads, c: c, opts: opts, log: log.With("component", "chat")}
}

// Sources lists the executions with indexed content (optionally with
// vectors in one slot): what a RAG source can be narrowed to.
func (s *Service) Sources(ctx context.Context, model string, minSegments int) ([]store.IndexedSource, error) {
	if s.search == nil {
		return nil, notConfigured("search is not configured", "start the server with a database")
	}
	return s.search.Sources(ctx, model, minSegments)
}

// Check validates req the way Stream would, without answering it: the
// request's fields, the completion profile and every source's embedding
// slot. A server calls it before it commits to an event stream, so these
// errors can still be plain error responses.
func (s *Service) Check(ctx context.Context, req Request) error {
	r, err := normalized(req)
	if err != nil {
		return err
	}
	if s.c == nil {
		return notConfigured("no completion profile is configured", "add an llm.providers entry, or keep the offline extractive profile")
	}
	if _, err := s.c.Completer(r.Profile); err != nil {
		return fmt.Errorf("completion profile %q: %w", r.Profile, err)
	}
	if r.ContextMode != ContextRAG {
		return nil
	}
	if s.search == nil {
		return notConfigured("search is not configured", "start the server with a database")
	}
	for _, src := range r.RAG.Sources {
		if _, err := s.search.ResolveModel(ctx, src.Model); err != nil {
			return fmt.Errorf("source %q: %w", src.Name, err)
		}
	}
	return nil
}

// Complete answers one turn without streaming.
func (s *Service) Complete(ctx context.Context, req Request) (*Answer, error) {
	t, err := s.prepare(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := t.generate(ctx, nil); err != nil {
		return nil, generationFailed(err)
	}
	return t.answer, nil
}

// Stream answers one turn, emitting sources, text deltas and done. An
// error from emit stops the turn and is returned.
func (s *Service) Stream(ctx context.Context, req Request, emit func(Event) error) (*Answer, error) {
	t, err := s.prepare(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := t.stream(ctx, emit); err != nil {
		return nil, err
	}
	if err := emit(Event{Type: EventDone, Data: t.done()}); err != nil {
		return nil, err
	}
	return t.answer, nil
}

// turn is one prepared turn: retrieval done, prompt built.
type turn struct {
	s         *Service
	completer llm.Completer
	llmReq    llm.ChatRequest
	answer    *Answer
	start     time.Time
}

// prepare validates req, picks the completer and retrieves the passages.
func (s *Service) prepare(ctx context.Context, req Request) (*turn, error) {
	start := time.Now()
	r, err := normalized(req)
	if err != nil {
		return nil, err
	}
	if s.c == nil {
		return nil, notConfigured("no completion profile is configured", "add an llm.providers entry, or keep the offline extractive profile")
	}
	completer, err := s.c.Completer(r.Profile)
	if err != nil {
		return nil, fmt.Errorf("completion profile %q: %w", r.Profile, err)
	}
	t := &turn{s: s, completer: completer, start: start,
		answer: &Answer{ContextMode: r.ContextMode, Profile: completer.Profile(), Sources: []Citation{}}}
	var hits []scoredHit
	if r.ContextMode == ContextRAG {
		t.answer.Strategy = r.RAG.Strategy
		rs := time.Now()
		if hits, err = s.retrieve(ctx, r, r.Query); err != nil {
			return nil, err
		}
		// A follow-up ("and the second one?") often shares no words with
		// the passages it is about; the question before it does.
		if len(hits) == 0 {
			if prev := lastUserTurn(r.History); prev != "" {
				if hits, err = s.retrieve(ctx, r, r.Query+"\n"+prev); err != nil {
					return nil, err
				}
				t.answer.FollowUp = len(hits) > 0
			}
		}
		t.answer.Timing.RetrievalMS = ms(time.Since(rs))
	}
	t.answer.Sources = s.citations(hits)
	t.llmReq = s.prompt(r, t.answer.Sources, hits)
	return t, nil
}

func lastUserTurn(history []llm.Message) string {
	for i := len(history) - 1; i >= 0; i-- {
		if history[i].Role == "user" && strings.TrimSpace(history[i].Content) != "" {
			return history[i].Content
		}
	}
	return ""
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// generate runs the completion; with onDelta set it streams.
func (t *turn) generate(ctx context.Context, onDelta func(string) error) error {
	gs := time.Now()
	var (
		resp *llm.ChatResponse
		err  error
	)
	if onDelta == nil {
		resp, err = t.completer.Complete(ctx, t.llmReq)
	} else {
		resp, err = t.completer.Stream(ctx, t.llmReq, onDelta)
	}
	if err != nil {
		return err
	}
	if resp == nil {
		return errors.New("the completion provider returned no answer")
	}
	a := t.answer
	a.Timing.GenerationMS = ms(time.Since(gs))
	a.Timing.TotalMS = ms(time.Since(t.start))
	a.Text = resp.Content
	a.Model = resp.Model
	if a.Model == "" {
		a.Model = t.completer.Model()
	}
	a.FinishReason = resp.FinishReason
	a.Usage = Usage{PromptTokens: resp.PromptTokens, CompletionTokens: resp.CompletionTokens,
		TotalTokens: resp.PromptTokens + resp.CompletionTokens}
	markCited(a.Text, a.Sources)
	t.s.log.Debug("chat turn answered", "profile", a.Profile, "model", a.Model, "sources", len(a.Sources),
		"retrieval_ms", a.Timing.RetrievalMS, "generation_ms", a.Timing.GenerationMS)
	return nil
}

// stream emits the sources, then the text as it arrives. A failure of the
// generation is emitted as an error event and returned; a failure of emit
// itself is only returned (the receiver is gone).
func (t *turn) stream(ctx context.Context, emit func(Event) error) error {
	// A copy: marking citations later must not change an event the
	// receiver may still hold.
	if err := emit(Event{Type: EventSources, Data: SourcesData{Sources: slices.Clone(t.answer.Sources), Strategy: t.answer.Strategy,
		RetrievalMS: t.answer.Timing.RetrievalMS}}); err != nil {
		return err
	}
	var emitErr error
	err := t.generate(ctx, func(delta string) error {
		if delta == "" {
			return nil
		}
		if err := emit(Event{Type: EventText, Data: TextData{Content: delta}}); err != nil {
			emitErr = err
			return err
		}
		return nil
	})
	if err == nil {
		return nil
	}
	if emitErr != nil {
		return emitErr
	}
	gerr := generationFailed(err)
	if ctx.Err() == nil {
		// A cancelled context means the receiver left; nobody reads
		// the event then.
		_ = emit(Event{Type: EventError, Data: ErrorData{Code: ErrorCode(gerr), Message: gerr.Error()}})
	}
	return gerr
}

func (t *turn) done() DoneData {
	a := t.answer
	d := DoneData{Completed: true, Model: a.Model, Profile: a.Profile, Strategy: a.Strategy,
		FinishReason: a.FinishReason, Usage: a.Usage, Timing: a.Timing, Cited: []int{},
		ThreadID: a.ThreadID, MessageID: a.MessageID, UserMessageID: a.UserMessageID}
	for _, c := range a.Sources {
		if c.Cited {
			d.Cited = append(d.Cited, c.Index)
		}
	}
	return d
}

// citeRE matches [1], [2, 3] and [1][2] citations.
var citeRE = regexp.MustCompile(`\[(\d+(?:\s*,\s*\d+)*)\]`)

func markCited(text string, sources []Citation) {
	for _, m := range citeRE.FindAllStringSubmatch(text, -1) {
		for _, part := range strings.Split(m[1], ",") {
			n, err := strconv.Atoi(strings.TrimSpace(part))
			if err == nil && n >= 1 && n <= len(sources) {
				sources[n-1].Cited = true
			}
		}
	}
}

// scoredHit is a retrieved segment with its weighted score and where it
// came from.
type scoredHit struct {
	hit    store.SearchHit
	score  float64
	source string
}

// minSimilarity is the floor applied when a source sets no threshold: a
// cosine of 0 or less means the passage shares nothing with the question.
const minSimilarity = 1e-6

func (s *Service) searchRequest(r Request, src SourceSpec, query string) search.Request {
	sr := search.Request{Query: query, Model: src.Model, Limit: src.Limit, MinScore: max(src.SimilarityThreshold, minSimilarity)}
	sr.Filter.ExecutionIDs = src.ExecutionIDs
	sr.Filter.Metadata = src.MetadataFilters
	return sr
}

// searchSource runs one source: semantic for merge and sequential, RRF
// for ensemble.
func (s *Service) searchSource(ctx context.Context, r Request, src SourceSpec, query string) ([]scoredHit, error) {
	if s.search == nil {
		return nil, notConfigured("search is not configured", "start the server with a database")
	}
	sr := s.searchRequest(r, src, query)
	var (
		resp *search.Response
		err  error
	)
	if r.RAG.Strategy == StrategyEnsemble {
		resp, err = s.search.RRF(ctx, sr)
	} else {
		resp, err = s.search.Semantic(ctx, sr)
	}
	if err != nil {
		return nil, fmt.Errorf("retrieving from source %q: %w", src.Name, err)
	}
	out := make([]scoredHit, 0, len(resp.Hits))
	for _, h := range resp.Hits {
		if r.RAG.Strategy != StrategyEnsemble && h.Score < sr.MinScore {
			continue
		}
		if h.Model == "" {
			h.Model = resp.Model
		}
		out = append(out, scoredHit{hit: h, score: h.Score * src.Weight, source: src.Name})
	}
	return out, nil
}

// retrieve runs the request's strategy over its sources.
func (s *Service) retrieve(ctx context.Context, r Request, query string) ([]scoredHit, error) {
	srcs := r.RAG.Sources
	limit := r.RAG.MaxTotalResults
	if r.RAG.Strategy == StrategySequential {
		var out []scoredHit
		seen := map[string]bool{}
		for _, src := range srcs {
			hits, err := s.searchSource(ctx, r, src, query)
			if err != nil {
				return nil, err
			}
			for _, h := range hits {
				if len(out) == limit {
					break
				}
				if !seen[h.hit.SegmentID] {
					seen[h.hit.SegmentID] = true
					out = append(out, h)
				}
			}
			if len(out) >= limit {
				break
			}
		}
		return out, nil
	}
	// merge and ensemble: every source at once, best weighted score per
	// segment wins.
	lists := make([][]scoredHit, len(srcs))
	g, gctx := errgroup.WithContext(ctx)
	for i, src := range srcs {
		g.Go(func() error {
			hits, err := s.searchSource(gctx, r, src, query)
			lists[i] = hits
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	best := map[string]scoredHit{}
	for _, l := range lists {
		for _, h := range l {
			if cur, ok := best[h.hit.SegmentID]; !ok || h.score > cur.score {
				best[h.hit.SegmentID] = h
			}
		}
	}
	out := make([]scoredHit, 0, len(best))
	for _, h := range best {
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].score != out[j].score {
			return out[i].score > out[j].score
		}
		return out[i].hit.SegmentID < out[j].hit.SegmentID
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// SnippetChars bounds Citation.Snippet.
const SnippetChars = 300

func (s *Service) citations(hits []scoredHit) []Citation {
	out := make([]Citation, len(hits))
	for i, sh := range hits {
		h := sh.hit
		out[i] = Citation{
			Index: i + 1, SegmentID: h.SegmentID, DocumentID: h.DocumentID, ExecutionID: h.ExecutionID,
			StorageKey: h.StorageKey, MarkdownKey: h.MarkdownKey, URL: h.URL, Title: titleOf(h), Heading: h.Heading,
			Snippet: truncate(strings.Join(strings.Fields(h.Text), " "), SnippetChars),
			Score:   sh.score, Source: sh.source, Model: h.Model,
		}
	}
	return out
}

func titleOf(h store.SearchHit) string {
	switch {
	case h.Title != "":
		return h.Title
	case h.URL != "":
		return h.URL
	default:
		return h.DocumentKey
	}
}

// truncate cuts s to at most n characters, on a rune boundary, marking
// the cut with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

const (
	ragInstructions = `You answer questions using only the numbered sources below.
Cite the source of every statement with its number in square brackets, like [1] or [2][3].
Cite only sources that exist below. If the sources do not contain the answer, say that you do not know from the indexed content; do not use outside knowledge.`
	noSourcesInstructions = `You answer questions using only indexed sources, but none matched this question.
Say that the indexed content does not cover it and suggest rephrasing; do not use outside knowledge and do not cite sources.`
	plainInstructions = `You are a helpful assistant. Answer concisely.`
)

// prompt builds the messages: instructions with the numbered sources,
// the history, the question. Passages carry the same numbering for
// providers that compose answers from them directly.
func (s *Service) prompt(r Request, cites []Citation, hits []scoredHit) llm.ChatRequest {
	var sys strings.Builder
	switch {
	case r.ContextMode == ContextNone:
		sys.WriteString(plainInstructions)
	case len(cites) == 0:
		sys.WriteString(noSourcesInstructions)
	default:
		sys.WriteString(ragInstructions)
		sys.WriteString("\n\nSources:\n")
	}
	passages := make([]llm.Passage, len(cites))
	for i, c := range cites {
		label := c.Title
		if c.Heading != "" && c.Heading != c.Title {
			if label != "" {
				label += " — "
			}
			label += c.Heading
		}
		text := truncate(strings.TrimSpace(hits[i].hit.Text), s.opts.MaxPassageChars)
		fmt.Fprintf(&sys, "\n[%d] %s\n%s\n", c.Index, label, text)
		passages[i] = llm.Passage{Index: c.Index, Title: label, Text: text}
	}
	msgs := make([]llm.Message, 0, len(r.History)+2)
	msgs = append(msgs, llm.Message{Role: "system", Content: sys.String()})
	msgs = append(msgs, r.History...)
	msgs = append(msgs, llm.Message{Role: "user", Content: r.Query})
	return llm.ChatRequest{Messages: msgs, Model: r.Model, Temperature: r.Temperature, MaxTokens: r.MaxTokens, Passages: passages}
}
