//! v2 webhooks: `/v2/webhooks/` (a company's endpoints), `/v2/webhook-deliveries/`, and the
//! Partner's own `/partner/v2/webhooks/` and `/partner/v2/webhook-deliveries/`.
//!
//! An endpoint receives the envelope `{id, type, created_at, data}` of every event it subscribes
//! to (`["*"]` = all), signed the Standard Webhooks way (our inference; the SDK names only
//! `webhook-id`): `webhook-id` (the event id), `webhook-timestamp` (Unix seconds) and
//! `webhook-signature: v1,<base64 HMAC-SHA256 over "{id}.{timestamp}.{body}">`, keyed with the
//! base64 part of the `whsec_...` secret. The secret shows once, in the create and
//! rotate-secret answers. A failed attempt is retried on the mock's clock after 1 minute, 5
//! minutes, 30 minutes and 2 hours; after the fifth failed attempt the delivery is `failed`,
//! the endpoint's `consecutive_failures` grows by one, and at `max_consecutive_failures`
//! (default 50) the endpoint is switched off (`enabled: false, auto_disabled: true`). A success
//! resets the count. At most 20 endpoints per company (or Partner) count: enabled and manually
//! disabled ones, not auto-disabled ones (409 `webhook_limit_reached`).
//!
//! Deliveries go out through one [`mock_core::delivery::Sender`] per dispatcher (reqwest on
//! rustls: `https` receivers, and `http` on loopback), with the process-wide TLS options
//! (`--webhook-ca-file`, `--webhook-insecure`); `response_body` shows the first KiB of the
//! receiver's last answer.
//!
//! Partner endpoints carry `companies` (`"*"`, a list of company ids, or null for lifecycle
//! events only) instead of `contract_version`; their test command sends lifecycle events only.

use std::time::Duration as StdDuration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use mock_core::delivery::Sender;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::list::Origin;
use crate::state::{AppState, Db, Scope};
use crate::states::Machine as _;
use crate::v2::conv::{Idem, Obj, Paging, Patch, Query, V2Caller, V2Json, if_match, no_body, paged, respond, show, ts};
use crate::v2::error::{Errs, V2Error};
use crate::v2::events::{CASE_EVENTS, Event, LIFECYCLE_EVENTS};

/// Endpoints per company or Partner.
pub const MAX_WEBHOOKS: usize = 20;
/// `max_consecutive_failures` when none is sent.
pub(crate) const DEFAULT_MAX_FAILURES: i64 = 50;
/// Delays before the second to fifth attempt.
pub(crate) const RETRY_DELAYS: [i64; 4] = [60, 300, 1800, 7200];
/// The delivery statuses.
pub(crate) const DELIVERY_STATUSES: &[&str] = DeliveryStatus::NAMES;

state_enum! {
    /// A v2 delivery's `status` (v2's own machine, with more steps than v1's
    /// [`crate::resources::webhooks::DeliveryStatus`]); see [`DeliveryStatus::next`].
    pub enum DeliveryStatus moved by DeliveryEvent {
        /// Waiting for its first attempt.
        Pending = "pending",
        /// An attempt is under way.
        Delivering = "delivering",
        /// An attempt failed; another is scheduled.
        Retrying = "retrying",
        /// An attempt succeeded (final).
        Success = "success",
        /// Given up (final).
        Failed = "failed",
    }
}

/// What moves a v2 [`DeliveryStatus`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryEvent {
    /// An attempt starts: `pending | retrying -> delivering`.
    Attempt,
    /// The attempt got a 2xx answer: `delivering -> success`.
    Succeeded,
    /// The attempt failed and another is scheduled: `delivering -> retrying`.
    Retry,
    /// The attempt failed and none follows: `delivering -> failed`.
    GiveUp,
    /// No attempt can be made (the endpoint is disabled or gone): `pending | retrying ->
    /// failed`.
    Abandon,
}

impl DeliveryStatus {
    /// Where `event` takes a delivery in this status, or `None` where it is refused.
    pub fn next(self, event: DeliveryEvent) -> Option<Self> {
        use DeliveryStatus::*;
        let waiting = matches!(self, Pending | Retrying);
        match event {
            DeliveryEvent::Attempt => waiting.then_some(Delivering),
            DeliveryEvent::Abandon => waiting.then_some(Failed),
            DeliveryEvent::Succeeded => (self == Delivering).then_some(Success),
            DeliveryEvent::Retry => (self == Delivering).then_some(Retrying),
            DeliveryEvent::GiveUp => (self == Delivering).then_some(Failed),
        }
    }

    /// Whether the delivery ended (`success`, `failed`).
    pub fn is_settled(self) -> bool {
        matches!(self, DeliveryStatus::Success | DeliveryStatus::Failed)
    }
}

state_enum! {
    /// Whether a v2 endpoint receives events, and why not (stored and shown as the two bools
    /// `enabled` and `auto_disabled`); see [`EndpointState::next`].
    pub enum EndpointState moved by EndpointEvent {
        /// Deliveries are attempted (`enabled: true, auto_disabled: false`).
        Enabled = "enabled",
        /// Switched off by a PATCH (`enabled: false, auto_disabled: false`); still counts
        /// against [`MAX_WEBHOOKS`].
        Disabled = "disabled",
        /// Switched off after `max_consecutive_failures` terminal failures in a row
        /// (`enabled: false, auto_disabled: true`); does not count against [`MAX_WEBHOOKS`].
        AutoDisabled = "auto_disabled",
    }
}

/// What moves a v2 [`EndpointState`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointEvent {
    /// A PATCH with `enabled: true` (from `auto_disabled` only while a slot is free).
    Enable,
    /// A PATCH with `enabled: false`.
    Disable,
    /// The terminal failures in a row reached `max_consecutive_failures`.
    AutoDisable,
}

