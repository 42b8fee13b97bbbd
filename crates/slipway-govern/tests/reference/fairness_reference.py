"""Reference figures for slipway-govern's fairness metrics, computed with Fairlearn.

Run from the repository root (CI does not; the Rust tests read the committed JSON):

    /work/venv-fairness/bin/python crates/slipway-govern/tests/reference/fairness_reference.py

Writes `fairness_adult.csv` (a logistic regression's predictions on the first 4000 rows of
Adult's test split, with `sex` and `race`) and `fairness_reference.json` (per-group metrics
via `fairlearn.metrics.MetricFrame` and the between-group summaries via Fairlearn's
functions, for the Adult fixture by sex, race and sex × race, and for hand-made edge cases).
Missing protected values are filled with "(missing)" first: pandas' groupby would drop them.
"""

import json
import math
import os
import platform
import warnings

import fairlearn
import numpy as np
import pandas as pd
import sklearn
import sklearn.metrics as skm
from sklearn.calibration import calibration_curve
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

warnings.filterwarnings("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = "/work/shared/data/adult"
MISSING = "(missing)"


def num(x):
    x = float(x)
    return None if math.isnan(x) else x


def roc_auc(y_true, y_score):
    if len(np.unique(y_true)) < 2:
        return float("nan")
    return skm.roc_auc_score(y_true, y_score)


def calibration_error(y_true, y_prob, n_bins=10):
    """Expected calibration error over scikit-learn's `calibration_curve` uniform bins: the
    row-weighted mean of |mean score - share of positives| per non-empty bin."""
    prob_true, prob_pred = calibration_curve(y_true, y_prob, n_bins=n_bins, strategy="uniform")
    bins = np.linspace(0.0, 1.0, n_bins + 1)
    counts = np.bincount(np.searchsorted(bins[1:-1], y_prob), minlength=n_bins)
    counts = counts[counts > 0]
    return float(np.sum(counts / len(y_prob) * np.abs(prob_true - prob_pred)))


def reference(y_true, y_pred, score, sf):
    """Fairlearn's figures for one attribute (sf: a DataFrame of protected columns)."""
    sf = sf.fillna(MISSING).astype(str)
    y_true = np.asarray(y_true, dtype=int)
    y_pred = np.asarray(y_pred, dtype=int)
    metrics = {
        "count": skm.accuracy_score,  # replaced by MetricFrame's count below
        "selection_rate": selection_rate,
        "accuracy": skm.accuracy_score,
        "true_positive_rate": true_positive_rate,
        "false_positive_rate": false_positive_rate,
        "false_negative_rate": false_negative_rate,
        "precision": skm.precision_score,
    }
    del metrics["count"]
    mf = MetricFrame(metrics=metrics, y_true=y_true, y_pred=y_pred, sensitive_features=sf)
    groups = []
    for key, row in mf.by_group.iterrows():
        key = key if isinstance(key, tuple) else (key,)
        mask = np.ones(len(y_true), dtype=bool)
        for c, v in zip(sf.columns, key):
            mask &= (sf[c] == v).to_numpy()
        g = {"group": " | ".join(key), "count": int(mask.sum())}
        for m in metrics:
            g[m] = num(row[m])
        g["roc_auc"] = num(roc_auc(y_true[mask], np.asarray(score)[mask])) if score is not None else None
        # base rate: Fairlearn's selection_rate of the labels themselves.
        g["base_rate"] = num(selection_rate(y_true[mask], y_true[mask]))
        if score is not None:
            s = np.asarray(score, dtype=float)[mask]
            g["mean_score"] = num(np.mean(s))
            g["brier_score"] = num(skm.brier_score_loss(y_true[mask], s, pos_label=1))
            g["calibration_error"] = calibration_error(y_true[mask], s)
        groups.append(g)
    kw = {"sensitive_features": sf}
    summary = {
        "demographic_parity_difference": num(demographic_parity_difference(y_true, y_pred, **kw)),
        "demographic_parity_ratio": num(demographic_parity_ratio(y_true, y_pred, **kw)),
        "equalized_odds_difference": num(equalized_odds_difference(y_true, y_pred, **kw)),
        "equalized_odds_ratio": num(equalized_odds_ratio(y_true, y_pred, **kw)),
        "equal_opportunity_difference": num(equal_opportunity_difference(y_true, y_pred, **kw)),
    }
    return {"columns": list(sf.columns), "groups": groups, "summary": summary}


def adult():
    train = pd.read_csv(f"{DATA}/adult_train.csv")
    test = pd.read_csv(f"{DATA}/adult_test.csv").iloc[:4000]
    y = "income"
    features = [c for c in train.columns if c not in (y, "sex", "race")]
    cats = [c for c in features if not pd.api.types.is_numeric_dtype(train[c])]
    nums = [c for c in features if c not in cats]
    model = make_pipeline(
        ColumnTransformer(
            [("c", OneHotEncoder(handle_unknown="ignore"), cats), ("n", StandardScaler(), nums)]
        ),
        LogisticRegression(max_iter=2000),
    )
    model.fit(train[features], train[y])
    score = model.predict_proba(test[features])[:, 1]
    pred = (score >= 0.5).astype(int)
    fixture = pd.DataFrame(
        {"label": test[y].astype(int), "prediction": pred, "score": score, "sex": test["sex"], "race": test["race"]}
    )
    fixture.to_csv(os.path.join(HERE, "fairness_adult.csv"), index=False, float_format="%.17g")
    # Re-read so the reference sees exactly the committed numbers.
    fx = pd.read_csv(os.path.join(HERE, "fairness_adult.csv"))
    out = []
    for cols in (["sex"], ["race"], ["sex", "race"]):
        out.append(reference(fx["label"], fx["prediction"], fx["score"].to_numpy(), fx[cols]))
    return out


def edge(name, y_true, y_pred, score, groups):
    sf = pd.DataFrame({"g": pd.Series(groups, dtype=object)})
    r = reference(y_true, y_pred, score, sf)
    r.update(
        {"name": name, "y_true": y_true, "y_pred": y_pred, "score": score, "protected": groups}
    )
    return r


def edges():
    return [
        # b holds negatives only (TPR/FNR 0 by convention, AUC undefined); c is one row.
        edge(
            "one_class_group_and_size_one",
            [1, 0, 1, 0, 0, 0, 0, 1],
            [1, 0, 0, 1, 0, 1, 0, 1],
            [0.9, 0.2, 0.4, 0.6, 0.1, 0.7, 0.3, 0.8],
            ["a", "a", "a", "a", "b", "b", "b", "c"],
        ),
        # nobody is selected: the demographic parity ratio is 0/0.
        edge("zero_selection", [1, 0, 1, 0, 1], [0, 0, 0, 0, 0], [0.4, 0.1, 0.3, 0.2, 0.45], ["a", "a", "b", "b", "b"]),
        # no actual positives anywhere: the TPR ratio is 0/0, so is the equalized odds ratio.
        edge("no_positives", [0, 0, 0, 0], [1, 0, 1, 1], [0.6, 0.2, 0.7, 0.9], ["a", "a", "b", "b"]),
        # no actual negatives anywhere: the FPR ratio is 0/0; Fairlearn's min() keeps the TPR one.
        edge("no_negatives", [1, 1, 1, 1, 1], [1, 0, 1, 1, 0], [0.6, 0.2, 0.7, 0.9, 0.3], ["a", "a", "b", "b", "b"]),
        # missing protected values form their own group; tied scores.
        edge(
            "missing_values_and_ties",
            [1, 0, 1, 1, 0, 0, 1, 0, 1],
            [1, 1, 0, 1, 0, 0, 1, 0, 0],
            [0.5, 0.5, 0.5, 0.8, 0.2, 0.2, 0.7, 0.3, 0.3],
            ["x", None, "x", None, "y", "x", "y", None, "y"],
        ),
        # scores on the calibration bins' edges (0.1 falls in the first bin, 0.3 below the
        # edge 3 * 0.1 = 0.30000000000000004), 0 and 1.
        edge(
            "scores_on_bin_edges",
            [0, 0, 1, 0, 1, 1, 0, 1, 1, 0],
            [0, 0, 0, 0, 1, 1, 1, 1, 0, 1],
            [0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0, 0.35, 0.6],
            ["a", "b", "a", "b", "a", "b", "a", "b", "a", "b"],
        ),
    ]


if __name__ == "__main__":
    result = {
        "versions": {
            "python": platform.python_version(),
            "fairlearn": fairlearn.__version__,
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
        },
        "adult": adult(),
        "edge_cases": edges(),
    }
    with open(os.path.join(HERE, "fairness_reference.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result["adult"][0]["summary"]), json.dumps(result["versions"]))
