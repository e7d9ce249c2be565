#!/usr/bin/env bash
# The README's first command: set up, generate sample logs if absent, train
# Duo and Azure models and score the inference days, all in one process per
# source with the embedded model store. Detections land in ./out/.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
node scripts/generate-sample-data.mjs --out data --sources duo,azure,cloudtrail

for source in duo azure; do
  echo
  echo "== ${source}: training on a month of logs, then scoring two days =="
  ./scripts/pnpm.sh -s dfp --source "${source}" --train_users all \
    --start_time 2022-08-01 --duration 60d \
    -f "data/${source}-training-data/*.json" \
    --inference_file "data/${source}-inference-data/*.json" \
    --tracking_uri file:./out/models --cache_dir ./.cache/dfp \
    --output "out/dfp_detections_${source}.csv" "$@"
done
echo
echo "Detections: out/dfp_detections_duo.csv and out/dfp_detections_azure.csv"
echo "Models: out/models (registered models DFP-<source>-<entity>); labels of the generated data: data/labels/"
