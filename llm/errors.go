package llm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// Stable error codes, shared with the API and the CLI.
const (
	CodeProfileInvalid  = "LLM_PROFILE_INVALID"
	CodeProfileNotFound = "LLM_PROFILE_NOT_FOUND"
	// CodeProfileWrongKind: an embedder was asked of a completion-only
	// profile or the other way round.
	CodeProfileWrongKind = "LLM_PROFILE_WRONG_KIND"
	CodeRateLimited      = "LLM_RATE_LIMITED"
	CodeUnavailable      = "LLM_UNAVAILABLE"
	CodeAuthFailed       = "LLM_AUTH_FAILED"
	CodeRequestRejected  = "LLM_REQUEST_REJECTED"
	CodeTimeout          = "LLM_TIMEOUT"
	CodeBadResponse      = "LLM_BAD_RESPONSE"
	// CodeCanceled: the caller's context was cancelled; never retried.
	CodeCanceled = "LLM_CANCELED"
)

// Class tells a caller (and the retry loop) what to do about a failure.
type Class int

const (
	// Terminal failures are not retried: bad requests, auth, config,
	// cancellation.
	Terminal Class = iota
	// Retryable failures may succeed later: 5xx, 408, network errors,
	// timeouts, truncated bodies.
	Retryable
	// RateLimited failures (HTTP 429) are retried after a backoff and
	// shrink the profile's concurrency limit.
	RateLimited
)

func (c Class) String() string {
	switch c {
	case Retryable:
		return "retryable"
	case RateLimited:
		return "rate_limited"
	default:
		return "terminal"
	}
}

