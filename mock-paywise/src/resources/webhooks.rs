//! Webhook endpoints (`/v1/webhooks/`) and the delivery of events to them.
//!
//! Documented by paywise: `GET/POST /v1/webhooks/`, `GET/PATCH/DELETE /v1/webhooks/{id}/`, the
//! endpoint object, the event types, the delivery headers, the signature, the body envelope, the
//! 30 s timeout, the retry schedule (1, 5 and 15 minutes) and the auto-disable after
//! `max_consecutive_failures`.
//!
//! **Inferred** (paywise has a test-event and a delivery-inspection endpoint, but their paths were
//! never captured):
//! - `POST /v1/webhooks/{id}/test/` with an optional body `{"event": "<event type>"}` queues one
//!   delivery of a sample event to that endpoint (201, the delivery);
//! - `GET /v1/webhooks/{id}/deliveries/` (DRF page, filters `status` and `event`) and
//!   `GET /v1/webhooks/{id}/deliveries/{delivery_id}/`.
//!
//! Delivery runs in a background task started by [`start_background`]: it receives every event
//! the handlers emit, records one [`Delivery`] per enabled endpoint of the event's company and
//! access mode that subscribed to the event type, and sends each in its own task, so a slow
//! receiver never slows the API. Retries follow the mock's [`mock_core::Clock`], not wall time: a
//! tick every 50 ms sends whatever is due, so advancing the clock by a minute makes the first
//! retry happen. The 30 s timeout also counts on the mock's clock (and on wall time, whichever
//! passes first).
//!
//! Each dispatcher sends with one [`mock_core::delivery::Sender`] (reqwest on rustls, shared by
//! all its attempts): `https://` URLs, and `http://` URLs on loopback hosts (which only the mock
//! accepts, for local receivers). It trusts the public roots and, if set, the certificates of
//! `--webhook-ca-file` (`MOCK_WEBHOOK_CA_FILE`), or any certificate with `--webhook-insecure`; a
//! receiver whose certificate is not trusted is a failed attempt whose error says so.

use mock_core::server::JsonBytes;
use mock_core::store::Hint;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use mock_core::delivery::{Answer, Sender, TlsOptions, is_loopback};
use mock_core::{Clock, IdGen, Store};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use url::{Host, Url};
use uuid::Uuid;

use crate::error::PaywiseError;
use crate::format::{micros, timestamp};
use crate::list::{self, Filters, JsonBody, Origin, Resource};
use crate::state::{AppState, Caller, Db, Event, Scope};
use crate::states::Machine as _;
use crate::validate::{NOT_NULL, OPT, OPT_NOT_NULL, Obj, REQUIRED, Spec};

/// Every event type an endpoint can subscribe to.
pub const EVENT_TYPES: &[&str] = &[
    "mandate.created",
    "mandate.updated",
    "mandate.status_updated",
    "mandate.closed",
    "mandate.balance_updated",
    "mandate.message_created",
    "claim.created",
    "claim.updated",
    "payment.created",
    "payment.updated",
    "statement.created",
    "statement.updated",
    "request_to_client.created",
    "request_to_client.answered",
];
/// Every delivery status (paywise shows `pending` and `success`; `failed` is implied).
pub(crate) const DELIVERY_STATUSES: &[&str] = DeliveryStatus::NAMES;

state_enum! {
    /// A v1 delivery's `status`: `pending` until an attempt succeeds (`success`) or the last
    /// attempt fails (`failed`); see [`DeliveryStatus::next`].
    pub enum DeliveryStatus moved by DeliveryEvent {
        /// Waiting for its (next) attempt.
        Pending = "pending",
        /// An attempt succeeded (final).
        Success = "success",
        /// Given up (final).
        Failed = "failed",
    }
}

/// What moves a v1 [`DeliveryStatus`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryEvent {
    /// An attempt got a 2xx answer: `pending -> success`.
    Succeeded,
    /// An attempt failed and another one is scheduled: `pending` stays.
    Retry,
    /// An attempt failed and none follows, or none could be made: `pending -> failed`.
    GiveUp,
}

impl DeliveryStatus {
    /// Where `event` takes a delivery in this status, or `None` where it is refused (a settled
    /// delivery does not move).
    pub fn next(self, event: DeliveryEvent) -> Option<Self> {
        match (self, event) {
            (DeliveryStatus::Pending, DeliveryEvent::Succeeded) => Some(DeliveryStatus::Success),
            (DeliveryStatus::Pending, DeliveryEvent::Retry) => Some(DeliveryStatus::Pending),
            (DeliveryStatus::Pending, DeliveryEvent::GiveUp) => Some(DeliveryStatus::Failed),
            _ => None,
        }
    }
}

state_enum! {
    /// Whether a v1 endpoint receives events (stored and shown as the bool `enabled`); see
    /// [`SubscriptionState::next`].
    pub enum SubscriptionState moved by SubscriptionEvent {
        /// Events are delivered.
        Enabled = "enabled",
        /// Switched off, by a PATCH or after `max_consecutive_failures` failed attempts in a row.
        Disabled = "disabled",
    }
}

/// What moves a v1 [`SubscriptionState`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionEvent {
    /// A PATCH with `enabled: true`.
    Enable,
    /// A PATCH with `enabled: false`.
    Disable,
    /// The failed attempts in a row reached `max_consecutive_failures`.
    AutoDisable,
}

