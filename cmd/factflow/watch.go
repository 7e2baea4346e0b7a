package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/factflow/factflow/orchestrator"
	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/store"
)

// sseEvent is one dispatched server-sent event.
type sseEvent struct {
	ID   string // the stream's last event id when the event was dispatched
	Type string // "message" when the stream named none
	Data string
}

// maxSSELine bounds one line of a stream, so a broken server cannot make
// the client buffer without end.
const maxSSELine = 8 << 20

var errSSELineTooLong = errors.New("event stream line longer than 8 MiB")

// sseParser reads the text/event-stream format (WHATWG HTML, "Server-sent
// events"): lines end in CRLF, LF or CR; a blank line dispatches the
// event; lines starting with ":" are comments; a last, unterminated event
// is discarded.
type sseParser struct {
	r       *bufio.Reader
	first   bool // no line read yet: a byte order mark may lead
	skipLF  bool // the last line ended in CR: a following LF belongs to it
	lastID  string
	retry   time.Duration // the last valid retry field; 0 when none came
	typ     string
	data    bytes.Buffer
	hasData bool
}

func newSSEParser(r io.Reader) *sseParser {
	return &sseParser{r: bufio.NewReader(r), first: true}
}

// next returns the next event, or the reader's error (io.EOF at the end).
func (p *sseParser) next() (sseEvent, error) {
	for {
		line, err := p.readLine()
		if err != nil {
			return sseEvent{}, err
		}
		if len(line) == 0 {
			if !p.hasData {
				p.typ = ""
				continue
			}
			ev := sseEvent{ID: p.lastID, Type: p.typ, Data: strings.TrimSuffix(p.data.String(), "\n")}
			if ev.Type == "" {
				ev.Type = "message"
			}
			p.typ, p.hasData = "", false
			p.data.Reset()
			return ev, nil
		}
		if line[0] == ':' {
			continue
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(name) {
		case "event":
			p.typ = string(value)
		case "data":
			p.data.Write(value)
			p.data.WriteByte('\n')
			p.hasData = true
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				p.lastID = string(value)
			}
		case "retry":
			if ms, err := strconv.ParseUint(string(value), 10, 31); err == nil && allDigits(value) {
				p.retry = time.Duration(ms) * time.Millisecond
			}
		}
	}
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// readLine reads one line without its end. It never reads ahead past a
// line end, so an event is dispatched as soon as its blank line arrives.
func (p *sseParser) readLine() ([]byte, error) {
	var line []byte
	for {
		b, err := p.r.ReadByte()
		if err != nil {
			return nil, err // a partial line is discarded with its event
		}
		if p.skipLF {
			p.skipLF = false
			if b == '\n' {
				continue
			}
		}
		if b == '\n' || b == '\r' {
			p.skipLF = b == '\r'
			if p.first {
				p.first = false
				line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
			}
			return line, nil
		}
		if len(line) >= maxSSELine {
			return nil, errSSELineTooLong
		}
		line = append(line, b)
	}
}

// Reconnection timing of a follower.
const (
	reconnectMin = 500 * time.Millisecond
	reconnectMax = 5 * time.Second
	// streamIdle ends a connection that has sent nothing, not even a
	// heartbeat comment (every 15 s), for this long.
	streamIdle = 60 * time.Second
	// unreachableFor is how long a follower keeps retrying a server that
	// does not answer before it gives up.
	unreachableFor = 30 * time.Second
)

// follower follows one execution's event stream to its end, across
// dropped connections: it resumes with Last-Event-ID, drops events it has
// already delivered, and checks the execution record whenever a stream
// ends without a terminal status.
type follower struct {
	c       *client
	id      string // execution UUID
	stages  bool
	onEvent func(api.Event) error

	lastID string
	seen   map[string]struct{}
	retry  time.Duration // what the server asked for, if anything
}

// errStreamGone: the stream ended or dropped; reconnecting may help.
var errStreamGone = errors.New("event stream ended")

// run returns the execution's terminal record.
func (f *follower) run(ctx context.Context) (api.Execution, error) {
	if f.seen == nil {
		f.seen = map[string]struct{}{}
	}
	delay := reconnectMin
	var downSince time.Time
	for {
		progressed, err := f.stream(ctx)
		if err == nil {
			break // terminal status seen
		}
		if ctx.Err() != nil {
			return api.Execution{}, ctx.Err()
		}
		if !errors.Is(err, errStreamGone) && !transient(err) {
			return api.Execution{}, err // the server refused: retrying won't help
		}
		if progressed {
			delay, downSince = reconnectMin, time.Time{}
		}
		// The stream may have ended with the execution (or a server
		// that cut it before the last event): the record tells.
		var ex api.Execution
		gerr := f.c.get(ctx, "/executions/"+seg(f.id), nil, &ex)
		switch {
		case gerr == nil:
			downSince = time.Time{}
			if ex.Status.Terminal() {
				if !progressed {
					return ex, nil
				}
				// The rest of its events are stored: fetch them at once.
				continue
			}
		case transient(gerr):
			if ctx.Err() != nil {
				return api.Execution{}, ctx.Err()
			}
			if downSince.IsZero() {
				downSince = time.Now()
			} else if time.Since(downSince) > unreachableFor {
				return api.Execution{}, gerr
			}
		default:
			return api.Execution{}, gerr
		}
		wait := delay
		if f.retry > 0 {
			wait = min(f.retry, time.Minute)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return api.Execution{}, ctx.Err()
		case <-t.C:
		}
		delay = min(delay*2, reconnectMax)
	}
	var ex api.Execution
	if err := f.c.get(ctx, "/executions/"+seg(f.id), nil, &ex); err != nil {
		return api.Execution{}, err
	}
	return ex, nil
}

// transient reports an error a later attempt may not meet: no answer, or
// a server (or a proxy before it) that is restarting or overloaded.
func transient(err error) bool {
	var ue *unreachableError
	if errors.As(err, &ue) {
		return true
	}
	var ae *apiError
	if errors.As(err, &ae) {
		switch ae.problem.Status {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
	}
	return false
}

// stream reads one connection. nil means the terminal status arrived;
// progressed reports whether any new event did.
func (f *follower) stream(ctx context.Context) (progressed bool, err error) {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	q := url.Values{}
	if f.stages {
		q.Set("detail", "stages")
	}
	h := http.Header{"Accept": {"text/event-stream"}}
	if f.lastID != "" {
		h.Set("Last-Event-ID", f.lastID)
	}
	resp, err := f.c.send(cctx, http.MethodGet, "/executions/"+seg(f.id)+"/events", q, nil, h)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	idle := time.AfterFunc(streamIdle, cancel)
	defer idle.Stop()
	p := newSSEParser(&activityReader{r: resp.Body, idle: idle})
	for {
		sev, err := p.next()
		if p.retry > 0 {
			f.retry = p.retry
		}
		if err != nil {
			return progressed, errStreamGone
		}
		var ev api.Event
		if err := json.Unmarshal([]byte(sev.Data), &ev); err != nil {
			return progressed, fmt.Errorf("event %s of the stream is not JSON: %w", sev.ID, err)
		}
		if ev.Type == "" {
			ev.Type = sev.Type
		}
		// Stage events come without an SSE id (they are not stored and
		// cannot be resumed), so the stream's last id still names the
		// event before them: they are neither deduplicated nor a resume
		// point.
		if ev.Type != store.EventStage && sev.ID != "" {
			if _, dup := f.seen[sev.ID]; dup {
				continue
			}
			f.seen[sev.ID] = struct{}{}
			f.lastID = sev.ID
		}
		progressed = true
		if f.onEvent != nil {
			if err := f.onEvent(ev); err != nil {
				return progressed, err
			}
		}
		// Route-level status events (pause, resume) carry the
		// execution's status too; only the execution's own ends it.
		if ev.Type == store.EventStatus && ev.Route == "" && ev.Status.Terminal() {
			return progressed, nil
		}
	}
}

// activityReader pushes back the idle deadline whenever bytes arrive.
type activityReader struct {
	r    io.Reader
	idle *time.Timer
}

func (a *activityReader) Read(b []byte) (int, error) {
	n, err := a.r.Read(b)
	if n > 0 {
		a.idle.Reset(streamIdle)
	}
	return n, err
}

// progressStats reads the per-route counts a progress event carries.
func progressStats(ev api.Event) (orchestrator.Stats, bool) {
	b, err := json.Marshal(ev.Data)
	if err != nil {
		return orchestrator.Stats{}, false
	}
	var st orchestrator.Stats
	if err := json.Unmarshal(b, &st); err != nil {
		return orchestrator.Stats{}, false
	}
	st.ExecutionID = ev.ExecutionID
	st.Status = string(ev.Status)
	return st, true
}

// eventLine is the one-line, human form of an event.
func eventLine(ev api.Event) string {
	var b strings.Builder
	ts := ev.CreatedAt
	if ts.IsZero() {
		ts = time.Now()
	}
	fmt.Fprintf(&b, "%s %-11s", ts.Local().Format("15:04:05.000"), ev.Type)
	switch ev.Type {
	case store.EventProgress:
		st, ok := progressStats(ev)
		if !ok {
			break
		}
		fmt.Fprintf(&b, " outstanding %d, artefacts %d", st.Outstanding, st.Artefacts)
		for _, r := range st.Routes {
			fmt.Fprintf(&b, " | %s: %d done, %d failed, %d retried, %d dead, %d in flight", r.Route,
				r.Completed, r.Failed, r.Retried, r.DeadLettered, r.InFlight)
			if r.Paused {
				b.WriteString(" (paused)")
			}
		}
		return b.String()
	case store.EventStatus:
		b.WriteString(" " + string(ev.Status))
	}
	if ev.Route != "" {
		b.WriteString(" route " + ev.Route)
	}
	if ev.Reason != "" {
		b.WriteString(": " + oneLine(ev.Reason))
	}
	if len(ev.Data) > 0 {
		keys := make([]string, 0, len(ev.Data))
		for k := range ev.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v, err := json.Marshal(ev.Data[k])
			if err != nil {
				continue
			}
			s := string(v)
			if str, ok := ev.Data[k].(string); ok && !strings.ContainsAny(str, " \t\n\"") {
				s = str
			}
			fmt.Fprintf(&b, " %s=%s", k, s)
		}
	}
	return b.String()
}
