#!/usr/bin/env bash
# shellcheck disable=SC2034 # globals such as INSTALLED_SOMETHING are read by scripts/services.d/*.sh
# Provision real services for tests, CI and local runs (see PROVISIONING.md).
#
#   scripts/services.sh install <name…>|all  install if missing, do not start
#   scripts/services.sh up <name…>|all   install if missing, start, wait until ready
#   scripts/services.sh down [name…]     stop (all running services when no name given)
#   scripts/services.sh status           one line per service
#   scripts/services.sh env              `export VAR=…` lines; use: eval "$(scripts/services.sh env)"
#
# Everything listens on 127.0.0.1 only. Every process started here is recorded by
# PID (plus its executable, so a recycled PID is never mistaken for ours) and is
# stopped by that PID, never by name.
#
# Environment:
#   FACTFLOW_CACHE          downloads and build artefacts   (default ~/.cache/factflow)
#   FACTFLOW_SERVICES_DIR   data dirs, pid files, logs      (default $FACTFLOW_CACHE/services)
#   per-service settings (ports, versions) are listed at the top of scripts/services.d/<name>.sh
#
# Adding a service: create scripts/services.d/<name>.sh defining
#   <name>_install   make the binaries available (idempotent, uses the cache)
#   <name>_start     start in the background and call `record_pid <name> <pid>`
#   <name>_ready     succeed once the service accepts clients
#   <name>_env       print the `export VAR=…` lines for clients
#   <name>_describe  (optional) one line for `up`/`status`, e.g. the URL and data dir
#   <name>_verify    (optional) smoke check after `up`; $1 is 1 when this run started it
#   <name>_stop      (optional) stop it; the default sends SIGTERM to the recorded PID
#   <name>_ready_timeout (optional variable, seconds, default 60)
# and add <name> to SERVICES below (start order; `down` stops in reverse order).
set -euo pipefail

SERVICES=(postgres nats rabbitmq artemis pulsar activemq minio)

SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FACTFLOW_CACHE=${FACTFLOW_CACHE:-$HOME/.cache/factflow}
FACTFLOW_SERVICES_DIR=${FACTFLOW_SERVICES_DIR:-$FACTFLOW_CACHE/services}

# ---------------------------------------------------------------------------
# Shared helpers (used by the per-service files)
# ---------------------------------------------------------------------------

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] error: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# as_user USER CMD… runs CMD as USER (only when we are root and USER differs).
as_user() {
  local user=$1; shift
  if is_root && [ "$user" != root ]; then
    runuser -u "$user" -- "$@"
  else
    "$@"
  fi
}

# Shared with the service files: whether this run already refreshed the apt
# lists, and whether it installed anything (a running service may need a restart).
APT_UPDATED=0
INSTALLED_SOMETHING=0
apt_get() {
  is_root || die "installing packages needs root (apt-get $*)"
  # Another apt run may hold the lock; wait for it instead of failing.
  DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=600 "$@"
}
apt_update_once() {
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    apt_get update >/dev/null
    APT_UPDATED=1
  fi
}
pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
pkg_candidate() {
  local c
  c=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')
  [ -n "$c" ] && [ "$c" != "(none)" ]
}
# apt_install PKG… installs the packages that are missing; `apt-get update`
# runs only when something is missing, at most once per invocation.
apt_install() {
  local missing=() p
  for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  apt_update_once
  log "apt-get install ${missing[*]}"
  apt_get install --no-install-recommends "${missing[@]}" >/dev/null
  INSTALLED_SOMETHING=1
}

# pid_alive PID: running and not a zombie (stopped children may linger as
# zombies on machines whose init does not reap them).
pid_alive() {
  local pid=$1 state
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}
pid_exe() { local e; e=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1; echo "${e% (deleted)}"; }

pid_file() { echo "$FACTFLOW_SERVICES_DIR/$1.pid"; }
env_file() { echo "$FACTFLOW_SERVICES_DIR/$1.env"; }

# record_pid NAME PID remembers the process with its executable path.
record_pid() {
  local exe
  exe=$(pid_exe "$2") || die "$1: process $2 exited right after start"
  printf '%s %s\n' "$2" "$exe" >"$(pid_file "$1")"
}

# service_pid NAME prints the recorded PID if that process is still ours.
service_pid() {
  local f pid exe cur
  f=$(pid_file "$1")
  [ -f "$f" ] || return 1
  read -r pid exe <"$f" || return 1
  pid_alive "$pid" || return 1
  cur=$(pid_exe "$pid") || return 1
  [ "$cur" = "$exe" ] || return 1
  echo "$pid"
}
service_running() { service_pid "$1" >/dev/null; }

