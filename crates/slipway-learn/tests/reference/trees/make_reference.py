"""scikit-learn reference numbers for Slipway's decision trees and forests.

Run from the repository root with the reference venv (scikit-learn 1.9.1):

    /tmp/refvenv/bin/python crates/slipway-learn/tests/reference/trees/make_reference.py

Writes `trees_reference.json` next to this script, read by `crates/slipway-learn/tests/trees.rs`.

1. `exact`: single trees on data whose features take few distinct values (integers 1..=k,
   each value many times), so that Slipway's histogram splits are exact splits. The data
   (generated here, seeded) and scikit-learn's predictions / probabilities are stored.
2. `forests`: RandomForest / ExtraTrees (n_estimators=100, random_state=0, n_jobs=2) on
   breast cancer and diabetes (examples/, split with train_test_split(test_size=0.25,
   random_state=0); the test row indices are stored) and on Adult (adult_train.csv ->
   adult_test.csv, all 14 feature columns; text columns as ordinal codes of their sorted
   training categories, missing or unseen -> NaN, which scikit-learn's trees route like
   Slipway's: a learned side). Stored: OOB score (bootstrap models), holdout accuracy + ROC
   AUC (classification) or R² (regression) with random_state=0; for the two small data sets
   also the mean and standard deviation over random_state 0..9.
"""

import json
import os

import numpy as np
import pandas as pd
import sklearn
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", "..", ".."))
EX = os.path.join(ROOT, "examples")


def fl(a):
    return [float(v) for v in np.asarray(a, dtype=float).ravel()]


def exact_cases():
    rng = np.random.default_rng(7)
    n_train, n_test = 800, 300
    levels = [3, 5, 7, 9, 11]

    def feats(n):
        return np.column_stack([rng.integers(1, k + 1, size=n) for k in levels]).astype(float)

    x_tr, x_te = feats(n_train), feats(n_test)

    def score(x):
        return 0.9 * x[:, 0] - 0.5 * x[:, 1] + 0.3 * x[:, 2] * (x[:, 3] > 4) + 0.2 * x[:, 4]

    noise = rng.normal(0, 0.8, size=n_train)
    s = score(x_tr) + noise
    y_bin = (s > np.median(s)).astype(int)
    y_multi = np.digitize(s, np.quantile(s, [0.3, 0.7]))
    y_reg = np.round(s * 10 + rng.normal(0, 1, size=n_train), 3)
    w = rng.integers(1, 4, size=n_train).astype(float)
    cases = []

    def importance_variants(cls, params, y, weights):
        # Splits that tie on impurity decrease are broken by scikit-learn's random feature
        # order, which moves importance between features without changing predictions; every
        # variant seen over ten seeds is kept.
        seen = []
        for rs in range(10):
            m = cls(random_state=rs, **params).fit(x_tr, y, sample_weight=weights)
            imp = fl(m.feature_importances_)
            if not any(np.allclose(imp, s, atol=1e-12, rtol=0) for s in seen):
                seen.append(imp)
        return seen

    def clf(name, y, params, weights=None):
        m = DecisionTreeClassifier(random_state=0, **params).fit(x_tr, y, sample_weight=weights)
        cases.append(
            {
                "name": name,
                "task": "classification",
                "n_classes": int(y.max() + 1),
                "params": params,
                "weights": None if weights is None else fl(weights),
                "y": [int(v) for v in y],
                "proba_train": fl(m.predict_proba(x_tr)),
                "proba_test": fl(m.predict_proba(x_te)),
                "importance": importance_variants(DecisionTreeClassifier, params, y, weights),
                "n_leaves": int(m.get_n_leaves()),
            }
        )

    def reg(name, y, params, weights=None):
        m = DecisionTreeRegressor(random_state=0, **params).fit(x_tr, y, sample_weight=weights)
        cases.append(
            {
                "name": name,
                "task": "regression",
                "params": params,
                "weights": None if weights is None else fl(weights),
                "y": fl(y),
                "pred_train": fl(m.predict(x_tr)),
                "pred_test": fl(m.predict(x_te)),
                "importance": importance_variants(DecisionTreeRegressor, params, y, weights),
                "n_leaves": int(m.get_n_leaves()),
            }
        )

    clf("binary_gini_depth4", y_bin, {"max_depth": 4})
    clf("binary_entropy_leaf20", y_bin, {"criterion": "entropy", "min_samples_leaf": 20})
    clf(
        "multi_balanced_weighted",
        y_multi,
        {"max_depth": 5, "class_weight": "balanced", "min_samples_split": 30},
        w,
    )
    clf("multi_impurity_decrease", y_multi, {"min_impurity_decrease": 0.005})
    reg("regression_depth4", y_reg, {"max_depth": 4})
    reg("regression_weighted_leaf10", y_reg, {"min_samples_leaf": 10, "max_depth": 6}, w)
    return {"x_train": fl(x_tr.T), "x_test": fl(x_te.T), "n_features": len(levels), "cases": cases}


