//! The web UI in a real browser: the server on a random port over a temporary SQLite store,
//! data logged through the REST API, then headless Chromium loads the pages (`--dump-dom`
//! for assertions, `--screenshot` for pictures kept under the target's tmp dir).
//!
//! Chromium is Debian's `chromium` package (`SLIPWAY_CHROMIUM` overrides the binary). When
//! it is missing the test prints a notice and passes, unless `CI` is set: then it fails.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use slipway_server::{AppState, Limits, app, serve};
use tower::ServiceExt;

/// The REST API driven in-process over the same state the socket server uses.
struct Rest {
    router: Router,
}

impl Rest {
    async fn call(&self, method: &str, uri: &str, body: Body) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(body)
            .expect("request");
        let resp = self.router.clone().oneshot(req).await.expect("response");
        let status = resp.status();
        let bytes = to_bytes(resp.into_body(), usize::MAX).await.expect("body");
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        (status, value)
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(
            "POST",
            &format!("/api/2.0/mlflow/{path}"),
            Body::from(body.to_string()),
        )
        .await
    }

    async fn ok(&self, path: &str, body: Value) -> Value {
        let (status, v) = self.post(path, body).await;
        assert_eq!(status, StatusCode::OK, "{path}: {v}");
        v
    }

    async fn run(&self, exp: &str, name: &str, start: i64) -> String {
        let v = self
            .ok(
                "runs/create",
                json!({"experiment_id": exp, "run_name": name, "start_time": start, "user_id": "ada"}),
            )
            .await;
        v["run"]["info"]["run_id"]
            .as_str()
            .expect("run_id")
            .to_string()
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
}

/// The Chromium binary, or `None` when it is not installed.
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SLIPWAY_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

struct Browser {
    binary: PathBuf,
    profile: tempfile::TempDir,
}

impl Browser {
    /// Runs headless Chromium on `url` with `extra` flags; returns its stdout and stderr
    /// (where `--enable-logging=stderr` puts the page's console messages).
    fn run(&self, url: &str, extra: &[String]) -> (String, String) {
        let mut child = Command::new(&self.binary)
            .args([
                "--headless",
                "--disable-gpu",
                "--no-sandbox",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--hide-scrollbars",
                "--enable-logging=stderr",
                "--v=0",
                "--virtual-time-budget=15000",
            ])
            .arg(format!("--user-data-dir={}", self.profile.path().display()))
            .args(extra)
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        let drain = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut out = String::new();
                let _ = pipe.read_to_string(&mut out);
                out
            })
        };
        let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
        let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
        let deadline = Instant::now() + Duration::from_secs(120);
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("chromium took over 120 s on {url}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let (out, err) = (
            stdout.join().expect("stdout reader"),
            stderr.join().expect("stderr reader"),
        );
        assert!(
            status.success(),
            "chromium failed on {url}: {status}\n{err}"
        );
        (out, err)
    }

    /// The page's DOM after its scripts ran; fails on a CSP violation or a script error.
    fn dom(&self, url: &str) -> String {
        let (dom, log) = self.run(url, &["--dump-dom".to_string()]);
        assert!(dom.contains("</html>"), "no DOM for {url}: {dom}");
        for line in log.lines().filter(|l| l.contains("CONSOLE")) {
            assert!(
                !line.contains("Content Security Policy") && !line.contains("Uncaught"),
                "{url}: {line}"
            );
        }
        dom
    }

    fn screenshot(&self, url: &str, path: &Path) {
        let _ = std::fs::remove_file(path);
        self.run(
            url,
            &[
                format!("--screenshot={}", path.display()),
                "--window-size=1280,900".to_string(),
            ],
        );
        let bytes = std::fs::read(path).expect("screenshot written");
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 10_000,
            "{} is not a real PNG screenshot",
            path.display()
        );
        println!("screenshot: {}", path.display());
    }
}

/// Escapes text as Chromium serializes a text node.
fn text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\u{a0}', "&nbsp;")
}

