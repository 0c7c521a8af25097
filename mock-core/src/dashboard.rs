//! The dashboard: a page each mock serves at `/_mock/dashboard/` that watches and steers it in a
//! browser, built only on the control API (every button is a control request that curl can make).
//!
//! | route | does |
//! |---|---|
//! | `GET /_mock/dashboard` | redirects to `/_mock/dashboard/` |
//! | `GET /_mock/dashboard/` | the page (`index.html`) |
//! | `GET /_mock/dashboard/app.js`, `app.css` | its script and style |
//! | `GET /_mock/journal/events` | the world's journal, live, as server-sent events |
//! | `GET /_mock/state` | the state browser: the vendor's resources and their counts |
//! | `GET /_mock/state/{resource}` | a page of records (`limit`, `offset`, `q`: an id or reference) |
//! | `GET /_mock/state/{resource}/{id}` | one record, its relations (`links`) and its `history` |
//! | `GET /_mock/webhooks` | webhook subscriptions and the newest deliveries with their attempts |
//! | `POST /_mock/webhooks/deliveries/{id}/redeliver` | queue a delivery again |
//!
//! The assets (`mock-core/dashboard/`) are embedded at build time: no CDN, no build step, works
//! offline. Every answer of the page's routes carries a strict `Content-Security-Policy` (only the
//! mock's own script, style and requests; no inline code, no frames).
//!
//! The dashboard's own requests and its event stream are control routes, which are never recorded
//! in the journal (only requests to the vendor's API are), so the page does not see itself.
//!
//! ## The event stream
//!
//! `GET /_mock/journal/events` (or `/_mock/w/{world}/_mock/journal/events`, since a browser's
//! `EventSource` cannot send `X-Mock-World`) answers `text/event-stream`:
//!
//! - `event: entry`, `data:` an entry as `GET /_mock/journal` shows it, for each exchange recorded
//!   from the moment the stream opened, oldest first; `id:` is the entry's id;
//! - `event: lagged`, `data: {"missed": N}` when the client read too slowly and the `N` oldest
//!   entries of its backlog were skipped (the stream holds at most [`crate::journal::LIVE_BUFFER`]
//!   unread entries per client, so a slow or gone client never grows the mock's memory); the
//!   entries are still in the journal (`GET /_mock/journal`), which the page reloads then;
//! - a comment line (`: keep-alive`) every 15 seconds without traffic.
//!
//! The stream ends when the world is dropped or reset replaces its journal, or the client leaves.
//!
//! ## The state browser
//!
//! A vendor names its resources and renders their records through the [`Vendor`] hooks
//! ([`Vendor::resources`], [`Vendor::records`], [`Vendor::record`]); each record comes with the
//! `links` to its related records (`{resource, id, label}`). Reads are bounded: a listing costs
//! its page, a search (`q`) is served by the store's key lookups (id, number, reference) where
//! the table has them and otherwise by a scan of at most [`SCAN_LIMIT`] records, which the answer
//! says (`"served": "scan"`, `"scanned"`, `"complete"`).
//!
//! A record's `history` is derived, not stored: the world's journal entries whose URL names the
//! record (its id, number or reference as a whole word), and writes whose request or response
//! body names it, with the changes the time-driven rules made to it (the world's timeline), in
//! time order; the newest [`HISTORY_LIMIT`]. It reaches back as far as the journal's ring and the
//! timeline's log do.
//!
//! ## Webhooks
//!
//! `GET /_mock/webhooks` shows the vendor's subscriptions and deliveries in one shape for both
//! vendors ([`Vendor::webhooks`]); the redeliver route runs the vendor's own redeliver request
//! ([`Vendor::redeliver`]) on the world's app, unjournaled, and answers what it answers.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http_body::Frame;
use tokio::sync::broadcast::{Receiver, error::RecvError};

use axum::extract::{Path, RawQuery};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::journal::Entry;
use crate::store::{Hint, Record, Table};
use crate::world::{DEFAULT_WORLD, Named, Vendor, World, WorldError, Worlds};

/// The page.
pub const INDEX_HTML: &str = include_str!("../dashboard/index.html");
/// Its script.
pub const APP_JS: &str = include_str!("../dashboard/app.js");
/// Its style.
pub const APP_CSS: &str = include_str!("../dashboard/app.css");

/// The policy every dashboard answer carries.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
     img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// How long the event stream stays quiet before it sends a keep-alive comment.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The dashboard's routes, merged into [`crate::control::routes`].
