"""Reference values for the canary's prediction-drift criterion: scipy.stats.ks_2samp's
statistic on seeded samples (continuous, shifted, with ties, unequal sizes).

Run: /work/venv-monitor/bin/python ks_reference.py > ks_reference.json
"""
import json

import numpy as np
import scipy
from scipy.stats import ks_2samp

rng = np.random.default_rng(14)
cases = []


def add(name, a, b):
    a = [float(x) for x in a]
    b = [float(x) for x in b]
    cases.append({"name": name, "a": a, "b": b, "statistic": float(ks_2samp(a, b).statistic)})


add("same_distribution", rng.normal(0, 1, 300), rng.normal(0, 1, 250))
add("shifted", rng.normal(0, 1, 200), rng.normal(0.5, 1, 180))
add("probabilities", rng.beta(2, 5, 150), rng.beta(5, 2, 90))
add("ties", rng.integers(0, 4, 120), rng.integers(1, 5, 77))
add("one_each", [0.3], [0.7])
add("identical", [1.0, 2.0, 2.0, 3.0], [1.0, 2.0, 2.0, 3.0])
print(json.dumps({"scipy": scipy.__version__, "numpy": np.__version__, "cases": cases}))
