"""Reference per-group thresholds for slipway-govern's post-processing, computed with
Fairlearn 0.15's `ThresholdOptimizer`.

Run from the repository root (the Rust test reads the committed JSON):

    /work/venv-fairness/bin/python crates/slipway-govern/tests/reference/mitigation/make_thresholds.py

The scores are the committed Adult fixture's (`../fairness_adult.csv`: a logistic
regression's positive-class probability for 4000 test rows, with `sex` and `race`). They are
fed to Fairlearn through a prefit wrapper whose `predict_proba` returns them, so Fairlearn
post-processes exactly the scores Slipway does. For each case (constraint × column) the JSON
holds `x_best`, `y_best` and, per group, the interpolation Fairlearn chose (`p0`,
`threshold0`, `p1`, `threshold1`, `p_ignore`), plus the expected selection rate per group and
the expected accuracy of `_pmf_predict` (the probabilities, before the random draw).

`objective="balanced_accuracy_score"` cases are keyed `column/constraint/balanced_accuracy_score`.

`split`: Fairlearn fitted on the first 2000 rows (by `sex`) and applied to the other 2000, as
a trained model's thresholds are applied to new rows: the per-row probabilities of the held-out
rows (`_pmf_predict`), and disparity and accuracy of the model's own labels (score > 0.5) and
of Fairlearn's randomized `predict(random_state=SEED)` on them (fairlearn.metrics).
"""

import json
import math
import os

import fairlearn
import numpy as np
import pandas as pd
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference
from fairlearn.postprocessing import ThresholdOptimizer
from sklearn.base import BaseEstimator, ClassifierMixin

HERE = os.path.dirname(os.path.abspath(__file__))


class GivenScores(ClassifierMixin, BaseEstimator):
    """A fitted 'model' whose positive-class probability is the score of row X[:, 0]."""

    def __init__(self, scores=None):
        self.scores = scores

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        self.fitted_ = True
        return self

    def predict_proba(self, X):
        s = np.asarray(self.scores)[np.asarray(X)[:, 0].astype(int)]
        return np.column_stack([1.0 - s, s])

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] > 0.5).astype(int)


def num(x):
    x = float(x)
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


SEED = 42


def case(scores, y, sf, constraint, objective="accuracy_score"):
    est = GivenScores(scores).fit(None, None)
    X = np.arange(len(y)).reshape(-1, 1)
    to = ThresholdOptimizer(
        estimator=est,
        constraints=constraint,
        objective=objective,
        grid_size=1000,
        prefit=True,
        predict_method="predict_proba",
    )
    to.fit(X, y, sensitive_features=sf)
    groups = {}
    for g, b in to.interpolated_thresholder_.interpolation_dict.items():
        assert b.operation0.operator == ">" and b.operation1.operator == ">"
        groups[str(g)] = {
            "p0": float(b.p0),
            "threshold0": num(b.operation0.threshold),
            "p1": float(b.p1),
            "threshold1": num(b.operation1.threshold),
            "p_ignore": float(b.get("p_ignore", 0.0)),
        }
    pmf = to._pmf_predict(X, sensitive_features=sf)[:, 1]
    sel = {str(g): float(pmf[sf == g].mean()) for g in groups}
    acc = float(np.mean(pmf * y + (1.0 - pmf) * (1 - y)))
    return to, {
        "x_best": float(to._x_best),
        "y_best": float(to._y_best),
        "groups": groups,
        "expected_selection_rate": sel,
        "expected_accuracy": acc,
    }


def metrics(y, pred, sf):
    return {
        "demographic_parity_difference": float(
            demographic_parity_difference(y, pred, sensitive_features=sf)
        ),
        "equalized_odds_difference": float(
            equalized_odds_difference(y, pred, sensitive_features=sf)
        ),
        "accuracy": float(np.mean(pred == y)),
    }


def split(fx, y, s):
    """Fit on the first half by sex, apply to the second."""
    half = len(y) // 2
    sf = fx["sex"].to_numpy().astype(str)
    out = {"fit_rows": half, "seed": SEED}
    for c in ["demographic_parity", "equalized_odds"]:
        to, _ = case(s[:half], y[:half], sf[:half], c)
        # The wrapper scores row X[:, 0] of the whole fixture.
        X = np.arange(half, len(y)).reshape(-1, 1)
        to.estimator_.scores = s
        pmf = to._pmf_predict(X, sensitive_features=sf[half:])[:, 1]
        pred = to.predict(X, sensitive_features=sf[half:], random_state=SEED)
        raw = (s[half:] > 0.5).astype(int)
        out[c] = {
            "probabilities": [float(p) for p in pmf],
            "before": metrics(y[half:], raw, sf[half:]),
            "after": metrics(y[half:], np.asarray(pred).astype(int), sf[half:]),
        }
    return out


def main():
    fx = pd.read_csv(os.path.join(HERE, "..", "fairness_adult.csv"))
    y = fx["label"].to_numpy().astype(int)
    s = fx["score"].to_numpy()
    cases = {}
    for col in ["sex", "race"]:
        sf = fx[col].to_numpy().astype(str)
        for c in ["demographic_parity", "equalized_odds"]:
            cases[f"{col}/{c}"] = case(s, y, sf, c)[1]
            cases[f"{col}/{c}/balanced_accuracy_score"] = case(
                s, y, sf, c, "balanced_accuracy_score"
            )[1]
    out = {"fairlearn": fairlearn.__version__, "cases": cases, "split": split(fx, y, s)}
    with open(os.path.join(HERE, "thresholds.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
