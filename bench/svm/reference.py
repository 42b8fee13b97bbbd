"""scikit-learn side of the SVM benchmark (see `bench/svm/run.sh`).

Usage: python bench/svm/reference.py OUT_DIR [--n-train N] [--n-test N] [--repeats R]

Takes the first N_TRAIN rows of `examples/adult/adult_train.csv` and the first N_TEST rows of
`adult_test.csv`, one-hot encodes the categorical columns and standardizes every column
(encoder and scaler fitted on the training rows; one-hot columns standardized too, as
Slipway's linear preprocessing does), and writes to OUT_DIR:

- x_train.f64, x_test.f64: little-endian f64, column-major (one feature after another);
- y_train.f64, y_test.f64: labels 0/1;
- shapes.json: sizes and hyperparameters.

Then times `SVC(kernel=..., probability=True)` fit (5-fold internal CV for Platt scaling plus
the final machine, libsvm is single-threaded) and `predict_proba` on the test rows for the
RBF and the linear kernel (best of R), and prints `name: value unit` lines.
"""

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "2"

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import sklearn  # noqa: E402
from sklearn.metrics import accuracy_score, roc_auc_score  # noqa: E402
from sklearn.svm import SVC  # noqa: E402

warnings.simplefilter("ignore")  # probability=True is deprecated in 1.9; it is what we compare
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
C, TOL, CACHE_MB = 1.0, 1e-3, 200


def best_of(n, f):
    times, out = [], None
    for _ in range(n):
        t0 = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--n-train", type=int, default=10_000)
    ap.add_argument("--n-test", type=int, default=5_000)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)

    tr = pd.read_csv(os.path.join(ROOT, "examples/adult/adult_train.csv")).head(args.n_train)
    te = pd.read_csv(os.path.join(ROOT, "examples/adult/adult_test.csv")).head(args.n_test)
    y_tr, y_te = tr.pop("income").to_numpy(), te.pop("income").to_numpy()
    cats = [c for c in tr.columns if not pd.api.types.is_numeric_dtype(tr[c])]
    both = pd.get_dummies(pd.concat([tr, te]), columns=cats, dtype=float)
    x_tr = both.iloc[: len(tr)].to_numpy(dtype=float)
    x_te = both.iloc[len(tr):].to_numpy(dtype=float)
    # Only columns seen in training (a one-hot column of test-only categories is dropped).
    seen = x_tr.std(axis=0) > 0
    x_tr, x_te = x_tr[:, seen], x_te[:, seen]
    mu, sd = x_tr.mean(axis=0), x_tr.std(axis=0)
    x_tr, x_te = (x_tr - mu) / sd, (x_te - mu) / sd

    def write(name, a):
        np.ascontiguousarray(a.T if a.ndim == 2 else a, dtype="<f8").tofile(
            os.path.join(args.out_dir, name)
        )

    write("x_train.f64", x_tr)
    write("x_test.f64", x_te)
    write("y_train.f64", y_tr.astype(float))
    write("y_test.f64", y_te.astype(float))
    shapes = {
        "n_train": int(x_tr.shape[0]), "n_test": int(x_te.shape[0]),
        "n_features": int(x_tr.shape[1]), "c": C, "tol": TOL, "cache_size_mb": CACHE_MB,
        "sklearn_version": sklearn.__version__,
    }
    with open(os.path.join(args.out_dir, "shapes.json"), "w") as f:
        json.dump(shapes, f, indent=1)

    print(f"sklearn_version: {sklearn.__version__}")
    print(f"svm_rows: {x_tr.shape[0]} rows")
    print(f"svm_features: {x_tr.shape[1]} features")
    for kernel in ("rbf", "linear"):
        def fit():
            return SVC(kernel=kernel, C=C, tol=TOL, cache_size=CACHE_MB, probability=True,
                       random_state=0).fit(x_tr, y_tr)

        t_fit, m = best_of(args.repeats, fit)
        t_pred, proba = best_of(args.repeats, lambda: m.predict_proba(x_te))
        acc = accuracy_score(y_te, proba.argmax(axis=1))
        auc = roc_auc_score(y_te, proba[:, 1])
        print(f"sklearn_{kernel}_fit_s: {t_fit:.3f} s")
        print(f"sklearn_{kernel}_predict_s: {t_pred:.4f} s")
        print(f"sklearn_{kernel}_accuracy: {acc:.4f} fraction")
        print(f"sklearn_{kernel}_auc: {auc:.4f} value")
        print(f"sklearn_{kernel}_n_support: {int(m.n_support_.sum())} vectors")
        print(f"sklearn_{kernel}_n_iter: {int(m.n_iter_.sum())} iterations")


if __name__ == "__main__":
    main()
