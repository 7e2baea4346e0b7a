package adapters

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/factflow/factflow/llm"
	"github.com/factflow/factflow/storage"
	"github.com/factflow/factflow/store"
)

// Payload is a message body: a JSON object.
type Payload = map[string]any

// Meta describes the message being processed. The engine fills it; adapters
// only read it.
type Meta struct {
	ExecutionID   string
	Route         string
	CorrelationID string
	ParentID      string
	ReplayBatchID string
	Attempt       int
	// AdapterIndex is the position of the adapter in its route's chain.
	AdapterIndex int
	// Stage is the adapter's stage name for storage keys (its type unless
	// the YAML names it).
	Stage string
}

// Input is one adapter invocation. Payload belongs to this invocation: the
// adapter may modify it and return it as its Result.Message.
type Input struct {
	Payload Payload
	Meta    Meta
}

// Result is what an adapter produced.
//
// Message feeds the next adapter of the chain. Emitted messages fan out:
// after the last adapter they are published to every matching outbound
// queue. When the last adapter emitted nothing, its Message is published as
// the single output. A nil *Result stops the chain and publishes nothing.
type Result struct {
	Message Payload
	Emitted []Payload
}

// Pass returns a Result that hands p on.
func Pass(p Payload) *Result { return &Result{Message: p} }

// Emit returns a Result that fans out msgs.
func Emit(msgs ...Payload) *Result { return &Result{Emitted: msgs} }

// Adapter is one pipeline step. Implementations must be safe for concurrent
// Process calls: a route runs several messages at once.
type Adapter interface {
	Process(ctx context.Context, in *Input) (*Result, error)
}

// Func adapts a function to Adapter.
type Func func(ctx context.Context, in *Input) (*Result, error)

func (f Func) Process(ctx context.Context, in *Input) (*Result, error) { return f(ctx, in) }

// Closer is implemented by adapters holding resources; the engine calls it
// once when the route stops.
type Closer interface {
	Close(ctx context.Context) error
}

// Deps is what the engine hands an adapter when building it. Adapters never
// import providers; they get them here.
type Deps struct {
	// Storage is the execution's artefact store.
	Storage storage.Store
	// HTTP is an outbound client whose dialer enforces the SSRF policy.
	HTTP *http.Client
	// AllowPrivateTargets tells adapters that resolve hosts themselves
	// whether loopback/private addresses are acceptable.
	AllowPrivateTargets bool
	// AllowedHosts are host[:port] entries exempt from the SSRF guard.
	AllowedHosts []string
	Logger       *slog.Logger
	// DataDir is the server's data directory (for adapters that keep state).
	DataDir string
	// UserAgent is sent by adapters that make HTTP requests.
	UserAgent string
	// LLM resolves the app config's LLM profiles; nil when the process
	// has none (adapters needing it fail to build with a clear error).
	LLM LLMProfiles
	// Segments stores segments and their vectors; nil without a database.
	Segments SegmentStore
}

// LLMProfiles hands out clients by profile name ("" picks the default
// embedding or completion profile).
type LLMProfiles interface {
	Embedder(profile string) (llm.Embedder, error)
	Completer(profile string) (llm.Completer, error)
}

// SegmentStore is where embedding_generator writes. RegisterModel declares
// an embedding slot (its profile and dimension) before vectors are saved
// under it.
type SegmentStore interface {
	RegisterModel(ctx context.Context, m store.EmbeddingModel) error
	Save(ctx context.Context, recs []store.SegmentRecord) ([]string, error)
}
