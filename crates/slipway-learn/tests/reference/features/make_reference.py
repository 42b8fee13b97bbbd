"""scikit-learn / pandas reference outputs for Slipway's feature engineering.

Run from this directory with scikit-learn, numpy and pandas installed:

    python make_reference.py   # writes features_reference.json

Every input is fixed here, so the JSON holds inputs and outputs together.
"""

import json

import numpy as np
import pandas as pd
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.feature_selection import (
    SelectKBest,
    VarianceThreshold,
    chi2,
    f_classif,
    f_regression,
    mutual_info_classif,
    mutual_info_regression,
)
from sklearn.impute import KNNImputer
from sklearn.model_selection import KFold
from sklearn.preprocessing import (
    MinMaxScaler,
    PolynomialFeatures,
    RobustScaler,
    StandardScaler,
    TargetEncoder,
)

nan = float("nan")


def clean(a):
    """Nested lists with NaN as None (JSON has no NaN)."""
    a = np.asarray(a, dtype=float)
    return [[None if np.isnan(v) else float(v) for v in row] for row in a] if a.ndim == 2 else [
        None if np.isnan(v) else float(v) for v in a
    ]


out = {"sklearn_version": sklearn.__version__, "numpy_version": np.__version__}

# Scalers: two columns, training rows and new rows.
sc_train = np.array([[1.0, 10.0], [2.5, -3.0], [4.0, 7.5], [7.0, 0.25], [8.5, 2.0], [3.0, 3.0], [11.0, 5.0]])
sc_new = np.array([[0.0, 100.0], [5.0, -1.0], [12.5, 3.3]])
out["scalers"] = {"train": clean(sc_train), "new": clean(sc_new)}
for name, s in [("standard", StandardScaler()), ("minmax", MinMaxScaler()), ("robust", RobustScaler())]:
    s.fit(sc_train)
    out["scalers"][name] = {"train": clean(s.transform(sc_train)), "new": clean(s.transform(sc_new))}

# k-NN imputer: no tied distances.
knn_train = np.array(
    [
        [1.0, 2.0, nan],
        [3.1, nan, 3.7],
        [nan, 6.3, 5.2],
        [8.4, 8.9, 7.6],
        [2.2, 1.5, 0.9],
        [5.5, 4.1, nan],
        [6.7, nan, 2.3],
        [0.4, 7.7, 9.1],
    ]
)
knn_new = np.array([[2.0, nan, 1.0], [nan, 5.0, nan], [7.3, 3.3, 4.4], [nan, nan, nan]])
out["knn"] = {"train": clean(knn_train), "new": clean(knn_new)}
for k in [1, 2, 5]:
    imp = KNNImputer(n_neighbors=k).fit(knn_train)
    out["knn"][f"k{k}"] = {"train": clean(imp.transform(knn_train)), "new": clean(imp.transform(knn_new))}

# Datetime parts (UTC) with pandas.
stamps = [
    "2024-02-29 13:05:00",
    "1969-12-31 23:59:59",
    "2000-03-31 00:00:00",
    "2023-06-17 07:30:00",
    "2023-06-18 22:00:00",
    "1900-02-28 12:00:00",
    "2100-12-31 23:00:00",
    "2019-11-30 05:45:00",
]
ts = pd.to_datetime(pd.Series(stamps), utc=True)
ms = ts.dt.as_unit("ms").astype("int64").tolist()
out["datetime"] = {
    "epoch_ms": [int(v) for v in ms],
    "year": ts.dt.year.tolist(),
    "month": ts.dt.month.tolist(),
    "day": ts.dt.day.tolist(),
    "hour": ts.dt.hour.tolist(),
    "day_of_week": ts.dt.day_of_week.tolist(),
    "is_weekend": (ts.dt.day_of_week >= 5).astype(int).tolist(),
    "quarter": ts.dt.quarter.tolist(),
    "is_month_end": ts.dt.is_month_end.astype(int).tolist(),
}

# TF-IDF.
corpus = [
    "The quick brown fox jumps over the lazy dog.",
    "Never jump over the lazy dog quickly; the dog sleeps!",
    "A brown dog and a brown fox are friends.",
    "Foxes and dogs: quick friends, lazy afternoons.",
    "I ate 2 apples and 10 bananas at the café in Zürich",
    "",
    "the the the dog",
    "Über café naïve résumé—façade co-operate e-mail x y z",
]
new_docs = ["The lazy fox and the quick dog", "zebra unicorn", "Café Zürich, brown brown dog"]
tfidf_cases = {
    "default": {},
    "bigrams_stop": {"ngram_range": [1, 2], "stop_words": "english"},
    "pruned": {"min_df": 2, "max_df": 0.5},
    "fraction_min_df": {"min_df": 0.25, "ngram_range": [1, 3]},
    "max_features": {"max_features": 6, "stop_words": "english"},
}
out["tfidf"] = {"corpus": corpus, "new": new_docs, "cases": {}}
for name, params in tfidf_cases.items():
    kw = dict(params)
    if "ngram_range" in kw:
        kw["ngram_range"] = tuple(kw["ngram_range"])
    v = TfidfVectorizer(**kw).fit(corpus)
    out["tfidf"]["cases"][name] = {
        "params": params,
        "vocabulary": v.get_feature_names_out().tolist(),
        "idf": v.idf_.tolist(),
        "train": clean(v.transform(corpus).toarray()),
        "new": clean(v.transform(new_docs).toarray()),
    }