impl SubscriptionState {
    /// Where `event` takes an endpoint in this state, or `None` where it is refused: an event
    /// that would leave the state as it is (enabling an enabled endpoint, disabling or
    /// auto-disabling a disabled one) is refused, so an accepted `Enable` is a re-enabling.
    pub fn next(self, event: SubscriptionEvent) -> Option<Self> {
        match (self, event) {
            (SubscriptionState::Disabled, SubscriptionEvent::Enable) => Some(SubscriptionState::Enabled),
            (SubscriptionState::Enabled, SubscriptionEvent::Disable | SubscriptionEvent::AutoDisable) => {
                Some(SubscriptionState::Disabled)
            }
            (SubscriptionState::Enabled, SubscriptionEvent::Enable)
            | (SubscriptionState::Disabled, SubscriptionEvent::Disable | SubscriptionEvent::AutoDisable) => None,
        }
    }

    /// The state the bool `enabled` (of a request or the stored form) names.
    pub const fn from_enabled(enabled: bool) -> Self {
        if enabled {
            SubscriptionState::Enabled
        } else {
            SubscriptionState::Disabled
        }
    }

    /// Whether events are delivered (the bool `enabled`).
    pub const fn is_enabled(self) -> bool {
        matches!(self, SubscriptionState::Enabled)
    }
}

/// The stored form of a [`SubscriptionState`]: the bool `enabled`, as before the enum.
mod enabled_flag {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::SubscriptionState;

    pub fn serialize<S: Serializer>(state: &SubscriptionState, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bool(state.is_enabled())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SubscriptionState, D::Error> {
        bool::deserialize(d).map(SubscriptionState::from_enabled)
    }
}

/// The waits before the first, second and third retry.
pub(crate) const RETRY_MINUTES: [i64; 3] = [1, 5, 15];
/// `max_consecutive_failures` unless set.
pub(crate) const DEFAULT_MAX_CONSECUTIVE_FAILURES: i64 = 50;
/// The smallest and largest `max_consecutive_failures`.
pub(crate) const MAX_CONSECUTIVE_FAILURES_RANGE: (i64, i64) = (1, 1000);
/// The longest `url` (Django's `URLField` default).
pub(crate) const URL_MAX_LENGTH: usize = 200;
/// The longest `description` (inferred).
pub(crate) const DESCRIPTION_MAX_LENGTH: usize = 255;
/// The `User-Agent` of every delivery.
pub(crate) const USER_AGENT: &str = "paywise-webhooks/1.0";

/// A webhook endpoint (the API shows it through [`Webhook::render_with`]; `Serialize` is its
/// storage form, which has the secret only in a snapshot).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    /// Creation order (not exposed).
    pub seq: u64,
    /// Company and access mode (`access_mode` is the scope's).
    pub scope: Scope,
    /// Unique identifier.
    pub id: Uuid,
    /// Where events are POSTed.
    pub url: String,
    /// Whether events are delivered (stored as the bool `enabled`).
    #[serde(rename = "enabled", with = "enabled_flag")]
    pub state: SubscriptionState,
    /// Subscribed event types, from [`EVENT_TYPES`].
    pub events: Vec<String>,
    /// The HMAC key; shown only in the create response.
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub secret_key: String,
    /// Free text.
    pub description: String,
    /// Failed attempts in a row after which the endpoint is disabled.
    pub max_consecutive_failures: i64,
    /// Failed attempts in a row so far.
    pub consecutive_failures: i64,
    /// The last failed attempt.
    pub last_failure_at: Option<DateTime<Utc>>,
    /// Creation.
    pub created: DateTime<Utc>,
    /// Last change.
    pub updated: DateTime<Utc>,
}

scoped_record!(Webhook);

fn opt_ts(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| Value::String(timestamp(&t)))
}

impl Webhook {
    /// Whether events are delivered (the API's `enabled`).
    pub fn enabled(&self) -> bool {
        self.state.is_enabled()
    }

    /// The endpoint as the API shows it; `secret_key` only when `with_secret`.
    pub fn render_with(&self, with_secret: bool) -> Value {
        // The endpoint object has no `href` (reference §8 lists its fields).
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("url".into(), json!(self.url));
        m.insert("enabled".into(), json!(self.enabled()));
        m.insert("events".into(), json!(self.events));
        m.insert("access_mode".into(), json!(self.scope.mode));
        if with_secret {
            m.insert("secret_key".into(), json!(self.secret_key));
        }
        m.insert("description".into(), json!(self.description));
        m.insert("max_consecutive_failures".into(), json!(self.max_consecutive_failures));
        m.insert("consecutive_failures".into(), json!(self.consecutive_failures));
        m.insert("last_failure_at".into(), opt_ts(self.last_failure_at));
        m.insert("created".into(), json!(timestamp(&self.created)));
        m.insert("updated".into(), json!(timestamp(&self.updated)));
        Value::Object(m)
    }
}

impl Resource for Webhook {
    fn render(&self, _origin: &Origin) -> Value {
        self.render_with(false)
    }
}

