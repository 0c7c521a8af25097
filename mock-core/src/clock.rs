//! The injectable clock.
//!
//! Every timestamp a mock writes comes from a [`Clock`], never from `Utc::now()` directly, so a test
//! (and later the control plane) can freeze time or move it forward and see due terms and case
//! stages move with it.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, NaiveDate, Utc};

#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Wall-clock time plus an offset that `advance` grows.
    System { offset: Duration },
    /// A fixed instant that only `advance` and `set` move.
    Frozen(DateTime<Utc>),
}

/// A shareable clock: cloning gives another handle to the same time.
#[derive(Debug, Clone)]
pub struct Clock {
    mode: Arc<Mutex<Mode>>,
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl Clock {
    /// The wall clock.
    pub fn system() -> Self {
        Self {
            mode: Arc::new(Mutex::new(Mode::System {
                offset: Duration::zero(),
            })),
        }
    }

    /// A clock that reads `at` now and runs on from there at the wall clock's pace: time moves
    /// (so `updated_at` stamps still differ), but the date no longer depends on the day it runs.
    pub fn starting_at(at: DateTime<Utc>) -> Self {
        Self {
            mode: Arc::new(Mutex::new(Mode::System {
                offset: at - Utc::now(),
            })),
        }
    }

    /// A clock frozen at `at`.
    pub fn frozen(at: DateTime<Utc>) -> Self {
        Self {
            mode: Arc::new(Mutex::new(Mode::Frozen(at))),
        }
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        match *self.mode.lock().unwrap_or_else(PoisonError::into_inner) {
            Mode::System { offset } => Utc::now() + offset,
            Mode::Frozen(at) => at,
        }
    }

    /// The current date (UTC): what fixtures are anchored at when they are seeded.
    pub fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }

    /// Whether the clock only moves when told to.
    pub fn is_frozen(&self) -> bool {
        matches!(
            *self.mode.lock().unwrap_or_else(PoisonError::into_inner),
            Mode::Frozen(_)
        )
    }

    /// Moves time forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let mut mode = self.mode.lock().unwrap_or_else(PoisonError::into_inner);
        *mode = match *mode {
            Mode::System { offset } => Mode::System { offset: offset + by },
            Mode::Frozen(at) => Mode::Frozen(at + by),
        };
    }

    /// Freezes the clock at `at`.
    pub fn set(&self, at: DateTime<Utc>) {
        *self.mode.lock().unwrap_or_else(PoisonError::into_inner) = Mode::Frozen(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_clock_moves_only_when_told() {
        let at = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        let c = Clock::frozen(at);
        assert_eq!(c.now(), at);
        c.clone().advance(Duration::days(2));
        assert_eq!(c.now(), at + Duration::days(2));
    }

    #[test]
    fn system_clock_offset_applies() {
        // wall-clock-ok: the system clock is what this test is about.
        let c = Clock::system();
        c.advance(Duration::days(365));
        // wall-clock-ok: the wall clock is what this clock is defined against.
        assert!(c.now() > Utc::now() + Duration::days(364));
    }

    #[test]
    fn a_clock_started_at_an_instant_reads_it_and_runs_on() {
        let at = DateTime::parse_from_rfc3339("2026-11-01T09:00:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        let c = Clock::starting_at(at);
        let read = c.now();
        assert!(read >= at && read - at < Duration::minutes(5), "{read}");
        assert_eq!(c.today().to_string(), "2026-11-01");
        assert!(!c.is_frozen());
        c.set(at);
        assert!(c.is_frozen());
        assert_eq!(c.now(), at);
    }
}
