//! `GET /v1/payment_plans`, `GET /v1/payment_plans/{id}` and `POST /v1/payment_plans`.
//!
//! A plan belongs to one debtor and covers invoices and credit cases of that debtor. `POST`
//! creates an approved, active plan ("Create an approved payment plan"): `approved_at` equals
//! `created_at`, `auto_activated` is false and `proposed_at` stays null; every covered invoice and
//! case gets the plan as its `active_payment_plan_id`, and its `updated_at` moves.

use std::collections::HashSet;
use std::str::FromStr;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;

use crate::body::Body;
use crate::error::PaytError;
use crate::format::two_decimals;
use crate::list::{self, ListRequest};
use crate::params::string_list;
use crate::resources::User;
use crate::state::{AppState, Caller};

/// Properties shown only when `fields` asks for them.
pub const OPT_IN: &[&str] = &["public_url"];

/// `CustomerApi_V1_PlannedPaymentEntity`: one term of a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    #[serde(skip)]
    pub invoice_ids: Vec<u64>,
    /// Covered credit cases (not exposed by the entity).
    #[serde(skip)]
    pub credit_case_ids: Vec<u64>,
    /// Where a copy of the plan was sent (not exposed by the entity).
    #[serde(skip)]
    pub cc_email_address: Option<String>,
}

administration_record!(PaymentPlan);

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/payment_plans", get(list).post(create))
        .route("/payment_plans/{id}", get(show))
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, PaytError> {
    let req = ListRequest::parse(&state, &caller, raw.as_deref(), "payment_plans:read")?;
    let numbers = string_list(&req.query, "debtor_numbers");
    let identifiers = string_list(&req.query, "debtor_identifiers");
    let page = state.store.read(|db| {
        // Resolve the debtor filters to debtor ids once, then page the plans.
        let debtor_ids: Option<HashSet<u64>> = (numbers.is_some() || identifiers.is_some()).then(|| {
            db.debtors
                .iter(&req.administration_id)
                .filter(|d| {
                    numbers.as_ref().is_none_or(|n| n.contains(&d.debtor_number))
                        && identifiers.as_ref().is_none_or(|i| i.contains(&d.debtor_identifier))
                })
                .map(|d| d.id)
                .collect()
        });
        db.payment_plans
            .page_after(&req.administration_id, req.paging.cursor, req.paging.per_page, |p| {
                req.common_match(p.id, p.updated_at) && debtor_ids.as_ref().is_none_or(|ids| ids.contains(&p.debtor_id))
            })
    });
    Ok(list::page(page, &req.fields, OPT_IN))
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, PaytError> {
    list::show(
        &state,
        &caller,
        &id,
        raw.as_deref(),
        "payment_plans:read",
        "PaymentPlan",
        OPT_IN,
        |db| &db.payment_plans,
    )
}

/// A validated term of a new plan.
struct NewTerm {
    amount: Decimal,
    due_date: NaiveDate,
}

fn bad(message: String) -> PaytError {
    PaytError::unprocessable("invalid_parameter", message)
}

/// Reads a term amount given as a JSON number or a numeric string (forms send strings).
fn amount(v: Option<&Value>, path: &str) -> Result<Decimal, PaytError> {
    let text = match v {
        None | Some(Value::Null) => {
            return Err(PaytError::unprocessable(
                "missing_parameter",
                format!("{path} is missing"),
            ));
        }
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.trim().to_string(),
        Some(_) => return Err(bad(format!("{path} must be a number"))),
    };
    let d = Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .map_err(|_| bad(format!("{path} must be a number, got {text:?}")))?;
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

fn terms(body: &Body) -> Result<Vec<NewTerm>, PaytError> {
    let items = match body.0.get("terms") {
        None | Some(Value::Null) => return Err(PaytError::unprocessable("missing_parameter", "terms is missing")),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(bad("terms must be an array of {amount, due_date} objects".to_string())),
    };
    if items.is_empty() {
        return Err(bad(
            "terms is empty: give at least one {amount, due_date} term".to_string()
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let Value::Object(t) = t else {
                return Err(bad(format!("terms[{i}] must be an object with amount and due_date")));
            };
            let amount = amount(t.get("amount"), &format!("terms[{i}][amount]"))?;
            let due_date = match t.get("due_date") {
                None | Some(Value::Null) => {
                    return Err(PaytError::unprocessable(
                        "missing_parameter",
                        format!("terms[{i}][due_date] is missing"),
                    ));
                }
                Some(Value::String(s)) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                    .map_err(|_| bad(format!("terms[{i}][due_date] is not a valid date (YYYY-MM-DD): {s:?}")))?,
                Some(_) => return Err(bad(format!("terms[{i}][due_date] must be a date string (YYYY-MM-DD)"))),
            };
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
    caller.grant.require("payment_plans:write")?;
    let administration_id = body.administration_id()?;
    state.check_administration(&caller, administration_id)?;
    let invoice_numbers = dedup(body.string_list("invoice_numbers")?);
    let invoice_identifiers = dedup(body.string_list("invoice_identifiers")?);
    let credit_case_numbers = dedup(body.string_list("credit_case_numbers")?);
    let cc_email_address = match body.0.get("cc_email_address") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) if s.contains('@') && !s.trim().contains(' ') => Some(s.trim().to_string()),
        Some(other) => return Err(bad(format!("cc_email_address is not a valid e-mail address: {other}"))),
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
        let mut find_invoice =
            |what: &str, key: &str, pick: &dyn Fn(&crate::resources::invoices::Invoice) -> bool| match db
                .invoices
                .iter(&admin)
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
            find_invoice("invoice_number", n, &|i| &i.invoice_number == n)?;
        }
        for n in &invoice_identifiers {
            find_invoice("invoice_identifier", n, &|i| {
                i.invoice_identifier.as_deref() == Some(n.as_str())
            })?;
        }
        let mut credit_case_ids = Vec::new();
        for n in &credit_case_numbers {
            let case = db
                .credit_cases
                .iter(&admin)
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
        Ok(plan)
    })?;
    Ok((
        StatusCode::CREATED,
        Json(list::entity(&plan, &Default::default(), OPT_IN)),
    ))
}

/// The debtor-portal link of plan `id`.
pub fn public_url(id: u64) -> String {
    format!("https://portal.paytsoftware.com/payment_plans/{id}")
}

/// The tombstone of a deleted record, kept 90 days for the `deleted` endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DeletedPaymentPlan {
    /// Unique identifier of the deleted record.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Owning administration.
    #[serde(with = "crate::format::id")]
    pub administration_id: u64,
}

administration_record!(DeletedPaymentPlan);
