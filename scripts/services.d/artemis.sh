# shellcheck shell=bash
# ActiveMQ Artemis as a private test broker (sourced by scripts/services.sh).
#
#   FACTFLOW_ARTEMIS_VERSION     broker version from Maven Central (default 2.40.0)
#   FACTFLOW_ARTEMIS_PORT        STOMP port on 127.0.0.1            (default 61613)
#   FACTFLOW_ARTEMIS_HTTP_PORT   management (Jolokia) on 127.0.0.1  (default 8161)
#   FACTFLOW_ARTEMIS_USER        user the tests log in as           (default factflow)
#   FACTFLOW_ARTEMIS_PASSWORD    its password                       (default factflow)
#
# The distribution comes from Maven Central through mvn (cached), the broker
# instance is created once under the services dir and its broker.xml is
# rewritten on every start: one STOMP acceptor on loopback (no core, AMQP,
# MQTT or HornetQ ports that could collide with other services) and address
# settings that never drop a message after N deliveries — the engine owns
# retries and dead-lettering.
#
# Exports FACTFLOW_TEST_STOMP_URL and FACTFLOW_TEST_STOMP_MANAGEMENT_URL.

ARTEMIS_VERSION=${FACTFLOW_ARTEMIS_VERSION:-2.40.0}
ARTEMIS_PORT=${FACTFLOW_ARTEMIS_PORT:-61613}
ARTEMIS_HTTP_PORT=${FACTFLOW_ARTEMIS_HTTP_PORT:-8161}
ARTEMIS_USER=${FACTFLOW_ARTEMIS_USER:-factflow}
ARTEMIS_PASSWORD=${FACTFLOW_ARTEMIS_PASSWORD:-factflow}
# shellcheck disable=SC2034 # read by services.sh; a JVM start takes a few seconds
artemis_ready_timeout=120

artemis_home() { echo "$FACTFLOW_CACHE/artemis/apache-artemis-$ARTEMIS_VERSION"; }
artemis_dir() { echo "$FACTFLOW_SERVICES_DIR/artemis"; }
artemis_instance() { echo "$(artemis_dir)/instance"; }

artemis_install() {
  local home cache tarball
  home=$(artemis_home)
  [ -x "$home/bin/artemis" ] && return 0
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  command -v mvn >/dev/null || apt_install maven
  cache=$FACTFLOW_CACHE/artemis
  tarball=$cache/apache-artemis-$ARTEMIS_VERSION-bin.tar.gz
  mkdir -p "$cache"
  if [ ! -s "$tarball" ]; then
    log "downloading apache-artemis $ARTEMIS_VERSION"
    mvn -B -q dependency:copy \
      -Dartifact="org.apache.activemq:apache-artemis:$ARTEMIS_VERSION:tar.gz:bin" \
      -DoutputDirectory="$cache" >&2 || die "could not fetch apache-artemis $ARTEMIS_VERSION"
  fi
  tar xzf "$tarball" -C "$cache" || die "could not unpack $tarball"
  [ -x "$home/bin/artemis" ] || die "no $home/bin/artemis after unpacking"
  INSTALLED_SOMETHING=1
}

# artemis_configure rewrites the parts of broker.xml and artemis.profile
# this project depends on; it runs on every start so changed settings apply.
artemis_configure() {
  local inst=$1
  python3 - "$inst/etc/broker.xml" "$ARTEMIS_PORT" <<'EOF' || die "could not configure $inst/etc/broker.xml"
import re, sys
path, port = sys.argv[1], sys.argv[2]
xml = open(path).read()
acceptor = ('<acceptors>\n         <acceptor name="stomp">tcp://127.0.0.1:%s?protocols=STOMP;'
            'anycastPrefix=/queue/;multicastPrefix=/topic/;useEpoll=true;'
            'stompMaxFramePayloadLength=104857600</acceptor>\n      </acceptors>') % port
xml, n = re.subn(r'<acceptors>.*?</acceptors>', acceptor, xml, count=1, flags=re.S)
if n != 1:
    sys.exit("no <acceptors> block")
# Unlimited deliveries (Artemis otherwise drops a message silently after
# 10), no broker-side redelivery delay, queues created on first use.
setting = '''<address-setting match="#">
            <dead-letter-address>DLQ</dead-letter-address>
            <expiry-address>ExpiryQueue</expiry-address>
            <redelivery-delay>0</redelivery-delay>
            <max-delivery-attempts>-1</max-delivery-attempts>
            <address-full-policy>PAGE</address-full-policy>
            <auto-create-queues>true</auto-create-queues>
            <auto-create-addresses>true</auto-create-addresses>
            <auto-delete-queues>false</auto-delete-queues>
            <auto-delete-addresses>false</auto-delete-addresses>
            <default-address-routing-type>ANYCAST</default-address-routing-type>
            <default-queue-routing-type>ANYCAST</default-queue-routing-type>
            <max-size-bytes>-1</max-size-bytes>
         </address-setting>'''
xml, n = re.subn(r'<address-setting match="#">.*?</address-setting>', setting, xml, count=1, flags=re.S)
if n != 1:
    sys.exit("no catch-all address-setting")
# Topics are multicast: Artemis gives a STOMP subscriber's queue the
# address's default routing type, and the catch-all above says ANYCAST.
topics = '''<address-setting match="factflow-topic.#">
            <default-address-routing-type>MULTICAST</default-address-routing-type>
            <default-queue-routing-type>MULTICAST</default-queue-routing-type>
            <auto-delete-addresses>true</auto-delete-addresses>
         </address-setting>'''
xml = re.sub(r'\s*<address-setting match="factflow-topic\.#">.*?</address-setting>', '', xml, flags=re.S)
xml = xml.replace('</address-settings>', topics + '\n      </address-settings>', 1)
open(path, 'w').write(xml)
EOF
  sed -i -E "s/-Xms[0-9]+[MmGg]/-Xms64M/; s/-Xmx[0-9]+[MmGg]/-Xmx512M/" "$inst/etc/artemis.profile"
  sed -i -E "s#uri=\"http://127\.0\.0\.1:[0-9]+\"#uri=\"http://127.0.0.1:$ARTEMIS_HTTP_PORT\"#" "$inst/etc/bootstrap.xml"
}

