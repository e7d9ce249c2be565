#!/usr/bin/env bash
# The README's second command: set up, type-check, lint, start the real servers the
# integration tests need and the tools the deployment checks need (installed once into
# .services/), and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/pnpm.sh run lint

# Testcontainers would start these where a Docker engine answers; here the script does.
trap 'for s in mlflow kafka s3; do ./scripts/services.sh down "$s"; done' EXIT
for service in mlflow kafka s3; do
  exports=$(./scripts/services.sh up "$service")
  while IFS= read -r line; do export "${line?}"; done <<<"$exports"
done

# Tools of the deployment and notebook checks, installed once into .services/tools.
for tool in docker-compose helm jupyter; do ./scripts/tools.sh "$tool" >/dev/null; done

./scripts/pnpm.sh exec jest --ci "$@"
