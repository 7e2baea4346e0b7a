# shellcheck shell=bash
# ActiveMQ Classic as a private test broker (sourced by scripts/services.sh).
#
#   FACTFLOW_ACTIVEMQ_PORT       STOMP port on 127.0.0.1                (default 61633)
#   FACTFLOW_ACTIVEMQ_HTTP_PORT  management (Jolokia) on 127.0.0.1      (default 8171)
#   FACTFLOW_ACTIVEMQ_USER       user the tests log in as               (default factflow)
#   FACTFLOW_ACTIVEMQ_PASSWORD   its password                           (default factflow)
#   FACTFLOW_JOLOKIA_VERSION     Jolokia JVM agent from Maven Central   (default 2.1.1)
#
# Debian's activemq package (ActiveMQ Classic 5.17) provides the broker; it
# runs as its own JVM (not the package's system service) with its
# configuration, KahaDB store and scheduler store under the services dir.
# The only listener is one STOMP connector on loopback: no OpenWire, AMQP,
# MQTT or WebSocket ports that could collide with Artemis, and no JMX RMI
# connector. Debian ships no web console, so management comes from the
# Jolokia JVM agent on loopback, which exposes the broker's MBeans as the
# web console's /api/jolokia would. Scheduler support is on (delayed
# delivery through AMQ_SCHEDULED_DELAY) and no policy ever discards or
# dead-letters a message: the engine owns retries and dead-lettering.
#
# Exports FACTFLOW_TEST_ACTIVEMQ_STOMP_URL and FACTFLOW_TEST_ACTIVEMQ_MANAGEMENT_URL.

ACTIVEMQ_PORT=${FACTFLOW_ACTIVEMQ_PORT:-61633}
ACTIVEMQ_HTTP_PORT=${FACTFLOW_ACTIVEMQ_HTTP_PORT:-8171}
ACTIVEMQ_USER=${FACTFLOW_ACTIVEMQ_USER:-factflow}
ACTIVEMQ_PASSWORD=${FACTFLOW_ACTIVEMQ_PASSWORD:-factflow}
JOLOKIA_VERSION=${FACTFLOW_JOLOKIA_VERSION:-2.1.1}
ACTIVEMQ_HOME=/usr/share/activemq
# shellcheck disable=SC2034 # read by services.sh; a JVM start takes a few seconds
activemq_ready_timeout=120

ACTIVEMQ_BASE_CACHED=
# activemq_dir prints the broker directory (conf/, data/, logs). As root the
# broker runs as Debian's `activemq` user, which must be able to reach and
# own it (Classic hangs without opening its ports when it cannot write its
# data dir); when the services dir sits under a home that user cannot
# traverse (e.g. 0700 /root) the broker goes under /var/tmp instead.
activemq_dir() {
  if [ -n "$ACTIVEMQ_BASE_CACHED" ]; then echo "$ACTIVEMQ_BASE_CACHED"; return; fi
  local base=$FACTFLOW_SERVICES_DIR/activemq key
  if is_root; then
    mkdir -p "$FACTFLOW_SERVICES_DIR"
    if ! runuser -u activemq -- test -x "$FACTFLOW_SERVICES_DIR" 2>/dev/null; then
      key=$(printf '%s' "$(cd "$FACTFLOW_SERVICES_DIR" && pwd -P)" | sha256sum | cut -c1-10)
      base=/var/tmp/factflow-$(id -u)/activemq-$key
    fi
  fi
  ACTIVEMQ_BASE_CACHED=$base
  echo "$base"
}

activemq_run_as() { if is_root; then echo activemq; else id -un; fi; }

activemq_jolokia_jar() { echo "$FACTFLOW_CACHE/jolokia/jolokia-agent-jvm-$JOLOKIA_VERSION-javaagent.jar"; }

activemq_install() {
  local jar
  jar=$(activemq_jolokia_jar)
  if [ -f "$ACTIVEMQ_HOME/bin/activemq.jar" ] && [ -s "$jar" ]; then return 0; fi
  [ -f "$ACTIVEMQ_HOME/bin/activemq.jar" ] || apt_install activemq
  [ -f "$ACTIVEMQ_HOME/bin/activemq.jar" ] || die "no $ACTIVEMQ_HOME/bin/activemq.jar after installing activemq"
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  if [ ! -s "$jar" ]; then
    command -v mvn >/dev/null || apt_install maven
    mkdir -p "$(dirname "$jar")"
    log "downloading the Jolokia JVM agent $JOLOKIA_VERSION"
    mvn -B -q dependency:copy \
      -Dartifact="org.jolokia:jolokia-agent-jvm:$JOLOKIA_VERSION:jar:javaagent" \
      -DoutputDirectory="$(dirname "$jar")" >&2 || die "could not fetch the Jolokia JVM agent $JOLOKIA_VERSION"
    [ -s "$jar" ] || die "no $jar after fetching the Jolokia JVM agent"
    INSTALLED_SOMETHING=1
  fi
}

