//! Fault injection for one world of a mock, and an emulated vendor rate limit.
//!
//! A client's tests want to see what their code does when the vendor is slow, fails, refuses them
//! or breaks the connection. A world keeps a list of fault **rules** ([`Faults`]); the dispatcher
//! asks [`Faults::decide`] for every request of the world whether a rule fires, and if one does it
//! answers through [`apply`] instead of (or around) the vendor's handler. Separately, [`RateLimit`]
//! refuses requests beyond the vendor's documented rate, counted on the world's clock.
//!
//! # Rules
//!
//! A client adds a rule by posting a [`RuleSpec`] as JSON (the control routes
//! `POST/GET/DELETE /_mock/faults` expose [`Faults::add_json`], [`Faults::list`],
//! [`Faults::remove`] and [`Faults::clear`]). Every field but `action` is optional:
//!
//! ```json
//! {
//!   "method": "POST",                  // case-insensitive; omitted: any method
//!   "path": "/v1/invoices/**",         // a PathPattern (`*` one segment, `**` anything); default **
//!   "token": "tok_live_1",             // only this bearer token / Basic user name; omitted: anyone
//!   "action": { "type": "status", "status": 503 },
//!   "times": 2,                        // fire for the next 2 matching requests, then stay spent
//!   "probability": 0.25                // fire on each matching request with this probability
//! }
//! ```
//!
//! The actions, tagged by `type`:
//!
//! | `action` | effect |
//! |---|---|
//! | `{"type":"latency","ms":800}` | wait 800 ms, then the request proceeds normally |
//! | `{"type":"latency","ms":200,"max_ms":2000}` | wait a random 200..=2000 ms, then proceed |
//! | `{"type":"status","status":503}` | answer 503 with the vendor's error body, message `Injected fault: 503 Service Unavailable` |
//! | `{"type":"status","status":422,"message":"Nope"}` | answer 422 with the vendor's error body and message `Nope` |
//! | `{"type":"rate_limit","retry_after":30}` | answer 429 in the vendor's shape with `Retry-After: 30` |
//! | `{"type":"drop"}` | close the connection without an answer; the handler does not run |
//! | `{"type":"drop","processed":true}` | run the handler (its state changes happen), then close the connection without an answer: the "my request went through but I never heard back" case |
//! | `{"type":"truncate"}` | run the handler, send its head with the full `Content-Length` and the first half of its body, then cut the connection |
//! | `{"type":"malformed"}` | run the handler, answer with its status and headers but a body that is not JSON (the first half of the real body followed by `<!-- malformed by a mock fault -->`), with a correct `Content-Length` |
//!
//! Unknown fields, in the rule or its action, are refused with a message naming them, and so are
//! values out of range: `status` must be 200..=599 (an informational 1xx status cannot be a final
//! answer: hyper would turn it into a 500), `probability` 0.0..=1.0, `times` at least 1, latencies
//! at most [`MAX_LATENCY_MS`] with `max_ms >= ms`, `retry_after` at most [`MAX_RETRY_AFTER`]
//! seconds. A world holds at most [`MAX_RULES`] rules.
//!
//! A listed rule ([`Rule`]) is the spec (method upper-cased) plus `id` (`f1`, `f2`, ... in
//! creation order; ids are not reused until [`Faults::reset`]), `created` (the rule's number),
//! `fired` (how often it fired) and `remaining` (what is left of `times`, `null` without a limit).
//! A spent rule stays listed with `"remaining": 0` until it is deleted:
//!
//! ```json
//! {"id":"f1","created":1,"method":"POST","path":"/v1/invoices/**",
//!  "action":{"type":"status","status":503},"times":2,"fired":2,"remaining":0}
//! ```
//!
//! # Matching
//!
//! For each request, the rules are tried in creation order. A rule is a candidate when its method
//! (if any) equals the request's ignoring case, its path pattern matches the request path (without
//! the query), its token (if any) equals the request's credential ([`RequestInfo::token`]: the
//! bearer token, or the user name of Basic credentials), and it has budget left (`remaining` is not
//! 0). A candidate with a `probability` then draws; the first candidate that has no probability or
//! wins its draw fires, and no later rule is tried: at most one rule fires per request, so a rule
//! that fires with latency does not combine with a later error rule.
//!
//! # Determinism
//!
//! Each rule draws from its own ChaCha8 generator, keyed by the seed of its [`Faults`] and using
//! the rule's number as the stream. A rule draws only when it is a candidate (once for its
//! probability, if it has one, and once for a random latency when it fires), so the sequence of
//! fire/no-fire decisions and latencies depends only on the seed, the rules added, and the order in
//! which matching requests arrive: two `Faults` with the same seed and rules, given the same
//! requests in the same order, decide identically. Concurrent requests arrive in whatever order
//! the scheduler picks; send them one after another when a test depends on the outcome.
//!
//! # On the wire
//!
//! Every answer shaped by a fault carries `x-mock-fault: <rule id>` (for `latency` on the real
//! answer; for `truncate` on the head that is sent). Specifically, over HTTP/1.1:
//!
//! - **status** / **rate_limit**: a complete answer in the vendor's error shape
//!   ([`CoreError::Mock`] with code `injected_fault`, or `rate_limited` for `rate_limit`, which
//!   also sets `Retry-After`).
//! - **drop**: the client receives **no bytes at all**: the socket is closed (a FIN, or a reset
//!   if the client's request had unread bytes) before anything of the answer is written. The
//!   answer's body fails on its first poll, which makes hyper abandon the connection with the
//!   response head still in its unflushed write buffer. A client sees "connection closed before
//!   message completed", "empty reply from server" (curl) or a connection reset. (Over HTTP/2 the
//!   stream is reset instead and the connection survives.)
//! - **truncate**: the head with the real `Content-Length`, then `len / 2` bytes of the body, and
//!   about 50 ms later the connection closes (the pause lets the server write the data out first). A body of one byte is cut before its first byte; an empty body cannot
//!   be cut short and is dropped instead (no bytes at all).
//! - **malformed**: a complete answer whose body fails any JSON parser.
//!
//! [`apply`] must run outside every layer that buffers or rewrites bodies (such as
//! [`crate::server::map_json_body`]), or such a layer sees the body fail and answers on its own.
//!
//! # Rate limit
//!
//! [`RateLimit`] counts requests per credential (bearer token, else Basic user name, else
//! `anonymous`) and per bucket in windows of one whole second of the time the caller passes in:
//! the mock passes its world clock, so with a frozen clock the limit is exact and repeatable. A
//! request counts against the default bucket and against every [`Bucket`] whose method and path
//! it matches (buckets with the same name share one count); if any of them is full the request
//! is refused, counts nowhere, and the caller answers [`Refused::response`]: 429 in the vendor's
//! shape (code `rate_limited`) with `Retry-After: 1` (the next window starts within a second).
//! Only the current second's counts are kept. [`RateLimit::payt`] has Payt's documented limits:
//! 10 requests per second per access token, of which at most 3 file imports
//! (`POST /v1/files`, `POST /api/v1/files`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header::{CONTENT_LENGTH, RETRY_AFTER, TRANSFER_ENCODING};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use axum::response::Response;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use http_body::{Frame, SizeHint};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::auth::credentials;
use crate::error::{CoreError, ErrorRenderer};
use crate::pattern::PathPattern;

