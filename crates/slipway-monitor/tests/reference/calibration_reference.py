"""Reference numbers for thresholds calibrated on reference chunks with each chunk left
out of its own baseline (Slipway's fix of nannyml issue #426).

On employment_ma's reference.parquet cut into chunks of 5,000 rows: every chunk of AGEP
compared with the other reference rows by `scipy.stats.ks_2samp` and
`scipy.stats.wasserstein_distance`, and of SCHL by `scipy.stats.chi2_contingency` (the
2 × k table over the categories either side has); the upper bound is
`np.nanmean + 3 * np.nanstd` of the chunks' values (NannyML's StandardDeviationThreshold).
NannyML's own numbers (each chunk against the whole reference, itself included) are
written too, to show the bias the fix removes. Writes calibration_reference.json.

    /work/venv-monitor/bin/python calibration_reference.py [DATA_DIR]
"""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import scipy
from scipy import stats

HERE = Path(__file__).resolve().parent
DATA = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[4] / "shared/data/employment_ma"
CHUNK = 5000

ref = pd.read_parquet(DATA / "reference.parquet")
n = len(ref)
starts = list(range(0, n, CHUNK))


def chi2(a, b):
    a = a.astype(str)
    b = b.astype(str)
    cats = sorted(set(a) | set(b))
    table = np.array([[np.sum(a == c) for c in cats], [np.sum(b == c) for c in cats]])
    return float(stats.chi2_contingency(table).statistic)


def values(leave_out):
    out = {"ks": [], "wasserstein": [], "chi2": []}
    for s in starts:
        chunk = ref.iloc[s : s + CHUNK]
        base = pd.concat([ref.iloc[:s], ref.iloc[s + CHUNK :]]) if leave_out else ref
        out["ks"].append(float(stats.ks_2samp(base["AGEP"], chunk["AGEP"]).statistic))
        out["wasserstein"].append(
            float(stats.wasserstein_distance(base["AGEP"], chunk["AGEP"]))
        )
        out["chi2"].append(chi2(base["SCHL"].to_numpy(), chunk["SCHL"].to_numpy()))
    return out


def bounds(v):
    return {k: float(np.nanmean(x) + 3 * np.nanstd(x)) for k, x in v.items()}


loo = values(True)
incl = values(False)
out = {
    "versions": {"scipy": scipy.__version__, "numpy": np.__version__},
    "chunk_size": CHUNK,
    "leave_one_out": {"values": loo, "upper": bounds(loo)},
    "nannyml_included": {"values": incl, "upper": bounds(incl)},
}
with open(HERE / "calibration_reference.json", "w") as f:
    json.dump(out, f, indent=1)
print(json.dumps({k: out[k]["upper"] for k in ["leave_one_out", "nannyml_included"]}, indent=1))
