#!/usr/bin/env bash
# Local infrastructure without Docker: Apache Kafka (KRaft, one combined broker+controller),
# MySQL (MYSQL_URL, the MariaDB on 127.0.0.1:3306, or a private mariadbd), and Apicurio Registry
# (Confluent-compatible schema registry). Jars come from Maven Central, once, into .cache/.
# Also a ClickHouse for the Aspects backend's integration test (clickhouse.sh; not fatal if it fails).
#   infra.sh up | down | status | reset (wipes local data) | kafka-stop | kafka-start
# Idempotent: `up` reuses whatever already answers; `down` stops only what it started.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KAFKA_HOME="$CACHE/kafka"
APICURIO_HOME="$CACHE/apicurio-$APICURIO_VERSION"
MARIADB_HOME="$CACHE/mariadb"

# ---------- Kafka ----------
kafka_install() {
  local stamp="$KAFKA_HOME/libs/.kafka-$KAFKA_VERSION"
  [ -f "$stamp" ] && return 0
  log "resolving Apache Kafka $KAFKA_VERSION from Maven Central"
  rm -rf "$KAFKA_HOME/libs"
  mvn -q -B -Dstyle.color=never -f "$ROOT/infra/kafka/pom.xml" dependency:copy-dependencies \
    -Dkafka.version="$KAFKA_VERSION" -DincludeScope=runtime \
    -DoutputDirectory="$KAFKA_HOME/libs" || die "could not resolve Kafka jars with Maven"
  touch "$stamp"
}

kafka_config() {
  mkdir -p "$KAFKA_HOME/config"
  cat > "$KAFKA_HOME/config/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_HOME/data
auto.create.topics.enable=false
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
PROPS
  cp "$ROOT/infra/kafka/log4j.properties" "$KAFKA_HOME/config/log4j.properties"
}

kafka_up() {
  if port_open "$KAFKA_PORT"; then log "Kafka already answers on 127.0.0.1:$KAFKA_PORT"; return 0; fi
  command -v java >/dev/null || die "java (17+) is required to run Kafka"
  kafka_install
  kafka_config
  local cp="$KAFKA_HOME/libs/*"
  if [ ! -f "$KAFKA_HOME/data/meta.properties" ]; then
    local cluster_id; cluster_id=$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
    java -Dlog4j.configuration="file:$KAFKA_HOME/config/log4j.properties" -cp "$cp" kafka.tools.StorageTool format \
      -t "$cluster_id" -c "$KAFKA_HOME/config/server.properties" >/dev/null || die "could not format KRaft storage"
  fi
  log "starting Kafka $KAFKA_VERSION (KRaft) on 127.0.0.1:$KAFKA_PORT"
  KAFKA_LOG_DIR="$RUN_DIR" nohup java -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dkafka.logs.dir="$RUN_DIR" -Dlog4j.configuration="file:$KAFKA_HOME/config/log4j.properties" \
    -cp "$cp" kafka.Kafka "$KAFKA_HOME/config/server.properties" > "$RUN_DIR/kafka.log" 2>&1 &
  echo $! > "$RUN_DIR/kafka.pid"
  wait_until 90 "Kafka" port_open "$KAFKA_PORT" || { tail -30 "$RUN_DIR/kafka.log"; die "Kafka did not start"; }
}

# ---------- MySQL ----------
mysql_ping() { # <port>
  if command -v mariadb-admin >/dev/null; then mariadb-admin -h127.0.0.1 -P"$1" -uroot ping >/dev/null 2>&1
  elif command -v mysqladmin >/dev/null; then mysqladmin -h127.0.0.1 -P"$1" -uroot ping >/dev/null 2>&1
  else port_open "$1"; fi
}

