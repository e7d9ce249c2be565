#!/usr/bin/env bash
# The README's second command: set up, type-check, lint and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/pnpm.sh run lint
./scripts/pnpm.sh exec jest --ci "$@"
