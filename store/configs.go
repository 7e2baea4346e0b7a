package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Config source types.
const (
	SourceAPI      = "api"
	SourceFile     = "file"
	SourceShipped  = "shipped"
	SourceImported = "imported"
	SourceCLI      = "cli"
	SourceReplay   = "replay"
)

func validSourceType(s string) bool {
	switch s {
	case SourceAPI, SourceFile, SourceShipped, SourceImported, SourceCLI, SourceReplay:
		return true
	}
	return false
}

// ConfigVersion is one historical YAML of a config.
type ConfigVersion struct {
	ConfigID    string    `json:"config_id"`
	Version     int       `json:"version"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	YAML        string    `json:"config_yaml"`
	Hash        string    `json:"config_hash"`
	CreatedAt   time.Time `json:"created_at"`
}

// ConfigFilter selects configs for List.
type ConfigFilter struct {
	IncludeInactive bool
	Limit, Offset   int
}

// Configs stores pipeline configs and every version of their YAML.
type Configs struct{ pool *pgxpool.Pool }

// ConfigHash is the hex SHA-256 of a config's YAML, as stored in Hash.
func ConfigHash(yaml string) string {
	sum := sha256.Sum256([]byte(yaml))
	return hex.EncodeToString(sum[:])
}

const configColumns = `id, name, description, yaml, source_type, source_path, hash, version, is_active, created_at, updated_at`

const (
	sqlConfigInsert = `INSERT INTO pipeline_configs (id, name, description, yaml, source_type, source_path, hash)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING ` + configColumns

	// The WHERE on DO UPDATE makes an unchanged file a no-op: no row comes
	// back and the version stays put.
	sqlConfigUpsertBySourcePath = `INSERT INTO pipeline_configs (id, name, description, yaml, source_type, source_path, hash)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (source_path) WHERE source_path IS NOT NULL DO UPDATE
SET name = EXCLUDED.name, description = EXCLUDED.description, yaml = EXCLUDED.yaml,
    source_type = EXCLUDED.source_type, hash = EXCLUDED.hash,
    version = pipeline_configs.version + 1, updated_at = now()
WHERE pipeline_configs.hash <> EXCLUDED.hash
RETURNING ` + configColumns

	sqlConfigBySourcePath = `SELECT ` + configColumns + ` FROM pipeline_configs WHERE source_path = $1`

	sqlConfigVersionInsert = `INSERT INTO pipeline_config_versions (config_id, version, name, description, yaml, hash, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)`

	sqlConfigGet = `SELECT ` + configColumns + ` FROM pipeline_configs WHERE id = $1`

	sqlConfigGetByName = `SELECT ` + configColumns + ` FROM pipeline_configs
WHERE name = $1 AND is_active
ORDER BY updated_at DESC, id DESC LIMIT 1`

	sqlConfigList = `SELECT ` + configColumns + ` FROM pipeline_configs
WHERE is_active OR $1
ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`

	sqlConfigCount = `SELECT count(*) FROM pipeline_configs WHERE is_active OR $1`

	sqlConfigUpdate = `UPDATE pipeline_configs
SET name = COALESCE(NULLIF($2, ''), name), description = $3, yaml = $4, hash = $5,
    version = version + 1, updated_at = now()
WHERE id = $1
RETURNING ` + configColumns

	sqlConfigDeactivate = `UPDATE pipeline_configs SET is_active = false, updated_at = now() WHERE id = $1`

	sqlConfigVersions = `SELECT config_id, version, name, description, yaml, hash, created_at
FROM pipeline_config_versions WHERE config_id = $1 ORDER BY version`

	sqlConfigExists = `SELECT EXISTS (SELECT 1 FROM pipeline_configs WHERE id = $1)`
)

func scanConfig(row pgx.Row) (*PipelineConfig, error) {
	var (
		c          PipelineConfig
		sourcePath *string
	)
	if err := row.Scan(&c.ID, &c.Name, &c.Description, &c.YAML, &c.SourceType, &sourcePath,
		&c.Hash, &c.Version, &c.IsActive, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return nil, err
	}
	c.SourcePath = textOrEmpty(sourcePath)
	return &c, nil
}

func recordConfigVersion(ctx context.Context, tx pgx.Tx, c *PipelineConfig) error {
	if _, err := tx.Exec(ctx, sqlConfigVersionInsert, c.ID, c.Version, c.Name, c.Description, c.YAML, c.Hash, c.UpdatedAt); err != nil {
		return fmt.Errorf("recording version %d of config %s: %w", c.Version, c.ID, err)
	}
	return nil
}

func checkConfigInput(name, sourceType string) error {
	if name == "" {
		return invalidArg("config name is empty", "give the config a name")
	}
	if !validSourceType(sourceType) {
		return invalidArg(fmt.Sprintf("unknown source type %q", sourceType),
			"use one of api, file, shipped, imported, cli, replay")
	}
	return nil
}

// Create stores a new config as version 1. It fills c.ID (a UUIDv7 unless
// set), Hash, Version, IsActive and the timestamps; an empty SourceType
// means "api". The YAML is stored as given, valid or not.
func (r *Configs) Create(ctx context.Context, c *PipelineConfig) error {
	if c.SourceType == "" {
		c.SourceType = SourceAPI
	}
	if err := checkConfigInput(c.Name, c.SourceType); err != nil {
		return err
	}
	id := c.ID
	if id == "" {
		var err error
		if id, err = NewID(); err != nil {
			return err
		}
	} else if _, ok := validID(id); !ok {
		return invalidArg(fmt.Sprintf("config id %q is not a UUID", id), "leave the id empty to have one generated")
	}
	var stored *PipelineConfig
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		var err error
		stored, err = scanConfig(tx.QueryRow(ctx, sqlConfigInsert, id, c.Name, c.Description, c.YAML,
			c.SourceType, nullText(c.SourcePath), ConfigHash(c.YAML)))
		if err != nil {
			return err
		}
		return recordConfigVersion(ctx, tx, stored)
	})
	if err != nil {
		if code, _ := pgCode(err); code == sqlstateUniqueViolation {
			return &Error{Code: CodeConflict, Kind: ErrConflict, Cause: err,
				Msg:  fmt.Sprintf("a config with id %s or source path %q already exists", id, c.SourcePath),
				Hint: "update the existing config instead"}
		}
		return fmt.Errorf("creating config %q: %w", c.Name, err)
	}
	*c = *stored
	return nil
}

// UpsertBySourcePath stores the config loaded from sourcePath: created at
// version 1 the first time, its YAML, name and description replaced and the
// version bumped when the YAML's hash changed, and left alone otherwise.
// changed reports whether anything was written. It is safe to call from
// several processes at once. A deactivated config stays deactivated.
func (r *Configs) UpsertBySourcePath(ctx context.Context, name, yaml, description, sourceType, sourcePath string) (cfg *PipelineConfig, changed bool, err error) {
	if sourcePath == "" {
		return nil, false, invalidArg("source path is empty", "UpsertBySourcePath is for configs loaded from a file")
	}
	if sourceType == "" {
		sourceType = SourceShipped
	}
	if err := checkConfigInput(name, sourceType); err != nil {
		return nil, false, err
	}
	id, err := NewID()
	if err != nil {
		return nil, false, err
	}
	err = pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		c, err := scanConfig(tx.QueryRow(ctx, sqlConfigUpsertBySourcePath, id, name, description, yaml,
			sourceType, sourcePath, ConfigHash(yaml)))
		switch {
		case err == nil:
			cfg, changed = c, true
			return recordConfigVersion(ctx, tx, c)
		case isNoRows(err):
			cfg, err = scanConfig(tx.QueryRow(ctx, sqlConfigBySourcePath, sourcePath))
			return err
		default:
			return err
		}
	})
	if err != nil {
		return nil, false, fmt.Errorf("upserting config from %s: %w", sourcePath, err)
	}
	return cfg, changed, nil
}

// Get returns the config with the given id, active or not.
func (r *Configs) Get(ctx context.Context, id string) (*PipelineConfig, error) {
	if _, ok := validID(id); !ok {
		return nil, notFound(CodeConfigNotFound, "config", id)
	}
	c, err := scanConfig(r.pool.QueryRow(ctx, sqlConfigGet, id))
	if isNoRows(err) {
		return nil, notFound(CodeConfigNotFound, "config", id)
	}
	if err != nil {
		return nil, fmt.Errorf("reading config %s: %w", id, err)
	}
	return c, nil
}

// GetByName returns the active config with that name (the most recently
// updated one if names repeat).
func (r *Configs) GetByName(ctx context.Context, name string) (*PipelineConfig, error) {
	c, err := scanConfig(r.pool.QueryRow(ctx, sqlConfigGetByName, name))
	if isNoRows(err) {
		return nil, notFound(CodeConfigNotFound, "active config named", name)
	}
	if err != nil {
		return nil, fmt.Errorf("reading config %q: %w", name, err)
	}
	return c, nil
}

// List returns active configs (all with IncludeInactive), newest first.
func (r *Configs) List(ctx context.Context, f ConfigFilter) (Page[PipelineConfig], error) {
	limit, offset := clampPage(f.Limit, f.Offset)
	page := Page[PipelineConfig]{Limit: limit, Offset: offset, Items: []PipelineConfig{}}
	if err := r.pool.QueryRow(ctx, sqlConfigCount, f.IncludeInactive).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("counting configs: %w", err)
	}
	rows, err := r.pool.Query(ctx, sqlConfigList, f.IncludeInactive, limit, offset)
	if err != nil {
		return page, fmt.Errorf("listing configs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanConfig(rows)
		if err != nil {
			return page, fmt.Errorf("listing configs: %w", err)
		}
		page.Items = append(page.Items, *c)
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("listing configs: %w", err)
	}
	return page, nil
}

// Update replaces a config's YAML and description (and name, unless empty),
// recomputes the hash and bumps the version; the new version is recorded.
func (r *Configs) Update(ctx context.Context, id, name, yaml, description string) (*PipelineConfig, error) {
	if _, ok := validID(id); !ok {
		return nil, notFound(CodeConfigNotFound, "config", id)
	}
	var c *PipelineConfig
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		var err error
		if c, err = scanConfig(tx.QueryRow(ctx, sqlConfigUpdate, id, name, description, yaml, ConfigHash(yaml))); err != nil {
			return err
		}
		return recordConfigVersion(ctx, tx, c)
	})
	if isNoRows(err) {
		return nil, notFound(CodeConfigNotFound, "config", id)
	}
	if err != nil {
		return nil, fmt.Errorf("updating config %s: %w", id, err)
	}
	return c, nil
}

// Deactivate soft-deletes a config: it stays readable by id and its
// executions keep their snapshot, but it is no longer listed or runnable by
// name. Deactivating twice is not an error.
func (r *Configs) Deactivate(ctx context.Context, id string) error {
	if _, ok := validID(id); !ok {
		return notFound(CodeConfigNotFound, "config", id)
	}
	tag, err := r.pool.Exec(ctx, sqlConfigDeactivate, id)
	if err != nil {
		return fmt.Errorf("deactivating config %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound(CodeConfigNotFound, "config", id)
	}
	return nil
}

// Versions returns every version of a config's YAML, oldest first.
func (r *Configs) Versions(ctx context.Context, id string) ([]ConfigVersion, error) {
	if _, ok := validID(id); !ok {
		return nil, notFound(CodeConfigNotFound, "config", id)
	}
	rows, err := r.pool.Query(ctx, sqlConfigVersions, id)
	if err != nil {
		return nil, fmt.Errorf("listing versions of config %s: %w", id, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ConfigVersion, error) {
		var v ConfigVersion
		err := row.Scan(&v.ConfigID, &v.Version, &v.Name, &v.Description, &v.YAML, &v.Hash, &v.CreatedAt)
		return v, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing versions of config %s: %w", id, err)
	}
	if len(out) == 0 {
		var exists bool
		if err := r.pool.QueryRow(ctx, sqlConfigExists, id).Scan(&exists); err != nil {
			return nil, fmt.Errorf("reading config %s: %w", id, err)
		}
		if !exists {
			return nil, notFound(CodeConfigNotFound, "config", id)
		}
	}
	return out, nil
}
