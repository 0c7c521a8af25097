//! Orders and order lines (`POST /v1/orders` multipart, `GET /v1/order_lines`).
//!
//! Stub: the record types and routes are filled in by the resource's implementation.

use axum::Router;
use serde::Serialize;

use crate::seed::Gen;
use crate::state::{AppState, Db};

/// An uploaded order file.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Order {
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Owning administration.
    #[serde(with = "crate::format::id")]
    pub administration_id: u64,
}

administration_record!(Order);

/// A line of an order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OrderLine {
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Owning administration.
    #[serde(with = "crate::format::id")]
    pub administration_id: u64,
}

administration_record!(OrderLine);

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
}

/// Adds this resource's fixtures for administration `admin` (after debtors, invoices, credit cases,
/// payment plans and notifications exist).
pub fn seed(g: &mut Gen, db: &mut Db, admin: u64) {
    let _ = (g, db, admin);
}
