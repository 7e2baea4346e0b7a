package embedded

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/factflow/factflow/adapters"
)

// dockerEndpoints lists where a Docker engine may listen: DOCKER_HOST when
// set (testcontainers-go honours it too), else the usual sockets of Docker
// Engine, rootless Docker, Docker Desktop, Colima and Rancher Desktop.
func dockerEndpoints() []string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return []string{h}
	}
	home, _ := os.UserHomeDir()
	socks := []string{"/var/run/docker.sock"}
	if xdg := os.Getenv("XDG_RUNTIME_DIR"); xdg != "" {
		socks = append(socks, filepath.Join(xdg, "docker.sock"))
	}
	socks = append(socks, fmt.Sprintf("/run/user/%d/docker.sock", os.Getuid()))
	if home != "" {
		socks = append(socks,
			filepath.Join(home, ".docker", "run", "docker.sock"),
			filepath.Join(home, ".docker", "desktop", "docker.sock"),
			filepath.Join(home, ".colima", "default", "docker.sock"),
			filepath.Join(home, ".rd", "docker.sock"))
	}
	var out []string
	for _, s := range socks {
		if st, err := os.Stat(s); err == nil && st.Mode()&fs.ModeSocket != 0 {
			out = append(out, "unix://"+s)
		}
	}
	return out
}

// probeDocker returns the first endpoint whose engine answers /_ping within
// timeout. No socket file means no dial at all, so machines without Docker
// fall through at once.
func probeDocker(ctx context.Context, endpoints []string, timeout time.Duration) (string, bool) {
	for _, ep := range endpoints {
		if pingDocker(ctx, ep, timeout) {
			return ep, true
		}
	}
	return "", false
}

func pingDocker(ctx context.Context, endpoint string, timeout time.Duration) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	var netw, addr string
	switch u.Scheme {
	case "unix":
		netw, addr = "unix", u.Path
	case "tcp":
		netw, addr = "tcp", u.Host
	default: // npipe, ssh: leave those to an explicit --database-url
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	tr := &http.Transport{
		DialContext:       func(ctx context.Context, _, _ string) (net.Conn, error) { return d.DialContext(ctx, netw, addr) },
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/_ping", nil)
	if err != nil {
		return false
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
	return resp.StatusCode == http.StatusOK && strings.TrimSpace(string(body)) == "OK"
}

// dockerState keeps the container's password: the data volume outlives the
// container and keeps the password it was created with.
type dockerState struct {
	Password string `json:"password"`
}

// startContainer runs the pgvector image with testcontainers-go. Its data
// lives in a named volume per data dir, so it survives between runs like the
// private cluster does; the port is published on loopback only.
func startContainer(ctx context.Context, opts Options) (*Postgres, error) {
	abs, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("creating data dir: %w", err)
	}
	statePath := filepath.Join(abs, "postgres-docker.json")
	var st dockerState
	if b, err := os.ReadFile(statePath); err == nil {
		if err := json.Unmarshal(b, &st); err != nil {
			return nil, fmt.Errorf("reading %s: %w", statePath, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading %s: %w", statePath, err)
	}
	if st.Password == "" {
		if st.Password, err = randomHex(16); err != nil {
			return nil, err
		}
		b, _ := json.Marshal(st)
		if err := os.WriteFile(statePath, b, 0o600); err != nil {
			return nil, fmt.Errorf("writing %s: %w", statePath, err)
		}
	}
	sum := sha256.Sum256([]byte(abs))
	volume := "factflow-pg-" + hex.EncodeToString(sum[:6])

	customizers := []testcontainers.ContainerCustomizer{
		testcontainers.WithLogger(slogPrintf{opts.Logger}),
		tcpostgres.WithDatabase(opts.Database),
		tcpostgres.WithUsername("postgres"),
		tcpostgres.WithPassword(st.Password),
		testcontainers.WithMounts(testcontainers.VolumeMount(volume, "/var/lib/postgresql/data")),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.PortBindings = network.PortMap{
				network.MustParsePort("5432/tcp"): {{HostIP: netip.MustParseAddr("127.0.0.1")}},
			}
		}),
		testcontainers.WithWaitStrategyAndDeadline(opts.StartTimeout, wait.ForListeningPort("5432/tcp")),
	}
	if !opts.Ephemeral {
		customizers = append(customizers, testcontainers.WithCmd("postgres")) // the module turns fsync off
	}
	opts.Logger.Info("starting PostgreSQL in Docker", "image", opts.Image, "volume", volume)
	ctr, err := tcpostgres.Run(ctx, opts.Image, customizers...)
	terminate := func(ctx context.Context) error {
		if ctr == nil {
			return nil
		}
		if err := ctr.Terminate(ctx); err != nil {
			return adapters.Coded(CodePGStopFailed, "remove the container with docker rm -f", fmt.Errorf("terminating the PostgreSQL container: %w", err))
		}
		return nil
	}
	if err != nil {
		_ = terminate(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("starting %s: %w", opts.Image, err)
	}
	appURL, err := ctr.ConnectionString(ctx, "sslmode=disable")
	if err == nil {
		readyCtx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
		err = connectRetry(readyCtx, func(ctx context.Context) error {
			admin, uerr := withDatabase(appURL, "postgres")
			if uerr != nil {
				return uerr
			}
			return ensureDatabase(ctx, admin, opts.Database)
		})
		cancel()
	}
	var vector bool
	if err == nil {
		vector, err = vectorAvailable(ctx, appURL)
	}
	if err != nil {
		_ = terminate(context.WithoutCancel(ctx))
		return nil, adapters.Coded(CodePGConnectFailed,
			"if the volume "+volume+" was created with another password, remove it (docker volume rm "+volume+") or pass --database-url", err)
	}
	return &Postgres{URL: appURL, Source: SourceDocker, VectorAvailable: vector, stopFn: terminate}, nil
}

func withDatabase(raw, database string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("parsing the container's URL: %w", err)
	}
	u.Path = "/" + database
	return u.String(), nil
}

// slogPrintf routes testcontainers' progress lines to debug logs.
type slogPrintf struct{ log *slog.Logger }

func (s slogPrintf) Printf(format string, v ...any) {
	s.log.Debug(strings.TrimSpace(fmt.Sprintf(format, v...)), "component", "testcontainers")
}
