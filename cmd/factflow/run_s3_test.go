package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/storage"
	"github.com/factflow/factflow/storage/s3"
	"github.com/factflow/factflow/store/storetest"
)

// s3Env is the test MinIO server as the standard AWS variables, and a
// fresh bucket on it (removed with its objects when the test ends).
func s3Env(t *testing.T) (env []string, bucket string) {
	t.Helper()
	endpoint := os.Getenv("FACTFLOW_TEST_S3_ENDPOINT")
	if endpoint == "" {
		t.Fatal("FACTFLOW_TEST_S3_ENDPOINT is not set: run `scripts/services.sh up minio` and eval its env")
	}
	access, secret := os.Getenv("FACTFLOW_TEST_S3_ACCESS_KEY"), os.Getenv("FACTFLOW_TEST_S3_SECRET_KEY")
	region := os.Getenv("FACTFLOW_TEST_S3_REGION")
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	bucket = "factflow-run-" + hex.EncodeToString(b)
	host := strings.TrimPrefix(endpoint, "http://")
	mc, err := minio.New(host, &minio.Options{Creds: credentials.NewStaticV4(access, secret, ""), Region: region})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, mc.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: region}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for o := range mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
			if o.Err == nil {
				_ = mc.RemoveObject(ctx, bucket, o.Key, minio.RemoveObjectOptions{})
			}
		}
		if err := mc.RemoveBucket(ctx, bucket); err != nil {
			t.Logf("removing bucket %s: %v", bucket, err)
		}
	})
	return []string{"AWS_ENDPOINT_URL_S3=" + endpoint, "AWS_ACCESS_KEY_ID=" + access,
		"AWS_SECRET_ACCESS_KEY=" + secret, "AWS_REGION=" + region}, bucket
}

// TestRunDocsIngestOnS3 runs the shipped docs-ingest pipeline with its
// artefacts in a MinIO bucket, credentials from the standard AWS
// variables: every page, its Markdown and its segments land in the
// bucket with their provenance, and every segment is embedded.
func TestRunDocsIngestOnS3(t *testing.T) {
	t.Parallel()
	bin := factflowBinary(t)
	awsEnv, bucket := s3Env(t)
	site := newDocsSite(t, docsSiteOptions{guides: 3, references: 3, troublemakers: true})
	dbURL := storetest.URL(t)

	res := runBinary(t, bin, childEnv(awsEnv...), "run", docsIngestYAML,
		"--payload", fmt.Sprintf(`{"sitemap_url": %q}`, site.URL+"/sitemap.xml"),
		"--data-dir", t.TempDir(), "--database-url", dbURL, "--storage", "minio://"+bucket+"/ingest")
	require.Equal(t, exitOK, res.code, res)
	id := executionID(t, res.stdout)
	require.Contains(t, res.stdout, "artefacts: s3://"+bucket+"/ingest/executions/"+id)

	fetched := len(site.pagePaths())
	rows := summaryRows(t, res.stdout)
	segments := rows["segments"].Done
	require.Positive(t, segments)
	require.Equal(t, segments, rows["embed"].Done, res.stdout)
	requireEmbedded(t, pgConn(t, dbURL), id, fetched, segments)

	// What the bucket holds, read back through the provider.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := s3.ConfigFromEnv(func(k string) (string, bool) {
		for _, kv := range awsEnv {
			if name, v, _ := strings.Cut(kv, "="); name == k {
				return v, true
			}
		}
		return "", false
	})
	st, err := s3.Open(ctx, "minio://"+bucket+"/ingest", cfg)
	require.NoError(t, err)
	byStage := map[string][]storage.ObjectInfo{}
	for o, err := range st.List(ctx, "executions/"+id+"/", storage.ListOptions{WithMetadata: true}) {
		require.NoError(t, err)
		require.Equal(t, id, o.Metadata[storage.MetaExecutionID], o.Key)
		stage, _ := o.Metadata[storage.MetaStage].(string)
		byStage[stage] = append(byStage[stage], o)
	}
	require.Len(t, byStage["web_content_storage"], fetched)
	require.Len(t, byStage["markdown_storage_writer"], fetched)
	require.Len(t, byStage["segments"], segments)
	for _, o := range byStage["markdown_storage_writer"] {
		require.Equal(t, "convert", o.Metadata[storage.MetaRoute], o.Key)
		require.NotEmpty(t, o.Metadata[storage.MetaSourceURL], o.Key)
	}
	rc, info, err := st.Get(ctx, byStage["markdown_storage_writer"][0].Key)
	require.NoError(t, err)
	defer rc.Close()
	require.Positive(t, info.Size)
}
