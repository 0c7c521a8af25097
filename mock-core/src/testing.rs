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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_clock_starts_at_the_epoch_on_the_anchor_date() {
        assert_eq!(frozen().now(), epoch());
        assert_eq!(frozen().today(), ANCHOR_DATE);
        assert_eq!(clock().today(), ANCHOR_DATE);
    }
}
