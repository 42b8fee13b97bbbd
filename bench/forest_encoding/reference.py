#!/usr/bin/env python3
"""scikit-learn side of the forest categorical-encoding benchmark (issue 12, item 6).

    bench/.venv/bin/python bench/forest_encoding/reference.py --out bench/out/forest_encoding

1. Writes the data sets as CSV (unless already there): <out>/<name>/{train,test}.csv
   - `adult`: /work/shared/data/adult (or examples/adult) adult_train.csv -> adult_test.csv,
     all 14 feature columns (native-country has 41 levels, education 16, occupation 14).
   - `highcard`: synthetic, 20,000 train / 10,000 test rows: `city` with 300 levels (each with
     its own effect on the log-odds, Zipf-like frequencies), `shop` with 60 levels, 3 numbers
     and a 5-level `tier`; target `y` in {0, 1}. Seeded (numpy default_rng(7)).
2. Fits RandomForestClassifier(n_estimators=100, n_jobs=2, random_state=0) on one-hot
   categories (OneHotEncoder(handle_unknown="ignore"), missing as its own category, numbers
   passed through with missing filled by the median) and prints `name: value unit` lines:
   preprocessing + fit time and holdout ROC AUC.
"""

import argparse
import os
import time

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
ADULT_DIRS = ["/work/shared/data/adult", os.path.join(HERE, "..", "..", "examples", "adult")]


def adult(out):
    src = next(d for d in ADULT_DIRS if os.path.exists(os.path.join(d, "adult_train.csv")))
    d = os.path.join(out, "adult")
    os.makedirs(d, exist_ok=True)
    for a, b in (("adult_train.csv", "train.csv"), ("adult_test.csv", "test.csv")):
        if not os.path.exists(os.path.join(d, b)):
            pd.read_csv(os.path.join(src, a)).rename(columns={"income": "y"}).to_csv(
                os.path.join(d, b), index=False
            )
    return d


def highcard(out):
    d = os.path.join(out, "highcard")
    if os.path.exists(os.path.join(d, "test.csv")):
        return d
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(7)
    n = 30_000
    n_city, n_shop = 300, 60
    city_p = 1.0 / np.arange(1, n_city + 1) ** 0.8
    city_p /= city_p.sum()
    city = rng.choice(n_city, n, p=city_p)
    shop = rng.integers(0, n_shop, n)
    city_eff = rng.normal(0, 1.2, n_city)
    shop_eff = rng.normal(0, 0.8, n_shop)
    x1, x2, x3 = rng.normal(size=(3, n))
    tier = rng.integers(0, 5, n)
    logit = city_eff[city] + shop_eff[shop] + 0.8 * x1 - 0.5 * x2 * x3 + 0.3 * tier - 0.5
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    df = pd.DataFrame(
        {
            "city": [f"c{c:03d}" for c in city],
            "shop": [f"s{s:02d}" for s in shop],
            "x1": x1.round(5),
            "x2": x2.round(5),
            "x3": x3.round(5),
            "tier": [f"t{t}" for t in tier],
            "y": y,
        }
    )
    df.iloc[:20_000].to_csv(os.path.join(d, "train.csv"), index=False)
    df.iloc[20_000:].to_csv(os.path.join(d, "test.csv"), index=False)
    return d


def run(name, d, repeat):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    tr = pd.read_csv(os.path.join(d, "train.csv"))
    te = pd.read_csv(os.path.join(d, "test.csv"))
    y_tr, y_te = tr.pop("y").to_numpy(), te.pop("y").to_numpy()
    cats = [c for c in tr.columns if not pd.api.types.is_numeric_dtype(tr[c])]
    nums = [c for c in tr.columns if c not in cats]
    best, auc = float("inf"), None
    for _ in range(repeat):
        model = make_pipeline(
            ColumnTransformer(
                [
                    ("num", SimpleImputer(strategy="median"), nums),
                    (
                        "cat",
                        make_pipeline(
                            SimpleImputer(strategy="constant", fill_value="missing"),
                            OneHotEncoder(handle_unknown="ignore"),
                        ),
                        cats,
                    ),
                ]
            ),
            RandomForestClassifier(n_estimators=100, n_jobs=2, random_state=0),
        )
        t0 = time.perf_counter()
        model.fit(tr, y_tr)
        best = min(best, time.perf_counter() - t0)
        auc = roc_auc_score(y_te, model.predict_proba(te)[:, 1])
    print(f"sklearn_onehot_{name}_train_s: {best:.3f} s")
    print(f"sklearn_onehot_{name}_auc: {auc:.5f} auc")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="bench/out/forest_encoding")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--sets", default="adult,highcard")
    a = ap.parse_args()
    for name in a.sets.split(","):
        d = {"adult": adult, "highcard": highcard}[name](a.out)
        run(name, d, a.repeat)


if __name__ == "__main__":
    main()
