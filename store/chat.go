package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// CodeChatThreadNotFound is the code of a thread id that does not exist.
const CodeChatThreadNotFound = "CHAT_THREAD_NOT_FOUND"

// Roles a chat message may have.
const (
	ChatRoleSystem    = "system"
	ChatRoleUser      = "user"
	ChatRoleAssistant = "assistant"
)

// ChatThread is a persisted conversation. Settings are the retrieval
// settings every message of the thread uses unless the message overrides
// them; the chat package owns their shape.
type ChatThread struct {
	ID           string         `json:"id"`
	Title        string         `json:"title"`
	Settings     map[string]any `json:"settings"`
	Metadata     map[string]any `json:"metadata"`
	MessageCount int64          `json:"message_count"`
	CreatedAt    time.Time      `json:"created_at"`
	UpdatedAt    time.Time      `json:"updated_at"`
}

// ChatMessage is one turn of a thread. Sources are the cited sources of an
// assistant answer, numbered as in its text.
type ChatMessage struct {
	ID        string          `json:"id"`
	ThreadID  string          `json:"thread_id"`
	Role      string          `json:"role"`
	Content   string          `json:"content"`
	Sources   json.RawMessage `json:"sources"`
	Metadata  map[string]any  `json:"metadata"`
	CreatedAt time.Time       `json:"created_at"`
}

// ChatThreadUpdate changes a thread partially: nil fields are kept, given
// ones replace the stored value whole.
type ChatThreadUpdate struct {
	Title    *string
	Settings map[string]any
	Metadata map[string]any
}

// ChatThreads persists chat threads and their messages.
type ChatThreads struct{ pool *pgxpool.Pool }

// ChatThreads returns the chat thread repository.
func (db *DB) ChatThreads() *ChatThreads { return &ChatThreads{pool: db.pool} }

const (
	chatThreadCols = `t.id, t.title, t.settings, t.metadata,
(SELECT count(*) FROM chat_messages m WHERE m.thread_id = t.id), t.created_at, t.updated_at`
	sqlChatThreadInsert = `INSERT INTO chat_threads (id, title, settings, metadata)
VALUES ($1, $2, COALESCE($3::jsonb, '{}'), COALESCE($4::jsonb, '{}'))`
	sqlChatThreadGet  = `SELECT ` + chatThreadCols + ` FROM chat_threads t WHERE t.id = $1`
	sqlChatThreadList = `SELECT ` + chatThreadCols + `, count(*) OVER ()
FROM chat_threads t ORDER BY t.updated_at DESC, t.id DESC LIMIT $1 OFFSET $2`
	sqlChatThreadCount  = `SELECT count(*) FROM chat_threads`
	sqlChatThreadUpdate = `UPDATE chat_threads SET
title = COALESCE($2, title),
settings = COALESCE($3::jsonb, settings),
metadata = COALESCE($4::jsonb, metadata),
updated_at = now()
WHERE id = $1`
	sqlChatThreadTitleIfEmpty = `UPDATE chat_threads SET title = $2 WHERE id = $1 AND title = ''`
	sqlChatThreadDelete       = `DELETE FROM chat_threads WHERE id = $1`
	sqlChatThreadTouch        = `UPDATE chat_threads SET updated_at = now() WHERE id = $1`
	sqlChatMessageInsert      = `INSERT INTO chat_messages (id, thread_id, role, content, sources, metadata)
VALUES ($1, $2, $3, $4, COALESCE($5::jsonb, '[]'), COALESCE($6::jsonb, '{}'))
RETURNING created_at`
	chatMessageCols     = `id, thread_id, role, content, sources, metadata, created_at`
	sqlChatMessagesPage = `SELECT ` + chatMessageCols + `, count(*) OVER ()
FROM chat_messages WHERE thread_id = $1 ORDER BY created_at, id LIMIT $2 OFFSET $3`
	sqlChatMessagesCount = `SELECT count(*) FROM chat_messages WHERE thread_id = $1`
	// The newest n, returned oldest first: the history a new turn sees.
	sqlChatMessagesRecent = `SELECT * FROM (SELECT ` + chatMessageCols + `
FROM chat_messages WHERE thread_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2) r
ORDER BY created_at, id`
)

func threadNotFound(id string) error {
	return &Error{Code: CodeChatThreadNotFound, Kind: ErrNotFound, Msg: fmt.Sprintf("chat thread %q not found", id),
		Hint: "check the id; GET /api/v1/chat/threads lists the existing threads"}
}

