"""Reference SHAP values for `slipway-explain` (path-dependent TreeSHAP).

Run from the repository root with the reference venv (versions in README.md):

    python3 -m venv /tmp/explain-venv
    /tmp/explain-venv/bin/pip install lightgbm==4.7.0 xgboost==3.2.0 shap==0.51.0 \
        pandas==3.1.1 numpy==2.4.6 scikit-learn==1.9.1 pyarrow==26.0.1
    cargo build -p slipway
    /tmp/explain-venv/bin/python crates/slipway-explain/tests/reference/make_reference.py \
        --slipway $CARGO_TARGET_DIR/debug/slipway

For each case it writes `<case>.json` into this folder: the first ROWS rows of the case's
test file explained by LightGBM's `predict(pred_contrib=True)` (XGBoost's
`predict(pred_contribs=True)`) and by `shap.TreeExplainer(model).shap_values`, in raw-score
space (log-odds, per-class raw scores, values), each row `n_features` contributions then the
base value, per output (`shap_values` is null where shap's values are exactly
`pred_contrib`, as they are when shap delegates to the library). `tests/reference.rs` explains the same rows with Slipway and
requires |Slipway - reference| <= 1e-6 (relative to max(1, |value|) for XGBoost, whose
library sums in float32).

Cases:
1. Imported LightGBM and XGBoost models: the models and test rows of
   `crates/slipway-learn/tests/reference/import` (Adult binary with pandas categories, NaN and
   unseen categories; ACS employment, 5 classes; diabetes regression with missing type Zero
   and an integer categorical; a LightGBM random forest), plus a 3-class LightGBM model on
   diabetes trained here (`lgb_multiclass3_diabetes.txt`).
2. Linear SHAP: `shap.LinearExplainer` with an independent masker on random coefficients,
   background and rows (`linear_shap.json`).
3. With --slipway BIN: Slipway GBDT models trained with the CLI (Adult binary with native
   categories and NaN, diabetes regression, diabetes 3 classes), written as LightGBM text by
   `slipway models export --lightgbm`; LightGBM loads the exported file and explains the rows.
   Each bundle's fitted pipeline is kept here (`slipway_<case>.pipeline.json`) so the test
   explains the very model that was exported.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import lightgbm as lgb
import numpy as np
import pandas as pd
import shap
import shap.maskers
import sklearn
import xgboost as xgb

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
IMPORT = os.path.join(ROOT, "crates", "slipway-learn", "tests", "reference", "import")
DATA = os.environ.get("SLIPWAY_DATA", os.path.join(ROOT, "..", "shared", "data"))
# Rows explained per case (the first ones of the test file).
ROWS = 60

ADULT_CATS = ["workclass", "education", "marital_status", "occupation", "relationship", "race",
              "sex", "native_country"]
EMP_CATS = ["SCHL", "RELP", "DIS", "CIT", "MIG", "MIL", "NATIVITY", "SEX", "RAC1P"]
EMP_FEATURES = ["AGEP"] + EMP_CATS


def rel(path):
    return os.path.relpath(path, HERE)


def read(path):
    return pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path)


def as_categories(frame, categories):
    """Columns of `frame` as pandas categories with the given categories (unseen and missing
    values become NaN, code -1, as LightGBM and Slipway treat them)."""
    out = frame.copy()
    for c, known in categories.items():
        known = list(known)
        col = out[c].astype(object).where(out[c].isin(known))
        out[c] = pd.Categorical(col, categories=known)
    return out


def fmt(a):
    return [[float("%.12g" % v) for v in row] for row in np.asarray(a, dtype=np.float64)]


def lgb_contrib(booster, x):
    """pred_contrib (rows x k(nf + 1)) and shap.TreeExplainer's values in the same layout."""
    pc = booster.predict(x, pred_contrib=True)
    k = booster.num_model_per_iteration()
    nf = booster.num_feature()
    ex = shap.TreeExplainer(booster)
    sv = np.asarray(ex.shap_values(x))
    ev = np.atleast_1d(ex.expected_value)
    return pc, shap_layout(sv, ev, len(x), nf, k)


