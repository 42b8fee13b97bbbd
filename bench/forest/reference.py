#!/usr/bin/env python3
"""scikit-learn side of the forest benchmark.

    bench/.venv/bin/python bench/forest/reference.py [--out bench/out/forest] [--sets synthetic,adult]

1. Writes the data sets (unless already there) as raw little-endian f64 files, column-major,
   plus meta.json: <out>/<name>/{x_train,y_train,x_test,y_test}.f64
   - `synthetic`: make_classification(n_samples=100_000, n_features=20, random_state=0),
     train_test_split(test_size=0.2, random_state=0).
   - `adult`: adult_train.csv -> adult_test.csv, all 14 feature columns; text columns as
     ordinal codes of their sorted training categories (missing or unseen -> NaN).
2. Fits RandomForestClassifier(n_estimators=100, n_jobs=2, random_state=0) (other settings
   at scikit-learn 1.9's defaults: sqrt features, bootstrap, fully grown) and prints
   `name: value unit` lines: fit time and holdout accuracy.
"""

import argparse
import json
import os
import time

import numpy as np
import pandas as pd

ADULT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "adult")


def write_set(out, name, x_tr, y_tr, x_te, y_te):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    for fname, arr in (("x_train", x_tr), ("y_train", y_tr), ("x_test", x_te), ("y_test", y_te)):
        np.asarray(arr, dtype="<f8").flatten(order="F").tofile(os.path.join(d, fname + ".f64"))
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump({"n_train": len(y_tr), "n_test": len(y_te), "n_features": x_tr.shape[1]}, f)


def synthetic():
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    x, y = make_classification(n_samples=100_000, n_features=20, random_state=0)
    return train_test_split(x, y, test_size=0.2, random_state=0)


def adult():
    tr = pd.read_csv(os.path.join(ADULT, "adult_train.csv"))
    te = pd.read_csv(os.path.join(ADULT, "adult_test.csv"))
    y_tr = tr.pop("income").to_numpy().astype(int)
    y_te = te.pop("income").to_numpy().astype(int)
    cols_tr, cols_te = [], []
    for c in tr.columns:
        if pd.api.types.is_numeric_dtype(tr[c]):
            cols_tr.append(tr[c].to_numpy(dtype=float))
            cols_te.append(te[c].to_numpy(dtype=float))
        else:
            cats = sorted(tr[c].dropna().unique())
            for frame, out in ((tr, cols_tr), (te, cols_te)):
                codes = pd.Categorical(frame[c], categories=cats).codes.astype(float)
                codes[codes < 0] = np.nan
                out.append(codes)
    return np.column_stack(cols_tr), np.column_stack(cols_te), y_tr, y_te


def main():
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import accuracy_score

    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="bench/out/forest")
    ap.add_argument("--sets", default="synthetic,adult")
    ap.add_argument("--repeat", type=int, default=1, help="fits per set; the fastest is reported")
    args = ap.parse_args()
    for name in args.sets.split(","):
        x_tr, x_te, y_tr, y_te = synthetic() if name == "synthetic" else adult()
        if not os.path.exists(os.path.join(args.out, name, "meta.json")):
            write_set(args.out, name, x_tr, y_tr, x_te, y_te)
        t = float("inf")
        for _ in range(args.repeat):
            m = RandomForestClassifier(n_estimators=100, n_jobs=2, random_state=0)
            t0 = time.perf_counter()
            m.fit(x_tr, y_tr)
            t = min(t, time.perf_counter() - t0)
        print(f"sklearn_{name}_train_s: {t:.3f} s", flush=True)
        print(f"sklearn_{name}_accuracy: {accuracy_score(y_te, m.predict(x_te)):.5f} accuracy", flush=True)


if __name__ == "__main__":
    main()
