//! The server's limits (issue 16): hyper's own answers in the vendor's shape, header, body, idle
//! and handler timeouts, the connection cap with a clean refusal, and a shutdown that finishes
//! within its drain deadline whatever the clients do. Every timeout here is short; no test sleeps
//! to wait for the server, they poll or read until the server acts.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use mock_core::error::{CoreError, ErrorRenderer};
use mock_core::server::{Limits, ServeOptions, stack};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

/// A vendor whose errors are `{"vendor": "test", "status": ..., "code": ..., "message": ...}`,
/// with `"version": 2` added under `/v2/` (as paywise's v1 and v2 shapes differ by path).
struct Vendor;

impl ErrorRenderer for Vendor {
    fn render_at(&self, path: &str, e: &CoreError) -> Response {
        let res = self.render(e);
        if !path.starts_with("/v2/") {
            return res;
        }
        let (parts, body) = res.into_parts();
        let mut collect = std::pin::pin!(axum::body::to_bytes(body, 1 << 16));
        let std::task::Poll::Ready(Ok(bytes)) = collect
            .as_mut()
            .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
        else {
            panic!("the test renderer's body is ready at once");
        };
        let mut value: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
        value["version"] = 2.into();
        Response::from_parts(parts, axum::body::Body::from(value.to_string()))
    }

    fn render(&self, e: &CoreError) -> Response {
        let (code, message) = match e {
            CoreError::Mock { code, message, .. } => ((*code).to_string(), message.clone()),
            CoreError::BadRequest(m) => ("bad_request".to_string(), m.clone()),
            other => (format!("{other:?}"), String::new()),
        };
        let body = serde_json::json!({
            "vendor": "test", "status": e.status().as_u16(), "code": code, "message": message,
        });
        (e.status(), [(CONTENT_TYPE, "application/json")], body.to_string()).into_response()
    }
}

/// A generous bound for anything the server must do "at once" or "after a short timeout".
const BOUND: Duration = Duration::from_secs(5);

/// Limits with long timeouts (nothing fires unless the test shortens it).
fn long() -> Limits {
    Limits {
        header_timeout: Some(Duration::from_secs(60)),
        body_timeout: Some(Duration::from_secs(60)),
        idle_timeout: Some(Duration::from_secs(60)),
        handler_timeout: Some(Duration::from_secs(60)),
        drain: Duration::from_secs(60),
        ..Limits::default()
    }
}

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// The test app (`/ok`, `/echo` reads the body and reports that it was called, `/slow`,
    /// `/big`: 8 MiB) behind the stack, served with `limits`.
    async fn start(limits: Limits) -> (Self, mpsc::UnboundedReceiver<()>) {
        let (called_tx, called) = mpsc::unbounded_channel::<()>();
        let app = Router::new()
            .route("/ok", get(|| async { "ok" }))
            .route(
                "/echo",
                post(move |body: axum::body::Body| {
                    let called = called_tx.clone();
                    async move {
                        let _ = called.send(());
                        match axum::body::to_bytes(body, usize::MAX).await {
                            Ok(bytes) => bytes.into_response(),
                            Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
                        }
                    }
                }),
            )
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    "late"
                }),
            )
            .route("/big", get(|| async { vec![b'x'; 8 * 1024 * 1024] }));
        let app = stack(app, Arc::new(Vendor), 1024 * 1024);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        let options = ServeOptions::new(Arc::new(Vendor)).limits(limits);
        let task = tokio::spawn(mock_core::server::serve(listener, app, options, async move {
            let _ = rx.await;
        }));
        (
            Self {
                addr,
                stop: Some(tx),
                task,
            },
            called,
        )
    }

    async fn connect(&self) -> TcpStream {
        TcpStream::connect(self.addr).await.expect("connect")
    }

    /// Signals shutdown and returns how long the server took to finish.
    async fn shut_down(mut self) -> Duration {
        let started = Instant::now();
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        tokio::time::timeout(Duration::from_secs(30), &mut self.task)
            .await
            .expect("the server finishes")
            .expect("joins")
            .expect("serves");
        started.elapsed()
    }
}