def shap_layout(sv, ev, n, nf, k):
    """shap's (n, nf) or (n, nf, k) values and expected values as rows of k(nf + 1)."""
    out = np.zeros((n, k * (nf + 1)))
    if sv.ndim == 2:
        sv = sv[:, :, None]
    for c in range(k):
        out[:, c * (nf + 1):c * (nf + 1) + nf] = sv[:, :, c]
        out[:, c * (nf + 1) + nf] = ev[c] if len(ev) > 1 else ev[0]
    return out


def raw_score(booster, x):
    return np.asarray(booster.predict(x, raw_score=True)).reshape(len(x), -1)


def write_case(name, kind, model, test, features, outputs, pc, sv, raw, notes=None):
    pc = np.asarray(pc).reshape(len(raw), -1)
    case = {
        "case": name,
        "kind": kind,
        "model": rel(model),
        "test": rel(test),
        "rows": int(len(raw)),
        "features": list(features),
        "outputs": int(outputs),
        "raw_score": fmt(raw),
        "pred_contrib": fmt(pc),
        # shap delegates path-dependent values of LightGBM and XGBoost models to the library;
        # its values are written only where they are not the same numbers.
        "shap_values": None if np.array_equal(pc, sv) else fmt(sv),
        "max_abs_pred_contrib_vs_shap": float(np.max(np.abs(pc - sv))),
        "max_abs_additivity": float(np.max(np.abs(
            pc.reshape(len(raw), outputs, -1).sum(axis=2) - raw))),
    }
    if notes:
        case["notes"] = notes
    with open(os.path.join(HERE, f"{name}.json"), "w") as f:
        json.dump(case, f, separators=(",", ":"))
        f.write("\n")
    print(f"{name}: {len(raw)} rows, pred_contrib vs shap {case['max_abs_pred_contrib_vs_shap']:.3g}, "
          f"pred_contrib additivity {case['max_abs_additivity']:.3g}")
    return name


def lightgbm_case(name, model_path, test_file, notes=None):
    booster = lgb.Booster(model_file=model_path)
    test = read(os.path.join(IMPORT, test_file)).head(ROWS)
    x = test[booster.feature_name()].copy()
    cats = dict(zip([c for c in x.columns if x[c].dtype == object or str(x[c].dtype) in ("str", "string")],
                    booster.pandas_categorical or []))
    x = as_categories(x, cats)
    pc, sv = lgb_contrib(booster, x)
    return write_case(name, "lightgbm", model_path, os.path.join(IMPORT, test_file),
                      booster.feature_name(), booster.num_model_per_iteration(), pc, sv,
                      raw_score(booster, x), notes)


RF_NOTE = ("boosting=rf (average_output): LightGBM's raw_score and pred_contrib are sums over "
           "the iterations; its predict takes their mean as the log-odds, which Slipway explains "
           "(Slipway's values are these divided by the number of iterations)")


def xgboost_case(name, model_path, test_file, cats, features):
    booster = xgb.Booster()
    booster.load_model(model_path)
    test = read(os.path.join(IMPORT, test_file)).head(ROWS)
    x = test[features].copy()
    if cats:
        # The training categories, as the model file records them (XGBoost 3.1+).
        train_cats = {c: list(v) for c, v in zip(cats, xgb_categories(booster, cats))}
        x = as_categories(x, train_cats)
    d = xgb.DMatrix(x, enable_categorical=True)
    pc = booster.predict(d, pred_contribs=True)
    raw = booster.predict(d, output_margin=True).reshape(len(x), -1)
    k = raw.shape[1]
    nf = len(features)
    pc = np.asarray(pc).reshape(len(x), -1)
    try:
        ex = shap.TreeExplainer(booster)
        sv = shap_layout(np.asarray(ex.shap_values(d)), np.atleast_1d(ex.expected_value), len(x), nf, k)
        notes = None
    except Exception as e:  # shap may not take categorical XGBoost models
        sv = pc
        notes = f"shap.TreeExplainer failed ({type(e).__name__}: {e}); shap_values repeats pred_contribs"
    return write_case(name, "xgboost", model_path, os.path.join(IMPORT, test_file), features, k,
                      pc, sv, raw, notes)


