"""Slipway's per-group thresholds on Adult by sex against Fairlearn 0.15's ThresholdOptimizer
on the same scores and the same split.

Usage (bench/fairness/run.sh calls it):
    compare.py CONSTRAINT SCORES_CSV PREDICTIONS_CSV SEED

SCORES_CSV is `threshold_scores.csv` from `slipway train` (group, label, out-of-fold score of
every training row: the numbers Slipway's thresholds were fitted on); PREDICTIONS_CSV is
`slipway predict --keep sex,income` on the held-out file. Fairlearn is fitted on the same
training scores (through a prefit wrapper that returns them) and applied to the held-out
rows' raw scores (`probability_1`). Prints one JSON object: the largest difference between
Slipway's `mitigated_probability` and Fairlearn's `_pmf_predict`, and demographic parity
difference, equalized odds difference and accuracy before (the model's own labels) and after
(Slipway's seeded draws; Fairlearn's `predict(random_state=SEED)`).
"""

import json
import sys

import fairlearn
import numpy as np
import pandas as pd
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference
from fairlearn.postprocessing import ThresholdOptimizer
from sklearn.base import BaseEstimator, ClassifierMixin


class GivenScores(ClassifierMixin, BaseEstimator):
    """A fitted 'model' whose positive-class probability is scores[X[:, 0]]."""

    def __init__(self, scores=None):
        self.scores = scores

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        s = np.asarray(self.scores)[np.asarray(X)[:, 0].astype(int)]
        return np.column_stack([1.0 - s, s])

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] > 0.5).astype(int)


def metrics(y, pred, sf):
    return {
        "demographic_parity_difference": float(
            demographic_parity_difference(y, pred, sensitive_features=sf)
        ),
        "equalized_odds_difference": float(
            equalized_odds_difference(y, pred, sensitive_features=sf)
        ),
        "accuracy": float(np.mean(np.asarray(pred) == np.asarray(y))),
    }


def main():
    constraint, scores_csv, predictions_csv, seed = sys.argv[1:5]
    fit = pd.read_csv(scores_csv, dtype={"group": str})
    test = pd.read_csv(predictions_csv, dtype={"sex": str})
    est = GivenScores(fit["score"].to_numpy()).fit(None, None)
    to = ThresholdOptimizer(
        estimator=est,
        constraints=constraint,
        objective="accuracy_score",
        grid_size=1000,
        prefit=True,
        predict_method="predict_proba",
    )
    to.fit(np.arange(len(fit)).reshape(-1, 1), fit["label"].to_numpy(), sensitive_features=fit["group"].to_numpy())
    est.scores = test["probability_1"].to_numpy()
    X = np.arange(len(test)).reshape(-1, 1)
    sf = test["sex"].to_numpy()
    pmf = to._pmf_predict(X, sensitive_features=sf)[:, 1]
    theirs = np.asarray(to.predict(X, sensitive_features=sf, random_state=int(seed))).astype(int)
    y = test["income"].to_numpy().astype(int)
    out = {
        "fairlearn": fairlearn.__version__,
        "constraint": constraint,
        "fit_rows": int(len(fit)),
        "held_out_rows": int(len(test)),
        "max_abs_probability_difference": float(
            np.max(np.abs(pmf - test["mitigated_probability"].to_numpy()))
        ),
        "before": metrics(y, test["prediction_unmitigated"].to_numpy().astype(int), sf),
        "slipway": metrics(y, test["prediction"].to_numpy().astype(int), sf),
        "fairlearn_after": metrics(y, theirs, sf),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
