// Package store is Factflow's PostgreSQL persistence: the connection pool,
// the embedded forward-only schema migrations, one repository per aggregate
// (configs, executions, execution events, lineage, dead letters, route
// states) and the asynchronous lineage writer.
//
// Repositories expose methods named for the domain, take a context on every
// call and run SQL held in constants; nothing is assembled from input. They
// are safe for concurrent use. Errors they return can be classified with
// errors.Is against ErrNotFound, ErrConflict, ErrInvalidArgument and
// ErrIllegalTransition, and carry a stable code (see Code).
//
// Execution states and the legal moves between them:
//
//	pending ──► running ──► completed
//	   │          │  ▲
//	   │          │  └─────── interrupted ◄── (owner gone: RecoverOrphans)
//	   │          ├──► failed
//	   │          └──► cancelling ──► cancelled
//	   └──► failed | cancelling | cancelled | interrupted
//
// interrupted may also go to failed or cancelled. completed, failed and
// cancelled are terminal.
//
// Lineage is written by LineageWriter, which never blocks its callers and
// survives database outages by buffering in memory and spilling to disk; see
// its documentation for the guarantees.
package store
