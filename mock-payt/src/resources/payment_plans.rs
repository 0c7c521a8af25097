//! `GET /v1/payment_plans`, `GET /v1/payment_plans/{id}`, `POST /v1/payment_plans`, the
//! transitions `PATCH /v1/payment_plans/{id}/approve|reject|deactivate` and
//! `GET /v1/payment_plans/deleted`.
//!
//! A plan belongs to one debtor and covers invoices and credit cases of that debtor. `POST`
//! creates an approved, active plan ("Create an approved payment plan"): `approved_at` equals
//! `created_at`, `auto_activated` is false and `proposed_at` stays null; every covered invoice and
//! case gets the plan as its `active_payment_plan_id`, and its `updated_at` moves.
//!
//! States (derived from the entity's fields, `reference/payt.md` 3.1):
//!
//! | state | fields | allowed transitions |
//! |---|---|---|
//! | proposed | `active` false, `approved_at`, `rejected_at`, `deactivated_at` null | approve -> active, reject -> rejected |
//! | active | `active` true | deactivate -> deactivated |
//! | rejected | `rejected_at` set | none (terminal) |
//! | deactivated | `deactivated_at` set | none (terminal) |
//!
//! Any other transition is a 422 `invalid_state` and changes nothing. Approving links the plan's
//! invoices and credit cases (and the cases holding those invoices) to the plan
//! (`active_payment_plan_id`, and the deprecated `payment_plan_id` on cases); deactivating clears
//! every such link. Every record touched gets a new `updated_at`.

use std::collections::HashSet;
use std::str::FromStr;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{MethodRouter, get, patch};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::body::{Body, Items, Problem, at, bad, body_fields, is_email, items_of, missing, opt_date, opt_str};
use crate::error::PaytError;
use crate::format::two_decimals;
use crate::list::{self, ListRequest};
use crate::params::string_list;
use crate::resources::User;
use crate::resources::invoices::{MAX_AMOUNT, beyond_money_range, money_text, out_of_range};
use crate::seed::Gen;
use crate::state::Db;
use crate::state::{AppState, Caller};

/// Properties shown only when `fields` asks for them.
pub const OPT_IN: &[&str] = &["public_url"];

/// `CustomerApi_V1_PlannedPaymentEntity`: one term of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentTerm {
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Amount of the term.
    #[serde(with = "crate::format::money")]
    pub total_amount: Decimal,
    /// What is still due.
    #[serde(with = "crate::format::money")]
    pub amount_due: Decimal,
    /// Due date.
    pub due_date: NaiveDate,
    /// The date the term was fully paid.
    pub payment_date: Option<NaiveDate>,
}

/// `CustomerApi_V1_PaymentPlanEntity`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentPlan {
    /// The terms.
    pub payment_terms: Vec<PaymentTerm>,
    /// Whether the plan is active.
    pub active: bool,
    /// Whether Payt activated it by itself.
    pub auto_activated: bool,
    /// The debtor's reason for proposing it.
    pub reason: Option<String>,
    /// Who rejected the proposal.
    pub rejected_by_user: Option<User>,
    /// Owning administration.
    #[serde(with = "crate::format::id")]
    pub administration_id: u64,
    /// The debtor.
    #[serde(with = "crate::format::id")]
    pub debtor_id: u64,
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Approval.
    #[serde(with = "crate::format::opt_ts")]
    pub approved_at: Option<DateTime<Utc>>,
    /// Creation.
    #[serde(with = "crate::format::ts")]
    pub created_at: DateTime<Utc>,
    /// Deactivation.
    #[serde(with = "crate::format::opt_ts")]
    pub deactivated_at: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(with = "crate::format::ts")]
    pub updated_at: DateTime<Utc>,
    /// Proposal by the debtor.
    #[serde(with = "crate::format::opt_ts")]
    pub proposed_at: Option<DateTime<Utc>>,
    /// Rejection.
    #[serde(with = "crate::format::opt_ts")]
    pub rejected_at: Option<DateTime<Utc>>,
    /// Opt-in: debtor portal link.
    pub public_url: String,
    /// Covered invoices (not exposed by the entity).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub invoice_ids: Vec<u64>,
    /// Covered credit cases (not exposed by the entity).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub credit_case_ids: Vec<u64>,
    /// Where a copy of the plan was sent (not exposed by the entity).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub cc_email_address: Option<String>,
    /// The terms that expired unpaid (the time-driven rules mark them; not exposed by the entity).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub expired_term_ids: Vec<u64>,
}

