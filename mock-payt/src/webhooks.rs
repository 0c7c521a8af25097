//! Payt webhooks: subscriptions, the events of state changes (made through the API or by time),
//! signed deliveries with retries on the mock's clock, and a delivery log.
//!
//! Payt's webhooks are configured in its interface, not through the Customer API, so the mock
//! sets them through its control API (`/_mock/payt/webhooks`) or `--payt-webhook URL`. From
//! `reference/payt.md` 2.10 and 4.3:
//!
//! - a delivery is a `POST` with a JSON body, `X-PAYT-DELIVERY` (a UUID per attempt),
//!   `X-PAYT-ADMINISTRATION-IDENTIFIER` and `X-PAYT-SIGNATURE`: HMAC-SHA256 of the raw body with
//!   the subscription's secret, hex-encoded; a 10-second timeout per attempt;
//! - every payload carries a `debtor` and an `administration` object (**inferred** shape:
//!   `{"event", "created_at", "administration", "debtor", "<resource>": {...}}`, each object as the
//!   API shows it);
//! - up to 10 attempts with increasing intervals (**inferred**: 1 min, 5 min, 15 min, 1 h, 2 h,
//!   4 h, 8 h, 16 h and 24 h after each failure, on the mock's clock), after which the
//!   subscription is deactivated (`active: false`, `deactivated_at`);
//! - activation is per administration: a subscription names its administrations (or all) and
//!   its event types (or all of section 4.3).
//!
//! Events come from the time-driven rules ([`crate::lifecycle`]: `invoice_step_performed`,
//! `invoice_to_debt_collection`, `case_created`, `case_step_performed`, `case_to_bailiff`,
//! `payment_plan_term_expired`, `payment_plan_deactivated`, `todo_list_item_created`) and from the
//! API (`invoice_created`, `invoice_paid`, `invoice_reopened`, `invoice_payment_created`,
//! `invoice_blocked`, `invoice_resumed`, `payment_plan_created`, `payment_plan_updated`,
//! `payment_plan_deactivated`, `todo_list_item_updated`).

use std::sync::{Arc, Weak};
use std::time::Duration as StdDuration;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use mock_core::delivery::Sender;
use mock_core::{Clock, IdGen, Store};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::PaytError;
use crate::fields::Fields;
use crate::list;
use crate::resources;
use crate::state::{AppState, Db};

/// The event types of `reference/payt.md` 4.3.
pub const EVENTS: &[&str] = &[
    "bundled_reminder_email_bounced",
    "bundled_reminder_letter_returned",
    "bundled_reminder_sent",
    "bundled_reminder_invoice_performed",
    "case_created",
    "case_email_bounced",
    "case_invoice_amount_paid",
    "case_letter_returned",
    "case_new_comment",
    "case_paid",
    "case_reopened",
    "case_step_performed",
    "case_to_bailiff",
    "company_updated",
    "credit_limit_exceeded",
    "creditworthiness_changed",
    "debtor_new_comment",
    "debtor_email_address_provided",
    "debtor_email_address_removed",
    "email_bounced",
    "incoming_ubl_received",
    "invoice_blocked",
    "invoice_call_reminder_performed",
    "invoice_closed",
    "invoice_created",
    "invoice_email_bounced",
    "invoice_letter_returned",
    "invoice_new_comment",
    "invoice_paid",
    "invoice_paused",
    "invoice_payment_created",
    "invoice_reopened",
    "invoice_resumed",
    "invoice_sms_failed",
    "invoice_step_performed",
    "invoice_to_debt_collection",
    "invoice_ubl_failed",
    "label_added",
    "label_removed",
    "payment_plan_created",
    "payment_plan_deactivated",
    "payment_plan_finished",
    "payment_plan_term_expired",
    "payment_plan_updated",
    "psp_mandate_created",
    "psp_mandate_revoked",
    "psp_transaction_charged_back",
    "psp_transaction_successful",
    "psp_transaction_refunded",
    "todo_list_item_created",
    "todo_list_item_updated",
    "todo_list_item_deleted",
];

