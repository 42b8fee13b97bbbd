"""scikit-learn side of the model-family benchmarks (see `bench/models/run.sh`).

Usage: python bench/models/reference.py OUT_DIR [--repeats N]

Writes to OUT_DIR (little-endian f64, column-major: one feature after another):

- knn_train.f64 / knn_train_y.f64 / knn_query.f64: `make_classification(n_samples=25_000,
  n_features=28, random_state=0)` split 20,000 train / 5,000 queries;
- km.f64, km_init.f64: `make_classification(n_samples=100_000, n_features=28,
  random_state=1)` and 8 initial centers (rows drawn with seed 0);
- reg.f64 / reg_y.f64: `make_regression(n_samples=100_000, n_features=28, noise=10,
  random_state=2)`, standardized;
- shapes.json with the sizes.

Then times (best of N, 2 threads) k-NN predict_proba (k=5, brute), k-means fit from the
given centers and from k-means++ (n_init=1), GaussianNB fit and ElasticNet fit, and prints
`name: value unit` lines.
"""

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "2"

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.datasets import make_classification, make_regression  # noqa: E402
from sklearn.linear_model import ElasticNet  # noqa: E402
from sklearn.naive_bayes import GaussianNB  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402


def best_of(n, f):
    times, out = [], None
    for _ in range(n):
        t0 = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)

    def write(name, a):
        np.ascontiguousarray(a.T if a.ndim == 2 else a, dtype="<f8").tofile(
            os.path.join(args.out_dir, name)
        )

    x, y = make_classification(n_samples=25_000, n_features=28, random_state=0)
    x_tr, y_tr, x_q = x[:20_000], y[:20_000], x[20_000:]
    write("knn_train.f64", x_tr)
    write("knn_train_y.f64", y_tr.astype(float))
    write("knn_query.f64", x_q)

    xk, _ = make_classification(n_samples=100_000, n_features=28, random_state=1)
    init = xk[np.random.default_rng(0).choice(len(xk), 8, replace=False)]
    write("km.f64", xk)
    write("km_init.f64", init)

    xr, yr = make_regression(n_samples=100_000, n_features=28, noise=10.0, random_state=2)
    xr = (xr - xr.mean(axis=0)) / xr.std(axis=0)
    write("reg.f64", xr)
    write("reg_y.f64", yr)

    shapes = {
        "knn_train": 20_000, "knn_query": 5_000, "km_rows": 100_000, "reg_rows": 100_000,
        "n_features": 28, "k": 5, "n_clusters": 8, "enet_alpha": 0.1, "enet_l1_ratio": 0.5,
        "sklearn_version": sklearn.__version__,
    }
    with open(os.path.join(args.out_dir, "shapes.json"), "w") as f:
        json.dump(shapes, f, indent=1)

    r = args.repeats
    knn = KNeighborsClassifier(n_neighbors=5, algorithm="brute", n_jobs=2).fit(x_tr, y_tr)
    t_knn, proba = best_of(r, lambda: knn.predict_proba(x_q))
    np.ascontiguousarray(proba[:, 1], dtype="<f8").tofile(os.path.join(args.out_dir, "sk_knn_p1.f64"))
    t_knn_auto, _ = best_of(r, lambda: KNeighborsClassifier(n_neighbors=5, n_jobs=2).fit(x_tr, y_tr).predict_proba(x_q))

    t_km, km = best_of(r, lambda: KMeans(8, init=init, n_init=1).fit(xk))
    t_kmpp, kmpp = best_of(r, lambda: KMeans(8, n_init=1, random_state=0).fit(xk))
    t_nb, _ = best_of(r, lambda: GaussianNB().fit(x_tr, y_tr))
    t_en, en = best_of(r, lambda: ElasticNet(alpha=0.1, l1_ratio=0.5).fit(xr, yr))

    print(f"sklearn_version: {sklearn.__version__}")
    print(f"sklearn_knn_predict_s: {t_knn:.4f} s")
    print(f"sklearn_knn_auto_fit_predict_s: {t_knn_auto:.4f} s")
    print(f"sklearn_kmeans_given_init_fit_s: {t_km:.4f} s")
    print(f"sklearn_kmeans_given_init_n_iter: {km.n_iter_} iterations")
    print(f"sklearn_kmeans_given_init_inertia: {km.inertia_:.6f} value")
    print(f"sklearn_kmeans_pp_fit_s: {t_kmpp:.4f} s")
    print(f"sklearn_kmeans_pp_n_iter: {kmpp.n_iter_} iterations")
    print(f"sklearn_kmeans_pp_inertia: {kmpp.inertia_:.6f} value")
    print(f"sklearn_gnb_fit_s: {t_nb:.5f} s")
    print(f"sklearn_enet_fit_s: {t_en:.4f} s")
    print(f"sklearn_enet_n_iter: {en.n_iter_} iterations")


if __name__ == "__main__":
    main()
