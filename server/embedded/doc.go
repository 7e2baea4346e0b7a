// Package embedded provisions what `factflow serve --embedded` needs but was
// not given explicitly. Today that is PostgreSQL.
//
// ProvisionPostgres picks the first source that works, in this order:
//
//  1. an explicit database URL (flag --database-url or DATABASE_URL, resolved
//     by the caller), used as is;
//  2. a Docker engine that answers a ping within a short timeout: a
//     pgvector/pgvector container started with testcontainers-go, its data
//     kept in a named volume;
//  3. local PostgreSQL server binaries (Options.PGBin, FACTFLOW_PG_BIN, PATH,
//     `pg_config --bindir`, well-known install directories, newest first),
//     running a private cluster under <data-dir>/postgres on a free loopback
//     port. The cluster, its port and its generated password are kept between
//     runs; a postmaster left behind by a killed run is either adopted (still
//     running) or its stale lock file is cleared.
//
// When the process runs as root, the private cluster runs as the `postgres`
// user (PostgreSQL refuses to run as root). If that user cannot reach the
// data dir (a 0700 home on the path), the cluster lives in a per-project
// directory under /var/tmp whose name derives from the data dir's absolute
// path; ClusterDir reports where, and provisioning logs it.
//
// One process at a time may own a private cluster: a second provisioning of
// the same data dir fails with EMBEDDED_PG_IN_USE until the first one stops.
//
// Missing pgvector never fails provisioning: Postgres.VectorAvailable says
// whether the extension can be created, so vector features can report a clear
// error while everything else works.
package embedded
