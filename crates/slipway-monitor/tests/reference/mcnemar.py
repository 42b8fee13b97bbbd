"""McNemar's test as statsmodels computes it, for tests/retrain.rs.

Run with /work/venv-monitor/bin/python (statsmodels, scipy, scikit-learn); writes mcnemar.json
next to this file. Each case is a 2x2 table [[both right, only the first right], [only the
second right, both wrong]] and statsmodels' statistic and p-value for exact=True and
exact=False with and without the continuity correction. The paired window case also writes
its rows so the Rust side counts the discordant pairs itself.
"""

import json
import pathlib

import numpy as np
import statsmodels
from statsmodels.stats.contingency_tables import mcnemar

TABLES = [
    (10, 0),
    (1, 0),
    (3, 7),
    (12, 30),
    (25, 25),
    (101, 59),
    (40, 41),
    (0, 17),
    (480, 560),
    (1500, 1620),
    (9000, 8650),
]

cases = []
for b, c in TABLES:
    table = [[50, b], [c, 20]]
    entry = {"b": b, "c": c}
    for name, kw in [
        ("exact", dict(exact=True)),
        ("chi2", dict(exact=False, correction=True)),
        ("chi2_uncorrected", dict(exact=False, correction=False)),
    ]:
        r = mcnemar(table, **kw)
        entry[name] = {"statistic": float(r.statistic), "pvalue": float(r.pvalue)}
    cases.append(entry)

# A paired window: labels and two models' predicted labels, drawn with a fixed seed.
rng = np.random.default_rng(7)
n = 3000
truth = rng.integers(0, 2, n)
champion = np.where(rng.random(n) < 0.80, truth, 1 - truth)
challenger = np.where(rng.random(n) < 0.83, truth, 1 - truth)
r0 = champion == truth
r1 = challenger == truth
b = int(np.sum(r0 & ~r1))
c = int(np.sum(~r0 & r1))
table = [[int(np.sum(r0 & r1)), b], [c, int(np.sum(~r0 & ~r1))]]
window = {
    "truth": truth.tolist(),
    "champion": champion.tolist(),
    "challenger": challenger.tolist(),
    "b": b,
    "c": c,
    "champion_accuracy": float(np.mean(r0)),
    "challenger_accuracy": float(np.mean(r1)),
    "exact": {k: float(getattr(mcnemar(table, exact=True), k)) for k in ("statistic", "pvalue")},
    "chi2": {k: float(getattr(mcnemar(table, exact=False), k)) for k in ("statistic", "pvalue")},
}

out = {"statsmodels": statsmodels.__version__, "cases": cases, "window": window}
path = pathlib.Path(__file__).with_name("mcnemar.json")
path.write_text(json.dumps(out, separators=(",", ":")) + "\n")
print(f"wrote {path}")