/// One delivery of an event to an endpoint (with all its attempts; the API shows it through its
/// `Resource` rendering, `Serialize` is its storage form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// Creation order (not exposed).
    pub seq: u64,
    /// Company and access mode: the endpoint's.
    pub scope: Scope,
    /// Unique identifier, sent as `X-Paywise-Delivery-ID` (the same on every attempt).
    pub id: Uuid,
    /// The endpoint.
    pub webhook: Uuid,
    /// The event type.
    pub event: String,
    /// Whether it was sent with the test-event endpoint (one attempt, no effect on the endpoint's
    /// failure count).
    pub test: bool,
    /// Where the delivery is.
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// The HTTP status of the last attempt, if one answered.
    pub response_status: Option<u16>,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// When the next attempt is due (pending deliveries only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the last attempt was made.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// Whether an attempt is running now (not exposed).
    pub in_flight: bool,
    /// The exact body sent on every attempt.
    pub body: String,
    /// Creation.
    pub created: DateTime<Utc>,
    /// Last change.
    pub updated: DateTime<Utc>,
}

// A webhook's deliveries are read by webhook.
scoped_record!(Delivery, lookups = |r| vec![("webhook", r.webhook.to_string())]);

impl Delivery {
    /// A new delivery of `body` (an `event`, or a `test` one) to endpoint `webhook` of `scope`:
    /// pending, its first attempt due at `now`.
    fn pending(
        ids: &IdGen,
        scope: Scope,
        webhook: Uuid,
        event: String,
        test: bool,
        body: String,
        now: DateTime<Utc>,
    ) -> Self {
        Delivery {
            seq: ids.next_seq(),
            scope,
            id: ids.uuid(),
            webhook,
            event,
            test,
            status: DeliveryStatus::Pending,
            attempts: 0,
            response_status: None,
            error: None,
            next_attempt_at: Some(now),
            last_attempt_at: None,
            in_flight: false,
            body,
            created: now,
            updated: now,
        }
    }
}

impl Resource for Delivery {
    fn render(&self, origin: &Origin) -> Value {
        // The body is written by `envelope` (JSON by construction); only a hand-edited state
        // file can hold one that does not parse: shown as `null`, and said in the log.
        let payload: Value = serde_json::from_str(&self.body).unwrap_or_else(|e| {
            tracing::warn!(delivery = %self.id, error = %e, "a stored webhook delivery body is not JSON");
            Value::Null
        });
        let mut m = Map::new();
        m.insert(
            "href".into(),
            json!(origin.url(&format!("/v1/webhooks/{}/deliveries/{}/", self.webhook, self.id))),
        );
        m.insert("id".into(), json!(self.id));
        m.insert("webhook".into(), json!(self.webhook));
        m.insert("event".into(), json!(self.event));
        m.insert("test".into(), json!(self.test));
        m.insert("status".into(), json!(self.status));
        m.insert("attempts".into(), json!(self.attempts));
        m.insert("response_status".into(), json!(self.response_status));
        m.insert("error".into(), json!(self.error));
        m.insert("next_attempt_at".into(), opt_ts(self.next_attempt_at));
        m.insert("last_attempt_at".into(), opt_ts(self.last_attempt_at));
        m.insert("payload".into(), payload);
        m.insert("created".into(), json!(timestamp(&self.created)));
        m.insert("updated".into(), json!(timestamp(&self.updated)));
        Value::Object(m)
    }
}

/// The `company_id` paywise puts into event data: the id of the Partner API company with that
/// internal number, or else (the fixture company, which no partner onboarded) a stable UUID
/// derived from the number.
pub fn company_uuid(db: &Db, company: u64) -> Uuid {
    db.partner_company_numbered(company)
        .map_or_else(|| company_id(company), |c| c.id)
}

