#!/usr/bin/env python3
"""More seeds for chosen cells of the quality table (see `bench/quality/seed_check.sh`).

    bench/.venv/bin/python bench/quality/seed_check.py OUT_DIR DATASET MODEL[,MODEL...] FIRST LAST

Writes the data sets and a `settings.json` holding only the chosen cells of DATASET with seeds
FIRST..LAST-1 (so the seeds can be disjoint from the main table's), fits the reference models on
every seed and prints `sklearn_<set>_<model>_<metric>: mean metric` and `..._sem` lines, like
reference.py. `examples/quality_bench.rs` then runs the same cells on the same settings.
"""

import json
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference as r  # noqa: E402


def main():
    out, name, models, first, last = sys.argv[1], sys.argv[2], sys.argv[3].split(","), int(sys.argv[4]), int(sys.argv[5])
    os.makedirs(out, exist_ok=True)
    warnings.filterwarnings("ignore")
    data = r.prepare(out)
    d = data[name]
    task = d["meta"]["task"]
    cells = [c for c in r.settings_for(name, task, d["meta"], out) if c["model"] in models]
    for c in cells:
        c["seeds"] = list(range(first, last))
    with open(os.path.join(out, "settings.json"), "w") as f:
        json.dump({"datasets": [name], "cells": cells}, f, indent=1)
    for c in cells:
        x_tr, x_te = d[c["input"]]
        y_tr, y_te = d["y"]
        runs = [r.scores(task, y_te, r.fit_predict(c, task, x_tr, y_tr, x_te, d["meta"]["tree_categories"], s))
                for s in c["seeds"]]
        for metric in runs[0]:
            v = [q[metric] for q in runs]
            key = f"sklearn_{name}_{c['model']}_{metric}"
            print(f"{key}: {np.mean(v):.6f} {metric}")
            print(f"{key}_sem: {np.std(v, ddof=1) / np.sqrt(len(v)):.6f} {metric}", flush=True)


if __name__ == "__main__":
    main()
