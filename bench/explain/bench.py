"""TreeSHAP throughput of the reference libraries on the bench/serving model.

Trains the model of bench/serving/make_model.py (Adult, 200 trees, 63 leaves, learning rate
0.05, categorical columns as integer codes declared categorical, every feature a float; the
same code and parameters, without that script's MLflow and MLServer outputs), saves it with
the sample Slipway imports from and the rows to explain (the Adult test set), then times on
2 threads, one run each, the same rows:

- `shap.TreeExplainer(booster).shap_values(X)` (path-dependent; shap hands LightGBM models to
  LightGBM's own pred_contrib);
- `booster.predict(X, pred_contrib=True, num_threads=2)`;
- interventional: `shap.TreeExplainer(booster, data=background, feature_perturbation=
  "interventional").shap_values` with 100 background rows, on the first 1,000 rows.

Writes `pred_contrib` of the first 500 rows to `reference.csv` for the Slipway run to compare.

Usage: python bench.py OUT_DIR ADULT_TRAIN_CSV ADULT_TEST_CSV
Prints `name: value unit` lines.
"""

import sys
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import shap

out, train_csv, test_csv = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
out.mkdir(parents=True, exist_ok=True)
train = pd.read_csv(train_csv)
test = pd.read_csv(test_csv)
target = "income"
drop = [target, "fnlwgt"]
cats = [c for c in train.columns if not pd.api.types.is_numeric_dtype(train[c]) and c not in drop]
codes = {c: {v: i for i, v in enumerate(sorted(train[c].dropna().unique()))} for c in cats}


def features(df):
    x = df.drop(columns=[c for c in drop if c in df.columns]).copy()
    for c in cats:
        x[c] = x[c].map(codes[c])  # unseen or missing: NaN
    return x.astype("float64")


x_train, y_train = features(train), train[target].astype(int)
x_test = features(test)
params = {
    "objective": "binary",
    "num_leaves": 63,
    "learning_rate": 0.05,
    "min_data_in_leaf": 20,
    "verbose": -1,
    "num_threads": 2,
    "seed": 1,
}
booster = lgb.train(
    params,
    lgb.Dataset(x_train, y_train, categorical_feature=cats),
    num_boost_round=200,
)
booster.save_model(str(out / "model.txt"))
x_test.head(500).to_csv(out / "sample.csv", index=False, na_rep="")
x_test.to_csv(out / "rows.csv", index=False, na_rep="")
x = pd.read_csv(out / "rows.csv")  # what Slipway reads
n = len(x)
print(f"rows: {n} rows")
print(f"trees: {booster.num_trees()} trees")

explainer = shap.TreeExplainer(booster)
explainer.shap_values(x.head(100))  # warm-up
t = time.perf_counter()
sv = explainer.shap_values(x)
secs = time.perf_counter() - t
print(f"shap_tree_explainer: {n / secs:.0f} rows/s")

booster.predict(x.head(100), pred_contrib=True, num_threads=2)
t = time.perf_counter()
pc = booster.predict(x, pred_contrib=True, num_threads=2)
secs = time.perf_counter() - t
print(f"lightgbm_pred_contrib: {n / secs:.0f} rows/s")
print(f"shap_vs_pred_contrib_max_abs_diff: {np.max(np.abs(np.asarray(sv) - pc[:, :-1])):.3e}")
np.savetxt(out / "reference.csv", pc[:500], delimiter=",", fmt="%.17g")

# Interventional, 100 background rows (the first 100 of the sample), the first 1,000 rows.
# shap's interventional path does not follow LightGBM's categorical splits: its additivity
# check fails on this model, so it is timed with the check off and its error reported.
bg = pd.read_csv(out / "sample.csv").head(100)
bg.to_csv(out / "background.csv", index=False, na_rep="")
xi = x.head(1000)
ex = shap.TreeExplainer(booster, data=bg, feature_perturbation="interventional", model_output="raw")
ex.shap_values(xi.head(20), check_additivity=False)  # warm-up
t = time.perf_counter()
si = ex.shap_values(xi, check_additivity=False)
secs = time.perf_counter() - t
print(f"shap_interventional: {len(xi) / secs:.0f} rows/s")
raw = booster.predict(xi, raw_score=True)
print(f"shap_interventional_additivity_error: {np.max(np.abs(si.sum(axis=1) + ex.expected_value - raw)):.3e}")
print(f"versions: lightgbm {lgb.__version__}, shap {shap.__version__}")