/// How many attempts a delivery gets.
pub(crate) const MAX_ATTEMPTS: usize = 10;

/// The wait after each failed attempt (the last failure deactivates the subscription).
pub const RETRY_AFTER: [Duration; MAX_ATTEMPTS - 1] = [
    Duration::minutes(1),
    Duration::minutes(5),
    Duration::minutes(15),
    Duration::hours(1),
    Duration::hours(2),
    Duration::hours(4),
    Duration::hours(8),
    Duration::hours(16),
    Duration::hours(24),
];

/// How long one attempt may take.
pub(crate) const TIMEOUT: StdDuration = StdDuration::from_secs(10);

/// Where a subscription's secret comes from when none is given.
pub const DEFAULT_SECRET: &str = "payt_webhook_secret";

/// A webhook subscription (mock-side; Payt configures them in its interface).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    /// Its id.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Where deliveries go.
    pub url: String,
    /// The HMAC key of `X-PAYT-SIGNATURE`.
    pub secret: String,
    /// The administrations it is active for (empty: all).
    pub administration_ids: Vec<u64>,
    /// The event types it receives (empty: all).
    pub events: Vec<String>,
    /// Whether it receives deliveries.
    pub active: bool,
    /// When ten failed attempts deactivated it.
    pub deactivated_at: Option<DateTime<Utc>>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

mock_core::unscoped_record!(Subscription);

/// Where a subscription stands. It has no state field: the state is read from `active` and
/// `deactivated_at` ([`SubscriptionState::of`]) and written back by [`Subscription::apply`].
///
/// | state | fields | on | becomes |
/// |---|---|---|---|
/// | active | `active` true | [`SubscriptionEvent::Pause`] (`PATCH {"active": false}`) | paused |
/// | paused | `active` false, `deactivated_at` null | [`SubscriptionEvent::Activate`] (`PATCH {"active": true}`) | active |
/// | deactivated | `active` false, `deactivated_at` set | [`SubscriptionEvent::Activate`] | active |
/// | any | | [`SubscriptionEvent::GiveUp`] (a delivery's last attempt failed) | deactivated |
///
/// Pausing a paused or deactivated subscription changes nothing (a deactivated one keeps its
/// `deactivated_at`); activating an active one changes nothing either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubscriptionState {
    /// Receives deliveries.
    Active,
    /// Switched off through the control API.
    Paused,
    /// Switched off by ten failed attempts of a delivery.
    Deactivated,
}

/// What happens to a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionEvent {
    /// `PATCH {"active": true}`.
    Activate,
    /// `PATCH {"active": false}`.
    Pause,
    /// The last attempt of one of its deliveries failed.
    GiveUp,
}

impl SubscriptionState {
    /// Every state.
    pub const ALL: [SubscriptionState; 3] = [Self::Active, Self::Paused, Self::Deactivated];

    /// The state `s`'s fields describe.
    pub fn of(s: &Subscription) -> SubscriptionState {
        match (s.active, s.deactivated_at) {
            (true, _) => Self::Active,
            (false, None) => Self::Paused,
            (false, Some(_)) => Self::Deactivated,
        }
    }

    /// The state `event` leads to from this one; `None` if it changes nothing.
    pub fn after(self, event: SubscriptionEvent) -> Option<SubscriptionState> {
        match (self, event) {
            (Self::Paused | Self::Deactivated, SubscriptionEvent::Activate) => Some(Self::Active),
            (Self::Active, SubscriptionEvent::Pause) => Some(Self::Paused),
            (_, SubscriptionEvent::GiveUp) => Some(Self::Deactivated),
            (Self::Active, SubscriptionEvent::Activate)
            | (Self::Paused | Self::Deactivated, SubscriptionEvent::Pause) => None,
        }
    }
}

impl Subscription {
    /// Moves the subscription on `event` at `at` if its state allows it (setting `active` and
    /// `deactivated_at` for the new state); whether it moved.
    pub fn apply(&mut self, event: SubscriptionEvent, at: DateTime<Utc>) -> bool {
        let Some(to) = SubscriptionState::of(self).after(event) else {
            return false;
        };
        match to {
            SubscriptionState::Active => {
                self.active = true;
                self.deactivated_at = None;
            }
            SubscriptionState::Paused => self.active = false,
            SubscriptionState::Deactivated => {
                self.active = false;
                self.deactivated_at = Some(at);
            }
        }
        true
    }

