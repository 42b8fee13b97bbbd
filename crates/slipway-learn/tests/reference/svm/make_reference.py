"""Generate scikit-learn reference outputs for Slipway's support vector machines
(`tests/svm.rs`).

Run with the reference venv:

    /tmp/refvenv/bin/python crates/slipway-learn/tests/reference/svm/make_reference.py

Writes `sklearn_svm.json` next to this script: the inputs (standardized, rounded to 6
decimals, so the JSON holds exactly what scikit-learn saw) and scikit-learn's outputs, plus
the versions. Cases:

- breast cancer (`examples/breast_cancer`), first 400 rows to fit, the other 169 to score:
  `SVC(probability=True)` with the linear kernel, the RBF kernel (gamma="scale"), and the
  RBF kernel with class_weight="balanced", C=2 and sample weights (some 0);
- diabetes (`examples/diabetes`), X and y standardized, first 300 rows to fit: `SVR` with
  the RBF kernel (C=3, epsilon=0.1) and the linear kernel (C=0.5, epsilon=0.2);
- wine (`sklearn.datasets.load_wine`, 3 classes), every second row to fit:
  `SVC(probability=True, decision_function_shape="ovo")`, RBF with gamma="auto".

Outputs per case: dual_coef_, intercept_, n_support_, support_, n_iter_, the decision
function and (classifiers) predict_proba on the fit rows and the scored rows.
"""

import json
import warnings
import os

import numpy as np
import pandas as pd
import scipy
import sklearn
from sklearn.datasets import load_wine
from sklearn.svm import SVC, SVR

warnings.simplefilter("ignore")  # SVC(probability=True) is deprecated in 1.9; still what we match
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../../../../.."))


def fl(a):
    return [float(v) for v in np.asarray(a, dtype=float).ravel()]


def rows(x):
    return [fl(r) for r in x]


def standardize(x):
    return np.round((x - x.mean(axis=0)) / x.std(axis=0), 6)


def read(name):
    df = pd.read_csv(os.path.join(ROOT, "examples", name))
    y = df.pop("target").to_numpy()
    return df.to_numpy(dtype=float), y


def outputs(model, x_all, classifier):
    out = {
        "dual_coef": rows(model.dual_coef_),
        "intercept": fl(model.intercept_),
        "n_support": [int(v) for v in model.n_support_],
        "support": [int(v) for v in model.support_],
        "n_iter": [int(v) for v in np.atleast_1d(model.n_iter_)],
        "gamma": float(model._gamma),
    }
    if classifier:
        dec = model.decision_function(x_all)
        out["decision"] = rows(dec.reshape(len(x_all), -1))
        out["proba"] = rows(model.predict_proba(x_all))
    else:
        out["decision"] = [[v] for v in fl(model.predict(x_all))]
    return out


def main():
    ref = {
        "versions": {
            "sklearn": sklearn.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
        },
        "data": {},
        "cases": {},
    }

    x, y = read("breast_cancer/breast_cancer.csv")
    x = standardize(x)
    y = y.astype(int)
    n_fit = 400
    rng = np.random.default_rng(7)
    w = np.round(rng.uniform(0.5, 2.0, n_fit), 3)
    w[rng.choice(n_fit, 10, replace=False)] = 0.0
    ref["data"]["breast_cancer"] = {
        "x": rows(x), "y": [int(v) for v in y], "n_fit": n_fit, "weights": fl(w),
    }
    cases = {
        "bc_linear": (dict(kernel="linear", C=1.0), None),
        "bc_rbf": (dict(kernel="rbf", C=1.0, gamma="scale"), None),
        "bc_rbf_weighted": (dict(kernel="rbf", C=2.0, class_weight="balanced"), w),
    }
    for name, (params, sw) in cases.items():
        m = SVC(probability=True, random_state=0, tol=1e-3, **params)
        m.fit(x[:n_fit], y[:n_fit], sample_weight=sw)
        ref["cases"][name] = {"data": "breast_cancer", "params": params, **outputs(m, x, True)}

    xd, yd = read("diabetes/diabetes.csv")
    xd = standardize(xd)
    yd = np.round((yd - yd.mean()) / yd.std(), 6)
    n_fit_d = 300
    ref["data"]["diabetes"] = {"x": rows(xd), "y": fl(yd), "n_fit": n_fit_d}
    for name, params in {
        "diabetes_rbf": dict(kernel="rbf", C=3.0, epsilon=0.1),
        "diabetes_linear": dict(kernel="linear", C=0.5, epsilon=0.2),
    }.items():
        m = SVR(tol=1e-3, **params).fit(xd[:n_fit_d], yd[:n_fit_d])
        ref["cases"][name] = {"data": "diabetes", "params": params, **outputs(m, xd, False)}

    xw, yw = load_wine(return_X_y=True)
    xw = standardize(xw)
    order = np.r_[np.arange(0, len(xw), 2), np.arange(1, len(xw), 2)]
    xw, yw = xw[order], yw[order]
    n_fit_w = (len(xw) + 1) // 2
    ref["data"]["wine"] = {"x": rows(xw), "y": [int(v) for v in yw], "n_fit": n_fit_w}
    params = dict(kernel="rbf", C=1.0, gamma="auto")
    m = SVC(probability=True, random_state=0, decision_function_shape="ovo", **params)
    m.fit(xw[:n_fit_w], yw[:n_fit_w])
    ref["cases"]["wine_rbf"] = {"data": "wine", "params": params, **outputs(m, xw, True)}

    with open(os.path.join(HERE, "sklearn_svm.json"), "w") as f:
        json.dump(ref, f, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
