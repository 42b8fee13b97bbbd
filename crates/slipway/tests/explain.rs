//! `slipway explain` end to end with the real binary: a GBDT trained on messy data (missing
//! numbers, a one-hot column, a native categorical) explained on a file without the label,
//! with unseen categories and missing values; base value + contributions equals the model's
//! log-odds for every row; both views; the errors (missing column, a model family without
//! trees, a bundle from before node covers were kept) exit 2 with a hint.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn scratch() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "explain-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn slipway(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("SLIPWAY_HOME", home.join("home"))
        .output()
        .expect("run slipway")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A small messy binary problem: `x1` with missing values, `x2`, `color` (one-hot),
/// `city` (native categories, missing sometimes).
fn write_data(dir: &Path) {
    let colors = ["red", "green", "blue", "white"];
    let cities = ["oslo", "lima", "pune", "nice", "cork"];
    let mut train = String::from("x1,x2,color,city,y\n");
    let mut s = 12345u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    for i in 0..400 {
        let x1 = (next() % 1000) as f64 / 100.0;
        let x2 = (next() % 1000) as f64 / 1000.0;
        let color = colors[(next() % 4) as usize];
        let city = cities[(next() % 5) as usize];
        let score = x1 / 10.0
            + if color == "red" { 0.4 } else { 0.0 }
            + if city == "lima" { 0.3 } else { 0.0 }
            + x2 * 0.2;
        let y = u8::from(score + (next() % 100) as f64 / 250.0 > 0.9);
        let x1s = if i % 9 == 0 {
            String::new()
        } else {
            x1.to_string()
        };
        let cs = if i % 13 == 0 { "" } else { city };
        train.push_str(&format!("{x1s},{x2},{color},{cs},{y}\n"));
    }
    std::fs::write(dir.join("train.csv"), train).unwrap();
    // Rows to explain: no label, a missing number, an unseen color and city, a missing city.
    std::fs::write(
        dir.join("new.csv"),
        "city,x2,color,x1\n\
         oslo,0.5,red,3.5\n\
         lima,0.1,purple,\n\
         atlantis,0.9,blue,9.0\n\
         ,0.3,green,1.0\n\
         pune,0.7,white,5.5\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("pipeline.yaml"),
        "name: messy\ndata: {train: train.csv}\ntarget: y\ntask: classification\n\
         preprocess:\n  columns:\n    color: {encoding: one_hot}\n\
         models:\n  - {name: gbdt, type: gbdt, params: {n_estimators: 15, num_leaves: 7, min_data_in_leaf: 5}}\n\
         cv: {folds: 2}\nseed: 1\n",
    )
    .unwrap();
}

