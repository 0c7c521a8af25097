//! Payt's time-driven rules: what happens to invoices, credit cases and payment plans as the
//! world's clock passes their moments (see [`mock_core::timeline`] for how rules are run).
//!
//! Every moment is 08:00 UTC of its day (Payt's morning run). The fixtures are settled by these
//! rules ([`settle`]: `seed.rs` runs them over the generated history up to the anchor date's
//! midnight), so a seeded world has nothing to catch up and looks like one moved forward by them. Sources: `reference/payt.md` 3.1-3.3 (fields and stages) and 4.3 (event names); the
//! day offsets are **inferred** (Payt lets each administration configure its flow and publishes
//! no default):
//!
//! - an unsent invoice is sent on its invoice date;
//! - an open invoice walks the reminder flow: pre-reminder 3 days before the due date (skipped
//!   once the due date has passed), reminder 1 at +7 days, reminder 2 at +21, the final reminder
//!   at +35, collectable at +49 and handed over to debt collection at the same moment, which opens
//!   a credit case (the debtor's invoices handed over at one moment share one case);
//! - an open case walks its stages from its start: pre-summons at once, summons 1-4 at +14, +28,
//!   +42 and +56 days, notice of default at +84, pre-judicial at +98 (with a task for the
//!   creditor), forwarded to the bailiff at +112; each stage is mirrored onto its invoices;
//! - an active payment plan's unpaid term expires the day after its due date (with a task), and
//!   the plan is deactivated 14 days after that if the term is still unpaid, which resumes the
//!   flow of its invoices and cases.
//!
//! Steps keep their spacing: a record that enters the flow late (imported with a due date long
//! past) takes its next step at once and the following ones at the flow's intervals, not all at
//! once. Nothing moves for a paid invoice, or one that is paused, blocked, under an active
//! payment plan, or whose debtor or administration is paused; nor for a case that is paid,
//! paused, deactivated or under an active plan. Every change sets `updated_at` to its moment, so
//! `updated_after` sync sees it.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use mock_core::timeline::Moved;
use rust_decimal::Decimal;

use crate::format::Stamp;
use crate::resources::credit_cases::{CaseStage, CreditCase};
use crate::resources::invoices::{Invoice, InvoiceStep};
use crate::resources::payment_plans::{self, PaymentPlan, PlanState};
use crate::resources::tasks::Task;
use crate::state::{AppState, Db};

/// The hour (UTC) of every rule's moment.
const HOUR: u32 = 8;

/// The moment of day `d`.
fn moment(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(NaiveTime::from_hms_opt(HOUR, 0, 0).unwrap_or_default())
        .and_utc()
}

/// The moment `days` days after day `d`; `None` past the calendar's end (a date a client sent
/// near year 262143): such a step is never due.
fn day_after(d: NaiveDate, days: i64) -> Option<DateTime<Utc>> {
    d.checked_add_signed(Duration::days(days)).map(moment)
}

/// `t` plus `days` days, `None` past the calendar's end.
fn days_after(t: DateTime<Utc>, days: i64) -> Option<DateTime<Utc>> {
    t.checked_add_signed(Duration::days(days))
}

/// The reminder flow after sending: each step and its day relative to the due date.
const FLOW: [(InvoiceStep, i64); 6] = [
    (InvoiceStep::PreReminder, -3),
    (InvoiceStep::Reminder1, 7),
    (InvoiceStep::Reminder2, 21),
    (InvoiceStep::FinalReminder, 35),
    (InvoiceStep::Collectable, 49),
    (InvoiceStep::DebtCollection, 49),
];

/// The administrations and debtors whose reminding is paused, gathered once per pass over the
/// invoices (a lookup per invoice would cost a pass over a large world dearly).
#[derive(Default, Clone, PartialEq)]
struct Paused {
    administrations: std::collections::HashSet<u64>,
    debtors: std::collections::HashSet<(u64, u64)>,
}

impl Paused {
    fn of(db: &Db) -> Self {
        Self {
            administrations: db
                .administrations
                .iter_all()
                .filter(|a| a.paused_at.is_some() || a.reminding_paused_at.is_some())
                .map(|a| a.id)
                .collect(),
            debtors: db
                .debtors
                .iter_all()
                .filter(|d| d.paused_at.is_some() || d.reminding_paused_at.is_some())
                .map(|d| (d.administration_id, d.id))
                .collect(),
        }
    }
}

