#!/usr/bin/env python3
"""Writes crates/slipway-learn/tests/reference/gbdt_reference.json: small data sets, a fixed
split and LightGBM's holdout scores for given parameters. `tests/gbdt.rs` fits Slipway's GBDT on
the same split and parameters and checks its holdout scores and each holdout prediction
against LightGBM's.

    bench/.venv/bin/python bench/gbdt/make_reference.py
"""

import json
import os

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import log_loss, mean_squared_error, roc_auc_score
from sklearn.model_selection import train_test_split

DATA = "/work/shared/data/sklearn"
OUT = os.path.join(
    os.path.dirname(__file__), "..", "..", "crates", "slipway-learn", "tests", "reference",
    "gbdt_reference.json",
)


def case(name, csv, objective, params, rounds, stratify):
    df = pd.read_csv(os.path.join(DATA, csv))
    y = df.pop("target").to_numpy(dtype=np.float64)
    x = df.to_numpy(dtype=np.float64)
    idx = np.arange(len(y))
    tr, te = train_test_split(idx, test_size=0.3, random_state=0, stratify=y if stratify else None)
    tr, te = np.sort(tr), np.sort(te)
    lgb_params = {
        "objective": objective,
        "num_threads": 1,
        "seed": 0,
        "deterministic": True,
        "verbose": -1,
        **params,
    }
    booster = lgb.train(lgb_params, lgb.Dataset(x[tr], label=y[tr]), num_boost_round=rounds)
    p = booster.predict(x[te])
    if objective == "binary":
        scores = {"auc": roc_auc_score(y[te], p), "logloss": log_loss(y[te], p)}
    else:
        scores = {"mse": mean_squared_error(y[te], p)}
    print(name, scores)
    return {
        "name": name,
        "objective": objective,
        "features": list(df.columns),
        "x": x.tolist(),
        "y": y.tolist(),
        "train_rows": tr.tolist(),
        "test_rows": te.tolist(),
        "params": {**params, "num_boost_round": rounds},
        "lightgbm": scores,
        # Holdout predictions (probability of class 1, or values), for the row-by-row check.
        "pred": p.tolist(),
    }


def main():
    cases = [
        case(
            "breast_cancer",
            "breast_cancer.csv",
            "binary",
            {"num_leaves": 15, "learning_rate": 0.05, "min_data_in_leaf": 10},
            200,
            True,
        ),
        case(
            "diabetes",
            "diabetes.csv",
            "regression",
            {"num_leaves": 7, "learning_rate": 0.05, "min_data_in_leaf": 10},
            100,
            False,
        ),
    ]
    with open(OUT, "w") as f:
        json.dump({"lightgbm_version": lgb.__version__, "cases": cases}, f)
    print("wrote", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
