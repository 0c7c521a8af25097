//! Mandates (`/v1/mandates/`), their status updates and downloads.
//!
//! Stub: filled in by the resource's implementation.

use axum::Router;
use serde::Serialize;
use uuid::Uuid;

use crate::state::{AppState, Db, Scope};

/// A mandate (Inkassoakte) paywise opened for accepted claims.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mandate {
    /// Creation order (not exposed).
    #[serde(skip)]
    pub seq: u64,
    /// Company and access mode (not exposed).
    #[serde(skip)]
    pub scope: Scope,
    /// Unique identifier.
    pub id: Uuid,
    /// paywise file number ("Aktenzeichen").
    pub reference_number: String,
}

scoped_record!(Mandate);

/// A status update of a mandate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusUpdate {
    /// Creation order (not exposed).
    #[serde(skip)]
    pub seq: u64,
    /// Company and access mode (not exposed).
    #[serde(skip)]
    pub scope: Scope,
    /// Unique identifier.
    pub id: Uuid,
}

scoped_record!(StatusUpdate);

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
}

/// Adds this resource's fixtures (after debtors and claims exist).
pub fn seed(f: &mut fixtures::Faker, seq: &mut u64, db: &mut Db) {
    let _ = (f, seq, db);
}