artemis_start() {
  local dir inst pid
  dir=$(artemis_dir)
  inst=$(artemis_instance)
  mkdir -p "$dir"
  port_busy "$ARTEMIS_PORT" && die "127.0.0.1:$ARTEMIS_PORT is already in use by another process; set FACTFLOW_ARTEMIS_PORT"
  port_busy "$ARTEMIS_HTTP_PORT" && die "127.0.0.1:$ARTEMIS_HTTP_PORT is already in use by another process; set FACTFLOW_ARTEMIS_HTTP_PORT"
  if [ ! -x "$inst/bin/artemis" ]; then
    log "creating Artemis instance $inst"
    "$(artemis_home)/bin/artemis" create "$inst" --user "$ARTEMIS_USER" --password "$ARTEMIS_PASSWORD" \
      --require-login --host 127.0.0.1 --http-host 127.0.0.1 --http-port "$ARTEMIS_HTTP_PORT" \
      --silent --no-autotune >>"$dir/create.out" 2>&1 || die "artemis create failed: $(tail -5 "$dir/create.out")"
  fi
  artemis_configure "$inst"
  # setsid: not in the caller's process group; 9>&-: must not inherit the lock.
  # exec keeps the recorded PID the JVM's own (bin/artemis execs java).
  setsid "$inst/bin/artemis" run </dev/null >>"$dir/artemis.out" 2>&1 9>&- &
  pid=$!
  sleep 0.5
  record_pid artemis "$pid"
}

# artemis_stomp_connect sends a STOMP CONNECT and expects CONNECTED.
artemis_stomp_connect() {
  local reply
  reply=$(
    exec 3<>"/dev/tcp/127.0.0.1/$ARTEMIS_PORT" || exit 1
    printf 'CONNECT\naccept-version:1.2\nhost:127.0.0.1\nlogin:%s\npasscode:%s\n\n\0' "$ARTEMIS_USER" "$ARTEMIS_PASSWORD" >&3
    timeout 5 head -c 9 <&3
    # A polite goodbye keeps the broker's log free of reset warnings.
    printf 'DISCONNECT\n\n\0' >&3
  ) 2>/dev/null || return 1
  [ "$reply" = CONNECTED ]
}

artemis_ready() {
  port_busy "$ARTEMIS_PORT" || return 1
  artemis_stomp_connect
}

# SIGTERM runs the JVM's shutdown hook, which stops the broker cleanly.
artemis_stop() { stop_pid "$1" TERM 60; }

artemis_url() { echo "stomp://$ARTEMIS_USER:$ARTEMIS_PASSWORD@127.0.0.1:$ARTEMIS_PORT"; }

artemis_env() {
  echo "export FACTFLOW_TEST_STOMP_URL='$(artemis_url)'"
  echo "export FACTFLOW_TEST_STOMP_MANAGEMENT_URL='http://$ARTEMIS_USER:$ARTEMIS_PASSWORD@127.0.0.1:$ARTEMIS_HTTP_PORT/console/jolokia'"
}

artemis_describe() {
  echo "stomp://$ARTEMIS_USER:…@127.0.0.1:$ARTEMIS_PORT  (Artemis $ARTEMIS_VERSION, instance $(artemis_instance))"
}