def xgb_categories(booster, cats):
    """The category names XGBoost stores for each categorical feature (3.1+ `cats`)."""
    cfg = json.loads(booster.save_raw("json").decode())
    enc = cfg["learner"]["gradient_booster"]["model"]["cats"]["enc"]
    names = cfg["learner"]["feature_names"]
    out = []
    for c in cats:
        e = enc[names.index(c)]
        values = bytes(e["values"]).decode()
        offs = e["offsets"]
        out.append([values[offs[i]:offs[i + 1]] if i + 1 < len(offs) else values[offs[i]:]
                    for i in range(len(offs))])
    return out


def diabetes_3class():
    """Diabetes progression in tertiles (3 classes), with the integer categorical bmi_band."""
    df = pd.read_csv(os.path.join(DATA, "sklearn", "diabetes.csv"))
    df["bmi_band"] = pd.qcut(df["bmi"], 8, labels=False).astype(int)
    y = pd.qcut(df.pop("target"), 3, labels=False).astype(int)
    return df, y


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slipway", help="a slipway binary, for the exported Slipway models")
    args = ap.parse_args()
    cases = []
    for name, model, test in [
        ("lgb_binary_adult", "lgb_binary_adult.txt", "adult.test.csv"),
        ("lgb_multiclass_employment", "lgb_multiclass_employment.txt", "employment.test.parquet"),
        ("lgb_regression_diabetes", "lgb_regression_diabetes.txt", "diabetes.test.csv"),
        ("lgb_rf_breast_cancer", "lgb_rf_breast_cancer.txt", "breast_cancer.test.csv"),
    ]:
        cases.append(lightgbm_case(name, os.path.join(IMPORT, model), test,
                                   RF_NOTE if "_rf_" in name else None))

    # A 3-class LightGBM model on diabetes.
    train, y = diabetes_3class()
    params = dict(objective="multiclass", num_class=3, num_leaves=7, learning_rate=0.1,
                  min_data_in_leaf=10, seed=0, deterministic=True, num_threads=1, verbose=-1,
                  min_data_per_group=10, cat_smooth=1.0)
    booster = lgb.train(params, lgb.Dataset(train, y, categorical_feature=["bmi_band"]),
                        num_boost_round=20)
    path = os.path.join(HERE, "lgb_multiclass3_diabetes.txt")
    booster.save_model(path)
    cases.append(lightgbm_case("lgb_multiclass3_diabetes", path, "diabetes.test.csv"))

    adult_features = ["age", "workclass", "fnlwgt", "education", "education_num",
                      "marital_status", "occupation", "relationship", "race", "sex",
                      "capital_gain", "capital_loss", "hours_per_week", "native_country"]
    diabetes_features = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6",
                         "bmi_band"]
    for name, model, test, cats, feats in [
        ("xgb_binary_adult", "xgb_binary_adult.json", "adult.test.csv", ADULT_CATS,
         adult_features),
        ("xgb_multiclass_employment", "xgb_multiclass_employment.json",
         "employment.test.parquet", EMP_CATS, EMP_FEATURES),
        ("xgb_regression_diabetes", "xgb_regression_diabetes.json", "diabetes.test.csv", [],
         diabetes_features),
    ]:
        cases.append(xgboost_case(name, os.path.join(IMPORT, model), test, cats, feats))

    if args.slipway:
        cases += slipway_cases(os.path.abspath(args.slipway))

    interventional = interventional_cases()
    linear_case()
    with open(os.path.join(HERE, "cases.json"), "w") as f:
        json.dump({"versions": versions(), "rows": ROWS, "cases": cases,
                   "interventional": interventional}, f, indent=1)
        f.write("\n")


