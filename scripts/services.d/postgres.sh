# shellcheck shell=bash
# PostgreSQL + pgvector as a private test cluster (sourced by scripts/services.sh).
#
#   FACTFLOW_PG_PORT         listen port on 127.0.0.1        (default 55432)
#   FACTFLOW_PG_MAJOR        PostgreSQL major version        (default: the cluster's, else the highest installed, else Debian's default)
#   FACTFLOW_PGVECTOR_SUITE  Debian suite whose pgvector source package is built when no binary package exists (default trixie)
#   FACTFLOW_DEBIAN_MIRROR   mirror for that source package  (default http://deb.debian.org/debian)
#
# Exports FACTFLOW_TEST_DATABASE_URL. The cluster trusts every loopback
# connection and runs with fsync off: it holds disposable test data only.

PG_PORT=${FACTFLOW_PG_PORT:-55432}
PGVECTOR_SUITE=${FACTFLOW_PGVECTOR_SUITE:-trixie}
DEBIAN_MIRROR=${FACTFLOW_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# shellcheck disable=SC2034 # read by services.sh
postgres_ready_timeout=90

PG_BASE_CACHED=
# pg_base prints the cluster directory (data/, run/, postgres.log). As root the
# cluster runs as the `postgres` user, which must be able to reach it; when the
# services dir sits under a home it cannot traverse (e.g. 0700 /root) the
# cluster goes under /var/tmp instead.
pg_base() {
  if [ -n "$PG_BASE_CACHED" ]; then echo "$PG_BASE_CACHED"; return; fi
  local base=$FACTFLOW_SERVICES_DIR/postgres
  if is_root; then
    mkdir -p "$FACTFLOW_SERVICES_DIR"
    if ! runuser -u postgres -- test -x "$FACTFLOW_SERVICES_DIR" 2>/dev/null; then
      local key
      key=$(printf '%s' "$(cd "$FACTFLOW_SERVICES_DIR" && pwd -P)" | sha256sum | cut -c1-10)
      base=/var/tmp/factflow-$(id -u)/postgres-$key
    fi
  fi
  PG_BASE_CACHED=$base
  echo "$base"
}

pg_run_as() { if is_root; then echo postgres; else id -un; fi; }

# pg_major prints the major version to use: the existing cluster's, else the
# highest installed server, else nothing.
pg_major() {
  if [ -n "${FACTFLOW_PG_MAJOR:-}" ]; then echo "$FACTFLOW_PG_MAJOR"; return; fi
  local data v
  data=$(pg_base)/data
  if [ -r "$data/PG_VERSION" ]; then
    v=$(cat "$data/PG_VERSION")
    if [ -x "/usr/lib/postgresql/$v/bin/postgres" ]; then echo "$v"; return; fi
  fi
  # shellcheck disable=SC2012
  { ls -d /usr/lib/postgresql/*/bin/postgres 2>/dev/null || true; } | awk -F/ '{print $5}' | sort -n | tail -1
}
pg_bindir() { echo "/usr/lib/postgresql/$(pg_major)/bin"; }

postgres_install() {
  local major
  if [ -n "${FACTFLOW_PG_MAJOR:-}" ]; then
    [ -x "/usr/lib/postgresql/$FACTFLOW_PG_MAJOR/bin/postgres" ] || apt_install "postgresql-$FACTFLOW_PG_MAJOR"
  elif [ -z "$(pg_major)" ]; then
    apt_install postgresql
  fi
  major=$(pg_major)
  if [ -z "$major" ] || [ ! -x "/usr/lib/postgresql/$major/bin/initdb" ]; then
    die "no PostgreSQL server binaries under /usr/lib/postgresql after installing"
  fi
  pgvector_install "$major"
  # Installing the server headers can upgrade the server's minor version; a
  # running cluster must be restarted to run the new binaries.
  if [ "$INSTALLED_SOMETHING" -eq 1 ] && service_running postgres; then
    log "packages changed under the running cluster; restarting it"
    stop_service postgres
  fi
}

pgvector_installed() {
  [ -f "/usr/share/postgresql/$1/extension/vector.control" ] && [ -f "/usr/lib/postgresql/$1/lib/vector.so" ]
}

# pgvector_copy_stage DIR installs files from a `make install DESTDIR=DIR`
# tree; existing directories keep their owner and mode.
pgvector_copy_stage() {
  tar -C "$1" -cf - . | tar -C / -xf - --no-overwrite-dir
}

PGVECTOR_SRC_LIST=/etc/apt/sources.list.d/factflow-pgvector-src.sources
pgvector_src_cleanup() {
  if [ -f "$PGVECTOR_SRC_LIST" ]; then
    rm -f "$PGVECTOR_SRC_LIST"
    log "removed the temporary deb-src entry; apt-get update"
    apt_get update >/dev/null || log "warning: apt-get update after removing $PGVECTOR_SRC_LIST failed"
  fi
}

pgvector_install() {
  local major=$1 cache=$FACTFLOW_CACHE/pgvector stage
  pgvector_installed "$major" && return 0
  PGVECTOR_CHANGED=1
  if ! is_root; then
    log "warning: pgvector is not installed for PostgreSQL $major and installing it needs root; vector features will be unavailable"
    return 0
  fi

  # A build from an earlier run whose cache survived: just copy it in.
  stage=$({ find "$cache" -mindepth 2 -maxdepth 2 -type d -path "$cache/pg$major-*/stage" 2>/dev/null || true; } | sort -V | tail -1)
  if [ -n "$stage" ]; then
    log "installing pgvector from the cache ($(dirname "$stage"))"
    pgvector_copy_stage "$stage"
    pgvector_installed "$major" && return 0
    die "cached pgvector in $stage did not install vector.so/vector.control"
  fi

  if pkg_candidate "postgresql-$major-pgvector"; then
    apt_install "postgresql-$major-pgvector"
    return 0
  fi
  pgvector_build "$major"
}

# pgvector_build MAJOR builds Debian's pgvector source package against the
# local server headers; the result is cached by PG major and pgvector version.
pgvector_build() {
  local major=$1 cache=$FACTFLOW_CACHE/pgvector work src version dest
  log "pgvector has no binary package here; building Debian's source package from $PGVECTOR_SUITE"
  trap pgvector_src_cleanup EXIT
  cat >"$PGVECTOR_SRC_LIST" <<EOF
Types: deb-src
URIs: $DEBIAN_MIRROR
Suites: $PGVECTOR_SUITE
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  log "apt-get update (with the $PGVECTOR_SUITE deb-src entry)"
  apt_get update >/dev/null
  # shellcheck disable=SC2034 # read by apt_update_once
  APT_UPDATED=1
  if pkg_candidate "postgresql-$major-pgvector"; then
    # The refreshed lists may know a binary package after all (e.g. PGDG).
    pgvector_src_cleanup
    trap - EXIT
    apt_install "postgresql-$major-pgvector"
    return 0
  fi
  apt_install "postgresql-server-dev-$major" make gcc dpkg-dev

  work=$cache/.build.$$
  rm -rf "$work"
  mkdir -p "$work"
  (cd "$work" && apt-get source -q "pgvector/$PGVECTOR_SUITE" >/dev/null 2>"$work/apt-source.log") ||
    die "apt-get source pgvector failed: $(tail -5 "$work/apt-source.log")"
  pgvector_src_cleanup
  trap - EXIT

  src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'pgvector-*' | head -1)
  [ -n "$src" ] || die "apt-get source pgvector produced no source tree in $work"
  version=${src##*/pgvector-}
  log "building pgvector $version for PostgreSQL $major"
  make -C "$src" -j"$(nproc)" PG_CONFIG="/usr/lib/postgresql/$major/bin/pg_config" >"$work/build.log" 2>&1 ||
    die "building pgvector failed: $(tail -20 "$work/build.log")"
  make -C "$src" install DESTDIR="$work/stage" PG_CONFIG="/usr/lib/postgresql/$major/bin/pg_config" >>"$work/build.log" 2>&1 ||
    die "staging pgvector failed: $(tail -20 "$work/build.log")"

  dest=$cache/pg$major-$version
  rm -rf "$dest"
  mv "$work" "$dest"
  pgvector_copy_stage "$dest/stage"
  pgvector_installed "$major" || die "pgvector build in $dest did not install vector.so/vector.control"
  log "pgvector $version installed and cached in $dest"
}

# pg_prepare_dirs creates the cluster directory owned by the user running it.
pg_prepare_dirs() {
  local base=$1 user
  user=$(pg_run_as)
  if is_root && [ "${base#/var/tmp/factflow-}" != "$base" ]; then
    install -d -m 0755 "$(dirname "$base")"
  fi
  mkdir -p "$base"
  chown "$user": "$base"
  chmod 0700 "$base"
  as_user "$user" mkdir -p "$base/run"
}

# pg_dir_in_use DATA: a live process still works in DATA (backends of a
# killed postmaster linger for a moment before they notice).
pg_dir_in_use() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/cwd" 2>/dev/null)" = "$1" ] && pid_alive "${p#/proc/}" && return 0
  done
  return 1
}

