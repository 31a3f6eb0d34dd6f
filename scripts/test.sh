#!/usr/bin/env bash
# Everything CI and a developer need: installs what is missing, type-checks and lints, runs the unit
# tier, starts the real infrastructure (Kafka, MariaDB, schema registry), runs the integration and
# end-to-end tiers against it, and prints one closing line. Exits non-zero on any failure.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export NX_NO_CLOUD=true NX_DAEMON=false NX_TUI=false FORCE_COLOR=0 KAFKAJS_NO_PARTITIONER_WARNING=1

ensure_node_modules
build_workspace
cd "$ROOT"
failed=0
step() { local name=$1; shift; log "── $name"; "$@" || { log "✗ $name failed"; failed=1; }; }

rm -rf "$CACHE/test-results" "$CACHE/test-logs"
# The boundary rule reads Nx's project graph; on a fresh checkout there is none until Nx computes it,
# and the rule would be skipped with a warning.
step "project graph" npx nx show projects --json
step "lint (module boundaries)" npx eslint --max-warnings 0 .
step "unit tests" npx nx run-many -t test --parallel=2 --skip-nx-cache --outputStyle=stream

# Stop afterwards only what this run started; a stack the developer had running is left alone.
started=()
for s in kafka schema-registry mariadb redis clickhouse; do pid_alive "$RUN_DIR/$s.pid" || started+=("$s"); done
if bash "$ROOT/scripts/infra.sh" up; then
  set -a; source "$STACK_ENV"; set +a
  # One suite at a time: they share one broker and one database server on 2 cores.
  step "integration tests" npx nx run-many -t integration-test --parallel=1 --skip-nx-cache --outputStyle=stream
  step "end-to-end tests" npx nx run-many -t e2e --parallel=1 --skip-nx-cache --outputStyle=stream
else
  log "✗ infrastructure did not start"; failed=1
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
exit $failed
