//! v2 events: `GET /v2/events/` (the company's Case events) and `GET /partner/v2/events/` (the
//! Partner's lifecycle events plus the Case events of the companies it may operate).
//!
//! Every v2 state change records one event `{id, type, created_at, data}` in the same write as
//! the change, and hands it to the subscribed endpoints ([`crate::v2::webhooks::fan_out`]). The
//! feeds are oldest first, keep 30 days, and show an event once it is 60 seconds old (paywise's
//! settling delay; advance the mock's clock to see new events at once). `since` is the opaque
//! cursor of the last event seen; `next` is this feed's URL with `since` set when more events are
//! waiting (the SDK's pager follows it as a URL), else null; `cursor` is the last event's cursor,
//! the requested `since` when nothing new arrived, and null only on an empty first page.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::list::Origin;
use crate::resources::claims::SubmissionState;
use crate::state::{AppState, Db, Scope};
use crate::v2::conv::{Query, SETTLE, V2Caller, link, respond};
use crate::v2::error::V2Error;

/// The 25 Case event types.
pub const CASE_EVENTS: &[&str] = &[
    "order.submitted",
    "order.withdrawn",
    "order.rejected",
    "order.expired",
    "order.accepted",
    "order.message.created",
    "mandate.created",
    "mandate.state.changed",
    "mandate.balance_updated",
    "mandate.status_update.published",
    "mandate.message.created",
    "request_to_client.created",
    "request_to_client.answered",
    "payment.reported",
    "statement.published",
    "statement.cancelled",
    "single_mandate_statement.published",
    "single_mandate_statement.cancelled",
    "invoice.created",
    "invoice.paid",
    "invoice.cancelled",
    "invoice.written_off",
    "invoice.reopened",
    "dunning.level_advanced",
    "dunning.handed_to_collection",
];

/// The 9 Partner lifecycle event types.
pub const LIFECYCLE_EVENTS: &[&str] = &[
    "company.created",
    "company.case_submission_readiness.changed",
    "company.access.confirmed",
    "company.access.restored",
    "company.access.revoked",
    "company.user.added",
    "company.user.revoked",
    "company.user.activated",
    "company.user.invite_expired",
];

/// How long the feeds keep events.
pub const RETENTION: Duration = Duration::days(30);

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Creation order: the feed's order and cursor.
    pub seq: u64,
    /// The company (and environment) it concerns.
    pub scope: Scope,
    /// The event id (`webhook-id` of every delivery attempt).
    pub id: Uuid,
    /// The event type.
    #[serde(rename = "type")]
    pub kind: String,
    /// When it occurred.
    #[serde(with = "crate::format::ts")]
    pub created_at: DateTime<Utc>,
    /// The family-specific data.
    pub data: Value,
    /// For a lifecycle event: the Partner account it belongs to.
    #[serde(default)]
    pub partner: Option<u64>,
}

scoped_record!(Event);

impl Event {
    /// The envelope as feeds and deliveries show it.
    pub fn envelope(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "type": self.kind,
            "created_at": crate::v2::conv::ts(&self.created_at),
            "data": self.data,
        })
    }

    /// Whether it is a Partner lifecycle event.
    pub fn is_lifecycle(&self) -> bool {
        self.partner.is_some()
    }
}

/// Records a Case event of `kind` for `scope` with `data` (which gets `company_id` first) and
/// hands it to the subscribed endpoints. Runs inside the write that makes the change.
pub fn emit(db: &mut Db, state: &AppState, scope: Scope, kind: &str, data: Value) {
    record(db, state, scope, kind, data, None);
}

/// Records a Partner lifecycle event of `account` about the company of `scope`.
pub fn emit_lifecycle(db: &mut Db, state: &AppState, account: u64, scope: Scope, kind: &str, data: Value) {
    record(db, state, scope, kind, data, Some(account));
}

