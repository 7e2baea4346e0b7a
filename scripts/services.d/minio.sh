# shellcheck shell=bash
# A MinIO server as a private S3 endpoint for the object-store tests (sourced
# by scripts/services.sh).
#
#   FACTFLOW_MINIO_PORT          S3 API on 127.0.0.1                      (default 59000)
#   FACTFLOW_MINIO_CONSOLE_PORT  console address on 127.0.0.1; the console is
#                                off, so nothing listens there, but naming it
#                                keeps MinIO from ever picking a random port (default 59001)
#   FACTFLOW_MINIO_USER          root access key the tests use            (default factflow)
#   FACTFLOW_MINIO_PASSWORD      root secret key, at least 8 characters   (default factflow-secret)
#   FACTFLOW_MINIO_REGION        region the server reports and signs for  (default us-east-1)
#   FACTFLOW_MINIO_VERSION       github.com/minio/minio module version built with
#                                `go install`  (default v0.0.0-20260212201848-7aac2a2c5b7c)
#
# MinIO runs only as a separate test server; the product talks to it over the
# S3 API and never links its code. Debian ships no MinIO package, so the
# server is built from the Go module proxy once (a few minutes) and cached.
# Data lives under the services dir and survives down/up. The credentials
# come from the environment on every start, so changed settings apply after
# `down` and `up`.
#
# Exports FACTFLOW_TEST_S3_ENDPOINT, FACTFLOW_TEST_S3_ACCESS_KEY,
# FACTFLOW_TEST_S3_SECRET_KEY and FACTFLOW_TEST_S3_REGION.

MINIO_PORT=${FACTFLOW_MINIO_PORT:-59000}
MINIO_CONSOLE_PORT=${FACTFLOW_MINIO_CONSOLE_PORT:-59001}
MINIO_USER=${FACTFLOW_MINIO_USER:-factflow}
MINIO_PASSWORD=${FACTFLOW_MINIO_PASSWORD:-factflow-secret}
MINIO_REGION=${FACTFLOW_MINIO_REGION:-us-east-1}
MINIO_VERSION=${FACTFLOW_MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}
# shellcheck disable=SC2034 # read by services.sh
minio_ready_timeout=60

minio_dir() { echo "$FACTFLOW_SERVICES_DIR/minio"; }
minio_bin() { echo "$FACTFLOW_CACHE/bin/minio-$MINIO_VERSION"; }
minio_endpoint() { echo "http://127.0.0.1:$MINIO_PORT"; }

minio_install() {
  local bin tmp msg
  bin=$(minio_bin)
  if [ ! -x "$bin" ]; then
    command -v go >/dev/null || die "building MinIO needs a Go toolchain (go install github.com/minio/minio@$MINIO_VERSION)"
    # Built beside the cache so the final move is a rename: an interrupted
    # build never leaves a half-written binary under the cached name.
    mkdir -p "$FACTFLOW_CACHE/bin"
    tmp=$(mktemp -d "$FACTFLOW_CACHE/bin/.minio-build.XXXXXX")
    log "go install github.com/minio/minio@$MINIO_VERSION (takes minutes; cached in $FACTFLOW_CACHE/bin)"
    # Run outside any module so the product's go.mod does not take part.
    if ! (cd "$tmp" && GOBIN=$tmp/bin GOFLAGS=-buildvcs=false go install -trimpath -ldflags='-s -w' \
      "github.com/minio/minio@$MINIO_VERSION") >"$tmp/build.log" 2>&1; then
      msg=$(tail -20 "$tmp/build.log")
      rm -rf "$tmp"
      die "go install minio $MINIO_VERSION failed: $msg"
    fi
    mv "$tmp/bin/minio" "$bin"
    rm -rf "$tmp"
    # shellcheck disable=SC2034 # read by services.sh
    INSTALLED_SOMETHING=1
  fi
  # The readiness probe and the smoke check speak HTTP through curl.
  command -v curl >/dev/null || apt_install curl
}

