//! The accept loop every mock is served by: HTTP/1.1 on hyper, with the limits a shared local
//! server needs (header, body, idle and handler timeouts, a cap on open connections, a bounded
//! drain on shutdown) and every answer hyper would make on its own (malformed request, URI or
//! headers too large) put in the vendor's error shape.
//!
//! [`serve`] replaces `axum::serve`: the same router, but
//! - a request head must arrive within [`Limits::header_timeout`] (counted from the connection's
//!   start for its first request, from the first byte for the next ones); a keep-alive connection
//!   that waits longer than [`Limits::idle_timeout`] for its next request is closed, and so is a
//!   connection whose answer the client has not read for that long;
//! - a request body must arrive within [`Limits::body_timeout`] once the mock reads it (else 408
//!   in the vendor's shape) and a handler must answer within [`Limits::handler_timeout`] (else 503);
//! - at most [`Limits::max_connections`] connections are open at once: the next is answered with a
//!   503 in the vendor's shape and closed, and an accept failure (out of file descriptors, say) is
//!   logged at most once a second while the loop keeps serving;
//! - on shutdown the listener is closed at once (new connections are refused), every connection is
//!   asked to finish its current exchange, and after [`Limits::drain`] the rest are closed.
//!
//! hyper answers a request it cannot parse itself, with an empty body. The connection's I/O
//! recognises that answer as hyper writes it and writes the vendor's JSON error instead.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::header::{CONNECTION, CONTENT_LENGTH, DATE, HeaderName, HeaderValue};
use axum::http::{Request, Response, StatusCode};
use axum::response::IntoResponse;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

use crate::error::{CoreError, ErrorRenderer};

/// The limits a mock is served with. A timeout of `None` is off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// How long a client may take to send a request's head (request line and headers): from the
    /// connection's start for its first request, from the next request's first byte after that.
    /// The connection is closed without an answer. 10 s by default.
    pub header_timeout: Option<Duration>,
    /// How long a request's body may take to arrive once the mock starts reading it (at once, for
    /// almost every route): 408 in the vendor's shape, and the connection is closed. 30 s by
    /// default.
    pub body_timeout: Option<Duration>,
    /// How long a keep-alive connection may wait for its next request, and how long a client may
    /// leave an answer unread, before the connection is closed. 60 s by default.
    pub idle_timeout: Option<Duration>,
    /// How long a handler may take to answer: 503 in the vendor's shape. 90 s by default, above
    /// the longest latency a fault rule may inject ([`crate::faults::MAX_LATENCY_MS`]).
    pub handler_timeout: Option<Duration>,
    /// How many connections may be open at once; the next is answered 503 and closed. 1,024 by
    /// default (the binary derives a lower one from a low open-file limit:
    /// [`max_connections_for`]).
    pub max_connections: usize,
    /// The largest request head (request line and headers) in bytes, at least 8,192: 431 (414 when
    /// the request line alone is longer) in the vendor's shape. 64 KiB by default.
    pub max_header_bytes: usize,
    /// The most header lines a request may have: 431 in the vendor's shape. 100 by default.
    pub max_headers: usize,
    /// How long shutdown waits for open connections to finish their exchange before it closes
    /// them. 5 s by default.
    pub drain: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout: Some(Duration::from_secs(10)),
            body_timeout: Some(Duration::from_secs(30)),
            idle_timeout: Some(Duration::from_secs(60)),
            handler_timeout: Some(Duration::from_millis(crate::faults::MAX_LATENCY_MS + 30_000)),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_header_bytes: 64 * 1024,
            max_headers: 100,
            drain: Duration::from_secs(5),
        }
    }
}

/// [`Limits::max_connections`] unless the open-file limit calls for fewer.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// File descriptors kept free of client connections (listeners, webhook deliveries, the state
/// file, logs).
const RESERVED_FDS: u64 = 64;

