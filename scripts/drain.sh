#!/usr/bin/env bash
# Waits until consumer groups have committed everything on their topics (upgrades that change keys).
#   drain.sh <consumer group>=<topic>[,<topic>...] ... [--timeout <seconds>]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# The local stack's endpoints, unless the operator named a broker.
if [ -z "${KAFKA_BROKERS:-}" ] && [ -f "$STACK_ENV" ]; then set -a; source "$STACK_ENV"; set +a; fi
cd "$ROOT" && KAFKAJS_NO_PARTITIONER_WARNING=1 node -r ./tools/register-paths.js dist/tools/wait-drained.js "$@"
