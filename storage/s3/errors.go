package s3

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"

	"github.com/minio/minio-go/v7"
)

// Error is a failure a user can act on, with a stable code (STORAGE_…) and
// a remediation hint. It unwraps to the cause, so errors.Is still sees
// storage.ErrNotFound, context.Canceled and the like.
type Error struct {
	Code string
	Hint string
	Err  error
}

func (e *Error) Error() string {
	s := e.Code + ": " + e.Err.Error()
	if e.Hint != "" {
		s += " (hint: " + e.Hint + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Error codes.
const (
	// CodeURIInvalid: the URI is not s3://bucket[/prefix] or
	// minio://bucket[/prefix].
	CodeURIInvalid = "STORAGE_URI_INVALID"
	// CodeConfigInvalid: an endpoint, region or part size that cannot work.
	CodeConfigInvalid = "STORAGE_S3_CONFIG_INVALID"
	// CodeCredentialsMissing: no access key and secret key were given.
	CodeCredentialsMissing = "STORAGE_S3_CREDENTIALS_MISSING"
	// CodeAccessDenied: the server refused the credentials or the request.
	CodeAccessDenied = "STORAGE_S3_ACCESS_DENIED"
	// CodeBucketNotFound: the bucket does not exist.
	CodeBucketNotFound = "STORAGE_S3_BUCKET_NOT_FOUND"
	// CodeUnreachable: the endpoint did not answer.
	CodeUnreachable = "STORAGE_S3_UNREACHABLE"
	// CodeMetadataTooLarge: the metadata does not fit S3 user metadata.
	CodeMetadataTooLarge = "STORAGE_S3_METADATA_TOO_LARGE"
	// CodeMetadataInvalid: a metadata value cannot be encoded as JSON, or
	// the content type is not a string.
	CodeMetadataInvalid = "STORAGE_S3_METADATA_INVALID"
)

// credentialsVars names where credentials come from, for hints.
const credentialsVars = "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials), or the storage access key and secret key in the app config"

const credentialsHint = "set " + credentialsVars

// coded wraps err with a code and a hint.
func coded(code, hint string, err error) error {
	return &Error{Code: code, Hint: hint, Err: err}
}

// s3Code returns the S3 error code of err ("" when it is not an S3 error
// response).
func s3Code(err error) (string, int) {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		return er.Code, er.StatusCode
	}
	return "", 0
}

func isNotFound(err error) bool {
	code, status := s3Code(err)
	return code == "NoSuchKey" || code == "NotFound" || (code == "" && status == 404)
}

// classify turns an S3 or network failure into a coded error where the
// user can do something about it, and wraps it with context otherwise.
// what is the operation ("storing a/b"), endpoint and bucket name the hint.
func (s *Store) classify(err error, what string) error {
	return classify(err, what, s.endpoint, s.bucket)
}

func classify(err error, what, endpoint, bucket string) error {
	wrapped := wrapf(what, err)
	code, status := s3Code(err)
	switch {
	case code == "NoSuchBucket":
		return coded(CodeBucketNotFound, "create bucket "+bucket+", or enable bucket creation in the storage config", wrapped)
	case code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" || code == "InvalidToken" ||
		code == "ExpiredToken" || code == "InvalidClientTokenId":
		return coded(CodeAccessDenied, "the server refused the credentials; check "+credentialsVars, wrapped)
	case code == "AccessDenied" || status == 403:
		return coded(CodeAccessDenied, "check the credentials and that they may use bucket "+bucket, wrapped)
	case isNetwork(err):
		return coded(CodeUnreachable, "check that "+endpoint+" is the S3 endpoint and that it is up and reachable", wrapped)
	}
	return wrapped
}

func isNetwork(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var ue *url.Error
	var ne net.Error
	return errors.As(err, &ue) || errors.As(err, &ne)
}

func wrapf(what string, err error) error {
	return fmt.Errorf("%s: %w", what, err)
}
