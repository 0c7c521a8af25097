//! The paywise mock's state: tables scoped by company and access mode, clock, ids, tokens.
//!
//! [`Db`] is the whole of a world's mutable data besides the clock, the id generator and the token
//! registry: every Case Management table and the Partner API's accounts, companies, users and
//! invites. It serializes (with [`mock_core::snapshot::to_value`]) to its storage form and loads
//! back from it exactly; [`Db::fingerprint`] compares two databases record by record.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use mock_core::auth::TokenRegistry;
use mock_core::{Clock, IdGen, Record, Store, Table};
use serde::{Deserialize, Serialize};

use crate::error::PaywiseError;
use crate::format::micros;
use crate::resources;
use crate::resources::claims::Claim;
use crate::resources::debtors::Debtor;

/// Test or production: paywise's tokens choose one, and objects made in one are invisible to the
/// other.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessMode {
    /// Test mode.
    #[default]
    Test,
    /// Production mode.
    Production,
}

/// Where a record lives: a client company's data in one access mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Scope {
    /// The client company (an internal number).
    pub company: u64,
    /// The access mode the record was created in.
    pub mode: AccessMode,
}

/// Every paywise record, one table per resource.
///
/// Stored as one JSON object with a list of records per table (see [`Table`]'s `Serialize`); a
/// table missing from a stored object loads empty.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Db {
    /// Debtors.
    pub debtors: Table<Debtor>,
    /// Claims.
    pub claims: Table<Claim>,
    /// Mandates.
    pub mandates: Table<resources::mandates::Mandate>,
    /// Status updates of mandates.
    pub status_updates: Table<resources::mandates::StatusUpdate>,
    /// Requests to client.
    pub requests_to_client: Table<resources::requests_to_client::RequestToClient>,
    /// Payments reported by the client.
    pub payments: Table<resources::payments::Payment>,
    /// Statements.
    pub statements: Table<resources::statements::Statement>,
    /// Mandate details of statements.
    pub mandate_details: Table<resources::statements::MandateDetail>,
    /// Webhook endpoints.
    pub webhooks: Table<resources::webhooks::Webhook>,
    /// Webhook deliveries.
    pub deliveries: Table<resources::webhooks::Delivery>,
    /// Uploaded and generated files.
    pub files: Table<resources::files::StoredFile>,
    /// Partner accounts (their counters; the keys name them by id).
    pub partner_accounts: Table<resources::partner::PartnerAccount>,
    /// Client companies the partners onboard, scoped by partner account.
    pub partner_companies: Table<resources::partner::Company>,
    /// Users of the partners' companies, scoped by partner account.
    pub partner_users: Table<resources::partner::User>,
    /// Invitations to paywise's web onboarding, scoped by partner account.
    pub partner_invites: Table<resources::partner::Invite>,
    /// v2: the stored first answers of commands, by `Idempotency-Key`.
    pub v2_idempotency: Table<crate::v2::conv::IdempotencyRecord>,
    /// v2: orders (v1 claims each belong to one, of type `invoice`).
    pub v2_orders: Table<crate::v2::orders::Order>,
    /// v2: documents of claims, titles, rental agreements, messages and answers.
    pub v2_documents: Table<crate::v2::documents::Document>,
    /// v2: messages of orders and mandates.
    pub v2_messages: Table<crate::v2::messages::Message>,
    /// v2: requests to client of orders (those of mandates are the v1 table's).
    pub v2_order_requests: Table<crate::v2::requests::OrderRequest>,
    /// v2: the event feed.
    pub v2_events: Table<crate::v2::events::Event>,
    /// v2: webhook endpoints of companies and of Partners.
    pub v2_webhooks: Table<crate::v2::webhooks::Webhook>,
    /// v2: webhook deliveries.
    pub v2_deliveries: Table<crate::v2::webhooks::Delivery>,
    /// v2: single-mandate statements.
    pub v2_single_statements: Table<crate::v2::statements::SingleStatement>,
    /// v2: memberships of Partner companies.
    pub v2_memberships: crate::v2::partner::Memberships,
    /// How the time-driven rules run (see [`crate::lifecycle`]); left out of the stored form
    /// while it is the default.
    #[serde(skip_serializing_if = "crate::lifecycle::Settings::is_default")]
    pub lifecycle: crate::lifecycle::Settings,
}

/// Adds one line per record of `table` to `out`: `name` and the record's `Debug`, in sequence
/// order (records of two scopes with the same sequence number in the order of their lines).
fn fingerprint_table<V: Record + std::fmt::Debug>(name: &str, table: &Table<V>, out: &mut Vec<String>) {
    let mut rows: Vec<(u64, String)> = table.iter_all().map(|r| (r.seq(), format!("{name}: {r:?}"))).collect();
    rows.sort();
    out.extend(rows.into_iter().map(|(_, line)| line));
}

