"""Generate scikit-learn reference outputs for Slipway's linear models, metrics and splits.

Run from anywhere with the reference venv:

    /tmp/refvenv/bin/python crates/slipway-learn/tests/reference/make_reference.py

Writes `sklearn_reference.json` next to this script. Inputs are generated here (fixed seeds,
rounded so that the JSON holds exactly what scikit-learn saw) and stored together with the
outputs, so the Rust test needs neither Python nor the data directory.
"""

import json
import math
import os
import sys
import warnings

import numpy as np
import scipy
import sklearn
from sklearn import metrics as M
from sklearn.datasets import load_wine
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get("SLIPWAY_SKLEARN_DATA", "/work/shared/data/sklearn")

warnings.simplefilter("ignore")


def fl(a):
    """A float list, with the first threshold of roc_curve (inf) dropped by the caller."""
    return [float(v) for v in np.asarray(a, dtype=float).ravel()]


def standardize(x):
    mu = x.mean(axis=0)
    sd = x.std(axis=0)
    return np.round((x - mu) / sd, 6)


def read_csv(name):
    import pandas as pd

    df = pd.read_csv(os.path.join(DATA, name))
    y = df.pop("target").to_numpy()
    return df.to_numpy(dtype=float), y, list(df.columns)


def prf_all(y, p, sw):
    out = {}
    for avg in ["macro", "weighted", "micro"]:
        pr, rc, f, _ = M.precision_recall_fscore_support(y, p, average=avg, sample_weight=sw)
        out[avg] = [float(pr), float(rc), float(f)]
    return out


def classification_block(y, p, sw):
    cm = M.confusion_matrix(y, p, sample_weight=sw)
    return {
        "accuracy": float(M.accuracy_score(y, p, sample_weight=sw)),
        "prf": prf_all(y, p, sw),
        "confusion": [fl(r) for r in cm],
    }


def binary_section(rng):
    n = 240
    y = rng.integers(0, 2, n)
    # Scores on a coarse grid: many ties, including ties across the two classes.
    s = np.round(np.clip(0.35 * y + rng.normal(0.35, 0.22, n), 0.0, 1.0), 1)
    p = np.round(np.clip(0.3 * y + rng.uniform(0.0, 0.7, n), 0.001, 0.999), 4)
    p[0] = 0.0  # exercises log-loss clipping
    p[1] = 1.0
    yp = (rng.uniform(size=n) < 0.3 + 0.4 * y).astype(int)
    w = np.round(rng.uniform(0.2, 2.0, n), 2)
    w[5] = 0.0  # zero weights are dropped from curves
    w[17] = 0.0
    out = {"y_true": y.tolist(), "y_pred": yp.tolist(), "scores": fl(s), "proba": fl(p), "weights": fl(w)}
    exp = {}
    for tag, sw in [("unweighted", None), ("weighted", w)]:
        e = classification_block(y, yp, sw)
        for pos in [1, 0]:
            pr, rc, f, _ = M.precision_recall_fscore_support(y, yp, average="binary", pos_label=pos, sample_weight=sw)
            e[f"binary_pos{pos}"] = [float(pr), float(rc), float(f)]
        e["roc_auc"] = float(M.roc_auc_score(y, s, sample_weight=sw))
        e["roc_auc_proba"] = float(M.roc_auc_score(y, p, sample_weight=sw))
        e["average_precision"] = float(M.average_precision_score(y, s, sample_weight=sw))
        e["average_precision_proba"] = float(M.average_precision_score(y, p, sample_weight=sw))
        fpr, tpr, thr = M.roc_curve(y, s, sample_weight=sw)
        assert math.isinf(thr[0])
        e["roc_curve"] = {"fpr": fl(fpr), "tpr": fl(tpr), "thresholds_after_inf": fl(thr[1:])}
        fpr, tpr, thr = M.roc_curve(y, s, sample_weight=sw, drop_intermediate=False)
        e["roc_curve_all"] = {"fpr": fl(fpr), "tpr": fl(tpr), "thresholds_after_inf": fl(thr[1:])}
        pr, rc, thr = M.precision_recall_curve(y, s, sample_weight=sw)
        e["pr_curve"] = {"precision": fl(pr), "recall": fl(rc), "thresholds": fl(thr)}
        e["log_loss"] = float(M.log_loss(y, p, sample_weight=sw))
        e["log_loss_2col"] = float(M.log_loss(y, np.c_[1 - p, p], sample_weight=sw))
        e["brier"] = float(M.brier_score_loss(y, p, sample_weight=sw))
        e["report"] = M.classification_report(y, yp, sample_weight=sw)
        exp[tag] = e
    out["expected"] = exp
    return out


