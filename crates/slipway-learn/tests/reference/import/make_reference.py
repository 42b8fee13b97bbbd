"""Reference models for `slipway models import` / `models export`.

Run from the repository root with the reference venv (versions in README.md):

    python3 -m venv /tmp/ref-venv
    /tmp/ref-venv/bin/pip install lightgbm xgboost pandas scikit-learn pyarrow
    /tmp/ref-venv/bin/python crates/slipway-learn/tests/reference/import/make_reference.py \
        [--slipway target/debug/slipway]

1. Trains small LightGBM and XGBoost models on real data from ../shared/data and writes,
   for each case, into this folder: the model file as the library saves it, the test rows
   (`<data>.test.csv` or `.parquet`, shared by the cases on the same data: the columns as a
   user would have them, text categories as text, missing values empty) and the library's own predictions of them
   (`<case>.expected.csv`: `p1` for binary, `p0..pK` for multiclass, `value` for regression).
   `cases.json` lists the cases; `crates/slipway-learn/tests/import.rs` imports each model with
   its test file as the sample, predicts the rows and requires |Slipway - library| <= 1e-6 on
   every row.

   The test rows hold NaN in numeric columns, missing categories, and categories never seen
   in training. LightGBM maps an unseen pandas category to NaN (its code -1 becomes NaN), as
   Slipway does; XGBoost 3.1+ refuses unseen categories outright, so the XGBoost prediction
   of such a row is taken with the category missing (what XGBoost before 3.1 did with the
   pandas code -1), which is what Slipway does for it.

2. With --slipway BIN: trains Slipway GBDT models with the CLI (binary Adult, multiclass
   employment, regression diabetes), writes each as a LightGBM model with
   `slipway models export --lightgbm`, predicts the test rows with `slipway predict`, then
   loads the exported file in LightGBM, predicts the same rows and compares (|diff| <= 1e-9).
   Keeps the exported models, Slipway's predictions and `export_check.json` (the result)
   here; `tests/import.rs` checks that Slipway's importer reads the exported files back to the
   same predictions and that the recorded check passed.
"""

import argparse
import json
import os
import shutil
import subprocess
import tempfile

import lightgbm as lgb
import numpy as np
import pandas as pd
import sklearn
import xgboost as xgb

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", "..", ".."))
DATA = os.environ.get("SLIPWAY_DATA", os.path.join(ROOT, "..", "shared", "data"))

ADULT_CATS = [
    "workclass",
    "education",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "native_country",
]
EMP_CATS = ["SCHL", "RELP", "DIS", "CIT", "MIG", "MIL", "NATIVITY", "SEX", "RAC1P"]
EMP_FEATURES = ["AGEP"] + EMP_CATS


def rng(seed):
    return np.random.default_rng(seed)


def adult():
    """Adult: 6000 training rows, 300 test rows with NaN, missing and unseen categories."""
    train = pd.read_csv(os.path.join(DATA, "adult", "adult_train.csv")).sample(
        6000, random_state=0
    )
    test = pd.read_csv(os.path.join(DATA, "adult", "adult_test.csv")).sample(
        300, random_state=1
    )
    r = rng(0)
    for col in ["age", "hours_per_week"]:
        train.loc[r.random(len(train)) < 0.03, col] = np.nan
    test = test.reset_index(drop=True)
    test.loc[r.choice(300, 15, replace=False), "age"] = np.nan
    test.loc[r.choice(300, 10, replace=False), "hours_per_week"] = np.nan
    test.loc[r.choice(300, 5, replace=False), "capital_gain"] = np.nan
    test.loc[r.choice(300, 6, replace=False), "workclass"] = "Space-force"
    test.loc[r.choice(300, 4, replace=False), "occupation"] = "Astronaut"
    test.loc[r.choice(300, 6, replace=False), "relationship"] = np.nan
    y = train.pop("income")
    return train, y, test


def employment():
    """Employment (Massachusetts ACS): marital status MAR (5 classes) from age and codes."""
    df = pd.read_parquet(os.path.join(DATA, "employment_ma", "reference.parquet"))
    train = df.sample(6000, random_state=0)
    test = df.drop(train.index).sample(300, random_state=1).reset_index(drop=True)
    y = train["MAR"].cat.codes.astype(int)
    train = train[EMP_FEATURES].copy()
    test = test[EMP_FEATURES + ["MAR"]].copy()
    for c in EMP_CATS:
        test[c] = test[c].astype(str)
    r = rng(1)
    test.loc[r.choice(300, 12, replace=False), "AGEP"] = np.nan
    test.loc[r.choice(300, 4, replace=False), "RAC1P"] = "99"
    test.loc[r.choice(300, 4, replace=False), "SCHL"] = None
    return train, y, test