/// `#` fragments are not sent to the server, so a query in them only needs to survive as a
/// URL: percent-encode what a URL may not hold.
fn frag(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The rows of the runs table, in order, as run ids.
fn run_rows(dom: &str) -> Vec<String> {
    dom.split("data-run-id=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap_or("").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_render_in_headless_chromium() {
    let Some(binary) = chromium() else {
        assert!(
            !in_ci(),
            "chromium is not installed and CI is set: install Debian's `chromium` package"
        );
        eprintln!("NOTICE: chromium is not installed; skipping the web UI browser test");
        return;
    };
    let home = tempfile::tempdir().expect("tempdir");
    let state = Arc::new(
        AppState::open_home(home.path(), Limits::default())
            .await
            .expect("open"),
    );
    let rest = Rest {
        router: app(state.clone()),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state, async move {
        let _ = stopped.await;
    }));

    // An experiment with three runs; one has a name that is HTML.
    let exp = rest
        .ok("experiments/create", json!({"name": "ui-churn"}))
        .await["experiment_id"]
        .as_str()
        .expect("experiment_id")
        .to_string();
    let t0 = now_ms() - 3_600_000;
    let evil = "<img src=x onerror=\"document.title='pwned'\">";
    let good = rest.run(&exp, "good-run", t0).await;
    let bad = rest.run(&exp, "bad-run", t0 + 60_000).await;
    let xss = rest.run(&exp, evil, t0 + 120_000).await;
    for (id, start, auc, lr, model) in [
        (&good, t0, 0.95, "0.1", "gbdt"),
        (&bad, t0 + 60_000, 0.70, "0.5", "logistic"),
        (&xss, t0 + 120_000, 0.91, "0.1", "<b>bold</b>"),
    ] {
        let metrics: Vec<Value> = (0..20)
            .map(|step| {
                let loss = 1.0 / (1.0 + f64::from(step)) + (1.0 - auc);
                json!({"key": "loss", "value": loss, "timestamp": t0 + i64::from(step), "step": step})
            })
            .chain([json!({"key": "auc", "value": auc, "timestamp": t0, "step": 0})])
            .collect();
        rest.ok(
            "runs/log-batch",
            json!({"run_id": id, "metrics": metrics,
                   "params": [{"key": "lr", "value": lr}, {"key": "model", "value": model}],
                   "tags": [{"key": "team", "value": "growth"}]}),
        )
        .await;
        rest.ok(
            "runs/update",
            json!({"run_id": id, "status": "FINISHED", "end_time": start + 95_000}),
        )
        .await;
    }
    rest.ok(
        "runs/log-inputs",
        json!({"run_id": good, "datasets": [{
            "tags": [{"key": "mlflow.data.context", "value": "training"}],
            "dataset": {"name": "churn-train", "digest": "9f2c11aa", "source_type": "local",
                        "source": "{\"uri\": \"churn.csv\"}"}}]}),
    )
    .await;
    let (status, _) = rest
        .call(
            "PUT",
            &format!("/api/2.0/mlflow-artifacts/artifacts/{exp}/{good}/artifacts/model/notes.txt"),
            Body::from("trained on churn.csv\n"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let base = format!("http://{addr}");
    let browser = Browser {
        binary,
        profile: tempfile::tempdir().expect("profile"),
    };
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot dir");

    // A filter in the URL: only the matching runs, and names arrive as text, not markup.
    let filter_url = format!(
        "{base}/#/experiments/{exp}?filter={}",
        frag("metrics.auc > 0.9")
    );
    let dom = tokio::task::block_in_place(|| browser.dom(&filter_url));
    let rows = run_rows(&dom);
    assert!(rows.contains(&good), "good-run missing: {dom}");
    assert!(rows.contains(&xss), "the HTML-named run is missing: {dom}");
    assert!(!rows.contains(&bad), "bad-run was not filtered out: {dom}");
    assert!(dom.contains("good-run") && !dom.contains("bad-run"));
    assert!(dom.contains(&text(evil)), "run name not shown as text");
    assert!(
        dom.contains(&text("<b>bold</b>")),
        "param not shown as text"
    );
    assert!(
        !dom.contains("<img src=\"x\""),
        "a run name became an element"
    );
    assert!(!dom.contains("<b>bold</b>"), "a param became an element");
    assert!(!dom.contains("<title>pwned"), "a run name ran script");

    // Sorting by a column is order_by: ascending AUC puts bad-run first.
    let sorted = format!(
        "{base}/#/experiments/{exp}?order={}",
        frag("metrics.auc ASC")
    );
    let rows = run_rows(&tokio::task::block_in_place(|| browser.dom(&sorted)));
    assert_eq!(rows, vec![bad.clone(), xss.clone(), good.clone()]);
    let sorted = format!(
        "{base}/#/experiments/{exp}?order={}",
        frag("metrics.auc DESC")
    );
    let rows = run_rows(&tokio::task::block_in_place(|| browser.dom(&sorted)));
    assert_eq!(rows, vec![good.clone(), xss.clone(), bad.clone()]);

    // Paging: one run per page, and a next page to go to.
    let paged = format!(
        "{base}/#/experiments/{exp}?size=1&order={}",
        frag("metrics.auc DESC")
    );
    let dom = tokio::task::block_in_place(|| browser.dom(&paged));
    assert_eq!(run_rows(&dom), vec![good.clone()]);
    assert!(dom.contains("Next ›</button>") && !dom.contains("disabled=\"\">Next ›"));

    // A bad filter shows the server's own message.
    let (status, err) = rest
        .post(
            "runs/search",
            json!({"experiment_ids": [exp], "filter": "metrics.auc >> 1"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = err["message"].as_str().expect("message");
    let bad_url = format!(
        "{base}/#/experiments/{exp}?filter={}",
        frag("metrics.auc >> 1")
    );
    let dom = tokio::task::block_in_place(|| browser.dom(&bad_url));
    assert!(dom.contains("notice error"), "no error box: {dom}");
    assert!(
        dom.contains(&text(message)),
        "server message missing: {dom}"
    );
    assert!(run_rows(&dom).is_empty());

    // The run page: params, metrics, tags, one chart per metric, artifacts with links.
    let run_url = format!("{base}/#/runs/{good}");
    let dom = tokio::task::block_in_place(|| browser.dom(&run_url));
    assert!(dom.contains("good-run") && dom.contains("gbdt") && dom.contains("growth"));
    for metric in ["auc", "loss"] {
        assert!(
            dom.contains(&format!("data-metric=\"{metric}\"")),
            "no {metric} chart"
        );
    }
    assert!(dom.contains("class=\"series\""), "no chart line: {dom}");
    assert!(dom.contains("model/"), "artifact directory missing: {dom}");
    assert!(
        dom.contains("churn-train") && dom.contains("9f2c11aa") && dom.contains("training"),
        "dataset input missing: {dom}"
    );
    assert!(
        !dom.contains("notice error"),
        "the run page shows an error: {dom}"
    );

    // Comparison: differing params and metrics are highlighted; one line per run.
    let compare_url = format!("{base}/#/compare?runs={good}%2C{bad}&metric=loss");
    let dom = tokio::task::block_in_place(|| browser.dom(&compare_url));
    assert!(dom.contains("compare-table") && dom.contains("class=\"diff\""));
    assert!(dom.contains("compare-chart"));
    assert_eq!(dom.matches("class=\"series\"").count(), 2, "{dom}");

    // The registry: the pages if the server has it, a clear notice if it does not.
    let (status, _) = rest
        .call(
            "GET",
            "/api/2.0/mlflow/registered-models/search",
            Body::empty(),
        )
        .await;
    let models_url = format!("{base}/#/models");
    if status == StatusCode::NOT_FOUND {
        let dom = tokio::task::block_in_place(|| browser.dom(&models_url));
        assert!(dom.contains("registry-unavailable"), "{dom}");
        assert!(dom.contains("Model registry not available"));
    } else {
        rest.ok("registered-models/create", json!({"name": "churn"}))
            .await;
        rest.ok(
            "model-versions/create",
            json!({"name": "churn", "run_id": good,
                   "source": format!("mlflow-artifacts:/{exp}/{good}/artifacts/model")}),
        )
        .await;
        let dom = tokio::task::block_in_place(|| browser.dom(&models_url));
        assert!(dom.contains("href=\"#/models/churn\""), "{dom}");
        let model_url = format!("{base}/#/models/churn");
        let dom = tokio::task::block_in_place(|| browser.dom(&model_url));
        assert!(dom.contains("data-version=\"1\""), "{dom}");
        assert!(
            dom.contains(&format!("href=\"#/runs/{good}\"")),
            "lineage link: {dom}"
        );
        assert!(
            dom.contains("data: churn-train (training)"),
            "the data the version was trained on: {dom}"
        );
        tokio::task::block_in_place(|| browser.screenshot(&model_url, &shots.join("model.png")));
    }

    // Pictures of the main pages, kept for people to look at.
    let all_runs = format!("{base}/#/experiments/{exp}");
    tokio::task::block_in_place(|| {
        browser.screenshot(&format!("{base}/"), &shots.join("experiments.png"));
        browser.screenshot(&all_runs, &shots.join("runs.png"));
        browser.screenshot(&filter_url, &shots.join("runs-filtered.png"));
        browser.screenshot(&run_url, &shots.join("run.png"));
        browser.screenshot(&compare_url, &shots.join("compare.png"));
        browser.screenshot(&models_url, &shots.join("models.png"));
    });

    let _ = stop.send(());
    server.await.expect("join").expect("serve");
}

/// The page and its assets over a real socket, with the headers a browser relies on.
#[tokio::test]
async fn the_ui_is_served_next_to_the_api() {
    let home = tempfile::tempdir().expect("tempdir");
    let state = Arc::new(
        AppState::open_home(home.path(), Limits::default())
            .await
            .expect("open"),
    );
    let rest = Rest { router: app(state) };
    for (uri, content_type) in [
        ("/", "text/html; charset=utf-8"),
        ("/static/app.js", "text/javascript; charset=utf-8"),
        ("/static/app.css", "text/css; charset=utf-8"),
    ] {
        let req = Request::builder()
            .uri(uri)
            .body(Body::empty())
            .expect("request");
        let resp = rest.router.clone().oneshot(req).await.expect("response");
        assert_eq!(resp.status(), StatusCode::OK, "{uri}");
        assert_eq!(resp.headers()["content-type"], content_type, "{uri}");
        let csp = resp.headers()["content-security-policy"]
            .to_str()
            .expect("csp");
        assert!(csp.contains("script-src 'self'"), "{uri}: {csp}");
    }
    // The API keeps answering in its own shape next to the UI.
    let (status, body) = rest
        .call("GET", "/api/2.0/mlflow/no-such-endpoint", Body::empty())
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error_code"], "ENDPOINT_NOT_FOUND");
}
