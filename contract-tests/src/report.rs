//! The drift report: the run journal turned into per-endpoint results with field-level diffs,
//! as terminal text, JSON and JUnit XML.
//!
//! An endpoint (one operation of a vendor's contract) **failed** when an answer to it drifted from
//! the contract, or when a test failed and its last request before failing went to it (the
//! failure is attributed there; an `assert_eq!` on statuses becomes a status change). It
//! **passed** when it was called and nothing failed, and is **not covered** when no test called
//! it.

use std::collections::{BTreeMap, BTreeSet};

/// `writeln!` into the report's `String` (which takes every write, so there is no error to drop).
macro_rules! say {
    ($out:expr) => {
        $out.push('\n')
    };
    ($out:expr, $($arg:tt)*) => {{
        $out.push_str(&format!($($arg)*));
        $out.push('\n');
    }};
}

/// `write!` into a `String`, likewise.
macro_rules! put {
    ($out:expr, $($arg:tt)*) => {
        $out.push_str(&format!($($arg)*))
    };
}
use std::path::Path;

use mock_core::error::xml_escape;
use serde::Serialize;

use crate::contract::{Contract, Drift, DriftKind, Vendor};
use crate::journal::{Entry, Exchange, Outcome, TestResult};

/// How an endpoint came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointResult {
    /// Called, and nothing failed.
    Passed,
    /// Drift, or a failed test's last request.
    Failed,
    /// No test called it.
    NotCovered,
}

/// One drift item, with how often it occurred in one answer (list items are folded: `/results/*/x`).
#[derive(Debug, Clone, Serialize)]
pub struct FoldedDrift {
    /// The item (its `at` with list indexes replaced by `*`).
    #[serde(flatten)]
    pub drift: Drift,
    /// How many times it occurred.
    pub count: usize,
}

/// One failing answer of an endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// The test that sent the request.
    pub test: String,
    /// `METHOD /path?query`.
    pub request: String,
    /// The status the target answered.
    pub status: u16,
    /// What differs from the contract (or the test's expectation).
    pub drift: Vec<FoldedDrift>,
    /// The failed test's message, when the failure is attributed from a test.
    pub message: Option<String>,
    /// The start of the response body.
    pub response: String,
}

/// One endpoint of a vendor's contract.
#[derive(Debug, Clone, Serialize)]
pub struct Endpoint {
    /// Vendor.
    pub vendor: Vendor,
    /// `METHOD /template`.
    pub operation: String,
    /// Result.
    pub result: EndpointResult,
    /// Number of requests.
    pub calls: usize,
    /// Requests by status.
    pub statuses: BTreeMap<u16, usize>,
    /// Tests that called it.
    pub tests: BTreeSet<String>,
    /// Failing answers (at most [`MAX_FAILURES`] kept; `failed_calls` counts all).
    pub failures: Vec<Failure>,
    /// Number of failing answers.
    pub failed_calls: usize,
}

/// How many failing answers an endpoint keeps as examples.
pub const MAX_FAILURES: usize = 3;

/// One test.
#[derive(Debug, Clone, Serialize)]
pub struct Test {
    /// `binary::test`.
    pub name: String,
    /// Result.
    pub result: TestResult,
    /// Panic message or skip reason.
    pub message: Option<String>,
    /// Its last request (`METHOD /path -> status`).
    pub last_request: Option<String>,
}

/// Counts for one vendor.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    /// Endpoints in the contract.
    pub endpoints: usize,
    /// Passed.
    pub passed: usize,
    /// Failed.
    pub failed: usize,
    /// Not covered.
    pub not_covered: usize,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `mock` or `sandbox` (from `CONTRACT_TARGET` when the report was made).
    pub target: String,
    /// Per vendor.
    pub totals: BTreeMap<String, Totals>,
    /// Every endpoint of both contracts, in contract order.
    pub endpoints: Vec<Endpoint>,
    /// Answers to paths outside the contracts that drifted.
    pub outside: Vec<Failure>,
    /// Every test with an outcome.
    pub tests: Vec<Test>,
}

/// Reads every `*.jsonl` journal in `dir` (unreadable lines are skipped).
pub fn read_journal(dir: &Path) -> std::io::Result<Vec<Entry>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)?;
        out.extend(text.lines().filter_map(|l| serde_json::from_str::<Entry>(l).ok()));
    }
    Ok(out)
}

