//! PSP mandates (`POST`, `GET`, `DELETE /v1/psp_mandates`, `GET /v1/psp_mandates/deleted`).
//!
//! Stub: the record types and routes are filled in by the resource's implementation.

use axum::Router;
use serde::Serialize;

use crate::seed::Gen;
use crate::state::{AppState, Db};

/// A direct-debit mandate at a payment provider.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PspMandate {
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Owning administration.
    #[serde(with = "crate::format::id")]
    pub administration_id: u64,
}

administration_record!(PspMandate);

/// The tombstone of a revoked mandate.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DeletedPspMandate {
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Owning administration.
    #[serde(with = "crate::format::id")]
    pub administration_id: u64,
}

administration_record!(DeletedPspMandate);

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
}

/// Adds this resource's fixtures for administration `admin` (after debtors, invoices, credit cases,
/// payment plans and notifications exist).
pub fn seed(g: &mut Gen, db: &mut Db, admin: u64) {
    let _ = (g, db, admin);
}
