//! Outgoing deliveries (webhooks) for every vendor mock: a [`Sender`] POSTs a JSON body to a
//! receiver's URL over HTTP or HTTPS, with a well-kept client (reqwest on rustls), so a receiver
//! behind TLS works.
//!
//! A vendor's dispatcher builds one [`Sender`] and shares it with all its attempts (the client
//! keeps its connections alive between them). What a sender does is the same for every vendor:
//!
//! - **URLs** ([`check_url`]): `https` to any host; plain `http` only to a loopback host
//!   (`localhost`, `*.localhost`, `127.0.0.0/8`, `::1`), so that tests can run a local receiver.
//!   The vendors check this when an endpoint is created; the sender checks it again before every
//!   attempt (a state file may hold anything).
//! - **The request**: `POST` with `Content-Type: application/json`, the vendor's headers (its
//!   `User-Agent` and signature among them) and the body. No proxy is used (`HTTP_PROXY` and
//!   friends are ignored) and **redirects are not followed**: a 3xx is the answer.
//! - **The timeout** covers one attempt from connecting to the end of the answer; past it the
//!   attempt fails with `No response within N seconds.`
//! - **The answer**: its status, and the first [`BODY_PREFIX`] bytes of its body as text (at most
//!   [`MAX_BODY_READ`] bytes are read; a body that breaks off or stalls is only cut short, the
//!   status stands).
//! - **Failures** are one sentence for the delivery log: `Connection failed: ...`,
//!   `TLS handshake failed: ...` (with what to do when the receiver's certificate is not trusted),
//!   `No response within N seconds.`, `The receiver did not answer with HTTP: ...`.
//! - **TLS** ([`TlsOptions`]): the public web PKI's roots (built in, from `webpki-roots`) plus the
//!   certificates of a PEM file ([`TlsOptions::ca_file`]: a local receiver's self-signed
//!   certificate or the CA that signed it), or no verification at all ([`TlsOptions::insecure`],
//!   for local development only).
//!
//! The binary sets the process-wide TLS options from `--webhook-ca-file` and `--webhook-insecure`
//! ([`set_default_tls`]); without that, [`default_tls`] reads [`CA_FILE_ENV`] and
//! [`INSECURE_ENV`]. A dispatcher takes the options in force when it starts.
//!
//! ```no_run
//! # async fn demo() -> Result<(), String> {
//! use std::time::Duration;
//! use mock_core::delivery::{Sender, TlsOptions};
//!
//! let sender = Sender::new(TlsOptions { ca_file: Some("receiver.pem".into()), insecure: false });
//! let headers = [("User-Agent", "paywise-webhooks/1.0".to_string())];
//! let answer = sender
//!     .post_json("https://localhost:8443/hook", &headers, br#"{"event":"ping"}"#, Duration::from_secs(30))
//!     .await?;
//! assert_eq!(answer.status, 200);
//! # Ok(())
//! # }
//! ```

use std::ffi::OsString;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::Duration;

/// The environment variable naming a PEM file of extra trusted certificates.
pub const CA_FILE_ENV: &str = "MOCK_WEBHOOK_CA_FILE";
/// The environment variable that, set to anything but `0`, `false`, `no`, `off` or nothing,
/// accepts any TLS certificate.
pub const INSECURE_ENV: &str = "MOCK_WEBHOOK_INSECURE";
/// How much of an answer's body is read at most.
pub const MAX_BODY_READ: usize = 64 * 1024;
/// How much of an answer's body is kept (as text) in [`Answer::body`].
pub const BODY_PREFIX: usize = 1024;
/// How long an idle connection to a receiver is kept for the next attempt.
const POOL_IDLE: Duration = Duration::from_secs(30);
/// What to do when the receiver's certificate is not trusted.
pub const UNTRUSTED_HINT: &str = "The mock does not trust the receiver's certificate: name it (or the CA that signed \
     it) in a PEM file with --webhook-ca-file PATH (MOCK_WEBHOOK_CA_FILE), or accept any certificate with \
     --webhook-insecure (MOCK_WEBHOOK_INSECURE, local development only).";
