// Package fs stores objects as files under one root directory.
//
// # Layout
//
// Key "a/b/c.html" is the file ROOT/a/b/c.html; its metadata lives in the
// sibling sidecar ROOT/a/b/c.html.meta.json, a JSON object holding
// content_type, size, etag (hex MD5 of the content, as S3 reports for a
// single-part upload) and modified_at, next to every caller field. The names
// size, etag and modified_at belong to the store: callers cannot set them.
// Files the store did not write (no sidecar) are still objects, with a
// content type guessed from their extension and no ETag.
//
// # Writes
//
// Put streams into a temporary file in the key's own directory, hashing as
// it goes, then renames it over the key, so readers see the old content or
// the new, never a part. The sidecar is written the same way right after.
// Temporary names end in ".meta.json.meta.json": no valid key or sidecar
// can have such a name, so a crashed write leaves a file that listings
// never show and no key can collide with. A commit (merge with the stored
// metadata, both renames) holds a per-key lock, which Get and Stat take for
// reading, so within one process content and metadata always belong to the
// same write. Processes sharing a root still never see torn content, but
// may briefly pair new content with old metadata.
//
// # Durability
//
// By default each file is fsynced before its rename and the directory after,
// so a Put that returned survives power loss. WithSync(false) skips both for
// scratch data and tests; a crash can then lose recent writes, never
// corrupt older ones.
//
// # Safety
//
// Keys pass storage.ValidateKey, and every file operation goes through an
// os.Root, so no key and no symbolic link inside the tree can reach a file
// outside it. Listings skip symbolic links.
//
// # Limits
//
// A key cannot be both an object and a folder ("a" and "a/b"): the second
// write fails with ErrKeyConflict. On case-insensitive file systems keys
// differing only in case share one object. Each key segment must fit the
// file system's name limit (usually 255 bytes, counting ".meta.json").
package fs
