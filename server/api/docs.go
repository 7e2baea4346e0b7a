package api

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/factflow/factflow/server/auth"
)

// securityScheme names the bearer scheme in the OpenAPI document.
const securityScheme = "bearer"

// opDoc completes an operation's documentation: a description and the
// errors it answers (status and codes), beyond the 422, 500 and 503 every
// operation may answer.
type opDoc struct {
	desc string
	errs map[int]string
}

// opDocs is kept beside the operations; a test fails when an operation
// has no entry.
var opDocs = map[string]opDoc{
	"whoami": {desc: "The caller as the server sees it: subject, kind (local, token, proxy, oidc or anonymous), scopes and the auth mode. " +
		"Needs no credentials, so a client can learn whether to ask for a token."},
	"create-token": {desc: "Creates an API token with the given scopes and optional expiry. The token is in this answer only; " +
		"the server keeps its SHA-256.", errs: map[int]string{422: "AUTH_SCOPE_INVALID, TOKEN_EXPIRY_INVALID"}},
	"list-tokens":  {desc: "API tokens, newest first, with name, prefix, scopes, expiry and last use; never the token itself."},
	"revoke-token": {desc: "Revokes a token at once; revoking twice keeps the first time.", errs: map[int]string{404: "TOKEN_NOT_FOUND"}},
	"list-audit": {desc: "Every mutating call (allowed, failed or refused): who, what (operation id), target path, when, " +
		"status and result. Filters combine with AND; target matches as a prefix."},
	"get-system-health": {desc: "Probes the database, the broker, storage and the orchestrator, each with a short deadline. " +
		"Always 200: the status field says healthy, degraded or unhealthy; debug=true adds each component's details."},
	"get-system-info": {desc: "Version, instance, providers (with secrets redacted) and limits of this server."},
	"run-mq-diagnostic": {desc: "Publishes messages to a throwaway queue of the configured broker, consumes and acks them, " +
		"and reports a timeline; a broker failure is ok=false with the failing step.",
		errs: map[int]string{503: "QUEUE_NOT_CONFIGURED"}},
	"list-adapters": {desc: "Every adapter type with its docs, the payload fields it reads and writes, the JSON Schema of its config and a YAML example."},
	"get-adapter":   {desc: "One adapter type.", errs: map[int]string{404: "ADAPTER_NOT_FOUND"}},
	"create-config": {desc: "Stores the YAML with its validation report even when it does not parse (it is then not runnable); " +
		"only a malformed request body is refused.", errs: map[int]string{400: "BAD_REQUEST", 409: "CONFIG_NAME_TAKEN"}},
	"list-configs": {desc: "Active configs, newest first (include_inactive for all), each validated again against this server's adapters."},
	"get-config":   {desc: "One config by id or name, with its YAML and a fresh validation report.", errs: map[int]string{404: "CONFIG_NOT_FOUND"}},
	"update-config": {desc: "Replaces name, YAML and description; the version goes up by one and the old YAML stays among the versions.",
		errs: map[int]string{404: "CONFIG_NOT_FOUND", 409: "CONFIG_NAME_TAKEN"}},
	"delete-config": {desc: "Deactivates the config: it is no longer listed or runnable; its executions and versions stay.",
		errs: map[int]string{404: "CONFIG_NOT_FOUND"}},
	"list-config-versions": {desc: "Every YAML the config has had, oldest first.", errs: map[int]string{404: "CONFIG_NOT_FOUND"}},
	"validate-config":      {desc: "Validates YAML without storing it; always 200 with the findings (line, column, code, remediation)."},
	"run-config": {desc: "Starts an execution; the body's fields are merged over init_message.payload.",
		errs: map[int]string{400: "CONFIG_INVALID (with validation_report)", 404: "CONFIG_NOT_FOUND", 409: "CONFIG_INACTIVE, EXECUTION_TAG_TAKEN",
			429: "TOO_MANY_EXECUTIONS"}},
	"start-execution": {desc: "Starts an execution of a config (id or name). A repeated idempotency_key within 10 minutes answers 200 with the execution it started.",
		errs: map[int]string{400: "CONFIG_INVALID", 404: "CONFIG_NOT_FOUND", 409: "CONFIG_INACTIVE, EXECUTION_TAG_TAKEN", 429: "TOO_MANY_EXECUTIONS"}},
	"list-executions": {desc: "Newest first, filtered by status and config."},
	"get-execution":   {desc: "The execution record: status, times, frozen config snapshot, metadata and error_info.", errs: execNotFound},
	"cancel-execution": {desc: "Graceful: intake stops and in-flight messages finish, then the execution is cancelled.",
		errs: map[int]string{404: "EXECUTION_NOT_FOUND", 409: "EXECUTION_NOT_RUNNING, EXECUTION_OWNED_ELSEWHERE"}},
	"get-execution-stats":         {desc: "Per-route counts (live while running here) and per-adapter counts, durations and throughput from lineage.", errs: execNotFound},
	"get-execution-routes":        {desc: "Per-route counts only.", errs: execNotFound},
	"get-execution-dag":           {desc: "The routes, their adapters and the queues between them, from the frozen config snapshot.", errs: map[int]string{404: "EXECUTION_NOT_FOUND", 409: "SNAPSHOT_UNREADABLE"}},
	"get-execution-lineage":       {desc: "One row per message per adapter, in start order.", errs: execNotFound},
	"get-execution-timeline":      {desc: "Every stored event of the execution, oldest first.", errs: execNotFound},
	"list-execution-dead-letters": {desc: "The messages the execution gave up on, with why.", errs: execNotFound},
	"list-execution-replays":      {desc: "Executions started as replays of this one.", errs: execNotFound},
	"stream-execution-events": {desc: "", // set where the operation is registered
		errs: map[int]string{400: "EVENT_ID_INVALID", 404: "EXECUTION_NOT_FOUND"}},
	"replay-execution": {desc: "", errs: map[int]string{400: "REPLAY_TARGET_INVALID, CONFIG_INVALID", 404: "EXECUTION_NOT_FOUND, REPLAY_NOTHING_FOUND, CONFIG_NOT_FOUND",
		409: "SNAPSHOT_UNREADABLE, CONFIG_INACTIVE", 429: "TOO_MANY_EXECUTIONS"}},
	"replay-detached": {desc: "Each stored artefact of the stage becomes a message of a new execution of the config, seeded into to_route, under one replay batch; the execution is not linked to the source.",
		errs: map[int]string{400: "REPLAY_TARGET_INVALID, CONFIG_INVALID", 404: "EXECUTION_NOT_FOUND, REPLAY_NOTHING_FOUND, CONFIG_NOT_FOUND", 429: "TOO_MANY_EXECUTIONS"}},
	"list-dead-letters": {desc: "Dead letters oldest first, filtered by execution, route, adapter, error class, time (since includes, until excludes) and state: pending (not requeued yet, the default), requeued or all.",
		errs: map[int]string{400: "INVALID_ARGUMENT", 404: "EXECUTION_NOT_FOUND"}},
	"get-dead-letter": {desc: "One dead letter: the original message, its headers and why it was given up; requeued_at and requeued_as once requeued.", errs: map[int]string{404: "NOT_FOUND"}},
	"requeue-dead-letters": {desc: "Publishes each selected dead letter's message again into its route, oldest first, after the optional delay, " +
		"and marks the dead letter requeued with the new message's id. A running execution takes them back, an interrupted one resumes with them, " +
		"and those of a finished execution run in a new child execution of its frozen pipeline. " +
		"Select with ids (all must exist and be pending) or a filter (pending ones, at most max, default 1000).",
		errs: map[int]string{400: "INVALID_ARGUMENT", 404: "DEAD_LETTERS_NOT_FOUND (extra.missing), EXECUTION_NOT_FOUND",
			409: "DEAD_LETTER_ALREADY_REQUEUED (extra.requeued), EXECUTION_OWNED_ELSEWHERE, EXECUTION_NOT_RESUMABLE", 422: "REQUEUE_SELECTION_INVALID, REQUEUE_DELAY_INVALID",
			429: "TOO_MANY_EXECUTIONS"}},
	"delete-dead-letter": {desc: "Discards one dead letter, pending or requeued.", errs: map[int]string{404: "NOT_FOUND"}},
	"delete-dead-letters": {desc: "Discards the dead letters the filter selects (pending ones unless state says otherwise); without any filter, confirm=true is required.",
		errs: map[int]string{400: "INVALID_ARGUMENT", 404: "EXECUTION_NOT_FOUND", 422: "CONFIRMATION_REQUIRED"}},
	"list-route-states": {desc: "Route keys ever paused or resumed, with their state."},
	"control-route":     {desc: "Pauses or resumes a route key in every running execution that has it and in later ones; the state is persisted."},
	"list-objects":      {desc: "Objects under a prefix, one folder level with delimiter=/, filtered by execution, extension, route and stage.", errs: map[int]string{400: "STORAGE_KEY_INVALID", 404: "EXECUTION_NOT_FOUND"}},
	"get-object":        {desc: "The object's bytes with its content type.", errs: objectErrs},
	"get-object-metadata": {desc: "Size, content type, ETag and the sidecar metadata (execution, route, stage, source URL…).",
		errs: objectErrs},
	"stream-storage-events": {desc: "", errs: map[int]string{400: "EVENT_ID_INVALID", 404: "EXECUTION_NOT_FOUND"}},
	"count-archive":         {desc: "How many objects and bytes the selection holds.", errs: execNotFound},
	"prepare-archive":       {desc: "Records a job and builds the zip in the background; poll its status.", errs: map[int]string{404: "EXECUTION_NOT_FOUND, ARCHIVE_EMPTY"}},
	"get-archive-status":    {desc: "Status and progress of a job.", errs: archiveNotFound},
	"download-archive":      {desc: "The zip of a completed job.", errs: map[int]string{404: "ARCHIVE_NOT_FOUND", 409: "ARCHIVE_NOT_READY"}},
	"delete-archive":        {desc: "Cancels the job if it is building, then removes its zip and record.", errs: archiveNotFound},
	"list-lineage": {desc: "Lineage rows across executions with filters on execution, route, adapter, stage, status, ids, time ranges, durations and metadata (exact or partial, case-insensitive), sorted and paginated.",
		errs: execNotFound},
	"get-lineage":           {desc: "Every row of one message (correlation id), one per adapter.", errs: lineageNotFound},
	"get-lineage-chain":     {desc: "A message's ancestors up to the root and its descendants, with depth.", errs: lineageNotFound},
	"list-lineage-children": {desc: "The messages emitted from this one.", errs: lineageNotFound},
	"list-lineage-failures": {desc: "Failed rows, newest first.", errs: execNotFound},
	"list-lineage-batch":    {desc: "The rows of one replay batch."},
	"get-lineage-stats":     {desc: "Counts by status, by route and adapter with duration percentiles, failure rate and throughput.", errs: execNotFound},

	"search-semantic": {desc: "Embeds the query with the profile that made the slot and returns the nearest segments by cosine similarity, " +
		"with their documents (URL, title, storage keys).", errs: searchErrs},
	"search-hybrid": {desc: "Vector candidates and full-text candidates, each score normalised and blended by vector_weight (default 0.7).",
		errs: searchErrs},
	"search-rrf": {desc: "Reciprocal rank fusion, sum of 1/(k+rank), of the vector ranking of each slot named (models, or the default slot) and the full-text ranking.",
		errs: searchErrs},
	"search-multi-model": {desc: "Each slot of models is searched with its own query embedding; hits are merged per segment with each slot's similarity in model_scores.",
		errs: searchErrs},
	"search-sources":      {desc: "Executions with segments: config, tag, documents, segments, embedding slots and when they were last indexed."},
	"search-capabilities": {desc: "Search modes, embedding slots (dimension, profile, vector count, indexes), text search languages and whether pgvector is available."},
	"list-indexes":        {desc: "Every vector index with its slot, type, parameters, size and scan count.", errs: vectorErrs},
	"create-index": {desc: "Builds an HNSW (m, ef_construction) or IVFFlat (lists) index on one slot's vectors: a partial index on the slot, built concurrently.",
		errs: map[int]string{400: "INVALID_ARGUMENT", 404: "EMBEDDING_MODEL_NOT_FOUND", 409: "VECTOR_INDEX_EXISTS", 503: "PGVECTOR_UNAVAILABLE"}},
	"delete-index": {desc: "Drops a vector index; searches of its slot scan again.",
		errs: map[int]string{404: "VECTOR_INDEX_NOT_FOUND", 503: "PGVECTOR_UNAVAILABLE"}},
	"auto-manage-indexes": {desc: "Per slot: creates IVFFlat from create_at vectors, replaces IVFFlat with HNSW past hnsw_at, rebuilds IVFFlat whose lists no longer fit; dry_run only reports.",
		errs: vectorErrs},
	"chat-complete": {desc: "Retrieves passages (rag_config: sources, retrieval_strategy merge, sequential or ensemble), asks the completion profile " +
		"to answer from them and returns the answer with its numbered sources; [n] in the text is sources[n-1].", errs: chatErrs},
	"chat-stream":        {errs: chatErrs},
	"chat-sources":       {desc: "Executions with indexed segments, as for GET /search/sources."},
	"create-chat-thread": {desc: "A thread keeps a conversation: its settings (retrieval, profile, model) apply to every message unless the message overrides them.", errs: map[int]string{400: "CHAT_QUERY_INVALID"}},
	"list-chat-threads":  {desc: "Threads with their message counts, most recently active first."},
	"get-chat-thread":    {desc: "One thread with its settings and message count.", errs: threadNotFound},
	"update-chat-thread": {desc: "Changes the title, settings or metadata given; the rest stays.", errs: map[int]string{400: "CHAT_QUERY_INVALID", 404: "CHAT_THREAD_NOT_FOUND"}},
	"delete-chat-thread": {desc: "Deletes the thread and its messages.", errs: threadNotFound},
	"list-chat-messages": {desc: "The thread's messages, oldest first; an answer carries the sources it was given.", errs: threadNotFound},
	"send-chat-message":  {errs: map[int]string{400: "CHAT_QUERY_INVALID", 404: "CHAT_THREAD_NOT_FOUND, SEARCH_MODEL_NOT_FOUND", 503: "PGVECTOR_UNAVAILABLE, CHAT_NOT_CONFIGURED"}},

	"create-webhook": {desc: "Stores a subscription and answers it with its signing secret (generated unless given), the only time the secret is shown. " +
		"Targets that resolve to private or loopback addresses are refused unless the server allows them.", errs: webhookInvalid},
	"list-webhooks": {desc: "Subscriptions, oldest first, without their secrets."},
	"get-webhook":   {desc: "One subscription, without its secret.", errs: webhookNotFound},
	"update-webhook": {desc: "Changes the fields given. A new secret (secret, or rotate_secret=true for a generated one) is in this answer only; " +
		"deliveries sent from then on are signed with it.",
		errs: map[int]string{400: webhookInvalid[400], 404: "WEBHOOK_NOT_FOUND", 422: "WEBHOOK_SECRET_CHOICE_INVALID"}},
	"delete-webhook": {desc: "Removes the subscription and its deliveries.", errs: webhookNotFound},
	"test-webhook": {desc: "Queues a webhook.test event for this subscription only, whatever its event types and filters, and answers the delivery; " +
		"its outcome shows in the deliveries.", errs: webhookNotFound},
	"list-webhook-deliveries": {desc: "Deliveries newest first with their status (pending, succeeded, dead), attempts, last HTTP status and error, and next attempt.",
		errs: webhookNotFound},
	"redeliver-webhook": {desc: "Queues the delivery again now, whatever its state, with the same delivery id (receivers deduplicate on X-Factflow-Delivery) and a fresh attempt budget.",
		errs: map[int]string{404: "WEBHOOK_DELIVERY_NOT_FOUND", 409: "WEBHOOK_DELIVERY_IN_FLIGHT"}},
}