/// What to do when the receiver presents a CA certificate as its own.
const CA_AS_LEAF_HINT: &str = "The receiver presents a CA certificate (basicConstraints CA:TRUE, the default of \
     `openssl req -x509`) as its own, which TLS clients refuse: make it with -addext \
     basicConstraints=critical,CA:FALSE, or sign a leaf certificate with that CA.";
/// What to do when the certificate is for another host.
const WRONG_NAME_HINT: &str = "The receiver's certificate is not valid for the URL's host: its subjectAltName must \
     list that host (use localhost or 127.0.0.1 in the URL as the certificate names it).";

/// Which certificates a [`Sender`] trusts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// A PEM file whose certificates are trusted besides the public roots (one or more
    /// `BEGIN CERTIFICATE` blocks: a receiver's self-signed certificate or its CA).
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate for any host name (local development only).
    pub insecure: bool,
}

impl TlsOptions {
    /// The options [`CA_FILE_ENV`] and [`INSECURE_ENV`] set (none when they are unset).
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var_os(name))
    }

    fn from_vars(var: impl Fn(&str) -> Option<OsString>) -> Self {
        let ca_file = var(CA_FILE_ENV).filter(|v| !v.is_empty()).map(PathBuf::from);
        let insecure = var(INSECURE_ENV).is_some_and(|v| {
            let v = v.to_string_lossy().trim().to_ascii_lowercase();
            !matches!(v.as_str(), "" | "0" | "false" | "no" | "off" | "n" | "f")
        });
        Self { ca_file, insecure }
    }

    /// Whether the options can be used: the CA file (if any) is readable and holds at least one
    /// PEM certificate. The error says which file and why.
    pub fn check(&self) -> Result<(), String> {
        self.extra_roots().map(drop)
    }

    fn extra_roots(&self) -> Result<Vec<reqwest::Certificate>, String> {
        let Some(path) = &self.ca_file else {
            return Ok(Vec::new());
        };
        let pem =
            std::fs::read(path).map_err(|e| format!("Cannot read the webhook CA file {}: {e}.", path.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("The webhook CA file {} is not PEM: {}.", path.display(), causes(&e)))?;
        if certs.is_empty() {
            return Err(format!(
                "The webhook CA file {} holds no certificate (expected -----BEGIN CERTIFICATE----- blocks).",
                path.display()
            ));
        }
        Ok(certs)
    }

    /// The client these options describe.
    fn client(&self) -> Result<reqwest::Client, String> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .pool_idle_timeout(POOL_IDLE);
        for cert in self.extra_roots()? {
            builder = builder.add_root_certificate(cert);
        }
        if self.insecure {
            builder = builder.danger_accept_invalid_certs(true);
        }
        builder
            .build()
            .map_err(|e| format!("Cannot set up the webhook HTTP client: {}.", causes(&e)))
    }
}

/// The process-wide TLS options, once [`set_default_tls`] was called.
static DEFAULT_TLS: RwLock<Option<TlsOptions>> = RwLock::new(None);

/// Makes `tls` the options of every dispatcher started from now on (the binary calls this with
/// its `--webhook-ca-file` and `--webhook-insecure`). Refuses options that cannot be used, so a
/// wrong path stops the start instead of failing every delivery.
pub fn set_default_tls(tls: TlsOptions) -> Result<(), String> {
    tls.check()?;
    *DEFAULT_TLS.write().unwrap_or_else(PoisonError::into_inner) = Some(tls);
    Ok(())
}

/// The options a dispatcher starts with: those given to [`set_default_tls`], else
/// [`TlsOptions::from_env`].
pub fn default_tls() -> TlsOptions {
    DEFAULT_TLS
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
        .unwrap_or_else(TlsOptions::from_env)
}

/// HMAC-SHA256 under `key` of `parts` in order: what every vendor's webhook signature is made
/// of (each vendor encodes it its own way: Payt and paywise v1 hex, paywise v2 base64).
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    // HMAC takes keys of any length, so this cannot fail.
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(key) else {
        return [0; 32];
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// What a receiver answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The first [`BODY_PREFIX`] bytes of the body, as text (invalid UTF-8 replaced).
    pub body: String,
}