/// A connection cap for each of `servers` servers in this process that leaves room under the
/// process's open-file limit: [`DEFAULT_MAX_CONNECTIONS`], or `(limit - 64) / servers` when that
/// is lower (at least 16). Where the system does not tell the limit, the default.
pub fn max_connections_for(servers: usize) -> usize {
    match open_file_limit() {
        Some(limit) => {
            let share = limit.saturating_sub(RESERVED_FDS) / servers.max(1) as u64;
            usize::try_from(share)
                .unwrap_or(usize::MAX)
                .clamp(16, DEFAULT_MAX_CONNECTIONS)
        }
        None => DEFAULT_MAX_CONNECTIONS,
    }
}

/// The soft open-file limit (`Max open files` of `/proc/self/limits`), where the system tells it.
fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// How a mock is served: its limits and the renderer of the errors the server makes itself.
#[derive(Clone)]
pub struct ServeOptions {
    /// The limits.
    pub limits: Limits,
    /// The vendor's renderer, for the answers made below the router (timeouts, refusals, requests
    /// hyper cannot read). By default a plain `{"code", "message"}` JSON error.
    pub renderer: Arc<dyn ErrorRenderer>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            renderer: Arc::new(PlainRenderer),
        }
    }
}

impl std::fmt::Debug for ServeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeOptions")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl ServeOptions {
    /// Default limits, errors in `renderer`'s shape.
    pub fn new(renderer: Arc<dyn ErrorRenderer>) -> Self {
        Self {
            limits: Limits::default(),
            renderer,
        }
    }

    /// These options with `limits`.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// The renderer of a server that was given none: `{"code": ..., "message": ...}`.
struct PlainRenderer;

impl ErrorRenderer for PlainRenderer {
    fn render(&self, error: &CoreError) -> axum::response::Response {
        let (code, message) = match error {
            CoreError::Mock { code, message, .. } => ((*code).to_string(), message.clone()),
            CoreError::BadRequest(m) | CoreError::InvalidPath(m) => ("bad_request".to_string(), m.clone()),
            other => (
                other.status().as_str().to_string(),
                other.status().canonical_reason().unwrap_or("error").to_string(),
            ),
        };
        (
            error.status(),
            axum::Json(serde_json::json!({ "code": code, "message": message })),
        )
            .into_response()
    }
}

/// The requests a connection may still answer while over the cap (more are closed unanswered).
const MAX_REFUSALS: usize = 64;
/// How long a refused connection or a rewritten error answer is kept open to read what the
/// client still sends, so that closing does not reset the connection before the answer is read.
const LINGER: Duration = Duration::from_secs(1);
/// At most this much is read and dropped while lingering.
const LINGER_BYTES: usize = 1024 * 1024;
/// The pause after an accept error before the next accept.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// An answer rendered once at start, written as raw bytes where no handler can answer.
#[derive(Debug, Clone)]
struct Canned {
    status: StatusCode,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
}

impl Canned {
    /// `response` as a canned answer. The vendors' renderers answer with a full body, ready at
    /// the first poll; a body that is not (none is) is left empty rather than waited for.
    fn from_response(response: axum::response::Response) -> Self {
        let (parts, body) = response.into_parts();
        let mut collect = std::pin::pin!(axum::body::to_bytes(body, 64 * 1024));
        let body = match collect
            .as_mut()
            .poll(&mut Context::from_waker(std::task::Waker::noop()))
        {
            Poll::Ready(Ok(bytes)) => bytes,
            Poll::Ready(Err(_)) | Poll::Pending => Bytes::new(),
        };
        let headers = parts
            .headers
            .iter()
            .filter(|(name, _)| **name != CONTENT_LENGTH && **name != CONNECTION && **name != DATE)
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        Self {
            status: parts.status,
            headers,
            body,
        }
    }