impl Db {
    /// Every record as a line, table by table in field order and by sequence number within a
    /// table, each the table's name and the record's `Debug`: two databases with equal
    /// fingerprints hold the same records, whatever order their hash maps are in.
    pub fn fingerprint(&self) -> Vec<String> {
        // Destructured, so that a new table cannot be left out.
        let Db {
            debtors,
            claims,
            mandates,
            status_updates,
            requests_to_client,
            payments,
            statements,
            mandate_details,
            webhooks,
            deliveries,
            files,
            partner_accounts,
            partner_companies,
            partner_users,
            partner_invites,
            v2_idempotency,
            v2_orders,
            v2_documents,
            v2_messages,
            v2_order_requests,
            v2_events,
            v2_webhooks,
            v2_deliveries,
            v2_single_statements,
            v2_memberships,
            lifecycle,
        } = self;
        let mut out = Vec::new();
        fingerprint_table("debtors", debtors, &mut out);
        fingerprint_table("claims", claims, &mut out);
        fingerprint_table("mandates", mandates, &mut out);
        fingerprint_table("status_updates", status_updates, &mut out);
        fingerprint_table("requests_to_client", requests_to_client, &mut out);
        fingerprint_table("payments", payments, &mut out);
        fingerprint_table("statements", statements, &mut out);
        fingerprint_table("mandate_details", mandate_details, &mut out);
        fingerprint_table("webhooks", webhooks, &mut out);
        fingerprint_table("deliveries", deliveries, &mut out);
        fingerprint_table("files", files, &mut out);
        fingerprint_table("partner_accounts", partner_accounts, &mut out);
        fingerprint_table("partner_companies", partner_companies, &mut out);
        fingerprint_table("partner_users", partner_users, &mut out);
        fingerprint_table("partner_invites", partner_invites, &mut out);
        fingerprint_table("v2_idempotency", v2_idempotency, &mut out);
        fingerprint_table("v2_orders", v2_orders, &mut out);
        fingerprint_table("v2_documents", v2_documents, &mut out);
        fingerprint_table("v2_messages", v2_messages, &mut out);
        fingerprint_table("v2_order_requests", v2_order_requests, &mut out);
        fingerprint_table("v2_events", v2_events, &mut out);
        fingerprint_table("v2_webhooks", v2_webhooks, &mut out);
        fingerprint_table("v2_deliveries", v2_deliveries, &mut out);
        fingerprint_table("v2_single_statements", v2_single_statements, &mut out);
        fingerprint_table("v2_memberships", &**v2_memberships, &mut out);
        if !lifecycle.is_default() {
            out.push(format!("lifecycle: {lifecycle:?}"));
        }
        out
    }
}

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The company and access mode the token acts in.
    pub scope: Scope,
    /// The token's name, as token info shows it.
    pub name: String,
    /// For a Partner API key: the partner account and the key's permissions (`None` for a Case
    /// Management key).
    pub partner: Option<resources::partner::PartnerKey>,
}

/// A state change, to be delivered to the webhook endpoints of its company and access mode.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Whose change it is.
    pub scope: Scope,
    /// The event type (`claim.created`, `mandate.status_updated`, ...).
    pub kind: String,
    /// The event-specific `data` (the changed object as the API shows it).
    pub data: serde_json::Value,
    /// When it happened.
    pub at: DateTime<Utc>,
}

/// Where handlers report state changes. The webhook dispatcher subscribes once; until it does,
/// events are dropped. Emitting never blocks or waits.
#[derive(Debug, Clone, Default)]
pub struct Events {
    tx: Arc<std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedSender<Event>>>>,
}

impl Events {
    /// Reports `event`.
    pub fn emit(&self, event: Event) {
        let guard = self.tx.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(tx) = guard.as_ref() {
            let _ = tx.send(event);
        }
    }

    /// Starts receiving every event emitted from now on (a later call replaces the receiver).
    pub fn subscribe(&self) -> tokio::sync::mpsc::UnboundedReceiver<Event> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        *self.tx.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(tx);
        rx
    }
}