impl Answer {
    /// Whether the status is a 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Sends deliveries: one per dispatcher, cheap to clone (the clones share one client and its
/// connections). The client is built on the first delivery, so a world that never delivers
/// never builds one; if the options cannot be used, every attempt fails saying why.
#[derive(Clone)]
pub struct Sender {
    inner: Arc<Inner>,
}

struct Inner {
    tls: TlsOptions,
    client: OnceLock<Result<reqwest::Client, String>>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("tls", &self.inner.tls)
            .finish_non_exhaustive()
    }
}

impl Sender {
    /// A sender trusting what `tls` says.
    pub fn new(tls: TlsOptions) -> Self {
        Self {
            inner: Arc::new(Inner {
                tls,
                client: OnceLock::new(),
            }),
        }
    }

    /// A sender with the process-wide options ([`default_tls`]).
    pub fn from_defaults() -> Self {
        Self::new(default_tls())
    }

    /// The options this sender was made with.
    pub fn tls(&self) -> &TlsOptions {
        &self.inner.tls
    }

    fn client(&self) -> Result<&reqwest::Client, String> {
        self.inner
            .client
            .get_or_init(|| self.inner.tls.client())
            .as_ref()
            .map_err(Clone::clone)
    }

    /// POSTs `body` (JSON) to `url` with `headers` (besides `Content-Type`) and waits at most
    /// `timeout` for the answer. `Err` is why there was no answer, one sentence for the
    /// delivery log.
    pub async fn post_json(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: &[u8],
        timeout: Duration,
    ) -> Result<Answer, String> {
        let url = check_url(url)?;
        let client = self.client()?;
        let mut request = client
            .post(url)
            .timeout(timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        let mut response = request
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| describe(&e, timeout))?;
        let status = response.status().as_u16();
        let mut kept = Vec::new();
        let mut read = 0usize;
        while read < MAX_BODY_READ {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    read += chunk.len();
                    let room = BODY_PREFIX.saturating_sub(kept.len()).min(chunk.len());
                    kept.extend_from_slice(&chunk[..room]);
                }
                // The status is the answer: a body that ends early or too slowly is only cut.
                Ok(None) | Err(_) => break,
            }
        }
        Ok(Answer {
            status,
            body: text_prefix(&kept),
        })
    }
}

/// How often a world's webhook dispatcher looks for the attempts due (wall time).
pub const DISPATCH_TICK: Duration = Duration::from_millis(50);

/// Starts a world's webhook dispatcher on the current runtime (without one, none): every
/// [`DISPATCH_TICK`] of wall time it runs `step`, which makes the attempts due on the world's
/// clock, until `step` answers false (the world is gone). A tick that falls behind waits for the
/// next rather than running twice.
pub fn spawn_dispatcher<F, Fut>(mut step: F)
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        let mut tick = tokio::time::interval(DISPATCH_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if !step().await {
                break;
            }
        }
    });
}

/// Whether `host` is this machine: `localhost` and `*.localhost` (any case, trailing dots
/// ignored), `127.0.0.0/8` and `::1`. The one loopback test of every mock's webhook URLs.
pub fn is_loopback<S: AsRef<str>>(host: &url::Host<S>) -> bool {
    match host {
        url::Host::Domain(name) => {
            let name = name.as_ref().trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        url::Host::Ipv4(ip) => Ipv4Addr::is_loopback(ip),
        url::Host::Ipv6(ip) => Ipv6Addr::is_loopback(ip),
    }
}

/// `url` if deliveries may go there: `https` to any host, `http` only to a loopback host.
pub fn check_url(url: &str) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("Invalid URL: {e}."))?;
    let loopback = match parsed.host() {
        None => return Err("Invalid URL: it names no host.".into()),
        Some(host) => is_loopback(&host),
    };
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if loopback => Ok(parsed),
        "http" => Err("Only HTTPS URLs are delivered to (plain http only to a loopback host).".into()),
        other => Err(format!(
            "Cannot deliver to a {other}: URL (https, or http to a loopback host)."
        )),
    }
}

