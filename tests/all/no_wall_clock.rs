//! No test expectation may depend on the day the suite runs: every mock a test starts runs on the
//! shared test clock (`MockPayt::test()`, `MockPaywise::test()`, `mock_core::testing`), and no test
//! reads the wall clock. This test reads the test sources of every crate and fails, naming file and
//! line, where one starts a mock on the wall clock or reads the date itself. A line may opt out with
//! a `wall-clock-ok:` comment on it or the line above that says why (for example a unique
//! reference for a vendor, or the contract harness's time of a real vendor).

use std::path::{Path, PathBuf};

use crate::common::rust_files;

/// What starts a mock on the wall clock or reads the wall clock's date.
const FORBIDDEN: &[(&str, &str)] = &[
    (
        "MockPayt::builder()",
        "use MockPayt::test() (the shared test clock and anchor)",
    ),
    ("MockPayt::start()", "use MockPayt::test().start()"),
    ("MockPaywise::builder()", "use MockPaywise::test()"),
    ("MockPaywise::start()", "use MockPaywise::test().start()"),
    ("Clock::system()", "use mock_core::testing::clock()"),
    ("Utc::now()", "use the mock's clock or mock_core::testing::epoch()"),
    ("Local::now()", "use the mock's clock or mock_core::testing::epoch()"),
    (
        "SystemTime::now()",
        "use the mock's clock or mock_core::testing::epoch()",
    ),
    ("Local::today()", "use the mock's clock"),
];

/// The test code of the workspace: every crate's `tests/`, the contract harness, and the
/// `#[cfg(test)]` part of every source file.
fn test_sources(root: &Path) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    for krate in [
        "mock-core",
        "mock-payt",
        "mock-paywise",
        "fixtures",
        "contract-tests",
        ".",
    ] {
        rust_files(&root.join(krate).join("tests"), &mut files);
    }
    rust_files(&root.join("contract-tests/src"), &mut files);
    let mut sources = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("a readable test file");
        sources.push((path, text));
    }
    for krate in ["mock-core", "mock-payt", "mock-paywise", "fixtures"] {
        let mut src = Vec::new();
        rust_files(&root.join(krate).join("src"), &mut src);
        for path in src {
            let text = std::fs::read_to_string(&path).expect("a readable source file");
            if let Some(at) = text.find("#[cfg(test)]") {
                // Keep the line numbers: blank out what comes before the test module.
                let blank: String = text[..at].chars().filter(|c| *c == '\n').collect();
                sources.push((path, format!("{blank}{}", &text[at..])));
            }
        }
    }
    sources
}

/// `line: pattern: what to use instead` for every forbidden use in `text` not opted out.
fn violations(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let allowed = line.contains("wall-clock-ok:") || (i > 0 && lines[i - 1].contains("wall-clock-ok:"));
        for (pattern, instead) in FORBIDDEN {
            if line.contains(pattern) && !allowed {
                found.push(format!("{}: {pattern}: {instead}", i + 1));
            }
        }
    }
    found
}

#[test]
fn no_test_starts_a_mock_on_the_wall_clock_or_reads_the_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sources = test_sources(root);
    assert!(sources.len() > 20, "found the test sources ({} files)", sources.len());
    let mut found = Vec::new();
    for (path, text) in &sources {
        if path.ends_with("tests/all/no_wall_clock.rs") {
            continue;
        }
        let rel = path.strip_prefix(root).unwrap_or(path);
        found.extend(violations(text).into_iter().map(|v| format!("{}:{v}", rel.display())));
    }
    assert!(
        found.is_empty(),
        "test code that depends on today's date:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_finds_what_it_looks_for_and_honours_the_opt_out() {
    let text = "let m = MockPayt::builder().start().await;\n\
                let t = chrono::Utc::now(); // wall-clock-ok: a unique name\n\
                // wall-clock-ok: the vendor's time\n\
                let v = chrono::Utc::now();\n\
                let d = chrono::Local::now().date_naive();\n";
    assert_eq!(
        violations(text),
        [
            "1: MockPayt::builder(): use MockPayt::test() (the shared test clock and anchor)",
            "5: Local::now(): use the mock's clock or mock_core::testing::epoch()",
        ]
    );
}
