"""Fairlearn's side of bench/fairness: plain and ExponentiatedGradient(DemographicParity)
models on Adult, predictions of the test rows written as CSV for compare.py.

    python fairlearn_side.py DATA_DIR OUT_DIR

The features are Slipway's for the same config: every column but the target `income`, the
protected `sex` and `race` (never features in Slipway) and `fnlwgt` (ignored). Preprocessing
is fitted once on the training rows, outside the reduction, as Slipway does it:

- logistic regression: numbers median-imputed and standardized, categories (missing as their
  own level) one-hot; scikit-learn's `LogisticRegression(C=1, max_iter=300)`, as the config;
- GBDT: LightGBM's `LGBMClassifier` (100 trees, 31 leaves, learning rate 0.1, as Slipway's
  config) on the numbers and the categories as pandas categoricals (LightGBM's own splits).

ExponentiatedGradient: `DemographicParity()` (difference bound 0.01), eps 0.01, max_iter 50,
as Slipway's config; labels from `predict(X, random_state=0)` and the pmf from
`_pmf_predict`. Each fit is timed (wall seconds).
"""

import json
import sys
import time

import lightgbm as lgb
import numpy as np
import pandas as pd
from fairlearn.reductions import DemographicParity, ExponentiatedGradient
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

DROP = ["income", "sex", "race", "fnlwgt"]


def main():
    data, out = sys.argv[1], sys.argv[2]
    train = pd.read_csv(f"{data}/adult_train.csv")
    test = pd.read_csv(f"{data}/adult_test.csv")
    y = train["income"].astype(int)
    features = [c for c in train.columns if c not in DROP]
    cats = [c for c in features if not pd.api.types.is_numeric_dtype(train[c])]
    nums = [c for c in features if c not in cats]

    pre = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), nums),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="(missing)"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ),
                cats,
            ),
        ]
    )
    x_lin = pre.fit_transform(train[features])
    t_lin = pre.transform(test[features])

    def as_categories(df):
        df = df[features].copy()
        for c in cats:
            df[c] = pd.Categorical(df[c], categories=sorted(train[c].dropna().unique()))
        return df

    x_tree, t_tree = as_categories(train), as_categories(test)

    learners = {
        "logistic": (lambda: LogisticRegression(C=1.0, max_iter=300), x_lin, t_lin),
        "gbdt": (
            lambda: lgb.LGBMClassifier(
                n_estimators=100, num_leaves=31, learning_rate=0.1, n_jobs=2, verbose=-1
            ),
            x_tree,
            t_tree,
        ),
    }
    timings = {}
    for name, (make, x, t) in learners.items():
        t0 = time.time()
        plain = make().fit(x, y)
        timings[f"{name}_plain"] = time.time() - t0
        proba = plain.predict_proba(t)[:, 1]
        pd.DataFrame({"prediction": (proba > 0.5).astype(int), "probability_1": proba}).to_csv(
            f"{out}/fairlearn_{name}_plain.csv", index=False
        )
        t0 = time.time()
        eg = ExponentiatedGradient(make(), DemographicParity(), eps=0.01, max_iter=50)
        eg.fit(x, y, sensitive_features=train["sex"])
        timings[f"{name}_expgrad"] = time.time() - t0
        pmf = eg._pmf_predict(t)[:, 1]
        labels = eg.predict(t, random_state=0)
        pd.DataFrame({"prediction": labels, "probability_1": pmf}).to_csv(
            f"{out}/fairlearn_{name}_expgrad.csv", index=False
        )
        timings[f"{name}_expgrad_oracle_calls"] = int(eg.n_oracle_calls_)
        timings[f"{name}_expgrad_used"] = int((eg.weights_ > 0).sum())
        print(
            f"fairlearn {name}: plain {timings[f'{name}_plain']:.1f} s, expgrad "
            f"{timings[f'{name}_expgrad']:.1f} s ({eg.n_oracle_calls_} oracle calls, "
            f"{int((eg.weights_ > 0).sum())} of {len(eg.predictors_)} answers used)",
            flush=True,
        )
    with open(f"{out}/fairlearn_timings.json", "w") as f:
        json.dump(timings, f, indent=1)


if __name__ == "__main__":
    main()
