"""Generate scikit-learn reference outputs for Slipway's elastic net, k-NN, Gaussian naive
Bayes, k-means, DBSCAN and silhouette score (`tests/models.rs`).

Run with the reference venv:

    /tmp/refvenv/bin/python crates/slipway-learn/tests/reference/models/make_reference.py

Writes `sklearn_models.json` next to this script: the inputs (rounded to 6 decimals, so the
JSON holds exactly what scikit-learn saw) and scikit-learn's outputs, plus the versions.
The script asserts the inputs avoid the cases where results legitimately depend on
round-off: k-NN queries whose k-th and (k+1)-th neighbour distances are (nearly) tied are
dropped, and DBSCAN's eps is checked to be far from every pairwise distance.
"""

import json
import os
import sys
import warnings

import numpy as np
import pandas as pd
import scipy
import sklearn
from sklearn.cluster import DBSCAN, KMeans
from sklearn.datasets import load_wine, make_blobs
from sklearn.linear_model import ElasticNet, Lasso
from sklearn.metrics import silhouette_score
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from scipy.spatial.distance import cdist

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get("SLIPWAY_SKLEARN_DATA", "/work/shared/data/sklearn")
warnings.simplefilter("ignore")


def fl(a):
    return [float(v) for v in np.asarray(a, dtype=float).ravel()]


def rows(x):
    return [fl(r) for r in x]


def standardize(x):
    return np.round((x - x.mean(axis=0)) / x.std(axis=0), 6)


def read_csv(name):
    df = pd.read_csv(os.path.join(DATA, name))
    y = df.pop("target").to_numpy()
    return df.to_numpy(dtype=float), y


def untied_queries(x_tr, x_te, k, p):
    d = np.sort(cdist(x_te, x_tr, metric="minkowski", p=p), axis=1)
    gap = d[:, k] - d[:, k - 1]
    return np.where(gap > 1e-7 * (1 + d[:, k]))[0]


