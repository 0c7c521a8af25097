//! Webhook deliveries to receivers behind TLS, v1 and v2: a local HTTPS receiver with a
//! certificate generated for `localhost` (self-signed, rcgen), which this test binary trusts the
//! way the mock's binary does with `--webhook-ca-file` (the process-wide
//! [`mock_core::delivery::set_default_tls`], set once for the whole test binary: it only adds a
//! certificate that no other test's receiver presents, so the other tests do not notice it). A
//! receiver with a certificate nobody trusts is a failed attempt that says what to do, and
//! `insecure` accepts it.
//!
//! Nothing sleeps to wait for a server: listeners are bound (port 0) before anything connects,
//! the receiver hands each request over a channel, and the delivery log is polled in a bounded
//! loop until the mock has recorded the answer.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use hmac::{Hmac, Mac};
use mock_core::delivery::{Sender, TlsOptions};
use mock_paywise::MockPaywise;
use mock_paywise::state::{AccessMode, Scope};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};

/// What every receiver answers, so that v2's `response_body` can be checked.
const ANSWER: &str = r#"{"received":true}"#;

/// A certificate for `localhost` and `127.0.0.1` with its key.
struct Identity {
    cert: CertificateDer<'static>,
    key: Vec<u8>,
    pem: String,
}

fn identity() -> Identity {
    identity_for(&["localhost", "127.0.0.1"])
}

/// A certificate for `names` with its key.
fn identity_for(names: &[&str]) -> Identity {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let rcgen::CertifiedKey { cert, signing_key } = rcgen::generate_simple_self_signed(names).expect("a certificate");
    Identity {
        cert: cert.der().clone(),
        key: signing_key.serialize_der(),
        pem: cert.pem(),
    }
}

/// `id`'s certificate written to a PEM file named after `what` (in the target's tmp directory).
fn pem_file(id: &Identity, what: &str) -> std::path::PathBuf {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("webhooks-tls-{what}-{}.pem", std::process::id()));
    std::fs::write(&path, &id.pem).expect("the CA file is written");
    path
}

/// The certificate this process trusts: written to a PEM file and made the default TLS options
/// once, before any mock of these tests starts its dispatchers.
fn trusted() -> &'static Identity {
    static TRUSTED: OnceLock<Identity> = OnceLock::new();
    TRUSTED.get_or_init(|| {
        let id = identity();
        mock_core::delivery::set_default_tls(TlsOptions {
            ca_file: Some(pem_file(&id, "receiver")),
            insecure: false,
        })
        .expect("the CA file is usable");
        id
    })
}

/// One request a receiver got.
#[derive(Debug)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("header {name} missing in {:?}", self.headers))
    }
}

/// Accepts TCP connections and completes the TLS handshake; a failed handshake (a client that
/// does not trust the certificate) is skipped.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    tls: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(stream) = self.tls.accept(tcp).await {
                return (stream, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

async fn record(
    State(tx): State<mpsc::UnboundedSender<Received>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> &'static str {
    tx.send(Received {
        path: uri.path().to_string(),
        headers,
        body,
    })
    .ok();
    ANSWER
}

/// An HTTPS receiver on `localhost` presenting `id`: its URL and the requests it gets.
async fn https_receiver(id: &Identity) -> (String, mpsc::UnboundedReceiver<Received>) {
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![id.cert.clone()], PrivatePkcs8KeyDer::from(id.key.clone()).into())
        .expect("a server config");
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = tcp.local_addr().expect("addr").port();
    let listener = TlsListener {
        tcp,
        tls: TlsAcceptor::from(std::sync::Arc::new(config)),
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let app = Router::new().fallback(record).with_state(tx);
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("https://localhost:{port}/hooks/paywise"), rx)
}

/// The receiver's next request (at most 10 s).
async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a delivery arrives")
        .expect("the receiver runs")
}

struct Api {
    m: MockPaywise,
    client: reqwest::Client,
}

impl Api {
    async fn start() -> Self {
        trusted();
        Self {
            m: MockPaywise::test()
                .seed(11)
                .clock(mock_core::testing::frozen())
                .start()
                .await,
            client: reqwest::Client::new(),
        }
    }