/// A stable UUID derived from an internal company number.
pub fn company_id(company: u64) -> Uuid {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(b"paywise\0");
    bytes[8..].copy_from_slice(&company.to_be_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// The body of a delivery: `{"event", "timestamp", "data": {"company_id", "access_mode", ...}}`.
pub fn envelope(scope: Scope, company: Uuid, kind: &str, at: DateTime<Utc>, object: &Value) -> String {
    let mut data = Map::new();
    data.insert("company_id".into(), json!(company));
    data.insert("access_mode".into(), json!(scope.mode));
    if let Value::Object(fields) = object {
        for (k, v) in fields {
            if !data.contains_key(k) {
                data.insert(k.clone(), v.clone());
            }
        }
    }
    json!({"event": kind, "timestamp": timestamp(&at), "data": data}).to_string()
}

/// `sha256=<hex HMAC-SHA256(secret_key, body)>`, the `X-Paywise-Signature` value.
pub fn signature(secret_key: &str, body: &[u8]) -> String {
    let mac = mock_core::delivery::hmac_sha256(secret_key.as_bytes(), &[body]);
    format!("sha256={}", hex::encode(mac))
}

// ---------------------------------------------------------------------------------------------
// URLs
// ---------------------------------------------------------------------------------------------

/// Whether `h` (a domain as the `url` crate gives it) is a host name Django's `URLValidator`
/// takes: `localhost`, or labels of letters, digits and inner hyphens (63 at most) under a
/// top-level domain of two letters or more (or a punycode one).
fn valid_hostname(h: &str) -> bool {
    let h = h.strip_suffix('.').unwrap_or(h);
    if h.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let labels: Vec<&str> = h.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    let tld_ok = labels
        .last()
        .is_some_and(|t| (t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic())) || t.starts_with("xn--"));
    labels.len() >= 2 && labels.iter().all(label_ok) && tld_ok
}

/// `s` parsed by the `url` crate if it is an `http` or `https` URL Django's `URLValidator`
/// would accept: no whitespace or control characters, no credentials, a host name it takes or an
/// IP address, no port 0.
fn parse_http_url(s: &str) -> Option<Url> {
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let u = Url::parse(s).ok()?;
    let host_ok = match u.host()? {
        Host::Domain(d) => valid_hostname(d),
        Host::Ipv4(_) | Host::Ipv6(_) => true,
    };
    let ok = matches!(u.scheme(), "http" | "https")
        && host_ok
        && u.username().is_empty()
        && u.password().is_none()
        && u.port() != Some(0);
    ok.then_some(u)
}

/// The error for `url`, if any: DRF's `URLField` messages, plus paywise's HTTPS rule (plain
/// `http` is accepted only for loopback hosts, so tests can run a local receiver).
fn url_error(url: &str) -> Option<String> {
    if url.trim().is_empty() {
        return Some("This field may not be blank.".into());
    }
    if url.chars().count() > URL_MAX_LENGTH {
        return Some(format!(
            "Ensure this field has no more than {URL_MAX_LENGTH} characters."
        ));
    }
    match parse_http_url(url) {
        None => Some("Enter a valid URL.".into()),
        Some(u) if u.scheme() != "https" && !u.host().is_some_and(|h| is_loopback(&h)) => {
            Some("Only HTTPS URLs are allowed.".into())
        }
        Some(_) => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/// What a create or update body sets.
#[derive(Debug, Default)]
struct Changes {
    url: Option<String>,
    enabled: Option<bool>,
    events: Option<Vec<String>>,
    description: Option<String>,
    max_consecutive_failures: Option<i64>,
}

/// Which DRF field reads a list of choices ([`choice_list`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChoiceList {
    /// A `MultipleChoiceField` (an endpoint's `events`): `null` is refused as null, an empty
    /// list as an empty selection, every invalid choice is named, duplicates collapse (the order
    /// is kept).
    Selection,
    /// A `ListField` of a `ChoiceField` (the back office's `allowed_answer_types`): `null` is a
    /// wrong type, an empty list is refused as one, the first invalid choice ends the reading,
    /// duplicates stay.
    List,
}

/// Reads `body[field]`, a list of strings from `choices`, as `kind` says; its errors go to `o`.
pub(crate) fn choice_list(
    o: &mut Obj<'_>,
    body: &Value,
    field: &str,
    choices: &[&str],
    required: bool,
    kind: ChoiceList,
) -> Option<Vec<String>> {
    let items = match body.get(field) {
        None => {
            if required {
                o.error(field, REQUIRED);
            }
            return None;
        }
        Some(Value::Null) if kind == ChoiceList::Selection => {
            o.error(field, NOT_NULL);
            return None;
        }
        Some(Value::Array(items)) => items,
        Some(other) => {
            o.error(
                field,
                format!(
                    "Expected a list of items but got type \"{}\".",
                    crate::validate::py_type(other)
                ),
            );
            return None;
        }
    };
    if items.is_empty() {
        o.error(
            field,
            match kind {
                ChoiceList::Selection => "This selection may not be empty.",
                ChoiceList::List => "This list may not be empty.",
            },
        );
        return None;
    }
    let mut out: Vec<String> = Vec::new();
    let mut ok = true;
    for item in items {
        let s = match item {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if !choices.contains(&s.as_str()) {
            o.error(field, format!("\"{s}\" is not a valid choice."));
            if kind == ChoiceList::List {
                return None;
            }
            ok = false;
        } else if kind == ChoiceList::List || !out.contains(&s) {
            out.push(s);
        }
    }
    ok.then_some(out)
}

fn validate(body: &Value, partial: bool) -> Result<Changes, Value> {
    let mut o = Obj::new(body)?;
    let field = Spec {
        required: !partial,
        nullable: false,
        blank: partial,
    };
    let optional = OPT_NOT_NULL;
    let url = o.string("url", field, None);
    if let Some(u) = &url
        && let Some(e) = url_error(u)
    {
        o.error("url", e);
    }
    let events = choice_list(&mut o, body, "events", EVENT_TYPES, !partial, ChoiceList::Selection);
    let description = o.string("description", optional, Some(DESCRIPTION_MAX_LENGTH));
    let enabled = o.boolean("enabled", optional);
    let max = o.integer("max_consecutive_failures", optional);
    let (lo, hi) = MAX_CONSECUTIVE_FAILURES_RANGE;
    if let Some(n) = max {
        if n < lo {
            o.error(
                "max_consecutive_failures",
                format!("Ensure this value is greater than or equal to {lo}."),
            );
        } else if n > hi {
            o.error(
                "max_consecutive_failures",
                format!("Ensure this value is less than or equal to {hi}."),
            );
        }
    }
    o.finish()?;
    Ok(Changes {
        url,
        enabled,
        events,
        description,
        max_consecutive_failures: max,
    })
}

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks/", get(list).post(create))
        .route("/webhooks/{id}/", get(show).patch(update).delete(destroy))
        .route("/webhooks/{id}/test/", post(send_test))
        .route("/webhooks/{id}/deliveries/", get(list_deliveries))
        .route("/webhooks/{id}/deliveries/{delivery_id}/", get(show_delivery))
}

async fn list(State(state): State<AppState>, caller: Caller, origin: Origin) -> Result<JsonBytes, PaywiseError> {
    let mut f = Filters::new(&origin.query);
    let enabled = f.boolean("enabled");
    f.finish()?;
    let matches = |w: &Webhook| enabled.is_none_or(|e| w.enabled() == e);
    list::list(
        &state,
        &caller,
        &origin,
        enabled.is_some().then_some(&matches as &dyn Fn(&Webhook) -> bool),
        |db| &db.webhooks,
    )
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), PaywiseError> {
    let c = validate(&body, false).map_err(PaywiseError::Validation)?;
    let now = state.now();
    let scope = caller.scope();
    let webhook = state.store.write(|db| {
        let w = Webhook {
            seq: state.ids.next_seq(),
            scope,
            id: state.ids.uuid(),
            url: c.url.unwrap_or_default(),
            state: SubscriptionState::from_enabled(c.enabled.unwrap_or(true)),
            events: c.events.unwrap_or_default(),
            secret_key: mock_core::ids::secret_hex(64),
            description: c.description.unwrap_or_default(),
            max_consecutive_failures: c.max_consecutive_failures.unwrap_or(DEFAULT_MAX_CONSECUTIVE_FAILURES),
            consecutive_failures: 0,
            last_failure_at: None,
            created: now,
            updated: now,
        };
        db.webhooks.insert(w.clone()).map(|()| w)
    });
    let webhook = webhook.map_err(|e| PaywiseError::Detail(StatusCode::CONFLICT, e.to_string()))?;
    Ok((StatusCode::CREATED, Json(webhook.render_with(true))))
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    Path(id): Path<String>,
) -> Result<JsonBytes, PaywiseError> {
    list::show(&state, &caller, &origin, &id, |db| &db.webhooks)
}

/// The id of the caller's webhook endpoint at `raw` (a path segment): 404 when `raw` is no
/// UUID or names no endpoint of `scope`.
fn existing_webhook(state: &AppState, scope: &Scope, raw: &str) -> Result<Uuid, PaywiseError> {
    let id = list::path_uuid(raw)?;
    let exists = state.store.read(|db| db.webhooks.get(scope, &id.to_string()).is_some());
    if !exists {
        return Err(PaywiseError::not_found());
    }
    Ok(id)
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, PaywiseError> {
    let scope = caller.scope();
    let id = existing_webhook(&state, &scope, &id)?;
    let c = validate(&body, true).map_err(PaywiseError::Validation)?;
    let now = state.now();
    let updated = state.store.write(|db| {
        db.webhooks.update(&scope, &id.to_string(), |w| {
            if let Some(url) = c.url {
                w.url = url;
            }
            match c.enabled {
                // Re-enabling starts the failure count afresh.
                Some(true) if w.state.apply(SubscriptionEvent::Enable) => w.consecutive_failures = 0,
                Some(false) => {
                    w.state.apply(SubscriptionEvent::Disable);
                }
                _ => {}
            }
            if let Some(events) = c.events {
                w.events = events;
            }
            if let Some(d) = c.description {
                w.description = d;
            }
            if let Some(m) = c.max_consecutive_failures {
                w.max_consecutive_failures = m;
            }
            w.updated = now;
            w.clone()
        })
    });
    updated
        .map(|w| Json(w.render(&origin)))
        .ok_or_else(PaywiseError::not_found)
}

async fn destroy(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, PaywiseError> {
    let id = list::path_uuid(&id)?;
    let scope = caller.scope();
    let removed = state.store.write(|db| {
        let removed = db.webhooks.remove(&scope, &id.to_string());
        if removed.is_some() {
            let keys: Vec<String> = db
                .deliveries
                .lookup(&scope, "webhook", &id.to_string())
                .map(|d| d.id.to_string())
                .collect();
            for k in keys {
                db.deliveries.remove(&scope, &k);
            }
        }
        removed.is_some()
    });
    if removed {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(PaywiseError::not_found())
    }
}

async fn send_test(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), PaywiseError> {
    let id = list::path_uuid(&id)?;
    let scope = caller.scope();
    let webhook = state
        .store
        .read(|db| db.webhooks.get(&scope, &id.to_string()).cloned())
        .ok_or_else(PaywiseError::not_found)?;
    let mut o = Obj::new(&body).map_err(PaywiseError::Validation)?;
    let kind = o.choice("event", OPT, EVENT_TYPES);
    o.finish().map_err(PaywiseError::Validation)?;
    let kind = kind
        .or_else(|| webhook.events.first().cloned())
        .unwrap_or_else(|| EVENT_TYPES[0].to_string());
    let now = state.now();
    let sample = json!({"id": state.ids.uuid(), "test": true});
    let body = envelope(
        scope,
        state.store.read(|db| company_uuid(db, scope.company)),
        &kind,
        now,
        &sample,
    );
    let delivery = state.store.write(|db| {
        let d = Delivery::pending(&state.ids, scope, webhook.id, kind, true, body, now);
        db.deliveries.insert(d.clone()).map(|()| d)
    });
    let delivery = delivery.map_err(|e| PaywiseError::Detail(StatusCode::CONFLICT, e.to_string()))?;
    Ok((StatusCode::CREATED, Json(delivery.render(&origin))))
}

async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    Path(id): Path<String>,
) -> Result<JsonBytes, PaywiseError> {
    let scope = caller.scope();
    let id = existing_webhook(&state, &scope, &id)?;
    let mut f = Filters::new(&origin.query);
    let status = f
        .choice("status", DELIVERY_STATUSES)
        .and_then(|s| DeliveryStatus::parse(&s));
    let event = f.choice("event", EVENT_TYPES);
    f.finish()?;
    let matches = |d: &Delivery| {
        d.webhook == id
            && status.as_ref().is_none_or(|s| d.status == *s)
            && event.as_ref().is_none_or(|e| &d.event == e)
    };
    let webhook = id.to_string();
    let hint = Hint::Lookup("webhook", &webhook);
    list::list_hinted(&state, &caller, &origin, hint, Some(&matches), |db| &db.deliveries)
}

async fn show_delivery(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    Path((id, delivery_id)): Path<(String, String)>,
) -> Result<Json<Value>, PaywiseError> {
    let id = list::path_uuid(&id)?;
    let delivery_id = list::path_uuid(&delivery_id)?;
    let scope = caller.scope();
    state
        .store
        .read(|db| {
            db.deliveries
                .get(&scope, &delivery_id.to_string())
                .filter(|d| d.webhook == id)
                .map(|d| d.render(&origin))
        })
        .map(Json)
        .ok_or_else(PaywiseError::not_found)
}

// ---------------------------------------------------------------------------------------------
// Delivery
// ---------------------------------------------------------------------------------------------

/// How deliveries are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryOptions {
    /// How long a receiver may take to answer (paywise: 30 s). Counted on the mock's clock and
    /// on wall time; whichever passes it first ends the attempt.
    pub timeout: StdDuration,
    /// How often (wall time) the dispatcher looks for due retries on the mock's clock.
    pub tick: StdDuration,
    /// Which certificates HTTPS receivers may present (default: the public roots only).
    pub tls: TlsOptions,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        Self {
            timeout: StdDuration::from_secs(30),
            tick: StdDuration::from_millis(50),
            tls: TlsOptions::default(),
        }
    }
}

impl DeliveryOptions {
    /// The defaults, with the timeout from `PAYWISE_WEBHOOK_TIMEOUT_SECS` when that is set to a
    /// positive number, and the process-wide TLS options ([`mock_core::delivery::default_tls`]:
    /// `--webhook-ca-file`, `--webhook-insecure` or their environment variables).
    pub fn from_env() -> Self {
        let mut o = Self {
            tls: mock_core::delivery::default_tls(),
            ..Self::default()
        };
        if let Some(secs) = std::env::var("PAYWISE_WEBHOOK_TIMEOUT_SECS")
            .ok()
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
        {
            o.timeout = StdDuration::from_secs_f64(secs);
        }
        o
    }
}

/// What the delivery tasks share. It holds no event sender, so when the last [`AppState`] is
/// dropped the event channel closes and the dispatcher ends.
#[derive(Clone)]
struct Dispatcher {
    store: Arc<Store<Db>>,
    clock: Clock,
    ids: Arc<IdGen>,
    options: Arc<DeliveryOptions>,
    /// The one HTTP(S) client of all this dispatcher's attempts.
    client: Sender,
}

/// Starts the delivery of events to the webhook endpoints (needs a running tokio runtime; without
/// one it does nothing). Options come from [`DeliveryOptions::from_env`].
pub fn start_background(state: &AppState) {
    start_background_with(state, DeliveryOptions::from_env());
}

/// [`start_background`] with explicit options. Calling it again replaces the running dispatcher
/// (the previous one stops once its event channel closes).
pub(crate) fn start_background_with(state: &AppState, options: DeliveryOptions) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!("no tokio runtime: webhook events will not be delivered");
        return;
    };
    let mut rx = state.events.subscribe();
    let d = Dispatcher {
        store: state.store.clone(),
        clock: state.clock.clone(),
        ids: state.ids.clone(),
        client: Sender::new(options.tls.clone()),
        options: Arc::new(options),
    };
    runtime.spawn(async move {
        let mut tick = tokio::time::interval(d.options.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                event = rx.recv() => match event {
                    Some(event) => {
                        d.fan_out(&event);
                        d.run_due();
                    }
                    None => break,
                },
                _ = tick.tick() => d.run_due(),
            }
        }
    });
}

