//! Real clients against a real `slipway serve --bundle`: the Triton HTTP client (Open
//! Inference Protocol v2), prometheus_client's parser on `/metrics`, and schemathesis over
//! `/openapi.json`. Runs `tests/serving_clients/run.sh` with this build's binary; it needs
//! python3 and PyPI (the script creates its own venv), so it runs only when
//! `SLIPWAY_MLFLOW_TESTS` is set (`.ci/run` sets it) and otherwise says that it skipped.

use std::path::Path;
use std::process::Command;

#[test]
fn triton_prometheus_and_schemathesis_clients_against_slipway_serve() {
    if std::env::var_os("SLIPWAY_MLFLOW_TESTS").is_none() {
        eprintln!(
            "skipped: the serving client tests run when SLIPWAY_MLFLOW_TESTS=1 is set (needs python3 and PyPI; .ci/run sets it)"
        );
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/serving_clients/run.sh");
    let status = Command::new("bash")
        .arg(script)
        .env("SLIPWAY_BIN", env!("CARGO_BIN_EXE_slipway"))
        .status()
        .expect("run tests/serving_clients/run.sh");
    assert!(status.success(), "serving client tests failed: {status}");
}
