package webhooks_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/factflow/factflow/webhooks"
)

// verifySignature is what a receiver in any language does, here with the
// standard library only: recompute HMAC-SHA256(secret, timestamp + "." +
// body), compare in constant time, and refuse old timestamps (replays).
func verifySignature(secret string, r *http.Request, body []byte) error {
	ts := r.Header.Get("X-Factflow-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("bad timestamp")
	}
	if age := time.Since(time.Unix(sec, 0)); age > 5*time.Minute || age < -5*time.Minute {
		return fmt.Errorf("timestamp outside the replay window")
	}
	got, err := hex.DecodeString(strings.TrimPrefix(r.Header.Get("X-Factflow-Signature"), "sha256="))
	if err != nil {
		return fmt.Errorf("bad signature")
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return fmt.Errorf("signature mismatch")
	}
	return nil
}

// A receiver verifies each request before trusting it, and deduplicates on
// X-Factflow-Delivery: a delivery may arrive more than once.
func Example_receiver() {
	const secret = "the secret shown once when the subscription was created"
	seen := map[string]bool{}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		if err := verifySignature(secret, r, body); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized) // 4xx: not retried
			return
		}
		if id := r.Header.Get("X-Factflow-Delivery"); seen[id] {
			w.WriteHeader(http.StatusOK) // already handled: acknowledge again
			return
		} else {
			seen[id] = true
		}
		fmt.Println("accepted", r.Header.Get("X-Factflow-Event"))
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewServer(handler)
	defer srv.Close()

	// What Factflow sends (webhooks.Sign computes the same signature).
	send := func(body, signSecret string) int {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader([]byte(body)))
		req.Header.Set("X-Factflow-Event", "execution.completed")
		req.Header.Set("X-Factflow-Delivery", "0193f0c2-7d7e-7000-8000-000000000001")
		req.Header.Set("X-Factflow-Timestamp", ts)
		req.Header.Set("X-Factflow-Signature", webhooks.Sign(signSecret, ts, []byte(body)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	fmt.Println(send(`{"type":"execution.completed"}`, "a forged secret"))
	fmt.Println(send(`{"type":"execution.completed"}`, secret))
	fmt.Println(send(`{"type":"execution.completed"}`, secret))
	// Output:
	// 401
	// accepted execution.completed
	// 204
	// 200
}
