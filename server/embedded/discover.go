package embedded

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/factflow/factflow/adapters"
)

// pgBinEnv names the environment variable that points at a bin directory.
const pgBinEnv = "FACTFLOW_PG_BIN"

// knownBinGlobs are the usual install locations across Linux distributions,
// source builds, Homebrew, MacPorts and Postgres.app.
var knownBinGlobs = []string{
	"/usr/lib/postgresql/*/bin",      // Debian, Ubuntu
	"/usr/pgsql-*/bin",               // PGDG RPMs
	"/usr/local/pgsql/bin",           // source builds
	"/usr/local/lib/postgresql*/bin", // FreeBSD-style layouts
	"/opt/homebrew/opt/postgresql*/bin",
	"/usr/local/opt/postgresql*/bin",
	"/opt/local/lib/postgresql*/bin", // MacPorts
	"/Applications/Postgres.app/Contents/Versions/*/bin",
	"/usr/bin", // Fedora, Arch
}

// pgCandidate is one place binaries were looked for.
type pgCandidate struct {
	dir  string
	from string // how the directory was found, for the not-found hint
}

// discoverConfig is what discovery depends on, so tests can run it against
// directories they built.
type discoverConfig struct {
	explicit  string // Options.PGBin or FACTFLOW_PG_BIN
	explicitN string // which of the two, for messages
	path      string // PATH
	globs     []string
}

// discoverOptions builds the discovery inputs from the options and environment.
func discoverOptions(opts Options) discoverConfig {
	cfg := discoverConfig{path: os.Getenv("PATH"), globs: knownBinGlobs}
	switch {
	case opts.PGBin != "":
		cfg.explicit, cfg.explicitN = opts.PGBin, "the configured PostgreSQL bin directory"
	case os.Getenv(pgBinEnv) != "":
		cfg.explicit, cfg.explicitN = os.Getenv(pgBinEnv), pgBinEnv
	}
	return cfg
}

// discoverBinDirs lists every directory holding initdb, pg_ctl and postgres,
// in preference order, plus a description of where it looked. An explicit
// directory that is not usable is an error rather than a silent fallback.
func discoverBinDirs(ctx context.Context, cfg discoverConfig) ([]pgCandidate, []string, error) {
	var looked []string
	if cfg.explicit != "" {
		if err := validBinDir(cfg.explicit); err != nil {
			return nil, []string{cfg.explicit}, adapters.Coded(CodePGNotFound,
				fmt.Sprintf("point %s at a directory that holds initdb, pg_ctl and postgres", pgBinEnv),
				fmt.Errorf("%s %s: %w", cfg.explicitN, cfg.explicit, err))
		}
		return []pgCandidate{{dir: cfg.explicit, from: cfg.explicitN}}, []string{cfg.explicit}, nil
	}

	var found []pgCandidate
	add := func(dir, from string) {
		if dir == "" {
			return
		}
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			dir = real
		}
		for _, c := range found {
			if c.dir == dir {
				return
			}
		}
		if validBinDir(dir) == nil {
			found = append(found, pgCandidate{dir: dir, from: from})
		}
	}

	looked = append(looked, "PATH")
	for _, name := range []string{"pg_ctl", "initdb"} {
		if p := lookPath(name, cfg.path); p != "" {
			if real, err := filepath.EvalSymlinks(p); err == nil {
				p = real
			}
			add(filepath.Dir(p), "PATH")
		}
	}

	looked = append(looked, "pg_config --bindir")
	if pgConfig := lookPath("pg_config", cfg.path); pgConfig != "" {
		add(pgConfigBinDir(ctx, pgConfig), "pg_config --bindir")
	}

	for _, g := range cfg.globs {
		looked = append(looked, g)
		matches, _ := filepath.Glob(g)
		sortByVersionDesc(matches)
		for _, m := range matches {
			add(m, g)
		}
	}
	return found, looked, nil
}

// notFoundError explains where discovery looked and how to get binaries.
func notFoundError(looked []string) error {
	return adapters.Coded(CodePGNotFound,
		"install the PostgreSQL server (Debian/Ubuntu: apt-get install postgresql; Fedora: dnf install postgresql-server; "+
			"macOS: brew install postgresql@17), set "+pgBinEnv+" to its bin directory, or pass --database-url",
		fmt.Errorf("no PostgreSQL server binaries (initdb, pg_ctl, postgres) found; looked in %s=%q, %s",
			pgBinEnv, os.Getenv(pgBinEnv), strings.Join(looked, ", ")))
}

func exeName(name string) string {
	if runtime.GOOS == "windows" {
		return name + ".exe"
	}
	return name
}

func validBinDir(dir string) error {
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		p := filepath.Join(dir, exeName(name))
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("no %s: %w", name, err)
		}
		if !st.Mode().IsRegular() || (runtime.GOOS != "windows" && st.Mode().Perm()&0o111 == 0) {
			return fmt.Errorf("%s is not an executable file", p)
		}
	}
	return nil
}

// lookPath is exec.LookPath over an explicit PATH value.
func lookPath(name, pathEnv string) string {
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, exeName(name))
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
			return p
		}
	}
	return ""
}

func pgConfigBinDir(ctx context.Context, pgConfig string) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, pgConfig, "--bindir").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

var versionInPath = regexp.MustCompile(`(\d+)(?:\.(\d+))?`)

// sortByVersionDesc orders paths such as /usr/lib/postgresql/15/bin or
// /opt/homebrew/opt/postgresql@17/bin newest first; unversioned paths last.
func sortByVersionDesc(paths []string) {
	key := func(p string) (int, int, bool) {
		m := versionInPath.FindAllStringSubmatch(p, -1)
		if len(m) == 0 {
			return 0, 0, false
		}
		last := m[len(m)-1]
		major, _ := strconv.Atoi(last[1])
		minor, _ := strconv.Atoi(last[2])
		return major, minor, true
	}
	slices.SortStableFunc(paths, func(a, b string) int {
		am, an, aok := key(a)
		bm, bn, bok := key(b)
		switch {
		case aok != bok:
			if aok {
				return -1
			}
			return 1
		case am != bm:
			return bm - am
		case an != bn:
			return bn - an
		}
		return strings.Compare(a, b)
	})
}

var pgVersionOutput = regexp.MustCompile(`\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?`)

// binMajor asks pg_ctl for its major version ("15"; "9.6" for old releases).
func binMajor(ctx context.Context, dir string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(dir, exeName("pg_ctl")), "--version").Output()
	if err != nil {
		return "", fmt.Errorf("running %s --version: %w", filepath.Join(dir, "pg_ctl"), err)
	}
	m := pgVersionOutput.FindStringSubmatch(string(out))
	if m == nil {
		return "", errors.New("unrecognised pg_ctl --version output: " + strings.TrimSpace(string(out)))
	}
	if major, _ := strconv.Atoi(m[1]); major < 10 && m[2] != "" {
		return m[1] + "." + m[2], nil
	}
	return m[1], nil
}
