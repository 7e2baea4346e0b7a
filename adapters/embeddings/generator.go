package embeddings

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/factflow/factflow/adapters"
	llmadapters "github.com/factflow/factflow/adapters/llm"
	"github.com/factflow/factflow/llm"
	"github.com/factflow/factflow/store"
)

// Stable error codes of embedding_generator.
const (
	CodeStoreMissing     = "SEGMENT_STORE_UNAVAILABLE"
	CodeNoExecution      = "EMBEDDING_NO_EXECUTION"
	CodeDocumentKey      = "EMBEDDING_DOCUMENT_KEY_MISSING"
	CodeTextMissing      = "EMBEDDING_TEXT_MISSING"
	CodeIndexInvalid     = "EMBEDDING_SEGMENT_INDEX_INVALID"
	CodeDimsMismatch     = store.CodeEmbeddingDimsMismatch
	CodeBadEmbedResponse = "EMBEDDING_BAD_RESPONSE"
	CodeClosed           = "ADAPTER_CLOSED"
)

// SlotConfig is one embedding slot: the profile that embeds and the name
// its vectors are stored and searched under.
type SlotConfig struct {
	Profile   string `json:"profile" doc:"LLM embedding profile (app config llm.providers[].name). Empty: the default embedding profile (hashing unless the app config names another)."`
	ModelName string `json:"model_name" doc:"Slot name the vectors are stored and searched under. Empty: the profile's name. One slot holds vectors of one dimension."`
}

// GeneratorConfig configures embedding_generator.
type GeneratorConfig struct {
	Models         []SlotConfig  `json:"models" doc:"Embedding slots; every segment gets one vector per slot. Empty: one slot on the default embedding profile."`
	SourceField    string        `json:"source_field" default:"segment.text" doc:"Payload field (dotted path) holding the text to embed. A message whose text is empty is skipped."`
	Language       string        `json:"language" default:"english" doc:"PostgreSQL text search configuration of the segment for full-text and hybrid search (english, norwegian, german, simple, …)."`
	BatchSize      int           `json:"batch_size" default:"64" minimum:"1" maximum:"2048" doc:"Most segments embedded in one provider call; segments of concurrent messages are gathered into one batch."`
	BatchWait      time.Duration `json:"batch_wait" default:"50ms" minimum:"0s" maximum:"1m" doc:"How long a batch waits for more messages before it is embedded. Batching needs the route's inbound concurrency above 1."`
	MetadataFields []string      `json:"metadata_fields" doc:"Payload fields (dotted paths) copied into the segment's metadata under their path, for search filters. Missing fields are left out."`
}

// textSearchConfig is the shape of a PostgreSQL text search configuration
// name; anything else would fail every insert.
var textSearchConfig = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate checks paths, the language and the slot names.
func (c GeneratorConfig) Validate() error {
	var errs []error
	if err := adapters.ValidatePath(c.SourceField); err != nil {
		errs = append(errs, fmt.Errorf("source_field: %w", err))
	}
	if !textSearchConfig.MatchString(c.Language) {
		errs = append(errs, fmt.Errorf("language: %q is not a text search configuration name such as english or simple", c.Language))
	}
	for i, f := range c.MetadataFields {
		if err := adapters.ValidatePath(f); err != nil {
			errs = append(errs, fmt.Errorf("metadata_fields[%d]: %w", i, err))
		}
	}
	seen := map[string]bool{}
	for i, s := range c.Models {
		name := s.ModelName
		if name == "" {
			name = s.Profile
		}
		if name == "" {
			continue // the default profile; checked once it is resolved
		}
		if seen[name] {
			errs = append(errs, fmt.Errorf("models[%d]: slot %q appears twice; give one a distinct model_name", i, name))
		}
		seen[name] = true
	}
	if c.BatchSize < 1 {
		errs = append(errs, fmt.Errorf("batch_size: %d is below 1", c.BatchSize))
	}
	if c.BatchWait < 0 {
		errs = append(errs, fmt.Errorf("batch_wait: %s is negative", c.BatchWait))
	}
	return errors.Join(errs...)
}

