//! Collection statements (`/v1/statements/`) and their mandate details.
//!
//! Stub: filled in by the resource's implementation.

use axum::Router;
use serde::Serialize;
use uuid::Uuid;

use crate::state::{AppState, Db, Scope};

/// A collection statement (Abrechnung).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statement {
    /// Creation order (not exposed).
    #[serde(skip)]
    pub seq: u64,
    /// Company and access mode (not exposed).
    #[serde(skip)]
    pub scope: Scope,
    /// Unique identifier.
    pub id: Uuid,
}

scoped_record!(Statement);

/// The details of one mandate in a statement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MandateDetail {
    /// Creation order (not exposed).
    #[serde(skip)]
    pub seq: u64,
    /// Company and access mode (not exposed).
    #[serde(skip)]
    pub scope: Scope,
    /// Unique identifier.
    pub id: Uuid,
}

scoped_record!(MandateDetail);

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
}

/// Adds this resource's fixtures (after debtors and claims exist).
pub fn seed(f: &mut fixtures::Faker, seq: &mut u64, db: &mut Db) {
    let _ = (f, seq, db);
}
