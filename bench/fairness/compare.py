"""The table of bench/fairness: every model's test predictions scored the same way, with
Fairlearn's metrics (`fairlearn.metrics`) by `sex`.

    python compare.py DATA_DIR OUT_DIR

For each model: demographic parity difference and equalized odds difference of the labels,
accuracy, and the same three in expectation over the randomized mixture (computed from the
pmf: a row counts as `pmf` positive), which the label draw does not blur.
"""

import json
import sys

import numpy as np
import pandas as pd
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference

ROWS = [
    ("logistic", "plain"),
    ("logistic", "expgrad"),
    ("gbdt", "plain"),
    ("gbdt", "expgrad"),
]


def expected(y, sex, pmf):
    """Accuracy, DP and EO differences of a randomized classifier, in expectation."""
    acc = float(np.mean(np.where(y == 1, pmf, 1 - pmf)))
    sel = {g: pmf[sex == g].mean() for g in np.unique(sex)}
    dp = max(sel.values()) - min(sel.values())
    tpr = {g: pmf[(sex == g) & (y == 1)].mean() for g in np.unique(sex)}
    fpr = {g: pmf[(sex == g) & (y == 0)].mean() for g in np.unique(sex)}
    eo = max(max(tpr.values()) - min(tpr.values()), max(fpr.values()) - min(fpr.values()))
    return acc, dp, eo


def main():
    data, out = sys.argv[1], sys.argv[2]
    test = pd.read_csv(f"{data}/adult_test.csv")
    y = test["income"].astype(int).to_numpy()
    sex = test["sex"].to_numpy()
    results = {}
    print(
        "| model | side | DP difference | EO difference | accuracy | expected DP diff. | "
        "expected EO diff. | expected accuracy |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for model, kind in ROWS:
        for side in ["fairlearn", "slipway"]:
            p = pd.read_csv(f"{out}/{side}_{model}_{kind}.csv")
            labels = p["prediction"].astype(int).to_numpy()
            pmf = p["probability_1"].to_numpy()
            dp = demographic_parity_difference(y, labels, sensitive_features=sex)
            eo = equalized_odds_difference(y, labels, sensitive_features=sex)
            acc = float(np.mean(labels == y))
            e_acc, e_dp, e_eo = expected(y, sex, pmf)
            name = f"{side}_{model}_{kind}"
            results[name] = {
                "dp_difference": dp,
                "eo_difference": eo,
                "accuracy": acc,
                "expected_dp_difference": e_dp,
                "expected_eo_difference": e_eo,
                "expected_accuracy": e_acc,
            }
            side_name = "Fairlearn" if side == "fairlearn" else "Slipway"
            what = "ExponentiatedGradient(DP)" if kind == "expgrad" else "plain"
            print(
                f"| {model} {what} | {side_name} | {dp:.4f} | {eo:.4f} | {acc:.4f} | "
                f"{e_dp:.4f} | {e_eo:.4f} | {e_acc:.4f} |"
            )
    print()
    for model in ["logistic", "gbdt"]:
        s, f = results[f"slipway_{model}_expgrad"], results[f"fairlearn_{model}_expgrad"]
        for key in ["dp_difference", "accuracy", "expected_dp_difference", "expected_accuracy"]:
            print(f"{model}_expgrad_{key}_slipway: {s[key]:.4f}")
            print(f"{model}_expgrad_{key}_fairlearn: {f[key]:.4f}")
        target = s["dp_difference"] <= f["dp_difference"] and s["accuracy"] >= f["accuracy"] - 0.01
        print(
            f"{model}_target_met: {'yes' if target else 'no'} "
            "(Slipway's DP difference <= Fairlearn's, accuracy within 1 point)"
        )
    with open(f"{out}/results.json", "w") as fh:
        json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