func generatorSpec() adapters.Spec {
	s := adapters.Define("embedding_generator", "embeddings", "Embed segments and store them for search and chat",
		func(cfg GeneratorConfig, deps adapters.Deps) (adapters.Adapter, error) {
			return newGenerator(cfg, deps)
		})
	s.Description = "Embeds the text of `source_field` with each slot of `models` and stores the segment, " +
		"its document and its vectors in PostgreSQL, where search and chat find them. Documents are keyed " +
		"by execution and `document.storage_key` (else `document.url`, else the payload's own " +
		"`storage_key` or `url`), segments by `segment.index` (else `segment_index`, else 0): a message " +
		"processed again updates its rows instead of adding new ones. The segment also keeps `tokens`, " +
		"`heading` and `heading_path` from `segment`, and the `metadata_fields`.\n\n" +
		"Segments of concurrent messages are embedded together: a batch closes at `batch_size` " +
		"segments or after `batch_wait`, and makes one call per slot and one database write. A failure " +
		"fails every message of its batch: a rate limit retries after the profile's pause, a transient " +
		"provider or database failure retries, a rejected request, a bad key or a database without " +
		"pgvector (PGVECTOR_UNAVAILABLE) dead-letters.\n\n" +
		"The default profile `hashing` works offline with no key: its vectors are lexical (shared " +
		"words), not semantic. Each slot is registered with its profile and dimension on its first " +
		"batch; a slot keeps one dimension for good (EMBEDDING_DIMS_MISMATCH otherwise).\n\n" +
		"Passes the message on with `segment_id`, `embedding_models` (the slot names) and " +
		"`embedding_dims` (slot name to dimension)."
	s.Reads = []string{"segment.text (or the configured source_field)", "segment", "segment_index", "document", "url", "storage_key", "title", "markdown_key"}
	s.Writes = []string{"segment_id", "embedding_models", "embedding_dims"}
	return s
}

// Specs returns the embeddings adapter family.
func Specs() []adapters.Spec {
	return []adapters.Spec{generatorSpec()}
}

// slot is a resolved embedding slot.
type slot struct {
	name string
	emb  llm.Embedder

	mu         sync.Mutex
	registered int // dimension registered in the store; 0 before the first batch
}

type generator struct {
	cfg   GeneratorConfig
	slots []*slot
	store adapters.SegmentStore
	log   *slog.Logger

	reqs      chan *request
	stop      chan struct{} // closed by Close
	startOnce sync.Once
	closeOnce sync.Once
	// base parents every batch; Close cancels it when its own context
	// ends before the batches in flight finished.
	base       context.Context
	cancelBase context.CancelFunc
	wg         sync.WaitGroup // the collecting loop and running batches
}

// request is one Process call waiting for its batch.
type request struct {
	ctx  context.Context
	rec  store.SegmentRecord
	done chan response // buffered: the batch never waits for a caller
}

type response struct {
	id   string
	dims map[string]int
	err  error
}

