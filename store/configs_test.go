package store_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
)

func TestConfigsCreateAndGet(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := testCtx(t)
	repo := db.Configs()

	c := &store.PipelineConfig{Name: "docs", Description: "crawl docs", YAML: "version: \"1.0\"\n", SourcePath: "/srv/docs.yaml", SourceType: store.SourceFile}
	require.NoError(t, repo.Create(ctx, c))
	id, err := uuid.Parse(c.ID)
	require.NoError(t, err)
	require.Equal(t, uuid.Version(7), id.Version())
	require.Equal(t, 1, c.Version)
	require.True(t, c.IsActive)
	require.Equal(t, store.ConfigHash(c.YAML), c.Hash)
	require.Len(t, c.Hash, 64)
	require.False(t, c.CreatedAt.IsZero())

	got, err := repo.Get(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, c, got)

	byName, err := repo.GetByName(ctx, "docs")
	require.NoError(t, err)
	require.Equal(t, c.ID, byName.ID)

	versions, err := repo.Versions(ctx, c.ID)
	require.NoError(t, err)
	require.Len(t, versions, 1)
	require.Equal(t, c.YAML, versions[0].YAML)
	require.Equal(t, 1, versions[0].Version)

	// Invalid YAML is stored all the same: validation is not the store's job.
	bad := &store.PipelineConfig{Name: "broken", YAML: ":\n\t- ["}
	require.NoError(t, repo.Create(ctx, bad))
	require.Equal(t, store.SourceAPI, bad.SourceType)
}

func TestConfigsCreateRejects(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := testCtx(t)
	repo := db.Configs()
	require.NoError(t, repo.Create(ctx, &store.PipelineConfig{Name: "a", YAML: "x", SourcePath: "p.yaml"}))

	tests := []struct {
		name string
		cfg  store.PipelineConfig
		want error
	}{
		{"empty name", store.PipelineConfig{YAML: "x"}, store.ErrInvalidArgument},
		{"unknown source type", store.PipelineConfig{Name: "b", YAML: "x", SourceType: "ftp"}, store.ErrInvalidArgument},
		{"id not a uuid", store.PipelineConfig{ID: "nope", Name: "b", YAML: "x"}, store.ErrInvalidArgument},
		{"source path taken", store.PipelineConfig{Name: "b", YAML: "x", SourcePath: "p.yaml"}, store.ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.cfg
			err := repo.Create(ctx, &c)
			require.ErrorIs(t, err, tt.want)
			require.NotEmpty(t, store.Code(err))
		})
	}
}

func TestConfigsUpsertBySourcePath(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := testCtx(t)
	repo := db.Configs()

	c1, changed, err := repo.UpsertBySourcePath(ctx, "crawl", "v: 1\n", "first", store.SourceShipped, "pipelines/crawl.yaml")
	require.NoError(t, err)
	require.True(t, changed, "first upsert creates")
	require.Equal(t, 1, c1.Version)

	c2, changed, err := repo.UpsertBySourcePath(ctx, "crawl", "v: 1\n", "first", store.SourceShipped, "pipelines/crawl.yaml")
	require.NoError(t, err)
	require.False(t, changed, "same hash: nothing written")
	require.Equal(t, c1, c2)

	c3, changed, err := repo.UpsertBySourcePath(ctx, "crawl", "v: 2\n", "second", store.SourceShipped, "pipelines/crawl.yaml")
	require.NoError(t, err)
	require.True(t, changed)
	require.Equal(t, c1.ID, c3.ID)
	require.Equal(t, 2, c3.Version)
	require.Equal(t, "second", c3.Description)
	require.Equal(t, store.ConfigHash("v: 2\n"), c3.Hash)

	versions, err := repo.Versions(ctx, c1.ID)
	require.NoError(t, err)
	require.Len(t, versions, 2)
	require.Equal(t, "v: 1\n", versions[0].YAML)
	require.Equal(t, "v: 2\n", versions[1].YAML)

	// A deactivated shipped config stays deactivated across restarts.
	require.NoError(t, repo.Deactivate(ctx, c1.ID))
	c4, changed, err := repo.UpsertBySourcePath(ctx, "crawl", "v: 2\n", "second", store.SourceShipped, "pipelines/crawl.yaml")
	require.NoError(t, err)
	require.False(t, changed)
	require.False(t, c4.IsActive)

	_, _, err = repo.UpsertBySourcePath(ctx, "crawl", "v: 2\n", "", store.SourceShipped, "")
	require.ErrorIs(t, err, store.ErrInvalidArgument)
}