# activemq_configure writes the broker configuration; it runs on every start
# so changed settings apply (the data dir is kept).
activemq_configure() {
  local base=$1 conf=$1/conf
  mkdir -p "$conf"
  cat >"$conf/activemq.xml" <<EOF
<beans xmlns="http://www.springframework.org/schema/beans"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans.xsd
  http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <broker xmlns="http://activemq.apache.org/schema/core" brokerName="factflow"
          dataDirectory="$base/data" persistent="true" useJmx="true"
          schedulerSupport="true" advisorySupport="false">
    <!-- MBeans for Jolokia, without an RMI connector (no port 1099). -->
    <managementContext>
      <managementContext createConnector="false"/>
    </managementContext>
    <persistenceAdapter>
      <kahaDB directory="$base/data/kahadb"/>
    </persistenceAdapter>
    <destinationPolicy>
      <policyMap>
        <policyEntries>
          <!-- Nothing expires, nothing is discarded; a message the broker
               would ever dead-letter is kept in a per-queue DLQ. -->
          <policyEntry queue="&gt;" producerFlowControl="false" gcInactiveDestinations="false">
            <deadLetterStrategy>
              <individualDeadLetterStrategy queuePrefix="DLQ." useQueueForQueueMessages="true"
                                            processExpired="false" processNonPersistent="true"/>
            </deadLetterStrategy>
          </policyEntry>
        </policyEntries>
      </policyMap>
    </destinationPolicy>
    <plugins>
      <simpleAuthenticationPlugin anonymousAccessAllowed="false">
        <users>
          <authenticationUser username="$ACTIVEMQ_USER" password="$ACTIVEMQ_PASSWORD" groups="admins"/>
        </users>
      </simpleAuthenticationPlugin>
    </plugins>
    <!-- A small test disk must not block producers. -->
    <systemUsage>
      <systemUsage>
        <memoryUsage><memoryUsage limit="64 mb"/></memoryUsage>
        <storeUsage><storeUsage limit="1 gb"/></storeUsage>
        <tempUsage><tempUsage limit="256 mb"/></tempUsage>
      </systemUsage>
    </systemUsage>
    <transportConnectors>
      <transportConnector name="stomp"
        uri="stomp://127.0.0.1:$ACTIVEMQ_PORT?transport.hbGracePeriodMultiplier=1.5&amp;wireFormat.maxFrameSize=104857600"/>
    </transportConnectors>
  </broker>
</beans>
EOF
  # Debian's build logs through log4j 1.2.
  cat >"$conf/log4j.properties" <<EOF
log4j.rootLogger=WARN, out
log4j.logger.org.apache.activemq=INFO
log4j.logger.org.apache.activemq.transport.stomp=WARN
log4j.appender.out=org.apache.log4j.ConsoleAppender
log4j.appender.out.layout=org.apache.log4j.PatternLayout
log4j.appender.out.layout.ConversionPattern=%d | %-5p | %m | %c | %t%n
EOF
}