/// Whether `inv` stands still: paid, paused, blocked, under a plan or already in collection.
fn invoice_stands_still(paused: &Paused, inv: &Invoice) -> bool {
    inv.open_amount <= Decimal::ZERO
        || inv.paused_at.is_some()
        || inv.blocked_via_api
        || inv.block_reason.is_some()
        || inv.active_payment_plan_id.is_some()
        || inv.active_credit_case_id.is_some()
        || paused.administrations.contains(&inv.administration_id)
        || paused.debtors.contains(&(inv.administration_id, inv.debtor_id))
}

/// The next step of `inv`'s flow and its moment, as seen at `now` (a step cannot happen before
/// `now`, which decides whether the pre-reminder still comes before the due date).
fn next_invoice_step(paused: &Paused, inv: &Invoice, now: DateTime<Utc>) -> Option<(InvoiceStep, DateTime<Utc>)> {
    next_invoice_step_until(paused, inv, now).0
}

/// [`next_invoice_step`], and until when (a later `now` at most) the answer holds for an
/// unchanged `inv`: `None` for ever, `Some(t)` while `now <= t` (a pre-reminder still ahead of
/// the due date is skipped once `now` passes it).
#[allow(clippy::type_complexity)]
fn next_invoice_step_until(
    paused: &Paused,
    inv: &Invoice,
    now: DateTime<Utc>,
) -> (Option<(InvoiceStep, DateTime<Utc>)>, Option<DateTime<Utc>>) {
    if invoice_stands_still(paused, inv) {
        return (None, None);
    }
    let Some(sent) = crate::format::at(inv.sent_at) else {
        return (Some((InvoiceStep::Send, moment(inv.invoice_date))), None);
    };
    // The latest step taken, and when.
    let mut last: Option<(usize, DateTime<Utc>)> = None;
    for (i, (step, _)) in FLOW.iter().enumerate() {
        if let Some(t) = step.stamp(inv) {
            last = Some((i, t));
        }
    }
    let (next, prev_at, prev_day) = match last {
        Some((i, t)) => (i + 1, t, FLOW[i].1),
        None => (0, sent, i64::MIN),
    };
    let mut next = next;
    let mut until = None;
    loop {
        let Some(&(step, day)) = FLOW.get(next) else {
            return (None, until);
        };
        let gap = if prev_day == i64::MIN { 0 } else { day - prev_day };
        let (Some(on_day), Some(spaced)) = (day_after(inv.due_date, day), days_after(prev_at, gap)) else {
            return (None, until);
        };
        let at = on_day.max(spaced);
        // The pre-reminder comes before the due date or not at all.
        if step == InvoiceStep::PreReminder {
            let due = moment(inv.due_date);
            if at.max(now) > due {
                next += 1;
                continue;
            }
            // Taken while `now` has not passed the due date.
            until = Some(due);
        }
        return (Some((step, at)), until);
    }
}

/// Each stage and its day relative to the case's start.
const STAGES: [(CaseStage, i64); 7] = [
    (CaseStage::Summons1, 14),
    (CaseStage::Summons2, 28),
    (CaseStage::Summons3, 42),
    (CaseStage::Summons4, 56),
    (CaseStage::NoticeOfDefault, 84),
    (CaseStage::PreJudicial, 98),
    (CaseStage::Bailiff, 112),
];

/// The next stage of case `c` and its moment.
fn next_case_stage(c: &CreditCase) -> Option<(CaseStage, DateTime<Utc>)> {
    if c.open_amount <= Decimal::ZERO
        || c.paused_at.is_some()
        || c.deactivated_at.is_some()
        || c.active_payment_plan_id.is_some()
    {
        return None;
    }
    let mut prev = (c.started_at, 0);
    for (stage, day) in STAGES {
        match stage.stamp(c) {
            Some(t) => prev = (t, day),
            None => {
                let at = days_after(c.started_at, day)?.max(days_after(prev.0, day - prev.1)?);
                return Some((stage, at));
            }
        }
    }
    None
}

/// How long an expired term may stay unpaid before the plan is deactivated.
const PLAN_GRACE_DAYS: i64 = 14;