out["tfidf"]["length"] = [len(d) for d in corpus]
out["tfidf"]["word_count"] = [len(d.split()) for d in corpus]

# Target encoding: one categorical column (None = missing, its own category).
te_x = ["a", "b", "a", "c", None, "b", "a", "c", "c", "d", "a", "b", None, "a", "c", "b", "e", "a", "b", "c"]
te_new = ["a", "b", "c", "d", "e", None, "zzz"]
y_bin = [1, 0, 1, 0, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 0, 1, 0, 1]
y_cont = [3.2, -1.0, 2.5, 0.7, 4.4, 1.1, 2.0, 0.3, -0.5, 6.1, 2.9, -2.2, 1.8, 3.7, 0.0, 1.5, 5.5, 2.2, -0.3, 1.0]
folds = [(tr.tolist(), te.tolist()) for tr, te in KFold(5).split(te_x)]
X = np.array(te_x, dtype=object).reshape(-1, 1)
Xn = np.array(te_new, dtype=object).reshape(-1, 1)
out["target"] = {"x": te_x, "new": te_new, "y_binary": y_bin, "y_continuous": y_cont, "folds": folds, "cases": {}}
for yname, y, ttype in [("binary", y_bin, "binary"), ("continuous", y_cont, "continuous")]:
    for smooth in ["auto", 2.0]:
        enc = TargetEncoder(smooth=smooth, target_type=ttype).fit(X, y)
        oof = np.empty(len(te_x))
        for tr, te in folds:
            e = TargetEncoder(smooth=smooth, target_type=ttype).fit(X[tr], np.asarray(y)[tr])
            oof[te] = e.transform(X[te])[:, 0]
        out["target"]["cases"][f"{yname}_{smooth}"] = {
            "smooth": smooth,
            "target": yname,
            "target_mean": float(enc.target_mean_),
            "train_full": clean(enc.transform(X)[:, 0]),
            "new": clean(enc.transform(Xn)[:, 0]),
            "oof": clean(oof),
        }

# Whole-matrix steps.
rng = np.random.RandomState(7)
sx = rng.uniform(0, 5, size=(40, 5))
sx[:, 2] = 1.25  # constant
sx[:, 3] = np.round(sx[:, 3])
y_cls = (sx[:, 0] + rng.normal(0, 1, 40) > 2.5).astype(int)
y_cls3 = np.digitize(sx[:, 1] + rng.normal(0, 0.5, 40), [1.7, 3.3])
y_reg = 2 * sx[:, 0] - sx[:, 4] + rng.normal(0, 0.3, 40)
out["steps"] = {
    "x": clean(sx),
    "y_class": y_cls.tolist(),
    "y_class3": y_cls3.tolist(),
    "y_reg": y_reg.tolist(),
    "variance": {},
}
for t in [0.0, 1.5]:
    vt = VarianceThreshold(t).fit(sx)
    out["steps"]["variance"][str(t)] = {
        "variances": vt.variances_.tolist(),
        "support": np.flatnonzero(vt.get_support()).tolist(),
    }
with np.errstate(all="ignore"):
    import warnings

    warnings.simplefilter("ignore")
    out["steps"]["f_classif"] = clean(f_classif(sx, y_cls)[0])
    out["steps"]["f_classif3"] = clean(f_classif(sx, y_cls3)[0])
    out["steps"]["f_regression"] = clean(f_regression(sx, y_reg)[0])
    out["steps"]["chi2"] = clean(chi2(sx, y_cls3)[0])
    out["steps"]["select_f_classif_k2"] = np.flatnonzero(SelectKBest(f_classif, k=2).fit(sx, y_cls).get_support()).tolist()
    out["steps"]["select_chi2_k3"] = np.flatnonzero(SelectKBest(chi2, k=3).fit(sx, y_cls3).get_support()).tolist()
    out["steps"]["mutual_info_classif"] = mutual_info_classif(sx, y_cls, random_state=0).tolist()
    out["steps"]["mutual_info_regression"] = mutual_info_regression(sx, y_reg, random_state=0).tolist()
px = sx[:6, [0, 1, 3]]
out["steps"]["poly_x"] = clean(px)
for name, kw in [("d2", dict(degree=2)), ("d3_inter_bias", dict(degree=3, interaction_only=True, include_bias=True)), ("d3", dict(degree=3, include_bias=False))]:
    p = PolynomialFeatures(**kw).fit(px)
    out["steps"][f"poly_{name}"] = {
        "params": kw,
        "names": p.get_feature_names_out(["a", "b", "c"]).tolist(),
        "values": clean(p.transform(px)),
    }

with open("features_reference.json", "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
