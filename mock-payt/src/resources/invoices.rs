//! Invoices. No invoice route is served yet; payment plans reference invoices by number or
//! identifier, and credit cases and notifications point at them.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

/// An invoice (the core of `CustomerApi_V1_InvoiceEntity`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Invoice {
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Owning administration.
    #[serde(with = "crate::format::id")]
    pub administration_id: u64,
    /// The debtor it is addressed to.
    #[serde(with = "crate::format::id")]
    pub debtor_id: u64,
    /// Number communicated to the debtor.
    pub invoice_number: String,
    /// The invoicing software's identifier.
    pub invoice_identifier: Option<String>,
    /// ISO 4217.
    pub currency_code: String,
    /// Invoice date.
    pub invoice_date: NaiveDate,
    /// Due date.
    pub due_date: NaiveDate,
    /// Total amount.
    #[serde(with = "crate::format::money")]
    pub total_amount: Decimal,
    /// Open amount.
    #[serde(with = "crate::format::money")]
    pub open_amount: Decimal,
    /// The credit case it is in, if any.
    #[serde(with = "crate::format::opt_id")]
    pub active_credit_case_id: Option<u64>,
    /// The active payment plan covering it, if any.
    #[serde(with = "crate::format::opt_id")]
    pub active_payment_plan_id: Option<u64>,
    /// Last change.
    #[serde(with = "crate::format::ts")]
    pub updated_at: DateTime<Utc>,
}

administration_record!(Invoice);

/// The tombstone of a deleted record, kept 90 days for the `deleted` endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DeletedInvoice {
    /// Unique identifier of the deleted record.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Owning administration.
    #[serde(with = "crate::format::id")]
    pub administration_id: u64,
}

administration_record!(DeletedInvoice);

/// The routes of this resource.
pub fn router() -> axum::Router<crate::state::AppState> {
    axum::Router::new()
}