def main():
    out = {
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "scipy_version": scipy.__version__,
        "python_version": sys.version.split()[0],
    }
    xb, yb = read_csv("breast_cancer.csv")
    xd, yd = read_csv("diabetes.csv")
    xw, yw = load_wine(return_X_y=True)
    perm = np.random.default_rng(7).permutation(len(yw))  # wine is sorted by class
    xw, yw = xw[perm], yw[perm]
    xb_std, xd_std, xw_std = standardize(xb), standardize(xd), standardize(xw)
    xb_raw = np.round(xb, 6)
    out["data"] = {
        "breast_cancer_std": {"x": rows(xb_std), "y": yb.astype(int).tolist()},
        "breast_cancer_raw": {"x": rows(xb_raw), "y": yb.astype(int).tolist()},
        "diabetes_std": {"x": rows(xd_std), "y": fl(yd)},
        "wine_std": {"x": rows(xw_std), "y": yw.astype(int).tolist()},
    }

    # Elastic net / lasso on standardized diabetes.
    enet = []
    rng = np.random.default_rng(0)
    wd = np.round(rng.uniform(0.2, 2.0, len(yd)), 2)
    out["data"]["diabetes_std"]["weights"] = fl(wd)
    for alpha, l1, fit_int, weighted in [
        (0.01, 0.5, True, False),
        (0.1, 0.5, True, False),
        (1.0, 0.5, True, False),
        (0.05, 1.0, True, False),
        (0.5, 1.0, True, False),
        (2.0, 1.0, True, False),
        (0.1, 0.2, False, False),
        (0.1, 0.7, True, True),
    ]:
        if l1 == 1.0:
            m = Lasso(alpha=alpha, fit_intercept=fit_int)
        else:
            m = ElasticNet(alpha=alpha, l1_ratio=l1, fit_intercept=fit_int)
        m.fit(xd_std, yd, sample_weight=wd if weighted else None)
        enet.append({
            "alpha": alpha, "l1_ratio": l1, "fit_intercept": fit_int, "weighted": weighted,
            "coef": fl(m.coef_), "intercept": float(m.intercept_), "n_iter": int(m.n_iter_),
            "dual_gap": float(m.dual_gap_),
        })
    out["elastic_net"] = enet

    # k-NN: classifier on breast cancer (binary) and wine (3 classes), regressor on diabetes.
    knn = []
    for data, x, y, n_tr, kind in [
        ("breast_cancer_std", xb_std, yb, 400, "classifier"),
        ("wine_std", xw_std, yw, 120, "classifier"),
        ("diabetes_std", xd_std, yd, 300, "regressor"),
    ]:
        x_tr, x_te, y_tr = x[:n_tr], x[n_tr:], y[:n_tr]
        for k, weights, p in [(5, "uniform", 2), (5, "distance", 2), (5, "uniform", 1), (8, "distance", 1), (1, "uniform", 2)]:
            q = untied_queries(x_tr, x_te, k, p)
            cls = KNeighborsClassifier if kind == "classifier" else KNeighborsRegressor
            m = cls(n_neighbors=k, weights=weights, p=p, algorithm="brute").fit(x_tr, y_tr)
            case = {"data": data, "kind": kind, "n_train": n_tr, "k": k, "weights": weights,
                    "p": p, "queries": [int(n_tr + i) for i in q]}
            if kind == "classifier":
                case["proba"] = rows(m.predict_proba(x_te[q]))
                case["predict"] = m.predict(x_te[q]).astype(int).tolist()
            else:
                case["predict"] = fl(m.predict(x_te[q]))
            knn.append(case)
    out["knn"] = knn

    # Gaussian naive Bayes.
    nb = []
    for data, x, y, n_tr, priors, vs in [
        ("breast_cancer_raw", xb_raw, yb, 400, None, 1e-9),
        ("breast_cancer_raw", xb_raw, yb, 400, [0.3, 0.7], 1e-9),
        ("breast_cancer_std", xb_std, yb, 400, None, 1e-2),
        ("wine_std", xw_std, yw, 120, None, 1e-9),
    ]:
        m = GaussianNB(priors=priors, var_smoothing=vs).fit(x[:n_tr], y[:n_tr])
        nb.append({"data": data, "n_train": n_tr, "priors": priors, "var_smoothing": vs,
                   "proba": rows(m.predict_proba(x[n_tr:])), "theta": rows(m.theta_),
                   "var": rows(m.var_), "epsilon": float(m.epsilon_)})
    out["naive_bayes"] = nb

    # Clustering data: well-separated blobs; blobs with uniform noise for DBSCAN.
    xblob, _ = make_blobs(n_samples=600, centers=4, n_features=5, cluster_std=1.0, random_state=0)
    xblob = np.round(xblob, 6)
    x2, _ = make_blobs(n_samples=300, centers=[[0, 0], [3, 3], [-3, 3]], cluster_std=0.4, random_state=1)
    noise = np.random.default_rng(1).uniform(-5, 6, (30, 2))
    x2 = np.round(np.vstack([x2, noise]), 6)
    out["data"]["blobs"] = {"x": rows(xblob)}
    out["data"]["blobs2d_noise"] = {"x": rows(x2)}
    datasets = {"blobs": xblob, "breast_cancer_std": xb_std, "blobs2d_noise": x2}

    km = []
    for data, k in [("blobs", 4), ("breast_cancer_std", 2), ("breast_cancer_std", 5)]:
        x = datasets[data]
        best = KMeans(n_clusters=k, n_init=10, random_state=0).fit(x)
        init_idx = np.random.default_rng(k).choice(len(x), size=k, replace=False)
        init = x[init_idx]
        m = KMeans(n_clusters=k, init=init, n_init=1).fit(x)
        km.append({"data": data, "k": k, "best_of_10_inertia": float(best.inertia_),
                   "init": rows(init), "labels": m.labels_.tolist(), "centers": rows(m.cluster_centers_),
                   "inertia": float(m.inertia_), "n_iter": int(m.n_iter_)})
    out["kmeans"] = km

    db = []
    for data, eps, ms, p in [("blobs2d_noise", 0.3, 5, 2), ("blobs2d_noise", 0.5, 10, 1),
                             ("breast_cancer_std", 2.0, 5, 2), ("blobs", 1.2, 4, 2)]:
        x = datasets[data]
        d = cdist(x, x, metric="minkowski", p=p)
        margin = float(np.min(np.abs(d - eps)))
        assert margin > 1e-7, (data, eps, margin)
        m = DBSCAN(eps=eps, min_samples=ms, metric="minkowski", p=p).fit(x)
        db.append({"data": data, "eps": eps, "min_samples": ms, "p": p,
                   "labels": m.labels_.tolist(),
                   "core_sample_indices": m.core_sample_indices_.tolist()})
    out["dbscan"] = db

    sil = []
    for data, labels_from in [("blobs", "kmeans0"), ("breast_cancer_std", "kmeans2"),
                              ("blobs2d_noise", "dbscan0"), ("breast_cancer_std", "dbscan2")]:
        src, i = labels_from[:-1], int(labels_from[-1])
        labels = np.array(km[i]["labels"] if src == "kmeans" else db[i]["labels"])
        sil.append({"data": data, "labels": labels.tolist(),
                    "score": float(silhouette_score(datasets[data], labels))})
    out["silhouette"] = sil

    path = os.path.join(HERE, "sklearn_models.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")
    for c in knn:
        print("knn", c["data"], c["k"], c["weights"], c["p"], "queries kept", len(c["queries"]))
    for c in db:
        print("dbscan", c["data"], c["eps"], "clusters", max(c["labels"]) + 1, "noise", c["labels"].count(-1))
    for c in km:
        print("kmeans", c["data"], c["k"], "n_iter", c["n_iter"], "inertia", c["inertia"], "best", c["best_of_10_inertia"])


if __name__ == "__main__":
    main()
