"""Reference ONNX models for `slipway models import --onnx`.

Run from the repository root with the ONNX reference venv (versions in README.md):

    python3 -m venv /tmp/onnx-venv
    /tmp/onnx-venv/bin/pip install scikit-learn skl2onnx onnxruntime pandas
    /tmp/onnx-venv/bin/python crates/slipway-learn/tests/reference/import/make_onnx_reference.py

Trains small scikit-learn models on scikit-learn's breast cancer and diabetes data (from
../shared/data/sklearn), converts each with skl2onnx (one input `X`,
FloatTensorType([None, n]); classifiers with `zipmap: False`, so `probabilities` is a float
tensor; StandardScaler with `div: 'div'`, so it is Sub and Div rather than the ai.onnx.ml
Scaler operator that tract lacks) and writes into this folder:

- `onnx_<case>.onnx`: the model;
- `onnx_breast_cancer.test.csv` (the 30 features only, so the sample's numeric columns are
  the model's input in order) and `onnx_diabetes.test.csv` (features plus `target`, so the
  import names its columns with --inputs);
- `onnx_<case>.expected.csv`: onnxruntime's outputs for the test rows (`label`, and `p0..pK`
  for classifiers, `value` for regressors), every float32 written as the exact decimal of
  its float64 widening;
- `onnx_bad_*.onnx`: models Slipway refuses (the ai.onnx.ml Scaler operator, two inputs, an
  int64 input, a 3-D input, outputs that are neither `probabilities` nor one value);
- `onnx_cases.json`: the cases, read by `crates/slipway-engine/tests/onnx.rs` (which needs
  the `onnx` feature).

The test CSVs are read back as text, parsed by Python's float() (correctly rounded, as Rust
parses) and cast to float32, which is what Slipway feeds the model.
"""

import json
import os

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import sklearn
import skl2onnx
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", "..", ".."))
DATA = os.environ.get("SLIPWAY_DATA", os.path.join(ROOT, "..", "shared", "data"))
OPSET = {"": 17, "ai.onnx.ml": 3}


def split(df, n_test, seed):
    test = df.sample(n_test, random_state=seed)
    return df.drop(test.index), test.reset_index(drop=True)


def convert(model, n, classifier):
    options = {}
    last = model[-1] if hasattr(model, "steps") else model
    if classifier:
        options[id(last)] = {"zipmap": False}
    if hasattr(model, "steps"):
        for _, step in model.steps:
            if isinstance(step, StandardScaler):
                options[id(step)] = {"div": "div"}
    return to_onnx(
        model,
        initial_types=[("X", FloatTensorType([None, n]))],
        options=options,
        target_opset=OPSET,
    )


