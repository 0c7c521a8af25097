//! `GET /v1/administrations`: the administrations granted to the token.

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use mock_core::Record;
use mock_core::query::QueryParams;
use serde::Serialize;
use serde_json::Value;

use crate::error::PaytError;
use crate::list;
use crate::params::{self, Paging};
use crate::state::{AppState, Caller};

/// Properties shown only when `fields` asks for them.
pub const OPT_IN: &[&str] = &["import_origin_identifier", "last_successful_import_at"];

/// `CustomerApi_V1_AdministrationEntity`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Administration {
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Name.
    pub name: String,
    /// `active`, `inactive`, `deleted` or `implementation`.
    pub status: String,
    /// Email address of the administration.
    pub email_address: String,
    /// Contact person.
    pub contact_name: String,
    /// Chamber-of-commerce number.
    pub commercial_registration_number: String,
    /// ISO 3166 alpha-2.
    pub country_code: String,
    /// City.
    pub city: String,
    /// House number.
    pub house_number: String,
    /// Internal name.
    pub internal_name: String,
    /// Street name.
    pub street_name: String,
    /// Postal code.
    pub postal_code: String,
    /// Account holder.
    pub bank_account_name: Option<String>,
    /// IBAN.
    pub bank_account_number: Option<String>,
    /// BIC.
    pub bank_account_bic: Option<String>,
    /// VAT number.
    pub vat_number: Option<String>,
    /// Canonical tz name.
    pub timezone: String,
    /// ISO 4217.
    pub currency_code: String,
    /// Link into the Payt interface.
    pub administration_url: String,
    /// Opt-in: identifier used for importing from origin.
    pub import_origin_identifier: Option<String>,
    /// Opt-in: last successful import.
    #[serde(with = "crate::format::opt_ts")]
    pub last_successful_import_at: Option<DateTime<Utc>>,
    /// When the administration was paused.
    #[serde(with = "crate::format::opt_ts")]
    pub paused_at: Option<DateTime<Utc>>,
    /// When reminding was paused.
    #[serde(with = "crate::format::opt_ts")]
    pub reminding_paused_at: Option<DateTime<Utc>>,
}

impl Record for Administration {
    type Scope = ();
    fn scope(&self) {}
    fn seq(&self) -> u64 {
        self.id
    }
    fn key(&self) -> String {
        self.id.to_string()
    }
}

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/administrations", get(list))
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, PaytError> {
    caller.grant.require("administrations:read")?;
    let q = QueryParams::parse(raw.as_deref());
    let paging = Paging::parse(&q)?;
    let fields = params::fields(&q)?;
    let page = state.store.read(|db| {
        db.administrations
            .page_after(&(), paging.cursor, paging.per_page, |a| caller.grant.allows(a.id))
    });
    Ok(list::page(page, &fields, OPT_IN))
}
