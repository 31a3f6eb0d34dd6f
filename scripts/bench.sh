#!/usr/bin/env bash
# Benchmarks print figures; they assert nothing. They run against the stack `npm start` runs.
#   bench.sh [sync-latency|groups-api|load] [args]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
name="${1:-sync-latency}"; shift || true
bash "$ROOT/scripts/stack.sh" start >/dev/null
set -a; source "$STACK_ENV"; set +a
cd "$ROOT" && KAFKAJS_NO_PARTITIONER_WARNING=1 node -r ./tools/register-paths.js "dist/bench/$name.js" "$@"
