"""River's side of `bench/online/run.sh`: the same streams and measurements as
`crates/slipway-monitor/examples/online_bench.rs`."""

import csv
import sys
import time

import numpy as np
from river import drift, forest, preprocessing, tree


def read(path):
    with open(path) as f:
        r = csv.reader(f)
        header = next(r)
        rows = [
            ({k: float(v) for k, v in zip(header[:-1], line[:-1])}, line[-1] == "true")
            for line in r
        ]
    return rows


def progressive(model, rows):
    correct = 0
    start = time.perf_counter()
    for x, y in rows:
        correct += model.predict_one(x) == y
        model.learn_one(x, y)
    return time.perf_counter() - start, correct / len(rows)


def read_regression(path):
    with open(path) as f:
        r = csv.reader(f)
        header = next(r)
        return [
            ({k: float(v) for k, v in zip(header[:-1], line[:-1])}, float(line[-1]))
            for line in r
        ]


def progressive_regression(model, rows):
    """Test-then-train through a standard scaler, as the Slipway side."""
    scaler = preprocessing.StandardScaler()
    abs_err = 0.0
    start = time.perf_counter()
    for x, y in rows:
        abs_err += abs(y - model.predict_one(scaler.transform_one(x)))
        scaler.learn_one(x)
        model.learn_one(scaler.transform_one(x), y)
    return time.perf_counter() - start, abs_err / len(rows)


args = sys.argv[1:]
split = args.index("--regression") if "--regression" in args else len(args)
for path in args[split + 1 :]:
    name = path.rsplit("/", 1)[-1].removesuffix(".csv").removeprefix("online_")
    rows = read_regression(path)
    secs, mae = progressive_regression(tree.HoeffdingTreeRegressor(), rows)
    print(f"river_htr_{name}_rows_per_s: {len(rows) / secs:.0f} rows/s")
    print(f"river_htr_{name}_mae: {mae:.4f} mae")
    secs, mae = progressive_regression(forest.ARFRegressor(seed=42), rows)
    print(f"river_arfr_{name}_rows_per_s: {len(rows) / secs:.0f} rows/s")
    print(f"river_arfr_{name}_mae: {mae:.4f} mae")

for path in args[:split]:
    name = path.rsplit("/", 1)[-1].removesuffix(".csv").removeprefix("online_")
    rows = read(path)
    secs, acc = progressive(tree.HoeffdingTreeClassifier(), rows)
    print(f"river_ht_{name}_rows_per_s: {len(rows) / secs:.0f} rows/s")
    print(f"river_ht_{name}_accuracy: {acc:.4f} fraction")
    secs, acc = progressive(forest.ARFClassifier(n_models=10, seed=42), rows)
    print(f"river_arf_{name}_rows_per_s: {len(rows) / secs:.0f} rows/s")
    print(f"river_arf_{name}_accuracy: {acc:.4f} fraction")

rng = np.random.default_rng(7)
values = np.concatenate([rng.random(500_000) < 0.1, rng.random(500_000) < 0.4]).astype(float)
values = values.tolist()
adwin = drift.ADWIN()
alarms = 0
start = time.perf_counter()
for v in values:
    adwin.update(v)
    alarms += adwin.drift_detected
secs = time.perf_counter() - start
print(f"river_adwin_updates_per_s: {len(values) / secs:.0f} updates/s")
print(f"river_adwin_alarms: {alarms} alarms")
