#!/usr/bin/env bash
# Runs the whole product locally with embedded defaults: infrastructure (scripts/infra.sh), then the
# three services and the LMS emulator as background processes. Idempotent: what answers is reused.
#   stack.sh start | prepare | stop | status | reset
# INSTANCES=N (1 by default) runs N processes of each service, in the same consumer groups and on
# the same database; instance n listens on the service's port + 10*(n-1) (3001, 3011, ...). One LMS emulator.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

APPS=(lms-emulator groups-service legacy-sync-service evaluator-service)
INSTANCES="${INSTANCES:-1}"
[[ "$INSTANCES" =~ ^[1-9]$ ]] || die "INSTANCES must be 1 to 9, not \"$INSTANCES\""
app_port() {
  case "$1" in
    lms-emulator) echo "$LMS_EMULATOR_PORT" ;;
    groups-service) echo "$GROUPS_SERVICE_PORT" ;;
    legacy-sync-service) echo "$LEGACY_SYNC_SERVICE_PORT" ;;
    evaluator-service) echo "$EVALUATOR_SERVICE_PORT" ;;
  esac
}
app_ops_port() {
  case "$1" in
    lms-emulator) echo "$LMS_EMULATOR_OPS_PORT" ;;
    groups-service) echo "$GROUPS_SERVICE_OPS_PORT" ;;
    legacy-sync-service) echo "$LEGACY_SYNC_SERVICE_OPS_PORT" ;;
    evaluator-service) echo "$EVALUATOR_SERVICE_OPS_PORT" ;;
  esac
}
# Instances of an app: the emulator runs once, each service INSTANCES times.
instance_count() { [ "$1" = lms-emulator ] && echo 1 || echo "$INSTANCES"; }
# Instance 1 keeps the plain name (pid file, log); instance n is <app>-n.
instance_name() { [ "$2" = 1 ] && echo "$1" || echo "$1-$2"; }
instance_port() { echo $(( $(app_port "$1") + 10 * ($2 - 1) )); }
instance_ops_port() { echo $(( $(app_ops_port "$1") + 10 * ($2 - 1) )); }
# Every instance that has a pid file, whatever INSTANCES was when it started.
instance_pidfiles() { ls "$RUN_DIR/$1.pid" "$RUN_DIR/$1"-[0-9].pid 2>/dev/null || true; }
ready() { curl -sf -m 3 "http://127.0.0.1:$1/health/ready" >/dev/null; }