/// The header naming the rule that shaped an answer.
pub const FAULT_HEADER: HeaderName = HeaderName::from_static("x-mock-fault");

/// The longest latency a rule may add (one minute).
pub const MAX_LATENCY_MS: u64 = 60_000;

/// The largest `retry_after` a `rate_limit` rule may announce (one day).
pub const MAX_RETRY_AFTER: u64 = 86_400;

/// The most rules one world holds.
pub const MAX_RULES: usize = 1000;

/// The longest `message` a `status` rule may carry (characters).
pub const MAX_MESSAGE_CHARS: usize = 1000;

/// What a rule does to the request it fires for (tagged by `type` in JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Wait `ms` milliseconds (or a uniformly random time in `ms..=max_ms`), then proceed.
    Latency {
        /// The delay, or the shortest delay with `max_ms`.
        ms: u64,
        /// The longest delay.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_ms: Option<u64>,
    },
    /// Answer `status` with the vendor's error body.
    Status {
        /// The status, 200..=599.
        status: u16,
        /// What the error body says; default `Injected fault: <status> <reason>`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// Answer 429 in the vendor's shape with `Retry-After: retry_after`.
    RateLimit {
        /// Seconds, for `Retry-After`.
        retry_after: u64,
    },
    /// Close the connection without an answer.
    Drop {
        /// Whether the handler runs first (its state changes happen, its answer is lost).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        processed: bool,
    },
    /// Send the real head and half the real body, then cut the connection.
    Truncate {},
    /// Send the real answer with a body that is not valid JSON.
    Malformed {},
}

/// A fault rule as a client posts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Only requests with this method (case-insensitive); none: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Only requests whose path matches; default `**`.
    #[serde(default)]
    pub path: PathPattern,
    /// Only requests with this bearer token or Basic user name; none: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// What happens when the rule fires.
    pub action: Action,
    /// Fire for the next `times` matching requests only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// Fire on each matching request with this probability (0.0..=1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
}

impl RuleSpec {
    /// A rule that fires `action` on every request.
    pub fn new(action: Action) -> Self {
        Self {
            method: None,
            path: PathPattern::default(),
            token: None,
            action,
            times: None,
            probability: None,
        }
    }

    /// The spec in a JSON body, with a message saying what to fix if it is not one. Values are
    /// checked by [`Faults::add`] (or [`RuleSpec::validate`]).
    pub fn from_json(body: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(body).map_err(|e| format!("invalid fault rule: {e}"))
    }

    /// Checks every value, and upper-cases the method.
    pub fn validate(mut self) -> Result<Self, String> {
        if let Some(m) = &self.method {
            let upper = m.trim().to_ascii_uppercase();
            if Method::from_bytes(upper.as_bytes()).is_err() {
                return Err(format!("method {m:?} is not an HTTP method"));
            }
            self.method = Some(upper);
        }
        if self.token.as_deref().is_some_and(str::is_empty) {
            return Err("token may not be empty; omit it to match every caller".into());
        }
        if self.times == Some(0) {
            return Err("times must be at least 1; omit it for a rule without a limit".into());
        }
        if let Some(p) = self.probability
            && !(0.0..=1.0).contains(&p)
        {
            return Err(format!("probability must be between 0.0 and 1.0, not {p}"));
        }
        match &self.action {
            Action::Latency { ms, max_ms } => {
                if *ms > MAX_LATENCY_MS {
                    return Err(format!("latency ms must be at most {MAX_LATENCY_MS}, not {ms}"));
                }
                if let Some(max) = max_ms {
                    if max < ms {
                        return Err(format!("latency max_ms ({max}) must be at least ms ({ms})"));
                    }
                    if *max > MAX_LATENCY_MS {
                        return Err(format!("latency max_ms must be at most {MAX_LATENCY_MS}, not {max}"));
                    }
                }
            }
            Action::Status { status, message } => {
                if !(200..=599).contains(status) {
                    return Err(format!(
                        "status must be between 200 and 599, not {status} (an informational 1xx \
                         status cannot be a final answer)"
                    ));
                }
                if let Some(m) = message
                    && m.chars().count() > MAX_MESSAGE_CHARS
                {
                    return Err(format!("message may be at most {MAX_MESSAGE_CHARS} characters long"));
                }
            }
            Action::RateLimit { retry_after } => {
                if *retry_after > MAX_RETRY_AFTER {
                    return Err(format!(
                        "retry_after must be at most {MAX_RETRY_AFTER} seconds, not {retry_after}"
                    ));
                }
            }
            Action::Drop { .. } | Action::Truncate {} | Action::Malformed {} => {}
        }
        Ok(self)
    }

    fn matches(&self, req: &RequestInfo<'_>) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(req.method))
            && self.path.matches(req.path)
            && self.token.as_deref().is_none_or(|t| req.token.as_deref() == Some(t))
    }
}

/// A rule as listed: the spec plus its id and counters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    /// `f1`, `f2`, ... in creation order.
    pub id: String,
    /// The rule's number: its position in creation order (and its generator's stream).
    pub created: u64,
    /// What the client posted (method upper-cased).
    #[serde(flatten)]
    pub spec: RuleSpec,
    /// How often the rule fired.
    pub fired: u64,
    /// What is left of `times`; none without a limit.
    pub remaining: Option<u32>,
}

/// The request facts rules and rate limits look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestInfo<'a> {
    /// The method, as sent.
    pub method: &'a str,
    /// The path, without the query.
    pub path: &'a str,
    /// The bearer token, else the user name of Basic credentials.
    pub token: Option<Cow<'a, str>>,
}

impl<'a> RequestInfo<'a> {
    /// Facts given directly.
    pub fn new(method: &'a str, path: &'a str, token: Option<&'a str>) -> Self {
        Self {
            method,
            path,
            token: token.map(Cow::Borrowed),
        }
    }

    /// The facts of a request head.
    pub fn from_head(method: &'a Method, uri: &'a Uri, headers: &'a HeaderMap) -> Self {
        Self {
            method: method.as_str(),
            path: uri.path(),
            token: credential(headers),
        }
    }

    /// The facts of a request's parts.
    pub fn from_parts(parts: &'a http::request::Parts) -> Self {
        Self::from_head(&parts.method, &parts.uri, &parts.headers)
    }