var (
	execNotFound    = map[int]string{404: "EXECUTION_NOT_FOUND"}
	objectErrs      = map[int]string{400: "STORAGE_KEY_INVALID", 404: "OBJECT_NOT_FOUND"}
	archiveNotFound = map[int]string{404: "ARCHIVE_NOT_FOUND"}
	lineageNotFound = map[int]string{404: "LINEAGE_NOT_FOUND"}
	searchErrs      = map[int]string{400: "SEARCH_MODEL_REQUIRED, SEARCH_INVALID_REQUEST, SEARCH_LANGUAGE_UNKNOWN, LLM_PROFILE_NOT_FOUND",
		404: "SEARCH_MODEL_NOT_FOUND, EXECUTION_NOT_FOUND", 409: "SEARCH_MODEL_MISMATCH", 429: "LLM_RATE_LIMITED",
		502: "LLM_AUTH_FAILED, LLM_REQUEST_REJECTED", 503: "PGVECTOR_UNAVAILABLE, LLM_UNAVAILABLE"}
	vectorErrs = map[int]string{503: "PGVECTOR_UNAVAILABLE"}
	chatErrs   = map[int]string{400: "CHAT_QUERY_INVALID, LLM_PROFILE_NOT_FOUND", 404: "SEARCH_MODEL_NOT_FOUND, EXECUTION_NOT_FOUND",
		429: "CHAT_GENERATION_FAILED (rate limited)", 502: "CHAT_GENERATION_FAILED", 503: "PGVECTOR_UNAVAILABLE, CHAT_NOT_CONFIGURED"}
	threadNotFound = map[int]string{404: "CHAT_THREAD_NOT_FOUND"}
	// A refused target is a 400 like a malformed URL: the request names
	// an address the server will not call, whoever asks.
	webhookInvalid  = map[int]string{400: "WEBHOOK_URL_INVALID, WEBHOOK_EVENT_TYPE_INVALID, WEBHOOK_TARGET_FORBIDDEN"}
	webhookNotFound = map[int]string{404: "WEBHOOK_NOT_FOUND"}
)

