//! The control API: mock-only routes under `/_mock/` that drive a mock's worlds.
//!
//! Every route acts on the world the request names (the `X-Mock-World` header or the
//! `/_mock/w/{world}` prefix, else `default`), except those under `/_mock/worlds`, which name
//! worlds in the path. The routes, their bodies and answers are described by the OpenAPI document
//! the mock serves at `GET /_mock/openapi.json` (the file `mock-core/control-openapi.json`); the
//! README shows each with curl. Errors are `{"error": {"code": "...", "message": "..."}}`.
//!
//! | route | does |
//! |---|---|
//! | `GET /_mock` | what this mock is, its worlds and the routes below |
//! | `GET /_mock/openapi.json` | the control API's OpenAPI document |
//! | `GET /_mock/worlds`, `POST`, `DELETE` | list, create (`{"name", "seed"?, "size"?, "scale"?, "anchor"?}`), drop all |
//! | `GET /_mock/worlds/{name}`, `DELETE` | one world; drop it |
//! | `POST /_mock/worlds/{name}/reset`, `POST /_mock/reset` | back to the seeded start (optionally `{"seed", "size", "scale", "anchor"}`) |
//! | `GET /_mock/snapshot`, `PUT` | export the world as JSON; replace it with an export |
//! | `GET /_mock/journal`, `DELETE` | requests received (filters: `method`, `path`, `status`, `since`, `until`, `limit`); clear |
//! | `POST /_mock/journal/verify` | did matching requests arrive N times? near misses if not |
//! | `GET /_mock/journal/har` | the journal as HAR 1.2 |
//! | `GET /_mock/faults`, `POST`, `DELETE`; `DELETE /_mock/faults/{id}` | fault rules |
//! | `GET /_mock/rate-limit`, `PUT` | the vendor's emulated rate limit (`{"enabled": true}`) |
//! | `GET /_mock/clock`, `POST` | the world's clock: read; `{"action": "freeze" / "unfreeze" / "set" / "advance", "at", "by"}` (set and advance run the time-driven rules and answer their `timeline`) |
//! | `GET /_mock/timeline` | what the time-driven rules moved, oldest first (`limit`) |
//! | `GET /_mock/scenarios`, `POST /_mock/scenarios/{name}` | the vendor's named scenarios; load one into the world |
//! | `GET /_mock/dashboard/` | the dashboard page ([`crate::dashboard`]) |
//! | `GET /_mock/journal/events` | the journal, live, as server-sent events ([`crate::dashboard`]) |
//! | `GET /_mock/state` | the state browser: the vendor's resources and their counts ([`crate::dashboard`]) |
//! | `GET /_mock/state/{resource}` | a page of records (`limit` 1 to 100, `offset`, `q`: an id or reference) |
//! | `GET /_mock/state/{resource}/{id}` | one record with its `links` and its `history` |
//! | `GET /_mock/webhooks` | webhook subscriptions and the newest deliveries (`limit`) with their attempts |
//! | `POST /_mock/webhooks/deliveries/{id}/redeliver` | queue a delivery again |

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::clock::Clock;
use crate::journal::{Filter, Verify};
use crate::scenario::ScenarioError;
use crate::world::{DEFAULT_WORLD, Named, SeedSpec, Vendor, World, WorldError, Worlds};

/// The control API's OpenAPI document.
pub const OPENAPI: &str = include_str!("../control-openapi.json");

/// The largest snapshot `PUT /_mock/snapshot` accepts (256 MiB).
pub const SNAPSHOT_LIMIT: usize = 256 * 1024 * 1024;
/// The largest body of the other control routes (1 MiB).
pub const CONTROL_LIMIT: usize = 1024 * 1024;

/// An error of the control API.
pub fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        axum::Json(json!({ "error": { "code": code, "message": message.into() } })),
    )
        .into_response()
}

/// A refused control request (small, so handlers can return it with `?`).
#[derive(Debug)]
struct Fail {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        error(self.status, self.code, self.message)
    }
}

