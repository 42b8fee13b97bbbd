"""scikit-learn side of the logistic-regression benchmark.

Usage: python bench/linear/reference.py OUT_DIR [--repeats N]

Creates `make_classification(n_samples=400_000, n_features=28, random_state=0)`, splits it
80/20 with `train_test_split(random_state=0)`, standardizes with a `StandardScaler` fitted on
the train part, and writes to OUT_DIR:

- x_train.f64, x_test.f64: little-endian f64, column-major (one feature after another);
- y_train.f64, y_test.f64: little-endian f64 labels (0/1);
- shapes.json: sizes, layout and the hyperparameters;
- sklearn_coef.json: scikit-learn's coefficients and intercept.

Then times `LogisticRegression(solver="lbfgs")` (best of N fits, 2 BLAS/OpenMP threads) and
prints `name: value unit` lines.
"""

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "2"

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

C, TOL, MAX_ITER = 1.0, 1e-4, 100


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)

    x, y = make_classification(n_samples=400_000, n_features=28, random_state=0)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, random_state=0)
    scaler = StandardScaler().fit(x_tr)
    x_tr, x_te = scaler.transform(x_tr), scaler.transform(x_te)

    def write(name, a):
        # Column-major: the transpose of a C-ordered matrix, written row by row.
        np.ascontiguousarray(a.T if a.ndim == 2 else a, dtype="<f8").tofile(
            os.path.join(args.out_dir, name)
        )

    write("x_train.f64", x_tr)
    write("x_test.f64", x_te)
    write("y_train.f64", y_tr.astype(float))
    write("y_test.f64", y_te.astype(float))
    shapes = {
        "n_train": int(x_tr.shape[0]),
        "n_test": int(x_te.shape[0]),
        "n_features": int(x_tr.shape[1]),
        "layout": "column-major little-endian f64",
        "c": C,
        "tol": TOL,
        "max_iter": MAX_ITER,
        "sklearn_version": sklearn.__version__,
    }
    with open(os.path.join(args.out_dir, "shapes.json"), "w") as f:
        json.dump(shapes, f, indent=1)

    times = []
    model = None
    for _ in range(args.repeats):
        model = LogisticRegression(C=C, tol=TOL, max_iter=MAX_ITER, solver="lbfgs")
        t0 = time.perf_counter()
        model.fit(x_tr, y_tr)
        times.append(time.perf_counter() - t0)
    with open(os.path.join(args.out_dir, "sklearn_coef.json"), "w") as f:
        json.dump({"coef": model.coef_[0].tolist(), "intercept": float(model.intercept_[0])}, f)

    acc = float((model.predict(x_te) == y_te).mean())
    print(f"sklearn_version: {sklearn.__version__}")
    print(f"sklearn_logreg_fit_s: {min(times):.4f} s")
    print(f"sklearn_logreg_fit_all_s: {' '.join(f'{t:.4f}' for t in times)} s")
    print(f"sklearn_logreg_n_iter: {int(model.n_iter_[0])} iterations")
    print(f"sklearn_logreg_test_accuracy: {acc:.6f} fraction")
    print(f"sklearn_logreg_coef_head: {' '.join(f'{v:.6f}' for v in model.coef_[0][:4])} value")


if __name__ == "__main__":
    main()
