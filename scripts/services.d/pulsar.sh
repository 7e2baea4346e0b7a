# shellcheck shell=bash
# Apache Pulsar standalone as a private test broker (sourced by scripts/services.sh).
#
#   FACTFLOW_PULSAR_VERSION      server distribution from Maven Central (default 4.0.8)
#   FACTFLOW_PULSAR_PORT         binary protocol port on 127.0.0.1       (default 6650)
#   FACTFLOW_PULSAR_HTTP_PORT    admin REST API on 127.0.0.1             (default 18080)
#   FACTFLOW_PULSAR_BOOKIE_PORT  embedded bookie on 127.0.0.1            (default 3181)
#
# The distribution comes from Maven Central through mvn (cached). One JVM runs
# the broker, one bookie and the metadata store (RocksDB, no ZooKeeper), with
# no function worker and no stream storage. Every socket is on loopback; the
# web port moves off 8080 so it never collides with other local servers.
# Data (metadata, ledgers) lives under the services dir and survives
# down/up; standalone.conf is rebuilt from the distribution's copy on every
# start so changed settings apply.
#
# Nothing may drop an unacknowledged message behind the engine's back: no
# message TTL, no backlog quota (and producers are held, never evicted, if
# one is ever set), no subscription expiry, no deletion of inactive topics.
# Retention stays at Pulsar's default (acknowledged messages go): like a
# production cluster, a message published before any subscription exists
# is not kept.
#
# Exports FACTFLOW_TEST_PULSAR_URL and FACTFLOW_TEST_PULSAR_ADMIN_URL.

PULSAR_VERSION=${FACTFLOW_PULSAR_VERSION:-4.0.8}
PULSAR_PORT=${FACTFLOW_PULSAR_PORT:-6650}
PULSAR_HTTP_PORT=${FACTFLOW_PULSAR_HTTP_PORT:-18080}
PULSAR_BOOKIE_PORT=${FACTFLOW_PULSAR_BOOKIE_PORT:-3181}
# shellcheck disable=SC2034 # read by services.sh; the first start formats the bookie and metadata
pulsar_ready_timeout=180

pulsar_home() { echo "$FACTFLOW_CACHE/pulsar/apache-pulsar-$PULSAR_VERSION"; }
pulsar_dir() { echo "$FACTFLOW_SERVICES_DIR/pulsar"; }
pulsar_conf() { echo "$(pulsar_dir)/conf/standalone.conf"; }

pulsar_install() {
  local home cache tarball
  home=$(pulsar_home)
  [ -x "$home/bin/pulsar" ] && return 0
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  command -v mvn >/dev/null || apt_install maven
  cache=$FACTFLOW_CACHE/pulsar
  tarball=$cache/pulsar-server-distribution-$PULSAR_VERSION-bin.tar.gz
  mkdir -p "$cache"
  if [ ! -s "$tarball" ]; then
    log "downloading pulsar-server-distribution $PULSAR_VERSION"
    mvn -B -q dependency:copy \
      -Dartifact="org.apache.pulsar:pulsar-server-distribution:$PULSAR_VERSION:tar.gz:bin" \
      -DoutputDirectory="$cache" >&2 || die "could not fetch pulsar-server-distribution $PULSAR_VERSION"
  fi
  # Unpacked beside the cache and moved in whole: an interrupted unpack
  # must not leave a bin/pulsar without its lib/ behind.
  rm -rf "$cache/.unpack" "$home"
  mkdir -p "$cache/.unpack"
  tar xzf "$tarball" -C "$cache/.unpack" || die "could not unpack $tarball"
  mv "$cache/.unpack/apache-pulsar-$PULSAR_VERSION" "$home" || die "no apache-pulsar-$PULSAR_VERSION in $tarball"
  rmdir "$cache/.unpack"
  [ -x "$home/bin/pulsar" ] || die "no $home/bin/pulsar after unpacking"
  # shellcheck disable=SC2034 # read by services.sh
  INSTALLED_SOMETHING=1
}

