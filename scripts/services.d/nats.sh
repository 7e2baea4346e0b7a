# shellcheck shell=bash
# An external NATS server with JetStream (sourced by scripts/services.sh), for
# tests that run against a separate broker process rather than the in-process one.
#
#   FACTFLOW_NATS_PORT     client port on 127.0.0.1                        (default 4222)
#   FACTFLOW_NATS_VERSION  nats-server release built with `go install`     (default 2.15.2,
#                          the version the product embeds)
#   FACTFLOW_NATS_SOURCE   go | apt | auto: `go install` into the cache, Debian's
#                          nats-server package (2.9.x), or go when a Go toolchain
#                          exists and apt otherwise                         (default auto)
#
# Exports FACTFLOW_TEST_NATS_URL.

NATS_PORT=${FACTFLOW_NATS_PORT:-4222}
NATS_VERSION=${FACTFLOW_NATS_VERSION:-2.15.2}
NATS_SOURCE=${FACTFLOW_NATS_SOURCE:-auto}
# shellcheck disable=SC2034 # read by services.sh
nats_ready_timeout=30

nats_dir() { echo "$FACTFLOW_SERVICES_DIR/nats"; }
nats_cached_bin() { echo "$FACTFLOW_CACHE/bin/nats-server-v$NATS_VERSION"; }

# nats_bin prints the server binary to run, if one is available.
nats_bin() {
  case "$NATS_SOURCE" in
    go) [ -x "$(nats_cached_bin)" ] && nats_cached_bin ;;
    apt) [ -x /usr/sbin/nats-server ] && echo /usr/sbin/nats-server ;;
    auto)
      if [ -x "$(nats_cached_bin)" ]; then
        nats_cached_bin
      elif ! command -v go >/dev/null && [ -x /usr/sbin/nats-server ]; then
        echo /usr/sbin/nats-server
      fi
      ;;
    *) die "FACTFLOW_NATS_SOURCE must be go, apt or auto (got '$NATS_SOURCE')" ;;
  esac
}

nats_go_install() {
  local tmp
  tmp=$(mktemp -d)
  log "go install github.com/nats-io/nats-server/v2@v$NATS_VERSION (cached in $FACTFLOW_CACHE/bin)"
  # Run outside any module so the product's go.mod does not take part.
  if ! (cd "$tmp" && GOBIN=$tmp/bin GOFLAGS=-buildvcs=false go install -trimpath -ldflags='-s -w' \
    "github.com/nats-io/nats-server/v2@v$NATS_VERSION") >"$tmp/build.log" 2>&1; then
    local msg
    msg=$(tail -20 "$tmp/build.log")
    rm -rf "$tmp"
    die "go install nats-server v$NATS_VERSION failed: $msg"
  fi
  mkdir -p "$FACTFLOW_CACHE/bin"
  mv "$tmp/bin/nats-server" "$(nats_cached_bin)"
  rm -rf "$tmp"
}

nats_install() {
  [ -n "$(nats_bin)" ] && return 0
  case "$NATS_SOURCE" in
    go) nats_go_install ;;
    apt) apt_install nats-server ;;
    auto) if command -v go >/dev/null; then nats_go_install; else apt_install nats-server; fi ;;
  esac
  [ -n "$(nats_bin)" ] || die "no nats-server binary after installing"
}

nats_start() {
  local dir bin i pid
  dir=$(nats_dir)
  bin=$(nats_bin)
  mkdir -p "$dir/jetstream"
  rm -f "$dir/nats.pid"
  port_busy "$NATS_PORT" && die "127.0.0.1:$NATS_PORT is already in use by another process; set FACTFLOW_NATS_PORT"
  # setsid: the server must not share the caller's process group (a Ctrl-C
  # in the shell that ran `up` must not take it down); 9>&-: nor may it
  # inherit the services.sh lock.
  setsid "$bin" -n factflow-test -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$dir/jetstream" \
    -P "$dir/nats.pid" -l "$dir/nats.log" </dev/null >>"$dir/nats.out" 2>&1 9>&- &
  for ((i = 0; i < 100; i++)); do
    if [ -s "$dir/nats.pid" ]; then
      pid=$(cat "$dir/nats.pid")
      pid_alive "$pid" && { record_pid nats "$pid"; return 0; }
    fi
    sleep 0.05
  done
  die "nats-server did not start: $(tail -5 "$dir/nats.log" "$dir/nats.out" 2>/dev/null)"
}

# Ready once the server greets clients with an INFO that announces JetStream.
nats_ready() {
  local info
  info=$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$NATS_PORT && head -1 <&3" 2>/dev/null) || return 1
  [[ $info == INFO* && $info == *'"jetstream":true'* ]]
}

nats_env() { echo "export FACTFLOW_TEST_NATS_URL='nats://127.0.0.1:$NATS_PORT'"; }

nats_describe() {
  local ver
  ver=$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$NATS_PORT && head -1 <&3" 2>/dev/null |
    sed -n 's/.*"version":"\([^"]*\)".*/\1/p') || true
  echo "nats://127.0.0.1:$NATS_PORT  (nats-server ${ver:-?}, JetStream store $(nats_dir)/jetstream)"
}