/// The next rule of plan `p`: a term to expire, or the plan to deactivate, and its moment.
fn next_plan_rule(p: &PaymentPlan) -> Option<(PlanRule, DateTime<Utc>)> {
    if PlanState::of(p) != PlanState::Active {
        return None;
    }
    p.payment_terms
        .iter()
        .filter(|t| t.amount_due > Decimal::ZERO && t.payment_date.is_none())
        .filter_map(|t| {
            if p.expired_term_ids.contains(&t.id) {
                Some((PlanRule::Deactivate(t.id), day_after(t.due_date, 1 + PLAN_GRACE_DAYS)?))
            } else {
                Some((PlanRule::ExpireTerm(t.id), day_after(t.due_date, 1)?))
            }
        })
        .min_by_key(|(_, at)| *at)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PlanRule {
    ExpireTerm(u64),
    Deactivate(u64),
}

/// Where a pass over the database finds each record's next step: afresh from the record
/// ([`Afresh`], the world's rules, whose database the API changes too), or remembered per record
/// while the fixtures are settled ([`Remembered`]).
trait Steps {
    /// A pass over the invoices begins, with these pauses.
    fn pass(&self, _paused: &Paused) {}
    fn invoice(&self, paused: &Paused, inv: &Arc<Invoice>, now: DateTime<Utc>) -> Option<(InvoiceStep, DateTime<Utc>)>;
    fn case(&self, c: &Arc<CreditCase>) -> Option<(CaseStage, DateTime<Utc>)>;
    fn plan(&self, p: &Arc<PaymentPlan>) -> Option<(PlanRule, DateTime<Utc>)>;
}

/// Every step found from its record.
struct Afresh;

impl Steps for Afresh {
    fn invoice(&self, paused: &Paused, inv: &Arc<Invoice>, now: DateTime<Utc>) -> Option<(InvoiceStep, DateTime<Utc>)> {
        next_invoice_step(paused, inv, now)
    }
    fn case(&self, c: &Arc<CreditCase>) -> Option<(CaseStage, DateTime<Utc>)> {
        next_case_stage(c)
    }
    fn plan(&self, p: &Arc<PaymentPlan>) -> Option<(PlanRule, DateTime<Utc>)> {
        next_plan_rule(p)
    }
}

/// Each record's next step, kept with the record it was found from: a record the rules changed
/// since is a new allocation (the store gives a shared record a new one on update, and this
/// keeps each shared), so it is found again; so is an invoice whose answer held only until a
/// `now` that has passed, and every invoice when the pauses change. The same steps as
/// [`Afresh`] for a clock that never goes back, as settling's does, without asking each of
/// thousands of records for its step at each of hundreds of moments.
#[derive(Default)]
struct Remembered {
    paused: RefCell<Option<Paused>>,
    now: Cell<Option<DateTime<Utc>>>,
    invoices: Kept<Invoice, InvoiceStep>,
    cases: Kept<CreditCase, CaseStage>,
    plans: Kept<PaymentPlan, PlanRule>,
}

/// Per record (administration, id): the record, its next step and until when that holds (see
/// [`next_invoice_step_until`]). Hashed with foldhash: it is read for every record at every moment.
type Kept<V, S> = RefCell<
    HashMap<(u64, u64), (Arc<V>, Option<(S, DateTime<Utc>)>, Option<DateTime<Utc>>), foldhash::fast::FixedState>,
>;

/// The remembered step of `record` under `key`, or `find`'s, remembered.
fn recall<V, S: Copy>(
    kept: &Kept<V, S>,
    key: (u64, u64),
    record: &Arc<V>,
    now: DateTime<Utc>,
    find: impl FnOnce() -> (Option<(S, DateTime<Utc>)>, Option<DateTime<Utc>>),
) -> Option<(S, DateTime<Utc>)> {
    let mut kept = kept.borrow_mut();
    if let Some((r, step, until)) = kept.get(&key)
        && Arc::ptr_eq(r, record)
        && until.is_none_or(|t| now <= t)
    {
        return *step;
    }
    let (step, until) = find();
    kept.insert(key, (Arc::clone(record), step, until));
    step
}

impl Steps for Remembered {
    fn pass(&self, paused: &Paused) {
        let mut kept = self.paused.borrow_mut();
        if kept.as_ref() != Some(paused) {
            self.invoices.borrow_mut().clear();
            *kept = Some(paused.clone());
        }
    }
    fn invoice(&self, paused: &Paused, inv: &Arc<Invoice>, now: DateTime<Utc>) -> Option<(InvoiceStep, DateTime<Utc>)> {
        debug_assert!(
            self.now.get().is_none_or(|t| t <= now),
            "settling's clock never goes back"
        );
        self.now.set(Some(now));
        recall(&self.invoices, (inv.administration_id, inv.id), inv, now, || {
            next_invoice_step_until(paused, inv, now)
        })
    }
    fn case(&self, c: &Arc<CreditCase>) -> Option<(CaseStage, DateTime<Utc>)> {
        let now = DateTime::<Utc>::MIN_UTC;
        recall(&self.cases, (c.administration_id, c.id), c, now, || {
            (next_case_stage(c), None)
        })
    }
    fn plan(&self, p: &Arc<PaymentPlan>) -> Option<(PlanRule, DateTime<Utc>)> {
        let now = DateTime::<Utc>::MIN_UTC;
        recall(&self.plans, (p.administration_id, p.id), p, now, || {
            (next_plan_rule(p), None)
        })
    }
}

/// The earliest moment a Payt rule is due in `db`, as seen at `now`.
pub fn next_due(db: &Db, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    next_due_by(&Afresh, db, now)
}

fn next_due_by(steps: &impl Steps, db: &Db, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let paused = Paused::of(db);
    steps.pass(&paused);
    let invoices = db
        .invoices
        .iter_all_shared()
        .filter_map(|i| steps.invoice(&paused, i, now).map(|(_, at)| at));
    let cases = db
        .credit_cases
        .iter_all_shared()
        .filter_map(|c| steps.case(c).map(|(_, at)| at));
    let plans = db
        .payment_plans
        .iter_all_shared()
        .filter_map(|p| steps.plan(p).map(|(_, at)| at));
    invoices.chain(cases).chain(plans).min()
}

/// Runs the rules over freshly generated fixtures up to `until` (the anchor date's midnight),
/// each change stamped at its own moment, so a seeded world starts where these rules would have
/// brought it: nothing is due before `until`. New records (credit cases, tasks) take the ids from
/// `first_id` on; returns the database and the next free id. Deterministic: the same database
/// gives the same result.
pub fn settle(db: Db, seed: u64, first_id: u64, until: DateTime<Utc>) -> (Db, u64) {
    let state = AppState {
        store: std::sync::Arc::new(mock_core::Store::new(db)),
        clock: mock_core::Clock::frozen(DateTime::<Utc>::MIN_UTC),
        ids: std::sync::Arc::new(mock_core::IdGen::new(seed, first_id)),
        tokens: std::sync::Arc::new(mock_core::auth::TokenRegistry::new()),
    };
    #[cfg(test)]
    let afresh = SETTLE_AFRESH.get();
    #[cfg(not(test))]
    let afresh = false;
    if afresh {
        settle_by(&Afresh, &state, until);
    } else {
        settle_by(&Remembered::default(), &state, until);
    }
    let next = state.ids.next_seq();
    (state.store.snapshot(), next)
}

/// Runs the rules of `state`'s database up to `until`, finding the steps by `steps`.
fn settle_by(steps: &impl Steps, state: &AppState, until: DateTime<Utc>) {
    mock_core::timeline::Rules::new(DateTime::<Utc>::MIN_UTC).run_until(
        &state.clock,
        until,
        || state.store.read(|db| next_due_by(steps, db, state.clock.now())),
        |at| run_due_by(steps, state, at),
    );
}

#[cfg(test)]
thread_local! {
    /// Whether [`settle`] finds every step afresh (a test compares both ways).
    pub(crate) static SETTLE_AFRESH: Cell<bool> = const { Cell::new(false) };
}

/// Runs every Payt rule due at or before `at` (one step per record; the runner calls again while
/// more is due), stamping each change `at`.
pub fn run_due(state: &AppState, at: DateTime<Utc>) -> Vec<Moved> {
    run_due_by(&Afresh, state, at)
}

fn run_due_by(steps: &impl Steps, state: &AppState, at: DateTime<Utc>) -> Vec<Moved> {
    state.store.write(|db| {
        let mut moved = Vec::new();
        plans_due(steps, state, db, at, &mut moved);
        cases_due(steps, state, db, at, &mut moved);
        invoices_due(steps, state, db, at, &mut moved);
        // Each change raises its webhook event, with the record as it now is.
        for m in &moved {
            if let (Some(event), Ok(admin)) = (&m.event, m.tenant.parse::<u64>()) {
                crate::webhooks::emit(db, &state.ids, m.at, admin, event, m.resource, &m.id);
            }
        }
        moved
    })
}

fn invoices_due(steps: &impl Steps, state: &AppState, db: &mut Db, due_by: DateTime<Utc>, moved: &mut Vec<Moved>) {
    // Payt keeps whole seconds.
    let at = crate::format::whole_seconds(due_by);
    let paused = Paused::of(db);
    steps.pass(&paused);
    let mut due: Vec<(u64, u64, InvoiceStep)> = db
        .invoices
        .iter_all_shared()
        .filter_map(|i| {
            steps
                .invoice(&paused, i, due_by)
                .filter(|(_, when)| *when <= due_by)
                .map(|(step, _)| (i.administration_id, i.id, step))
        })
        .collect();
    // Tables iterate their tenants in no particular order: record order makes the new ids and
    // the timeline the same on every run.
    due.sort_unstable_by_key(|d| (d.0, d.1));
    // Invoices handed over at this moment, per administration and debtor.
    let mut handed_over: Vec<(u64, u64, u64)> = Vec::new();
    for (admin, id, step) in due {
        let Some(debtor) = db.invoices.update(&admin, &id.to_string(), |inv| {
            step.apply(inv, at);
            inv.debtor_id
        }) else {
            continue;
        };
        let mut m = Moved::new(at, "invoice", id.to_string(), admin.to_string(), step.name());
        if let Some(e) = step.event() {
            m = m.event(e);
        }
        moved.push(m);
        if step == InvoiceStep::DebtCollection {
            handed_over.push((admin, debtor, id));
        }
    }
    handed_over.sort_unstable();
    let mut i = 0;
    while i < handed_over.len() {
        let (admin, debtor, _) = handed_over[i];
        let group: Vec<u64> = handed_over[i..]
            .iter()
            .take_while(|(a, d, _)| (*a, *d) == (admin, debtor))
            .map(|(_, _, id)| *id)
            .collect();
        i += group.len();
        if let Some(case) = open_case(state, db, admin, debtor, &group, at) {
            moved.push(
                Moved::new(at, "credit_case", case.to_string(), admin.to_string(), "created").event("case_created"),
            );
        }
    }
}

/// Opens a credit case for `invoices` of `debtor`, started at `at` with its pre-summons.
fn open_case(
    state: &AppState,
    db: &mut Db,
    admin: u64,
    debtor: u64,
    invoices: &[u64],
    at: DateTime<Utc>,
) -> Option<u64> {
    let principal: Decimal = invoices
        .iter()
        .filter_map(|i| db.invoices.get(&admin, &i.to_string()))
        .map(|i| i.open_amount)
        .sum();
    let collection = crate::seed::wik(principal);
    // Case numbers count 1, 2, ... per administration (the fixtures number them so, and a case
    // is never removed): the next is one past the count, or the first after it no case holds.
    let mut case_number = db.credit_cases.scope_len(&admin) as u64 + 1;
    while db
        .credit_cases
        .lookup(&admin, "case_number", &case_number.to_string())
        .next()
        .is_some()
    {
        case_number += 1;
    }
    let id = state.ids.next_seq();
    let case = CreditCase {
        debt_collection_costs: collection,
        open_interest_and_collection_costs: collection,
        total_amount: principal + collection,
        open_amount: principal + collection,
        pre_summons_at: Some(Stamp::new(at)),
        invoice_ids: invoices.into(),
        ..CreditCase::new(admin, id, case_number, debtor, at)
    };
    if let Err(e) = db.credit_cases.insert(case) {
        tracing::error!("cannot open a credit case for invoices {invoices:?}: {e}");
        return None;
    }
    for i in invoices {
        db.invoices.update(&admin, &i.to_string(), |inv| {
            inv.active_credit_case_id = Some(id);
            inv.pre_summons_at = Some(Stamp::new(at));
            inv.updated_at = at;
        });
    }
    Some(id)
}

fn cases_due(steps: &impl Steps, state: &AppState, db: &mut Db, due_by: DateTime<Utc>, moved: &mut Vec<Moved>) {
    // Payt keeps whole seconds.
    let at = crate::format::whole_seconds(due_by);
    let mut due: Vec<(u64, u64, CaseStage)> = db
        .credit_cases
        .iter_all_shared()
        .filter_map(|c| {
            steps
                .case(c)
                .filter(|(_, when)| *when <= due_by)
                .map(|(stage, _)| (c.administration_id, c.id, stage))
        })
        .collect();
    // Tables iterate their tenants in no particular order: record order makes the new ids and
    // the timeline the same on every run.
    due.sort_unstable_by_key(|d| (d.0, d.1));
    for (admin, id, stage) in due {
        let Some((invoices, debtor)) = db.credit_cases.update(&admin, &id.to_string(), |c| {
            stage.apply_case(c, at);
            (c.invoice_ids.clone(), c.debtor_id)
        }) else {
            continue;
        };
        for i in &invoices {
            db.invoices
                .update(&admin, &i.to_string(), |inv| stage.apply_invoice(inv, at));
        }
        moved.push(Moved::new(at, "credit_case", id.to_string(), admin.to_string(), stage.name()).event(stage.event()));
        if stage == CaseStage::PreJudicial {
            let task = new_task(
                state,
                admin,
                Some(debtor),
                None,
                Some(id),
                "Credit case ready for court",
                "The case has passed its notice of default unpaid: decide whether to hand it to the bailiff.",
                at,
            );
            if let Some(t) = add_task(db, task) {
                moved.push(
                    Moved::new(at, "task", t.to_string(), admin.to_string(), "created").event("todo_list_item_created"),
                );
            }
        }
    }
}

fn plans_due(steps: &impl Steps, state: &AppState, db: &mut Db, due_by: DateTime<Utc>, moved: &mut Vec<Moved>) {
    // Payt keeps whole seconds.
    let at = crate::format::whole_seconds(due_by);
    let mut due: Vec<(u64, u64, u64, PlanRule)> = db
        .payment_plans
        .iter_all_shared()
        .filter_map(|p| {
            steps
                .plan(p)
                .filter(|(_, when)| *when <= due_by)
                .map(|(rule, _)| (p.administration_id, p.id, p.debtor_id, rule))
        })
        .collect();
    // Tables iterate their tenants in no particular order: record order makes the new ids and
    // the timeline the same on every run.
    due.sort_unstable_by_key(|d| (d.0, d.1));
    for (admin, id, debtor, rule) in due {
        match rule {
            PlanRule::ExpireTerm(term) => {
                db.payment_plans.update(&admin, &id.to_string(), |p| {
                    p.expired_term_ids.push(term);
                    p.updated_at = at;
                });
                moved.push(
                    Moved::new(
                        at,
                        "payment_plan",
                        id.to_string(),
                        admin.to_string(),
                        format!("term_{term}_expired"),
                    )
                    .event("payment_plan_term_expired"),
                );
                let task = new_task(
                    state,
                    admin,
                    Some(debtor),
                    None,
                    None,
                    "Payment plan term missed",
                    "A term of the payment plan was not paid on its due date: contact the debtor before the plan is deactivated.",
                    at,
                );
                if let Some(t) = add_task(db, task) {
                    moved.push(
                        Moved::new(at, "task", t.to_string(), admin.to_string(), "created")
                            .event("todo_list_item_created"),
                    );
                }
            }
            PlanRule::Deactivate(_) => {
                if payment_plans::deactivate_in(db, admin, id, at).is_some() {
                    moved.push(
                        Moved::new(at, "payment_plan", id.to_string(), admin.to_string(), "deactivated")
                            .event("payment_plan_deactivated"),
                    );
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn new_task(
    state: &AppState,
    admin: u64,
    debtor_id: Option<u64>,
    invoice_id: Option<u64>,
    credit_case_id: Option<u64>,
    subject: &str,
    description: &str,
    at: DateTime<Utc>,
) -> Task {
    Task {
        assigned_to_user: None,
        administration_id: admin,
        credit_case_id,
        debtor_id,
        id: state.ids.next_seq(),
        invoice_id,
        description: Some(description.to_string()),
        subject: Some(subject.to_string()),
        expiry_date: at
            .date_naive()
            .checked_add_signed(Duration::days(7))
            .unwrap_or(at.date_naive()),
        comments: Vec::new(),
        completed_at: None,
        updated_at: at,
        created_at: at,
        completed_status: None,
        completed_status_message: None,
    }
}

fn add_task(db: &mut Db, task: Task) -> Option<u64> {
    let id = task.id;
    match db.tasks.insert(task) {
        Ok(()) => Some(id),
        Err(e) => {
            tracing::error!("cannot create task {id}: {e}");
            None
        }
    }
}
