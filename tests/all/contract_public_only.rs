//! The contract suite runs unchanged against a vendor, so it may speak to its target through the
//! vendor's public API only: no control API (`/_mock/...`, `X-Mock-World`), no harness calls that
//! drive a mock's worlds, journal, faults or snapshots. This test reads the suite's sources and
//! fails, naming file and line, where one does.

use std::path::Path;

use crate::common::rust_files;

/// What only a mock understands.
const MOCK_ONLY: &[&str] = &[
    "/_mock/",
    "x-mock-world",
    "mock_core::world",
    "mock_core::faults",
    "mock_core::journal",
    ".faults()",
    ".received_requests()",
    ".verify(&",
    ".reset()",
    ".world(\"",
    ".default_world()",
    ".snapshot()",
    ".restore(",
];

fn offences(text: &str) -> Vec<(usize, &'static str)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let lower = line.to_ascii_lowercase();
        if lower.trim_start().starts_with("//") {
            continue;
        }
        for needle in MOCK_ONLY {
            if lower.contains(&needle.to_ascii_lowercase()) {
                found.push((n + 1, *needle));
            }
        }
    }
    found
}

#[test]
fn the_contract_suite_uses_the_public_api_only() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("contract-tests");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(files.len() > 5, "the contract suite's sources are found: {files:?}");
    let mut failures = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable");
        for (line, needle) in offences(&text) {
            failures.push(format!("{}:{line}: uses {needle:?}", file.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "the contract suite must speak to its target through the public API only:\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_check_finds_mock_only_calls() {
    let text = "// a comment about /_mock/ is fine\nlet r = c.get(format!(\"{base}/_mock/journal\"));\nmock.reset();\n";
    assert_eq!(offences(text), vec![(2, "/_mock/"), (3, ".reset()")]);
}
