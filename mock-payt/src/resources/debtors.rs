//! Debtors. The slice of the foundation issue serves no debtor route yet; the record exists because
//! credit cases, payment plans and notifications point at debtors, and payment plans are filtered
//! by debtor number and identifier.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// `CustomerApi_V1_AddressEntity`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PostalAddress {
    /// City.
    pub city: String,
    /// ISO 3166 alpha-2.
    pub country_code: String,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// First street line.
    pub street_1: Option<String>,
    /// Second street line.
    pub street_2: Option<String>,
}

/// A debtor (the core of `CustomerApi_V1_DebtorEntity`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Debtor {
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Owning administration.
    #[serde(with = "crate::format::id")]
    pub administration_id: u64,
    /// The creditor's code for the debtor.
    pub debtor_number: String,
    /// The external (accounting software) identifier.
    pub debtor_identifier: String,
    /// Name.
    pub name: String,
    /// Primary e-mail address.
    pub primary_email_address: Option<String>,
    /// Postal address.
    pub postal_address: PostalAddress,
    /// Chamber-of-commerce number, for companies.
    pub coc_number: Option<String>,
    /// Last change.
    #[serde(with = "crate::format::ts")]
    pub updated_at: DateTime<Utc>,
}

administration_record!(Debtor);

/// The routes of this resource.
pub fn router() -> axum::Router<crate::state::AppState> {
    axum::Router::new()
}