administration_record!(PaymentPlan, changed = updated_at);

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/payment_plans", get(list).post(create))
        .route(
            "/payment_plans/deleted",
            list::deleted_route("payment_plans:read", |db| &db.deleted_payment_plans),
        )
        .route(
            "/payment_plans/{id}",
            list::show_route("payment_plans:read", "PaymentPlan", OPT_IN, |db| &db.payment_plans),
        )
        .route("/payment_plans/{id}/approve", transition_route(Transition::Approve))
        .route("/payment_plans/{id}/reject", transition_route(Transition::Reject))
        .route(
            "/payment_plans/{id}/deactivate",
            transition_route(Transition::Deactivate),
        )
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<list::Written, PaytError> {
    let req = ListRequest::parse(&state, &caller, raw.as_deref(), "payment_plans:read")?;
    let numbers = string_list(&req.query, "debtor_numbers");
    let identifiers = string_list(&req.query, "debtor_identifiers");
    let page = state.store.read(|db| {
        // Resolve the debtor filters to debtor ids once, then page the plans.
        // Under the debtors' secondary keys, not by a scan.
        let under = |name: &'static str, values: &HashSet<String>| -> HashSet<u64> {
            values
                .iter()
                .flat_map(|v| db.debtors.lookup(&req.administration_id, name, v).map(|d| d.id))
                .collect()
        };
        let debtor_ids: Option<HashSet<u64>> = match (
            numbers.as_ref().map(|n| under("number", n)),
            identifiers.as_ref().map(|i| under("identifier", i)),
        ) {
            (Some(a), Some(b)) => Some(a.intersection(&b).copied().collect()),
            (a, b) => a.or(b),
        };
        req.page_of(&db.payment_plans, |p| {
            req.common_match(p.id, p.updated_at) && debtor_ids.as_ref().is_none_or(|ids| ids.contains(&p.debtor_id))
        })
    });
    list::page_shared(page, &req.fields, OPT_IN)
}

/// A validated term of a new plan.
struct NewTerm {
    amount: Decimal,
    due_date: NaiveDate,
}

/// Reads a term amount given as a JSON number or a numeric string (forms send strings).
fn amount(v: Option<&Value>, path: &str) -> Result<Decimal, Problem> {
    let text = match v {
        None | Some(Value::Null) => return Err(missing(path)),
        // A JSON number out of range (a float, or an integer beyond 64 bits the parser holds as
        // one) is refused with the money rule, not shown as the float it became.
        Some(Value::Number(n)) if beyond_money_range(n) => return Err(out_of_range(path, None)),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.trim().to_string(),
        Some(_) => return Err(bad(format!("{path} must be a number"))),
    };
    let d = Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .map_err(|_| match money_text(&text, path) {
            Err(e) if text.parse::<f64>().is_ok() => e,
            _ => bad(format!("{path} must be a number, got {text:?}")),
        })?;
    if d.abs() > Decimal::from(MAX_AMOUNT) {
        return Err(out_of_range(path, Some(&text)));
    }
    if d <= Decimal::ZERO {
        return Err(bad(format!("{path} must be greater than 0")));
    }
    if d.normalize().scale() > 2 {
        return Err(bad(format!(
            "{path} has more than two decimals ({text}); amounts are in cents"
        )));
    }
    Ok(d)
}

/// What the refusals of a plan's `terms` call them.
const TERMS: Items = Items {
    max: crate::limits::MAX_TERMS,
    array: "{amount, due_date} objects",
    item: "an object with amount and due_date",
    one: Some("{amount, due_date} term"),
};

fn terms(body: &Body) -> Result<Vec<NewTerm>, PaytError> {
    items_of(body, "terms", &TERMS)?
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let path = format!("terms[{i}]");
            let amount = amount(t.get("amount"), &at(&path, "amount"))?;
            let due_date = opt_date(t, "due_date", &path)?.ok_or_else(|| missing(&at(&path, "due_date")))?;
            Ok(NewTerm { amount, due_date })
        })
        .collect()
}

