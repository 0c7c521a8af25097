//! The Payt mock's state: its database of tables, the clock, ids and the known tokens.
//!
//! [`Db`] and [`Grant`] are plain data: both serialize and deserialize, and the database's storage
//! form ([`mock_core::snapshot::to_value`]) keeps every field, including those the API never
//! shows, so a world exported and imported again is the same world ([`Db::fingerprint`] compares
//! two exactly).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use mock_core::auth::TokenRegistry;
use mock_core::{Clock, IdGen, Record, Store, Table};
use serde::{Deserialize, Serialize};

use crate::error::PaytError;
use crate::format::whole_seconds;
use crate::resources;

/// Every Payt record, one table per resource. Records other than administrations, companies and
/// sign-ups are scoped by their administration id.
///
/// Serialized, it is an object with one member per table, each the list of its records in
/// sequence order ([`Table`]'s form); write it with [`mock_core::snapshot::to_value`] to keep the
/// hidden fields. A table missing from the input loads empty.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
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
    /// Webhook subscriptions (mock-side: Payt configures them in its interface).
    pub webhooks: Table<crate::webhooks::Subscription>,
    /// Webhook deliveries and their attempts.
    pub webhook_deliveries: Table<crate::webhooks::Delivery>,
}

/// Calls macro `$m` with the name of every table of [`Db`], in field order: the one list that
/// [`Db::fingerprint`] and the seed's merge of a generated part ([`crate::seed`]) walk. Each
/// destructures a `Db` with it, so a table missing from the list does not compile.
macro_rules! db_tables {
    ($m:ident) => {
        $m!(
            administrations,
            companies,
            sign_ups,
            debtors,
            contacts,
            invoices,
            deleted_invoices,
            payments,
            deleted_payments,
            credit_cases,
            deleted_credit_cases,
            payment_plans,
            deleted_payment_plans,
            notifications,
            notes,
            messages,
            tasks,
            vat_rates,
            payment_conditions,
            files,
            orders,
            order_lines,
            psp_mandates,
            deleted_psp_mandates,
            psp_transactions,
            webhooks,
            webhook_deliveries
        )
    };
}
pub(crate) use db_tables;

impl Db {
    /// Every record of every table, for comparing two databases exactly: one line per table, in
    /// field order, `"<table>: [<Debug of each record>, ...]"` with the records in sequence order
    /// (whatever order the tables' maps keep them in).
    pub fn fingerprint(&self) -> Vec<String> {
        fn line<V: Record + std::fmt::Debug>(name: &str, table: &Table<V>) -> String {
            let mut records: Vec<&V> = table.iter_all().collect();
            records.sort_by_key(|r| r.seq());
            format!("{name}: {records:?}")
        }
        macro_rules! lines {
            ($($table:ident),*) => {{
                // Destructured, so a new table cannot be left out.
                let Db { $($table),* } = self;
                vec![$(line(stringify!($table), $table)),*]
            }};
        }
        db_tables!(lines)
    }
}

/// What a token may see and do. Sets are ordered, so a grant serializes the same way every time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The administrations granted; `None` grants all of them.
    pub administrations: Option<BTreeSet<u64>>,
    /// The scopes granted (`invoices:read`, ...); `None` grants every scope.
    pub scopes: Option<BTreeSet<String>>,
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