    /// The answer as HTTP/1.1 bytes, with `Connection: close`, `extra` header lines (each ending
    /// in CRLF) and the body.
    fn bytes(&self, extra: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.body.len());
        out.extend_from_slice(
            format!(
                "HTTP/1.1 {} {}\r\n",
                self.status.as_str(),
                self.status.canonical_reason().unwrap_or("")
            )
            .as_bytes(),
        );
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("content-length: {}\r\nconnection: close\r\n", self.body.len()).as_bytes());
        out.extend_from_slice(extra);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

/// What every connection of one server shares.
struct Shared {
    app: Router,
    limits: Limits,
    renderer: Arc<dyn ErrorRenderer>,
    /// The errors for hyper's own answers, rendered for the path of the request they answer.
    malformed: CoreError,
    uri_too_long: CoreError,
    headers_too_large: CoreError,
    /// The answer over the connection cap: no request is read, so no path is known.
    busy: Canned,
    /// How often a connection checks its timeouts.
    tick: Duration,
}

impl Shared {
    fn new(app: Router, options: ServeOptions) -> Self {
        let ServeOptions { mut limits, renderer } = options;
        limits.max_header_bytes = limits.max_header_bytes.max(8192);
        limits.max_connections = limits.max_connections.max(1);
        let malformed = CoreError::BadRequest(
            "The request could not be read as HTTP/1.1: send a request line `METHOD /path HTTP/1.1` \
                 (the path and query percent-encoded, no spaces or control characters) and header lines \
                 `Name: value` with token names"
                .into(),
        );
        let uri_too_long = CoreError::Mock {
            status: StatusCode::URI_TOO_LONG,
            code: "uri_too_long",
            message: format!(
                "The request URI is too long: a request head may have at most {} bytes and the \
                     request line takes most of them; shorten the path and query string (ask for \
                     fewer values per request)",
                limits.max_header_bytes
            ),
        };
        let headers_too_large = CoreError::Mock {
            status: StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            code: "request_header_fields_too_large",
            message: format!(
                "The request headers are larger than {} bytes or more than {} lines; send fewer or \
                     shorter headers",
                limits.max_header_bytes, limits.max_headers
            ),
        };
        let busy = Canned::from_response(renderer.render(&CoreError::Mock {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "too_many_connections",
            message: format!(
                "The mock already has {} connections open, its limit (--max-connections); close idle \
                     connections or retry shortly",
                limits.max_connections
            ),
        }));
        let shortest = [
            limits.header_timeout,
            limits.idle_timeout,
            limits.body_timeout,
            limits.handler_timeout,
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(Duration::from_secs(1));
        let tick = (shortest / 4).clamp(Duration::from_millis(5), Duration::from_secs(1));
        Self {
            app,
            limits,
            renderer,
            malformed,
            uri_too_long,
            headers_too_large,
            busy,
            tick,
        }
    }

    /// `error` in the vendor's shape for a request to `path` (a world's prefix left out, so that
    /// paywise v2 paths get v2's shape), with `Connection: close`.
    fn render_at(&self, path: &str, error: &CoreError) -> axum::response::Response {
        let path = path
            .strip_prefix(crate::world::WORLD_PREFIX)
            .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
            .unwrap_or(path);
        let mut res = self.renderer.render_at(path, error);
        res.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
        res.headers_mut().insert(REQUEST_ID, new_request_id());
        res
    }
}

/// The header every answer carries, also those made below the router.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A request id like the router's own (a random UUID), for an answer made below the router.
fn new_request_id() -> HeaderValue {
    let id = uuid::Uuid::new_v4().hyphenated().to_string();
    HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

/// The header line of a fresh request id, for a canned answer.
fn request_id_line() -> Vec<u8> {
    let mut line = b"x-request-id: ".to_vec();
    line.extend_from_slice(new_request_id().as_bytes());
    line.extend_from_slice(b"\r\n");
    line
}

/// Serves `app` on `listener` with `options` (limits, timeouts, the vendor's renderer for the
/// answers made below the router) until `shutdown` completes; then closes the listener, lets open
/// exchanges finish for at most [`Limits::drain`] and closes the rest.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let shared = Arc::new(Shared::new(app, options));
    let permits = Arc::new(Semaphore::new(shared.limits.max_connections));
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut conns = JoinSet::new();
    let mut errors = AcceptErrors::default();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => match permits.clone().try_acquire_owned() {
                    Ok(permit) => {
                        let shared = shared.clone();
                        let stop = stop_rx.clone();
                        conns.spawn(async move {
                            connection(stream, shared, stop).await;
                            drop(permit);
                        });
                    }
                    Err(_) => match refusals.clone().try_acquire_owned() {
                        Ok(permit) => {
                            let mut extra = b"retry-after: 1\r\n".to_vec();
                            extra.extend_from_slice(&request_id_line());
                            let answer = shared.busy.bytes(&extra);
                            conns.spawn(async move {
                                refuse(stream, answer).await;
                                drop(permit);
                            });
                        }
                        Err(_) => drop(stream),
                    },
                },
                Err(e) => {
                    errors.note(&e);
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                    }
                }
            },
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let open = conns.len();
    let drained = tokio::time::timeout(shared.limits.drain, async {
        while conns.join_next().await.is_some() {}
    })
    .await
    .is_ok();
    if !drained {
        tracing::warn!(
            "{} of {open} connections still open after the drain of {} ms; closing them",
            conns.len(),
            shared.limits.drain.as_millis()
        );
        conns.shutdown().await;
    }
    Ok(())
}