pub fn routes<V: Vendor>() -> Router<Arc<Worlds<V>>> {
    Router::new()
        .route("/_mock/dashboard", get(redirect))
        .route(
            "/_mock/dashboard/",
            get(|| async { asset(INDEX_HTML, "text/html; charset=utf-8") }),
        )
        .route(
            "/_mock/dashboard/index.html",
            get(|| async { asset(INDEX_HTML, "text/html; charset=utf-8") }),
        )
        .route(
            "/_mock/dashboard/app.js",
            get(|| async { asset(APP_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/_mock/dashboard/app.css",
            get(|| async { asset(APP_CSS, "text/css; charset=utf-8") }),
        )
        .route("/_mock/journal/events", get(events::<V>))
        .route("/_mock/state", get(state_index::<V>))
        .route("/_mock/state/{resource}", get(state_list::<V>))
        .route("/_mock/state/{resource}/{id}", get(state_record::<V>))
        .route("/_mock/webhooks", get(webhooks::<V>))
        .route(
            "/_mock/webhooks/deliveries/{id}/redeliver",
            axum::routing::post(redeliver::<V>),
        )
}

fn secure(res: &mut Response) {
    let headers = res.headers_mut();
    headers.insert(
        HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("no-referrer"),
    );
}

fn asset(text: &'static str, content_type: &'static str) -> Response {
    let mut res = (
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        text,
    )
        .into_response();
    secure(&mut res);
    res
}

async fn redirect(req: Request) -> Response {
    // Keep a world prefix (`/_mock/w/{world}/_mock/dashboard`) the request came through.
    let to = match req.extensions().get::<Named>().and_then(|n| n.base.clone()) {
        Some(base) => format!("{base}/_mock/dashboard/"),
        None => "/_mock/dashboard/".to_string(),
    };
    let mut res = StatusCode::PERMANENT_REDIRECT.into_response();
    if let Ok(v) = HeaderValue::from_str(&to) {
        res.headers_mut().insert(LOCATION, v);
    }
    secure(&mut res);
    res
}

async fn events<V: Vendor>(State(worlds): State<Arc<Worlds<V>>>, req: Request) -> Response {
    let name = req
        .extensions()
        .get::<Named>()
        .map_or(DEFAULT_WORLD, |n| n.name.as_str());
    let world = match worlds.get_or_create(name) {
        Ok(w) => w,
        Err(e) => return crate::control::error(e.status(), e.code(), e.to_string()),
    };
    let stream = EventStream::new(world.journal().subscribe());
    let mut res = (
        [
            (CONTENT_TYPE, HeaderValue::from_static("text/event-stream")),
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        Body::new(stream),
    )
        .into_response();
    secure(&mut res);
    res
}

type Next = Pin<Box<dyn Future<Output = (Option<Result<Entry, RecvError>>, Receiver<Entry>)> + Send>>;

/// One client's event stream: a body that waits for the next entry (or the keep-alive time).
struct EventStream {
    /// The wait under way; `None` once the journal is gone.
    next: Option<Next>,
    /// Sent first: a comment, so the client sees the stream open at once.
    opening: bool,
}

impl EventStream {
    fn new(rx: Receiver<Entry>) -> Self {
        Self {
            next: Some(Self::wait(rx)),
            opening: true,
        }
    }

    fn wait(mut rx: Receiver<Entry>) -> Next {
        Box::pin(async move {
            let got = tokio::select! {
                got = rx.recv() => Some(got),
                () = tokio::time::sleep(KEEP_ALIVE) => None,
            };
            (got, rx)
        })
    }
}

/// An entry as an event.
pub fn entry_event(entry: &Entry) -> String {
    let data = serde_json::to_string(entry).unwrap_or_else(|_| "null".to_string());
    format!("event: entry\nid: {}\ndata: {data}\n\n", entry.id)
}

impl http_body::Body for EventStream {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.opening {
            self.opening = false;
            return Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b": stream open\n\n")))));
        }
        let Some(next) = self.next.as_mut() else {
            return Poll::Ready(None);
        };
        let (got, rx) = match next.as_mut().poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(done) => done,
        };
        let text = match got {
            None => ": keep-alive\n\n".to_string(),
            Some(Ok(entry)) => entry_event(&entry),
            Some(Err(RecvError::Lagged(missed))) => {
                format!("event: lagged\ndata: {{\"missed\": {missed}}}\n\n")
            }
            Some(Err(RecvError::Closed)) => {
                self.next = None;
                return Poll::Ready(None);
            }
        };
        self.next = Some(Self::wait(rx));
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(text)))))
    }

    fn is_end_stream(&self) -> bool {
        self.next.is_none() && !self.opening
    }
}

