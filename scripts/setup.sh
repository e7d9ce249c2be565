#!/usr/bin/env bash
# Installs dependencies and builds every package. Needs only Node.js 20 and npm.
set -euo pipefail
cd "$(dirname "$0")/.."
node -e 'const [maj]=process.versions.node.split(".").map(Number); if (maj < 20) { console.error("Node.js 20 or newer is required, found " + process.version); process.exit(1) }'
./scripts/pnpm.sh install --frozen-lockfile
./scripts/pnpm.sh run build
