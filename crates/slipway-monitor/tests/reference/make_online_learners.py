"""River's online learners on its bundled streams, for `tests/online_reference.rs`.

Writes `online_phishing.csv` and `online_bananas.csv` (the streams, in River's order) and
prints the JSON (`online_learners.json`): the standard scaler's output, logistic
regression's probabilities, and progressive accuracy of the Hoeffding tree and ARF.

Run with River 0.26 (`/work/venv-online`):
    python make_online_learners.py > online_learners.json
"""

import csv
import json
import os

import river
from river import datasets, forest, linear_model, preprocessing, tree

HERE = os.path.dirname(os.path.abspath(__file__))


def export(name, dataset):
    rows = list(dataset)
    features = list(rows[0][0].keys())
    with open(os.path.join(HERE, f"online_{name}.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(features + ["target"])
        for x, y in rows:
            w.writerow([repr(float(x[k])) for k in features] + [str(bool(y)).lower()])
    return rows, features


def progressive(model, rows):
    correct = 0
    for x, y in rows:
        y_pred = model.predict_one(x)
        correct += y_pred == y
        model.learn_one(x, y)
    return correct


out = {"river": river.__version__, "streams": {}}
streams = {"phishing": datasets.Phishing(), "bananas": datasets.Bananas()}
for name, ds in streams.items():
    rows, features = export(name, ds)
    entry = {"rows": len(rows), "features": features}

    ht = tree.HoeffdingTreeClassifier()
    entry["hoeffding_tree_correct"] = progressive(ht, rows)
    entry["hoeffding_tree_leaves"] = ht.n_leaves

    arf_acc = []
    for seed in [1, 2, 3]:
        arf = forest.ARFClassifier(n_models=10, seed=seed)
        arf_acc.append(progressive(arf, rows) / len(rows))
    entry["arf_accuracy_seeds_1_2_3"] = arf_acc

    # Standard scaler then logistic regression, test-then-train: the probability of True
    # for every row before it is learned, and the scaled row after the scaler learned it.
    scaler = preprocessing.StandardScaler()
    lr = linear_model.LogisticRegression()
    probas, scaled = [], []
    correct = 0
    for x, y in rows:
        p = lr.predict_proba_one(scaler.transform_one(x))[True]
        probas.append(p)
        correct += (p > 0.5) == y
        scaler.learn_one(x)
        z = scaler.transform_one(x)
        scaled.append([z[k] for k in features])
        lr.learn_one(z, y)
    entry["logistic_proba"] = probas
    entry["logistic_correct"] = correct
    entry["logistic_weights"] = [lr.weights.get(k, 0.0) for k in features]
    entry["logistic_intercept"] = lr.intercept
    entry["scaled_first_300"] = scaled[:300]
    entry["scaled_last"] = scaled[-1]
    out["streams"][name] = entry

print(json.dumps(out))