/// Everything the server sends until it closes the connection (or resets it).
async fn read_all(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match tokio::time::timeout(BOUND, s.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the server neither answered nor closed within {BOUND:?}: {out:?}"),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn exchange(server: &Server, request: &[u8]) -> String {
    let mut s = server.connect().await;
    s.write_all(request).await.expect("write");
    read_all(&mut s).await
}

/// One request on a keep-alive connection, its whole answer read (by Content-Length).
async fn keep_alive_get(s: &mut TcpStream, path: &str) -> String {
    s.write_all(format!("GET {path} HTTP/1.1\r\nhost: a\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = tokio::time::timeout(BOUND, s.read(&mut buf))
            .await
            .expect("answers")
            .expect("reads");
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&out));
        out.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&out).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let len: usize = text
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_string)
                })
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if out.len() >= end + 4 + len {
                return text;
            }
        }
    }
}

/// The answer's `x-request-id`, which every answer carries, also those made below the router.
fn request_id(answer: &str) -> String {
    let head = answer.split_once("\r\n\r\n").map_or(answer, |(h, _)| h);
    let ids: Vec<&str> = head
        .lines()
        .filter_map(|l| {
            l.split_once(':')
                .filter(|(n, _)| n.eq_ignore_ascii_case("x-request-id"))
        })
        .map(|(_, v)| v.trim())
        .collect();
    assert_eq!(ids.len(), 1, "one x-request-id: {answer}");
    assert!(uuid_like(ids[0]), "a UUID request id: {answer}");
    ids[0].to_string()
}

