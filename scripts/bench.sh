#!/usr/bin/env bash
# Benchmarks print figures; they assert nothing. Runs against the stack `npm start` runs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bash "$ROOT/scripts/stack.sh" start >/dev/null
set -a; source "$STACK_ENV"; set +a
cd "$ROOT" && KAFKAJS_NO_PARTITIONER_WARNING=1 node -r ./tools/register-paths.js dist/bench/sync-latency.js "$@"
