"""LIME reference values for `tests/lime.rs`, from the `lime` package on Slipway's numbers.

The package's random stream cannot be reproduced, so the check feeds it Slipway's draws:
`cargo run -p slipway-explain --example lime_fixture` writes the training sample
(`lime_train.csv`) and, for its first rows, the neighbourhoods Slipway drew (binary samples,
the model's outputs for them, their distances) to `lime_neighbourhood.json`. This script

- builds `LimeTabularExplainer(train, categorical_features=..., discretizer="quartile")`
  (the defaults) on the same training sample, categorical columns label-encoded in
  Slipway's order (missing first, then sorted), and writes its discretizer's statistics
  (quartiles, per-bin means, stds, mins, maxs) and its per-column value frequencies;
- runs `explainer.base.explain_instance_with_data(binary, labels, distances, 0, k)` (feature
  selection `auto`, `Ridge(alpha=1)`) on each neighbourhood for k = 4 (forward selection)
  and k = 10 (highest weights), and writes the intercept, coefficients, score and
  local_pred to `lime.json`.

    /work/venv-explain/bin/python crates/slipway-explain/tests/reference/make_lime.py
"""

import json
import os
import sys

import lime
import lime.lime_tabular
import numpy as np
import pandas as pd
import sklearn

HERE = os.path.dirname(os.path.abspath(__file__))
MISSING = None


def main():
    with open(os.path.join(HERE, "lime_neighbourhood.json")) as f:
        fx = json.load(f)
    columns, kinds = fx["columns"], fx["kinds"]
    df = pd.read_csv(os.path.join(HERE, fx["train"]), keep_default_na=True)
    assert list(df.columns) == columns, (list(df.columns), columns)
    x = np.zeros((len(df), len(columns)))
    categorical = [j for j, k in enumerate(kinds) if k == "categorical"]
    labels = {}
    for j, c in enumerate(columns):
        if kinds[j] == "numeric":
            x[:, j] = df[c].astype(np.float64).to_numpy()
        else:
            vals = [None if pd.isna(v) else str(v) for v in df[c]]
            order = sorted(set(vals), key=lambda v: (v is not None, v or ""))
            labels[c] = order
            code = {v: i for i, v in enumerate(order)}
            x[:, j] = [code[v] for v in vals]
    ex = lime.lime_tabular.LimeTabularExplainer(
        x, feature_names=columns, categorical_features=categorical, class_names=None,
        discretize_continuous=True, discretizer="quartile", random_state=0)
    d = ex.discretizer
    stats = []
    for j, c in enumerate(columns):
        values = [float(v) for v in ex.feature_values[j]]
        freqs = [float(v) for v in ex.feature_frequencies[j]]
        if kinds[j] == "numeric":
            stats.append({
                "column": c, "kind": "numeric",
                "quartiles": [float(v) for v in d.mins[j][1:]],
                "means": [float(v) for v in d.means[j]],
                "stds": [float(v) for v in d.stds[j]],
                "mins": [float(v) for v in d.mins[j]],
                "maxs": [float(v) for v in d.maxs[j]],
                "values": [int(v) for v in values],
                "frequencies": freqs,
            })
        else:
            stats.append({
                "column": c, "kind": "categorical",
                "values": [labels[c][int(v)] for v in values],
                "frequencies": freqs,
            })
    kernel_width = float(np.sqrt(len(columns)) * .75)
    assert abs(kernel_width - fx["kernel_width"]) <= 1e-15
    fits = []
    for r, row in enumerate(fx["rows"]):
        data = np.array([[float(ch) for ch in s] for s in row["binary"]])
        ys = np.array(row["labels"], dtype=np.float64).reshape(len(data), -1)
        dist = np.array(row["distances"], dtype=np.float64)
        # The package's own distances of these samples (euclidean to the first).
        own = sklearn.metrics.pairwise_distances(data, data[0].reshape(1, -1),
                                                 metric="euclidean").ravel()
        assert np.max(np.abs(own - dist)) <= 1e-12
        for k in (4, 10):
            intercept, coefs, score, local_pred = ex.base.explain_instance_with_data(
                data, ys, dist, 0, k)
            fits.append({
                "row": r, "num_features": k,
                "intercept": float(intercept),
                "coefficients": [[int(i), float(v)] for i, v in coefs],
                "score": float(score),
                "local_pred": float(np.asarray(local_pred).ravel()[0]),
            })
            print(f"row {r}, {k} features: score {score:.4f}, local_pred "
                  f"{float(np.asarray(local_pred).ravel()[0]):.4f}, model {ys[0, 0]:.4f}")
    out = {
        "versions": {"python": sys.version.split()[0], "lime": "0.2.0.1",
                     "numpy": np.__version__, "scikit-learn": sklearn.__version__,
                     "pandas": pd.__version__},
        "kernel_width": kernel_width,
        "stats": stats,
        "fits": fits,
    }
    with open(os.path.join(HERE, "lime.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
