package httpguard

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// CORS configures which other origins' pages may call the API from a
// browser. Empty AllowedOrigins: same origin only (no CORS headers).
type CORS struct {
	// AllowedOrigins are exact origins (scheme://host[:port]); "*" allows
	// any origin but then never with credentials.
	AllowedOrigins []string
	// AllowCredentials lets the browser send cookies and Authorization.
	AllowCredentials bool
	// MaxAge caches a preflight answer, in seconds (default 600).
	MaxAge int
}

// CodeCORSRefused is the error code of a preflight from an origin not allowed.
const CodeCORSRefused = "CORS_ORIGIN_NOT_ALLOWED"

var (
	corsMethods = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
	corsHeaders = "Authorization, Content-Type, Last-Event-ID, X-Request-ID"
	corsExpose  = "X-Request-ID, Retry-After, Location"
)

// Middleware answers preflights and marks allowed cross-origin responses.
// A request without Origin (or from the server's own origin) passes as is.
func (c CORS) Middleware(refuse RefusalWriter, next http.Handler) http.Handler {
	wildcard := slices.Contains(c.AllowedOrigins, "*")
	maxAge := c.MaxAge
	if maxAge <= 0 {
		maxAge = 600
	}
	allowed := func(origin string) bool {
		return wildcard || slices.ContainsFunc(c.AllowedOrigins, func(o string) bool {
			return strings.EqualFold(strings.TrimRight(o, "/"), origin)
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" || sameOrigin(r, origin) {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if !allowed(origin) {
			if preflight {
				refuse(w, r, http.StatusForbidden, CodeCORSRefused, "origin "+origin+" may not call this API",
					"add it to server.cors.allowed_origins in the app config")
				return
			}
			// Without the CORS headers the browser withholds the answer
			// from the page; non-browser clients are not CORS's concern.
			next.ServeHTTP(w, r)
			return
		}
		if wildcard {
			h.Set("Access-Control-Allow-Origin", "*")
		} else {
			h.Set("Access-Control-Allow-Origin", origin)
			if c.AllowCredentials {
				h.Set("Access-Control-Allow-Credentials", "true")
			}
		}
		if preflight {
			h.Set("Access-Control-Allow-Methods", corsMethods)
			h.Set("Access-Control-Allow-Headers", corsHeaders)
			h.Set("Access-Control-Max-Age", strconv.Itoa(maxAge))
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.Set("Access-Control-Expose-Headers", corsExpose)
		next.ServeHTTP(w, r)
	})
}

// sameOrigin reports whether origin is the server's own address as the
// request reached it.
func sameOrigin(r *http.Request, origin string) bool {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return strings.EqualFold(origin, scheme+"://"+r.Host)
}