/// How one attempt ended: the receiver's answer, or why there was none.
pub(crate) type Outcome = Result<Answer, String>;

impl Dispatcher {
    fn now(&self) -> DateTime<Utc> {
        micros(self.clock.now())
    }

    /// Records a delivery for every enabled endpoint of the event's scope subscribed to its type.
    fn fan_out(&self, event: &Event) {
        let company = self.store.read(|db| company_uuid(db, event.scope.company));
        let body = envelope(event.scope, company, &event.kind, event.at, &event.data);
        let now = self.now();
        self.store.write(|db| {
            let targets: Vec<Uuid> = db
                .webhooks
                .iter(&event.scope)
                .filter(|w| w.enabled() && w.events.iter().any(|e| e == &event.kind))
                .map(|w| w.id)
                .collect();
            for webhook in targets {
                let d = Delivery::pending(
                    &self.ids,
                    event.scope,
                    webhook,
                    event.kind.clone(),
                    false,
                    body.clone(),
                    now,
                );
                if let Err(e) = db.deliveries.insert(d) {
                    tracing::warn!(error = %e, "cannot record a webhook delivery");
                }
            }
        });
    }

    /// Starts an attempt for every pending delivery that is due on the mock's clock.
    fn run_due(&self) {
        let now = self.clock.now();
        let is_due = |d: &Delivery| {
            d.status == DeliveryStatus::Pending && !d.in_flight && d.next_attempt_at.is_some_and(|t| t <= now)
        };
        // Look first: a tick with nothing due must not count as a write (the state file saves
        // after writes).
        if !self.store.read(|db| db.deliveries.iter_all().any(is_due)) {
            return;
        }
        let due: Vec<(Scope, String)> = self.store.write(|db| {
            let due: Vec<(Scope, String)> = db
                .deliveries
                .iter_all()
                .filter(|d| is_due(d))
                .map(|d| (d.scope, d.id.to_string()))
                .collect();
            for (scope, key) in &due {
                db.deliveries.update(scope, key, |d| d.in_flight = true);
            }
            due
        });
        for (scope, key) in due {
            let d = self.clone();
            tokio::spawn(async move { d.attempt(scope, key).await });
        }
    }

