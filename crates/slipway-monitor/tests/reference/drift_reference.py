"""Reference numbers for slipway-monitor's drift statistics.

Run: /work/venv-monitor/bin/python crates/slipway-monitor/tests/reference/drift_reference.py
Writes drift_reference.json next to this file. Needs scipy, numpy, pandas, nannyml 0.13.1.

KS (statistic, p-value) and Wasserstein come from scipy; chi-square from
scipy.stats.chi2_contingency; Jensen-Shannon (base 2), Hellinger and L-infinity from NannyML's
own method classes (their _fit / _calculate, i.e. NannyML's binning: Doane bins of the
reference for continuous columns, reference categories plus one leftover bin for categorical
ones). PSI has no reference library: it is computed here with numpy by the documented rule
(reference deciles via np.quantile, right-closed bins, 0 proportions -> 1e-4).
"""
import json
import os
import sys

import numpy as np
import pandas as pd
import scipy
import scipy.special
import scipy.stats
import nannyml
from nannyml.chunk import SizeBasedChunker
from nannyml.thresholds import ConstantThreshold
from nannyml.drift.univariate import methods as M

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "..", "..", "..", "shared", "data", "employment_ma")
if not os.path.isdir(DATA):
    DATA = "/work/shared/data/employment_ma"

EPS = 1e-4


def nm(cls):
    return cls(chunker=SizeBasedChunker(chunk_size=1000), threshold=ConstantThreshold(upper=0.1))


def psi_numeric(ref, cur):
    edges = np.unique(np.quantile(ref, np.arange(1, 10) / 10))
    r = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=len(edges) + 1) / len(ref)
    c = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=len(edges) + 1) / len(cur)
    r = np.where(r == 0, EPS, r)
    c = np.where(c == 0, EPS, c)
    return float(np.sum((c - r) * np.log(c / r)))


def psi_categorical(ref, cur):
    cats = sorted(set(ref) | set(cur))
    r = np.array([np.sum(ref == k) for k in cats]) / len(ref)
    c = np.array([np.sum(cur == k) for k in cats]) / len(cur)
    r = np.where(r == 0, EPS, r)
    c = np.where(c == 0, EPS, c)
    return float(np.sum((c - r) * np.log(c / r)))


def numeric_stats(ref, cur):
    ref = np.asarray(ref, dtype=float)
    cur = np.asarray(cur, dtype=float)
    ks = scipy.stats.ks_2samp(ref, cur)
    out = {
        "ks": float(ks.statistic),
        "ks_p": float(ks.pvalue),
        "wasserstein": float(scipy.stats.wasserstein_distance(ref, cur)),
        "psi": psi_numeric(ref, cur),
    }
    for key, cls in [("js", M.ContinuousJensenShannonDistance), ("hellinger", M.ContinuousHellingerDistance)]:
        m = nm(cls)
        m._fit(pd.Series(ref, name="x"))
        out[key] = float(m._calculate(pd.Series(cur, name="x")))
    return out


def categorical_stats(ref, cur):
    ref = np.asarray(ref, dtype=object)
    cur = np.asarray(cur, dtype=object)
    cats = sorted(set(ref) | set(cur))
    table = np.array([[np.sum(ref == k) for k in cats], [np.sum(cur == k) for k in cats]])
    chi = scipy.stats.chi2_contingency(table)
    out = {"chi2": float(chi.statistic), "chi2_p": float(chi.pvalue), "chi2_dof": int(chi.dof),
           "psi": psi_categorical(ref, cur)}
    # NannyML's own chi-square (k x 2 via value counts) must agree with scipy's 2 x k.
    c = nm(M.Chi2Statistic)
    c._fit(pd.Series(ref, name="x"))
    out["nannyml_chi2"] = float(c._calculate(pd.Series(cur, name="x")))
    for key, cls in [("js", M.CategoricalJensenShannonDistance), ("hellinger", M.CategoricalHellingerDistance),
                     ("linf", M.LInfinityDistance)]:
        m = nm(cls)
        m._fit(pd.Series(ref, name="x"))
        out[key] = float(m._calculate(pd.Series(cur, name="x")))
    return out


rng = np.random.default_rng(20261206)
numeric_cases = []


SHARED = [float(x) for x in np.round(rng.normal(0, 1, 20000), 4)]


def add_numeric(name, a, b):
    shared = a is SHARED
    a = [float(x) for x in np.round(a, 4)]
    b = [float(x) for x in np.round(b, 4)]
    numeric_cases.append({"name": name, "reference": "shared" if shared else a, "current": b,
                          **numeric_stats(a, b)})


add_numeric("tiny exact", [1, 2, 3, 4, 5], [2.5, 6, 7])
add_numeric("tiny identical", [1, 2, 3], [1, 2, 3])
add_numeric("single values", [1.0], [2.0])
add_numeric("ties small ints, unequal sizes", rng.integers(0, 5, 50), rng.integers(1, 6, 70))
add_numeric("equal sizes", rng.normal(0, 1, 40), rng.normal(0.5, 1, 40))
add_numeric("unequal 200 vs 300", rng.normal(0, 1, 200), rng.normal(0.1, 1, 300))
add_numeric("exact 3000 vs 10000", rng.normal(0, 1, 3000), rng.normal(0.05, 1, 10000))
add_numeric("constant reference", [3.0] * 30, rng.normal(3, 1, 20))
add_numeric("constant both", [3.0] * 30, [3.0] * 20)
for shift, label in [(0.0, "none"), (0.15, "small"), (0.6, "medium"), (2.0, "large")]:
    add_numeric(f"asymptotic 20000 vs 60 shift {label}", SHARED, rng.normal(shift, 1, 60))