fn record(db: &mut Db, state: &AppState, scope: Scope, kind: &str, data: Value, partner: Option<u64>) {
    let company = crate::v2::meta::company_id_of(db, scope.company);
    let mut full = serde_json::Map::new();
    full.insert("company_id".into(), Value::String(company.to_string()));
    if let Value::Object(m) = data {
        full.extend(m);
    }
    let event = Event {
        seq: state.ids.next_seq(),
        scope,
        id: state.ids.uuid(),
        kind: kind.to_string(),
        created_at: state.now(),
        data: Value::Object(full),
        partner,
    };
    crate::v2::webhooks::fan_out(db, state, &event);
    if let Err(e) = db.v2_events.insert(event) {
        tracing::warn!("event not recorded: {e}");
    }
}

/// The routes of the Case feed.
pub fn router() -> Router<AppState> {
    Router::new().route("/events/", get(case_feed))
}

/// The routes of the Partner feed.
pub fn partner_router() -> Router<AppState> {
    Router::new().route("/events/", get(partner_feed))
}

fn cursor_of(seq: u64) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("e{seq}"))
}

fn seq_of(cursor: &str) -> Option<u64> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).ok()?;
    String::from_utf8(raw).ok()?.strip_prefix('e')?.parse().ok()
}

/// Reads `since`, `limit` and `event_type` (from `types`), then pages `events` (already the
/// caller's, oldest first).
fn feed(
    origin: &Origin,
    q: &mut Query<'_>,
    types: &[&str],
    now: DateTime<Utc>,
    events: impl Fn(&dyn Fn(&Event) -> bool) -> Vec<Event>,
) -> Result<Value, V2Error> {
    let since_raw = q.string("since");
    let since = match &since_raw {
        None => None,
        Some(raw) => match seq_of(raw) {
            Some(s) => Some(s),
            None => {
                q.errs
                    .push("since", "invalid", "Invalid cursor; pass a cursor this feed returned.");
                None
            }
        },
    };
    let limit = match q.string("limit") {
        None => crate::v2::conv::DEFAULT_LIMIT,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=crate::v2::conv::MAX_LIMIT).contains(&n) => n,
            _ => {
                q.errs
                    .push("limit", "invalid", "limit must be an integer from 1 to 100.");
                0
            }
        },
    };
    let wanted = q.choices("event_type", types);
    std::mem::take(&mut q.errs).finish(())?;
    let visible_until = now - SETTLE;
    let oldest = now - RETENTION;
    let keep = |e: &Event| {
        e.created_at <= visible_until
            && e.created_at >= oldest
            && since.is_none_or(|s| e.seq > s)
            && (wanted.is_empty() || wanted.contains(&e.kind))
    };
    let mut rows = events(&keep);
    rows.sort_by_key(|e| e.seq);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let cursor = rows.last().map(|e| cursor_of(e.seq)).or(since_raw);
    let next = if more {
        rows.last().map(|e| {
            link(
                origin,
                &[("since", cursor_of(e.seq)), ("limit", limit.to_string())],
                &[],
            )
        })
    } else {
        None
    };
    Ok(json!({
        "cursor": cursor,
        "next": next,
        "results": rows.iter().map(Event::envelope).collect::<Vec<_>>(),
    }))
}

async fn case_feed(State(state): State<AppState>, caller: V2Caller, origin: Origin) -> Result<Response, V2Error> {
    let mut q = Query::new(&origin.query);
    let scope = caller.scope;
    let body = feed(&origin, &mut q, CASE_EVENTS, state.now(), |keep| {
        state.store.read(|db| {
            db.v2_events
                .iter(&scope)
                .filter(|e| !e.is_lifecycle() && keep(e))
                .cloned()
                .collect()
        })
    })?;
    Ok(respond(axum::http::StatusCode::OK, body))
}