    fn wants(&self, admin: u64, event: &str) -> bool {
        SubscriptionState::of(self) == SubscriptionState::Active
            && (self.administration_ids.is_empty() || self.administration_ids.contains(&admin))
            && (self.events.is_empty() || self.events.iter().any(|e| e == event))
    }

    fn render(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "url": self.url,
            "secret": self.secret,
            "administration_ids": self.administration_ids.iter().map(u64::to_string).collect::<Vec<_>>(),
            "events": self.events,
            "active": self.active,
            "deactivated_at": self.deactivated_at.map(mock_core::control::timestamp),
            "created_at": mock_core::control::timestamp(self.created_at),
        })
    }
}

/// One attempt of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// Its `X-PAYT-DELIVERY`.
    pub delivery: String,
    /// When it was made (mock clock).
    pub at: DateTime<Utc>,
    /// The receiver's status, if it answered.
    pub status_code: Option<u16>,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// One event on its way to one subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// Its id.
    pub id: u64,
    /// The subscription.
    pub subscription_id: u64,
    /// The administration the event belongs to.
    pub administration_id: u64,
    /// The event type.
    pub event: String,
    /// The raw body (signed as is).
    pub body: String,
    /// Where the delivery stands; moved only by [`DeliveryStatus::after`].
    pub status: DeliveryStatus,
    /// Every attempt, oldest first.
    pub attempts: Vec<Attempt>,
    /// When the next attempt is due (mock clock), while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Whether an attempt is under way (not kept across restarts).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_flight: bool,
    /// When the event happened.
    pub created_at: DateTime<Utc>,
}

/// Where a delivery stands. Serialized (the delivery log, the storage form) as `pending`,
/// `delivered` or `failed`.
///
/// | status | on | becomes |
/// |---|---|---|
/// | pending | an attempt the receiver accepts ([`DeliveryEvent::Accepted`]) | delivered |
/// | pending | the last attempt failing, or its subscription gone ([`DeliveryEvent::GaveUp`]) | failed |
/// | any | a redelivery asked for on the control API ([`DeliveryEvent::Redeliver`]) | pending |
///
/// A failed attempt with attempts left keeps a delivery pending (only its `next_attempt_at`
/// moves); a delivered or failed delivery moves only when redelivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (or in one).
    Pending,
    /// The receiver accepted an attempt.
    Delivered,
    /// Every attempt failed, or its subscription is gone.
    Failed,
}

/// What happens to a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryEvent {
    /// The receiver answered an attempt with a 2xx.
    Accepted,
    /// No attempt is left, or the subscription was removed.
    GaveUp,
    /// Redelivery was asked for.
    Redeliver,
}

impl DeliveryStatus {
    /// Every status, in the order the control API names them.
    pub const ALL: [DeliveryStatus; 3] = [Self::Pending, Self::Delivered, Self::Failed];

    /// The status a delivery in this one moves to on `event`; `None` if it does not move.
    pub fn after(self, event: DeliveryEvent) -> Option<DeliveryStatus> {
        match (self, event) {
            (Self::Pending, DeliveryEvent::Accepted) => Some(Self::Delivered),
            (Self::Pending, DeliveryEvent::GaveUp) => Some(Self::Failed),
            (_, DeliveryEvent::Redeliver) => Some(Self::Pending),
            (Self::Delivered | Self::Failed, DeliveryEvent::Accepted | DeliveryEvent::GaveUp) => None,
        }
    }

