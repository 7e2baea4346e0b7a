package stomp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/factflow/factflow/queue"
)

// management talks to the broker's Jolokia endpoint (Artemis' or
// Classic's MBeans, by flavor): STOMP itself can neither count a queue's
// messages nor delete a queue.
type management struct {
	flavor   string
	endpoint string
	user     string
	password string
	client   *http.Client

	mu     sync.Mutex
	broker string // the broker's MBean name, found on first use
}

func newManagement(raw, flavor string, client *http.Client) (*management, error) {
	u, err := url.Parse(raw)
	if err != nil {
		err = errors.New(queue.URLParseProblem(err))
	} else if u.Host == "" {
		err = fmt.Errorf("no host in %q", redact(raw))
	}
	if err != nil {
		return nil, codedError(codeManagement, "set the management URL to http://user:password@host:8161"+defaultManagementPath(flavor)+
			" (percent-encode reserved characters such as # / ? @ in the password)", fmt.Errorf("invalid management URL: %w", err))
	}
	m := &management{flavor: flavor, client: client}
	if u.User != nil {
		m.user = u.User.Username()
		m.password, _ = u.User.Password()
		u.User = nil
	}
	m.endpoint = strings.TrimSuffix(u.String(), "/") + "/"
	return m, nil
}

type jolokiaReply struct {
	Status int             `json:"status"`
	Value  json.RawMessage `json:"value"`
	Error  string          `json:"error"`
	Type   string          `json:"error_type"`
}

func (m *management) call(ctx context.Context, req map[string]any) (jolokiaReply, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return jolokiaReply{}, err
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, m.endpoint, bytes.NewReader(body))
	if err != nil {
		return jolokiaReply{}, err
	}
	r.Header.Set("Content-Type", "application/json")
	// Jolokia's CORS policy rejects requests without an allowed origin.
	r.Header.Set("Origin", "http://"+r.URL.Host)
	if m.user != "" {
		r.SetBasicAuth(m.user, m.password)
	}
	resp, err := m.client.Do(r)
	if err != nil {
		return jolokiaReply{}, codedError(codeManagement, "is the broker's web server (Jolokia) reachable?", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return jolokiaReply{}, codedError(codeManagement, "check the management URL and credentials", fmt.Errorf("jolokia answered HTTP %d", resp.StatusCode))
	}
	var rep jolokiaReply
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		return jolokiaReply{}, codedError(codeManagement, "", fmt.Errorf("decoding jolokia reply: %w", err))
	}
	return rep, nil
}

func (m *management) brokerName(ctx context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.broker != "" {
		return m.broker, nil
	}
	rep, err := m.call(ctx, map[string]any{"type": "search", "mbean": "org.apache.activemq.artemis:broker=*"})
	if err != nil {
		return "", err
	}
	var names []string
	if rep.Status != http.StatusOK || json.Unmarshal(rep.Value, &names) != nil || len(names) == 0 {
		return "", codedError(codeManagement, "", fmt.Errorf("no Artemis broker MBean: %s", rep.Error))
	}
	m.broker = names[0]
	return m.broker, nil
}

func quoteMBean(s string) string { return `"` + s + `"` }

// counts returns a queue's MessageCount (which includes delivering and
// scheduled messages) and DeliveringCount; a missing queue counts 0.
func (m *management) counts(ctx context.Context, name string) (total, delivering int64, err error) {
	if m.flavor == FlavorClassic {
		return m.classicCounts(ctx, name)
	}
	broker, err := m.brokerName(ctx)
	if err != nil {
		return 0, 0, err
	}
	mbean := fmt.Sprintf("%s,component=addresses,address=%s,subcomponent=queues,routing-type=%s,queue=%s",
		broker, quoteMBean(name), quoteMBean("anycast"), quoteMBean(name))
	rep, err := m.call(ctx, map[string]any{"type": "read", "mbean": mbean, "attribute": []string{"MessageCount", "DeliveringCount"}})
	if err != nil {
		return 0, 0, err
	}
	if rep.Status == http.StatusNotFound || strings.Contains(rep.Type, "InstanceNotFound") {
		return 0, 0, nil
	}
	if rep.Status != http.StatusOK {
		return 0, 0, codedError(codeManagement, "", fmt.Errorf("reading %s: %s", name, rep.Error))
	}
	var v struct{ MessageCount, DeliveringCount int64 }
	if err := json.Unmarshal(rep.Value, &v); err != nil {
		return 0, 0, codedError(codeManagement, "", fmt.Errorf("decoding counts of %s: %w", name, err))
	}
	return v.MessageCount, v.DeliveringCount, nil
}

func (m *management) exec(ctx context.Context, op string, args ...any) (json.RawMessage, error) {
	broker, err := m.brokerName(ctx)
	if err != nil {
		return nil, err
	}
	rep, err := m.call(ctx, map[string]any{"type": "exec", "mbean": broker, "operation": op, "arguments": args})
	if err != nil {
		return nil, err
	}
	if rep.Status != http.StatusOK {
		return nil, codedError(codeManagement, "", fmt.Errorf("%s: %s", op, rep.Error))
	}
	return rep.Value, nil
}

// queuesWithPrefix lists the anycast queues whose names start with prefix.
func (m *management) queuesWithPrefix(ctx context.Context, prefix string) ([]string, error) {
	if m.flavor == FlavorClassic {
		return m.classicQueuesWithPrefix(ctx, prefix)
	}
	v, err := m.exec(ctx, "getQueueNames(java.lang.String)", "ANYCAST")
	if err != nil {
		return nil, err
	}
	var all []string
	if err := json.Unmarshal(v, &all); err != nil {
		return nil, codedError(codeManagement, "", fmt.Errorf("decoding queue names: %w", err))
	}
	var out []string
	for _, q := range all {
		if strings.HasPrefix(q, prefix) {
			out = append(out, q)
		}
	}
	return out, nil
}

// destroy deletes a queue with its messages and consumers, and its address.
func (m *management) destroy(ctx context.Context, name string) error {
	if m.flavor == FlavorClassic {
		return m.classicDestroy(ctx, name)
	}
	_, err := m.exec(ctx, "destroyQueue(java.lang.String,boolean,boolean)", name, true, true)
	if err != nil && strings.Contains(err.Error(), "AMQ229017") { // queue does not exist
		return nil
	}
	return err
}