mysql_up() {
  if [ -n "${MYSQL_URL:-}" ]; then log "using MYSQL_URL"; return 0; fi
  if mysql_ping "$SYSTEM_MYSQL_PORT"; then MYSQL_URL="mysql://root@127.0.0.1:$SYSTEM_MYSQL_PORT"; log "using MariaDB/MySQL on 127.0.0.1:$SYSTEM_MYSQL_PORT"; return 0; fi
  if mysql_ping "$PRIVATE_MYSQL_PORT"; then MYSQL_URL="mysql://root@127.0.0.1:$PRIVATE_MYSQL_PORT"; log "reusing private MariaDB on 127.0.0.1:$PRIVATE_MYSQL_PORT"; return 0; fi
  local mariadbd; mariadbd=$(command -v mariadbd || ls /usr/sbin/mariadbd 2>/dev/null || true)
  [ -n "$mariadbd" ] || die "no MySQL answers on 127.0.0.1:$SYSTEM_MYSQL_PORT, MYSQL_URL is unset and mariadbd is not installed (apt-get install mariadb-server)"
  if [ ! -d "$MARIADB_HOME/data/mysql" ]; then
    log "initialising a private MariaDB in $MARIADB_HOME"
    mkdir -p "$MARIADB_HOME/data"
    mariadb-install-db --no-defaults --datadir="$MARIADB_HOME/data" --auth-root-authentication-method=normal \
      --skip-test-db --user="$(id -un)" > "$RUN_DIR/mariadb-install.log" 2>&1 || die "mariadb-install-db failed"
  fi
  log "starting a private MariaDB on 127.0.0.1:$PRIVATE_MYSQL_PORT"
  nohup "$mariadbd" --no-defaults --datadir="$MARIADB_HOME/data" --port="$PRIVATE_MYSQL_PORT" --bind-address=127.0.0.1 \
    --socket="$MARIADB_HOME/mysqld.sock" --pid-file="$RUN_DIR/mariadb.pidfile" --user="$(id -un)" \
    > "$RUN_DIR/mariadb.log" 2>&1 &
  echo $! > "$RUN_DIR/mariadb.pid"
  wait_until 60 "MariaDB" mysql_ping "$PRIVATE_MYSQL_PORT" || { tail -20 "$RUN_DIR/mariadb.log"; die "MariaDB did not start"; }
  MYSQL_URL="mysql://root@127.0.0.1:$PRIVATE_MYSQL_PORT"
}

# ---------- Redis (the bus Tutor configures for the LMS's events: event-bus-redis) ----------
redis_ping() { # <port>
  if command -v redis-cli >/dev/null; then [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]; else port_open "$1"; fi
}

redis_up() {
  if [ -n "${EVENT_BUS_REDIS_CONNECTION_URL:-}" ]; then log "using EVENT_BUS_REDIS_CONNECTION_URL"; return 0; fi
  if redis_ping "$SYSTEM_REDIS_PORT"; then EVENT_BUS_REDIS_CONNECTION_URL="redis://127.0.0.1:$SYSTEM_REDIS_PORT/0"; log "using Redis on 127.0.0.1:$SYSTEM_REDIS_PORT"; return 0; fi
  EVENT_BUS_REDIS_CONNECTION_URL="redis://127.0.0.1:$PRIVATE_REDIS_PORT/0"
  if redis_ping "$PRIVATE_REDIS_PORT"; then log "reusing private Redis on 127.0.0.1:$PRIVATE_REDIS_PORT"; return 0; fi
  local server; server=$(command -v redis-server || true)
  [ -n "$server" ] || die "no Redis answers on 127.0.0.1:$SYSTEM_REDIS_PORT and redis-server is not installed (apt-get install redis-server)"
  log "starting a private Redis on 127.0.0.1:$PRIVATE_REDIS_PORT"
  mkdir -p "$CACHE/redis"
  nohup "$server" --port "$PRIVATE_REDIS_PORT" --bind 127.0.0.1 --dir "$CACHE/redis" --save '' --appendonly no \
    > "$RUN_DIR/redis.log" 2>&1 &
  echo $! > "$RUN_DIR/redis.pid"
  wait_until 30 "Redis" redis_ping "$PRIVATE_REDIS_PORT" || { tail -20 "$RUN_DIR/redis.log"; die "Redis did not start"; }
}

# ---------- Schema registry ----------
registry_ready() { curl -sf -m 2 "http://127.0.0.1:$SCHEMA_REGISTRY_PORT/apis/ccompat/v7/subjects" >/dev/null; }

