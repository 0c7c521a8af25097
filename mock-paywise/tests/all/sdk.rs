//! paywise API v2 driven through the vendor's own Python SDK (PyPI `paywise` 0.1.0, pinned with its
//! dependencies in `sdk-tests/requirements.txt`): `sdk-tests/test_v2.py` calls every one of the
//! reference's 135 operations through `client.case_management.*` and `client.partner.*` and checks
//! that the SDK's own models parse each answer.
//!
//! The test installs the SDK into `target/sdk-venv` with `sdk-tests/setup-venv` (once; it skips
//! when the venv matches the requirements), starts the mock in-process on a free port with a frozen
//! clock (the Python side moves it through `POST /_mock/clock` where events must settle), runs
//! pytest against it while the server keeps serving, and fails with pytest's output unless every
//! test passed. It needs `python3` (3.8+, with the venv module) and, the first time, PyPI.
//!
//! `PAYWISE_SDK_PYTEST_ARGS` passes extra pytest arguments, split at whitespace (no quoting), e.g.
//! `-k debtors -x` to run one group and stop at its first failure. `PAYWISE_SDK_PYTEST_LIVE=1`
//! lets pytest write to the terminal as it runs (with `--nocapture`) instead of collecting its
//! output for the failure message. A test stuck for 120 s gets its Python stack dumped
//! (`faulthandler_timeout`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use mock_paywise::resources::partner::{PARTNER_RESTRICTED_TOKEN, PARTNER_TOKEN};
use mock_paywise::{MockPaywise, PaywiseMock as _};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("mock-paywise sits in the workspace root")
        .to_path_buf()
}

fn text(out: &Output) -> String {
    format!(
        "--- stdout ---\n{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Fails with a clear message when there is no `python3` to build the venv with.
fn require_python() {
    match Command::new("python3").arg("--version").stdin(Stdio::null()).output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "`python3 --version` failed ({}); the SDK tests need Python 3.8+ with the venv module\n{}",
            out.status,
            text(&out)
        ),
        Err(e) => panic!(
            "python3 is not on PATH ({e}); the SDK tests (mock-paywise/tests/all/sdk.rs) need Python 3.8+ \
             with the venv module to install the vendor's SDK"
        ),
    }
}

/// Runs `sdk-tests/setup-venv` and answers the venv's interpreter.
fn setup_venv(root: &Path) -> PathBuf {
    let script = root.join("sdk-tests/setup-venv");
    let out = Command::new(&script)
        .current_dir(root)
        .env_remove("LD_PRELOAD")
        .env_remove("FAKETIME")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{} failed ({}): the SDK could not be installed\n{}",
        script.display(),
        out.status,
        text(&out)
    );
    let python = root.join("target/sdk-venv/bin/python");
    assert!(python.exists(), "setup-venv left no {}", python.display());
    python
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vendors_python_sdk_drives_every_v2_operation() {
    let root = repo_root();
    require_python();
    let venv_root = root.clone();
    let python = tokio::task::spawn_blocking(move || setup_venv(&venv_root))
        .await
        .expect("setup-venv ran");
    eprintln!("sdk: the SDK is installed ({})", python.display());

    let m = MockPaywise::test()
        .seed(42)
        .clock(mock_core::testing::frozen())
        .start()
        .await;
    eprintln!("sdk: the mock listens on {}; running pytest", m.uri());

    let mut pytest = Command::new(&python);
    pytest
        .current_dir(&root)
        .args([
            "-m",
            "pytest",
            "-q",
            "-rfE",
            "-p",
            "no:cacheprovider",
            "-o",
            "faulthandler_timeout=120",
            "sdk-tests/test_v2.py",
        ])
        .args(
            std::env::var("PAYWISE_SDK_PYTEST_ARGS")
                .unwrap_or_default()
                .split_whitespace(),
        )
        .env("PAYWISE_BASE_URL", m.uri())
        .env("PAYWISE_TOKEN", m.token())
        .env("PAYWISE_PRODUCTION_TOKEN", m.production_token())
        .env("PAYWISE_PARTNER_TOKEN", PARTNER_TOKEN)
        .env("PAYWISE_PARTNER_RESTRICTED_TOKEN", PARTNER_RESTRICTED_TOKEN)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .env_remove("PYTEST_ADDOPTS")
        // Under .ci/test-at-dates this test runs inside libfaketime; Python needs none of it (the
        // mock's clock is frozen) and its sleeps fail under it (EINVAL), so the child runs without.
        .env_remove("LD_PRELOAD")
        .env_remove("FAKETIME")
        .env_remove("FAKETIME_DONT_FAKE_MONOTONIC")
        .stdin(Stdio::null());
    let live = std::env::var_os("PAYWISE_SDK_PYTEST_LIVE").is_some_and(|v| v == "1");
    if live {
        pytest.stdout(Stdio::inherit()).stderr(Stdio::inherit());
    }
    // pytest blocks its thread; the mock keeps serving on the runtime's workers meanwhile.
    let out = tokio::task::spawn_blocking(move || pytest.output())
        .await
        .expect("pytest ran")
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));

    assert!(
        out.status.success(),
        "the SDK suite failed against the mock ({}):\n{}",
        out.status,
        text(&out)
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    eprintln!("{}", summary.lines().last().unwrap_or_default());
}