start_app() {
  local app=$1 n=$2 name port ops_port; name=$(instance_name "$1" "$2"); port=$(instance_port "$1" "$2"); ops_port=$(instance_ops_port "$1" "$2")
  if pid_alive "$RUN_DIR/$name.pid" && port_open "$port"; then
    # Reuse it, unless the code was rebuilt since it started.
    if [ "$ROOT/dist/.tsbuildinfo" -nt "$RUN_DIR/$name.pid" ]; then
      log "$name: code changed since it started, restarting"
      stop_pidfile "$RUN_DIR/$name.pid" "$name"
    else
      log "$name already running on :$port"; return 0
    fi
  fi
  port_open "$port" && die "port $port (for $name) is taken by another process; set its *_PORT variable"
  port_open "$ops_port" && die "port $ops_port (operations, for $name) is taken by another process; set its *_OPS_PORT variable"
  log "starting $name on :$port (operations :$ops_port)"
  (
    set -a; source "$STACK_ENV"; set +a
    export PORT="$port" OPS_PORT="$ops_port" LMS_BASE_URL="http://127.0.0.1:$LMS_EMULATOR_PORT"
    # groups-service trusts the tokens the LMS (here, its emulator) signs, through its JWKS.
    export LMS_JWT_ISSUER="http://127.0.0.1:$LMS_EMULATOR_PORT/oauth2" JWT_ISSUER="http://127.0.0.1:$LMS_EMULATOR_PORT/oauth2"
    # HS256 tokens (the LMS's default) with its shared secret, as edx-drf-extensions' JWT_ISSUERS;
    # asymmetric ones (asymmetric_jwt) with the key set the emulator also serves.
    export JWT_ISSUERS="[{\"ISSUER\": \"$JWT_ISSUER\", \"AUDIENCE\": \"openedx\", \"SECRET_KEY\": \"lms-emulator-jwt-secret-key-for-development\"}]"
    export JWT_JWKS_URL="http://127.0.0.1:$LMS_EMULATOR_PORT/oauth2/jwks.json"
    # legacy-sync-service reads the groups' memberships from groups-service when it reconciles.
    export GROUPS_SERVICE_URL="http://127.0.0.1:$GROUPS_SERVICE_PORT"
    # evaluator-service reads learners' data from the LMS's tables, and groups-service course roles and
    # unseen learners: here, the emulator's database (an operator's read-only user on the LMS's).
    if [ "$app" = evaluator-service ] || [ "$app" = groups-service ]; then export LMS_DB_URL="${MYSQL_URL%/}/lms_emulator"; fi
    # The emulator is this stack's test peer: its fixtures (/emulator/*) and token endpoint are on.
    [ "$app" = lms-emulator ] && export LMS_EMULATOR_TEST_PEER=true
    # LMS_EVENT_BUS: the bus the emulator publishes the LMS's events on (kafka unless set) and the one
    # the services read them from (both unless set: Kafka and the Redis streams event-bus-redis writes).
    if [ "$app" = lms-emulator ]; then export LMS_EVENT_BUS="${LMS_EVENT_BUS:-kafka}"; else export LMS_EVENT_BUS="${LMS_EVENT_BUS:-both}"; fi
    cd "$ROOT" && exec nohup node -r ./tools/register-paths.js "dist/apps/$app/src/main.js" >> "$RUN_DIR/$name.log" 2>&1
  ) &
  echo $! > "$RUN_DIR/$name.pid"
}

# Stops the instances beyond INSTANCES left by an earlier start with more.
stop_extra_instances() {
  local app=$1 f n
  for f in $(instance_pidfiles "$app"); do
    n=${f##*/$app-}; n=${n%.pid}
    [[ "$n" =~ ^[0-9]$ ]] && [ "$n" -gt "$(instance_count "$app")" ] && stop_pidfile "$f" "$app-$n"
  done
  return 0
}

# The User Groups page, with the two APIs and the emulator's sign-in on its origin (as Caddy routes
# them on a site's LMS host). It reads the built files per request: a rebuild needs no restart.
start_page() {
  local pidfile="$RUN_DIR/user-groups-page.pid"
  if pid_alive "$pidfile" && port_open "$USER_GROUPS_PAGE_PORT"; then log "User Groups page already running on :$USER_GROUPS_PAGE_PORT"; return 0; fi
  port_open "$USER_GROUPS_PAGE_PORT" && die "port $USER_GROUPS_PAGE_PORT (for the User Groups page) is taken; set USER_GROUPS_PAGE_PORT"
  log "starting the User Groups page on :$USER_GROUPS_PAGE_PORT"
  (
    export MFE_PORT="$USER_GROUPS_PAGE_PORT" GROUPS_SERVICE_URL="http://127.0.0.1:$GROUPS_SERVICE_PORT"
    export LEGACY_SYNC_URL="http://127.0.0.1:$LEGACY_SYNC_SERVICE_PORT" LMS_URL="http://127.0.0.1:$LMS_EMULATOR_PORT"
    cd "$ROOT" && exec nohup node apps/frontend-app-user-groups/serve.mjs >> "$RUN_DIR/user-groups-page.log" 2>&1
  ) &
  echo $! > "$pidfile"
  wait_until 20 "User Groups page" port_open "$USER_GROUPS_PAGE_PORT" || die "the User Groups page did not start (log: $RUN_DIR/user-groups-page.log)"
  # Someone to sign in as: global staff of the emulator (idempotent; learners come from its fixtures).
  curl -s -XPOST "http://127.0.0.1:$LMS_EMULATOR_PORT/emulator/users" -H 'content-type: application/json' -d '{"username": "staff", "name": "Staff"}' >/dev/null
  curl -s -XPUT "http://127.0.0.1:$LMS_EMULATOR_PORT/emulator/learner-data" -H 'content-type: application/json' -d '{"username": "staff", "is_staff": true}' >/dev/null
}

prepare() {
  ensure_node_modules
  bash "$ROOT/scripts/infra.sh" up
  build_workspace
  (set -a; source "$STACK_ENV"; set +a; cd "$ROOT" && node -r ./tools/register-paths.js dist/tools/provision-topics.js)
}

case "${1:-start}" in
  prepare)
    # Everything but the services: for benchmarks that start services of their own.
    prepare
    ;;
  start)
    prepare
    for app in "${APPS[@]}"; do
      stop_extra_instances "$app"
      for n in $(seq 1 "$(instance_count "$app")"); do start_app "$app" "$n"; done
    done
    for app in "${APPS[@]}"; do
      for n in $(seq 1 "$(instance_count "$app")"); do
        name=$(instance_name "$app" "$n"); port=$(instance_port "$app" "$n")
        wait_until 90 "$name" ready "$port" || { tail -20 "$RUN_DIR/$name.log"; die "$name did not become ready (log: $RUN_DIR/$name.log)"; }
      done
    done
    start_page
    set -a; source "$STACK_ENV"; set +a
    more=""
    [ "$INSTANCES" -gt 1 ] && more="
  $INSTANCES instances of each service: instance n on the port above + 10*(n-1), same consumer groups and database"
    cat <<INFO

