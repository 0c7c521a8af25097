//! The one clock and fixture anchor every test in this workspace runs on.
//!
//! A test's expectations must not depend on the day it runs: a mock seeded on the wall clock
//! anchors its fixtures at today and answers `updated_after`, the deleted-record windows, due
//! dates and expiries against today, so the same assertions see other data next month. Every mock
//! a test starts therefore runs on [`clock`] (or a clock derived from [`EPOCH`]) with its fixtures
//! anchored at [`ANCHOR_DATE`]; the vendor crates' `MockPayt::test()` and `MockPaywise::test()`
//! builders do both.
//!
//! ```
//! use mock_core::testing;
//! let clock = testing::clock();
//! assert_eq!(clock.today(), testing::ANCHOR_DATE);
//! assert!(clock.now() >= testing::epoch());
//! ```

use chrono::{DateTime, NaiveDate, Utc};

use crate::Clock;

/// The date test fixtures are anchored at.
pub const ANCHOR_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2026, 11, 1) {
    Some(d) => d,
    None => panic!("a valid anchor date"),
};

/// The instant test clocks start at: 09:00 UTC on [`ANCHOR_DATE`], after every seeded event.
pub const EPOCH: &str = "2026-11-01T09:00:00Z";

/// [`EPOCH`] as an instant.
pub fn epoch() -> DateTime<Utc> {
    at(EPOCH)
}

/// `rfc3339` as an instant; panics on a malformed literal (test code only).
pub fn at(rfc3339: &str) -> DateTime<Utc> {
    match DateTime::parse_from_rfc3339(rfc3339) {
        Ok(t) => t.with_timezone(&Utc),
        Err(e) => panic!("{rfc3339:?} is not an RFC 3339 timestamp: {e}"),
    }
}

/// A clock that starts at [`EPOCH`] and runs on at the wall clock's pace: timestamps still move
/// between requests, but the date is the same on every day the test runs.
pub fn clock() -> Clock {
    Clock::starting_at(epoch())
}

/// A clock frozen at [`EPOCH`]: it moves only when the test advances or sets it.
pub fn frozen() -> Clock {
    Clock::frozen(epoch())
}

/// `http://127.0.0.1:40123/v1/x` becomes `http://127.0.0.1:[port]/v1/x` (also for `localhost`):
/// the one part of a mock's answer that varies between runs is the port the OS gave it (port 0).
/// Anything else is left as it is.
pub fn normalize_port(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let host_len = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
            .unwrap_or(tail.len());
        let (host, after) = tail.split_at(host_len);
        out.push_str(host);
        rest = after;
        if matches!(host, "127.0.0.1" | "localhost") && after.starts_with(':') {
            let digits = after[1..].bytes().take_while(u8::is_ascii_digit).count();
            if digits > 0 {
                out.push_str(":[port]");
                rest = &after[1 + digits..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `value` with [`normalize_port`] applied to every string in it (keys stay as they are).
pub fn normalize_ports(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::String(normalize_port(s)),
        Value::Array(items) => Value::Array(items.iter().map(normalize_ports).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), normalize_ports(v))).collect()),
        other => other.clone(),
    }
}

/// The headers of an answer that carry meaning for a client and stay the same between runs: what a
/// snapshot of an exchange keeps.
pub const SNAPSHOT_HEADERS: &[&str] = &["content-type", "www-authenticate", "allow", "location"];

/// One exchange as a snapshot records it: `{request, status, headers, body}`, with the
/// [`SNAPSHOT_HEADERS`] present and the body as JSON (a string if it is not JSON, `null` if
/// empty). Panics on a 5xx: a server error is a bug of the mock, never a shape to accept.
pub fn exchange(label: &str, status: u16, headers: &http::HeaderMap, body: &[u8]) -> serde_json::Value {
    use serde_json::{Map, Value, json};
    let mut kept = Map::new();
    for name in SNAPSHOT_HEADERS {
        if let Some(v) = headers.get(*name) {
            kept.insert((*name).into(), json!(v.to_str().unwrap_or("<not ASCII>")));
        }
    }
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(body).unwrap_or_else(|_| json!(String::from_utf8_lossy(body)))
    };
    assert!(status < 500, "{label} answered {status}: {body}");
    json!({"request": label, "status": status, "headers": kept, "body": body})
}

/// Asserts the JSON `exchange` against the insta snapshot `name` (in the calling test's
/// `snapshots/` folder), with the mock's port normalized by [`normalize_ports`] and nothing else
/// redacted. The calling crate needs `insta` (features `json`) as a dev-dependency.
///
/// ```ignore
/// mock_core::assert_exchange_snapshot!("list_invoices", &serde_json::json!({"status": 200}));
/// ```
#[macro_export]
macro_rules! assert_exchange_snapshot {
    ($name:expr, $exchange:expr) => {{
        let normalized = $crate::testing::normalize_ports($exchange);
        ::insta::with_settings!({
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            ::insta::assert_json_snapshot!($name, normalized);
        });
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_clock_starts_at_the_epoch_on_the_anchor_date() {
        assert_eq!(frozen().now(), epoch());
        assert_eq!(frozen().today(), ANCHOR_DATE);
        assert_eq!(clock().today(), ANCHOR_DATE);
    }

    #[test]
    fn only_loopback_ports_are_normalized() {
        assert_eq!(
            normalize_port("see http://127.0.0.1:40123/v1/x?next=http://localhost:9/y and https://example.com:8443/z"),
            "see http://127.0.0.1:[port]/v1/x?next=http://localhost:[port]/y and https://example.com:8443/z"
        );
        assert_eq!(
            normalize_ports(&serde_json::json!({"href": "http://127.0.0.1:1/a", "n": [1, "http://localhost:2"]})),
            serde_json::json!({"href": "http://127.0.0.1:[port]/a", "n": [1, "http://localhost:[port]"]})
        );
    }
}
