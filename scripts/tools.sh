#!/usr/bin/env bash
# Command-line tools the deployment checks need, installed once and reused; prints the path.
#
#   scripts/tools.sh helm             # helm built from the Go module proxy into .services/tools
#   scripts/tools.sh docker-compose   # Debian's docker-compose package (installed when root)
#   scripts/tools.sh jupyter          # nbconvert in a venv with the tslab TypeScript kernel;
#                                     # prints the folder to put first on PATH
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS="$ROOT/.services/tools"
HELM_VERSION="${DFP_HELM_VERSION:-v4.3.2}"
log() { echo "tools: $*" >&2; }
die() { log "$*"; exit 1; }

helm_path() {
  local bin="$TOOLS/helm-$HELM_VERSION"
  mkdir -p "$TOOLS"
  (
    flock 9
    if [[ ! -x "$bin/helm" ]]; then
      command -v go >/dev/null || die "helm needs Go to build (go install helm.sh/helm/v4)"
      log "building helm $HELM_VERSION from the Go module proxy into $bin (once; a few minutes)"
      local t0=$SECONDS
      GOBIN="$bin" GOFLAGS=-mod=mod go install "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" >&2
      log "helm built in $((SECONDS - t0)) s"
    fi
  ) 9>"$TOOLS/helm.lock"
  echo "$bin/helm"
}

compose_path() {
  if ! command -v docker-compose >/dev/null; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
      log "installing Debian's docker-compose package (once)"
      (apt-get install -y -q docker-compose || (apt-get update -q && apt-get install -y -q docker-compose)) >&2
    else
      die "docker-compose is missing: install Debian's docker-compose package"
    fi
  fi
  command -v docker-compose
}

# Notebook execution: nbconvert and ipykernel from PyPI, tslab from npm, the kernel registered
# inside the venv (nothing is installed outside .services/).
JUPYTER_PIP="nbconvert==7.16.6 nbclient==0.10.2 ipykernel==6.30.1 jupyter_client==8.6.3"
TSLAB_VERSION="${DFP_TSLAB_VERSION:-1.0.22}"
jupyter_path() {
  local venv="$TOOLS/jupyter" tslab="$TOOLS/tslab-$TSLAB_VERSION"
  mkdir -p "$TOOLS"
  (
    flock 9
    if [[ ! -f "$venv/.complete-$TSLAB_VERSION" ]]; then
      log "installing nbconvert and the tslab kernel into $venv (once)"
      local t0=$SECONDS
      python3 -m venv "$venv"
      # shellcheck disable=SC2086
      "$venv/bin/pip" install --quiet --disable-pip-version-check $JUPYTER_PIP >&2
      mkdir -p "$tslab"
      npm install --prefix "$tslab" --no-audit --no-fund --loglevel=error "tslab@$TSLAB_VERSION" >&2
      PATH="$venv/bin:$PATH" "$tslab/node_modules/.bin/tslab" install \
        --python="$venv/bin/python" --sys-prefix >&2
      ln -sf "$tslab/node_modules/.bin/tslab" "$venv/bin/tslab"
      touch "$venv/.complete-$TSLAB_VERSION"
      log "notebook tools installed in $((SECONDS - t0)) s"
    fi
  ) 9>"$TOOLS/jupyter.lock"
  echo "$venv/bin"
}

case "${1:-}" in
  helm) helm_path ;;
  docker-compose) compose_path ;;
  jupyter) jupyter_path ;;
  *) die "usage: $0 helm|docker-compose|jupyter" ;;
esac
