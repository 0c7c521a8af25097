//! The request journal of one world: every exchange the mock served, bounded, redacted, queryable,
//! verifiable and exportable as HAR.
//!
//! A world (an isolated copy of a mock's state) owns one [`Journal`]. The dispatcher calls
//! [`Journal::begin`] when a request arrives and [`Pending::finish`] with the answer; the control
//! API exposes [`Journal::list`], [`Journal::get`], [`Journal::verify`], [`Journal::har`] and
//! [`Journal::clear`].
//!
//! # Recording
//!
//! [`Journal::begin`] notes the method, path, query and headers of the request, the time (read from
//! the world's clock by the caller, so a frozen clock gives frozen timestamps) and starts a
//! monotonic timer. The request's and the answer's heads are kept as they came, copied into one
//! buffer each, and redacted when an entry is read (listed, fetched, verified, exported, watched):
//! recording an exchange builds no string per header and parses no query (see
//! [Redaction](#redaction)); every [`Entry`] a reader gets is redacted. It replaces the request body by a *tee*: every frame goes through unchanged
//! (a streaming upload keeps streaming) and the first `body_limit` bytes are copied aside.
//! [`Pending::finish`] buffers the answer's body, records the entry and gives back an answer with the
//! same status, headers and bytes. If the answer's body fails part way (a `drop` or `truncate`
//! fault cutting the connection, say), the client gets the bytes read until then and the same
//! failure, so the connection is cut as the answer meant it to be, and the entry keeps those bytes
//! and notes why in `response.error`.
//!
//! An exchange whose future is dropped before `finish` (the client went away mid-request) is not
//! recorded. The request body recorded is what the handler read: if it stopped reading before the end (it
//! answered 401 without looking at the body, say), the entry keeps what was read, `body_size` is the
//! declared `Content-Length` and `body_truncated` is `true`.
//!
//! # Bounds
//!
//! A journal keeps at most `capacity` entries; recording one more drops the oldest. Each body keeps
//! at most `body_limit` bytes (cut on a UTF-8 character boundary when the body is text;
//! `body_truncated` says so, `body_size` is still the full size), so a journal holds roughly
//! `capacity × 2 × body_limit` bytes of bodies plus headers. Entry ids start at 1 and grow; they
//! never repeat within a journal, not even after [`Journal::clear`]. Ids are given when an exchange
//! finishes, so entries are in the order their answers were sent (and `at` is when their requests
//! arrived). A journal with capacity 0 records nothing and does not touch the exchange.
//!
//! # Entry shape
//!
//! An [`Entry`] serializes as the control API shows it:
//!
//! ```json
//! {
//!   "id": 1,
//!   "world": "default",
//!   "at": "2026-11-01T09:00:00.000Z",
//!   "duration_ms": 0.42,
//!   "request": {
//!     "method": "POST",
//!     "path": "/v1/invoices",
//!     "query": "a=1",
//!     "url": "/v1/invoices?a=1",
//!     "headers": [["authorization", "Bearer [redacted]"], ["content-type", "application/json"]],
//!     "body": "{\"amount\":\"10.00\"}",
//!     "body_encoding": "utf8",
//!     "body_size": 18,
//!     "body_truncated": false
//!   },
//!   "response": {
//!     "status": 201,
//!     "headers": [["content-type", "application/json"]],
//!     "body": "{\"id\":42}",
//!     "body_encoding": "utf8",
//!     "body_size": 9,
//!     "body_truncated": false,
//!     "error": null
//!   },
//!   "fault": null
//! }
//! ```
//!
//! `at` is RFC 3339 in UTC with millisecond precision; `duration_ms` is rounded to microseconds.
//! `query` is `null` when the target has no `?`; `url` is the path plus `?query` (both redacted).
//! Header names are lowercase, in the order received; a value that is not UTF-8 is shown lossily.
//! `body` is `null` when nothing was captured; `body_encoding` is `utf8` when the captured bytes are
//! UTF-8 text, else `base64` (standard alphabet, padded). `fault` is the id of the fault rule the
//! dispatcher applied, if any; `response.error` says why the answer's body could not be read.
//!
//! # Redaction
//!
//! Nothing secret reaches an entry (nor its JSON, nor the HAR):
//!
//! - Headers: `Authorization` keeps its scheme, `Bearer [redacted]`, `Basic [redacted]`
//!   (`<Scheme> [redacted]` for any scheme; just `[redacted]` when there is no scheme);
//!   `Proxy-Authorization`, `Cookie`, `Set-Cookie` and `X-Api-Key` become `[redacted]`.
//!   `Location`, `Content-Location` and `Referer` keep their URL with its query redacted as query
//!   strings are (a redirect that keeps the query, such as paywise's `APPEND_SLASH`, would otherwise
//!   write an `?access_token=` back into the entry).
//! - Secret names, compared case-insensitively and with `-` read as `_`: `token`, `access_token`,
//!   `refresh_token`, `api_key`, `apikey`, `key`, `secret`, `secret_key`, `client_secret`,
//!   `password`, `authorization`, and every name ending in `_token`, `_secret` or `_password`
//!   (Payt's `sign_up_token`). A Rack-style form or query name counts by its last bracketed
//!   segment (`user[password]`, `token[]`). `code` is a secret name where it is an OAuth
//!   authorization code: in a JSON object, or a form, that also has a `grant_type`.
//! - JSON bodies (a `json` content type, or a body that starts with `{` or `[`): the value of every
//!   object member with a secret name, at any depth, becomes `"[redacted]"` (`null` and `""` stay,
//!   they hide nothing), and so does every occurrence of such a (string) value of at least
//!   [`MIN_ECHOED_SECRET`] characters inside any other string of the body (a link that embeds the
//!   token: Payt's `sign_up_url`). The body is re-serialized compactly only if something was
//!   redacted; otherwise its bytes are kept. A body that does not parse (a truncated one, most
//!   often) is redacted lexically instead: a member name followed by `:` and its value, as far as
//!   it goes.
//! - `application/x-www-form-urlencoded` bodies (and bodies without a content type) and query
//!   strings: the value of each secret-named pair becomes `[redacted]` (written as is, unencoded;
//!   an empty value stays empty); every other byte is kept.
//! - Bodies of other kinds (multipart, XML, binary) are kept as they are.
//!
//! # Filter
//!
//! [`Filter`] is the query string of the listing and HAR routes (`axum::extract::Query<Filter>`):
//! `method` (case-insensitive), `path` (a [`PathPattern`]), `status` (`404`, or a class such as
//! `4xx`), `since`/`until` (RFC 3339, inclusive, against `at`) and `limit` (the newest N of the
//! matches). Unknown parameters are refused, so a typo does not silently widen a query. Entries come
//! oldest first.
//!
//! # Verify
//!
//! [`Verify`] asks WireMock's question, "was this called, and how often?": the criteria `method`,
//! `path`, `query_contains` (a substring of the redacted query, as sent or percent-decoded),
//! `body_contains` (a substring of the recorded, redacted, possibly truncated request body) and
//! `status` (of the answer), and at most one of `count` (exactly), `at_least` and `at_most`
//! (none: at least 1). The answer is a [`Verification`]:
//!
//! ```json
//! {"ok": false, "count": 0, "expected": "at least 1", "near_misses": [
//!   {"entry": {"id": 3, "method": "GET", "url": "/v1/invoice", "status": 404},
//!    "differences": ["method is GET, not POST", "path /v1/invoice does not match /v1/invoices"]}
//! ]}
//! ```
//!
//! Near misses are listed when too few entries matched: up to three entries that do not match,
//! closest first. Each differing criterion costs 1, except the path, which costs its edit distance
//! to the pattern's literal text (wildcards left out) relative to the longer of the two, so a typo
//! in a path ranks before a wrong method.
//!
//! # HAR
//!
//! [`Journal::har`] (or [`har_document`] for entries gathered elsewhere) writes a HAR 1.2 document
//! with `log.version`, `log.creator` (`payt-paywise-mocks` and the given version) and one entry per
//! recorded exchange: `startedDateTime`, `time`, the request (absolute URL from `X-Forwarded-Proto`,
//! `X-Forwarded-Host` or `Host` as [`crate::pagination::origin`] reads them, else
//! `http://localhost`, percent-encoding what a URI may not hold; headers, decoded `queryString`,
//! `postData` when there was a body), the response (`content.text`, base64 with
//! `content.encoding: "base64"` when the body is not UTF-8), `cache: {}` and `timings` (all the
//! time is `wait`). Headers and bodies are the redacted ones; a truncated body (and a base64
//! `postData.text`, for which HAR has no field) says so in a `comment`. The custom fields `_id`,
//! `_world` and `_fault` carry the entry's id, world and fault rule.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, Version};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt as _;
use serde::de::{self, Deserializer, Visitor};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::form_urlencoded;

