"""Reference numbers for slipway-rollout's statistics (tests/reference.rs compares to 1e-9).

Run with a Python that has numpy, scipy and statsmodels:
    python ab_reference.py   # writes ab_reference.json next to this file

- assignment: int(hashlib.md5(text.encode()).hexdigest(), 16) % 100, text = key or salt:key
- srm: scipy.stats.chisquare(f_obs, f_exp)
- proportions: statsmodels proportions_ztest (pooled) + confint_proportions_2indep(wald, diff)
- welch: scipy.stats.ttest_ind(b, a, equal_var=False) / ttest_ind_from_stats + its CI
- cuped: theta = cov(Y, X) / var(X) pooled, Y_adj = Y - theta (X - mean X), Welch on Y_adj
- msprt: Lambda = sqrt(V/(V+tau2)) exp(tau2 d^2 / (2 V (V+tau2))), p_n = min(1, p_{n-1}, 1/Lambda)
- mann_whitney: scipy.stats.mannwhitneyu(x, y, alternative="greater", method="asymptotic")
"""
import hashlib
import json
import math
import os
import random
import sys

import numpy as np
import scipy
import scipy.stats as st
import statsmodels
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

rng = np.random.default_rng(20261206)
out = {
    "versions": {
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "statsmodels": statsmodels.__version__,
    }
}


def num(x):
    x = float(x)
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


# --- assignment -------------------------------------------------------------------------
pyrng = random.Random(7)
keys = [f"user-{i}" for i in range(600)]
keys += ["", " ", "a", "ключ-пользователя", "用户42", "emoji-🚀", "x" * 500, "user:with:colons"]
keys += ["".join(pyrng.choice("abcdefXYZ0123456789-_@.") for _ in range(pyrng.randint(1, 40))) for _ in range(392)]
assignment = []
for i, k in enumerate(keys):
    salt = None if i % 3 else f"exp-{i % 7}"
    text = k if salt is None else f"{salt}:{k}"
    assignment.append({"key": k, "salt": salt, "bucket": int(hashlib.md5(text.encode()).hexdigest(), 16) % 100})
out["assignment"] = assignment

# --- sample-ratio mismatch ---------------------------------------------------------------
srm_cases = [(500, 500, 50), (5000, 5210, 50), (1, 0, 50), (3, 1, 50), (9000, 1000, 10), (8900, 1100, 10),
             (10_000_000, 10_004_000, 50), (49_000_000, 51_000_000, 50), (700, 300, 30), (12, 30, 70), (100, 1, 1)]
out["srm"] = []
for a, b, split in srm_cases:
    n = a + b
    exp = [n * (1 - split / 100), n * split / 100]
    r = st.chisquare([a, b], exp)
    out["srm"].append({"a": a, "b": b, "split": split, "statistic": num(r.statistic), "p_value": num(r.pvalue)})

# --- two proportions ---------------------------------------------------------------------
prop_cases = [(100, 1000, 120, 1000, 0.05), (1, 10, 3, 12, 0.05), (0, 50, 2, 50, 0.05), (49, 50, 50, 50, 0.05),
              (5000, 100000, 5150, 100000, 0.05), (1234567, 10_000_000, 1236000, 10_000_000, 0.01),
              (3, 7, 1, 9, 0.10), (20, 1000, 31, 2000, 0.05), (999_000, 1_000_000, 998_800, 1_000_000, 0.05),
              (450, 5000, 430, 4700, 0.2), (2, 100000, 9, 100000, 0.05)]
out["proportions"] = []
for ca, na, cb, nb, alpha in prop_cases:
    z, p = proportions_ztest([cb, ca], [nb, na])
    _, p_larger = proportions_ztest([cb, ca], [nb, na], alternative="larger")
    lo, hi = confint_proportions_2indep(cb, nb, ca, na, compare="diff", method="wald", alpha=alpha)
    out["proportions"].append({"ca": ca, "na": na, "cb": cb, "nb": nb, "alpha": alpha, "z": num(z), "p_value": num(p),
                               "p_larger": num(p_larger), "ci": [num(lo), num(hi)]})

# --- Welch -------------------------------------------------------------------------------
out["welch_raw"] = []
raw_cases = [(rng.normal(10, 2, 30), rng.normal(10.8, 2, 35)), (rng.normal(0, 1, 2), rng.normal(0.5, 3, 2)),
             (rng.exponential(5, 40), rng.exponential(6, 11)), (rng.normal(100, 0.01, 25), rng.normal(100, 50, 25)),
             (np.array([1.0, 1, 1, 2]), np.array([1.0, 2, 2, 2, 2, 3])),
             (rng.lognormal(3, 1.5, 60), rng.lognormal(3.1, 1.5, 55))]
for a, b, alpha in [(a, b, al) for (a, b), al in zip(raw_cases, [0.05, 0.05, 0.1, 0.05, 0.01, 0.05])]:
    r = st.ttest_ind(b, a, equal_var=False)
    ci = r.confidence_interval(1 - alpha)
    out["welch_raw"].append({"a": a.tolist(), "b": b.tolist(), "alpha": alpha, "statistic": num(r.statistic),
                             "df": num(r.df), "p_value": num(r.pvalue), "ci": [num(ci.low), num(ci.high)]})
