//! paywise's time-driven rules: what paywise's staff do to claims, orders and mandates as the
//! world's clock passes their moments (see [`mock_core::timeline`] for how rules are run).
//!
//! paywise publishes no schedule: the delays below are **inferred** (what a collection agency
//! typically takes), and each world can change them through the mock-only control route
//! `GET/PUT /_mock/paywise/lifecycle` ([`Settings`], stored in the world's data, so a reset
//! restores the defaults and a snapshot keeps them):
//!
//! - a released v1 claim goes `under_review` 1 day (`review_after`) after its last change
//!   (`updated`, its release unless something changed it since);
//! - a claim `under_review` is decided 3 days (`decide_after`) after that: by default
//!   `accepted` (a mandate opened exactly as the back office's `advance` opens it, with its
//!   "Mandat angelegt" status update), or, as `outcome` says, `client_response_pending` (a
//!   request to client about the claim; the claim then waits for the client, and the rules do
//!   not decide it again) or `rejected`;
//! - a v2 order submitted through v2 (its own order, not a v1 claim's) goes under review
//!   (`review_started`, as the v2 back office's `start-review`) after the same `review_after`,
//!   and is decided after `decide_after` more with the same outcome (v2's `accept`,
//!   `requests-to-client` or `reject`); an order awaiting the client's answer stands still;
//! - an `in_progress` mandate in `extrajudicial` moves to `judicial_dunning` 30 days
//!   (`judicial_after`) after its legal stage last changed (its creation, or the back office's last
//!   stage change), and on to `foreclosure` 60 days (`foreclosure_after`) after that, each with a
//!   status update in the fixtures' wording; a paused, closed or fully paid mandate stands still
//!   (a paused one that is resumed after its moment moves at the next run);
//! - statements are published monthly (`statements`), on the fixtures' schedule: for each company
//!   and access mode ([`Scope`]) with payments booked on its mandates in the past calendar month
//!   (UTC) that no statement covers yet (`crate::resources::statements::uncovered`), a collective
//!   statement for that month is published at 06:30 UTC on the 3rd of the next month and booked
//!   that day, as the fixture statements are (booking date three days after the period's end,
//!   created 06:30). It has one mandate detail per mandate with those payments (what each payment
//!   paid off, the payments the client received directly counted as payments to the client) and
//!   a v2 single-mandate statement of each detail's settlement, and lists the payments it covers,
//!   so they are never published twice (`crate::v2::statements::publish_payments`). A payment
//!   is booked when it is reported, or when its claim's mandate opens if it came before. Payments
//!   left uncovered from earlier months (the rule was off) go into the next statement, whose period
//!   then starts with the month of the earliest. It raises v2's `statement.published` and
//!   `single_mandate_statement.published`, as the v2 back office's publication does, and v1's
//!   `statement.created` (with the statement as `GET /v1/statements/{id}/` shows it).
//!
//! The generated fixtures are settled by these rules, with the default settings, up to the anchor
//! date's midnight ([`crate::seed::settle`], through an [`Agenda`]): the schedule above is also
//! their history (the fixture statements are on it, the claims drawn released or under review
//! whose moments passed are reviewed and decided), and nothing in them is due at that midnight,
//! so a freshly started world moves only for the moments after it.
//!
//! Every change is the back office's own function (`crate::resources::backoffice::advance_in`,
//! `crate::resources::backoffice::status_update_in`, the v2 back office's `*_in`), stamped at
//! the rule's moment, with `updated` set to it (so `updated_since` sync sees it), and raises the
//! events the back office raises (v1's webhooks, v2's feed and webhooks). `enabled: false` stops
//! every rule. Webhook payloads have the `href`s of the origin the world was last called at.

use std::sync::{Arc, PoisonError, RwLock};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use mock_core::query::QueryParams;
use mock_core::timeline::Moved;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::error::PaywiseError;
use crate::list::{JsonBody, Origin};
use crate::resources::backoffice::{self, AdvanceOptions, StageChange};
use crate::resources::claims::SubmissionState;
use crate::resources::mandates::{self, LegalStage, Mandate, ProcessingState, StageEvent};
use crate::state::{AccessMode, AppState, Db, Scope};