func newGenerator(cfg GeneratorConfig, deps adapters.Deps) (*generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.LLM == nil {
		return nil, llmadapters.NotConfigured("embedding_generator")
	}
	if deps.Segments == nil {
		return nil, adapters.Coded(CodeStoreMissing,
			"embedding_generator writes segments and vectors to PostgreSQL; run the pipeline on a server with a database (database.url)",
			errors.New("embedding_generator needs the segment store, and this server has none"))
	}
	models := cfg.Models
	if len(models) == 0 {
		models = []SlotConfig{{}}
	}
	g := &generator{
		cfg:   cfg,
		store: deps.Segments,
		log:   deps.Logger,
		reqs:  make(chan *request),
		stop:  make(chan struct{}),
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	for i, m := range models {
		emb, err := deps.LLM.Embedder(m.Profile)
		if err != nil {
			return nil, fmt.Errorf("embedding_generator: models[%d]: embedding profile %q: %w", i, m.Profile, err)
		}
		name := m.ModelName
		if name == "" {
			name = emb.Profile()
		}
		if name == "" {
			name = llm.DefaultEmbeddingProfile
		}
		if slices.ContainsFunc(g.slots, func(s *slot) bool { return s.name == name }) {
			return nil, fmt.Errorf("embedding_generator: models[%d]: slot %q appears twice; give one a distinct model_name", i, name)
		}
		g.slots = append(g.slots, &slot{name: name, emb: emb})
	}
	g.base, g.cancelBase = context.WithCancel(context.Background())
	return g, nil
}

// Process hands the message's segment to the batcher and waits for its
// batch. A caller whose context ends stops waiting at once; its segment is
// left out of a batch that has not started yet.
func (g *generator) Process(ctx context.Context, in *adapters.Input) (*adapters.Result, error) {
	rec, err := g.record(in)
	if err != nil {
		return nil, err
	}
	g.startOnce.Do(func() {
		g.wg.Add(1)
		go g.loop()
	})
	r := &request{ctx: ctx, rec: rec, done: make(chan response, 1)}
	select {
	case g.reqs <- r:
	case <-g.stop:
		return nil, errClosed()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var res response
	select {
	case res = <-r.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if res.err != nil {
		return nil, res.err
	}
	names := make([]any, len(g.slots))
	dims := make(map[string]any, len(g.slots))
	for i, s := range g.slots {
		names[i] = s.name
		dims[s.name] = res.dims[s.name]
	}
	in.Payload["segment_id"] = res.id
	in.Payload["embedding_models"] = names
	in.Payload["embedding_dims"] = dims
	return adapters.Pass(in.Payload), nil
}

// Close stops taking messages, lets the batches in flight finish while ctx
// allows, then aborts them.
func (g *generator) Close(ctx context.Context) error {
	g.closeOnce.Do(func() {
		close(g.stop)
		// A batcher that never started must not start after Close.
		g.startOnce.Do(func() {})
	})
	done := make(chan struct{})
	go func() {
		g.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		g.cancelBase()
		return nil
	case <-ctx.Done():
		g.cancelBase()
		return fmt.Errorf("embedding_generator: closing with batches in flight: %w", ctx.Err())
	}
}

func errClosed() error {
	return adapters.Coded(CodeClosed, "the route is stopping; the message is redelivered when it runs again",
		errors.New("embedding_generator is closed"))
}

// loop gathers requests into batches and runs each batch on its own
// goroutine, so that the next batch fills while a provider call is out.
func (g *generator) loop() {
	defer g.wg.Done()
	for {
		var first *request
		select {
		case first = <-g.reqs:
		case <-g.stop:
			return
		}
		batch := g.collect(first)
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			g.run(batch)
		}()
	}
}

// collect adds requests to first until the batch is full, batch_wait has
// passed or the adapter closes.
func (g *generator) collect(first *request) []*request {
	batch := []*request{first}
	if g.cfg.BatchWait <= 0 {
		for len(batch) < g.cfg.BatchSize {
			select {
			case r := <-g.reqs:
				batch = append(batch, r)
			default:
				return batch
			}
		}
		return batch
	}
	timer := time.NewTimer(g.cfg.BatchWait)
	defer timer.Stop()
	for len(batch) < g.cfg.BatchSize {
		select {
		case r := <-g.reqs:
			batch = append(batch, r)
		case <-timer.C:
			return batch
		case <-g.stop:
			return batch
		}
	}
	return batch
}

// run embeds and saves one batch and answers each of its callers.
func (g *generator) run(batch []*request) {
	live := make([]*request, 0, len(batch))
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- response{err: err}
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	ctx, release := g.batchContext(live)
	defer release()

	// The same segment twice in a batch (a redelivery racing its first
	// delivery) is stored once: an upsert cannot touch a row twice in one
	// statement.
	recs := make([]store.SegmentRecord, 0, len(live))
	at := make([]int, len(live))
	byKey := map[[3]string]int{}
	for i, r := range live {
		k := [3]string{r.rec.ExecutionID, r.rec.DocumentKey, fmt.Sprint(r.rec.Index)}
		j, dup := byKey[k]
		if !dup {
			j = len(recs)
			byKey[k] = j
			recs = append(recs, r.rec)
		} else {
			recs[j] = r.rec
		}
		at[i] = j
	}

	start := time.Now()
	ids, dims, err := g.embedAndSave(ctx, recs)
	if err != nil {
		g.log.Warn("embedding batch failed", "segments", len(recs), "error", err)
		for _, r := range live {
			r.done <- response{err: err}
		}
		return
	}
	g.log.Debug("embedding batch stored", "segments", len(recs), "messages", len(live), "took", time.Since(start))
	for i, r := range live {
		r.done <- response{id: ids[at[i]], dims: dims}
	}
}

// batchContext is the context of a batch's calls: it ends when every
// caller of the batch has given up (nobody is left to answer) or when
// Close aborts.
func (g *generator) batchContext(live []*request) (context.Context, func()) {
	ctx, cancel := context.WithCancel(g.base)
	var left atomic.Int64
	left.Store(int64(len(live)))
	stops := make([]func() bool, len(live))
	for i, r := range live {
		stops[i] = context.AfterFunc(r.ctx, func() {
			if left.Add(-1) == 0 {
				cancel()
			}
		})
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}

// embedAndSave makes one Embed call per slot and one Save.
func (g *generator) embedAndSave(ctx context.Context, recs []store.SegmentRecord) ([]string, map[string]int, error) {
	texts := make([]string, len(recs))
	for i := range recs {
		texts[i] = recs[i].Text
		recs[i].Embeddings = make(map[string][]float32, len(g.slots))
	}
	dims := make(map[string]int, len(g.slots))
	for _, s := range g.slots {
		vecs, err := s.emb.Embed(ctx, texts)
		if err != nil {
			return nil, nil, outcome(fmt.Errorf("embedding_generator: embedding %d segments with profile %s (slot %s): %w",
				len(texts), s.emb.Profile(), s.name, err))
		}
		d, err := checkVectors(vecs, len(texts))
		if err != nil {
			return nil, nil, adapters.Coded(CodeBadEmbedResponse,
				"the embedding provider answered with unusable vectors; check the profile's model and dims",
				fmt.Errorf("embedding_generator: profile %s (slot %s): %w", s.emb.Profile(), s.name, err))
		}
		if err := g.register(ctx, s, d); err != nil {
			return nil, nil, outcome(err)
		}
		for i := range recs {
			recs[i].Embeddings[s.name] = vecs[i]
		}
		dims[s.name] = d
	}
	ids, err := g.store.Save(ctx, recs)
	if err != nil {
		return nil, nil, outcome(fmt.Errorf("embedding_generator: saving %d segments: %w", len(recs), err))
	}
	if len(ids) != len(recs) {
		return nil, nil, fmt.Errorf("embedding_generator: the store returned %d ids for %d segments", len(ids), len(recs))
	}
	return ids, dims, nil
}

// checkVectors returns the common dimension of vecs, one per text.
func checkVectors(vecs [][]float32, n int) (int, error) {
	if len(vecs) != n {
		return 0, fmt.Errorf("%d vectors for %d texts", len(vecs), n)
	}
	d := len(vecs[0])
	if d == 0 {
		return 0, errors.New("empty vector")
	}
	for i, v := range vecs {
		if len(v) != d {
			return 0, fmt.Errorf("vector %d has %d values, vector 0 has %d", i, len(v), d)
		}
	}
	return d, nil
}

// register declares the slot in the store once its dimension is known:
// the first batch of the slot, or a batch whose vectors changed size
// (which the store refuses with EMBEDDING_DIMS_MISMATCH).
func (g *generator) register(ctx context.Context, s *slot, dims int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.registered == dims {
		return nil
	}
	err := g.store.RegisterModel(ctx, store.EmbeddingModel{
		Name:          s.name,
		Profile:       s.emb.Profile(),
		ProviderModel: s.emb.Model(),
		Dims:          dims,
	})
	if err != nil {
		return fmt.Errorf("embedding_generator: registering slot %s (%d dimensions): %w", s.name, dims, err)
	}
	s.registered = dims
	g.log.Info("embedding slot registered", "slot", s.name, "profile", s.emb.Profile(), "model", s.emb.Model(), "dims", dims)
	return nil
}

// permanentStoreCodes are the store failures no retry fixes, with the
// hint shown when the store gave none.
var permanentStoreCodes = map[string]string{
	store.CodeVectorUnavailable: "the database lacks the pgvector extension; install it on the PostgreSQL server and restart Factflow (full-text search works without it)",
	CodeDimsMismatch:            "the slot already holds vectors of another dimension; give this profile its own model_name",
	store.CodeInvalidArgument:   "the store refused the segment; check language and the payload fields the record is built from",
}

// outcome classifies a failure of the provider or the store.
func outcome(err error) error {
	var se *store.Error
	if errors.As(err, &se) {
		coded := llmadapters.Recode(se.Code, se.Hint, err)
		if fallback, permanent := permanentStoreCodes[se.Code]; permanent {
			if se.Hint == "" {
				coded = adapters.Coded(se.Code, fallback, err)
			}
			return adapters.Permanent(coded)
		}
		return coded
	}
	return llmadapters.Outcome(err)
}

// record builds the store record of a message, before embedding.
func (g *generator) record(in *adapters.Input) (store.SegmentRecord, error) {
	p := in.Payload
	if in.Meta.ExecutionID == "" {
		return store.SegmentRecord{}, adapters.PermanentCoded(CodeNoExecution,
			"embedding_generator stores segments per execution; run the pipeline as an execution",
			errors.New("embedding_generator: the message belongs to no execution"))
	}
	doc, _ := p["document"].(map[string]any)
	// The document's fields come from segment_publisher's document
	// object, else from the payload itself (a whole-document message).
	field := func(name string) string { return firstNonEmpty(stringIn(doc, name), stringIn(p, name)) }
	key := firstNonEmpty(stringIn(doc, "storage_key"), stringIn(doc, "url"), stringIn(p, "storage_key"), stringIn(p, "url"))
	if key == "" {
		return store.SegmentRecord{}, adapters.PermanentCoded(CodeDocumentKey,
			"the message needs document.storage_key or document.url (segment_publisher writes them) or a top-level storage_key or url",
			errors.New("embedding_generator: no document key in the message"))
	}
	v, ok := adapters.Lookup(p, g.cfg.SourceField)
	text, isString := v.(string)
	if !ok || !isString {
		return store.SegmentRecord{}, adapters.PermanentCoded(CodeTextMissing,
			fmt.Sprintf("the text to embed must be a string in %q; set source_field (markdown for whole documents)", g.cfg.SourceField),
			fmt.Errorf("embedding_generator: payload field %s is missing or not a string", g.cfg.SourceField))
	}
	if strings.TrimSpace(text) == "" {
		return store.SegmentRecord{}, adapters.Skip("the text to embed (" + g.cfg.SourceField + ") is empty")
	}
	seg, _ := p["segment"].(map[string]any)
	index := 0
	if raw, ok := seg["index"]; ok {
		index, ok = adapters.IntOf(raw)
		if !ok {
			return store.SegmentRecord{}, indexError("segment.index", raw)
		}
	} else if raw, ok := p["segment_index"]; ok {
		index, ok = adapters.IntOf(raw)
		if !ok {
			return store.SegmentRecord{}, indexError("segment_index", raw)
		}
	}
	if index < 0 {
		return store.SegmentRecord{}, indexError("segment index", index)
	}
	rec := store.SegmentRecord{
		ExecutionID: in.Meta.ExecutionID,
		DocumentKey: key,
		URL:         field("url"),
		Title:       field("title"),
		StorageKey:  field("storage_key"),
		MarkdownKey: field("markdown_key"),
		Index:       index,
		Text:        text,
		Language:    g.cfg.Language,
	}
	if n, ok := adapters.IntOf(seg["tokens"]); ok && n >= 0 {
		rec.Tokens = n
	}
	rec.Heading, _ = seg["heading"].(string)
	switch hp := seg["heading_path"].(type) {
	case []any:
		for _, h := range hp {
			if s, ok := h.(string); ok {
				rec.HeadingPath = append(rec.HeadingPath, s)
			}
		}
	case []string:
		rec.HeadingPath = append([]string(nil), hp...)
	}
	for _, f := range g.cfg.MetadataFields {
		if v, ok := adapters.Lookup(p, f); ok {
			if rec.Metadata == nil {
				rec.Metadata = map[string]any{}
			}
			rec.Metadata[f] = adapters.DeepCopy(v)
		}
	}
	return rec, nil
}

func indexError(field string, v any) error {
	return adapters.PermanentCoded(CodeIndexInvalid,
		"the segment index must be a whole number of at least 0, as smart_segmenter and segment_publisher write it",
		fmt.Errorf("embedding_generator: %s is %v", field, v))
}

func stringIn(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
