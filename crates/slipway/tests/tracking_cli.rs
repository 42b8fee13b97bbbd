//! `slipway train` records its run (local store or a remote `slipway serve`), and
//! `slipway models register|list|show|alias|promote` work through the MLflow REST API.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde_json::{Value, json};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `slipway <args>` with `SLIPWAY_HOME=home` and no tracking URI from the environment.
fn slipway(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("SLIPWAY_HOME", home)
        .env_remove("MLFLOW_TRACKING_URI")
        .env_remove("SLIPWAY_TRACKING_URI")
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

fn stdout_json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

const CONFIG: &str = "name: bc-tracked\ndata: {train: DATA}\ntarget: target\ntask: classification\nmodels:\n  - {name: logistic, type: logistic_regression, params: {c: 0.5}}\n  - {name: knn, type: k_neighbors, params: {n_neighbors: 7}}\ncv: {folds: 3}\nseed: 2\nselection: {metric: roc_auc, minimum: 0.9}\n";

fn data_path() -> PathBuf {
    repo().join("examples/breast_cancer/breast_cancer.csv")
}

/// Writes the pipeline config in `dir` and returns its path.
fn config(dir: &Path) -> PathBuf {
    let p = dir.join("pipeline.yaml");
    let data = data_path().canonicalize().expect("example data");
    std::fs::write(&p, CONFIG.replace("DATA", &data.display().to_string())).unwrap();
    p
}

/// `slipway --json train` of the test config with extra args; returns the parsed outcome.
fn train(home: &Path, dir: &Path, extra: &[&str]) -> (Output, Value) {
    train_config(home, &config(dir), &dir.join("out"), extra)
}

/// `slipway --json train -c cfg --output out` with extra args; it must succeed.
fn train_config(home: &Path, cfg: &Path, out: &Path, extra: &[&str]) -> (Output, Value) {
    let mut args = vec![
        "--json",
        "train",
        "-c",
        cfg.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    let o = slipway(home, &args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v = stdout_json(&o);
    (o, v)
}

/// A blocking HTTP client (ring as the rustls provider).
fn http() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::new()
}

/// A running `slipway serve` on a free port.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(home: &Path) -> Server {
        Server::start_with(home, &[])
    }

    /// `slipway serve` on `home` with extra flags.
    fn start_with(home: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_slipway"))
            .args(["serve", "--host", "127.0.0.1", "--port", "0", "--home"])
            .arg(home)
            .args(extra)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start slipway serve");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("http://127.0.0.1:") {
                    let url = line[at..].split_whitespace().next().unwrap_or("");
                    let _ = tx.send(url.to_string());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server did not start");
        Server { child, url }
    }

    fn get(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let resp = http()
            .get(format!("{}/api/2.0/mlflow/{path}", self.url))
            .query(query)
            .send()
            .expect("GET");
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().expect("json")
    }

    fn artifact_list(&self, path: &str) -> Vec<String> {
        let v: Value = http()
            .get(format!("{}/api/2.0/mlflow-artifacts/artifacts", self.url))
            .query(&[("path", path)])
            .send()
            .expect("list")
            .json()
            .expect("json");
        v["files"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["path"].as_str().map(str::to_string))
            .collect()
    }

    fn artifact(&self, path: &str) -> Vec<u8> {
        let resp = http()
            .get(format!(
                "{}/api/2.0/mlflow-artifacts/artifacts/{path}",
                self.url
            ))
            .send()
            .expect("download");
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.bytes().expect("bytes").to_vec()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A run's artifact root as the proxied-artifacts path (`mlflow-artifacts:/` taken off).
fn artifact_root(run: &Value) -> String {
    run["info"]["artifact_uri"]
        .as_str()
        .unwrap()
        .trim_start_matches("mlflow-artifacts:/")
        .trim_start_matches('/')
        .to_string()
}

fn by_key(list: &Value) -> std::collections::BTreeMap<String, Value> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|kv| (kv["key"].as_str().unwrap().to_string(), kv["value"].clone()))
        .collect()
}