/// The outcomes a review can have.
pub const OUTCOMES: &[&str] = &["accepted", "client_response_pending", "rejected"];

/// How a world's rules run: the delays (ISO 8601 durations, as
/// [`mock_core::control::parse_duration`] reads them), the review's outcome, and whether the rules
/// run at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Whether the rules run.
    pub enabled: bool,
    /// From a claim's release (an order's submission) to its review.
    pub review_after: String,
    /// From the review to the decision.
    pub decide_after: String,
    /// The decision: one of [`OUTCOMES`].
    pub outcome: SubmissionState,
    /// From a mandate's opening in `extrajudicial` to `judicial_dunning`.
    pub judicial_after: String,
    /// From `judicial_dunning` to `foreclosure`.
    pub foreclosure_after: String,
    /// Whether the monthly statements are published.
    pub statements: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            enabled: true,
            review_after: "P1D".into(),
            decide_after: "P3D".into(),
            outcome: SubmissionState::Accepted,
            judicial_after: "P30D".into(),
            foreclosure_after: "P60D".into(),
            statements: true,
        }
    }
}

impl Settings {
    /// Whether these are the defaults (the world's data leaves them out then).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    fn delay(text: &str, default: i64) -> Duration {
        mock_core::control::parse_duration(text)
            .ok()
            .filter(|d| *d >= Duration::zero())
            .unwrap_or_else(|| Duration::days(default))
    }

    fn review(&self) -> Duration {
        Self::delay(&self.review_after, 1)
    }

    fn decide(&self) -> Duration {
        Self::delay(&self.decide_after, 3)
    }

    fn judicial(&self) -> Duration {
        Self::delay(&self.judicial_after, 30)
    }

    fn foreclosure(&self) -> Duration {
        Self::delay(&self.foreclosure_after, 60)
    }

    /// `self` with the members of `body` applied; the message of each bad member says what to fix.
    pub fn with(&self, body: &Value) -> Result<Settings, PaywiseError> {
        let Value::Object(members) = body else {
            return Err(PaywiseError::field(
                "non_field_errors",
                "Send a JSON object such as {\"review_after\": \"P1D\", \"decide_after\": \"P3D\", \"outcome\": \"accepted\", \"enabled\": true}.",
            ));
        };
        let mut next = self.clone();
        let mut errors = Map::new();
        let mut fail = |key: &str, message: String| {
            errors.insert(key.to_string(), json!([message]));
        };
        for (key, value) in members {
            match key.as_str() {
                "enabled" | "statements" => match value.as_bool() {
                    Some(b) if key == "enabled" => next.enabled = b,
                    Some(b) => next.statements = b,
                    None => fail(key, format!("Must be true or false, not {value}.")),
                },
                "outcome" => match value
                    .as_str()
                    .filter(|o| OUTCOMES.contains(o))
                    .and_then(SubmissionState::parse)
                {
                    Some(o) => next.outcome = o,
                    None => fail(key, format!("Must be one of {}, not {value}.", OUTCOMES.join(", "))),
                },
                "review_after" | "decide_after" | "judicial_after" | "foreclosure_after" => {
                    let parsed = value
                        .as_str()
                        .ok_or_else(|| format!("Must be an ISO 8601 duration string such as \"P3D\", not {value}."))
                        .and_then(|t| mock_core::control::parse_duration(t).map(|d| (t, d)));
                    match parsed {
                        Ok((_, d)) if d < Duration::zero() => {
                            fail(key, format!("Must not be negative (got {value}); give P0D or more."))
                        }
                        Ok((t, _)) => {
                            let slot = match key.as_str() {
                                "review_after" => &mut next.review_after,
                                "decide_after" => &mut next.decide_after,
                                "judicial_after" => &mut next.judicial_after,
                                _ => &mut next.foreclosure_after,
                            };
                            *slot = t.to_string();
                        }
                        Err(e) => fail(key, e),
                    }
                }
                _ => fail(
                    key,
                    "Unknown setting; known: enabled, review_after, decide_after, outcome, judicial_after, foreclosure_after, statements.".into(),
                ),
            }
        }
        if errors.is_empty() {
            Ok(next)
        } else {
            Err(PaywiseError::Validation(Value::Object(errors)))
        }
    }
}