    /// The facts of a request.
    pub fn from_request<B>(req: &'a Request<B>) -> Self {
        Self::from_head(req.method(), req.uri(), req.headers())
    }

    /// Whom the rate limit counts this request for: the token, or `anonymous`.
    pub fn credential(&self) -> &str {
        self.token.as_deref().unwrap_or("anonymous")
    }
}

/// The bearer token of `headers`, else the user name of their Basic credentials.
pub fn credential(headers: &HeaderMap) -> Option<Cow<'_, str>> {
    if let Ok(token) = credentials(headers, "bearer") {
        return Some(Cow::Borrowed(token));
    }
    let encoded = credentials(headers, "basic").ok()?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let user = text.split_once(':').map_or(text.as_str(), |(u, _)| u);
    (!user.is_empty()).then(|| Cow::Owned(user.to_string()))
}

/// What a fired rule does to its request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// The request proceeds (after the latency).
    Proceed,
    /// An error answer in the vendor's shape instead of the handler's.
    Respond {
        /// The status.
        status: StatusCode,
        /// The [`CoreError::Mock`] code: `injected_fault`, or `rate_limited`.
        code: &'static str,
        /// What the body says.
        message: String,
        /// `Retry-After` seconds.
        retry_after: Option<u64>,
    },
    /// No answer: the connection closes.
    Drop {
        /// Whether the handler runs first.
        processed: bool,
    },
    /// The real head and half the real body, then the connection closes.
    Truncate,
    /// The real answer with a body that is not JSON.
    Malformed,
}

/// A rule that fired for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    /// The rule's id.
    pub rule: String,
    /// How long to wait before the effect.
    pub latency: Option<Duration>,
    /// What to do.
    pub effect: Effect,
}

#[derive(Debug)]
struct Entry {
    rule: Rule,
    rng: ChaCha8Rng,
}

#[derive(Debug)]
struct Inner {
    seed: u64,
    next: u64,
    rules: Vec<Entry>,
}

/// The fault rules of one world.
#[derive(Debug)]
pub struct Faults {
    inner: Mutex<Inner>,
    /// Whether the world holds any rule, kept under the lock by every change of the rules: a
    /// request to a world without rules (the usual case) is decided without taking the lock.
    any: AtomicBool,
}

impl Default for Faults {
    fn default() -> Self {
        Self::new(0)
    }
}

impl Faults {
    /// No rules; rule generators derive from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            inner: Mutex::new(Inner {
                seed,
                next: 1,
                rules: Vec::new(),
            }),
            any: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The seed rule generators derive from.
    pub fn seed(&self) -> u64 {
        self.lock().seed
    }

    /// Adds `spec` after checking it; the listed rule.
    pub fn add(&self, spec: RuleSpec) -> Result<Rule, String> {
        let spec = spec.validate()?;
        let mut inner = self.lock();
        if inner.rules.len() >= MAX_RULES {
            return Err(format!(
                "a world holds at most {MAX_RULES} fault rules; delete some first"
            ));
        }
        let number = inner.next;
        inner.next += 1;
        let mut rng = ChaCha8Rng::seed_from_u64(inner.seed);
        rng.set_stream(number);
        let rule = Rule {
            id: format!("f{number}"),
            created: number,
            remaining: spec.times,
            spec,
            fired: 0,
        };
        inner.rules.push(Entry {
            rule: rule.clone(),
            rng,
        });
        self.any.store(true, Ordering::Release);
        Ok(rule)
    }

    /// Adds the rule in a JSON body (see the module docs), or says what to fix.
    pub fn add_json(&self, body: &[u8]) -> Result<Rule, String> {
        self.add(RuleSpec::from_json(body)?)
    }

    /// Every rule in creation order, spent ones included.
    pub fn list(&self) -> Vec<Rule> {
        self.lock().rules.iter().map(|e| e.rule.clone()).collect()
    }

    /// The rule `id`.
    pub fn get(&self, id: &str) -> Option<Rule> {
        self.lock()
            .rules
            .iter()
            .find(|e| e.rule.id == id)
            .map(|e| e.rule.clone())
    }

    /// Removes the rule `id`; whether there was one.
    pub fn remove(&self, id: &str) -> bool {
        let mut inner = self.lock();
        let before = inner.rules.len();
        inner.rules.retain(|e| e.rule.id != id);
        self.any.store(!inner.rules.is_empty(), Ordering::Release);
        inner.rules.len() != before
    }

    /// Removes every rule (ids keep counting up).
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.rules.clear();
        self.any.store(false, Ordering::Release);
    }

    /// Removes every rule, restarts ids at `f1` and derives generators from `seed` (a world's
    /// reset).
    pub fn reset(&self, seed: u64) {
        let mut inner = self.lock();
        inner.rules.clear();
        self.any.store(false, Ordering::Release);
        inner.next = 1;
        inner.seed = seed;
    }

    /// The rule that fires for `req`, if any: the first in creation order that matches, has
    /// budget left and, with a probability, wins its draw. Counts the firing.
    pub fn decide(&self, req: &RequestInfo<'_>) -> Option<Fired> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        let mut inner = self.lock();
        for entry in &mut inner.rules {
            let rule = &mut entry.rule;
            if rule.remaining == Some(0) || !rule.spec.matches(req) {
                continue;
            }
            if let Some(p) = rule.spec.probability
                && !entry.rng.random_bool(p)
            {
                continue;
            }
            rule.fired += 1;
            if let Some(left) = &mut rule.remaining {
                *left -= 1;
            }
            let (latency, effect) = match &rule.spec.action {
                Action::Latency { ms, max_ms } => {
                    let ms = match max_ms {
                        Some(max) if max > ms => entry.rng.random_range(*ms..=*max),
                        _ => *ms,
                    };
                    (Some(Duration::from_millis(ms)), Effect::Proceed)
                }
                Action::Status { status, message } => {
                    let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                    let message = message.clone().unwrap_or_else(|| {
                        format!(
                            "Injected fault: {} {}",
                            status.as_u16(),
                            status.canonical_reason().unwrap_or("")
                        )
                        .trim_end()
                        .to_string()
                    });
                    let effect = Effect::Respond {
                        status,
                        code: "injected_fault",
                        message,
                        retry_after: None,
                    };
                    (None, effect)
                }
                Action::RateLimit { retry_after } => (
                    None,
                    Effect::Respond {
                        status: StatusCode::TOO_MANY_REQUESTS,
                        code: "rate_limited",
                        message: format!(
                            "Injected fault: rate limit exceeded, retry after {retry_after} \
                             second{}",
                            if *retry_after == 1 { "" } else { "s" }
                        ),
                        retry_after: Some(*retry_after),
                    },
                ),
                Action::Drop { processed } => (None, Effect::Drop { processed: *processed }),
                Action::Truncate {} => (None, Effect::Truncate),
                Action::Malformed {} => (None, Effect::Malformed),
            };
            return Some(Fired {
                rule: rule.id.clone(),
                latency,
                effect,
            });
        }
        None
    }
}