/// One rule the mock enforces beyond paywise's OpenAPI files (our inference, see the README's
/// "Rules beyond the vendor files") that a client may switch off to get the vendor-lenient
/// behaviour the files allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LenientRule {
    /// `totals`: accept a claim whose `total_claim_amount` is not main plus charges minus
    /// payments, whose `additional_charges_amount` is not the sum of its charges, or whose amounts
    /// are in more than one currency. The claim keeps the total it was sent with.
    Totals,
    /// `amounts`: accept zero and negative amounts (the files' pattern allows a sign) on claims,
    /// charges and payments instead of requiring at least 0.01.
    Amounts,
    /// `iban`: accept any IBAN of 1 to 34 characters instead of checking its country format and
    /// check digits.
    Iban,
}

impl LenientRule {
    /// Every rule, in the order the flag lists them.
    pub const ALL: [LenientRule; 3] = [LenientRule::Totals, LenientRule::Amounts, LenientRule::Iban];

    /// The rule's name on the command line (`--paywise-lenient totals,iban`).
    pub fn name(self) -> &'static str {
        match self {
            LenientRule::Totals => "totals",
            LenientRule::Amounts => "amounts",
            LenientRule::Iban => "iban",
        }
    }
}

impl std::str::FromStr for LenientRule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LenientRule::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| format!("unknown rule {s:?}; known: totals, amounts, iban"))
    }
}

/// Which of the mock's own rules are switched off (all on by default: strict).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lenient {
    /// [`LenientRule::Totals`] is off.
    pub totals: bool,
    /// [`LenientRule::Amounts`] is off.
    pub amounts: bool,
    /// [`LenientRule::Iban`] is off.
    pub iban: bool,
}

impl Lenient {
    /// `self` with `rule` switched off.
    pub fn with(mut self, rule: LenientRule) -> Self {
        match rule {
            LenientRule::Totals => self.totals = true,
            LenientRule::Amounts => self.amounts = true,
            LenientRule::Iban => self.iban = true,
        }
        self
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
    /// State changes for the webhooks.
    pub events: Events,
    /// The mock's own rules a client switched off (none by default).
    pub lenient: Lenient,
    /// v2's runtime state (usage counters).
    pub v2: crate::v2::conv::SharedRuntime,
    /// The origin the world was last called at (for the `href`s of what the time-driven rules
    /// emit).
    pub origin: crate::lifecycle::LastOrigin,
}

impl AppState {
    /// The current time at paywise's precision (microseconds).
    pub fn now(&self) -> DateTime<Utc> {
        micros(self.clock.now())
    }

    /// Reports a state change of `kind` in `scope` with `data` (a v1 change: v2's feed and
    /// webhooks get its v2 events too, see `crate::v2::events::bridge_v1`). Called after the
    /// change's write, never inside one.
    pub fn emit(&self, scope: Scope, kind: &str, data: serde_json::Value) {
        crate::v2::events::bridge_v1(self, scope, kind, &data);
        self.events.emit(Event {
            scope,
            kind: kind.to_string(),
            data,
            at: self.now(),
        });
    }
}

/// The authenticated caller.
///
/// A Case Management key acts for its own company. A Partner API key works only on
/// `/partner/v1/`, except that with `X-User-Id: <id of a user the partner created>` it acts on
/// Case Management calls for that user's company (in the key's access mode), provided the company
/// completed its data submission and the user verified their e-mail address; otherwise 403. A Case
/// Management key on `/partner/v1/` is 403.
#[derive(Debug, Clone)]
pub struct Caller {
    /// What the token is (for a partner acting through `X-User-Id`, with the company's scope).
    pub grant: Grant,
    /// The partner-created user a partner key acts for (`X-User-Id`), if any.
    pub acting_user: Option<uuid::Uuid>,
}

impl Caller {
    /// The scope the caller reads and writes.
    pub fn scope(&self) -> Scope {
        self.grant.scope
    }
}

/// 403 with DRF's default permission message.
pub fn forbidden() -> PaywiseError {
    PaywiseError::Detail(
        axum::http::StatusCode::FORBIDDEN,
        "You do not have permission to perform this action.".into(),
    )
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = PaywiseError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let mut grant = state
            .tokens
            .authenticate(&parts.headers)
            .map_err(PaywiseError::unauthenticated)?;
        let path = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or_else(|| parts.uri.path().to_string(), |o| o.0.path().to_string());
        if path.starts_with("/partner/") {
            if grant.partner.is_none() {
                return Err(forbidden());
            }
            return Ok(Caller {
                grant,
                acting_user: None,
            });
        }
        let Some(key) = grant.partner.clone() else {
            return Ok(Caller {
                grant,
                acting_user: None,
            });
        };
        let header = parts.headers.get("x-user-id").and_then(|v| v.to_str().ok());
        let (company, user) = resources::partner::act_for(state, &key, header)?;
        grant.scope.company = company;
        Ok(Caller {
            grant,
            acting_user: Some(user),
        })
    }
}
