package pipeline_test

import (
	"fmt"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/pipeline"
)

func ExampleLoad() {
	src := `
version: "1.0"
routes:
  fetch:
    inbound: { queue: docs.fetch, concurrency: 4 }
    adapters:
      - type: noop
    outbound: [docs.store]
  store:
    inbound: docs.store
    adapters: [noop]
init_message:
  route: fetch
  payload: { url: "https://docs.example.org/" }
`
	reg := adapters.NewRegistry()
	reg.MustRegister(noConfig("noop"))

	p, report := pipeline.Load([]byte(src), reg)
	fmt.Println("valid:", report.Valid())
	fmt.Println("prefetch:", p.Routes["fetch"].Inbound.Prefetch)
	fmt.Println("retries:", p.Routes["fetch"].ErrorHandling.MaxRetries)
	for _, e := range pipeline.Edges(p) {
		fmt.Printf("%s -> %s via %s\n", e.From, e.To, e.Queue)
	}
	// Output:
	// valid: true
	// prefetch: 4
	// retries: 3
	// fetch -> store via docs.store
}

func ExampleReport() {
	_, report := pipeline.Load([]byte("version: \"1.0\"\nroutes:\n  fetch:\n    inbound: docs.fetch\n    adapters: [noop]\n    outbound: [docs.sotre]\n"), nil)
	for _, f := range report.Findings {
		fmt.Println(f)
	}
	// Output:
	// 1:1: warning W101 init_message: there is no init_message, so starting an execution publishes nothing (add init_message: {route: <first route>, payload: {...}} so that starting an execution does something (replays work without it))
	// 6:16: error E205 routes.fetch.outbound[0]: no route consumes queue "docs.sotre", so messages published to it would never be processed and the execution could never complete (add a route with inbound.queue docs.sotre, or remove this outbound entry)
}
