package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/storage"
	"github.com/factflow/factflow/storage/storagetest"
)

// testConfig is the test server's configuration, from the variables the
// test services script prints.
func testConfig(t *testing.T) Config {
	t.Helper()
	endpoint := os.Getenv("FACTFLOW_TEST_S3_ENDPOINT")
	require.NotEmpty(t, endpoint, "FACTFLOW_TEST_S3_ENDPOINT is not set: run `scripts/services.sh up minio` and eval its env")
	return Config{
		Endpoint:  endpoint,
		Region:    os.Getenv("FACTFLOW_TEST_S3_REGION"),
		AccessKey: os.Getenv("FACTFLOW_TEST_S3_ACCESS_KEY"),
		SecretKey: os.Getenv("FACTFLOW_TEST_S3_SECRET_KEY"),
		PathStyle: true,
	}
}

func randomBucket() string {
	return "factflow-test-" + strings.ToLower(rand.Text()[:16])
}

// newBucket creates a bucket with a random name and removes it, with
// everything in it, when the test ends. It returns the bucket's name.
func newBucket(t *testing.T, cfg Config) string {
	t.Helper()
	name := randomBucket()
	cfg.CreateBucket = true
	s, err := Open(t.Context(), "s3://"+name, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { removeBucket(t, s.client, name) })
	return name
}

func removeBucket(t *testing.T, c *minio.Client, bucket string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for up := range c.ListIncompleteUploads(ctx, bucket, "", true) {
		if up.Err == nil {
			_ = c.RemoveIncompleteUpload(ctx, bucket, up.Key)
		}
	}
	objects := c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true})
	for res := range c.RemoveObjects(ctx, bucket, objects, minio.RemoveObjectsOptions{}) {
		require.NoError(t, res.Err, "removing %s from test bucket %s", res.ObjectName, bucket)
	}
	require.NoError(t, c.RemoveBucket(ctx, bucket), "removing test bucket %s", bucket)
}

// newStore opens a store on a fresh bucket.
func newStore(t *testing.T, cfg Config, prefix string) *Store {
	t.Helper()
	bucket := newBucket(t, cfg)
	uri := "s3://" + bucket
	if prefix != "" {
		uri += "/" + prefix
	}
	s, err := Open(t.Context(), uri, cfg)
	require.NoError(t, err)
	return s
}

func requireCode(t *testing.T, err error, code string) *Error {
	t.Helper()
	require.Error(t, err)
	var ce *Error
	require.True(t, errors.As(err, &ce), "not a coded error: %v", err)
	require.Equal(t, code, ce.Code, "error: %v", err)
	require.NotEmpty(t, ce.Hint)
	return ce
}

func TestContract(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	storagetest.Run(t, func(t *testing.T) storage.Store { return newStore(t, cfg, "") })
}

// One store scoped to a prefix and shared by every check, as a server has
// it: the checks also prove that the prefix is transparent.
func TestContractPrefixScopedSharedStore(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	s := newStore(t, cfg, "tenant/area")
	storagetest.Run(t, func(*testing.T) storage.Store { return s })
}

func TestParseURI(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		uri  string
		want Location
		back string
	}{
		{uri: "s3://bucket", want: Location{Scheme: "s3", Bucket: "bucket"}, back: "s3://bucket"},
		{uri: "s3://bucket/", want: Location{Scheme: "s3", Bucket: "bucket"}, back: "s3://bucket"},
		{uri: "S3://my.bucket-1/a/b", want: Location{Scheme: "s3", Bucket: "my.bucket-1", Prefix: "a/b/"}, back: "s3://my.bucket-1/a/b"},
		{uri: "minio://bucket/a/b/", want: Location{Scheme: "minio", Bucket: "bucket", Prefix: "a/b/"}, back: "s3://bucket/a/b"},
		{uri: "s3://bucket/with%20space", want: Location{Scheme: "s3", Bucket: "bucket", Prefix: "with space/"}, back: "s3://bucket/with%20space"},
	} {
		got, err := ParseURI(tc.uri)
		require.NoError(t, err, tc.uri)
		require.Equal(t, tc.want, got, tc.uri)
		require.Equal(t, tc.back, got.URI())
		again, err := ParseURI(got.URI())
		require.NoError(t, err)
		require.Equal(t, got.Bucket, again.Bucket)
		require.Equal(t, got.Prefix, again.Prefix)
	}
	for _, uri := range []string{
		"", "bucket", "file:///tmp/x", "http://bucket", "s3://", "s3:///prefix", "s3:bucket",
		"s3://user:secret@bucket", "s3://bucket?region=x", "s3://bucket#f", "s3://bucket:9000",
		"s3://Bad_Bucket", "s3://ab", "s3://bucket/../x", "s3://bucket/a//b", "s3://bucket/a/./b",
		"s3://bucket/x" + storage.MetaSuffix, "s3://bucket/%zz",
	} {
		_, err := ParseURI(uri)
		require.Error(t, err, uri)
		ce := requireCode(t, err, CodeURIInvalid)
		require.NotContains(t, ce.Error(), "secret", uri)
	}
}

