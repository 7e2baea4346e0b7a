package pulsar

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/apache/pulsar-client-go/pulsaradmin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin/auth"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/rest"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/factflow/factflow/queue"
)

// management talks to the broker's admin REST API: the binary protocol
// can neither count a subscription's messages, list a namespace's topics
// nor delete a topic.
type management struct {
	client pulsaradmin.Client
	auth   auth.Provider
	url    string // redacted, for hints
}

func newManagement(adminURL, token string) (*management, error) {
	// Parsed here, so that the admin client's own parse error, which
	// quotes the URL with its password, never happens.
	if _, err := url.Parse(adminURL); err != nil {
		return nil, codedError(codeManagement, "use http://host:8080 (percent-encode reserved characters such as # / ? @ in a password)",
			fmt.Errorf("invalid admin URL: %s", queue.URLParseProblem(err)))
	}
	cfg := &pulsaradmin.Config{WebServiceURL: adminURL, Token: token}
	prov, err := auth.GetAuthProvider(cfg)
	if err != nil {
		return nil, codedError(codeManagement, "check the admin URL and token", fmt.Errorf("configuring the admin client: %w", err))
	}
	// The admin client is built on a provider kept here, so that Close can
	// drop its keep-alive connections.
	c, err := admin.NewPulsarClientWithAuthProvider(cfg, prov)
	if err != nil {
		return nil, codedError(codeManagement, "check the admin URL and token", fmt.Errorf("configuring the admin client: %w", err))
	}
	return &management{client: c, auth: prov, url: redact(adminURL)}, nil
}

func (m *management) close() {
	if t, ok := m.auth.Transport().(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
}

func notFound(err error) bool {
	var re rest.Error
	if errors.As(err, &re) {
		return re.Code == http.StatusNotFound
	}
	var rp *rest.Error
	return errors.As(err, &rp) && rp.Code == http.StatusNotFound
}

func (m *management) wrap(what string, err error) error {
	return codedError(codeManagement, "is the broker's admin API reachable at "+m.url+"?", fmt.Errorf("%s: %w", what, err))
}

// depth reads the topic's subscription with the largest backlog: a
// destination is consumed by one group in practice, and the provider
// creates the default group's subscription before the first publish.
func (m *management) depth(ctx context.Context, topic string) (queue.Depth, error) {
	tn, err := utils.GetTopicName(topic)
	if err != nil {
		return queue.Depth{}, codedError(codeInvalidName, "", err)
	}
	st, err := m.client.Topics().GetStatsWithContext(ctx, *tn)
	if notFound(err) {
		return queue.Depth{}, nil
	}
	if err != nil {
		return queue.Depth{}, m.wrap("reading the stats of "+topic, err)
	}
	var best *utils.SubscriptionStats
	for _, s := range st.Subscriptions {
		if best == nil || s.MsgBacklog > best.MsgBacklog {
			best = &s
		}
	}
	if best == nil {
		return queue.Depth{}, nil
	}
	// The broker's unacked counter can lag behind an ack that raced a
	// reconnect (the consumer's count stays up while the cursor moved on);
	// a message no longer in the backlog is not in flight either.
	inFlight := min(max(best.UnAckedMessages, 0), best.MsgBacklog)
	return queue.Depth{Pending: best.MsgBacklog - inFlight, InFlight: inFlight}, nil
}

// subscriptions lists the topic's subscriptions.
func (m *management) subscriptions(ctx context.Context, topic string) ([]string, error) {
	tn, err := utils.GetTopicName(topic)
	if err != nil {
		return nil, codedError(codeInvalidName, "", err)
	}
	subs, err := m.client.Subscriptions().ListWithContext(ctx, *tn)
	if notFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, m.wrap("listing the subscriptions of "+topic, err)
	}
	return subs, nil
}

// createSubscription creates a durable subscription at the topic's
// earliest message; one that exists already is fine.
func (m *management) createSubscription(ctx context.Context, topic, name string) error {
	tn, err := utils.GetTopicName(topic)
	if err != nil {
		return codedError(codeInvalidName, "", err)
	}
	err = m.client.Subscriptions().CreateWithContext(ctx, *tn, name, utils.Earliest)
	var re rest.Error
	if errors.As(err, &re) && re.Code == http.StatusConflict {
		return nil
	}
	if err != nil {
		return m.wrap("creating subscription "+name+" on "+topic, err)
	}
	return nil
}

// topicsWithPrefix lists the namespace's persistent topics whose full
// names start with prefix.
func (m *management) topicsWithPrefix(ctx context.Context, tenant, namespace, prefix string) ([]string, error) {
	ns, err := utils.GetNameSpaceName(tenant, namespace)
	if err != nil {
		return nil, codedError(codeInvalidName, "", err)
	}
	partitioned, plain, err := m.client.Topics().ListWithContext(ctx, *ns)
	if err != nil {
		return nil, m.wrap("listing the topics of "+tenant+"/"+namespace, err)
	}
	var out []string
	for _, list := range [][]string{partitioned, plain} {
		for _, t := range list {
			if strings.HasPrefix(t, prefix) {
				out = append(out, t)
			}
		}
	}
	return out, nil
}

// deleteTopic deletes a topic with its subscriptions, even while
// producers or consumers are attached; a missing topic is fine.
func (m *management) deleteTopic(ctx context.Context, topic string) error {
	tn, err := utils.GetTopicName(topic)
	if err != nil {
		return codedError(codeInvalidName, "", err)
	}
	err = m.client.Topics().DeleteWithContext(ctx, *tn, true, true)
	if err != nil && !notFound(err) {
		return m.wrap("deleting "+topic, err)
	}
	return nil
}
