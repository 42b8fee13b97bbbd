//! The official `mlflow` Python client against a real `slipway serve`: runs the pytest suite
//! in `tests/mlflow_client/` with this build's binary. It needs python3 and PyPI (the script
//! creates its own venv), so it runs only when `SLIPWAY_MLFLOW_TESTS` is set (`.ci/run` sets
//! it) and otherwise says that it skipped.

use std::path::Path;
use std::process::Command;

#[test]
fn official_mlflow_client_against_slipway_serve() {
    if std::env::var_os("SLIPWAY_MLFLOW_TESTS").is_none() {
        eprintln!(
            "skipped: the mlflow client tests run when SLIPWAY_MLFLOW_TESTS=1 is set (needs python3 and PyPI; .ci/run sets it)"
        );
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/mlflow_client/run.sh");
    let status = Command::new("bash")
        .arg(script)
        .env("SLIPWAY_BIN", env!("CARGO_BIN_EXE_slipway"))
        .status()
        .expect("run tests/mlflow_client/run.sh");
    assert!(status.success(), "mlflow client tests failed: {status}");
}
