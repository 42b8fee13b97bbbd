//! The web UI in a real browser: the server on a random port over a temporary SQLite store,
//! data logged through the REST API, then headless Chromium loads the pages (`--dump-dom`
//! for assertions, `--screenshot` for pictures kept under the target's tmp dir,
//! `ui-screenshots/`).
//!
//! What a user does (tick a column, type a tag, press Save) is played by `ui_driver.js`,
//! served next to the app as `/driver.html`: the app's own page with the driver script
//! added, which follows a plan of steps given in its URL and marks the body `done`.
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
use slipway_server::{AppState, Limits, app};
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

    /// The DOM after the driver played its plan; fails unless every step was done.
    fn drive(&self, url: &str) -> String {
        let dom = self.dom(url);
        assert!(
            dom.contains("data-driver=\"done\""),
            "the driver did not finish on {url}: {}",
            dom.split("data-driver=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or("(never started)")
        );
        dom
    }

    fn screenshot(&self, url: &str, path: &Path) {
        self.screenshot_tall(url, path, 900);
    }

    /// A screenshot of a window `height` pixels tall, for pages whose point is far down.
    fn screenshot_tall(&self, url: &str, path: &Path, height: u32) {
        let _ = std::fs::remove_file(path);
        self.run(
            url,
            &[
                format!("--screenshot={}", path.display()),
                format!("--window-size=1280,{height}"),
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

/// The app's page plus the test driver, served next to the app (see the module docs).
fn with_driver(router: Router) -> Router {
    use axum::http::header;
    let page = include_str!("../src/ui/assets/index.html").replace(
        "<script src=\"/static/app.js\" defer></script>",
        "<script src=\"/static/app.js\" defer></script>\n<script src=\"/driver.js\" defer></script>",
    );
    assert!(
        page.contains("/driver.js"),
        "index.html no longer loads app.js as expected"
    );
    let csp = slipway_server::ui::CONTENT_SECURITY_POLICY;
    router
        .route(
            "/driver.html",
            axum::routing::get(move || {
                let page = page.clone();
                async move {
                    (
                        [
                            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                            (header::CONTENT_SECURITY_POLICY, csp),
                        ],
                        page,
                    )
                }
            }),
        )
        .route(
            "/driver.js",
            axum::routing::get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    include_str!("ui_driver.js"),
                )
            }),
        )
}

/// The driver page at `hash`, playing `plan` (see `ui_driver.js`).
fn driver_url(base: &str, hash: &str, plan: &Value) -> String {
    format!("{base}/driver.html?plan={}{hash}", frag(&plan.to_string()))
}

/// The part of `dom` from the element with id `start` up to `end` (or the end).
fn slice<'a>(dom: &'a str, start: &str, end: &str) -> &'a str {
    let from = dom
        .find(&format!("id=\"{start}\""))
        .unwrap_or_else(|| panic!("no #{start}: {dom}"));
    let rest = &dom[from..];
    match rest.find(&format!("id=\"{end}\"")) {
        Some(to) => &rest[..to],
        None => rest,
    }
}

