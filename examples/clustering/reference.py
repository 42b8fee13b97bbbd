"""scikit-learn reference for `examples/clustering/pipeline.yaml` (checked by
`crates/slipway/tests/cli.rs`, `clustering_example_trains_and_predicts`).

Run with the reference venv from the repository root:

    /tmp/refvenv/bin/python examples/clustering/reference.py

Standardizes the breast-cancer features (the label dropped) as Slipway's linear
preprocessing does (`StandardScaler`), fits each candidate of the config as scikit-learn
(`KMeans(n_clusters, n_init=4, random_state=0)`, `DBSCAN(eps=3.0, min_samples=5)`) and
writes `reference.json`: labels and silhouette / Calinski-Harabasz / Davies-Bouldin scores.
"""

import json
import os

import numpy as np
import pandas as pd
import sklearn
from sklearn.cluster import DBSCAN, KMeans
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    d = pd.read_csv(os.path.join(HERE, "..", "breast_cancer", "breast_cancer.csv"))
    x = StandardScaler().fit_transform(d.drop(columns=["target"]).to_numpy(dtype=float))
    models = {
        "kmeans-2": KMeans(2, n_init=4, random_state=0),
        "kmeans-3": KMeans(3, n_init=4, random_state=0),
        "dbscan": DBSCAN(eps=3.0, min_samples=5),
    }
    out = {"sklearn_version": sklearn.__version__, "candidates": {}}
    for name, m in models.items():
        labels = m.fit(x).labels_
        out["candidates"][name] = {
            "labels": [int(v) for v in labels],
            "n_clusters": int(len(set(labels) - {-1})),
            "silhouette": float(silhouette_score(x, labels)),
            "calinski_harabasz": float(calinski_harabasz_score(x, labels)),
            "davies_bouldin": float(davies_bouldin_score(x, labels)),
        }
    out["selected"] = max(out["candidates"], key=lambda k: out["candidates"][k]["silhouette"])
    with open(os.path.join(HERE, "reference.json"), "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