registry_up() {
  if [ -n "${SCHEMA_REGISTRY_URL:-}" ]; then log "using SCHEMA_REGISTRY_URL"; return 0; fi
  SCHEMA_REGISTRY_URL="http://127.0.0.1:$SCHEMA_REGISTRY_PORT/apis/ccompat/v7"
  if registry_ready; then log "schema registry already answers on 127.0.0.1:$SCHEMA_REGISTRY_PORT"; return 0; fi
  local jar="$APICURIO_HOME/apicurio-registry-app-$APICURIO_VERSION-runner.jar"
  if [ ! -f "$jar" ]; then
    # dependency:unpack of the single artifact: its parent POM is not on Maven Central,
    # so dependency resolution through a project POM fails.
    log "resolving Apicurio Registry $APICURIO_VERSION from Maven Central"
    # Run from the cache: without a POM the plugin keeps "already unpacked" markers under the
    # working directory, and a stale marker would make it skip the unpack.
    (cd "$CACHE" && rm -rf '${project.basedir}' && mvn -q -B -Dstyle.color=never dependency:unpack \
      -Dartifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all" -Dmdep.overWriteReleases=true \
      -DoutputDirectory="$APICURIO_HOME") || die "could not resolve Apicurio Registry with Maven"
    [ -f "$jar" ] || die "Apicurio Registry was resolved but $jar is missing"
  fi
  # Schemas are kept in an H2 file beside Kafka's data: Kafka keeps messages across restarts, so the
  # registry must keep the ids they refer to (its default in-memory store would hand them out again).
  mkdir -p "$CACHE/schema-registry-data"
  log "starting Apicurio Registry $APICURIO_VERSION on 127.0.0.1:$SCHEMA_REGISTRY_PORT"
  # A light request load on two cores: the quick JIT tier only and one GC thread, so the registry's
  # JVM spends less CPU compiling and collecting than answering.
  (cd "$APICURIO_HOME" && exec nohup java -Xms64m -Xmx384m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$SCHEMA_REGISTRY_PORT" \
    -Dapicurio.rules.global.compatibility=BACKWARD -Dquarkus.log.level=WARN \
    -Dapicurio.datasource.url="jdbc:h2:file:$CACHE/schema-registry-data/registry" \
    -jar "$jar" > "$RUN_DIR/schema-registry.log" 2>&1) &
  echo $! > "$RUN_DIR/schema-registry.pid"
  wait_until 120 "schema registry" registry_ready || { tail -20 "$RUN_DIR/schema-registry.log"; die "Apicurio Registry did not start"; }
}

write_env() {
  cat > "$STACK_ENV" <<ENV
KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
MYSQL_URL=$MYSQL_URL
SCHEMA_REGISTRY_URL=$SCHEMA_REGISTRY_URL
EVENT_BUS_REDIS_CONNECTION_URL=$EVENT_BUS_REDIS_CONNECTION_URL
CLICKHOUSE_URL=http://127.0.0.1:$CLICKHOUSE_HTTP_PORT
ENV
}

case "${1:-up}" in
  up)
    # The registry's JVM starts slowly: start it in parallel with Kafka.
    registry_up & registry_job=$!
    kafka_up
    mysql_up
    redis_up
    wait "$registry_job" || die "schema registry failed"
    # Only the Aspects integration test needs it: without it the rest still runs, and that test says why it fails.
    bash "$ROOT/scripts/clickhouse.sh" up || log "warning: ClickHouse did not start; the Aspects integration test will fail"
    SCHEMA_REGISTRY_URL="${SCHEMA_REGISTRY_URL:-http://127.0.0.1:$SCHEMA_REGISTRY_PORT/apis/ccompat/v7}"
    write_env
    ;;
  down)
    stop_pidfile "$RUN_DIR/schema-registry.pid" "schema registry"
    stop_pidfile "$RUN_DIR/kafka.pid" "Kafka"
    stop_pidfile "$RUN_DIR/mariadb.pid" "private MariaDB"
    stop_pidfile "$RUN_DIR/redis.pid" "private Redis"
    bash "$ROOT/scripts/clickhouse.sh" down
    ;;
  reset)
    # Development only: forget every message, schema and (private) database, for a clean slate.
    "$0" down
    rm -rf "$KAFKA_HOME/data" "$CACHE/schema-registry-data" "$MARIADB_HOME"
    bash "$ROOT/scripts/clickhouse.sh" reset
    log "removed Kafka data, registry data, the private MariaDB and the test ClickHouse's data"
    ;;
  kafka-stop) stop_pidfile "$RUN_DIR/kafka.pid" "Kafka" ;;
  kafka-start) kafka_up ;;
  status)
    for s in kafka schema-registry mariadb clickhouse; do
      if pid_alive "$RUN_DIR/$s.pid"; then echo "$s: running (pid $(cat "$RUN_DIR/$s.pid"))"; else echo "$s: not started by us"; fi
    done
    [ -f "$STACK_ENV" ] && cat "$STACK_ENV"
    ;;
  *) die "usage: infra.sh up|down|status|reset|kafka-stop|kafka-start" ;;
esac