// MarshalText makes a Class read as its name in JSON.
func (c Class) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// Error is a classified LLM failure with a stable code and a remediation
// hint. Its text never contains an API key: messages taken from a provider
// are redacted when the Error is built, and Cause is wrapped so that its
// own text is redacted too.
type Error struct {
	Code string
	Msg  string
	Hint string
	// Profile is the profile the failure belongs to ("" for registry
	// errors that name no single profile).
	Profile string
	Class   Class
	// Status is the HTTP status of the provider's answer (0 when none).
	Status int
	// RetryAfter is the provider's Retry-After, when it sent one.
	RetryAfter time.Duration
	Cause      error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	b.WriteString(": ")
	if e.Profile != "" {
		b.WriteString("profile ")
		b.WriteString(e.Profile)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Cause != nil {
		b.WriteString(": ")
		b.WriteString(e.Cause.Error())
	}
	if e.Hint != "" {
		b.WriteString(" (hint: ")
		b.WriteString(e.Hint)
		b.WriteString(")")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Cause }

// Code returns the stable code of an llm error, or "" when err is not one.
func Code(err error) string {
	var le *Error
	if errors.As(err, &le) {
		return le.Code
	}
	return ""
}

// redacted wraps a cause so that its text never shows a secret while
// errors.As/Is still reach the original (a provider echoing the key in an
// error message must not leak it into logs or API answers).
type redacted struct {
	err     error
	secrets []string
}

func (r *redacted) Error() string { return redact(r.err.Error(), r.secrets) }
func (r *redacted) Unwrap() error { return r.err }

func redact(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec == "" {
			continue
		}
		s = strings.ReplaceAll(s, sec, "[redacted]")
		// Providers often echo a key partly ("sk-abc...wxyz"); hiding a
		// long prefix covers that form too.
		if len(sec) >= 12 {
			s = strings.ReplaceAll(s, sec[:len(sec)-4], "[redacted]")
		}
	}
	return s
}

const maxBodyInError = 512

// sanitize returns err with every secret removed from its text, at every
// level of its chain: go-openai's errors quote the provider's message and
// body, which may echo the key, so they are copied with redacted text
// (errors.As still finds them); anything else is wrapped.
func sanitize(err error, secrets []string) error {
	var ae *openai.APIError
	if errors.As(err, &ae) {
		c := *ae
		c.Message = redact(c.Message, secrets)
		c.Param = nil
		return &c
	}
	var re *openai.RequestError
	if errors.As(err, &re) {
		c := *re
		body := redact(string(re.Body), secrets)
		if len(body) > maxBodyInError {
			// Proxies answer with whole HTML pages; the start says enough.
			body = strings.ToValidUTF8(body[:maxBodyInError], "") + "…"
		}
		c.Body = []byte(body)
		if re.Err != nil {
			c.Err = errors.New(redact(re.Err.Error(), secrets))
		}
		return &c
	}
	return &redacted{err: err, secrets: secrets}
}

// Classify tells the class of any error: an *Error's own class, or the
// class its cause would get (HTTP status of go-openai errors, network
// errors, timeouts). context.Canceled is terminal.
func Classify(err error) Class {
	if err == nil {
		return Terminal
	}
	var le *Error
	if errors.As(err, &le) {
		return le.Class
	}
	class, _ := classifyCause(err)
	return class
}

// classifyCause returns the class and, when known, the HTTP status.
func classifyCause(err error) (Class, int) {
	if errors.Is(err, context.Canceled) {
		return Terminal, 0
	}
	if status := httpStatus(err); status != 0 {
		return classOfStatus(status), status
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, net.ErrClosed) {
		return Retryable, 0
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return Retryable, 0
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return Retryable, 0
	}
	return Terminal, 0
}

func classOfStatus(status int) Class {
	switch {
	case status == http.StatusTooManyRequests:
		return RateLimited
	case status == http.StatusRequestTimeout || status >= 500:
		return Retryable
	default:
		return Terminal
	}
}

func httpStatus(err error) int {
	var ae *openai.APIError
	if errors.As(err, &ae) && ae.HTTPStatusCode != 0 {
		return ae.HTTPStatusCode
	}
	var re *openai.RequestError
	if errors.As(err, &re) && re.HTTPStatusCode != 0 {
		return re.HTTPStatusCode
	}
	var se *statusError
	if errors.As(err, &se) {
		return se.status
	}
	return 0
}

// statusError is a failed HTTP answer seen by our own transport, for the
// cases go-openai reports without a status.
type statusError struct{ status int }

func (e *statusError) Error() string { return fmt.Sprintf("HTTP %d", e.status) }

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP
// date. Unparseable or past values give 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// providerError turns a failed call into a coded *Error. parent is the
// caller's context (to tell its cancellation from our per-attempt timeout).
func providerError(parent context.Context, p *Profile, op string, err error, meta *respMeta) *Error {
	var le *Error
	if errors.As(err, &le) {
		return le
	}
	e := &Error{Profile: p.Name, Cause: sanitize(err, []string{p.APIKey})}
	if perr := parent.Err(); perr != nil {
		e.Class = Terminal
		if errors.Is(perr, context.Canceled) {
			e.Code, e.Msg = CodeCanceled, op+" cancelled"
			e.Hint = "the request was cancelled by the caller"
		} else {
			e.Code, e.Msg = CodeTimeout, op+" ran out of time"
			e.Hint = "the caller's deadline passed; retry with a longer deadline"
		}
		return e
	}
	class, status := classifyCause(err)
	if status == 0 && meta != nil {
		if s := meta.status(); s >= 400 {
			status = s
			class = classOfStatus(s)
		}
	}
	e.Class, e.Status = class, status
	if meta != nil {
		e.RetryAfter = meta.retryAfter()
	}
	switch {
	case status == http.StatusTooManyRequests:
		e.Code, e.Msg = CodeRateLimited, op+" rate limited by the provider"
		e.Hint = "lower the profile's max_concurrency or raise the provider quota"
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Code, e.Msg = CodeAuthFailed, op+" refused: authentication failed"
		e.Hint = fmt.Sprintf("check api_key of LLM profile %q", p.Name)
	case status == http.StatusRequestTimeout:
		e.Code, e.Msg = CodeTimeout, op+" timed out at the provider"
		e.Hint = "the provider was too slow; it is retried automatically"
	case status >= 500:
		e.Code, e.Msg = CodeUnavailable, fmt.Sprintf("%s failed: provider answered %d", op, status)
		e.Hint = "the provider is failing; try again later"
	case status >= 400:
		e.Code, e.Msg = CodeRequestRejected, fmt.Sprintf("%s rejected by the provider (%d)", op, status)
		e.Hint = fmt.Sprintf("check model %q and the request of LLM profile %q", p.Model, p.Name)
	case errors.Is(err, context.DeadlineExceeded):
		e.Code, e.Msg = CodeTimeout, op+" timed out"
		e.Class = Retryable
		e.Hint = fmt.Sprintf("the provider did not answer within %s; raise timeout of LLM profile %q", p.timeout(), p.Name)
	case class == Retryable:
		e.Code, e.Msg = CodeUnavailable, op+" failed: provider unreachable"
		e.Hint = fmt.Sprintf("check base_url of LLM profile %q and the network", p.Name)
	default:
		e.Code, e.Msg = CodeBadResponse, op+" failed"
		e.Hint = "the provider's answer could not be used"
	}
	return e
}

func badResponse(p *Profile, msg string) *Error {
	return &Error{
		Code: CodeBadResponse, Profile: p.Name, Class: Terminal, Msg: msg,
		Hint: fmt.Sprintf("check model and dims of LLM profile %q", p.Name),
	}
}
