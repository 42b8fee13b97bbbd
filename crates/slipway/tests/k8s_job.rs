//! A training run spread over an Indexed Job equals the single-process run: each completion
//! index runs as its own `slipway train --k8s-worker` process with `JOB_COMPLETION_INDEX`
//! set (as Kubernetes would start the pods), then `--k8s-collect` finishes the run; the
//! chosen candidate, every fold score of every search configuration, the holdout metrics and
//! the bundle's predictions equal `slipway train`'s.
//!
//! The shares meet in the home folder's artifact store always, and in an S3 bucket with the
//! run recorded in PostgreSQL when `SLIPWAY_S3_TEST_ENDPOINT` and `SLIPWAY_TEST_POSTGRES_URL`
//! are set (as `.ci/run` does); without them that case says it skipped, unless `CI` is set,
//! where they are required.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const PARALLELISM: usize = 3;

/// A grid search (2 configurations × 3 folds), a halving search (one unit) and a plain
/// candidate (3 folds): 10 units over 3 indices; calibration refits out-of-fold
/// predictions of the chosen model, which the collect step recomputes.
const CONFIG: &str = "name: bc-job
data: {train: breast_cancer.csv}
target: target
task: classification
models:
  - name: logistic
    type: logistic_regression
    search: {grid: {c: [0.1, 1.0]}}
  - name: gbdt
    type: gbdt
    params: {n_estimators: 30, num_leaves: 7}
    search:
      halving:
        factor: 3
        resource: n_samples
        candidates:
          random:
            n_iter: 3
            params:
              learning_rate: {log_uniform: [0.05, 0.3]}
  - name: naive_bayes
    type: gaussian_nb
cv: {folds: 3}
seed: 7
test_fraction: 0.25
selection: {metric: roc_auc}
calibration: {method: sigmoid}
";

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/breast_cancer/breast_cancer.csv")
}

/// `slipway ARGS` with `env`, the inherited job and store variables removed.
fn slipway(args: &[&str], env: &BTreeMap<String, String>) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_slipway"));
    c.args(args);
    for v in [
        "JOB_COMPLETION_INDEX",
        "SLIPWAY_JOB_ID",
        "SLIPWAY_JOB_PARALLELISM",
        "SLIPWAY_ARTIFACTS_DESTINATION",
        "SLIPWAY_BACKEND_STORE_URI",
        "SLIPWAY_TRACKING_URI",
        "MLFLOW_TRACKING_URI",
        "SLIPWAY_OUTPUT",
        "SLIPWAY_THREADS",
        "AWS_ENDPOINT_URL",
    ] {
        c.env_remove(v);
    }
    c.envs(env);
    c
}