# pg_clear_stale DATA RUNDIR removes postmaster.pid and socket lock files whose
# process is gone. PostgreSQL clears them itself only when kill(pid, 0) fails,
# which a killed postmaster left as an unreaped zombie still passes.
pg_clear_stale() {
  local data=$1 run=$2 f pid i
  for ((i = 0; i < 100; i++)); do
    pg_dir_in_use "$data" || break
    sleep 0.1
  done
  pg_dir_in_use "$data" && die "processes of an earlier server still run in $data; stop them first"
  for f in "$data/postmaster.pid" "$run"/.s.PGSQL.*.lock; do
    [ -f "$f" ] || continue
    pid=$(head -1 "$f")
    if ! pid_alive "$pid"; then
      log "removing stale $(basename "$f") (pid $pid is gone)"
      rm -f "$f"
    fi
  done
}

postgres_start() {
  local base data bindir user pid major
  base=$(pg_base)
  data=$base/data
  bindir=$(pg_bindir)
  major=$(pg_major)
  user=$(pg_run_as)
  pg_prepare_dirs "$base"
  [ "$base" = "$FACTFLOW_SERVICES_DIR/postgres" ] ||
    log "postgres cannot reach $FACTFLOW_SERVICES_DIR; the cluster lives in $base"

  if [ ! -f "$data/PG_VERSION" ]; then
    log "initdb $data"
    # --no-sync: test data only, a crash may lose it.
    as_user "$user" "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --no-locale --no-sync \
      >"$base/initdb.log" 2>&1 || die "initdb failed: $(tail -20 "$base/initdb.log")"
    echo "include_if_exists = 'factflow.conf'" | as_user "$user" tee -a "$data/postgresql.conf" >/dev/null
  elif [ "$(cat "$data/PG_VERSION")" != "$major" ]; then
    die "$data was created by PostgreSQL $(cat "$data/PG_VERSION") but the binaries are $major; remove it or set FACTFLOW_PG_MAJOR"
  fi

  # Rewritten on every start so a changed port applies. fsync and friends are
  # off because this cluster only ever holds disposable test data.
  as_user "$user" tee "$data/factflow.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$base/run'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
EOF

  # A cluster left behind by a run whose pid file was lost is adopted; the
  # lock files of a killed server are cleared.
  if [ -f "$data/postmaster.pid" ]; then
    pid=$(head -1 "$data/postmaster.pid")
    if pid_alive "$pid" && [ "$(pid_exe "$pid")" = "$bindir/postgres" ]; then
      log "adopting the running postmaster $pid"
      record_pid postgres "$pid"
      return 0
    fi
  fi
  pg_clear_stale "$data" "$base/run"
  port_busy "$PG_PORT" && die "127.0.0.1:$PG_PORT is already in use by another process; set FACTFLOW_PG_PORT"

  # 9>&-: the server must not inherit the services.sh lock (see lock()).
  as_user "$user" "$bindir/pg_ctl" -D "$data" -l "$base/postgres.log" -w -t 60 start >/dev/null 9>&- ||
    die "pg_ctl start failed: $(tail -20 "$base/postgres.log")"
  pid=$(head -1 "$data/postmaster.pid")
  record_pid postgres "$pid"
}

