package queue

import (
	"strconv"
	"time"
)

// TimeFormat is how timestamps travel in headers: RFC 3339 with nanoseconds
// in UTC, a strict ISO-8601 form with a zone (some STOMP brokers silently
// drop headers in other forms).
const TimeFormat = time.RFC3339Nano

// FormatTime renders t for a header.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// NotBefore returns the earliest delivery time recorded in HeaderNotBefore,
// or the zero time when there is none (or it does not parse: a message is
// never held back because of a malformed header).
func (m Message) NotBefore() time.Time {
	v := m.Headers[HeaderNotBefore]
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(TimeFormat, v)
	if err != nil {
		return time.Time{}
	}
	return t
}

// RetryCopy returns the message a provider publishes for a Retry outcome:
// same id and body, one more attempt, not delivered before now+o.Delay, and
// o.Headers merged in. Providers publish it before settling the original so
// that a crash in between duplicates rather than loses the message.
func (m Message) RetryCopy(o Outcome, now time.Time) Message {
	c := m.Clone()
	for k, v := range o.Headers {
		c.Headers[k] = v
	}
	c.Headers[HeaderAttempt] = strconv.Itoa(m.Attempt() + 1)
	if o.Delay > 0 {
		c.Headers[HeaderNotBefore] = FormatTime(now.Add(o.Delay))
	} else {
		delete(c.Headers, HeaderNotBefore)
	}
	return c
}
