package pipeline

import (
	"strings"

	"github.com/factflow/factflow/configspec"
)

// CodeInfo documents one validation code. Codes are stable: a code never
// changes meaning, new problems get new codes.
type CodeInfo struct {
	Code        string              `json:"code"`
	Severity    configspec.Severity `json:"severity"`
	Title       string              `json:"title"`
	Remediation string              `json:"remediation"`
	// Example is a small pipeline that triggers the code; the line marked
	// with "# <- CODE" is where it is reported.
	Example string `json:"example"`
}

// ExampleMarker ends the example line a code is reported at.
func ExampleMarker(code string) string { return "# <- " + code }

// Catalogue returns every code the loader reports, in code order.
func Catalogue() []CodeInfo {
	out := make([]CodeInfo, len(catalogue))
	for i, c := range catalogue {
		c.Severity = configspec.SeverityError
		if strings.HasPrefix(c.Code, "W") {
			c.Severity = configspec.SeverityWarning
		}
		c.Example = strings.TrimLeft(c.Example, "\n")
		out[i] = c
	}
	return out
}

func catalogueRemediation(code string) string {
	for _, c := range catalogue {
		if c.Code == code {
			return c.Remediation
		}
	}
	return ""
}

// A minimal valid route, reused by the examples.
const fetchRoute = `  fetch:
    inbound: { queue: docs.fetch }
    adapters:
      - type: web_scraper
`

const initFetch = `init_message:
  route: fetch
  payload: { url: "https://docs.example.org/" }
`