def main():
    bc = pd.read_csv(os.path.join(DATA, "sklearn", "breast_cancer.csv"))
    bc_train, bc_test = split(bc, 200, 1)
    bc_features = [c for c in bc.columns if c != "target"]
    db = pd.read_csv(os.path.join(DATA, "sklearn", "diabetes.csv"))
    db_train, db_test = split(db, 100, 2)
    db_features = [c for c in db.columns if c != "target"]
    bands = np.array(["low", "mid", "high"])

    def band(y):
        return bands[np.digitize(y, [100.0, 200.0])]

    bc_test[bc_features].to_csv(
        os.path.join(HERE, "onnx_breast_cancer.test.csv"), index=False
    )
    db_test.to_csv(os.path.join(HERE, "onnx_diabetes.test.csv"), index=False)

    def features(name, cols):
        # Python's float() rounds correctly, as Rust's parser does.
        back = pd.read_csv(os.path.join(HERE, name), dtype=str)[cols]
        x = np.array([[float(v) for v in row] for row in back.to_numpy()])
        return x.astype(np.float32)

    x_bc = bc_train[bc_features].to_numpy(np.float32)
    x_db = db_train[db_features].to_numpy(np.float32)
    cases = [
        (
            "onnx_logistic_breast_cancer",
            LogisticRegression(max_iter=5000).fit(x_bc, bc_train["target"]),
            "onnx_breast_cancer.test.csv",
            None,
            "binary",
        ),
        (
            "onnx_mlp_binary_breast_cancer",
            make_pipeline(
                StandardScaler(),
                MLPClassifier(hidden_layer_sizes=(16,), max_iter=400, random_state=0),
            ).fit(x_bc, bc_train["target"]),
            "onnx_breast_cancer.test.csv",
            None,
            "binary",
        ),
        (
            "onnx_mlp_multiclass_diabetes",
            make_pipeline(
                StandardScaler(),
                MLPClassifier(hidden_layer_sizes=(16, 8), max_iter=600, random_state=0),
            ).fit(x_db, band(db_train["target"].to_numpy())),
            "onnx_diabetes.test.csv",
            db_features,
            "multiclass",
        ),
        (
            "onnx_ridge_diabetes",
            Ridge(alpha=0.5).fit(x_db, db_train["target"]),
            "onnx_diabetes.test.csv",
            db_features,
            "regression",
        ),
        (
            "onnx_mlp_regression_diabetes",
            make_pipeline(
                StandardScaler(),
                MLPRegressor(
                    hidden_layer_sizes=(16,),
                    max_iter=2000,
                    learning_rate_init=0.01,
                    random_state=0,
                ),
            ).fit(x_db, db_train["target"]),
            "onnx_diabetes.test.csv",
            db_features,
            "regression",
        ),
    ]
    listed = []
    for name, model, sample, inputs, task in cases:
        classifier = task != "regression"
        cols = inputs or bc_features
        onx = convert(model, len(cols), classifier)
        path = os.path.join(HERE, name + ".onnx")
        onnx.save(onx, path)
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        outs = sess.run(None, {"X": features(sample, cols)})
        names = [o.name for o in sess.get_outputs()]
        res = dict(zip(names, outs))
        exp = pd.DataFrame()
        if classifier:
            probs = res["probabilities"]
            exp["label"] = res["label"].astype(str)
            for k in range(probs.shape[1]):
                exp[f"p{k}"] = [repr(float(v)) for v in probs[:, k]]
            classes = [str(c) for c in model.classes_]
        else:
            exp["value"] = [repr(float(v)) for v in res["variable"].reshape(-1)]
            classes = []
        exp.to_csv(os.path.join(HERE, name + ".expected.csv"), index=False)
        listed.append(
            {
                "name": name,
                "model": name + ".onnx",
                "sample": sample,
                "inputs": inputs,
                "task": task,
                "classes": classes,
                "expected": name + ".expected.csv",
                "operators": sorted({n.op_type for n in onx.graph.node}),
                "bytes": os.path.getsize(path),
            }
        )
        print(name, os.path.getsize(path), "bytes", sorted({n.op_type for n in onx.graph.node}))
    bad_models(x_db, db_train["target"])
    with open(os.path.join(HERE, "onnx_cases.json"), "w") as f:
        json.dump(
            {
                "versions": {
                    "scikit-learn": sklearn.__version__,
                    "skl2onnx": skl2onnx.__version__,
                    "onnx": onnx.__version__,
                    "onnxruntime": ort.__version__,
                    "numpy": np.__version__,
                    "pandas": pd.__version__,
                },
                "cases": listed,
            },
            f,
            indent=1,
        )
        f.write("\n")


def bad_models(x_db, y_db):
    """Models Slipway must refuse with a clear error (the test checks each message)."""
    from onnx import TensorProto, helper

    def save(name, graph):
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        m.ir_version = 8
        onnx.checker.check_model(m)
        onnx.save(m, os.path.join(HERE, name))

    # A StandardScaler converted with the ai.onnx.ml Scaler operator (tract lacks it).
    scaled = make_pipeline(StandardScaler(), Ridge()).fit(x_db, y_db)
    onx = to_onnx(
        scaled,
        initial_types=[("X", FloatTensorType([None, x_db.shape[1]]))],
        target_opset=OPSET,
    )
    onnx.save(onx, os.path.join(HERE, "onnx_bad_scaler_op.onnx"))
    f = TensorProto.FLOAT
    save(
        "onnx_bad_two_inputs.onnx",
        helper.make_graph(
            [helper.make_node("Add", ["A", "B"], ["variable"])],
            "two_inputs",
            [
                helper.make_tensor_value_info("A", f, [None, 3]),
                helper.make_tensor_value_info("B", f, [None, 3]),
            ],
            [helper.make_tensor_value_info("variable", f, [None, 3])],
        ),
    )
    save(
        "onnx_bad_int_input.onnx",
        helper.make_graph(
            [helper.make_node("Cast", ["X"], ["variable"], to=f)],
            "int_input",
            [helper.make_tensor_value_info("X", TensorProto.INT64, [None, 1])],
            [helper.make_tensor_value_info("variable", f, [None, 1])],
        ),
    )
    save(
        "onnx_bad_3d_input.onnx",
        helper.make_graph(
            [helper.make_node("ReduceSum", ["X"], ["variable"], keepdims=0)],
            "three_d",
            [helper.make_tensor_value_info("X", f, [None, 3, 2])],
            [helper.make_tensor_value_info("variable", f, [None])],
        ),
    )
    save(
        "onnx_bad_outputs.onnx",
        helper.make_graph(
            [
                helper.make_node("Relu", ["X"], ["a"]),
                helper.make_node("Neg", ["X"], ["b"]),
            ],
            "two_outputs",
            [helper.make_tensor_value_info("X", f, [None, 3])],
            [
                helper.make_tensor_value_info("a", f, [None, 3]),
                helper.make_tensor_value_info("b", f, [None, 3]),
            ],
        ),
    )


if __name__ == "__main__":
    main()