impl From<WorldError> for Fail {
    fn from(e: WorldError) -> Self {
        Fail {
            status: e.status(),
            code: e.code(),
            message: e.to_string(),
        }
    }
}

fn bad_request(message: impl Into<String>) -> Fail {
    Fail {
        status: StatusCode::BAD_REQUEST,
        code: "invalid_request",
        message: message.into(),
    }
}

type Answer = Result<Response, Fail>;

/// `value` as JSON for an answer of the control API or the dashboard; what serde cannot write
/// (none of the mock's types: their maps have text keys) is the message of a 500
/// ([`internal_error`]) that says so, rather than a silent `null`.
pub(crate) fn to_json<T: serde::Serialize>(value: &T, what: &str) -> Result<Value, String> {
    serde_json::to_value(value).map_err(|e| {
        tracing::error!(error = %e, "cannot write {what} as JSON");
        format!("the mock could not write {what} as JSON: {e}")
    })
}

/// A 500 of the control API with `message`.
pub(crate) fn internal_error(message: String) -> Response {
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", message)
}

/// A timestamp as the control API writes it: RFC 3339, milliseconds, `Z`.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A clock as the control API shows it.
pub fn clock_json(clock: &Clock) -> Value {
    let now = clock.now();
    json!({
        "now": timestamp(now),
        "today": now.date_naive(),
        "frozen": clock.is_frozen(),
    })
}

/// The control routes, for [`crate::world::router`].
pub fn routes<V: Vendor>() -> Router<Arc<Worlds<V>>> {
    Router::new()
        .route("/_mock", get(index::<V>))
        .route("/_mock/", get(index::<V>))
        .route("/_mock/openapi.json", get(openapi))
        .route(
            "/_mock/worlds",
            get(list_worlds::<V>).post(create_world::<V>).delete(drop_all::<V>),
        )
        .route("/_mock/worlds/{name}", get(show_world::<V>).delete(drop_world::<V>))
        .route("/_mock/worlds/{name}/reset", post(reset_named::<V>))
        .route("/_mock/reset", post(reset::<V>))
        .route(
            "/_mock/snapshot",
            get(export::<V>)
                .put(import::<V>)
                .layer(DefaultBodyLimit::max(SNAPSHOT_LIMIT)),
        )
        .route("/_mock/journal", get(journal::<V>).delete(clear_journal::<V>))
        .route("/_mock/journal/verify", post(verify::<V>))
        .route("/_mock/journal/har", get(har::<V>))
        .route(
            "/_mock/faults",
            get(list_faults::<V>).post(add_fault::<V>).delete(clear_faults::<V>),
        )
        .route("/_mock/faults/{id}", delete(remove_fault::<V>))
        .route("/_mock/rate-limit", get(rate_limit::<V>).put(set_rate_limit::<V>))
        .route("/_mock/clock", get(clock::<V>).post(set_clock::<V>))
        .route("/_mock/timeline", get(timeline::<V>))
        .route("/_mock/scenarios", get(scenarios::<V>))
        .route("/_mock/scenarios/{name}", post(load_scenario::<V>))
        .merge(crate::dashboard::routes::<V>())
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(CONTROL_LIMIT))
        .layer(axum::middleware::map_response(plain_rejection))
}

/// An extractor's plain-text 400 (a path segment that is not UTF-8) in the control API's shape.
async fn plain_rejection(res: Response) -> Response {
    let plain = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if res.status() != StatusCode::BAD_REQUEST || !plain {
        return res;
    }
    let text = axum::body::to_bytes(res.into_body(), 512)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        format!("{text}; percent-encode each path segment as UTF-8"),
    )
}

/// A control route asked with a method it does not serve (axum adds the `Allow` header).
async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{} does not take {method}; the Allow header lists what it takes",
            uri.path()
        ),
    )
}

/// The world a control request names.
fn current<V: Vendor>(worlds: &Worlds<V>, req: &Request) -> Result<Arc<World<V>>, Fail> {
    let name = req
        .extensions()
        .get::<Named>()
        .map_or(DEFAULT_WORLD, |n| n.name.as_str());
    Ok(worlds.get_or_create(name)?)
}