/// The origin (`http://host:port`) a world was last called at: the `href`s of the webhook
/// payloads the rules raise point there.
#[derive(Debug, Clone, Default)]
pub struct LastOrigin(Arc<RwLock<Option<String>>>);

impl LastOrigin {
    /// Remembers `origin` (if it is new).
    pub fn remember(&self, origin: String) {
        let known = self.0.read().unwrap_or_else(PoisonError::into_inner).as_deref() == Some(origin.as_str());
        if !known {
            *self.0.write().unwrap_or_else(PoisonError::into_inner) = Some(origin);
        }
    }

    /// The origin to render with (`http://localhost` before the first request).
    pub fn origin(&self) -> Origin {
        let origin = self.0.read().unwrap_or_else(PoisonError::into_inner).clone();
        Origin {
            origin: origin.unwrap_or_else(|| "http://localhost".into()),
            path: "/".into(),
            query: QueryParams::parse(None),
        }
    }
}

/// The control route (merged only with the control API on).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/_mock/paywise/lifecycle", get(show).put(update))
        .route("/_mock/paywise/lifecycle/", get(show).put(update))
}

async fn show(State(state): State<AppState>) -> Json<Settings> {
    Json(state.store.read(|db| db.lifecycle.clone()))
}

async fn update(State(state): State<AppState>, JsonBody(body): JsonBody) -> Result<Json<Settings>, PaywiseError> {
    let current = state.store.read(|db| db.lifecycle.clone());
    let next = current.with(&body)?;
    state.store.write(|db| db.lifecycle = next.clone());
    Ok(Json(next))
}

/// One step a rule will take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// A released v1 claim goes under review.
    Review(Scope, Uuid),
    /// A v1 claim under review is decided.
    Decide(Scope, Uuid),
    /// A submitted v2 order goes under review.
    OrderReview(Scope, Uuid),
    /// A v2 order under review is decided.
    OrderDecide(Scope, Uuid),
    /// A mandate moves to the next legal stage.
    Stage(Scope, Uuid, LegalStage),
    /// The scope's monthly statement is published.
    Statement(Scope),
}

/// Whether `claim` is one of a v2 order of its own (the v2 rules move it, not the v1 ones). A
/// claim without a v2 part belongs to its adopted order, which is a v1 claim's.
fn in_v2_order(db: &Db, claim: &crate::resources::claims::Claim) -> bool {
    let Some(v2) = claim.v2.as_deref() else {
        return false;
    };
    db.v2_orders
        .get(&claim.scope, &v2.order_id.to_string())
        .is_some_and(|o| !o.from_v1)
}

/// The delays of [`Settings`], read once per pass.
struct Delays {
    review: Duration,
    decide: Duration,
    judicial: Duration,
    foreclosure: Duration,
}

impl Delays {
    fn of(s: &Settings) -> Self {
        Self {
            review: s.review(),
            decide: s.decide(),
            judicial: s.judicial(),
            foreclosure: s.foreclosure(),
        }
    }

    /// Whether a step can lead to another due at the same moment.
    fn has_zero(&self) -> bool {
        [self.review, self.decide, self.judicial, self.foreclosure].contains(&Duration::zero())
    }
}

/// The next legal stage of `m` and its moment, if it moves.
fn next_stage(d: &Delays, m: &Mandate) -> Option<(LegalStage, DateTime<Utc>)> {
    if m.processing_state != ProcessingState::InProgress || m.balance.total_balance() <= rust_decimal::Decimal::ZERO {
        return None;
    }
    let to = m.legal_stage.next(StageEvent::Escalate)?;
    let delay = match m.legal_stage {
        LegalStage::Extrajudicial => d.judicial,
        _ => d.foreclosure,
    };
    Some((to, m.stage_since().checked_add_signed(delay)?))
}

