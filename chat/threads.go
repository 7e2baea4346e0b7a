package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/factflow/factflow/llm"
	"github.com/factflow/factflow/store"
)

// ThreadSettings is the shape of a thread's stored settings: the request
// fields every message of the thread uses unless the message sets them.
type ThreadSettings struct {
	ContextMode string    `json:"context_mode,omitempty"`
	RAG         RAGConfig `json:"rag_config"`
	// EmbeddingModel: the slot searched when no sources are set.
	EmbeddingModel string   `json:"embedding_model,omitempty"`
	Profile        string   `json:"profile,omitempty"`
	Model          string   `json:"model,omitempty"`
	Temperature    *float32 `json:"temperature,omitempty"`
	MaxTokens      int      `json:"max_tokens,omitempty"`
}

// ParseSettings decodes stored thread settings (nil: none). The API calls
// it to reject malformed settings when a thread is created or updated.
func ParseSettings(m map[string]any) (ThreadSettings, error) {
	var ts ThreadSettings
	if len(m) == 0 {
		return ts, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return ts, invalid("thread settings are not JSON: "+err.Error(), "send a JSON object")
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ts); err != nil {
		return ts, invalid("thread settings do not fit: "+err.Error(),
			"use context_mode, rag_config{sources, retrieval_strategy, max_total_results}, embedding_model, profile, model, temperature, max_tokens")
	}
	// The same checks as a request's, on a placeholder question.
	if _, err := normalized(ts.apply(Request{Query: "?"})); err != nil {
		return ts, err
	}
	return ts, nil
}

// apply fills the fields req leaves unset from the settings.
func (ts ThreadSettings) apply(req Request) Request {
	if req.ContextMode == "" {
		req.ContextMode = ts.ContextMode
	}
	// A request naming a slot of its own asks for that slot instead of
	// the thread's sources.
	if len(req.RAG.Sources) == 0 && req.EmbeddingModel == "" {
		req.RAG.Sources = ts.RAG.Sources
	}
	if req.RAG.Strategy == "" {
		req.RAG.Strategy = ts.RAG.Strategy
	}
	if req.RAG.MaxTotalResults == 0 {
		req.RAG.MaxTotalResults = ts.RAG.MaxTotalResults
	}
	if req.EmbeddingModel == "" {
		req.EmbeddingModel = ts.EmbeddingModel
	}
	if req.Profile == "" {
		req.Profile = ts.Profile
	}
	if req.Model == "" {
		req.Model = ts.Model
	}
	if req.Temperature == nil {
		req.Temperature = ts.Temperature
	}
	if req.MaxTokens == 0 {
		req.MaxTokens = ts.MaxTokens
	}
	return req
}

// CheckMessage is Check for a message to a thread: the thread must exist
// and its settings, with req's overrides, must make a valid request.
func (s *Service) CheckMessage(ctx context.Context, threadID string, req Request) error {
	if s.threads == nil {
		return notConfigured("chat threads are not configured", "start the server with a database")
	}
	th, err := s.threads.Get(ctx, threadID)
	if err != nil {
		return err
	}
	ts, err := ParseSettings(th.Settings)
	if err != nil {
		return fmt.Errorf("thread %s: %w", th.ID, err)
	}
	return s.Check(ctx, ts.apply(req))
}

// TitleChars bounds a title taken from a thread's first question.
const TitleChars = 80

// persistTimeout bounds storing a finished answer. The store runs on a
// context detached from the caller's: an answer the user already saw is
// kept even when the stream's receiver left right after it.
const persistTimeout = 15 * time.Second

// SendMessage answers a turn in a thread: it stores the question, answers
// it with the thread's recent messages as history and the thread's
// settings where req leaves fields unset, streams like Stream and stores
// the answer with its sources. emit may be nil (no streaming). When the
// answer fails, the question stays stored and no answer is.
func (s *Service) SendMessage(ctx context.Context, threadID string, req Request, emit func(Event) error) (*Answer, error) {
	if s.threads == nil {
		return nil, notConfigured("chat threads are not configured", "start the server with a database")
	}
	th, err := s.threads.Get(ctx, threadID)
	if err != nil {
		return nil, err
	}
	ts, err := ParseSettings(th.Settings)
	if err != nil {
		return nil, fmt.Errorf("thread %s: %w", th.ID, err)
	}
	req = ts.apply(req)
	if _, err := normalized(req); err != nil {
		return nil, err
	}
	// The stored turns are the history; read before the question is
	// stored so that it is not its own history.
	recent, err := s.threads.Recent(ctx, th.ID, s.opts.HistoryTurns)
	if err != nil {
		return nil, err
	}
	req.History = make([]llm.Message, 0, len(recent))
	for _, m := range recent {
		req.History = append(req.History, llm.Message{Role: m.Role, Content: m.Content})
	}
	userMsg, err := s.threads.AppendMessage(ctx, th.ID, store.ChatRoleUser, strings.TrimSpace(req.Query), nil, nil)
	if err != nil {
		return nil, err
	}
	if th.Title == "" {
		title := truncate(strings.Join(strings.Fields(req.Query), " "), TitleChars)
		if _, err := s.threads.SetTitleIfEmpty(ctx, th.ID, title); err != nil {
			s.log.Warn("naming chat thread failed", "thread_id", th.ID, "error", err)
		}
	}

	t, err := s.prepare(ctx, req)
	if err != nil {
		return nil, err
	}
	t.answer.ThreadID = th.ID
	t.answer.UserMessageID = userMsg.ID
	if emit == nil {
		if err := t.generate(ctx, nil); err != nil {
			return nil, generationFailed(err)
		}
	} else if err := t.stream(ctx, emit); err != nil {
		return nil, err
	}

	a := t.answer
	sources, err := json.Marshal(a.Sources)
	if err != nil {
		return nil, fmt.Errorf("encoding the sources of the answer: %w", err)
	}
	meta := map[string]any{
		"model": a.Model, "profile": a.Profile, "context_mode": a.ContextMode, "usage": a.Usage,
		"timing": a.Timing, "user_message_id": userMsg.ID,
	}
	if a.Strategy != "" {
		meta["strategy"] = a.Strategy
	}
	if a.FinishReason != "" {
		meta["finish_reason"] = a.FinishReason
	}
	if a.FollowUp {
		meta["follow_up"] = true
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), persistTimeout)
	defer cancel()
	msg, err := s.threads.AppendMessage(pctx, th.ID, store.ChatRoleAssistant, a.Text, sources, meta)
	if err != nil {
		err = fmt.Errorf("storing the answer in thread %s: %w", th.ID, err)
		if emit != nil && ctx.Err() == nil {
			_ = emit(Event{Type: EventError, Data: ErrorData{Code: ErrorCode(err), Message: err.Error()}})
		}
		return nil, err
	}
	a.MessageID = msg.ID
	if emit != nil {
		if err := emit(Event{Type: EventDone, Data: t.done()}); err != nil {
			return nil, err
		}
	}
	return a, nil
}
