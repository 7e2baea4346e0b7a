// Package api is Factflow's HTTP API (/api/v1), built with huma so that
// every operation is described in the OpenAPI 3.1 document served at
// /openapi.json (and rendered at /docs).
//
// Errors are RFC 9457 problem+json bodies extended with a stable
// error_code, a hint, the request's correlation id (X-Request-ID) and a
// timestamp; huma's own parse and schema errors are reshaped the same way.
// Lists use one envelope: {total, limit, offset, has_more, items}.
// Execution ids accept the UUID or the tag; config ids the UUID or the
// name.
//
// The execution event stream (GET /executions/{id}/events) is served from
// the persisted timeline, so Last-Event-ID resume is exact and works on any
// instance sharing the database.
package api
