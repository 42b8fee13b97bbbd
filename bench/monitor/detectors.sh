#!/usr/bin/env bash
# Drift detectors against trivial baselines on seeded synthetic streams with known change
# points: Slipway's default univariate drift (effect-size thresholds, BH-corrected tests),
# univariate with thresholds calibrated on reference chunks (mean + 3 std, each chunk left
# out of its own baseline), PCA reconstruction error (NannyML's thresholds) and, with
# --domain, the domain classifier; against always-alarm and never-alarm. Scenarios: none,
# mean shift, scale change, category shares, correlation change (see
# crates/slipway-monitor/examples/detectors.rs).
#
# Usage: [PROFILE=dev] bench/monitor/detectors.sh [STREAMS_PER_SCENARIO] [--domain]
# Prints `name: value unit` lines: <scenario>.<detector>.false_alarms (per 100 pre-change
# chunks), .missed (changes with no alarm), .mean_delay (chunks from the change to the
# first alarm), and the same over all scenarios as all.<detector>.*.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
PROFILE="${PROFILE:-release}"
cargo build --quiet --profile "$PROFILE" -p slipway-monitor --example detectors
DIR="$PROFILE"; [ "$PROFILE" = dev ] && DIR=debug
echo "# $(nproc) cores; load average before the run: $(cut -d' ' -f1 /proc/loadavg)"
"$CARGO_TARGET_DIR/$DIR/examples/detectors" "$@"