func scanChatThread(row pgx.Row, extra ...any) (ChatThread, error) {
	var (
		t                  ChatThread
		settings, metadata []byte
	)
	dest := append([]any{&t.ID, &t.Title, &settings, &metadata, &t.MessageCount, &t.CreatedAt, &t.UpdatedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return t, err
	}
	var err error
	if t.Settings, err = decodeMap[any](settings); err != nil {
		return t, err
	}
	if t.Metadata, err = decodeMap[any](metadata); err != nil {
		return t, err
	}
	return t, nil
}

func scanChatMessage(row pgx.Row, extra ...any) (ChatMessage, error) {
	var (
		m                 ChatMessage
		sources, metadata []byte
	)
	dest := append([]any{&m.ID, &m.ThreadID, &m.Role, &m.Content, &sources, &metadata, &m.CreatedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return m, err
	}
	m.Sources = rawOrNil(sources)
	var err error
	if m.Metadata, err = decodeMap[any](metadata); err != nil {
		return m, err
	}
	return m, nil
}

// Create stores a new thread.
func (r *ChatThreads) Create(ctx context.Context, title string, settings, metadata map[string]any) (*ChatThread, error) {
	id, err := NewID()
	if err != nil {
		return nil, err
	}
	s, err := jsonbMap(settings)
	if err != nil {
		return nil, invalidArg("thread settings are not JSON-encodable: "+err.Error(), "send a JSON object")
	}
	m, err := jsonbMap(metadata)
	if err != nil {
		return nil, invalidArg("thread metadata is not JSON-encodable: "+err.Error(), "send a JSON object")
	}
	if _, err := r.pool.Exec(ctx, sqlChatThreadInsert, id, title, s, m); err != nil {
		return nil, fmt.Errorf("creating chat thread: %w", err)
	}
	return r.Get(ctx, id)
}

// Get returns one thread with its message count.
func (r *ChatThreads) Get(ctx context.Context, id string) (*ChatThread, error) {
	canon, ok := validID(id)
	if !ok {
		return nil, threadNotFound(id)
	}
	t, err := scanChatThread(r.pool.QueryRow(ctx, sqlChatThreadGet, canon))
	if isNoRows(err) {
		return nil, threadNotFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("reading chat thread %s: %w", id, err)
	}
	return &t, nil
}

// List returns threads, most recently active first.
func (r *ChatThreads) List(ctx context.Context, limit, offset int) (Page[ChatThread], error) {
	limit, offset = clampPage(limit, offset)
	page := Page[ChatThread]{Items: []ChatThread{}, Limit: limit, Offset: offset}
	rows, err := r.pool.Query(ctx, sqlChatThreadList, limit, offset)
	if err != nil {
		return page, fmt.Errorf("listing chat threads: %w", err)
	}
	defer rows.Close()
	var total int64
	for rows.Next() {
		t, err := scanChatThread(rows, &total)
		if err != nil {
			return page, fmt.Errorf("listing chat threads: %w", err)
		}
		page.Items = append(page.Items, t)
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("listing chat threads: %w", err)
	}
	if len(page.Items) == 0 && offset > 0 {
		// Past the end the window function has no row to report on.
		if err := r.pool.QueryRow(ctx, sqlChatThreadCount).Scan(&total); err != nil {
			return page, fmt.Errorf("counting chat threads: %w", err)
		}
	}
	page.Total = int(total)
	return page, nil
}

// Update changes the given fields of a thread.
func (r *ChatThreads) Update(ctx context.Context, id string, u ChatThreadUpdate) (*ChatThread, error) {
	canon, ok := validID(id)
	if !ok {
		return nil, threadNotFound(id)
	}
	var settings, metadata []byte
	var err error
	if u.Settings != nil {
		// An empty map is a request to clear: it is stored as {} rather
		// than meaning "keep".
		if settings, err = json.Marshal(u.Settings); err != nil {
			return nil, invalidArg("thread settings are not JSON-encodable: "+err.Error(), "send a JSON object")
		}
	}
	if u.Metadata != nil {
		if metadata, err = json.Marshal(u.Metadata); err != nil {
			return nil, invalidArg("thread metadata is not JSON-encodable: "+err.Error(), "send a JSON object")
		}
	}
	tag, err := r.pool.Exec(ctx, sqlChatThreadUpdate, canon, u.Title, settings, metadata)
	if err != nil {
		return nil, fmt.Errorf("updating chat thread %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return nil, threadNotFound(id)
	}
	return r.Get(ctx, canon)
}

// SetTitleIfEmpty names a thread that has no title yet; a title already
// set, by a user or an earlier message, is kept. It reports whether the
// title was set.
func (r *ChatThreads) SetTitleIfEmpty(ctx context.Context, id, title string) (bool, error) {
	canon, ok := validID(id)
	if !ok {
		return false, threadNotFound(id)
	}
	tag, err := r.pool.Exec(ctx, sqlChatThreadTitleIfEmpty, canon, title)
	if err != nil {
		return false, fmt.Errorf("setting the title of chat thread %s: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// Delete removes a thread and its messages.
func (r *ChatThreads) Delete(ctx context.Context, id string) error {
	canon, ok := validID(id)
	if !ok {
		return threadNotFound(id)
	}
	tag, err := r.pool.Exec(ctx, sqlChatThreadDelete, canon)
	if err != nil {
		return fmt.Errorf("deleting chat thread %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return threadNotFound(id)
	}
	return nil
}

// AppendMessage adds a message to a thread and marks the thread active.
// sources is a JSON array (nil: none).
func (r *ChatThreads) AppendMessage(ctx context.Context, threadID, role, content string, sources json.RawMessage, metadata map[string]any) (*ChatMessage, error) {
	canon, ok := validID(threadID)
	if !ok {
		return nil, threadNotFound(threadID)
	}
	switch role {
	case ChatRoleSystem, ChatRoleUser, ChatRoleAssistant:
	default:
		return nil, invalidArg(fmt.Sprintf("unknown chat role %q", role), "use system, user or assistant")
	}
	src, err := jsonbRaw(sources)
	if err != nil {
		return nil, err
	}
	meta, err := jsonbMap(metadata)
	if err != nil {
		return nil, invalidArg("message metadata is not JSON-encodable: "+err.Error(), "send a JSON object")
	}
	id, err := NewID()
	if err != nil {
		return nil, err
	}
	msg := ChatMessage{ID: id, ThreadID: canon, Role: role, Content: content, Sources: rawOrNil(src), Metadata: metadata}
	err = pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		// Touching the thread first both checks that it exists and
		// orders concurrent appends to one thread.
		tag, err := tx.Exec(ctx, sqlChatThreadTouch, canon)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return threadNotFound(threadID)
		}
		return tx.QueryRow(ctx, sqlChatMessageInsert, id, canon, role, content, src, meta).Scan(&msg.CreatedAt)
	})
	if err != nil {
		var se *Error
		if errors.As(err, &se) {
			return nil, err
		}
		if c, _ := pgCode(err); c == sqlstateForeignKeyViolation {
			// Deleted between the touch and the insert.
			return nil, threadNotFound(threadID)
		}
		return nil, fmt.Errorf("appending a message to chat thread %s: %w", threadID, err)
	}
	if msg.Sources == nil {
		msg.Sources = json.RawMessage("[]")
	}
	return &msg, nil
}

// Messages returns a page of a thread's messages, oldest first.
func (r *ChatThreads) Messages(ctx context.Context, threadID string, limit, offset int) (Page[ChatMessage], error) {
	limit, offset = clampPage(limit, offset)
	page := Page[ChatMessage]{Items: []ChatMessage{}, Limit: limit, Offset: offset}
	if _, err := r.Get(ctx, threadID); err != nil {
		return page, err
	}
	canon, _ := validID(threadID)
	rows, err := r.pool.Query(ctx, sqlChatMessagesPage, canon, limit, offset)
	if err != nil {
		return page, fmt.Errorf("listing messages of chat thread %s: %w", threadID, err)
	}
	defer rows.Close()
	var total int64
	for rows.Next() {
		m, err := scanChatMessage(rows, &total)
		if err != nil {
			return page, fmt.Errorf("listing messages of chat thread %s: %w", threadID, err)
		}
		page.Items = append(page.Items, m)
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("listing messages of chat thread %s: %w", threadID, err)
	}
	if len(page.Items) == 0 && offset > 0 {
		if err := r.pool.QueryRow(ctx, sqlChatMessagesCount, canon).Scan(&total); err != nil {
			return page, fmt.Errorf("counting messages of chat thread %s: %w", threadID, err)
		}
	}
	page.Total = int(total)
	return page, nil
}

// Recent returns the newest n messages of a thread, oldest first: the
// history the next turn is answered with.
func (r *ChatThreads) Recent(ctx context.Context, threadID string, n int) ([]ChatMessage, error) {
	canon, ok := validID(threadID)
	if !ok {
		return nil, threadNotFound(threadID)
	}
	if n <= 0 {
		return []ChatMessage{}, nil
	}
	rows, err := r.pool.Query(ctx, sqlChatMessagesRecent, canon, n)
	if err != nil {
		return nil, fmt.Errorf("reading recent messages of chat thread %s: %w", threadID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ChatMessage, error) { return scanChatMessage(row) })
	if err != nil {
		return nil, fmt.Errorf("reading recent messages of chat thread %s: %w", threadID, err)
	}
	return out, nil
}