minio_start() {
  local dir bin exe i pid
  dir=$(minio_dir)
  bin=$(minio_bin)
  exe=$(readlink -f "$bin")
  [ "${#MINIO_PASSWORD}" -ge 8 ] || die "FACTFLOW_MINIO_PASSWORD must have at least 8 characters (MinIO refuses shorter secrets)"
  [ "${#MINIO_USER}" -ge 3 ] || die "FACTFLOW_MINIO_USER must have at least 3 characters (MinIO refuses shorter access keys)"
  mkdir -p "$dir/data"
  port_busy "$MINIO_PORT" && die "127.0.0.1:$MINIO_PORT is already in use by another process; set FACTFLOW_MINIO_PORT"
  # setsid: not in the caller's process group (a Ctrl-C in the shell that ran
  # `up` must not stop it); 9>&-: the server must not inherit the lock. setsid
  # execs without forking here, so $! becomes the server's own PID.
  # MINIO_UPDATE=off: a test server never looks for newer releases.
  MINIO_ROOT_USER=$MINIO_USER MINIO_ROOT_PASSWORD=$MINIO_PASSWORD MINIO_SITE_REGION=$MINIO_REGION \
    MINIO_BROWSER=off MINIO_UPDATE=off \
    setsid "$bin" server "$dir/data" --address "127.0.0.1:$MINIO_PORT" \
    --console-address "127.0.0.1:$MINIO_CONSOLE_PORT" --quiet --anonymous \
    </dev/null >>"$dir/minio.log" 2>&1 9>&- &
  pid=$!
  # Recorded once the exec happened, so the PID file names the server binary
  # and not the shell that forked it.
  for ((i = 0; i < 100; i++)); do
    pid_alive "$pid" || break
    if [ "$(pid_exe "$pid")" = "$exe" ]; then
      record_pid minio "$pid"
      return 0
    fi
    sleep 0.05
  done
  die "minio did not start: $(tail -5 "$dir/minio.log" 2>/dev/null)"
}

# Ready once the node answers its readiness probe (it has its drive and can
# serve requests); the probe needs no credentials.
minio_ready() {
  curl -fsS -m 2 -o /dev/null "$(minio_endpoint)/minio/health/ready" 2>/dev/null
}

# minio_verify lists the buckets with a signed request: a server started
# earlier with other FACTFLOW_MINIO_* settings would make every test fail
# with a signature or connection error, so say so here instead. The env
# file just written holds the settings the server rejects, so it goes.
minio_verify() {
  curl -fsS -m 10 -o /dev/null --aws-sigv4 "aws:amz:$MINIO_REGION:s3" \
    --user "$MINIO_USER:$MINIO_PASSWORD" "$(minio_endpoint)/" 2>/dev/null && return 0
  rm -f "$(env_file minio)"
  die "the running minio does not accept user $MINIO_USER on 127.0.0.1:$MINIO_PORT (started with other FACTFLOW_MINIO_* settings?); restart it: scripts/services.sh down minio && scripts/services.sh up minio"
}

minio_env() {
  echo "export FACTFLOW_TEST_S3_ENDPOINT='$(minio_endpoint)'"
  echo "export FACTFLOW_TEST_S3_ACCESS_KEY='$MINIO_USER'"
  echo "export FACTFLOW_TEST_S3_SECRET_KEY='$MINIO_PASSWORD'"
  echo "export FACTFLOW_TEST_S3_REGION='$MINIO_REGION'"
}

# The version comes from the running binary's cached name, so `status` stays
# right when FACTFLOW_MINIO_VERSION changed after `up`.
minio_describe() {
  local f pid exe ver=$MINIO_VERSION
  f=$(pid_file minio)
  if [ -f "$f" ] && read -r pid exe <"$f" && [[ ${exe##*/} == minio-* ]]; then
    ver=${exe##*/minio-}
  fi
  echo "$(minio_endpoint)  (MinIO $ver, data $(minio_dir)/data)"
}