/// A step's place in the order the rules take them: its moment, the sequence number of the record
/// it moves (of the first uncovered payment, for a statement) and its kind (claims, orders,
/// mandates, statements: the order of steps with the same moment and number).
type Key = (DateTime<Utc>, u64, u8);

/// The next step of claim `c`, if the v1 rules move it.
fn claim_step(db: &Db, d: &Delays, c: &crate::resources::claims::Claim) -> Option<(Key, Step)> {
    let (at, step) = match c.submission_state {
        SubmissionState::Released => (c.updated.checked_add_signed(d.review), Step::Review(c.scope, c.id)),
        SubmissionState::UnderReview => (c.updated.checked_add_signed(d.decide), Step::Decide(c.scope, c.id)),
        _ => return None,
    };
    // A moment past the calendar's end is never due.
    let at = at?;
    if in_v2_order(db, c) {
        return None;
    }
    Some(((at, c.seq, 0), step))
}

/// The next step of v2 order `o`, if the rules move it.
fn order_step(d: &Delays, o: &crate::v2::orders::Order) -> Option<(Key, Step)> {
    if o.from_v1 || o.status != crate::v2::orders::OrderStatus::Submitted {
        return None;
    }
    let (delay, step) = if o.review_started {
        (d.decide, Step::OrderDecide(o.scope, o.id))
    } else {
        (d.review, Step::OrderReview(o.scope, o.id))
    };
    let at = o.updated_at.checked_add_signed(delay)?;
    Some(((at, o.seq, 1), step))
}

/// The next step of mandate `m`, if it moves.
fn mandate_step(d: &Delays, m: &Mandate) -> Option<(Key, Step)> {
    let (to, at) = next_stage(d, m)?;
    Some(((at, m.seq, 2), Step::Stage(m.scope, m.id, to)))
}

/// The statement step a scope's first uncovered payment (in booking order) makes due.
fn statement_step(first: &crate::resources::statements::Booked) -> (Key, Step) {
    (
        (publication_after(first.at), first.seq, 3),
        Step::Statement(first.scope),
    )
}

/// Calls `f` with every step the rules will take and its place (its moment past or future),
/// in no particular order.
fn each_step(db: &Db, mut f: impl FnMut(Key, Step)) {
    let s = &db.lifecycle;
    if !s.enabled {
        return;
    }
    let d = Delays::of(s);
    for c in db.claims.iter_all() {
        if let Some((key, step)) = claim_step(db, &d, c) {
            f(key, step);
        }
    }
    for o in db.v2_orders.iter_all() {
        if let Some((key, step)) = order_step(&d, o) {
            f(key, step);
        }
    }
    for m in db.mandates.iter_all() {
        if let Some((key, step)) = mandate_step(&d, m) {
            f(key, step);
        }
    }
    if s.statements {
        // Booking order: the first uncovered payment of a scope makes its statement due.
        let mut seen: Vec<Scope> = Vec::new();
        for b in crate::resources::statements::uncovered(db, None) {
            if !seen.contains(&b.scope) {
                seen.push(b.scope);
                let (key, step) = statement_step(&b);
                f(key, step);
            }
        }
    }
}

/// Every step due at or before `at`, in order.
fn due_by(db: &Db, at: DateTime<Utc>) -> Vec<Step> {
    let mut out = Vec::new();
    each_step(db, |key, step| {
        if key.0 <= at {
            out.push((key, step));
        }
    });
    out.sort_by_key(|(key, _)| *key);
    out.into_iter().map(|(_, step)| step).collect()
}

/// What a step moves (and what its next step is kept by in an [`Agenda`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Target {
    Claim(Scope, Uuid),
    Order(Scope, Uuid),
    Mandate(Scope, Uuid),
    Statement(Scope),
}

