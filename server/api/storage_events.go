package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/factflow/factflow/storage"
	"github.com/factflow/factflow/store"
)

// The storage feed follows the same rules as the execution stream: read
// from the stored feed (exact Last-Event-ID resume), woken early by the
// bus, polled as a fallback.

type storageEventsIn struct {
	ExecutionIDs []string  `query:"execution_id,explode" maxItems:"50" doc:"Only objects of these executions (ids or tags; repeat the parameter)"`
	Route        string    `query:"route" maxLength:"100"`
	Stage        string    `query:"stage" maxLength:"100"`
	Path         string    `query:"path" maxLength:"1024" doc:"Only keys starting with this prefix"`
	Extension    string    `query:"extension" maxLength:"200" doc:"Comma-separated key suffixes, e.g. .md,.json"`
	KeepOpen     bool      `query:"keep_open" doc:"Keep streaming after every watched execution ended"`
	Timeout      int       `query:"timeout" minimum:"0" maximum:"86400" default:"300" doc:"Seconds before the server ends the stream (0 = no limit); reconnect with Last-Event-ID"`
	Since        time.Time `query:"since" doc:"Start with objects written at or after this time (RFC 3339) instead of the beginning of the feed; ignored when Last-Event-ID is sent"`
	LastEventID  string    `header:"Last-Event-ID" maxLength:"64"`
}

func splitExtensions(s string) []string {
	var out []string
	for e := range strings.SplitSeq(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

func (a *API) registerStorageEvents() {
	o := op(http.MethodGet, "/storage/events", "stream-storage-events",
		"Server-sent events of objects written (storage.object.created)", "storage")
	o.Description = "Each event has a UUIDv7 id and the object's key, size, type, execution, route and stage. " +
		"Resume with Last-Event-ID. With execution_id filters the stream ends once every watched execution " +
		"has ended and its objects were sent, unless keep_open is set."
	o.Responses = eventStreamResponses()
	huma.Register(a.huma, o, func(ctx context.Context, in *storageEventsIn) (*huma.StreamResponse, error) {
		f := store.StorageEventFilter{Route: in.Route, Stage: in.Stage, KeyPrefix: in.Path,
			Extensions: splitExtensions(in.Extension), AfterID: in.LastEventID}
		if in.LastEventID != "" {
			if _, err := uuid.Parse(in.LastEventID); err != nil {
				return nil, problem(http.StatusBadRequest, CodeEventIDInvalid,
					fmt.Sprintf("Last-Event-ID %q is not an event id", in.LastEventID), "send the id of the last event received, or none")
			}
		}
		for _, ref := range in.ExecutionIDs {
			rec, err := a.execution(ctx, ref)
			if err != nil {
				return nil, err
			}
			f.ExecutionIDs = append(f.ExecutionIDs, rec.ID)
		}
		from := in.LastEventID
		if from == "" && !in.Since.IsZero() {
			from = eventIDFloor(in.Since)
		}
		return &huma.StreamResponse{Body: func(hctx huma.Context) {
			a.streamStorageEvents(hctx.Context(), openEventStream(hctx, from), f, in.KeepOpen || len(f.ExecutionIDs) == 0,
				time.Duration(in.Timeout)*time.Second)
		}}, nil
	})
}

// eventIDFloor is the smallest UUIDv7 of t's millisecond: event ids are
// UUIDv7, so every event stored at or after t sorts after it.
func eventIDFloor(t time.Time) string {
	var u uuid.UUID
	ms := uint64(max(t.UnixMilli(), 0))
	for i := 0; i < 6; i++ {
		u[i] = byte(ms >> (40 - 8*i))
	}
	u[6] = 0x70 // version 7
	u[8] = 0x80 // RFC 4122 variant
	return u.String()
}

func (a *API) streamStorageEvents(ctx context.Context, s *eventStream, f store.StorageEventFilter, keepOpen bool, limit time.Duration) {
	log := a.log.With("correlation_id", requestID(ctx))
	watched := map[string]bool{}
	for _, id := range f.ExecutionIDs {
		watched[id] = true
	}
	bus, unsubscribe := a.opts.Manager.Bus().Subscribe(256, false, func(ev store.ExecutionEvent) bool {
		return ev.Type == storage.EventObjectCreated && (len(watched) == 0 || watched[ev.ExecutionID])
	})
	defer unsubscribe()

	catchUp := func() error {
		for {
			f.AfterID = s.last
			f.Limit = eventPage
			evs, err := a.opts.DB.StorageEvents().List(ctx, f)
			if err != nil {
				return err
			}
			for _, ev := range evs {
				if err := s.send(ev.ID, ev.Type, ev); err != nil {
					return err
				}
				s.last = ev.ID
			}
			if len(evs) < eventPage {
				return nil
			}
		}
	}
	// allEnded: every watched execution is over, so nothing more comes.
	allEnded := func() bool {
		for id := range watched {
			rec, err := a.opts.DB.Executions().Get(ctx, id)
			if err != nil || !rec.Status.Terminal() {
				return false
			}
		}
		return true
	}

	if err := s.comment("storage events"); err != nil {
		return
	}
	clock := a.newStreamClock(limit)
	defer clock.stop()
	for {
		// The end check comes before the catch-up: whatever an ended
		// execution wrote is stored by then and goes out below.
		ended := !keepOpen && allEnded()
		if err := catchUp(); err != nil {
			if ctx.Err() == nil {
				log.Warn("storage event stream ended", "error", err)
			}
			return
		}
		if ended {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-clock.expire:
			_ = s.comment("stream timeout; reconnect with Last-Event-ID")
			return
		case <-clock.heartbeat.C:
			if s.comment("heartbeat") != nil {
				return
			}
		case _, ok := <-bus:
			if !ok {
				return
			}
			// One catch-up serves every event that woke us meanwhile.
			for len(bus) > 0 {
				<-bus
			}
		case <-clock.poll.C:
		}
	}
}