impl EndpointState {
    /// Where `event` takes an endpoint in this state, or `None` where it is refused (an event
    /// that would leave the state as it is). Enabling clears an auto-disabling; disabling an
    /// auto-disabled endpoint keeps it auto-disabled; the failure threshold auto-disables a
    /// manually disabled endpoint too (a failing attempt still in flight when it was disabled).
    pub fn next(self, event: EndpointEvent) -> Option<Self> {
        match (self, event) {
            (EndpointState::Disabled | EndpointState::AutoDisabled, EndpointEvent::Enable) => {
                Some(EndpointState::Enabled)
            }
            (EndpointState::Enabled, EndpointEvent::Disable) => Some(EndpointState::Disabled),
            (EndpointState::Enabled | EndpointState::Disabled, EndpointEvent::AutoDisable) => {
                Some(EndpointState::AutoDisabled)
            }
            (EndpointState::Enabled, EndpointEvent::Enable)
            | (EndpointState::Disabled | EndpointState::AutoDisabled, EndpointEvent::Disable)
            | (EndpointState::AutoDisabled, EndpointEvent::AutoDisable) => None,
        }
    }

    /// Whether deliveries are attempted (the API's `enabled`).
    pub const fn is_enabled(self) -> bool {
        matches!(self, EndpointState::Enabled)
    }

    /// Whether the failures switched it off (the API's `auto_disabled`).
    pub const fn is_auto_disabled(self) -> bool {
        matches!(self, EndpointState::AutoDisabled)
    }

    /// Whether an endpoint in this state takes one of the [`MAX_WEBHOOKS`] slots.
    pub const fn counts(self) -> bool {
        !self.is_auto_disabled()
    }
}

/// The stored form of an [`EndpointState`]: the two bools `enabled` and `auto_disabled` of the
/// endpoint record, as before the enum (flattened into it).
mod endpoint_flags {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::EndpointState;

    #[derive(Serialize, Deserialize)]
    struct Flags {
        enabled: bool,
        auto_disabled: bool,
    }

    pub fn serialize<S: Serializer>(state: &EndpointState, s: S) -> Result<S::Ok, S::Error> {
        Flags {
            enabled: state.is_enabled(),
            auto_disabled: state.is_auto_disabled(),
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<EndpointState, D::Error> {
        match Flags::deserialize(d)? {
            Flags {
                enabled: true,
                auto_disabled: false,
            } => Ok(EndpointState::Enabled),
            Flags {
                enabled: false,
                auto_disabled: false,
            } => Ok(EndpointState::Disabled),
            Flags {
                enabled: false,
                auto_disabled: true,
            } => Ok(EndpointState::AutoDisabled),
            Flags {
                enabled: true,
                auto_disabled: true,
            } => Err(serde::de::Error::custom(
                "a v2 webhook endpoint cannot be both enabled and auto_disabled",
            )),
        }
    }
}

/// A v2 webhook endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    /// Creation order.
    pub seq: u64,
    /// The owning company (for a Partner endpoint: company 0 of the Partner's environment).
    pub scope: Scope,
    /// Id.
    pub id: Uuid,
    /// The Partner account owning it (`None`: a company's endpoint).
    pub partner: Option<u64>,
    /// Receiver URL.
    pub url: String,
    /// Label.
    pub description: String,
    /// Whether deliveries are attempted, or why not (stored as the bools `enabled` and
    /// `auto_disabled`).
    #[serde(flatten, with = "endpoint_flags")]
    pub state: EndpointState,
    /// Subscribed event types (`*` alone: all).
    pub events: Vec<String>,
    /// Threshold for switching off.
    pub max_consecutive_failures: i64,
    /// Terminal failures in a row.
    pub consecutive_failures: i64,
    /// Last terminal failure since the last success.
    pub last_failure_at: Option<DateTime<Utc>>,
    /// `*`, a list of company ids, or null (Partner endpoints only).
    pub companies: Value,
    /// The signing secret.
    pub secret_key: String,
    /// Creation.
    #[serde(with = "crate::format::ts")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "crate::format::ts")]
    pub updated_at: DateTime<Utc>,
}

scoped_record!(Webhook);

impl Webhook {
    /// As list, get and PATCH show it (no secret).
    pub fn render(&self) -> Value {
        let mut v = json!({
            "id": self.id.to_string(),
            "url": self.url,
            "events": self.events,
            "enabled": self.enabled(),
            "auto_disabled": self.state.is_auto_disabled(),
            "max_consecutive_failures": self.max_consecutive_failures,
            "consecutive_failures": self.consecutive_failures,
            "last_failure_at": self.last_failure_at.as_ref().map(ts),
            "description": self.description,
            "created_at": ts(&self.created_at),
            "updated_at": ts(&self.updated_at),
        });
        if let Value::Object(m) = &mut v {
            if self.partner.is_some() {
                m.insert("companies".into(), self.companies.clone());
            } else {
                m.insert("contract_version".into(), Value::String("v2".into()));
            }
        }
        v
    }

    /// With its secret (create and rotate-secret).
    pub fn render_with_secret(&self) -> Value {
        let mut v = self.render();
        if let Value::Object(m) = &mut v {
            m.insert("secret_key".into(), Value::String(self.secret_key.clone()));
        }
        v
    }

    fn subscribes(&self, kind: &str) -> bool {
        self.events.iter().any(|e| e == "*" || e == kind)
    }

    /// Whether deliveries are attempted (the API's `enabled`).
    pub fn enabled(&self) -> bool {
        self.state.is_enabled()
    }

