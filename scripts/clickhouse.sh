#!/usr/bin/env bash
# A private ClickHouse for the Aspects backend's integration test: Debian's clickhouse-server
# (installed with apt-get when missing, as root), its data in .cache/clickhouse, HTTP on
# 127.0.0.1:$CLICKHOUSE_HTTP_PORT. Called by infra.sh; no service is pointed at it.
#   clickhouse.sh up | down | status | reset (wipes its data)
# Idempotent: `up` reuses a server that answers; `down` stops only what it started.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CLICKHOUSE_HOME="$CACHE/clickhouse"

clickhouse_ready() { curl -sf -m 2 "http://127.0.0.1:$CLICKHOUSE_HTTP_PORT/ping" >/dev/null; }

clickhouse_binary() { command -v clickhouse-server || { [ -x /usr/sbin/clickhouse-server ] && echo /usr/sbin/clickhouse-server; } || true; }

clickhouse_install() {
  [ -n "$(clickhouse_binary)" ] && return 0
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || die "clickhouse-server is not installed (apt-get install clickhouse-server, as root)"
  log "installing Debian's clickhouse-server"
  local out="$RUN_DIR/clickhouse-install.log"
  # Debian's package starts no service here (policy-rc.d); a stale package list is refreshed once.
  apt_install clickhouse-server > "$out" 2>&1 || die "could not install clickhouse-server (log: $out)"
}

clickhouse_config() {
  mkdir -p "$CLICKHOUSE_HOME/etc" "$CLICKHOUSE_HOME/data/tmp" "$CLICKHOUSE_HOME/data/user_files"
  # <yandex> is the root element 18.x reads; later versions read it too.
  cat > "$CLICKHOUSE_HOME/etc/config.xml" <<XML
<yandex>
  <logger><level>warning</level><log>$RUN_DIR/clickhouse.log</log><errorlog>$RUN_DIR/clickhouse.err.log</errorlog></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$CLICKHOUSE_HTTP_PORT</http_port>
  <tcp_port>$CLICKHOUSE_TCP_PORT</tcp_port>
  <path>$CLICKHOUSE_HOME/data/</path>
  <tmp_path>$CLICKHOUSE_HOME/data/tmp/</tmp_path>
  <user_files_path>$CLICKHOUSE_HOME/data/user_files/</user_files_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
</yandex>
XML
  cat > "$CLICKHOUSE_HOME/etc/users.xml" <<XML
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
XML
}

clickhouse_up() {
  if clickhouse_ready; then log "ClickHouse already answers on 127.0.0.1:$CLICKHOUSE_HTTP_PORT"; return 0; fi
  clickhouse_install
  clickhouse_config
  log "starting ClickHouse on 127.0.0.1:$CLICKHOUSE_HTTP_PORT"
  (cd "$CLICKHOUSE_HOME" && exec nohup "$(clickhouse_binary)" --config-file="$CLICKHOUSE_HOME/etc/config.xml" > "$RUN_DIR/clickhouse.out" 2>&1) &
  echo $! > "$RUN_DIR/clickhouse.pid"
  wait_until 60 "ClickHouse" clickhouse_ready || { tail -20 "$RUN_DIR/clickhouse.err.log" "$RUN_DIR/clickhouse.out" 2>/dev/null; die "ClickHouse did not start"; }
}

case "${1:-up}" in
  up) clickhouse_up ;;
  down) stop_pidfile "$RUN_DIR/clickhouse.pid" ClickHouse ;;
  reset) stop_pidfile "$RUN_DIR/clickhouse.pid" ClickHouse; rm -rf "$CLICKHOUSE_HOME" ;;
  status)
    if pid_alive "$RUN_DIR/clickhouse.pid"; then echo "clickhouse: running (pid $(cat "$RUN_DIR/clickhouse.pid"))"; else echo "clickhouse: not started by us"; fi
    ;;
  *) die "usage: clickhouse.sh up|down|status|reset" ;;
esac
