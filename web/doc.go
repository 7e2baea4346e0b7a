// Package web serves the React UI that `npm run build` compiles into
// dist/app and go:embed puts into the binary.
//
// The UI routes on the client, so any GET for a path that is not a built
// file answers index.html; the API decides which prefixes it keeps for
// itself before a request gets here. A binary built without the UI serves a
// short page that says how to build it instead of failing.
package web