// documentOperations writes opDocs into the OpenAPI document: the
// description (unless the operation has one) and one problem+json
// response per documented error status.
func (a *API) documentOperations() {
	problemRef := &huma.Schema{Ref: "#/components/schemas/Problem"}
	oapi := a.huma.OpenAPI()
	if oapi.Components.SecuritySchemes == nil {
		oapi.Components.SecuritySchemes = map[string]*huma.SecurityScheme{}
	}
	oapi.Components.SecuritySchemes[securityScheme] = &huma.SecurityScheme{Type: "http", Scheme: "bearer",
		Description: "An API token (fft_…) or, in auth mode oidc, the identity provider's JWT. " +
			"Scopes: read < write < admin, each including the weaker ones. In auth mode trusted_headers the SSO " +
			"proxy's headers authenticate instead; in mode none (loopback only) nothing is needed."}
	for _, item := range a.huma.OpenAPI().Paths {
		for _, o := range []*huma.Operation{item.Get, item.Put, item.Post, item.Delete, item.Patch} {
			if o == nil {
				continue
			}
			d := opDocs[o.OperationID]
			if o.Description == "" {
				o.Description = d.desc
			}
			need := ScopeOf(o)
			if need == auth.Public {
				o.Security = []map[string][]string{}
			} else {
				o.Security = []map[string][]string{{securityScheme: {need.String()}}}
				if o.Extensions == nil {
					o.Extensions = map[string]any{}
				}
				o.Extensions["x-factflow-scope"] = need.String()
				o.Description = strings.TrimSpace(o.Description + " Needs the " + need.String() + " scope.")
			}
			errs := map[int]string{http.StatusInternalServerError: "INTERNAL",
				http.StatusServiceUnavailable: "DATABASE_UNAVAILABLE, SHUTTING_DOWN"}
			if len(o.Parameters) > 0 || o.RequestBody != nil {
				errs[http.StatusUnprocessableEntity] = "VALIDATION_FAILED (errors name each field)"
			}
			if need != auth.Public {
				errs[http.StatusUnauthorized] = "AUTH_REQUIRED, AUTH_HEADER_INVALID, AUTH_TOKEN_INVALID, AUTH_TOKEN_EXPIRED, AUTH_TOKEN_REVOKED, AUTH_UNTRUSTED_PROXY"
				errs[http.StatusForbidden] = "AUTH_SCOPE_INSUFFICIENT"
			}
			for st, codes := range d.errs {
				if prev, ok := errs[st]; ok {
					codes = prev + ", " + codes
				}
				errs[st] = codes
			}
			statuses := make([]int, 0, len(errs))
			for st := range errs {
				statuses = append(statuses, st)
			}
			sort.Ints(statuses)
			for _, st := range statuses {
				key := strconv.Itoa(st)
				if _, ok := o.Responses[key]; ok {
					continue
				}
				o.Responses[key] = &huma.Response{
					Description: fmt.Sprintf("%s: %s", http.StatusText(st), strings.TrimSpace(errs[st])),
					Content:     map[string]*huma.MediaType{"application/problem+json": {Schema: problemRef}},
				}
			}
		}
	}
}