    /// Its name on the control API and in the storage form.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    /// The status named `name`, if there is one.
    pub fn parse(name: &str) -> Option<DeliveryStatus> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl Delivery {
    /// Moves the delivery on `event` if its status allows it; whether it moved.
    fn apply(&mut self, event: DeliveryEvent) -> bool {
        match self.status.after(event) {
            Some(next) => {
                self.status = next;
                true
            }
            None => false,
        }
    }
}

mock_core::unscoped_record!(Delivery);

impl Delivery {
    fn render(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "subscription_id": self.subscription_id.to_string(),
            "administration_id": self.administration_id.to_string(),
            "event": self.event,
            "status": self.status,
            "attempts": self.attempts.iter().map(|a| json!({
                "delivery": a.delivery,
                "at": mock_core::control::timestamp(a.at),
                "status_code": a.status_code,
                "error": a.error,
            })).collect::<Vec<_>>(),
            "next_attempt_at": self.next_attempt_at.map(mock_core::control::timestamp),
            "created_at": mock_core::control::timestamp(self.created_at),
            // The body is the JSON `emit` wrote; one that is not (a hand-edited state file) is
            // shown as the text it is rather than as null.
            "payload": serde_json::from_str::<Value>(&self.body).unwrap_or_else(|_| Value::String(self.body.clone())),
        })
    }
}

/// `X-PAYT-SIGNATURE` of `body` under `secret`: HMAC-SHA256, hex.
pub fn signature(secret: &str, body: &[u8]) -> String {
    hex::encode(mock_core::delivery::hmac_sha256(secret.as_bytes(), &[body]))
}

/// The record `resource` `id` of `admin` as the API shows it, and its debtor's id; `None` if
/// there is no such record.
fn record(db: &Db, admin: u64, resource: &str, id: &str) -> Option<Result<(Value, Option<u64>), PaytError>> {
    let f = Fields::Default;
    match resource {
        "invoice" => db.invoices.get(&admin, id).map(|r| {
            let overrides = r.view_overrides(db);
            list::entity_with(r, &overrides, &f, resources::invoices::OPT_IN).map(|v| (v, Some(r.debtor_id)))
        }),
        "credit_case" => db
            .credit_cases
            .get(&admin, id)
            .map(|r| list::entity(r, &f, resources::credit_cases::OPT_IN).map(|v| (v, Some(r.debtor_id)))),
        "payment_plan" => db
            .payment_plans
            .get(&admin, id)
            .map(|r| list::entity(r, &f, resources::payment_plans::OPT_IN).map(|v| (v, Some(r.debtor_id)))),
        "task" => db
            .tasks
            .get(&admin, id)
            .map(|r| list::entity(r, &f, resources::tasks::OPT_IN).map(|v| (v, r.debtor_id))),
        _ => None,
    }
}

/// The body of `event` about `resource` `id` of `admin`: the record, its administration and
/// debtor as the API shows them. `None` if there is no such record.
fn payload(
    db: &Db,
    now: DateTime<Utc>,
    admin: u64,
    event: &str,
    resource: &str,
    id: &str,
) -> Option<Result<String, PaytError>> {
    let (data, debtor_id) = match record(db, admin, resource, id)? {
        Ok(found) => found,
        Err(e) => return Some(Err(e)),
    };
    let administration = db
        .administrations
        .get(&(), &admin.to_string())
        .map(|a| list::entity(a, &Fields::Default, resources::administrations::OPT_IN))
        .transpose();
    let debtor = debtor_id
        .and_then(|d| db.debtors.get(&admin, &d.to_string()))
        .map(|d| list::entity(d, &Fields::Default, resources::debtors::OPT_IN))
        .transpose();
    let (administration, debtor) = match (administration, debtor) {
        (Ok(a), Ok(d)) => (a, d),
        (Err(e), _) | (_, Err(e)) => return Some(Err(e)),
    };
    let mut payload = json!({
        "event": event,
        "created_at": crate::format::timestamp(&now),
        "administration": administration,
        "debtor": debtor,
    });
    payload[resource] = data;
    Some(Ok(payload.to_string()))
}