    /// One attempt of one delivery.
    async fn attempt(self, scope: Scope, key: String) {
        let job = self.store.read(|db| {
            let d = db.deliveries.get(&scope, &key)?.clone();
            let w = db.webhooks.get(&scope, &d.webhook.to_string()).cloned();
            Some((d, w))
        });
        let Some((delivery, webhook)) = job else { return };
        let webhook = match webhook {
            Some(w) if w.enabled() || delivery.test => w,
            _ => {
                self.abandon(scope, &key, "The endpoint is disabled or was deleted.");
                return;
            }
        };
        // `Content-Type: application/json` comes with every delivery.
        let headers = [
            ("User-Agent", USER_AGENT.to_string()),
            ("X-Paywise-Event", delivery.event.clone()),
            ("X-Paywise-Delivery-ID", delivery.id.to_string()),
            (
                "X-Paywise-Signature",
                signature(&webhook.secret_key, delivery.body.as_bytes()),
            ),
        ];
        let outcome = self.send(&webhook.url, &headers, delivery.body.as_bytes()).await;
        self.record(scope, &key, &delivery, webhook.id, outcome);
    }

    /// Marks a delivery failed without an attempt.
    fn abandon(&self, scope: Scope, key: &str, why: &str) {
        let now = self.now();
        self.store.write(|db| {
            db.deliveries.update(&scope, key, |d| {
                d.in_flight = false;
                d.status.apply(DeliveryEvent::GiveUp);
                d.next_attempt_at = None;
                d.error = Some(why.to_string());
                d.updated = now;
            })
        });
    }