/// Answers a request `fired` for: waits its latency, then renders its error with `renderer`, or
/// runs `next` (the vendor's handler) and passes, cuts or mangles its answer. `next` is not run
/// for `status`, `rate_limit` and `drop` (unless `processed`).
pub async fn apply<F>(fired: &Fired, renderer: &dyn ErrorRenderer, next: F) -> Response
where
    F: Future<Output = Response>,
{
    if let Some(latency) = fired.latency {
        tokio::time::sleep(latency).await;
    }
    let mut res = match &fired.effect {
        Effect::Proceed => next.await,
        Effect::Respond {
            status,
            code,
            message,
            retry_after,
        } => {
            let mut res = renderer.render(&CoreError::Mock {
                status: *status,
                code,
                message: message.clone(),
            });
            if let Some(secs) = retry_after {
                res.headers_mut().insert(RETRY_AFTER, HeaderValue::from(*secs));
            }
            res
        }
        Effect::Drop { processed } => {
            if *processed {
                drop(next.await);
            }
            dropped()
        }
        Effect::Truncate => truncate(next.await).await,
        Effect::Malformed => malformed(next.await).await,
    };
    if let Ok(v) = HeaderValue::from_str(&fired.rule) {
        res.headers_mut().insert(FAULT_HEADER, v);
    }
    res
}

/// What a malformed body ends with: no `"`, so it never closes a string the cut left open, and a
/// `<`, which no JSON text may contain outside a string.
const GARBAGE: &[u8] = b"<!-- malformed by a mock fault -->";

/// `body` cut in half and followed by garbage: never valid JSON, whatever the body was.
pub fn malformed_body(body: &[u8]) -> Vec<u8> {
    let mut out = body[..body.len() / 2].to_vec();
    out.extend_from_slice(GARBAGE);
    out
}

async fn malformed(res: Response) -> Response {
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return dropped();
    };
    let out = malformed_body(&bytes);
    parts.headers.remove(TRANSFER_ENCODING);
    parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(out.len()));
    Response::from_parts(parts, Body::from(out))
}

async fn truncate(res: Response) -> Response {
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return dropped();
    };
    if bytes.is_empty() {
        return dropped();
    }
    let len = bytes.len() as u64;
    parts.headers.remove(TRANSFER_ENCODING);
    parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    let half = bytes.slice(..bytes.len() / 2);
    Response::from_parts(
        parts,
        Body::new(Severed {
            data: Some(half),
            pause: Some(Box::pin(tokio::time::sleep(CUT_AFTER))),
            size: Some(len),
        }),
    )
}

/// A body that yields `data` (if not empty), then, after a pause that lets the server write it
/// out, fails: what a cut answer is when something between [`apply`] and the wire (the journal)
/// has read it and passes it on.
pub(crate) fn severed(data: Bytes) -> Body {
    let pause = (!data.is_empty()).then(|| Box::pin(tokio::time::sleep(CUT_AFTER)));
    Body::new(Severed {
        data: Some(data),
        pause,
        size: None,
    })
}

/// An answer that never reaches the client: its body fails on the first poll.
fn dropped() -> Response {
    let mut res = Response::new(Body::new(Severed {
        data: None,
        pause: None,
        size: None,
    }));
    *res.status_mut() = StatusCode::BAD_GATEWAY;
    res
}

/// How long a truncated body waits after its data before it fails: time for the server to write
/// the head and data out (hyper discards what is still in its buffer when a body fails).
const CUT_AFTER: Duration = Duration::from_millis(50);

/// A body that yields `data` (if any), waits `pause` (if any) so the server flushes what it has,
/// then fails: the server abandons the connection. Declares `size` (the full length) if given.
struct Severed {
    data: Option<Bytes>,
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
    size: Option<u64>,
}

impl http_body::Body for Severed {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if let Some(data) = self.data.take()
            && !data.is_empty()
        {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        if let Some(pause) = &mut self.pause {
            // hyper flushes its write buffer while the body is pending.
            std::task::ready!(pause.as_mut().poll(cx));
            self.pause = None;
        }
        Poll::Ready(Some(Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "connection cut by a mock fault",
        ))))
    }

    fn is_end_stream(&self) -> bool {
        false
    }

    fn size_hint(&self) -> SizeHint {
        self.size.map_or_else(SizeHint::default, SizeHint::with_exact)
    }
}

/// A rate-limit bucket: the requests it counts and how many of them one credential may send per
/// second.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    /// The bucket's name; buckets with the same name share one count.
    pub name: String,
    /// Only requests with this method (case-insensitive); none: any.
    pub method: Option<String>,
    /// Only requests whose path matches.
    pub path: PathPattern,
    /// Requests per second and credential.
    pub per_second: u32,
}

impl Bucket {
    /// A bucket named `name` for `method` (none: any) and `path`.
    pub fn new(name: impl Into<String>, method: Option<&str>, path: PathPattern, per_second: u32) -> Self {
        Self {
            name: name.into(),
            method: method.map(str::to_ascii_uppercase),
            path,
            per_second,
        }
    }

    fn matches(&self, req: &RequestInfo<'_>) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(req.method))
            && self.path.matches(req.path)
    }
}

/// The name of the bucket every request counts against.
pub const DEFAULT_BUCKET: &str = "default";

/// Why [`RateLimit::check`] refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The full bucket.
    pub bucket: String,
    /// Its limit.
    pub per_second: u32,
    /// Seconds until the next window (`Retry-After`).
    pub retry_after: u64,
}

impl Refused {
    /// The 429 in the vendor's shape (code `rate_limited`), with `Retry-After`.
    pub fn response(&self, renderer: &dyn ErrorRenderer) -> Response {
        let what = if self.bucket == DEFAULT_BUCKET {
            "requests".to_string()
        } else {
            format!("{} requests", self.bucket.replace('_', " "))
        };
        let mut res = renderer.render(&CoreError::Mock {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "rate_limited",
            message: format!(
                "Rate limit exceeded: at most {} {what} per second per access token; retry after \
                 {} second{}",
                self.per_second,
                self.retry_after,
                if self.retry_after == 1 { "" } else { "s" }
            ),
        });
        res.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(self.retry_after));
        res
    }
}

#[derive(Debug, Default)]
struct Window {
    second: i64,
    /// (credential, bucket name) → requests counted this second.
    counts: HashMap<(String, String), u32>,
}