def load_csv(name):
    df = pd.read_csv(os.path.join(EX, name))
    y = df.pop("target").to_numpy()
    return df.to_numpy(dtype=float), y


def adult():
    tr = pd.read_csv(os.path.join(EX, "adult", "adult_train.csv"))
    te = pd.read_csv(os.path.join(EX, "adult", "adult_test.csv"))
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
    return np.column_stack(cols_tr), y_tr, np.column_stack(cols_te), y_te


def forest_metrics(cls, params, x_tr, y_tr, x_te, y_te, oob, classification):
    m = cls(**params).fit(x_tr, y_tr)
    out = {}
    if oob:
        out["oob_score"] = float(m.oob_score_)
    if classification:
        out["accuracy"] = float(accuracy_score(y_te, m.predict(x_te)))
        out["auc"] = float(roc_auc_score(y_te, m.predict_proba(x_te)[:, 1]))
    else:
        out["r2"] = float(r2_score(y_te, m.predict(x_te)))
    return out


def forest_case(name, kind, x_tr, y_tr, x_te, y_te, oob, n_seeds=1):
    """Metrics with random_state=0, and with n_seeds > 1 also their mean and standard deviation
    over random_state 0..n_seeds (small data sets vary from seed to seed by more than 0.01)."""
    classification = kind.endswith("Classifier")
    cls = {
        "RandomForestClassifier": RandomForestClassifier,
        "ExtraTreesClassifier": ExtraTreesClassifier,
        "RandomForestRegressor": RandomForestRegressor,
        "ExtraTreesRegressor": ExtraTreesRegressor,
    }[kind]
    extra = {"bootstrap": True, "oob_score": True} if oob else {}
    runs = [
        forest_metrics(
            cls,
            {"n_estimators": 100, "random_state": rs, "n_jobs": 2, **extra},
            x_tr, y_tr, x_te, y_te, oob, classification,
        )
        for rs in range(n_seeds)
    ]
    out = {"name": name, "model": kind, "params": extra, **runs[0]}
    if n_seeds > 1:
        for k in runs[0]:
            vals = np.array([r[k] for r in runs])
            out[k + "_mean"] = float(vals.mean())
            out[k + "_std"] = float(vals.std())
    print(name, {k: round(v, 5) for k, v in out.items() if isinstance(v, float)}, flush=True)
    return out


def forests():
    out = {}
    for ds, clf in (("breast_cancer", True), ("diabetes", False)):
        x, y = load_csv(os.path.join(ds, f"{ds}.csv"))
        idx = np.arange(len(y))
        tr_idx, te_idx = train_test_split(idx, test_size=0.25, random_state=0)
        x_tr, x_te, y_tr, y_te = x[tr_idx], x[te_idx], y[tr_idx], y[te_idx]
        if clf:
            y_tr, y_te = y_tr.astype(int), y_te.astype(int)
        rf = "RandomForestClassifier" if clf else "RandomForestRegressor"
        et = "ExtraTreesClassifier" if clf else "ExtraTreesRegressor"
        out[ds] = {
            "train_rows": [int(i) for i in tr_idx],
            "test_rows": [int(i) for i in te_idx],
            "cases": [
                forest_case(f"{ds}_rf", rf, x_tr, y_tr, x_te, y_te, True, 10),
                forest_case(f"{ds}_et", et, x_tr, y_tr, x_te, y_te, False, 10),
                forest_case(f"{ds}_et_bootstrap", et, x_tr, y_tr, x_te, y_te, True, 10),
            ],
        }
    x_tr, y_tr, x_te, y_te = adult()
    out["adult"] = {
        "cases": [
            forest_case("adult_rf", "RandomForestClassifier", x_tr, y_tr, x_te, y_te, True),
            forest_case("adult_et", "ExtraTreesClassifier", x_tr, y_tr, x_te, y_te, False),
        ]
    }
    return out


def main():
    ref = {
        "sklearn_version": sklearn.__version__,
        "exact": exact_cases(),
        "forests": forests(),
    }
    with open(os.path.join(HERE, "trees_reference.json"), "w") as f:
        json.dump(ref, f, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
