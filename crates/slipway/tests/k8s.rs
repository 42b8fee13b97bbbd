//! The container and Kubernetes files against the real server: both overlays of
//! `deploy/k8s` render with `kubectl kustomize`, pass `kubernetes-validate --strict`
//! (offline, against the Kubernetes 1.32 schemas), and every probe path, metrics path and
//! port they name is answered by `slipway serve` started with the pod's own arguments and
//! environment, with the Host header a kubelet, Prometheus or an in-cluster client sends.
//! The Dockerfile's port, volume and HEALTHCHECK are checked against the same server.
//!
//! Needs `kubectl` and `kubernetes-validate` (`source tests/k8s/setup.sh` installs the
//! latter and exports `SLIPWAY_KUBERNETES_VALIDATE`); without them the test says that it
//! skipped, unless `CI` is set, where a missing tool is a failure. With
//! `SLIPWAY_TEST_POSTGRES_URL` and `SLIPWAY_S3_TEST_ENDPOINT` set (as `.ci/run` does), the
//! team overlay's server runs on that PostgreSQL and an S3 bucket there.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

/// The Kubernetes version the manifests are validated against (that of kubectl here).
const KUBERNETES_VERSION: &str = "1.32.0";
/// The pod IP and namespace the kubelet would fill in (downward API).
const POD_IP: &str = "10.244.1.7";
const NAMESPACE: &str = "ml-platform";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A tool: `$var` if set, else `name` on PATH; `None` (after saying so) when missing outside
/// CI, a failure under CI.
fn tool(var: &str, name: &str) -> Option<PathBuf> {
    let found = std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH")?)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        });
    match found {
        Some(p) if p.is_file() => Some(p),
        _ if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") => panic!(
            "CI is set but {name} is missing (neither ${var} nor PATH has it): \
             .ci/run must install it (source tests/k8s/setup.sh)"
        ),
        _ => {
            eprintln!("skipped: {name} not found (set {var} or put it on PATH)");
            None
        }
    }
}

/// `kubectl kustomize` of an overlay, as YAML text.
fn render(kubectl: &Path, overlay: &str) -> String {
    let dir = repo().join("deploy/k8s/overlays").join(overlay);
    let out = Command::new(kubectl)
        .arg("kustomize")
        .arg(&dir)
        .output()
        .expect("run kubectl");
    assert!(
        out.status.success(),
        "kubectl kustomize {overlay}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 YAML")
}

/// `kubernetes-validate --strict` of rendered YAML; panics with its report on failure.
fn validate(validator: &Path, overlay: &str, yaml: &str, scratch: &Path) {
    let file = scratch.join(format!("{overlay}.yaml"));
    std::fs::write(&file, yaml).expect("write rendered YAML");
    let out = Command::new(validator)
        .args(["--strict", "--quiet", "-k", KUBERNETES_VERSION])
        .arg(&file)
        .output()
        .expect("run kubernetes-validate");
    assert!(
        out.status.success(),
        "kubernetes-validate --strict {overlay}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every document of a multi-document YAML stream.
fn documents(yaml: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(yaml)
        .map(|d| Value::deserialize(d).expect("YAML document"))
        .filter(|v| !v.is_null())
        .collect()
}

fn one<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    let found: Vec<&Value> = docs.iter().filter(|d| d["kind"] == kind).collect();
    assert_eq!(found.len(), 1, "exactly one {kind}");
    found[0]
}

fn str_of<'a>(v: &'a Value, what: &str) -> &'a str {
    v.as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {v}"))
}

/// A port reference (a number or a container port's name) resolved to its number.
fn resolve_port(port: &Value, container: &Value) -> u16 {
    let ports = container["ports"].as_array().expect("container ports");
    let number = match port {
        Value::Number(n) => n.as_u64().expect("a port number"),
        Value::String(name) => ports
            .iter()
            .find(|p| p["name"] == name.as_str())
            .unwrap_or_else(|| panic!("no container port is named {name}"))["containerPort"]
            .as_u64()
            .expect("containerPort"),
        other => panic!("not a port: {other}"),
    };
    let number = u16::try_from(number).expect("a port fits 16 bits");
    assert!(
        ports
            .iter()
            .any(|p| p["containerPort"] == u64::from(number)),
        "port {number} is not a container port"
    );
    number
}

