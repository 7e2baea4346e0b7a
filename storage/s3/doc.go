// Package s3 stores objects in an S3 bucket (Amazon S3, MinIO or any
// S3-compatible server) through minio-go.
//
// # URIs and configuration
//
// Open accepts s3://bucket[/prefix] and minio://bucket[/prefix]. The
// optional prefix scopes the store inside the bucket: key "a/b" is the
// object "prefix/a/b", and listings return keys without the prefix. The
// endpoint, region and credentials come from Config; ConfigFromEnv reads
// the standard AWS variables, and Config.Merge lets explicit settings win
// over them. An s3:// URI without an endpoint talks to AWS
// (s3.<region>.amazonaws.com); minio:// requires one. Credentials are never
// optional: anonymous access would turn a forgotten variable into a
// confusing "access denied" later, so Open refuses early with a coded
// error. Open checks that the bucket exists (or creates it when
// Config.CreateBucket is set), which also proves the endpoint and the
// credentials work.
//
// # Writes
//
// Put reads the body up to one part (Config.PartSize, 16 MiB by default).
// A body that ends within it is sent in one PUT, holding only its own
// size; a longer one streams as a multipart upload, so a Put holds at most
// about two parts in memory however large the object. S3 makes the new version
// visible only when the upload completes, so readers see the old object or
// the new one. A failed or cancelled upload is aborted and the old object
// stays.
//
// # Metadata
//
// The content type is the object's Content-Type. Every other field is kept
// in user metadata as the compact JSON of the whole map, base64url-encoded
// and split over x-amz-meta-ffmeta-0, -1, … headers of at most 1024
// characters, because S3 user metadata must be ASCII. S3 and MinIO cap user
// metadata at 2 KB, so the JSON may be at most MaxMetadataBytes (1500
// bytes); a larger Put fails with STORAGE_S3_METADATA_TOO_LARGE before any
// content is sent. Merging (see storage.Store.Put) reads the current
// object's metadata first; two concurrent writers of one key may each merge
// into the same older version, and the last to finish wins whole. User
// metadata written by other tools (x-amz-meta-* headers not ours) shows up
// as string fields and is folded into the JSON on the next rewrite. As in
// the filesystem provider, the fields size, etag and modified_at belong to
// the store and are ignored in Put.
//
// # Listings
//
// List walks the bucket without a server-side delimiter and groups keys by
// ListOptions.Delimiter itself, which works for any delimiter and keeps
// objects and common prefixes in one lexical order across pages. When a
// group holds many keys the walk restarts past the group instead of
// reading them all. Objects whose names are not valid keys (folder markers
// ending in "/", names with "//", and so on) are left out. WithMetadata
// costs one HEAD request per object: the listing extension that returns
// metadata exists only on MinIO.
//
// # Errors
//
// Failures a user can fix carry an *Error with a stable code and a hint:
// see the Code constants. Missing objects match storage.ErrNotFound and bad
// keys storage.ErrInvalidKey. Errors and URI never hold secrets.
package s3