fn dedup(v: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    v.into_iter().filter(|s| seen.insert(s.clone())).collect()
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Body,
) -> Result<(StatusCode, Json<Value>), PaytError> {
    let administration_id = body.authorize(&state, &caller, "payment_plans:write")?;
    let invoice_numbers = dedup(body.string_list("invoice_numbers")?);
    let invoice_identifiers = dedup(body.string_list("invoice_identifiers")?);
    let credit_case_numbers = dedup(body.string_list("credit_case_numbers")?);
    let cc_email_address = match opt_str(&body.0, "cc_email_address", "")? {
        Some(s) if !is_email(&s) => {
            return Err(bad(format!("cc_email_address is not a valid e-mail address: {s:?}")).into());
        }
        cc => cc,
    };
    let terms = terms(&body)?;
    if invoice_numbers.is_empty() && invoice_identifiers.is_empty() && credit_case_numbers.is_empty() {
        return Err(PaytError::unprocessable(
            "missing_parameter",
            "give at least one of invoice_numbers, invoice_identifiers or credit_case_numbers",
        ));
    }
    let now = state.now();
    let admin = administration_id;
    let plan = state.store.write(|db| {
        let mut invoice_ids = Vec::new();
        let mut debtors = HashSet::new();
        // Found under the invoices' secondary keys (`number`, `identifier`), not by a scan.
        let mut find_invoice =
            |what: &str,
             key: &str,
             lookup: &'static str,
             pick: &dyn Fn(&crate::resources::invoices::Invoice) -> bool| match db
                .invoices
                .lookup(&admin, lookup, key)
                .find(|i| pick(i))
            {
                Some(inv) => {
                    if inv.open_amount <= Decimal::ZERO {
                        return Err(PaytError::unprocessable(
                            "invoice_already_paid",
                            format!("Invoice with {what} {key} has no open amount"),
                        ));
                    }
                    if let Some(p) = inv.active_payment_plan_id {
                        return Err(PaytError::unprocessable(
                            "payment_plan_already_active",
                            format!("Invoice with {what} {key} is already covered by active payment plan {p}"),
                        ));
                    }
                    if !invoice_ids.contains(&inv.id) {
                        invoice_ids.push(inv.id);
                    }
                    debtors.insert(inv.debtor_id);
                    Ok(())
                }
                None => Err(PaytError::unprocessable(
                    "invoice_not_found",
                    format!("Invoice with {what} {key} does not exist in administration {admin}"),
                )),
            };
        for n in &invoice_numbers {
            find_invoice("invoice_number", n, "number", &|i| &i.invoice_number == n)?;
        }
        for n in &invoice_identifiers {
            find_invoice("invoice_identifier", n, "identifier", &|i| {
                i.invoice_identifier.as_deref() == Some(n.as_str())
            })?;
        }
        let mut credit_case_ids = Vec::new();
        for n in &credit_case_numbers {
            let case = db
                .credit_cases
                .lookup(&admin, "number", n)
                .find(|c| &c.credit_case_number == n)
                .ok_or_else(|| {
                    PaytError::unprocessable(
                        "credit_case_not_found",
                        format!("Credit case with credit_case_number {n} does not exist in administration {admin}"),
                    )
                })?;
            if let Some(p) = case.active_payment_plan_id {
                return Err(PaytError::unprocessable(
                    "payment_plan_already_active",
                    format!("Credit case {n} is already covered by active payment plan {p}"),
                ));
            }
            credit_case_ids.push(case.id);
            debtors.insert(case.debtor_id);
        }
        if debtors.len() != 1 {
            return Err(PaytError::unprocessable(
                "multiple_debtors",
                "all invoices and credit cases of a payment plan must belong to the same debtor",
            ));
        }
        let debtor_id = debtors.into_iter().next().unwrap_or_default();
        let id = state.ids.next_seq();
        let payment_terms = terms
            .iter()
            .map(|t| PaymentTerm {
                id: state.ids.next_seq(),
                total_amount: two_decimals(t.amount),
                amount_due: two_decimals(t.amount),
                due_date: t.due_date,
                payment_date: None,
            })
            .collect();
        let plan = PaymentPlan {
            payment_terms,
            active: true,
            auto_activated: false,
            reason: None,
            rejected_by_user: None,
            administration_id: admin,
            debtor_id,
            id,
            approved_at: Some(now),
            created_at: now,
            deactivated_at: None,
            updated_at: now,
            proposed_at: None,
            rejected_at: None,
            public_url: public_url(id),
            invoice_ids: invoice_ids.clone(),
            credit_case_ids: credit_case_ids.clone(),
            cc_email_address: cc_email_address.clone(),
            expired_term_ids: Vec::new(),
        };
        db.payment_plans
            .insert(plan.clone())
            .map_err(|e| PaytError::unprocessable("conflict", e.to_string()))?;
        for inv in &invoice_ids {
            db.invoices.update(&admin, &inv.to_string(), |i| {
                i.active_payment_plan_id = Some(id);
                i.updated_at = now;
            });
        }
        for case in &credit_case_ids {
            db.credit_cases.update(&admin, &case.to_string(), |c| {
                c.active_payment_plan_id = Some(id);
                c.payment_plan_id = Some(id);
                c.updated_at = now;
            });
        }
        crate::webhooks::emit(
            db,
            &state.ids,
            now,
            admin,
            "payment_plan_created",
            "payment_plan",
            &id.to_string(),
        );
        Ok(plan)
    })?;
    Ok((
        StatusCode::CREATED,
        Json(list::entity(&plan, &Default::default(), OPT_IN)?),
    ))
}

