"""Reference weights for slipway-govern's reweighing, computed with AIF360's `Reweighing`.

Run from the repository root (the Rust test reads the committed JSON):

    /work/venv-fairness/bin/python crates/slipway-govern/tests/reference/mitigation/make_reweighing.py

Data: the committed Adult fixture `../fairness_adult.csv` (label, sex, race of 4000 test
rows). AIF360 takes one privileged and one unprivileged group: for a column with more groups,
each group is run as the privileged one against all others, which gives that group's cells the
formula `n_y * n_g / (n * n_gy)`; its rows' weights are recorded. Cases:

- `sex`, `race`: plain counts (every instance weight 1);
- `sex_balanced`: instance weights = scikit-learn's balanced class weights of the label
  (how Slipway combines `class_weight` with reweighing);
- `no_positives`: a hand-made table where group "c" has no positive label.

For each case the JSON holds the weight AIF360's `transform` gives the rows of each
`group|label` cell (the script checks that every row of a cell gets the same one); the
hand-made case also holds its rows.
"""

import json
import os

import aif360
import numpy as np
import pandas as pd
from aif360.algorithms.preprocessing import Reweighing
from aif360.datasets import BinaryLabelDataset
from sklearn.utils.class_weight import compute_sample_weight

HERE = os.path.dirname(os.path.abspath(__file__))


def aif360_weights(groups, labels, base):
    """AIF360's weight of every row, each group in turn the privileged one."""
    cats = sorted(set(groups))
    code = {g: i for i, g in enumerate(cats)}
    df = pd.DataFrame(
        {"g": [float(code[g]) for g in groups], "y": [float(v) for v in labels]}
    )
    out = np.full(len(groups), np.nan)
    for g in cats:
        ds = BinaryLabelDataset(
            df=df,
            label_names=["y"],
            protected_attribute_names=["g"],
            favorable_label=1.0,
            unfavorable_label=0.0,
            instance_weights_name=None,
        )
        ds.instance_weights = np.asarray(base, dtype=np.float64).copy()
        rw = Reweighing(
            unprivileged_groups=[{"g": float(code[o])} for o in cats if o != g],
            privileged_groups=[{"g": float(code[g])}],
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            t = rw.fit_transform(ds)
        mask = np.array([x == g for x in groups])
        out[mask] = t.instance_weights[mask]
    assert not np.isnan(out).any()
    return out


def case(groups, labels, base, rows=False):
    """AIF360's weights; every row of a (group, label) cell gets the same weight here
    (the base weights depend on the label only), so the JSON keeps one per cell."""
    w = aif360_weights(groups, labels, base)
    cells = {}
    for g, y, x in zip(groups, labels, w):
        key = f"{g}|{int(y)}"
        assert cells.setdefault(key, float(x)) == float(x), key
    out = {"cells": cells}
    if rows:
        out["groups"] = list(groups)
        out["labels"] = [int(v) for v in labels]
    return out


def main():
    fx = pd.read_csv(os.path.join(HERE, "..", "fairness_adult.csv"))
    y = fx["label"].to_numpy()
    ones = np.ones(len(fx))
    cases = {
        "sex": case(fx["sex"].tolist(), y, ones),
        "race": case(fx["race"].tolist(), y, ones),
        "sex_balanced": case(
            fx["sex"].tolist(), y, compute_sample_weight("balanced", y)
        ),
    }
    g = ["a"] * 5 + ["b"] * 4 + ["c"] * 3
    lab = [1, 0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0]
    cases["no_positives"] = case(g, lab, [1.0] * len(g), rows=True)
    out = {
        "aif360": aif360.__version__,
        "numpy": np.__version__,
        "cases": cases,
    }
    with open(os.path.join(HERE, "reweighing.json"), "w") as f:
        json.dump(out, f, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
