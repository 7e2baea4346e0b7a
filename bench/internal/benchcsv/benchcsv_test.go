package benchcsv_test

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/bench/internal/benchcsv"
)

func TestWriteNamesTheFileAfterTheRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out") // created by Write
	started := time.Date(2026, 12, 2, 5, 4, 3, 0, time.UTC)
	rows := [][]string{{"round", "note"}, {"1", "a, quoted \"b\""}}
	path, err := benchcsv.Write(dir, "pipeline", started, rows)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "pipeline-20261202-050403.csv"), path)

	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	got, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Equal(t, rows, got)
}

func TestWriteReportsAnUnwritableDirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	_, err := benchcsv.Write(filepath.Join(file, "out"), "pipeline", time.Now(), nil)
	require.ErrorContains(t, err, "creating")
}
