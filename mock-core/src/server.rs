//! The middleware stack every mock runs behind, serving with limits and a bounded shutdown
//! ([`crate::serving`]), and the handle that tests use to run a mock on an ephemeral port.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::error::{CoreError, ErrorRenderer};

/// The largest request body a mock accepts unless told otherwise (10 MiB).
pub const DEFAULT_BODY_LIMIT: usize = 10 * 1024 * 1024;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Wraps a vendor's router in the shared stack: request ids (`X-Request-Id`, kept if the client
/// sent one), tracing, a body limit, panic capture, and rendering of every failure the router or
/// the stack produces without a body (unknown route, wrong method, body too large, unsupported
/// media type) in the vendor's error shape.
pub fn stack(app: Router, renderer: Arc<dyn ErrorRenderer>, body_limit: usize) -> Router {
    let for_errors = renderer.clone();
    let for_panics = renderer;
    let app = app
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            let renderer = for_errors.clone();
            async move { normalize(renderer, body_limit, req, next).await }
        }))
        .layer(CatchPanicLayer::custom(move |_: Box<dyn std::any::Any + Send>| {
            tracing::error!("handler panicked");
            for_panics.render(&CoreError::Internal)
        }));
    observed(app)
}

/// `router` with request ids (`X-Request-Id`, kept if the client sent one, echoed on the answer)
/// and a tracing span per request: the outer layers of [`stack`], for routers that render their own
/// errors (the Payt mock's object-store stand-in, say).
pub fn observed(router: Router) -> Router {
    router
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<Body>| {
            let id = req
                .headers()
                .get(REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            // At debug level: a span per request costs a few per cent of a small answer, and the
            // default filter (info) has no use for it. `RUST_LOG=debug` shows it.
            tracing::debug_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// A JSON answer already written out (`Content-Type: application/json`, as `axum::Json` sends
/// it), for handlers that serialize records straight into bytes rather than through a
/// `serde_json::Value`.
#[derive(Debug, Clone)]
pub struct JsonBytes(pub Vec<u8>);

impl JsonBytes {
    /// `value` written out, into a buffer of `capacity` to start with; `None` if serde cannot
    /// write it (a map with keys that are not text: no record of the mocks has one).
    pub fn of<T: serde::Serialize + ?Sized>(value: &T, capacity: usize) -> Option<Self> {
        let mut out = Vec::with_capacity(capacity);
        serde_json::to_writer(&mut out, value).ok()?;
        Some(Self(out))
    }
}

impl axum::response::IntoResponse for JsonBytes {
    fn into_response(self) -> Response {
        ([(CONTENT_TYPE, "application/json")], self.0).into_response()
    }
}

/// Whether `headers` declare a JSON body.
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"))
}

/// `res` with its JSON body replaced by what `rewrite` makes of it (`None`: unchanged), for
/// middleware that post-processes a vendor's answers. Non-JSON answers pass untouched; the
/// `Content-Length` of a rewritten body is dropped so hyper sets the new one.
pub async fn map_json_body(res: Response, rewrite: impl FnOnce(&[u8]) -> Option<Vec<u8>>) -> Response {
    if !is_json(res.headers()) {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(e) => {
            // Not an empty answer in its place: the client sees the answer fail, as it did.
            tracing::warn!(error = %e, "an answer's body failed before it could be rewritten");
            return Response::from_parts(parts, Body::new(Failed(Some(e))));
        }
    };
    match rewrite(&bytes) {
        Some(out) => {
            parts.headers.remove(CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(out))
        }
        None => Response::from_parts(parts, Body::from(bytes)),
    }
}

/// A body that fails with the error it holds: an answer whose body failed, passed on.
struct Failed(Option<axum::Error>);

impl http_body::Body for Failed {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Ready(self.0.take().map(Err))
    }
}

async fn normalize(renderer: Arc<dyn ErrorRenderer>, limit: usize, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let uri = req.uri().clone();
    let res = next.run(req).await;
    if is_json(res.headers()) || res.status().is_success() || res.status().is_redirection() {
        return res;
    }
    let kept: Vec<(HeaderName, HeaderValue)> = ["allow", "x-request-id"]
        .into_iter()
        .filter_map(|name| {
            res.headers()
                .get(name)
                .map(|v| (HeaderName::from_static(name), v.clone()))
        })
        .collect();
    let error = match res.status() {
        StatusCode::NOT_FOUND => CoreError::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => CoreError::MethodNotAllowed(method),
        StatusCode::PAYLOAD_TOO_LARGE => CoreError::PayloadTooLarge(limit),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => CoreError::UnsupportedMediaType(String::new()),
        StatusCode::INTERNAL_SERVER_ERROR => CoreError::Internal,
        StatusCode::BAD_REQUEST => bad_request(res).await,
        _ => return res,
    };
    let mut rendered = renderer.render_at(uri.path(), &error);
    for (name, v) in kept {
        rendered.headers_mut().insert(name, v);
    }
    rendered
}

/// What a plain-text 400 made below the handlers (axum's path and query extractors) means, with
/// the extractor's own sentence and what to fix.
async fn bad_request(res: Response) -> CoreError {
    const MAX: usize = 512;
    let text = axum::body::to_bytes(res.into_body(), MAX)
        .await
        .ok()
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    match text.strip_prefix("Invalid URL: ") {
        Some(why) => CoreError::InvalidPath(format!(
            "The path is not valid: {why}; percent-encode each path segment as UTF-8"
        )),
        None if text.is_empty() => {
            CoreError::BadRequest("The request could not be read; check the path and query string".into())
        }
        None => CoreError::BadRequest(text),
    }
}

pub use crate::serving::{Limits, ServeOptions, serve};

/// Listens for Ctrl-C and, on Unix, SIGTERM from the moment it is called, and returns a future
/// that completes on the first of them.
///
/// The handlers are installed here, not when the future is first polled: a binary calls this
/// before it prints the addresses it listens on, so a signal sent by a script that read them
/// is never met by the default action (which would kill the process without draining).
pub fn shutdown_signal() -> io::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {},
                _ = terminate.recv() => {},
            }
        })
    }
    #[cfg(not(unix))]
    {
        let mut ctrl_c = tokio::signal::windows::ctrl_c()?;
        Ok(async move {
            ctrl_c.recv().await;
        })
    }
}