# stop_pid PID SIGNAL TIMEOUT: signal, then wait; escalate to SIGKILL.
stop_pid() {
  local pid=$1 sig=$2 timeout=$3 i
  kill "-$sig" "$pid" 2>/dev/null || return 0
  for ((i = 0; i < timeout * 10; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  log "pid $pid did not stop after ${timeout}s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  return 1
}

# port_busy PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_ready() {
  local name=$1 timeout=$2 i
  for ((i = 0; i < timeout * 10; i++)); do
    if "${name}_ready"; then return 0; fi
    service_running "$name" || return 1
    sleep 0.1
  done
  return 1
}

has_fn() { declare -F "$1" >/dev/null; }

# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------

for svc in "${SERVICES[@]}"; do
  # shellcheck source=/dev/null
  . "$SCRIPTS_DIR/services.d/$svc.sh"
done

known() { local s; for s in "${SERVICES[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }

resolve_names() {
  local n
  if [ $# -eq 0 ] || { [ $# -eq 1 ] && [ "$1" = all ]; }; then
    printf '%s\n' "${SERVICES[@]}"
    return
  fi
  for n in "$@"; do
    known "$n" || die "unknown service '$n' (known: ${SERVICES[*]})"
    echo "$n"
  done
}

# lock serialises up/down runs. Long-lived processes started while it is held
# must be launched with `9>&-`, or they would hold the lock for their lifetime.
lock() {
  mkdir -p "$FACTFLOW_SERVICES_DIR"
  exec 9>"$FACTFLOW_SERVICES_DIR/.lock"
  flock -w 900 9 || die "another services.sh run holds $FACTFLOW_SERVICES_DIR/.lock"
}

describe() {
  if has_fn "${1}_describe"; then "${1}_describe"; fi
}

# cmd_install makes a service's binaries available without starting it
# (`make run` needs PostgreSQL binaries for the embedded runtime, not the
# test cluster).
cmd_install() {
  [ $# -gt 0 ] || die "usage: services.sh install <name…>|all"
  local names svc
  mapfile -t names < <(resolve_names "$@")
  lock
  for svc in "${names[@]}"; do
    "${svc}_install"
    log "$svc installed"
  done
}

cmd_up() {
  [ $# -gt 0 ] || die "usage: services.sh up <name…>|all"
  local names svc timeout_var started
  mapfile -t names < <(resolve_names "$@")
  lock
  for svc in "${names[@]}"; do
    "${svc}_install"
    started=0
    if service_running "$svc"; then
      log "$svc already running (pid $(service_pid "$svc"))"
    else
      started=1
      rm -f "$(pid_file "$svc")" "$(env_file "$svc")"
      log "starting $svc"
      "${svc}_start"
      timeout_var="${svc}_ready_timeout"
      if ! wait_ready "$svc" "${!timeout_var:-60}"; then
        die "$svc did not become ready; see the log under $FACTFLOW_SERVICES_DIR"
      fi
    fi
    "${svc}_env" >"$(env_file "$svc")"
    if has_fn "${svc}_verify"; then "${svc}_verify" "$started"; fi
  done
  for svc in "${names[@]}"; do
    printf '%-10s ready  %s\n' "$svc" "$(describe "$svc")"
  done
}

stop_service() {
  local svc=$1 pid
  if pid=$(service_pid "$svc"); then
    log "stopping $svc (pid $pid)"
    if has_fn "${svc}_stop"; then
      "${svc}_stop" "$pid"
    else
      stop_pid "$pid" TERM 30
    fi
  fi
  rm -f "$(pid_file "$svc")" "$(env_file "$svc")"
}

cmd_down() {
  local names i
  mapfile -t names < <(resolve_names "$@")
  lock
  for ((i = ${#names[@]} - 1; i >= 0; i--)); do
    stop_service "${names[$i]}"
  done
}

cmd_status() {
  local svc pid state
  for svc in "${SERVICES[@]}"; do
    if pid=$(service_pid "$svc"); then
      if "${svc}_ready"; then state=ready; else state=starting; fi
      printf '%-10s %-8s pid %-7s %s\n' "$svc" "$state" "$pid" "$(describe "$svc")"
    else
      printf '%-10s %-8s\n' "$svc" stopped
    fi
  done
}

cmd_env() {
  local svc
  for svc in "${SERVICES[@]}"; do
    if service_running "$svc" && [ -f "$(env_file "$svc")" ]; then
      cat "$(env_file "$svc")"
    else
      echo "# $svc: not running (scripts/services.sh up $svc)"
    fi
  done
}

main() {
  local cmd=${1:-}
  [ $# -gt 0 ] && shift
  case "$cmd" in
    install) cmd_install "$@" ;;
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status ;;
    env) cmd_env ;;
    *)
      sed -n '3,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
      exit 2
      ;;
  esac
}

main "$@"
