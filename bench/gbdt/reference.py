#!/usr/bin/env python3
"""LightGBM reference side of the GBDT benchmark.

Run with the reference venv (lightgbm, scikit-learn, pandas):

    bench/.venv/bin/python bench/gbdt/reference.py [--out bench/out/gbdt] [--repeat 1]

1. Writes the benchmark data sets (unless already there) as raw little-endian f64 files,
   column-major (Fortran order), plus `meta.json` with shapes and feature kinds:
     <out>/<name>/{x_train,y_train,x_test,y_test}.f64 and <out>/<name>/meta.json
   - `synthetic`: make_classification(n_samples=400_000, n_features=28, random_state=0)
     (other arguments at scikit-learn's defaults), train_test_split(test_size=0.2,
     random_state=0).
   - `adult`: adult_train.csv -> adult_test.csv; text columns are categoricals encoded as
     pandas category codes (categories taken from the training file; missing or unseen -> NaN).
2. Trains LightGBM (binary, num_leaves=63, learning_rate=0.1, 200 rounds, num_threads=2,
   max_bin=255, min_data_in_leaf=20, seed=0, deterministic) on both and prints
   `name: value unit` lines. The train time covers `lgb.Dataset` construction (binning) plus
   `lgb.train`, i.e. everything from raw arrays to a booster; the Rust side times `fit`, which
   also includes its binning. Prediction throughput is the best of 3 batch predictions of the
   whole test set (raw arrays in, probabilities out).
"""

import argparse
import json
import os
import time

import numpy as np

ADULT_DIR = os.environ.get(
    "GBDT_ADULT_DIR",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "adult"),
)

PARAMS = {
    "objective": "binary",
    "num_leaves": 63,
    "learning_rate": 0.1,
    "num_threads": 2,
    "max_bin": 255,
    "min_data_in_leaf": 20,
    "verbose": -1,
    "seed": 0,
    "deterministic": True,
}
NUM_ROUNDS = 200


def write_set(out_dir, name, x_train, y_train, x_test, y_test, features):
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    for fname, arr in (
        ("x_train", x_train),
        ("y_train", y_train),
        ("x_test", x_test),
        ("y_test", y_test),
    ):
        a = np.asarray(arr, dtype="<f8")
        a.flatten(order="F").tofile(os.path.join(d, fname + ".f64"))
    meta = {
        "n_train": int(x_train.shape[0]),
        "n_test": int(x_test.shape[0]),
        "n_features": int(x_train.shape[1]),
        "layout": "col_major",
        "features": features,
    }
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)


def synthetic():
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    x, y = make_classification(n_samples=400_000, n_features=28, random_state=0)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, random_state=0)
    feats = [{"name": f"f{i}", "kind": "numeric"} for i in range(x.shape[1])]
    return x_tr, y_tr, x_te, y_te, feats


def adult_frames():
    import pandas as pd

    tr = pd.read_csv(os.path.join(ADULT_DIR, "adult_train.csv"))
    te = pd.read_csv(os.path.join(ADULT_DIR, "adult_test.csv"))
    y_tr = tr.pop("income").to_numpy(dtype=np.float64)
    y_te = te.pop("income").to_numpy(dtype=np.float64)
    feats = []
    for c in tr.columns:
        if not pd.api.types.is_numeric_dtype(tr[c]):
            cats = sorted(tr[c].dropna().unique())
            tr[c] = pd.Categorical(tr[c], categories=cats)
            te[c] = pd.Categorical(te[c], categories=cats)
            feats.append({"name": c, "kind": "categorical", "n_categories": len(cats)})
        else:
            tr[c] = tr[c].astype(np.float64)
            te[c] = te[c].astype(np.float64)
            feats.append({"name": c, "kind": "numeric"})
    return tr, y_tr, te, y_te, feats


def codes_matrix(df):
    cols = []
    for c in df.columns:
        if str(df[c].dtype) == "category":
            codes = df[c].cat.codes.to_numpy().astype(np.float64)
            codes[codes < 0] = np.nan
            cols.append(codes)
        else:
            cols.append(df[c].to_numpy(dtype=np.float64))
    return np.column_stack(cols)


def bench(name, x_tr, y_tr, x_te, y_te, repeat):
    import lightgbm as lgb
    from sklearn.metrics import log_loss, roc_auc_score

    times = []
    booster = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        ds = lgb.Dataset(x_tr, label=y_tr, params={"max_bin": 255, "verbose": -1})
        booster = lgb.train(PARAMS, ds, num_boost_round=NUM_ROUNDS)
        times.append(time.perf_counter() - t0)
    pt = []
    p = None
    for _ in range(3):
        t0 = time.perf_counter()
        p = booster.predict(x_te, num_threads=2)
        pt.append(time.perf_counter() - t0)
    print(f"lightgbm_{name}_train_s: {min(times):.3f} s", flush=True)
    print(f"lightgbm_{name}_auc: {roc_auc_score(y_te, p):.5f} auc", flush=True)
    print(f"lightgbm_{name}_logloss: {log_loss(y_te, p):.5f} logloss", flush=True)
    print(f"lightgbm_{name}_predict_rows_per_s: {len(y_te) / min(pt):.0f} rows/s", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="bench/out/gbdt")
    ap.add_argument("--repeat", type=int, default=1, help="train this many times, report the best")
    ap.add_argument("--data-only", action="store_true")
    ap.add_argument("--sets", default="synthetic,adult")
    args = ap.parse_args()
    sets = args.sets.split(",")

    if "synthetic" in sets:
        x_tr, y_tr, x_te, y_te, feats = synthetic()
        if not os.path.exists(os.path.join(args.out, "synthetic", "meta.json")):
            write_set(args.out, "synthetic", x_tr, y_tr, x_te, y_te, feats)
        if not args.data_only:
            bench("synthetic", x_tr, y_tr, x_te, y_te, args.repeat)
    if "adult" in sets:
        tr, y_tr, te, y_te, feats = adult_frames()
        if not os.path.exists(os.path.join(args.out, "adult", "meta.json")):
            write_set(args.out, "adult", codes_matrix(tr), y_tr, codes_matrix(te), y_te, feats)
        if not args.data_only:
            bench("adult", tr, y_tr, te, y_te, args.repeat)


if __name__ == "__main__":
    main()