    fn counts(&self) -> bool {
        self.state.counts()
    }
}

/// A delivery of one event to one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// Creation order.
    pub seq: u64,
    /// The endpoint's scope.
    pub scope: Scope,
    /// Id.
    pub id: Uuid,
    /// The endpoint.
    pub webhook: Uuid,
    /// The Partner account owning the endpoint, if any.
    pub partner: Option<u64>,
    /// The event's id.
    pub event_id: Uuid,
    /// The event's type.
    pub event_type: String,
    /// The envelope sent.
    pub payload: Value,
    /// Where the delivery is.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: u32,
    /// Last attempt.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// Next attempt.
    pub next_retry_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub completed_at: Option<DateTime<Utc>>,
    /// The receiver's last status.
    pub response_status_code: Option<u16>,
    /// The start of the receiver's last answer ([`mock_core::delivery::BODY_PREFIX`] bytes at
    /// most, as text; "" if there was none).
    #[serde(default)]
    pub response_body: String,
    /// What went wrong last ("" if nothing).
    pub error_message: String,
    /// Per delivery record.
    pub idempotency_key: Uuid,
    /// The request that caused it.
    pub request_id: String,
    /// Whether an attempt is under way (not shown).
    #[serde(default)]
    pub in_flight: bool,
    /// Creation.
    #[serde(with = "crate::format::ts")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "crate::format::ts")]
    pub updated_at: DateTime<Utc>,
}

scoped_record!(Delivery);

impl Delivery {
    /// As the API shows it (`webhook_url` is the endpoint's current URL).
    pub fn render(&self, webhook_url: Option<&str>) -> Value {
        let mut v = json!({
            "id": self.id.to_string(),
            "event_id": self.event_id.to_string(),
            "event_type": self.event_type,
            "payload": self.payload,
            "status": self.status,
            "attempts": self.attempts,
            "last_attempt_at": self.last_attempt_at.as_ref().map(ts),
            "next_retry_at": self.next_retry_at.as_ref().map(ts),
            "completed_at": self.completed_at.as_ref().map(ts),
            "response_status_code": self.response_status_code,
            "response_body": self.response_body,
            "error_message": self.error_message,
            "request_id": self.request_id,
            "created_at": ts(&self.created_at),
            "updated_at": ts(&self.updated_at),
        });
        if self.partner.is_none()
            && let Value::Object(m) = &mut v
        {
            m.insert("webhook".into(), Value::String(self.webhook.to_string()));
            m.insert("webhook_url".into(), json!(webhook_url.unwrap_or("")));
            m.insert(
                "idempotency_key".into(),
                Value::String(self.idempotency_key.to_string()),
            );
        }
        v
    }

    fn settled(&self) -> bool {
        self.status.is_settled()
    }
}

/// A delivery to `webhook`, pending from now on, of the event `event_id` of type `event_type`
/// whose envelope is `payload`: a new record (its own id and idempotency key), no attempt yet.
fn new_delivery(state: &AppState, webhook: &Webhook, event_id: Uuid, event_type: &str, payload: Value) -> Delivery {
    let now = state.now();
    Delivery {
        seq: state.ids.next_seq(),
        scope: webhook.scope,
        id: state.ids.uuid(),
        webhook: webhook.id,
        partner: webhook.partner,
        event_id,
        event_type: event_type.to_string(),
        payload,
        status: DeliveryStatus::Pending,
        attempts: 0,
        last_attempt_at: None,
        next_retry_at: Some(now),
        completed_at: None,
        response_status_code: None,
        response_body: String::new(),
        error_message: String::new(),
        idempotency_key: state.ids.uuid(),
        request_id: String::new(),
        in_flight: false,
        created_at: now,
        updated_at: now,
    }
}

/// Records a delivery of `event` for every enabled endpoint subscribed to it: the company's own
/// (Case events), its Partners' endpoints whose `companies` select it (Case events), and the
/// Partner's endpoints (its lifecycle events).
pub(crate) fn fan_out(db: &mut Db, state: &AppState, event: &Event) {
    let company_id = crate::v2::meta::company_id_of(db, event.scope.company).to_string();
    let mut targets: Vec<Webhook> = Vec::new();
    for w in db.v2_webhooks.iter_all() {
        if !w.enabled() || w.scope.mode != event.scope.mode || !w.subscribes(&event.kind) {
            continue;
        }
        let wanted = match (w.partner, event.partner) {
            (None, None) => w.scope == event.scope,
            (None, Some(_)) => false,
            (Some(p), Some(account)) => p == account,
            (Some(p), None) => {
                let selected = match &w.companies {
                    Value::String(s) if s == "*" => true,
                    Value::Array(ids) => ids.iter().any(|i| i.as_str() == Some(company_id.as_str())),
                    _ => false,
                };
                selected
                    && crate::v2::partner::operable_companies(db, p, w.scope.mode)
                        .iter()
                        .any(|(n, _)| *n == event.scope.company)
            }
        };
        if wanted {
            targets.push(w.clone());
        }
    }
    for w in targets {
        let d = new_delivery(state, &w, event.id, &event.kind, event.envelope());
        if let Err(e) = db.v2_deliveries.insert(d) {
            tracing::warn!("delivery not recorded: {e}");
        }
    }
}

/// The routes of the Case Management API.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks/", get(list).post(create))
        .route("/webhooks/{p1}/", get(get_one).patch(update).delete(delete))
        .route("/webhooks/{p1}/rotate-secret/", post(rotate))
        .route("/webhooks/{p1}/test/", post(test))
        .route("/webhook-deliveries/", get(list_deliveries))
        .route("/webhook-deliveries/{p1}/", get(get_delivery))
        .route("/webhook-deliveries/{p1}/redeliver/", post(redeliver))
}

/// The routes of the Partner API.
pub(crate) fn partner_router() -> Router<AppState> {
    router()
}

/// Whose endpoints a caller manages: `(scope, partner)`.
fn owner(caller: &V2Caller, partner_api: bool) -> Result<(Scope, Option<u64>), V2Error> {
    if partner_api {
        let key = caller
            .partner
            .as_ref()
            .ok_or_else(|| V2Error::forbidden("Not a Partner key."))?;
        Ok((
            Scope {
                company: 0,
                mode: caller.scope.mode,
            },
            Some(key.account),
        ))
    } else {
        Ok((caller.scope, None))
    }
}

