//! Sign-up (`POST /v1/sign_up`, HTTP Basic auth): a new company, administration and user, and an access grant.
//!
//! Stub: the record types and routes are filled in by the resource's implementation.

use axum::Router;
use serde::Serialize;

use crate::seed::Gen;
use crate::state::{AppState, Db};

/// A completed sign-up and its access grant.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SignUp {
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
}

impl mock_core::Record for SignUp {
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
    Router::new()
}

/// Adds this resource's fixtures for administration `admin` (after debtors, invoices, credit cases,
/// payment plans and notifications exist).
pub fn seed(g: &mut Gen, db: &mut Db, admin: u64) {
    let _ = (g, db, admin);
}
