// Package core holds the general-purpose adapters: noop, fail (for tests),
// filter, transform (expressions) and file_source (walk a local folder).
package core
