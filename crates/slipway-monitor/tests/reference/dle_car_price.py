"""Reference numbers for Slipway's DLE (direct loss estimation) on NannyML's synthetic car
price dataset. Writes a subset of the data (car_price_reference.parquet,
car_price_analysis.parquet: the first 20,000 rows of each; the analysis with `y_true`
joined by `id`) and dle_car_price.json: NannyML's DLE (default LGBMRegressor, chunk_size
5000) estimated MAE / RMSE per chunk with bands and thresholds, and scikit-learn's realized
MAE / RMSE per chunk.

    NML_DISABLE_USAGE_LOGGING=1 /work/venv-monitor/bin/python dle_car_price.py
"""

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")

import lightgbm
import nannyml as nml
import numpy as np
import pandas as pd

# NannyML 0.13.1 reshapes categorical columns, which pandas 3's Arrow-backed strings refuse.
pd.set_option("future.infer_string", False)
import sklearn
from sklearn import metrics as skm

HERE = Path(__file__).resolve().parent
ROWS = 20_000
CHUNK = 5000
FEATURES = ["car_age", "km_driven", "price_new", "accident_count", "door_count", "fuel", "transmission"]

ref, ana, tgt = nml.load_synthetic_car_price_dataset()
ref = ref.head(ROWS).drop(columns=["timestamp"])
ana = ana.head(ROWS).drop(columns=["timestamp"]).merge(tgt, on="id", how="left")
for c in ["fuel", "transmission"]:
    ref[c] = ref[c].astype(str)
    ana[c] = ana[c].astype(str)
ref.to_parquet(HERE / "car_price_reference.parquet", index=False)
ana.to_parquet(HERE / "car_price_analysis.parquet", index=False)

dle = nml.DLE(
    feature_column_names=FEATURES,
    y_pred="y_pred",
    y_true="y_true",
    metrics=["mae", "rmse"],
    chunk_size=CHUNK,
)
# NannyML 0.13.1 reshapes categorical columns, which pandas' Arrow-backed strings refuse.
for df in (ref, ana):
    for c in ["fuel", "transmission"]:
        df[c] = df[c].astype(object)
dle.fit(ref)
res = dle.estimate(ana)


def rows(period):
    d = res.filter(period=period).to_df()
    out = []
    for i in range(len(d)):
        rec = {}
        for m in ["mae", "rmse"]:
            rec[m] = {
                k: float(d[(m, k)].iloc[i])
                for k in ["value", "sampling_error", "realized", "upper_confidence_boundary",
                          "lower_confidence_boundary", "upper_threshold", "lower_threshold"]
            }
        out.append(rec)
    return out


def sk(df):
    out = []
    for s in range(0, len(df), CHUNK):
        c = df.iloc[s : s + CHUNK]
        out.append({
            "mae": skm.mean_absolute_error(c["y_true"], c["y_pred"]),
            "rmse": float(np.sqrt(skm.mean_squared_error(c["y_true"], c["y_pred"]))),
        })
    return out


out = {
    "versions": {
        "nannyml": nml.__version__,
        "lightgbm": lightgbm.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "python": sys.version.split()[0],
    },
    "settings": {"rows": ROWS, "chunk_size": CHUNK, "features": FEATURES, "metrics": ["mae", "rmse"]},
    "reference": rows("reference"),
    "analysis": rows("analysis"),
    "sklearn_analysis": sk(ana),
}
(HERE / "dle_car_price.json").write_text(json.dumps(out, indent=1) + "\n")
print(json.dumps(out["analysis"][0], indent=1))