for shift, label in [(0.0, "none"), (0.01, "tiny"), (0.04, "small"), (0.08, "medium"), (0.5, "large")]:
    add_numeric(f"asymptotic 20000 vs 5000 shift {label}", SHARED, rng.normal(shift, 1, 5000))
add_numeric("asymptotic 20000 vs 15000", SHARED, rng.normal(0.02, 1.05, 11000))
add_numeric("outside reference range", rng.uniform(0, 1, 500), rng.uniform(0.5, 1.5, 400))
add_numeric("skewed", rng.exponential(1.0, 3000), rng.exponential(1.2, 2000))

categorical_cases = []


def add_categorical(name, a, b):
    a = [str(x) for x in a]
    b = [str(x) for x in b]
    categorical_cases.append({"name": name, "reference": a, "current": b, **categorical_stats(a, b)})


add_categorical("two categories (Yates)", ["a"] * 30 + ["b"] * 20, ["a"] * 10 + ["b"] * 25)
add_categorical("unseen category", ["a"] * 30 + ["b"] * 20 + ["c"] * 5, ["a"] * 10 + ["b"] * 5 + ["z"] * 7)
add_categorical("only unseen", ["a"] * 10, ["q"] * 4)
add_categorical("one category", ["a"] * 10, ["a"] * 4)
add_categorical("missing category in current", ["a"] * 10 + ["b"] * 10 + ["c"] * 10, ["a"] * 12 + ["c"] * 3)
add_categorical("many", rng.choice(list("abcdefghij"), 5000, p=[.3, .2, .1, .1, .1, .05, .05, .05, .03, .02]),
                rng.choice(list("abcdefghijk"), 800))
add_categorical("long labels", ["x" * 300, "y" * 300] * 20, ["x" * 300] * 30 + ["é" * 50] * 3)

# Distribution functions directly, on a grid that crosses every branch of scipy's _kolmogn.
kstwo = []
for n in [2, 5, 10, 50, 100, 140, 141, 500, 4000, 20000, 99999, 100001, 500000]:
    for x in [0.3 / n, 0.7 / n, 1.5 / n, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.2, 0.3, 0.45, 0.5, 0.6, 0.9,
              1 - 0.5 / n]:
        if 0 < x < 1:
            kstwo.append({"n": n, "x": x, "sf": float(scipy.stats.kstwo.sf(x, n))})
smirnov = []
for n in [2, 3, 10, 100, 1000, 10000, 200000]:
    for x in [0.001, 0.01, 0.05, 0.1, 0.3, 0.5, 0.8]:
        smirnov.append({"n": n, "x": x, "sf": float(scipy.special.smirnov(n, x))})
chi2 = []
for dof in [1, 2, 3, 7, 20, 100]:
    for x in [0.0, 0.01, 0.5, 1.0, 3.84, 10.0, 50.0, 200.0]:
        chi2.append({"dof": dof, "x": x, "sf": float(scipy.stats.chi2.sf(x, dof))})

# p-value corrections across a chunk's tests, as statsmodels computes them.
from statsmodels.stats.multitest import multipletests
import statsmodels
corrections = []
for pv in [[0.01, 0.04, 0.03, 0.005, 0.5, 0.04, 1.0], [1e-12, 0.2, 0.2, 0.2], [0.05], list(rng.uniform(0, 0.2, 25))]:
    pv = [float(x) for x in pv]
    corrections.append({"p": pv,
                        "bh": [float(x) for x in multipletests(pv, method="fdr_bh")[1]],
                        "bonferroni": [float(x) for x in multipletests(pv, method="bonferroni")[1]]})

# employment_ma: reference vs analysis in chunks of 20,000 rows.
ref = pd.read_parquet(os.path.join(DATA, "reference.parquet"))
ana = pd.read_parquet(os.path.join(DATA, "analysis.parquet"))
NUMERIC = ["AGEP", "predicted_probability"]
CATEGORICAL = ["SCHL", "MAR", "RELP", "DIS", "ESP", "CIT", "MIG", "MIL", "ANC", "NATIVITY", "DEAR", "DEYE",
               "DREM", "SEX", "RAC1P"]
CHUNK = 20000
chunks = []
for start in range(0, len(ana), CHUNK):
    part = ana.iloc[start:start + CHUNK]
    feats = {}
    for c in NUMERIC:
        feats[c] = numeric_stats(ref[c].dropna().to_numpy(float), part[c].dropna().to_numpy(float))
    for c in CATEGORICAL:
        feats[c] = categorical_stats(ref[c].dropna().astype(str).to_numpy(), part[c].dropna().astype(str).to_numpy())
    chunks.append({"start": start, "rows": len(part), "features": feats})

out = {
    "versions": {"python": sys.version.split()[0], "numpy": np.__version__, "scipy": scipy.__version__,
                 "pandas": pd.__version__, "nannyml": nannyml.__version__,
                 "statsmodels": statsmodels.__version__},
    "shared_reference": SHARED,
    "numeric_cases": numeric_cases,
    "categorical_cases": categorical_cases,
    "kstwo_sf": kstwo,
    "smirnov_sf": smirnov,
    "chi2_sf": chi2,
    "corrections": corrections,
    "employment_ma": {"chunk_size": CHUNK, "numeric": NUMERIC, "categorical": CATEGORICAL, "chunks": chunks},
}
with open(os.path.join(HERE, "drift_reference.json"), "w") as f:
    json.dump(out, f)
print("wrote", len(numeric_cases), "numeric,", len(categorical_cases), "categorical cases,", len(chunks), "chunks")