/// Reads a JSON body (empty means `T::default()` where allowed).
fn json_body<T: DeserializeOwned>(bytes: &[u8], empty: Option<T>) -> Result<T, Fail> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return empty.ok_or_else(|| bad_request("the body must be a JSON object"));
    }
    crate::body::scan_json(bytes, crate::body::JSON_LIMITS)
        .map_err(|e| bad_request(format!("cannot read the body: {e}")))?;
    serde_json::from_slice(bytes).map_err(|e| bad_request(format!("cannot read the body: {e}")))
}

async fn body(req: Request, limit: usize) -> Result<(Request<()>, Bytes), Fail> {
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, limit).await {
        Ok(b) => Ok((Request::from_parts(parts, ()), b)),
        Err(e) if too_large(&e) => Err(Fail {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "payload_too_large",
            message: format!("the body is larger than {limit} bytes"),
        }),
        // The client went away or sent less than it announced: nothing to read, nothing too large.
        Err(e) => Err(bad_request(format!(
            "the body could not be read ({e}); send the whole body Content-Length announces"
        ))),
    }
}

/// Whether reading a body failed because it went past the limit (and not because it broke off).
fn too_large(e: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = c.source();
    }
    false
}

fn ok(value: Value) -> Response {
    axum::Json(value).into_response()
}

async fn index<V: Vendor>(State(worlds): State<Arc<Worlds<V>>>, req: Request) -> Response {
    let world = req
        .extensions()
        .get::<Named>()
        .map_or(DEFAULT_WORLD.to_string(), |n| n.name.clone());
    ok(json!({
        "vendor": V::NAME,
        "world": world,
        "worlds": worlds.names(),
        "openapi": "/_mock/openapi.json",
        "routes": [
            "GET /_mock", "GET /_mock/openapi.json",
            "GET /_mock/worlds", "POST /_mock/worlds", "DELETE /_mock/worlds",
            "GET /_mock/worlds/{name}", "DELETE /_mock/worlds/{name}", "POST /_mock/worlds/{name}/reset",
            "POST /_mock/reset", "GET /_mock/snapshot", "PUT /_mock/snapshot",
            "GET /_mock/journal", "DELETE /_mock/journal", "POST /_mock/journal/verify", "GET /_mock/journal/har",
            "GET /_mock/faults", "POST /_mock/faults", "DELETE /_mock/faults", "DELETE /_mock/faults/{id}",
            "GET /_mock/rate-limit", "PUT /_mock/rate-limit", "GET /_mock/clock", "POST /_mock/clock", "GET /_mock/timeline",
            "GET /_mock/scenarios", "POST /_mock/scenarios/{name}",
            "GET /_mock/dashboard/", "GET /_mock/journal/events",
            "GET /_mock/state", "GET /_mock/state/{resource}", "GET /_mock/state/{resource}/{id}",
            "GET /_mock/webhooks", "POST /_mock/webhooks/deliveries/{id}/redeliver",
        ],
    }))
}

async fn openapi() -> Response {
    ([(CONTENT_TYPE, HeaderValue::from_static("application/json"))], OPENAPI).into_response()
}

async fn list_worlds<V: Vendor>(State(worlds): State<Arc<Worlds<V>>>) -> Response {
    ok(worlds.list_json())
}

/// What `POST /_mock/worlds` and the reset routes read; absent fields keep the default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedBody {
    name: Option<String>,
    seed: Option<u64>,
    size: Option<u32>,
    scale: Option<u64>,
    anchor: Option<NaiveDate>,
}

/// The largest fixture size a control request may ask for.
const MAX_SIZE: u32 = 100;
/// The largest scale (extra lean records, see [`SeedSpec::scale`]) a control request may ask for.
pub const MAX_SCALE: u64 = 2_000_000;

