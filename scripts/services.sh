#!/usr/bin/env bash
# Real servers for integration tests, installed once into .services/ and run on loopback.
#
#   scripts/services.sh up mlflow     # prints MLFLOW_TRACKING_URI=http://127.0.0.1:<port>
#   scripts/services.sh down mlflow
#   scripts/services.sh status mlflow
#
# Every `up` prints KEY=value lines a shell can export:  eval "$(scripts/services.sh up mlflow)"
# Progress goes to stderr. Where a Docker engine exists, the tests use testcontainers instead.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# Installs are cached in .services/ and shared; running state (data, pid, log) lives in
# DFP_SERVICES_DIR (default .services too), so tests can run isolated instances.
CACHE="$ROOT/.services"
STATE="${DFP_SERVICES_DIR:-$CACHE}"
MLFLOW_VERSION="${DFP_MLFLOW_VERSION:-3.17.2}"
START_TIMEOUT_S="${DFP_SERVICES_START_TIMEOUT_S:-180}"

log() { echo "services: $*" >&2; }
die() { log "$*"; exit 1; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_http() { # url, seconds
  local url=$1 deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

mlflow_up() {
  local dir="$STATE/mlflow" venv="$CACHE/mlflow/venv"
  mkdir -p "$dir/data/artifacts"
  if alive "$dir/pid" && wait_http "$(cat "$dir/uri")/health" 2; then
    echo "MLFLOW_TRACKING_URI=$(cat "$dir/uri")"
    return
  fi
  mkdir -p "$CACHE/mlflow"
  (
    # One installer at a time, however many test processes ask at once.
    flock 9
    if ! "$venv/bin/python" -c "import mlflow, sys; sys.exit(mlflow.__version__ != '$MLFLOW_VERSION')" 2>/dev/null; then
      log "installing mlflow $MLFLOW_VERSION into $venv (once)"
      local t0=$SECONDS
      python3 -m venv "$venv"
      "$venv/bin/pip" install --quiet --disable-pip-version-check "mlflow==$MLFLOW_VERSION" >&2
      log "mlflow installed in $((SECONDS - t0)) s"
    fi
  ) 9>"$CACHE/mlflow/install.lock"
  local port; port=$(free_port)
  local uri="http://127.0.0.1:$port"
  log "starting mlflow server on $uri"
  local t0=$SECONDS
  # setsid: its own process group, so `down` stops the server and its workers together.
  setsid "$venv/bin/mlflow" server \
    --backend-store-uri "sqlite:///$dir/data/mlflow.db" \
    --serve-artifacts --artifacts-destination "$dir/data/artifacts" \
    --host 127.0.0.1 --port "$port" --workers 1 \
    >"$dir/server.log" 2>&1 < /dev/null &
  echo $! >"$dir/pid"
  echo "$uri" >"$dir/uri"
  if ! wait_http "$uri/health" "$START_TIMEOUT_S"; then
    tail -n 30 "$dir/server.log" >&2 || true
    mlflow_down
    die "mlflow did not answer on $uri within ${START_TIMEOUT_S}s (log: $dir/server.log)"
  fi
  log "mlflow answering after $((SECONDS - t0)) s"
  echo "MLFLOW_TRACKING_URI=$uri"
}

mlflow_down() {
  local dir="$STATE/mlflow"
  if alive "$dir/pid"; then
    local pid; pid=$(cat "$dir/pid")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    log "mlflow stopped"
  fi
  rm -f "$dir/pid"
}

mlflow_status() {
  local dir="$STATE/mlflow"
  if alive "$dir/pid"; then echo "mlflow: running at $(cat "$dir/uri")"; else echo "mlflow: stopped"; fi
}

action=${1:-}; service=${2:-}
case "$action:$service" in
  up:mlflow) mlflow_up ;;
  down:mlflow) mlflow_down ;;
  status:mlflow) mlflow_status ;;
  up:kafka | up:s3 | down:kafka | down:s3 | status:kafka | status:s3)
    # TODO(#4): Kafka (KRaft broker from Maven Central). TODO(#5): S3 (MinIO).
    die "$service is not available yet" ;;
  *) die "usage: $0 up|down|status mlflow" ;;
esac
