"""scikit-learn reference for Slipway's k-means seeding (`tests/models.rs`,
`kmeans_seeded_like_sklearn`): NumPy's legacy `RandomState` draws and whole `KMeans` fits
with `random_state=seed` (k-means++ and random init, n_init 1 and 3), and
`calinski_harabasz_score` / `davies_bouldin_score` / `silhouette_score` of two labellings
(one with `-1` noise labels, which scikit-learn scores as a cluster of their own).

Run with the reference venv:

    /tmp/refvenv/bin/python crates/slipway-learn/tests/reference/models/make_kmeans_seeding.py

Writes `kmeans_seeding.json` next to this script. The data are rounded to 6 decimals so the
JSON holds exactly what scikit-learn saw.
"""

import json
import os

import numpy as np
import sklearn
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

HERE = os.path.dirname(os.path.abspath(__file__))


def fl(a):
    return [float(v) for v in np.asarray(a, dtype=float).ravel()]


def main():
    out = {
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "random_sample": [],
        "kmeans": [],
        "scores": [],
    }
    for seed in (0, 42, 4294967295):
        out["random_sample"].append(
            {"seed": seed, "values": fl(np.random.RandomState(seed).random_sample(6))}
        )
    # Seeds above 2**32 - 1 are RandomState([low 32 bits, high 32 bits]) in Slipway.
    big = 2**40 + 5
    rs = np.random.RandomState(np.array([big & 0xFFFFFFFF, big >> 32], dtype=np.uint32))
    out["random_sample"].append({"seed": big, "values": fl(rs.random_sample(6))})

    x, _ = make_blobs(n_samples=700, centers=6, n_features=5, cluster_std=2.5, random_state=7)
    x = np.round(x, 6)
    out["data"] = [fl(r) for r in x]
    for init in ("k-means++", "random"):
        for k, seed, n_init in ((4, 0, 1), (6, 42, 1), (9, 3, 3)):
            km = KMeans(k, init=init, n_init=n_init, random_state=seed).fit(x)
            out["kmeans"].append(
                {
                    "init": init,
                    "k": k,
                    "seed": seed,
                    "n_init": n_init,
                    "labels": [int(v) for v in km.labels_],
                    "n_iter": int(km.n_iter_),
                    "inertia": float(km.inertia_),
                    "centers": [fl(c) for c in km.cluster_centers_],
                }
            )
    base = np.array(out["kmeans"][0]["labels"])
    noisy = base.copy()
    noisy[::7] = -1
    for labels in (base, noisy):
        out["scores"].append(
            {
                "labels": [int(v) for v in labels],
                "silhouette": float(silhouette_score(x, labels)),
                "calinski_harabasz": float(calinski_harabasz_score(x, labels)),
                "davies_bouldin": float(davies_bouldin_score(x, labels)),
            }
        )
    with open(os.path.join(HERE, "kmeans_seeding.json"), "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
