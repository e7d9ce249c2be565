#!/usr/bin/env bash
# Real servers for integration tests, installed once into .services/ and run on loopback.
#
#   scripts/services.sh up mlflow     # prints MLFLOW_TRACKING_URI=http://127.0.0.1:<port>
#   scripts/services.sh up kafka      # prints KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:<port>
#   scripts/services.sh up s3         # prints AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
#                                     # AWS_SECRET_ACCESS_KEY and AWS_REGION
#   scripts/services.sh down mlflow|kafka|s3
#   scripts/services.sh status mlflow|kafka|s3
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
KAFKA_VERSION="${DFP_KAFKA_VERSION:-4.1.1}"
# An S3-compatible server built from the Go module proxy: gofakes3 (MIT) implements the S3 API
# over HTTP (buckets, objects, ETags, paged ListObjectsV2) and builds in under a minute.
GOFAKES3_VERSION="${DFP_GOFAKES3_VERSION:-v1.2.0}"
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

stop_pid() { # service
  local dir="$STATE/$1"
  if alive "$dir/pid"; then
    local pid; pid=$(cat "$dir/pid")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    log "$1 stopped"
  fi
  rm -f "$dir/pid"
}

mlflow_down() { stop_pid mlflow; }

status() { # service
  if alive "$STATE/$1/pid"; then echo "$1: running"; else echo "$1: stopped"; fi
}

# Apache Kafka from Maven Central (the broker jar and its runtime dependencies), one KRaft
# node acting as broker and controller, on loopback.
kafka_up() {
  local dir="$STATE/kafka" libs="$CACHE/kafka/libs-$KAFKA_VERSION"
  mkdir -p "$dir" "$CACHE/kafka"
  if alive "$dir/pid" && (echo >"/dev/tcp/127.0.0.1/$(cat "$dir/port")") 2>/dev/null; then
    echo "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$(cat "$dir/port")"
    return
  fi
  (
    flock 9
    if [[ ! -f "$libs/.complete" ]]; then
      log "fetching kafka $KAFKA_VERSION from Maven Central into $libs (once)"
      local t0=$SECONDS pom="$CACHE/kafka/pom.xml"
      cat >"$pom" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dfp</groupId><artifactId>kafka-broker</artifactId><version>1</version>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
  </dependencies>
</project>
POM
      mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$libs" >&2
      touch "$libs/.complete"
      log "kafka fetched in $((SECONDS - t0)) s"
    fi
  ) 9>"$CACHE/kafka/install.lock"
  local port controller; port=$(free_port); controller=$(free_port)
  rm -rf "$dir/data"
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=2
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
  local cluster; cluster=$(java -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
  java -cp "$libs/*" kafka.tools.StorageTool format -t "$cluster" -c "$dir/server.properties" >&2
  log "starting kafka on 127.0.0.1:$port"
  local t0=$SECONDS
  setsid java -Xmx512m -cp "$libs/*" kafka.Kafka "$dir/server.properties" \
    >"$dir/server.log" 2>&1 </dev/null &
  echo $! >"$dir/pid"
  echo "$port" >"$dir/port"
  local deadline=$((SECONDS + START_TIMEOUT_S))
  until (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    if ((SECONDS >= deadline)) || ! alive "$dir/pid"; then
      tail -n 30 "$dir/server.log" >&2 || true
      kafka_down
      die "kafka did not listen on 127.0.0.1:$port within ${START_TIMEOUT_S}s (log: $dir/server.log)"
    fi
    sleep 0.5
  done
  log "kafka listening after $((SECONDS - t0)) s"
  echo "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$port"
}

kafka_down() { stop_pid kafka; }

s3_exports() { # port
  echo "AWS_ENDPOINT_URL=http://127.0.0.1:$1"
  # The server does not check signatures; the SDK still needs credentials to sign with.
  echo "AWS_ACCESS_KEY_ID=dfp-test"
  echo "AWS_SECRET_ACCESS_KEY=dfp-test-secret"
  echo "AWS_REGION=us-east-1"
}

s3_up() {
  local dir="$STATE/s3" bin="$CACHE/s3/bin-$GOFAKES3_VERSION"
  mkdir -p "$dir" "$CACHE/s3"
  if alive "$dir/pid" && (echo >"/dev/tcp/127.0.0.1/$(cat "$dir/port")") 2>/dev/null; then
    s3_exports "$(cat "$dir/port")"
    return
  fi
  (
    flock 9
    if [[ ! -x "$bin/gofakes3" ]]; then
      log "building gofakes3 $GOFAKES3_VERSION from the Go module proxy into $bin (once)"
      local t0=$SECONDS
      GOBIN="$bin" GOFLAGS=-mod=mod go install \
        "github.com/johannesboyne/gofakes3/cmd/gofakes3@$GOFAKES3_VERSION" >&2
      log "gofakes3 built in $((SECONDS - t0)) s"
    fi
  ) 9>"$CACHE/s3/install.lock"
  local port; port=$(free_port)
  log "starting the S3 server on 127.0.0.1:$port"
  local t0=$SECONDS
  # The memory backend: its listings are paged like S3's (the fs backend answers every key at
  # once), which the tests need; the data lasts as long as the server.
  setsid "$bin/gofakes3" -backend memory -host "127.0.0.1:$port" \
    >"$dir/server.log" 2>&1 </dev/null &
  echo $! >"$dir/pid"
  echo "$port" >"$dir/port"
  local deadline=$((SECONDS + START_TIMEOUT_S))
  until curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/"; do
    if ((SECONDS >= deadline)) || ! alive "$dir/pid"; then
      tail -n 30 "$dir/server.log" >&2 || true
      s3_down
      die "the S3 server did not answer on 127.0.0.1:$port within ${START_TIMEOUT_S}s"
    fi
    sleep 0.25
  done
  log "S3 server answering after $((SECONDS - t0)) s"
  s3_exports "$port"
}

s3_down() { stop_pid s3; }


action=${1:-}; service=${2:-}
case "$action:$service" in
  up:mlflow) mlflow_up ;;
  down:mlflow) mlflow_down ;;
  up:kafka) kafka_up ;;
  down:kafka) kafka_down ;;
  up:s3) s3_up ;;
  down:s3) s3_down ;;
  status:mlflow | status:kafka | status:s3) status "$service" ;;
  *) die "usage: $0 up|down|status mlflow|kafka|s3" ;;
esac
