#!/usr/bin/env bash
# The convergence property at length: random interleavings of edits on both sides, each followed
# by one reconciliation (apps/system-e2e/src/convergence.property.e2e-spec.ts).
#   property.sh [runs]   (500 by default; the test suite runs 50)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_node_modules
build_workspace
bash "$ROOT/scripts/infra.sh" up
set -a; source "$STACK_ENV"; set +a
cd "$ROOT" && PROPERTY_RUNS="${1:-500}" TEST_TIER=e2e KAFKAJS_NO_PARTITIONER_WARNING=1 \
  npx jest -c apps/system-e2e/jest.config.js apps/system-e2e/src/convergence.property.e2e-spec.ts
