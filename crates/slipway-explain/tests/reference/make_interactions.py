"""SHAP interaction values of the reference LightGBM models, for `tests/interactions.rs`.

`shap.TreeExplainer(booster).shap_interaction_values(x)` (shap's own C++ recursion: LightGBM
has no interaction output) on the first ROWS test rows of every LightGBM case of
`cases.json`: the imported LightGBM models, the numeric interventional-case models and the
Slipway GBDT models exported as LightGBM text (`make_reference.py` wrote them all).

shap's own recursion gets LightGBM models with multi-category categorical splits wrong (its
interaction matrix's rows then do not sum to `pred_contrib`: off by up to 1.8 on Adult):
those cases are written with `shap_consistent: false` and the Rust test checks them against
TreeSHAP only. shap also reads a multiclass LightGBM model as one output (the classes'
trees summed): `summed_over_outputs: true`, and the test sums Slipway's outputs. Writes `interactions.json`: per case, per row, per
output, the `features x features` matrix, row-major.

    /work/venv-explain/bin/python crates/slipway-explain/tests/reference/make_interactions.py
"""

import json
import os
import sys

import lightgbm as lgb
import numpy as np
import shap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_reference import (HERE, IMPORT, ADULT_CATS, as_categories, read,  # noqa: E402
                            versions)

ROWS = 12


def main():
    with open(os.path.join(HERE, "cases.json")) as f:
        doc = json.load(f)
    listed = doc["cases"] + doc["interventional"]
    out = {"versions": versions(), "rows": ROWS, "cases": []}
    for name in listed:
        with open(os.path.join(HERE, f"{name}.json")) as f:
            case = json.load(f)
        if case["kind"] == "xgboost":
            continue  # XGBoost computes its own interactions (pred_interactions), in float32
        model = os.path.join(HERE, case["model"])
        if case["kind"] == "slipway":
            model = os.path.join(HERE, f"{name}.txt")
        booster = lgb.Booster(model_file=model)
        test_path = os.path.join(HERE, case["test"])
        test = read(test_path).head(ROWS)
        x = test[booster.feature_name()].copy()
        if case["kind"] == "slipway":
            cats = [c for c in ADULT_CATS if c in x.columns] if "adult" in name else []
        else:
            cats = [c for c in x.columns
                    if x[c].dtype == object or str(x[c].dtype) in ("str", "string")]
        x = as_categories(x, dict(zip(cats, booster.pandas_categorical or [])))
        # shap's own recursion reads numbers: a category is its code (missing and unseen: NaN),
        # the number LightGBM's categorical splits test.
        for c in cats:
            codes = x[c].cat.codes.astype(np.float64)
            x[c] = codes.where(codes >= 0, np.nan)
        x = x.astype(np.float64).to_numpy()
        ex = shap.TreeExplainer(booster)
        iv = np.asarray(ex.shap_interaction_values(x), dtype=np.float64)
        k = booster.num_model_per_iteration()
        m = booster.num_feature()
        # shap parses a multiclass LightGBM model as one output: its interaction values are
        # the sums over the classes' trees (Slipway's summed over its outputs).
        summed = k > 1 and iv.ndim == 3
        if iv.ndim == 3:
            iv = iv[:, :, :, None]
        # (rows, m, m, outputs) -> (rows, outputs, m, m)
        iv = np.transpose(iv, (0, 3, 1, 2))
        pc = np.asarray(booster.predict(x, pred_contrib=True)).reshape(len(x), k, m + 1)[:, :, :m]
        if summed:
            pc = pc.sum(axis=1, keepdims=True)
        err = float(np.max(np.abs(iv.sum(axis=3) - pc)))
        # shap's recursion mis-reads some LightGBM categorical splits (its row sums then miss
        # pred_contrib): such cases are recorded but not compared value by value.
        out["cases"].append({
            "shap_consistent": err <= 1e-9,
            "case": name,
            "rows": int(len(x)),
            "outputs": int(iv.shape[1]),
            "summed_over_outputs": bool(summed),
            "features": int(iv.shape[2]),
            "interactions": [float("%.15g" % v) for v in iv.ravel()],
            "max_abs_row_sum_vs_pred_contrib": err,
        })
        print(f"{name}: {iv.shape}, shap's row sums vs pred_contrib {err:.3g}")
    with open(os.path.join(HERE, "interactions.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
