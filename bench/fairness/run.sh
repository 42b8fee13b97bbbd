#!/usr/bin/env bash
# Fairness mitigation on Adult by sex: plain models and exponentiated gradient under
# demographic parity, Slipway (`fairness: {mitigation: {method: exponentiated_gradient}}`)
# next to Fairlearn 0.15's `ExponentiatedGradient` (scikit-learn's logistic regression,
# LightGBM for the GBDT), on the same split: all of adult_train.csv to fit, all of
# adult_test.csv to score. Slipway trains with `slipway train` (2-fold cross-validation, then
# the refit on every training row; every fit is a full reduction) and scores the test file
# with `slipway predict` (pmf and the drawn label). compare.py scores every prediction file
# with fairlearn.metrics and prints the table.
#
# Usage: bench/fairness/run.sh [OUT_DIR]   (default bench/out/fairness)
#   PYTHON=python with fairlearn 0.15, scikit-learn and lightgbm (default: a venv made in
#   bench/fairness/.venv from requirements.txt); ADULT=folder with adult_train.csv and
#   adult_test.csv (default ../shared/data/adult); SLIPWAY_BIN=an already built binary.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT="${1:-bench/out/fairness}"
ADULT="${ADULT:-$(cd .. && pwd)/shared/data/adult}"
rm -rf "$OUT" && mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
if [ -z "${PYTHON:-}" ]; then
  VENV=bench/fairness/.venv
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q -r bench/fairness/requirements.txt
  fi
  PYTHON="$VENV/bin/python"
fi
if [ -z "${SLIPWAY_BIN:-}" ]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
  cargo build --quiet --release --bin slipway
  SLIPWAY_BIN="$CARGO_TARGET_DIR/release/slipway"
fi
echo "# $(nproc) cores; load average before the run: $(cut -d' ' -f1 /proc/loadavg)"
echo "# fairlearn $("$PYTHON" -c 'import fairlearn; print(fairlearn.__version__)'), scikit-learn $("$PYTHON" -c 'import sklearn; print(sklearn.__version__)'), lightgbm $("$PYTHON" -c 'import lightgbm; print(lightgbm.__version__)')"

"$PYTHON" bench/fairness/fairlearn_side.py "$ADULT" "$OUT"

declare -A MODEL=(
  [logistic]="{name: logistic, type: logistic_regression, params: {c: 1.0, max_iter: 300}}"
  [gbdt]="{name: gbdt, type: gbdt, params: {n_estimators: 100, num_leaves: 31, learning_rate: 0.1}}"
)
for model in logistic gbdt; do
  for kind in plain expgrad; do
    dir="$OUT/slipway_${model}_${kind}"
    mkdir -p "$dir"
    mitigation=""
    if [ "$kind" = expgrad ]; then
      mitigation="fairness: {mitigation: {method: exponentiated_gradient, protected: sex, constraint: demographic_parity, eps: 0.01, max_iter: 50}}"
    fi
    cat > "$dir/pipeline.yaml" <<EOF
name: adult-$model-$kind
data: {train: $ADULT/adult_train.csv, test: $ADULT/adult_test.csv}
target: income
roles: {protected: [sex, race], ignored: [fnlwgt]}
models:
  - ${MODEL[$model]}
cv: {folds: 2}
seed: 42
threads: 2
$mitigation
EOF
    start=$(date +%s.%N)
    "$SLIPWAY_BIN" train --config "$dir/pipeline.yaml" --output "$dir/out" --no-track > "$dir/train.log" 2>&1
    end=$(date +%s.%N)
    "$SLIPWAY_BIN" predict --model "$dir/out/model" --input "$ADULT/adult_test.csv" \
      --output "$OUT/slipway_${model}_${kind}.csv" > "$dir/predict.log" 2>&1
    echo "slipway ${model} ${kind}: train (2-fold CV + refit) $(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f", b - a}') s"
  done
done

"$PYTHON" bench/fairness/compare.py "$ADULT" "$OUT"
