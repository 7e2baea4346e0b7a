package llm

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRegistryValidation(t *testing.T) {
	ok := Profile{Name: "ok", ProviderType: ProviderOpenAI, Model: "m", APIKey: "k"}
	cases := []struct {
		name    string
		profile Profile
		field   string
	}{
		{"unknown type", Profile{Name: "p", ProviderType: "anthropic", Model: "m"}, "provider_type"},
		{"empty type", Profile{Name: "p", Model: "m"}, "provider_type"},
		{"no name", Profile{ProviderType: ProviderHashing}, "name"},
		{"openai no model", Profile{Name: "p", ProviderType: ProviderOpenAI, APIKey: "k"}, "model"},
		{"azure no model", Profile{Name: "p", ProviderType: ProviderAzure, APIKey: "k", BaseURL: "https://x"}, "model"},
		{"compatible no model", Profile{Name: "p", ProviderType: ProviderOpenAICompatible, BaseURL: "http://x"}, "model"},
		{"openai no key", Profile{Name: "p", ProviderType: ProviderOpenAI, Model: "m"}, "api_key"},
		{"azure no key", Profile{Name: "p", ProviderType: ProviderAzure, Model: "m", BaseURL: "https://x"}, "api_key"},
		{"azure no url", Profile{Name: "p", ProviderType: ProviderAzure, Model: "m", APIKey: "k"}, "base_url"},
		{"compatible no url", Profile{Name: "p", ProviderType: ProviderOpenAICompatible, Model: "m"}, "base_url"},
		{"url without scheme", Profile{Name: "p", ProviderType: ProviderOpenAICompatible, Model: "m", BaseURL: "localhost:11434/v1"}, "base_url"},
		{"negative dims", Profile{Name: "p", ProviderType: ProviderHashing, Dims: -1}, "dims"},
		{"negative concurrency", Profile{Name: "p", ProviderType: ProviderOpenAI, Model: "m", APIKey: "k", MaxConcurrency: -2}, "max_concurrency"},
		{"negative retries", Profile{Name: "p", ProviderType: ProviderOpenAI, Model: "m", APIKey: "k", MaxRetries: -1}, "max_retries"},
		{"duplicate", ok, "name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewRegistry([]Profile{ok, tc.profile}, Options{})
			var le *Error
			require.ErrorAs(t, err, &le)
			assert.Equal(t, CodeProfileInvalid, le.Code)
			assert.Equal(t, Terminal, le.Class)
			assert.NotEmpty(t, le.Hint)
			assert.Contains(t, err.Error(), "llm.providers[1]")
			assert.Contains(t, err.Error(), "."+tc.field+":")
			if tc.profile.Name != "" {
				assert.Contains(t, err.Error(), `"`+tc.profile.Name+`"`)
			}
		})
	}

	// openai_compatible needs no key (local servers).
	_, err := NewRegistry([]Profile{{Name: "local", ProviderType: ProviderOpenAICompatible, Model: "llama3", BaseURL: "http://127.0.0.1:11434/v1"}}, Options{})
	require.NoError(t, err)
}

// An invalid base_url is reported without the key or password it may
// carry in its user info or query.
func TestRegistryInvalidBaseURLHidesSecrets(t *testing.T) {
	for name, raw := range map[string]string{
		"unparsable":           "http://user:s3cretkey@host:11434\n/v1",
		"slash in password":    "http://user:s3cr/etkey@host:11434/v1",
		"wrong scheme, query":  "ftp://host/v1?api-key=s3cretkey",
		"wrong scheme, userpw": "ftp://user:s3cretkey@host/v1",
		"no host, query":       "http:///v1?key=s3cretkey",
	} {
		_, err := NewRegistry([]Profile{{Name: "p", ProviderType: ProviderOpenAICompatible, Model: "m", BaseURL: raw}}, Options{})
		var le *Error
		require.ErrorAs(t, err, &le, name)
		assert.Contains(t, err.Error(), ".base_url:", name)
		assert.NotContains(t, err.Error(), "s3cr", name)
	}
	_, err := NewRegistry([]Profile{{Name: "p", ProviderType: ProviderOpenAICompatible, Model: "m",
		BaseURL: "ftp://user:s3cretkey@host/v1?api-key=s3cretkey"}}, Options{})
	assert.Contains(t, err.Error(), `"ftp://host/v1"`, "the URL is still named, without its secrets")
}