func TestConfigFromEnvAndMerge(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"AWS_ACCESS_KEY_ID":     "AKID",
		"AWS_SECRET_ACCESS_KEY": "SECRET",
		"AWS_SESSION_TOKEN":     "TOKEN",
		"AWS_DEFAULT_REGION":    "eu-north-1",
		"AWS_ENDPOINT_URL":      "http://generic:9000",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	require.Equal(t, Config{
		Endpoint: "http://generic:9000", Region: "eu-north-1",
		AccessKey: "AKID", SecretKey: "SECRET", SessionToken: "TOKEN",
	}, ConfigFromEnv(lookup))

	env["AWS_REGION"] = "eu-west-3"
	env["AWS_ENDPOINT_URL_S3"] = "https://s3only:443"
	got := ConfigFromEnv(lookup)
	require.Equal(t, "eu-west-3", got.Region, "AWS_REGION wins over AWS_DEFAULT_REGION")
	require.Equal(t, "https://s3only:443", got.Endpoint, "the S3-specific endpoint wins")
	require.Equal(t, Config{}, ConfigFromEnv(func(string) (string, bool) { return "", false }))

	yes := true
	explicit := Config{Endpoint: "http://explicit:9000", AccessKey: "mine", SecretKey: "my-secret", PartSize: 8 << 20}
	merged := explicit.Merge(got)
	require.Equal(t, "http://explicit:9000", merged.Endpoint)
	require.Equal(t, "eu-west-3", merged.Region, "unset fields come from the fallback")
	require.Equal(t, "mine", merged.AccessKey)
	require.Equal(t, "my-secret", merged.SecretKey)
	require.Empty(t, merged.SessionToken, "credentials are not mixed from two sources")
	require.EqualValues(t, 8<<20, merged.PartSize)

	merged = Config{}.Merge(Config{AccessKey: "a", SecretKey: "b", SessionToken: "c", UseSSL: &yes, PathStyle: true})
	require.Equal(t, "a", merged.AccessKey)
	require.Equal(t, "c", merged.SessionToken)
	require.Same(t, &yes, merged.UseSSL)
	require.True(t, merged.PathStyle)
}

func TestResolveEndpoint(t *testing.T) {
	t.Parallel()
	no := false
	for _, tc := range []struct {
		scheme string
		cfg    Config
		host   string
		secure bool
	}{
		{"s3", Config{}, "s3.amazonaws.com", true},
		{"s3", Config{Region: "eu-west-1"}, "s3.eu-west-1.amazonaws.com", true},
		{"s3", Config{Endpoint: "http://127.0.0.1:9000"}, "127.0.0.1:9000", false},
		{"minio", Config{Endpoint: "https://minio.example:9000/"}, "minio.example:9000", true},
		{"minio", Config{Endpoint: "minio.example:9000"}, "minio.example:9000", true},
		{"minio", Config{Endpoint: "minio.example:9000", UseSSL: &no}, "minio.example:9000", false},
	} {
		host, secure, err := resolveEndpoint(tc.scheme, tc.cfg)
		require.NoError(t, err)
		require.Equal(t, tc.host, host)
		require.Equal(t, tc.secure, secure)
	}
	for _, tc := range []struct {
		scheme string
		cfg    Config
	}{
		{"minio", Config{}},
		{"s3", Config{Endpoint: "ftp://host:21"}},
		{"s3", Config{Endpoint: "http://host:9000/path"}},
		{"s3", Config{Endpoint: "http://user:pw@host:9000"}},
	} {
		_, _, err := resolveEndpoint(tc.scheme, tc.cfg)
		ce := requireCode(t, err, CodeConfigInvalid)
		require.NotContains(t, ce.Error(), "pw")
	}
}