fn partner_api(origin: &Origin) -> bool {
    origin.path.contains("/partner/v2/")
}

fn find(db: &Db, scope: Scope, partner: Option<u64>, raw: &str) -> Result<Webhook, V2Error> {
    let id = Uuid::parse_str(raw).map_err(|_| V2Error::not_found())?;
    db.v2_webhooks
        .get(&scope, &id.to_string())
        .filter(|w| w.partner == partner)
        .cloned()
        .ok_or_else(V2Error::not_found)
}

async fn list(State(state): State<AppState>, caller: V2Caller, origin: Origin) -> Result<Response, V2Error> {
    let (scope, partner) = owner(&caller, partner_api(&origin))?;
    let mut q = Query::new(&origin.query);
    let paging = Paging::read(&mut q, true);
    let enabled = q.boolean("enabled");
    q.finish()?;
    let rows: Vec<Webhook> = state.store.read(|db| {
        db.v2_webhooks
            .iter(&scope)
            .filter(|w| w.partner == partner && enabled.is_none_or(|e| w.enabled() == e))
            .cloned()
            .collect()
    });
    Ok(paged(
        &origin,
        &paging,
        state.now(),
        rows,
        |w| (w.updated_at, w.id),
        Webhook::render,
    ))
}

/// The fields of a create or PATCH body.
struct WebhookInput {
    url: Option<String>,
    description: Patch<String>,
    enabled: Patch<bool>,
    events: Patch<Vec<String>>,
    max: Patch<i64>,
    companies: Option<Value>,
}

fn read_input(body: &Map<String, Value>, partner: bool, create: bool) -> Result<WebhookInput, V2Error> {
    let mut errs = Errs::default();
    let known: &[&str] = if partner {
        &[
            "url",
            "companies",
            "description",
            "enabled",
            "events",
            "max_consecutive_failures",
        ]
    } else {
        &["url", "description", "enabled", "events", "max_consecutive_failures"]
    };
    let o = Obj::new(body, "", known, &mut errs);
    let url = if create {
        o.req_string("url", 2000, &mut errs)
    } else {
        match o.string("url", 2000, &mut errs) {
            Patch::Set(u) => Some(u),
            Patch::Clear => {
                errs.push("url", "null", "This field may not be null.");
                None
            }
            Patch::Keep => None,
        }
    };
    if let Some(u) = &url {
        let allowed = url::Url::parse(u).is_ok_and(|parsed| match (parsed.scheme(), parsed.host()) {
            ("https", Some(_)) => true,
            ("http", Some(host)) => mock_core::delivery::is_loopback(&host),
            _ => false,
        });
        if !allowed {
            errs.push(
                "url",
                "invalid",
                "Enter a public https URL (the mock also takes http on loopback, for local receivers).",
            );
        }
    }
    let mut types: Vec<&str> = vec!["*"];
    if partner {
        types.extend_from_slice(LIFECYCLE_EVENTS);
    }
    types.extend_from_slice(CASE_EVENTS);
    let events = o.strings("events", &types, 100, &mut errs);
    if let Patch::Set(e) = &events
        && e.iter().any(|x| x == "*")
        && e.len() > 1
    {
        errs.push("events", "invalid", "\"*\" must be the only entry when it is sent.");
    }
    let description = o.string("description", 500, &mut errs);
    if let Patch::Set(d) = &description
        && d.contains('\n')
    {
        errs.push("description", "invalid", "The description must be a single line.");
    }
    let enabled = o.boolean("enabled", &mut errs);
    let max = o.integer("max_consecutive_failures", 1, 1000, &mut errs);
    let companies = if partner && o.has("companies") {
        match o.get("companies") {
            crate::v2::conv::Field::Null => Some(Value::Null),
            crate::v2::conv::Field::Value(Value::String(s)) if s == "*" => Some(json!("*")),
            crate::v2::conv::Field::Value(Value::Array(ids))
                if !ids.is_empty()
                    && ids.len() <= 500
                    && ids
                        .iter()
                        .all(|i| i.as_str().is_some_and(|s| Uuid::parse_str(s).is_ok())) =>
            {
                Some(Value::Array(ids.clone()))
            }
            _ => {
                errs.push(
                    "companies",
                    "invalid",
                    "companies must be \"*\", a list of 1 to 500 company ids, or null.",
                );
                None
            }
        }
    } else {
        None
    };
    errs.finish(WebhookInput {
        url,
        description,
        enabled,
        events,
        max,
        companies,
    })
}

fn new_secret() -> String {
    // From the operating system's random source, not the seeded ids: a secret must not follow
    // from the (public) seed.
    format!("whsec_{}", STANDARD.encode(mock_core::ids::secret_bytes(16)))
}

fn slots_used(db: &Db, scope: Scope, partner: Option<u64>, except: Option<Uuid>) -> usize {
    db.v2_webhooks
        .iter(&scope)
        .filter(|w| w.partner == partner && w.counts() && Some(w.id) != except)
        .count()
}

fn limit_reached() -> V2Error {
    V2Error::conflict(
        "webhook_limit_reached",
        format!("At most {MAX_WEBHOOKS} endpoints may be enabled or manually disabled; delete one first."),
    )
}

fn normalized(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}:{}{}",
            u.scheme(),
            u.host_str().unwrap_or("").to_ascii_lowercase(),
            u.port_or_known_default().unwrap_or(0),
            u.path()
        ),
        Err(_) => url.to_string(),
    }
}