// ------------------------------------------------------------------------------------------------
// The state browser

/// The most records a search that no key serves looks at.
pub const SCAN_LIMIT: usize = 10_000;
/// The page size of `GET /_mock/state/{resource}` unless `limit` says otherwise.
pub const DEFAULT_LIMIT: usize = 20;
/// The largest `limit`.
pub const MAX_LIMIT: usize = 100;
/// The most links of one relation a record lists (the rest are counted in its label).
pub const LINK_LIMIT: usize = 50;
/// The most history entries a record shows (the newest).
pub const HISTORY_LIMIT: usize = 200;
/// The most deliveries `GET /_mock/webhooks` lists unless `limit` says otherwise.
pub const DELIVERY_LIMIT: usize = 50;

/// A resource of the state browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resource {
    /// Its name in the routes (`debtors`).
    pub name: &'static str,
    /// How the page titles it (`Debtors`).
    pub label: &'static str,
    /// How many records the world holds.
    pub count: usize,
    /// What a search (`q`) matches, in words (`id or debtor_number`).
    pub search: &'static str,
}

impl Resource {
    /// The resources `table` describes (name, label, what a search matches), with `counts` in
    /// the same order.
    pub fn list(table: &[(&'static str, &'static str, &'static str)], counts: &[usize]) -> Vec<Resource> {
        table
            .iter()
            .zip(counts)
            .map(|(&(name, label, search), &count)| Resource {
                name,
                label,
                count,
                search,
            })
            .collect()
    }
}

/// A related record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    /// Its resource (a [`Resource::name`]).
    pub resource: &'static str,
    /// Its id.
    pub id: String,
    /// How the page shows it (`invoice F-2026-0042`).
    pub label: String,
}

/// One record as the state browser shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Browsed {
    /// Its resource.
    pub resource: &'static str,
    /// Its id, as the vendor's API writes it.
    pub id: String,
    /// A short title (number and name).
    pub label: String,
    /// Its tenant (a Payt administration, a paywise company and access mode).
    pub tenant: String,
    /// The record as the vendor's API renders it.
    pub record: Value,
    /// Its related records.
    pub links: Vec<Link>,
    /// What names it in requests besides its id (a number, a reference): its history looks
    /// for these too.
    #[serde(skip)]
    pub names: Vec<String>,
    /// What the time-driven rules' timeline calls its kind (`invoice`, `credit_case`), if they
    /// move it.
    #[serde(skip)]
    pub kind: Option<&'static str>,
}

/// How a page was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Served {
    /// A plain page (no search).
    #[default]
    Page,
    /// The search was answered by key lookups.
    Key,
    /// The search scanned records (at most [`SCAN_LIMIT`]).
    Scan,
}

/// A page of records.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Page {
    /// How many records match (without a search: the resource's count).
    pub total: usize,
    /// The page.
    pub items: Vec<Browsed>,
    /// How it was read.
    pub served: Served,
    /// How many records a scan looked at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scanned: Option<usize>,
    /// Whether the scan saw every record (false: it stopped at [`SCAN_LIMIT`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complete: Option<bool>,
}

/// What `GET /_mock/state/{resource}` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageQuery {
    /// Records to skip.
    pub offset: usize,
    /// Records to show, 1 to [`MAX_LIMIT`].
    pub limit: usize,
    /// An id or reference to find, if any.
    pub q: Option<String>,
    /// `http://host:port` (and world prefix) the request came to, for the vendor's `href`s.
    pub origin: String,
}

/// Why the state browser cannot answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrowseError {
    /// The vendor has no such resource.
    #[error("no resource {0:?} in the state browser; GET /_mock/state lists them")]
    UnknownResource(String),
    /// No such record (or delivery).
    #[error("{0}")]
    NotFound(String),
    /// The request cannot be served (a delivery that cannot be redelivered).
    #[error("{0}")]
    Refused(String),
}

impl BrowseError {
    fn response(&self) -> Response {
        let (status, code) = match self {
            BrowseError::UnknownResource(_) => (StatusCode::NOT_FOUND, "unknown_resource"),
            BrowseError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            BrowseError::Refused(_) => (StatusCode::CONFLICT, "refused"),
        };
        crate::control::error(status, code, self.to_string())
    }
}