def multiclass_section(rng):
    n, k = 180, 4
    y = rng.integers(0, k, n)
    logits = rng.normal(0, 1, (n, k))
    logits[np.arange(n), y] += 1.0
    proba = np.exp(logits)
    proba /= proba.sum(axis=1, keepdims=True)
    # A few tied probability values in class 0.
    proba[:10, 1:] *= 0.75 / proba[:10, 1:].sum(axis=1, keepdims=True)
    proba[:10, 0] = 0.25
    # Round, putting the rounding error on the largest entry so rows still sum to 1.
    proba = np.round(proba, 3)
    top = np.argmax(proba, axis=1)
    proba[np.arange(n), top] += 1.0 - proba.sum(axis=1)
    assert proba.min() >= 0 and np.allclose(proba.sum(axis=1), 1.0)
    yp = np.argmax(proba, axis=1)
    yp[:7] = 3  # some errors by hand
    w = np.round(rng.uniform(0.2, 2.0, n), 2)
    out = {"y_true": y.tolist(), "y_pred": yp.tolist(), "proba": [fl(r) for r in proba], "weights": fl(w)}
    exp = {}
    for tag, sw in [("unweighted", None), ("weighted", w)]:
        e = classification_block(y, yp, sw)
        e["roc_auc_ovr_macro"] = float(M.roc_auc_score(y, proba, multi_class="ovr", average="macro", sample_weight=sw))
        e["roc_auc_ovr_weighted"] = float(M.roc_auc_score(y, proba, multi_class="ovr", average="weighted", sample_weight=sw))
        e["average_precision_macro"] = float(M.average_precision_score(y, proba, average="macro", sample_weight=sw))
        e["average_precision_weighted"] = float(M.average_precision_score(y, proba, average="weighted", sample_weight=sw))
        e["log_loss"] = float(M.log_loss(y, proba, sample_weight=sw))
        e["brier"] = float(M.brier_score_loss(y, proba, sample_weight=sw))
        e["report"] = M.classification_report(y, yp, sample_weight=sw)
        e["report_named"] = M.classification_report(
            y, yp, sample_weight=sw, target_names=["setosa", "versicolor", "virginica", "a much longer name"]
        )
        exp[tag] = e
    out["expected"] = exp
    return out


def regression_section(rng):
    n = 150
    y = np.round(rng.normal(3, 2, n), 3)
    y[:4] = 0.0  # MAPE divides by max(|y|, eps)
    yp = np.round(y + rng.normal(0, 0.7, n), 3)
    w = np.round(rng.uniform(0.2, 2.0, n), 2)
    out = {"y_true": fl(y), "y_pred": fl(yp), "weights": fl(w)}
    exp = {}
    for tag, sw in [("unweighted", None), ("weighted", w)]:
        exp[tag] = {
            "rmse": float(M.root_mean_squared_error(y, yp, sample_weight=sw)),
            "mae": float(M.mean_absolute_error(y, yp, sample_weight=sw)),
            "r2": float(M.r2_score(y, yp, sample_weight=sw)),
            "mape": float(M.mean_absolute_percentage_error(y, yp, sample_weight=sw)),
        }
    # Without the zeros too (MAPE of a sane scale).
    exp["nonzero_mape"] = float(M.mean_absolute_percentage_error(y[4:], yp[4:]))
    out["expected"] = exp
    return out


