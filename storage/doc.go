// Package storage defines the object-store contract (filesystem, S3/MinIO)
// that adapters use for artefacts, and key rules shared by every provider.
//
// The contract suite in storage/storagetest runs against every provider.
// Observe wraps any Store so that each successful Put emits a
// storage.object.created event.
package storage
