"""Reference runs of Fairlearn 0.15's `ExponentiatedGradient` for slipway-govern's port
(`src/mitigation/expgrad.rs`).

Run from the repository root (the Rust test reads the committed CSV and JSON):

    /work/venv-fairness/bin/python crates/slipway-govern/tests/reference/mitigation/make_expgrad.py

The fixture `expgrad_adult.csv` is 1500 rows drawn (seed 0) from the UCI Adult training
file (`/work/shared/data/adult/adult_train.csv`): `sex`, `race`, `label` (income > 50K),
six features z-scored and rounded to 6 decimals (what both sides read), and `cell`, a
discrete code of education x age band x sex.

Two kinds of base learner:

- `CellMajority` (cases `cell_*`): predicts, for each cell, 1 when the weighted count of
  label-1 rows there beats that of label-0 rows by more than 1e-9 of their sum (so that the
  exact ties the linear program's multipliers create are 0 on both sides, whatever the
  rounding). It is deterministic and simple to state
  exactly, so the Rust test runs the same learner and must reproduce Fairlearn's whole game:
  multipliers of every round, every answer (its table), weights, gaps, pmf.
- scikit-learn's `LogisticRegression` (cases `logistic_*`, lbfgs, C=1, tol 1e-10): Slipway's
  own logistic regression is a different implementation, so its answers agree to the
  solver's precision, not bit for bit; the test compares the resulting mixtures.
"""

import json
import os

import fairlearn
import numpy as np
import pandas as pd
import sklearn
from fairlearn.reductions import DemographicParity, EqualizedOdds, ExponentiatedGradient
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

HERE = os.path.dirname(os.path.abspath(__file__))
ADULT = "/work/shared/data/adult/adult_train.csv"
FEATURES = ["age", "education_num", "hours_per_week", "capital_gain", "capital_loss", "male"]
N_CELLS = 36
# Relative margin of the cell majority (see CellMajority.fit).
TIE_MARGIN = 1e-9
# Rows whose pmf the logistic cases record.
PMF_ROWS = 300


class CellMajority(ClassifierMixin, BaseEstimator):
    """Per cell (column 0 of X), the weighted majority label; ties and empty cells give 0."""

    def fit(self, X, y, sample_weight=None):
        cells = np.asarray(X)[:, 0].astype(int)
        y = np.asarray(y)
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        # bincount adds the weights in row order, as the Rust learner does.
        pos = np.bincount(cells, weights=np.where(y == 1, w, 0.0), minlength=N_CELLS)
        neg = np.bincount(cells, weights=np.where(y == 1, 0.0, w), minlength=N_CELLS)
        # A relative margin decides ties as 0: at the linear program's multipliers the
        # weighted counts of a cell tie in exact arithmetic, and rounding (summation order,
        # the solver's last bits) must not pick the side.
        self.table_ = (pos > neg + TIE_MARGIN * (pos + neg)).astype(int)
        self.classes_ = np.array([0, 1])
        return self

    def predict(self, X):
        return self.table_[np.asarray(X)[:, 0].astype(int)]


def fixture():
    df = pd.read_csv(ADULT).sample(n=1500, random_state=0).reset_index(drop=True)
    out = pd.DataFrame()
    raw = pd.DataFrame(
        {
            "age": df["age"].astype(float),
            "education_num": df["education_num"].astype(float),
            "hours_per_week": df["hours_per_week"].astype(float),
            "capital_gain": np.log1p(df["capital_gain"].astype(float)),
            "capital_loss": np.log1p(df["capital_loss"].astype(float)),
            "male": (df["sex"] == "Male").astype(float),
        }
    )
    for c in FEATURES:
        out[c] = ((raw[c] - raw[c].mean()) / raw[c].std()).round(6)
    edu = np.digitize(df["education_num"], [9, 10, 11, 13, 14])  # 0..5
    age = np.digitize(df["age"], [30, 46])  # 0..2
    out["cell"] = (edu * 3 + age) * 2 + (df["sex"] == "Male").astype(int)
    out["sex"] = df["sex"]
    out["race"] = df["race"]
    out["label"] = df["income"].astype(int)
    assert out["cell"].max() < N_CELLS
    return out


def constraint_ids(est):
    return [{"sign": s, "event": e, "group": g} for (s, e, g) in est.constraints_.index]