def diabetes():
    """Diabetes: all 442 rows train; 300 test rows with NaN, exact zeros and odd codes."""
    df = pd.read_csv(os.path.join(DATA, "sklearn", "diabetes.csv"))
    df["bmi_band"] = pd.qcut(df["bmi"], 8, labels=False).astype(int)
    y = df.pop("target")
    test = df.sample(300, random_state=2, replace=False).reset_index(drop=True).astype(float)
    r = rng(2)
    for col in ["bmi", "bp", "s5"]:
        test.loc[r.choice(300, 10, replace=False), col] = np.nan
    for col in ["s1", "s3", "bp"]:
        test.loc[r.choice(300, 8, replace=False), col] = 0.0
    test.loc[r.choice(300, 3, replace=False), "bmi_band"] = 11.0  # never seen
    test.loc[r.choice(300, 3, replace=False), "bmi_band"] = -1.0  # negative code
    test.loc[r.choice(300, 3, replace=False), "bmi_band"] = np.nan
    return df, y, test


def breast_cancer():
    df = pd.read_csv(os.path.join(DATA, "sklearn", "breast_cancer.csv"))
    y = df.pop("target")
    test = df.sample(200, random_state=3).reset_index(drop=True)
    r = rng(3)
    for col in ["mean_radius", "worst_area", "mean_concavity"]:
        test.loc[r.choice(200, 10, replace=False), col] = np.nan
    return df, y, test


def as_categories(frame, train, cols):
    """Text columns of `frame` as pandas categories with the training frame's categories
    (other values become NaN, as pandas codes them -1)."""
    out = frame.copy()
    for c in cols:
        known = train[c].cat.categories
        out[c] = pd.Categorical(frame[c].where(frame[c].isin(known)), categories=known)
    return out


def write_test(name, test, parquet=False):
    """Writes the test rows as a user would have them; returns them as read back."""
    if parquet:
        path = f"{name}.test.parquet"
        test.to_parquet(os.path.join(HERE, path), index=False)
        back = pd.read_parquet(os.path.join(HERE, path))
    else:
        path = f"{name}.test.csv"
        test.to_csv(os.path.join(HERE, path), index=False)
        back = pd.read_csv(os.path.join(HERE, path))
    return path, back


