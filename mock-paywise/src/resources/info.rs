//! Token info (`GET /v1/info/`).
//!
//! Stub: filled in by the resource's implementation.

use axum::Router;

use crate::state::{AppState, Db};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
}

/// Adds this module's fixtures.
pub fn seed(f: &mut fixtures::Faker, seq: &mut u64, db: &mut Db) {
    let _ = (f, seq, db);
}