impl Step {
    fn target(self) -> Target {
        match self {
            Step::Review(s, id) | Step::Decide(s, id) => Target::Claim(s, id),
            Step::OrderReview(s, id) | Step::OrderDecide(s, id) => Target::Order(s, id),
            Step::Stage(s, id, _) => Target::Mandate(s, id),
            Step::Statement(s) => Target::Statement(s),
        }
    }

    fn scope(self) -> Scope {
        match self {
            Step::Review(s, _)
            | Step::Decide(s, _)
            | Step::OrderReview(s, _)
            | Step::OrderDecide(s, _)
            | Step::Stage(s, _, _)
            | Step::Statement(s) => s,
        }
    }
}

/// The rules' steps over a database that only the rules change while it is used (the fixtures
/// being settled, [`crate::seed::settle`]): what [`next_due`] and [`run_due`] find by reading the
/// whole database at every moment, found once and then kept up to date from what each step moved
/// (its own record and every record its timeline entries name; a new mandate's payments and a
/// published statement for the scope's next statement). A pass over a large database is then not
/// quadratic in its size. The settings are read when the agenda is made.
pub struct Agenda {
    delays: Delays,
    statements: bool,
    queue: std::collections::BTreeMap<Key, Step>,
    keys: std::collections::HashMap<Target, Key>,
    /// The first uncovered payment of each scope, in booking order: `(booked at, seq)`.
    first_booked: std::collections::HashMap<Scope, (DateTime<Utc>, u64)>,
}

impl Agenda {
    /// The agenda of `db` as it is.
    pub fn new(db: &Db) -> Self {
        let mut agenda = Self {
            delays: Delays::of(&db.lifecycle),
            statements: db.lifecycle.enabled && db.lifecycle.statements,
            queue: Default::default(),
            keys: Default::default(),
            first_booked: Default::default(),
        };
        each_step(db, |key, step| agenda.put(step.target(), Some((key, step))));
        if agenda.statements {
            for b in crate::resources::statements::uncovered(db, None) {
                agenda.first_booked.entry(b.scope).or_insert((b.at, b.seq));
            }
        }
        agenda
    }

