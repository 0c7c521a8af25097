//! Webhook endpoints (`/v1/webhooks/`) and the delivery of events to them.
//!
//! Stub: filled in by the resource's implementation.

use axum::Router;
use serde::Serialize;
use uuid::Uuid;

use crate::state::{AppState, Db, Scope};

/// A webhook endpoint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Webhook {
    /// Creation order (not exposed).
    #[serde(skip)]
    pub seq: u64,
    /// Company and access mode (not exposed).
    #[serde(skip)]
    pub scope: Scope,
    /// Unique identifier.
    pub id: Uuid,
}

scoped_record!(Webhook);

/// One delivery of an event to an endpoint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    /// Creation order (not exposed).
    #[serde(skip)]
    pub seq: u64,
    /// Company and access mode (not exposed).
    #[serde(skip)]
    pub scope: Scope,
    /// Unique identifier.
    pub id: Uuid,
}

scoped_record!(Delivery);

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
}

/// Starts the delivery of events to the webhook endpoints (needs a running tokio runtime).
pub fn start_background(state: &AppState) {
    let _ = state;
}

/// Adds this resource's fixtures (after debtors and claims exist).
pub fn seed(f: &mut fixtures::Faker, seq: &mut u64, db: &mut Db) {
    let _ = (f, seq, db);
}