fn train(dir: &Path) -> PathBuf {
    let o = slipway(
        dir,
        &[
            "--json",
            "train",
            "-c",
            dir.join("pipeline.yaml").to_str().unwrap(),
            "--output",
            dir.join("out").to_str().unwrap(),
            "--no-track",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    dir.join("out/model")
}

fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", text(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let t = std::fs::read_to_string(path).unwrap();
    let mut lines = t.lines();
    let header = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    (header, rows)
}

#[test]
fn explains_messy_rows_additively_in_both_views() {
    let dir = scratch();
    write_data(&dir);
    let model = train(&dir);
    let m = model.to_str().unwrap();
    let new = dir.join("new.csv");
    let out_csv = dir.join("shap.csv");
    let o = slipway(
        &dir,
        &[
            "--json",
            "explain",
            "--model",
            m,
            "--input",
            new.to_str().unwrap(),
            "--output",
            out_csv.to_str().unwrap(),
        ],
    );
    let v = json(&o);
    assert_eq!(v["rows"], 5);
    assert_eq!(v["view"], "columns");
    assert_eq!(v["space"], "log-odds");
    let names: Vec<&str> = v["outputs"][0]["importance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        ["city", "color", "x1", "x2"],
        "one-hot summed to its column"
    );

    // base + contributions = the model's log-odds = logit of predict's probability.
    let pred = dir.join("pred.csv");
    let o = slipway(
        &dir,
        &[
            "predict",
            "--model",
            m,
            "--input",
            new.to_str().unwrap(),
            "--output",
            pred.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let (ph, prows) = read_csv(&pred);
    let p1 = ph.iter().position(|h| h == "probability_1").unwrap();
    let (h, rows) = read_csv(&out_csv);
    assert_eq!(h[0], "row");
    assert_eq!(h[1], "base_value");
    assert!(h.contains(&"shap:color".to_string()), "{h:?}");
    assert_eq!(rows.len(), 5);
    for (r, (row, prow)) in rows.iter().zip(&prows).enumerate() {
        let vals: Vec<f64> = row[1..].iter().map(|x| x.parse().unwrap()).collect();
        let score: f64 = vals.iter().sum();
        let p: f64 = prow[p1].parse().unwrap();
        let prob = 1.0 / (1.0 + (-score).exp());
        assert!(
            (prob - p).abs() <= 1e-9,
            "row {r}: sigmoid(base + SHAP) {prob}, predict {p}"
        );
    }

    // Interventional, against 50 training rows (the file has the label too: not read).
    let out_iv = dir.join("iv.jsonl");
    let o = slipway(
        &dir,
        &[
            "--json",
            "explain",
            "-m",
            m,
            "-i",
            new.to_str().unwrap(),
            "--background",
            dir.join("train.csv").to_str().unwrap(),
            "--background-rows",
            "50",
            "-o",
            out_iv.to_str().unwrap(),
        ],
    );
    let iv = json(&o);
    assert!(
        iv["method"]
            .as_str()
            .unwrap()
            .contains("tree_shap (interventional, exact) with 50 background rows"),
        "{iv}"
    );
    for (r, (line, prow)) in std::fs::read_to_string(&out_iv)
        .unwrap()
        .lines()
        .zip(&prows)
        .enumerate()
    {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let score: f64 = v
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| *k != "row")
            .map(|(_, x)| x.as_f64().unwrap())
            .sum();
        let p: f64 = prow[p1].parse().unwrap();
        let prob = 1.0 / (1.0 + (-score).exp());
        assert!(
            (prob - p).abs() <= 1e-9,
            "interventional row {r}: {prob} vs {p}"
        );
    }

    // Per encoded feature: the one-hot indicators appear, and add up to the column.
    let o = slipway(
        &dir,
        &[
            "--json",
            "explain",
            "--bundle",
            m,
            "--data",
            new.to_str().unwrap(),
            "--per-encoded",
            "--rows",
            "3",
        ],
    );
    let f = json(&o);
    assert_eq!(f["rows"], 3);
    assert_eq!(f["view"], "features");
    let feats: Vec<&str> = f["outputs"][0]["importance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert!(feats.contains(&"color=red"), "{feats:?}");

    // The terminal table.
    let o = slipway(&dir, &["explain", "-m", m, "-i", new.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let t = String::from_utf8_lossy(&o.stdout);
    assert!(
        t.contains("5 rows explained") && t.contains("mean |SHAP|"),
        "{t}"
    );
}

#[test]
fn bad_input_and_models_without_trees_exit_2_with_a_hint() {
    let dir = scratch();
    write_data(&dir);
    let model = train(&dir);
    let m = model.to_str().unwrap();
    // A file without a model column.
    std::fs::write(dir.join("short.csv"), "x1,x2,color\n1,0.5,red\n").unwrap();
    let o = slipway(
        &dir,
        &[
            "explain",
            "-m",
            m,
            "-i",
            dir.join("short.csv").to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("\"city\""),
        "{}",
        text(&o)
    );

    // A logistic regression has no trees.
    std::fs::write(
        dir.join("logistic.yaml"),
        "name: lr\ndata: {train: train.csv}\ntarget: y\ntask: classification\n\
         models:\n  - {name: lr, type: logistic_regression}\ncv: {folds: 2}\nseed: 1\n",
    )
    .unwrap();
    let o = slipway(
        &dir,
        &[
            "--json",
            "train",
            "-c",
            dir.join("logistic.yaml").to_str().unwrap(),
            "--output",
            dir.join("lr").to_str().unwrap(),
            "--no-track",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = slipway(
        &dir,
        &[
            "explain",
            "-m",
            dir.join("lr/model").to_str().unwrap(),
            "-i",
            dir.join("new.csv").to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("logistic_regression") && err.contains("--background"),
        "{err}"
    );
    // With a background it is explained exactly: base + contributions = the log-odds.
    let pred = dir.join("lr_pred.csv");
    let o = slipway(
        &dir,
        &[
            "predict",
            "-m",
            dir.join("lr/model").to_str().unwrap(),
            "-i",
            dir.join("new.csv").to_str().unwrap(),
            "-o",
            pred.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let shap_csv = dir.join("lr_shap.csv");
    let o = slipway(
        &dir,
        &[
            "--json",
            "explain",
            "-m",
            dir.join("lr/model").to_str().unwrap(),
            "-i",
            dir.join("new.csv").to_str().unwrap(),
            "--background",
            dir.join("train.csv").to_str().unwrap(),
            "-o",
            shap_csv.to_str().unwrap(),
        ],
    );
    let v = json(&o);
    assert_eq!(
        v["method"],
        "linear_shap (independent, exact) with 100 background rows"
    );
    let (ph, prows) = read_csv(&pred);
    let p1 = ph.iter().position(|h| h == "probability_1").unwrap();
    let (_, rows) = read_csv(&shap_csv);
    assert_eq!(rows.len(), 5);
    for (row, prow) in rows.iter().zip(&prows) {
        let score: f64 = row[1..].iter().map(|x| x.parse::<f64>().unwrap()).sum();
        let p: f64 = prow[p1].parse().unwrap();
        assert!(
            (1.0 / (1.0 + (-score).exp()) - p).abs() <= 1e-9,
            "{score} vs {p}"
        );
    }

    // A k-NN model has neither trees nor coefficients.
    std::fs::write(
        dir.join("knn.yaml"),
        "name: knn\ndata: {train: train.csv}\ntarget: y\ntask: classification\n\
         models:\n  - {name: knn, type: k_neighbors}\ncv: {folds: 2}\nseed: 1\n",
    )
    .unwrap();
    let o = slipway(
        &dir,
        &[
            "--json",
            "train",
            "-c",
            dir.join("knn.yaml").to_str().unwrap(),
            "--output",
            dir.join("knn").to_str().unwrap(),
            "--no-track",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = slipway(
        &dir,
        &[
            "explain",
            "-m",
            dir.join("knn/model").to_str().unwrap(),
            "-i",
            dir.join("new.csv").to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("random_forest") && err.contains("logistic_regression"),
        "{err}"
    );

    // A GBDT bundle written before node covers were kept.
    let o = slipway(
        &dir,
        &[
            "--json",
            "explain",
            "-m",
            repo()
                .join("crates/slipway-learn/tests/data/bundle_v1/model")
                .to_str()
                .unwrap(),
            "-i",
            repo()
                .join("examples/adult/adult_test.csv")
                .to_str()
                .unwrap(),
            "--rows",
            "10",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let e = v["error"].as_str().unwrap();
    assert!(e.contains("covers") && e.contains("retrain"), "{e}");
}

fn knn(dir: &Path) -> PathBuf {
    std::fs::write(
        dir.join("knn.yaml"),
        "name: knn\ndata: {train: train.csv}\ntarget: y\ntask: classification\n\
         preprocess:\n  columns:\n    color: {encoding: one_hot}\n\
         models:\n  - {name: knn, type: k_neighbors}\ncv: {folds: 2}\nseed: 1\n",
    )
    .unwrap();
    let o = slipway(
        dir,
        &[
            "--json",
            "train",
            "-c",
            dir.join("knn.yaml").to_str().unwrap(),
            "--output",
            dir.join("knn").to_str().unwrap(),
            "--no-track",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    dir.join("knn/model")
}

/// `train.csv` with column `col` set to `value` on every row.
fn with_column(dir: &Path, col: &str, value: &str) -> PathBuf {
    let t = std::fs::read_to_string(dir.join("train.csv")).unwrap();
    let mut lines = t.lines();
    let header = lines.next().unwrap();
    let j = header.split(',').position(|h| h == col).unwrap();
    let mut out = format!("{header}\n");
    for l in lines {
        let mut cells: Vec<&str> = l.split(',').collect();
        cells[j] = value;
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    let path = dir.join(format!("set_{col}_{value}.csv"));
    std::fs::write(&path, out).unwrap();
    path
}

fn mean_probability(dir: &Path, model: &str, input: &Path) -> f64 {
    let pred = dir.join("pdp_pred.csv");
    let o = slipway(
        dir,
        &[
            "predict",
            "-m",
            model,
            "-i",
            input.to_str().unwrap(),
            "-o",
            pred.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let (h, rows) = read_csv(&pred);
    let p1 = h.iter().position(|c| c == "probability_1").unwrap();
    rows.iter()
        .map(|r| r[p1].parse::<f64>().unwrap())
        .sum::<f64>()
        / rows.len() as f64
}

#[test]
fn any_model_gets_partial_dependence_importance_and_exact_shapley() {
    let dir = scratch();
    write_data(&dir);
    let model = knn(&dir);
    let m = model.to_str().unwrap();
    let train_csv = dir.join("train.csv");
    let tr = train_csv.to_str().unwrap();

    // One-way on a numeric column with missing values, with ICE: the average is the mean of
    // the curves, and at a grid value it is the mean prediction with the column set to it.
    let o = slipway(
        &dir,
        &[
            "--json",
            "explain",
            "pdp",
            "-m",
            m,
            "-i",
            tr,
            "--feature",
            "x1",
            "--grid-resolution",
            "10",
            "--ice",
        ],
    );
    let v = json(&o);
    assert_eq!(v["features"], serde_json::json!(["x1"]));
    assert_eq!(v["rows"], 400);
    assert_eq!(v["space"], "probability");
    assert_eq!(v["outputs"], serde_json::json!(["probability of 1"]));
    let grid: Vec<f64> = v["grid"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(grid.len(), 10);
    assert!(grid.windows(2).all(|w| w[0] < w[1]), "{grid:?}");
    let avg = v["average"][0].as_array().unwrap();
    let ice = v["individual"][0].as_array().unwrap();
    assert_eq!(ice.len(), 400);
    for (q, a) in avg.iter().enumerate() {
        let mean = ice.iter().map(|r| r[q].as_f64().unwrap()).sum::<f64>() / 400.0;
        assert!((mean - a.as_f64().unwrap()).abs() <= 1e-12);
    }

    // A categorical column's grid is its categories; at "red" the average is the mean
    // predicted probability of the file with every color set to red.
    let html_out = dir.join("pdp/color.html");
    let o = slipway(
        &dir,
        &[
            "--json",
            "explain",
            "pdp",
            "-m",
            m,
            "-i",
            tr,
            "--feature",
            "color",
            "-o",
            html_out.to_str().unwrap(),
        ],
    );
    let v = json(&o);
    assert_eq!(
        v["grid"][0],
        serde_json::json!(["blue", "green", "red", "white"])
    );
    let red = v["average"][0][2].as_f64().unwrap();
    let want = mean_probability(&dir, m, &with_column(&dir, "color", "red"));
    assert!((red - want).abs() <= 1e-9, "{red} vs {want}");
    let page = std::fs::read_to_string(&html_out).unwrap();
    assert!(page.contains("<svg") && page.contains("Partial dependence on color"));

    // Two-way, written as JSON and as an HTML heat map; the terminal summary.
    let json_out = dir.join("pdp2.json");
    let o = slipway(
        &dir,
        &[
            "explain",
            "pdp",
            "-m",
            m,
            "-i",
            tr,
            "--feature",
            "x1",
            "--feature2",
            "city",
            "--grid-resolution",
            "5",
            "-o",
            json_out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("x1 × city") && stdout.contains("25 grid points"),
        "{stdout}"
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json_out).unwrap()).unwrap();
    assert_eq!(v["average"][0].as_array().unwrap().len(), 25);

    // Permutation importance: seeded, so two runs agree; every input column is ranked.
    let args = [
        "--json",
        "explain",
        "importance",
        "-m",
        m,
        "-i",
        tr,
        "--metric",
        "roc_auc",
        "--repeats",
        "3",
        "--seed",
        "4",
    ];
    let a = json(&slipway(&dir, &args));
    let b = json(&slipway(&dir, &args));
    assert_eq!(a, b);
    assert_eq!(a["metric"], "roc_auc");
    assert_eq!(a["label"], "y");
    let cols = a["columns"].as_array().unwrap();
    assert_eq!(cols.len(), 4);
    assert!(
        cols.iter()
            .all(|c| c["importances"].as_array().unwrap().len() == 3)
    );
    assert_eq!(cols[0]["column"], "x1", "x1 drives the label: {cols:?}");
    let v = json(&slipway(
        &dir,
        &[
            "--json",
            "explain",
            "importance",
            "-m",
            m,
            "-i",
            tr,
            "--columns",
            "x2,color",
        ],
    ));
    let names: Vec<&str> = v["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["column"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(
        names.contains(&"x2") && names.contains(&"color"),
        "{names:?}"
    );
    assert_eq!(v["metric"], "accuracy", "the default for a classifier");
    let imp_html = dir.join("imp.html");
    let o = slipway(
        &dir,
        &[
            "explain",
            "importance",
            "-m",
            m,
            "-i",
            tr,
            "--metric",
            "log_loss",
            "-o",
            imp_html.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("log_loss"));
    assert!(std::fs::read_to_string(&imp_html).unwrap().contains("<svg"));

    // Exact Shapley values of the k-NN: base + contributions = predicted probability.
    let new = dir.join("new.csv");
    let shap_csv = dir.join("knn_shap.csv");
    let o = slipway(
        &dir,
        &[
            "--json",
            "explain",
            "-m",
            m,
            "-i",
            new.to_str().unwrap(),
            "--method",
            "exact",
            "--background",
            tr,
            "--background-rows",
            "20",
            "-o",
            shap_csv.to_str().unwrap(),
        ],
    );
    let v = json(&o);
    assert!(
        v["method"].as_str().unwrap().starts_with("exact Shapley")
            && v["method"]
                .as_str()
                .unwrap()
                .ends_with("with 20 background rows"),
        "{v}"
    );
    let pred = dir.join("knn_pred.csv");
    let o = slipway(
        &dir,
        &[
            "predict",
            "-m",
            m,
            "-i",
            new.to_str().unwrap(),
            "-o",
            pred.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let (ph, prows) = read_csv(&pred);
    let p1 = ph.iter().position(|h| h == "probability_1").unwrap();
    let (h, rows) = read_csv(&shap_csv);
    assert_eq!(h.len(), 2 + 4, "{h:?}");
    for (row, prow) in rows.iter().zip(&prows) {
        let total: f64 = row[1..].iter().map(|x| x.parse::<f64>().unwrap()).sum();
        let p: f64 = prow[p1].parse().unwrap();
        assert!((total - p).abs() <= 1e-9, "{total} vs {p}");
    }
}

#[test]
fn agnostic_explanations_refuse_bad_input_with_exit_2() {
    let dir = scratch();
    write_data(&dir);
    let model = knn(&dir);
    let m = model.to_str().unwrap();
    let tr = dir.join("train.csv");
    let tr = tr.to_str().unwrap();
    let new = dir.join("new.csv");
    let new = new.to_str().unwrap();
    let fails = |args: &[&str], needle: &str| {
        let o = slipway(&dir, args);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{needle:?} not in {}", text(&o));
    };
    fails(
        &["explain", "pdp", "-m", m, "-i", tr, "--feature", "height"],
        "column \"height\" is not an input of the model",
    );
    let constant = with_column(&dir, "x2", "0.25");
    fails(
        &[
            "explain",
            "pdp",
            "-m",
            m,
            "-i",
            constant.to_str().unwrap(),
            "--feature",
            "x2",
        ],
        "column \"x2\" is constant",
    );
    fails(
        &[
            "explain",
            "pdp",
            "-m",
            m,
            "-i",
            tr,
            "--feature",
            "x1",
            "--grid-resolution",
            "1",
        ],
        "at least 2",
    );
    fails(
        &[
            "explain",
            "pdp",
            "-m",
            m,
            "-i",
            tr,
            "--feature",
            "x1",
            "-o",
            "out.txt",
        ],
        ".json or .html",
    );
    // new.csv has no label.
    fails(
        &["explain", "importance", "-m", m, "-i", new],
        "give a file with the label column \"y\"",
    );
    fails(
        &[
            "explain",
            "importance",
            "-m",
            m,
            "-i",
            tr,
            "--metric",
            "rmse",
        ],
        "does not apply",
    );
    fails(
        &["explain", "importance", "-m", m, "-i", tr, "--repeats", "0"],
        "at least 1",
    );
    fails(
        &[
            "explain",
            "importance",
            "-m",
            m,
            "-i",
            tr,
            "--columns",
            "x1,height",
        ],
        "column \"height\" is not an input of the model",
    );
    // A single labelled row has one class: ROC AUC is undefined.
    let train = std::fs::read_to_string(dir.join("train.csv")).unwrap();
    let one: String = train.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.join("one.csv"), one).unwrap();
    let one = dir.join("one.csv");
    fails(
        &[
            "explain",
            "importance",
            "-m",
            m,
            "-i",
            one.to_str().unwrap(),
            "--metric",
            "roc_auc",
        ],
        "metric roc_auc cannot be computed on these 1 labelled rows",
    );
    // An empty file.
    std::fs::write(dir.join("empty.csv"), "x1,x2,color,city,y\n").unwrap();
    let empty = dir.join("empty.csv");
    fails(
        &[
            "explain",
            "pdp",
            "-m",
            m,
            "-i",
            empty.to_str().unwrap(),
            "--feature",
            "x1",
        ],
        "no data rows",
    );
    fails(
        &["explain", "-m", m, "-i", new, "--method", "exact"],
        "--background FILE",
    );
    // Without a subcommand the SHAP form still needs its flags.
    let o = slipway(&dir, &["explain", "-m", m]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn kernel_shap_of_any_model_is_seeded_and_reports_its_error() {
    let dir = scratch();
    write_data(&dir);
    let model = knn(&dir);
    let m = model.to_str().unwrap();
    let tr = dir.join("train.csv");
    let new = dir.join("new.csv");
    let run = |seed: &str, out: &Path| {
        json(&slipway(
            &dir,
            &[
                "--json",
                "explain",
                "-m",
                m,
                "-i",
                new.to_str().unwrap(),
                "--method",
                "kernel",
                "--background",
                tr.to_str().unwrap(),
                "--background-rows",
                "20",
                "--samples",
                "200",
                "--seed",
                seed,
                "-o",
                out.to_str().unwrap(),
            ],
        ))
    };
    let a = run("3", &dir.join("k1.csv"));
    let b = run("3", &dir.join("k2.csv"));
    let c = run("4", &dir.join("k3.csv"));
    assert_eq!(a["outputs"], b["outputs"]);
    assert_ne!(a["outputs"], c["outputs"]);
    assert_eq!(
        std::fs::read(dir.join("k1.csv")).unwrap(),
        std::fs::read(dir.join("k2.csv")).unwrap()
    );
    let se = a["max_standard_error"].as_f64().unwrap();
    assert!(se > 0.0 && se < 0.5, "{a}");
    assert!(
        a["method"]
            .as_str()
            .unwrap()
            .contains("200 coalition pairs, seed 3")
    );
    // Additive by construction: base + contributions = predicted probability.
    let pred = dir.join("kpred.csv");
    let o = slipway(
        &dir,
        &[
            "predict",
            "-m",
            m,
            "-i",
            new.to_str().unwrap(),
            "-o",
            pred.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let (ph, prows) = read_csv(&pred);
    let p1 = ph.iter().position(|h| h == "probability_1").unwrap();
    let (_, rows) = read_csv(&dir.join("k1.csv"));
    for (row, prow) in rows.iter().zip(&prows) {
        let total: f64 = row[1..].iter().map(|x| x.parse::<f64>().unwrap()).sum();
        let p: f64 = prow[p1].parse().unwrap();
        assert!((total - p).abs() <= 1e-9, "{total} vs {p}");
    }
    // Without a background: exit 2.
    let o = slipway(
        &dir,
        &[
            "explain",
            "-m",
            m,
            "-i",
            new.to_str().unwrap(),
            "--method",
            "kernel",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}