/// The web-hook view of a world, the same for every vendor.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Webhooks {
    /// Every subscription (endpoint).
    pub subscriptions: Vec<Subscription>,
    /// The newest deliveries, newest first.
    pub deliveries: Vec<Delivery>,
    /// How many deliveries the world holds.
    pub total_deliveries: usize,
    /// What the view leaves out or cannot do, if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
}

/// A webhook subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subscription {
    /// Its id.
    pub id: String,
    /// Which API it belongs to (`payt`, `v1`, `v2`).
    pub api: &'static str,
    /// The receiver.
    pub url: String,
    /// Whether events are delivered to it.
    pub active: bool,
    /// Its event types (empty: all).
    pub events: Vec<String>,
    /// Its tenant.
    pub tenant: String,
}

/// One attempt of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// When it was made (the world's clock).
    pub at: String,
    /// The receiver's status, if it answered.
    pub status: Option<u16>,
    /// What went wrong, if anything.
    pub error: Option<String>,
}

/// A webhook delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// Its id.
    pub id: String,
    /// Which API it belongs to.
    pub api: &'static str,
    /// Its subscription's id.
    pub subscription: String,
    /// The event type.
    pub event: String,
    /// Where it is (`pending`, `delivered`, `failed`, in the vendor's words).
    pub status: String,
    /// How many attempts were made.
    pub attempts: u32,
    /// The attempts the vendor keeps (Payt: all; paywise: the last).
    pub attempt_log: Vec<Attempt>,
    /// When the next attempt is due.
    pub next_attempt_at: Option<String>,
    /// When it was made.
    pub created_at: String,
    /// Whether `POST /_mock/webhooks/deliveries/{id}/redeliver` can queue it again.
    pub redeliver: bool,
}

/// What a scan tests a record with: whether it is the one the search text names.
pub type Matcher<'a, V> = &'a dyn Fn(&V, &str) -> bool;

/// A page of `table`'s records across `scopes`, scope by scope in the order given and each in
/// creation order, searched by `query.q` if it is given, each record made a [`Browsed`] by
/// `render`.
///
/// Without a search it costs the page and one count per scope. A search looks the text up as a
/// record's id (the table's key index), then under each secondary key of `keys` in every scope
/// ([`Table::lookup`]); only if neither finds anything and `scan` is given are records tested
/// with it, at most [`SCAN_LIMIT`] of them.
pub fn browse<V: Record>(
    table: &Table<V>,
    scopes: &[V::Scope],
    query: &PageQuery,
    keys: &[&'static str],
    scan: Option<Matcher<'_, V>>,
    render: impl Fn(&V) -> Browsed,
) -> Page {
    let Some(q) = query.q.as_deref() else {
        let total = scopes.iter().map(|s| table.scope_len(s)).sum();
        let mut items = Vec::new();
        let mut skip = query.offset;
        for scope in scopes {
            let want = query.limit - items.len();
            if want == 0 {
                break;
            }
            let len = table.scope_len(scope);
            if skip >= len {
                skip -= len;
                continue;
            }
            let page = table.page_offset_shared(scope, skip, want, Hint::None, None);
            skip = 0;
            items.extend(page.items.iter().map(|v| render(v)));
        }
        return Page {
            total,
            items,
            ..Page::default()
        };
    };
    let mut found: Vec<&V> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    if let Some(v) = table.find(q)
        && scopes.contains(&v.scope())
    {
        seen.insert(v.key());
        found.push(v);
    }
    for key in keys {
        for scope in scopes {
            for v in table.lookup(scope, key, q) {
                if seen.insert(v.key()) {
                    found.push(v);
                }
            }
        }
    }
    let (mut served, mut scanned, mut complete) = (Served::Key, None, None);
    if found.is_empty()
        && let Some(test) = scan
    {
        served = Served::Scan;
        let mut looked = 0;
        let mut all = true;
        'scopes: for scope in scopes {
            for v in table.iter(scope) {
                if looked == SCAN_LIMIT {
                    all = false;
                    break 'scopes;
                }
                looked += 1;
                if test(v, q) {
                    found.push(v);
                }
            }
        }
        scanned = Some(looked);
        complete = Some(all);
    }
    Page {
        total: found.len(),
        items: found
            .into_iter()
            .skip(query.offset)
            .take(query.limit)
            .map(render)
            .collect(),
        served,
        scanned,
        complete,
    }
}