    /// A request with the test-mode token and `body`; the status and JSON answer.
    async fn post(&self, path: &str, key: &str, body: Value) -> (u16, Value) {
        let res = self
            .client
            .post(format!("{}{path}", self.m.uri()))
            .bearer_auth(self.m.token())
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
            .await
            .expect("the mock answers");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> Value {
        let res = self
            .client
            .get(format!("{}{path}", self.m.uri()))
            .bearer_auth(self.m.token())
            .send()
            .await
            .expect("the mock answers");
        assert_eq!(res.status(), 200, "GET {path}");
        res.json().await.expect("JSON")
    }

    /// Polls `path` (a page) until its first result satisfies `done`; that result.
    async fn wait_first(&self, path: &str, done: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let page = self.get(path).await;
            if let Some(first) = page["results"].get(0)
                && done(first)
            {
                return first.clone();
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{path} never got there: {page}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// A v1 endpoint for `url` subscribed to `claim.created`; its id and secret.
    async fn v1_endpoint(&self, url: &str) -> (String, String) {
        let (s, w) = self
            .post(
                "/v1/webhooks/",
                "unused",
                json!({"url": url, "events": ["claim.created"]}),
            )
            .await;
        assert_eq!(s, 201, "{w}");
        (text(&w, "id"), text(&w, "secret_key"))
    }

    /// A v2 endpoint for `url` with a test delivery of `order.submitted` queued; its id and
    /// secret.
    async fn v2_endpoint_with_a_test(&self, url: &str, key: &str) -> (String, String) {
        let (s, w) = self
            .post(
                "/v2/webhooks/",
                &format!("{key}-create"),
                json!({"url": url, "events": ["order.submitted"]}),
            )
            .await;
        assert_eq!(s, 201, "{w}");
        let id = text(&w, "id");
        let (s, queued) = self
            .post(
                &format!("/v2/webhooks/{id}/test/"),
                &format!("{key}-test"),
                json!({"event": "order.submitted"}),
            )
            .await;
        assert_eq!(s, 202, "{queued}");
        (id, text(&w, "secret_key"))
    }

    fn emit_claim_created(&self) {
        self.m.state().emit(
            Scope {
                company: mock_paywise::seed::COMPANY,
                mode: AccessMode::Test,
            },
            "claim.created",
            json!({"id": "c-tls", "href": "https://api.paywise.de/v1/claims/c-tls/"}),
        );
    }
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_else(|| panic!("{key} in {v}")).to_string()
}

#[tokio::test]
async fn v1_and_v2_deliveries_reach_a_receiver_behind_tls() {
    let api = Api::start().await;
    let (url, mut rx) = https_receiver(trusted()).await;

    // v1: an event, signed as documented.
    let (v1, secret) = api.v1_endpoint(&url).await;
    api.emit_claim_created();
    let got = next(&mut rx).await;
    assert_eq!(got.path, "/hooks/paywise");
    assert_eq!(got.header("content-type"), "application/json");
    assert_eq!(got.header("user-agent"), "paywise-webhooks/1.0");
    assert_eq!(got.header("x-paywise-event"), "claim.created");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(&got.body);
    assert_eq!(
        got.header("x-paywise-signature"),
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    );
    let body: Value = serde_json::from_slice(&got.body).expect("a JSON body");
    assert_eq!(body["data"]["id"], "c-tls");
    let d = api
        .wait_first(&format!("/v1/webhooks/{v1}/deliveries/"), |d| d["status"] == "success")
        .await;
    assert_eq!(got.header("x-paywise-delivery-id"), d["id"].as_str().expect("id"));
    assert_eq!(
        (d["attempts"].clone(), d["response_status"].clone()),
        (json!(1), json!(200))
    );
    assert_eq!(d["error"], Value::Null);

    // v2: a test delivery, signed the Standard Webhooks way; the answer's body is kept.
    let (v2, secret) = api.v2_endpoint_with_a_test(&url, "tls").await;
    let got = next(&mut rx).await;
    assert_eq!(got.path, "/hooks/paywise");
    assert_eq!(got.header("content-type"), "application/json");
    let stamp: i64 = got.header("webhook-timestamp").parse().expect("Unix seconds");
    assert_eq!(
        got.header("webhook-signature"),
        mock_paywise::v2::webhooks::signature(&secret, got.header("webhook-id"), stamp, &got.body)
    );
    let d = api
        .wait_first(&format!("/v2/webhook-deliveries/?webhook={v2}"), |d| {
            d["status"] == "success"
        })
        .await;
    assert_eq!(d["event_id"], got.header("webhook-id"));
    assert_eq!(d["response_status_code"], 200);
    assert_eq!(d["response_body"], ANSWER);
    assert_eq!(d["error_message"], "");
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_failed_attempt_that_says_what_to_do() {
    let api = Api::start().await;
    let stranger = identity();
    let (url, _rx) = https_receiver(&stranger).await;

    let (v1, _) = api.v1_endpoint(&url).await;
    api.emit_claim_created();
    let d = api
        .wait_first(&format!("/v1/webhooks/{v1}/deliveries/"), |d| d["attempts"] == 1)
        .await;
    assert_eq!(
        (d["status"].clone(), d["response_status"].clone()),
        (json!("pending"), Value::Null)
    );
    let error = d["error"].as_str().expect("an error");
    assert!(error.starts_with("TLS handshake failed: "), "{error}");
    assert!(
        error.contains("certificate") && error.contains("--webhook-ca-file") && error.contains("--webhook-insecure"),
        "{error}"
    );

    let (v2, _) = api.v2_endpoint_with_a_test(&url, "stranger").await;
    let d = api
        .wait_first(&format!("/v2/webhook-deliveries/?webhook={v2}"), |d| d["attempts"] == 1)
        .await;
    assert_eq!(d["status"], "retrying", "{d}");
    assert_eq!(d["response_status_code"], Value::Null);
    assert_eq!(d["response_body"], "");
    let error = d["error_message"].as_str().expect("an error");
    assert!(
        error.starts_with("TLS handshake failed: ") && error.contains("--webhook-ca-file"),
        "{error}"
    );
}

#[tokio::test]
async fn insecure_accepts_any_certificate_and_the_ca_file_is_what_trusts_one() {
    trusted();
    let stranger = identity();
    let (url, mut rx) = https_receiver(&stranger).await;
    let headers = [("User-Agent", "test".to_string())];
    let timeout = Duration::from_secs(10);
    let insecure = Sender::new(TlsOptions {
        ca_file: None,
        insecure: true,
    });
    let answer = insecure
        .post_json(&url, &headers, b"{}", timeout)
        .await
        .expect("any certificate goes");
    assert_eq!((answer.status, answer.body.as_str()), (200, ANSWER));
    assert_eq!(next(&mut rx).await.header("user-agent"), "test");

    // Without the CA file, the public roots alone do not trust the generated certificate.
    let (url, _rx) = https_receiver(trusted()).await;
    let e = Sender::new(TlsOptions::default())
        .post_json(&url, &headers, b"{}", timeout)
        .await
        .expect_err("not trusted");
    assert!(e.starts_with("TLS handshake failed: "), "{e}");
    let answer = Sender::from_defaults()
        .post_json(&url, &headers, b"{}", timeout)
        .await
        .expect("trusted through the CA file");
    assert_eq!(answer.status, 200);

    // A trusted certificate for another host name is refused, saying so.
    let elsewhere = identity_for(&["hooks.example"]);
    let (url, _rx) = https_receiver(&elsewhere).await;
    let e = Sender::new(TlsOptions {
        ca_file: Some(pem_file(&elsewhere, "elsewhere")),
        insecure: false,
    })
    .post_json(&url, &headers, b"{}", timeout)
    .await
    .expect_err("not for localhost");
    assert!(
        e.starts_with("TLS handshake failed: ") && e.contains("not valid for the URL's host"),
        "{e}"
    );
}
