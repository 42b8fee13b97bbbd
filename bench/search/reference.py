#!/usr/bin/env python3
"""scikit-learn side of the random-search benchmark.

    python bench/search/reference.py

RandomizedSearchCV(LGBMClassifier(n_estimators=100, n_jobs=1), n_iter=20, cv=5, n_jobs=2,
scoring="roc_auc", refit=True, random_state=0) on examples/adult/adult_train.csv with the
distributions of bench/search/pipeline.yaml:
  learning_rate ~ loguniform(0.01, 0.3), num_leaves ~ randint(15, 128) (15..127),
  colsample_bytree (LightGBM's feature_fraction) ~ uniform(0.5, 0.5) (0.5..1.0),
  min_child_samples (min_data_in_leaf) ~ randint(10, 101) (10..100).
Features: every column but income, fnlwgt, sex and race (Slipway's config marks sex and race
protected and fnlwgt ignored); text columns as pandas categories (LightGBM's native
categorical splits, as Slipway's trees use). The timed span is read CSV -> search -> refit,
like `slipway train` (which also validates, profiles and evaluates the held-out file).
Prints `name: value unit` lines.
"""

import os
import time

import lightgbm as lgb
import pandas as pd
from scipy.stats import loguniform, randint, uniform
from sklearn.model_selection import RandomizedSearchCV, StratifiedKFold

ADULT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "adult")


def main():
    t0 = time.perf_counter()
    df = pd.read_csv(os.path.join(ADULT, "adult_train.csv"))
    y = df["income"].astype(int).to_numpy()
    x = df.drop(columns=["income", "fnlwgt", "sex", "race"])
    for c in x.columns:
        if not pd.api.types.is_numeric_dtype(x[c]):
            x[c] = x[c].astype("category")
    search = RandomizedSearchCV(
        lgb.LGBMClassifier(n_estimators=100, n_jobs=1, verbose=-1, random_state=0),
        {
            "learning_rate": loguniform(0.01, 0.3),
            "num_leaves": randint(15, 128),
            "colsample_bytree": uniform(0.5, 0.5),
            "min_child_samples": randint(10, 101),
        },
        n_iter=20,
        cv=StratifiedKFold(5, shuffle=True, random_state=0),
        scoring="roc_auc",
        n_jobs=2,
        refit=True,
        random_state=0,
    )
    search.fit(x, y)
    wall = time.perf_counter() - t0
    print(f"sklearn_random_search_wall_s: {wall:.3f} s")
    print(f"sklearn_random_search_best_cv_roc_auc: {search.best_score_:.5f} auc")


if __name__ == "__main__":
    main()