use crate::pattern::PathPattern;

/// How many entries a journal keeps unless told otherwise.
pub const DEFAULT_CAPACITY: usize = 1000;

/// How many bytes of each body a journal keeps unless told otherwise (64 KiB).
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// What a redacted value becomes.
pub const REDACTED: &str = "[redacted]";

/// The names whose values are redacted in JSON bodies, forms and query strings.
pub const SECRET_NAMES: &[&str] = &[
    "token",
    "access_token",
    "refresh_token",
    "api_key",
    "apikey",
    "key",
    "secret",
    "secret_key",
    "client_secret",
    "password",
    "authorization",
];

/// The shortest secret value that is also redacted where the rest of a JSON body repeats it.
pub const MIN_ECHOED_SECRET: usize = 8;

/// The endings that make a name secret (after `-` is read as `_`, case-insensitively).
const SECRET_SUFFIXES: &[&str] = &["_token", "_secret", "_password"];

/// The name `HAR` documents give as their creator.
pub const HAR_CREATOR: &str = "payt-paywise-mocks";

// ---------------------------------------------------------------------------------------------
// The journal
// ---------------------------------------------------------------------------------------------

/// The bounded request journal of one world. Share it behind an `Arc`.
pub struct Journal {
    shared: Arc<Shared>,
}

struct Shared {
    capacity: usize,
    body_limit: usize,
    state: Mutex<State>,
    /// Each recorded entry, for live watchers ([`Journal::subscribe`]); bounded by
    /// [`LIVE_BUFFER`], so a slow watcher loses the oldest entries rather than growing memory.
    live: tokio::sync::broadcast::Sender<Entry>,
    /// The name of the world last recorded in (a journal serves one world), shared by its records.
    world: OnceLock<Arc<str>>,
}

/// How many entries a live watcher ([`Journal::subscribe`]) may fall behind before it misses some
/// (its receiver then reports how many it missed, and the entries stay in the journal).
pub const LIVE_BUFFER: usize = 256;

#[derive(Default)]
struct State {
    /// Each kept exchange with its id, oldest first. Shared, so that a reader copies the ones it
    /// wants out and redacts them after letting the lock go.
    entries: VecDeque<(u64, Arc<Record>)>,
    /// The id given last (0: none yet).
    last_id: u64,
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `name` as a shared string: the journal's own copy when it is its world's name.
    fn world_name(&self, name: &str) -> Arc<str> {
        let known = self.world.get_or_init(|| Arc::from(name));
        if **known == *name {
            known.clone()
        } else {
            Arc::from(name)
        }
    }

    fn record(&self, record: Record) {
        if self.capacity == 0 {
            return;
        }
        let record = Arc::new(record);
        let mut state = self.state();
        state.last_id += 1;
        let id = state.last_id;
        // The entry that makes room is dropped after the lock is let go.
        // (The capacity never changes, so one entry at most.)
        let evicted = if state.entries.len() >= self.capacity {
            state.entries.pop_front()
        } else {
            None
        };
        // Sent under the lock, so that watchers get the entries in the order of their ids; redacted
        // only when someone watches.
        if self.live.receiver_count() > 0 && self.live.send(record.entry(id)).is_err() {
            tracing::trace!(id, "the journal's last watcher left before its entry was sent");
        }
        state.entries.push_back((id, record));
        drop(state);
        drop(evicted);
    }

    /// The records `keep` selects, newest first, at most `limit` of them: copied out of the lock.
    fn pick(&self, limit: usize, keep: impl Fn(&Record) -> bool) -> Vec<(u64, Arc<Record>)> {
        let state = self.state();
        state
            .entries
            .iter()
            .rev()
            .filter(|(_, r)| keep(r))
            .take(limit)
            .cloned()
            .collect()
    }
}

impl Default for Journal {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY, DEFAULT_BODY_LIMIT)
    }
}

impl fmt::Debug for Journal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Journal")
            .field("capacity", &self.shared.capacity)
            .field("body_limit", &self.shared.body_limit)
            .field("len", &self.len())
            .finish()
    }
}

impl Journal {
    /// A journal that keeps the last `capacity` exchanges (0: none) and at most `body_limit` bytes of
    /// each body.
    pub fn new(capacity: usize, body_limit: usize) -> Self {
        Self {
            shared: Arc::new(Shared {
                capacity,
                body_limit,
                state: Mutex::new(State::default()),
                live: tokio::sync::broadcast::channel(LIVE_BUFFER).0,
                world: OnceLock::new(),
            }),
        }
    }

    /// How many entries it keeps at most.
    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// How many bytes of each body it keeps at most.
    pub fn body_limit(&self) -> usize {
        self.shared.body_limit
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.shared.state().entries.len()
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A live feed of the entries recorded from now on, in order. It holds at most [`LIVE_BUFFER`]
    /// entries a watcher has not read yet: one that falls further behind gets
    /// `RecvError::Lagged(n)` (the `n` oldest were skipped; read them back with [`Journal::list`])
    /// and then the newest ones; a dropped receiver costs nothing.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Entry> {
        self.shared.live.subscribe()
    }

    /// Forgets every entry; ids go on from where they were.
    pub fn clear(&self) {
        let forgotten = std::mem::take(&mut self.shared.state().entries);
        drop(forgotten);
    }

    /// Starts recording the exchange `req` opens, at `at` (the world's clock) in `world`: notes the
    /// request line and headers and tees the body (see the module docs). Hand the answer to
    /// [`Pending::finish`].
    pub fn begin(&self, req: &mut Request, at: DateTime<Utc>, world: &str) -> Pending {
        let started = Instant::now();
        if self.shared.capacity == 0 {
            return Pending {
                shared: self.shared.clone(),
                started,
                request: None,
            };
        }
        // A body known to be empty (a `GET` without one, say) has nothing to tee.
        let capture = (!req.body().is_end_stream()).then(|| {
            let capture = Arc::new(Mutex::new(Capture::default()));
            let inner = std::mem::take(req.body_mut());
            *req.body_mut() = Body::new(TeeBody {
                inner,
                sink: capture.clone(),
                limit: self.shared.body_limit,
            });
            capture
        });
        let headers = req.headers();
        let uri = req.uri();
        Pending {
            shared: self.shared.clone(),
            started,
            request: Some(Noted {
                at,
                world: self.shared.world_name(world),
                method: req.method().clone(),
                version: req.version(),
                head: Head::new(uri.path(), uri.query(), headers),
                authority: uri.authority().map(|a| Box::from(a.as_str())),
                // A copy: the request's own value is a view of the connection's read buffer.
                content_type: headers
                    .get(CONTENT_TYPE)
                    .and_then(|v| HeaderValue::from_bytes(v.as_bytes()).ok()),
                declared_size: headers
                    .get(CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse().ok()),
                capture,
            }),
        }
    }