fn fold(drift: &[Drift]) -> Vec<FoldedDrift> {
    let mut out: Vec<FoldedDrift> = Vec::new();
    for d in drift {
        let at =
            d.at.split('/')
                .map(|seg| {
                    if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
                        "*"
                    } else {
                        seg
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
        match out
            .iter_mut()
            .find(|f| f.drift.kind == d.kind && f.drift.at == at && f.drift.expected == d.expected)
        {
            Some(f) => f.count += 1,
            None => out.push(FoldedDrift {
                drift: Drift { at, ..d.clone() },
                count: 1,
            }),
        }
    }
    out
}

/// The status an `assert_eq!` on statuses expected, when `message` is one and its other side is
/// `actual` (`left: 404` / `right: 201`, in either order).
fn expected_status(message: &str, actual: u16) -> Option<u16> {
    let side = |name: &str| {
        message.lines().find_map(|l| {
            let v = l.trim().strip_prefix(name)?.trim();
            let digits: String = v.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u16>().ok().filter(|s| (100..600).contains(s))
        })
    };
    match (side("left:"), side("right:")) {
        (Some(l), Some(r)) if l == actual && r != actual => Some(r),
        (Some(l), Some(r)) if r == actual && l != actual => Some(l),
        _ => None,
    }
}

fn request_line(e: &Exchange) -> String {
    format!("{} {}", e.method, e.target)
}

fn failure(e: &Exchange, drift: Vec<FoldedDrift>, message: Option<String>) -> Failure {
    Failure {
        test: e.test.clone(),
        request: request_line(e),
        status: e.status,
        drift,
        message,
        response: crate::journal::cut(&e.response_body, 600),
    }
}

/// Builds the report from journal entries, over the operations of `contracts`.
pub fn build(entries: &[Entry], contracts: &[&Contract], target: &str) -> Report {
    let mut endpoints: Vec<Endpoint> = Vec::new();
    let mut index: BTreeMap<(Vendor, String), usize> = BTreeMap::new();
    for contract in contracts {
        for operation in contract.operations() {
            index.insert((contract.vendor(), operation.clone()), endpoints.len());
            endpoints.push(Endpoint {
                vendor: contract.vendor(),
                operation,
                result: EndpointResult::NotCovered,
                calls: 0,
                statuses: BTreeMap::new(),
                tests: BTreeSet::new(),
                failures: Vec::new(),
                failed_calls: 0,
            });
        }
    }
    let mut outside = Vec::new();
    let mut last: BTreeMap<&str, &Exchange> = BTreeMap::new();
    let mut outcomes: BTreeMap<String, Outcome> = BTreeMap::new();

    let push_failure = |ep: &mut Endpoint, f: Failure| {
        ep.failed_calls += 1;
        if ep.failures.len() < MAX_FAILURES {
            ep.failures.push(f);
        }
    };

    for entry in entries {
        match entry {
            Entry::Exchange(e) => {
                let slot = last.entry(e.test.as_str()).or_insert(e);
                if e.seq >= slot.seq {
                    *slot = e;
                }
                let found = e
                    .operation
                    .as_ref()
                    .and_then(|op| index.get(&(e.vendor, op.clone())))
                    .copied();
                match found {
                    Some(i) => {
                        let ep = &mut endpoints[i];
                        ep.calls += 1;
                        *ep.statuses.entry(e.status).or_default() += 1;
                        ep.tests.insert(e.test.clone());
                        if !e.drift.is_empty() {
                            push_failure(ep, failure(e, fold(&e.drift), None));
                        }
                    }
                    None if !e.drift.is_empty() => outside.push(failure(e, fold(&e.drift), None)),
                    None => {}
                }
            }
            Entry::Outcome(o) => {
                // A test with several connections: any failure wins over a pass.
                let keep = match outcomes.get(&o.test) {
                    Some(prev) => prev.result != TestResult::Failed,
                    None => true,
                };
                if keep {
                    outcomes.insert(o.test.clone(), o.clone());
                }
            }
        }
    }

    // Attribute each failed test to its last request (unless that answer already drifted: then
    // the drift is the explanation, and the message is added to it).
    for o in outcomes.values().filter(|o| o.result == TestResult::Failed) {
        let Some(e) = last.get(o.test.as_str()) else {
            continue;
        };
        let message = o.message.clone();
        let i = e
            .operation
            .as_ref()
            .and_then(|op| index.get(&(e.vendor, op.clone())))
            .copied();
        let Some(i) = i else {
            outside.push(failure(e, fold(&e.drift), message));
            continue;
        };
        let ep = &mut endpoints[i];
        if let Some(existing) = ep
            .failures
            .iter_mut()
            .find(|f| f.test == o.test && f.request == request_line(e) && !f.drift.is_empty())
        {
            existing.message = message;
            continue;
        }
        let mut drift = fold(&e.drift);
        if let Some(expected) = message.as_deref().and_then(|m| expected_status(m, e.status)) {
            drift.push(FoldedDrift {
                drift: Drift {
                    kind: DriftKind::Status,
                    at: "status".into(),
                    expected: expected.to_string(),
                    actual: e.status.to_string(),
                },
                count: 1,
            });
        }
        push_failure(ep, failure(e, drift, message));
    }

    let mut totals: BTreeMap<String, Totals> = BTreeMap::new();
    for ep in &mut endpoints {
        ep.result = if ep.failed_calls > 0 {
            EndpointResult::Failed
        } else if ep.calls > 0 {
            EndpointResult::Passed
        } else {
            EndpointResult::NotCovered
        };
        let t = totals.entry(ep.vendor.name().to_string()).or_default();
        t.endpoints += 1;
        match ep.result {
            EndpointResult::Passed => t.passed += 1,
            EndpointResult::Failed => t.failed += 1,
            EndpointResult::NotCovered => t.not_covered += 1,
        }
    }

    let tests = outcomes
        .into_values()
        .map(|o| Test {
            last_request: last
                .get(o.test.as_str())
                .map(|e| format!("{} -> {}", request_line(e), e.status)),
            name: o.test,
            result: o.result,
            message: o.message,
        })
        .collect();
    Report {
        target: target.to_string(),
        totals,
        endpoints,
        outside,
        tests,
    }
}

impl Report {
    /// Whether anything failed (an endpoint, an answer outside the contracts, or a test).
    pub fn failed(&self) -> bool {
        self.endpoints.iter().any(|e| e.result == EndpointResult::Failed)
            || !self.outside.is_empty()
            || self.tests.iter().any(|t| t.result == TestResult::Failed)
    }

    /// Endpoints no test called.
    pub fn not_covered(&self) -> Vec<&Endpoint> {
        self.endpoints
            .iter()
            .filter(|e| e.result == EndpointResult::NotCovered)
            .collect()
    }

    fn count_tests(&self, result: TestResult) -> usize {
        self.tests.iter().filter(|t| t.result == result).count()
    }

    /// The report for a terminal: a line per endpoint (`all`) or only the failed and uncovered
    /// ones, each failure with its field-level diff, then the tests that failed or were skipped.
    pub fn to_text(&self, all: bool) -> String {
        let mut out = String::new();
        say!(out, "Contract report (target: {})", self.target);
        for (vendor, t) in &self.totals {
            say!(
                out,
                "  {vendor:<8} {} endpoints: {} passed, {} failed, {} not covered",
                t.endpoints,
                t.passed,
                t.failed,
                t.not_covered
            );
        }
        say!(
            out,
            "  tests    {} passed, {} failed, {} skipped",
            self.count_tests(TestResult::Passed),
            self.count_tests(TestResult::Failed),
            self.count_tests(TestResult::Skipped)
        );
        if !all && self.endpoints.iter().all(|e| e.result == EndpointResult::Passed) {
            say!(out, "  every endpoint passed (--all lists them)");
        }
        say!(out);
        for ep in &self.endpoints {
            let tag = match ep.result {
                EndpointResult::Passed if !all => continue,
                EndpointResult::Passed => "ok      ",
                EndpointResult::Failed => "FAILED  ",
                EndpointResult::NotCovered => "UNTESTED",
            };
            let statuses: Vec<String> = ep.statuses.iter().map(|(s, n)| format!("{s}x{n}")).collect();
            say!(
                out,
                "{tag} {:<8} {:<70} {} calls{}",
                ep.vendor.name(),
                ep.operation,
                ep.calls,
                if statuses.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", statuses.join(", "))
                }
            );
            for f in &ep.failures {
                write_failure(&mut out, f);
            }
            if ep.failed_calls > ep.failures.len() {
                say!(
                    out,
                    "           ... and {} more failing answers",
                    ep.failed_calls - ep.failures.len()
                );
            }
        }
        if !self.outside.is_empty() {
            say!(out, "\nAnswers to paths outside the contracts:");
            for f in &self.outside {
                write_failure(&mut out, f);
            }
        }
        let notable: Vec<&Test> = self.tests.iter().filter(|t| t.result != TestResult::Passed).collect();
        if !notable.is_empty() {
            say!(out, "\nTests:");
            for t in notable {
                let first = t.message.as_deref().and_then(|m| m.lines().next()).unwrap_or_default();
                let tag = if t.result == TestResult::Failed {
                    "FAILED "
                } else {
                    "skipped"
                };
                say!(out, "  {tag} {}: {first}", t.name);
            }
        }
        out
    }

    /// JUnit XML: one suite of endpoints per vendor (uncovered endpoints are `skipped`) and one
    /// suite of tests.
    pub fn to_junit(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let failures = self
            .endpoints
            .iter()
            .filter(|e| e.result == EndpointResult::Failed)
            .count()
            + self.count_tests(TestResult::Failed);
        say!(
            out,
            "<testsuites name=\"contract\" tests=\"{}\" failures=\"{failures}\">",
            self.endpoints.len() + self.tests.len()
        );
        for (vendor, t) in &self.totals {
            say!(
                out,
                "  <testsuite name=\"{vendor} endpoints\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">",
                t.endpoints,
                t.failed,
                t.not_covered
            );
            for ep in self.endpoints.iter().filter(|e| e.vendor.name() == vendor) {
                put!(
                    out,
                    "    <testcase classname=\"{vendor}\" name=\"{}\"",
                    xml_escape(&ep.operation)
                );
                match ep.result {
                    EndpointResult::Passed => out.push_str("/>\n"),
                    EndpointResult::NotCovered => {
                        out.push_str(
                            ">\n      <skipped message=\"no contract test called this endpoint\"/>\n    </testcase>\n",
                        );
                    }
                    EndpointResult::Failed => {
                        let mut text = String::new();
                        for f in &ep.failures {
                            write_failure(&mut text, f);
                        }
                        put!(
                            out,
                            ">\n      <failure type=\"drift\" message=\"{} of {} answers failed\">{}</failure>\n    </testcase>\n",
                            ep.failed_calls,
                            ep.calls,
                            xml_escape(&text)
                        );
                    }
                }
            }
            out.push_str("  </testsuite>\n");
        }
        say!(
            out,
            "  <testsuite name=\"contract tests\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">",
            self.tests.len(),
            self.count_tests(TestResult::Failed),
            self.count_tests(TestResult::Skipped)
        );
        for t in &self.tests {
            // `contract::payt_workflow::test`: the binary and module are the class.
            let (class, name) = t.name.rsplit_once("::").unwrap_or(("contract", &t.name));
            put!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml_escape(class),
                xml_escape(name)
            );
            let message = xml_escape(t.message.as_deref().unwrap_or_default());
            match t.result {
                TestResult::Passed => out.push_str("/>\n"),
                TestResult::Skipped => {
                    put!(out, ">\n      <skipped message=\"{message}\"/>\n    </testcase>\n");
                }
                TestResult::Failed => {
                    let first = xml_escape(t.message.as_deref().and_then(|m| m.lines().next()).unwrap_or_default());
                    put!(
                        out,
                        ">\n      <failure message=\"{first}\">{message}\nlast request: {}</failure>\n    </testcase>\n",
                        xml_escape(t.last_request.as_deref().unwrap_or("none"))
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n</testsuites>\n");
        out
    }
}

fn write_failure(out: &mut String, f: &Failure) {
    say!(out, "    {} :: {} -> {}", f.test, f.request, f.status);
    for d in &f.drift {
        let times = if d.count > 1 {
            format!(" (x{})", d.count)
        } else {
            String::new()
        };
        say!(out, "      {}{times}", d.drift);
    }
    if let Some(m) = &f.message {
        let first = m.lines().next().unwrap_or_default();
        say!(out, "      test failed: {}", crate::journal::cut(first, 300));
    }
    if f.drift.is_empty() || f.message.is_none() {
        say!(out, "      answered: {}", crate::journal::cut(&f.response, 300));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Exchange;

    fn exchange(seq: u64, test: &str, method: &str, target: &str, status: u16, body: &str) -> Entry {
        let contract = Contract::of(Vendor::Payt);
        let path = target.split('?').next().unwrap_or_default();
        let checked = contract.check(&crate::contract::Answer {
            method,
            path,
            projected: false,
            status,
            content_type: "application/json",
            body: body.as_bytes(),
        });
        Entry::Exchange(Exchange {
            seq,
            test: test.into(),
            vendor: Vendor::Payt,
            method: method.into(),
            target: target.into(),
            operation: checked.operation,
            status,
            request_body: None,
            response_body: body.into(),
            drift: checked.drift,
        })
    }

    fn outcome(seq: u64, test: &str, result: TestResult, message: Option<&str>) -> Entry {
        Entry::Outcome(Outcome {
            seq,
            test: test.into(),
            result,
            message: message.map(str::to_string),
        })
    }

    fn endpoint<'a>(r: &'a Report, op: &str) -> &'a Endpoint {
        r.endpoints
            .iter()
            .find(|e| e.operation == op)
            .expect("the operation is in the contract")
    }

    #[test]
    fn a_broken_field_shows_as_a_field_level_diff() {
        let entries = vec![
            exchange(0, "t::ok", "GET", "/v1/debtors/1", 401, r#"{"code":"x","message":"y"}"#),
            exchange(
                1,
                "t::broken",
                "GET",
                "/v1/debtors/2",
                401,
                r#"{"code":"x","mesage":"y"}"#,
            ),
            outcome(2, "t::broken", TestResult::Failed, Some("contract drift: ...")),
            outcome(3, "t::ok", TestResult::Passed, None),
        ];
        let r = build(&entries, &[Contract::of(Vendor::Payt)], "mock");
        let ep = endpoint(&r, "GET /v1/debtors/{id}");
        assert_eq!(ep.result, EndpointResult::Failed);
        assert_eq!((ep.calls, ep.failed_calls), (2, 1));
        let text = r.to_text(false);
        assert!(text.contains("+ /mesage"), "{text}");
        assert!(text.contains("- /message"), "{text}");
        assert!(text.contains("test failed: contract drift"), "{text}");
        assert!(r.failed());
        assert_eq!(endpoint(&r, "GET /v1/debtors").result, EndpointResult::NotCovered);
        let junit = r.to_junit();
        assert!(junit.contains("<failure type=\"drift\""), "{junit}");
        assert!(junit.contains("<skipped message=\"no contract test called this endpoint\"/>"));
    }

    #[test]
    fn a_failed_status_assertion_becomes_a_status_change_on_the_last_request() {
        let entries = vec![
            exchange(
                0,
                "t::create",
                "GET",
                "/v1/debtors/1",
                401,
                r#"{"code":"x","message":"y"}"#,
            ),
            exchange(
                1,
                "t::create",
                "GET",
                "/v1/vat_rates",
                401,
                r#"{"code":"x","message":"y"}"#,
            ),
            outcome(
                2,
                "t::create",
                TestResult::Failed,
                Some("assertion `left == right` failed: GET answered\n  left: 401\n right: 200"),
            ),
        ];
        let r = build(&entries, &[Contract::of(Vendor::Payt)], "mock");
        assert_eq!(endpoint(&r, "GET /v1/debtors/{id}").result, EndpointResult::Passed);
        let ep = endpoint(&r, "GET /v1/vat_rates");
        assert_eq!(ep.result, EndpointResult::Failed);
        let d = &ep.failures[0].drift[0].drift;
        assert_eq!(
            (d.kind, d.expected.as_str(), d.actual.as_str()),
            (DriftKind::Status, "200", "401")
        );
    }

    #[test]
    fn list_items_fold_into_one_line() {
        let d = |at: &str| Drift {
            kind: DriftKind::Extra,
            at: at.into(),
            expected: "no such field".into(),
            actual: "1".into(),
        };
        let folded = fold(&[d("/data/0/x"), d("/data/1/x"), d("/data/2/y")]);
        assert_eq!(folded.len(), 2);
        assert_eq!((folded[0].drift.at.as_str(), folded[0].count), ("/data/*/x", 2));
    }

    #[test]
    fn skipped_and_passed_tests_are_told_apart_and_xml_is_escaped() {
        let entries = vec![outcome(
            0,
            "b::gated",
            TestResult::Skipped,
            Some("needs <opt-in> & more"),
        )];
        let r = build(&entries, &[Contract::of(Vendor::Payt)], "sandbox");
        assert!(!r.failed());
        assert!(r.to_junit().contains("needs &lt;opt-in&gt; &amp; more"));
        assert!(r.to_text(false).contains("skipped b::gated"));
    }
}
