"""Alarm indices of River's drift detectors on streams with known change points.

Run with River 0.26 (`/work/venv-online`):
    python make_online_detectors.py > online_detectors.json
"""

import json

import numpy as np
import river
import scipy
from river import drift
from scipy import stats

rng = np.random.default_rng(7)


def rounded(a):
    return [round(float(v), 6) for v in a]


streams = {
    # Gaussian mean shifts: 0 -> 2 at 1000, 2 -> 0.5 at 1800.
    "gauss_shift": rounded(
        np.concatenate(
            [rng.normal(0, 1, 1000), rng.normal(2, 1, 800), rng.normal(0.5, 1, 700)]
        )
    ),
    # A small shift in a noisy stream: 0 -> 0.6 at 1200.
    "gauss_small": rounded(
        np.concatenate([rng.normal(0, 1.5, 1200), rng.normal(0.6, 1.5, 1300)])
    ),
    # A classifier's error stream: error rate 0.1 -> 0.4 at 1000, -> 0.15 at 2000.
    "bernoulli_errors": [
        int(v)
        for v in np.concatenate(
            [rng.random(1000) < 0.1, rng.random(1000) < 0.4, rng.random(1000) < 0.15]
        )
    ],
    # Error rate rising slowly from 0.05 to 0.5 after 1500.
    "bernoulli_ramp": [
        int(rng.random() < (0.05 if i < 1500 else 0.05 + 0.45 * min(1.0, (i - 1500) / 1000)))
        for i in range(3000)
    ],
}


def alarms(detector, values, warnings=False):
    out, warn = [], []
    for i, v in enumerate(values):
        detector.update(v)
        if detector.drift_detected:
            out.append(i)
        if warnings and getattr(detector, "warning_detected", False):
            warn.append(i)
    return (out, warn) if warnings else out


result = {"river": river.__version__, "scipy": scipy.__version__, "streams": streams}
result["adwin"] = {name: alarms(drift.ADWIN(), s) for name, s in streams.items()}
result["adwin_delta_0.01"] = {
    name: alarms(drift.ADWIN(delta=0.01), s) for name, s in streams.items()
}
result["page_hinkley"] = {name: alarms(drift.PageHinkley(), s) for name, s in streams.items()}
result["ddm"] = {}
for name in ["bernoulli_errors", "bernoulli_ramp"]:
    a, w = alarms(drift.binary.DDM(), streams[name], warnings=True)
    result["ddm"][name] = {"drifts": a, "warnings": w}

# KSWIN's statistic on given windows (30 drawn from the older part vs the 30 newest).
ks = []
for shift in [0.0, 0.3, 1.0, 2.0]:
    older = rounded(rng.normal(0, 1, 30))
    recent = rounded(rng.normal(shift, 1, 30))
    r = stats.ks_2samp(older, recent)
    ks.append({"older": older, "recent": recent, "statistic": r.statistic, "p_value": r.pvalue})
result["kswin_windows"] = ks
print(json.dumps(result))
