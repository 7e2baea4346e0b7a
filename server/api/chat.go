package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/factflow/factflow/chat"
	"github.com/factflow/factflow/llm"
	"github.com/factflow/factflow/store"
)

// ChatTurn is one earlier turn of a conversation.
type ChatTurn struct {
	Role    string `json:"role" enum:"user,assistant,system"`
	Content string `json:"content" maxLength:"100000"`
}

// RAGSource is one place answers are retrieved from.
type RAGSource struct {
	Name                string         `json:"name,omitempty" maxLength:"200" doc:"Label of the source in the answer's metadata"`
	ModelName           string         `json:"model_name,omitempty" maxLength:"200" doc:"Embedding slot to search (default: the search default)"`
	Limit               int            `json:"limit,omitempty" minimum:"1" maximum:"50" default:"5"`
	SimilarityThreshold float64        `json:"similarity_threshold,omitempty" minimum:"-1" maximum:"1" doc:"Drop passages less similar than this (default 0: offline hashing embeddings give low cosines)"`
	Weight              float64        `json:"weight,omitempty" minimum:"0" maximum:"2" doc:"Multiplies this source's scores when sources are merged (default 1)"`
	ExecutionIDs        []string       `json:"execution_ids,omitempty" maxItems:"100" doc:"Only segments of these executions (id or tag)"`
	MetadataFilters     map[string]any `json:"metadata_filters,omitempty" doc:"Must be contained in the segment's metadata"`
}

// RAGConfig is how a chat answer retrieves its passages.
type RAGConfig struct {
	Sources           []RAGSource `json:"sources,omitempty" maxItems:"10"`
	RetrievalStrategy string      `json:"retrieval_strategy,omitempty" enum:"merge,sequential,ensemble" default:"merge" doc:"merge: every source in parallel, merged by weighted score; sequential: sources in order until enough; ensemble: RRF of vector and keyword rankings"`
	MaxTotalResults   int         `json:"max_total_results,omitempty" minimum:"1" maximum:"50" default:"8"`
}

// ChatOptions are the settings shared by one-shot chat and thread messages.
type ChatOptions struct {
	ContextMode    string     `json:"context_mode,omitempty" enum:"rag,none" default:"rag" doc:"rag answers from retrieved passages; none asks the model alone"`
	RAGConfig      *RAGConfig `json:"rag_config,omitempty"`
	EmbeddingModel string     `json:"embedding_model,omitempty" maxLength:"200" doc:"Slot searched when rag_config names no sources"`
	Profile        string     `json:"profile,omitempty" maxLength:"200" doc:"Completion profile (default llm.default_completion)"`
	Model          string     `json:"model,omitempty" maxLength:"200" doc:"Overrides the profile's model"`
	Temperature    *float32   `json:"temperature,omitempty" minimum:"0" maximum:"2"`
	MaxTokens      int        `json:"max_tokens,omitempty" minimum:"1" maximum:"32768"`
}

// ChatBody is the body of POST /chat/complete and /chat/stream.
type ChatBody struct {
	Query   string     `json:"query" minLength:"1" maxLength:"10000" example:"How are failed messages retried?"`
	History []ChatTurn `json:"history,omitempty" maxItems:"50" doc:"Earlier turns, oldest first (these calls keep no state)"`
	ChatOptions
}

// ThreadCreate is the body of POST /chat/threads.
type ThreadCreate struct {
	Title    string         `json:"title,omitempty" maxLength:"500" doc:"Default: the first question"`
	Settings *ChatOptions   `json:"settings,omitempty" doc:"Retrieval and model settings every message uses unless it overrides them"`
	Metadata map[string]any `json:"metadata,omitempty"`
}

// ThreadUpdate is the body of PATCH /chat/threads/{id}; absent fields stay.
type ThreadUpdate struct {
	Title    *string        `json:"title,omitempty" maxLength:"500"`
	Settings *ChatOptions   `json:"settings,omitempty"`
	Metadata map[string]any `json:"metadata,omitempty"`
}

// ThreadMessage is the body of POST /chat/threads/{id}/messages.
type ThreadMessage struct {
	Content string `json:"content" minLength:"1" maxLength:"10000"`
	// Overrides of the thread's settings for this message only.
	ChatOptions
}