/// A trained run is named `bc-tracked-<selected>-<MMDD>-<HHMM>-<id4>`, as `run_name` and as
/// the `mlflow.runName` tag.
fn check_run_name(run: &Value, selected: &str) {
    let name = run["info"]["run_name"].as_str().expect("run_name");
    let id = run["info"]["run_id"].as_str().expect("run_id");
    let prefix = format!("bc-tracked-{selected}-");
    let suffix = format!("-{}", &id[id.len() - 4..]);
    assert!(
        name.starts_with(&prefix) && name.ends_with(&suffix),
        "{name} is not {prefix}MMDD-HHMM{suffix}"
    );
    let time = &name[prefix.len()..name.len() - suffix.len()];
    assert!(
        time.len() == 9
            && time.as_bytes()[4] == b'-'
            && time.chars().filter(char::is_ascii_digit).count() == 8,
        "{name}: {time} is not MMDD-HHMM"
    );
    let tags = by_key(&run["data"]["tags"]);
    assert_eq!(tags["mlflow.runName"], name);
}

/// Checks the recorded run against the training outcome, through a server on `home`.
fn check_run(server: &Server, run_id: &str, outcome: &Value, out_dir: &Path) {
    let run = &server.get("runs/get", &[("run_id", run_id)])["run"];
    assert_eq!(run["info"]["status"], "FINISHED");
    check_run_name(run, outcome["selected"].as_str().expect("selected"));
    let exp = server.get(
        "experiments/get",
        &[(
            "experiment_id",
            run["info"]["experiment_id"].as_str().unwrap(),
        )],
    );
    assert_eq!(exp["experiment"]["name"], "bc-tracked");
    let params = by_key(&run["data"]["params"]);
    assert_eq!(params["logistic.type"], "logistic_regression");
    assert_eq!(params["logistic.c"], "0.5");
    assert_eq!(params["knn.n_neighbors"], "7");
    assert_eq!(params["selected"], outcome["selected"]);
    let metrics = by_key(&run["data"]["metrics"]);
    for (k, v) in outcome["evaluation"]["metrics"].as_object().unwrap() {
        let got = metrics[&format!("holdout.{k}")].as_f64().unwrap();
        assert!((got - v.as_f64().unwrap()).abs() < 1e-12, "holdout.{k}");
    }
    // Every candidate's fold scores, as steps 0..folds.
    for c in outcome["candidates"].as_array().unwrap() {
        let key = format!("cv.{}.roc_auc", c["name"].as_str().unwrap());
        let hist = server.get(
            "metrics/get-history",
            &[("run_id", run_id), ("metric_key", &key)],
        );
        let mut steps: Vec<(i64, f64)> = hist["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["step"].as_i64().unwrap_or(0),
                    m["value"].as_f64().unwrap(),
                )
            })
            .collect();
        steps.sort_by_key(|s| s.0);
        let want: Vec<f64> = c["fold_scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(steps.len(), 3, "{key}");
        for (i, (step, value)) in steps.iter().enumerate() {
            assert_eq!(*step, i as i64);
            assert!((value - want[i]).abs() < 1e-12, "{key} fold {i}");
        }
    }
    let tags = by_key(&run["data"]["tags"]);
    let fp = slipway_data::ingest::fingerprint(&data_path()).unwrap();
    assert_eq!(tags["slipway.data.train.fingerprint"], fp.as_str());
    // The training file as a dataset input, as MLflow's UI and `run.inputs` read it.
    let input = &run["inputs"]["dataset_inputs"][0];
    assert_eq!(
        input["tags"],
        json!([{"key": "mlflow.data.context", "value": "training"}])
    );
    let name = data_path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert_eq!(input["dataset"]["name"], name.as_str());
    assert_eq!(
        input["dataset"]["digest"],
        &fp["sha256:".len().."sha256:".len() + 16]
    );
    assert_eq!(input["dataset"]["source_type"], "local");
    assert_eq!(
        run["inputs"]["dataset_inputs"].as_array().map(Vec::len),
        Some(1)
    );
    let cfg_text = std::fs::read(out_dir.join("../pipeline.yaml")).unwrap();
    assert_eq!(
        tags["slipway.config.fingerprint"],
        slipway_learn::bundle::sha256(&cfg_text).as_str()
    );
    // Artifacts: the reports and the bundle.
    let root = run["info"]["artifact_uri"]
        .as_str()
        .unwrap()
        .strip_prefix("mlflow-artifacts:/")
        .unwrap()
        .to_string();
    let top = server.artifact_list(&root);
    // profile.html too: report.html links it.
    for want in ["report.html", "report.json", "profile.html", "model"] {
        assert!(top.iter().any(|p| p.ends_with(want)), "{want} in {top:?}");
    }
    let report = server.artifact(&format!("{root}/report.json"));
    assert_eq!(report, std::fs::read(out_dir.join("report.json")).unwrap());
    let bundle = outcome["bundle"].as_str().unwrap();
    let model_files = server.artifact_list(&format!("{root}/model"));
    let local: Vec<_> = std::fs::read_dir(bundle).unwrap().collect();
    assert_eq!(model_files.len(), local.len(), "{model_files:?}");
}