/// Links to the records `ids` of `resource` that `table` holds in `scope`, at most
/// [`LINK_LIMIT`], each labelled by `label`.
pub fn links<V: Record>(
    table: &Table<V>,
    scope: &V::Scope,
    resource: &'static str,
    ids: impl IntoIterator<Item = String>,
    label: impl Fn(&V) -> String,
) -> Vec<Link> {
    let mut seen = std::collections::HashSet::new();
    ids.into_iter()
        .filter(|id| seen.insert(id.clone()))
        .filter_map(|id| table.get(scope, &id).map(|v| (id, label(v))))
        .take(LINK_LIMIT)
        .map(|(id, label)| Link { resource, id, label })
        .collect()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<usize>,
    offset: Option<usize>,
    q: Option<String>,
}

fn world_of<V: Vendor>(worlds: &Worlds<V>, req: &Request) -> Result<Arc<World<V>>, WorldError> {
    let name = req
        .extensions()
        .get::<Named>()
        .map_or(DEFAULT_WORLD, |n| n.name.as_str());
    worlds.get_or_create(name)
}

fn bad_request(message: impl Into<String>) -> Response {
    crate::control::error(StatusCode::BAD_REQUEST, "invalid_request", message)
}

fn origin_of(req: &Request) -> String {
    crate::pagination::origin(req.headers(), req.uri()).unwrap_or_else(|| "http://localhost".to_string())
}

async fn state_index<V: Vendor>(State(worlds): State<Arc<Worlds<V>>>, req: Request) -> Response {
    let world = match world_of(&worlds, &req) {
        Ok(w) => w,
        Err(e) => return e.into_response(),
    };
    let resources = worlds.vendor().resources(world.state());
    axum::Json(json!({ "world": world.name(), "vendor": V::NAME, "resources": resources })).into_response()
}

async fn state_list<V: Vendor>(
    State(worlds): State<Arc<Worlds<V>>>,
    Path(resource): Path<String>,
    RawQuery(raw): RawQuery,
    req: Request,
) -> Response {
    let world = match world_of(&worlds, &req) {
        Ok(w) => w,
        Err(e) => return e.into_response(),
    };
    let q: ListQuery = match serde_urlencoded::from_str(raw.as_deref().unwrap_or("")) {
        Ok(q) => q,
        Err(e) => return bad_request(format!("cannot read the query: {e} (it takes limit, offset and q)")),
    };
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return bad_request(format!("limit must be 1 to {MAX_LIMIT}; {limit} was given"));
    }
    let query = PageQuery {
        offset: q.offset.unwrap_or(0),
        limit,
        q: q.q.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()),
        origin: origin_of(&req),
    };
    match worlds.vendor().records(world.state(), &resource, &query) {
        Ok(page) => axum::Json(json!({
            "world": world.name(),
            "resource": resource,
            "offset": query.offset,
            "limit": query.limit,
            "q": query.q,
            "total": page.total,
            "served": page.served,
            "scanned": page.scanned,
            "complete": page.complete,
            "items": page.items,
        }))
        .into_response(),
        Err(e) => e.response(),
    }
}

async fn state_record<V: Vendor>(
    State(worlds): State<Arc<Worlds<V>>>,
    Path((resource, id)): Path<(String, String)>,
    req: Request,
) -> Response {
    let world = match world_of(&worlds, &req) {
        Ok(w) => w,
        Err(e) => return e.into_response(),
    };
    match worlds.vendor().record(world.state(), &resource, &id, &origin_of(&req)) {
        Ok(record) => {
            let history = history(&world, &record);
            let mut v = match crate::control::to_json(&record, "the record") {
                Ok(v) => v,
                Err(message) => return crate::control::internal_error(message),
            };
            v["world"] = json!(world.name());
            v["history"] = Value::Array(history);
            axum::Json(v).into_response()
        }
        Err(e) => e.response(),
    }
}

/// Whether `name` occurs in `text` as a whole word (not inside a longer id or number).
pub fn names(text: &str, name: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    !name.is_empty()
        && text.match_indices(name).any(|(i, _)| {
            !text[..i].chars().next_back().is_some_and(word) && !text[i + name.len()..].chars().next().is_some_and(word)
        })
}