func (a *API) chatRequest(ctx context.Context, query string, history []ChatTurn, o ChatOptions) (chat.Request, error) {
	req := chat.Request{Query: query, ContextMode: o.ContextMode, Profile: o.Profile, Model: o.Model,
		Temperature: o.Temperature, MaxTokens: o.MaxTokens}
	for _, h := range history {
		req.History = append(req.History, llm.Message{Role: h.Role, Content: h.Content})
	}
	if rc := o.RAGConfig; rc != nil {
		req.RAG.Strategy = rc.RetrievalStrategy
		req.RAG.MaxTotalResults = rc.MaxTotalResults
		for _, s := range rc.Sources {
			spec := chat.SourceSpec{Name: s.Name, Model: s.ModelName, Limit: s.Limit,
				SimilarityThreshold: s.SimilarityThreshold, Weight: s.Weight, MetadataFilters: s.MetadataFilters}
			for _, ref := range s.ExecutionIDs {
				rec, err := a.execution(ctx, ref)
				if err != nil {
					return req, err
				}
				spec.ExecutionIDs = append(spec.ExecutionIDs, rec.ID)
			}
			req.RAG.Sources = append(req.RAG.Sources, spec)
		}
	}
	if len(req.RAG.Sources) == 0 && o.EmbeddingModel != "" {
		req.RAG.Sources = []chat.SourceSpec{{Model: o.EmbeddingModel}}
	}
	return req, nil
}

// threadSettings turns the settings of a thread as the API takes them into
// what the thread stores, refusing settings no message could use.
func (a *API) threadSettings(ctx context.Context, o *ChatOptions) (map[string]any, error) {
	if o == nil {
		return nil, nil
	}
	req, err := a.chatRequest(ctx, "?", nil, *o)
	if err != nil {
		return nil, err
	}
	ts := chat.ThreadSettings{ContextMode: req.ContextMode, RAG: req.RAG, Profile: req.Profile, Model: req.Model,
		Temperature: req.Temperature, MaxTokens: req.MaxTokens}
	b, err := json.Marshal(ts)
	if err != nil {
		return nil, a.fail(ctx, fmt.Errorf("encoding thread settings: %w", err))
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, a.fail(ctx, fmt.Errorf("decoding thread settings: %w", err))
	}
	if _, err := chat.ParseSettings(m); err != nil {
		return nil, a.fail(ctx, err)
	}
	return m, nil
}

func (a *API) registerChat() {
	if a.opts.Chat == nil {
		return
	}
	c := a.opts.Chat
	huma.Register(a.huma, op(http.MethodPost, "/chat/complete", "chat-complete",
		"Answer a question from the indexed segments, citing them as [n]", "chat"),
		func(ctx context.Context, in *struct{ Body ChatBody }) (*struct{ Body chat.Answer }, error) {
			req, err := a.chatRequest(ctx, in.Body.Query, in.Body.History, in.Body.ChatOptions)
			if err != nil {
				return nil, err
			}
			ans, err := c.Complete(ctx, req)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &struct{ Body chat.Answer }{Body: *ans}, nil
		})

	o := op(http.MethodPost, "/chat/stream", "chat-stream",
		"Answer a question as server-sent events: sources, then text pieces, then done", "chat")
	o.Description = "Events: `sources` {sources:[…]} first, then `text` {content} as the answer is generated, " +
		"then `done` {completed:true, …}. A failure after the stream began is an `error` event {error_code, detail}."
	o.Responses = eventStreamResponses()
	huma.Register(a.huma, o, func(ctx context.Context, in *struct{ Body ChatBody }) (*huma.StreamResponse, error) {
		req, err := a.chatRequest(ctx, in.Body.Query, in.Body.History, in.Body.ChatOptions)
		if err != nil {
			return nil, err
		}
		if err := c.Check(ctx, req); err != nil {
			return nil, a.fail(ctx, err)
		}
		return &huma.StreamResponse{Body: func(hctx huma.Context) {
			a.streamChat(hctx, func(ctx context.Context, emit func(chat.Event) error) error {
				_, err := c.Stream(ctx, req, emit)
				return err
			})
		}}, nil
	})

	huma.Register(a.huma, op(http.MethodGet, "/chat/sources", "chat-sources",
		"Executions chat can retrieve from (those with indexed segments)", "chat"),
		func(ctx context.Context, in *SourcesQuery) (*struct{ Body IndexedSources }, error) {
			return a.indexedSources(ctx, in)
		})

	a.registerChatThreads(c)
}

// streamChat answers with an event stream fed by run. Errors after the
// stream began can only travel as an event.
func (a *API) streamChat(hctx huma.Context, run func(context.Context, func(chat.Event) error) error) {
	ctx := hctx.Context()
	s := openEventStream(hctx, "")
	err := run(ctx, func(ev chat.Event) error {
		if ev.Type == chat.EventError {
			// The failure is also returned: it goes out below as a
			// problem, the shape every other API error has.
			return nil
		}
		return s.send("", ev.Type, ev.Data)
	})
	if err == nil || errors.Is(ctx.Err(), context.Canceled) {
		return
	}
	var p *Problem
	if !errors.As(a.fail(ctx, err), &p) {
		return
	}
	p.CorrelationID = requestID(ctx)
	p.Timestamp = time.Now().UTC()
	if serr := s.send("", "error", p); serr != nil {
		a.log.Debug("chat stream closed before its error event", "error", serr, "correlation_id", requestID(ctx))
	}
}