    /// The earliest moment a step is due (as [`next_due`] would find it).
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.queue.keys().next().map(|key| key.0)
    }

    /// Runs every step due at or before `at` (the clock reads `at`), as [`run_due`] does, and
    /// brings the agenda up to date.
    pub fn run_due(&mut self, state: &AppState, at: DateTime<Utc>) -> Vec<Moved> {
        let at = crate::format::micros(at);
        let origin = state.origin.origin();
        let mut moved = Vec::new();
        let mut failed: Vec<Step> = Vec::new();
        let again = self.delays.has_zero();
        for _ in 0..8 {
            let due: Vec<Step> = self
                .queue
                .range(..=(at, u64::MAX, u8::MAX))
                .map(|(_, step)| *step)
                .filter(|step| !failed.contains(step))
                .collect();
            if due.is_empty() {
                break;
            }
            let mut touched: Vec<(Target, bool)> = Vec::new();
            for step in due {
                touched.push((step.target(), false));
                match run_step(state, step, at, &origin) {
                    Ok(m) => {
                        touched.extend(m.iter().filter_map(|m| Self::named(step.scope(), m)));
                        moved.extend(m);
                    }
                    Err(e) => {
                        tracing::warn!("paywise rule {step:?} at {at} failed: {e:?}");
                        failed.push(step);
                    }
                }
            }
            state.store.read(|db| {
                for (target, created) in touched {
                    self.refresh(db, target, created);
                }
            });
            if !again {
                break;
            }
        }
        moved
    }

    /// The record a timeline entry names, and whether it was created.
    fn named(scope: Scope, m: &Moved) -> Option<(Target, bool)> {
        let id = Uuid::parse_str(&m.id).ok();
        let target = match m.resource {
            "claim" => Target::Claim(scope, id?),
            "order" => Target::Order(scope, id?),
            "mandate" => Target::Mandate(scope, id?),
            "statement" => Target::Statement(scope),
            _ => return None,
        };
        Some((target, m.change == "created"))
    }

    /// Sets the next step of `target` (none: it has none).
    fn put(&mut self, target: Target, next: Option<(Key, Step)>) {
        if let Some(old) = self.keys.remove(&target) {
            self.queue.remove(&old);
        }
        if let Some((key, step)) = next {
            self.keys.insert(target, key);
            self.queue.insert(key, step);
        }
    }

    /// Reads the next step of `target` from `db` again (`created`: a mandate the step opened,
    /// whose payments may make the scope's statement due earlier).
    fn refresh(&mut self, db: &Db, target: Target, created: bool) {
        let next = match target {
            Target::Claim(scope, id) => db
                .claims
                .get(&scope, &id.to_string())
                .and_then(|c| claim_step(db, &self.delays, c)),
            Target::Order(scope, id) => db
                .v2_orders
                .get(&scope, &id.to_string())
                .and_then(|o| order_step(&self.delays, o)),
            Target::Mandate(scope, id) => {
                let m = db.mandates.get(&scope, &id.to_string());
                if created && self.statements {
                    let first = m.and_then(|m| crate::resources::statements::uncovered_on(db, m).into_iter().next());
                    if let Some(b) = first {
                        let known = self.first_booked.get(&scope).copied();
                        if known.is_none_or(|k| (b.at, b.seq) < k) {
                            self.first_booked.insert(scope, (b.at, b.seq));
                            self.put(Target::Statement(scope), Some(statement_step(&b)));
                        }
                    }
                }
                m.and_then(|m| mandate_step(&self.delays, m))
            }
            Target::Statement(scope) => {
                let first = self
                    .statements
                    .then(|| {
                        crate::resources::statements::uncovered(db, Some(scope))
                            .into_iter()
                            .next()
                    })
                    .flatten();
                match first {
                    Some(b) => {
                        self.first_booked.insert(scope, (b.at, b.seq));
                        Some(statement_step(&b))
                    }
                    None => {
                        self.first_booked.remove(&scope);
                        None
                    }
                }
            }
        };
        self.put(target, next);
    }
}

/// The day of the month statements are published on, and the time (UTC): the fixtures' (booked
/// three days after the period's end, created at 06:30).
const PUBLICATION_DAY: u32 = 3;
const PUBLICATION_TIME: (u32, u32) = (6, 30);

/// The first day of the month `months` after the month of `d`.
fn month_after(d: NaiveDate, months: i32) -> NaiveDate {
    let n = d.year() * 12 + d.month0() as i32 + months;
    NaiveDate::from_ymd_opt(n.div_euclid(12), n.rem_euclid(12) as u32 + 1, 1).unwrap_or(d)
}

/// The publication moment in the month starting `first`.
fn publication_in(first: NaiveDate) -> DateTime<Utc> {
    let (h, m) = PUBLICATION_TIME;
    first
        .with_day(PUBLICATION_DAY)
        .and_then(|d| d.and_hms_opt(h, m, 0))
        .map_or_else(|| first.and_time(NaiveTime::MIN).and_utc(), |t| t.and_utc())
}

/// When the statement of a payment booked at `booked` is published: on the schedule of the month
/// after the booking's.
fn publication_after(booked: DateTime<Utc>) -> DateTime<Utc> {
    publication_in(month_after(booked.date_naive(), 1))
}

/// The last publication moment at or before `at`.
fn publication_before(at: DateTime<Utc>) -> DateTime<Utc> {
    let this = publication_in(month_after(at.date_naive(), 0));
    if this <= at {
        this
    } else {
        publication_in(month_after(at.date_naive(), -1))
    }
}

/// The earliest moment a rule is due.
pub fn next_due(db: &Db) -> Option<DateTime<Utc>> {
    let mut first: Option<DateTime<Utc>> = None;
    each_step(db, |(at, _, _), _| {
        if first.is_none_or(|f| at < f) {
            first = Some(at);
        }
    });
    first
}