openedx-groups-sync is running:
  User Groups page     http://127.0.0.1:$USER_GROUPS_PAGE_PORT/user-groups/   (sign in as "staff", global staff, or any emulator user)
  groups-service       http://127.0.0.1:$GROUPS_SERVICE_PORT   (API /api/user-groups/v1/, docs /api/docs)
  legacy-sync-service  http://127.0.0.1:$LEGACY_SYNC_SERVICE_PORT   (API /api/legacy-sync/v1/, docs /api/docs; npm run --silent ugsync -- status)
  evaluator-service    http://127.0.0.1:$EVALUATOR_SERVICE_PORT   (/health/ready)
  lms-emulator         http://127.0.0.1:$LMS_EMULATOR_PORT  (cohorts API /api/cohorts/v1/, docs /api/docs)$more
  operations ports     (/metrics, /health/consumers, /health/ready with details; instance n at + 10*(n-1))
    groups-service       http://127.0.0.1:$GROUPS_SERVICE_OPS_PORT
    legacy-sync-service  http://127.0.0.1:$LEGACY_SYNC_SERVICE_OPS_PORT
    evaluator-service    http://127.0.0.1:$EVALUATOR_SERVICE_OPS_PORT
    lms-emulator         http://127.0.0.1:$LMS_EMULATOR_OPS_PORT
  Kafka                $KAFKA_BROKERS
  schema registry      $SCHEMA_REGISTRY_URL
  MySQL                ${MYSQL_URL}
Logs: $RUN_DIR/*.log    Stop: npm stop
INFO
    ;;
  stop)
    stop_pidfile "$RUN_DIR/user-groups-page.pid" "User Groups page"
    for app in "${APPS[@]}"; do
      for f in $(instance_pidfiles "$app"); do stop_pidfile "$f" "$(basename "$f" .pid)"; done
    done
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
      for n in $(seq 1 "$(instance_count "$app")"); do
        name=$(instance_name "$app" "$n"); port=$(instance_port "$app" "$n")
        if ready "$port"; then echo "$name: ready on :$port"; else echo "$name: not ready"; fi
      done
    done
    bash "$ROOT/scripts/infra.sh" status
    ;;
  *) die "usage: stack.sh start|prepare|stop|status|reset" ;;
esac
