"""scikit-learn MLPClassifier / MLPRegressor reference numbers for tests/mlp.rs.

Run from the repository root:
    python crates/slipway-learn/tests/reference/mlp/make_reference.py

Writes mlp_reference.json next to this script: for breast cancer (classification) and
diabetes (regression) the hold-out split (row indices into the example CSV), the settings,
and scikit-learn's hold-out accuracy / ROC AUC / R2 for each of SEEDS seeds plus their mean.
The inputs are standardized with StandardScaler fitted on the training rows (what Slipway's
linear preprocessing does for all-numeric data). The regressor standardizes its target the
way Slipway's MLP does, through TransformedTargetRegressor(StandardScaler()).

The comparison trains a fixed 20 epochs (no early stopping; tol 0 and n_iter_no_change 20
so the training-loss rule never fires) and averages over 10 seeds: with early stopping on
these small sets (33 validation rows) single-seed scores swing by +-0.1 R2, which would
swamp any real difference between the two implementations.
"""

import json
import os
import sys
import warnings

import numpy as np
import pandas as pd
import sklearn
from sklearn.compose import TransformedTargetRegressor
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../../../../.."))
SEEDS = list(range(10))

SETTINGS = {
    "hidden_layer_sizes": [64, 32],
    "learning_rate": 0.001,
    "beta1": 0.9,
    "beta2": 0.999,
    "epsilon": 1e-8,
    "alpha": 0.0001,
    "batch_size": 32,
    "max_epochs": 20,
    "early_stopping": False,
    "validation_fraction": 0.1,
    "n_iter_no_change": 20,
    "tol": 0.0,
}


def sk_kwargs(seed):
    s = SETTINGS
    return dict(
        hidden_layer_sizes=tuple(s["hidden_layer_sizes"]),
        activation="relu",
        solver="adam",
        learning_rate_init=s["learning_rate"],
        beta_1=s["beta1"],
        beta_2=s["beta2"],
        epsilon=s["epsilon"],
        alpha=s["alpha"],
        batch_size=s["batch_size"],
        max_iter=s["max_epochs"],
        early_stopping=s["early_stopping"],
        validation_fraction=s["validation_fraction"],
        n_iter_no_change=s["n_iter_no_change"],
        tol=s["tol"],
        shuffle=True,
        random_state=seed,
    )


def split(n, y, stratify, seed=3):
    idx = np.arange(n)
    tr, te = train_test_split(
        idx, test_size=0.25, random_state=seed, stratify=y if stratify else None
    )
    return np.sort(tr), np.sort(te)


def classification():
    df = pd.read_csv(os.path.join(ROOT, "examples/breast_cancer/breast_cancer.csv"))
    y = df.pop("target").to_numpy()
    x = df.to_numpy(dtype=float)
    tr, te = split(len(y), y, True)
    sc = StandardScaler().fit(x[tr])
    xtr, xte = sc.transform(x[tr]), sc.transform(x[te])
    runs = []
    for seed in SEEDS:
        m = MLPClassifier(**sk_kwargs(seed)).fit(xtr, y[tr])
        p = m.predict_proba(xte)[:, 1]
        runs.append(
            {
                "seed": seed,
                "accuracy": accuracy_score(y[te], m.predict(xte)),
                "roc_auc": roc_auc_score(y[te], p),
                "n_iter": int(m.n_iter_),
            }
        )
    return {
        "csv": "examples/breast_cancer/breast_cancer.csv",
        "target": "target",
        "train_rows": tr.tolist(),
        "test_rows": te.tolist(),
        "runs": runs,
        "mean_accuracy": float(np.mean([r["accuracy"] for r in runs])),
        "mean_roc_auc": float(np.mean([r["roc_auc"] for r in runs])),
    }


def regression():
    df = pd.read_csv(os.path.join(ROOT, "examples/diabetes/diabetes.csv"))
    y = df.pop("target").to_numpy(dtype=float)
    x = df.to_numpy(dtype=float)
    tr, te = split(len(y), y, False)
    sc = StandardScaler().fit(x[tr])
    xtr, xte = sc.transform(x[tr]), sc.transform(x[te])
    runs = []
    for seed in SEEDS:
        m = TransformedTargetRegressor(
            regressor=MLPRegressor(**sk_kwargs(seed)), transformer=StandardScaler()
        ).fit(xtr, y[tr])
        runs.append(
            {
                "seed": seed,
                "r2": r2_score(y[te], m.predict(xte)),
                "n_iter": int(m.regressor_.n_iter_),
            }
        )
    return {
        "csv": "examples/diabetes/diabetes.csv",
        "target": "target",
        "train_rows": tr.tolist(),
        "test_rows": te.tolist(),
        "runs": runs,
        "mean_r2": float(np.mean([r["r2"] for r in runs])),
    }


def main():
    # A fixed number of epochs is the point (see the module docstring): silence the
    # ConvergenceWarning that reaching max_iter raises.
    warnings.filterwarnings("ignore")
    out = {
        "versions": {
            "python": sys.version.split()[0],
            "sklearn": sklearn.__version__,
            "numpy": np.__version__,
        },
        "settings": SETTINGS,
        "seeds": SEEDS,
        "breast_cancer": classification(),
        "diabetes": regression(),
    }
    with open(os.path.join(HERE, "mlp_reference.json"), "w") as f:
        json.dump(out, f, indent=1)
    bc, db = out["breast_cancer"], out["diabetes"]
    print(
        f"breast_cancer accuracy {bc['mean_accuracy']:.4f} auc {bc['mean_roc_auc']:.4f}; "
        f"diabetes r2 {db['mean_r2']:.4f}"
    )


if __name__ == "__main__":
    main()