fn uuid_like(id: &str) -> bool {
    id.len() == 36 && id.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

fn body_of(answer: &str) -> serde_json::Value {
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or_else(|e| panic!("a JSON body ({e}): {answer}"))
}

#[tokio::test]
async fn requests_hyper_cannot_read_are_answered_in_the_vendors_shape() {
    let (server, _) = Server::start(long()).await;
    let cases: Vec<(Vec<u8>, u16, &str, &str)> = vec![
        (b"GARBAGE\r\n\r\n".to_vec(), 400, "bad_request", "request line"),
        (
            b"GET /ok HTTP/1.1\r\nhost: a\r\nno colon here\r\n\r\n".to_vec(),
            400,
            "bad_request",
            "Name: value",
        ),
        (
            format!("GET /{} HTTP/1.1\r\nhost: a\r\n\r\n", "a".repeat(70_000)).into_bytes(),
            414,
            "uri_too_long",
            "shorten the path and query",
        ),
        (
            format!("GET /ok HTTP/1.1\r\nhost: a\r\nx-big: {}\r\n\r\n", "a".repeat(70_000)).into_bytes(),
            431,
            "request_header_fields_too_large",
            "fewer or shorter headers",
        ),
        (
            format!(
                "GET /ok HTTP/1.1\r\nhost: a\r\n{}\r\n",
                (0..120).map(|i| format!("x-{i}: a\r\n")).collect::<String>()
            )
            .into_bytes(),
            431,
            "request_header_fields_too_large",
            "fewer or shorter headers",
        ),
    ];
    for (request, status, code, hint) in cases {
        let answer = exchange(&server, &request).await;
        assert!(answer.starts_with(&format!("HTTP/1.1 {status} ")), "{answer}");
        assert!(
            answer.to_ascii_lowercase().contains("content-type: application/json"),
            "{answer}"
        );
        let body = body_of(&answer);
        assert_eq!(body["vendor"], "test", "{answer}");
        assert_eq!(body["status"], status, "{answer}");
        assert_eq!(body["code"], code, "{answer}");
        assert!(body["message"].as_str().is_some_and(|m| m.contains(hint)), "{answer}");
        assert_eq!(body.get("version"), None, "not a v2 path: {answer}");
        request_id(&answer);
    }
    // The shape follows the request's path, also when hyper answers (a world's prefix and an
    // absolute-form target included), and each answer has its own request id.
    let v2: Vec<(Vec<u8>, u16)> = vec![
        (
            b"GET /v2/claims/ HTTP/1.1\r\nhost: a\r\nno colon here\r\n\r\n".to_vec(),
            400,
        ),
        (
            b"GET /_mock/w/ci-1/v2/claims/?page=2 HTTP/1.1\r\nhost: a\r\nno colon\r\n\r\n".to_vec(),
            400,
        ),
        (
            b"GET http://a/v2/x HTTP/1.1\r\nhost: a\r\nno colon here\r\n\r\n".to_vec(),
            400,
        ),
        (
            format!("GET /v2/{} HTTP/1.1\r\nhost: a\r\n\r\n", "a".repeat(70_000)).into_bytes(),
            414,
        ),
        (
            format!(
                "POST /v2/claims/ HTTP/1.1\r\nhost: a\r\nx-big: {}\r\n\r\n",
                "a".repeat(70_000)
            )
            .into_bytes(),
            431,
        ),
    ];
    let mut ids = std::collections::HashSet::new();
    for (request, status) in v2 {
        let answer = exchange(&server, &request).await;
        assert!(answer.starts_with(&format!("HTTP/1.1 {status} ")), "{answer}");
        assert_eq!(body_of(&answer)["version"], 2, "{answer}");
        assert!(ids.insert(request_id(&answer)), "a fresh request id: {answer}");
    }
    let answer = exchange(&server, b"GET /v1/claims/ HTTP/1.1\r\nhost: a\r\nno colon here\r\n\r\n").await;
    assert_eq!(body_of(&answer).get("version"), None, "{answer}");
    // A request within the limits is served as before, headers of 60 KiB included.
    let answer = exchange(
        &server,
        format!(
            "GET /ok HTTP/1.1\r\nhost: a\r\nx-big: {}\r\nconnection: close\r\n\r\n",
            "a".repeat(60_000)
        )
        .as_bytes(),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
}

#[tokio::test]
async fn connections_over_the_cap_are_refused_and_a_normal_client_is_served_once_one_leaves() {
    let (server, _) = Server::start(Limits {
        max_connections: 8,
        ..long()
    })
    .await;
    // Eight keep-alive connections, each certainly accepted (one exchange), then left idle.
    let mut idle = Vec::new();
    for _ in 0..8 {
        let mut s = server.connect().await;
        assert!(keep_alive_get(&mut s, "/ok").await.starts_with("HTTP/1.1 200 "));
        idle.push(s);
    }
    // The ninth is refused at once, in the vendor's shape, and closed.
    let answer = exchange(&server, b"GET /ok HTTP/1.1\r\nhost: a\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("retry-after: 1"), "{answer}");
    let body = body_of(&answer);
    assert_eq!(body["code"], "too_many_connections", "{answer}");
    request_id(&answer);
    assert!(body["message"].as_str().is_some_and(|m| m.contains('8')), "{answer}");
    // The held connections still work.
    assert!(keep_alive_get(&mut idle[0], "/ok").await.starts_with("HTTP/1.1 200 "));
    // One leaves: a normal client is served as soon as the server has noticed.
    drop(idle.pop());
    let started = Instant::now();
    loop {
        let answer = exchange(&server, b"GET /ok HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n").await;
        if answer.starts_with("HTTP/1.1 200 ") {
            break;
        }
        assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
        assert!(started.elapsed() < BOUND, "still refused after a connection left");
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn idle_connections_are_closed_after_the_idle_timeout_freeing_the_cap() {
    let (server, _) = Server::start(Limits {
        max_connections: 8,
        idle_timeout: Some(Duration::from_millis(200)),
        ..long()
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..8 {
        let mut s = server.connect().await;
        assert!(keep_alive_get(&mut s, "/ok").await.starts_with("HTTP/1.1 200 "));
        idle.push((s, Instant::now()));
    }
    for (s, since) in &mut idle {
        let rest = read_all(s).await;
        assert_eq!(rest, "", "closed without an answer");
        let waited = since.elapsed();
        assert!(waited >= Duration::from_millis(150), "closed too early: {waited:?}");
    }
    let answer = exchange(&server, b"GET /ok HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
}

#[tokio::test]
async fn a_slow_header_sender_is_disconnected_after_the_header_timeout() {
    let (server, _) = Server::start(Limits {
        header_timeout: Some(Duration::from_millis(300)),
        ..long()
    })
    .await;
    let s = server.connect().await;
    let started = Instant::now();
    let (mut read, mut write) = s.into_split();
    // One header line every 50 ms: always progress, never a whole head.
    let writer = tokio::spawn(async move {
        if write.write_all(b"GET /ok HTTP/1.1\r\nhost: a\r\n").await.is_err() {
            return;
        }
        for i in 0..200 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if write.write_all(format!("x-{i}: a\r\n").as_bytes()).await.is_err() {
                return;
            }
        }
    });
    let mut buf = [0u8; 1024];
    let n = tokio::time::timeout(BOUND, read.read(&mut buf))
        .await
        .expect("the server closes the connection")
        .unwrap_or(0);
    let waited = started.elapsed();
    assert_eq!(
        n,
        0,
        "closed without an answer: {:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    assert!(waited >= Duration::from_millis(250), "closed too early: {waited:?}");
    writer.abort();
    // A connection that sends nothing at all is closed after the header timeout too.
    let mut s = server.connect().await;
    assert_eq!(read_all(&mut s).await, "");
}

#[tokio::test]
async fn a_stalled_body_is_answered_408_in_the_vendors_shape() {
    let (server, mut called) = Server::start(Limits {
        body_timeout: Some(Duration::from_millis(300)),
        ..long()
    })
    .await;
    let mut s = server.connect().await;
    s.write_all(b"POST /echo HTTP/1.1\r\nhost: a\r\ncontent-type: text/plain\r\ncontent-length: 1000\r\n\r\nx")
        .await
        .expect("write");
    let answer = read_all(&mut s).await;
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    request_id(&answer);
    let body = body_of(&answer);
    assert_eq!(body["code"], "request_timeout", "{answer}");
    assert!(
        body["message"].as_str().is_some_and(|m| m.contains("300 ms")),
        "{answer}"
    );
    assert!(called.try_recv().is_ok(), "the handler was waiting for the body");
    // A whole body in time is served.
    let answer = exchange(
        &server,
        b"POST /echo HTTP/1.1\r\nhost: a\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\n\r\nhi",
    )
    .await;
    assert!(
        answer.starts_with("HTTP/1.1 200 ") && answer.ends_with("hi"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_handler_over_its_timeout_is_answered_503_in_the_vendors_shape() {
    let (server, _) = Server::start(Limits {
        handler_timeout: Some(Duration::from_millis(200)),
        ..long()
    })
    .await;
    let started = Instant::now();
    let answer = exchange(&server, b"GET /slow HTTP/1.1\r\nhost: a\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    assert_eq!(body_of(&answer)["code"], "handler_timeout", "{answer}");
    request_id(&answer);
    assert!(started.elapsed() < BOUND);
}

#[tokio::test]
async fn shutdown_finishes_within_the_drain_deadline_whatever_the_clients_do() {
    let drain = Duration::from_millis(300);
    let (server, mut called) = Server::start(Limits { drain, ..long() }).await;
    // A stalled reader: announces 1000 bytes of body, sends one, then nothing.
    let mut stalled_body = server.connect().await;
    stalled_body
        .write_all(b"POST /echo HTTP/1.1\r\nhost: a\r\ncontent-type: text/plain\r\ncontent-length: 1000\r\n\r\nx")
        .await
        .expect("write");
    // A partial head.
    let mut partial_head = server.connect().await;
    partial_head
        .write_all(b"GET /ok HTTP/1.1\r\nhost: a\r\n")
        .await
        .expect("write");
    // A stalled writer: asks for 8 MiB and reads only the first bytes.
    let mut unread = server.connect().await;
    unread
        .write_all(b"GET /big HTTP/1.1\r\nhost: a\r\n\r\n")
        .await
        .expect("write");
    let mut first = [0u8; 16];
    unread.read_exact(&mut first).await.expect("the answer starts");
    assert!(first.starts_with(b"HTTP/1.1 200"));
    // An idle keep-alive connection.
    let mut idle = server.connect().await;
    assert!(keep_alive_get(&mut idle, "/ok").await.starts_with("HTTP/1.1 200 "));
    // The stalled reader's handler is running, waiting for the body.
    tokio::time::timeout(BOUND, called.recv())
        .await
        .expect("the handler runs")
        .expect("signals");

    let addr = server.addr;
    let took = server.shut_down().await;
    assert!(took < drain + Duration::from_secs(2), "shutdown took {took:?}");
    // The idle connection was closed at once, the others at the deadline.
    assert_eq!(read_all(&mut idle).await, "");
    let _ = read_all(&mut partial_head).await;
    let _ = read_all(&mut stalled_body).await;
    drop(unread);
    // New connections are refused.
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "still accepting after shutdown"
    );
}

#[tokio::test]
async fn an_idle_server_shuts_down_at_once() {
    let (server, _) = Server::start(long()).await;
    let mut idle = server.connect().await;
    assert!(keep_alive_get(&mut idle, "/ok").await.starts_with("HTTP/1.1 200 "));
    let took = server.shut_down().await;
    // The drain is 60 s here: finishing quickly means the idle connection did not hold it.
    assert!(took < BOUND, "shutdown took {took:?}");
    assert_eq!(read_all(&mut idle).await, "");
}