func TestOpenRefusesMissingCredentials(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	for _, c := range []Config{
		{Endpoint: cfg.Endpoint},
		{Endpoint: cfg.Endpoint, AccessKey: cfg.AccessKey},
		{Endpoint: cfg.Endpoint, SecretKey: "only-the-secret"},
	} {
		_, err := Open(t.Context(), "minio://bucket", c)
		ce := requireCode(t, err, CodeCredentialsMissing)
		require.Contains(t, ce.Hint, "AWS_ACCESS_KEY_ID")
		require.Contains(t, ce.Hint, "AWS_SECRET_ACCESS_KEY")
		require.NotContains(t, ce.Error(), "only-the-secret")
	}
	_, err := Open(t.Context(), "minio://bucket", Config{Endpoint: cfg.Endpoint, AccessKey: "a", SecretKey: "b", PartSize: 1 << 20})
	requireCode(t, err, CodeConfigInvalid)
}

func TestOpenMissingBucket(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	name := randomBucket()
	_, err := Open(t.Context(), "minio://"+name, cfg)
	ce := requireCode(t, err, CodeBucketNotFound)
	require.Contains(t, ce.Hint, name)

	cfg.CreateBucket = true
	s, err := Open(t.Context(), "minio://"+name+"/p", cfg)
	require.NoError(t, err)
	t.Cleanup(func() { removeBucket(t, s.client, name) })
	require.Equal(t, "s3://"+name+"/p", s.URI())
	// Opening again with creation on finds it there.
	_, err = Open(t.Context(), "minio://"+name, cfg)
	require.NoError(t, err)
}

func TestOpenBadCredentials(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	bucket := newBucket(t, cfg)
	for _, bad := range []Config{
		{AccessKey: cfg.AccessKey, SecretKey: "wrong-secret-value"},
		{AccessKey: "no-such-user", SecretKey: "wrong-secret-value"},
	} {
		bad.Endpoint, bad.Region, bad.PathStyle = cfg.Endpoint, cfg.Region, true
		_, err := Open(t.Context(), "minio://"+bucket, bad)
		ce := requireCode(t, err, CodeAccessDenied)
		require.NotContains(t, ce.Error(), "wrong-secret-value")
		require.NotContains(t, ce.Error(), cfg.SecretKey)
	}
}

func TestUnreachableEndpoint(t *testing.T) {
	t.Parallel()
	// A port that was free a moment ago: nothing listens there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err = Open(ctx, "minio://bucket", Config{Endpoint: "http://" + addr, AccessKey: "a", SecretKey: "very-secret"})
	ce := requireCode(t, err, CodeUnreachable)
	require.Contains(t, ce.Hint, addr)
	require.NotContains(t, ce.Error(), "very-secret")
}

// A store scoped to a prefix writes below it, lists without it, and sees
// nothing outside it.
func TestPrefixScopedStore(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	whole := newStore(t, cfg, "")
	scoped, err := Open(t.Context(), "s3://"+whole.Bucket()+"/team/a", cfg)
	require.NoError(t, err)
	require.Equal(t, "s3://"+whole.Bucket()+"/team/a", scoped.URI())
	ctx := t.Context()

	_, err = scoped.Put(ctx, "docs/one.md", strings.NewReader("one"), storage.Metadata{"n": 1})
	require.NoError(t, err)
	_, err = whole.Put(ctx, "team/ab", strings.NewReader("beside the prefix"), nil)
	require.NoError(t, err)
	_, err = whole.Put(ctx, "outside", strings.NewReader("outside"), nil)
	require.NoError(t, err)

	info, err := whole.Stat(ctx, "team/a/docs/one.md")
	require.NoError(t, err, "the object lives under the prefix")
	require.EqualValues(t, 1, info.Metadata["n"])

	var keys []string
	for e, err := range scoped.List(ctx, "", storage.ListOptions{}) {
		require.NoError(t, err)
		keys = append(keys, e.Key)
	}
	require.Equal(t, []string{"docs/one.md"}, keys)
	keys = nil
	for e, err := range scoped.List(ctx, "", storage.ListOptions{Delimiter: "/", StartAfter: "a"}) {
		require.NoError(t, err)
		keys = append(keys, e.Key)
	}
	require.Equal(t, []string{"docs/"}, keys)

	_, err = scoped.Stat(ctx, "outside")
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = scoped.Stat(ctx, "../outside")
	require.ErrorIs(t, err, storage.ErrInvalidKey)
	require.NoError(t, scoped.Delete(ctx, "docs/one.md"))
	_, err = whole.Stat(ctx, "team/a/docs/one.md")
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = whole.Stat(ctx, "outside")
	require.NoError(t, err)
}