/// The debtor-portal link of plan `id`.
pub fn public_url(id: u64) -> String {
    crate::links::portal(crate::links::PortalKind::PaymentPlan, id)
}

/// The Payt user the mock's API tokens act as: `rejected_by_user` of a plan rejected through the
/// API and `read_by_user` of a message marked read through the API. The mock's tokens carry no
/// user of their own, so they all act as this one (id 500; the seeded users are 501..504).
pub(crate) fn api_user() -> User {
    User {
        id: 500,
        name: "Payt API".to_string(),
        email_address: "api@paytsoftware.com".to_string(),
    }
}

/// A transition of a plan: the three `PATCH` routes, and the time-driven rules' deactivation of a
/// plan whose missed term stayed unpaid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// `PATCH .../approve`.
    Approve,
    /// `PATCH .../reject`.
    Reject,
    /// `PATCH .../deactivate`, or a missed term left unpaid ([`crate::lifecycle`]).
    Deactivate,
}

impl Transition {
    /// The participle of its error message (`only a proposed payment plan can be approved`).
    fn verb(self) -> &'static str {
        match self {
            Self::Approve => "approved",
            Self::Reject => "rejected",
            Self::Deactivate => "deactivated",
        }
    }
}

/// Where a plan stands. The entity has no state field: the state is read from `active` and the
/// timestamps ([`PlanState::of`]) and written back by [`PaymentPlan::apply`]; its name is shown
/// only in error messages. The allowed transitions are those of [`PlanState::can`] (the module's
/// table); `finished` (approved once, neither active nor deactivated) is terminal too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlanState {
    /// Proposed by the debtor, not yet decided.
    Proposed,
    /// Approved and running.
    Active,
    /// The proposal was rejected.
    Rejected,
    /// Deactivated (through the API or by a missed term).
    Deactivated,
    /// Approved once and no longer active without being deactivated.
    Finished,
}

impl PlanState {
    /// Every state.
    pub const ALL: [PlanState; 5] = [
        Self::Proposed,
        Self::Active,
        Self::Rejected,
        Self::Deactivated,
        Self::Finished,
    ];

    /// The state `plan`'s fields describe.
    pub fn of(plan: &PaymentPlan) -> PlanState {
        if plan.active {
            Self::Active
        } else if plan.rejected_at.is_some() {
            Self::Rejected
        } else if plan.deactivated_at.is_some() {
            Self::Deactivated
        } else if plan.approved_at.is_some() {
            Self::Finished
        } else {
            Self::Proposed
        }
    }