def write_expected(name, pred, task):
    pred = np.asarray(pred, dtype=np.float64)
    if task == "binary":
        cols = {"p1": pred}
    elif task == "regression":
        cols = {"value": pred}
    else:
        cols = {f"p{k}": pred[:, k] for k in range(pred.shape[1])}
    path = f"{name}.expected.csv"
    with open(os.path.join(HERE, path), "w") as f:
        f.write(",".join(cols) + "\n")
        for i in range(len(pred)):
            f.write(",".join(repr(float(v[i])) for v in cols.values()) + "\n")
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slipway", help="a slipway binary, for the export check")
    args = ap.parse_args()
    cases = []

    # -- LightGBM binary: Adult, pandas categories, NaN -----------------------------------
    train, y, test = adult()
    train_c = train.copy()
    for c in ADULT_CATS:
        train_c[c] = train_c[c].astype("category")
    params = dict(objective="binary", num_leaves=15, learning_rate=0.1, min_data_in_leaf=20,
                  seed=0, deterministic=True, num_threads=1, verbose=-1)
    booster = lgb.train(params, lgb.Dataset(train_c, y), num_boost_round=30)
    booster.save_model(os.path.join(HERE, "lgb_binary_adult.txt"))
    test_path, back = write_test("adult", test)
    pred = booster.predict(as_categories(back.drop(columns="income"), train_c, ADULT_CATS))
    cases.append(dict(name="lgb_binary_adult", library="lightgbm", model="lgb_binary_adult.txt",
                      test=test_path, task="binary",
                      expected=write_expected("lgb_binary_adult", pred, "binary")))

    # -- XGBoost binary: the same data ----------------------------------------------------
    clf = xgb.XGBClassifier(n_estimators=30, max_depth=4, learning_rate=0.3,
                            enable_categorical=True, tree_method="hist", n_jobs=1,
                            random_state=0)
    clf.fit(train_c, y)
    clf.get_booster().save_model(os.path.join(HERE, "xgb_binary_adult.json"))
    x = as_categories(back.drop(columns="income"), train_c, ADULT_CATS)
    pred = clf.get_booster().predict(xgb.DMatrix(x, enable_categorical=True))
    cases.append(dict(name="xgb_binary_adult", library="xgboost", model="xgb_binary_adult.json",
                      test=test_path, task="binary",
                      expected=write_expected("xgb_binary_adult", pred, "binary")))

    # -- LightGBM multiclass: employment, Parquet, missing type None ------------------------
    train, y, test = employment()
    params = dict(objective="multiclass", num_class=5, num_leaves=7, learning_rate=0.2,
                  use_missing=False, seed=0, deterministic=True, num_threads=1, verbose=-1)
    booster = lgb.train(params, lgb.Dataset(train, y), num_boost_round=10)
    booster.save_model(os.path.join(HERE, "lgb_multiclass_employment.txt"))
    test_path, back = write_test("employment", test, parquet=True)
    pred = booster.predict(as_categories(back[EMP_FEATURES], train, EMP_CATS))
    cases.append(dict(name="lgb_multiclass_employment", library="lightgbm",
                      model="lgb_multiclass_employment.txt", test=test_path, task="multiclass",
                      expected=write_expected("lgb_multiclass_employment", pred, "multiclass")))

    # -- XGBoost multiclass: the same data --------------------------------------------------
    clf = xgb.XGBClassifier(n_estimators=8, max_depth=3, learning_rate=0.3,
                            objective="multi:softprob", enable_categorical=True,
                            tree_method="hist", n_jobs=1, random_state=0)
    clf.fit(train, y)
    clf.get_booster().save_model(os.path.join(HERE, "xgb_multiclass_employment.json"))
    x = as_categories(back[EMP_FEATURES], train, EMP_CATS)
    pred = clf.get_booster().predict(xgb.DMatrix(x, enable_categorical=True))
    cases.append(dict(name="xgb_multiclass_employment", library="xgboost",
                      model="xgb_multiclass_employment.json", test=test_path, task="multiclass",
                      expected=write_expected("xgb_multiclass_employment", pred, "multiclass")))

    # -- LightGBM regression: diabetes, zero as missing, an integer categorical -------------
    train, y, test = diabetes()
    params = dict(objective="regression", num_leaves=7, learning_rate=0.1, min_data_in_leaf=10,
                  zero_as_missing=True, seed=0, deterministic=True, num_threads=1, verbose=-1,
                  min_data_per_group=10, cat_smooth=1.0)
    booster = lgb.train(params, lgb.Dataset(train, y, categorical_feature=["bmi_band"]),
                        num_boost_round=30)
    booster.save_model(os.path.join(HERE, "lgb_regression_diabetes.txt"))
    test_path, back = write_test("diabetes", test)
    pred = booster.predict(back)
    cases.append(dict(name="lgb_regression_diabetes", library="lightgbm",
                      model="lgb_regression_diabetes.txt", test=test_path, task="regression",
                      expected=write_expected("lgb_regression_diabetes", pred, "regression")))

    # -- XGBoost regression: diabetes with NaN in training -----------------------------------
    train_nan = train.astype(float).copy()
    r = rng(4)
    for col in ["bmi", "s5"]:
        train_nan.loc[r.random(len(train_nan)) < 0.05, col] = np.nan
    reg = xgb.XGBRegressor(n_estimators=40, max_depth=3, learning_rate=0.2,
                           tree_method="hist", n_jobs=1, random_state=0)
    reg.fit(train_nan, y)
    reg.get_booster().save_model(os.path.join(HERE, "xgb_regression_diabetes.json"))
    pred = reg.get_booster().predict(xgb.DMatrix(back))
    cases.append(dict(name="xgb_regression_diabetes", library="xgboost",
                      model="xgb_regression_diabetes.json", test=test_path, task="regression",
                      expected=write_expected("xgb_regression_diabetes", pred, "regression")))

    # -- LightGBM random forest: breast cancer (average_output) ------------------------------
    train, y, test = breast_cancer()
    params = dict(objective="binary", boosting="rf", num_leaves=7, bagging_fraction=0.7,
                  bagging_freq=1, feature_fraction=0.8, seed=0, deterministic=True,
                  num_threads=1, verbose=-1)
    booster = lgb.train(params, lgb.Dataset(train, y), num_boost_round=20)
    booster.save_model(os.path.join(HERE, "lgb_rf_breast_cancer.txt"))
    test_path, back = write_test("breast_cancer", test)
    pred = booster.predict(back)
    cases.append(dict(name="lgb_rf_breast_cancer", library="lightgbm",
                      model="lgb_rf_breast_cancer.txt", test=test_path, task="binary",
                      expected=write_expected("lgb_rf_breast_cancer", pred, "binary")))

    with open(os.path.join(HERE, "cases.json"), "w") as f:
        json.dump({"versions": versions(), "cases": cases}, f, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases")

    if args.slipway:
        export_check(os.path.abspath(args.slipway))


def versions():
    return {"lightgbm": lgb.__version__, "xgboost": xgb.__version__, "pandas": pd.__version__,
            "numpy": np.__version__, "scikit-learn": sklearn.__version__}


EXPORT_CASES = [
    # name, training data writer, target, test file (from part 1), task, categorical columns
    ("export_binary_adult", "binary", "income", "adult.test.csv", ADULT_CATS),
    ("export_multiclass_employment", "multiclass", "MAR", "employment.test.parquet", EMP_CATS),
    ("export_regression_diabetes", "regression", "target", "diabetes.test.csv", []),
]


def export_training_data(name, tmp):
    """The training rows of each export case, as a file Slipway trains on."""
    if name == "export_binary_adult":
        train, y, _ = adult()
        df = train.assign(income=y.values)
        path = os.path.join(tmp, "train.csv")
        df.to_csv(path, index=False)
    elif name == "export_multiclass_employment":
        train, y, _ = employment()
        df = train.copy()
        for c in EMP_CATS:
            df[c] = df[c].astype(str)
        df["MAR"] = y.values
        path = os.path.join(tmp, "train.parquet")
        df.to_parquet(path, index=False)
    else:
        train, y, _ = diabetes()
        df = train.drop(columns="bmi_band").assign(target=y.values)
        path = os.path.join(tmp, "train.csv")
        df.to_csv(path, index=False)
    return path


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{p.stdout}\n{p.stderr}")
    return p.stdout


def export_check(slipway):
    results = []
    for name, task, target, test_file, cats in EXPORT_CASES:
        tmp = tempfile.mkdtemp()
        try:
            train_path = export_training_data(name, tmp)
            cfg = os.path.join(tmp, "pipeline.yaml")
            task_line = "classification" if task != "regression" else "regression"
            with open(cfg, "w") as f:
                f.write(
                    f"name: {name}\ndata: {{train: {train_path}}}\ntarget: {target}\n"
                    f"task: {task_line}\nmodels:\n"
                    "  - {name: gbdt, type: gbdt, params: {n_estimators: 25, num_leaves: 15, "
                    "min_data_in_leaf: 10, max_cat_to_onehot: 4}}\n"
                    "cv: {folds: 2}\nseed: 0\n"
                )
            out = os.path.join(tmp, "out")
            run([slipway, "--json", "train", "-c", cfg, "--output", out])
            exported = os.path.join(HERE, f"{name}.txt")
            run([slipway, "models", "export", "--lightgbm", exported, "--model",
                 os.path.join(out, "model")])
            test_path = os.path.join(HERE, test_file)
            pred_path = os.path.join(HERE, f"{name}.slipway.csv")
            run([slipway, "predict", "--model", os.path.join(out, "model"), "--input", test_path,
                 "--output", pred_path])
        finally:
            shutil.rmtree(tmp)
        slip = pd.read_csv(pred_path)
        booster = lgb.Booster(model_file=exported)
        test = pd.read_parquet(test_path) if test_path.endswith(".parquet") else pd.read_csv(test_path)
        x = test[booster.feature_name()].copy()
        for c, categories in zip(cats, booster.pandas_categorical or []):
            x[c] = pd.Categorical(x[c].where(x[c].isin(categories)), categories=categories)
        got = booster.predict(x)
        if task == "binary":
            want = slip["probability_1"].to_numpy()
        elif task == "multiclass":
            want = slip[[c for c in slip.columns if c.startswith("probability_")]].to_numpy()
        else:
            want = slip["prediction"].to_numpy()
        diff = float(np.max(np.abs(np.asarray(got) - want)))
        results.append({"case": name, "exported": f"{name}.txt", "test": test_file,
                        "slipway_predictions": f"{name}.slipway.csv", "rows": len(test),
                        "max_abs_diff": diff, "passed": diff <= 1e-9})
        print(f"{name}: LightGBM vs Slipway max |diff| = {diff:.3g}")
    with open(os.path.join(HERE, "export_check.json"), "w") as f:
        json.dump({"versions": versions(), "tolerance": 1e-9, "results": results}, f, indent=1)
        f.write("\n")
    if not all(r["passed"] for r in results):
        raise SystemExit("export check failed")


if __name__ == "__main__":
    main()