/// What happened to `record`: the journal's entries that name it and the timeline's changes
/// of it, oldest first, the newest [`HISTORY_LIMIT`].
fn history<V: Vendor>(world: &World<V>, record: &Browsed) -> Vec<Value> {
    let mut wanted: Vec<&str> = vec![record.id.as_str()];
    wanted.extend(record.names.iter().map(String::as_str));
    let named = |text: &str| wanted.iter().any(|n| names(text, n));
    let mut out: Vec<(chrono::DateTime<chrono::Utc>, u64, Value)> = Vec::new();
    let entries = world
        .journal()
        .list(&crate::journal::Filter::default())
        .unwrap_or_default();
    for e in &entries {
        let write = !matches!(e.request.method.as_str(), "GET" | "HEAD" | "OPTIONS");
        let body_names = |b: &crate::journal::RecordedBody| b.text().is_some_and(named);
        if named(&e.request.url) || (write && (body_names(&e.request.body) || body_names(&e.response.body))) {
            out.push((
                e.at,
                e.id,
                json!({
                    "at": crate::control::timestamp(e.at),
                    "source": "request",
                    "entry": e.id,
                    "method": e.request.method,
                    "url": e.request.url,
                    "status": e.response.status,
                }),
            ));
        }
    }
    if let Some(kind) = record.kind {
        for m in world.rules().log(crate::timeline::LOG_CAPACITY) {
            if m.resource == kind && m.id == record.id {
                out.push((
                    m.at,
                    u64::MAX,
                    json!({
                        "at": crate::control::timestamp(m.at),
                        "source": "timeline",
                        "change": m.change,
                        "event": m.event,
                    }),
                ));
            }
        }
    }
    // Stable: a request and a rule at the same moment keep the request first.
    out.sort_by_key(|(at, id, _)| (*at, *id));
    let skip = out.len().saturating_sub(HISTORY_LIMIT);
    out.into_iter().skip(skip).map(|(_, _, v)| v).collect()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhooksQuery {
    limit: Option<usize>,
}

async fn webhooks<V: Vendor>(State(worlds): State<Arc<Worlds<V>>>, RawQuery(raw): RawQuery, req: Request) -> Response {
    let world = match world_of(&worlds, &req) {
        Ok(w) => w,
        Err(e) => return e.into_response(),
    };
    let q: WebhooksQuery = match serde_urlencoded::from_str(raw.as_deref().unwrap_or("")) {
        Ok(q) => q,
        Err(e) => return bad_request(format!("cannot read the query: {e} (it takes limit)")),
    };
    let limit = q.limit.unwrap_or(DELIVERY_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return bad_request(format!("limit must be 1 to {MAX_LIMIT}; {limit} was given"));
    }
    let view = worlds.vendor().webhooks(world.state(), limit);
    let available = view.is_some();
    let mut v = match crate::control::to_json(&view.unwrap_or_default(), "the webhooks") {
        Ok(v) => v,
        Err(message) => return crate::control::internal_error(message),
    };
    v["world"] = json!(world.name());
    v["available"] = json!(available);
    axum::Json(v).into_response()
}

/// The largest answer of a vendor's redeliver request the route passes on.
const REDELIVER_ANSWER_LIMIT: usize = 1024 * 1024;

async fn redeliver<V: Vendor>(State(worlds): State<Arc<Worlds<V>>>, Path(id): Path<String>, req: Request) -> Response {
    let world = match world_of(&worlds, &req) {
        Ok(w) => w,
        Err(e) => return e.into_response(),
    };
    let request = match worlds.vendor().redeliver(world.state(), &id) {
        Ok(r) => r,
        Err(e) => return e.response(),
    };
    let res = match world.app().clone().oneshot(request).await {
        Ok(res) => res,
        Err(never) => match never {},
    };
    let status = res.status();
    let bytes = match axum::body::to_bytes(res.into_body(), REDELIVER_ANSWER_LIMIT).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!("cannot read the vendor's redeliver answer: {e}");
            return crate::control::error(
                StatusCode::BAD_GATEWAY,
                "redeliver_failed",
                "the vendor's redeliver answer could not be read",
            );
        }
    };
    if status.is_success() {
        let mut res = (status, bytes).into_response();
        res.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        res
    } else {
        crate::control::error(
            status,
            "redeliver_refused",
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::names;

    #[test]
    fn a_name_counts_only_as_a_whole_word() {
        assert!(names("/v1/invoices/1121?x=1", "1121"));
        assert!(names("{\"debtor_id\":\"1121\"}", "1121"));
        assert!(!names("/v1/invoices/81121", "1121"));
        assert!(!names("D-1121", "1121"));
        assert!(!names("11210", "1121"));
        assert!(!names("anything", ""));
        assert!(names("debtor_number=D-42&x", "D-42"));
    }
}
