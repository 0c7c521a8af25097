//! The paywise mock's state: tables scoped by company and access mode, clock, ids, tokens.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use mock_core::auth::TokenRegistry;
use mock_core::{Clock, IdGen, Store, Table};
use serde::Serialize;

use crate::error::PaywiseError;
use crate::format::micros;
use crate::resources::claims::Claim;
use crate::resources::debtors::Debtor;

/// Test or production: paywise's tokens choose one, and objects made in one are invisible to the
/// other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessMode {
    /// Test mode.
    Test,
    /// Production mode.
    Production,
}

/// Where a record lives: a client company's data in one access mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scope {
    /// The client company (an internal number).
    pub company: u64,
    /// The access mode the record was created in.
    pub mode: AccessMode,
}

/// Every paywise record, one table per resource.
#[derive(Debug, Clone, Default)]
pub struct Db {
    /// Debtors.
    pub debtors: Table<Debtor>,
    /// Claims.
    pub claims: Table<Claim>,
}

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The company and access mode the token acts in.
    pub scope: Scope,
    /// The token's name, as token info shows it.
    pub name: String,
}

/// Shared by every handler; cloning is cheap.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Arc<Store<Db>>,
    /// Where every timestamp comes from.
    pub clock: Clock,
    /// Where every new id comes from.
    pub ids: Arc<IdGen>,
    /// Known bearer tokens.
    pub tokens: Arc<TokenRegistry<Grant>>,
}

impl AppState {
    /// The current time at paywise's precision (microseconds).
    pub fn now(&self) -> DateTime<Utc> {
        micros(self.clock.now())
    }
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// What the token is.
    pub grant: Grant,
}

impl Caller {
    /// The scope the caller reads and writes.
    pub fn scope(&self) -> Scope {
        self.grant.scope
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = PaywiseError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        state
            .tokens
            .authenticate(&parts.headers)
            .map(|grant| Caller { grant })
            .map_err(PaywiseError::unauthenticated)
    }
}
