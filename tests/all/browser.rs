//! The dashboard in a real browser, as part of `cargo test`: runs `browser-tests/run` (Playwright's
//! `playwright-core` driving Debian's `/usr/bin/chromium`, both installed by
//! `browser-tests/setup`: apt as root or through sudo, `npm ci` of the committed lock file) against
//! the binary this test run built, and fails with the tests' output unless every one passed.
//!
//! Under libfaketime (`.ci/test-at-dates`, which reruns the suite with the date moved) the test is
//! skipped, saying so: Chromium under libfaketime runs about six times slower and some of its timers
//! misfire (two of the ten browser tests time out), and nothing the page shows depends on the
//! browser's date (the mock's clock is frozen at a fixed moment); the first, unfaked run covers it.
//! `.ci/test-at-dates` prints the same reason before its run.

use std::path::Path;
use std::process::{Command, Stdio};

/// Why the test does not run here, if it does not: libfaketime is loaded.
fn faked_time() -> Option<String> {
    let preload = std::env::var("LD_PRELOAD").unwrap_or_default();
    (std::env::var_os("FAKETIME").is_some() || preload.contains("faketime")).then(|| {
        "skipped under libfaketime: Chromium runs about six times slower and its timers misfire under it; \
         the run without faketime covers the dashboard's browser tests"
            .to_string()
    })
}

#[test]
fn the_dashboard_passes_its_browser_tests_in_chromium() {
    if let Some(reason) = faked_time() {
        eprintln!("browser tests (tests/all/browser.rs): {reason}");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("browser-tests/run");
    let out = Command::new(&script)
        .current_dir(root)
        // The binary this run built: no cargo inside cargo, and the page it serves is current.
        .env("MOCK_BIN", env!("CARGO_BIN_EXE_payt-paywise-mocks"))
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{} failed ({}):\n--- stdout ---\n{stdout}\n--- stderr ---\n{}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("# fail 0"),
        "the browser tests did not all pass:\n{stdout}"
    );
}