    /// Sends within the timeout (on the mock's clock or wall time, whichever passes first).
    async fn send(&self, url: &str, headers: &[(&str, String)], body: &[u8]) -> Outcome {
        let timeout = self.options.timeout;
        let limit = Duration::from_std(timeout).unwrap_or_else(|_| Duration::seconds(30));
        let started_clock = self.clock.now();
        let started = Instant::now();
        let request = self.client.post_json(url, headers, body, timeout);
        tokio::pin!(request);
        let mut poll = tokio::time::interval(self.options.tick);
        loop {
            tokio::select! {
                outcome = &mut request => return outcome,
                _ = poll.tick() => {
                    if started.elapsed() >= timeout || self.clock.now() - started_clock >= limit {
                        return Err(format!("No response within {} seconds.", timeout.as_secs_f64()));
                    }
                }
            }
        }
    }

    /// Stores the result of an attempt and its effect on the endpoint.
    fn record(&self, scope: Scope, key: &str, delivery: &Delivery, webhook: Uuid, outcome: Outcome) {
        let now = self.now();
        let success = matches!(&outcome, Ok(a) if a.is_success());
        let test = delivery.test;
        self.store.write(|db| {
            db.deliveries.update(&scope, key, |d| {
                d.in_flight = false;
                d.attempts += 1;
                d.last_attempt_at = Some(now);
                d.updated = now;
                match &outcome {
                    Ok(Answer { status: s, .. }) => {
                        d.response_status = Some(*s);
                        d.error = match s {
                            200..=299 => None,
                            300..=399 => Some(format!("HTTP {s}: redirects are not followed.")),
                            _ => Some(format!("HTTP {s}.")),
                        };
                    }
                    Err(e) => {
                        d.response_status = None;
                        d.error = Some(e.clone());
                    }
                }
                let retry = usize::try_from(d.attempts)
                    .ok()
                    .and_then(|n| RETRY_MINUTES.get(n.wrapping_sub(1)).copied());
                if success {
                    d.status.apply(DeliveryEvent::Succeeded);
                    d.next_attempt_at = None;
                } else if let (false, Some(minutes)) = (test, retry) {
                    d.status.apply(DeliveryEvent::Retry);
                    d.next_attempt_at = Some(now + Duration::minutes(minutes));
                } else {
                    d.status.apply(DeliveryEvent::GiveUp);
                    d.next_attempt_at = None;
                }
            });
            if !test {
                db.webhooks.update(&scope, &webhook.to_string(), |w| {
                    if success {
                        if w.consecutive_failures != 0 {
                            w.consecutive_failures = 0;
                            w.updated = now;
                        }
                    } else {
                        w.consecutive_failures += 1;
                        w.last_failure_at = Some(now);
                        if w.consecutive_failures >= w.max_consecutive_failures {
                            w.state.apply(SubscriptionEvent::AutoDisable);
                        }
                        w.updated = now;
                    }
                });
            }
        });
    }
}