func (a *API) registerChatThreads(c *chat.Service) {
	threads := a.opts.DB.ChatThreads()
	type threadOut struct {
		Status int
		Body   store.ChatThread
	}
	huma.Register(a.huma, func() huma.Operation {
		o := op(http.MethodPost, "/chat/threads", "create-chat-thread", "Start a conversation thread", "chat")
		o.DefaultStatus = http.StatusCreated
		return o
	}(), func(ctx context.Context, in *struct{ Body ThreadCreate }) (*threadOut, error) {
		settings, err := a.threadSettings(ctx, in.Body.Settings)
		if err != nil {
			return nil, err
		}
		th, err := threads.Create(ctx, in.Body.Title, settings, in.Body.Metadata)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &threadOut{Status: http.StatusCreated, Body: *th}, nil
	})

	type listIn struct {
		Limit  int `query:"limit" minimum:"1" maximum:"1000" default:"50"`
		Offset int `query:"offset" minimum:"0"`
	}
	huma.Register(a.huma, op(http.MethodGet, "/chat/threads", "list-chat-threads",
		"Conversation threads, most recently active first", "chat"),
		func(ctx context.Context, in *listIn) (*struct{ Body Page[store.ChatThread] }, error) {
			pg, err := threads.List(ctx, in.Limit, in.Offset)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &struct{ Body Page[store.ChatThread] }{Body: pageOf(pg)}, nil
		})

	type idIn struct {
		ID string `path:"id" maxLength:"64" doc:"Thread id"`
	}
	huma.Register(a.huma, op(http.MethodGet, "/chat/threads/{id}", "get-chat-thread", "One thread", "chat"),
		func(ctx context.Context, in *idIn) (*struct{ Body store.ChatThread }, error) {
			th, err := threads.Get(ctx, in.ID)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &struct{ Body store.ChatThread }{Body: *th}, nil
		})

	huma.Register(a.huma, op(http.MethodPatch, "/chat/threads/{id}", "update-chat-thread",
		"Rename a thread or change its settings", "chat"),
		func(ctx context.Context, in *struct {
			ID   string `path:"id" maxLength:"64" doc:"Thread id"`
			Body ThreadUpdate
		}) (*struct{ Body store.ChatThread }, error) {
			upd := store.ChatThreadUpdate{Title: in.Body.Title, Metadata: in.Body.Metadata}
			if in.Body.Settings != nil {
				settings, err := a.threadSettings(ctx, in.Body.Settings)
				if err != nil {
					return nil, err
				}
				upd.Settings = settings
			}
			th, err := threads.Update(ctx, in.ID, upd)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &struct{ Body store.ChatThread }{Body: *th}, nil
		})

	huma.Register(a.huma, func() huma.Operation {
		o := op(http.MethodDelete, "/chat/threads/{id}", "delete-chat-thread", "Delete a thread and its messages", "chat")
		o.DefaultStatus = http.StatusNoContent
		return o
	}(), func(ctx context.Context, in *idIn) (*struct{}, error) {
		if err := threads.Delete(ctx, in.ID); err != nil {
			return nil, a.fail(ctx, err)
		}
		return nil, nil
	})

	huma.Register(a.huma, op(http.MethodGet, "/chat/threads/{id}/messages", "list-chat-messages",
		"A thread's messages, oldest first, with the sources of each answer", "chat"),
		func(ctx context.Context, in *struct {
			ID     string `path:"id" maxLength:"64" doc:"Thread id"`
			Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
			Offset int    `query:"offset" minimum:"0"`
		}) (*struct{ Body Page[store.ChatMessage] }, error) {
			pg, err := threads.Messages(ctx, in.ID, in.Limit, in.Offset)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &struct{ Body Page[store.ChatMessage] }{Body: pageOf(pg)}, nil
		})

	o := op(http.MethodPost, "/chat/threads/{id}/messages", "send-chat-message",
		"Ask in a thread: the answer streams as server-sent events and both turns are stored", "chat")
	o.Description = "The question is stored first. Events as in /chat/stream; the answer is stored when it is complete, " +
		"and earlier turns of the thread are the history of follow-up questions."
	o.Responses = eventStreamResponses()
	huma.Register(a.huma, o, func(ctx context.Context, in *struct {
		ID   string `path:"id" maxLength:"64" doc:"Thread id"`
		Body ThreadMessage
	}) (*huma.StreamResponse, error) {
		req, err := a.chatRequest(ctx, in.Body.Content, nil, in.Body.ChatOptions)
		if err != nil {
			return nil, err
		}
		// Refusals (unknown thread, invalid settings) before the stream
		// begins, so that they are plain problem answers.
		if err := c.CheckMessage(ctx, in.ID, req); err != nil {
			return nil, a.fail(ctx, err)
		}
		id := in.ID
		return &huma.StreamResponse{Body: func(hctx huma.Context) {
			a.streamChat(hctx, func(ctx context.Context, emit func(chat.Event) error) error {
				_, err := c.SendMessage(ctx, id, req, emit)
				return err
			})
		}}, nil
	})
}