/// The sort fields of the runs table's columns, in order (`metrics.auc`, `params.lr`, ...).
fn column_order(dom: &str) -> Vec<String> {
    dom.split("data-order=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap_or("").to_string())
        .filter(|f| !f.starts_with("attributes."))
        .collect()
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
    let server = tokio::spawn(async move {
        axum::serve(listener, with_driver(app(state)))
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });

    // An experiment with three runs; one has a name that is HTML. Each has 30 parameters
    // (a real pipeline logs dozens), a per-step loss and one-point metrics.
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
        // A step a second, so the relative-time axis spans 19 s.
        let metrics: Vec<Value> = (0..20)
            .flat_map(|step| {
                let loss = 1.0 / (1.0 + f64::from(step)) + (1.0 - auc);
                let at = start + 1000 * i64::from(step);
                [
                    json!({"key": "loss", "value": loss, "timestamp": at, "step": step}),
                    json!({"key": "val_loss", "value": loss * 1.2, "timestamp": at, "step": step}),
                ]
            })
            .chain([
                json!({"key": "auc", "value": auc, "timestamp": start, "step": 0}),
                json!({"key": "holdout.roc_auc", "value": auc - 0.01, "timestamp": start, "step": 0}),
            ])
            .collect();
        let params: Vec<Value> = [
            json!({"key": "lr", "value": lr}),
            json!({"key": "model", "value": model}),
        ]
        .into_iter()
        .chain((0..28).map(|i| json!({"key": format!("a{i:02}"), "value": i.to_string()})))
        .collect();
        rest.ok(
            "runs/log-batch",
            json!({"run_id": id, "metrics": metrics, "params": params,
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
    let put = |path: &str, body: Vec<u8>| {
        let uri = format!("/api/2.0/mlflow-artifacts/artifacts/{exp}/{good}/artifacts/{path}");
        let rest = &rest;
        async move {
            let (status, v) = rest.call("PUT", &uri, Body::from(body)).await;
            assert_eq!(status, StatusCode::OK, "{uri}: {v}");
        }
    };
    put("model/notes.txt", b"trained on churn.csv\n".to_vec()).await;
    // A report with its own style, and a script that must not run.
    put(
        "report.html",
        b"<!DOCTYPE html><html><head><style>h1 { color: #b42318; }</style></head><body>\
          <h1>Churn report</h1><p>AUC 0.95 on the holdout.</p>\
          <script>document.body.append('SCRIPT RAN'); parent.document.title = 'pwned';</script>\
          </body></html>"
            .to_vec(),
    )
    .await;
    put(
        "metrics.json",
        br#"{"auc":0.95,"folds":[0.94,0.96],"model":{"type":"gbdt"}}"#.to_vec(),
    )
    .await;
    // Past the 1 MiB text preview limit.
    put("big.log", vec![b'x'; 1_500_000]).await;

    let base = format!("http://{addr}");
    let browser = Browser {
        binary,
        profile: tempfile::tempdir().expect("profile"),
    };
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot dir");

    // A real PNG for the artifact browser: the first screenshot.
    tokio::task::block_in_place(|| {
        browser.screenshot(&format!("{base}/"), &shots.join("experiments.png"))
    });
    put(
        "plots/experiments.png",
        std::fs::read(shots.join("experiments.png")).expect("png"),
    )
    .await;

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

    // The runs table: metrics first (held-out ones leading), then the 30 parameters; tags
    // only when picked.
    let all_runs = format!("{base}/#/experiments/{exp}");
    let dom = tokio::task::block_in_place(|| browser.dom(&all_runs));
    let columns = column_order(&dom);
    assert_eq!(columns.len(), 4 + 30, "{columns:?}");
    assert_eq!(
        columns[..4],
        [
            "metrics.`holdout.roc_auc`",
            "metrics.auc",
            "metrics.loss",
            "metrics.val_loss"
        ],
        "metrics first, held-out first: {columns:?}"
    );
    assert!(
        columns[4..].iter().all(|c| c.starts_with("params.")),
        "{columns:?}"
    );
    assert!(
        dom.contains("id=\"column-picker\""),
        "no column picker: {dom}"
    );
    tokio::task::block_in_place(|| browser.screenshot(&all_runs, &shots.join("runs.png")));

    // The column picker: hide loss, show the team tag; the choice outlives the page (another
    // page and back) and the browser process (localStorage).
    let picker = json!([
        {"wait": "#column-picker summary"},
        {"click": "#column-picker summary"},
        {"tick": "#column-picker input[data-kind=\"metrics\"][data-key=\"loss\"]", "value": false},
        {"tick": "#column-picker input[data-kind=\"tags\"][data-key=\"team\"]", "value": true},
        {"hash": "#/"},
        {"wait": "#experiments"},
        {"hash": format!("#/experiments/{exp}")},
        {"wait": "#runs th[data-order=\"tags.team\"]"},
    ]);
    let picker_url = driver_url(&base, &format!("#/experiments/{exp}"), &picker);
    let dom = tokio::task::block_in_place(|| browser.drive(&picker_url));
    let columns = column_order(&dom);
    assert!(
        !columns.contains(&"metrics.loss".to_string()),
        "{columns:?}"
    );
    assert!(columns.contains(&"metrics.auc".to_string()), "{columns:?}");
    assert_eq!(
        columns.last().map(String::as_str),
        Some("tags.team"),
        "{columns:?}"
    );
    assert!(dom.contains(">growth</td>"), "the tag's values: {dom}");
    let dom = tokio::task::block_in_place(|| browser.dom(&all_runs));
    let remembered = column_order(&dom);
    assert_eq!(
        remembered, columns,
        "the choice was not kept in localStorage"
    );
    let open_picker = json!([
        {"wait": "#column-picker summary"},
        {"click": "#column-picker summary"},
    ]);
    tokio::task::block_in_place(|| {
        browser.screenshot(
            &driver_url(&base, &format!("#/experiments/{exp}"), &open_picker),
            &shots.join("runs-column-picker.png"),
        )
    });

    // The run page: params, metrics, tags, datasets; charts only for the metrics with more
    // than one step, the one-point metrics in the table.
    let run_url = format!("{base}/#/runs/{good}");
    let dom = tokio::task::block_in_place(|| browser.dom(&run_url));
    assert!(dom.contains("good-run") && dom.contains("gbdt") && dom.contains("growth"));
    let charts = slice(&dom, "metric-charts", "__none__");
    for metric in ["loss", "val_loss"] {
        assert!(
            charts.contains(&format!("data-metric=\"{metric}\"")),
            "no {metric} chart"
        );
    }
    for metric in ["auc", "holdout.roc_auc"] {
        assert!(
            !dom.contains(&format!("data-metric=\"{metric}\"")),
            "a one-point chart for {metric}"
        );
        assert!(
            slice(&dom, "metrics-table", "__none__")
                .contains(&format!("data-metric-row=\"{metric}\"")),
            "{metric} is not in the metrics table"
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

    // MLflow's run URL (as the `mlflow` client prints it) opens the run; the overlay chart
    // draws the picked metrics together against relative wall time.
    let mlflow_url = format!("{base}/#/experiments/{exp}/runs/{good}");
    let overlay = json!([
        {"wait": "#overlay-metrics"},
        {"tick": "#overlay-metrics input[value=\"val_loss\"]", "value": true},
        {"pick": "#overlay-x", "value": "time"},
        {"wait": "#overlay-chart .x-label", "text": "relative time (s)"},
    ]);
    let dom = tokio::task::block_in_place(|| {
        browser.drive(&driver_url(
            &base,
            &format!("#/experiments/{exp}/runs/{good}"),
            &overlay,
        ))
    });
    assert!(dom.contains("id=\"run-name\">good-run"), "{dom}");
    let chart = slice(&dom, "overlay-chart", "metric-charts");
    assert_eq!(chart.matches("class=\"series\"").count(), 2, "{chart}");
    assert!(chart.contains("relative time (s)"), "{chart}");
    assert!(
        chart.contains("<title>val_loss · relative time (s) 19: "),
        "{chart}"
    );
    let overlay_url = format!("{mlflow_url}?overlay={}&x=time", frag("loss,val_loss"));
    let dom = tokio::task::block_in_place(|| browser.dom(&overlay_url));
    let chart = slice(&dom, "overlay-chart", "metric-charts");
    assert_eq!(chart.matches("class=\"series\"").count(), 2, "{chart}");
    tokio::task::block_in_place(|| {
        browser.screenshot(&run_url, &shots.join("run.png"));
        browser.screenshot_tall(&overlay_url, &shots.join("run-overlay.png"), 3100);
    });

    // Artifacts inline, by kind; opened from a link (`?artifact=`, or MLflow's
    // `/artifacts/<path>` URL tail).
    let artifact = |path: &str| format!("{base}/#/runs/{good}?artifact={}", frag(path));
    let dom = tokio::task::block_in_place(|| browser.dom(&artifact("report.html")));
    let preview = slice(&dom, "artifact-preview", "__none__");
    assert!(
        preview.contains(&format!(
            "<iframe class=\"artifact-html\" sandbox=\"\" referrerpolicy=\"no-referrer\" title=\"report.html\" \
             src=\"/ui/artifact-html/{exp}/{good}/artifacts/report.html\""
        )),
        "{preview}"
    );
    assert!(
        !dom.contains("<title>pwned"),
        "the report's script ran in the app"
    );
    let (status, _) = rest
        .call(
            "GET",
            &format!("/ui/artifact-html/{exp}/{good}/artifacts/report.html"),
            Body::empty(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let dom = tokio::task::block_in_place(|| browser.dom(&artifact("plots/experiments.png")));
    let preview = slice(&dom, "artifact-preview", "__none__");
    assert!(
        preview.contains("class=\"artifact-image\"") && preview.contains("data-loaded=\"true\""),
        "the PNG was not shown: {preview}"
    );
    let json_url = format!("{mlflow_url}/artifacts/metrics.json");
    let dom = tokio::task::block_in_place(|| browser.dom(&json_url));
    let preview = slice(&dom, "artifact-preview", "__none__");
    assert!(
        preview.contains(
            "<pre class=\"artifact-text json\">{\n  \"auc\": 0.95,\n  \"folds\": [\n    0.94,"
        ),
        "JSON not pretty-printed: {preview}"
    );
    let dom = tokio::task::block_in_place(|| browser.dom(&artifact("model/notes.txt")));
    let preview = slice(&dom, "artifact-preview", "__none__");
    assert!(
        preview.contains("<pre class=\"artifact-text text\">trained on churn.csv\n</pre>"),
        "{preview}"
    );
    let dom = tokio::task::block_in_place(|| browser.dom(&artifact("big.log")));
    let preview = slice(&dom, "artifact-preview", "__none__");
    assert!(
        preview.contains("too-large") && !preview.contains("xxxxxxxx"),
        "{preview}"
    );
    // Clicking a file in the tree previews it too.
    let click = json!([
        {"wait": "#artifacts button.artifact[data-path=\"metrics.json\"]"},
        {"click": "#artifacts button.artifact[data-path=\"metrics.json\"]"},
        {"wait": "#artifact-preview pre.json"},
    ]);
    tokio::task::block_in_place(|| {
        browser.drive(&driver_url(&base, &format!("#/runs/{good}"), &click))
    });
    tokio::task::block_in_place(|| {
        browser.screenshot_tall(
            &artifact("report.html"),
            &shots.join("artifact-html.png"),
            3100,
        );
        browser.screenshot_tall(
            &artifact("plots/experiments.png"),
            &shots.join("artifact-png.png"),
            3100,
        );
        browser.screenshot_tall(&json_url, &shots.join("artifact-json.png"), 3100);
        browser.screenshot_tall(
            &artifact("model/notes.txt"),
            &shots.join("artifact-text.png"),
            3100,
        );
    });

    // Tags and the description edited in the page reach the server (and come back).
    let note = "Baseline for <b>churn</b>; beats logistic.";
    let edit = json!([
        {"wait": "#run-tags form.tag-form"},
        {"fill": "#run-tags input[name=\"tag-key\"]", "value": "stage"},
        {"fill": "#run-tags input[name=\"tag-value\"]", "value": "reviewed"},
        {"click": "#run-tags form.tag-form button[type=\"submit\"]"},
        {"wait": "#run-tags tr[data-tag=\"stage\"]"},
        {"click": "#run-tags tr[data-tag=\"team\"] button.delete-tag"},
        {"gone": "#run-tags tr[data-tag=\"team\"]"},
        {"click": "#run-description button.edit"},
        {"fill": "#run-description textarea", "value": note},
        {"click": "#run-description button[type=\"submit\"]"},
        {"wait": "#run-description p.text"},
    ]);
    let dom = tokio::task::block_in_place(|| {
        browser.drive(&driver_url(&base, &format!("#/runs/{good}"), &edit))
    });
    assert!(dom.contains(&text(note)), "{dom}");
    let run = rest
        .call(
            "GET",
            &format!("/api/2.0/mlflow/runs/get?run_id={good}"),
            Body::empty(),
        )
        .await
        .1;
    let tags: std::collections::BTreeMap<&str, &str> = run["run"]["data"]["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(|t| {
            (
                t["key"].as_str().unwrap_or(""),
                t["value"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(tags.get("stage"), Some(&"reviewed"), "{tags:?}");
    assert_eq!(tags.get("team"), None, "{tags:?}");
    assert_eq!(tags.get("mlflow.note.content"), Some(&note), "{tags:?}");
    tokio::task::block_in_place(|| {
        browser.screenshot_tall(&run_url, &shots.join("run-edited.png"), 3100)
    });

    // Comparison: differing params and metrics are highlighted; one line per run.
    let compare_url = format!("{base}/#/compare?runs={good}%2C{bad}&metric=loss");
    let dom = tokio::task::block_in_place(|| browser.dom(&compare_url));
    assert!(dom.contains("compare-table") && dom.contains("class=\"diff\""));
    assert!(dom.contains("compare-chart"));
    assert_eq!(dom.matches("class=\"series\"").count(), 2, "{dom}");

    // The registry: models, a version at MLflow's URL, descriptions, and aliases set through
    // the server, whose refusal is shown as it wrote it.
    rest.ok("registered-models/create", json!({"name": "churn"}))
        .await;
    rest.ok(
        "model-versions/create",
        json!({"name": "churn", "run_id": good,
               "source": format!("mlflow-artifacts:/{exp}/{good}/artifacts/model")}),
    )
    .await;
    let models_url = format!("{base}/#/models");
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
    assert!(dom.contains("href=\"#/models/churn/versions/1\""), "{dom}");

    let version_url = format!("{base}/#/models/churn/versions/1");
    let dom = tokio::task::block_in_place(|| browser.dom(&version_url));
    assert!(dom.contains("id=\"version-name\">churn v1"), "{dom}");
    assert!(dom.contains("good-run"), "the version's run: {dom}");

    let (status, refused) = rest
        .post(
            "registered-models/alias",
            json!({"name": "churn", "alias": "latest", "version": "1"}),
        )
        .await;
    assert!(status.is_client_error(), "{refused}");
    let refusal = refused["message"].as_str().expect("message").to_string();
    let aliases = json!([
        {"wait": "#alias-form"},
        {"fill": "#alias-form input[name=\"alias\"]", "value": "latest"},
        {"click": "#alias-form button[type=\"submit\"]"},
        {"wait": "#alias-status .notice.error"},
    ]);
    let alias_url = driver_url(&base, "#/models/churn/versions/1", &aliases);
    let dom = tokio::task::block_in_place(|| browser.drive(&alias_url));
    let status_box = slice(&dom, "alias-status", "__none__");
    assert!(
        status_box.contains(&text(&refusal)) && status_box.contains("@latest was not set on v1"),
        "the server's refusal is not shown: {status_box}"
    );
    tokio::task::block_in_place(|| {
        browser.screenshot(&alias_url, &shots.join("alias-refused.png"))
    });
    let description = "Gradient boosting, 30 params.";
    let accepted = json!([
        {"wait": "#alias-form"},
        {"fill": "#alias-form input[name=\"alias\"]", "value": "reviewed"},
        {"click": "#alias-form button[type=\"submit\"]"},
        {"wait": "#version-aliases", "text": "@reviewed"},
        {"click": "#version-description button.edit"},
        {"fill": "#version-description textarea", "value": description},
        {"click": "#version-description button[type=\"submit\"]"},
        {"wait": "#version-description p.text"},
        {"hash": "#/models/churn"},
        {"wait": "#model-description button.edit"},
        {"click": "#model-description button.edit"},
        {"fill": "#model-description textarea", "value": "Who leaves next month."},
        {"click": "#model-description button[type=\"submit\"]"},
        {"wait": "#model-description p.text"},
    ]);
    tokio::task::block_in_place(|| {
        browser.drive(&driver_url(&base, "#/models/churn/versions/1", &accepted))
    });
    let v = rest
        .call(
            "GET",
            "/api/2.0/mlflow/registered-models/alias?name=churn&alias=reviewed",
            Body::empty(),
        )
        .await
        .1;
    assert_eq!(v["model_version"]["version"], "1", "{v}");
    assert_eq!(v["model_version"]["description"], description, "{v}");
    let m = rest
        .call(
            "GET",
            "/api/2.0/mlflow/registered-models/get?name=churn",
            Body::empty(),
        )
        .await
        .1;
    assert_eq!(
        m["registered_model"]["description"], "Who leaves next month.",
        "{m}"
    );

    // Pictures of the main pages, kept for people to look at.
    tokio::task::block_in_place(|| {
        browser.screenshot(&filter_url, &shots.join("runs-filtered.png"));
        browser.screenshot(&compare_url, &shots.join("compare.png"));
        browser.screenshot(&models_url, &shots.join("models.png"));
        browser.screenshot(&model_url, &shots.join("model.png"));
        browser.screenshot(&version_url, &shots.join("version.png"));
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

/// A run trained with protected columns shows its training report's SHAP pictures (mean
/// |SHAP| bars, beeswarm, waterfall) and fairness by group on its run page and on the page
/// of the model version registered from it; a run without them shows no such section.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explanations_of_a_trained_run_render_in_headless_chromium() {
    let Some(binary) = chromium() else {
        assert!(
            !in_ci(),
            "chromium is not installed and CI is set: install Debian's `chromium` package"
        );
        eprintln!("NOTICE: chromium is not installed; skipping the web UI browser test");
        return;
    };
    // Train on a slice of Adult with `sex` protected: the report gets both sections.
    let work = tempfile::tempdir().expect("tempdir");
    let adult = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/adult");
    let text = std::fs::read_to_string(adult.join("adult_train.csv")).expect("adult");
    let data = work.path().join("train.csv");
    std::fs::write(
        &data,
        text.lines().take(401).collect::<Vec<_>>().join("\n") + "\n",
    )
    .expect("data");
    let yaml = format!(
        "name: fair\ndata:\n  train: {}\ntarget: income\nroles:\n  ignored: [fnlwgt]\n  protected: [sex]\nmodels:\n  - name: m\n    type: gbdt\n    params: {{n_estimators: 10}}\ncv:\n  folds: 2\nseed: 7\noutput: {}\n",
        data.display(),
        work.path().join("out").display()
    );
    let cfg_path = work.path().join("fair.yaml");
    std::fs::write(&cfg_path, &yaml).expect("config");
    let cfg = slipway_engine::PipelineConfig::parse(&yaml, &cfg_path).expect("config");
    let out = slipway_engine::Engine::new(slipway_engine::EngineOptions::default())
        .train(&cfg, Some(&yaml), &slipway_engine::NoProgress)
        .expect("train");
    assert!(out.explanation.is_some() && out.fairness.is_some());
    let report = std::fs::read(&out.report_html).expect("report.html");

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
    let server = tokio::spawn(async move {
        axum::serve(listener, app(state))
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    let exp = rest
        .ok("experiments/create", json!({"name": "ui-fair"}))
        .await["experiment_id"]
        .as_str()
        .expect("experiment_id")
        .to_string();
    let trained = rest.run(&exp, "fair-gbdt", now_ms()).await;
    let plain = rest.run(&exp, "no-report", now_ms()).await;
    let (status, v) = rest
        .call(
            "PUT",
            &format!("/api/2.0/mlflow-artifacts/artifacts/{exp}/{trained}/artifacts/report.html"),
            Body::from(report),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    rest.ok("registered-models/create", json!({"name": "fair"}))
        .await;
    rest.ok(
        "model-versions/create",
        json!({"name": "fair", "run_id": trained,
               "source": format!("mlflow-artifacts:/{exp}/{trained}/artifacts/model")}),
    )
    .await;

    // The pictures, as the sandboxed page the UI frames.
    let (status, _) = rest
        .call(
            "GET",
            &format!("/ui/run-explanations/{plain}"),
            Body::empty(),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = rest
        .call("GET", "/ui/run-explanations/..%2Fx", Body::empty())
        .await;
    assert!(status.is_client_error());

    let base = format!("http://{addr}");
    let browser = Browser {
        binary,
        profile: tempfile::tempdir().expect("profile"),
    };
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let frame = format!("/ui/run-explanations/{trained}");
    let iframe = format!(
        "<iframe class=\"artifact-html explanations\" id=\"explanations\" sandbox=\"\" \
         referrerpolicy=\"no-referrer\" title=\"Explanations\" src=\"{frame}\""
    );
    let dom = tokio::task::block_in_place(|| browser.dom(&format!("{base}/#/runs/{trained}")));
    assert!(
        dom.contains(&iframe),
        "no explanations on the run page: {dom}"
    );
    let dom = tokio::task::block_in_place(|| browser.dom(&format!("{base}/#/runs/{plain}")));
    assert!(dom.contains("no-report") && !dom.contains("id=\"explanations\""));
    let dom =
        tokio::task::block_in_place(|| browser.dom(&format!("{base}/#/models/fair/versions/1")));
    assert!(
        dom.contains(&iframe),
        "no explanations on the version page: {dom}"
    );
    let pictures = tokio::task::block_in_place(|| browser.dom(&format!("{base}{frame}")));
    for needle in [
        "<h2>Explanations (SHAP)</h2>",
        "mean |SHAP| (top",
        "SHAP summary: one dot per row",
        "the first held-out row",
        "<h2>Fairness</h2>",
        "Fairness by sex",
        "Female",
    ] {
        assert!(pictures.contains(needle), "{needle}: {pictures}");
    }
    assert!(
        pictures.matches("<svg class=\"chart\"").count() >= 3,
        "{pictures}"
    );
    assert!(
        !pictures.contains("<h2>Metrics"),
        "only the wanted sections"
    );
    tokio::task::block_in_place(|| {
        browser.screenshot_tall(
            &format!("{base}/#/runs/{trained}"),
            &shots.join("run-explanations.png"),
            2400,
        );
        browser.screenshot_tall(
            &format!("{base}{frame}"),
            &shots.join("explanations-frame.png"),
            2400,
        );
    });
    let _ = stop.send(());
    server.await.expect("join").expect("serve");
}

/// The deployments pages: the list shows a deployment (name, model, strategy, state, step,
/// champion and challenger), its page shows the event timeline with each change's reason and
/// measured values, and its buttons call the REST routes (this server serves no model, so
/// the pause is refused and the refusal is shown as the server wrote it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployments_pages_list_a_deployment_and_its_events_in_headless_chromium() {
    use slipway_rollout::canary::{ArmWindow, analyze};
    use slipway_rollout::deployment::{DeploymentPlan, Strategy};
    use slipway_store::{DeploymentUpdate, NewDeployment, NewDeploymentEvent};

    let Some(binary) = chromium() else {
        assert!(
            !in_ci(),
            "chromium is not installed and CI is set: install Debian's `chromium` package"
        );
        eprintln!("NOTICE: chromium is not installed; skipping the deployments browser test");
        return;
    };
    let home = tempfile::tempdir().expect("tempdir");
    let state = Arc::new(
        AppState::open_home(home.path(), Limits::default())
            .await
            .expect("open"),
    );
    // A canary as a server stores it: created, then one healthy period stepped it up.
    let plan = DeploymentPlan::from_json(json!({
        "name": "churn-canary", "model": "churn", "challenger": "2", "strategy": "canary",
        "min_requests": 20, "evaluation_seconds": 60,
    }))
    .expect("plan");
    let Strategy::Canary(params) = &plan.strategy else {
        unreachable!()
    };
    let (start, created) = plan.start();
    let record = state
        .meta
        .create_deployment(NewDeployment {
            name: plan.name.clone(),
            model: plan.model.clone(),
            strategy: "canary".into(),
            status: "running".into(),
            plan: serde_json::to_string(&plan).expect("plan"),
            state: serde_json::to_string(&start).expect("state"),
            event: NewDeploymentEvent {
                kind: created.kind.as_str().into(),
                reason: created.reason.clone(),
                values: created.values.to_string(),
            },
        })
        .await
        .expect("create");
    let window = ArmWindow {
        requests: 50,
        errors: 0,
        latencies_ms: (0..50).map(|i| 3.0 + f64::from(i % 7) * 0.1).collect(),
        predictions: vec![],
    };
    let decision = analyze(&window, &window, &params.policy());
    let (next, step, _) = start.evaluate(params, &decision);
    state
        .meta
        .update_deployment(
            &plan.name,
            DeploymentUpdate {
                expected_revision: record.revision,
                status: next.status.as_str().into(),
                state: serde_json::to_string(&next).expect("state"),
                event: NewDeploymentEvent {
                    kind: step.kind.as_str().into(),
                    reason: step.reason.clone(),
                    values: step.values.to_string(),
                },
                lease_owner: None,
            },
        )
        .await
        .expect("update")
        .expect("revision");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, with_driver(app(state)))
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    let base = format!("http://{addr}");
    let browser = Browser {
        binary,
        profile: tempfile::tempdir().expect("profile"),
    };
    tokio::task::block_in_place(|| {
        // The list, reached from the nav.
        let dom = browser.drive(&driver_url(
            &base,
            "#/",
            &json!([
                {"click": "header.top nav a[data-nav=deployments]"},
                {"wait": "#deployments tr[data-deployment=churn-canary]"},
            ]),
        ));
        let table = slice(&dom, "deployments", "no-such-id");
        for want in [
            "churn-canary",
            "churn",
            "canary",
            "running",
            "10 %",
            "@champion",
            "v2",
        ] {
            assert!(table.contains(want), "{want} not in the list: {table}");
        }
        // The deployment's page: state, parameters, the timeline with reasons and values.
        let dom = browser.drive(&driver_url(
            &base,
            "#/deployments/churn-canary",
            &json!([
                {"wait": "#deployment-events li[data-kind=step_up]"},
                {"fill": "#deployment-reason", "value": "checking the dashboards"},
                {"click": "button[data-action=pause]"},
                {"wait": "#deployment-action-status .notice.error", "text": "serves no models"},
            ]),
        ));
        let timeline = slice(&dom, "deployment-events", "no-such-id");
        assert!(timeline.contains("data-kind=\"created\""), "{timeline}");
        assert!(
            timeline.contains(&text("healthy at 5 %: stepping up to 10 %")),
            "{timeline}"
        );
        assert!(timeline.contains("evidence.canary.requests"), "{timeline}");
        assert!(
            timeline.contains("evidence.policy.max_p95_ms"),
            "{timeline}"
        );
        // Newest first.
        assert!(
            timeline.find("data-kind=\"step_up\"") < timeline.find("data-kind=\"created\""),
            "{timeline}"
        );
        let actions = slice(&dom, "deployment-actions", "deployment-events");
        assert!(
            actions.contains("Pause was refused") && actions.contains("FEATURE_DISABLED"),
            "{actions}"
        );
        // Resume is not offered to a running deployment.
        assert!(
            actions.contains("data-action=\"resume\" disabled=\"\""),
            "{actions}"
        );
    });
    let _ = stop.send(());
    server.await.expect("join").expect("serve");
}
