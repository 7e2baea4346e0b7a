package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// CodeTokenNotFound: no API token has that id.
const CodeTokenNotFound = "TOKEN_NOT_FOUND"

// APIToken is a stored API token. Only the SHA-256 of its text is kept.
type APIToken struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Hash       []byte     `json:"-"`
	Scopes     []string   `json:"scopes"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// Active reports whether the token may still authenticate at now.
func (t *APIToken) Active(now time.Time) bool {
	return t.RevokedAt == nil && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt))
}

// Tokens stores API tokens.
type Tokens struct{ pool *pgxpool.Pool }

// NewTokens returns the token repository of db.
func NewTokens(db *DB) *Tokens { return &Tokens{pool: db.pool} }

const tokenColumns = `id, name, prefix, hash, scopes, created_by, created_at, expires_at, last_used_at, revoked_at`

func scanToken(row pgx.Row) (*APIToken, error) {
	var t APIToken
	if err := row.Scan(&t.ID, &t.Name, &t.Prefix, &t.Hash, &t.Scopes, &t.CreatedBy, &t.CreatedAt,
		&t.ExpiresAt, &t.LastUsedAt, &t.RevokedAt); err != nil {
		return nil, err
	}
	return &t, nil
}

// Create stores t; an empty ID gets a new one.
func (r *Tokens) Create(ctx context.Context, t *APIToken) error {
	if t.Name == "" || len(t.Hash) == 0 || len(t.Scopes) == 0 {
		return invalidArg("a token needs a name, a hash and at least one scope", "name the token and give it a scope")
	}
	if t.ID == "" {
		id, err := NewID()
		if err != nil {
			return err
		}
		t.ID = id
	}
	row := r.pool.QueryRow(ctx, `INSERT INTO api_tokens (id, name, prefix, hash, scopes, created_by, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING created_at`,
		t.ID, t.Name, t.Prefix, t.Hash, t.Scopes, t.CreatedBy, t.ExpiresAt)
	if err := row.Scan(&t.CreatedAt); err != nil {
		if c, _ := pgCode(err); c == sqlstateUniqueViolation {
			return &Error{Code: CodeConflict, Kind: ErrConflict, Msg: "a token with this value or id exists", Cause: err,
				Hint: "generate a new token"}
		}
		return fmt.Errorf("storing token %q: %w", t.Name, err)
	}
	return nil
}

// EnsureHash stores t unless a token with its hash exists, in which case
// that one is kept and returned. It makes a bootstrap token idempotent
// across restarts and replicas.
func (r *Tokens) EnsureHash(ctx context.Context, t *APIToken) (*APIToken, error) {
	if t.ID == "" {
		id, err := NewID()
		if err != nil {
			return nil, err
		}
		t.ID = id
	}
	_, err := r.pool.Exec(ctx, `INSERT INTO api_tokens (id, name, prefix, hash, scopes, created_by, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (hash) DO NOTHING`,
		t.ID, t.Name, t.Prefix, t.Hash, t.Scopes, t.CreatedBy, t.ExpiresAt)
	if err != nil {
		return nil, fmt.Errorf("storing token %q: %w", t.Name, err)
	}
	return r.ByHash(ctx, t.Hash)
}

// ByHash returns the token whose hash is h, active or not.
func (r *Tokens) ByHash(ctx context.Context, h []byte) (*APIToken, error) {
	t, err := scanToken(r.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = $1`, h))
	if isNoRows(err) {
		return nil, &Error{Code: CodeTokenNotFound, Kind: ErrNotFound, Msg: "no token matches", Hint: "check the token"}
	}
	if err != nil {
		return nil, fmt.Errorf("looking up a token: %w", err)
	}
	return t, nil
}

// Get returns the token with id.
func (r *Tokens) Get(ctx context.Context, id string) (*APIToken, error) {
	if _, ok := validID(id); !ok {
		return nil, notFound(CodeTokenNotFound, "token", id)
	}
	t, err := scanToken(r.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE id = $1`, id))
	if isNoRows(err) {
		return nil, notFound(CodeTokenNotFound, "token", id)
	}
	if err != nil {
		return nil, fmt.Errorf("reading token %s: %w", id, err)
	}
	return t, nil
}

// List returns tokens newest first; revoked ones only when includeRevoked.
func (r *Tokens) List(ctx context.Context, includeRevoked bool, limit, offset int) (Page[APIToken], error) {
	limit, offset = clampPage(limit, offset)
	page := Page[APIToken]{Limit: limit, Offset: offset, Items: []APIToken{}}
	where := ` WHERE revoked_at IS NULL`
	if includeRevoked {
		where = ``
	}
	if err := r.pool.QueryRow(ctx, `SELECT count(*) FROM api_tokens`+where).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("counting tokens: %w", err)
	}
	rows, err := r.pool.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens`+where+` ORDER BY id DESC LIMIT $1 OFFSET $2`,
		limit, offset)
	if err != nil {
		return page, fmt.Errorf("listing tokens: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return page, fmt.Errorf("listing tokens: %w", err)
		}
		page.Items = append(page.Items, *t)
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("listing tokens: %w", err)
	}
	return page, nil
}

// Revoke marks the token revoked (idempotent: the first time is kept).
func (r *Tokens) Revoke(ctx context.Context, id string) (*APIToken, error) {
	if _, ok := validID(id); !ok {
		return nil, notFound(CodeTokenNotFound, "token", id)
	}
	t, err := scanToken(r.pool.QueryRow(ctx, `UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())
		WHERE id = $1 RETURNING `+tokenColumns, id))
	if isNoRows(err) {
		return nil, notFound(CodeTokenNotFound, "token", id)
	}
	if err != nil {
		return nil, fmt.Errorf("revoking token %s: %w", id, err)
	}
	return t, nil
}

// Touch records a use of the token, at most once per interval so that
// busy clients do not write a row per request.
func (r *Tokens) Touch(ctx context.Context, id string, at time.Time, interval time.Duration) error {
	_, err := r.pool.Exec(ctx, `UPDATE api_tokens SET last_used_at = $2
		WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)`, id, at, at.Add(-interval))
	if err != nil {
		return fmt.Errorf("recording the use of token %s: %w", id, err)
	}
	return nil
}

// CountActiveAdmins counts tokens with the admin scope that are neither
// revoked nor expired.
func (r *Tokens) CountActiveAdmins(ctx context.Context) (int, error) {
	var n int
	err := r.pool.QueryRow(ctx, `SELECT count(*) FROM api_tokens WHERE 'admin' = ANY(scopes)
		AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting admin tokens: %w", err)
	}
	return n, nil
}
