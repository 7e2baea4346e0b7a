package stomp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	stomp "github.com/go-stomp/stomp/v3"
	"github.com/go-stomp/stomp/v3/frame"
)

// Broker flavours of Config.Flavor. Both speak STOMP 1.2 but differ in
// flow control, scheduled delivery and management.
const (
	// FlavorArtemis is ActiveMQ Artemis.
	FlavorArtemis = "artemis"
	// FlavorClassic is ActiveMQ Classic (5.x).
	FlavorClassic = "classic"
)

// Classic's STOMP extensions.
const (
	// headerPrefetch caps a subscription's unacknowledged messages
	// (Classic counts messages; Artemis' consumer-window-size is ignored).
	headerPrefetch = "activemq.prefetchSize"
	// headerScheduleDelay holds a message for that many milliseconds in
	// the broker's job scheduler (schedulerSupport="true"); Classic has no
	// absolute schedule time.
	headerScheduleDelay = "AMQ_SCHEDULED_DELAY"
)

// validFlavor reports whether f is a value Config.Flavor accepts.
func validFlavor(f string) bool { return f == "" || f == FlavorArtemis || f == FlavorClassic }

// detectFlavor names the broker from the server header of its CONNECTED
// frame: Classic sends "ActiveMQ/5.x", Artemis "ActiveMQ-Artemis/2.x …".
// Anything else is treated as Artemis, the provider's first target.
func detectFlavor(server string) string {
	if strings.HasPrefix(server, "ActiveMQ/") {
		return FlavorClassic
	}
	return FlavorArtemis
}

// defaultManagementPath is the Jolokia endpoint of each broker's web
// console.
func defaultManagementPath(flavor string) string {
	if flavor == FlavorClassic {
		return "/api/jolokia"
	}
	return "/console/jolokia"
}

// prefetchSubscriptions says how a subscription holds prefetch unsettled
// messages: Artemis counts its consumer window in bytes and always
// delivers one message while credit is positive, so it takes prefetch
// STOMP subscriptions with a one-byte window each; Classic counts
// messages, so one STOMP subscription with that prefetch size does.
func (p *Provider) prefetchSubscriptions(prefetch int) (n int, opt func(*frame.Frame) error) {
	if p.flavor == FlavorClassic {
		return 1, stomp.SubscribeOpt.Header(headerPrefetch, strconv.Itoa(prefetch))
	}
	return prefetch, stomp.SubscribeOpt.Header(headerWindow, "1")
}

// scheduleOpt holds a message on the broker until at.
func (p *Provider) scheduleOpt(at, now time.Time) func(*frame.Frame) error {
	if p.flavor == FlavorClassic {
		// Rounded up: the broker adds the delay to its own clock when the
		// message arrives, which is never earlier than now.
		ms := (at.Sub(now) + time.Millisecond - 1) / time.Millisecond
		return stomp.SendOpt.Header(headerScheduleDelay, strconv.FormatInt(int64(ms), 10))
	}
	// Rounded up to the millisecond the header carries, so the message is
	// never delivered before at.
	ms := at.UnixMilli()
	if time.UnixMilli(ms).Before(at) {
		ms++
	}
	return stomp.SendOpt.Header(headerScheduleTime, strconv.FormatInt(ms, 10))
}

// classicBrokerMBean finds the MBean of the Classic broker behind the
// Jolokia endpoint.
func (m *management) classicBrokerMBean(ctx context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.broker != "" {
		return m.broker, nil
	}
	rep, err := m.call(ctx, map[string]any{"type": "search", "mbean": "org.apache.activemq:type=Broker,brokerName=*"})
	if err != nil {
		return "", err
	}
	var names []string
	if rep.Status != http.StatusOK || json.Unmarshal(rep.Value, &names) != nil || len(names) == 0 {
		return "", codedError(codeManagement, "is this ActiveMQ Classic with JMX enabled (useJmx)?", fmt.Errorf("no ActiveMQ Classic broker MBean: %s", rep.Error))
	}
	m.broker = names[0]
	return m.broker, nil
}

