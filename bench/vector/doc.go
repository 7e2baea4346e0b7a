// Command vector measures Factflow's pgvector store: ingest rate through
// Vectors.Save, HNSW build time, top-10 search latency at one and several
// clients, recall@10 against exact search across hnsw.ef_search values,
// and the latency of filtered, full-text, hybrid and RRF searches.
//
// It creates a scratch database (from the administrative URL in
// FACTFLOW_TEST_DATABASE_URL, or -database), applies the migrations and
// the vector schema, and loads -n synthetic vectors of -dims dimensions.
// The vectors come from a gaussian mixture (-clusters unit-norm centres,
// each vector its centre plus an isotropic offset, normalised), with text
// made of its cluster's topic words: real embeddings cluster by topic,
// while uniform random vectors are all nearly orthogonal, which makes
// nearest-neighbour search unrealistically hard. Queries are fresh draws
// of the same mixture. Recall@10 compares HNSW results with Exact (a
// sequential scan) over -recall-queries queries.
//
// Run it with:
//
//	scripts/services.sh up postgres
//	eval "$(scripts/services.sh env)"
//	go run ./bench/vector [-quick] [-n 100000] [-dims 384] [-clients 1,8] [-queries 2000]
//
// bench/RESULTS.md records a run with its machine, commit and method.
package main