def edge_section():
    e = {}
    e["r2_constant_perfect"] = float(M.r2_score([1.0, 1.0, 1.0], [1.0, 1.0, 1.0]))
    e["r2_constant_imperfect"] = float(M.r2_score([1.0, 1.0, 1.0], [1.0, 2.0, 1.0]))
    # No predicted positives: precision 0 (zero_division), recall 0.
    e["prf_no_pred_pos"] = [float(v) for v in M.precision_recall_fscore_support([0, 1, 1, 0], [0, 0, 0, 0], average="binary")[:3]]
    # Only negatives anywhere: binary scores with pos_label 1 are 0.
    e["prf_all_negative"] = [float(v) for v in M.precision_recall_fscore_support([0, 0, 0], [0, 0, 0], average="binary")[:3]]
    # Macro over the union of labels present in y_true and y_pred.
    e["f1_macro_union"] = float(M.f1_score([0, 1, 2, 2], [0, 1, 1, 3], average="macro"))
    e["roc_auc_all_tied"] = float(M.roc_auc_score([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]))
    e["ap_all_tied"] = float(M.average_precision_score([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]))
    e["ap_docstring"] = float(M.average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]))
    e["log_loss_clipped"] = float(M.log_loss([0, 1], [[1.0, 0.0], [1.0, 0.0]]))
    e["report_binary_docstring"] = M.classification_report([0, 1, 2, 2, 2], [0, 0, 2, 2, 1])
    return e


def logistic_section(rng):
    xb, yb, _ = read_csv("breast_cancer.csv")
    xb = standardize(xb)
    wine = load_wine()
    xw = standardize(wine.data)
    yw = wine.target
    xd, yd, _ = read_csv("diabetes.csv")
    xd = standardize(xd)
    yd = (yd > 140).astype(int)
    wb = np.round(rng.uniform(0.5, 2.0, len(yb)), 2)
    ww = np.round(rng.uniform(0.5, 2.0, len(yw)), 2)
    datasets = {
        "breast_cancer_std": {"x": [fl(r) for r in xb], "y": yb.tolist(), "weights": fl(wb)},
        "wine_std": {"x": [fl(r) for r in xw], "y": yw.tolist(), "weights": fl(ww)},
        "diabetes_std_binary": {"x": [fl(r) for r in xd], "y": yd.tolist(), "weights": None},
    }
    cases = [
        ("bc_c1", "breast_cancer_std", dict(C=1.0), False),
        ("bc_c0.05_balanced_weighted", "breast_cancer_std", dict(C=0.05, class_weight="balanced"), True),
        ("bc_c0.5_no_intercept", "breast_cancer_std", dict(C=0.5, fit_intercept=False), False),
        ("wine_c1", "wine_std", dict(C=1.0), False),
        ("wine_c0.3_classweight_weighted", "wine_std", dict(C=0.3, class_weight={0: 1.0, 1: 2.0, 2: 0.5}), True),
        ("wine_c2_no_intercept", "wine_std", dict(C=2.0, fit_intercept=False), False),
        ("wine_c0.1_balanced", "wine_std", dict(C=0.1, class_weight="balanced"), False),
        ("diabetes_binary_no_penalty", "diabetes_std_binary", dict(C=np.inf), False),
    ]
    out = []
    for name, ds, kw, weighted in cases:
        d = datasets[ds]
        x = np.array(d["x"])
        y = np.array(d["y"])
        sw = np.array(d["weights"]) if weighted else None
        m = LogisticRegression(tol=1e-10, max_iter=100_000, **kw).fit(x, y, sample_weight=sw)
        params = {
            "c": None if math.isinf(kw["C"]) else kw["C"],
            "fit_intercept": kw.get("fit_intercept", True),
            "class_weight": kw.get("class_weight"),
        }
        if isinstance(params["class_weight"], dict):
            params["class_weight"] = [params["class_weight"][c] for c in sorted(params["class_weight"])]
        out.append({
            "name": name,
            "dataset": ds,
            "weighted": weighted,
            "params": params,
            "coef": [fl(r) for r in m.coef_],
            "intercept": fl(m.intercept_),
            "n_iter": int(m.n_iter_[0]),
            "proba_head": [fl(r) for r in m.predict_proba(x[:8])],
        })
    # Not converged: the default tol but only 3 iterations.
    m = LogisticRegression(max_iter=3).fit(xb, yb)
    out_nc = {"dataset": "breast_cancer_std", "max_iter": 3, "n_iter": int(m.n_iter_[0])}
    return {"datasets": datasets, "cases": out, "not_converged": out_nc}