def linear_case():
    """shap.LinearExplainer((coef, intercept), Independent(background)) on random
    coefficients, background and rows (binary log-odds and two outputs of a multinomial
    model are the same computation per output): `linear_shap.json`."""
    r = np.random.default_rng(7)
    coef = r.normal(size=(2, 6))
    intercept = r.normal(size=2)
    bg = r.normal(size=(40, 6)) * 3 + 1
    x = r.normal(size=(10, 6)) * 2
    values = []
    base = []
    for k in range(2):
        ex = shap.LinearExplainer((coef[k], intercept[k]),
                                  shap.maskers.Independent(bg, max_samples=len(bg)))
        values.append(ex.shap_values(x).tolist())
        base.append(float(ex.expected_value))
    with open(os.path.join(HERE, "linear_shap.json"), "w") as f:
        json.dump({"coef": coef.tolist(), "intercept": intercept.tolist(),
                   "background": bg.tolist(), "rows": x.tolist(), "shap_values": values,
                   "expected_value": base}, f, separators=(",", ":"))
        f.write("\n")
    print("linear_shap: 10 rows, 2 outputs")


def interventional_cases():
    """Interventional TreeSHAP: shap.TreeExplainer(booster, data=background,
    feature_perturbation="interventional", model_output="raw") on numeric LightGBM models
    trained with NaN (missing type NaN, which shap's tree format follows), a background of 50
    training rows, the test rows of the import reference (NaN included)."""
    names = []
    bc = pd.read_csv(os.path.join(DATA, "sklearn", "breast_cancer.csv"))
    yb = bc.pop("target")
    diab = pd.read_csv(os.path.join(DATA, "sklearn", "diabetes.csv"))
    yd = diab.pop("target")
    r = np.random.default_rng(5)
    for df, cols in [(bc, ["mean_radius", "worst_area", "mean_concavity"]),
                     (diab, ["bmi", "bp", "s5"])]:
        for c in cols:
            df.loc[r.random(len(df)) < 0.05, c] = np.nan
    for name, train, y, objective, test_file in [
        ("interventional_binary_breast_cancer", bc, yb, "binary", "breast_cancer.test.csv"),
        ("interventional_regression_diabetes", diab, yd, "regression", "diabetes.test.csv"),
    ]:
        params = dict(objective=objective, num_leaves=15, learning_rate=0.1, min_data_in_leaf=10,
                      seed=0, deterministic=True, num_threads=1, verbose=-1)
        booster = lgb.train(params, lgb.Dataset(train, y), num_boost_round=20)
        model = os.path.join(HERE, f"{name}.txt")
        booster.save_model(model)
        bg = train.sample(50, random_state=1)
        bg_path = os.path.join(HERE, f"{name}.background.csv")
        bg.to_csv(bg_path, index=False, na_rep="")
        bg = pd.read_csv(bg_path)
        test = read(os.path.join(IMPORT, test_file)).head(40)
        x = test[booster.feature_name()]
        ex = shap.TreeExplainer(booster, data=bg, feature_perturbation="interventional",
                                model_output="raw")
        sv = shap_layout(np.asarray(ex.shap_values(x)), np.atleast_1d(ex.expected_value),
                         len(x), booster.num_feature(), 1)
        raw = raw_score(booster, x)
        case = {
            "case": name, "kind": "lightgbm", "model": rel(model),
            "test": rel(os.path.join(IMPORT, test_file)), "background": rel(bg_path),
            "rows": int(len(x)), "features": booster.feature_name(), "outputs": 1,
            "raw_score": fmt(raw), "shap_values": fmt(sv),
            "max_abs_additivity": float(np.max(np.abs(sv.sum(axis=1) - raw[:, 0]))),
        }
        with open(os.path.join(HERE, f"{name}.json"), "w") as f:
            json.dump(case, f, separators=(",", ":"))
            f.write("\n")
        print(f"{name}: {len(x)} rows, shap additivity {case['max_abs_additivity']:.3g}")
        names.append(name)
    return names