/// `Scope` as a timeline's tenant: the company's uuid and the access mode.
fn tenant(state: &AppState, scope: Scope) -> String {
    let company = state.store.read(|db| crate::v2::meta::company_id_of(db, scope.company));
    let mode = match scope.mode {
        AccessMode::Test => "test",
        AccessMode::Production => "production",
    };
    format!("{company}/{mode}")
}

/// Runs every rule due at or before `at` (the clock reads `at`).
pub fn run_due(state: &AppState, at: DateTime<Utc>) -> Vec<Moved> {
    let at = crate::format::micros(at);
    let origin = state.origin.origin();
    let mut moved = Vec::new();
    let mut failed: Vec<Step> = Vec::new();
    // A delay of zero makes the next step due at once: run until nothing is due at `at`. With
    // every delay above zero, what a step leads to is due later (a statement too: it is due in
    // the month after its payments' booking), so one round is all.
    let again = state.store.read(|db| Delays::of(&db.lifecycle).has_zero());
    for _ in 0..8 {
        let due: Vec<Step> = state
            .store
            .read(|db| due_by(db, at))
            .into_iter()
            .filter(|step| !failed.contains(step))
            .collect();
        if due.is_empty() {
            break;
        }
        for step in due {
            match run_step(state, step, at, &origin) {
                Ok(m) => moved.extend(m),
                Err(e) => {
                    tracing::warn!("paywise rule {step:?} at {at} failed: {e:?}");
                    failed.push(step);
                }
            }
        }
        if !again {
            break;
        }
    }
    moved
}

fn outcome(state: &AppState) -> SubmissionState {
    state.store.read(|db| db.lifecycle.outcome)
}