#[test]
fn train_records_into_the_local_store_that_serve_shows() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_, v) = train(home.path(), dir.path(), &[]);
    let run_id = v["tracking"]["run_id"]
        .as_str()
        .expect("run id")
        .to_string();
    assert!(v["tracking"].get("error").is_none(), "{v}");
    assert!(home.path().join("slipway.db").exists());
    let server = Server::start(home.path());
    check_run(&server, &run_id, &v, &dir.path().join("out"));
}

#[test]
fn train_records_to_a_remote_server_with_tracking_uri() {
    let server_home = tempfile::tempdir().unwrap();
    let server = Server::start(server_home.path());
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_, v) = train(home.path(), dir.path(), &["--tracking-uri", &server.url]);
    let run_id = v["tracking"]["run_id"]
        .as_str()
        .expect("run id")
        .to_string();
    check_run(&server, &run_id, &v, &dir.path().join("out"));
    assert!(
        !home.path().join("slipway.db").exists(),
        "the local store is not used with --tracking-uri"
    );

    // The same pipeline again, at once: another run, another name.
    let dir2 = tempfile::tempdir().unwrap();
    let (_, v2) = train(home.path(), dir2.path(), &["--tracking-uri", &server.url]);
    let run_id2 = v2["tracking"]["run_id"].as_str().expect("run id");
    assert_ne!(run_id2, run_id);
    let name = |id: &str| {
        server.get("runs/get", &[("run_id", id)])["run"]["info"]["run_name"]
            .as_str()
            .expect("run_name")
            .to_string()
    };
    assert_ne!(name(&run_id), name(run_id2), "two runs share a name");
}

#[test]
fn no_track_and_unreachable_server_keep_the_bundle() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_, v) = train(home.path(), dir.path(), &["--no-track"]);
    assert!(v.get("tracking").is_none());
    assert!(!home.path().join("slipway.db").exists());

    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on port 1: training succeeds, exit 0, a warning with a hint.
    let (o, v) = train(
        home.path(),
        dir.path(),
        &["--tracking-uri", "http://127.0.0.1:1"],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("run not recorded"), "{err}");
    assert!(err.contains("hint:"), "{err}");
    // The operation in words and the server, not the REST path.
    assert!(!err.contains("/api/"), "{err}");
    assert!(
        err.contains("looking up the experiment") && err.contains("http://127.0.0.1:1"),
        "{err}"
    );
    let bundle = Path::new(v["bundle"].as_str().unwrap());
    assert!(
        std::fs::read_dir(bundle).unwrap().count() > 0,
        "bundle kept"
    );
    assert!(v.get("tracking").is_none(), "no run was created: {v}");
}

fn models(home: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--json", "models"];
    all.extend(args);
    slipway(home, &all)
}

