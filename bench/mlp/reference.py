"""scikit-learn side of the MLP benchmark (see run.sh).

Usage: reference.py OUT_DIR

Reads examples/adult, imputes (mean / most frequent), standardizes the numeric columns and
one-hot encodes the text columns (fitted on the training file), writes the matrices for the
Slipway side (OUT_DIR/adult: x_train.f64 / x_test.f64 column-major little-endian f64,
y_*.f64, meta.json), then fits MLPClassifier(hidden (64, 32), adam, batch 256, exactly 20
epochs) and prints `name: value unit` lines: fit time and hold-out ROC AUC.
"""

import json
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.metrics import roc_auc_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
EPOCHS = 20


def frames():
    tr = pd.read_csv(os.path.join(ROOT, "examples/adult/adult_train.csv"))
    te = pd.read_csv(os.path.join(ROOT, "examples/adult/adult_test.csv"))
    y_tr = tr.pop("income").to_numpy(dtype=float)
    y_te = te.pop("income").to_numpy(dtype=float)
    num = [c for c in tr.columns if tr[c].dtype.kind in "if"]
    cat = [c for c in tr.columns if c not in num]
    ct = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()), num),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ),
                cat,
            ),
        ]
    )
    x_tr = ct.fit_transform(tr)
    x_te = ct.transform(te)
    return x_tr, y_tr, x_te, y_te, list(ct.get_feature_names_out())


def write(out, x_tr, y_tr, x_te, y_te, names):
    d = os.path.join(out, "adult")
    os.makedirs(d, exist_ok=True)
    np.asfortranarray(x_tr, dtype="<f8").T.tofile(os.path.join(d, "x_train.f64"))
    np.asfortranarray(x_te, dtype="<f8").T.tofile(os.path.join(d, "x_test.f64"))
    y_tr.astype("<f8").tofile(os.path.join(d, "y_train.f64"))
    y_te.astype("<f8").tofile(os.path.join(d, "y_test.f64"))
    meta = {
        "n_train": len(y_tr),
        "n_test": len(y_te),
        "n_features": x_tr.shape[1],
        "layout": "col_major",
        "features": names,
        "epochs": EPOCHS,
    }
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "bench/out/mlp"
    x_tr, y_tr, x_te, y_te, names = frames()
    write(out, x_tr, y_tr, x_te, y_te, names)
    warnings.filterwarnings("ignore")  # ConvergenceWarning: 20 epochs is the setting
    m = MLPClassifier(
        hidden_layer_sizes=(64, 32),
        activation="relu",
        solver="adam",
        learning_rate_init=1e-3,
        alpha=1e-4,
        batch_size=256,
        max_iter=EPOCHS,
        tol=0.0,
        n_iter_no_change=EPOCHS,
        shuffle=True,
        random_state=0,
    )
    t0 = time.perf_counter()
    m.fit(x_tr, y_tr)
    fit_s = time.perf_counter() - t0
    auc = roc_auc_score(y_te, m.predict_proba(x_te)[:, 1])
    print(f"sklearn_version: {sklearn.__version__}")
    print(f"mlp_data: {x_tr.shape[0]} x {x_tr.shape[1]} train, {x_te.shape[0]} test")
    print(f"sklearn_mlp_epochs: {m.n_iter_} epochs")
    print(f"sklearn_mlp_fit_s: {fit_s:.3f} s")
    print(f"sklearn_mlp_auc: {auc:.5f}")


if __name__ == "__main__":
    main()
