package queue

import (
	"errors"
	"net/url"
	"strings"
)

// URLParseProblem says why url.Parse refused a broker URL without quoting
// it: the *url.Error holds the whole URL, and the inner errors that quote a
// fragment (an invalid port or escape) may quote part of a password.
func URLParseProblem(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) && !strings.Contains(ue.Err.Error(), `"`) {
		return ue.Err.Error()
	}
	return "malformed URL"
}