    /// The state `t` leads to from this one; `None` if `t` is not allowed here.
    pub fn can(self, t: Transition) -> Option<PlanState> {
        match (self, t) {
            (Self::Proposed, Transition::Approve) => Some(Self::Active),
            (Self::Proposed, Transition::Reject) => Some(Self::Rejected),
            (Self::Active, Transition::Deactivate) => Some(Self::Deactivated),
            _ => None,
        }
    }

    /// The state `t` is allowed from (each transition has one).
    fn source_of(t: Transition) -> Option<PlanState> {
        Self::ALL.into_iter().find(|s| s.can(t).is_some())
    }

    /// Its name in error messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Proposed => "proposed",
            Self::Active => "active",
            Self::Rejected => "rejected",
            Self::Deactivated => "deactivated",
            Self::Finished => "finished",
        }
    }
}

impl PaymentPlan {
    /// Moves the plan by `t` at `now` if its state allows it: sets the fields of the new state
    /// and `updated_at`, and answers the new state. A refused transition changes nothing and
    /// answers the state the plan is in.
    pub fn apply(&mut self, t: Transition, now: DateTime<Utc>) -> Result<PlanState, PlanState> {
        let from = PlanState::of(self);
        let to = from.can(t).ok_or(from)?;
        match to {
            PlanState::Active => self.approved_at = Some(now),
            PlanState::Rejected => {
                self.rejected_at = Some(now);
                self.rejected_by_user = Some(api_user());
            }
            PlanState::Deactivated => self.deactivated_at = Some(now),
            PlanState::Proposed | PlanState::Finished => {}
        }
        self.active = to == PlanState::Active;
        self.updated_at = now;
        Ok(to)
    }
}

/// Deactivates plan `plan_id` of `admin` at `now`, if it is active: the plan and every invoice
/// and credit case it covered (their flow resumes). The deactivated plan, or `None` if there is
/// no such plan or it is not active (then nothing changes).
pub(crate) fn deactivate_in(db: &mut Db, admin: u64, plan_id: u64, now: DateTime<Utc>) -> Option<PaymentPlan> {
    let key = plan_id.to_string();
    PlanState::of(db.payment_plans.get(&admin, &key)?).can(Transition::Deactivate)?;
    // The linked records, under their `plan` secondary key.
    let invoices: Vec<u64> = db.invoices.lookup(&admin, "plan", &key).map(|i| i.id).collect();
    for i in invoices {
        db.invoices.update(&admin, &i.to_string(), |inv| {
            inv.active_payment_plan_id = None;
            inv.updated_at = now;
        });
    }
    let cases: Vec<u64> = db.credit_cases.lookup(&admin, "plan", &key).map(|c| c.id).collect();
    for c in cases {
        db.credit_cases.update(&admin, &c.to_string(), |case| {
            case.active_payment_plan_id = None;
            case.payment_plan_id = None;
            case.updated_at = now;
        });
    }
    db.payment_plans.update(&admin, &key, |p| {
        p.apply(Transition::Deactivate, now).ok()?;
        Some(p.clone())
    })?
}

/// The name of the state `plan` is in ([`PlanState::of`]).
pub fn state_of(plan: &PaymentPlan) -> &'static str {
    PlanState::of(plan).name()
}

/// The `PATCH /v1/payment_plans/{id}/<verb>` route of `what`, answered by [`transition`].
fn transition_route(what: Transition) -> MethodRouter<AppState> {
    patch(move |state, caller, id, raw, body| transition(state, caller, id, raw, body, what))
}

