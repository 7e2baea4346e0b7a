// Package benchcsv writes a benchmark's raw results: one CSV file per run,
// named after the benchmark and the time the run began, so runs never
// overwrite each other and sort by date.
package benchcsv

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Write writes rows (the header first) to dir/<name>-<started>.csv,
// creating dir, and returns the file's path.
func Write(dir, name string, started time.Time, rows [][]string) (string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("creating %s: %w", dir, err)
	}
	path := filepath.Join(dir, name+"-"+started.Format("20060102-150405")+".csv")
	f, err := os.Create(path)
	if err != nil {
		return "", fmt.Errorf("creating %s: %w", path, err)
	}
	w := csv.NewWriter(f)
	_ = w.WriteAll(rows) // its error is w.Error's, checked below
	if err := w.Error(); err != nil {
		f.Close()
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return path, nil
}
