//! No journal entry and no log line contains a token.
//!
//! One test, with its own `tracing` subscriber (TRACE for every target, written into an in-memory
//! buffer; `log` records come in through the subscriber's log bridge) as the default of every
//! thread of its runtime: the other tests of this binary run in the same process, so the
//! subscriber is not the process's global one and sees only what this test's mocks and client
//! write (see [`run_logged`]). It starts both mocks, sends requests that carry tokens and secrets in every way a
//! client can (bearer tokens valid and invalid, other schemes and none, Basic credentials, query
//! parameters, JSON and form bodies, cookies and API-key headers, the paywise partner and
//! production tokens), in the default world, a world named by prefix and one named by header,
//! with fault rules firing (status, drop, rate limit) and with 4xx answers (401, 403, 404, 405,
//! 415), and to routes that redirect. Then neither the captured log text nor any world's journal
//! (`GET /_mock/journal`) or HAR export (`GET /_mock/journal/har`) may contain one of them, nor
//! the secrets the mocks hand out in answers (paywise webhook secrets, Payt's sign-up token and
//! OAuth authorization code).
//!
//! The requests that carry secrets are written by hand on a plain TCP connection: no HTTP client
//! library runs on them, so whatever the log holds was written by the mocks (and the search is
//! shown to find a secret in the very request text that was sent).

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use mock_payt::MockPayt;
use mock_paywise::MockPaywise;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing::Dispatch;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::util::SubscriberInitExt as _;