async fn transition(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: Body,
    what: Transition,
) -> Result<Json<Value>, PaytError> {
    let admin = body.authorize(&state, &caller, "payment_plans:write")?;
    let fields = body_fields(&body, raw.as_deref())?;
    let plan_id = crate::params::parse_id(&id).ok_or_else(|| PaytError::not_found("PaymentPlan", &id))?;
    let key = plan_id.to_string();
    let now = state.now();
    let plan = state.store.write(|db| {
        let plan = db
            .payment_plans
            .get(&admin, &key)
            .cloned()
            .ok_or_else(|| PaytError::not_found("PaymentPlan", &id))?;
        let current = PlanState::of(&plan);
        if current.can(what).is_none() {
            let from = PlanState::source_of(what).map_or("other", PlanState::name);
            return Err(PaytError::unprocessable(
                "invalid_state",
                format!(
                    "Payment plan {plan_id} is {}; only a {from} payment plan can be {}",
                    current.name(),
                    what.verb()
                ),
            ));
        }
        let plan = match what {
            Transition::Approve => {
                // The cases to link: the plan's own, and the open cases holding its invoices (read
                // by the cases' invoice key), in id order.
                let mut case_ids = plan.credit_case_ids.clone();
                let mut holding: Vec<u64> = plan
                    .invoice_ids
                    .iter()
                    .flat_map(|i| {
                        let held: Vec<u64> = db
                            .credit_cases
                            .lookup(&admin, "invoice", &i.to_string())
                            .filter(|c| c.deactivated_at.is_none())
                            .map(|c| c.id)
                            .collect();
                        held
                    })
                    .collect();
                holding.sort_unstable();
                holding.dedup();
                for id in holding {
                    if !case_ids.contains(&id) {
                        case_ids.push(id);
                    }
                }
                for i in &plan.invoice_ids {
                    if let Some(other) = db
                        .invoices
                        .get(&admin, &i.to_string())
                        .and_then(|inv| inv.active_payment_plan_id.filter(|p| *p != plan_id).map(|p| (inv, p)))
                    {
                        return Err(PaytError::unprocessable(
                            "payment_plan_already_active",
                            format!(
                                "Invoice {} is already covered by active payment plan {}; deactivate that plan first",
                                other.0.invoice_number, other.1
                            ),
                        ));
                    }
                }
                for c in &plan.credit_case_ids {
                    if let Some(other) = db
                        .credit_cases
                        .get(&admin, &c.to_string())
                        .and_then(|case| case.active_payment_plan_id.filter(|p| *p != plan_id).map(|p| (case, p)))
                    {
                        return Err(PaytError::unprocessable(
                            "payment_plan_already_active",
                            format!(
                                "Credit case {} is already covered by active payment plan {}; deactivate that plan first",
                                other.0.credit_case_number, other.1
                            ),
                        ));
                    }
                }
                for i in &plan.invoice_ids {
                    db.invoices.update(&admin, &i.to_string(), |inv| {
                        inv.active_payment_plan_id = Some(plan_id);
                        inv.updated_at = now;
                    });
                }
                for c in &case_ids {
                    db.credit_cases.update(&admin, &c.to_string(), |case| {
                        if case.active_payment_plan_id.is_none() {
                            case.active_payment_plan_id = Some(plan_id);
                            case.payment_plan_id = Some(plan_id);
                            case.updated_at = now;
                        }
                    });
                }
                db.payment_plans
                    .update(&admin, &key, |p| p.apply(what, now).ok().map(|_| p.clone()))
                    .flatten()
            }
            Transition::Reject => db
                .payment_plans
                .update(&admin, &key, |p| p.apply(what, now).ok().map(|_| p.clone()))
                .flatten(),
            Transition::Deactivate => deactivate_in(db, admin, plan_id, now),
        }
        .ok_or_else(|| PaytError::not_found("PaymentPlan", &id))?;
        let event = match what {
            Transition::Deactivate => "payment_plan_deactivated",
            Transition::Approve | Transition::Reject => "payment_plan_updated",
        };
        crate::webhooks::emit(db, &state.ids, now, admin, event, "payment_plan", &key);
        Ok(plan)
    })?;
    Ok(Json(list::entity(&plan, &fields, OPT_IN)?))
}

/// `CustomerApi_V1_Deleted_PaymentPlanEntity`: the tombstone of a deleted plan, kept 90 days for
/// the `deleted` endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeletedPaymentPlan {
    /// Owning administration.
    #[serde(with = "crate::format::id")]
    pub administration_id: u64,
    /// Unique identifier of the deleted plan.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Deletion.
    #[serde(with = "crate::format::ts")]
    pub deleted_at: DateTime<Utc>,
    /// The plan's debtor.
    #[serde(with = "crate::format::id")]
    pub debtor_id: u64,
}

