"""Reference numbers for Slipway's multivariate drift (NannyML 0.13.1).

1. DataReconstructionDriftCalculator (PCA reconstruction error, default imputers, count
   encoding, standard scaling, n_components=0.65, mean ± 3 std thresholds) on
   employment_ma (all 16 features, chunk_size=5000) and on a small synthetic fixture with
   missing values and categories the reference never saw (`multivariate_fixture_*.csv`,
   written here, chunk_size=250).
2. DomainClassifierCalculator (LightGBM, 5-fold stratified CV, ROC AUC) on a slice of
   employment_ma: the first 10,000 reference rows, and analysis rows from 2016 and 2018
   (the ranges are in the JSON), chunk_size=5000.

Writes multivariate_reference.json next to this file.

    NML_DISABLE_USAGE_LOGGING=1 /work/venv-monitor/bin/python multivariate_reference.py [DATA_DIR]
"""

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")

import lightgbm
import nannyml
import numpy as np
import pandas as pd
import sklearn

HERE = Path(__file__).resolve().parent
DATA = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[4] / "shared/data/employment_ma"
FEATURES = ["AGEP", "SCHL", "MAR", "RELP", "DIS", "ESP", "CIT", "MIG", "MIL", "ANC",
            "NATIVITY", "DEAR", "DEYE", "DREM", "SEX", "RAC1P"]


def opt(x):
    return None if x is None or pd.isna(x) else float(x)


def dre_rows(result):
    d = result.to_df()
    out = []
    for i in range(len(d)):
        m = ("reconstruction_error",)
        out.append({
            "period": d[("chunk", "period")].iloc[i],
            "start": int(d[("chunk", "start_index")].iloc[i]),
            "end": int(d[("chunk", "end_index")].iloc[i]),
            "value": opt(d[m + ("value",)].iloc[i]),
            "sampling_error": opt(d[m + ("sampling_error",)].iloc[i]),
            "upper_confidence_boundary": opt(d[m + ("upper_confidence_boundary",)].iloc[i]),
            "lower_confidence_boundary": opt(d[m + ("lower_confidence_boundary",)].iloc[i]),
            "upper_threshold": opt(d[m + ("upper_threshold",)].iloc[i]),
            "lower_threshold": opt(d[m + ("lower_threshold",)].iloc[i]),
            "alert": bool(d[m + ("alert",)].iloc[i]),
        })
    return out


def dre(ref, ana, columns, chunk):
    calc = nannyml.DataReconstructionDriftCalculator(column_names=columns, chunk_size=chunk)
    calc.fit(ref)
    res = calc.calculate(ana)
    return {
        "chunk_size": chunk,
        "n_components": int(calc._pca.n_components_),
        "explained_variance_ratio": [float(x) for x in calc._pca.explained_variance_ratio_],
        "chunks": dre_rows(res),
    }


ref = pd.read_parquet(DATA / "reference.parquet")
ana = pd.read_parquet(DATA / "analysis.parquet")
out = {
    "versions": {
        "nannyml": nannyml.__version__,
        "sklearn": sklearn.__version__,
        "lightgbm": lightgbm.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
    },
    "features": FEATURES,
}
out["pca_employment"] = dre(ref, ana, FEATURES, 5000)

# The synthetic fixture: missing numbers and categories, categories only the analysis has.
rng = np.random.default_rng(7)


def frame(n, shift):
    x1 = rng.normal(0.0 + shift, 1.0, n)
    x2 = 0.6 * x1 + rng.normal(0.0, 0.8, n)
    x3 = rng.exponential(2.0, n)
    cat = rng.choice(["a", "b", "c", "d"], size=n, p=[0.4, 0.3, 0.2, 0.1]).astype(object)
    if shift > 0:
        cat[rng.random(n) < 0.05] = "e"
    col = rng.choice(["x", "y"], size=n).astype(object)
    df = pd.DataFrame({"x1": x1, "x2": x2, "x3": x3, "cat": cat, "col": col})
    for c in ["x1", "x3", "cat"]:
        df.loc[rng.random(n) < 0.05, c] = np.nan
    return df


fixture_ref = HERE / "multivariate_fixture_reference.csv"
fixture_ana = HERE / "multivariate_fixture_analysis.csv"
pd.concat([frame(1000, 0.0)]).to_csv(fixture_ref, index=False)
pd.concat([frame(500, 0.0), frame(500, 0.7)]).to_csv(fixture_ana, index=False)
fr = pd.read_csv(fixture_ref)
fa = pd.read_csv(fixture_ana)
out["pca_fixture"] = dre(fr, fa, ["x1", "x2", "x3", "cat", "col"], 250)

# The domain classifier on a slice.
REF_ROWS = 10000
ranges = [[0, 5000], [69126 + 69635, 69126 + 69635 + 5000]]
dc_ref = ref.iloc[:REF_ROWS].reset_index(drop=True)
dc_ana = pd.concat([ana.iloc[a:b] for a, b in ranges]).reset_index(drop=True)
# One LightGBM thread (OpenMP spins badly on a loaded machine); the trees do not depend on it.
from nannyml.drift.multivariate.domain_classifier.calculator import DEFAULT_LGBM_HYPERPARAMS

calc = nannyml.DomainClassifierCalculator(
    feature_column_names=FEATURES,
    chunk_size=5000,
    hyperparameters={**DEFAULT_LGBM_HYPERPARAMS, "n_jobs": 1, "verbose": -1},
)
calc.fit(dc_ref)
res = calc.calculate(dc_ana).to_df()
m = "domain_classifier_auroc"
out["domain_classifier"] = {
    "reference_rows": REF_ROWS,
    "analysis_ranges": ranges,
    "chunk_size": 5000,
    "chunks": [
        {
            "period": res[("chunk", "period")].iloc[i],
            "start": int(res[("chunk", "start_index")].iloc[i]),
            "end": int(res[("chunk", "end_index")].iloc[i]),
            "value": float(res[(m, "value")].iloc[i]),
            "alert": bool(res[(m, "alert")].iloc[i]),
        }
        for i in range(len(res))
    ],
}

with open(HERE / "multivariate_reference.json", "w") as f:
    json.dump(out, f, indent=1)
print(json.dumps(out["domain_classifier"], indent=1))
print(out["pca_employment"]["n_components"], out["pca_fixture"]["n_components"])