func TestRegistryOfflineDefaults(t *testing.T) {
	r, err := NewRegistry(nil, Options{})
	require.NoError(t, err)

	e, err := r.Embedder("")
	require.NoError(t, err)
	assert.Equal(t, "hashing", e.Profile())
	assert.Equal(t, DefaultHashingDims, e.Dims())
	c, err := r.Completer("")
	require.NoError(t, err)
	assert.Equal(t, "extractive", c.Profile())

	_, err = r.Embedder("extractive")
	assert.Equal(t, CodeProfileWrongKind, Code(err))
	assert.Contains(t, err.Error(), "hashing", "hint names the embedding profiles")
	_, err = r.Completer("hashing")
	assert.Equal(t, CodeProfileWrongKind, Code(err))

	_, err = r.Embedder("nope")
	var le *Error
	require.ErrorAs(t, err, &le)
	assert.Equal(t, CodeProfileNotFound, le.Code)
	assert.Contains(t, le.Hint, "hashing")
	assert.Contains(t, le.Hint, "extractive")
	assert.Empty(t, r.Stats(), "offline profiles have no limiter")
}

func TestRegistryProfilesAndDefaults(t *testing.T) {
	profiles := []Profile{
		{Name: "hashing", ProviderType: ProviderHashing, Dims: 64},
		{Name: "oa", ProviderType: ProviderOpenAI, Model: "text-embedding-3-small", APIKey: "sk-should-not-show", Dims: 512, MaxConcurrency: 10},
		{Name: "az", ProviderType: ProviderAzure, Model: "dep", APIKey: "azure-secret", BaseURL: "https://user:url-pw@x.openai.azure.com/?code=url-key"},
	}
	r, err := NewRegistry(profiles, Options{DefaultEmbedding: "oa", DefaultCompletion: "az"})
	require.NoError(t, err)

	e, err := r.Embedder("hashing")
	require.NoError(t, err)
	assert.Equal(t, 64, e.Dims(), "config overrides the built-in hashing profile")
	e, err = r.Embedder("")
	require.NoError(t, err)
	assert.Equal(t, "oa", e.Profile())
	assert.Equal(t, 512, e.Dims())
	c, err := r.Completer("")
	require.NoError(t, err)
	assert.Equal(t, "az", c.Profile())
	c2, _ := r.Completer("az")
	assert.Same(t, c, c2, "one client per profile")

	infos := r.Profiles()
	var names []string
	for _, p := range infos {
		names = append(names, p.Name)
	}
	assert.Equal(t, []string{"hashing", "oa", "az", "extractive"}, names)
	assert.True(t, infos[1].Embedding && infos[1].Completion && infos[1].DefaultEmbedding)
	assert.Equal(t, 10, infos[1].MaxConcurrency)
	assert.True(t, infos[3].Builtin && infos[3].Completion && !infos[3].Embedding)
	b, err := json.Marshal(infos)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "should-not-show")
	assert.NotContains(t, string(b), "azure-secret")
	assert.NotContains(t, string(b), "url-pw", "nor a password in the base URL")
	assert.NotContains(t, string(b), "url-key", "nor a key in its query")
	assert.Equal(t, "https://x.openai.azure.com/", infos[2].BaseURL)
	assert.Contains(t, string(b), `"provider_type":"azure"`)

	stats := r.Stats()
	require.Len(t, stats, 2)
	assert.Equal(t, 10, stats[0].Limit)
	assert.Equal(t, MinConcurrency, stats[0].Floor)

	_, err = NewRegistry(nil, Options{DefaultEmbedding: "extractive"})
	assert.Equal(t, CodeProfileInvalid, Code(err))
	_, err = NewRegistry(nil, Options{DefaultCompletion: "missing"})
	assert.Equal(t, CodeProfileInvalid, Code(err))
	assert.True(t, strings.Contains(err.Error(), "extractive"))
}
