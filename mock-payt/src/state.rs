//! The Payt mock's state: its database of tables, the clock, ids and the known tokens.

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use mock_core::auth::TokenRegistry;
use mock_core::{Clock, IdGen, Store, Table};

use crate::error::PaytError;
use crate::format::whole_seconds;
use crate::resources::administrations::Administration;
use crate::resources::credit_cases::CreditCase;
use crate::resources::debtors::Debtor;
use crate::resources::invoices::Invoice;
use crate::resources::notifications::Notification;
use crate::resources::payment_plans::PaymentPlan;

/// Every Payt record, one table per resource. Records other than administrations are scoped by
/// their administration id.
#[derive(Debug, Clone, Default)]
pub struct Db {
    /// Administrations (unscoped: a token's grant decides which it sees).
    pub administrations: Table<Administration>,
    /// Debtors.
    pub debtors: Table<Debtor>,
    /// Invoices.
    pub invoices: Table<Invoice>,
    /// Credit (debt-collection) cases.
    pub credit_cases: Table<CreditCase>,
    /// Payment plans.
    pub payment_plans: Table<PaymentPlan>,
    /// Notifications.
    pub notifications: Table<Notification>,
}

/// What a token may see and do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The administrations granted; `None` grants all of them.
    pub administrations: Option<HashSet<u64>>,
    /// The scopes granted (`invoices:read`, ...); `None` grants every scope.
    pub scopes: Option<HashSet<String>>,
}

impl Grant {
    /// Every administration and every scope.
    pub fn full() -> Self {
        Self {
            administrations: None,
            scopes: None,
        }
    }

    /// Whether administration `id` was granted.
    pub fn allows(&self, id: u64) -> bool {
        self.administrations.as_ref().is_none_or(|a| a.contains(&id))
    }

    /// 403 naming the permission unless `scope` was granted.
    pub fn require(&self, scope: &str) -> Result<(), PaytError> {
        match &self.scopes {
            Some(s) if !s.contains(scope) => Err(PaytError::Forbidden(format!("Missing permission: {scope}"))),
            _ => Ok(()),
        }
    }
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
    /// The current time as Payt stores it (whole seconds).
    pub fn now(&self) -> DateTime<Utc> {
        whole_seconds(self.clock.now())
    }

    /// 403 unless administration `id` exists and `caller` was granted it.
    pub fn check_administration(&self, caller: &Caller, id: u64) -> Result<(), PaytError> {
        let exists = self
            .store
            .read(|db| db.administrations.get(&(), &id.to_string()).is_some());
        if exists && caller.grant.allows(id) {
            Ok(())
        } else {
            Err(PaytError::Forbidden(format!(
                "Access to administration {id} is not granted to this token"
            )))
        }
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// What the caller's token grants.
    pub grant: Grant,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = PaytError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        state
            .tokens
            .authenticate(&parts.headers)
            .map(|grant| Caller { grant })
            .map_err(PaytError::Unauthenticated)
    }
}