# pulsar_configure writes standalone.conf: the distribution's file with the
# keys below replaced. The same file configures the embedded bookie, hence
# the bookie keys: listeningInterface binds it to loopback, and without
# allowEphemeralPorts the starter ignores --bookkeeper-port and picks a
# random one. The first start stamps host:port into the bookie's cookie and
# later starts reuse it, so ledgers written before a restart stay readable.
pulsar_configure() {
  local conf=$1 overrides
  overrides=$(
    cat <<EOF
clusterName=standalone
bindAddress=127.0.0.1
bindAddresses=
advertisedAddress=127.0.0.1
advertisedListeners=
brokerServicePort=$PULSAR_PORT
brokerServicePortTls=
webServicePort=$PULSAR_HTTP_PORT
webServicePortTls=
webSocketServiceEnabled=false
functionsWorkerEnabled=false
allowAutoTopicCreation=true
allowAutoTopicCreationType=non-partitioned
allowAutoSubscriptionCreation=true
brokerDeleteInactiveTopicsEnabled=false
ttlDurationDefaultInSeconds=0
subscriptionExpirationTimeMinutes=0
backlogQuotaCheckEnabled=false
backlogQuotaDefaultLimitBytes=-1
backlogQuotaDefaultLimitGB=-1
backlogQuotaDefaultLimitSecond=-1
backlogQuotaDefaultRetentionPolicy=producer_request_hold
defaultRetentionTimeInMinutes=0
defaultRetentionSizeInMB=0
brokerShutdownTimeoutMs=10000
listeningInterface=lo
allowLoopback=true
allowEphemeralPorts=true
httpServerEnabled=false
EOF
  )
  mkdir -p "$(dirname "$conf")"
  # Keys set above are dropped from the original, then appended once.
  awk -F= 'NR == FNR { if ($1 != "") over[$1] = 1; next }
           !($1 in over) { print }' <(printf '%s\n' "$overrides") "$(pulsar_home)/conf/standalone.conf" >"$conf.tmp" ||
    die "could not write $conf"
  {
    echo
    echo "### --- factflow test broker (rewritten by scripts/services.sh on every start) --- ###"
    printf '%s\n' "$overrides"
  } >>"$conf.tmp"
  mv "$conf.tmp" "$conf"
}

# pulsar_wait_ports_free SECONDS waits until nothing listens on our ports.
# A killed JVM's main thread turns zombie (which pid_alive counts as gone)
# while its other threads still hold the sockets for a moment.
pulsar_wait_ports_free() {
  local i
  for ((i = 0; i < $1 * 10; i++)); do
    port_busy "$PULSAR_PORT" || port_busy "$PULSAR_HTTP_PORT" || port_busy "$PULSAR_BOOKIE_PORT" || return 0
    sleep 0.1
  done
  return 1
}

pulsar_start() {
  local dir conf pid i exe
  dir=$(pulsar_dir)
  conf=$(pulsar_conf)
  mkdir -p "$dir/data" "$dir/logs"
  pulsar_wait_ports_free 10
  port_busy "$PULSAR_PORT" && die "127.0.0.1:$PULSAR_PORT is already in use by another process; set FACTFLOW_PULSAR_PORT"
  port_busy "$PULSAR_HTTP_PORT" && die "127.0.0.1:$PULSAR_HTTP_PORT is already in use by another process; set FACTFLOW_PULSAR_HTTP_PORT"
  port_busy "$PULSAR_BOOKIE_PORT" && die "127.0.0.1:$PULSAR_BOOKIE_PORT is already in use by another process; set FACTFLOW_PULSAR_BOOKIE_PORT"
  pulsar_configure "$conf"
  # A run that did not end through pulsar_stop's SIGTERM (SIGKILL, crash,
  # reboot) leaves the bookie's registration behind in the metadata store;
  # see pulsar_verify.
  if [ -d "$dir/data/bookkeeper/current" ] && [ ! -f "$dir/stopped-cleanly" ]; then
    : >"$dir/recovering"
  else
    rm -f "$dir/recovering"
  fi
  rm -f "$dir/stopped-cleanly"
  # bin/pulsar execs java, so the background PID becomes the JVM's own.
  # setsid: not in the caller's process group; 9>&-: must not inherit the
  # lock. The working directory is the data dir so no relative default of
  # the standalone starter can write into the distribution.
  (
    cd "$dir" || exit 1
    exec env -u PULSAR_STANDALONE_USE_ZOOKEEPER \
      PULSAR_MEM="-Xms512m -Xmx1g -XX:MaxDirectMemorySize=1g" \
      PULSAR_GC="-XX:+UseG1GC -XX:+PerfDisableSharedMem" \
      PULSAR_GC_LOG="-Xlog:gc*:file=$dir/logs/gc.log:time,uptime:filecount=2,filesize=5M" \
      PULSAR_LOG_DIR="$dir/logs" \
      PULSAR_LOG_APPENDER=RollingFile \
      PULSAR_LOG_FILE=pulsar-standalone.log \
      PULSAR_STANDALONE_CONF="$conf" \
      setsid "$(pulsar_home)/bin/pulsar" standalone \
      --config "$conf" \
      --no-functions-worker --no-stream-storage \
      --advertised-address 127.0.0.1 \
      --metadata-dir "$dir/data/metadata" \
      --bookkeeper-dir "$dir/data/bookkeeper" \
      --bookkeeper-port "$PULSAR_BOOKIE_PORT"
  ) </dev/null >>"$dir/pulsar.out" 2>&1 9>&- &
  pid=$!
  # Record the PID once the launcher script has exec'ed the JVM, so the
  # recorded executable is java and not bash.
  for ((i = 0; i < 300; i++)); do
    pid_alive "$pid" || break
    exe=$(pid_exe "$pid") || break
    case "$exe" in */java) break ;; esac
    sleep 0.1
  done
  record_pid pulsar "$pid"
}

