#!/usr/bin/env bash
# The operators' command line: `npm run --silent ugsync -- <command>` (ugsync --help).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# The local stack's endpoints, unless the operator named the services.
if [ -z "${UGSYNC_LEGACY_SYNC_URL:-}" ] && [ -f "$STACK_ENV" ]; then set -a; source "$STACK_ENV"; set +a; fi
[ -f "$ROOT/dist/apps/ugsync/src/main.js" ] || (cd "$ROOT" && npx tsc -p tsconfig.build.json >&2)
cd "$ROOT" && exec node -r ./tools/register-paths.js dist/apps/ugsync/src/main.js "$@"
