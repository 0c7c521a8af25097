//! Uploaded files (claim documents, answer uploads, downloads).
//!
//! Stub: filled in by the resource's implementation.

use axum::Router;
use serde::Serialize;
use uuid::Uuid;

use crate::state::{AppState, Db, Scope};

/// An uploaded or generated file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredFile {
    /// Creation order (not exposed).
    #[serde(skip)]
    pub seq: u64,
    /// Company and access mode (not exposed).
    #[serde(skip)]
    pub scope: Scope,
    /// Unique identifier.
    pub id: Uuid,
}

scoped_record!(StoredFile);

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
}

/// Adds this resource's fixtures (after debtors and claims exist).
pub fn seed(f: &mut fixtures::Faker, seq: &mut u64, db: &mut Db) {
    let _ = (f, seq, db);
}