/// An emulated vendor rate limit: requests per second, per credential and bucket, on a provided
/// clock.
#[derive(Debug)]
pub struct RateLimit {
    default_per_second: u32,
    buckets: Vec<Bucket>,
    window: Mutex<Window>,
}

impl RateLimit {
    /// `default_per_second` requests per second and credential overall, and `buckets` for
    /// narrower limits.
    pub fn new(default_per_second: u32, buckets: Vec<Bucket>) -> Self {
        Self {
            default_per_second,
            buckets,
            window: Mutex::new(Window::default()),
        }
    }

    /// Payt's documented limits: 10 requests per second per access token, of which at most 3
    /// file imports (`POST /v1/files`, `POST /api/v1/files`); refusals carry `Retry-After: 1`.
    pub fn payt() -> Self {
        let files = |path: &str| {
            PathPattern::parse(path)
                .map(|p| Bucket::new("file_imports", Some("POST"), p, 3))
                .ok()
        };
        Self::new(
            10,
            [files("/v1/files"), files("/api/v1/files")]
                .into_iter()
                .flatten()
                .collect(),
        )
    }

    /// The overall limit per credential.
    pub fn default_per_second(&self) -> u32 {
        self.default_per_second
    }

    /// The narrower buckets.
    pub fn buckets(&self) -> &[Bucket] {
        &self.buckets
    }

    /// Forgets every count (a world's reset).
    pub fn reset(&self) {
        *self.window.lock().unwrap_or_else(PoisonError::into_inner) = Window::default();
    }

