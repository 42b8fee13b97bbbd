"""Reference for `linear_regression` on data with categorical columns (issue 12, item 7).

Writes `tests/data/linear_categorical_{train,test}.csv` (two numbers, two categoricals with a
few missing values, a real target) and `drop_first.json`: scikit-learn's LinearRegression on
the encoding Slipway's default preprocessing for an unpenalized linear model uses —
mean-imputed, standard-scaled numbers and one-hot categories with missing as the category
"missing" and the first category (sorted) dropped (OneHotEncoder(drop="first",
handle_unknown="ignore")). The test rows include a category unseen in training, which both
encode as the dropped (first) category's all-zero row.

Run with scikit-learn 1.9.1: python3 make_drop_first.py
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

here = Path(__file__).resolve().parent
data = here.parent.parent / "data"
rng = np.random.default_rng(12)


def frame(n, colors, sizes):
    x1 = rng.normal(0, 1, n).round(4)
    x2 = rng.uniform(-2, 2, n).round(4)
    color = rng.choice(colors, n)
    size = rng.choice(sizes, n)
    effect = {"blue": 0.0, "green": 1.5, "red": -2.0, "purple": 0.7}
    size_effect = {"S": 0.0, "M": 0.8, "L": 2.1}
    y = (
        3.0
        + 1.2 * x1
        - 0.5 * x2
        + np.array([effect[c] for c in color])
        + np.array([size_effect[s] for s in size])
        + rng.normal(0, 0.3, n)
    ).round(4)
    df = pd.DataFrame({"x1": x1, "x2": x2, "color": color, "size": size, "y": y})
    df["color"] = df["color"].astype(object)
    return df


train = frame(200, ["blue", "green", "red"], ["S", "M", "L"])
train.loc[[3, 50, 120], "color"] = None
test = frame(12, ["blue", "green", "red", "purple"], ["S", "M", "L"])
test.loc[0, "color"] = "purple"
test.loc[1, "color"] = None
train.to_csv(data / "linear_categorical_train.csv", index=False)
test.to_csv(data / "linear_categorical_test.csv", index=False)
# Read back what Slipway reads (missing categories are empty fields, NaN here).
train = pd.read_csv(data / "linear_categorical_train.csv")
test = pd.read_csv(data / "linear_categorical_test.csv")

cat = make_pipeline(
    SimpleImputer(strategy="constant", fill_value="missing"),
    OneHotEncoder(drop="first", handle_unknown="ignore"),
)
num = make_pipeline(SimpleImputer(strategy="mean"), StandardScaler())
model = make_pipeline(
    ColumnTransformer([("num", num, ["x1", "x2"]), ("cat", cat, ["color", "size"])]),
    LinearRegression(),
)
X = train.drop(columns="y")
model.fit(X, train["y"])
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    pred_test = model.predict(test.drop(columns="y"))
unknown_warning = any("unknown categories" in str(w.message) for w in caught)
assert unknown_warning, "expected scikit-learn's warning about unknown -> dropped category"
enc = model[0]
out = {
    "sklearn": __import__("sklearn").__version__,
    "features": list(enc.get_feature_names_out()),
    "intercept": float(model[-1].intercept_),
    "coef": [float(c) for c in model[-1].coef_],
    "pred_train": [float(v) for v in model.predict(X)],
    "pred_test": [float(v) for v in pred_test],
    "unknown_maps_to_dropped_warning": unknown_warning,
}
(here / "drop_first.json").write_text(json.dumps(out, indent=1) + "\n")
print(json.dumps({k: out[k] for k in ("features", "intercept")}))
