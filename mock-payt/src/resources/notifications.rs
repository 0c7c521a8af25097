//! `GET /v1/notifications` and `GET /v1/notifications/{id}`: what Payt reports about a debtor,
//! invoice, credit case or the administration (bounced mails and the like). Read-only.

use axum::Router;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::list;
use crate::resources::User;
use crate::state::AppState;

/// Properties shown only when `fields` asks for them (none for notifications).
pub const OPT_IN: &[&str] = &[];

/// `CustomerApi_V1_NotificationDetailsEntity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Details {
    /// Why the mail bounced (only for `mail_bounced`).
    pub bounce_reason: Option<String>,
}

/// `CustomerApi_V1_NotificationEntity`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// The notification's type (`mail_bounced`, ...).
    pub notification_type: String,
    /// `administration`, `credit_case`, `debtor` or `invoice`.
    pub resource_type: String,
    /// Who acknowledged it.
    pub acknowledged_by_user: Option<User>,
    /// Type-specific details.
    pub details: Details,
    /// The credit case it is about.
    #[serde(with = "crate::format::opt_id")]
    pub credit_case_id: Option<u64>,
    /// The debtor it is about.
    #[serde(with = "crate::format::opt_id")]
    pub debtor_id: Option<u64>,
    /// Owning administration.
    #[serde(with = "crate::format::id")]
    pub administration_id: u64,
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// The invoice it is about.
    #[serde(with = "crate::format::opt_id")]
    pub invoice_id: Option<u64>,
    /// Creation.
    #[serde(with = "crate::format::ts")]
    pub created_at: DateTime<Utc>,
    /// Acknowledgement.
    #[serde(with = "crate::format::opt_ts")]
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(with = "crate::format::ts")]
    pub updated_at: DateTime<Utc>,
}

administration_record!(Notification, changed = updated_at);

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/notifications",
            list::list_route("notifications:read", OPT_IN, |db| &db.notifications, list::related),
        )
        .route(
            "/notifications/{id}",
            list::show_route("notifications:read", "Notification", OPT_IN, |db| &db.notifications),
        )
}

impl list::Related for Notification {
    fn related(&self) -> (Option<u64>, Option<u64>, Option<u64>) {
        (self.debtor_id, self.invoice_id, self.credit_case_id)
    }
}