postgres_ready() {
  local bindir
  bindir=$(pg_bindir)
  if [ -x "$bindir/pg_isready" ]; then
    "$bindir/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres
  else
    port_busy "$PG_PORT"
  fi
}

# Fast shutdown: SIGINT to the postmaster aborts open transactions and exits cleanly.
postgres_stop() { stop_pid "$1" INT 60; }

pg_url() { echo "postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable"; }

postgres_env() {
  echo "export FACTFLOW_TEST_DATABASE_URL='$(pg_url)'"
}

postgres_describe() { echo "$(pg_url)  (cluster $(pg_base), PostgreSQL $(pg_major))"; }

# postgres_verify proves pgvector works in a throwaway database, after a
# fresh start or when pgvector was just installed.
PGVECTOR_CHANGED=0
postgres_verify() {
  [ "$1" -eq 1 ] || [ "$PGVECTOR_CHANGED" -eq 1 ] || return 0
  local psql
  psql=(env PGOPTIONS="-c client_min_messages=warning" "$(pg_bindir)/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres)
  pgvector_installed "$(pg_major)" || { log "warning: pgvector not installed; skipping the vector check"; return 0; }
  "${psql[@]}" -d postgres -c 'DROP DATABASE IF EXISTS factflow_services_check' -c 'CREATE DATABASE factflow_services_check' >/dev/null
  local out
  out=$("${psql[@]}" -d factflow_services_check -At \
    -c 'CREATE EXTENSION vector' \
    -c "SELECT extversion FROM pg_extension WHERE extname = 'vector'" 2>&1) ||
    die "CREATE EXTENSION vector failed: $out"
  "${psql[@]}" -d postgres -c 'DROP DATABASE factflow_services_check' >/dev/null
  log "pgvector ${out##*$'\n'} works (CREATE EXTENSION vector)"
}
