"""The shared model and request bodies of bench/serving.

Trains one LightGBM model on Adult (200 trees, 63 leaves; categorical columns as integer
codes declared categorical, every feature a float so that MLflow's signature takes nulls),
saves it as a LightGBM text model, as an MLflow model (`mlflow.lightgbm.save_model`) and as
an MLServer model folder, writes a sample file for `slipway models import`, the request
bodies (1 row and 1,000 rows; MLflow dataframe_split and v2 one tensor per column) and the
Python in-process single-row timings of Booster.predict.

Usage: python make_model.py OUT_DIR ADULT_TRAIN_CSV ADULT_TEST_CSV
Prints `name: value unit` lines.
"""

import json
import sys
import time
from pathlib import Path

import lightgbm as lgb
import mlflow.lightgbm
import numpy as np
import pandas as pd
from mlflow.models import infer_signature

out, train_csv, test_csv = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
out.mkdir(parents=True, exist_ok=True)
train = pd.read_csv(train_csv)
test = pd.read_csv(test_csv)
target = "income"
drop = [target, "fnlwgt"]
cats = [c for c in train.columns if not pd.api.types.is_numeric_dtype(train[c]) and c not in drop]
codes = {c: {v: i for i, v in enumerate(sorted(train[c].dropna().unique()))} for c in cats}


def features(df):
    x = df.drop(columns=[c for c in drop if c in df.columns]).copy()
    for c in cats:
        x[c] = x[c].map(codes[c])  # unseen or missing: NaN
    return x.astype("float64")


x_train, y_train = features(train), train[target].astype(int)
x_test = features(test)
params = {
    "objective": "binary",
    "num_leaves": 63,
    "learning_rate": 0.05,
    "min_data_in_leaf": 20,
    "verbose": -1,
    "num_threads": 2,
    "seed": 1,
}
booster = lgb.train(
    params,
    lgb.Dataset(x_train, y_train, categorical_feature=cats),
    num_boost_round=200,
)
booster.save_model(str(out / "model.txt"))

# MLflow model (pyfunc over the booster: predict gives P(income = 1) per row).
mlflow_dir = out / "mlflow_model"
if mlflow_dir.exists():
    import shutil

    shutil.rmtree(mlflow_dir)
mlflow.lightgbm.save_model(
    booster, str(mlflow_dir), signature=infer_signature(x_test.head(50), booster.predict(x_test.head(50)))
)

# MLServer model folder.
ms = out / "mlserver" / "adult"
ms.mkdir(parents=True, exist_ok=True)
(ms / "model.txt").write_text((out / "model.txt").read_text())
(ms / "model-settings.json").write_text(
    json.dumps(
        {
            "name": "adult",
            "implementation": "mlserver_lightgbm.LightGBMModel",
            "parameters": {"uri": "./model.txt", "version": "1"},
        }
    )
)

# The sample Slipway imports from: the feature columns as floats.
x_test.head(500).to_csv(out / "sample.csv", index=False, na_rep="")

complete = x_test.dropna().reset_index(drop=True)
one = complete.head(1)
batch = x_test.head(1000).reset_index(drop=True)


def split_body(df):
    data = [[None if pd.isna(v) else float(v) for v in row] for row in df.itertuples(index=False)]
    return {"dataframe_split": {"columns": list(df.columns), "data": data}}


def v2_body(df):
    return {
        "parameters": {"content_type": "pd"},
        "inputs": [
            {
                "name": c,
                "shape": [len(df)],
                "datatype": "FP64",
                "data": [None if pd.isna(v) else float(v) for v in df[c]],
            }
            for c in df.columns
        ],
    }


for name, body in {
    "mlflow_1.json": split_body(one),
    "mlflow_1000.json": split_body(batch),
    "v2_1.json": v2_body(one),
    "v2_1000.json": v2_body(batch),
}.items():
    (out / name).write_text(json.dumps(body))
(out / "row.json").write_text(json.dumps({c: float(one[c][0]) for c in one.columns}))
(out / "expected_1000.json").write_text(json.dumps(booster.predict(batch).tolist()))

# Python in-process single-row predict (what a Flask app pays per request).
row = one.to_numpy()
for _ in range(200):
    booster.predict(row)
n = 2000
t = time.perf_counter()
for _ in range(n):
    booster.predict(row)
print(f"lightgbm_python_single_row: {(time.perf_counter() - t) / n * 1e6:.1f} us")

# LightGBM's own batch predict on the same 1,000 rows (its C++ trees, every core): the
# evaluator MLServer and mlflow wrap, without their HTTP and decoding.
values = batch.to_numpy()
for _ in range(20):
    booster.predict(values)
n = 200
t = time.perf_counter()
for _ in range(n):
    booster.predict(values)
print(f"lightgbm_python_batch1000_rows_per_s: {n * len(values) / (time.perf_counter() - t):.0f} rows/s")
print(f"lightgbm_version: {lgb.__version__} version")
