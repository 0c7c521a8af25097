//! Notes (`GET /v1/notes`).
//!
//! Stub: the record types and routes are filled in by the resource's implementation.

use axum::Router;
use serde::Serialize;

use crate::seed::Gen;
use crate::state::{AppState, Db};

/// A note on a debtor, invoice or case.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Note {
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Owning administration.
    #[serde(with = "crate::format::id")]
    pub administration_id: u64,
}

administration_record!(Note);

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
}

/// Adds this resource's fixtures for administration `admin` (after debtors, invoices, credit cases,
/// payment plans and notifications exist).
pub fn seed(g: &mut Gen, db: &mut Db, admin: u64) {
    let _ = (g, db, admin);
}
