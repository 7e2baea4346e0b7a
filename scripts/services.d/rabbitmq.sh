# shellcheck shell=bash
# RabbitMQ as a private test node (sourced by scripts/services.sh).
#
#   FACTFLOW_RABBITMQ_PORT      AMQP port on 127.0.0.1        (default 5672; the Erlang
#                               distribution port is this + 20000, epmd stays on 4369)
#   FACTFLOW_RABBITMQ_USER      user the tests log in as      (default factflow)
#   FACTFLOW_RABBITMQ_PASSWORD  its password                  (default factflow)
#
# Debian's rabbitmq-server package provides the binaries; the node runs from
# /usr/lib/rabbitmq/bin (not the /usr/sbin wrapper, which switches user and
# writes under /var) with every file under the services dir and every socket
# (AMQP, Erlang distribution, epmd) on loopback.
#
# Exports FACTFLOW_TEST_AMQP_URL.

RABBITMQ_PORT=${FACTFLOW_RABBITMQ_PORT:-5672}
RABBITMQ_USER=${FACTFLOW_RABBITMQ_USER:-factflow}
RABBITMQ_PASSWORD=${FACTFLOW_RABBITMQ_PASSWORD:-factflow}
RABBITMQ_LIBBIN=/usr/lib/rabbitmq/bin
# shellcheck disable=SC2034 # read by services.sh; the first boot builds the schema
rabbitmq_ready_timeout=120

rabbitmq_dir() { echo "$FACTFLOW_SERVICES_DIR/rabbitmq"; }

# rabbitmq_run CMD… runs CMD with the node's environment, so rabbitmqctl
# finds the node (same name, cookie under the same HOME, loopback only).
rabbitmq_run() {
  local dir loopback='-kernel inet_dist_use_interface {127,0,0,1}'
  dir=$(rabbitmq_dir)
  env HOME="$dir/home" \
    RABBITMQ_NODENAME=rabbit@localhost \
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT="$RABBITMQ_PORT" \
    RABBITMQ_DIST_PORT=$((RABBITMQ_PORT + 20000)) \
    ERL_EPMD_ADDRESS=127.0.0.1 \
    RABBITMQ_MNESIA_BASE="$dir/mnesia" \
    RABBITMQ_LOG_BASE="$dir/log" \
    RABBITMQ_PID_FILE="$dir/rabbitmq.pid" \
    RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="$loopback" \
    RABBITMQ_CTL_ERL_ARGS="$loopback" \
    "$@"
}

rabbitmq_ctl() { rabbitmq_run "$RABBITMQ_LIBBIN/rabbitmqctl" "$@"; }

rabbitmq_install() {
  [ -x "$RABBITMQ_LIBBIN/rabbitmq-server" ] && return 0
  apt_install rabbitmq-server
  [ -x "$RABBITMQ_LIBBIN/rabbitmq-server" ] || die "no $RABBITMQ_LIBBIN/rabbitmq-server after installing rabbitmq-server"
}

# epmd_pid prints the PID of a running epmd, if any.
epmd_pid() {
  local p
  for p in /proc/[0-9]*; do
    case "$(pid_exe "${p#/proc/}" 2>/dev/null)" in
      */epmd) pid_alive "${p#/proc/}" && { echo "${p#/proc/}"; return 0; } ;;
    esac
  done
  return 1
}

