package store

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// spillStore is the lineage writer's overflow on disk: append-only JSON-lines
// segment files, replayed oldest first and deleted once written. It is owned
// by the writer's flusher goroutine and not safe for concurrent use.
//
// Replay is at-least-once per line; rows carry their final ids, and the
// database insert ignores ids it already has, so a row reaches the table
// exactly once even when a replay is cut short by a crash.
type spillStore struct {
	dir      string
	maxBytes int64

	cur     *os.File
	curW    *bufio.Writer
	curName string

	segments  []string // closed segments awaiting replay, oldest first
	replayOff int64    // bytes of segments[0] already replayed
	bytes     int64    // on disk, all segments
	rows      int64    // lines on disk not yet replayed
	seq       int
}

const spillPrefix, spillSuffix = "lineage-", ".jsonl"

func openSpill(dir string, maxBytes int64) (*spillStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating lineage spill directory %s: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading lineage spill directory %s: %w", dir, err)
	}
	s := &spillStore{dir: dir, maxBytes: maxBytes}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasPrefix(name, spillPrefix) || !strings.HasSuffix(name, spillSuffix) {
			continue
		}
		path := filepath.Join(dir, name)
		size, lines, err := countLines(path)
		if err != nil {
			return nil, fmt.Errorf("reading lineage spill file %s: %w", path, err)
		}
		s.segments = append(s.segments, path)
		s.bytes += size
		s.rows += lines
	}
	sort.Strings(s.segments)
	return s, nil
}

func countLines(path string) (size, lines int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := f.Read(buf)
		size += int64(n)
		lines += int64(bytes.Count(buf[:n], []byte{'\n'}))
		if errors.Is(err, io.EOF) {
			return size, lines, nil
		}
		if err != nil {
			return size, lines, err
		}
	}
}

// pending reports whether rows wait on disk.
func (s *spillStore) pending() bool { return s.rows > 0 || len(s.segments) > 0 || s.cur != nil }

// write appends rows until the size limit and returns how many it took.
func (s *spillStore) write(rows []lineageRow) (taken int, err error) {
	if len(rows) == 0 {
		return 0, nil
	}
	if s.cur == nil {
		if err := s.startSegment(); err != nil {
			return 0, err
		}
	}
	for i := range rows {
		line, err := json.Marshal(&rows[i])
		if err != nil {
			// Rows are encoded before they get here; this cannot fail.
			return taken, fmt.Errorf("encoding lineage row for the spill: %w", err)
		}
		if s.bytes+int64(len(line))+1 > s.maxBytes {
			break
		}
		line = append(line, '\n')
		if _, err := s.curW.Write(line); err != nil {
			return taken, fmt.Errorf("writing lineage spill file %s: %w", s.curName, err)
		}
		s.bytes += int64(len(line))
		s.rows++
		taken++
	}
	if err := s.curW.Flush(); err != nil {
		return taken, fmt.Errorf("writing lineage spill file %s: %w", s.curName, err)
	}
	return taken, nil
}

func (s *spillStore) startSegment() error {
	s.seq++
	name := filepath.Join(s.dir, fmt.Sprintf("%s%020d-%06d%s", spillPrefix, time.Now().UnixNano(), s.seq, spillSuffix))
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("creating lineage spill file: %w", err)
	}
	s.cur, s.curW, s.curName = f, bufio.NewWriterSize(f, 64<<10), name
	return nil
}

// rotate closes the segment being written so that it can be replayed.
func (s *spillStore) rotate() error {
	if s.cur == nil {
		return nil
	}
	err := s.curW.Flush()
	if cerr := s.cur.Close(); err == nil {
		err = cerr
	}
	s.segments = append(s.segments, s.curName)
	s.cur, s.curW, s.curName = nil, nil, ""
	if err != nil {
		return fmt.Errorf("closing lineage spill file: %w", err)
	}
	return nil
}

// replay feeds up to maxChunks chunks of at most chunk rows to write, oldest
// first, deleting each segment once it is fully written. A write error stops
// the replay; the chunk is offered again next time. corrupt counts lines
// that could not be decoded (a torn last line after a crash); they are
// skipped.
func (s *spillStore) replay(chunk, maxChunks int, write func([]lineageRow) error) (corrupt int, err error) {
	if err := s.rotate(); err != nil {
		return 0, err
	}
	for done := 0; done < maxChunks && len(s.segments) > 0; done++ {
		path := s.segments[0]
		entries, consumed, lines, bad, eof, err := readSpillChunk(path, s.replayOff, chunk)
		corrupt += bad
		if err != nil {
			return corrupt, err
		}
		if len(entries) > 0 {
			if err := write(entries); err != nil {
				return corrupt, err
			}
		}
		s.replayOff += consumed
		s.rows -= int64(lines)
		if eof {
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return corrupt, fmt.Errorf("removing replayed lineage spill file %s: %w", path, err)
			}
			s.bytes -= s.replayOff
			s.segments, s.replayOff = s.segments[1:], 0
			if len(s.segments) == 0 {
				// Sizes are tracked incrementally; realign once empty.
				s.bytes, s.rows = 0, 0
			}
		}
	}
	return corrupt, nil
}

func readSpillChunk(path string, off int64, max int) (entries []lineageRow, consumed int64, lines, corrupt int, eof bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, 0, false, fmt.Errorf("opening lineage spill file %s: %w", path, err)
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, 0, 0, 0, false, fmt.Errorf("seeking lineage spill file %s: %w", path, err)
	}
	r := bufio.NewReaderSize(f, 64<<10)
	for len(entries)+corrupt < max {
		line, err := r.ReadBytes('\n')
		consumed += int64(len(line))
		if len(line) > 0 {
			lines++
			var e lineageRow
			if jerr := json.Unmarshal(line, &e); jerr != nil || !e.ID.Valid || !e.ExecutionID.Valid {
				corrupt++
			} else {
				entries = append(entries, e)
			}
		}
		if errors.Is(err, io.EOF) {
			return entries, consumed, lines, corrupt, true, nil
		}
		if err != nil {
			return nil, 0, 0, 0, false, fmt.Errorf("reading lineage spill file %s: %w", path, err)
		}
	}
	// Peek to report EOF now rather than after one more empty read.
	if _, err := r.Peek(1); errors.Is(err, io.EOF) {
		eof = true
	}
	return entries, consumed, lines, corrupt, eof, nil
}

func (s *spillStore) close() error { return s.rotate() }