/// Queues `event` about `resource` `id` of administration `admin` for every subscription that
/// wants it (inside the write that made the change, so the payload is the record as changed).
/// A record that cannot be written out (none of the mock's can fail) queues nothing and is
/// logged as an error.
pub fn emit(db: &mut Db, ids: &IdGen, now: DateTime<Utc>, admin: u64, event: &str, resource: &str, id: &str) {
    let wanted: Vec<u64> = db
        .webhooks
        .iter(&())
        .filter(|s| s.wants(admin, event))
        .map(|s| s.id)
        .collect();
    if wanted.is_empty() {
        return;
    }
    let body = match payload(db, now, admin, event, resource, id) {
        None => return,
        Some(Ok(body)) => body,
        Some(Err(e)) => {
            tracing::error!("cannot write the {event} payload of {resource} {id}: {e}");
            return;
        }
    };
    for subscription_id in wanted {
        let delivery = Delivery {
            id: ids.next_seq(),
            subscription_id,
            administration_id: admin,
            event: event.to_string(),
            body: body.clone(),
            status: DeliveryStatus::Pending,
            attempts: Vec::new(),
            next_attempt_at: Some(now),
            in_flight: false,
            created_at: now,
        };
        if let Err(e) = db.webhook_deliveries.insert(delivery) {
            tracing::error!("cannot queue the {event} delivery: {e}");
        }
    }
}

/// A subscription made at start (`--payt-webhook`), in every world.
pub fn configured(id: u64, url: &str, secret: &str, now: DateTime<Utc>) -> Subscription {
    Subscription {
        id,
        url: url.to_string(),
        secret: secret.to_string(),
        administration_ids: Vec::new(),
        events: Vec::new(),
        active: true,
        deactivated_at: None,
        created_at: now,
    }
}

// ------------------------------------------------------------------------------------------------
// Delivering

/// Starts this world's dispatcher: every 50 ms (wall time) it makes the attempts due on the
/// mock's clock. It ends once the world's store is dropped.
pub fn start_background(state: &AppState) {
    let weak = Arc::downgrade(&state.store);
    let clock = state.clock.clone();
    let ids = state.ids.clone();
    let sender = Sender::from_defaults();
    mock_core::delivery::spawn_dispatcher(move || {
        let (weak, clock, ids, sender) = (weak.clone(), clock.clone(), ids.clone(), sender.clone());
        async move { attempt_due(&weak, &clock, &ids, &sender).await }
    });
}

/// Makes every attempt due now; false once the world is gone.
async fn attempt_due(weak: &Weak<Store<Db>>, clock: &Clock, ids: &Arc<IdGen>, sender: &Sender) -> bool {
    let Some(store) = weak.upgrade() else {
        return false;
    };
    let now = clock.now();
    let is_due = |d: &Delivery| {
        d.status == DeliveryStatus::Pending && !d.in_flight && d.next_attempt_at.is_some_and(|t| t <= now)
    };
    // Looked at under the read lock first: a tick with nothing due writes nothing (the revision,
    // which the state file and the control plane watch, stays where it is).
    if !store.read(|db| db.webhook_deliveries.iter(&()).any(is_due)) {
        return true;
    }
    // Claim what is due (marking it in flight), with what each attempt needs.
    let due: Vec<(u64, String, String, String, u64)> = store.write(|db| {
        let keys: Vec<u64> = db
            .webhook_deliveries
            .iter(&())
            .filter(|d| is_due(d))
            .map(|d| d.id)
            .collect();
        let mut out = Vec::new();
        for id in keys {
            let Some(d) = db.webhook_deliveries.get(&(), &id.to_string()).cloned() else {
                continue;
            };
            let Some(s) = db.webhooks.get(&(), &d.subscription_id.to_string()).cloned() else {
                db.webhook_deliveries.update(&(), &id.to_string(), |d| {
                    d.apply(DeliveryEvent::GaveUp);
                    d.next_attempt_at = None;
                });
                continue;
            };
            if SubscriptionState::of(&s) != SubscriptionState::Active {
                continue;
            }
            db.webhook_deliveries
                .update(&(), &id.to_string(), |d| d.in_flight = true);
            out.push((id, s.url, s.secret, d.body, d.administration_id));
        }
        out
    });
    drop(store);
    for (id, url, secret, body, admin) in due {
        let delivery = ids.uuid().to_string();
        let headers = [
            ("User-Agent", "Payt-Webhooks/1.0 (mock)".to_string()),
            ("X-PAYT-DELIVERY", delivery.clone()),
            ("X-PAYT-ADMINISTRATION-IDENTIFIER", admin.to_string()),
            ("X-PAYT-SIGNATURE", signature(&secret, body.as_bytes())),
        ];
        let at = clock.now();
        let result = sender.post_json(&url, &headers, body.as_bytes(), TIMEOUT).await;
        let Some(store) = weak.upgrade() else {
            return false;
        };
        store.write(|db| record_attempt(db, id, delivery, at, result));
    }
    true
}