async fn partner_feed(State(state): State<AppState>, caller: V2Caller, origin: Origin) -> Result<Response, V2Error> {
    let key = caller
        .partner
        .clone()
        .ok_or_else(|| V2Error::forbidden("Not a Partner key."))?;
    let mut q = Query::new(&origin.query);
    let company = q.uuid("company");
    let mut all: Vec<&str> = LIFECYCLE_EVENTS.to_vec();
    all.extend_from_slice(CASE_EVENTS);
    let mode = caller.scope.mode;
    let body = feed(&origin, &mut q, &all, state.now(), |keep| {
        state.store.read(|db| {
            let companies = crate::v2::partner::operable_companies(db, key.account, mode);
            db.v2_events
                .iter_all()
                .filter(|e| e.scope.mode == mode && keep(e))
                .filter(|e| match e.partner {
                    Some(account) => account == key.account,
                    None => companies.iter().any(|(number, _)| *number == e.scope.company),
                })
                .filter(|e| {
                    company.is_none_or(|c| e.data.get("company_id").and_then(Value::as_str) == Some(&c.to_string()))
                })
                .cloned()
                .collect()
        })
    })?;
    Ok(respond(axum::http::StatusCode::OK, body))
}

/// The v2 events of a change made through v1 (v1's event `kind` with its `data`), so that a v2
/// client of the same company sees v1's changes in its feed and webhooks: a release is
/// `order.submitted`, paywise's acceptance `order.accepted` and `mandate.created`, a rejection
/// `order.rejected`, status updates `mandate.status_update.published` (and
/// `mandate.state.changed`), payments `payment.reported` and `mandate.balance_updated`,
/// requests to client on a mandate `request_to_client.created` / `.answered`.
pub fn bridge_v1(state: &AppState, scope: Scope, kind: &str, data: &Value) {
    let id = |v: &Value| {
        v.get("id")
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
    };
    let mandate_data = |m: Uuid| json!({ "mandate_id": m.to_string(), "mandate_url": format!("/v2/mandates/{m}/") });
    state.store.write(|db| match kind {
        "claim.updated" => {
            let Some(claim) = id(data).and_then(|c| db.claims.get(&scope, &c.to_string()).cloned()) else {
                return;
            };
            let Ok(order) = crate::v2::orders::find(db, scope, crate::v2::claims::order_id(&claim)) else {
                return;
            };
            let mut event = crate::v2::orders::event_data(db, &order);
            let v2_kind = match claim.submission_state {
                SubmissionState::Released => "order.submitted",
                SubmissionState::Accepted => "order.accepted",
                SubmissionState::Rejected => "order.rejected",
                _ => return,
            };
            if v2_kind == "order.accepted"
                && let Some(m) = claim.mandate.as_ref().and_then(id)
                && let Value::Object(e) = &mut event
            {
                e.insert("mandate_id".into(), json!(m.to_string()));
                e.insert("mandate_url".into(), json!(format!("/v2/mandates/{m}/")));
            }
            emit(db, state, scope, v2_kind, event);
        }
        "mandate.created" | "mandate.balance_updated" => {
            if let Some(m) = id(data) {
                emit(db, state, scope, kind, mandate_data(m));
            }
        }
        "mandate.status_updated" => {
            let Some(m) = id(data) else { return };
            let latest = db
                .status_updates
                .lookup(&scope, "mandate", &m.to_string())
                .max_by_key(|s| s.seq)
                .map(|s| s.id);
            emit(db, state, scope, "mandate.state.changed", mandate_data(m));
            if let Some(su) = latest {
                let mut d = mandate_data(m);
                if let Value::Object(o) = &mut d {
                    o.insert("status_update_id".into(), json!(su.to_string()));
                }
                emit(db, state, scope, "mandate.status_update.published", d);
            }
        }
        "payment.created" => {
            if let Some(p) = id(data) {
                emit(
                    db,
                    state,
                    scope,
                    "payment.reported",
                    json!({ "payment_id": p.to_string(), "payment_url": format!("/v2/payments/{p}/") }),
                );
            }
        }
        "request_to_client.created" | "request_to_client.answered" => {
            let Some(r) = id(data) else { return };
            match data.get("mandate").and_then(id) {
                Some(m) => emit(
                    db,
                    state,
                    scope,
                    kind,
                    json!({
                        "request_to_client_id": r.to_string(),
                        "mandate_id": m.to_string(),
                        "request_to_client_url": format!("/v2/mandates/{m}/requests-to-client/{r}/"),
                    }),
                ),
                None => emit(db, state, scope, kind, json!({ "request_to_client_id": r.to_string() })),
            }
        }
        _ => {}
    });
}
