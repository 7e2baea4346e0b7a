package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/google/uuid"

	"github.com/factflow/factflow/store"
)

// The execution event stream is read from the persisted timeline, so that
// a client resuming with Last-Event-ID gets every event after it exactly
// once, whichever instance runs the execution. The in-process bus only
// wakes the stream early and carries the per-message stage events, which
// are not persisted and are sent without an id (so they never move a
// client's resume point).

type eventsIn struct {
	ID          string `path:"id" maxLength:"200" example:"nightly-2026-12-01" doc:"Execution id (UUID) or tag"`
	Detail      string `query:"detail" enum:"stages," doc:"stages adds per-message, per-adapter events (not resumable)"`
	Timeout     int    `query:"timeout" minimum:"0" maximum:"86400" default:"3600" doc:"Seconds before the server ends the stream (0 = until the execution ends); reconnect with Last-Event-ID"`
	LastEventID string `header:"Last-Event-ID" maxLength:"64" doc:"Resume after this event id"`
}

func (a *API) registerEvents() {
	o := op(http.MethodGet, "/executions/{id}/events", "stream-execution-events",
		"Server-sent events of an execution: status, progress, dead_letter (and stage with detail=stages)", "executions")
	o.Description = "Each event has a UUIDv7 id, its type as the event name and the event as JSON data. " +
		"Comments keep the connection alive every 15 s. The stream ends after the terminal status event. " +
		"Resume with the Last-Event-ID header."
	o.Responses = eventStreamResponses()
	huma.Register(a.huma, o, func(ctx context.Context, in *eventsIn) (*huma.StreamResponse, error) {
		rec, err := a.execution(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		if in.LastEventID != "" {
			if _, err := uuid.Parse(in.LastEventID); err != nil {
				return nil, problem(http.StatusBadRequest, CodeEventIDInvalid,
					fmt.Sprintf("Last-Event-ID %q is not an event id", in.LastEventID), "send the id of the last event received, or none")
			}
		}
		return &huma.StreamResponse{Body: func(hctx huma.Context) {
			a.streamEvents(hctx.Context(), openEventStream(hctx, in.LastEventID), rec, in.Detail == "stages",
				time.Duration(in.Timeout)*time.Second)
		}}, nil
	})
}

// eventStreamResponses documents an operation answering an event stream.
func eventStreamResponses() map[string]*huma.Response {
	return map[string]*huma.Response{
		"200": {Description: "An event stream", Content: map[string]*huma.MediaType{
			"text/event-stream": {Schema: &huma.Schema{Type: "string"}},
		}},
	}
}

// openEventStream starts answering hctx with an event stream that resumes
// after lastID.
func openEventStream(hctx huma.Context, lastID string) *eventStream {
	_, w := humago.Unwrap(hctx)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // proxies must not buffer a stream
	w.WriteHeader(http.StatusOK)
	return &eventStream{w: bufio.NewWriter(w), rc: http.NewResponseController(w), last: lastID}
}

// streamClock paces a stream: heartbeats, polls of the stored feed, and
// the end of its time.
type streamClock struct {
	heartbeat, poll *time.Ticker
	expire          <-chan time.Time
	timer           *time.Timer
}

func (a *API) newStreamClock(limit time.Duration) *streamClock {
	c := &streamClock{heartbeat: time.NewTicker(a.opts.HeartbeatInterval), poll: time.NewTicker(a.opts.PollInterval)}
	if limit > 0 {
		c.timer = time.NewTimer(limit)
		c.expire = c.timer.C
	}
	return c
}

func (c *streamClock) stop() {
	c.heartbeat.Stop()
	c.poll.Stop()
	if c.timer != nil {
		c.timer.Stop()
	}
}

type eventStream struct {
	w    *bufio.Writer
	rc   *http.ResponseController
	last string // id of the last persisted event sent
}

func (s *eventStream) send(id, typ string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s event: %w", typ, err)
	}
	if id != "" {
		fmt.Fprintf(s.w, "id: %s\n", id)
	}
	fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", typ, b)
	return s.flush()
}

func (s *eventStream) comment(text string) error {
	fmt.Fprintf(s.w, ": %s\n\n", text)
	return s.flush()
}

func (s *eventStream) flush() error {
	if err := s.w.Flush(); err != nil {
		return err
	}
	return s.rc.Flush()
}

func isTerminalStatus(ev store.ExecutionEvent) bool {
	return ev.Type == store.EventStatus && ev.Route == "" && ev.Status.Terminal()
}

func (a *API) streamEvents(ctx context.Context, s *eventStream, rec *store.Execution, stages bool, limit time.Duration) {
	log := a.log.With("execution_id", rec.ID, "correlation_id", requestID(ctx))
	bus, unsubscribe := a.opts.Manager.Bus().Subscribe(256, stages, func(ev store.ExecutionEvent) bool {
		if ev.ExecutionID != rec.ID {
			return false
		}
		switch ev.Type {
		case store.EventStatus, store.EventProgress, store.EventDeadLetter, store.EventStage, store.EventBreaker:
			return true
		}
		return false
	})
	defer unsubscribe()

	// catchUp sends every persisted event after the last one sent; done
	// is true once the terminal status event went out.
	catchUp := func() (done bool, err error) {
		for {
			evs, err := a.opts.DB.Events().List(ctx, rec.ID, s.last, eventPage)
			if err != nil {
				return false, err
			}
			for _, ev := range evs {
				if err := s.send(ev.ID, ev.Type, ev); err != nil {
					return false, err
				}
				s.last = ev.ID
				if isTerminalStatus(ev) {
					return true, nil
				}
			}
			if len(evs) < eventPage {
				return false, nil
			}
		}
	}
	// ended reports an execution that is over although its terminal event
	// is missing (recorded before timelines existed, or lost in an outage):
	// the stream must end anyway.
	ended := func() bool {
		cur, err := a.opts.DB.Executions().Get(ctx, rec.ID)
		return err == nil && cur.Status.Terminal()
	}

	if err := s.comment("stream of execution " + rec.ID); err != nil {
		return
	}
	if done, err := catchUp(); done || err != nil {
		if err != nil && ctx.Err() == nil {
			log.Warn("event stream: reading the timeline", "error", err)
		}
		return
	}
	clock := a.newStreamClock(limit)
	defer clock.stop()
	for {
		var err error
		done := false
		select {
		case <-ctx.Done():
			return
		case <-clock.expire:
			_ = s.comment("stream timeout; reconnect with Last-Event-ID")
			return
		case <-clock.heartbeat.C:
			err = s.comment("heartbeat")
		case ev, ok := <-bus:
			if !ok {
				return
			}
			if ev.Type == store.EventStage {
				err = s.send("", ev.Type, ev)
				break
			}
			done, err = catchUp()
		case <-clock.poll.C:
			if done, err = catchUp(); err == nil && !done && ended() {
				done, err = catchUp()
				done = true
			}
		}
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("event stream ended", "error", err)
			}
			return
		}
		if done {
			return
		}
	}
}
