package s3

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/factflow/factflow/storage"
)

// DefaultPartSize is the multipart part size when Config.PartSize is 0;
// each Put in flight holds at most one part in memory.
const DefaultPartSize = 16 << 20

// MinPartSize is the smallest part S3 accepts (every part but the last).
const MinPartSize = 5 << 20

const defaultAWSRegion = "us-east-1"

// Config locates and authenticates the S3 service. Secrets never appear in
// errors or in URI.
type Config struct {
	// Endpoint is host[:port] or a URL such as http://127.0.0.1:9000. Empty
	// means AWS for s3:// URIs; minio:// URIs require it.
	Endpoint string
	// Region of the bucket; us-east-1 when empty.
	Region       string
	AccessKey    string
	SecretKey    string
	SessionToken string
	// UseSSL picks https; nil takes it from the endpoint's scheme (https
	// when it has none).
	UseSSL *bool
	// PathStyle addresses buckets as endpoint/bucket instead of
	// bucket.endpoint, as most self-hosted servers need. Off, the client
	// picks: virtual hosts on AWS, paths elsewhere.
	PathStyle bool
	// CreateBucket creates a missing bucket in Open instead of failing.
	CreateBucket bool
	// PartSize of multipart uploads, at least MinPartSize; 0 means
	// DefaultPartSize.
	PartSize uint64
}

// ConfigFromEnv reads the standard AWS variables: AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION (or
// AWS_DEFAULT_REGION) and AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL).
// lookup is os.LookupEnv in production.
func ConfigFromEnv(lookup func(string) (string, bool)) Config {
	get := func(names ...string) string {
		for _, n := range names {
			if v, ok := lookup(n); ok && strings.TrimSpace(v) != "" {
				return strings.TrimSpace(v)
			}
		}
		return ""
	}
	return Config{
		Endpoint:     get("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
		Region:       get("AWS_REGION", "AWS_DEFAULT_REGION"),
		AccessKey:    get("AWS_ACCESS_KEY_ID"),
		SecretKey:    get("AWS_SECRET_ACCESS_KEY"),
		SessionToken: get("AWS_SESSION_TOKEN"),
	}
}

// Merge returns c with its empty fields taken from fallback, so settings
// given explicitly (app config) win over the environment:
// cfg.Merge(ConfigFromEnv(os.LookupEnv)). Credentials move as one unit:
// when c names an access key, the fallback's secret and token are not
// mixed in. PathStyle and CreateBucket are on when either side sets them.
func (c Config) Merge(fallback Config) Config {
	out := c
	out.Endpoint = cmp.Or(c.Endpoint, fallback.Endpoint)
	out.Region = cmp.Or(c.Region, fallback.Region)
	if c.AccessKey == "" && c.SecretKey == "" {
		out.AccessKey, out.SecretKey, out.SessionToken = fallback.AccessKey, fallback.SecretKey, fallback.SessionToken
	}
	if out.UseSSL == nil {
		out.UseSSL = fallback.UseSSL
	}
	out.PathStyle = c.PathStyle || fallback.PathStyle
	out.CreateBucket = c.CreateBucket || fallback.CreateBucket
	out.PartSize = cmp.Or(c.PartSize, fallback.PartSize)
	return out
}

// Location is what a storage URI names.
type Location struct {
	Scheme string // "s3" or "minio"
	Bucket string
	Prefix string // "" or a key prefix ending in "/"
}

// ParseURI parses s3://bucket[/prefix] and minio://bucket[/prefix].
// Reserved characters in the prefix must be percent-encoded, as URI does.
func ParseURI(uri string) (Location, error) {
	const hint = "use s3://bucket[/prefix] or minio://bucket[/prefix]"
	bad := func(format string, args ...any) (Location, error) {
		return Location{}, coded(CodeURIInvalid, hint, fmt.Errorf("storage URI: "+format, args...))
	}
	u, err := url.Parse(uri)
	if err != nil {
		// url.Error quotes the whole URI, which may hold a password.
		return bad("cannot parse it")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "s3" && scheme != "minio" {
		return bad("scheme %q has no S3 provider", u.Scheme)
	}
	if u.User != nil {
		return bad("credentials do not belong in the URI; pass them in the storage config or AWS_* variables")
	}
	if u.Opaque != "" || u.RawQuery != "" || u.Fragment != "" || u.Port() != "" {
		return bad("%s://%s has a query, fragment, port or no //", scheme, u.Host)
	}
	if u.Host == "" {
		return bad("no bucket")
	}
	if err := s3utils.CheckValidBucketNameStrict(u.Host); err != nil {
		return bad("bucket %q: %v", u.Host, err)
	}
	prefix := strings.TrimPrefix(u.Path, "/")
	if prefix != "" {
		if err := storage.ValidateKey(strings.TrimSuffix(prefix, "/")); err != nil {
			return bad("prefix %q: %v", prefix, err)
		}
		prefix = strings.TrimSuffix(prefix, "/") + "/"
	}
	return Location{Scheme: scheme, Bucket: u.Host, Prefix: prefix}, nil
}

// URI returns s3://bucket[/prefix], percent-encoded.
func (l Location) URI() string {
	u := url.URL{Scheme: "s3", Host: l.Bucket}
	if l.Prefix != "" {
		u.Path = "/" + strings.TrimSuffix(l.Prefix, "/")
	}
	return u.String()
}

// Store is an S3 object store. It is safe for concurrent use.
type Store struct {
	client   *minio.Client
	core     minio.Core
	loc      Location
	bucket   string
	root     string // key prefix inside the bucket: "" or "a/b/"
	endpoint string // host[:port], for hints
	partSize uint64
	// skipBudget is groupSkipBudget; tests lower it.
	skipBudget int
	log        *slog.Logger
}

var _ storage.Store = (*Store)(nil)

// Open connects to the bucket uri names and checks that it exists (or
// creates it when cfg.CreateBucket is set). ctx bounds that check.
func Open(ctx context.Context, uri string, cfg Config) (*Store, error) {
	loc, err := ParseURI(uri)
	if err != nil {
		return nil, err
	}
	endpoint, secure, err := resolveEndpoint(loc.Scheme, cfg)
	if err != nil {
		return nil, err
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, coded(CodeCredentialsMissing, credentialsHint,
			fmt.Errorf("opening %s: no access key and secret key; anonymous access is not used", loc.URI()))
	}
	partSize := cmp.Or(cfg.PartSize, DefaultPartSize)
	if partSize < MinPartSize {
		return nil, coded(CodeConfigInvalid, "use a part size of at least 5 MiB, or 0 for 16 MiB",
			fmt.Errorf("opening %s: part size %d is below the S3 minimum", loc.URI(), partSize))
	}
	region := cmp.Or(cfg.Region, defaultAWSRegion)
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, cfg.SessionToken),
		Secure:       secure,
		Region:       region,
		BucketLookup: lookup,
	})
	if err != nil {
		return nil, coded(CodeConfigInvalid, "set the endpoint as host:port or http(s)://host:port",
			fmt.Errorf("opening %s: endpoint %q: %w", loc.URI(), endpoint, err))
	}
	s := &Store{
		client:     client,
		core:       minio.Core{Client: client},
		loc:        loc,
		bucket:     loc.Bucket,
		root:       loc.Prefix,
		endpoint:   endpoint,
		partSize:   partSize,
		skipBudget: groupSkipBudget,
		log:        slog.Default().With("storage", loc.URI()),
	}
	if err := s.checkBucket(ctx, cfg.CreateBucket, region); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Store) checkBucket(ctx context.Context, create bool, region string) error {
	what := "opening " + s.loc.URI()
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		if ctx.Err() != nil && !isNetwork(err) {
			// The probe never got an answer before ctx ended.
			if !errors.Is(err, ctx.Err()) {
				err = fmt.Errorf("%w (%w)", ctx.Err(), err)
			}
			return coded(CodeUnreachable, "check that "+s.endpoint+" is the S3 endpoint and that it is up and reachable",
				wrapf(what, err))
		}
		return s.classify(err, what)
	}
	if ok {
		return nil
	}
	if !create {
		return coded(CodeBucketNotFound, "create bucket "+s.bucket+", or enable bucket creation in the storage config",
			fmt.Errorf("%s: bucket %s does not exist", what, s.bucket))
	}
	err = s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: region})
	if err != nil {
		if code, _ := s3Code(err); code == "BucketAlreadyOwnedByYou" {
			return nil // created concurrently
		}
		return s.classify(err, what+": creating the bucket")
	}
	s.log.Info("created bucket", "bucket", s.bucket)
	return nil
}

