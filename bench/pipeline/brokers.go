package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Brokers of the -brokers comparison. "embedded" is the in-process NATS
// server the container starts when no queue URL is given; the others are
// external brokers reached through the URLs scripts/services.sh exports.
const (
	brokerEmbedded = "embedded"
	brokerNATS     = "nats"
	brokerAMQP     = "amqp"
	brokerSTOMP    = "stomp"
	brokerPulsar   = "pulsar"
)

// Kinds of variant run on each broker.
const (
	kindBare      = "bare" // the broker's own client, bare3's shape
	kindEngine    = "ff"   // Factflow, lineage off
	kindWatermill = "wm"   // a watermill router doing the same work
)

var (
	allBrokers = []string{brokerEmbedded, brokerNATS, brokerAMQP, brokerSTOMP, brokerPulsar}
	allKinds   = []string{kindBare, kindEngine, kindWatermill}
)

// brokerEnv names the environment variable holding each external broker's
// URL.
var brokerEnv = map[string]string{
	brokerNATS:   "FACTFLOW_TEST_NATS_URL",
	brokerAMQP:   "FACTFLOW_TEST_AMQP_URL",
	brokerSTOMP:  "FACTFLOW_TEST_STOMP_URL",
	brokerPulsar: "FACTFLOW_TEST_PULSAR_URL",
}

// kindsOf lists the variant kinds a broker has: watermill only where the
// issue asks for it (its NATS and AMQP pub/subs are the maintained ones).
func kindsOf(broker string) []string {
	switch broker {
	case brokerNATS, brokerAMQP:
		return allKinds
	}
	return []string{kindBare, kindEngine}
}

// brokerVariant names the variant of one kind on one broker, "amqp/ff".
func brokerVariant(broker, kind string) string { return broker + "/" + kind }

// splitVariant is the inverse of brokerVariant; ok is false for the
// embedded-only variants (bare1, bare3, ff, ff-lineage).
func splitVariant(v string) (broker, kind string, ok bool) {
	return strings.Cut(v, "/")
}

// expandBrokers turns -brokers and -kinds into variants. "all" means the
// embedded broker and every external one whose URL is set.
func expandBrokers(brokers, kinds []string, getenv func(string) string) ([]string, error) {
	if slices.Contains(brokers, "all") {
		brokers = []string{brokerEmbedded}
		for _, b := range allBrokers[1:] {
			if getenv(brokerEnv[b]) != "" {
				brokers = append(brokers, b)
			}
		}
	}
	var out []string
	for _, b := range brokers {
		if !slices.Contains(allBrokers, b) {
			return nil, fmt.Errorf("unknown broker %q (have %s, or all)", b, strings.Join(allBrokers, ", "))
		}
		for _, k := range kindsOf(b) {
			if slices.Contains(kinds, k) {
				out = append(out, brokerVariant(b, k))
			}
		}
	}
	for _, k := range kinds {
		if !slices.Contains(allKinds, k) {
			return nil, fmt.Errorf("unknown kind %q (have %s)", k, strings.Join(allKinds, ", "))
		}
	}
	return out, nil
}

// brokerURL is the external broker's URL from the environment.
func brokerURL(broker string) (string, error) {
	if broker == brokerEmbedded {
		return "", nil
	}
	env := brokerEnv[broker]
	u := os.Getenv(env)
	if u == "" {
		return "", fmt.Errorf("broker %s: set %s (eval \"$(scripts/services.sh env)\")", broker, env)
	}
	if broker == brokerPulsar {
		u = pulsarAdminURL(u, os.Getenv("FACTFLOW_TEST_PULSAR_ADMIN_URL"))
	}
	return u, nil
}

// runSpec is what one run of a variant moves.
type runSpec struct {
	n    int
	size int
	rate float64 // messages per second offered; 0 = as fast as possible
}

// runner runs one variant of the broker comparison.
type runner interface {
	run(ctx context.Context, s runSpec) (*recorder, engineOutcome, error)
}
