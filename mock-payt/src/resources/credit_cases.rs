//! `GET /v1/credit_cases`, `GET /v1/credit_cases/{id}` and `GET /v1/credit_cases/deleted`:
//! debt-collection cases (read-only in the API). Deleted cases come only from the fixtures (the API
//! cannot delete a case); their tombstones stay visible for 90 days.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::PaytError;
use crate::list::{self, ListRequest};
use crate::resources::Label;
use crate::seed::Gen;
use crate::state::Db;
use crate::state::{AppState, Caller};

/// Properties shown only when `fields` asks for them.
pub const OPT_IN: &[&str] = &[
    "labels",
    "public_url",
    "deeplink_url",
    "open_interest_and_collection_costs",
    "internal_note_email_address",
];

/// `CustomerApi_V1_CreditCaseEntity`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreditCase {
    /// Opt-in: labels.
    pub labels: Vec<Label>,
    /// Case number.
    pub case_number: String,
    /// Opt-in: debtor portal link.
    pub public_url: String,
    /// Opt-in: link into the Payt interface.
    pub deeplink_url: String,
    /// Formatted case number.
    pub credit_case_number: String,
    /// ISO 4217.
    pub currency_code: String,
    /// Owning administration.
    #[serde(with = "crate::format::id")]
    pub administration_id: u64,
    /// Debt collection costs.
    #[serde(with = "crate::format::money")]
    pub debt_collection_costs: Decimal,
    /// Opt-in: open interest and collection costs.
    #[serde(with = "crate::format::money")]
    pub open_interest_and_collection_costs: Decimal,
    /// Total amount.
    #[serde(with = "crate::format::money")]
    pub total_amount: Decimal,
    /// Open amount.
    #[serde(with = "crate::format::money")]
    pub open_amount: Decimal,
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Interest.
    #[serde(with = "crate::format::money")]
    pub interest_costs: Decimal,
    /// Opt-in: internal note address.
    pub internal_note_email_address: String,
    /// The debtor.
    #[serde(with = "crate::format::id")]
    pub debtor_id: u64,
    /// Deprecated twin of `active_payment_plan_id`.
    #[serde(with = "crate::format::opt_id")]
    pub payment_plan_id: Option<u64>,
    /// The active payment plan.
    #[serde(with = "crate::format::opt_id")]
    pub active_payment_plan_id: Option<u64>,
    /// Forwarded to a bailiff.
    #[serde(with = "crate::format::opt_ts")]
    pub forwarded_to_bailiff_at: Option<DateTime<Utc>>,
    /// Latest summons.
    #[serde(with = "crate::format::opt_ts")]
    pub latest_summons_at: Option<DateTime<Utc>>,
    /// Notice of default.
    #[serde(with = "crate::format::opt_ts")]
    pub notice_of_default_at: Option<DateTime<Utc>>,
    /// Pre-judicial phase.
    #[serde(with = "crate::format::opt_ts")]
    pub pre_judicial_at: Option<DateTime<Utc>>,
    /// Debt collection notice.
    #[serde(with = "crate::format::opt_ts")]
    pub pre_summons_at: Option<DateTime<Utc>>,
    /// Last paused.
    #[serde(with = "crate::format::opt_ts")]
    pub paused_at: Option<DateTime<Utc>>,
    /// Deactivated.
    #[serde(with = "crate::format::opt_ts")]
    pub deactivated_at: Option<DateTime<Utc>>,
    /// Deprecated twin of `summons_1_at`.
    #[serde(with = "crate::format::opt_ts")]
    pub first_summons_at: Option<DateTime<Utc>>,
    /// First summons.
    #[serde(with = "crate::format::opt_ts")]
    pub summons_1_at: Option<DateTime<Utc>>,
    /// Second summons.
    #[serde(with = "crate::format::opt_ts")]
    pub summons_2_at: Option<DateTime<Utc>>,
    /// Third summons.
    #[serde(with = "crate::format::opt_ts")]
    pub summons_3_at: Option<DateTime<Utc>>,
    /// Fourth summons.
    #[serde(with = "crate::format::opt_ts")]
    pub summons_4_at: Option<DateTime<Utc>>,
    /// Case start.
    #[serde(with = "crate::format::ts")]
    pub started_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "crate::format::ts")]
    pub updated_at: DateTime<Utc>,
    /// The invoices in the case (not exposed by the entity).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub invoice_ids: Vec<u64>,
}

administration_record!(
    CreditCase,
    changed = updated_at,
    lookups = |c| {
        let mut keys = vec![
            ("number", c.credit_case_number.clone()),
            ("case_number", c.case_number.clone()),
        ];
        // A case is linked to a plan by either field (`payment_plan_id` is the deprecated twin).
        let mut plans: Vec<u64> = c.active_payment_plan_id.into_iter().chain(c.payment_plan_id).collect();
        plans.dedup();
        keys.extend(plans.into_iter().map(|p| ("plan", p.to_string())));
        keys
    }
);

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/credit_cases", get(list))
        .route("/credit_cases/deleted", get(deleted))
        .route("/credit_cases/{id}", get(show))
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<list::Written, PaytError> {
    let req = ListRequest::parse(&state, &caller, raw.as_deref(), "credit_cases:read")?;
    let page = state
        .store
        .read(|db| req.page_of(&db.credit_cases, |c| req.common_match(c.id, c.updated_at)));
    list::page_shared(page, &req.fields, OPT_IN)
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<list::Written, PaytError> {
    list::show(
        &state,
        &caller,
        &id,
        raw.as_deref(),
        "credit_cases:read",
        "CreditCase",
        OPT_IN,
        |db| &db.credit_cases,
    )
}

async fn deleted(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<list::Written, PaytError> {
    list::deleted(&state, &caller, raw.as_deref(), "credit_cases:read", |db| {
        &db.deleted_credit_cases
    })
}

/// `CustomerApi_V1_DeletedCreditCaseEntity`: the tombstone of a deleted case, kept 90 days for the
/// `deleted` endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeletedCreditCase {
    /// Unique identifier of the deleted case.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Owning administration.
    #[serde(with = "crate::format::id")]
    pub administration_id: u64,
    /// The case's debtor.
    #[serde(with = "crate::format::id")]
    pub debtor_id: u64,
    /// Deletion.
    #[serde(with = "crate::format::ts")]
    pub deleted_at: DateTime<Utc>,
}

administration_record!(DeletedCreditCase, changed = deleted_at);

/// Tombstones of cases deleted in the Payt interface (cases opened by mistake, cases of invoices
/// that were credited), 3 to 6 per administration, deleted 1 to 60 days before the fixture anchor.
/// `seed.rs` has no hook for credit cases; the workflow fixtures call this.
pub fn seed_deleted(g: &mut Gen, db: &mut Db, admin: u64) {
    let debtors: Vec<u64> = db.debtors.iter(&admin).map(|d| d.id).collect();
    if debtors.is_empty() {
        return;
    }
    for _ in 0..g.f.int(3, 6) {
        let debtor_id = *g.f.pick(&debtors);
        let id = g.id();
        let day = g.f.date_around(-60, -1);
        let secs = g.f.int(7 * 3600, 19 * 3600) as i64;
        let deleted_at =
            day.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default() + chrono::Duration::seconds(secs);
        crate::seed::put(
            &mut db.deleted_credit_cases,
            DeletedCreditCase {
                id,
                administration_id: admin,
                debtor_id,
                deleted_at,
            },
        );
    }
}

impl crate::list::Tombstone for DeletedCreditCase {
    fn deleted_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.deleted_at
    }
}