    /// The entry with id `id`, if it is still kept.
    pub fn get(&self, id: u64) -> Option<Entry> {
        let found = {
            let state = self.shared.state();
            // Ids grow along the ring, so a binary search finds one.
            let (front, back) = state.entries.as_slices();
            [front, back].into_iter().find_map(|part| {
                part.binary_search_by_key(&id, |(id, _)| *id)
                    .ok()
                    .map(|i| part[i].1.clone())
            })
        };
        found.map(|record| record.entry(id))
    }

    /// The entries `filter` selects, oldest first (with a `limit`, the newest that many).
    pub fn list(&self, filter: &Filter) -> Result<Vec<Entry>, String> {
        filter.validate()?;
        let limit = filter.limit.unwrap_or(usize::MAX);
        let picked = self.shared.pick(limit, |r| {
            filter.selects(r.method.as_str(), &r.request.path(), r.status, r.at)
        });
        Ok(picked.iter().rev().map(|(id, record)| record.entry(*id)).collect())
    }

    /// Whether the journal holds the exchanges `verify` describes, as often as it says; with the
    /// closest entries that do not match when too few do.
    pub fn verify(&self, verify: &Verify) -> Result<Verification, String> {
        let expectation = verify.expectation()?;
        let entries: Vec<Entry> = self
            .shared
            .pick(usize::MAX, |_| true)
            .iter()
            .rev()
            .map(|(id, record)| record.entry(*id))
            .collect();
        let count = entries.iter().filter(|e| verify.matches(e)).count();
        let ok = expectation.met(count);
        let mut near_misses = Vec::new();
        if !ok && expectation.too_few(count) {
            let mut scored: Vec<(f64, u64, Vec<String>, &Entry)> = entries
                .iter()
                .filter_map(|e| {
                    let (score, differences) = verify.differences(e);
                    (!differences.is_empty()).then_some((score, e.id, differences, e))
                })
                .collect();
            // Closest first; among equals, the newest.
            scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
            near_misses = scored
                .into_iter()
                .take(3)
                .map(|(_, _, differences, e)| NearMiss {
                    entry: EntrySummary::of(e),
                    differences,
                })
                .collect();
        }
        Ok(Verification {
            ok,
            count,
            expected: expectation.to_string(),
            near_misses,
        })
    }

    /// The entries `filter` selects as a HAR 1.2 document (see the module docs); `creator_version`
    /// is the version the document names its creator by.
    pub fn har(&self, filter: &Filter, creator_version: &str) -> Result<Value, String> {
        Ok(har_document(&self.list(filter)?, creator_version))
    }
}

/// An exchange being recorded: what [`Journal::begin`] noted of the request, waiting for the answer.
#[must_use = "an exchange is only recorded when its answer goes through Pending::finish"]
pub struct Pending {
    shared: Arc<Shared>,
    started: Instant,
    /// What was noted of the request; `None` when the journal records nothing.
    request: Option<Noted>,
}

/// What [`Journal::begin`] notes of a request.
struct Noted {
    at: DateTime<Utc>,
    world: Arc<str>,
    method: Method,
    version: Version,
    /// The target and headers, not yet redacted.
    head: Head,
    /// The authority of an absolute target (HTTP/2's `:authority`), for the origin.
    authority: Option<Box<str>>,
    content_type: Option<HeaderValue>,
    declared_size: Option<usize>,
    /// What the tee saw of the body; `None` when there was none to see.
    capture: Option<Arc<Mutex<Capture>>>,
}

impl fmt::Debug for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Pending");
        if let Some(noted) = &self.request {
            d.field("world", &noted.world)
                .field("method", &noted.method)
                .field("path", &noted.head.path());
        }
        d.finish_non_exhaustive()
    }
}

impl Pending {
    /// Records the exchange with its answer `res` and `fault`, the id of the fault rule applied (if
    /// any), and gives back the answer with the same status, headers and body bytes.
    pub async fn finish(self, res: Response, fault: Option<String>) -> Response {
        let Some(noted) = self.request else {
            return res;
        };
        let (parts, mut body) = res.into_parts();
        let mut chunks: Vec<Bytes> = Vec::new();
        let mut error = None;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(frame) => {
                    if let Ok(data) = frame.into_data() {
                        chunks.push(data);
                    }
                }
                Err(e) => {
                    error = Some(format!("the response body could not be read: {e}"));
                    break;
                }
            }
        }
        // One chunk (every answer the mocks write) is passed on as it is, without a copy.
        let bytes = match chunks.len() {
            0 => Bytes::new(),
            1 => chunks.swap_remove(0),
            _ => Bytes::from(chunks.concat()),
        };
        let failed = error.is_some();
        let duration_ms = (self.started.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0;
        let limit = self.shared.body_limit;

        let (kept, seen) = match &noted.capture {
            Some(capture) => {
                let mut capture = capture.lock().unwrap_or_else(PoisonError::into_inner);
                (std::mem::take(&mut capture.kept), capture.seen)
            }
            None => (Vec::new(), 0),
        };
        let request_size = seen.max(noted.declared_size.unwrap_or(0));
        let request_body = RecordedBody::new(Bytes::from(kept), request_size, noted.content_type);
        // An answer within the limit is shared with the client's copy; a longer one is cut into a
        // copy of its own, so that the journal never holds more than the limit of it.
        let kept_answer = if bytes.len() <= limit {
            bytes.clone()
        } else {
            Bytes::copy_from_slice(&bytes[..limit])
        };
        let response_body = RecordedBody::new(kept_answer, bytes.len(), parts.headers.get(CONTENT_TYPE).cloned());

        self.shared.record(Record {
            world: noted.world,
            at: noted.at,
            duration_ms,
            method: noted.method,
            version: noted.version,
            request: noted.head,
            authority: noted.authority,
            request_body,
            status: parts.status.as_u16(),
            response: Head::new("", None, &parts.headers),
            response_body,
            error,
            fault,
        });
        if failed {
            // The answer was meant to fail: it fails for the client too, after the same bytes.
            Response::from_parts(parts, crate::faults::severed(bytes))
        } else {
            Response::from_parts(parts, Body::from(bytes))
        }
    }
}

/// A message head as the journal keeps it until it is read: the request target (empty for an
/// answer) and every header, name and value, as they came (not redacted yet), copied into one
/// buffer. A copy rather than the `HeaderMap`'s own shared values: those are views of the
/// connection's read buffer, which they would keep alive as long as the entry.
struct Head {
    /// The target's path, then its query (without the `?`), then each header's name and value.
    bytes: Vec<u8>,
    /// Where the path ends in `bytes`.
    path_end: usize,
    /// Where the query ends, when the target had a `?` (it starts at `path_end`).
    query_end: Option<usize>,
    /// Where each header's name and then its value end in `bytes`, in the order received.
    headers: Vec<(usize, usize)>,
}