async fn create(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    idem: Idem,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    let is_partner = partner_api(&origin);
    let (scope, partner) = owner(&caller, is_partner)?;
    idem.run(&state, &caller, &body, || {
        let input = read_input(&body, is_partner, true)?;
        let url = input.url.clone().unwrap_or_default();
        let events = match input.events {
            Patch::Set(e) if !e.is_empty() => e,
            _ if is_partner => LIFECYCLE_EVENTS.iter().map(|s| (*s).to_string()).collect(),
            _ => CASE_EVENTS.iter().map(|s| (*s).to_string()).collect(),
        };
        let companies = input.companies.clone().unwrap_or(Value::Null);
        if is_partner && companies.is_null() && events.iter().any(|e| CASE_EVENTS.contains(&e.as_str())) {
            return Err(V2Error::field(
                "companies",
                "required",
                "companies is required when Case event types are subscribed (\"*\" or a list of company ids).",
            ));
        }
        let now = state.now();
        state.store.write(|db| {
            if slots_used(db, scope, partner, None) >= MAX_WEBHOOKS {
                return Err(limit_reached());
            }
            let n = normalized(&url);
            if db
                .v2_webhooks
                .iter(&scope)
                .any(|w| w.partner == partner && normalized(&w.url) == n)
            {
                return Err(V2Error::field(
                    "url",
                    "unique",
                    "An endpoint with this URL already exists.",
                ));
            }
            let w = Webhook {
                seq: state.ids.next_seq(),
                scope,
                id: state.ids.uuid(),
                partner,
                url,
                description: match input.description {
                    Patch::Set(d) => d,
                    _ => String::new(),
                },
                state: if matches!(input.enabled, Patch::Set(false)) {
                    EndpointState::Disabled
                } else {
                    EndpointState::Enabled
                },
                events,
                max_consecutive_failures: match input.max {
                    Patch::Set(m) => m,
                    _ => DEFAULT_MAX_FAILURES,
                },
                consecutive_failures: 0,
                last_failure_at: None,
                companies,
                secret_key: new_secret(),
                created_at: now,
                updated_at: now,
            };
            let out = w.render_with_secret();
            db.v2_webhooks
                .insert(w)
                .map_err(|e| V2Error::conflict("conflict", e.to_string()))?;
            Ok((StatusCode::CREATED, out))
        })
    })
}