fn run_step(state: &AppState, step: Step, at: DateTime<Utc>, origin: &Origin) -> Result<Vec<Moved>, String> {
    let err = |e: &dyn std::fmt::Debug| format!("{e:?}");
    match step {
        Step::Review(scope, id) | Step::Decide(scope, id) => {
            let to = if matches!(step, Step::Review(..)) {
                SubmissionState::UnderReview
            } else {
                outcome(state)
            };
            let opts = AdvanceOptions::default();
            let advanced = state
                .store
                .write(|db| backoffice::advance_in(state, db, scope, id, to, &opts, at))
                .map_err(|e| err(&e))?;
            backoffice::emit_advanced(state, scope, &advanced, origin);
            let tenant = tenant(state, scope);
            let mut out = vec![Moved::new(at, "claim", id.to_string(), &tenant, to.as_str()).event("claim.updated")];
            if let Some(r) = &advanced.request {
                out.push(
                    Moved::new(at, "request_to_client", r.id.to_string(), &tenant, "created")
                        .event("request_to_client.created"),
                );
            }
            if let Some(m) = advanced.mandate {
                out.push(Moved::new(at, "mandate", m.to_string(), &tenant, "created").event("mandate.created"));
            }
            Ok(out)
        }
        Step::OrderReview(scope, id) => {
            state
                .store
                .write(|db| crate::v2::backoffice::start_review_in(db, scope, id, at).map_err(|e| err(&e)))?;
            Ok(vec![Moved::new(
                at,
                "order",
                id.to_string(),
                tenant(state, scope),
                "review_started",
            )])
        }
        Step::OrderDecide(scope, id) => {
            let tenant = tenant(state, scope);
            match outcome(state) {
                SubmissionState::ClientResponsePending => {
                    let question = (
                        "Rückfrage zum Auftrag".to_string(),
                        "<p>Bitte beantworten Sie unsere Rückfrage zu Ihrem Auftrag.</p>".to_string(),
                        "yes-no".to_string(),
                        false,
                    );
                    let r = state.store.write(|db| {
                        crate::v2::backoffice::order_request_in(db, state, scope, id, question, at).map_err(|e| err(&e))
                    })?;
                    Ok(vec![
                        Moved::new(at, "order", id.to_string(), &tenant, "awaiting_client_response"),
                        Moved::new(at, "request_to_client", r.id.to_string(), &tenant, "created")
                            .event("request_to_client.created"),
                    ])
                }
                SubmissionState::Rejected => {
                    let reason = "Die Forderung ist nach unserer Prüfung nicht durchsetzbar.".to_string();
                    state.store.write(|db| {
                        crate::v2::backoffice::reject_in(db, state, scope, id, reason, None, at).map_err(|e| err(&e))
                    })?;
                    Ok(vec![
                        Moved::new(at, "order", id.to_string(), &tenant, "rejected").event("order.rejected"),
                    ])
                }
                _ => {
                    let (_, m) = state.store.write(|db| {
                        crate::v2::backoffice::accept_in(db, state, scope, id, None, at).map_err(|e| err(&e))
                    })?;
                    Ok(vec![
                        Moved::new(at, "order", id.to_string(), &tenant, "accepted").event("order.accepted"),
                        Moved::new(at, "mandate", m.id.to_string(), &tenant, "created").event("mandate.created"),
                    ])
                }
            }
        }
        Step::Statement(scope) => {
            // The statement of the month before the last publication moment, with every
            // payment booked before that month's end.
            let first = month_after(publication_before(at).date_naive(), 0);
            let published = state.store.write(|db| {
                let due: Vec<_> = crate::resources::statements::uncovered(db, Some(scope))
                    .into_iter()
                    .filter(|b| b.at.date_naive() < first)
                    .collect();
                let Some(earliest) = due.first() else {
                    return Ok(None);
                };
                let period_start = month_after(earliest.at.date_naive(), 0).min(month_after(first, -1));
                let mut cases: Vec<(u64, Uuid, Vec<Uuid>)> = Vec::new();
                for b in &due {
                    match cases.iter_mut().find(|(_, m, _)| *m == b.mandate) {
                        Some((_, _, payments)) => payments.push(b.payment),
                        None => {
                            let seq = db.mandates.get(&scope, &b.mandate.to_string()).map_or(0, |m| m.seq);
                            cases.push((seq, b.mandate, vec![b.payment]));
                        }
                    }
                }
                cases.sort_by_key(|(seq, _, _)| *seq);
                let cases: Vec<(Uuid, Vec<Uuid>)> = cases.into_iter().map(|(_, m, p)| (m, p)).collect();
                let period = (period_start, first - Duration::days(1));
                crate::v2::statements::publish_payments(db, state, scope, &cases, period, at).map(Some)
            })?;
            let Some(p) = published else {
                return Ok(Vec::new());
            };
            // v1's subscribers get `statement.created` with the statement as v1 shows it.
            let rendered = state.store.read(|db| {
                db.statements
                    .get(&scope, &p.statement.to_string())
                    .map(|s| crate::list::Resource::render(s, origin))
            });
            if let Some(v) = rendered {
                state.emit(scope, "statement.created", v);
            }
            let tenant = tenant(state, scope);
            let mut out = vec![
                Moved::new(at, "statement", p.statement.to_string(), &tenant, "published").event("statement.published"),
            ];
            out.extend(p.singles.iter().map(|id| {
                Moved::new(at, "single_mandate_statement", id.to_string(), &tenant, "published")
                    .event("single_mandate_statement.published")
            }));
            Ok(out)
        }
        Step::Stage(scope, id, to) => {
            let title = mandates::stage_title(to).to_string();
            let reference = state
                .store
                .read(|db| {
                    db.mandates
                        .get(&scope, &id.to_string())
                        .map(|m| m.reference_number.clone())
                })
                .ok_or("the mandate is gone")?;
            let change = StageChange {
                description: Some(format!("<p>{title} ({reference}).</p>")),
                title,
                legal_stage: Some(to),
                processing_state: None,
                attach: false,
            };
            state
                .store
                .write(|db| backoffice::status_update_in(state, db, scope, id, &change, at))
                .map_err(|e| err(&e))?;
            backoffice::emit_status_update(state, scope, id, false, origin);
            Ok(vec![
                Moved::new(at, "mandate", id.to_string(), tenant(state, scope), to.as_str())
                    .event("mandate.status_updated"),
            ])
        }
    }
}
