#!/usr/bin/env python3
"""scikit-learn / LightGBM side of the model-quality table (see `bench/quality/run.sh`).

    bench/.venv/bin/python bench/quality/reference.py OUT_DIR

1. Writes ONE fixed train / holdout split per data set and the model inputs both sides fit on
   (little-endian f64, column-major), so that the table compares models, not preprocessing:

   - `breast_cancer`, `diabetes` (examples/*/*.csv): `train_test_split(test_size=0.25,
     random_state=0)` (426 / 143 and 331 / 111 rows).
   - `adult`: examples/adult/adult_train.csv (32,561 rows) -> adult_test.csv (16,281 rows).

   `OUT_DIR/<set>/train_rows.txt` and `test_rows.txt` hold the split as row indices (for Adult
   into the training file followed by the test file). Two inputs per data set:

   - `dense_*.f64` (linear models, naive Bayes, k-NN, SVM, MLP): numeric columns imputed with
     the training median and standardized with the training mean / standard deviation; text
     columns one-hot encoded over the training categories (missing is a category of its own;
     a category unseen in training is all zeros).
   - `tree_*.f64` (trees, forests, GBDT): numeric columns as they are; text columns as ordinal
     codes of their sorted training categories, missing or unseen -> NaN. GBDT treats these
     columns as categorical on both sides (LightGBM `categorical_feature`); decision trees and
     forests split them as ordered numbers on both sides (scikit-learn has no other choice).

   Subsamples (Adult SVM) are `OUT_DIR/<set>/sub_<n>.txt`: row positions in the training set,
   drawn with `numpy.random.default_rng(0)`, used by both sides.
2. Writes `OUT_DIR/settings.json`: every (data set, model) cell with its input, seeds, the
   scikit-learn / LightGBM estimator and keyword arguments, and the Slipway `ModelSpec` with
   the same settings. The Slipway side (examples/quality_bench.rs) reads this file.
3. Fits every cell (each seed in turn), and prints `sklearn_<set>_<model>_<metric>: value unit`
   lines: the mean over seeds of holdout accuracy and ROC AUC (classification) or R² and RMSE
   (regression), and with several seeds `..._sem` lines, the standard error of that mean.
   Accuracy is the argmax of `predict_proba` (Slipway's rule; for SVC this is the Platt
   probabilities, not the sign of the decision function).
"""

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "2"

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import lightgbm as lgb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import sklearn  # noqa: E402
from sklearn.ensemble import (  # noqa: E402
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.compose import TransformedTargetRegressor  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, LogisticRegression  # noqa: E402
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score, root_mean_squared_error  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.naive_bayes import GaussianNB  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.svm import SVC, SVR  # noqa: E402
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
EX = os.path.join(ROOT, "examples")
ADULT_SVM_ROWS = 3_000

CLASSES = {
    "logistic_regression": (LogisticRegression, None),
    "linear_regression": (None, LinearRegression),
    "lasso": (None, Lasso),
    "elastic_net": (None, ElasticNet),
    "gaussian_nb": (GaussianNB, None),
    "k_neighbors": (KNeighborsClassifier, KNeighborsRegressor),
    "decision_tree": (DecisionTreeClassifier, DecisionTreeRegressor),
    "random_forest": (RandomForestClassifier, RandomForestRegressor),
    "extra_trees": (ExtraTreesClassifier, ExtraTreesRegressor),
    "svm": (SVC, SVR),
    "mlp": (MLPClassifier, MLPRegressor),
}


# --------------------------------------------------------------------------------------------
# Data


def load_sets():
    """(name, task, train frame, test frame, target name, split rows) per data set."""
    out = []
    for name in ("breast_cancer", "diabetes"):
        df = pd.read_csv(os.path.join(EX, name, f"{name}.csv"))
        rows = np.arange(len(df))
        tr, te = train_test_split(rows, test_size=0.25, random_state=0)
        task = "classification" if name == "breast_cancer" else "regression"
        out.append((name, task, df.iloc[tr].reset_index(drop=True),
                    df.iloc[te].reset_index(drop=True), "target", (tr, te)))
    a_tr = pd.read_csv(os.path.join(EX, "adult", "adult_train.csv"))
    a_te = pd.read_csv(os.path.join(EX, "adult", "adult_test.csv"))
    split = (np.arange(len(a_tr)), np.arange(len(a_tr), len(a_tr) + len(a_te)))
    out.insert(0, ("adult", "classification", a_tr, a_te, "income", split))
    return out


def dense_inputs(tr, te):
    """Median-imputed standardized numbers + one-hot text columns (see the module doc)."""
    cols_tr, cols_te, names = [], [], []
    for c in tr.columns:
        if pd.api.types.is_numeric_dtype(tr[c]):
            a, b = tr[c].to_numpy(dtype=float), te[c].to_numpy(dtype=float)
            med = np.nanmedian(a)
            a, b = np.where(np.isnan(a), med, a), np.where(np.isnan(b), med, b)
            mu, sd = a.mean(), a.std()
            sd = sd if sd > 0 else 1.0
            cols_tr.append((a - mu) / sd)
            cols_te.append((b - mu) / sd)
            names.append(c)
        else:
            a, b = tr[c].fillna("__missing__"), te[c].fillna("__missing__")
            for cat in sorted(a.unique()):
                cols_tr.append((a == cat).to_numpy(dtype=float))
                cols_te.append((b == cat).to_numpy(dtype=float))
                names.append(f"{c}={cat}")
    return np.column_stack(cols_tr), np.column_stack(cols_te), names


def tree_inputs(tr, te):
    """Raw numbers + ordinal codes of text columns; the category count per column (0: numeric)."""
    cols_tr, cols_te, n_cats = [], [], []
    for c in tr.columns:
        if pd.api.types.is_numeric_dtype(tr[c]):
            cols_tr.append(tr[c].to_numpy(dtype=float))
            cols_te.append(te[c].to_numpy(dtype=float))
            n_cats.append(0)
        else:
            cats = sorted(tr[c].dropna().unique())
            for frame, out in ((tr, cols_tr), (te, cols_te)):
                codes = pd.Categorical(frame[c], categories=cats).codes.astype(float)
                codes[codes < 0] = np.nan
                out.append(codes)
            n_cats.append(len(cats))
    return np.column_stack(cols_tr), np.column_stack(cols_te), n_cats


def write_f64(path, a):
    np.asarray(a, dtype="<f8").flatten(order="F").tofile(path)


def prepare(out_dir):
    """Writes every data set's split and inputs; returns {name: arrays and meta}."""
    data = {}
    for name, task, tr, te, target, (tr_rows, te_rows) in load_sets():
        d = os.path.join(out_dir, name)
        os.makedirs(d, exist_ok=True)
        y_tr = tr.pop(target).to_numpy(dtype=float)
        y_te = te.pop(target).to_numpy(dtype=float)
        xd_tr, xd_te, dense_names = dense_inputs(tr, te)
        xt_tr, xt_te, n_cats = tree_inputs(tr, te)
        for fname, arr in (("dense_train", xd_tr), ("dense_test", xd_te), ("tree_train", xt_tr),
                           ("tree_test", xt_te), ("y_train", y_tr), ("y_test", y_te)):
            write_f64(os.path.join(d, fname + ".f64"), arr)
        np.savetxt(os.path.join(d, "train_rows.txt"), tr_rows, fmt="%d")
        np.savetxt(os.path.join(d, "test_rows.txt"), te_rows, fmt="%d")
        meta = {
            "task": task, "n_train": len(y_tr), "n_test": len(y_te),
            "n_dense": xd_tr.shape[1], "n_tree": xt_tr.shape[1],
            "tree_categories": n_cats, "n_classes": int(y_tr.max()) + 1 if task == "classification" else 0,
        }
        with open(os.path.join(d, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)
        data[name] = {"meta": meta, "dense": (xd_tr, xd_te), "tree": (xt_tr, xt_te), "y": (y_tr, y_te)}
    return data


def subsample(out_dir, name, n_train, n):
    rows = np.sort(np.random.default_rng(0).choice(n_train, n, replace=False))
    path = os.path.join(out_dir, name, f"sub_{n}.txt")
    np.savetxt(path, rows, fmt="%d")
    return rows, f"{name}/sub_{n}.txt"


# --------------------------------------------------------------------------------------------
# Settings: scikit-learn keyword arguments and the equal Slipway ModelSpec, per cell


def cell(model, sk, sw, seed_sk=None, seed_sw=None, seeds=(0,), note=""):
    return {"model": model, "sklearn": sk, "slipway": sw, "seed_sklearn": seed_sk,
            "seed_slipway": seed_sw, "seeds": list(seeds), "note": note}


def settings_for(name, task, meta, out_dir):
    big = name == "adult"
    clf = task == "classification"
    forest_seeds = range(3) if big else range(100)
    cells = []
    if clf:
        cells.append(cell("logistic_regression", {"C": 1.0, "max_iter": 1000, "tol": 1e-4},
                          {"c": 1.0, "max_iter": 1000, "tol": 1e-4}))
        cells.append(cell("gaussian_nb", {"var_smoothing": 1e-9}, {"var_smoothing": 1e-9}))
    else:
        cells.append(cell("linear_regression", {}, {"alpha": 0.0}))
        cells.append(cell("lasso", {"alpha": 0.1, "max_iter": 1000, "tol": 1e-4},
                          {"alpha": 0.1, "max_iter": 1000, "tol": 1e-4}))
        cells.append(cell("elastic_net", {"alpha": 0.1, "l1_ratio": 0.5, "max_iter": 1000, "tol": 1e-4},
                          {"alpha": 0.1, "l1_ratio": 0.5, "max_iter": 1000, "tol": 1e-4}))
    cells.append(cell("k_neighbors", {"n_neighbors": 5, "weights": "uniform", "algorithm": "brute", "n_jobs": 2},
                      {"n_neighbors": 5, "weights": "uniform", "algorithm": "brute", "n_threads": 2}))
    cells.append(cell("decision_tree", {}, {}, "random_state", "random_state", forest_seeds,
                      "fully grown; mean over seeds (ties between features are broken at random)"))
    for model in ("random_forest", "extra_trees"):
        cells.append(cell(model, {"n_estimators": 100, "n_jobs": 2}, {"n_estimators": 100, "n_jobs": 2},
                          "random_state", "random_state", forest_seeds, "100 trees; mean over seeds"))
    lgb_params = {"objective": "binary" if clf else "regression", "learning_rate": 0.1, "num_leaves": 31,
                  "min_data_in_leaf": 20, "min_sum_hessian_in_leaf": 1e-3, "lambda_l2": 0.0,
                  "feature_fraction": 1.0, "bagging_fraction": 1.0, "bagging_freq": 0, "max_bin": 255,
                  "num_threads": 2, "deterministic": True, "verbose": -1, "seed": 0}
    cells.append(cell("gbdt", {"params": lgb_params, "num_boost_round": 100},
                      {"n_estimators": 100, "learning_rate": 0.1, "num_leaves": 31, "min_data_in_leaf": 20,
                       "min_sum_hessian_in_leaf": 1e-3, "lambda_l2": 0.0, "max_bin": 255, "n_threads": 2,
                       "seed": 0},
                      note="vs LightGBM 4.7.0" + ("; text columns categorical on both sides" if big else "")))
    svm = cell("svm", {"C": 1.0, "kernel": "rbf", "gamma": "scale", "tol": 1e-3} if clf
               else {"C": 10.0, "kernel": "rbf", "gamma": "scale", "epsilon": 0.1, "tol": 1e-3},
               {"c": 1.0, "kernel": "rbf", "gamma": "scale", "tol": 1e-3} if clf
               else {"c": 10.0, "kernel": "rbf", "gamma": "scale", "epsilon": 0.1, "tol": 1e-3},
               "random_state" if clf else None, "seed" if clf else None, (range(2) if big else range(3)) if clf else (0,),
               "Platt probabilities (5-fold CV inside both); mean over seeds" if clf else "")
    if clf:
        svm["sklearn"]["probability"] = True
    if big:
        _, path = subsample(out_dir, name, meta["n_train"], ADULT_SVM_ROWS)
        svm["train_rows"] = path
        svm["note"] = f"trained on the same {ADULT_SVM_ROWS:,} training rows (seeded subsample) on both sides; " + svm["note"]
    cells.append(svm)
    epochs = 10 if big else 200
    lr = 1e-3
    mlp_sk = {"hidden_layer_sizes": [100], "activation": "relu", "solver": "adam", "alpha": 1e-4,
              "batch_size": 200, "learning_rate_init": lr, "max_iter": epochs, "tol": 1e-4,
              "n_iter_no_change": 10, "shuffle": True, "early_stopping": False}
    mlp_sw = {"hidden_layer_sizes": [100], "alpha": 1e-4, "batch_size": 200, "learning_rate": lr,
              "max_epochs": epochs, "tol": 1e-4, "n_iter_no_change": 10, "shuffle": True,
              "early_stopping": False}
    target = "" if clf else "; target standardized on both sides (Slipway's MLP always does, the reference through TransformedTargetRegressor(StandardScaler()))"
    cells.append(cell("mlp", mlp_sk, mlp_sw, "random_state", "seed", range(2) if big else range(100),
                      f"Adam lr {lr}, batch 200, at most {epochs} epochs{target}; mean over seeds"))
    for c in cells:
        c["input"] = "tree" if c["model"] in ("decision_tree", "random_forest", "extra_trees", "gbdt") else "dense"
        c["dataset"] = name
        c.setdefault("train_rows", None)
    return cells


# --------------------------------------------------------------------------------------------
# Fitting


def fit_predict(c, task, x_tr, y_tr, x_te, n_cats, seed):
    """Holdout predictions: P(class 1) for classification, values for regression."""
    clf = task == "classification"
    if c["model"] == "gbdt":
        params = dict(c["sklearn"]["params"])
        cat = [j for j, k in enumerate(n_cats) if k > 0]
        ds = lgb.Dataset(x_tr, label=y_tr, categorical_feature=cat or "auto",
                         params={"max_bin": params["max_bin"], "verbose": -1})
        booster = lgb.train(params, ds, num_boost_round=c["sklearn"]["num_boost_round"])
        p = booster.predict(x_te)
        return np.column_stack([1 - p, p]) if clf else p
    kwargs = dict(c["sklearn"])
    if "hidden_layer_sizes" in kwargs:
        kwargs["hidden_layer_sizes"] = tuple(kwargs["hidden_layer_sizes"])
    if c["seed_sklearn"]:
        kwargs[c["seed_sklearn"]] = seed
    cls = CLASSES[c["model"]][0 if clf else 1]
    m = cls(**kwargs)
    if c["model"] == "mlp" and not clf:
        m = TransformedTargetRegressor(m, transformer=StandardScaler())
    m = m.fit(x_tr, y_tr.astype(int) if clf else y_tr)
    return m.predict_proba(x_te) if clf else m.predict(x_te)


def scores(task, y_te, pred):
    if task == "classification":
        return {"accuracy": accuracy_score(y_te.astype(int), pred.argmax(axis=1)),
                "auc": roc_auc_score(y_te.astype(int), pred[:, 1])}
    return {"r2": r2_score(y_te, pred), "rmse": root_mean_squared_error(y_te, pred)}


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "bench", "out", "quality")
    os.makedirs(out_dir, exist_ok=True)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    # SVC(probability=True) is deprecated in 1.9 but is still the Platt scaling Slipway matches.
    warnings.filterwarnings("ignore", category=FutureWarning)
    data = prepare(out_dir)
    all_cells = []
    for name, d in data.items():
        all_cells += settings_for(name, d["meta"]["task"], d["meta"], out_dir)
    with open(os.path.join(out_dir, "settings.json"), "w") as f:
        json.dump({"sklearn_version": sklearn.__version__, "lightgbm_version": lgb.__version__,
                   "datasets": list(data), "cells": all_cells}, f, indent=1)
    print(f"sklearn_version: {sklearn.__version__}")
    print(f"lightgbm_version: {lgb.__version__}")
    for c in all_cells:
        d = data[c["dataset"]]
        task = d["meta"]["task"]
        x_tr, x_te = d[c["input"]]
        y_tr, y_te = d["y"]
        if c["train_rows"]:
            rows = np.loadtxt(os.path.join(out_dir, c["train_rows"]), dtype=int)
            x_tr, y_tr = x_tr[rows], y_tr[rows]
        t0 = time.perf_counter()
        runs = [scores(task, y_te, fit_predict(c, task, x_tr, y_tr, x_te, d["meta"]["tree_categories"], s))
                for s in c["seeds"]]
        t = time.perf_counter() - t0
        for metric in runs[0]:
            vals = [r[metric] for r in runs]
            key = f"sklearn_{c['dataset']}_{c['model']}_{metric}"
            print(f"{key}: {np.mean(vals):.6f} {metric}", flush=True)
            if len(vals) > 1:
                # Standard error of the mean over seeds (sample standard deviation / sqrt(n)).
                print(f"{key}_sem: {np.std(vals, ddof=1) / np.sqrt(len(vals)):.6f} {metric}", flush=True)
        print(f"sklearn_{c['dataset']}_{c['model']}_fit_predict_s: {t:.3f} s", flush=True)


if __name__ == "__main__":
    main()