out["welch_stats"] = []
stat_cases = [(10.0, 4.0, 5_000_000, 10.002, 4.1, 5_000_000, 0.05), (3.0, 1.0, 2, 3.5, 9.0, 3, 0.05),
              (0.1, 0.09, 100000, 0.1025, 0.0925, 120000, 0.05), (50.0, 2500.0, 40, 70.0, 100.0, 400, 0.05),
              (1.0, 1e-8, 1000, 1.0, 1e-8, 1000, 0.05), (5.0, 1.0, 3_000_000, 5.001, 1.0, 30, 0.05)]
for ma, va, na, mb, vb, nb, alpha in stat_cases:
    r = st.ttest_ind_from_stats(mb, math.sqrt(vb), nb, ma, math.sqrt(va), na, equal_var=False)
    se = math.sqrt(va / na + vb / nb)
    df = (va / na + vb / nb) ** 2 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1))
    q = st.t.isf(alpha / 2, df)
    d = mb - ma
    out["welch_stats"].append({"a": [na, ma, va], "b": [nb, mb, vb], "alpha": alpha, "statistic": num(r.statistic),
                               "df": num(df), "p_value": num(r.pvalue), "ci": [num(d - q * se), num(d + q * se)]})

# --- CUPED -------------------------------------------------------------------------------
out["cuped"] = []
for case in range(4):
    n_a, n_b = [(50, 60), (8, 5), (200, 180), (30, 30)][case]
    xa, xb = rng.normal(20, 5, n_a), rng.normal(20, 5, n_b)
    if case == 3:
        xa, xb = np.full(n_a, 7.0), np.full(n_b, 7.0)
    ya = 0.8 * xa + rng.normal(0, 2, n_a)
    yb = 0.8 * xb + 0.6 + rng.normal(0, 2, n_b)
    x, y = np.concatenate([xa, xb]), np.concatenate([ya, yb])
    vx = np.var(x, ddof=1)
    theta = 0.0 if vx == 0 else np.cov(y, x, ddof=1)[0, 1] / vx
    adj_a, adj_b = ya - theta * (xa - x.mean()), yb - theta * (xb - x.mean())
    r = st.ttest_ind(adj_b, adj_a, equal_var=False)
    ci = r.confidence_interval(0.95)
    vr = 1 - np.var(np.concatenate([adj_a, adj_b]), ddof=1) / np.var(y, ddof=1)
    out["cuped"].append({"ya": ya.tolist(), "xa": xa.tolist(), "yb": yb.tolist(), "xb": xb.tolist(), "theta": num(theta),
                         "variance_reduction": num(vr), "statistic": num(r.statistic), "df": num(r.df),
                         "p_value": num(r.pvalue), "ci": [num(ci.low), num(ci.high)]})

# --- mSPRT -------------------------------------------------------------------------------
out["msprt"] = []
for tau2, p_a, p_b, step, looks in [(0.0001, 0.10, 0.10, 100, 30), (0.0004, 0.10, 0.13, 200, 25),
                                     (0.01, 0.5, 0.5, 10, 40), (1e-6, 0.01, 0.012, 5000, 20)]:
    ya, yb = rng.random(step * looks) < p_a, rng.random(step * looks) < p_b
    p, seq = 1.0, []
    for k in range(1, looks + 1):
        n = k * step
        ma, mb = ya[:n].mean(), yb[:n].mean()
        v = ma * (1 - ma) / n + mb * (1 - mb) / n
        d = mb - ma
        if v > 0:
            lam = math.sqrt(v / (v + tau2)) * math.exp(tau2 * d * d / (2 * v * (v + tau2)))
            p = min(p, 1 / lam)
        seq.append({"d": float(d), "v": float(v), "p_value": p})
    out["msprt"].append({"tau2": tau2, "looks": seq})

# --- Mann-Whitney ------------------------------------------------------------------------
out["mann_whitney"] = []
mw_cases = [(rng.normal(120, 20, 50), rng.normal(100, 20, 60)), (rng.normal(100, 20, 30), rng.normal(100, 20, 30)),
            (np.round(rng.exponential(80, 200)), np.round(rng.exponential(70, 300))),
            (np.array([1.0, 2, 2, 3, 3, 3]), np.array([2.0, 2, 3, 4])), (np.array([5.0]), np.array([1.0, 2.0])),
            (np.round(rng.normal(150, 30, 1000), -1), np.round(rng.normal(148, 30, 1500), -1))]
for x, y in mw_cases:
    r = st.mannwhitneyu(x, y, alternative="greater", method="asymptotic")
    out["mann_whitney"].append({"x": x.tolist(), "y": y.tolist(), "u": num(r.statistic), "p_value": num(r.pvalue)})

# --- special functions -------------------------------------------------------------------
out["norm_ppf"] = [{"p": p, "x": num(st.norm.ppf(p))} for p in
                   [1e-300, 1e-100, 1e-20, 1e-10, 1e-5, 0.001, 0.01, 0.02425, 0.025, 0.1, 0.3, 0.5, 0.7, 0.9, 0.975, 0.999, 1 - 1e-10]]
out["t_sf"] = [{"t": t, "df": df, "sf": num(st.t.sf(t, df)), "isf": num(st.t.isf(q, df)), "q": q}
               for t, df, q in [(0.5, 1.0, 0.025), (2.0, 1.5, 0.05), (2.5, 3.7, 0.005), (1.96, 30.0, 0.025),
                                (-1.0, 10.0, 0.3), (4.0, 120.5, 1e-5), (0.01, 2e6, 0.025), (3.0, 5e7, 0.001),
                                (10.0, 4.0, 1e-8), (0.0, 7.0, 0.5), (1.2, 1e4, 0.1)]]

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "ab_reference.json"), "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