def linear_section(rng):
    x, y, names = read_csv("diabetes.csv")
    w = np.round(rng.uniform(0.5, 2.0, len(y)), 2)
    cases = [
        ("ols", LinearRegression(), 0.0, True, False),
        ("ols_weighted", LinearRegression(), 0.0, True, True),
        ("ridge_1", Ridge(alpha=1.0), 1.0, True, False),
        ("ridge_10_no_intercept", Ridge(alpha=10.0, fit_intercept=False), 10.0, False, False),
        ("ridge_0.5_weighted", Ridge(alpha=0.5), 0.5, True, True),
        ("ols_no_intercept", LinearRegression(fit_intercept=False), 0.0, False, False),
    ]
    out = []
    for name, est, alpha, fi, weighted in cases:
        sw = w if weighted else None
        est.fit(x, y, sample_weight=sw)
        out.append({
            "name": name,
            "alpha": alpha,
            "fit_intercept": fi,
            "weighted": weighted,
            "coef": fl(est.coef_),
            "intercept": float(est.intercept_),
            "pred_head": fl(est.predict(x[:8])),
        })
    return {"x": [fl(r) for r in x], "y": fl(y), "features": names, "weights": fl(w), "cases": out}


def split_section():
    out = {}
    # StratifiedKFold allocation: per fold, test rows per class (classes in order of first appearance
    # are what sklearn deals out; we record counts by label value).
    rng = np.random.default_rng(7)
    label_sets = {
        "wine": load_wine().target.tolist(),
        "imbalanced": rng.choice([0, 1, 2, 3], size=103, p=[0.55, 0.25, 0.15, 0.05]).tolist(),
        "binary_odd": ([1] * 17 + [0] * 40 + [1] * 4),
    }
    skf = {}
    for name, labels in label_sets.items():
        labels = np.array(labels)
        for k in [3, 5]:
            if np.bincount(labels).min() < k:
                continue
            folds = []
            for _, test in StratifiedKFold(n_splits=k, shuffle=True, random_state=0).split(np.zeros(len(labels)), labels):
                folds.append(np.bincount(labels[test], minlength=labels.max() + 1).tolist())
            skf[f"{name}_k{k}"] = {"labels": labels.tolist(), "k": k, "test_counts": folds}
    out["stratified_k_fold"] = skf
    out["k_fold_sizes"] = {}
    for n, k in [(23, 5), (10, 10), (100, 7), (5, 2)]:
        out["k_fold_sizes"][f"{n}_{k}"] = {"n": n, "k": k, "test_sizes": [len(t) for _, t in KFold(k).split(np.zeros(n))]}
    tts = []
    for n, frac in [(101, 0.25), (10, 0.3), (569, 0.2), (7, 0.5)]:
        tr, te = train_test_split(np.arange(n), test_size=frac, random_state=0)
        tts.append({"n": n, "test_fraction": frac, "n_train": len(tr), "n_test": len(te)})
    out["train_test_split"] = tts
    labels = np.array([0] * 50 + [1] * 30 + [2] * 21)
    tr, te = train_test_split(np.arange(len(labels)), test_size=0.25, random_state=0, stratify=labels)
    out["stratified_train_test_split"] = {
        "class_counts": [50, 30, 21],
        "test_fraction": 0.25,
        "train_counts": np.bincount(labels[tr]).tolist(),
        "test_counts": np.bincount(labels[te]).tolist(),
    }
    return out


def main():
    rng = np.random.default_rng(20240601)
    ref = {
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "scipy_version": scipy.__version__,
        "python_version": sys.version.split()[0],
        "binary": binary_section(rng),
        "multiclass": multiclass_section(rng),
        "regression": regression_section(rng),
        "edge": edge_section(),
        "logistic": logistic_section(rng),
        "linear": linear_section(rng),
        "split": split_section(),
    }
    path = os.path.join(HERE, "sklearn_reference.json")
    with open(path, "w") as f:
        json.dump(ref, f, allow_nan=False, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes), scikit-learn {sklearn.__version__}")


if __name__ == "__main__":
    main()
