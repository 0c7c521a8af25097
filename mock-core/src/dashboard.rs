//! The dashboard: a page each mock serves at `/_mock/dashboard/` that watches and steers it in a
//! browser, built only on the control API (every button is a control request that curl can make).
//!
//! | route | does |
//! |---|---|
//! | `GET /_mock/dashboard` | redirects to `/_mock/dashboard/` |
//! | `GET /_mock/dashboard/` | the page (`index.html`) |
//! | `GET /_mock/dashboard/app.js`, `app.css` | its script and style |
//! | `GET /_mock/journal/events` | the world's journal, live, as server-sent events |
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

use crate::journal::Entry;
use crate::world::{DEFAULT_WORLD, Named, Vendor, Worlds};

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