/// A running mock server. Dropping the handle stops the server.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// let app = axum::Router::new();
/// let server = mock_core::ServerHandle::start("127.0.0.1:0".parse().unwrap(), app).await?;
/// println!("listening on {}", server.uri());
/// server.stop().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    drain: Duration,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl ServerHandle {
    /// Binds `addr` (port 0 picks a free port) and serves `app` in the background, with the
    /// default [`ServeOptions`].
    pub async fn start(addr: SocketAddr, app: Router) -> io::Result<Self> {
        Self::start_with(addr, app, ServeOptions::default()).await
    }

    /// Binds `addr` and serves `app` in the background with `options`.
    pub async fn start_with(addr: SocketAddr, app: Router, options: ServeOptions) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Self::spawn_with(listener, app, options)
    }

    /// Serves `app` on an already bound listener in the background.
    pub fn spawn(listener: TcpListener, app: Router) -> io::Result<Self> {
        Self::spawn_with(listener, app, ServeOptions::default())
    }

    /// Serves `app` on an already bound listener in the background with `options`.
    pub fn spawn_with(listener: TcpListener, app: Router, options: ServeOptions) -> io::Result<Self> {
        let addr = listener.local_addr()?;
        let drain = options.limits.drain;
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, app, options, async move {
            let _ = rx.await;
        }));
        Ok(Self {
            addr,
            drain,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's base URL, `http://ip:port`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server: refuses new connections, lets open exchanges finish for at most the
    /// drain deadline ([`Limits::drain`]) and closes the rest.
    pub async fn stop(mut self) -> io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(task) => match tokio::time::timeout(self.drain + Duration::from_secs(2), task).await {
                Ok(Ok(result)) => result,
                Ok(Err(join)) => Err(io::Error::other(join)),
                Err(_) => Ok(()),
            },
            None => Ok(()),
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A SIGTERM that arrives after `shutdown_signal` returned but before its future is first
    /// polled is caught, not met by the default action (which would end this test process).
    #[cfg(unix)]
    #[tokio::test]
    async fn a_sigterm_before_the_first_poll_is_caught() {
        let stop = shutdown_signal().expect("the handlers install");
        let me = std::process::id().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &me])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        tokio::time::timeout(Duration::from_secs(10), stop)
            .await
            .expect("the signal completes the future");
    }

    #[tokio::test]
    async fn an_answer_whose_body_fails_fails_rewritten_too() {
        let res = Response::builder()
            .header(CONTENT_TYPE, "application/json")
            .body(Body::new(crate::body::tests::Broken(false)))
            .expect("a valid answer");
        let out = map_json_body(res, |b| Some(b.to_vec())).await;
        assert!(axum::body::to_bytes(out.into_body(), usize::MAX).await.is_err());
        let whole = Response::builder()
            .header(CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .expect("a valid answer");
        let out = map_json_body(whole, |_| Some(b"[]".to_vec())).await;
        let bytes = axum::body::to_bytes(out.into_body(), usize::MAX).await;
        assert_eq!(bytes.ok().as_deref(), Some(&b"[]"[..]));
    }

    struct Plain;
    impl ErrorRenderer for Plain {
        fn render(&self, e: &CoreError) -> Response {
            (
                e.status(),
                [(CONTENT_TYPE, "application/json")],
                format!("{{\"e\":\"{:?}\"}}", e.status().as_u16()),
            )
                .into_response()
        }
    }

    async fn raw(addr: SocketAddr, req: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        s.write_all(req.as_bytes()).await.expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).await.expect("read");
        out
    }

    #[tokio::test]
    async fn renders_core_failures_in_vendor_shape_and_stops_on_drop() {
        let app = Router::new()
            .route("/x", get(|| async { "ok" }))
            .fallback(|| async { StatusCode::NOT_FOUND });
        let app = stack(app, Arc::new(Plain), 16);
        let server = ServerHandle::start("127.0.0.1:0".parse().expect("addr"), app)
            .await
            .expect("bind");
        let addr = server.addr();
        let r = raw(addr, "DELETE /x HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n").await;
        assert!(r.starts_with("HTTP/1.1 405"), "{r}");
        assert!(r.contains("{\"e\":\"405\"}"), "{r}");
        assert!(r.to_ascii_lowercase().contains("allow: get"), "{r}");
        assert!(r.to_ascii_lowercase().contains("x-request-id:"), "{r}");
        let r = raw(addr, "GET /nope HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n").await;
        assert!(r.contains("{\"e\":\"404\"}"), "{r}");
        let r = raw(
            addr,
            "POST /x HTTP/1.1\r\nhost: a\r\ncontent-length: 100\r\nconnection: close\r\n\r\n",
        )
        .await;
        assert!(r.starts_with("HTTP/1.1 413"), "{r}");
        drop(server);
        // After the drop, the listener closes: poll until connecting fails.
        let mut refused = false;
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(addr).await.is_err() {
                refused = true;
                break;
            }
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(refused, "server still accepting after drop");
    }
}