impl Head {
    fn new(path: &str, query: Option<&str>, headers: &HeaderMap) -> Self {
        let size = path.len()
            + query.map_or(0, str::len)
            + headers
                .iter()
                .map(|(name, value)| name.as_str().len() + value.len())
                .sum::<usize>();
        let mut bytes = Vec::with_capacity(size);
        bytes.extend_from_slice(path.as_bytes());
        let path_end = bytes.len();
        let query_end = query.map(|q| {
            bytes.extend_from_slice(q.as_bytes());
            bytes.len()
        });
        let headers = headers
            .iter()
            .map(|(name, value)| {
                bytes.extend_from_slice(name.as_str().as_bytes());
                let name_end = bytes.len();
                bytes.extend_from_slice(value.as_bytes());
                (name_end, bytes.len())
            })
            .collect();
        Self {
            bytes,
            path_end,
            query_end,
            headers,
        }
    }

    /// The path, as sent (it came as text, so nothing is replaced).
    fn path(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.bytes[..self.path_end])
    }

    /// The query as sent, without the `?`; `None` when there was no `?`.
    fn query(&self) -> Option<Cow<'_, str>> {
        self.query_end
            .map(|end| String::from_utf8_lossy(&self.bytes[self.path_end..end]))
    }

    /// Each header's name (lowercase) and value, as received and in that order.
    fn headers(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let mut start = self.query_end.unwrap_or(self.path_end);
        self.headers.iter().map(move |&(name_end, value_end)| {
            let header = (&self.bytes[start..name_end], &self.bytes[name_end..value_end]);
            start = value_end;
            header
        })
    }

    /// The headers as a map again (for [`crate::pagination::origin`]).
    fn header_map(&self) -> HeaderMap {
        let mut map = HeaderMap::with_capacity(self.headers.len());
        for (name, value) in self.headers() {
            // Both were a valid name and value when they were copied.
            if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
                map.append(name, value);
            }
        }
        map
    }
}

/// An exchange as the journal keeps it: as it came, not redacted yet. Readers get it as an
/// [`Entry`] ([`Record::entry`]), which is redacted; nothing else of it leaves the journal (and it
/// has no `Debug`).
struct Record {
    world: Arc<str>,
    at: DateTime<Utc>,
    duration_ms: f64,
    method: Method,
    version: Version,
    request: Head,
    authority: Option<Box<str>>,
    request_body: RecordedBody,
    status: u16,
    response: Head,
    response_body: RecordedBody,
    error: Option<String>,
    fault: Option<String>,
}

impl Record {
    /// The exchange as readers see it, with id `id`: redacted.
    fn entry(&self, id: u64) -> Entry {
        let path = self.request.path().into_owned();
        let query = self.request.query().map(|q| redact_query(&q));
        let url = match &query {
            Some(q) => format!("{path}?{q}"),
            None => path.clone(),
        };
        Entry {
            id,
            world: self.world.to_string(),
            at: self.at,
            duration_ms: self.duration_ms,
            request: RecordedRequest {
                method: self.method.as_str().to_string(),
                path,
                query,
                url,
                headers: redact_headers(&self.request),
                body: self.request_body.clone(),
            },
            response: RecordedResponse {
                status: self.status,
                headers: redact_headers(&self.response),
                body: self.response_body.clone(),
                error: self.error.clone(),
            },
            fault: self.fault.clone(),
            origin: self.origin(),
            version: self.version,
        }
    }

    /// Scheme and authority the client used, as [`crate::pagination::origin`] reads them from the
    /// request's headers and target, else `http://localhost`.
    fn origin(&self) -> String {
        let uri = self
            .authority
            .as_deref()
            .and_then(|authority| format!("http://{authority}/").parse::<Uri>().ok())
            .unwrap_or_default();
        crate::pagination::origin(&self.request.header_map(), &uri).unwrap_or_else(|| "http://localhost".to_string())
    }
}

/// What the tee has seen of a request body.
#[derive(Default)]
struct Capture {
    /// The first `limit` bytes.
    kept: Vec<u8>,
    /// How many bytes went through.
    seen: usize,
}

/// A request body that forwards every frame unchanged and copies the first `limit` data bytes into
/// `sink`.
struct TeeBody {
    inner: Body,
    sink: Arc<Mutex<Capture>>,
    limit: usize,
}

impl HttpBody for TeeBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            let mut capture = this.sink.lock().unwrap_or_else(PoisonError::into_inner);
            capture.seen += data.len();
            let room = this.limit.saturating_sub(capture.kept.len());
            if room > 0 {
                let take = room.min(data.len());
                capture.kept.extend_from_slice(&data[..take]);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

// ---------------------------------------------------------------------------------------------
// Entries
// ---------------------------------------------------------------------------------------------

/// One recorded exchange, as the control API shows it (see the module docs for the JSON).
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Its id: from 1, growing, never repeated within the journal.
    pub id: u64,
    /// The world it was served in.
    pub world: String,
    /// When the request arrived, by the world's clock.
    #[serde(serialize_with = "rfc3339_millis")]
    pub at: DateTime<Utc>,
    /// How long the exchange took, by the monotonic clock, in milliseconds.
    pub duration_ms: f64,
    /// The request.
    pub request: RecordedRequest,
    /// The answer.
    pub response: RecordedResponse,
    /// The id of the fault rule applied, if any.
    pub fault: Option<String>,
    /// Scheme and authority the client used, for absolute URLs.
    #[serde(skip)]
    origin: String,
    #[serde(skip)]
    version: Version,
}

/// The bytes [`Entry::absolute_url`] percent-encodes: all but the unreserved and reserved
/// characters of RFC 3986 (and `%`, so that what was encoded stays as it was).
const URL_UNSAFE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@')
    .remove(b'/')
    .remove(b'?')
    .remove(b'%');

impl Entry {
    /// The absolute URL of the request (redacted query): the origin the client called, else
    /// `http://localhost`, plus [`RecordedRequest::url`] with every byte a URI may not hold
    /// percent-encoded (the brackets of `[redacted]`, say), so it parses as a URI.
    pub fn absolute_url(&self) -> String {
        format!(
            "{}{}",
            self.origin,
            percent_encoding::utf8_percent_encode(&self.request.url, URL_UNSAFE)
        )
    }
}

/// The request of an [`Entry`].
#[derive(Debug, Clone, Serialize)]
pub struct RecordedRequest {
    /// The method, as sent (`GET`).
    pub method: String,
    /// The path, as sent (percent-encoded), without the query.
    pub path: String,
    /// The query string, redacted, without the `?`; `None` when the target had no `?`.
    pub query: Option<String>,
    /// The path and `?query`.
    pub url: String,
    /// The headers (lowercase names, redacted values), in the order received.
    pub headers: Vec<(String, String)>,
    /// The body.
    #[serde(flatten)]
    pub body: RecordedBody,
}

/// The answer of an [`Entry`].
#[derive(Debug, Clone, Serialize)]
pub struct RecordedResponse {
    /// The status code.
    pub status: u16,
    /// The headers (lowercase names, redacted values).
    pub headers: Vec<(String, String)>,
    /// The body.
    #[serde(flatten)]
    pub body: RecordedBody,
    /// Why the body could not be read, if it could not.
    pub error: Option<String>,
}

