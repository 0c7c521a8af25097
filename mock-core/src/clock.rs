//! The injectable clock.
//!
//! Every timestamp a mock writes comes from a [`Clock`], never from `Utc::now()` directly, so a test
//! (and later the control plane) can freeze time or move it forward and see due terms and case
//! stages move with it.

use std::sync::{Arc, PoisonError, RwLock};

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
    /// Read on every request by every thread and written only when told to: readers never wait
    /// for each other.
    mode: Arc<RwLock<Mode>>,
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
            mode: Arc::new(RwLock::new(Mode::System {
                offset: Duration::zero(),
            })),
        }
    }

    /// A clock that reads `at` now and runs on from there at the wall clock's pace: time moves
    /// (so `updated_at` stamps still differ), but the date no longer depends on the day it runs.
    pub fn starting_at(at: DateTime<Utc>) -> Self {
        Self {
            mode: Arc::new(RwLock::new(Mode::System {
                offset: at - Utc::now(),
            })),
        }
    }

    /// A clock frozen at `at`.
    pub fn frozen(at: DateTime<Utc>) -> Self {
        Self {
            mode: Arc::new(RwLock::new(Mode::Frozen(at))),
        }
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        let mode = *self.mode.read().unwrap_or_else(PoisonError::into_inner);
        match mode {
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
            *self.mode.read().unwrap_or_else(PoisonError::into_inner),
            Mode::Frozen(_)
        )
    }

    /// Moves time forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let mut mode = self.mode.write().unwrap_or_else(PoisonError::into_inner);
        *mode = match *mode {
            Mode::System { offset } => Mode::System { offset: offset + by },
            Mode::Frozen(at) => Mode::Frozen(at + by),
        };
    }

    /// Makes the clock read `at`, frozen if it was frozen, running on from `at` if it ran.
    pub fn move_to(&self, at: DateTime<Utc>) {
        let mut mode = self.mode.write().unwrap_or_else(PoisonError::into_inner);
        *mode = match *mode {
            Mode::System { .. } => Mode::System {
                offset: at - Utc::now(),
            },
            Mode::Frozen(_) => Mode::Frozen(at),
        };
    }

    /// Freezes the clock at `at`.
    pub fn set(&self, at: DateTime<Utc>) {
        *self.mode.write().unwrap_or_else(PoisonError::into_inner) = Mode::Frozen(at);
    }
}

/// How a [`Clock`] runs, as plain data for a world's snapshot: frozen at an instant, or running at
/// the wall clock's pace with an offset from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum ClockState {
    /// Only `set` and `advance` move it.
    Frozen {
        /// The instant it reads.
        at: DateTime<Utc>,
    },
    /// The wall clock plus `offset_ms` milliseconds.
    Running {
        /// The offset from the wall clock.
        offset_ms: i64,
    },
}

impl Clock {
    /// How the clock runs now.
    pub fn state(&self) -> ClockState {
        match *self.mode.read().unwrap_or_else(PoisonError::into_inner) {
            Mode::Frozen(at) => ClockState::Frozen { at },
            Mode::System { offset } => ClockState::Running {
                offset_ms: offset.num_milliseconds(),
            },
        }
    }

    /// A new clock (not a handle to this one) that runs as `state` says.
    pub fn from_state(state: ClockState) -> Self {
        let c = Self::system();
        c.restore(state);
        c
    }

    /// Makes the clock run as `state` says (every handle sees it).
    pub fn restore(&self, state: ClockState) {
        *self.mode.write().unwrap_or_else(PoisonError::into_inner) = match state {
            ClockState::Frozen { at } => Mode::Frozen(at),
            ClockState::Running { offset_ms } => Mode::System {
                offset: Duration::milliseconds(offset_ms),
            },
        };
    }

    /// Lets a frozen clock run on from the instant it reads (a running clock is unchanged).
    pub fn unfreeze(&self) {
        let mut mode = self.mode.write().unwrap_or_else(PoisonError::into_inner);
        if let Mode::Frozen(at) = *mode {
            *mode = Mode::System {
                offset: at - Utc::now(),
            };
        }
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
    fn a_clock_state_round_trips() {
        let at = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        let c = Clock::frozen(at);
        let copy = Clock::from_state(c.state());
        copy.advance(Duration::hours(1));
        assert_eq!(c.now(), at, "a clock made from a state is a separate clock");
        assert_eq!(
            copy.state(),
            ClockState::Frozen {
                at: at + Duration::hours(1)
            }
        );
        c.unfreeze();
        assert!(!c.is_frozen());
        assert!(c.now() >= at);
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
