#!/usr/bin/env bash
# Everything CI and a developer need: installs what is missing, type-checks and lints, runs the unit
# tier, starts the real infrastructure (Kafka, MariaDB, schema registry), runs the integration and
# end-to-end tiers against it, and prints one closing line. Exits non-zero on any failure.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export NX_NO_CLOUD=true NX_DAEMON=false NX_TUI=false FORCE_COLOR=0 KAFKAJS_NO_PARTITIONER_WARNING=1

cd "$ROOT"
failed=0
failed_steps=()
step() { local name=$1; shift; log "── $name"; "$@" || { log "✗ $name failed"; failed=1; failed_steps+=("$name"); }; }

# Stop afterwards only what this run started; a stack the developer had running is left alone.
started=()
for s in kafka schema-registry mariadb redis clickhouse; do pid_alive "$RUN_DIR/$s.pid" || started+=("$s"); done

ensure_node_modules
# The infrastructure starts in the background while the build, lint and unit tier run: Kafka and the
# registry spend most of their start-up waiting. Not beside npm ci: their JVMs' start slowed it by
# 7-29 s in three clean-clone runs, more than they cost the build.
log "── infrastructure (starting in the background; log: $RUN_DIR/infra-up.log)"
bash "$ROOT/scripts/infra.sh" up > "$RUN_DIR/infra-up.log" 2>&1 &
infra_pid=$!
# The Tutor plugin's and the LMS companion plugin's tests (unit tier) run with Debian's python3 and
# its Jinja2 and Django; the User Groups page's browser tests (end-to-end tier) drive Chromium. On a
# new machine their installs (about 20 s and 50 s) run beside the build, lint and format steps, one
# after the other (apt takes one install at a time); each tier waits for what it needs.
(ensure_python_packages > "$RUN_DIR/python.path") 2> "$RUN_DIR/python.log" &
python_pid=$!
(while kill -0 "$python_pid" 2>/dev/null; do sleep 1; done; ensure_chromium) > "$RUN_DIR/chromium.log" 2>&1 &
chromium_pid=$!
rm -rf "$CACHE/test-results" "$CACHE/test-logs"
# The build (dist/, which only the integration and e2e tiers run) beside the lint, format and unit
# steps: one compiler process on one core while they use the other.
log "── build (in the background; log: $RUN_DIR/build.log)"
(build_workspace) > "$RUN_DIR/build.log" 2>&1 &
build_pid=$!
# The boundary rule reads Nx's project graph; on a fresh checkout there is none until Nx computes it,
# and the rule would be skipped with a warning.
step "project graph" npx nx show projects --json
step "lint (module boundaries)" npx eslint --max-warnings 0 .
step "format (Prettier; npm run format fixes it)" npx prettier --check --log-level warn "**/*.{ts,tsx,js,mjs}"
python_ok=1; wait "$python_pid" || python_ok=0
cat "$RUN_DIR/python.log" >&2
if ((python_ok)); then
  export GROUPS_SYNC_PYTHON; GROUPS_SYNC_PYTHON=$(cat "$RUN_DIR/python.path")
else
  log "✗ python3's Jinja2 and Django could not be installed (the Tutor and LMS plugin tests will fail)"
  failed=1; failed_steps+=("python packages")
fi
# One Jest run over every project (the root jest.config.js; workers as jest.preset.js says).
step "unit tests" node tools/run-jest.js unit all .

built=1
if wait "$build_pid"; then
  cat "$RUN_DIR/build.log"
else
  tail -n 30 "$RUN_DIR/build.log"
  log "✗ build failed"; failed=1; failed_steps+=("build"); built=0
fi
chromium_ok=1; wait "$chromium_pid" || chromium_ok=0
cat "$RUN_DIR/chromium.log"
((chromium_ok)) || { log "✗ Chromium could not be installed (the browser tests will fail)"; failed=1; failed_steps+=("chromium"); }
if wait "$infra_pid"; then
  tail -n 3 "$RUN_DIR/infra-up.log"
  set -a; source "$STACK_ENV"; set +a
  # The integration and e2e tiers in one run over every project, so their suites share the workers:
  # side by side (each isolated by its topic prefix, databases and ports), then the few that must run
  # alone (jest.preset.js: PARALLEL_WORKERS, SERIAL_SUITES).
  if ((built)); then step "integration and end-to-end tests" node tools/run-jest.js integration,e2e all .; fi
else
  tail -n 20 "$RUN_DIR/infra-up.log"
  log "✗ infrastructure did not start"; failed=1; failed_steps+=("infrastructure")
fi
for s in "${started[@]}"; do
  case "$s" in
    kafka) stop_pidfile "$RUN_DIR/kafka.pid" Kafka ;;
    schema-registry) stop_pidfile "$RUN_DIR/schema-registry.pid" "schema registry" ;;
    mariadb) stop_pidfile "$RUN_DIR/mariadb.pid" "private MariaDB" ;;
    redis) stop_pidfile "$RUN_DIR/redis.pid" "private Redis" ;;
    clickhouse) stop_pidfile "$RUN_DIR/clickhouse.pid" ClickHouse ;;
  esac
done

node "$ROOT/tools/summarize-tests.js"
# Last, where a reader of the log's tail sees it: a step can fail with every test green (lint, format).
if ((failed)); then
  log "✗ failed: $(IFS=,; echo "${failed_steps[*]}" | sed 's/,/, /g')"
fi
exit $failed