async fn get_one(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, V2Error> {
    let (scope, partner) = owner(&caller, partner_api(&origin))?;
    let w = state.store.read(|db| find(db, scope, partner, &id))?;
    Ok(show(&headers, w.render()))
}

async fn update(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    headers: HeaderMap,
    Path(id): Path<String>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    let is_partner = partner_api(&origin);
    let (scope, partner) = owner(&caller, is_partner)?;
    let input = read_input(&body, is_partner, false)?;
    let now = state.now();
    state.store.write(|db| {
        let w = find(db, scope, partner, &id)?;
        if_match(&headers, &w.render())?;
        let mut next = w.clone();
        if let Some(u) = input.url {
            let n = normalized(&u);
            if db
                .v2_webhooks
                .iter(&scope)
                .any(|o| o.partner == partner && o.id != w.id && normalized(&o.url) == n)
            {
                return Err(V2Error::field(
                    "url",
                    "unique",
                    "An endpoint with this URL already exists.",
                ));
            }
            next.url = u;
        }
        match input.description {
            Patch::Set(d) => next.description = d,
            Patch::Clear => next.description = String::new(),
            Patch::Keep => {}
        }
        if let Patch::Set(e) = input.events {
            next.events = e;
        }
        if let Patch::Set(m) = input.max {
            next.max_consecutive_failures = m;
        }
        if let Some(c) = input.companies {
            next.companies = c;
        }
        if let Patch::Set(e) = input.enabled {
            let event = if e {
                EndpointEvent::Enable
            } else {
                EndpointEvent::Disable
            };
            if let Some(to) = w.state.next(event) {
                // Leaving `auto_disabled` takes one of the MAX_WEBHOOKS slots again.
                if to.counts() && !w.state.counts() && slots_used(db, scope, partner, Some(w.id)) >= MAX_WEBHOOKS {
                    return Err(limit_reached());
                }
                if to.is_enabled() {
                    next.consecutive_failures = 0;
                }
                next.state = to;
            }
        }
        if next != w {
            next.updated_at = now;
        }
        let out = next.render();
        let key = w.id.to_string();
        db.v2_webhooks.update(&scope, &key, |slot| *slot = next);
        Ok(respond(StatusCode::OK, out))
    })
}

async fn delete(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, V2Error> {
    let (scope, partner) = owner(&caller, partner_api(&origin))?;
    state.store.write(|db| {
        let w = find(db, scope, partner, &id)?;
        if_match(&headers, &w.render())?;
        db.v2_webhooks.remove(&scope, &w.id.to_string());
        Ok(axum::response::IntoResponse::into_response(StatusCode::NO_CONTENT))
    })
}

async fn rotate(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    idem: Idem,
    Path(id): Path<String>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    let (scope, partner) = owner(&caller, partner_api(&origin))?;
    idem.run(&state, &caller, &body, || {
        no_body(&body, "rotate-secret")?;
        let now = state.now();
        state.store.write(|db| {
            let w = find(db, scope, partner, &id)?;
            let secret = new_secret();
            let out = db.v2_webhooks.update(&scope, &w.id.to_string(), |w| {
                w.secret_key = secret;
                w.updated_at = now;
                w.render_with_secret()
            });
            Ok((StatusCode::OK, out.ok_or_else(V2Error::not_found)?))
        })
    })
}

/// A test event's `data`: the family's keys with placeholder ids.
fn sample_data(kind: &str, state: &AppState) -> Value {
    let id = state.ids.uuid().to_string();
    let family = kind.split('.').next().unwrap_or("");
    match family {
        "order" => json!({ "order_id": id, "order_url": format!("/v2/orders/{id}/"), "claim_ids": [] }),
        "mandate" => json!({ "mandate_id": id, "mandate_url": format!("/v2/mandates/{id}/") }),
        "request_to_client" => json!({ "request_to_client_id": id }),
        "payment" => json!({ "payment_id": id, "payment_url": format!("/v2/payments/{id}/") }),
        "statement" => json!({ "statement_id": id, "statement_url": format!("/v2/statements/{id}/") }),
        "single_mandate_statement" => json!({
            "single_mandate_statement_id": id,
            "single_mandate_statement_url": format!("/v2/single-mandate-statements/{id}/"),
        }),
        "invoice" | "dunning" => json!({ "invoice_id": id, "invoice_url": format!("/mahnservice/v1/invoices/{id}/") }),
        _ => json!({
            "company_url": "/partner/v2/companies/00000000-0000-0000-0000-000000000000/",
            "case_submission_ready": true,
        }),
    }
}

async fn test(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    idem: Idem,
    Path(id): Path<String>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    let is_partner = partner_api(&origin);
    let (scope, partner) = owner(&caller, is_partner)?;
    idem.run(&state, &caller, &body, || {
        let mut errs = Errs::default();
        let o = Obj::new(&body, "", &["event"], &mut errs);
        let types = if is_partner { LIFECYCLE_EVENTS } else { CASE_EVENTS };
        let event = match o.choice("event", types, &mut errs) {
            Patch::Set(e) => Some(e),
            _ if !o.has("event") || body.get("event") == Some(&Value::Null) => {
                errs.push("event", "required", "This field is required.");
                None
            }
            _ => None,
        };
        let event = errs.finish(event)?.unwrap_or_default();
        state.store.write(|db| {
            let w = find(db, scope, partner, &id)?;
            if !w.subscribes(&event) {
                return Err(V2Error::field(
                    "event",
                    "invalid_choice",
                    "The endpoint does not subscribe to this event type.",
                ));
            }
            let mut data = Map::new();
            data.insert(
                "company_id".into(),
                Value::String(crate::v2::meta::company_id_of(db, caller.scope.company).to_string()),
            );
            if let Value::Object(m) = sample_data(&event, &state) {
                data.extend(m);
            }
            if event.starts_with("company.") {
                let company = data
                    .get("company_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                data.insert("company_url".into(), json!(format!("/partner/v2/companies/{company}/")));
                if event.starts_with("company.user.") {
                    data.remove("case_submission_ready");
                    data.insert("membership_id".into(), json!(state.ids.uuid().to_string()));
                } else if event.starts_with("company.access.") {
                    data.remove("case_submission_ready");
                    data.insert("authorization_version".into(), json!(1));
                }
            }
            let ev = Event {
                seq: state.ids.next_seq(),
                scope: caller.scope,
                id: state.ids.uuid(),
                kind: event.clone(),
                created_at: state.now(),
                data: Value::Object(data),
                partner,
            };
            let d = new_delivery(&state, &w, ev.id, &ev.kind, ev.envelope());
            let out = json!({
                "delivery_id": d.id.to_string(),
                "event_id": ev.id.to_string(),
                "detail": "Test delivery queued.",
            });
            db.v2_deliveries
                .insert(d)
                .map_err(|e| V2Error::conflict("conflict", e.to_string()))?;
            Ok((StatusCode::ACCEPTED, out))
        })
    })
}

fn webhook_url(db: &Db, d: &Delivery) -> Option<String> {
    db.v2_webhooks
        .get(&d.scope, &d.webhook.to_string())
        .map(|w| w.url.clone())
}

async fn list_deliveries(State(state): State<AppState>, caller: V2Caller, origin: Origin) -> Result<Response, V2Error> {
    let is_partner = partner_api(&origin);
    let (scope, partner) = owner(&caller, is_partner)?;
    let mut q = Query::new(&origin.query);
    let paging = Paging::read(&mut q, true);
    let mut types: Vec<&str> = CASE_EVENTS.to_vec();
    if is_partner {
        types.extend_from_slice(LIFECYCLE_EVENTS);
    }
    let event_type = q.choice("event_type", &types);
    let status = q
        .choice("status", DELIVERY_STATUSES)
        .and_then(|s| DeliveryStatus::parse(&s));
    let webhook = q.uuid("webhook");
    q.finish()?;
    let rows: Vec<(Delivery, Option<String>)> = state.store.read(|db| {
        let mut rows: Vec<_> = db
            .v2_deliveries
            .iter(&scope)
            .filter(|d| d.partner == partner)
            .filter(|d| event_type.as_ref().is_none_or(|t| &d.event_type == t))
            .filter(|d| status.as_ref().is_none_or(|s| d.status == *s))
            .filter(|d| webhook.is_none_or(|w| d.webhook == w))
            .map(|d| (d.clone(), webhook_url(db, d)))
            .collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.0.seq));
        rows
    });
    Ok(paged(
        &origin,
        &paging,
        state.now(),
        rows,
        |(d, _)| (d.updated_at, d.id),
        |(d, u)| d.render(u.as_deref()),
    ))
}

fn find_delivery(db: &Db, scope: Scope, partner: Option<u64>, raw: &str) -> Result<Delivery, V2Error> {
    let id = Uuid::parse_str(raw).map_err(|_| V2Error::not_found())?;
    db.v2_deliveries
        .get(&scope, &id.to_string())
        .filter(|d| d.partner == partner)
        .cloned()
        .ok_or_else(V2Error::not_found)
}

async fn get_delivery(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, V2Error> {
    let (scope, partner) = owner(&caller, partner_api(&origin))?;
    let v = state
        .store
        .read(|db| find_delivery(db, scope, partner, &id).map(|d| d.render(webhook_url(db, &d).as_deref())))?;
    Ok(show(&headers, v))
}

async fn redeliver(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    idem: Idem,
    Path(id): Path<String>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    let (scope, partner) = owner(&caller, partner_api(&origin))?;
    idem.run(&state, &caller, &body, || {
        no_body(&body, "redeliver")?;
        state.store.write(|db| {
            let d = find_delivery(db, scope, partner, &id)?;
            let w = db
                .v2_webhooks
                .get(&scope, &d.webhook.to_string())
                .cloned()
                .ok_or_else(|| V2Error::conflict("conflict", "The endpoint was deleted."))?;
            if !w.enabled() {
                return Err(V2Error::conflict(
                    "conflict",
                    "The endpoint is disabled; enable it before redelivering.",
                ));
            }
            if !d.settled() {
                return Err(V2Error::conflict(
                    "delivery_in_progress",
                    "The delivery is still pending or being attempted; redeliver once it succeeded or failed.",
                ));
            }
            let fresh = Delivery {
                partner: d.partner,
                request_id: d.request_id.clone(),
                ..new_delivery(&state, &w, d.event_id, &d.event_type, d.payload.clone())
            };
            let out = json!({
                "delivery_id": fresh.id.to_string(),
                "event_id": fresh.event_id.to_string(),
                "detail": "Redelivery queued.",
            });
            db.v2_deliveries
                .insert(fresh)
                .map_err(|e| V2Error::conflict("conflict", e.to_string()))?;
            Ok((StatusCode::ACCEPTED, out))
        })
    })
}

/// The Standard Webhooks signature of `body` for event `id` at `timestamp` with `secret`
/// (`whsec_<base64>`): `v1,<base64 HMAC-SHA256 over "{id}.{timestamp}.{body}">`.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = secret
        .strip_prefix("whsec_")
        .and_then(|k| STANDARD.decode(k).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec());
    let mac = mock_core::delivery::hmac_sha256(&key, &[format!("{id}.{timestamp}.").as_bytes(), body]);
    format!("v1,{}", STANDARD.encode(mac))
}

/// How long a receiver may take to answer one attempt (wall time).
pub(crate) const DELIVERY_TIMEOUT: StdDuration = StdDuration::from_secs(30);

/// Starts this world's v2 dispatcher: every 50 ms (wall time) it attempts the deliveries due on
/// the mock's clock. Its one client trusts what the process-wide TLS options say
/// ([`mock_core::delivery::default_tls`]).
pub fn start_background(state: &AppState) {
    let weak = std::sync::Arc::downgrade(&state.store);
    let (clock, ids, v2) = (state.clock.clone(), state.ids.clone(), state.v2.clone());
    let sender = Sender::from_defaults();
    mock_core::delivery::spawn_dispatcher(move || {
        let (weak, clock, ids, v2, sender) = (weak.clone(), clock.clone(), ids.clone(), v2.clone(), sender.clone());
        async move {
            let Some(store) = weak.upgrade() else { return false };
            run_due(&store, &clock, &ids, &v2, &sender).await;
            true
        }
    });
}

fn is_due(d: &Delivery, now: DateTime<Utc>) -> bool {
    d.status.next(DeliveryEvent::Attempt).is_some() && !d.in_flight && d.next_retry_at.is_some_and(|t| t <= now)
}

async fn run_due(
    store: &std::sync::Arc<mock_core::Store<Db>>,
    clock: &mock_core::Clock,
    _ids: &std::sync::Arc<mock_core::IdGen>,
    _v2: &crate::v2::conv::SharedRuntime,
    sender: &Sender,
) {
    let now = crate::format::micros(clock.now());
    if !store.read(|db| db.v2_deliveries.iter_all().any(|d| is_due(d, now))) {
        return;
    }
    let due: Vec<(Delivery, Webhook)> = store.write(|db| {
        let due: Vec<(Scope, String)> = db
            .v2_deliveries
            .iter_all()
            .filter(|d| is_due(d, now))
            .map(|d| (d.scope, d.id.to_string()))
            .collect();
        let mut out = Vec::new();
        for (scope, key) in due {
            let Some(d) = db.v2_deliveries.get(&scope, &key).cloned() else {
                continue;
            };
            match db.v2_webhooks.get(&scope, &d.webhook.to_string()).cloned() {
                Some(w) if w.enabled() => {
                    db.v2_deliveries.update(&scope, &key, |d| {
                        d.in_flight = true;
                        d.status.apply(DeliveryEvent::Attempt);
                        d.updated_at = now;
                    });
                    out.push((d, w));
                }
                _ => {
                    db.v2_deliveries.update(&scope, &key, |d| {
                        d.status.apply(DeliveryEvent::Abandon);
                        d.next_retry_at = None;
                        d.completed_at = Some(now);
                        d.error_message = "The endpoint is disabled or was deleted.".into();
                        d.updated_at = now;
                    });
                }
            }
        }
        out
    });
    for (d, w) in due {
        let store = store.clone();
        let clock = clock.clone();
        let sender = sender.clone();
        tokio::spawn(async move {
            // A `Value` always writes (its `Display` is the compact JSON `to_vec` would give).
            let body = d.payload.to_string().into_bytes();
            let stamp = clock.now().timestamp();
            let id = d.event_id.to_string();
            // `Content-Type: application/json` comes with every delivery.
            let headers = [
                ("User-Agent", "paywise-webhooks/2 (mock)".to_string()),
                ("webhook-id", id.clone()),
                ("webhook-timestamp", stamp.to_string()),
                ("webhook-signature", signature(&w.secret_key, &id, stamp, &body)),
            ];
            let outcome = sender.post_json(&w.url, &headers, &body, DELIVERY_TIMEOUT).await;
            record(&store, &clock, &d, outcome);
        });
    }
}

fn record(
    store: &mock_core::Store<Db>,
    clock: &mock_core::Clock,
    d: &Delivery,
    outcome: crate::resources::webhooks::Outcome,
) {
    let now = crate::format::micros(clock.now());
    let success = matches!(&outcome, Ok(a) if a.is_success());
    store.write(|db| {
        let key = d.id.to_string();
        let mut terminal_failure = false;
        db.v2_deliveries.update(&d.scope, &key, |d| {
            d.in_flight = false;
            d.attempts += 1;
            d.last_attempt_at = Some(now);
            d.updated_at = now;
            match &outcome {
                Ok(answer) => {
                    let s = answer.status;
                    d.response_status_code = Some(s);
                    d.response_body = answer.body.clone();
                    d.error_message = if success { String::new() } else { format!("HTTP {s}.") };
                }
                Err(e) => {
                    d.response_status_code = None;
                    d.response_body = String::new();
                    d.error_message = e.clone();
                }
            }
            if success {
                d.status.apply(DeliveryEvent::Succeeded);
                d.next_retry_at = None;
                d.completed_at = Some(now);
            } else if let Some(delay) = RETRY_DELAYS.get(d.attempts as usize - 1) {
                d.status.apply(DeliveryEvent::Retry);
                d.next_retry_at = Some(now + Duration::seconds(*delay));
            } else {
                d.status.apply(DeliveryEvent::GiveUp);
                d.next_retry_at = None;
                d.completed_at = Some(now);
                terminal_failure = true;
            }
        });
        let wkey = d.webhook.to_string();
        db.v2_webhooks.update(&d.scope, &wkey, |w| {
            if success {
                w.consecutive_failures = 0;
                w.last_failure_at = None;
            } else if terminal_failure {
                w.consecutive_failures += 1;
                w.last_failure_at = Some(now);
                if w.consecutive_failures >= w.max_consecutive_failures {
                    w.state.apply(EndpointEvent::AutoDisable);
                }
            }
        });
    });
}

#[cfg(test)]
mod state_tests {
    use proptest::prelude::*;

    use super::*;
    use crate::states::testing::{round_trips, walk};

    const EVENTS: &[DeliveryEvent] = &[
        DeliveryEvent::Attempt,
        DeliveryEvent::Succeeded,
        DeliveryEvent::Retry,
        DeliveryEvent::GiveUp,
        DeliveryEvent::Abandon,
    ];

    const ENDPOINT_EVENTS: &[EndpointEvent] = &[
        EndpointEvent::Enable,
        EndpointEvent::Disable,
        EndpointEvent::AutoDisable,
    ];

    fn webhook(state: EndpointState) -> Webhook {
        let at = DateTime::from_timestamp(1_700_000_000, 0).expect("valid");
        Webhook {
            seq: 1,
            scope: Scope::default(),
            id: Uuid::nil(),
            partner: None,
            url: "https://example.com/hook".into(),
            description: String::new(),
            state,
            events: vec!["*".into()],
            max_consecutive_failures: DEFAULT_MAX_FAILURES,
            consecutive_failures: 0,
            last_failure_at: None,
            companies: Value::Null,
            secret_key: "whsec_x".into(),
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn endpoint_state_names_round_trip() {
        round_trips(EndpointState::ALL, EndpointState::as_str);
    }

    #[test]
    fn the_stored_endpoint_keeps_the_two_bools() {
        let flags = [
            (EndpointState::Enabled, true, false),
            (EndpointState::Disabled, false, false),
            (EndpointState::AutoDisabled, false, true),
        ];
        for (s, enabled, auto_disabled) in flags {
            let w = webhook(s);
            let v = serde_json::to_value(&w).expect("serializes");
            assert_eq!(
                (&v["enabled"], &v["auto_disabled"]),
                (&json!(enabled), &json!(auto_disabled))
            );
            assert!(v.get("state").is_none());
            let shown = w.render();
            assert_eq!(
                (&shown["enabled"], &shown["auto_disabled"]),
                (&json!(enabled), &json!(auto_disabled))
            );
            let back: Webhook = serde_json::from_value(v).expect("reads back");
            assert_eq!(back, w);
        }
        let mut v = serde_json::to_value(webhook(EndpointState::Enabled)).expect("serializes");
        v["auto_disabled"] = json!(true);
        assert!(serde_json::from_value::<Webhook>(v.clone()).is_err());
        v.as_object_mut().expect("an object").remove("auto_disabled");
        assert!(serde_json::from_value::<Webhook>(v).is_err());
    }

    #[test]
    fn delivery_status_names_round_trip() {
        round_trips(DeliveryStatus::ALL, DeliveryStatus::as_str);
        assert_eq!(
            DELIVERY_STATUSES,
            ["pending", "delivering", "retrying", "success", "failed"]
        );
    }

    proptest! {
        #[test]
        fn deliveries_settle_once_and_attempt_only_while_waiting(
            start in proptest::sample::select(DeliveryStatus::ALL),
            events in proptest::collection::vec(proptest::sample::select(EVENTS), 0..30),
        ) {
            let seen = walk(DeliveryStatus::ALL, start, &events);
            if let Some(i) = seen.iter().position(|s| s.is_settled()) {
                prop_assert!(seen[i..].iter().all(|s| *s == seen[i]), "{seen:?}");
            }
            for w in seen.windows(2) {
                // Nothing goes back to pending; an outcome follows an attempt.
                prop_assert!(w[1] != DeliveryStatus::Pending || w[0] == DeliveryStatus::Pending, "{seen:?}");
                if w[0] != w[1] && matches!(w[1], DeliveryStatus::Success | DeliveryStatus::Retrying) {
                    prop_assert_eq!(w[0], DeliveryStatus::Delivering);
                }
            }
        }

        #[test]
        fn endpoints_are_switched_on_only_by_enable_and_stay_auto_disabled_until_then(
            start in proptest::sample::select(EndpointState::ALL),
            events in proptest::collection::vec(proptest::sample::select(ENDPOINT_EVENTS), 0..30),
        ) {
            let seen = walk(EndpointState::ALL, start, &events);
            for (w, e) in seen.windows(2).zip(&events) {
                match e {
                    EndpointEvent::Enable => prop_assert_eq!(w[1], EndpointState::Enabled, "{:?}", seen),
                    EndpointEvent::AutoDisable => prop_assert_eq!(w[1], EndpointState::AutoDisabled, "{:?}", seen),
                    // A PATCH never auto-disables, nor clears an auto-disabling.
                    EndpointEvent::Disable => prop_assert!(
                        !w[1].is_enabled() && w[1].is_auto_disabled() == w[0].is_auto_disabled(),
                        "{:?}",
                        seen
                    ),
                }
            }
        }
    }
}