    /// Counts `req` at `now`, or refuses it when a bucket it counts against is full this second
    /// (then it counts nowhere).
    pub fn check(&self, req: &RequestInfo<'_>, now: DateTime<Utc>) -> Result<(), Refused> {
        let mut limits: Vec<(&str, u32)> = vec![(DEFAULT_BUCKET, self.default_per_second)];
        for b in self.buckets.iter().filter(|b| b.matches(req)) {
            match limits.iter_mut().find(|(name, _)| *name == b.name) {
                Some((_, limit)) => *limit = (*limit).min(b.per_second),
                None => limits.push((&b.name, b.per_second)),
            }
        }
        let mut window = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        let second = now.timestamp();
        if window.second != second {
            // A new second (or a clock set back): older windows are of no use.
            window.second = second;
            window.counts.clear();
        }
        let credential = req.credential();
        let key = |name: &str| (credential.to_string(), name.to_string());
        for &(name, limit) in &limits {
            if window.counts.get(&key(name)).copied().unwrap_or(0) >= limit {
                return Err(Refused {
                    bucket: name.to_string(),
                    per_second: limit,
                    retry_after: 1,
                });
            }
        }
        for &(name, _) in &limits {
            *window.counts.entry(key(name)).or_insert(0) += 1;
        }
        Ok(())
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.window.lock().unwrap_or_else(PoisonError::into_inner).counts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
    use axum::response::IntoResponse;
    use axum::routing::get;
    use chrono::TimeZone;
    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    struct Vendor;
    impl ErrorRenderer for Vendor {
        fn render(&self, e: &CoreError) -> Response {
            let (code, message) = match e {
                CoreError::Mock { code, message, .. } => (*code, message.clone()),
                _ => ("other", String::new()),
            };
            (
                e.status(),
                [(CONTENT_TYPE, "application/json")],
                serde_json::json!({ "code": code, "message": message }).to_string(),
            )
                .into_response()
        }
    }

    fn spec(json: serde_json::Value) -> RuleSpec {
        serde_json::from_value(json).expect("spec")
    }

    fn req<'a>(method: &'a str, path: &'a str) -> RequestInfo<'a> {
        RequestInfo::new(method, path, None)
    }

    async fn body_of(res: Response) -> Vec<u8> {
        axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .expect("body")
            .to_vec()
    }

    #[test]
    fn rule_json_parses_with_defaults_and_refuses_unknown_fields() {
        let s = RuleSpec::from_json(br#"{"action":{"type":"truncate"}}"#).expect("ok");
        assert_eq!(s, RuleSpec::new(Action::Truncate {}));
        assert_eq!(s.path.as_str(), "**");
        let s = RuleSpec::from_json(br#"{"action":{"type":"drop"}}"#).expect("ok");
        assert_eq!(s.action, Action::Drop { processed: false });
        let e = RuleSpec::from_json(br#"{"action":{"type":"drop"},"tims":2}"#).expect_err("x");
        assert!(e.contains("unknown field `tims`") && e.contains("`times`"), "{e}");
        let e = RuleSpec::from_json(br#"{"action":{"type":"status","status":503,"msg":"x"}}"#).expect_err("x");
        assert!(e.contains("unknown field `msg`"), "{e}");
        let e = RuleSpec::from_json(br#"{"action":{"type":"truncate","ms":3}}"#).expect_err("x");
        assert!(e.contains("unknown field `ms`"), "{e}");
        let e = RuleSpec::from_json(br#"{"action":{"type":"dorp"}}"#).expect_err("x");
        assert!(e.contains("unknown variant `dorp`") && e.contains("`drop`"), "{e}");
        let e = RuleSpec::from_json(br#"{"path":"v1","action":{"type":"drop"}}"#).expect_err("x");
        assert!(e.contains("must start with /"), "{e}");
        let e = RuleSpec::from_json(br#"{"method":"GET"}"#).expect_err("x");
        assert!(e.contains("missing field `action`"), "{e}");
    }

    #[test]
    fn invalid_values_say_what_to_fix() {
        let f = Faults::new(1);
        let bad = |json: serde_json::Value, needle: &str| {
            let e = f.add(spec(json.clone())).expect_err("invalid");
            assert!(e.contains(needle), "{json}: {e}");
        };
        bad(
            serde_json::json!({"action":{"type":"status","status":99}}),
            "between 200 and 599",
        );
        bad(
            serde_json::json!({"action":{"type":"status","status":101}}),
            "between 200 and 599",
        );
        bad(serde_json::json!({"action":{"type":"status","status":600}}), "not 600");
        bad(
            serde_json::json!({"probability":1.5,"action":{"type":"drop"}}),
            "between 0.0 and 1.0",
        );
        bad(
            serde_json::json!({"probability":-0.1,"action":{"type":"drop"}}),
            "probability",
        );
        bad(
            serde_json::json!({"action":{"type":"latency","ms":500,"max_ms":100}}),
            "must be at least ms",
        );
        bad(
            serde_json::json!({"action":{"type":"latency","ms":60001}}),
            "at most 60000",
        );
        bad(
            serde_json::json!({"action":{"type":"latency","ms":1,"max_ms":60001}}),
            "at most 60000",
        );
        bad(serde_json::json!({"times":0,"action":{"type":"drop"}}), "at least 1");
        bad(
            serde_json::json!({"method":"GE T","action":{"type":"drop"}}),
            "not an HTTP method",
        );
        bad(serde_json::json!({"token":"","action":{"type":"drop"}}), "token");
        bad(
            serde_json::json!({"action":{"type":"rate_limit","retry_after":100000}}),
            "retry_after",
        );
        assert!(f.list().is_empty());
        let ok = f
            .add(spec(
                serde_json::json!({"method":"post","action":{"type":"status","status":200}}),
            ))
            .expect("ok");
        assert_eq!(ok.spec.method.as_deref(), Some("POST"));
    }

    #[test]
    fn rules_list_as_json_with_ids_and_counters() {
        let f = Faults::new(7);
        let r = f
            .add(spec(serde_json::json!({
                "method": "post", "path": "/v1/invoices/**",
                "action": {"type": "status", "status": 503}, "times": 2
            })))
            .expect("add");
        assert_eq!(r.id, "f1");
        assert_eq!(
            serde_json::to_value(&r).expect("json"),
            serde_json::json!({
                "id": "f1", "created": 1, "method": "POST", "path": "/v1/invoices/**",
                "action": {"type": "status", "status": 503}, "times": 2,
                "fired": 0, "remaining": 2
            })
        );
        let r2 = f
            .add(spec(serde_json::json!({"action": {"type": "truncate"}})))
            .expect("add");
        assert_eq!(
            serde_json::to_value(&r2).expect("json"),
            serde_json::json!({
                "id": "f2", "created": 2, "path": "**", "action": {"type": "truncate"},
                "fired": 0, "remaining": null
            })
        );
        // What is listed can be posted again.
        let back: RuleSpec = serde_json::from_value(serde_json::to_value(&r.spec).expect("json")).expect("spec");
        assert_eq!(back, r.spec);
    }

    #[test]
    fn matching_by_method_path_and_token() {
        let f = Faults::new(1);
        f.add(spec(serde_json::json!({
            "method": "delete", "path": "/v1/invoices/*", "token": "t1",
            "action": {"type": "drop"}
        })))
        .expect("add");
        let hit = |m: &str, p: &str, t: Option<&str>| f.decide(&RequestInfo::new(m, p, t)).is_some();
        assert!(hit("DELETE", "/v1/invoices/4", Some("t1")));
        assert!(hit("delete", "/v1/invoices/4", Some("t1")));
        assert!(!hit("GET", "/v1/invoices/4", Some("t1")));
        assert!(!hit("DELETE", "/v1/invoices/4/lines", Some("t1")));
        assert!(!hit("DELETE", "/v1/invoices/4", Some("t2")));
        assert!(!hit("DELETE", "/v1/invoices/4", None));
    }

    #[test]
    fn times_spends_a_rule_and_the_first_rule_in_creation_order_wins() {
        let f = Faults::new(1);
        f.add(spec(
            serde_json::json!({"action":{"type":"status","status":503},"times":2}),
        ))
        .expect("add");
        f.add(spec(serde_json::json!({"action":{"type":"status","status":500}})))
            .expect("add");
        let statuses: Vec<_> = (0..4)
            .map(|_| match f.decide(&req("GET", "/x")).expect("fires").effect {
                Effect::Respond { status, .. } => status.as_u16(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(statuses, [503, 503, 500, 500]);
        let list = f.list();
        assert_eq!((list[0].fired, list[0].remaining), (2, Some(0)));
        assert_eq!((list[1].fired, list[1].remaining), (2, None));
        assert_eq!(f.get("f1").map(|r| r.fired), Some(2));
    }

    #[test]
    fn remove_clear_and_reset() {
        let f = Faults::new(1);
        let drop = || spec(serde_json::json!({"action":{"type":"drop"}}));
        f.add(drop()).expect("add");
        f.add(drop()).expect("add");
        assert!(f.remove("f1"));
        assert!(!f.remove("f1"));
        assert_eq!(f.list().iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["f2"]);
        f.clear();
        assert!(f.list().is_empty());
        assert_eq!(f.add(drop()).expect("add").id, "f3");
        f.reset(9);
        assert!(f.list().is_empty() && f.decide(&req("GET", "/")).is_none());
        assert_eq!(f.seed(), 9);
        assert_eq!(f.add(drop()).expect("add").id, "f1");
    }

    #[test]
    fn shareable_across_tasks() {
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>(_: &T) {}
        send_sync::<Faults>();
        send_sync::<RateLimit>();
        let f = fired(Effect::Proceed);
        let renderer: &dyn ErrorRenderer = &Vendor;
        send(&apply(&f, renderer, real()));
    }

    #[test]
    fn the_rule_limit_holds() {
        let f = Faults::new(1);
        for _ in 0..MAX_RULES {
            f.add(RuleSpec::new(Action::Malformed {})).expect("add");
        }
        let e = f.add(RuleSpec::new(Action::Malformed {})).expect_err("full");
        assert!(e.contains("at most 1000"), "{e}");
    }

    fn trace(seed: u64) -> Vec<Option<(String, Option<Duration>)>> {
        let f = Faults::new(seed);
        f.add(spec(serde_json::json!({
            "path": "/v1/**", "probability": 0.5,
            "action": {"type": "latency", "ms": 10, "max_ms": 5000}
        })))
        .expect("add");
        f.add(spec(serde_json::json!({
            "method": "POST", "probability": 0.5, "action": {"type": "status", "status": 503}
        })))
        .expect("add");
        (0..400)
            .map(|i| {
                let method = if i % 3 == 0 { "POST" } else { "GET" };
                let path = if i % 2 == 0 { "/v1/invoices" } else { "/api/x" };
                f.decide(&req(method, path)).map(|d| (d.rule, d.latency))
            })
            .collect()
    }

    #[test]
    fn same_seed_same_decisions() {
        let a = trace(42);
        assert_eq!(a, trace(42));
        assert_ne!(a, trace(43));
        // Probability 0.5 fires about half the time, and random latencies vary within bounds.
        let latencies: Vec<Duration> = a.iter().flatten().filter_map(|(_, l)| *l).collect();
        assert!((70..=130).contains(&latencies.len()), "{}", latencies.len());
        assert!(latencies.iter().all(|l| (10..=5000).contains(&l.as_millis())));
        assert!(latencies.windows(2).any(|w| w[0] != w[1]));
        assert!(a.iter().flatten().any(|(r, _)| r == "f2"));
    }

    #[test]
    fn removing_a_rule_does_not_change_the_draws_of_the_others() {
        // Rule f2's generator depends on the seed and its number only.
        let draws = |extra: bool| {
            let f = Faults::new(5);
            f.add(spec(serde_json::json!({"path": "/never", "action": {"type": "drop"}})))
                .expect("add");
            f.add(spec(
                serde_json::json!({"probability": 0.5, "action": {"type": "drop"}}),
            ))
            .expect("add");
            if extra {
                assert!(f.remove("f1"));
            }
            (0..64)
                .map(|_| f.decide(&req("GET", "/x")).is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(draws(false), draws(true));
    }

    #[test]
    fn probability_extremes() {
        let f = Faults::new(3);
        f.add(spec(
            serde_json::json!({"probability": 0.0, "action": {"type": "drop"}}),
        ))
        .expect("add");
        assert!((0..100).all(|_| f.decide(&req("GET", "/")).is_none()));
        f.add(spec(
            serde_json::json!({"probability": 1.0, "action": {"type": "drop"}}),
        ))
        .expect("add");
        assert!((0..100).all(|_| f.decide(&req("GET", "/")).is_some()));
        assert_eq!(f.list()[0].fired, 0);
    }

    #[test]
    fn request_info_reads_bearer_and_basic_credentials() {
        let parts = |auth: Option<&str>| {
            let mut b = Request::builder().method("PUT").uri("/v1/x?y=1");
            if let Some(a) = auth {
                b = b.header(AUTHORIZATION, a);
            }
            b.body(()).expect("request").into_parts().0
        };
        let p = parts(Some("Bearer tok"));
        let info = RequestInfo::from_parts(&p);
        assert_eq!(info, RequestInfo::new("PUT", "/v1/x", Some("tok")));
        // base64("client:secret")
        let p = parts(Some("Basic Y2xpZW50OnNlY3JldA=="));
        assert_eq!(RequestInfo::from_parts(&p).token.as_deref(), Some("client"));
        let p = parts(Some("Basic !!!"));
        assert_eq!(RequestInfo::from_parts(&p).credential(), "anonymous");
        let p = parts(None);
        assert_eq!(RequestInfo::from_parts(&p).token, None);
        let r = Request::builder()
            .uri("/a")
            .header(AUTHORIZATION, "bearer t")
            .body(())
            .expect("request");
        assert_eq!(RequestInfo::from_request(&r).credential(), "t");
    }

    fn fired(effect: Effect) -> Fired {
        Fired {
            rule: "f7".into(),
            latency: None,
            effect,
        }
    }

    async fn real() -> Response {
        (
            StatusCode::CREATED,
            [(CONTENT_TYPE, "application/json")],
            r#"{"id":1,"name":"Invoice","lines":[1,2,3]}"#,
        )
            .into_response()
    }

    #[tokio::test]
    async fn status_and_rate_limit_render_in_the_vendor_shape() {
        let f = Faults::new(1);
        f.add(spec(
            serde_json::json!({"action":{"type":"status","status":503},"times":1}),
        ))
        .expect("add");
        f.add(spec(
            serde_json::json!({"action":{"type":"rate_limit","retry_after":30}}),
        ))
        .expect("add");
        let d = f.decide(&req("GET", "/")).expect("fires");
        let res = apply(&d, &Vendor, async { panic!("the handler must not run") }).await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()[&FAULT_HEADER], "f1");
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&body_of(res).await).expect("json"),
            serde_json::json!({"code": "injected_fault", "message": "Injected fault: 503 Service Unavailable"})
        );
        let d = f.decide(&req("GET", "/")).expect("fires");
        let res = apply(&d, &Vendor, real()).await;
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers()[RETRY_AFTER], "30");
        assert_eq!(res.headers()[&FAULT_HEADER], "f2");
        let body: serde_json::Value = serde_json::from_slice(&body_of(res).await).expect("json");
        assert_eq!(body["code"], "rate_limited");
        let msg = Effect::Respond {
            status: StatusCode::IM_A_TEAPOT,
            code: "injected_fault",
            message: "short and stout".into(),
            retry_after: None,
        };
        let res = apply(&fired(msg), &Vendor, real()).await;
        assert_eq!(res.status(), StatusCode::IM_A_TEAPOT);
        assert!(String::from_utf8_lossy(&body_of(res).await).contains("short and stout"));
    }

    #[tokio::test]
    async fn latency_waits_then_proceeds() {
        let f = Faults::new(1);
        f.add(spec(serde_json::json!({"action":{"type":"latency","ms":40}})))
            .expect("add");
        let d = f.decide(&req("GET", "/")).expect("fires");
        assert_eq!(d.latency, Some(Duration::from_millis(40)));
        let start = std::time::Instant::now();
        let res = apply(&d, &Vendor, real()).await;
        assert!(start.elapsed() >= Duration::from_millis(40));
        assert_eq!(res.status(), StatusCode::CREATED);
        assert_eq!(res.headers()[&FAULT_HEADER], "f1");
        assert!(body_of(res).await.starts_with(b"{\"id\":1"));
    }

    #[tokio::test]
    async fn malformed_keeps_head_and_breaks_json() {
        let res = apply(&fired(Effect::Malformed), &Vendor, real()).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        assert_eq!(res.headers()[&FAULT_HEADER], "f7");
        let len: usize = res.headers()[CONTENT_LENGTH]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("number");
        let body = body_of(res).await;
        assert_eq!(body.len(), len);
        assert!(body.starts_with(br#"{"id":1,"name":"#));
        assert!(serde_json::from_slice::<serde_json::Value>(&body).is_err());
    }

    #[test]
    fn garbage_after_any_prefix_is_never_json() {
        let bodies = [
            r#"{"a":"b\"c\\","d":[1,2.5e3,true,false,null,{"e":"\u00e9"}]}"#,
            r#"[]"#,
            r#""a string""#,
            "12345",
            "true",
            "null",
            "  {} ",
            "",
        ];
        for b in bodies {
            for cut in 0..=b.len() {
                let mut out = b.as_bytes()[..cut].to_vec();
                out.extend_from_slice(GARBAGE);
                assert!(
                    serde_json::from_slice::<serde_json::Value>(&out).is_err(),
                    "{}",
                    String::from_utf8_lossy(&out)
                );
            }
            assert!(serde_json::from_slice::<serde_json::Value>(&malformed_body(b.as_bytes())).is_err());
        }
    }

    #[tokio::test]
    async fn dropped_and_truncated_bodies_fail_in_process() {
        let res = apply(&fired(Effect::Drop { processed: false }), &Vendor, real()).await;
        assert!(axum::body::to_bytes(res.into_body(), usize::MAX).await.is_err());
        let res = apply(&fired(Effect::Truncate), &Vendor, real()).await;
        assert_eq!(res.headers()[CONTENT_LENGTH], "41");
        assert!(axum::body::to_bytes(res.into_body(), usize::MAX).await.is_err());
    }

    /// What a raw HTTP/1.1 client reads until the server closes (or resets) the connection.
    /// Keep-alive unless `close`: for a fault, the server must close the connection on its own.
    async fn raw(addr: SocketAddr, path: &str, close: bool) -> Vec<u8> {
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let connection = if close { "connection: close\r\n" } else { "" };
        let req = format!("GET {path} HTTP/1.1\r\nhost: a\r\n{connection}\r\n");
        s.write_all(req.as_bytes()).await.expect("write");
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        let read = async {
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => out.extend_from_slice(&buf[..n]),
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(5), read)
            .await
            .expect("the server closes the connection");
        out
    }

    fn split_head(raw: &[u8]) -> (String, &[u8]) {
        let at = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete head");
        (String::from_utf8_lossy(&raw[..at]).to_ascii_lowercase(), &raw[at + 4..])
    }

    async fn faulty_server(handled: Arc<AtomicUsize>) -> crate::ServerHandle {
        let big: String = (0..200_000).map(|i| format!("{i},")).collect();
        let big = Arc::new(format!("{{\"numbers\":[{big}0]}}"));
        let route = |effect: Effect| {
            let handled = handled.clone();
            let big = big.clone();
            get(move || {
                let handled = handled.clone();
                let big = big.clone();
                async move {
                    let next = async move {
                        handled.fetch_add(1, Ordering::SeqCst);
                        ([(CONTENT_TYPE, "application/json")], big.to_string()).into_response()
                    };
                    apply(&fired(effect), &Vendor, next).await
                }
            })
        };
        let app = Router::new()
            .route("/drop", route(Effect::Drop { processed: false }))
            .route("/drop-processed", route(Effect::Drop { processed: true }))
            .route("/truncate", route(Effect::Truncate))
            .route("/malformed", route(Effect::Malformed));
        let app = crate::server::stack(app, Arc::new(Vendor), 1024);
        crate::ServerHandle::start("127.0.0.1:0".parse().expect("addr"), app)
            .await
            .expect("bind")
    }

    #[tokio::test]
    async fn on_the_wire() {
        let handled = Arc::new(AtomicUsize::new(0));
        let server = faulty_server(handled.clone()).await;
        let addr = server.addr();

        // drop: not a single byte, then the connection closes; the handler did not run.
        assert_eq!(raw(addr, "/drop", false).await, b"");
        assert_eq!(handled.load(Ordering::SeqCst), 0);
        // drop after processing: the handler ran, the client still sees nothing.
        assert_eq!(raw(addr, "/drop-processed", false).await, b"");
        assert_eq!(handled.load(Ordering::SeqCst), 1);

        // truncate: the real head with the full length, half the body, then EOF.
        let out = raw(addr, "/truncate", false).await;
        let (head, body) = split_head(&out);
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(head.contains("x-mock-fault: f7"), "{head}");
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .expect("content-length")
            .parse()
            .expect("number");
        assert!(len > 1_000_000, "{len}");
        assert_eq!(body.len(), len / 2, "{head}");
        assert!(body.starts_with(b"{\"numbers\":[0,1,2,"));

        // malformed: a complete answer that is not JSON.
        let out = raw(addr, "/malformed", true).await;
        let (head, body) = split_head(&out);
        assert!(head.contains("x-mock-fault: f7"), "{head}");
        assert!(head.contains("content-type: application/json"), "{head}");
        assert!(head.contains(&format!("content-length: {}", body.len())), "{head}");
        assert!(body.ends_with(GARBAGE));
        assert!(serde_json::from_slice::<serde_json::Value>(body).is_err());
        assert_eq!(handled.load(Ordering::SeqCst), 3);
        server.stop().await.expect("stop");
    }

    fn at(second: i64, nanos: u32) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + second, nanos).single().expect("time")
    }

    #[test]
    fn rate_limit_counts_per_token_in_whole_seconds_of_the_given_clock() {
        let rl = RateLimit::payt();
        let a = RequestInfo::new("GET", "/v1/invoices", Some("a"));
        let b = RequestInfo::new("GET", "/v1/invoices", Some("b"));
        for i in 0..10 {
            assert_eq!(rl.check(&a, at(0, i * 1000)), Ok(()), "request {i}");
        }
        let refused = rl.check(&a, at(0, 999_999_999)).expect_err("11th");
        assert_eq!(refused.retry_after, 1);
        assert_eq!(refused.bucket, DEFAULT_BUCKET);
        // Refusals do not count, and other tokens have their own budget.
        assert!(rl.check(&a, at(0, 0)).is_err());
        assert_eq!(rl.check(&b, at(0, 0)), Ok(()));
        // The next second starts afresh.
        for _ in 0..10 {
            assert_eq!(rl.check(&a, at(1, 0)), Ok(()));
        }
        assert!(rl.check(&a, at(1, 0)).is_err());
        // Only the current second is kept.
        assert_eq!(rl.tracked(), 1);
        rl.reset();
        assert_eq!(rl.check(&a, at(1, 0)), Ok(()));
    }

    #[test]
    fn payt_file_imports_have_their_own_bucket_on_both_bases() {
        let rl = RateLimit::payt();
        assert_eq!(rl.default_per_second(), 10);
        let paths: Vec<_> = rl.buckets().iter().map(|b| b.path.as_str()).collect();
        assert_eq!(paths, ["/v1/files", "/api/v1/files"]);
        let import = RequestInfo::new("POST", "/v1/files", Some("t"));
        let import_api = RequestInfo::new("post", "/api/v1/files", Some("t"));
        let list = RequestInfo::new("GET", "/v1/files", Some("t"));
        assert_eq!(rl.check(&import, at(0, 0)), Ok(()));
        assert_eq!(rl.check(&import_api, at(0, 0)), Ok(()));
        assert_eq!(rl.check(&import, at(0, 0)), Ok(()));
        let refused = rl.check(&import_api, at(0, 0)).expect_err("4th import");
        assert_eq!((refused.bucket.as_str(), refused.per_second), ("file_imports", 3));
        // Imports count towards the overall 10 too: 3 used, 7 left.
        for _ in 0..7 {
            assert_eq!(rl.check(&list, at(0, 0)), Ok(()));
        }
        assert!(rl.check(&list, at(0, 0)).is_err());
        assert_eq!(rl.check(&import, at(1, 0)), Ok(()));
    }

    #[tokio::test]
    async fn refusals_render_as_429_with_retry_after() {
        let rl = RateLimit::new(0, Vec::new());
        let anon = RequestInfo::new("GET", "/", None);
        assert_eq!(anon.credential(), "anonymous");
        let refused = rl.check(&anon, at(0, 0)).expect_err("limit 0");
        let res = refused.response(&Vendor);
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers()[RETRY_AFTER], "1");
        let body: serde_json::Value = serde_json::from_slice(&body_of(res).await).expect("json");
        assert_eq!(body["code"], "rate_limited");
        assert_eq!(
            body["message"],
            "Rate limit exceeded: at most 0 requests per second per access token; retry after 1 second"
        );
    }
}