fn ok(out: Output, what: &str) -> Value {
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{what}: not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The folder with the config and its data.
fn setup(dir: &Path) -> PathBuf {
    std::fs::copy(data(), dir.join("breast_cancer.csv")).expect("copy data");
    let cfg = dir.join("pipeline.yaml");
    std::fs::write(&cfg, CONFIG).expect("write config");
    cfg
}

/// `slipway predict` of the training data with a bundle: the predictions file's text.
fn predictions(bundle: &Path, dir: &Path, name: &str) -> String {
    let out = dir.join(format!("{name}.csv"));
    let o = slipway(
        &[
            "predict",
            "--model",
            bundle.to_str().unwrap(),
            "--input",
            dir.join("breast_cancer.csv").to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ],
        &BTreeMap::new(),
    )
    .output()
    .expect("run predict");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::read_to_string(out).expect("read predictions")
}

/// The single-process run, once for both cases.
fn single(dir: &Path, cfg: &Path) -> Value {
    let out = dir.join("single");
    ok(
        slipway(
            &[
                "--json",
                "train",
                "--config",
                cfg.to_str().unwrap(),
                "--output",
                out.to_str().unwrap(),
                "--no-track",
            ],
            &BTreeMap::new(),
        )
        .output()
        .expect("run train"),
        "single-process train",
    )
}

/// Every index as its own process (all at once, as pods would run), except `hold_back`,
/// which runs only after a collect attempt has been refused for lack of it.
fn distributed(
    dir: &Path,
    cfg: &Path,
    job: &str,
    env: &BTreeMap<String, String>,
    hold_back: usize,
) -> Value {
    let worker = |i: usize| {
        let mut c = slipway(
            &[
                "--json",
                "train",
                "--config",
                cfg.to_str().unwrap(),
                "--k8s-worker",
                "--job",
                job,
                "--parallelism",
                &PARALLELISM.to_string(),
            ],
            env,
        );
        c.env("JOB_COMPLETION_INDEX", i.to_string());
        c
    };
    let running: Vec<_> = (0..PARALLELISM)
        .filter(|&i| i != hold_back)
        .map(|i| {
            (
                i,
                worker(i)
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("start worker"),
            )
        })
        .collect();
    for (i, child) in running {
        let v = ok(
            child.wait_with_output().expect("wait"),
            &format!("index {i}"),
        );
        assert_eq!(v["index"], i as u64);
        assert!(
            v["stored"]
                .as_str()
                .unwrap()
                .contains(&format!("jobs/{job}/train/index-0000{i}.json")),
            "{v}"
        );
    }
    let out = dir.join(format!("collect-{job}"));
    let collect = || {
        slipway(
            &[
                "--json",
                "train",
                "--config",
                cfg.to_str().unwrap(),
                "--k8s-collect",
                "--job",
                job,
                "--parallelism",
                &PARALLELISM.to_string(),
                "--output",
                out.to_str().unwrap(),
            ],
            env,
        )
        .output()
        .expect("run collect")
    };
    // Collecting before every index has finished fails, naming the missing one.
    let early = collect();
    assert_eq!(early.status.code(), Some(2), "{early:?}");
    let said = String::from_utf8_lossy(&early.stdout).to_string()
        + &String::from_utf8_lossy(&early.stderr);
    assert!(
        said.contains(&format!(
            "no result from completion index {hold_back} of {PARALLELISM}"
        )),
        "{said}"
    );
    assert!(
        !out.join("model").exists(),
        "no bundle from a refused collect"
    );
    // An index outside the job is refused before any work.
    let mut outside = worker(PARALLELISM);
    let o = outside.output().expect("run worker");
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("outside the job's 3 indices"),
        "{o:?}"
    );
    ok(
        worker(hold_back).output().expect("run worker"),
        "held-back index",
    );
    ok(collect(), "collect")
}

/// The collect step's outcome equals the single-process run's, and so do the bundles'
/// predictions.
fn assert_same(single: &Value, collected: &Value, dir: &Path) {
    assert_eq!(collected["selected"], single["selected"]);
    let (a, b) = (
        single["candidates"].as_array().unwrap(),
        collected["candidates"].as_array().unwrap(),
    );
    assert_eq!(a.len(), 3);
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        let name = &x["name"];
        assert_eq!(x["name"], y["name"]);
        assert_eq!(x["params"], y["params"], "{name}");
        assert_eq!(x["fold_scores"], y["fold_scores"], "{name}");
        assert_eq!(x["mean"], y["mean"], "{name}");
        assert_eq!(x["std"], y["std"], "{name}");
        assert_eq!(x["error"], y["error"], "{name}");
        let (sx, sy) = (&x["search"], &y["search"]);
        assert_eq!(sx["best_params"], sy["best_params"], "{name}");
        assert_eq!(sx["schedule"], sy["schedule"], "{name}");
        assert_eq!(sx["ties"], sy["ties"], "{name}");
        let evals = |s: &Value| -> Vec<(Value, Value, Value)> {
            s["evaluations"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| {
                    (
                        e["params"].clone(),
                        e["fold_scores"].clone(),
                        e["mean"].clone(),
                    )
                })
                .collect()
        };
        assert_eq!(evals(sx), evals(sy), "{name}");
    }
    assert!(a[0]["search"]["evaluations"].as_array().unwrap().len() == 2);
    assert!(
        a[1]["search"]["schedule"].is_object(),
        "the halving search ran"
    );
    assert_eq!(collected["evaluation"], single["evaluation"]);
    assert_eq!(collected["calibration"], single["calibration"]);
    assert_eq!(collected["gate"], single["gate"]);
    let warnings = |v: &Value| -> Vec<Value> {
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["message"].clone())
            .collect()
    };
    assert_eq!(warnings(collected), warnings(single));
    assert_eq!(
        predictions(&bundle_of(collected), dir, "collected"),
        predictions(&bundle_of(single), dir, "single"),
        "the bundles predict alike"
    );
}

