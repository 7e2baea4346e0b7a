package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Configurations of other schemas are left out: a search names a
// configuration unqualified, so only those on the default search path
// (pg_catalog's built-in ones and public's) can be used.
const sqlTextSearchConfigs = `SELECT c.cfgname::text FROM pg_ts_config c
JOIN pg_namespace n ON n.oid = c.cfgnamespace
WHERE n.nspname IN ('pg_catalog', 'public')
ORDER BY 1`

// TextSearchConfigs lists the text search configurations (languages) a
// segment or a full-text query may use. It does not need pgvector.
func (v *Vectors) TextSearchConfigs(ctx context.Context) ([]string, error) {
	rows, err := v.pool.Query(ctx, sqlTextSearchConfigs)
	if err != nil {
		return nil, fmt.Errorf("listing text search configurations: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("listing text search configurations: %w", err)
	}
	return out, nil
}