/// A recorded body: at most `body_limit` bytes, redacted. Serializes as the fields `body`,
/// `body_encoding`, `body_size` and `body_truncated`.
///
/// Redaction happens when the body is first read (listed, verified, exported), not while the
/// request is answered: recording a page costs one copy of at most the limit, and no parse. The
/// unredacted bytes never leave the journal: every reader sees the redacted ones.
#[derive(Debug, Clone, Default)]
pub struct RecordedBody {
    /// The captured bytes, not yet redacted.
    raw: Bytes,
    content_type: Option<HeaderValue>,
    size: usize,
    truncated: bool,
    /// The redacted bytes, made on first read and shared by clones.
    redacted: Arc<OnceLock<Bytes>>,
}

/// How [`RecordedBody`] writes its bytes in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyEncoding {
    /// As text: the bytes are UTF-8.
    Utf8,
    /// In base64: they are not.
    Base64,
}

impl RecordedBody {
    /// The record of a body of `size` bytes whose first bytes are `raw` (at most the limit),
    /// declared as `content_type`: cut on a character boundary if text was cut, then redacted.
    fn new(raw: Bytes, size: usize, content_type: Option<HeaderValue>) -> Self {
        Self {
            content_type,
            size,
            truncated: size > raw.len(),
            raw,
            redacted: Arc::default(),
        }
    }

    /// The recorded bytes (redacted, at most the journal's body limit).
    pub fn bytes(&self) -> &Bytes {
        self.redacted.get_or_init(|| {
            let raw = &self.raw[..];
            let raw = match std::str::from_utf8(raw) {
                // A cut through a multi-byte character: drop its first bytes so the text stays text.
                Err(e) if self.truncated && e.error_len().is_none() => &raw[..e.valid_up_to()],
                _ => raw,
            };
            // A type that is not text is read as none, as it always was.
            let content_type = self.content_type.as_ref().and_then(|v| v.to_str().ok());
            match redact_body(raw, content_type) {
                Cow::Borrowed(b) if b.len() == self.raw.len() => self.raw.clone(),
                other => Bytes::copy_from_slice(&other),
            }
        })
    }

    /// The size of the whole body, in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Whether [`Self::bytes`] is less than the whole body.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// The recorded bytes as text, if they are UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(self.bytes()).ok()
    }

    /// How the bytes are written in JSON.
    pub fn encoding(&self) -> BodyEncoding {
        if self.text().is_some() {
            BodyEncoding::Utf8
        } else {
            BodyEncoding::Base64
        }
    }

    /// The bytes as JSON writes them: text, or base64; `None` when nothing was recorded.
    fn encoded(&self) -> Option<Cow<'_, str>> {
        if self.bytes().is_empty() {
            return None;
        }
        Some(match self.text() {
            Some(text) => Cow::Borrowed(text),
            None => Cow::Owned(BASE64.encode(self.bytes())),
        })
    }
}

impl Serialize for RecordedBody {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("RecordedBody", 4)?;
        st.serialize_field("body", &self.encoded())?;
        st.serialize_field("body_encoding", &self.encoding())?;
        st.serialize_field("body_size", &self.size)?;
        st.serialize_field("body_truncated", &self.truncated)?;
        st.end()
    }
}

fn rfc3339_millis<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::control::timestamp(*at))
}

// ---------------------------------------------------------------------------------------------
// Redaction
// ---------------------------------------------------------------------------------------------

/// The headers of `head` as an entry shows them: redacted, lossily as text.
fn redact_headers(head: &Head) -> Vec<(String, String)> {
    head.headers()
        // The dispatcher's own note of the base-URL prefix is not what the client sent.
        .filter(|(name, _)| *name != crate::world::BASE_PATH_HEADER.as_str().as_bytes())
        .map(|(name, value)| {
            // Names are lowercase ASCII: the lossy reading borrows them as they are.
            let name = String::from_utf8_lossy(name);
            let value = String::from_utf8_lossy(value);
            let shown = redact_header(&name, &value);
            (name.into_owned(), shown)
        })
        .collect()
}

/// `value` of the header `name` (lowercase) as an entry shows it.
fn redact_header(name: &str, value: &str) -> String {
    match name {
        "authorization" => match value.trim().split_once(|c: char| c.is_ascii_whitespace()) {
            Some((scheme, _)) if !scheme.is_empty() && scheme.bytes().all(is_token_byte) => {
                format!("{scheme} {REDACTED}")
            }
            _ => REDACTED.to_string(),
        },
        "proxy-authorization" | "cookie" | "set-cookie" | "x-api-key" => REDACTED.to_string(),
        "location" | "content-location" | "referer" => redact_url(value),
        _ => value.to_string(),
    }
}

/// Whether `b` may appear in an HTTP token (an auth scheme, a method).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Whether a member or parameter called `name` holds a secret: its last bracketed segment
/// (`user[password]`), compared case-insensitively with `-` read as `_`.
fn is_secret_name(name: &str) -> bool {
    let Some(last) = name.split(['[', ']']).rfind(|s| !s.is_empty()) else {
        return false;
    };
    let last = last.trim().as_bytes();
    // Byte by byte, without a lowered copy: the names are ASCII, so no other byte can match.
    let same = |a: &[u8], b: &[u8]| {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(&x, &y)| (if x == b'-' { b'_' } else { x.to_ascii_lowercase() }) == y)
    };
    SECRET_NAMES.iter().any(|name| same(last, name.as_bytes()))
        || SECRET_SUFFIXES
            .iter()
            .any(|suffix| last.len() >= suffix.len() && same(&last[last.len() - suffix.len()..], suffix.as_bytes()))
}

/// Whether `name` is OAuth's `code` (when its object or form also has a `grant_type`).
fn is_grant_code(name: &str) -> bool {
    name.trim().eq_ignore_ascii_case("code")
}

/// Whether `name` is OAuth's `grant_type`.
fn is_grant_type(name: &str) -> bool {
    name.trim().eq_ignore_ascii_case("grant_type")
}

/// A URL (absolute or a path) with its query redacted; the fragment kept.
fn redact_url(url: &str) -> String {
    let Some((head, rest)) = url.split_once('?') else {
        return url.to_string();
    };
    let (query, fragment) = match rest.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (rest, None),
    };
    let mut out = format!("{head}?{}", redact_query(query));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// `query` with the value of every secret-named pair replaced.
fn redact_query(query: &str) -> String {
    match redact_form(query.as_bytes()) {
        Some(out) => String::from_utf8_lossy(&out).into_owned(),
        None => query.to_string(),
    }
}

/// A form (or query) with the value of every secret-named pair replaced; `None` if none had one.
fn redact_form(raw: &[u8]) -> Option<Vec<u8>> {
    // An OAuth grant (`grant_type=authorization_code&code=...`): its code is a secret.
    let grant = form_urlencoded::parse(raw).any(|(name, _)| is_grant_type(&name));
    // Where the value of a pair starts, when it is a secret's and not already redacted.
    let secret_value = |pair: &[u8]| {
        pair.iter().position(|&b| b == b'=').filter(|&eq| {
            !pair[eq + 1..].is_empty()
                && &pair[eq + 1..] != REDACTED.as_bytes()
                && form_urlencoded::parse(pair)
                    .next()
                    .is_some_and(|(name, _)| is_secret_name(&name) || (grant && is_grant_code(&name)))
        })
    };
    // Most forms and queries hold no secret: they are read once and not copied.
    if !raw.split(|&b| b == b'&').any(|pair| secret_value(pair).is_some()) {
        return None;
    }
    let mut out = Vec::with_capacity(raw.len());
    for (i, pair) in raw.split(|&b| b == b'&').enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        match secret_value(pair) {
            Some(eq) => {
                out.extend_from_slice(&pair[..=eq]);
                out.extend_from_slice(REDACTED.as_bytes());
            }
            None => out.extend_from_slice(pair),
        }
    }
    Some(out)
}

