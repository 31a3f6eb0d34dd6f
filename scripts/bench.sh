#!/usr/bin/env bash
# Benchmarks print figures; they assert nothing. Most run against the stack `npm start` runs;
# evaluator, reconcile and tracks start services of their own beside Kafka and MySQL.
#   bench.sh [sync-latency|groups-api|load|reconcile|evaluator|tracks|event-loop] [args]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
name="${1:-sync-latency}"; shift || true
case "$name" in
  # These start services of their own (their own databases and topics): the stack's services would
  # only idle beside them, taking CPU from the figures on a small machine.
  evaluator|reconcile|tracks|event-loop)
    bash "$ROOT/scripts/stack.sh" prepare >/dev/null
    running=$(bash "$ROOT/scripts/stack.sh" status 2>/dev/null | grep -c ": ready on" || true)
    [ "$running" -gt 0 ] && echo "note: the stack's services are running beside this benchmark and take CPU from it (npm stop, then run it again, for figures without them)" >&2
    ;;
  *) bash "$ROOT/scripts/stack.sh" start >/dev/null ;;
esac
set -a; source "$STACK_ENV"; set +a
cd "$ROOT" && KAFKAJS_NO_PARTITIONER_WARNING=1 node -r ./tools/register-paths.js "dist/bench/$name.js" "$@"