// classicObjectNamePart encodes a destination name the way Classic does
// for its MBean names (JMXSupport.encodeObjectNamePart); of the characters
// it rewrites, queue names can only contain ':'.
func classicObjectNamePart(s string) string {
	return strings.NewReplacer(":", "_", ",", "_", "'", "_", `"`, "_", "?", "&qe;", "=", "&amp;", "*", "&ast;").Replace(s)
}

func isNotFound(rep jolokiaReply) bool {
	return rep.Status == http.StatusNotFound || strings.Contains(rep.Type, "InstanceNotFound")
}

// classicCounts reads QueueSize (every message not yet acknowledged,
// dispatched ones included; scheduled messages wait in the job scheduler
// and are not counted until due) and InFlightCount (dispatched, not yet
// acknowledged). A missing queue counts 0.
func (m *management) classicCounts(ctx context.Context, name string) (total, delivering int64, err error) {
	broker, err := m.classicBrokerMBean(ctx)
	if err != nil {
		return 0, 0, err
	}
	mbean := broker + ",destinationType=Queue,destinationName=" + classicObjectNamePart(name)
	rep, err := m.call(ctx, map[string]any{"type": "read", "mbean": mbean, "attribute": []string{"QueueSize", "InFlightCount"}})
	if err != nil {
		return 0, 0, err
	}
	if isNotFound(rep) {
		return 0, 0, nil
	}
	if rep.Status != http.StatusOK {
		return 0, 0, codedError(codeManagement, "", fmt.Errorf("reading %s: %s", name, rep.Error))
	}
	var v struct{ QueueSize, InFlightCount int64 }
	if err := json.Unmarshal(rep.Value, &v); err != nil {
		return 0, 0, codedError(codeManagement, "", fmt.Errorf("decoding counts of %s: %w", name, err))
	}
	return v.QueueSize, v.InFlightCount, nil
}

// classicQueuesWithPrefix lists the queues whose names start with prefix
// (which holds no character Classic encodes in MBean names).
func (m *management) classicQueuesWithPrefix(ctx context.Context, prefix string) ([]string, error) {
	broker, err := m.classicBrokerMBean(ctx)
	if err != nil {
		return nil, err
	}
	pattern := broker + ",destinationType=Queue,destinationName=" + classicObjectNamePart(prefix) + "*"
	rep, err := m.call(ctx, map[string]any{"type": "read", "mbean": pattern, "attribute": []string{"Name"}})
	if err != nil {
		return nil, err
	}
	if isNotFound(rep) {
		return nil, nil
	}
	if rep.Status != http.StatusOK {
		return nil, codedError(codeManagement, "", fmt.Errorf("listing queues %s*: %s", prefix, rep.Error))
	}
	var byMBean map[string]struct{ Name string }
	if err := json.Unmarshal(rep.Value, &byMBean); err != nil {
		return nil, codedError(codeManagement, "", fmt.Errorf("decoding queue names: %w", err))
	}
	var out []string
	for _, q := range byMBean {
		if strings.HasPrefix(q.Name, prefix) {
			out = append(out, q.Name)
		}
	}
	return out, nil
}

// classicDestroy removes a queue with its messages, also while consumers
// are attached (the broker's removeQueue waits for none).
func (m *management) classicDestroy(ctx context.Context, name string) error {
	broker, err := m.classicBrokerMBean(ctx)
	if err != nil {
		return err
	}
	rep, err := m.call(ctx, map[string]any{"type": "exec", "mbean": broker, "operation": "removeQueue(java.lang.String)", "arguments": []any{name}})
	if err != nil {
		return err
	}
	if rep.Status != http.StatusOK {
		return codedError(codeManagement, "", fmt.Errorf("removeQueue %s: %s", name, rep.Error))
	}
	return nil
}
