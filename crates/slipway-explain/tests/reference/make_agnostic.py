"""Reference numbers for Slipway's model-agnostic explanations (`tests/agnostic.rs`).

Two LightGBM models are trained here through LightGBM's scikit-learn wrapper and saved as
text, so that Slipway imports the same function (imported LightGBM models predict what
LightGBM predicts); scikit-learn and shap then explain the wrapper on rows of a committed
CSV slice that Slipway reads too:

- `agnostic_binary.txt` on `agnostic_breast_cancer.csv` (8 columns of breast cancer, NaN in
  `radius_error`), explained as the positive class's probability (`predict_proba[:, 1]`);
- `agnostic_regression.txt` on `agnostic_diabetes.csv` (all 10 diabetes columns, integer
  `age`, `sex`, `s1`, `s6`).

Per case, `agnostic.json` holds:

- `pdp` (on `X.astype(float)`): `sklearn.inspection.partial_dependence(est, X, features, kind="both",
  method="brute", grid_resolution=R)` (one- and two-way): the grid values, the averages and
  the per-row ICE curves;
- `permutation`: `sklearn.inspection.permutation_importance(est, X, y, scoring=S,
  n_repeats=3, random_state=0)`, and the row permutations it applied: scikit-learn draws
  one seed from `RandomState(0)` and gives every column a `RandomState` of that seed, which
  shuffles one index array in place before each repeat; the permuted column of repeat r is
  the column of repeat r-1 taken at those indices (`perms[r]`);
- `exact`: `shap.explainers.Exact(f, shap.maskers.Independent(background,
  max_samples=len(background)))` on rows after the background rows.

Run with the venv that has shap, scikit-learn and LightGBM:
`python make_agnostic.py` (data from `$SLIPWAY_DATA`, else `../shared/data` beside the repo).
"""

import json
import os
import sys

import lightgbm as lgb
import numpy as np
import pandas as pd
import scipy
import shap
import sklearn
from sklearn.inspection import partial_dependence, permutation_importance
from sklearn.utils import check_random_state

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
DATA = os.environ.get("SLIPWAY_DATA", os.path.join(ROOT, "..", "shared", "data"))
REPEATS = 3
SEED = 0


def permutations(n):
    """The index arrays `_calculate_permutation_scores` shuffles, one per repeat (the same
    for every column: each column's RandomState gets the same seed)."""
    rs = check_random_state(SEED)
    seed = rs.randint(np.iinfo(np.int32).max + 1)
    r = check_random_state(seed)
    idx = np.arange(n)
    out = []
    for _ in range(REPEATS):
        r.shuffle(idx)
        out.append(idx.tolist())
    return out


def case(name, model_file, data_file, est, X, y, proba, pdp_specs, scorings, n_bg, n_rows):
    est.booster_.save_model(os.path.join(HERE, model_file))
    out = {"case": name, "model": model_file, "data": data_file,
           "features": list(X.columns), "classifier": proba}
    pdps = []
    for features, res in pdp_specs:
        # scikit-learn refuses integer columns here (its grid would be rounded into them);
        # Slipway passes grid values as floats, which the model reads the same way.
        r = partial_dependence(est, X.astype(float), features, kind="both", method="brute",
                               grid_resolution=res)
        pdps.append({
            "features": features, "grid_resolution": res,
            "grid": [np.asarray(g, dtype=float).tolist() for g in r["grid_values"]],
            # (outputs=1, n1[, n2]) flattened, first feature slowest
            "average": np.asarray(r["average"]).reshape(-1).tolist(),
            # (outputs=1, rows, n1[, n2]) flattened per row
            "individual": np.asarray(r["individual"]).reshape(len(X), -1).tolist(),
        })
    out["pdp"] = pdps
    perms = permutations(len(X))
    out["permutation"] = {"repeats": REPEATS, "seed": SEED, "perms": perms, "scores": []}
    for scoring, slipway_metric in scorings:
        r = permutation_importance(est, X, y, scoring=scoring, n_repeats=REPEATS,
                                   random_state=SEED)
        # The same numbers from the dumped permutations, so the dump is what sklearn used.
        scorer = sklearn.metrics.get_scorer(scoring)
        base = scorer(est, X, y)
        for j, col in enumerate(X.columns):
            Xp = X.copy()
            for rep, idx in enumerate(perms):
                Xp[col] = Xp[col].to_numpy()[np.asarray(idx)]
                assert abs((base - scorer(est, Xp, y)) - r.importances[j, rep]) < 1e-12
        out["permutation"]["scores"].append({
            "scoring": scoring, "metric": slipway_metric, "baseline": float(base),
            "importances": r.importances.tolist(),
            "mean": r.importances_mean.tolist(), "std": r.importances_std.tolist(),
        })
    f = (lambda Z: est.predict_proba(Z)[:, 1]) if proba else est.predict
    bg = X.iloc[:n_bg]
    rows = X.iloc[n_bg:n_bg + n_rows]
    ex = shap.explainers.Exact(lambda Z: f(pd.DataFrame(Z, columns=X.columns)),
                               shap.maskers.Independent(bg.to_numpy(), max_samples=len(bg)))
    sv = ex(rows.to_numpy())
    pred = f(rows)
    add = np.max(np.abs(sv.values.sum(axis=1) + sv.base_values - pred))
    out["exact"] = {"background_rows": n_bg, "first_row": n_bg, "rows": n_rows,
                    "values": sv.values.tolist(),
                    "base_value": float(np.asarray(sv.base_values).reshape(-1)[0]),
                    "prediction": pred.tolist(), "max_abs_additivity": float(add)}
    print(f"{name}: {len(X)} rows, shap additivity {add:.3g}")
    return out