func TestConfigsUpsertBySourcePathConcurrently(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := testCtx(t)
	repo := db.Configs()

	const n = 8
	var (
		wg      sync.WaitGroup
		ids     = make([]string, n)
		changed = make([]bool, n)
		errs    = make([]error, n)
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, ch, err := repo.UpsertBySourcePath(ctx, "same", "v: 1\n", "", store.SourceShipped, "same.yaml")
			errs[i], changed[i] = err, ch
			if c != nil {
				ids[i] = c.ID
			}
		}()
	}
	wg.Wait()
	creators := 0
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, ids[0], ids[i], "every caller sees the one config")
		if changed[i] {
			creators++
		}
	}
	require.Equal(t, 1, creators, "exactly one caller created it")
	versions, err := repo.Versions(ctx, ids[0])
	require.NoError(t, err)
	require.Len(t, versions, 1)
}

func TestConfigsListPaginates(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := testCtx(t)
	repo := db.Configs()

	var ids []string
	for i := range 5 {
		ids = append(ids, newConfig(t, db, fmt.Sprintf("c%d", i)).ID)
	}
	require.NoError(t, repo.Deactivate(ctx, ids[0]))

	tests := []struct {
		name      string
		filter    store.ConfigFilter
		wantTotal int
		wantNames []string
		more      bool
	}{
		{"first page", store.ConfigFilter{Limit: 2}, 4, []string{"c4", "c3"}, true},
		{"second page", store.ConfigFilter{Limit: 2, Offset: 2}, 4, []string{"c2", "c1"}, false},
		{"past the end", store.ConfigFilter{Limit: 2, Offset: 10}, 4, nil, false},
		{"inactive included", store.ConfigFilter{IncludeInactive: true, Limit: 10}, 5, []string{"c4", "c3", "c2", "c1", "c0"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := repo.List(ctx, tt.filter)
			require.NoError(t, err)
			require.Equal(t, tt.wantTotal, page.Total)
			var names []string
			for _, c := range page.Items {
				names = append(names, c.Name)
			}
			require.Equal(t, tt.wantNames, names)
			require.Equal(t, tt.more, page.HasMore())
		})
	}

	page, err := repo.List(ctx, store.ConfigFilter{})
	require.NoError(t, err)
	require.Equal(t, store.DefaultLimit, page.Limit, "zero limit means the default")
}

func TestConfigsUpdateDeactivateAndMissing(t *testing.T) {
	t.Parallel()
	db := storetest.NewDB(t)
	ctx := testCtx(t)
	repo := db.Configs()
	c := newConfig(t, db, "orig")

	updated, err := repo.Update(ctx, c.ID, "", "v: 2\n", "new description")
	require.NoError(t, err)
	require.Equal(t, 2, updated.Version)
	require.Equal(t, "orig", updated.Name, "empty name keeps the name")
	require.Equal(t, store.ConfigHash("v: 2\n"), updated.Hash)
	require.Equal(t, "new description", updated.Description)

	renamed, err := repo.Update(ctx, c.ID, "renamed", "v: 2\n", "")
	require.NoError(t, err)
	require.Equal(t, 3, renamed.Version, "every update bumps the version")
	require.Equal(t, "renamed", renamed.Name)

	versions, err := repo.Versions(ctx, c.ID)
	require.NoError(t, err)
	require.Len(t, versions, 3)
	require.Equal(t, []int{1, 2, 3}, []int{versions[0].Version, versions[1].Version, versions[2].Version})

	require.NoError(t, repo.Deactivate(ctx, c.ID))
	require.NoError(t, repo.Deactivate(ctx, c.ID), "deactivating twice is fine")
	got, err := repo.Get(ctx, c.ID)
	require.NoError(t, err)
	require.False(t, got.IsActive)
	_, err = repo.GetByName(ctx, "renamed")
	require.ErrorIs(t, err, store.ErrNotFound, "inactive configs are not found by name")

	missing, err := store.NewID()
	require.NoError(t, err)
	for name, call := range map[string]func(id string) error{
		"Get":        func(id string) error { _, err := repo.Get(ctx, id); return err },
		"Update":     func(id string) error { _, err := repo.Update(ctx, id, "", "x", ""); return err },
		"Deactivate": func(id string) error { return repo.Deactivate(ctx, id) },
		"Versions":   func(id string) error { _, err := repo.Versions(ctx, id); return err },
	} {
		for _, id := range []string{missing, "not-a-uuid"} {
			err := call(id)
			require.ErrorIs(t, err, store.ErrNotFound, "%s(%s)", name, id)
			require.Equal(t, store.CodeConfigNotFound, store.Code(err))
		}
	}
}