/// What the rendered manifests ask of the server.
struct Pod {
    /// The container's arguments (after the image's entry point, `slipway`).
    args: Vec<String>,
    /// Its environment as the kubelet builds it, `$(VAR)` expanded; values from Secrets
    /// are left out (named in `secret_env`).
    env: BTreeMap<String, String>,
    secret_env: Vec<String>,
    /// `(what, path, port)` of each HTTP probe and of the metrics scrape.
    paths: Vec<(String, String, u16)>,
    container_ports: Vec<u16>,
    /// Mount path of each volume, by volume name.
    mounts: BTreeMap<String, String>,
}

/// Expands `$(VAR)` from the variables defined before, as the kubelet does.
fn expand(value: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find("$(") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        match after.find(')') {
            Some(end) if env.contains_key(&after[..end]) => {
                out.push_str(&env[&after[..end]]);
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str("$(");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn pod(docs: &[Value]) -> Pod {
    let deployment = one(docs, "Deployment");
    let template = &deployment["spec"]["template"];
    let containers = template["spec"]["containers"]
        .as_array()
        .expect("containers");
    assert_eq!(containers.len(), 1, "one container");
    let c = &containers[0];
    assert!(c["command"].is_null(), "the image's entry point is kept");
    let args: Vec<String> = c["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| str_of(a, "an argument").to_string())
        .collect();
    // envFrom first, then env in order (later entries may refer to earlier ones).
    let mut env = BTreeMap::new();
    let mut secret_env = Vec::new();
    for from in c["envFrom"].as_array().into_iter().flatten() {
        if let Some(name) = from["configMapRef"]["name"].as_str() {
            let cm = docs
                .iter()
                .find(|d| d["kind"] == "ConfigMap" && d["metadata"]["name"] == name)
                .unwrap_or_else(|| panic!("envFrom names ConfigMap {name}, not rendered"));
            for (k, v) in cm["data"].as_object().expect("ConfigMap data") {
                env.insert(k.clone(), str_of(v, k).to_string());
            }
        } else {
            assert!(from["secretRef"]["name"].is_string(), "envFrom: {from}");
            secret_env.push(format!("secret {}", from["secretRef"]["name"]));
        }
    }
    for e in c["env"].as_array().into_iter().flatten() {
        let name = str_of(&e["name"], "env name").to_string();
        if let Some(v) = e["value"].as_str() {
            let v = expand(v, &env);
            env.insert(name, v);
        } else if let Some(field) = e["valueFrom"]["fieldRef"]["fieldPath"].as_str() {
            let v = match field {
                "status.podIP" => POD_IP,
                "metadata.namespace" => NAMESPACE,
                other => panic!("{name}: a fieldRef this test does not know: {other}"),
            };
            env.insert(name, v.to_string());
        } else {
            assert!(
                e["valueFrom"]["secretKeyRef"]["key"].is_string(),
                "{name}: {e}"
            );
            secret_env.push(name);
        }
    }
    let container_ports: Vec<u16> = c["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .map(|p| u16::try_from(p["containerPort"].as_u64().expect("port")).expect("u16"))
        .collect();
    let mut paths = Vec::new();
    for probe in ["startupProbe", "livenessProbe", "readinessProbe"] {
        let get = &c[probe]["httpGet"];
        if get.is_null() {
            continue;
        }
        paths.push((
            probe.to_string(),
            str_of(&get["path"], "probe path").to_string(),
            resolve_port(&get["port"], c),
        ));
    }
    let annotations = &template["metadata"]["annotations"];
    assert_eq!(annotations["prometheus.io/scrape"], "true");
    let metrics_port: u16 = str_of(&annotations["prometheus.io/port"], "prometheus.io/port")
        .parse()
        .expect("a port number");
    paths.push((
        "metrics".to_string(),
        str_of(&annotations["prometheus.io/path"], "prometheus.io/path").to_string(),
        resolve_port(&Value::from(metrics_port), c),
    ));
    let mounts = c["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            (
                str_of(&m["name"], "mount").to_string(),
                str_of(&m["mountPath"], "mountPath").to_string(),
            )
        })
        .collect();
    // The Service sends to a container port; selectors match the pod's labels.
    let labels = template["metadata"]["labels"].as_object().expect("labels");
    let matches = |selector: &Value| {
        selector
            .as_object()
            .expect("selector")
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
    };
    let service = one(docs, "Service");
    for p in service["spec"]["ports"].as_array().expect("service ports") {
        resolve_port(&p["targetPort"], c);
    }
    assert!(matches(&service["spec"]["selector"]));
    assert!(matches(&deployment["spec"]["selector"]["matchLabels"]));
    // Requests and limits on the container.
    for k in ["requests", "limits"] {
        assert!(
            c["resources"][k]["memory"].is_string(),
            "resources.{k}.memory"
        );
    }
    let security = &template["spec"]["securityContext"];
    assert_eq!(security["runAsNonRoot"], true);
    Pod {
        args,
        env,
        secret_env,
        paths,
        container_ports,
        mounts,
    }
}

/// One HTTP/1.1 request to 127.0.0.1:`port` with the given Host; status and body.
fn http(method: &str, port: u16, path: &str, host: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {head}"));
    (status, head.to_ascii_lowercase(), body.to_string())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// The server, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `slipway ARGS` with exactly `env` (nothing inherited) and waits for /health.
fn start(args: &[String], env: &BTreeMap<String, String>, port: u16) -> Server {
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_slipway"))
            .args(args)
            .env_clear()
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start slipway serve"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = server.0.try_wait().expect("poll") {
            let mut err = String::new();
            if let Some(mut e) = server.0.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("slipway {args:?} exited with {status}: {err}");
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok()
            && http("GET", port, "/health", "localhost").0 == 200
        {
            return server;
        }
        assert!(Instant::now() < deadline, "slipway serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs the server as the pod would and GETs every path the manifests name.
fn check_paths(overlay: &str, p: &Pod, stores: &BTreeMap<String, String>) {
    let home = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut env = p.env.clone();
    // The manifests' port is the container port; this run listens on a free one instead.
    let declared: u16 = env["SLIPWAY_PORT"]
        .parse()
        .expect("SLIPWAY_PORT is a number");
    assert!(
        p.container_ports.contains(&declared),
        "{overlay}: SLIPWAY_PORT {declared} is not a container port {:?}",
        p.container_ports
    );
    assert!(
        !p.args.iter().any(|a| a.starts_with("--port")),
        "{overlay}: the port comes from SLIPWAY_PORT"
    );
    env.insert("SLIPWAY_PORT".into(), port.to_string());
    env.insert(
        "SLIPWAY_HOME".into(),
        home.path().to_str().expect("UTF-8 path").into(),
    );
    env.extend(stores.clone());
    let _server = start(&p.args, &env, port);
    for (what, path, declared_port) in &p.paths {
        // The kubelet and Prometheus connect to the pod IP.
        let host = format!("{POD_IP}:{declared_port}");
        let (status, head, body) = http("GET", port, path, &host);
        assert_eq!(
            status, 200,
            "{overlay}: {what} GET {path} (Host {host}) answered {status}: {body}"
        );
        if what == "metrics" {
            assert!(
                head.contains("content-type: text/plain; version=0.0.4"),
                "{head}"
            );
            assert!(
                body.contains("# TYPE slipway_uptime_seconds gauge"),
                "{body}"
            );
        }
        if path == "/ready" {
            let v: Value = serde_json::from_str(&body).expect("JSON");
            assert_eq!(v["ready"], true, "{body}");
        }
    }
    // In-cluster clients use the Service's names; a foreign Host is still refused.
    for host in [
        "slipway:5000".to_string(),
        format!("slipway.{NAMESPACE}.svc.cluster.local:5000"),
    ] {
        let (status, _, body) = http("GET", port, "/api/3.0/mlflow/server-info", &host);
        assert_eq!(status, 200, "{overlay}: Host {host}: {body}");
    }
    assert_eq!(http("GET", port, "/metrics", "evil.example").0, 403);
}

#[test]
fn overlays_render_validate_and_match_the_server() {
    let (Some(kubectl), Some(validator)) = (
        tool("SLIPWAY_KUBECTL", "kubectl"),
        tool("SLIPWAY_KUBERNETES_VALIDATE", "kubernetes-validate"),
    ) else {
        return;
    };
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut pods = BTreeMap::new();
    for overlay in ["single", "team"] {
        let yaml = render(&kubectl, overlay);
        validate(&validator, overlay, &yaml, scratch.path());
        let docs = documents(&yaml);
        let p = pod(&docs);
        let by_what: BTreeMap<&str, &str> = p
            .paths
            .iter()
            .map(|(w, path, _)| (w.as_str(), path.as_str()))
            .collect();
        assert_eq!(by_what["livenessProbe"], "/health", "{overlay}");
        assert_eq!(by_what["readinessProbe"], "/ready", "{overlay}");
        pods.insert(overlay, (docs, p));
    }

    // single: one replica, never two at once, the home folder on the claim.
    let (docs, single) = &pods["single"];
    let deployment = one(docs, "Deployment");
    assert_eq!(deployment["spec"]["replicas"], 1);
    assert_eq!(deployment["spec"]["strategy"]["type"], "Recreate");
    let claim = str_of(
        &one(docs, "PersistentVolumeClaim")["metadata"]["name"],
        "claim",
    );
    let volumes = deployment["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .expect("volumes");
    let on_claim = volumes
        .iter()
        .find(|v| v["persistentVolumeClaim"]["claimName"] == claim)
        .expect("a volume on the claim");
    assert!(on_claim["emptyDir"].is_null(), "{on_claim}");
    assert_eq!(
        single.mounts[str_of(&on_claim["name"], "volume name")],
        single.env["SLIPWAY_HOME"],
        "the claim holds the home folder (slipway.db and artifacts/)"
    );
    assert!(single.secret_env.is_empty());
    check_paths("single", single, &BTreeMap::new());

    // team: stateless replicas on PostgreSQL and S3 from Secrets, scaled and guarded.
    let (docs, team) = &pods["team"];
    let deployment = one(docs, "Deployment");
    let name = &deployment["metadata"]["name"];
    assert!(deployment["spec"]["replicas"].as_u64() > Some(1));
    for var in ["SLIPWAY_BACKEND_STORE_URI", "SLIPWAY_ARTIFACTS_DESTINATION"] {
        assert!(
            team.secret_env.iter().any(|s| s == var),
            "{var} from a Secret: {:?}",
            team.secret_env
        );
    }
    let hpa = one(docs, "HorizontalPodAutoscaler");
    assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], *name);
    assert!(hpa["spec"]["minReplicas"].as_u64() > Some(1));
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    let selects = |selector: &Value| {
        selector
            .as_object()
            .expect("matchLabels")
            .iter()
            .all(|(k, v)| labels[k] == *v)
    };
    assert!(selects(
        &one(docs, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"]
    ));
    let policy = one(docs, "NetworkPolicy");
    assert!(selects(&policy["spec"]["podSelector"]["matchLabels"]));
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    for rule in policy["spec"]["ingress"].as_array().expect("ingress") {
        for p in rule["ports"].as_array().expect("ports") {
            resolve_port(&p["port"], container);
        }
    }
    assert!(
        container["resources"]["limits"]["cpu"].is_string(),
        "team: a CPU limit"
    );
    // The Secrets' values: CI's PostgreSQL and S3-compatible server when there are.
    let mut stores = BTreeMap::new();
    match (
        std::env::var("SLIPWAY_TEST_POSTGRES_URL"),
        std::env::var("SLIPWAY_S3_TEST_ENDPOINT"),
    ) {
        (Ok(pg), Ok(s3)) if !pg.is_empty() && !s3.is_empty() => {
            let bucket = format!("slipway-k8s-{}", std::process::id());
            let port = s3
                .rsplit(':')
                .next()
                .and_then(|p| p.parse().ok())
                .expect("endpoint http://127.0.0.1:PORT");
            let (status, _, body) = http("PUT", port, &format!("/{bucket}"), "127.0.0.1");
            assert!(status < 300, "create bucket: {status} {body}");
            stores.insert("SLIPWAY_BACKEND_STORE_URI".into(), pg);
            stores.insert(
                "SLIPWAY_ARTIFACTS_DESTINATION".into(),
                format!("s3://{bucket}/slipway"),
            );
            stores.insert("AWS_ENDPOINT_URL".into(), s3);
            stores.insert("AWS_ACCESS_KEY_ID".into(), "testing".into());
            stores.insert("AWS_SECRET_ACCESS_KEY".into(), "testing".into());
            stores.insert("AWS_REGION".into(), "us-east-1".into());
        }
        _ => eprintln!(
            "team: the server runs on SQLite here (set SLIPWAY_TEST_POSTGRES_URL and \
             SLIPWAY_S3_TEST_ENDPOINT for PostgreSQL and S3)"
        ),
    }
    check_paths("team", team, &stores);
}

/// The Dockerfile's instructions, continuation lines joined.
fn dockerfile() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo().join("Dockerfile")).expect("Dockerfile");
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if (line.starts_with('#') && current.is_empty()) || line.is_empty() {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(head) => current.push_str(head),
            None => {
                current.push_str(line);
                let (op, rest) = current.split_once(' ').unwrap_or((&current, ""));
                out.push((op.to_ascii_uppercase(), rest.trim().to_string()));
                current.clear();
            }
        }
    }
    out
}

#[test]
fn dockerfile_port_volume_and_healthcheck_match_the_server() {
    let steps = dockerfile();
    let last_stage = steps
        .iter()
        .rposition(|(op, _)| op == "FROM")
        .expect("a FROM");
    assert!(
        steps.iter().filter(|(op, _)| op == "FROM").count() >= 2,
        "multi-stage"
    );
    let final_stage = &steps[last_stage..];
    let arg = |op: &str| -> Vec<&str> {
        final_stage
            .iter()
            .filter(|(o, _)| o == op)
            .map(|(_, rest)| rest.as_str())
            .collect()
    };
    let user = arg("USER");
    assert_eq!(user.len(), 1);
    assert!(
        !user[0].starts_with('0') && !user[0].starts_with("root"),
        "non-root: {user:?}"
    );
    let mut env = BTreeMap::new();
    for e in arg("ENV") {
        for pair in e.split_whitespace() {
            let (k, v) = pair.split_once('=').expect("ENV k=v");
            env.insert(k.to_string(), v.to_string());
        }
    }
    let expose: u16 = arg("EXPOSE")[0].parse().expect("EXPOSE a port");
    assert_eq!(env["SLIPWAY_PORT"], expose.to_string());
    assert!(arg("VOLUME")[0].contains(&format!("\"{}\"", env["SLIPWAY_HOME"])));
    // The HEALTHCHECK's command, exec form, run against a real server.
    let check = arg("HEALTHCHECK")[0];
    let cmd = &check[check.find("CMD").expect("HEALTHCHECK CMD") + 3..];
    let cmd: Vec<String> = serde_json::from_str(cmd.trim()).expect("exec form");
    assert_eq!(cmd[0], "/usr/local/bin/slipway");
    let entry: Vec<String> = serde_json::from_str(arg("ENTRYPOINT")[0]).expect("exec form");
    assert_eq!(entry, ["/usr/local/bin/slipway"]);
    let serve: Vec<String> = serde_json::from_str(arg("CMD")[0]).expect("exec form");

    let home = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut run_env = env.clone();
    run_env.insert("SLIPWAY_PORT".into(), port.to_string());
    run_env.insert(
        "SLIPWAY_HOME".into(),
        home.path().to_str().expect("UTF-8").into(),
    );
    let healthcheck = |env: &BTreeMap<String, String>| {
        Command::new(env!("CARGO_BIN_EXE_slipway"))
            .args(&cmd[1..])
            .env_clear()
            .envs(env)
            .output()
            .expect("run healthcheck")
    };
    // Nothing listens yet: unhealthy (exit 1).
    let out = healthcheck(&run_env);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let server = start(&serve, &run_env, port);
    let out = healthcheck(&run_env);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("/health 200"),
        "{out:?}"
    );
    drop(server);
}

/// Secret names a pod spec reads (envFrom and secretKeyRef), from its containers.
fn secret_names(pod_spec: &Value) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for c in pod_spec["containers"].as_array().into_iter().flatten() {
        for from in c["envFrom"].as_array().into_iter().flatten() {
            if let Some(n) = from["secretRef"]["name"].as_str() {
                out.insert(n.to_string());
            }
        }
        for e in c["env"].as_array().into_iter().flatten() {
            if let Some(n) = e["valueFrom"]["secretKeyRef"]["name"].as_str() {
                out.insert(format!("{n}/{}", e["valueFrom"]["secretKeyRef"]["key"]));
            }
        }
    }
    out
}

/// `slipway train --emit-k8s-job`: the YAML passes `kubernetes-validate --strict`, its
/// Indexed Job has one completion index per share and reads the team overlay's Secrets, and
/// the pods' own arguments and environment, run here index by index and then the collect
/// step, train the model.
#[test]
fn emitted_training_job_validates_and_runs_as_written() {
    let Some(validator) = tool("SLIPWAY_KUBERNETES_VALIDATE", "kubernetes-validate") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let config = "name: bc-yaml\ndata: {train: breast_cancer.csv}\ntarget: target\n\
                  task: classification\nmodels:\n  - name: logistic\n    type: logistic_regression\n\
                  \x20   search: {grid: {c: [0.1, 1.0]}}\n  - {name: naive_bayes, type: gaussian_nb}\n\
                  cv: {folds: 2}\nseed: 1\n";
    let cfg = dir.path().join("pipeline.yaml");
    std::fs::write(&cfg, config).expect("write config");
    let yaml_file = dir.path().join("job.yaml");
    let out = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(["train", "--config"])
        .arg(&cfg)
        .arg("--emit-k8s-job")
        .arg(&yaml_file)
        .args([
            "--parallelism",
            "3",
            "--image",
            "registry.example/slipway:0.1.0",
        ])
        .args(["--job", "bc-yaml", "--data-claim", "training-data"])
        .env_remove("SLIPWAY_JOB_ID")
        .output()
        .expect("run slipway");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("6 units over 3 indices"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let yaml = std::fs::read_to_string(&yaml_file).expect("read YAML");
    validate(&validator, "job", &yaml, dir.path());
    let docs = documents(&yaml);
    let jobs: Vec<&Value> = docs.iter().filter(|d| d["kind"] == "Job").collect();
    assert_eq!(jobs.len(), 2, "the Indexed Job and the collect Job");
    let workers = jobs
        .iter()
        .find(|j| j["spec"]["completionMode"] == "Indexed")
        .expect("an Indexed Job");
    let collect = jobs
        .iter()
        .find(|j| j["spec"]["completionMode"].is_null())
        .expect("a collect Job");
    assert_eq!(workers["apiVersion"], "batch/v1");
    assert_eq!(workers["spec"]["completions"], 3);
    assert_eq!(workers["spec"]["parallelism"], 3);
    assert_eq!(collect["spec"]["completions"], 1);
    // The same Secrets as the team overlay's server.
    let team: Value = serde_norway::from_str(
        &std::fs::read_to_string(repo().join("deploy/k8s/overlays/team/deployment-patch.yaml"))
            .expect("team patch"),
    )
    .expect("YAML");
    let team_secrets = secret_names(&team["spec"]["template"]["spec"]);
    assert!(team_secrets.len() >= 3, "{team_secrets:?}");
    for j in &jobs {
        let spec = &j["spec"]["template"]["spec"];
        assert_eq!(
            secret_names(spec),
            team_secrets,
            "{}",
            j["metadata"]["name"]
        );
        assert_eq!(spec["restartPolicy"], "Never");
        assert_eq!(spec["securityContext"]["runAsNonRoot"], true);
        let c = &spec["containers"][0];
        assert_eq!(c["image"], "registry.example/slipway:0.1.0");
        let claim = spec["volumes"]
            .as_array()
            .expect("volumes")
            .iter()
            .find(|v| v["persistentVolumeClaim"]["claimName"] == "training-data");
        assert!(claim.is_some(), "the data claim is mounted");
    }
    // The ConfigMap holds the config as written.
    let cm = one(&docs, "ConfigMap");
    assert_eq!(cm["data"]["config.yaml"], config);

    // Run the pods: the ConfigMap's file where the Job mounts it (here, a folder with the
    // data), each container's arguments and literal environment; Secrets are left out, so
    // the shares meet in the pods' (shared) home folder.
    let mount = dir.path().join("etc-slipway-job");
    std::fs::create_dir_all(&mount).expect("mkdir");
    std::fs::write(mount.join("config.yaml"), config).expect("write config");
    std::fs::copy(
        repo().join("examples/breast_cancer/breast_cancer.csv"),
        mount.join("breast_cancer.csv"),
    )
    .expect("copy data");
    let pod_tmp = dir.path().join("pod-tmp");
    let run_pod = |job: &Value, index: Option<usize>| {
        let c = &job["spec"]["template"]["spec"]["containers"][0];
        let config_dir = c["volumeMounts"]
            .as_array()
            .expect("mounts")
            .iter()
            .find(|m| m["name"] == "config")
            .expect("config mount")["mountPath"]
            .as_str()
            .expect("mountPath")
            .to_string();
        let args: Vec<String> = c["args"]
            .as_array()
            .expect("args")
            .iter()
            .map(|a| str_of(a, "arg").replace(&config_dir, mount.to_str().expect("UTF-8")))
            .collect();
        let mut env = BTreeMap::new();
        for e in c["env"].as_array().into_iter().flatten() {
            if let Some(v) = e["value"].as_str() {
                env.insert(
                    str_of(&e["name"], "env").to_string(),
                    v.replace("/tmp", pod_tmp.to_str().expect("UTF-8")),
                );
            }
        }
        if let Some(i) = index {
            env.insert("JOB_COMPLETION_INDEX".into(), i.to_string());
        }
        let out = Command::new(env!("CARGO_BIN_EXE_slipway"))
            .args(&args)
            .env_clear()
            .envs(&env)
            .output()
            .expect("run a pod's slipway");
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (env, String::from_utf8_lossy(&out.stdout).into_owned())
    };
    for i in 0..3 {
        let (_, said) = run_pod(workers, Some(i));
        assert!(said.contains(&format!("index {i} of 3: 2 units")), "{said}");
    }
    let (env, said) = run_pod(collect, None);
    assert!(said.contains("gate passed"), "{said}");
    assert!(
        Path::new(&env["SLIPWAY_OUTPUT"])
            .join("model/manifest.json")
            .is_file(),
        "the collect step wrote the bundle: {said}"
    );
}
