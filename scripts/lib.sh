# Shared by scripts/*.sh: where things live, which ports they use, and small helpers.
# Every value can be overridden from the environment.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${GROUPS_SYNC_CACHE:-$ROOT/.cache}"
RUN_DIR="$CACHE/run"        # pid files and logs of what these scripts started
STACK_ENV="$CACHE/stack.env" # resolved endpoints, sourced by the services and the tests
mkdir -p "$RUN_DIR"

KAFKA_VERSION="${KAFKA_VERSION:-3.9.1}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
APICURIO_VERSION="${APICURIO_VERSION:-3.0.9}"
SCHEMA_REGISTRY_PORT="${SCHEMA_REGISTRY_PORT:-8081}"
SYSTEM_MYSQL_PORT="${SYSTEM_MYSQL_PORT:-3306}"   # a server already running, used when it answers
PRIVATE_MYSQL_PORT="${PRIVATE_MYSQL_PORT:-3307}" # else a private mariadbd started by infra.sh
SYSTEM_REDIS_PORT="${SYSTEM_REDIS_PORT:-6379}"   # a Redis already running, used when it answers
PRIVATE_REDIS_PORT="${PRIVATE_REDIS_PORT:-6380}" # else a private redis-server started by infra.sh
CLICKHOUSE_HTTP_PORT="${CLICKHOUSE_HTTP_PORT:-18123}" # a private ClickHouse (clickhouse.sh) for the Aspects test
CLICKHOUSE_TCP_PORT="${CLICKHOUSE_TCP_PORT:-19000}"

GROUPS_SERVICE_PORT="${GROUPS_SERVICE_PORT:-3001}"
LEGACY_SYNC_SERVICE_PORT="${LEGACY_SYNC_SERVICE_PORT:-3002}"
EVALUATOR_SERVICE_PORT="${EVALUATOR_SERVICE_PORT:-3003}"
LMS_EMULATOR_PORT="${LMS_EMULATOR_PORT:-18000}"
USER_GROUPS_PAGE_PORT="${USER_GROUPS_PAGE_PORT:-2010}" # the User Groups page (apps/frontend-app-user-groups/serve.mjs)
# Operations ports (OPS_PORT): /metrics and /health/consumers, off the API ports.
GROUPS_SERVICE_OPS_PORT="${GROUPS_SERVICE_OPS_PORT:-9301}"
LEGACY_SYNC_SERVICE_OPS_PORT="${LEGACY_SYNC_SERVICE_OPS_PORT:-9302}"
EVALUATOR_SERVICE_OPS_PORT="${EVALUATOR_SERVICE_OPS_PORT:-9303}"
LMS_EMULATOR_OPS_PORT="${LMS_EMULATOR_OPS_PORT:-9300}"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_until <seconds> <description> <command...>
wait_until() {
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@"; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.5
  done
  log "$what is up"
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# stop_pidfile <pidfile> <name>: TERM, then KILL after 20 s.
stop_pidfile() {
  local pidfile=$1 name=$2
  pid_alive "$pidfile" || { rm -f "$pidfile"; return 0; }
  local pid; pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
  log "stopped $name"
}

ensure_node_modules() {
  # Reinstall only when the lock file changed since the last install.
  local stamp="$ROOT/node_modules/.install-stamp"
  if [ ! -f "$stamp" ] || [ "$ROOT/package-lock.json" -nt "$stamp" ]; then
    log "installing npm packages"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
    touch "$stamp"
  fi
}

# apt-get install of Debian packages, the package lists refreshed once when stale. Waits for the
# package manager's lock: npm test installs Chromium while infra.sh may be installing ClickHouse.
apt_install() {
  local apt=(apt-get -o DPkg::Lock::Timeout=300 -o Acquire::Retries=2)
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -q "$@" \
    || { "${apt[@]}" update -q && DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -q "$@"; }
}

# Debian's python3 with Jinja2 and Django: the Tutor plugin's test renders its templates with it
# (deploy/tutor/tests/render.py), the LMS companion plugin's tests run in Django with it
# (deploy/openedx-plugin/tests). Installs python3-jinja2 and python3-django when missing; prints the
# interpreter.
ensure_python_packages() {
  local py=/usr/bin/python3
  [ -x "$py" ] || die "no /usr/bin/python3 (apt-get install python3)"
  if ! "$py" -c 'import jinja2, django, attr' 2>/dev/null; then
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || die "python3-jinja2, python3-django and python3-attr are needed (apt-get install python3-jinja2 python3-django python3-attr, as root)"
    log "installing Debian's python3-jinja2, python3-django and python3-attr" >&2
    apt_install python3-jinja2 python3-django python3-attr >/dev/null 2>&1 \
      || die "could not install python3-jinja2, python3-django and python3-attr"
  fi
  echo "$py"
}

# Debian's Chromium, which the browser tests drive through playwright-core (headless).
ensure_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || die "Chromium is needed for the browser tests (apt-get install chromium, as root)"
  log "installing Debian's chromium"
  apt_install chromium >/dev/null 2>&1 || die "could not install chromium"
}

build_workspace() {
  log "compiling TypeScript"
  (cd "$ROOT" && npx tsc -p tsconfig.build.json) || die "TypeScript build failed"
  # Avro schemas are data, read at run time beside the compiled contracts.
  mkdir -p "$ROOT/dist/libs/contracts/src" && cp -r "$ROOT/libs/contracts/src/schemas" "$ROOT/dist/libs/contracts/src/"
  log "building the User Groups page"
  (cd "$ROOT" && npx tsc -p apps/frontend-app-user-groups/tsconfig.spec.json && npx vite build --config apps/frontend-app-user-groups/vite.config.mts) \
    || die "the User Groups page did not build"
}