/// `raw`, a body declared as `content_type`, redacted as the module docs say.
fn redact_body<'a>(raw: &'a [u8], content_type: Option<&str>) -> Cow<'a, [u8]> {
    let kind = content_type.map(str::to_ascii_lowercase);
    let kind = kind.as_deref();
    let looks_json = raw
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{' || *b == b'[');
    let redacted = if kind.is_some_and(|k| k.starts_with("application/x-www-form-urlencoded")) {
        redact_form(raw)
    } else if looks_json || kind.is_some_and(|k| k.contains("json")) {
        redact_json(raw)
    } else if kind.is_none() {
        redact_form(raw)
    } else {
        None
    };
    match redacted {
        Some(out) => Cow::Owned(out),
        None => Cow::Borrowed(raw),
    }
}

/// A JSON body with every secret-named member's value replaced, compactly re-serialized; lexically
/// when it does not parse. `None` if nothing was redacted.
fn redact_json(raw: &[u8]) -> Option<Vec<u8>> {
    match serde_json::from_slice::<Value>(raw) {
        Ok(mut value) => {
            let mut secrets = Vec::new();
            let mut changed = redact_value(&mut value, &mut secrets);
            secrets.retain(|s| s.chars().count() >= MIN_ECHOED_SECRET);
            if !secrets.is_empty() {
                changed |= scrub_echoes(&mut value, &secrets);
            }
            changed.then(|| serde_json::to_vec(&value).ok()).flatten()
        }
        Err(_) => redact_json_lexically(raw),
    }
}

/// Redacts secret-named members at any depth, noting the string values it hid in `secrets`;
/// whether any was.
fn redact_value(value: &mut Value, secrets: &mut Vec<String>) -> bool {
    let mut changed = false;
    match value {
        Value::Object(members) => {
            let grant = members.keys().any(|k| is_grant_type(k));
            for (name, member) in members.iter_mut() {
                if is_secret_name(name) || (grant && is_grant_code(name)) {
                    if !member.is_null() && !matches!(member.as_str(), Some("" | REDACTED)) {
                        let hidden = std::mem::replace(member, Value::String(REDACTED.to_string()));
                        if let Value::String(s) = hidden {
                            secrets.push(s);
                        }
                        changed = true;
                    }
                } else {
                    changed |= redact_value(member, secrets);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                changed |= redact_value(item, secrets);
            }
        }
        _ => {}
    }
    changed
}

/// Replaces every occurrence of one of `secrets` inside the strings of `value`; whether any was.
fn scrub_echoes(value: &mut Value, secrets: &[String]) -> bool {
    match value {
        Value::String(s) => {
            let mut changed = false;
            for secret in secrets {
                if s.contains(secret.as_str()) {
                    *s = s.replace(secret.as_str(), REDACTED);
                    changed = true;
                }
            }
            changed
        }
        Value::Object(members) => members
            .values_mut()
            .fold(false, |changed, member| scrub_echoes(member, secrets) | changed),
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, item| scrub_echoes(item, secrets) | changed),
        _ => false,
    }
}

/// Redaction for JSON that does not parse (cut at the body limit, mostly): a string followed by
/// `:` is a member name; if it is a secret one, its value (a string, a number, a literal, or a
/// whole object or array, as far as the text goes) becomes `"[redacted]"`. Other bytes are kept.
fn redact_json_lexically(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut changed = false;
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'"' {
            out.push(s[i]);
            i += 1;
            continue;
        }
        let end = string_end(s, i);
        out.extend_from_slice(&s[i..end]);
        let name = &s[i..end];
        i = end;
        let colon = skip_whitespace(s, i);
        if colon < s.len() && s[colon] == b':' && json_name_is_secret(name) {
            let start = skip_whitespace(s, colon + 1);
            out.extend_from_slice(&s[i..start]);
            let stop = value_end(s, start);
            let value = &s[start..stop];
            if !matches!(value, b"" | b"null" | b"\"\"" | b"\"[redacted]\"") {
                out.extend_from_slice(b"\"[redacted]\"");
                changed = true;
            } else {
                out.extend_from_slice(value);
            }
            i = stop;
        }
    }
    changed.then_some(out)
}

/// Whether the string token `token` (quotes included) names a secret.
fn json_name_is_secret(token: &[u8]) -> bool {
    serde_json::from_slice::<String>(token).is_ok_and(|name| is_secret_name(&name))
}

/// The index after the string starting at `s[start] == '"'` (or the end of `s`).
fn string_end(s: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < s.len() {
        match s[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    s.len()
}

fn skip_whitespace(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && s[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// The index after the JSON value starting at `s[start]` (or the end of `s`).
fn value_end(s: &[u8], start: usize) -> usize {
    match s.get(start) {
        None => start,
        Some(b'"') => string_end(s, start),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut i = start;
            while i < s.len() {
                match s[i] {
                    b'"' => {
                        i = string_end(s, i);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            s.len()
        }
        Some(_) => {
            let mut i = start;
            while i < s.len() && !matches!(s[i], b',' | b'}' | b']') && !s[i].is_ascii_whitespace() {
                i += 1;
            }
            i
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Filters
// ---------------------------------------------------------------------------------------------

/// Which answers a filter means: one status code, or a class of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// Exactly this code (`404`).
    Exact(u16),
    /// Every code of this class (`4` for `4xx`).
    Class(u8),
}

impl StatusFilter {
    /// `404` or `4xx` (`4XX`).
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let b = t.as_bytes();
        if b.len() == 3 && b[1..].eq_ignore_ascii_case(b"xx") && (b'1'..=b'5').contains(&b[0]) {
            return Ok(Self::Class(b[0] - b'0'));
        }
        match t.parse::<u16>() {
            Ok(code) => Self::exact(u64::from(code)),
            Err(_) => Err(format!(
                "status {s:?} is neither a status code (such as 404) nor a class (such as 4xx)"
            )),
        }
    }

    fn exact(code: u64) -> Result<Self, String> {
        match u16::try_from(code) {
            Ok(code @ 100..=599) => Ok(Self::Exact(code)),
            _ => Err(format!(
                "status {code} is not a status code; give one from 100 to 599 or a class such as 4xx"
            )),
        }
    }

    /// Whether `status` is one it means.
    pub fn matches(&self, status: u16) -> bool {
        match *self {
            Self::Exact(code) => status == code,
            Self::Class(class) => status / 100 == u16::from(class),
        }
    }
}

impl fmt::Display for StatusFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(code) => write!(f, "{code}"),
            Self::Class(class) => write!(f, "{class}xx"),
        }
    }
}

impl FromStr for StatusFilter {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse(s)
    }
}

impl Serialize for StatusFilter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StatusFilter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = StatusFilter;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a status code such as 404 or a class such as 4xx")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<StatusFilter, E> {
                StatusFilter::parse(s).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<StatusFilter, E> {
                StatusFilter::exact(n).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<StatusFilter, E> {
                u64::try_from(n)
                    .map_err(|_| E::custom(format!("status {n} is not a status code")))
                    .and_then(|n| self.visit_u64(n))
            }
        }
        d.deserialize_any(V)
    }
}

/// Which entries a listing (or HAR export) means; every criterion given must hold. Reads from a
/// query string (`?method=post&path=/v1/**&status=4xx&since=2026-11-01T09:00:00Z&limit=10`) or JSON.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Filter {
    /// The method, case-insensitive.
    pub method: Option<String>,
    /// The path, as a [`PathPattern`].
    pub path: Option<PathPattern>,
    /// The answer's status (`404`, `4xx`).
    pub status: Option<StatusFilter>,
    /// Arrived at or after this instant.
    #[serde(deserialize_with = "de_since")]
    pub since: Option<DateTime<Utc>>,
    /// Arrived at or before this instant.
    #[serde(deserialize_with = "de_until")]
    pub until: Option<DateTime<Utc>>,
    /// At most this many: the newest of the matches.
    #[serde(deserialize_with = "de_limit")]
    pub limit: Option<usize>,
}

