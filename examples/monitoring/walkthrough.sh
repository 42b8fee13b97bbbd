#!/usr/bin/env bash
# The monitoring walk-through of the README on NannyML's employment_ma data: the drift
# report, realized vs estimated performance, an alert delivered to a signed webhook, and a
# retraining decision. Rerunnable; everything it writes goes under $OUT.
#
#   DATA=/path/to/employment_ma OUT=/tmp/slipway-monitoring examples/monitoring/walkthrough.sh
#
# Needs: slipway on PATH (or SLIPWAY=path/to/slipway), python3 (for the webhook receiver).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
SLIPWAY="${SLIPWAY:-slipway}"
DATA="$(cd "${DATA:-$HERE/../../../shared/data/employment_ma}" && pwd)"
OUT="${OUT:-/tmp/slipway-monitoring}"
PORT="${PORT:-8765}"
rm -rf "$OUT" && mkdir -p "$OUT"
cd "$OUT"
export SLIPWAY_HOME="$OUT/home"
step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }

# 1. Drift of the 2016-2018 analysis data against the 2015 reference, with the HTML report.
step "drift report" "$SLIPWAY" monitor drift --reference "$DATA/reference.parquet" \
  --current "$DATA/analysis.parquet" --columns AGEP,SCHL,MAR,RELP,predicted_probability \
  --chunk-size 50000 --output drift.html

# 2. Realized performance (labels joined by id) next to the CBPE estimate.
step "realized vs estimated performance" "$SLIPWAY" monitor performance \
  --reference "$DATA/reference.parquet" --analysis "$DATA/analysis.parquet" \
  --labels "$DATA/analysis_target.parquet" --id-column id --target employed \
  --prediction prediction --probability predicted_probability --chunk-size 50000 \
  --output perf.html

# 3. An alert rule on the drift of AGEP, delivered to a local receiver that checks the
#    HMAC signature.
export SLIPWAY_HOOK_SECRET=s3cret
cat > alerts.yaml <<YAML
name: employment-model
allow: ["127.0.0.1"]
channels:
  ops-hook: { type: webhook, url: "http://127.0.0.1:$PORT/slipway", secret_env: SLIPWAY_HOOK_SECRET }
rules:
  - { name: age-drift, metric: drift.js, columns: [AGEP], above: 0.075, window: 2, breaches: 1,
      severity: warning, cooldown: 6h, channels: [ops-hook] }
YAML
python3 "$HERE/receiver.py" "$PORT" > receiver.log 2>&1 &
RECEIVER=$!
trap 'kill $RECEIVER 2>/dev/null || true' EXIT
sleep 1
step "alert to a webhook" "$SLIPWAY" monitor drift --reference "$DATA/reference.parquet" \
  --current "$DATA/analysis.parquet" --columns AGEP,SCHL,MAR,RELP --chunk-size 70000 \
  --alerts alerts.yaml
sleep 1
echo "the receiver got:"
cat receiver.log

# 4. Retraining: a champion trained on the reference and registered, then the retrain
#    policy: its triggers (dry run), then the retrain, the comparison on the latest 20,000
#    labelled rows and the decision.
cat > pipeline.yaml <<YAML
name: employment
data: {train: $DATA/reference.parquet}
target: employed
roles: {id: [id], ignored: [year, prediction, predicted_probability]}
models:
  - {name: gbdt, type: gbdt, params: {n_estimators: 100, num_leaves: 31}}
cv: {folds: 2}
seed: 7
selection: {metric: roc_auc}
YAML
step "champion" "$SLIPWAY" train --config pipeline.yaml --output champion --no-track
step "register the champion" "$SLIPWAY" models register --bundle champion/model --name employment
cat > policy.yaml <<YAML
retrain:
  model: employment
  pipeline: pipeline.yaml
  champion: champion/model
  reference: $DATA/reference.parquet
  new_rows: $DATA/analysis.parquet
  labels: {file: $DATA/analysis_target.parquet, id_column: id}
  window_rows: 20000
  triggers:
    performance_drop: {metric: roc_auc, max_drop: 0.05}
    drift_share: {above: 0.3}
    schedule: {every: 7d}
    new_labels: {at_least: 1000}
  decision: {metric: accuracy, min_improvement: 0.02, strategy: canary}
YAML
step "retrain triggers (dry run)" "$SLIPWAY" monitor retrain --policy policy.yaml --dry-run
step "retrain" "$SLIPWAY" monitor retrain --policy policy.yaml
step "the new version" "$SLIPWAY" models show employment