/// The causes of `e`, outermost first, joined by `: ` (`e` itself when it has none). reqwest's
/// own message names the URL, which the delivery log already shows, and hyper's
/// `client error (Connect)` says nothing the sentence does not, so both are left out.
fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = e.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !text.starts_with("client error (") && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = cause.source();
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}

/// The delivery log's sentence for a failed request.
fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("No response within {} seconds.", timeout.as_secs_f64());
    }
    let why = causes(e);
    let why = why.trim_end_matches('.');
    if why.contains("certificate") {
        let hint = if why.contains("CaUsedAsEndEntity") {
            CA_AS_LEAF_HINT
        } else if why.contains("NotValidForName") || why.contains("not valid for name") {
            WRONG_NAME_HINT
        } else {
            UNTRUSTED_HINT
        };
        format!("TLS handshake failed: {why}. {hint}")
    } else if e.is_connect() {
        format!("Connection failed: {why}.")
    } else if e.is_builder() {
        format!("Cannot send the request: {why}.")
    } else {
        format!("The receiver did not answer with HTTP: {why}.")
    }
}

/// `bytes` as text: a character cut at the end is dropped, other invalid UTF-8 replaced.
fn text_prefix(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(e) if e.error_len().is_none() => String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::post;
    use tokio::sync::mpsc;

    #[test]
    fn urls_are_https_or_loopback_http() {
        for ok in [
            "https://example.com/hook",
            "https://10.1.2.3:8443/x",
            "http://localhost:9/x",
            "http://hooks.localhost/x",
            "http://127.0.0.2:1/x",
            "http://[::1]:1/x",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("http://example.com/x", "Only HTTPS"),
            ("http://10.0.0.1/x", "Only HTTPS"),
            ("ftp://localhost/x", "Cannot deliver to a ftp: URL"),
            ("nope", "Invalid URL"),
        ] {
            let e = check_url(bad).expect_err(bad);
            assert!(e.starts_with(why), "{bad}: {e}");
        }
    }

    #[test]
    fn env_options() {
        let vars = |ca: Option<&str>, insecure: Option<&str>| {
            TlsOptions::from_vars(|name| match name {
                CA_FILE_ENV => ca.map(OsString::from),
                INSECURE_ENV => insecure.map(OsString::from),
                _ => None,
            })
        };
        assert_eq!(vars(None, None), TlsOptions::default());
        assert_eq!(vars(Some(""), Some("0")), TlsOptions::default());
        assert_eq!(
            vars(Some("/tmp/ca.pem"), Some("true")),
            TlsOptions {
                ca_file: Some("/tmp/ca.pem".into()),
                insecure: true
            }
        );
        for falsy in ["", "0", "false", "No", "off"] {
            assert!(!vars(None, Some(falsy)).insecure, "{falsy}");
        }
        assert!(vars(None, Some("1")).insecure);
    }

    #[test]
    fn a_ca_file_must_exist_and_hold_certificates() {
        let missing = TlsOptions {
            ca_file: Some("/nonexistent/mock-ca.pem".into()),
            insecure: false,
        };
        let e = missing.check().expect_err("missing");
        assert!(
            e.starts_with("Cannot read the webhook CA file /nonexistent/mock-ca.pem"),
            "{e}"
        );
        let dir = std::env::temp_dir().join(format!("mock-core-delivery-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("write");
        let e = TlsOptions {
            ca_file: Some(empty),
            insecure: false,
        }
        .check()
        .expect_err("empty");
        assert!(e.contains("holds no certificate"), "{e}");
        assert!(TlsOptions::default().check().is_ok());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn body_prefixes_keep_whole_characters() {
        assert_eq!(text_prefix(b"ok"), "ok");
        assert_eq!(text_prefix("grün".as_bytes()), "grün");
        // "ü" is two bytes; the first alone is a cut character.
        assert_eq!(text_prefix(&"grün".as_bytes()[..3]), "gr");
        assert_eq!(text_prefix(b"a\xffb"), "a\u{fffd}b");
    }

    /// A plain-HTTP receiver on loopback that answers `status` with `body` and reports what it got.
    async fn receiver(status: u16, body: Vec<u8>) -> (String, mpsc::UnboundedReceiver<(HeaderMap, Bytes)>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let app = Router::new().route(
            "/hook",
            post(move |headers: HeaderMap, got: Bytes| {
                let tx = tx.clone();
                let body = body.clone();
                async move {
                    tx.send((headers, got)).ok();
                    let mut answer = axum::response::Response::new(axum::body::Body::from(body));
                    *answer.status_mut() = StatusCode::from_u16(status).expect("status");
                    answer
                        .headers_mut()
                        .insert("location", "http://127.0.0.1:1/elsewhere".parse().expect("header"));
                    answer
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, rx)
    }

    #[tokio::test]
    async fn posts_json_with_the_headers_and_keeps_a_bounded_body() {
        let long = "x".repeat(MAX_BODY_READ * 2).into_bytes();
        let (url, mut rx) = receiver(202, long).await;
        let sender = Sender::new(TlsOptions::default());
        let headers = [("User-Agent", "test/1".to_string()), ("X-Sig", "abc".to_string())];
        let answer = sender
            .post_json(&url, &headers, br#"{"a":1}"#, Duration::from_secs(10))
            .await
            .expect("answered");
        assert_eq!(answer.status, 202);
        assert!(answer.is_success());
        assert_eq!(answer.body, "x".repeat(BODY_PREFIX));
        let (got_headers, got_body) = rx.recv().await.expect("received");
        assert_eq!(&got_body[..], br#"{"a":1}"#);
        assert_eq!(got_headers["content-type"], "application/json");
        assert_eq!(got_headers["user-agent"], "test/1");
        assert_eq!(got_headers["x-sig"], "abc");
        assert_eq!(got_headers["content-length"], "7");
        // The same sender (and client) again.
        let again = sender
            .post_json(&url, &headers, b"{}", Duration::from_secs(10))
            .await
            .expect("answered");
        assert_eq!(again.status, 202);
    }

    #[tokio::test]
    async fn redirects_are_answers_and_not_followed() {
        let (url, mut rx) = receiver(302, b"moved".to_vec()).await;
        let answer = Sender::new(TlsOptions::default())
            .post_json(&url, &[], b"{}", Duration::from_secs(10))
            .await
            .expect("answered");
        assert_eq!((answer.status, answer.body.as_str()), (302, "moved"));
        assert!(!answer.is_success());
        rx.recv().await.expect("received once");
        assert!(rx.try_recv().is_err(), "the redirect was not followed");
    }

    #[tokio::test]
    async fn failures_say_why() {
        // A port nobody listens on.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let dead = format!("http://{}/x", listener.local_addr().expect("addr"));
        drop(listener);
        let sender = Sender::new(TlsOptions::default());
        let e = sender
            .post_json(&dead, &[], b"{}", Duration::from_secs(10))
            .await
            .expect_err("refused");
        assert!(e.starts_with("Connection failed: "), "{e}");
        assert!(
            !e.contains("error sending request") && !e.contains("client error"),
            "{e}"
        );
        let e = sender
            .post_json("http://example.com/x", &[], b"{}", Duration::from_secs(10))
            .await
            .expect_err("not loopback");
        assert!(e.starts_with("Only HTTPS URLs"), "{e}");
        // A receiver that never answers.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/x", silent.local_addr().expect("addr"));
        let e = sender
            .post_json(&url, &[], b"{}", Duration::from_millis(200))
            .await
            .expect_err("timed out");
        assert_eq!(e, "No response within 0.2 seconds.");
        drop(silent);
        // A CA file that cannot be read fails every attempt, saying so.
        let broken = Sender::new(TlsOptions {
            ca_file: Some("/nonexistent/mock-ca.pem".into()),
            insecure: false,
        });
        let e = broken
            .post_json(&url, &[], b"{}", Duration::from_secs(1))
            .await
            .expect_err("no client");
        assert!(e.starts_with("Cannot read the webhook CA file"), "{e}");
    }
}