impl SeedBody {
    fn spec(&self, base: SeedSpec) -> Result<Option<SeedSpec>, Fail> {
        if let Some(size) = self.size
            && size > MAX_SIZE
        {
            return Err(bad_request(format!("size may be at most {MAX_SIZE}; {size} was given")));
        }
        if let Some(scale) = self.scale
            && scale > MAX_SCALE
        {
            return Err(bad_request(format!(
                "scale may be at most {MAX_SCALE}; {scale} was given"
            )));
        }
        if self.seed.is_none() && self.size.is_none() && self.scale.is_none() && self.anchor.is_none() {
            return Ok(None);
        }
        Ok(Some(SeedSpec {
            seed: self.seed.unwrap_or(base.seed),
            size: self.size.unwrap_or(base.size),
            anchor: self.anchor.unwrap_or(base.anchor),
            scale: self.scale.unwrap_or(base.scale),
        }))
    }
}

async fn create_world<V: Vendor>(State(worlds): State<Arc<Worlds<V>>>, req: Request) -> Answer {
    let (_, bytes) = body(req, CONTROL_LIMIT).await?;
    let seed: SeedBody = json_body(&bytes, None)?;
    let Some(name) = seed.name.clone() else {
        return Err(bad_request("name is required: {\"name\": \"ci-job-42\"}"));
    };
    let spec = seed.spec(worlds.config().spec)?;
    let world = worlds.create(&name, spec)?;
    Ok((StatusCode::CREATED, axum::Json(worlds.info_json(&world))).into_response())
}

async fn drop_all<V: Vendor>(State(worlds): State<Arc<Worlds<V>>>) -> Response {
    worlds.drop_all();
    StatusCode::NO_CONTENT.into_response()
}

async fn show_world<V: Vendor>(State(worlds): State<Arc<Worlds<V>>>, Path(name): Path<String>) -> Answer {
    let world = worlds.get(&name).ok_or(WorldError::Unknown(name))?;
    Ok(ok(worlds.info_json(&world)))
}