fn record_attempt(
    db: &mut Db,
    id: u64,
    delivery: String,
    at: DateTime<Utc>,
    result: Result<mock_core::delivery::Answer, String>,
) {
    let (status_code, error, ok) = match result {
        Ok(a) if a.is_success() => (Some(a.status), None, true),
        Ok(a) => (
            Some(a.status),
            Some(format!("The receiver answered {}.", a.status)),
            false,
        ),
        Err(e) => (None, Some(e), false),
    };
    let Some(subscription) = db.webhook_deliveries.update(&(), &id.to_string(), |d| {
        d.in_flight = false;
        d.attempts.push(Attempt {
            delivery,
            at,
            status_code,
            error,
        });
        if ok {
            d.apply(DeliveryEvent::Accepted);
            d.next_attempt_at = None;
            None
        } else if let Some(wait) = RETRY_AFTER.get(d.attempts.len() - 1) {
            d.next_attempt_at = Some(at + *wait);
            None
        } else {
            d.apply(DeliveryEvent::GaveUp);
            d.next_attempt_at = None;
            Some(d.subscription_id)
        }
    }) else {
        return;
    };
    if let Some(s) = subscription {
        db.webhooks.update(&(), &s.to_string(), |s| {
            s.apply(SubscriptionEvent::GiveUp, at);
        });
    }
}

// ------------------------------------------------------------------------------------------------
// The control routes (mock only)

/// `/_mock/payt/webhooks`: subscriptions and the delivery log.
pub fn control_router() -> Router<AppState> {
    Router::new()
        .route("/_mock/payt/webhooks", get(list_subscriptions).post(create))
        .route("/_mock/payt/webhooks/{id}", get(show).patch(update).delete(remove))
        .route("/_mock/payt/webhook-deliveries", get(list_deliveries))
        .route("/_mock/payt/webhook-deliveries/{id}/redeliver", post(redeliver))
}

/// A refused control request, answered `{"error": {"code", "message"}}` as the core's control API.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"error": {"code": self.code, "message": self.message}})),
        )
            .into_response()
    }
}

fn bad(message: impl Into<String>) -> Refusal {
    Refusal {
        status: StatusCode::BAD_REQUEST,
        code: "invalid_request",
        message: message.into(),
    }
}

