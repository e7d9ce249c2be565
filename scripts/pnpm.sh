#!/usr/bin/env bash
# Runs the pinned pnpm (10.x; pnpm 11 crashes on Node 20). Uses a global pnpm 10
# when there is one, else fetches the pinned version through npx.
set -euo pipefail
PNPM_VERSION=$(node -p "require('$(dirname "$0")/../package.json').packageManager.split('@')[1]")
if command -v pnpm >/dev/null 2>&1 && [[ "$(pnpm --version 2>/dev/null)" == 10.* ]]; then
  exec pnpm "$@"
fi
exec npx --yes "pnpm@${PNPM_VERSION}" "$@"
