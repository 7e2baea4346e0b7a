package main

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/require"
)

// parseAll reads every event of a stream.
func parseAll(r io.Reader) ([]sseEvent, *sseParser, error) {
	p := newSSEParser(r)
	var out []sseEvent
	for {
		ev, err := p.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return out, p, err
		}
		out = append(out, ev)
	}
}

func TestClientSSEParse(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		in    string
		want  []sseEvent
		retry time.Duration
	}{
		"named event with id": {
			in:   "id: 1\nevent: status\ndata: {\"a\":1}\n\n",
			want: []sseEvent{{ID: "1", Type: "status", Data: `{"a":1}`}},
		},
		"multi-line data joined with LF": {
			in:   "data: one\ndata:two\ndata:  three\n\n",
			want: []sseEvent{{Type: "message", Data: "one\ntwo\n three"}},
		},
		"comments and unknown fields are ignored": {
			in:   ": heartbeat\n\n:another\nfoo: bar\ndata: x\n: inside\n\n",
			want: []sseEvent{{Type: "message", Data: "x"}},
		},
		"id persists until changed, empty id resets": {
			in: "id: a\ndata: 1\n\ndata: 2\n\nid\ndata: 3\n\n",
			want: []sseEvent{{ID: "a", Type: "message", Data: "1"}, {ID: "a", Type: "message", Data: "2"},
				{ID: "", Type: "message", Data: "3"}},
		},
		"id with NUL is ignored": {
			in:   "id: ok\n\nid: b\x00d\ndata: x\n\n",
			want: []sseEvent{{ID: "ok", Type: "message", Data: "x"}},
		},
		"event without data is not dispatched, its type is dropped": {
			in:   "event: lonely\n\ndata: x\n\n",
			want: []sseEvent{{Type: "message", Data: "x"}},
		},
		"empty data line dispatches an empty event": {
			in:   "data\n\ndata:\n\n",
			want: []sseEvent{{Type: "message", Data: ""}, {Type: "message", Data: ""}},
		},
		"CRLF and CR line ends": {
			in:   "event: a\r\ndata: 1\r\n\r\nevent: b\rdata: 2\r\rdata: 3\n\r\n",
			want: []sseEvent{{Type: "a", Data: "1"}, {Type: "b", Data: "2"}, {Type: "message", Data: "3"}},
		},
		"a leading byte order mark is dropped": {
			in:   "\xef\xbb\xbfdata: x\n\n",
			want: []sseEvent{{Type: "message", Data: "x"}},
		},
		"an unterminated last event is discarded": {
			in:   "data: done\n\ndata: cut",
			want: []sseEvent{{Type: "message", Data: "done"}},
		},
		"an event without its blank line is discarded": {
			in:   "data: done\n\ndata: cut\n",
			want: []sseEvent{{Type: "message", Data: "done"}},
		},
		"retry takes digits only": {
			in:    "retry: 2500\n\nretry: 12x\n\nretry:\n\ndata: x\n\n",
			want:  []sseEvent{{Type: "message", Data: "x"}},
			retry: 2500 * time.Millisecond,
		},
		"only one space after the colon is stripped": {
			in:   "event:  spaced\ndata:\tx\n\n",
			want: []sseEvent{{Type: " spaced", Data: "\tx"}},
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, r := range []io.Reader{strings.NewReader(tc.in), iotest.OneByteReader(strings.NewReader(tc.in))} {
				got, p, err := parseAll(r)
				require.NoError(t, err)
				require.Equal(t, tc.want, got)
				require.Equal(t, tc.retry, p.retry)
			}
		})
	}
}

// An event is dispatched when its blank line arrives, without waiting
// for more bytes (a stream idles between events).
func TestClientSSEDispatchesWithoutReadAhead(t *testing.T) {
	t.Parallel()
	pr, pw := io.Pipe()
	p := newSSEParser(pr)
	got := make(chan sseEvent)
	go func() {
		ev, err := p.next()
		if err == nil {
			got <- ev
		}
		close(got)
	}()
	_, err := pw.Write([]byte("id: 7\nevent: progress\ndata: {}\r"))
	require.NoError(t, err)
	_, err = pw.Write([]byte("\r"))
	require.NoError(t, err)
	ev, ok := <-got
	require.True(t, ok, "the event came only after more bytes")
	require.Equal(t, sseEvent{ID: "7", Type: "progress", Data: "{}"}, ev)
	require.NoError(t, pw.Close())
}

func TestClientSSELineLimit(t *testing.T) {
	t.Parallel()
	_, _, err := parseAll(io.MultiReader(strings.NewReader("data: "), strings.NewReader(strings.Repeat("x", maxSSELine+1))))
	require.ErrorIs(t, err, errSSELineTooLong)
}

// encodeSSE writes events the way a server would.
func encodeSSE(evs []sseEvent) string {
	var b strings.Builder
	for _, ev := range evs {
		b.WriteString("id: " + ev.ID + "\n")
		b.WriteString("event: " + ev.Type + "\n")
		for _, line := range strings.Split(ev.Data, "\n") {
			b.WriteString("data: " + line + "\n")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// FuzzSSEParse: any input parses the same whole or a byte at a time;
// fields never carry line ends; and what was parsed, written again, parses
// to the same events.
func FuzzSSEParse(f *testing.F) {
	for _, s := range []string{
		"id: 1\nevent: status\ndata: {\"a\":1}\n\n",
		"data: a\r\ndata: b\r\rdata\n\n: c\n\n",
		"\xef\xbb\xbfretry: 10\nid: x\x00y\ndata:  z\n\n",
		"event: e\n\ndata: cut",
		"\r\n\r\n\n\r",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		whole, _, err := parseAll(strings.NewReader(string(in)))
		require.NoError(t, err)
		bytewise, _, err := parseAll(iotest.OneByteReader(strings.NewReader(string(in))))
		require.NoError(t, err)
		require.Equal(t, whole, bytewise)
		for _, ev := range whole {
			require.NotContains(t, ev.Type, "\n")
			require.NotContains(t, ev.Type, "\r")
			require.NotEmpty(t, ev.Type)
			require.False(t, strings.ContainsAny(ev.ID, "\r\n\x00"), "id %q", ev.ID)
			require.NotContains(t, ev.Data, "\r")
		}
		again, _, err := parseAll(strings.NewReader(encodeSSE(whole)))
		require.NoError(t, err)
		require.Equal(t, whole, again)
	})
}
