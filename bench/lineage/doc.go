// Command lineage measures the lineage explorer's queries on a large
// lineage table: how long each query kind of GET /lineage and its
// sub-resources takes at p50, p95 and p99 on a million rows.
//
// It creates a scratch PostgreSQL database (from the administrative URL in
// FACTFLOW_TEST_DATABASE_URL), applies the real migrations, and loads
// -rows lineage rows with COPY in the shape the engine writes them:
// executions of a crawl-like pipeline where one seed message (url_expander)
// fans out to pages (http_fetch, html_to_markdown), each page to a chunk
// message (chunker, embedder, markdown_storage_writer), so parent chains
// are three messages deep; metadata carries url and title; about 2 % of
// the rows failed and 1 % were skipped; one execution in twenty is a replay
// whose rows carry a replay_batch_id. Start times ascend over 30 days, as
// they do in a table the engine fills. After ANALYZE, every query kind runs
// -n times (the whole-table aggregations -heavy-n times) with parameters
// drawn from the loaded data, through the store methods the API calls, one
// at a time; the report gives p50/p95/p99/max per kind and the mean rows
// returned. Last, it times COPY of -ingest-rows more rows with the
// explorer's indexes (migration 0003) and again without them: what those
// indexes cost the lineage writer.
//
// Run it with:
//
//	scripts/services.sh up postgres
//	eval "$(scripts/services.sh env)"
//	go run ./bench/lineage [-quick] [-rows 1000000] [-n 200] [-heavy-n 10]
//
// bench/RESULTS.md records a run with its machine, commit and method.
package main