#[test]
fn models_register_list_show_alias_promote() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_, v) = train(home.path(), dir.path(), &[]);
    let run_id = v["tracking"]["run_id"].as_str().unwrap().to_string();
    let auc = v["evaluation"]["metrics"]["roc_auc"].as_f64().unwrap();
    let h = home.path();

    for want in ["1", "2"] {
        let o = models(h, &["register", "--run", &run_id, "--name", "bc"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let mv = stdout_json(&o);
        assert_eq!(mv["version"], want);
        assert_eq!(mv["run_id"], run_id.as_str());
        assert!(mv["source"].as_str().unwrap().ends_with("/model"));
    }
    let o = models(h, &["list"]);
    let list = stdout_json(&o);
    assert_eq!(list["models"][0]["name"], "bc", "{}", text(&o));

    let o = models(h, &["alias", "bc", "staging", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = models(h, &["show", "bc"]);
    let shown = stdout_json(&o);
    assert_eq!(shown["versions"].as_array().unwrap().len(), 2, "{shown}");
    let o = models(h, &["show", "bc", "--version", "1"]);
    let v1 = stdout_json(&o);
    assert_eq!(v1["model_version"]["aliases"][0], "staging", "{v1}");
    assert_eq!(v1["lineage"]["slipway.source_run_id"], run_id.as_str());
    assert_eq!(
        v1["lineage"]["slipway.data.train.fingerprint"],
        slipway_data::ingest::fingerprint(&data_path())
            .unwrap()
            .as_str()
    );
    assert!((v1["run_metrics"]["holdout.roc_auc"].as_f64().unwrap() - auc).abs() < 1e-12);

    // Refused: two broken rules, both reported; exit 4; recorded as a version tag.
    let strict = dir.path().join("strict.yaml");
    std::fs::write(
        &strict,
        format!(
            "metrics:\n  holdout.roc_auc: {{min: {}}}\n  holdout.accuracy: {{min: 0.5}}\nrequired_tags:\n  fairness.checked: \"true\"\n",
            auc + 0.001
        ),
    )
    .unwrap();
    let o = slipway(
        h,
        &[
            "models",
            "promote",
            "bc",
            "--version",
            "2",
            "--to",
            "champion",
            "--policy",
            strict.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("holdout.roc_auc") && err.contains("below the minimum"),
        "{err}"
    );
    assert!(err.contains("fairness.checked"), "{err}");
    assert!(!err.contains("holdout.accuracy"), "{err}");
    let o = models(h, &["show", "bc", "--version", "2"]);
    let v2 = stdout_json(&o);
    let tags = by_key(&v2["model_version"]["tags"]);
    let refused: Value =
        serde_json::from_str(tags["slipway.promotion.champion.refused"].as_str().unwrap()).unwrap();
    assert_eq!(refused["reasons"].as_array().unwrap().len(), 2, "{refused}");
    assert!(
        v2["model_version"]["aliases"]
            .as_array()
            .is_none_or(|a| a.is_empty())
    );

    // Accepted: the alias moves and the acceptance is recorded.
    let ok = dir.path().join("ok.yaml");
    std::fs::write(
        &ok,
        "policy:\n  metrics:\n    holdout.roc_auc: {min: 0.9}\n  required_tags:\n    slipway.validation.passed: \"true\"\n",
    )
    .unwrap();
    let o = models(
        h,
        &[
            "promote",
            "bc",
            "--version",
            "2",
            "--policy",
            ok.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(stdout_json(&o)["accepted"], true);
    let o = models(h, &["show", "bc", "--version", "2"]);
    let v2 = stdout_json(&o);
    assert_eq!(v2["model_version"]["aliases"][0], "champion", "{v2}");
    assert!(
        by_key(&v2["model_version"]["tags"]).contains_key("slipway.promotion.champion.accepted")
    );

    // `models alias` on a protected alias goes through the same gate: refused (exit 4,
    // every reason, champion stays on v2), then overridden with a reason and recorded.
    let s = strict.to_str().unwrap();
    let o = slipway(
        h,
        &["models", "alias", "bc", "champion", "1", "--policy", s],
    );
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("below the minimum"), "{err}");
    assert!(err.contains("fairness.checked"), "{err}");
    assert!(err.contains("--force"), "a hint names the override: {err}");
    let o = slipway(
        h,
        &[
            "models", "alias", "bc", "champion", "1", "--policy", s, "--force",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "--force needs --reason: {}",
        text(&o)
    );
    let o = models(
        h,
        &[
            "alias",
            "bc",
            "champion",
            "1",
            "--policy",
            s,
            "--force",
            "--reason",
            "rollback after incident 7",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let moved = stdout_json(&o);
    assert_eq!(moved["promotion"]["outcome"], "forced", "{moved}");
    // Promoting through a gate that the local store does not have is refused, not ungated.
    let o = slipway(h, &["models", "promote", "bc", "--version", "1"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no promotion policy protects it"),
        "{}",
        text(&o)
    );

    // `models show` lists every attempt, none overwritten.
    let shown = stdout_json(&models(h, &["show", "bc"]));
    let seen: Vec<String> = shown["promotions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{}:v{}",
                p["outcome"].as_str().unwrap(),
                p["version"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        seen,
        ["refused:v2", "accepted:v2", "refused:v1", "forced:v1"],
        "{shown}"
    );
    let o = slipway(h, &["models", "show", "bc"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("promotion history"), "{out}");
    assert!(out.contains("override: rollback after incident 7"), "{out}");

    // A server started with the policy gates the same move for a remote client, and the
    // CLI does not take a policy of its own for a server.
    let protect = dir.path().join("protect.yaml");
    std::fs::write(
        &protect,
        std::fs::read_to_string(&strict).unwrap() + "protected_aliases: [champion]\n",
    )
    .unwrap();
    let server = Server::start_with(h, &["--policy", protect.to_str().unwrap()]);
    let url = server.url.as_str();
    let o = slipway(
        h,
        &[
            "models",
            "alias",
            "bc",
            "champion",
            "2",
            "--tracking-uri",
            url,
        ],
    );
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("below the minimum"));
    let o = slipway(
        h,
        &[
            "models",
            "alias",
            "bc",
            "champion",
            "2",
            "--tracking-uri",
            url,
            "--policy",
            s,
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("its own policy"));
    let history = server.get("registered-models/promotions", &[("name", "bc")]);
    assert_eq!(
        history["promotions"].as_array().unwrap().len(),
        5,
        "{history}"
    );
    assert_eq!(
        server.get(
            "registered-models/alias",
            &[("name", "bc"), ("alias", "champion")]
        )["model_version"]["version"],
        "1"
    );
}

#[test]
fn serve_refuses_a_policy_that_protects_no_alias() {
    let home = tempfile::tempdir().unwrap();
    let policy = home.path().join("policy.yaml");
    std::fs::write(&policy, "metrics: {holdout.roc_auc: {min: 0.9}}\n").unwrap();
    let o = slipway(
        home.path(),
        &["serve", "--port", "0", "--policy", policy.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("protected_aliases"),
        "{}",
        text(&o)
    );
}

#[test]
fn models_bad_input_names_what_is_wrong() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let o = slipway(h, &["models", "show", "nope"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no registered model 'nope'"));
    let o = slipway(
        h,
        &["models", "register", "--run", "0123abc", "--name", "m"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no run '0123abc'"),
        "{}",
        text(&o)
    );

    let dir = tempfile::tempdir().unwrap();
    let (_, v) = train(h, dir.path(), &[]);
    let run_id = v["tracking"]["run_id"].as_str().unwrap().to_string();
    let o = slipway(h, &["models", "register", "--run", &run_id, "--name", "m"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = slipway(h, &["models", "show", "m", "--version", "7"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no version '7'"),
        "{}",
        text(&o)
    );
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("/api/"),
        "a REST path in a CLI error: {}",
        text(&o)
    );
    let o = slipway(h, &["models", "alias", "m", "champion", "9"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));

    let bad = dir.path().join("bad.yaml");
    for (body, needle) in [
        ("metrics:\n  holdout.roc_auc: {minimum: 0.9}\n", "minimum"),
        (
            "metrics:\n  holdout.roc_auc: {}\n",
            "metrics.holdout.roc_auc",
        ),
        (
            "policy:\n  metrics:\n    auc: {min: 0.9, max: 0.1}\n",
            "policy.metrics.auc",
        ),
        ("required_tag: {}\n", "required_tag"),
    ] {
        std::fs::write(&bad, body).unwrap();
        let o = slipway(
            h,
            &[
                "models",
                "promote",
                "m",
                "--version",
                "1",
                "--policy",
                bad.to_str().unwrap(),
            ],
        );
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{needle}: {err}");
    }
}

/// `slipway --json train` of the clustering example, writing to `out`.
fn train_clusters(home: &Path, out: &Path, extra: &[&str]) -> Value {
    let cfg = repo().join("examples/clustering/pipeline.yaml");
    train_config(home, &cfg, out, extra).1
}

#[test]
fn clustering_runs_are_recorded_and_home_flag_wins_over_the_environment() {
    let env_home = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let v = train_clusters(
        env_home.path(),
        &out,
        &["--home", home.path().to_str().unwrap()],
    );
    assert!(v["tracking"].get("error").is_none(), "{v}");
    let run_id = v["tracking"]["run_id"].as_str().expect("run id");
    assert!(home.path().join("slipway.db").exists());
    assert!(!env_home.path().join("slipway.db").exists());

    let server = Server::start(home.path());
    let run = server.get("runs/get", &[("run_id", run_id)])["run"].clone();
    assert_eq!(run["info"]["status"], "FINISHED");
    let metrics = by_key(&run["data"]["metrics"]);
    let tags = by_key(&run["data"]["tags"]);
    let params = by_key(&run["data"]["params"]);
    let selected = v["selected"].as_str().unwrap();
    assert_eq!(tags["slipway.selected"], selected);
    assert_eq!(tags["slipway.gate.passed"], "true");
    assert!(tags.contains_key("slipway.data.train.fingerprint"));
    assert_eq!(params["kmeans-2.type"], "kmeans");
    assert_eq!(params["dbscan.eps"], "3.0");
    for c in v["candidates"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        assert_eq!(
            metrics[&format!("cluster.{name}.n_clusters")],
            c["n_clusters"].as_f64().unwrap()
        );
        for (k, score) in c["scores"].as_object().unwrap() {
            assert_eq!(
                metrics[&format!("cluster.{name}.{k}")].as_f64(),
                score.as_f64()
            );
            if name == selected {
                assert_eq!(metrics[k.as_str()].as_f64(), score.as_f64());
            }
        }
    }
    assert_eq!(metrics["rows"], 569.0);
    let root = artifact_root(&run);
    let manifest = server.artifact(&format!("{root}/model/manifest.json"));
    assert_eq!(
        manifest,
        std::fs::read(out.join("model/manifest.json")).unwrap()
    );
}

#[test]
fn a_bundle_without_a_run_registers_through_an_import_run() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    train_clusters(h, &out, &["--no-track"]);
    let bundle = out.join("model");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap();

    // A damaged copy is refused before anything is created.
    let damaged = dir.path().join("damaged");
    std::fs::create_dir(&damaged).unwrap();
    for entry in std::fs::read_dir(&bundle).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), damaged.join(entry.file_name())).unwrap();
    }
    let mut pipeline = std::fs::read(damaged.join("pipeline.json")).unwrap();
    pipeline.push(b' ');
    std::fs::write(damaged.join("pipeline.json"), pipeline).unwrap();
    let o = models(
        h,
        &[
            "register",
            "--bundle",
            damaged.to_str().unwrap(),
            "--name",
            "c",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = stdout_json(&o)["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        err.contains("--bundle") && err.contains("checksum"),
        "{}",
        text(&o)
    );
    let o = models(h, &["register", "--name", "c"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "neither --run nor --bundle: {}",
        text(&o)
    );

    let o = models(
        h,
        &[
            "register",
            "--bundle",
            bundle.to_str().unwrap(),
            "--name",
            "clusters",
            "--experiment",
            "imports",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mv = stdout_json(&o);
    assert_eq!(mv["version"], "1");
    let run_id = mv["run_id"].as_str().unwrap().to_string();

    let server = Server::start(h);
    let names: Vec<String> = server.get("registered-models/search", &[])["registered_models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        vec!["clusters".to_string()],
        "the damaged copy registered nothing"
    );
    let exp = server.get("experiments/get-by-name", &[("experiment_name", "imports")]);
    let run = server.get("runs/get", &[("run_id", &run_id)])["run"].clone();
    assert_eq!(
        run["info"]["experiment_id"],
        exp["experiment"]["experiment_id"]
    );
    assert_eq!(run["info"]["status"], "FINISHED");
    let metrics = by_key(&run["data"]["metrics"]);
    for (k, value) in manifest["metrics"].as_object().unwrap() {
        assert_eq!(metrics[k.as_str()].as_f64(), value.as_f64(), "{k}");
    }
    let tags = by_key(&run["data"]["tags"]);
    assert_eq!(
        tags["slipway.data.train.fingerprint"],
        manifest["lineage"]["data"][0]["fingerprint"]
    );
    assert_eq!(
        tags["mlflow.source.name"],
        "slipway models register --bundle"
    );
    let root = artifact_root(&run);
    assert_eq!(
        server.artifact(&format!("{root}/model/pipeline.json")),
        std::fs::read(bundle.join("pipeline.json")).unwrap()
    );
    assert!(mv["source"].as_str().unwrap().ends_with("/model"));
}

/// A backend store that cannot be used stops `slipway serve` with a clear error and a
/// non-zero exit, and never repeats the password in the URI.
#[test]
fn serve_refuses_an_unusable_backend_store_without_echoing_credentials() {
    let home = tempfile::tempdir().expect("home");
    for (uri, says) in [
        (
            "postgresql://alice:s3cret@127.0.0.1:1/metadata",
            "cannot connect to PostgreSQL at 127.0.0.1:1/metadata",
        ),
        (
            "postgresql://alice:s3cret@127.0.0.1:notaport/metadata",
            "invalid PostgreSQL URL",
        ),
        (
            "mysql://alice:s3cret@127.0.0.1/metadata",
            "unsupported backend store scheme 'mysql'",
        ),
    ] {
        let out = slipway(
            home.path(),
            &["serve", "--port", "0", "--backend-store-uri", uri],
        );
        let all = text(&out);
        assert!(!out.status.success(), "{uri}: {all}");
        assert!(all.contains(says), "{uri}: {all}");
        assert!(
            !all.contains("s3cret") && !all.contains("alice"),
            "{uri}: {all}"
        );
    }
}

/// Training logs the held-out rows' fairness by each protected column as run metrics, the
/// report shows it, and a policy's `fairness:` bounds refuse or accept the version by them.
#[test]
fn fairness_of_the_holdout_gates_promotion() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let h = home.path();
    let adult = repo().join("examples/adult").canonicalize().unwrap();
    let cfg = dir.path().join("adult.yaml");
    std::fs::write(
        &cfg,
        format!(
            "name: adult-fair\ndata: {{train: {0}/adult_train.csv, test: {0}/adult_test.csv}}\ntarget: income\nroles: {{protected: [sex, race], ignored: [fnlwgt]}}\nmodels:\n  - {{type: gbdt, params: {{n_estimators: 20, num_leaves: 15}}}}\ncv: {{folds: 2}}\nseed: 3\n",
            adult.display()
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let (_, v) = train_config(h, &cfg, &out, &[]);
    let attrs: Vec<&str> = v["fairness"]["attributes"]
        .as_array()
        .unwrap_or_else(|| panic!("no fairness in {v}"))
        .iter()
        .map(|a| a["attribute"].as_str().unwrap())
        .collect();
    assert_eq!(attrs, ["sex", "race", "sex & race"]);
    let dp = v["fairness"]["attributes"][0]["summary"]["demographic_parity_difference"]["value"]
        .as_f64()
        .unwrap();
    // Adult's men are predicted >50K far more often than its women.
    assert!(dp > 0.05 && dp < 0.5, "{dp}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Fairness by sex") && html.contains("Fairness by sex &amp; race"));

    // The report explains 1,000 held-out rows (SHAP bar, summary and waterfall pictures);
    // the first row's base value plus its contributions is the bundle's own score of it.
    let x = &v["explanation"];
    assert_eq!(x["rows"], 1000, "{x}");
    assert_eq!(x["output"], "log-odds of 1");
    let raw = x["base_value"].as_f64().unwrap()
        + x["example"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p[1].as_f64().unwrap())
            .sum::<f64>();
    let test_csv = std::fs::read_to_string(adult.join("adult_test.csv")).unwrap();
    let one = dir.path().join("one.csv");
    std::fs::write(
        &one,
        test_csv.lines().take(2).collect::<Vec<_>>().join("\n"),
    )
    .unwrap();
    let scored = dir.path().join("one_scored.csv");
    let o = slipway(
        h,
        &[
            "predict",
            "--model",
            out.join("model").to_str().unwrap(),
            "--input",
            one.to_str().unwrap(),
            "--output",
            scored.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let scored = std::fs::read_to_string(&scored).unwrap();
    let p1: f64 = scored
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(2)
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1.0 / (1.0 + (-raw).exp()) - p1).abs() < 1e-12,
        "{raw} vs {p1}"
    );
    assert!(html.contains("Explanations (SHAP)") && html.matches("<circle").count() > 1000);

    // The same figure as `slipway fairness` on the bundle and the same test file.
    let o = slipway(
        h,
        &[
            "--json",
            "fairness",
            "--bundle",
            out.join("model").to_str().unwrap(),
            "--data",
            adult.join("adult_test.csv").to_str().unwrap(),
            "--label",
            "income",
            "--protected",
            "sex",
            "--bootstrap",
            "0",
        ],
    );
    let f = stdout_json(&o);
    let cli_dp = f["attributes"][0]["summary"]["demographic_parity_difference"]["value"]
        .as_f64()
        .unwrap_or_else(|| panic!("{f}"));
    assert_eq!(cli_dp, dp);

    let run_id = v["tracking"]["run_id"].as_str().unwrap().to_string();
    let o = models(h, &["register", "--run", &run_id, "--name", "fair"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = models(h, &["show", "fair", "--version", "1"]);
    let shown = stdout_json(&o);
    assert_eq!(
        shown["run_metrics"]["fairness.sex.demographic_parity_difference"].as_f64(),
        Some(dp),
        "{shown}"
    );
    assert!(shown["run_metrics"]["fairness.sex_and_race.equalized_odds_difference"].is_f64());

    let promote = |bound: f64| {
        let p = dir.path().join(format!("fair-{bound}.yaml"));
        std::fs::write(
            &p,
            format!(
                "fairness:\n  sex: {{demographic_parity_difference: {{max: {bound}}}}}\n  age: {{disparate_impact_ratio: {{min: 0.8}}}}\n"
            ),
        )
        .unwrap();
        slipway(
            h,
            &[
                "models",
                "promote",
                "fair",
                "--version",
                "1",
                "--to",
                "champion",
                "--policy",
                p.to_str().unwrap(),
            ],
        )
    };
    // Refused: the bound on sex is broken, and age was never a protected column.
    let o = promote(dp / 2.0);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("fairness.sex.demographic_parity_difference")
            && err.contains("above the maximum"),
        "{err}"
    );
    assert!(
        err.contains("fairness.age.disparate_impact_ratio: not recorded"),
        "{err}"
    );
}
