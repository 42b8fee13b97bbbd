#!/usr/bin/env python3
"""Reference numbers for calibration, class weights and successive halving.

Run with scikit-learn 1.9.1 (e.g. /tmp/refvenv/bin/python or bench/.venv/bin/python):

    python crates/slipway-learn/tests/reference/calibration/make_reference.py

Writes reference.json next to this script:
- sigmoid: scikit-learn's private `_sigmoid_calibration(scores, y)` -> (a, b) (Platt scaling
  as used by CalibratedClassifierCV(method="sigmoid")), on probabilities and on decision
  values larger than 30 (which scikit-learn rescales).
- isotonic: IsotonicRegression(out_of_bounds="clip").fit(x, y).predict(x_test), with ties
  in x and test points outside the fitted range.
- calibration_curve: calibration_curve(y, p, n_bins, strategy="uniform"), including
  probabilities exactly on bin edges.
- sample_weight: compute_sample_weight(class_weight, y).
- halving: n_resources_ and n_candidates_ of HalvingGridSearchCV for several settings.
"""

import json
import os
import warnings

import numpy as np
import sklearn
from sklearn.calibration import _sigmoid_calibration, calibration_curve
from sklearn.datasets import make_classification
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import HalvingGridSearchCV
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.class_weight import compute_sample_weight

warnings.filterwarnings("ignore")
rng = np.random.default_rng(0)
out = {"sklearn_version": sklearn.__version__}

# Sigmoid calibration.
sig = []
for name, n, scale in (("proba", 300, None), ("decision", 200, 40.0), ("small", 12, None)):
    y = rng.integers(0, 2, n)
    if scale is None:
        s = np.clip(0.35 * y + 0.65 * rng.random(n), 0, 1)
    else:
        s = scale * (y - 0.5) + rng.normal(0, 25.0, n)
    a, b = _sigmoid_calibration(s, y)
    sig.append({"name": name, "scores": s.tolist(), "labels": y.tolist(), "a": float(a), "b": float(b)})
out["sigmoid"] = sig

# Isotonic regression.
iso = []
for name, n in (("random", 200), ("ties", 60)):
    if name == "ties":
        x = np.round(rng.random(n), 1)
    else:
        x = rng.random(n)
    y = (rng.random(n) < x).astype(float)
    x_test = np.concatenate([[-0.5, 1.5], rng.random(50), x[:10]])
    ir = IsotonicRegression(out_of_bounds="clip").fit(x, y)
    iso.append({"name": name, "x": x.tolist(), "y": y.tolist(), "x_test": x_test.tolist(),
                "predicted": ir.predict(x_test).tolist()})
out["isotonic"] = iso

# Reliability curve.
curves = []
for n_bins in (5, 10):
    p = np.concatenate([rng.random(300), [0.0, 0.2, 0.4, 0.5, 0.6, 1.0]])
    y = (rng.random(p.shape[0]) < p).astype(int)
    pt, pp = calibration_curve(y, p, n_bins=n_bins, strategy="uniform")
    curves.append({"n_bins": n_bins, "y_true": y.tolist(), "y_prob": p.tolist(),
                   "prob_true": pt.tolist(), "prob_pred": pp.tolist()})
out["calibration_curve"] = curves

# Class weights -> sample weights.
y = np.array(["a"] * 7 + ["b"] * 2 + ["c"] * 3)
out["sample_weight"] = [
    {"classes": ["a", "b", "c"], "y": y.tolist(), "class_weight": "balanced",
     "weights": compute_sample_weight("balanced", y).tolist()},
    {"classes": ["a", "b", "c"], "y": y.tolist(), "class_weight": {"b": 5.0, "c": 0.5},
     "weights": compute_sample_weight({"b": 5.0, "c": 0.5}, y).tolist()},
]

# Successive halving schedules.
X, yy = make_classification(n_samples=1000, n_features=5, random_state=0)
halving = []
grid10 = {"C": [0.001, 0.01, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0]}
for factor, min_res, aggressive in ((3, "exhaust", False), (3, "smallest", False),
                                    (2, "smallest", False), (3, 50, True), (2.5, "exhaust", False)):
    h = HalvingGridSearchCV(LogisticRegression(max_iter=200), grid10, factor=factor,
                            min_resources=min_res, aggressive_elimination=aggressive,
                            cv=5, random_state=0).fit(X, yy)
    halving.append({"n_candidates_start": 10, "factor": factor, "min_resources": min_res,
                    "aggressive_elimination": aggressive, "resource": "n_samples",
                    "n_samples": 1000, "n_classes": 2, "folds": 5,
                    "max_resources": int(h.max_resources_), "min_resources_": int(h.min_resources_),
                    "n_resources_": [int(r) for r in h.n_resources_],
                    "n_candidates_": [int(c) for c in h.n_candidates_],
                    "n_required_iterations_": int(h.n_required_iterations_),
                    "n_possible_iterations_": int(h.n_possible_iterations_)})
grid27 = {"min_samples_leaf": list(range(1, 28))}
h = HalvingGridSearchCV(DecisionTreeClassifier(random_state=0), grid27, factor=3,
                        resource="max_depth", max_resources=40, min_resources="exhaust",
                        cv=5, random_state=0).fit(X, yy)
halving.append({"n_candidates_start": 27, "factor": 3, "min_resources": "exhaust",
                "aggressive_elimination": False, "resource": "max_depth", "n_samples": 1000,
                "n_classes": 2, "folds": 5, "max_resources": 40,
                "min_resources_": int(h.min_resources_),
                "n_resources_": [int(r) for r in h.n_resources_],
                "n_candidates_": [int(c) for c in h.n_candidates_],
                "n_required_iterations_": int(h.n_required_iterations_),
                "n_possible_iterations_": int(h.n_possible_iterations_)})
out["halving"] = halving

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
print("wrote", path)
