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
use crate::resources;

/// Every Payt record, one table per resource. Records other than administrations, companies and
/// sign-ups are scoped by their administration id.
#[derive(Debug, Clone, Default)]
pub struct Db {
    /// Administrations (unscoped: a token's grant decides which it sees).
    pub administrations: Table<resources::administrations::Administration>,
    /// Companies (unscoped).
    pub companies: Table<resources::companies::Company>,
    /// Completed sign-ups (unscoped).
    pub sign_ups: Table<resources::sign_up::SignUp>,
    /// Debtors.
    pub debtors: Table<resources::debtors::Debtor>,
    /// Contacts.
    pub contacts: Table<resources::contacts::Contact>,
    /// Invoices.
    pub invoices: Table<resources::invoices::Invoice>,
    /// Tombstones of deleted invoices.
    pub deleted_invoices: Table<resources::invoices::DeletedInvoice>,
    /// Payments.
    pub payments: Table<resources::payments::Payment>,
    /// Tombstones of deleted payments.
    pub deleted_payments: Table<resources::payments::DeletedPayment>,
    /// Credit (debt-collection) cases.
    pub credit_cases: Table<resources::credit_cases::CreditCase>,
    /// Tombstones of deleted credit cases.
    pub deleted_credit_cases: Table<resources::credit_cases::DeletedCreditCase>,
    /// Payment plans.
    pub payment_plans: Table<resources::payment_plans::PaymentPlan>,
    /// Tombstones of deleted payment plans.
    pub deleted_payment_plans: Table<resources::payment_plans::DeletedPaymentPlan>,
    /// Notifications.
    pub notifications: Table<resources::notifications::Notification>,
    /// Notes.
    pub notes: Table<resources::notes::Note>,
    /// Messages.
    pub messages: Table<resources::messages::Message>,
    /// Tasks.
    pub tasks: Table<resources::tasks::Task>,
    /// VAT rates.
    pub vat_rates: Table<resources::vat_rates::VatRate>,
    /// Payment conditions.
    pub payment_conditions: Table<resources::payment_conditions::PaymentCondition>,
    /// Upload slots of files.
    pub files: Table<resources::files::UploadedFile>,
    /// Orders.
    pub orders: Table<resources::orders::Order>,
    /// Order lines.
    pub order_lines: Table<resources::orders::OrderLine>,
    /// PSP mandates.
    pub psp_mandates: Table<resources::psp_mandates::PspMandate>,
    /// Tombstones of revoked PSP mandates.
    pub deleted_psp_mandates: Table<resources::psp_mandates::DeletedPspMandate>,
    /// PSP transactions.
    pub psp_transactions: Table<resources::psp_transactions::PspTransaction>,
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