/// Adds this resource's fixtures (after debtors and claims exist). The fixtures hold no webhook
/// endpoints: every endpoint points at a receiver the client runs, so clients create their own.
pub fn seed(f: &mut fixtures::Faker, seq: &mut u64, db: &mut Db) {
    let _ = (f, seq, db);
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::states::testing::{round_trips, walk};

    const EVENTS: &[DeliveryEvent] = &[DeliveryEvent::Succeeded, DeliveryEvent::Retry, DeliveryEvent::GiveUp];

    #[test]
    fn delivery_status_names_round_trip() {
        round_trips(DeliveryStatus::ALL, DeliveryStatus::as_str);
        assert_eq!(DELIVERY_STATUSES, ["pending", "success", "failed"]);
    }

    proptest! {
        #[test]
        fn a_settled_delivery_stays_settled(
            start in proptest::sample::select(DeliveryStatus::ALL),
            events in proptest::collection::vec(proptest::sample::select(EVENTS), 0..30),
        ) {
            let seen = walk(DeliveryStatus::ALL, start, &events);
            if let Some(i) = seen.iter().position(|s| *s != DeliveryStatus::Pending) {
                prop_assert!(seen[i..].iter().all(|s| *s == seen[i]), "{seen:?}");
            }
        }
    }

    const SUBSCRIPTION_EVENTS: &[SubscriptionEvent] = &[
        SubscriptionEvent::Enable,
        SubscriptionEvent::Disable,
        SubscriptionEvent::AutoDisable,
    ];

    fn webhook(state: SubscriptionState) -> Webhook {
        let at = DateTime::from_timestamp(1_700_000_000, 0).expect("valid");
        Webhook {
            seq: 1,
            scope: Scope::default(),
            id: Uuid::nil(),
            url: "https://example.com/hook".into(),
            state,
            events: vec!["claim.created".into()],
            secret_key: "k".into(),
            description: String::new(),
            max_consecutive_failures: DEFAULT_MAX_CONSECUTIVE_FAILURES,
            consecutive_failures: 0,
            last_failure_at: None,
            created: at,
            updated: at,
        }
    }

    #[test]
    fn subscription_state_names_round_trip() {
        round_trips(SubscriptionState::ALL, SubscriptionState::as_str);
    }

    #[test]
    fn the_stored_webhook_keeps_the_bool_enabled() {
        for s in SubscriptionState::ALL {
            let w = webhook(*s);
            let v = serde_json::to_value(&w).expect("serializes");
            assert_eq!(v["enabled"], json!(s.is_enabled()), "{s:?}");
            assert!(v.get("state").is_none());
            assert_eq!(w.render_with(false)["enabled"], json!(s.is_enabled()));
            let back: Webhook = serde_json::from_value(v).expect("reads back");
            assert_eq!(back.state, *s);
            assert_eq!(SubscriptionState::from_enabled(s.is_enabled()), *s);
        }
        let mut v = serde_json::to_value(webhook(SubscriptionState::Enabled)).expect("serializes");
        v["enabled"] = json!("yes");
        assert!(serde_json::from_value::<Webhook>(v).is_err());
    }

    proptest! {
        #[test]
        fn subscriptions_move_only_between_enabled_and_disabled(
            start in proptest::sample::select(SubscriptionState::ALL),
            events in proptest::collection::vec(proptest::sample::select(SUBSCRIPTION_EVENTS), 0..30),
        ) {
            let seen = walk(SubscriptionState::ALL, start, &events);
            for (w, e) in seen.windows(2).zip(&events) {
                // Only Enable switches an endpoint on; Disable and AutoDisable switch it off.
                let expected = match e {
                    SubscriptionEvent::Enable => SubscriptionState::Enabled,
                    SubscriptionEvent::Disable | SubscriptionEvent::AutoDisable => SubscriptionState::Disabled,
                };
                prop_assert_eq!(w[1], expected, "{:?}", seen);
            }
        }
    }

    #[test]
    fn urls() {
        let t = parse_http_url("http://127.0.0.1:8080/hook?x=1#frag").expect("valid");
        assert_eq!(
            (t.scheme(), t.host_str(), t.port_or_known_default(), t.path(), t.query()),
            ("http", Some("127.0.0.1"), Some(8080), "/hook", Some("x=1"))
        );
        let t = parse_http_url("https://example.com").expect("valid");
        assert_eq!((t.port_or_known_default(), t.path()), (Some(443), "/"));
        assert!(parse_http_url("http://[::1]:9/x").is_some());
        for bad in [
            "example.com",
            "ftp://example.com/",
            "https://",
            "https://exa mple.com",
            "https://u:p@example.com/",
            "https://example",
            "https://example.com:0/",
            "https://example.com:99999/",
            "https://-a.com/",
        ] {
            assert!(parse_http_url(bad).is_none(), "{bad}");
        }
        assert_eq!(
            url_error("http://example.com/x").as_deref(),
            Some("Only HTTPS URLs are allowed.")
        );
        assert_eq!(url_error("http://localhost:1/x"), None);
        assert_eq!(url_error("http://[::1]:1/x"), None);
        assert_eq!(url_error("nope").as_deref(), Some("Enter a valid URL."));
    }

    #[test]
    fn signatures_are_hex_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