def versions():
    return {"python": sys.version.split()[0], "lightgbm": lgb.__version__,
            "xgboost": xgb.__version__, "shap": shap.__version__, "pandas": pd.__version__,
            "numpy": np.__version__, "scikit-learn": sklearn.__version__}


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{p.stdout}\n{p.stderr}")
    return p.stdout


def slipway_cases(slipway):
    """Slipway GBDT models, trained by the CLI, exported as LightGBM text, explained by LightGBM."""
    names = []
    adult_train = pd.read_csv(os.path.join(DATA, "adult", "adult_train.csv")).sample(
        3000, random_state=0)
    r = np.random.default_rng(0)
    for col in ["age", "hours_per_week"]:
        adult_train.loc[r.random(len(adult_train)) < 0.03, col] = np.nan
    diab = pd.read_csv(os.path.join(DATA, "sklearn", "diabetes.csv"))
    diab3, y3 = diabetes_3class()
    diab3 = diab3.drop(columns="bmi_band").assign(progression=y3.map({0: "low", 1: "mid", 2: "high"}))
    specs = [
        ("slipway_binary_adult", adult_train.drop(columns="fnlwgt"), "income", "classification",
         "adult.test.csv", ADULT_CATS),
        ("slipway_regression_diabetes", diab, "target", "regression", "diabetes.test.csv", []),
        ("slipway_multiclass3_diabetes", diab3, "progression", "classification",
         "diabetes.test.csv", []),
    ]
    for name, df, target, task, test_file, cats in specs:
        tmp = tempfile.mkdtemp()
        try:
            train_path = os.path.join(tmp, "train.csv")
            df.to_csv(train_path, index=False)
            cfg = os.path.join(tmp, "pipeline.yaml")
            with open(cfg, "w") as f:
                f.write(
                    f"name: {name}\ndata: {{train: {train_path}}}\ntarget: {target}\n"
                    f"task: {task}\nmodels:\n"
                    "  - {name: gbdt, type: gbdt, params: {n_estimators: 20, num_leaves: 15, "
                    "min_data_in_leaf: 10, max_cat_to_onehot: 4, bagging_fraction: 0.8, "
                    "bagging_freq: 1}}\n"
                    "cv: {folds: 2}\nseed: 0\n"
                )
            out = os.path.join(tmp, "out")
            run([slipway, "--json", "train", "-c", cfg, "--output", out, "--no-track"])
            exported = os.path.join(HERE, f"{name}.txt")
            run([slipway, "models", "export", "--lightgbm", exported, "--model",
                 os.path.join(out, "model")])
            # The bundle's fitted pipeline, compact (Python's float repr round-trips).
            pipeline = os.path.join(HERE, f"{name}.pipeline.json")
            with open(os.path.join(out, "model", "pipeline.json")) as f:
                doc = json.load(f)
            with open(pipeline, "w") as f:
                json.dump(doc, f, separators=(",", ":"))
                f.write("\n")
        finally:
            shutil.rmtree(tmp)
        booster = lgb.Booster(model_file=exported)
        test = read(os.path.join(IMPORT, test_file)).head(ROWS)
        x = test[booster.feature_name()].copy()
        x = as_categories(x, dict(zip(cats, booster.pandas_categorical or [])))
        pc, sv = lgb_contrib(booster, x)
        names.append(write_case(name, "slipway", pipeline, os.path.join(IMPORT, test_file),
                                booster.feature_name(), booster.num_model_per_iteration(), pc,
                                sv, raw_score(booster, x)))
    return names


if __name__ == "__main__":
    main()