def main():
    params = dict(n_estimators=30, num_leaves=8, learning_rate=0.1, min_child_samples=10,
                  random_state=0, deterministic=True, n_jobs=1, verbose=-1)
    r = np.random.default_rng(3)
    bc = pd.read_csv(os.path.join(DATA, "sklearn", "breast_cancer.csv"))
    cols = ["mean_radius", "mean_texture", "mean_smoothness", "worst_area",
            "worst_concavity", "mean_symmetry", "radius_error", "worst_symmetry"]
    bc = bc[cols + ["target"]].copy()
    bc.loc[r.random(len(bc)) < 0.05, "radius_error"] = np.nan
    clf = lgb.LGBMClassifier(**params).fit(bc[cols], bc["target"])
    sl = bc.sample(150, random_state=0)
    sl.to_csv(os.path.join(HERE, "agnostic_breast_cancer.csv"), index=False, na_rep="")
    sl = pd.read_csv(os.path.join(HERE, "agnostic_breast_cancer.csv"))
    binary = case("binary", "agnostic_binary.txt", "agnostic_breast_cancer.csv", clf,
                  sl[cols], sl["target"], True,
                  [(["mean_radius"], 20), (["worst_area"], 100),
                   (["mean_radius", "worst_concavity"], 8)],
                  [("roc_auc", "roc_auc"), ("neg_log_loss", "log_loss")], 25, 10)

    diab = pd.read_csv(os.path.join(DATA, "sklearn", "diabetes.csv"))
    dcols = [c for c in diab.columns if c != "target"]
    reg = lgb.LGBMRegressor(**params).fit(diab[dcols], diab["target"])
    sl = diab.sample(120, random_state=0)
    sl.to_csv(os.path.join(HERE, "agnostic_diabetes.csv"), index=False)
    sl = pd.read_csv(os.path.join(HERE, "agnostic_diabetes.csv"))
    regression = case("regression", "agnostic_regression.txt", "agnostic_diabetes.csv", reg,
                      sl[dcols], sl["target"], False,
                      [(["age"], 20), (["sex"], 20), (["bmi", "s5"], 6)],
                      [("r2", "r2"), ("neg_root_mean_squared_error", "rmse")], 20, 8)

    versions = {"python": sys.version.split()[0], "lightgbm": lgb.__version__,
                "shap": shap.__version__, "scikit-learn": sklearn.__version__,
                "numpy": np.__version__, "pandas": pd.__version__, "scipy": scipy.__version__}
    with open(os.path.join(HERE, "agnostic.json"), "w") as fh:
        json.dump({"versions": versions, "cases": [binary, regression]}, fh,
                  separators=(",", ":"))
        fh.write("\n")


if __name__ == "__main__":
    main()