async fn drop_world<V: Vendor>(State(worlds): State<Arc<Worlds<V>>>, Path(name): Path<String>) -> Answer {
    worlds.drop_world(&name)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn reset_world<V: Vendor>(worlds: &Worlds<V>, world: &World<V>, bytes: &[u8]) -> Answer {
    let seed: SeedBody = json_body(bytes, Some(SeedBody::default()))?;
    if seed.name.is_some() {
        return Err(bad_request(
            "name is not read here: the path or X-Mock-World names the world",
        ));
    }
    let spec = seed.spec(world.spec())?;
    worlds.reset(world, spec);
    Ok(ok(worlds.info_json(world)))
}

async fn reset_named<V: Vendor>(
    State(worlds): State<Arc<Worlds<V>>>,
    Path(name): Path<String>,
    req: Request,
) -> Answer {
    let (_, bytes) = body(req, CONTROL_LIMIT).await?;
    let world = worlds.get_or_create(&name)?;
    reset_world(&worlds, &world, &bytes)
}

async fn reset<V: Vendor>(State(worlds): State<Arc<Worlds<V>>>, req: Request) -> Answer {
    let world = current(&worlds, &req)?;
    let (_, bytes) = body(req, CONTROL_LIMIT).await?;
    reset_world(&worlds, &world, &bytes)
}

async fn export<V: Vendor>(State(worlds): State<Arc<Worlds<V>>>, req: Request) -> Answer {
    let world = current(&worlds, &req)?;
    match worlds.snapshot(&world) {
        Ok(v) => Ok(ok(v)),
        Err(e) => {
            tracing::error!("cannot write the snapshot of world {}: {e}", world.name());
            Err(Fail {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                code: "snapshot_failed",
                message: "the mock could not write this world's snapshot".into(),
            })
        }
    }
}

async fn import<V: Vendor>(State(worlds): State<Arc<Worlds<V>>>, req: Request) -> Answer {
    let world = current(&worlds, &req)?;
    let (_, bytes) = body(req, SNAPSHOT_LIMIT).await?;
    let value: Value = json_body(&bytes, None)?;
    worlds.restore(&world, value)?;
    Ok(ok(worlds.info_json(&world)))
}

fn query<T: DeserializeOwned + Default>(raw: Option<String>) -> Result<T, Fail> {
    match raw {
        None => Ok(T::default()),
        Some(q) => serde_urlencoded::from_str(&q).map_err(|e| bad_request(format!("cannot read the query: {e}"))),
    }
}

async fn journal<V: Vendor>(State(worlds): State<Arc<Worlds<V>>>, RawQuery(raw): RawQuery, req: Request) -> Answer {
    let world = current(&worlds, &req)?;
    let filter: Filter = query(raw)?;
    let entries = world.journal().list(&filter).map_err(bad_request)?;
    Ok(ok(json!({ "world": world.name(), "entries": entries })))
}

async fn clear_journal<V: Vendor>(State(worlds): State<Arc<Worlds<V>>>, req: Request) -> Answer {
    current(&worlds, &req)?.journal().clear();
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn verify<V: Vendor>(State(worlds): State<Arc<Worlds<V>>>, req: Request) -> Answer {
    let world = current(&worlds, &req)?;
    let (_, bytes) = body(req, CONTROL_LIMIT).await?;
    let v: Verify = json_body(&bytes, None)?;
    let verdict = world.journal().verify(&v).map_err(bad_request)?;
    Ok(axum::Json(verdict).into_response())
}

async fn har<V: Vendor>(State(worlds): State<Arc<Worlds<V>>>, RawQuery(raw): RawQuery, req: Request) -> Answer {
    let world = current(&worlds, &req)?;
    let filter: Filter = query(raw)?;
    let har = world
        .journal()
        .har(&filter, env!("CARGO_PKG_VERSION"))
        .map_err(bad_request)?;
    Ok(ok(har))
}

async fn list_faults<V: Vendor>(State(worlds): State<Arc<Worlds<V>>>, req: Request) -> Answer {
    let world = current(&worlds, &req)?;
    Ok(ok(json!({ "world": world.name(), "rules": world.faults().list() })))
}

async fn add_fault<V: Vendor>(State(worlds): State<Arc<Worlds<V>>>, req: Request) -> Answer {
    let world = current(&worlds, &req)?;
    let (_, bytes) = body(req, CONTROL_LIMIT).await?;
    let rule = world.faults().add_json(&bytes).map_err(|message| Fail {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        code: "invalid_rule",
        message,
    })?;
    Ok((StatusCode::CREATED, axum::Json(rule)).into_response())
}

async fn clear_faults<V: Vendor>(State(worlds): State<Arc<Worlds<V>>>, req: Request) -> Answer {
    current(&worlds, &req)?.faults().clear();
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn remove_fault<V: Vendor>(State(worlds): State<Arc<Worlds<V>>>, Path(id): Path<String>, req: Request) -> Answer {
    if current(&worlds, &req)?.faults().remove(&id) {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(Fail {
            status: StatusCode::NOT_FOUND,
            code: "unknown_rule",
            message: format!("no fault rule {id:?} in this world"),
        })
    }
}

async fn rate_limit<V: Vendor>(State(worlds): State<Arc<Worlds<V>>>, req: Request) -> Answer {
    let world = current(&worlds, &req)?;
    Ok(ok(json!({
        "enabled": world.rate_limited(),
        "available": worlds.vendor().rate_limit().is_some(),
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimitBody {
    enabled: bool,
}

async fn set_rate_limit<V: Vendor>(State(worlds): State<Arc<Worlds<V>>>, req: Request) -> Answer {
    let world = current(&worlds, &req)?;
    let (_, bytes) = body(req, CONTROL_LIMIT).await?;
    let b: RateLimitBody = json_body(&bytes, None)?;
    if !worlds.set_rate_limit(&world, b.enabled) {
        return Err(Fail {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "no_rate_limit",
            message: format!("the {} API documents no rate limit to emulate", V::NAME),
        });
    }
    Ok(ok(json!({ "enabled": world.rate_limited(), "available": true })))
}

async fn clock<V: Vendor>(State(worlds): State<Arc<Worlds<V>>>, req: Request) -> Answer {
    let world = current(&worlds, &req)?;
    Ok(ok(clock_json(worlds.vendor().clock(world.state()))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockBody {
    action: String,
    at: Option<DateTime<Utc>>,
    by: Option<String>,
}

async fn set_clock<V: Vendor>(State(worlds): State<Arc<Worlds<V>>>, req: Request) -> Answer {
    let world = current(&worlds, &req)?;
    let (_, bytes) = body(req, CONTROL_LIMIT).await?;
    let b: ClockBody = json_body(&bytes, None)?;
    let clock = worlds.vendor().clock(world.state());
    let mut timeline = Vec::new();
    match (b.action.as_str(), b.at, b.by.as_deref()) {
        ("freeze", None, None) => clock.set(clock.now()),
        ("unfreeze", None, None) => clock.unfreeze(),
        ("set", Some(at), None) => timeline = worlds.run_rules(&world, at),
        ("advance", None, Some(by)) => {
            let by = parse_duration(by).map_err(bad_request)?;
            let until = clock
                .now()
                .checked_add_signed(by)
                .ok_or_else(|| bad_request("advancing that far leaves the calendar; advance by less"))?;
            timeline = worlds.run_rules(&world, until);
        }
        ("set", None, _) => return Err(bad_request("set needs \"at\": an RFC 3339 timestamp")),
        ("advance", _, None) => {
            return Err(bad_request(
                "advance needs \"by\": an ISO 8601 duration such as P14D or PT6H",
            ));
        }
        ("freeze" | "unfreeze" | "set" | "advance", _, _) => {
            return Err(bad_request(
                "freeze and unfreeze take no other field, set takes only \"at\", advance only \"by\"",
            ));
        }
        (other, _, _) => {
            return Err(bad_request(format!(
                "action {other:?} is not one of freeze, unfreeze, set, advance"
            )));
        }
    }
    worlds.touch();
    let mut answer = clock_json(clock);
    answer["timeline"] = match to_json(&timeline, "the timeline") {
        Ok(v) => v,
        Err(message) => return Ok(internal_error(message)),
    };
    Ok(ok(answer))
}

/// The vendor's named scenarios.
async fn scenarios<V: Vendor>(State(worlds): State<Arc<Worlds<V>>>) -> Response {
    let list: Vec<Value> = worlds
        .vendor()
        .scenarios()
        .iter()
        .map(|s| json!({"name": s.name, "about": s.about, "span_days": s.span.num_days()}))
        .collect();
    ok(json!({ "scenarios": list }))
}

/// Loads scenario `name` into the world: 200 with the clock and the rules' timeline.
async fn load_scenario<V: Vendor>(
    State(worlds): State<Arc<Worlds<V>>>,
    Path(name): Path<String>,
    req: Request,
) -> Answer {
    let world = current(&worlds, &req)?;
    let timeline = worlds.load_scenario(&world, &name).await.map_err(|e| match e {
        ScenarioError::Unknown(message) => Fail {
            status: StatusCode::NOT_FOUND,
            code: "unknown_scenario",
            message,
        },
        ScenarioError::Failed(message) => Fail {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "scenario_failed",
            message,
        },
    })?;
    let mut answer = clock_json(worlds.vendor().clock(world.state()));
    answer["scenario"] = json!(name);
    answer["timeline"] = match to_json(&timeline, "the timeline") {
        Ok(v) => v,
        Err(message) => return Ok(internal_error(message)),
    };
    Ok(ok(answer))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TimelineQuery {
    limit: Option<usize>,
}

/// What the world's time-driven rules moved, oldest first (the last `limit`, default 1,000).
async fn timeline<V: Vendor>(State(worlds): State<Arc<Worlds<V>>>, req: Request) -> Answer {
    let world = current(&worlds, &req)?;
    let q: TimelineQuery = serde_urlencoded::from_str(req.uri().query().unwrap_or(""))
        .map_err(|e| bad_request(format!("query: {e} (GET /_mock/timeline takes only limit)")))?;
    let log = world.rules().log(q.limit.unwrap_or(1000));
    Ok(ok(json!({
        "rules_ran_until": timestamp(world.rules().mark()),
        "count": log.len(),
        "timeline": log,
    })))
}

/// The longest duration [`parse_duration`] accepts: 100 years of days, either way.
pub const MAX_DURATION_DAYS: i64 = 36_500;

/// An ISO 8601 duration of weeks, days, hours, minutes and seconds (`P14D`, `PT6H30M`, `P1W`,
/// `-P1D` to go back), at most [`MAX_DURATION_DAYS`] days. Years and months are refused: their
/// length depends on the date.
pub fn parse_duration(text: &str) -> Result<chrono::Duration, String> {
    let bad = || format!("{text:?} is not an ISO 8601 duration such as P14D, PT6H or P1DT12H");
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let rest = rest.strip_prefix('P').ok_or_else(bad)?;
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = chrono::Duration::zero();
    let mut in_time = false;
    let mut number = String::new();
    let mut any = false;
    let mut time_parts = 0;
    for c in rest.chars() {
        match c {
            '0'..='9' => number.push(c),
            'T' if !in_time && number.is_empty() => in_time = true,
            unit => {
                let n: i64 = number.parse().map_err(|_| bad())?;
                number.clear();
                let part = match (in_time, unit) {
                    (false, 'W') => chrono::Duration::try_weeks(n),
                    (false, 'D') => chrono::Duration::try_days(n),
                    (true, 'H') => chrono::Duration::try_hours(n),
                    (true, 'M') => chrono::Duration::try_minutes(n),
                    (true, 'S') => chrono::Duration::try_seconds(n),
                    (false, 'Y' | 'M') => {
                        return Err(format!(
                            "{text:?}: years and months have no fixed length; give days (P30D) instead"
                        ));
                    }
                    _ => None,
                }
                .ok_or_else(bad)?;
                total = total.checked_add(&part).ok_or_else(bad)?;
                any = true;
                if in_time {
                    time_parts += 1;
                }
            }
        }
    }
    if !number.is_empty() || !any || (in_time && time_parts == 0) {
        return Err(bad());
    }
    if total > chrono::Duration::days(MAX_DURATION_DAYS) {
        return Err(format!(
            "{text:?} is longer than the {MAX_DURATION_DAYS} days (P{MAX_DURATION_DAYS}D) a duration may be"
        ));
    }
    Ok(if negative { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::tests::Broken;
    use axum::body::Body;

    #[test]
    fn durations_read_as_iso_8601() {
        assert_eq!(parse_duration("P14D"), Ok(chrono::Duration::days(14)));
        assert_eq!(
            parse_duration("P1DT6H30M"),
            Ok(chrono::Duration::days(1) + chrono::Duration::hours(6) + chrono::Duration::minutes(30))
        );
        assert_eq!(parse_duration("PT90S"), Ok(chrono::Duration::seconds(90)));
        assert_eq!(parse_duration("P2W"), Ok(chrono::Duration::days(14)));
        assert_eq!(parse_duration("-P1D"), Ok(-chrono::Duration::days(1)));
        for bad in ["", "P", "14D", "PT", "P1H", "P1DT", "PXD", "P1M"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(parse_duration("P1M").is_err_and(|e| e.contains("P30D")));
    }

    #[tokio::test]
    async fn only_a_body_past_the_limit_is_too_large() {
        let read = |b: Body| body(Request::new(b), 10);
        assert!(read(Body::from("0123456789")).await.is_ok());
        let long = read(Body::from("0123456789x")).await.err().map(|f| (f.status, f.code));
        assert_eq!(long, Some((StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")));
        let broken = read(Body::new(Broken(false))).await.err();
        assert_eq!(
            broken.as_ref().map(|f| (f.status, f.code)),
            Some((StatusCode::BAD_REQUEST, "invalid_request"))
        );
        assert!(broken.is_some_and(|f| f.message.contains("could not be read")));
    }
}
