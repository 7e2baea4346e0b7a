package web

import "github.com/factflow/factflow/adapters"

// Category of the web adapters in the catalogue.
const Category = "web"

// Specs returns the web adapter family.
func Specs() []adapters.Spec {
	sitemap := adapters.Define(TypeSitemapParser, Category,
		"Read a sitemap (or find a site's sitemaps) and list its page URLs",
		newSitemapParser)
	sitemap.Description = `Fetches the sitemap named by ` + "`sitemap_url`" + ` (or ` + "`url`" + `) and lists the pages it
names in ` + "`urls`" + ` as ` + "`{url, lastmod}`" + ` objects, deduplicated, in sitemap order.

- XML ` + "`<urlset>`" + ` and ` + "`<sitemapindex>`" + ` files are read, indexes recursively up to ` + "`max_depth`" + `;
  gzip-compressed sitemaps (` + "`.xml.gz`" + `) and plain-text URL lists work too.
- Given a site root (` + "`https://example.org/`" + `) or its ` + "`robots.txt`" + `, the sitemaps are taken from the
  ` + "`Sitemap:`" + ` lines of robots.txt, falling back to ` + "`/sitemap.xml`" + `.
- ` + "`include`" + `/` + "`exclude`" + ` regular expressions and ` + "`same_host_only`" + ` filter the pages; ` + "`max_urls`" + `
  caps the list and sets ` + "`truncated`" + `.
- A child sitemap that fails for good (404, not a sitemap) is skipped and reported in
  ` + "`sitemap_errors`" + `; a transient failure (timeout, 5xx, 429) retries the whole message.

Follow with ` + "`url_expander`" + ` to get one message per page.`
	sitemap.Reads = []string{"sitemap_url", "url"}
	sitemap.Writes = []string{"urls", "url_count", "sitemaps", "truncated", "sitemap_errors"}

	expander := adapters.Define(TypeURLExpander, Category,
		"Fan out one message per URL of a list",
		newURLExpander)
	expander.Description = `Emits one message per entry of the list in ` + "`field`" + ` (default ` + "`urls`" + `, as written by
` + "`sitemap_parser`" + `). Entries may be URL strings or objects with a ` + "`url`" + `; an object's fields
(` + "`lastmod`" + `, …) are copied into its message. Each message also gets ` + "`source_url`" + ` (the parent's
` + "`sitemap_url`" + `, else its ` + "`url`" + `) and the parent fields listed in ` + "`carry`" + `. Entries without a URL
are skipped; an empty list publishes nothing; ` + "`max`" + ` caps the fan-out.`
	expander.Reads = []string{"urls (or the configured field)", "sitemap_url", "url"}
	expander.Writes = []string{"url", "lastmod", "source_url"}
	expander.Emits = true

	scraper := adapters.Define(TypeWebScraper, Category,
		"Fetch a web page politely: robots.txt, per-host adaptive rate limit, SSRF guard",
		newScraper)
	scraper.Description = `Fetches ` + "`url`" + ` over HTTP(S) and writes the body, decoded to UTF-8 from its declared or
sniffed charset, to ` + "`content`" + `, with ` + "`content_type`" + `, ` + "`status_code`" + `, ` + "`final_url`" + ` (after redirects),
` + "`fetched_at`" + `, ` + "`charset`" + ` and, for HTML, ` + "`title`" + `. Bodies that are not text travel base64-encoded
(` + "`content_encoding: base64`" + `).

- **robots.txt** is obeyed (cached per host for ` + "`robots_ttl`" + `), matched on the product token of
  ` + "`user_agent`" + ` (` + "`ignore_robots: true`" + ` turns this off).
- **Rate limit** per host, shared by every message of the step: a token bucket starting at
  ` + "`requests_per_second`" + `, growing by a tenth of it per success up to ` + "`max_requests_per_second`" + `,
  halving on 429/503 down to ` + "`min_requests_per_second`" + `, and pausing the host for its
  ` + "`Retry-After`" + `.
- **SSRF guard**: loopback, private, link-local and metadata addresses are refused at
  connection time, redirects included, unless ` + "`security.allow_private_targets`" + ` or
  ` + "`security.allowed_hosts`" + ` allow them.

Failures carry codes: ` + "`WEB_HTTP_<status>`" + ` (429/503 retried after ` + "`Retry-After`" + `; 408 and
5xx retried; other 4xx permanent), ` + "`WEB_TIMEOUT`" + ` and ` + "`WEB_NETWORK`" + ` (retried),
` + "`WEB_UNREACHABLE`" + ` (a host name that does not resolve: retried, permanent from the third
attempt), ` + "`WEB_ROBOTS_DISALLOWED`" + `, ` + "`WEB_CONTENT_TYPE`" + `, ` + "`WEB_TOO_LARGE`" + `,
` + "`WEB_TOO_MANY_REDIRECTS`" + `, ` + "`WEB_TLS`" + `, ` + "`WEB_INVALID_URL`" + ` and ` + "`SSRF_BLOCKED`" + ` (permanent),
` + "`WEB_ROBOTS_UNAVAILABLE`" + ` and ` + "`WEB_RATE_LIMITED`" + ` (retried).`
	scraper.Reads = []string{"url"}
	scraper.Writes = []string{"content", "content_encoding", "content_type", "charset", "status_code", "final_url", "fetched_at", "title"}

	store := adapters.Define(TypeWebContentStorage, Category,
		"Store fetched content as an artefact and pass its storage key on",
		newContentStore)
	store.Description = `Writes ` + "`content`" + ` to the artefact store under
` + "`executions/<execution>/<route>/<stage>/<message>.<ext>`" + `, the extension following
` + "`content_type`" + ` (` + "`.html`" + `, ` + "`.json`" + `, ` + "`.xml`" + `, ` + "`.txt`" + `, …), with metadata ` + "`content_type`" + `,
` + "`source_url`" + `, ` + "`final_url`" + `, ` + "`execution_id`" + `, ` + "`route`" + `, ` + "`stage`" + `, ` + "`message_id`" + `, ` + "`status_code`" + `,
` + "`fetched_at`" + ` and ` + "`title`" + `. Sets ` + "`storage_key`" + ` and removes ` + "`content`" + ` from the message unless
` + "`keep_content`" + ` is true, so pages cross queues as keys.`
	store.Reads = []string{"content", "content_encoding", "content_type", "url", "final_url", "status_code", "fetched_at", "title"}
	store.Writes = []string{"storage_key"}

	return []adapters.Spec{sitemap, expander, scraper, store}
}

// Adapter type names of the family.
const (
	TypeSitemapParser     = "sitemap_parser"
	TypeURLExpander       = "url_expander"
	TypeWebScraper        = "web_scraper"
	TypeWebContentStorage = "web_content_storage"
)