fn not_found(what: &str, id: &str) -> Refusal {
    Refusal {
        status: StatusCode::NOT_FOUND,
        code: "not_found",
        message: format!("there is no webhook {what} {id}"),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSubscription {
    url: String,
    secret: Option<String>,
    #[serde(default)]
    administration_ids: Vec<Value>,
    #[serde(default)]
    events: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Change {
    active: Option<bool>,
    url: Option<String>,
    events: Option<Vec<String>>,
}

fn read<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Refusal> {
    mock_core::body::scan_json(bytes, mock_core::body::JSON_LIMITS)
        .map_err(|e| bad(format!("cannot read the body: {e}")))?;
    serde_json::from_slice(bytes).map_err(|e| bad(format!("cannot read the body: {e}")))
}

fn check_events(events: &[String]) -> Result<(), Refusal> {
    match events.iter().find(|e| !EVENTS.contains(&e.as_str())) {
        Some(e) => Err(bad(format!(
            "{e:?} is not a Payt webhook event; one of: {}",
            EVENTS.join(", ")
        ))),
        None => Ok(()),
    }
}

fn check_url(url: &str) -> Result<(), Refusal> {
    mock_core::delivery::check_url(url).map(|_| ()).map_err(bad)
}

async fn list_subscriptions(State(state): State<AppState>) -> Json<Value> {
    let all: Vec<Value> = state
        .store
        .read(|db| db.webhooks.iter(&()).map(Subscription::render).collect());
    Json(json!({ "subscriptions": all }))
}

async fn create(State(state): State<AppState>, body: axum::body::Bytes) -> Result<Response, Refusal> {
    let new: NewSubscription = read(&body)?;
    check_url(&new.url)?;
    check_events(&new.events)?;
    let mut admins = Vec::new();
    for a in &new.administration_ids {
        let id = match a {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => crate::params::parse_id(s),
            _ => None,
        };
        admins.push(id.ok_or_else(|| bad(format!("administration_ids: {a} is not an administration id")))?);
    }
    let now = state.now();
    let subscription = Subscription {
        id: state.ids.next_seq(),
        url: new.url,
        secret: new
            .secret
            .unwrap_or_else(|| format!("whsec_{}", mock_core::ids::secret_hex(32))),
        administration_ids: admins,
        events: new.events,
        active: true,
        deactivated_at: None,
        created_at: now,
    };
    let rendered = subscription.render();
    state
        .store
        .write(|db| db.webhooks.insert(subscription))
        .map_err(|e| Refusal {
            status: StatusCode::CONFLICT,
            code: "conflict",
            message: e.to_string(),
        })?;
    Ok((StatusCode::CREATED, Json(rendered)).into_response())
}

async fn show(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, Refusal> {
    state
        .store
        .read(|db| db.webhooks.get(&(), &id).map(Subscription::render))
        .map(Json)
        .ok_or_else(|| not_found("subscription", &id))
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, Refusal> {
    let change: Change = read(&body)?;
    if let Some(u) = &change.url {
        check_url(u)?;
    }
    if let Some(e) = &change.events {
        check_events(e)?;
    }
    let now = state.now();
    state
        .store
        .write(|db| {
            db.webhooks.update(&(), &id, |s| {
                if let Some(active) = change.active {
                    let event = if active {
                        SubscriptionEvent::Activate
                    } else {
                        SubscriptionEvent::Pause
                    };
                    s.apply(event, now);
                }
                if let Some(u) = change.url {
                    s.url = u;
                }
                if let Some(e) = change.events {
                    s.events = e;
                }
                s.render()
            })
        })
        .map(Json)
        .ok_or_else(|| not_found("subscription", &id))
}

async fn remove(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, Refusal> {
    state
        .store
        .write(|db| db.webhooks.remove(&(), &id))
        .map(|_| StatusCode::NO_CONTENT)
        .ok_or_else(|| not_found("subscription", &id))
}

async fn list_deliveries(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Json<Value>, Refusal> {
    let q = mock_core::query::QueryParams::parse(raw.as_deref());
    let subscription = q.get("subscription_id").map(str::to_string);
    let status = match q.get("status") {
        None => None,
        Some(s) => Some(DeliveryStatus::parse(s).ok_or_else(|| {
            let names: Vec<&str> = DeliveryStatus::ALL.iter().map(|s| s.name()).collect();
            bad(format!("status {s:?} is not one of {}", names.join(", ")))
        })?),
    };
    let event = q.get("event").map(str::to_string);
    let all: Vec<Value> = state.store.read(|db| {
        db.webhook_deliveries
            .iter(&())
            .filter(|d| {
                subscription
                    .as_ref()
                    .is_none_or(|s| *s == d.subscription_id.to_string())
            })
            .filter(|d| status.is_none_or(|s| s == d.status))
            .filter(|d| event.as_ref().is_none_or(|e| *e == d.event))
            .map(Delivery::render)
            .collect()
    });
    Ok(Json(json!({ "deliveries": all })))
}

async fn redeliver(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, Refusal> {
    let now = state.now();
    let found = state.store.write(|db| {
        db.webhook_deliveries.update(&(), &id, |d| {
            d.apply(DeliveryEvent::Redeliver);
            d.next_attempt_at = Some(now);
            d.render()
        })
    });
    let d = found.ok_or_else(|| not_found("delivery", &id))?;
    Ok((StatusCode::ACCEPTED, Json(d)).into_response())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use chrono::{TimeZone, Utc};

    use super::{DeliveryEvent, DeliveryStatus, SubscriptionEvent, SubscriptionState};

    fn subscription_event() -> impl Strategy<Value = SubscriptionEvent> {
        prop_oneof![
            Just(SubscriptionEvent::Activate),
            Just(SubscriptionEvent::Pause),
            Just(SubscriptionEvent::GiveUp),
        ]
    }

    fn event() -> impl Strategy<Value = DeliveryEvent> {
        prop_oneof![
            Just(DeliveryEvent::Accepted),
            Just(DeliveryEvent::GaveUp),
            Just(DeliveryEvent::Redeliver),
        ]
    }

    proptest! {
        /// Under any sequence of events a delivery stays in a named status, a refused event
        /// leaves it where it was, and only a redelivery moves a delivered or failed one.
        #[test]
        fn deliveries_move_only_as_allowed(events in proptest::collection::vec(event(), 0..64)) {
            let mut status = DeliveryStatus::Pending;
            for e in events {
                let before = status;
                match status.after(e) {
                    Some(next) => status = next,
                    None => prop_assert_ne!(before, DeliveryStatus::Pending),
                }
                prop_assert!(DeliveryStatus::ALL.contains(&status));
                if before != DeliveryStatus::Pending && e != DeliveryEvent::Redeliver {
                    prop_assert_eq!(status, before);
                }
            }
        }
    }

    proptest! {
        /// Under any sequence of events a subscription's fields describe one of its states, the
        /// one the table names, and an event that changes nothing leaves every field as it was.
        #[test]
        fn subscriptions_move_only_as_allowed(events in proptest::collection::vec(subscription_event(), 0..64)) {
            let t0 = Utc.timestamp_opt(1_700_000_000, 0).single().unwrap_or_default();
            let mut s = super::configured(1, "http://127.0.0.1:9/hook", "s", t0);
            for (i, e) in events.into_iter().enumerate() {
                let before = s.clone();
                let from = SubscriptionState::of(&s);
                let at = t0 + chrono::Duration::seconds(i as i64 + 1);
                if s.apply(e, at) {
                    prop_assert_eq!(Some(SubscriptionState::of(&s)), from.after(e));
                } else {
                    prop_assert_eq!(from.after(e), None);
                    prop_assert_eq!(&s, &before);
                }
                prop_assert!(SubscriptionState::ALL.contains(&SubscriptionState::of(&s)));
                // Only an active subscription receives deliveries.
                prop_assert_eq!(s.wants(81, "invoice_paid"), SubscriptionState::of(&s) == SubscriptionState::Active);
            }
        }
    }

    #[test]
    fn a_payload_that_is_not_json_is_shown_as_its_text() {
        let t0 = Utc.timestamp_opt(1_700_000_000, 0).single().unwrap_or_default();
        let mut d = super::Delivery {
            id: 1,
            subscription_id: 2,
            administration_id: 81,
            event: "invoice_paid".into(),
            body: r#"{"event":"invoice_paid"}"#.into(),
            status: DeliveryStatus::Pending,
            attempts: Vec::new(),
            next_attempt_at: None,
            in_flight: false,
            created_at: t0,
        };
        assert_eq!(d.render()["payload"], serde_json::json!({"event": "invoice_paid"}));
        d.body = "not json".into();
        assert_eq!(d.render()["payload"], serde_json::json!("not json"));
    }

    #[test]
    fn status_names_round_trip() {
        for s in DeliveryStatus::ALL {
            let json = serde_json::to_value(s).expect("a status serializes");
            assert_eq!(json, serde_json::Value::String(s.name().to_string()));
            assert_eq!(serde_json::from_value::<DeliveryStatus>(json).ok(), Some(s));
            assert_eq!(DeliveryStatus::parse(s.name()), Some(s));
        }
        assert_eq!(DeliveryStatus::parse("done"), None);
    }
}