impl Filter {
    /// Whether the filter makes sense; what to fix when it does not.
    pub fn validate(&self) -> Result<(), String> {
        validate_method(self.method.as_deref())?;
        if let (Some(since), Some(until)) = (self.since, self.until)
            && since > until
        {
            return Err(format!(
                "since ({}) is after until ({}); swap them",
                crate::control::timestamp(since),
                crate::control::timestamp(until)
            ));
        }
        if self.limit == Some(0) {
            return Err("limit must be at least 1 (leave it out for every entry)".into());
        }
        Ok(())
    }

    /// Whether `entry` is one it selects (`limit` aside).
    pub fn matches(&self, entry: &Entry) -> bool {
        self.selects(
            &entry.request.method,
            &entry.request.path,
            entry.response.status,
            entry.at,
        )
    }

    /// Whether an exchange with this method, path, status and arrival is one it selects.
    fn selects(&self, method: &str, path: &str, status: u16, at: DateTime<Utc>) -> bool {
        method_matches(self.method.as_deref(), method)
            && self.path.as_ref().is_none_or(|p| p.matches(path))
            && self.status.is_none_or(|s| s.matches(status))
            && self.since.is_none_or(|t| at >= t)
            && self.until.is_none_or(|t| at <= t)
    }
}

fn validate_method(method: Option<&str>) -> Result<(), String> {
    match method {
        Some(m) if m.is_empty() || !m.bytes().all(is_token_byte) => Err(format!(
            "method {m:?} is not an HTTP method; give one such as GET or POST"
        )),
        _ => Ok(()),
    }
}

fn method_matches(method: Option<&str>, actual: &str) -> bool {
    method.is_none_or(|m| m.eq_ignore_ascii_case(actual))
}

/// A verification: which exchanges, and how often (WireMock's `verify`). Every criterion given must
/// hold; give at most one of `count`, `at_least` and `at_most` (none: at least 1).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Verify {
    /// The method, case-insensitive.
    pub method: Option<String>,
    /// The path, as a [`PathPattern`].
    pub path: Option<PathPattern>,
    /// A substring of the (redacted) query string, as sent or percent-decoded.
    pub query_contains: Option<String>,
    /// A substring of the recorded (redacted, possibly truncated) request body.
    pub body_contains: Option<String>,
    /// The answer's status (`404`, `4xx`).
    pub status: Option<StatusFilter>,
    /// Exactly this many.
    #[serde(deserialize_with = "de_count")]
    pub count: Option<usize>,
    /// At least this many.
    #[serde(deserialize_with = "de_at_least")]
    pub at_least: Option<usize>,
    /// At most this many.
    #[serde(deserialize_with = "de_at_most")]
    pub at_most: Option<usize>,
}

/// How often a verification expects its exchanges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expectation {
    Exactly(usize),
    AtLeast(usize),
    AtMost(usize),
}

impl Expectation {
    fn met(self, n: usize) -> bool {
        match self {
            Self::Exactly(k) => n == k,
            Self::AtLeast(k) => n >= k,
            Self::AtMost(k) => n <= k,
        }
    }

    fn too_few(self, n: usize) -> bool {
        match self {
            Self::Exactly(k) | Self::AtLeast(k) => n < k,
            Self::AtMost(_) => false,
        }
    }
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exactly(k) => write!(f, "exactly {k}"),
            Self::AtLeast(k) => write!(f, "at least {k}"),
            Self::AtMost(k) => write!(f, "at most {k}"),
        }
    }
}

impl Verify {
    /// Whether the verification makes sense; what to fix when it does not.
    pub fn validate(&self) -> Result<(), String> {
        self.expectation().map(|_| ())
    }

    fn expectation(&self) -> Result<Expectation, String> {
        validate_method(self.method.as_deref())?;
        match (self.count, self.at_least, self.at_most) {
            (None, None, None) => Ok(Expectation::AtLeast(1)),
            (Some(k), None, None) => Ok(Expectation::Exactly(k)),
            (None, Some(k), None) => Ok(Expectation::AtLeast(k)),
            (None, None, Some(k)) => Ok(Expectation::AtMost(k)),
            _ => Err("give at most one of count, at_least and at_most".into()),
        }
    }

    /// Whether `entry` is one of the exchanges it describes.
    pub fn matches(&self, entry: &Entry) -> bool {
        method_matches(self.method.as_deref(), &entry.request.method)
            && self.path.as_ref().is_none_or(|p| p.matches(&entry.request.path))
            && self.status.is_none_or(|s| s.matches(entry.response.status))
            && self.query_contains.as_deref().is_none_or(|q| query_contains(entry, q))
            && self.body_contains.as_deref().is_none_or(|b| body_contains(entry, b))
    }

    /// How far `entry` is from matching (lower is closer) and why it does not.
    fn differences(&self, entry: &Entry) -> (f64, Vec<String>) {
        let mut score = 0.0;
        let mut out = Vec::new();
        if let Some(m) = &self.method
            && !method_matches(Some(m), &entry.request.method)
        {
            score += 1.0;
            out.push(format!(
                "method is {}, not {}",
                entry.request.method,
                m.to_ascii_uppercase()
            ));
        }
        if let Some(p) = &self.path
            && !p.matches(&entry.request.path)
        {
            let literal: String = p.as_str().chars().filter(|&c| c != '*').collect();
            score += relative_distance(&entry.request.path, &literal).max(0.01);
            out.push(format!("path {} does not match {}", entry.request.path, p.as_str()));
        }
        if let Some(s) = self.status
            && !s.matches(entry.response.status)
        {
            score += 1.0;
            out.push(format!("status is {}, not {s}", entry.response.status));
        }
        if let Some(q) = &self.query_contains
            && !query_contains(entry, q)
        {
            score += 1.0;
            out.push(match &entry.request.query {
                Some(query) => format!("query {query} does not contain {q:?}"),
                None => format!("there is no query string; expected one containing {q:?}"),
            });
        }
        if let Some(b) = &self.body_contains
            && !body_contains(entry, b)
        {
            score += 1.0;
            out.push(if entry.request.body.bytes().is_empty() {
                format!("there is no request body; expected one containing {b:?}")
            } else {
                format!("request body does not contain {b:?}")
            });
        }
        (score, out)
    }
}

fn query_contains(entry: &Entry, needle: &str) -> bool {
    entry.request.query.as_deref().is_some_and(|q| {
        q.contains(needle) || {
            let decoded: String = form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&");
            decoded.contains(needle)
        }
    })
}