// resolveEndpoint returns host[:port] and whether to use TLS.
func resolveEndpoint(scheme string, cfg Config) (string, bool, error) {
	raw := strings.TrimSpace(cfg.Endpoint)
	if raw == "" {
		if scheme == "minio" {
			return "", false, coded(CodeConfigInvalid, "set AWS_ENDPOINT_URL_S3 or the storage endpoint, e.g. http://127.0.0.1:9000",
				errors.New("opening a minio:// store: no endpoint"))
		}
		host := "s3.amazonaws.com"
		if cfg.Region != "" {
			host = "s3." + cfg.Region + ".amazonaws.com"
		}
		return host, cfg.UseSSL == nil || *cfg.UseSSL, nil
	}
	secure := true
	host := raw
	if strings.Contains(raw, "://") {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return "", false, coded(CodeConfigInvalid, "set the endpoint as host:port or http(s)://host:port, without path or credentials",
				errors.New("S3 endpoint is not a plain http(s)://host:port URL"))
		}
		switch strings.ToLower(u.Scheme) {
		case "http":
			secure = false
		case "https":
		default:
			return "", false, coded(CodeConfigInvalid, "use http:// or https://",
				fmt.Errorf("S3 endpoint scheme %q", u.Scheme))
		}
		host = u.Host
	}
	if cfg.UseSSL != nil {
		secure = *cfg.UseSSL
	}
	return host, secure, nil
}

// URI returns s3://bucket[/prefix]: no endpoint, no credentials.
func (s *Store) URI() string { return s.loc.URI() }

// Bucket returns the bucket name.
func (s *Store) Bucket() string { return s.bucket }

// object maps a validated key to its object name.
func (s *Store) object(key string) string { return s.root + key }