def run(df, case):
    moment = {"demographic_parity": DemographicParity, "equalized_odds": EqualizedOdds}[
        case["constraint"]
    ](difference_bound=case["difference_bound"])
    if case["learner"] == "cell_majority":
        X = df[["cell"]].to_numpy()
        learner = CellMajority()
    else:
        X = df[FEATURES].to_numpy()
        learner = LogisticRegression(C=1.0, tol=1e-10, max_iter=10000)
    est = ExponentiatedGradient(
        learner,
        moment,
        eps=case["eps"],
        max_iter=case["max_iter"],
        nu=case.get("nu"),
        eta0=case.get("eta0", 2.0),
        run_linprog_step=case.get("run_linprog_step", True),
    )
    est.fit(X, df["label"], sensitive_features=df[case["protected"]])
    n_h = len(est.predictors_)
    weights = [float(est.weights_[j]) for j in range(n_h)]
    predictors = []
    for j in range(n_h):
        p = est.predictors_[j]
        h = est._hs[j]
        pred = h(X)
        entry = {
            "error": float(np.mean(np.abs(df["label"].to_numpy() - pred))),
            "gamma": [float(v) for v in est.constraints_.gamma(h).to_numpy()],
            "lambda": [float(v) for v in est.lambda_vecs_[j].to_numpy()],
        }
        if type(p).__name__ == "DummyClassifier":
            entry["constant"] = int(p.constant)
        elif case["learner"] == "cell_majority":
            entry["table"] = [int(v) for v in p.table_]
        else:
            entry["coef"] = [float(v) for v in p.coef_[0]]
            entry["intercept"] = float(p.intercept_[0])
        predictors.append(entry)
    pmf = est._pmf_predict(X)[:, 1]
    if case["learner"] == "cell_majority":
        # Rows of one cell share their pmf: one value per cell (NaN-free; -1 for empty cells).
        by_cell = np.full(N_CELLS, -1.0)
        by_cell[X[:, 0].astype(int)] = pmf
        pmf_out = {"pmf_by_cell": [float(v) for v in by_cell]}
    else:
        pmf_out = {"pmf_first_rows": [float(v) for v in pmf[:PMF_ROWS]]}
    return {
        **case,
        "constraints": constraint_ids(est),
        "lambda_vecs_eg": [[float(v) for v in est.lambda_vecs_EG_[t]] for t in est.lambda_vecs_EG_],
        "lambda_vecs_lp": [[float(v) for v in est.lambda_vecs_LP_[t]] for t in est.lambda_vecs_LP_],
        "predictors": predictors,
        "weights": weights,
        "best_iter": int(est.best_iter_),
        "best_gap": float(est.best_gap_),
        "last_iter": int(est.last_iter_),
        "nu": float(est.nu),
        "n_oracle_calls": int(est.n_oracle_calls_),
        "n_oracle_calls_dummy_returned": int(est.n_oracle_calls_dummy_returned_),
        **pmf_out,
    }


def main():
    df = fixture()
    df.to_csv(os.path.join(HERE, "expgrad_adult.csv"), index=False)
    df = pd.read_csv(os.path.join(HERE, "expgrad_adult.csv"))
    base = {"difference_bound": 0.01, "eps": 0.01, "max_iter": 50}
    cases = {
        "cell_dp_sex": {**base, "learner": "cell_majority", "constraint": "demographic_parity", "protected": "sex"},
        "cell_eo_sex": {**base, "learner": "cell_majority", "constraint": "equalized_odds", "protected": "sex"},
        "cell_dp_race": {
            "learner": "cell_majority",
            "constraint": "demographic_parity",
            "protected": "race",
            "difference_bound": 0.02,
            "eps": 0.05,
            "max_iter": 30,
        },
        "cell_eo_race": {**base, "learner": "cell_majority", "constraint": "equalized_odds", "protected": "race"},
        "cell_dp_sex_no_lp": {
            **base,
            "learner": "cell_majority",
            "constraint": "demographic_parity",
            "protected": "sex",
            "run_linprog_step": False,
            "nu": 1e-6,
            "eta0": 1.0,
            "max_iter": 40,
        },
        "logistic_dp_sex": {**base, "learner": "logistic", "constraint": "demographic_parity", "protected": "sex"},
        "logistic_eo_sex": {**base, "learner": "logistic", "constraint": "equalized_odds", "protected": "sex"},
    }
    out = {
        "fairlearn": fairlearn.__version__,
        "sklearn": sklearn.__version__,
        "features": FEATURES,
        "n_cells": N_CELLS,
        "tie_margin": TIE_MARGIN,
        "cases": {name: run(df, case) for name, case in cases.items()},
    }
    with open(os.path.join(HERE, "expgrad.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    for name, c in out["cases"].items():
        print(
            f"{name}: {len(c['predictors'])} answers, best_iter {c['best_iter']}, "
            f"last_iter {c['last_iter']}, gap {c['best_gap']:.3g}, nu {c['nu']:.3g}, "
            f"used {sum(w > 0 for w in c['weights'])}"
        )


if __name__ == "__main__":
    main()