rabbitmq_start() {
  local dir i pid epmd_before=
  dir=$(rabbitmq_dir)
  mkdir -p "$dir/home" "$dir/mnesia" "$dir/log"
  rm -f "$dir/rabbitmq.pid" "$dir/epmd.pid"
  port_busy "$RABBITMQ_PORT" && die "127.0.0.1:$RABBITMQ_PORT is already in use by another process; set FACTFLOW_RABBITMQ_PORT"
  # Rewritten on every start so changed settings apply. The default user
  # is created on the first boot only; rabbitmq_verify keeps it in place.
  # A low disk limit: the node must not block publishers on a small test disk.
  cat >"$dir/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$RABBITMQ_PORT
default_user = $RABBITMQ_USER
default_pass = $RABBITMQ_PASSWORD
disk_free_limit.absolute = 50MB
log.file.level = warning
log.console = false
EOF
  echo '[].' >"$dir/enabled_plugins"
  epmd_before=$(epmd_pid) || true

  # setsid: not in the caller's process group (a Ctrl-C in the shell that
  # ran `up` must not stop it); 9>&-: the node must not inherit the lock.
  rabbitmq_run setsid "$RABBITMQ_LIBBIN/rabbitmq-server" </dev/null >>"$dir/rabbitmq.out" 2>&1 9>&- &
  # The node writes the PID of the Erlang VM itself (the launcher script
  # only forwards signals to it).
  for ((i = 0; i < 600; i++)); do
    if [ -s "$dir/rabbitmq.pid" ]; then
      pid=$(cat "$dir/rabbitmq.pid")
      if pid_alive "$pid"; then
        record_pid rabbitmq "$pid"
        break
      fi
    fi
    sleep 0.1
  done
  service_running rabbitmq || die "rabbitmq-server did not start: $(tail -5 "$dir/rabbitmq.out" 2>/dev/null)"
  # The VM starts epmd when none runs; it outlives the node, so it is
  # stopped by its PID too — but only when this run started it.
  if [ -z "$epmd_before" ] && pid=$(epmd_pid); then
    printf '%s %s\n' "$pid" "$(pid_exe "$pid")" >"$dir/epmd.pid"
  fi
}

# Ready once the node finished booting (AMQP listeners open last).
rabbitmq_ready() {
  port_busy "$RABBITMQ_PORT" || return 1
  rabbitmq_ctl -q await_startup --timeout 10 >/dev/null 2>&1
}

# rabbitmq_verify makes sure the test user exists with full rights on "/"
# (a node whose data predates a changed FACTFLOW_RABBITMQ_USER lacks it).
rabbitmq_verify() {
  [ "$1" -eq 1 ] || return 0
  if ! rabbitmq_ctl -q authenticate_user "$RABBITMQ_USER" "$RABBITMQ_PASSWORD" >/dev/null 2>&1; then
    log "creating RabbitMQ user $RABBITMQ_USER"
    rabbitmq_ctl -q add_user "$RABBITMQ_USER" "$RABBITMQ_PASSWORD" >/dev/null 2>&1 ||
      rabbitmq_ctl -q change_password "$RABBITMQ_USER" "$RABBITMQ_PASSWORD" >/dev/null
    rabbitmq_ctl -q set_user_tags "$RABBITMQ_USER" administrator >/dev/null
    rabbitmq_ctl -q set_permissions -p / "$RABBITMQ_USER" '.*' '.*' '.*' >/dev/null
  fi
}

# SIGTERM makes the VM shut the node down cleanly; then epmd goes, by the
# PID recorded when this script started it.
rabbitmq_stop() {
  local dir f epid exe
  dir=$(rabbitmq_dir)
  stop_pid "$1" TERM 60
  f=$dir/epmd.pid
  if [ -f "$f" ] && read -r epid exe <"$f" && pid_alive "$epid" && [ "$(pid_exe "$epid")" = "$exe" ]; then
    log "stopping epmd (pid $epid)"
    stop_pid "$epid" TERM 10
  fi
  rm -f "$f"
}

rabbitmq_url() { echo "amqp://$RABBITMQ_USER:$RABBITMQ_PASSWORD@127.0.0.1:$RABBITMQ_PORT/"; }

rabbitmq_env() { echo "export FACTFLOW_TEST_AMQP_URL='$(rabbitmq_url)'"; }

rabbitmq_describe() {
  local ver
  ver=$(dpkg-query -W -f='${Version}' rabbitmq-server 2>/dev/null) || true
  echo "amqp://$RABBITMQ_USER:…@127.0.0.1:$RABBITMQ_PORT/  (RabbitMQ ${ver:-?}, data $(rabbitmq_dir)/mnesia)"
}
