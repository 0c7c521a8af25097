//! The run journal: every exchange a contract test makes and how each test ended, one JSON object
//! per line, for the report (`contract-report`) to turn into the drift report.
//!
//! Each test binary writes `<report dir>/<binary>.jsonl`, truncated when the binary first writes
//! in a run. The report dir is `CONTRACT_REPORT_DIR`, else `$CARGO_TARGET_DIR/contract-report`,
//! else `target/contract-report` in the workspace.

use std::cell::RefCell;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once, OnceLock};

use serde::{Deserialize, Serialize};

use crate::contract::{Drift, Vendor};

/// One line of the journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Entry {
    /// One request and its answer.
    Exchange(Exchange),
    /// How one test ended.
    Outcome(Outcome),
}

/// One request and its answer, with what the contract found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Exchange {
    /// Order within the binary's run.
    pub seq: u64,
    /// The test that sent it (`binary::test`).
    pub test: String,
    /// The vendor's contract it was checked against.
    pub vendor: Vendor,
    /// Request method.
    pub method: String,
    /// Request path and query.
    pub target: String,
    /// `METHOD /template` when the contract knows the path.
    pub operation: Option<String>,
    /// Response status.
    pub status: u16,
    /// Request body (cut at 2 KiB).
    pub request_body: Option<String>,
    /// Response body (cut at 4 KiB).
    pub response_body: String,
    /// What differs from the contract.
    pub drift: Vec<Drift>,
}

/// How one test ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    /// Order within the binary's run.
    pub seq: u64,
    /// `binary::test`.
    pub test: String,
    /// `passed`, `failed` or `skipped`.
    pub result: TestResult,
    /// The panic message (failed) or the reason (skipped).
    pub message: Option<String>,
}

/// The end of a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestResult {
    /// Every assertion held.
    Passed,
    /// It panicked.
    Failed,
    /// It chose not to run (see the message).
    Skipped,
}

/// Where the journal and the reports go.
pub fn report_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CONTRACT_REPORT_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("contract-report");
    }
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .unwrap_or(manifest)
        .join("target")
        .join("contract-report")
}

/// The running binary's name without cargo's hash suffix (`contract`).
fn binary() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        let stem = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "contract".into());
        match stem.rsplit_once('-') {
            Some((name, hash)) if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) => name.to_string(),
            _ => stem,
        }
    })
}

/// The current test, as `binary::test` (libtest names each test's thread after the test).
pub fn current_test() -> String {
    let thread = std::thread::current();
    format!("{}::{}", binary(), thread.name().unwrap_or("main"))
}

static SEQ: AtomicU64 = AtomicU64::new(0);

/// The next sequence number.
pub fn next_seq() -> u64 {
    SEQ.fetch_add(1, Ordering::Relaxed)
}

fn file() -> &'static Mutex<Option<File>> {
    static FILE: OnceLock<Mutex<Option<File>>> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = report_dir();
        let opened = std::fs::create_dir_all(&dir).and_then(|()| File::create(dir.join(format!("{}.jsonl", binary()))));
        match opened {
            Ok(f) => Mutex::new(Some(f)),
            Err(e) => {
                eprintln!("contract journal disabled: cannot write to {}: {e}", dir.display());
                Mutex::new(None)
            }
        }
    })
}

/// Appends one entry.
pub fn write(entry: &Entry) {
    let Ok(mut line) = serde_json::to_string(entry) else {
        return;
    };
    line.push('\n');
    let mut guard = file().lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(f) = guard.as_mut()
        && let Err(e) = f.write_all(line.as_bytes())
    {
        // A journal that cannot be written must not fail the test itself; say once that the
        // report will miss the entries from here on.
        eprintln!("contract journal disabled: cannot append an entry: {e}");
        *guard = None;
    }
}

/// Cuts `text` at `max` bytes (on a char boundary).
pub fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], text.len())
}

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    static SKIPPED: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs (once) a panic hook that keeps each thread's last panic message for its outcome.
pub fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            let at = info
                .location()
                .map(|l| format!(" (at {}:{})", l.file(), l.line()))
                .unwrap_or_default();
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{message}{at}")));
            previous(info);
        }));
    });
}

/// Marks the current test as skipped for `reason` (its outcome says so instead of passed).
pub fn mark_skipped(reason: &str) {
    SKIPPED.with(|s| *s.borrow_mut() = Some(reason.to_string()));
}

/// Records the current test's outcome when dropped: failed if the thread is panicking.
pub struct TestGuard {
    test: String,
}

impl TestGuard {
    /// A guard for the current test.
    pub fn new() -> Self {
        install_panic_hook();
        LAST_PANIC.with(|p| p.borrow_mut().take());
        Self { test: current_test() }
    }
}

impl Default for TestGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestGuard {
    fn drop(&mut self) {
        let (result, message) = if std::thread::panicking() {
            (TestResult::Failed, LAST_PANIC.with(|p| p.borrow_mut().take()))
        } else if let Some(reason) = SKIPPED.with(|s| s.borrow_mut().take()) {
            (TestResult::Skipped, Some(reason))
        } else {
            (TestResult::Passed, None)
        };
        write(&Entry::Outcome(Outcome {
            seq: next_seq(),
            test: self.test.clone(),
            result,
            message,
        }));
    }
}