fn body_contains(entry: &Entry, needle: &str) -> bool {
    String::from_utf8_lossy(entry.request.body.bytes()).contains(needle)
}

/// The Levenshtein distance of `a` and `b` (first 256 characters each) over the longer length.
fn relative_distance(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().take(256).collect();
    let b: Vec<char> = b.chars().take(256).collect();
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 0.0;
    }
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()] as f64 / longest as f64
}

/// The answer to a [`Verify`].
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// Whether the journal holds as many matching exchanges as expected.
    pub ok: bool,
    /// How many it holds.
    pub count: usize,
    /// What was expected: `exactly 2`, `at least 1`, `at most 0`.
    pub expected: String,
    /// When too few matched: up to three entries that do not, closest first.
    pub near_misses: Vec<NearMiss>,
}

/// An entry that does not match a [`Verify`], and why.
#[derive(Debug, Clone, Serialize)]
pub struct NearMiss {
    /// Which entry.
    pub entry: EntrySummary,
    /// Each criterion it fails, in words (`method is GET, not POST`).
    pub differences: Vec<String>,
}

/// An entry in a line.
#[derive(Debug, Clone, Serialize)]
pub struct EntrySummary {
    /// Its id.
    pub id: u64,
    /// The method.
    pub method: String,
    /// The path and query.
    pub url: String,
    /// The answer's status.
    pub status: u16,
}

impl EntrySummary {
    fn of(e: &Entry) -> Self {
        Self {
            id: e.id,
            method: e.request.method.clone(),
            url: e.request.url.clone(),
            status: e.response.status,
        }
    }
}

// Field-aware deserializers, so a query string's mistakes are reported by name.

fn de_since<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    de_instant("since", d)
}

fn de_until<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    de_instant("until", d)
}

fn de_limit<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    de_number("limit", d)
}

fn de_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    de_number("count", d)
}

fn de_at_least<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    de_number("at_least", d)
}

fn de_at_most<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    de_number("at_most", d)
}

/// An RFC 3339 instant (a `+` offset that a query string turned into a space is read back).
fn de_instant<'de, D: Deserializer<'de>>(field: &'static str, d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    struct V(&'static str);
    impl<'de> Visitor<'de> for V {
        type Value = Option<DateTime<Utc>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{} as an RFC 3339 timestamp", self.0)
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
            let t = s.trim();
            DateTime::parse_from_rfc3339(t)
                .or_else(|e| match t.rfind(' ') {
                    Some(i) if i > 10 => DateTime::parse_from_rfc3339(&format!("{}+{}", &t[..i], &t[i + 1..])),
                    _ => Err(e),
                })
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(|_| {
                    E::custom(format!(
                        "{} must be an RFC 3339 timestamp such as 2026-11-01T09:00:00Z, not {s:?}",
                        self.0
                    ))
                })
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(self)
        }
    }
    d.deserialize_any(V(field))
}

/// A whole number given as a number or (in a query string) as text.
fn de_number<'de, D: Deserializer<'de>>(field: &'static str, d: D) -> Result<Option<usize>, D::Error> {
    struct V(&'static str);
    impl<'de> Visitor<'de> for V {
        type Value = Option<usize>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{} as a whole number", self.0)
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
            usize::try_from(n)
                .map(Some)
                .map_err(|_| E::custom(format!("{} {n} is too large", self.0)))
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
            match u64::try_from(n) {
                Ok(n) => self.visit_u64(n),
                Err(_) => Err(E::custom(format!("{} must not be negative, not {n}", self.0))),
            }
        }
        fn visit_f64<E: de::Error>(self, n: f64) -> Result<Self::Value, E> {
            Err(E::custom(format!("{} must be a whole number, not {n}", self.0)))
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
            s.trim()
                .parse::<usize>()
                .map(Some)
                .map_err(|_| E::custom(format!("{} must be a whole number such as 2, not {s:?}", self.0)))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(self)
        }
    }
    d.deserialize_any(V(field))
}

// ---------------------------------------------------------------------------------------------
// HAR
// ---------------------------------------------------------------------------------------------

/// `entries` as a HAR 1.2 document whose creator is [`HAR_CREATOR`] at `creator_version`.
pub fn har_document(entries: &[Entry], creator_version: &str) -> Value {
    json!({
        "log": {
            "version": "1.2",
            "creator": { "name": HAR_CREATOR, "version": creator_version },
            "entries": entries.iter().map(har_entry).collect::<Vec<_>>(),
        }
    })
}

fn har_entry(e: &Entry) -> Value {
    let version = format!("{:?}", e.version);
    let header_value =
        |headers: &[(String, String)], name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());

    let req = &e.request;
    let mut request = json!({
        "method": req.method,
        "url": e.absolute_url(),
        "httpVersion": version,
        "cookies": [],
        "headers": har_headers(&req.headers),
        "queryString": req.query.as_deref().map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(name, value)| json!({ "name": name, "value": value }))
                .collect::<Vec<_>>()
        }).unwrap_or_default(),
        "headersSize": -1,
        "bodySize": req.body.size,
    });
    if let Some(text) = req.body.encoded() {
        let mut post = json!({
            "mimeType": header_value(&req.headers, "content-type").unwrap_or_default(),
            "text": text,
        });
        if let Some(comment) = body_comment(&req.body, true) {
            post["comment"] = comment.into();
        }
        request["postData"] = post;
    }

    let res = &e.response;
    let mut content = json!({
        "size": res.body.size,
        "mimeType": header_value(&res.headers, "content-type").unwrap_or_default(),
    });
    if let Some(text) = res.body.encoded() {
        content["text"] = text.into();
        if res.body.encoding() == BodyEncoding::Base64 {
            content["encoding"] = "base64".into();
        }
    }
    // `content.encoding` says base64 already.
    if let Some(comment) = body_comment(&res.body, false) {
        content["comment"] = comment.into();
    }
    let mut response = json!({
        "status": res.status,
        "statusText": StatusCode::from_u16(res.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or_default(),
        "httpVersion": version,
        "cookies": [],
        "headers": har_headers(&res.headers),
        "content": content,
        "redirectURL": header_value(&res.headers, LOCATION.as_str()).unwrap_or_default(),
        "headersSize": -1,
        "bodySize": res.body.size,
    });
    if let Some(error) = &res.error {
        response["comment"] = error.clone().into();
    }

    let mut entry = json!({
        "startedDateTime": crate::control::timestamp(e.at),
        "time": e.duration_ms,
        "request": request,
        "response": response,
        "cache": {},
        "timings": { "send": 0, "wait": e.duration_ms, "receive": 0 },
        "_id": e.id,
        "_world": e.world,
    });
    if let Some(fault) = &e.fault {
        entry["_fault"] = fault.clone().into();
    }
    entry
}

fn har_headers(headers: &[(String, String)]) -> Vec<Value> {
    headers
        .iter()
        .map(|(name, value)| json!({ "name": name, "value": value }))
        .collect()
}

/// What a HAR body's `comment` says: that `text` is base64 (where HAR has no field for it), that
/// the body was cut.
fn body_comment(body: &RecordedBody, mention_base64: bool) -> Option<String> {
    let mut parts = Vec::new();
    if mention_base64 && !body.bytes().is_empty() && body.encoding() == BodyEncoding::Base64 {
        parts.push("the text is base64".to_string());
    }
    if body.truncated {
        parts.push(format!(
            "truncated: {} of {} bytes recorded",
            body.bytes().len(),
            body.size
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests;
