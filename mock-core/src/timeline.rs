//! Time that moves: the vendors' time-driven rules, run in order as a world's clock passes their
//! moments, and the timeline of what they moved.
//!
//! A vendor says when its next rule is due ([`crate::world::Vendor::next_due`]) and runs every
//! rule due at an instant ([`crate::world::Vendor::run_due`]). [`Rules::run_until`] walks a world
//! from its last run to a target instant: it sets the clock to each moment in turn (so every change
//! is stamped at its own moment, not at the end of a jump), runs what is due, and collects the
//! [`Moved`] entries. A moment that lies before the last run (a record imported with a due date in
//! the past) runs at the last run's instant instead: a change is never stamped earlier than one
//! already made, so a client syncing with `updated_after` sees it.
//!
//! Rules run when the control API advances or sets a world's clock, and, while a clock runs (is
//! not frozen), in the background once a second if the mock was built with background rules (the
//! binary is, `MockServer::test()` is not: tests move time explicitly).

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::clock::Clock;

/// One change a time-driven rule made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moved {
    /// The moment the change is stamped with.
    #[serde(serialize_with = "timestamp")]
    pub at: DateTime<Utc>,
    /// The kind of record (`invoice`, `credit_case`, `payment_plan`, `claim`, `mandate`, ...).
    pub resource: &'static str,
    /// The record's id as the vendor's API writes it.
    pub id: String,
    /// The record's tenant: a Payt administration id, a paywise company and access mode.
    pub tenant: String,
    /// What happened, in the vendor's words where it has them (`reminder_1`, `summons_2`,
    /// `term_expired`, `accepted`, ...).
    pub change: String,
    /// The vendor event this change raises (a webhook event type), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
}

impl Moved {
    /// A change of `resource` `id` in `tenant` at `at`.
    pub fn new(
        at: DateTime<Utc>,
        resource: &'static str,
        id: impl Into<String>,
        tenant: impl Into<String>,
        change: impl Into<String>,
    ) -> Self {
        Self {
            at,
            resource,
            id: id.into(),
            tenant: tenant.into(),
            change: change.into(),
            event: None,
        }
    }

    /// The same change, raising `event`.
    pub fn event(mut self, event: impl Into<String>) -> Self {
        self.event = Some(event.into());
        self
    }
}

fn timestamp<S: serde::Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::control::timestamp(*at))
}

/// How many entries a world's timeline log keeps (the oldest go first).
pub const LOG_CAPACITY: usize = 10_000;

/// How many steps one run may take before it stops (a rule that never settles cannot hang the
/// mock); a run that reaches it says so in the log.
const MAX_STEPS: usize = 100_000;

/// One world's rule runner: the instant up to which rules have run, and the log of what moved.
#[derive(Debug)]
pub struct Rules {
    state: Mutex<RunState>,
}

#[derive(Debug)]
struct RunState {
    /// Rules have run for every moment up to here.
    mark: DateTime<Utc>,
    log: VecDeque<Moved>,
}

impl Rules {
    /// A runner whose rules have run up to `mark` (a world's creation).
    pub fn new(mark: DateTime<Utc>) -> Self {
        Self {
            state: Mutex::new(RunState {
                mark,
                log: VecDeque::new(),
            }),
        }
    }

    /// Rules have run up to here.
    pub fn mark(&self) -> DateTime<Utc> {
        self.lock().mark
    }

    /// Forgets the log and starts over from `mark` (a reset, a restored snapshot).
    pub fn restart(&self, mark: DateTime<Utc>) {
        let mut s = self.lock();
        s.mark = mark;
        s.log.clear();
    }

    /// The last `limit` entries of the log, oldest first.
    pub fn log(&self, limit: usize) -> Vec<Moved> {
        let s = self.lock();
        let skip = s.log.len().saturating_sub(limit);
        s.log.iter().skip(skip).cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RunState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs every rule due up to `until`, each at its own moment, and leaves `clock` reading
    /// `until` (frozen if it was frozen, running on from there if it ran). `next_due` gives the
    /// earliest moment a rule is due (past or future), `run_due` runs every rule due at or before
    /// an instant while the clock reads it. A target before the last run only moves the clock.
    pub fn run_until(
        &self,
        clock: &Clock,
        until: DateTime<Utc>,
        next_due: impl Fn() -> Option<DateTime<Utc>>,
        run_due: impl Fn(DateTime<Utc>) -> Vec<Moved>,
    ) -> Vec<Moved> {
        self.run(clock, Some(until), next_due, run_due)
    }

    /// [`Self::run_until`] the clock's time once this run has its turn (a background pass: a
    /// target read before another run moved the clock would move it back).
    pub fn run_until_now(
        &self,
        clock: &Clock,
        next_due: impl Fn() -> Option<DateTime<Utc>>,
        run_due: impl Fn(DateTime<Utc>) -> Vec<Moved>,
    ) -> Vec<Moved> {
        self.run(clock, None, next_due, run_due)
    }

    fn run(
        &self,
        clock: &Clock,
        until: Option<DateTime<Utc>>,
        next_due: impl Fn() -> Option<DateTime<Utc>>,
        run_due: impl Fn(DateTime<Utc>) -> Vec<Moved>,
    ) -> Vec<Moved> {
        // One run at a time per world: the lock is held across it.
        let mut s = self.lock();
        let until = until.unwrap_or_else(|| clock.now());
        let mut moved = Vec::new();
        let mut steps = 0;
        while let Some(due) = next_due() {
            let at = due.max(s.mark);
            if at > until {
                break;
            }
            steps += 1;
            if steps > MAX_STEPS {
                tracing::error!("time-driven rules did not settle after {MAX_STEPS} steps; stopped at {at}");
                break;
            }
            clock.move_to(at);
            let step = run_due(at);
            s.mark = at;
            if step.is_empty() && next_due().is_some_and(|d| d.max(at) <= at) {
                // A rule said it was due but changed nothing: stop rather than spin.
                tracing::error!("a time-driven rule due at {at} changed nothing; stopped");
                break;
            }
            moved.extend(step);
        }
        clock.move_to(until);
        s.mark = until;
        for m in &moved {
            if s.log.len() == LOG_CAPACITY {
                s.log.pop_front();
            }
            s.log.push_back(m.clone());
        }
        moved
    }
}
