"""Reference numbers for slipway-data's profile statistics, computed with pandas and numpy.

Run from anywhere with pandas and numpy installed:

    python crates/slipway-data/tests/reference/make_profile_reference.py

It writes profile_reference.json next to this file: for each column its input values (null
for missing) and the statistics pandas/numpy give for them. The Rust test
`profile_matches_pandas_and_numpy` builds the same columns and compares to 1e-9.
"""

import json
import os

import numpy as np
import pandas as pd

rng = np.random.RandomState(20240131)
QUANTILES = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]


def numeric_columns():
    normal = rng.normal(50.0, 10.0, size=1000)
    normal[rng.rand(1000) < 0.05] = np.nan
    return {
        "normal_with_missing": (normal, "float"),
        "integers_with_ties": (rng.randint(0, 10, size=500).astype(float), "integer"),
        "lognormal": (rng.lognormal(0.0, 1.5, size=300), "float"),
        "constant": (np.full(10, 3.0), "float"),
        "small": (np.array([1.5, -2.25, 3.0, 7.125, np.nan, -0.0]), "float"),
        # A large offset: naive sum-of-squares variance loses every digit here.
        "large_offset": (1e9 + np.array([4.0, 7.0, 13.0, 16.0, 7.5]), "float"),
        "single": (np.array([42.0, np.nan]), "float"),
    }


def numeric_reference(values):
    s = pd.Series(values)
    present = s.dropna().to_numpy()
    counts, edges = np.histogram(present, bins=20)
    return {
        "count": int(s.count()),
        "missing": int(s.isna().sum()),
        "distinct": int(s.nunique()),
        "mean": float(s.mean()),
        # pandas gives NaN for one value; Slipway reports 0 (it stores no NaN).
        "std": float(s.std(ddof=1)) if s.count() > 1 else 0.0,
        "min": float(s.min()),
        "max": float(s.max()),
        "quantiles": [float(np.quantile(present, q)) for q in QUANTILES],
        "histogram_edges": [float(e) for e in edges],
        "histogram_counts": [int(c) for c in counts],
    }


def categorical_reference(values):
    s = pd.Series(values, dtype="object")
    counts = s.value_counts(dropna=True)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    top = ordered[:20]
    return {
        "count": int(s.count()),
        "missing": int(s.isna().sum()),
        "distinct": int(s.nunique()),
        "top": [[k, int(v)] for k, v in top],
        "other": int(sum(v for _, v in ordered[20:])),
    }


def main():
    out = {"quantiles": QUANTILES, "numeric": {}, "categorical": {}}
    for name, (values, dtype) in numeric_columns().items():
        out["numeric"][name] = {
            "dtype": dtype,
            "values": [None if np.isnan(v) else float(v) for v in values],
            "expected": numeric_reference(values),
        }
    letters = [chr(ord("a") + i) for i in range(25)]
    weights = np.arange(25, 0, -1, dtype=float)
    cats = list(rng.choice(letters, size=400, p=weights / weights.sum()))
    for i in rng.choice(400, size=30, replace=False):
        cats[i] = None
    out["categorical"]["letters"] = {
        "values": cats,
        "expected": categorical_reference(cats),
    }
    out["versions"] = {"numpy": np.__version__, "pandas": pd.__version__}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "profile_reference.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