fn bundle_of(v: &Value) -> PathBuf {
    PathBuf::from(v["bundle"].as_str().expect("a bundle"))
}

/// The breast cancer rows as Parquet in row groups of 200 rows (3 groups).
fn parquet_input(dir: &Path) -> PathBuf {
    let table = slipway_data::ingest::read_table(
        &dir.join("breast_cancer.csv"),
        &slipway_data::ingest::ReadOptions::default(),
    )
    .expect("read CSV");
    let batch = table.record_batch();
    let path = dir.join("breast_cancer.parquet");
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(200))
        .build();
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&path).expect("create"),
        batch.schema(),
        Some(props),
    )
    .expect("writer");
    w.write(batch).expect("write");
    w.close().expect("close");
    path
}

/// `slipway predict --k8s-worker` for 4 indices over 3 row groups (one index has none),
/// then `--k8s-collect`: the same file as `slipway predict`.
fn scoring_job_equals_one_process(dir: &Path, bundle: &Path, env: &BTreeMap<String, String>) {
    let input = parquet_input(dir);
    let args = |output: &Path| -> Vec<String> {
        [
            "--json",
            "predict",
            "--model",
            bundle.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec()
    };
    let single_out = dir.join("scored-single.csv");
    let a = args(&single_out);
    let refs: Vec<&str> = a.iter().map(String::as_str).collect();
    ok(
        slipway(&refs, env).output().expect("predict"),
        "single predict",
    );
    let job_out = dir.join("scored-job.csv");
    let mut a = args(&job_out);
    a.extend(["--job", "bc-score", "--parallelism", "4"].map(String::from));
    let with = |mode: &str| {
        let mut v: Vec<&str> = a.iter().map(String::as_str).collect();
        v.push(mode);
        slipway(&v, env)
    };
    let mut rows = 0;
    for i in [3, 1, 0, 2] {
        let v = ok(
            with("--k8s-worker")
                .env("JOB_COMPLETION_INDEX", i.to_string())
                .output()
                .expect("worker"),
            &format!("scoring index {i}"),
        );
        rows += v["rows"].as_u64().expect("rows");
        if i == 0 {
            assert_eq!(v["row_groups"], serde_json::json!([0, 0]), "{v}");
        }
    }
    assert_eq!(rows, 569);
    let v = ok(
        with("--k8s-collect").output().expect("collect"),
        "scoring collect",
    );
    assert_eq!(v["rows"], 569);
    assert_eq!(
        std::fs::read_to_string(&job_out).expect("job output"),
        std::fs::read_to_string(&single_out).expect("single output")
    );
}

#[test]
fn indices_as_processes_on_the_home_folder_equal_one_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = setup(dir.path());
    let one = single(dir.path(), &cfg);
    let home = dir.path().join("home");
    let env = BTreeMap::from([(
        "SLIPWAY_HOME".to_string(),
        home.to_str().unwrap().to_string(),
    )]);
    let collected = distributed(dir.path(), &cfg, "bc-local", &env, 2);
    assert_same(&one, &collected, dir.path());
    // The parts are in the home folder's artifact store; the run is recorded there.
    for i in 0..PARALLELISM {
        assert!(
            home.join(format!("artifacts/jobs/bc-local/train/index-0000{i}.json"))
                .is_file()
        );
    }
    assert!(
        collected["tracking"]["run_id"].is_string(),
        "{}",
        collected["tracking"]
    );
    assert!(
        collected["tracking"]["error"].is_null(),
        "{}",
        collected["tracking"]
    );

    // Scoring a Parquet file's row groups as an Indexed Job writes what one process does.
    scoring_job_equals_one_process(dir.path(), &bundle_of(&collected), &env);

    // Parts of another config are refused by name.
    let other = dir.path().join("other.yaml");
    std::fs::write(&other, CONFIG.replace("seed: 7", "seed: 8")).expect("write");
    let o = slipway(
        &[
            "train",
            "--config",
            other.to_str().unwrap(),
            "--k8s-collect",
            "--job",
            "bc-local",
            "--parallelism",
            "3",
            "--no-track",
        ],
        &env,
    )
    .output()
    .expect("run collect");
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("computed from another config or other data"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The stores of `.ci/run`, or `None` after saying why the case is skipped.
fn team_stores() -> Option<(String, String)> {
    match (
        std::env::var("SLIPWAY_TEST_POSTGRES_URL"),
        std::env::var("SLIPWAY_S3_TEST_ENDPOINT"),
    ) {
        (Ok(pg), Ok(s3)) if !pg.is_empty() && !s3.is_empty() => Some((pg, s3)),
        _ if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") => panic!(
            "CI is set but SLIPWAY_TEST_POSTGRES_URL or SLIPWAY_S3_TEST_ENDPOINT is not: .ci/run \
             must start PostgreSQL and moto"
        ),
        _ => {
            eprintln!(
                "skipped: set SLIPWAY_TEST_POSTGRES_URL and SLIPWAY_S3_TEST_ENDPOINT (source \
                 tests/postgres/start.sh and tests/s3/moto.sh) to run the job on PostgreSQL and S3"
            );
            None
        }
    }
}

#[test]
fn indices_as_processes_on_postgres_and_s3_equal_one_process() {
    let Some((pg, s3)) = team_stores() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = setup(dir.path());
    let one = single(dir.path(), &cfg);
    let bucket = format!("slipway-job-{}", std::process::id());
    // reqwest is built without a TLS provider of its own; ring is the workspace's.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::blocking::Client::new();
    let made = http
        .put(format!("{s3}/{bucket}"))
        .send()
        .expect("create bucket");
    assert!(made.status().is_success(), "create bucket: {made:?}");
    let env: BTreeMap<String, String> = [
        (
            "SLIPWAY_HOME",
            dir.path().join("pod-home").to_str().unwrap(),
        ),
        ("SLIPWAY_BACKEND_STORE_URI", pg.as_str()),
        (
            "SLIPWAY_ARTIFACTS_DESTINATION",
            &format!("s3://{bucket}/slipway"),
        ),
        ("AWS_ENDPOINT_URL", s3.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let collected = distributed(dir.path(), &cfg, "bc-team", &env, 0);
    assert_same(&one, &collected, dir.path());
    // The parts went to the bucket, not to the pod's home folder.
    let listing = http
        .get(format!(
            "{s3}/{bucket}?list-type=2&prefix=slipway/jobs/bc-team/train/"
        ))
        .send()
        .expect("list bucket")
        .text()
        .expect("listing");
    for i in 0..PARALLELISM {
        assert!(
            listing.contains(&format!("slipway/jobs/bc-team/train/index-0000{i}.json")),
            "{listing}"
        );
    }
    assert!(!dir.path().join("pod-home/artifacts/jobs").exists());
    // The run is recorded in PostgreSQL with its artifacts in the bucket.
    let run_id = collected["tracking"]["run_id"].as_str().unwrap_or_else(|| {
        panic!(
            "the collect step recorded no run: {}",
            collected["tracking"]
        )
    });
    let listing = http
        .get(format!("{s3}/{bucket}?list-type=2&prefix=slipway/"))
        .send()
        .expect("list bucket")
        .text()
        .expect("listing");
    assert!(
        listing.contains(run_id),
        "the run's artifacts are in the bucket: {listing}"
    );
    scoring_job_equals_one_process(dir.path(), &bundle_of(&collected), &env);
    let listing = http
        .get(format!(
            "{s3}/{bucket}?list-type=2&prefix=slipway/jobs/bc-score/predict/"
        ))
        .send()
        .expect("list bucket")
        .text()
        .expect("listing");
    assert!(listing.contains("index-00003.parquet"), "{listing}");
}
