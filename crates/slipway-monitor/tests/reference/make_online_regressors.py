"""River's online regressors on its bundled regression streams, for
`tests/online_reference.rs`; and ARF classification over five seeds on Phishing.

Writes `online_trump_approval.csv` and `online_chick_weights.csv` (the streams, in River's
order, target last) and prints the JSON (`online_regressors.json`): progressive
(test-then-train) predictions, MAE, RMSE and R2 of `tree.HoeffdingTreeRegressor()` (raw
features, and behind `preprocessing.StandardScaler()` as in River's documentation), of
`forest.ARFRegressor` over seeds 1-5 (River's default median aggregation and the mean), and
`forest.ARFClassifier` accuracy on Phishing over seeds 1-5.

Run with River 0.26 (`/work/venv-online`):
    python make_online_regressors.py > online_regressors.json
"""

import csv
import json
import math
import os

import river
from river import datasets, forest, preprocessing, tree

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = [1, 2, 3, 4, 5]


def export(name, dataset):
    rows = [(x, float(y)) for x, y in dataset]
    features = list(rows[0][0].keys())
    with open(os.path.join(HERE, f"online_{name}.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(features + ["target"])
        for x, y in rows:
            w.writerow([repr(float(x[k])) for k in features] + [repr(y)])
    return rows, features


def metrics(ys, preds):
    n = len(ys)
    mae = sum(abs(y - p) for y, p in zip(ys, preds)) / n
    rmse = math.sqrt(sum((y - p) ** 2 for y, p in zip(ys, preds)) / n)
    mean = sum(ys) / n
    ss_tot = sum((y - mean) ** 2 for y in ys)
    ss_res = sum((y - p) ** 2 for y, p in zip(ys, preds))
    return {"mae": mae, "rmse": rmse, "r2": 1 - ss_res / ss_tot}


def progressive(model, rows, scaler=None):
    preds = []
    for x, y in rows:
        z = scaler.transform_one(x) if scaler is not None else x
        preds.append(float(model.predict_one(z)))
        if scaler is not None:
            scaler.learn_one(x)
            z = scaler.transform_one(x)
        model.learn_one(z, y)
    return preds


out = {"river": river.__version__, "streams": {}}
streams = {"trump_approval": datasets.TrumpApproval(), "chick_weights": datasets.ChickWeights()}
for name, ds in streams.items():
    rows, features = export(name, ds)
    ys = [y for _, y in rows]
    entry = {"rows": len(rows), "features": features}

    ht = tree.HoeffdingTreeRegressor()
    preds = progressive(ht, rows)
    entry["htr_raw"] = {"predictions": preds, "leaves": ht.n_leaves, **metrics(ys, preds)}

    ht = tree.HoeffdingTreeRegressor()
    preds = progressive(ht, rows, preprocessing.StandardScaler())
    entry["htr_scaled"] = {"predictions": preds, "leaves": ht.n_leaves, **metrics(ys, preds)}

    for agg in ["median", "mean"]:
        per_seed = []
        for seed in SEEDS:
            arf = forest.ARFRegressor(seed=seed, aggregation_method=agg)
            preds = progressive(arf, rows, preprocessing.StandardScaler())
            per_seed.append(metrics(ys, preds))
        entry[f"arf_scaled_{agg}"] = per_seed
    out["streams"][name] = entry

# ARF classification on Phishing (exported by make_online_learners.py), five seeds.
phishing = list(datasets.Phishing())
acc = []
for seed in SEEDS:
    arf = forest.ARFClassifier(n_models=10, seed=seed)
    correct = 0
    for x, y in phishing:
        correct += arf.predict_one(x) == y
        arf.learn_one(x, y)
    acc.append(correct / len(phishing))
out["arf_classifier_phishing_accuracy_seeds_1_to_5"] = acc

print(json.dumps(out))