// patternReader streams n bytes and cancels once after `after` bytes.
type patternReader struct {
	n, after, read int
	cancel         context.CancelFunc
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.read >= r.after && r.cancel != nil {
		r.cancel()
		r.cancel = nil
	}
	if r.read >= r.n {
		return 0, io.EOF
	}
	p = p[:min(len(p), r.n-r.read)]
	for i := range p {
		p[i] = byte('a' + (r.read+i)%26)
	}
	r.read += len(p)
	return len(p), nil
}

// A rewrite cancelled after several parts went up keeps the old object,
// and the aborted upload leaves no parts behind.
func TestCancelMidMultipartKeepsOldObject(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.PartSize = MinPartSize
	s := newStore(t, cfg, "")
	ctx := t.Context()
	old, err := s.Put(ctx, "big.bin", strings.NewReader("old"), storage.Metadata{"version": 1})
	require.NoError(t, err)

	// A completed multipart write first, so the test knows the path works.
	info, err := s.Put(ctx, "other.bin", &patternReader{n: 2*MinPartSize + 17, after: -1}, nil)
	require.NoError(t, err)
	require.EqualValues(t, 2*MinPartSize+17, info.Size)
	got, err := s.Stat(ctx, "other.bin")
	require.NoError(t, err)
	require.Equal(t, info.ETag, got.ETag)

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	_, err = s.Put(cctx, "big.bin", &patternReader{n: 64 << 20, after: 2*MinPartSize + 1, cancel: cancel}, storage.Metadata{"version": 2})
	require.ErrorIs(t, err, context.Canceled)

	rc, now, err := s.Get(ctx, "big.bin")
	require.NoError(t, err)
	content, err := io.ReadAll(rc)
	require.NoError(t, rc.Close())
	require.NoError(t, err)
	require.Equal(t, "old", string(content))
	require.Equal(t, old.ETag, now.ETag)
	require.EqualValues(t, 1, now.Metadata["version"])

	for up := range s.client.ListIncompleteUploads(ctx, s.Bucket(), "", true) {
		require.NoError(t, up.Err)
		require.Failf(t, "an aborted upload is left", "upload %s of %s", up.UploadID, up.Key)
	}
}

func TestMetadataSizeLimit(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	s := newStore(t, cfg, "")
	ctx := t.Context()
	// {"big":"…"} is 10 bytes of JSON around the value; the content type
	// is not counted.
	atLimit := storage.Metadata{storage.MetaContentType: "text/plain", "big": strings.Repeat("x", MaxMetadataBytes-10)}
	info, err := s.Put(ctx, "k", strings.NewReader("v1"), atLimit)
	require.NoError(t, err)
	_, err = s.Stat(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, atLimit["big"], info.Metadata["big"])

	// Multi-byte characters travel too (JSON and base64 keep them ASCII).
	wide := storage.Metadata{"big": nil, "w": strings.Repeat("ü", (MaxMetadataBytes-8)/2)}
	_, err = s.Put(ctx, "k", strings.NewReader("v2"), wide)
	require.NoError(t, err)
	rc, got, err := s.Get(ctx, "k")
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	require.Equal(t, wide["w"], got.Metadata["w"])
	require.NotContains(t, got.Metadata, "big")

	over := storage.Metadata{"w": nil, "big": strings.Repeat("x", MaxMetadataBytes-9)}
	_, err = s.Put(ctx, "k", strings.NewReader("v3"), over)
	requireCode(t, err, CodeMetadataTooLarge)
	rc, got, err = s.Get(ctx, "k")
	require.NoError(t, err)
	content, err := io.ReadAll(rc)
	require.NoError(t, rc.Close())
	require.NoError(t, err)
	require.Equal(t, "v2", string(content), "a refused write changes nothing")
	require.Equal(t, wide["w"], got.Metadata["w"])

	// The merged result counts: fields already stored plus new ones.
	_, err = s.Put(ctx, "k", strings.NewReader("v4"), storage.Metadata{"more": strings.Repeat("y", 100)})
	requireCode(t, err, CodeMetadataTooLarge)

	_, err = s.Put(ctx, "k", strings.NewReader("v5"), storage.Metadata{"bad": func() {}})
	requireCode(t, err, CodeMetadataInvalid)
	_, err = s.Put(ctx, "k", strings.NewReader("v5"), storage.Metadata{storage.MetaContentType: 7})
	requireCode(t, err, CodeMetadataInvalid)
}

