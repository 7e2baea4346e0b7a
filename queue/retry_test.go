package queue

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestNotBefore(t *testing.T) {
	at := time.Date(2026, 11, 23, 17, 51, 0, 123456789, time.FixedZone("CET", 3600))
	tests := []struct {
		name   string
		header string
		want   time.Time
	}{
		{"absent", "", time.Time{}},
		{"formatted", FormatTime(at), at},
		{"with offset", "2026-11-23T17:51:00.123456789+01:00", at},
		{"malformed", "tomorrow", time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := Message{Headers: map[string]string{}}
			if tc.header != "" {
				m.Headers[HeaderNotBefore] = tc.header
			}
			require.True(t, tc.want.Equal(m.NotBefore()), "got %s", m.NotBefore())
		})
	}
	require.Equal(t, "2026-11-23T16:51:00.123456789Z", FormatTime(at), "header times are UTC")
}

func TestRetryCopy(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	orig := Message{ID: "m1", Headers: map[string]string{HeaderAttempt: "2", "x": "y"}, Body: []byte("body")}

	c := orig.RetryCopy(Outcome{Action: ActionRetry, Delay: 5 * time.Second, Headers: map[string]string{HeaderFirstFailedAt: "t0"}}, now)
	require.Equal(t, "m1", c.ID)
	require.Equal(t, orig.Body, c.Body)
	require.Equal(t, 3, c.Attempt())
	require.Equal(t, "y", c.Headers["x"])
	require.Equal(t, "t0", c.Headers[HeaderFirstFailedAt])
	require.True(t, now.Add(5*time.Second).Equal(c.NotBefore()))
	require.Equal(t, "2", orig.Headers[HeaderAttempt], "the original is untouched")
	require.NotContains(t, orig.Headers, HeaderFirstFailedAt)

	// Without a delay a stale not-before time goes away.
	c.Headers[HeaderNotBefore] = FormatTime(now.Add(time.Hour))
	c2 := c.RetryCopy(Retry(0), now)
	require.Equal(t, 4, c2.Attempt())
	require.NotContains(t, c2.Headers, HeaderNotBefore)

	// No attempt header means this was attempt 1.
	require.Equal(t, 2, Message{}.RetryCopy(Retry(0), now).Attempt())
}
