#!/usr/bin/env bash
# Runs the whole product locally with embedded defaults: infrastructure (scripts/infra.sh), then the
# three services and the LMS emulator as background processes. Idempotent: what answers is reused.
#   stack.sh start | stop | status | reset
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

APPS=(lms-emulator groups-service legacy-sync-service evaluator-service)
app_port() {
  case "$1" in
    lms-emulator) echo "$LMS_EMULATOR_PORT" ;;
    groups-service) echo "$GROUPS_SERVICE_PORT" ;;
    legacy-sync-service) echo "$LEGACY_SYNC_SERVICE_PORT" ;;
    evaluator-service) echo "$EVALUATOR_SERVICE_PORT" ;;
  esac
}
ready() { curl -sf -m 3 "http://127.0.0.1:$1/health/ready" >/dev/null; }

start_app() {
  local app=$1 port; port=$(app_port "$1")
  if pid_alive "$RUN_DIR/$app.pid" && port_open "$port"; then
    # Reuse it, unless the code was rebuilt since it started.
    if [ "$ROOT/dist/.tsbuildinfo" -nt "$RUN_DIR/$app.pid" ]; then
      log "$app: code changed since it started, restarting"
      stop_pidfile "$RUN_DIR/$app.pid" "$app"
    else
      log "$app already running on :$port"; return 0
    fi
  fi
  port_open "$port" && die "port $port (for $app) is taken by another process; set its *_PORT variable"
  log "starting $app on :$port"
  (
    set -a; source "$STACK_ENV"; set +a
    export PORT="$port" LMS_BASE_URL="http://127.0.0.1:$LMS_EMULATOR_PORT"
    # groups-service trusts the tokens the LMS (here, its emulator) signs, through its JWKS.
    export LMS_JWT_ISSUER="http://127.0.0.1:$LMS_EMULATOR_PORT/oauth2" JWT_ISSUER="http://127.0.0.1:$LMS_EMULATOR_PORT/oauth2"
    export JWT_JWKS_URL="http://127.0.0.1:$LMS_EMULATOR_PORT/oauth2/jwks.json"
    # legacy-sync-service reads the groups' memberships from groups-service when it reconciles.
    export GROUPS_SERVICE_URL="http://127.0.0.1:$GROUPS_SERVICE_PORT"
    # evaluator-service reads learners' data from the LMS's tables: here, the emulator's database.
    [ "$app" = evaluator-service ] && export LMS_DB_URL="${MYSQL_URL%/}/lms_emulator"
    # The emulator is this stack's test peer: its fixtures (/emulator/*) and token endpoint are on.
    [ "$app" = lms-emulator ] && export LMS_EMULATOR_TEST_PEER=true
    cd "$ROOT" && exec nohup node -r ./tools/register-paths.js "dist/apps/$app/src/main.js" >> "$RUN_DIR/$app.log" 2>&1
  ) &
  echo $! > "$RUN_DIR/$app.pid"
}

case "${1:-start}" in
  start)
    ensure_node_modules
    bash "$ROOT/scripts/infra.sh" up
    build_workspace
    (set -a; source "$STACK_ENV"; set +a; cd "$ROOT" && node -r ./tools/register-paths.js dist/tools/provision-topics.js)
    for app in "${APPS[@]}"; do start_app "$app"; done
    for app in "${APPS[@]}"; do
      port=$(app_port "$app")
      wait_until 90 "$app" ready "$port" || { tail -20 "$RUN_DIR/$app.log"; die "$app did not become ready (log: $RUN_DIR/$app.log)"; }
    done
    set -a; source "$STACK_ENV"; set +a
    cat <<INFO

openedx-groups-sync is running:
  groups-service       http://127.0.0.1:$GROUPS_SERVICE_PORT   (API /api/user-groups/v1/, docs /api/docs)
  legacy-sync-service  http://127.0.0.1:$LEGACY_SYNC_SERVICE_PORT   (API /api/legacy-sync/v1/, docs /api/docs; npm run --silent ugsync -- status)
  evaluator-service    http://127.0.0.1:$EVALUATOR_SERVICE_PORT   (/health/ready, /metrics)
  lms-emulator         http://127.0.0.1:$LMS_EMULATOR_PORT  (cohorts API /api/cohorts/v1/, docs /api/docs)
  Kafka                $KAFKA_BROKERS
  schema registry      $SCHEMA_REGISTRY_URL
  MySQL                ${MYSQL_URL}
Logs: $RUN_DIR/*.log    Stop: npm stop
INFO
    ;;
  stop)
    for app in "${APPS[@]}"; do stop_pidfile "$RUN_DIR/$app.pid" "$app"; done
    bash "$ROOT/scripts/infra.sh" down
    ;;
  reset)
    # Stops everything, wipes Kafka and registry data, and drops this product's databases (not others).
    "$0" stop
    bash "$ROOT/scripts/infra.sh" reset
    if [ -f "$STACK_ENV" ] && bash "$ROOT/scripts/infra.sh" up >/dev/null; then
      (set -a; source "$STACK_ENV"; set +a; cd "$ROOT" && node -r ./tools/register-paths.js dist/tools/drop-databases.js groups_service legacy_sync evaluator lms_emulator)
      bash "$ROOT/scripts/infra.sh" down
    fi
    ;;
  status)
    for app in "${APPS[@]}"; do
      port=$(app_port "$app")
      if ready "$port"; then echo "$app: ready on :$port"; else echo "$app: not ready"; fi
    done
    bash "$ROOT/scripts/infra.sh" status
    ;;
  *) die "usage: stack.sh start|stop|status|reset" ;;
esac