activemq_start() {
  local base user pid
  base=$(activemq_dir)
  user=$(activemq_run_as)
  port_busy "$ACTIVEMQ_PORT" && die "127.0.0.1:$ACTIVEMQ_PORT is already in use by another process; set FACTFLOW_ACTIVEMQ_PORT"
  port_busy "$ACTIVEMQ_HTTP_PORT" && die "127.0.0.1:$ACTIVEMQ_HTTP_PORT is already in use by another process; set FACTFLOW_ACTIVEMQ_HTTP_PORT"
  if is_root && [ "${base#/var/tmp/factflow-}" != "$base" ]; then
    install -d -m 0755 "$(dirname "$base")"
    log "activemq cannot reach $FACTFLOW_SERVICES_DIR; the broker lives in $base"
  fi
  mkdir -p "$base/data" "$base/tmp" "$base/agent"
  activemq_configure "$base"
  # A copy the broker's user can read (the cache may sit under a home it
  # cannot traverse).
  cp "$(activemq_jolokia_jar)" "$base/agent/jolokia-agent.jar"
  chown -R "$user": "$base"
  chmod 0700 "$base"
  # The JVM runs with the options of Debian's launcher script, started
  # directly so the recorded PID is the JVM's own. setpriv switches user
  # and execs (runuser would stay as a parent process); setsid: not in the
  # caller's process group; 9>&-: must not inherit the services lock.
  local run=()
  if is_root; then run=(setpriv --reuid="$user" --regid="$user" --init-groups); fi
  (
    cd "$base" || exit 1
    exec setsid "${run[@]}" java -Xms64M -Xmx256M \
      -XX:+UseSerialGC \
      -javaagent:"$base/agent/jolokia-agent.jar"=host=127.0.0.1,port=$ACTIVEMQ_HTTP_PORT,user=$ACTIVEMQ_USER,password=$ACTIVEMQ_PASSWORD,discoveryEnabled=false \
      --add-reads=java.xml=java.logging \
      --add-opens java.base/java.security=ALL-UNNAMED \
      --add-opens java.base/java.net=ALL-UNNAMED \
      --add-opens java.base/java.lang=ALL-UNNAMED \
      --add-opens java.base/java.util=ALL-UNNAMED \
      --add-opens java.naming/javax.naming.spi=ALL-UNNAMED \
      --add-opens java.rmi/sun.rmi.transport.tcp=ALL-UNNAMED \
      --add-opens java.base/java.util.concurrent=ALL-UNNAMED \
      --add-opens java.base/java.util.concurrent.atomic=ALL-UNNAMED \
      -Djava.io.tmpdir="$base/tmp" \
      -Dlog4j.configuration="file:$base/conf/log4j.properties" \
      -Dactivemq.classpath="$base/conf:$ACTIVEMQ_HOME/lib/" \
      -Dactivemq.home="$ACTIVEMQ_HOME" \
      -Dactivemq.base="$base" \
      -Dactivemq.conf="$base/conf" \
      -Dactivemq.data="$base/data" \
      -jar "$ACTIVEMQ_HOME/bin/activemq.jar" start "xbean:file:$base/conf/activemq.xml"
  ) </dev/null >>"$base/activemq.out" 2>&1 9>&- &
  pid=$!
  sleep 0.5
  record_pid activemq "$pid"
}

# activemq_stomp_connect sends a STOMP CONNECT and expects CONNECTED.
activemq_stomp_connect() {
  local reply
  reply=$(
    exec 3<>"/dev/tcp/127.0.0.1/$ACTIVEMQ_PORT" || exit 1
    printf 'CONNECT\naccept-version:1.2\nhost:127.0.0.1\nlogin:%s\npasscode:%s\n\n\0' "$ACTIVEMQ_USER" "$ACTIVEMQ_PASSWORD" >&3
    timeout 5 head -c 9 <&3
    printf 'DISCONNECT\n\n\0' >&3
  ) 2>/dev/null || return 1
  [ "$reply" = CONNECTED ]
}

activemq_ready() {
  port_busy "$ACTIVEMQ_PORT" || return 1
  activemq_stomp_connect
}

# SIGTERM runs the JVM's shutdown hook, which stops the broker cleanly.
activemq_stop() { stop_pid "$1" TERM 60; }

activemq_url() { echo "stomp://$ACTIVEMQ_USER:$ACTIVEMQ_PASSWORD@127.0.0.1:$ACTIVEMQ_PORT"; }

activemq_env() {
  echo "export FACTFLOW_TEST_ACTIVEMQ_STOMP_URL='$(activemq_url)'"
  echo "export FACTFLOW_TEST_ACTIVEMQ_MANAGEMENT_URL='http://$ACTIVEMQ_USER:$ACTIVEMQ_PASSWORD@127.0.0.1:$ACTIVEMQ_HTTP_PORT/jolokia'"
}

activemq_describe() {
  local ver
  ver=$(dpkg-query -W -f='${Version}' activemq 2>/dev/null) || true
  echo "stomp://$ACTIVEMQ_USER:…@127.0.0.1:$ACTIVEMQ_PORT  (ActiveMQ Classic ${ver:-?}, data $(activemq_dir)/data)"
}