/// Accept errors, logged at most once a second.
#[derive(Default)]
struct AcceptErrors {
    logged: Option<Instant>,
    since: u64,
}

impl AcceptErrors {
    fn note(&mut self, e: &io::Error) {
        // A client that gave up before the accept: nothing wrong with the server.
        if matches!(
            e.kind(),
            io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionRefused
        ) {
            return;
        }
        self.since += 1;
        let now = Instant::now();
        if self
            .logged
            .is_none_or(|at| now.duration_since(at) >= Duration::from_secs(1))
        {
            tracing::error!(
                "accept error: {e} ({} since the last report); still serving the open connections",
                self.since
            );
            self.logged = Some(now);
            self.since = 0;
        }
    }
}

/// Answers a connection over the cap with the canned 503 and closes it.
async fn refuse(mut stream: TcpStream, answer: Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = stream.set_nodelay(true);
    let work = async {
        stream.write_all(&answer).await?;
        stream.shutdown().await?;
        let mut scratch = [0u8; 4096];
        let mut read = 0;
        while read < LINGER_BYTES {
            match stream.read(&mut scratch).await? {
                0 => break,
                n => read += n,
            }
        }
        io::Result::Ok(())
    };
    let _ = tokio::time::timeout(LINGER, work).await;
}

/// Serves one connection until it closes, a timeout closes it, or shutdown's drain ends.
async fn connection(stream: TcpStream, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let state = Arc::new(ConnState::new());
    let io = TokioIo::new(Watched::new(stream, state.clone(), shared.clone()));
    let service = ConnService {
        shared: shared.clone(),
        state: state.clone(),
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .keep_alive(true)
        .max_buf_size(shared.limits.max_header_bytes)
        .max_header_size(shared.limits.max_header_bytes);
    // hyper keeps up to 100 headers on the stack; another limit moves them to the heap.
    if shared.limits.max_headers != 100 {
        builder.max_headers(shared.limits.max_headers);
    }
    let conn = builder.serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    let mut tick = tokio::time::interval(shared.tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stopping = *stop.borrow();
    if stopping {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!("connection ended: {e}");
                }
                break;
            }
            changed = stop.changed(), if !stopping => {
                if changed.is_err() || *stop.borrow() {
                    stopping = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
            _ = tick.tick() => {
                if let Some(why) = state.expired(Instant::now(), &shared.limits) {
                    tracing::debug!("closing a connection: {why}");
                    break;
                }
            }
        }
    }
}

/// Where a connection stands, for its timeouts.
#[derive(Debug)]
struct ConnState(Mutex<Progress>);

#[derive(Debug)]
struct Progress {
    /// Requests whose answer is not written out yet.
    in_flight: usize,
    /// Handlers still working on an answer.
    running: usize,
    /// Waiting for a head (the connection's first, or bytes of a next one arrived).
    head: bool,
    /// The length of the request line of the head being read, so far.
    line_len: usize,
    /// Whether that request line is complete.
    line_done: bool,
    /// The request line's first [`LINE_KEPT`] bytes: the path says in which shape an error
    /// hyper answers is rendered (paywise v1 and v2 differ).
    line: Vec<u8>,
    /// Since when the connection is waiting for a head or idle.
    since: Instant,
    /// The last byte read or written.
    last_io: Instant,
}

impl ConnState {
    fn new() -> Self {
        let now = Instant::now();
        Self(Mutex::new(Progress {
            in_flight: 0,
            running: 0,
            head: true,
            line_len: 0,
            line_done: false,
            line: Vec::new(),
            since: now,
            last_io: now,
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Progress> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn read(&self, bytes: &[u8]) {
        let mut p = self.lock();
        let now = Instant::now();
        p.last_io = now;
        if p.in_flight == 0 {
            if !p.head {
                p.head = true;
                p.line_len = 0;
                p.line_done = false;
                p.line.clear();
                p.since = now;
            }
            if !p.line_done {
                let end = bytes.iter().position(|b| *b == b'\n');
                let part = &bytes[..end.unwrap_or(bytes.len())];
                let room = LINE_KEPT.saturating_sub(p.line.len());
                p.line.extend_from_slice(&part[..part.len().min(room)]);
                p.line_len += part.len();
                p.line_done = end.is_some();
            }
        }
    }

    fn wrote(&self) {
        self.lock().last_io = Instant::now();
    }

    /// Whether an answer is being made or written (hyper writes nothing of its own then).
    fn idle(&self) -> bool {
        self.lock().in_flight == 0
    }

    /// Whether the request line takes most of a head of at most `max` bytes (or has not ended
    /// yet): then a head that is too large has a URI that is too long.
    fn request_line_too_long(&self, max: usize) -> bool {
        let p = self.lock();
        !p.line_done || p.line_len.saturating_mul(2) > max
    }

    /// The path of the request whose head is being read, as far as its request line tells it
    /// (`/` when it tells nothing).
    fn path(&self) -> String {
        request_line_path(&self.lock().line).to_string()
    }

    fn begin(&self) {
        let mut p = self.lock();
        p.in_flight += 1;
        p.running += 1;
        p.head = false;
    }

    fn answered(&self) {
        let mut p = self.lock();
        p.running = p.running.saturating_sub(1);
    }

    fn written(&self) {
        let mut p = self.lock();
        p.in_flight = p.in_flight.saturating_sub(1);
        if p.in_flight == 0 {
            p.head = false;
            p.since = Instant::now();
        }
    }

    /// Why the connection must close now, if it must.
    fn expired(&self, now: Instant, limits: &Limits) -> Option<&'static str> {
        let p = self.lock();
        let over = |since: Instant, limit: Option<Duration>| limit.is_some_and(|l| now.duration_since(since) >= l);
        if p.in_flight == 0 {
            if p.head {
                over(p.since, limits.header_timeout).then_some("the request head did not arrive in time")
            } else {
                over(p.since, limits.idle_timeout).then_some("idle keep-alive connection")
            }
        } else if p.running == 0 && over(p.last_io, limits.idle_timeout) {
            Some("the client did not read the answer")
        } else {
            None
        }
    }
}

/// The connection's socket: notes every byte for the timeouts, writes the vendor's error in place
/// of an answer hyper makes itself, and lingers after such an answer.
struct Watched {
    inner: TcpStream,
    state: Arc<ConnState>,
    shared: Arc<Shared>,
    /// A rewritten answer and how much of it is written.
    pending: Option<(Vec<u8>, usize)>,
    /// Set once a rewritten answer is sent: shutdown then reads what the client still sends.
    linger: Option<Linger>,
}

struct Linger {
    deadline: Pin<Box<Sleep>>,
    read: usize,
    write_closed: bool,
}

impl Watched {
    fn new(inner: TcpStream, state: Arc<ConnState>, shared: Arc<Shared>) -> Self {
        Self {
            inner,
            state,
            shared,
            pending: None,
            linger: None,
        }
    }

    /// Writes out the rewritten answer, if one is pending.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, at)) = &mut self.pending {
            if *at >= bytes.len() {
                self.pending = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*at..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *at += n;
            self.state.wrote();
        }
        Poll::Ready(Ok(()))
    }

    /// The vendor's answer for hyper's own answer `head`, if `head` is one.
    fn rewrite(&self, head: &[u8]) -> Option<Vec<u8>> {
        if !self.state.idle() {
            return None;
        }
        let status = hyper_error(head)?;
        let error = match status {
            400 => &self.shared.malformed,
            414 => &self.shared.uri_too_long,
            // The request line took most of the head: the URI is what is too long.
            431 if self.state.request_line_too_long(self.shared.limits.max_header_bytes) => &self.shared.uri_too_long,
            _ => &self.shared.headers_too_large,
        };
        let canned = Canned::from_response(self.shared.render_at(&self.state.path(), error));
        let extra: Vec<u8> = head
            .split(|b| *b == b'\n')
            .find(|line| line.len() > 5 && line[..5].eq_ignore_ascii_case(b"date:"))
            .map(|line| {
                let mut l = line.to_vec();
                l.push(b'\n');
                l
            })
            .unwrap_or_default();
        Some(canned.bytes(&extra))
    }
}

/// How much of a request line is kept for [`request_line_path`].
const LINE_KEPT: usize = 512;

/// The path of a (perhaps partial, perhaps malformed) request line: the target's path up to its
/// query, with the scheme and authority of an absolute-form target left out; `/` when the line has
/// no target that starts a path.
fn request_line_path(line: &[u8]) -> &str {
    let line = std::str::from_utf8(line).unwrap_or_else(|e| {
        // Cut at the first byte that is not UTF-8; the valid prefix still names the vendor.
        std::str::from_utf8(&line[..e.valid_up_to()]).unwrap_or_default()
    });
    let Some(target) = line.split(' ').nth(1) else {
        return "/";
    };
    let target = match target.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => target,
    };
    let path = target.split(['?', '#']).next().unwrap_or_default();
    if path.starts_with('/') { path } else { "/" }
}

/// The status of `head` if it is an answer hyper makes for a request it cannot parse: a 400, 414
/// or 431 head with `content-length: 0` and nothing after it.
fn hyper_error(head: &[u8]) -> Option<u16> {
    if head.len() > 512 || !head.ends_with(b"\r\n\r\n") {
        return None;
    }
    let rest = head.strip_prefix(b"HTTP/1.1 ")?;
    let status = match rest.get(..4)? {
        b"400 " => 400,
        b"414 " => 414,
        b"431 " => 431,
        _ => return None,
    };
    let empty = head
        .split(|b| *b == b'\n')
        .any(|line| line.eq_ignore_ascii_case(b"content-length: 0\r"));
    empty.then_some(status)
}

impl AsyncRead for Watched {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let new = &buf.filled()[before..];
        if !new.is_empty() {
            this.state.read(new);
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Watched {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        if let Some(answer) = this.rewrite(buf) {
            this.pending = Some((answer, 0));
            this.linger = Some(Linger {
                deadline: Box::pin(tokio::time::sleep(LINGER)),
                read: 0,
                write_closed: false,
            });
            // Written out by the flush hyper makes next; what hyper gave counts as written.
            let _ = this.poll_pending(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        let n = ready!(Pin::new(&mut this.inner).poll_write(cx, buf))?;
        if n > 0 {
            this.state.wrote();
        }
        Poll::Ready(Ok(n))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        let mut non_empty = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(only), None) = (non_empty.next(), non_empty.next())
            && this.state.idle()
            && hyper_error(only).is_some()
        {
            return Pin::new(this).poll_write(cx, &only[..]);
        }
        let n = ready!(Pin::new(&mut this.inner).poll_write_vectored(cx, bufs))?;
        if n > 0 {
            this.state.wrote();
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        if let Some(linger) = &mut this.linger {
            // Close our side, then read what the client still sends (its oversized headers, say)
            // until it closes or the linger ends: closing with unread bytes would reset the
            // connection, and the client could lose the answer.
            if !linger.write_closed {
                ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
                linger.write_closed = true;
            }
            let mut scratch = [0u8; 4096];
            loop {
                if linger.read >= LINGER_BYTES || linger.deadline.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Ok(()));
                }
                let mut buf = ReadBuf::new(&mut scratch);
                match Pin::new(&mut this.inner).poll_read(cx, &mut buf) {
                    Poll::Ready(Ok(())) if buf.filled().is_empty() => return Poll::Ready(Ok(())),
                    Poll::Ready(Ok(())) => linger.read += buf.filled().len(),
                    Poll::Ready(Err(_)) => return Poll::Ready(Ok(())),
                    Poll::Pending => return Poll::Pending,
                }
            }
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

/// The hyper service of one connection: the router, with the body and handler timeouts.
#[derive(Clone)]
struct ConnService {
    shared: Arc<Shared>,
    state: Arc<ConnState>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<Tracked>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        self.state.begin();
        let shared = self.shared.clone();
        let state = self.state.clone();
        Box::pin(async move {
            let answered = Answered(state.clone());
            let path = req.uri().path().to_string();
            let flags = Arc::new(BodyFlags::default());
            let req = req.map(|body| Body::new(Timed::new(body, shared.limits.body_timeout, flags.clone())));
            let call = shared.app.clone().oneshot(req);
            let res = match shared.limits.handler_timeout {
                Some(limit) => tokio::time::timeout(limit, call).await.ok(),
                None => Some(call.await),
            };
            drop(answered);
            let body_late = |shared: &Shared| {
                let ms = shared.limits.body_timeout.unwrap_or_default().as_millis();
                shared.render_at(
                    &path,
                    &CoreError::Mock {
                        status: StatusCode::REQUEST_TIMEOUT,
                        code: "request_timeout",
                        message: format!(
                            "The request body did not arrive within {ms} ms (--body-timeout-ms); \
                             send the whole body, as Content-Length announces, at once"
                        ),
                    },
                )
            };
            let res = match res {
                Some(Ok(_)) if flags.timed_out() => body_late(&shared),
                Some(Ok(res)) => res,
                Some(Err(never)) => match never {},
                None if !flags.complete() && shared.limits.body_timeout.is_some() => body_late(&shared),
                None => {
                    let ms = shared.limits.handler_timeout.unwrap_or_default().as_millis();
                    tracing::warn!("{path}: no answer within the handler timeout of {ms} ms");
                    shared.render_at(
                        &path,
                        &CoreError::Mock {
                            status: StatusCode::SERVICE_UNAVAILABLE,
                            code: "handler_timeout",
                            message: format!(
                                "The mock did not answer within {ms} ms (--handler-timeout-ms); retry, \
                                 or raise the limit for slow operations on a large world"
                            ),
                        },
                    )
                }
            };
            Ok(res.map(|body| Tracked {
                inner: body,
                state: Some(state),
            }))
        })
    }
}

/// Notes a handler's end when dropped (also when the connection goes first).
struct Answered(Arc<ConnState>);

impl Drop for Answered {
    fn drop(&mut self) {
        self.0.answered();
    }
}

/// What became of a request's body.
#[derive(Debug, Default)]
struct BodyFlags {
    complete: std::sync::atomic::AtomicBool,
    timed_out: std::sync::atomic::AtomicBool,
}

impl BodyFlags {
    fn complete(&self) -> bool {
        self.complete.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn timed_out(&self) -> bool {
        self.timed_out.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The request body did not arrive in time.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
pub struct BodyTimeout;

/// A request body that fails once [`Limits::body_timeout`] has passed since it was first read.
struct Timed {
    inner: Incoming,
    limit: Option<Duration>,
    deadline: Option<Pin<Box<Sleep>>>,
    flags: Arc<BodyFlags>,
}

impl Timed {
    fn new(inner: Incoming, limit: Option<Duration>, flags: Arc<BodyFlags>) -> Self {
        let empty = inner.is_end_stream();
        if empty {
            flags.complete.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        Self {
            inner,
            limit: limit.filter(|_| !empty),
            deadline: None,
            flags,
        }
    }
}

impl HttpBody for Timed {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        // The clock starts when the mock first reads (after a fault rule's latency, say).
        if let Some(limit) = this.limit.take() {
            this.deadline = Some(Box::pin(tokio::time::sleep(limit)));
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(None) => {
                this.flags.complete.store(true, std::sync::atomic::Ordering::Relaxed);
                this.deadline = None;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Ok(frame))) => Poll::Ready(Some(Ok(frame))),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Pending => {
                if let Some(deadline) = &mut this.deadline
                    && deadline.as_mut().poll(cx).is_ready()
                {
                    this.flags.timed_out.store(true, std::sync::atomic::Ordering::Relaxed);
                    this.deadline = None;
                    return Poll::Ready(Some(Err(BodyTimeout.into())));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// An answer's body that tells the connection when it is written out (or dropped).
struct Tracked {
    inner: Body,
    state: Option<Arc<ConnState>>,
}

impl Tracked {
    fn done(&mut self) {
        if let Some(state) = self.state.take() {
            state.written();
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.done();
    }
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let frame = ready!(Pin::new(&mut this.inner).poll_frame(cx));
        if frame.is_none() {
            this.done();
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_lines_path_is_read_from_whatever_arrived() {
        for (line, path) in [
            (&b"GET /v2/claims/?page=2 HTTP/1.1"[..], "/v2/claims/"),
            (b"POST /v1/debtors", "/v1/debtors"),
            (b"GET /v2/cla", "/v2/cla"),
            (b"GET http://a:8080/v2/x#frag HTTP/1.1", "/v2/x"),
            (b"GET http://a HTTP/1.1", "/"),
            (b"GARBAGE", "/"),
            (b"GET * HTTP/1.1", "/"),
            (b"", "/"),
            (b"GET /v2/\xff\xfe HTTP/1.1", "/v2/"),
        ] {
            assert_eq!(request_line_path(line), path, "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn recognises_only_hypers_own_empty_error_answers() {
        let head = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        assert_eq!(hyper_error(head), Some(431));
        assert_eq!(
            hyper_error(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"),
            Some(400)
        );
        assert_eq!(
            hyper_error(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 10\r\n\r\n"),
            None
        );
        assert_eq!(
            hyper_error(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"),
            None
        );
        assert_eq!(
            hyper_error(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{}"),
            None
        );
    }

    #[test]
    fn the_connection_cap_leaves_room_under_the_open_file_limit() {
        let n = max_connections_for(2);
        assert!((16..=DEFAULT_MAX_CONNECTIONS).contains(&n), "{n}");
    }
}
