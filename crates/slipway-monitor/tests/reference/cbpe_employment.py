"""Reference numbers for Slipway's performance monitoring on employment_ma.

Runs NannyML's CBPE (binary classification, chunk_size=5000, default isotonic calibration
and default thresholds) fitted on reference.parquet and estimated on analysis.parquet with
analysis_target.parquet joined by `id` (so NannyML also reports the realized values), and
scikit-learn's metrics per chunk. Writes cbpe_employment.json next to this file.

    NML_DISABLE_USAGE_LOGGING=1 /work/venv-monitor/bin/python cbpe_employment.py [DATA_DIR]
"""

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")

import nannyml
import numpy as np
import pandas as pd
import sklearn
from nannyml.calibration import IsotonicCalibrator, needs_calibration
from nannyml.performance_estimation.confidence_based import CBPE
from sklearn import metrics as skm

HERE = Path(__file__).resolve().parent
DATA = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[4] / "shared/data/employment_ma"
CHUNK = 5000
METRICS = ["roc_auc", "accuracy", "precision", "recall", "f1"]

ref = pd.read_parquet(DATA / "reference.parquet")
ana = pd.read_parquet(DATA / "analysis.parquet")
tgt = pd.read_parquet(DATA / "analysis_target.parquet")
ana_l = ana.merge(tgt, on="id", how="left")
assert len(ana_l) == len(ana)

cbpe = CBPE(
    y_pred_proba="predicted_probability",
    y_pred="prediction",
    y_true="employed",
    problem_type="classification_binary",
    metrics=METRICS,
    chunk_size=CHUNK,
)
cbpe.fit(ref)
est = cbpe.estimate(ana_l)

decision = needs_calibration(
    y_true=ref["employed"].reset_index(drop=True),
    y_pred_proba=ref["predicted_probability"].reset_index(drop=True),
    calibrator=IsotonicCalibrator(),
)
assert decision == cbpe.needs_calibration


def rows(result, period):
    d = result.filter(period=period).to_df()
    out = []
    for i in range(len(d)):
        rec = {
            "start": int(d[("chunk", "start_index")].iloc[i]),
            "end": int(d[("chunk", "end_index")].iloc[i]),
        }
        for m in METRICS:
            rec[m] = {
                k: (None if pd.isna(d[(m, k)].iloc[i]) else float(d[(m, k)].iloc[i]))
                for k in [
                    "value",
                    "sampling_error",
                    "realized",
                    "upper_confidence_boundary",
                    "lower_confidence_boundary",
                    "upper_threshold",
                    "lower_threshold",
                ]
            }
            rec[m]["alert"] = bool(d[(m, "alert")].iloc[i])
        out.append(rec)
    return out


def sklearn_chunks(df):
    out = []
    for s in range(0, len(df), CHUNK):
        c = df.iloc[s : s + CHUNK]
        y, p, s_ = c["employed"].to_numpy(), c["prediction"].to_numpy(), c["predicted_probability"].to_numpy()
        out.append(
            {
                "rows": len(c),
                "roc_auc": skm.roc_auc_score(y, s_),
                "accuracy": skm.accuracy_score(y, p),
                "precision": skm.precision_score(y, p),
                "recall": skm.recall_score(y, p),
                "f1": skm.f1_score(y, p),
            }
        )
    return out


def within_band(chunks):
    return [
        {
            m: c[m]["lower_confidence_boundary"] <= c[m]["realized"] <= c[m]["upper_confidence_boundary"]
            for m in METRICS
        }
        for c in chunks
    ]


analysis_chunks = rows(est, "analysis")
out = {
    "versions": {
        "nannyml": nannyml.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "python": sys.version.split()[0],
    },
    "settings": {"chunk_size": CHUNK, "incomplete": "keep", "metrics": METRICS, "calibration": "isotonic"},
    "needs_calibration": bool(decision),
    "reference_rows": len(ref),
    "analysis_rows": len(ana),
    "reference": rows(est, "reference"),
    "analysis": analysis_chunks,
    "realized_within_band": within_band(analysis_chunks),
    "sklearn_analysis": sklearn_chunks(ana_l),
    "sklearn_reference": sklearn_chunks(ref),
}
(HERE / "cbpe_employment.json").write_text(json.dumps(out, indent=1) + "\n")
print("needs_calibration", decision, "chunks", len(analysis_chunks))