// ---------------------------------------------------------------------------------------------
// The log buffer
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The test's subscriber, writing into the returned buffer.
fn logging() -> (LogBuffer, Dispatch) {
    let buffer = LogBuffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new("trace"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        // Span opening and closing too, with their fields: where a request's URI would show.
        .with_span_events(FmtSpan::FULL)
        .finish();
    (buffer, Dispatch::new(subscriber))
}

/// Runs `test` to its end on a runtime like `#[tokio::test(flavor = "multi_thread",
/// worker_threads = 2)]`'s, with `dispatch` the default subscriber of this thread and of every
/// thread the runtime starts (its workers and its blocking pool), where the mocks and the client
/// run. The other tests of this binary share the process, so `dispatch` cannot be the global
/// subscriber: their threads keep none and their logs stay out of the buffer. `set_default` also
/// installs the `log` bridge (`tracing_log::LogTracer`, once per process), which hands each `log`
/// record to the subscriber of the thread that wrote it.
fn run_logged<F: Future>(dispatch: &Dispatch, test: F) -> F::Output {
    // While only one dispatcher exists, tracing-core asks the registering thread's default
    // whether a new callsite is of interest: one first reached on another test's thread (which
    // has none) would then stay disabled here too. A second, silent dispatcher alive as long as
    // the test makes it ask every dispatcher.
    let _second = Dispatch::new(tracing::subscriber::NoSubscriber::default());
    let _this_thread = dispatch.clone().set_default();
    let for_workers = dispatch.clone();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        // The guard is kept for the thread's life: a runtime thread has no other subscriber.
        .on_thread_start(move || std::mem::forget(tracing::dispatcher::set_default(&for_workers)))
        .build()
        .expect("the test runtime")
        .block_on(test)
}

// ---------------------------------------------------------------------------------------------
// Secrets and the search for them
// ---------------------------------------------------------------------------------------------

// What clients send.
const PW_INVALID: &str = "pw-invalid-bearer-9f2c41";
const PAYT_INVALID: &str = "payt-invalid-bearer-5d7e10";
const QUERY_TOKEN: &str = "query-secret-token-1a2b3c";
const JSON_TOKEN: &str = "json-secret-token-3c4d5e";
const JSON_PASSWORD: &str = "json-secret-password-5e6f7a";
const FORM_TOKEN: &str = "form-secret-token-7a8b9c";
const FORM_PASSWORD: &str = "form-secret-password-9c0d1e";
const COOKIE_SECRET: &str = "cookie-secret-session-2f3a4b";
const API_KEY: &str = "x-api-key-secret-4b5c6d";
const PROXY_SECRET: &str = "proxy-secret-6d7e8f";
const WRONG_CLIENT_SECRET: &str = "payt-wrong-client-secret-8f9a0b";
const SIGN_UP_PASSWORD: &str = "sign-up-secret-password-0b1c2d";

/// Every secret a client sent, by what it is.
fn client_secrets() -> Vec<(&'static str, String)> {
    let basic = |user: &str, pass: &str| base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    use mock_payt::resources::companies::{CLIENT_ID, CLIENT_SECRET};
    vec![
        ("paywise test token", mock_paywise::DEFAULT_TOKEN.into()),
        (
            "paywise production token",
            mock_paywise::DEFAULT_PRODUCTION_TOKEN.into(),
        ),
        (
            "paywise partner token",
            mock_paywise::resources::partner::PARTNER_TOKEN.into(),
        ),
        (
            "paywise partner production token",
            mock_paywise::resources::partner::PARTNER_PRODUCTION_TOKEN.into(),
        ),
        ("paywise invalid token", PW_INVALID.into()),
        ("payt token", mock_payt::DEFAULT_TOKEN.into()),
        ("payt read-only token", mock_payt::READONLY_TOKEN.into()),
        ("payt invalid token", PAYT_INVALID.into()),
        ("payt client secret", CLIENT_SECRET.into()),
        ("payt Basic credentials", basic(CLIENT_ID, CLIENT_SECRET)),
        ("payt wrong client secret", WRONG_CLIENT_SECRET.into()),
        ("payt wrong Basic credentials", basic(CLIENT_ID, WRONG_CLIENT_SECRET)),
        ("query token", QUERY_TOKEN.into()),
        ("JSON token", JSON_TOKEN.into()),
        ("JSON password", JSON_PASSWORD.into()),
        ("form token", FORM_TOKEN.into()),
        ("form password", FORM_PASSWORD.into()),
        ("cookie", COOKIE_SECRET.into()),
        ("API key header", API_KEY.into()),
        ("proxy credentials", PROXY_SECRET.into()),
        ("sign-up password", SIGN_UP_PASSWORD.into()),
    ]
}

/// The secrets found in `text`, by what they are.
fn found(text: &str, secrets: &[(&'static str, String)]) -> Vec<&'static str> {
    found_where(text, secrets).into_iter().map(|(what, _)| what).collect()
}

/// The secrets found in `text`: what each is, and the text around its first place.
fn found_where(text: &str, secrets: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
    secrets
        .iter()
        .filter_map(|(what, s)| {
            let i = text.find(s.as_str())?;
            let mut from = i.saturating_sub(160);
            while !text.is_char_boundary(from) {
                from -= 1;
            }
            let mut to = (i + s.len() + 60).min(text.len());
            while !text.is_char_boundary(to) {
                to += 1;
            }
            Some((*what, text[from..to].to_string()))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// A hand-written HTTP/1.1 client
// ---------------------------------------------------------------------------------------------

/// How a request names its world.
#[derive(Debug, Clone, Copy)]
enum Via {
    Default,
    Header(&'static str),
    Prefix(&'static str),
}

impl Via {
    fn path(self, path: &str) -> String {
        match self {
            Via::Prefix(w) => format!("/_mock/w/{w}{path}"),
            _ => path.to_string(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Via::Default => "default",
            Via::Header(w) | Via::Prefix(w) => w,
        }
    }
}

/// One request, as text.
struct Raw {
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Option<(&'static str, String)>,
}

impl Raw {
    fn new(method: &'static str, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    fn bearer(self, token: &str) -> Self {
        self.header("Authorization", format!("Bearer {token}"))
    }

    fn basic(self, user: &str, pass: &str) -> Self {
        let b = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        self.header("Authorization", format!("Basic {b}"))
    }

    fn json(mut self, v: &Value) -> Self {
        self.body = Some(("application/json", v.to_string()));
        self
    }

    fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        let text = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.body = Some(("application/x-www-form-urlencoded", text));
        self
    }

    fn text(&self, addr: SocketAddr, via: Via) -> String {
        let mut out = format!(
            "{} {} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n",
            self.method,
            via.path(&self.path)
        );
        if let Via::Header(w) = via {
            out.push_str(&format!("X-Mock-World: {w}\r\n"));
        }
        for (n, v) in &self.headers {
            out.push_str(&format!("{n}: {v}\r\n"));
        }
        match &self.body {
            Some((ct, b)) => out.push_str(&format!("Content-Type: {ct}\r\nContent-Length: {}\r\n\r\n{b}", b.len())),
            None => out.push_str("\r\n"),
        }
        out
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What came back: `None` when the connection closed without a byte (a dropped answer).
struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

async fn send(addr: SocketAddr, text: &str) -> Option<Reply> {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(text.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    match read {
        Err(_) => panic!("no answer within 10 s to {text}"),
        // A reset after a dropped answer counts as nothing received.
        Ok(Err(_)) if out.is_empty() => return None,
        Ok(_) if out.is_empty() => return None,
        Ok(_) => {}
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_string()
    };
    Some(Reply {
        status,
        head: head.to_string(),
        body,
    })
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Sends `req` in `via`'s world and checks the status (`None`: no answer at all).
async fn expect(addr: SocketAddr, via: Via, req: Raw, want: Option<u16>, sent: &mut Vec<String>) -> Option<Reply> {
    let text = req.text(addr, via);
    let reply = send(addr, &text).await;
    let got = reply.as_ref().map(|r| r.status);
    assert_eq!(
        got,
        want,
        "{} {} in {via:?}: {}",
        req.method,
        req.path,
        reply.as_ref().map_or("no answer", |r| r.body.as_str())
    );
    sent.push(text);
    reply
}

// ---------------------------------------------------------------------------------------------
// What the clients do
// ---------------------------------------------------------------------------------------------

/// Control API calls carry no secret of the vendor's; a library client does them.
async fn control(
    http: &reqwest::Client,
    uri: &str,
    via: Via,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let mut req = http.request(method, format!("{uri}{}", via.path(path)));
    if let Via::Header(w) = via {
        req = req.header("x-mock-world", w);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("the control API answers");
    let status = res.status();
    let v: Value = res.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {v}");
    v
}

fn debtor(reference: &str) -> Value {
    json!({
        "your_reference": reference,
        "acting_as": "business",
        "organization": {"name": "Geheim GmbH"},
        "addresses": [{"street": "Hauptstr. 1", "zip": "10115", "city": "Berlin", "country": "DE"}],
        "access_token": JSON_TOKEN,
        "password": JSON_PASSWORD,
        "auth": {"token": JSON_TOKEN, "client_secret": JSON_PASSWORD}
    })
}

/// Every way of carrying a token to paywise, in one world; the secrets paywise handed out.
async fn paywise_requests(m: &MockPaywise, http: &reqwest::Client, via: Via, sent: &mut Vec<String>) -> Vec<String> {
    use mock_paywise::resources::partner::{PARTNER_PRODUCTION_TOKEN, PARTNER_TOKEN};
    let addr = m.addr();
    let test = mock_paywise::DEFAULT_TOKEN;
    let live = mock_paywise::DEFAULT_PRODUCTION_TOKEN;
    let faults = [
        json!({"path": "/v1/mandates/", "action": {"type": "status", "status": 503}}),
        json!({"path": "/v1/payments/", "action": {"type": "drop"}}),
        json!({"path": "/v1/statements/", "token": live, "action": {"type": "rate_limit", "retry_after": 3}}),
    ];
    for f in faults {
        control(http, &m.uri(), via, reqwest::Method::POST, "/_mock/faults", Some(f)).await;
    }

    let ok = Some(200);
    expect(addr, via, Raw::new("GET", "/v1/claims/").bearer(test), ok, sent).await;
    expect(addr, via, Raw::new("GET", "/v1/claims/?limit=1").bearer(live), ok, sent).await;
    expect(
        addr,
        via,
        Raw::new("GET", "/v1/claims/").bearer(PW_INVALID),
        Some(401),
        sent,
    )
    .await;
    expect(
        addr,
        via,
        Raw::new("GET", "/v1/claims/").header("Authorization", format!("Token {PW_INVALID}")),
        Some(401),
        sent,
    )
    .await;
    expect(
        addr,
        via,
        Raw::new("GET", "/v1/claims/").header("Authorization", PW_INVALID),
        Some(401),
        sent,
    )
    .await;
    expect(
        addr,
        via,
        Raw::new("GET", format!("/v1/claims/?access_token={QUERY_TOKEN}")),
        Some(401),
        sent,
    )
    .await;
    // A redirect (APPEND_SLASH) keeps the query: its Location carries the token.
    let r = expect(
        addr,
        via,
        Raw::new("GET", format!("/v1/claims?limit=1&access_token={QUERY_TOKEN}")).bearer(test),
        Some(301),
        sent,
    )
    .await;
    assert!(
        r.is_some_and(|r| r.head.contains(QUERY_TOKEN)),
        "the client gets its query back"
    );
    expect(
        addr,
        via,
        Raw::new("GET", format!("/v1/nothing/?token={QUERY_TOKEN}")).bearer(test),
        Some(404),
        sent,
    )
    .await;
    expect(
        addr,
        via,
        Raw::new("PUT", format!("/v1/claims/?api_key={QUERY_TOKEN}")).bearer(test),
        Some(405),
        sent,
    )
    .await;
    let reference = format!("redaction-{}", via.name());
    let r = expect(
        addr,
        via,
        Raw::new("POST", "/v1/debtors/").bearer(test).json(&debtor(&reference)),
        Some(201),
        sent,
    )
    .await;
    assert!(
        r.is_some_and(|r| !r.body.contains(JSON_TOKEN)),
        "the answer does not echo the body's token"
    );
    expect(
        addr,
        via,
        Raw::new("POST", "/v1/debtors/")
            .bearer(PW_INVALID)
            .json(&debtor("unread")),
        Some(401),
        sent,
    )
    .await;
    expect(
        addr,
        via,
        Raw::new("POST", "/v1/debtors/").bearer(test).form(&[
            ("token", FORM_TOKEN),
            ("password", FORM_PASSWORD),
            ("name", "x"),
        ]),
        Some(415),
        sent,
    )
    .await;
    expect(
        addr,
        via,
        Raw::new("GET", "/v1/claims/?limit=1")
            .bearer(test)
            .header(
                "Cookie",
                format!("sessionid={COOKIE_SECRET}; csrftoken={COOKIE_SECRET}"),
            )
            .header("X-Api-Key", API_KEY)
            .header("Proxy-Authorization", format!("Basic {PROXY_SECRET}")),
        ok,
        sent,
    )
    .await;
    expect(
        addr,
        via,
        Raw::new("GET", "/partner/v1/companies/").bearer(PARTNER_TOKEN),
        ok,
        sent,
    )
    .await;
    expect(
        addr,
        via,
        Raw::new("GET", "/partner/v1/info/").bearer(PARTNER_PRODUCTION_TOKEN),
        ok,
        sent,
    )
    .await;
    expect(
        addr,
        via,
        Raw::new("GET", "/v1/claims/").bearer(PARTNER_TOKEN),
        Some(403),
        sent,
    )
    .await;
    expect(
        addr,
        via,
        Raw::new("GET", "/partner/v1/companies/").bearer(test),
        Some(403),
        sent,
    )
    .await;
    expect(
        addr,
        via,
        Raw::new(
            "POST",
            "/_mock/paywise/claims/00000000-0000-4000-8000-000000000000/advance",
        )
        .bearer(test)
        .json(&json!({"to": "under_review", "token": JSON_TOKEN})),
        Some(404),
        sent,
    )
    .await;
    // Faults firing.
    expect(
        addr,
        via,
        Raw::new("GET", format!("/v1/mandates/?access_token={QUERY_TOKEN}")).bearer(test),
        Some(503),
        sent,
    )
    .await;
    expect(
        addr,
        via,
        Raw::new("GET", format!("/v1/payments/?access_token={QUERY_TOKEN}")).bearer(test),
        None,
        sent,
    )
    .await;
    expect(
        addr,
        via,
        Raw::new("GET", "/v1/statements/").bearer(live),
        Some(429),
        sent,
    )
    .await;
    // Secrets the mock hands out: a webhook's signing secret.
    let r = expect(
        addr,
        via,
        Raw::new("POST", "/v1/webhooks/")
            .bearer(test)
            .json(&json!({"url": "https://example.com/hook", "events": ["claim.created"]})),
        Some(201),
        sent,
    )
    .await;
    let secret = r.map(|r| r.json()["secret_key"].as_str().expect("a secret").to_string());
    secret.into_iter().collect()
}

/// Every way of carrying a token to Payt, in one world; the secrets Payt handed out.
async fn payt_requests(m: &MockPayt, http: &reqwest::Client, via: Via, sent: &mut Vec<String>) -> Vec<String> {
    use mock_payt::resources::companies::{CLIENT_ID, CLIENT_SECRET};
    let addr = m.addr();
    let token = mock_payt::DEFAULT_TOKEN;
    let faults = [
        json!({"path": "/v1/invoices", "action": {"type": "status", "status": 503}}),
        json!({"path": "/v1/payments", "action": {"type": "drop"}}),
        json!({"path": "/v1/notes", "token": token, "action": {"type": "rate_limit", "retry_after": 2}}),
    ];
    for f in faults {
        control(http, &m.uri(), via, reqwest::Method::POST, "/_mock/faults", Some(f)).await;
    }
    let ok = Some(200);
    expect(
        addr,
        via,
        Raw::new("GET", "/v1/administrations").bearer(token),
        ok,
        sent,
    )
    .await;
    expect(
        addr,
        via,
        Raw::new("GET", "/v1/administrations").bearer(mock_payt::READONLY_TOKEN),
        ok,
        sent,
    )
    .await;
    expect(
        addr,
        via,
        Raw::new("GET", "/v1/administrations").bearer(PAYT_INVALID),
        Some(401),
        sent,
    )
    .await;
    expect(
        addr,
        via,
        Raw::new("GET", "/v1/administrations").header("Authorization", PAYT_INVALID),
        Some(401),
        sent,
    )
    .await;
    expect(
        addr,
        via,
        Raw::new("GET", "/v1/companies").basic(CLIENT_ID, CLIENT_SECRET),
        ok,
        sent,
    )
    .await;
    expect(
        addr,
        via,
        Raw::new("GET", "/v1/companies").basic(CLIENT_ID, WRONG_CLIENT_SECRET),
        Some(401),
        sent,
    )
    .await;
    expect(
        addr,
        via,
        Raw::new("GET", "/v1/administrations").basic(CLIENT_ID, CLIENT_SECRET),
        Some(401),
        sent,
    )
    .await;
    expect(
        addr,
        via,
        Raw::new(
            "GET",
            format!("/v1/debtors?administration_id=81&per_page=1&access_token={QUERY_TOKEN}"),
        )
        .bearer(token),
        ok,
        sent,
    )
    .await;
    expect(
        addr,
        via,
        Raw::new(
            "GET",
            format!("/v1/debtors?administration_id=81&access_token={QUERY_TOKEN}"),
        ),
        Some(401),
        sent,
    )
    .await;
    expect(
        addr,
        via,
        Raw::new("GET", format!("/v1/nothing?access_token={QUERY_TOKEN}")).bearer(token),
        Some(404),
        sent,
    )
    .await;
    expect(
        addr,
        via,
        Raw::new("PUT", format!("/v1/administrations?token={QUERY_TOKEN}")).bearer(token),
        Some(405),
        sent,
    )
    .await;
    let number = format!("R-{}", via.name());
    expect(
        addr,
        via,
        Raw::new("POST", "/v1/debtors").bearer(token).json(&json!({
            "administration_id": 81,
            "access_token": JSON_TOKEN,
            "password": JSON_PASSWORD,
            "debtors": [{"debtor_number": number, "name": "Geheim B.V.", "debtor_identifier": number, "api_key": JSON_TOKEN}]
        })),
        Some(201),
        sent,
    )
    .await;
    expect(
        addr,
        via,
        Raw::new("POST", "/v1/debtors")
            .bearer(PAYT_INVALID)
            .json(&json!({"administration_id": 81, "password": JSON_PASSWORD})),
        Some(401),
        sent,
    )
    .await;
    let r = expect(
        addr,
        via,
        Raw::new("POST", "/v1/debtors").bearer(token).form(&[
            ("administration_id", "81"),
            ("token", FORM_TOKEN),
            ("user[password]", FORM_PASSWORD),
        ]),
        Some(422),
        sent,
    )
    .await;
    assert!(r.is_some_and(|r| !r.body.contains(FORM_TOKEN)));
    expect(
        addr,
        via,
        Raw::new("GET", "/v1/administrations")
            .bearer(token)
            .header("Cookie", format!("_session={COOKIE_SECRET}"))
            .header("X-Api-Key", API_KEY),
        ok,
        sent,
    )
    .await;
    // Faults firing.
    expect(
        addr,
        via,
        Raw::new("GET", "/v1/invoices?administration_id=81").bearer(token),
        Some(503),
        sent,
    )
    .await;
    expect(
        addr,
        via,
        Raw::new("GET", "/v1/payments?administration_id=81").bearer(token),
        None,
        sent,
    )
    .await;
    expect(
        addr,
        via,
        Raw::new("GET", "/v1/notes?administration_id=81").bearer(token),
        Some(429),
        sent,
    )
    .await;
    // Sign-up: Basic credentials in, a sign-up token and an OAuth authorization code out.
    let email = format!("eva-{}@nieuw.example", via.name());
    let form = [
        ("administration[city]", "Utrecht"),
        ("administration[commercial_registration_number]", "12345678"),
        ("administration[country_code]", "NL"),
        ("administration[email_address]", "info@nieuw.example"),
        ("administration[house_number]", "3"),
        ("administration[name]", "Nieuw B.V."),
        ("administration[phone_number]", "030 1234567"),
        ("administration[postal_code]", "3511 AB"),
        ("administration[street_name]", "Oudegracht"),
        ("user[first_name]", "Eva"),
        ("user[last_name]", "Wit"),
        ("user[email_address]", email.as_str()),
        ("user[password]", SIGN_UP_PASSWORD),
        ("connection[resource_label]", "Nieuw"),
        ("connection[resource_identifier]", "n-1"),
    ];
    let r = expect(
        addr,
        via,
        Raw::new("POST", "/v1/sign_up")
            .basic(CLIENT_ID, CLIENT_SECRET)
            .form(&form),
        Some(201),
        sent,
    )
    .await;
    let s = r.map(|r| r.json()).unwrap_or(Value::Null);
    let issued: Vec<String> = [&s["user"]["sign_up_token"], &s["access_grant"]["code"]]
        .into_iter()
        .map(|v| v.as_str().expect("an issued secret").to_string())
        .collect();
    issued
}

/// Every world's journal and HAR export of the mock at `uri`, as JSON text.
async fn journals(http: &reqwest::Client, uri: &str) -> Vec<(String, String)> {
    let worlds = control(http, uri, Via::Default, reqwest::Method::GET, "/_mock/worlds", None).await;
    let mut out = Vec::new();
    for w in worlds["worlds"].as_array().expect("worlds") {
        let name = w["name"].as_str().expect("a name").to_string();
        let header = |path: &str| http.get(format!("{uri}{path}")).header("x-mock-world", &name).send();
        let j: Value = header("/_mock/journal")
            .await
            .expect("answers")
            .json()
            .await
            .expect("json");
        let h: Value = header("/_mock/journal/har")
            .await
            .expect("answers")
            .json()
            .await
            .expect("json");
        out.push((format!("{uri} {name} journal"), j.to_string()));
        out.push((format!("{uri} {name} HAR"), h.to_string()));
    }
    out
}

#[test]
fn no_journal_entry_and_no_log_line_contains_a_token() {
    let (logs, dispatch) = logging();
    run_logged(&dispatch, no_journal_entry_and_no_log_line_contains_a_token_in(logs));
}

async fn no_journal_entry_and_no_log_line_contains_a_token_in(logs: LogBuffer) {
    let payt = MockPayt::test().start().await;
    let paywise = MockPaywise::test().start().await;
    let http = reqwest::Client::new();
    let mut sent = Vec::new();
    let mut issued = Vec::new();
    for via in [Via::Default, Via::Prefix("redact-p"), Via::Header("redact-h")] {
        issued.extend(paywise_requests(&paywise, &http, via, &mut sent).await);
        issued.extend(payt_requests(&payt, &http, via, &mut sent).await);
    }
    let mut secrets = client_secrets();
    for s in &issued {
        assert!(s.len() >= 16, "an issued secret long enough to search for: {s}");
        secrets.push(("a secret a mock handed out", s.clone()));
    }

    // The search finds what it looks for: every client secret is in some request that was sent.
    let all_sent = sent.join("\n");
    // (The client secrets go out base64-encoded in Basic credentials, which are searched for as
    // such; they are searched for in plain text too, in case a mock writes what it decoded.)
    let missing: Vec<&str> = client_secrets()
        .iter()
        .filter(|(what, _)| !what.ends_with("client secret"))
        .filter(|(_, s)| !all_sent.contains(s.as_str()))
        .map(|(w, _)| *w)
        .collect();
    assert!(missing.is_empty(), "secrets never sent: {missing:?}");
    assert_eq!(found(&sent[0], &secrets), ["paywise test token"], "{}", sent[0]);

    // The journals are really there: every world of both mocks, with what was sent.
    let mut texts = journals(&http, &payt.uri()).await;
    texts.extend(journals(&http, &paywise.uri()).await);
    assert_eq!(texts.len(), 2 * 2 * 3, "journal and HAR of three worlds of two mocks");
    let everything: String = texts.iter().map(|(_, t)| t.as_str()).collect();
    for must in [
        "Bearer [redacted]",
        "Basic [redacted]",
        "redaction-redact-h",
        "R-redact-p",
        "/v1/sign_up",
        "Geheim GmbH",
        "access_token=[redacted]",
    ] {
        assert!(everything.contains(must), "the journals have {must:?}");
    }

    // The log is really captured: the requests' paths are in it.
    let log = logs.text();
    for path in [
        "/v1/claims/",
        "/v1/administrations",
        "/v1/sign_up",
        "/partner/v1/companies/",
    ] {
        assert!(log.contains(path), "the log has {path}:\n{log}");
    }

    let mut leaks = Vec::new();
    for (what, text) in &texts {
        for (secret, context) in found_where(text, &secrets) {
            leaks.push(format!("{what}: {secret}: ...{context}..."));
        }
    }
    for line in log.lines() {
        for secret in found(line, &secrets) {
            leaks.push(format!("log: {secret}: {line}"));
        }
    }
    assert!(leaks.is_empty(), "{} leaks:\n{}", leaks.len(), leaks.join("\n\n"));
}