var catalogue = []CodeInfo{
	{
		Code: "E001", Title: "YAML syntax error",
		Remediation: "fix the YAML at the reported line: indent with spaces (never tabs), put a space after each colon, and close every quote and bracket",
		Example: `
version: "1.0"
routes:
  fetch:
    inbound: { queue: docs.fetch, concurrency: 2   # <- E001
    adapters:
      - type: web_scraper
`,
	},
	{
		Code: "E002", Title: "document is not a single mapping",
		Remediation: "write one YAML document per file whose top level is a mapping with version and routes",
		Example: `
- version: "1.0"   # <- E002
- routes: {}
`,
	},
	{
		Code: "E003", Title: "missing or unsupported version",
		Remediation: `start the file with version: "1.0"`,
		Example: `
version: "2.0"   # <- E003
routes:
` + fetchRoute + initFetch,
	},
	{
		Code: "E004", Title: "unknown key",
		Remediation: "remove the key or correct its spelling (see the suggestion)",
		Example: `
version: "1.0"
descripton: Fetch the docs   # <- E004
routes:
` + fetchRoute + initFetch,
	},
	{
		Code: "E005", Title: "wrong type for a structural key",
		Remediation: "give the key the kind of value it takes (string, boolean, mapping or list), as in the reference example",
		Example: `
version: "1.0"
allow_cycles: "yes"   # <- E005
routes:
` + fetchRoute + initFetch,
	},
	{
		Code: "E006", Title: "no routes",
		Remediation: "define at least one route under routes:",
		Example: `
version: "1.0"
routes: {}   # <- E006
` + initFetch,
	},
	{
		Code: "E007", Title: "duplicate key",
		Remediation: "keep one occurrence of the key (YAML mappings cannot repeat a key, and a setting cannot be given twice under two spellings)",
		Example: `
version: "1.0"
routes:
  fetch:
    inbound: { queue: docs.fetch }
    adapters:
      - type: web_scraper
    inbound: { queue: docs.pages }   # <- E007
` + initFetch,
	},
	{
		Code: "E008", Title: "recursive or oversized aliases",
		Remediation: "replace the recursive alias (or the deeply nested anchors) with the content it should repeat",
		Example: `
version: "1.0"
routes:
` + fetchRoute + `init_message:
  route: fetch
  payload: &loop { self: *loop }   # <- E008
`,
	},
	{
		Code: "E009", Title: "document too large",
		Remediation: "keep a pipeline under 1 MiB: split it into several pipelines and keep bulky data out of init_message.payload",
		// The tests pad this example past MaxDocumentSize; the docs show
		// only its head.
		Example: `
# more than 1 MiB of YAML follows   # <- E009
version: "1.0"
`,
	},
	{
		Code: "E101", Title: "unknown adapter type",
		Remediation: "use a registered adapter type (see the suggestion; GET /api/v1/adapters lists them all)",
		Example: `
version: "1.0"
routes:
  fetch:
    inbound: { queue: docs.fetch }
    adapters:
      - type: web_scrapper   # <- E101
` + initFetch,
	},
	{
		Code: "E102", Title: "adapter entry without type",
		Remediation: "start the adapter entry with type: <adapter type>",
		Example: `
version: "1.0"
routes:
  fetch:
    inbound: { queue: docs.fetch }
    adapters:
      - name: fetch_page   # <- E102
        config: { timeout: 10s }
` + initFetch,
	},
	{
		Code: "E103", Title: "route without adapters",
		Remediation: "list at least one adapter under adapters: (noop passes messages on unchanged)",
		Example: `
version: "1.0"
routes:
  fetch:   # <- E103
    inbound: { queue: docs.fetch }
` + initFetch,
	},
	{
		Code: "E104", Title: "duplicate step name in a route",
		Remediation: "give each step of a route its own name: (step names are storage stage names)",
		Example: `
version: "1.0"
routes:
  fetch:
    inbound: { queue: docs.fetch }
    adapters:
      - type: web_scraper
      - type: web_scraper   # <- E104
` + initFetch,
	},
	{
		Code: "E105", Title: "invalid step name",
		Remediation: "use letters, digits, _ . and - only (at most 100 characters), starting with a letter, digit or _",
		Example: `
version: "1.0"
routes:
  fetch:
    inbound: { queue: docs.fetch }
    adapters:
      - type: web_scraper
        name: fetch page   # <- E105
` + initFetch,
	},
	{
		Code: "E201", Title: "unknown init route",
		Remediation: "set init_message.route to one of the route keys",
		Example: `
version: "1.0"
routes:
` + fetchRoute + `init_message:
  route: fetc   # <- E201
`,
	},
	{
		Code: "E202", Title: "route unreachable from the init route",
		Remediation: "publish to the route's inbound queue from a route the init message reaches, or remove the route",
		Example: `
version: "1.0"
routes:
` + fetchRoute + `  store:   # <- E202
    inbound: { queue: docs.store }
    adapters:
      - type: web_content_storage
` + initFetch,
	},
	{
		Code: "E203", Title: "duplicate inbound queue",
		Remediation: "give each route its own inbound queue; to send a message to several routes, list several outbound queues",
		Example: `
version: "1.0"
routes:
  discover:
    inbound: { queue: docs.discover }
    adapters:
      - type: sitemap_parser
    outbound: [docs.fetch]
  fetch:
    inbound: { queue: docs.fetch }
    adapters:
      - type: web_scraper
  fetch_again:
    inbound: { queue: docs.fetch }   # <- E203
    adapters:
      - type: web_scraper
init_message:
  route: discover
`,
	},
	{
		Code: "E204", Title: "invalid queue name",
		Remediation: "use letters, digits and _ . : - only, without empty dot-separated parts (e.g. docs.fetch)",
		Example: `
version: "1.0"
routes:
  fetch:
    inbound: { queue: "docs fetch" }   # <- E204
    adapters:
      - type: web_scraper
` + initFetch,
	},
	{
		Code: "E205", Title: "outbound queue consumed by no route",
		Remediation: "add a route whose inbound queue is this queue, or remove the outbound entry (messages left in a queue keep an execution from completing)",
		Example: `
version: "1.0"
routes:
  fetch:
    inbound: { queue: docs.fetch }
    adapters:
      - type: web_scraper
    outbound: [docs.store]   # <- E205
` + initFetch,
	},
	{
		Code: "E206", Title: "route publishes to its own inbound queue",
		Remediation: "publish to another route's queue, or set allow_cycles: true if the loop is intended and ends",
		Example: `
version: "1.0"
routes:
  crawl:
    inbound: { queue: docs.crawl }
    adapters:
      - type: web_scraper
    outbound: [docs.crawl]   # <- E206
init_message:
  route: crawl
`,
	},
	{
		Code: "E207", Title: "missing queue",
		Remediation: "give the route an inbound queue (inbound: {queue: docs.fetch}) and every outbound entry a queue",
		Example: `
version: "1.0"
routes:
  fetch:
    inbound: { concurrency: 4 }   # <- E207
    adapters:
      - type: web_scraper
` + initFetch,
	},
	{
		Code: "E208", Title: "invalid inbound setting",
		Remediation: "use a concurrency of at least 1 and a prefetch of 0 (same as concurrency) or more",
		Example: `
version: "1.0"
routes:
  fetch:
    inbound: { queue: docs.fetch, concurrency: 0 }   # <- E208
    adapters:
      - type: web_scraper
` + initFetch,
	},
	{
		Code: "E209", Title: "invalid route key",
		Remediation: "name routes with letters, digits, _ . and - only (route keys appear in URLs and storage keys)",
		Example: `
version: "1.0"
routes:
  fetch pages:   # <- E209
    inbound: { queue: docs.fetch }
    adapters:
      - type: web_scraper
init_message:
  route: fetch pages
`,
	},
	{
		Code: "E210", Title: "invalid ordering",
		Remediation: "use ordering: key together with ordering_key: <payload field>, or leave both out",
		Example: `
version: "1.0"
routes:
  fetch:
    inbound: { queue: docs.fetch }
    ordering: key   # <- E210
    adapters:
      - type: web_scraper
` + initFetch,
	},
	{
		Code: "E301", Title: "unknown adapter config field",
		Remediation: "remove the field or correct its spelling (see the suggestion and the adapter's documentation)",
		Example: `
version: "1.0"
routes:
  fetch:
    inbound: { queue: docs.fetch }
    adapters:
      - type: web_scraper
        config:
          follow_redirect: true   # <- E301
` + initFetch,
	},
	{
		Code: "E302", Title: "missing required adapter config field",
		Remediation: "add the field to the adapter's config",
		Example: `
version: "1.0"
routes:
  fetch:
    inbound: { queue: docs.fetch }
    adapters:
      - type: http_request
        config: { method: POST }   # <- E302
` + initFetch,
	},
	{
		Code: "E303", Title: "wrong type in adapter config",
		Remediation: "write the value with the type the field takes (the message says which)",
		Example: `
version: "1.0"
routes:
  discover:
    inbound: { queue: docs.discover }
    adapters:
      - type: sitemap_parser
        config: { max_urls: lots }   # <- E303
init_message:
  route: discover
`,
	},
	{
		Code: "E304", Title: "adapter config value out of range or not allowed",
		Remediation: "use a value within the field's bounds or one of its allowed values",
		Example: `
version: "1.0"
routes:
  discover:
    inbound: { queue: docs.discover }
    adapters:
      - type: sitemap_parser
        config: { max_urls: 0 }   # <- E304
init_message:
  route: discover
`,
	},
	{
		Code: "E305", Title: "invalid adapter config",
		Remediation: "change the values so that they agree with each other (the message says how)",
		Example: `
version: "1.0"
routes:
  segment:
    inbound: { queue: docs.segment }
    adapters:
      - type: smart_segmenter
        config: { min_tokens: 900, max_tokens: 800 }   # <- E305
init_message:
  route: segment
`,
	},
	{
		Code: "E401", Title: "unknown or missing condition operator",
		Remediation: "use one of equals, not_equals, matches, not_matches, exists, not_exists, in, not_in, contains, gt, gte, lt, lte",
		Example: `
version: "1.0"
routes:
  fetch:
    inbound: { queue: docs.fetch }
    adapters:
      - type: web_scraper
        condition: { field: url, operator: match, value: "^https://" }   # <- E401
` + initFetch,
	},
	{
		Code: "E402", Title: "condition without a usable field",
		Remediation: "add field: a dotted path into the payload (url, metadata.lang, segments.0.text)",
		Example: `
version: "1.0"
routes:
  fetch:
    inbound: { queue: docs.fetch }
    adapters:
      - type: web_scraper
        condition: { operator: exists }   # <- E402
` + initFetch,
	},
	{
		Code: "E403", Title: "missing or incompatible condition value",
		Remediation: "give the operator the value it needs: a list for in/not_in, a number for gt/gte/lt/lte, a regular expression for matches/not_matches",
		Example: `
version: "1.0"
routes:
  fetch:
    inbound: { queue: docs.fetch }
    adapters:
      - type: web_scraper
        condition: { field: lang, operator: in, value: en }   # <- E403
` + initFetch,
	},
	{
		Code: "E404", Title: "invalid regular expression",
		Remediation: "write an RE2 regular expression (no look-around or backreferences); in double quotes escape a backslash as \\\\, or use single quotes",
		Example: `
version: "1.0"
routes:
  fetch:
    inbound: { queue: docs.fetch }
    adapters:
      - type: web_scraper
        condition: { field: url, operator: matches, value: "(docs" }   # <- E404
` + initFetch,
	},
	{
		Code: "E405", Title: "malformed condition",
		Remediation: "write a test {field, operator, value} or a non-empty group {all: [...]} / {any: [...]}, not both",
		Example: `
version: "1.0"
routes:
  fetch:
    inbound: { queue: docs.fetch }
    adapters:
      - type: web_scraper
        condition: { all: [] }   # <- E405
` + initFetch,
	},
	{
		Code: "E406", Title: "unknown condition key",
		Remediation: "a condition takes field, operator and value, or all / any",
		Example: `
version: "1.0"
routes:
  fetch:
    inbound: { queue: docs.fetch }
    adapters:
      - type: web_scraper
        condition:
          field: url
          operator: exists
          negate: true   # <- E406
` + initFetch,
	},
	{
		Code: "E501", Title: "invalid error_handling value",
		Remediation: "use max_retries ≥ 0, durations such as 10s, backoff fixed or exponential, jitter between 0 and 1, and max_delay ≥ retry_delay",
		Example: `
version: "1.0"
defaults:
  error_handling: { backoff: linear }   # <- E501
routes:
` + fetchRoute + initFetch,
	},
	{
		Code: "E502", Title: "invalid backpressure value",
		Remediation: "use a target_latency duration such as 500ms (0 turns it off) and a max_concurrency of 0 (inbound concurrency) or more",
		Example: `
version: "1.0"
routes:
  fetch:
    inbound: { queue: docs.fetch }
    adapters:
      - type: web_scraper
    backpressure: { target_latency: fast }   # <- E502
` + initFetch,
	},
	{
		Code: "E503", Title: "invalid circuit_breaker value",
		Remediation: "use a failure_ratio in (0, 1], min_requests and half_open_probes of at least 1, and positive open_for and window durations",
		Example: `
version: "1.0"
defaults:
  circuit_breaker: { failure_ratio: 2 }   # <- E503
routes:
` + fetchRoute + initFetch,
	},
	{
		Code: "E504", Title: "invalid timeout or execution limit",
		Remediation: "use a duration such as 30s for timeout, and limits within the documented bounds under execution:",
		Example: `
version: "1.0"
routes:
  fetch:
    inbound: { queue: docs.fetch }
    timeout: soon   # <- E504
    adapters:
      - type: web_scraper
` + initFetch,
	},
	{
		Code: "W001", Title: "reference spelling accepted",
		Remediation: "use the current spelling given in the message; the reference spelling keeps working",
		Example: `
version: "1.0"
defaults:
  error_handling:
    retry_delay_seconds: 5   # <- W001
routes:
` + fetchRoute + initFetch,
	},
	{
		Code: "W101", Title: "no init_message",
		Remediation: "add init_message: {route: <first route>, payload: {...}} so that starting an execution does something (replays work without it)",
		Example: `
version: "1.0"   # <- W101
routes:
` + fetchRoute,
	},
	{
		Code: "W201", Title: "cycle between routes",
		Remediation: "break the cycle, or add allow_cycles: true at the top level if it is intended and messages eventually stop",
		Example: `
version: "1.0"
routes:
  crawl:   # <- W201
    inbound: { queue: docs.crawl }
    adapters:
      - type: web_scraper
    outbound: [docs.links]
  links:
    inbound: { queue: docs.links }
    adapters:
      - type: url_expander
    outbound: [docs.crawl]
init_message:
  route: crawl
`,
	},
	{
		Code: "W202", Title: "route unreachable from the first route",
		Remediation: "without init_message the first route is taken as the entry: publish to this route's queue from a route it reaches, or add init_message",
		Example: `
version: "1.0"
routes:
` + fetchRoute + `  store:   # <- W202
    inbound: { queue: docs.store }
    adapters:
      - type: web_content_storage
`,
	},
	{
		Code: "W203", Title: "outbound queue listed twice",
		Remediation: "list each outbound queue once (or give the entries different conditions)",
		Example: `
version: "1.0"
routes:
  discover:
    inbound: { queue: docs.discover }
    adapters:
      - type: sitemap_parser
    outbound:
      - docs.fetch
      - docs.fetch   # <- W203
` + fetchRoute + `init_message:
  route: discover
`,
	},
	{
		Code: "W401", Title: "condition value ignored",
		Remediation: "remove value: exists and not_exists take none",
		Example: `
version: "1.0"
routes:
  fetch:
    inbound: { queue: docs.fetch }
    adapters:
      - type: web_scraper
        condition:
          field: url
          operator: exists
          value: true   # <- W401
` + initFetch,
	},
	{
		Code: "W501", Title: "max_concurrency below inbound concurrency",
		Remediation: "raise backpressure.max_concurrency to at least inbound.concurrency, or lower the concurrency",
		Example: `
version: "1.0"
routes:
  fetch:
    inbound: { queue: docs.fetch, concurrency: 8 }
    adapters:
      - type: web_scraper
    backpressure: { max_concurrency: 2 }   # <- W501
` + initFetch,
	},
}