administration_record!(DeletedPaymentPlan, changed = deleted_at);
tombstone!(DeletedPaymentPlan);

/// Tombstones of plans deleted in the Payt interface (a debtor's withdrawn proposals and the like),
/// 2 to 5 per administration, deleted 1 to 60 days before the fixture anchor. `seed.rs` has no
/// hook for payment plans; the workflow fixtures call this.
pub(crate) fn seed_deleted(g: &mut Gen, db: &mut Db, admin: u64) {
    crate::seed::tombstones(
        g,
        db,
        admin,
        (2, 5),
        |db| &mut db.deleted_payment_plans,
        |id, debtor_id, deleted_at| DeletedPaymentPlan {
            administration_id: admin,
            id,
            deleted_at,
            debtor_id,
        },
    );
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};
    use proptest::prelude::*;

    use super::{PaymentPlan, PlanState, Transition};

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + secs, 0).single().unwrap_or_default()
    }

    /// A plan in `state`, as the fixtures and the API make them.
    fn plan(state: PlanState) -> PaymentPlan {
        let t = at(0);
        PaymentPlan {
            payment_terms: Vec::new(),
            active: state == PlanState::Active,
            auto_activated: false,
            reason: None,
            rejected_by_user: None,
            administration_id: 81,
            debtor_id: 1,
            id: 1,
            approved_at: matches!(state, PlanState::Active | PlanState::Finished | PlanState::Deactivated).then_some(t),
            created_at: t,
            deactivated_at: (state == PlanState::Deactivated).then_some(t),
            updated_at: t,
            proposed_at: Some(t),
            rejected_at: (state == PlanState::Rejected).then_some(t),
            public_url: String::new(),
            invoice_ids: Vec::new(),
            credit_case_ids: Vec::new(),
            cc_email_address: None,
            expired_term_ids: Vec::new(),
        }
    }

    fn state() -> impl Strategy<Value = PlanState> {
        proptest::sample::select(PlanState::ALL.to_vec())
    }

    fn transition() -> impl Strategy<Value = Transition> {
        prop_oneof![
            Just(Transition::Approve),
            Just(Transition::Reject),
            Just(Transition::Deactivate),
        ]
    }

    proptest! {
        /// Under any sequence of transitions a plan's fields always describe a state, the state
        /// they describe is the one the transition table names, and a refused transition leaves
        /// every field as it was.
        #[test]
        fn plans_move_only_as_the_table_allows(
            start in state(),
            steps in proptest::collection::vec(transition(), 0..32),
        ) {
            let mut p = plan(start);
            prop_assert_eq!(PlanState::of(&p), start);
            for (i, t) in steps.into_iter().enumerate() {
                let before = p.clone();
                let from = PlanState::of(&p);
                match p.apply(t, at(i as i64 + 1)) {
                    Ok(to) => {
                        prop_assert_eq!(Some(to), from.can(t));
                        prop_assert_eq!(PlanState::of(&p), to);
                    }
                    Err(stays) => {
                        prop_assert_eq!(stays, from);
                        prop_assert_eq!(from.can(t), None);
                        prop_assert_eq!(&p, &before);
                    }
                }
                prop_assert!(PlanState::ALL.contains(&PlanState::of(&p)));
            }
        }
    }

    #[test]
    fn only_proposed_and_active_plans_move() {
        for s in PlanState::ALL {
            let moves: Vec<_> = [Transition::Approve, Transition::Reject, Transition::Deactivate]
                .into_iter()
                .filter_map(|t| s.can(t))
                .collect();
            match s {
                PlanState::Proposed => assert_eq!(moves, [PlanState::Active, PlanState::Rejected]),
                PlanState::Active => assert_eq!(moves, [PlanState::Deactivated]),
                _ => assert!(moves.is_empty(), "{s:?} is terminal"),
            }
        }
        // The names (shown in `invalid_state` messages) are distinct and read back.
        let names: std::collections::HashSet<&str> = PlanState::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(names.len(), PlanState::ALL.len());
        for s in PlanState::ALL {
            assert_eq!(super::state_of(&plan(s)), s.name());
        }
    }
}
