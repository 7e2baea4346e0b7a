package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// reservedPrefixes are the server's own paths: the UI's client-side
// routing must never answer them, so a mistyped API path is a 404 problem
// rather than the UI's HTML.
var reservedPrefixes = []string{"/api", "/docs", "/openapi", "/metrics", "/site"}

// reserved reports whether p belongs to the server rather than the UI.
func reserved(p string) bool {
	for _, pre := range reservedPrefixes {
		if p == pre || strings.HasPrefix(p, pre+"/") || (pre == "/openapi" && strings.HasPrefix(p, pre)) {
			return true
		}
	}
	return false
}

// serveUI answers every GET no operation claimed: the UI, or a 404 problem
// for the server's reserved paths.
func (a *API) serveUI(ui http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if reserved(r.URL.Path) {
			writeProblem(w, r, http.StatusNotFound, CodeNotFound, "no operation at "+r.URL.Path,
				"the operations are listed at /openapi.json")
			return
		}
		ui.ServeHTTP(w, r)
	})
}

// writeProblem answers a request refused before any operation ran (in
// middleware) with the same problem shape the operations use.
func writeProblem(w http.ResponseWriter, r *http.Request, status int, code, detail, hint string) {
	p := problem(status, code, detail, hint)
	p.CorrelationID = requestID(r.Context())
	p.Timestamp = time.Now().UTC()
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}