# pulsar_admin_get PATH prints the admin API's answer to GET PATH.
pulsar_admin_get() {
  curl -fsS -m 5 "http://127.0.0.1:$PULSAR_HTTP_PORT/admin/v2$1" 2>/dev/null
}

# Ready once the binary port accepts connections, the broker's own health
# check (a produce/consume round trip through the bookie) passes, and the
# standalone starter has created public/default, which it does after the
# broker is up.
pulsar_ready() {
  port_busy "$PULSAR_PORT" || return 1
  [ "$(pulsar_admin_get /brokers/health)" = ok ] || return 1
  pulsar_admin_get /namespaces/public | grep -q '"public/default"'
}

# SIGTERM runs the shutdown hooks (broker, bookie, metadata store; the
# broker's part is bounded by brokerShutdownTimeoutMs). Shutdown can hang
# when the bookie stops under an in-flight write, hence SIGKILL after 45 s.
# Only an exit on SIGTERM counts as clean for the next start.
pulsar_stop() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 450; i++)); do
    if ! pid_alive "$pid"; then
      : >"$(pulsar_dir)/stopped-cleanly"
      pulsar_wait_ports_free 10 || true
      return 0
    fi
    sleep 0.1
  done
  log "pulsar (pid $pid) did not stop within 45s; sending SIGKILL (the next start recovers with one extra restart)"
  stop_pid "$pid" KILL 10
  pulsar_wait_ports_free 10 || true
}

# pulsar_verify restarts once after an unclean stop. The bookie then finds
# its own stale registration, replaces it, and the lock on it can chase its
# own change notifications forever (tens of thousands of log lines a
# minute, a busy CPU) even though the broker answers. A run stopped with
# SIGTERM unregisters cleanly, so the start after it is quiet.
pulsar_verify() {
  local dir pid
  dir=$(pulsar_dir)
  [ "$1" -eq 1 ] && [ -f "$dir/recovering" ] || return 0
  log "pulsar: the previous run did not stop cleanly; restarting once so the bookie registers afresh"
  pid=$(service_pid pulsar) && pulsar_stop "$pid"
  rm -f "$(pid_file pulsar)"
  pulsar_start
  wait_ready pulsar "$pulsar_ready_timeout" || die "pulsar did not become ready after its recovery restart; see $dir/logs"
}

pulsar_env() {
  echo "export FACTFLOW_TEST_PULSAR_URL='pulsar://127.0.0.1:$PULSAR_PORT'"
  echo "export FACTFLOW_TEST_PULSAR_ADMIN_URL='http://127.0.0.1:$PULSAR_HTTP_PORT'"
}

pulsar_describe() {
  echo "pulsar://127.0.0.1:$PULSAR_PORT  admin http://127.0.0.1:$PULSAR_HTTP_PORT  (Pulsar $PULSAR_VERSION standalone, data $(pulsar_dir)/data)"
}