// User metadata written by other tools shows up and survives a rewrite;
// fields the store owns cannot be set.
func TestForeignMetadataSurvives(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	s := newStore(t, cfg, "")
	ctx := t.Context()
	_, err := s.client.PutObject(ctx, s.Bucket(), "from-tool.txt", strings.NewReader("hi"), 2, minio.PutObjectOptions{
		ContentType:  "text/plain",
		UserMetadata: map[string]string{"Origin": "other-tool"},
	})
	require.NoError(t, err)
	info, err := s.Stat(ctx, "from-tool.txt")
	require.NoError(t, err)
	require.Equal(t, "other-tool", info.Metadata["origin"])
	require.Equal(t, "text/plain", info.ContentType)

	info, err = s.Put(ctx, "from-tool.txt", bytes.NewReader([]byte("hello")), storage.Metadata{"n": 1, "size": 999, "etag": "forged"})
	require.NoError(t, err)
	require.Equal(t, storage.Metadata{"origin": "other-tool", "n": 1.0, storage.MetaContentType: "text/plain"}, info.Metadata)
	require.NotEqual(t, "forged", info.ETag)
	_, got, err := s.Get(ctx, "from-tool.txt")
	require.NoError(t, err)
	require.Equal(t, info.Metadata, got.Metadata)
	require.EqualValues(t, 5, got.Size)
}

// The content type comes from the key's extension when none is given.
func TestContentTypeGuessed(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	s := newStore(t, cfg, "")
	info, err := s.Put(t.Context(), "page.html", strings.NewReader("<p>"), nil)
	require.NoError(t, err)
	require.Equal(t, "text/html; charset=utf-8", info.ContentType)
	info, err = s.Put(t.Context(), "blob", strings.NewReader("x"), nil)
	require.NoError(t, err)
	require.Equal(t, "application/octet-stream", info.ContentType)
	require.Equal(t, "application/octet-stream", info.Metadata[storage.MetaContentType])
}

// Listing a group larger than the skip budget restarts past it and still
// returns every entry once, in order.
func TestListSkipsLargeGroups(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	s := newStore(t, cfg, "")
	s.skipBudget = 3
	ctx := t.Context()
	for i := range 10 {
		_, err := s.Put(ctx, fmt.Sprintf("big/%02d", i), strings.NewReader("x"), nil)
		require.NoError(t, err)
	}
	for _, k := range []string{"a", "big0", "bigz/x", "bigz/y", "c"} {
		_, err := s.Put(ctx, k, strings.NewReader("x"), nil)
		require.NoError(t, err)
	}
	var got []string
	for e, err := range s.List(ctx, "", storage.ListOptions{Delimiter: "/"}) {
		require.NoError(t, err)
		got = append(got, e.Key)
	}
	require.Equal(t, []string{"a", "big/", "big0", "bigz/", "c"}, got)
	got = nil
	for e, err := range s.List(ctx, "", storage.ListOptions{Delimiter: "/", StartAfter: "big/01"}) {
		require.NoError(t, err)
		got = append(got, e.Key)
	}
	require.Equal(t, []string{"big0", "bigz/", "c"}, got, "a StartAfter inside a large group skips it")
}
