//! What the paywise API v2 tests share (`tests/contract/paywise_v2.rs`, `tests/contract/paywise_v2_partner.rs`):
//! requests as paywise's Python SDK sends them and assertions on what the v2 reference documents.
//!
//! - Every `POST` carries an `Idempotency-Key` ([`key`]); JSON bodies go as
//!   `application/json`; uploads as `multipart/form-data` with the form fields `type`, `filename`,
//!   `base64` and a `file` part, exactly as the SDK builds them ([`Upload`]); the bodyless
//!   commands (finalize, rotate-secret, redeliver, cancel, resend) send no body at all.
//! - Errors are v2's envelope `{code, detail, errors[{code, field, message}]}` ([`assert_error`]):
//!   the `code` is asserted where the reference names it, the wording never.
//! - Lists are offset pages `{count, next, previous, results}` with absolute `next` links
//!   ([`assert_page`], [`walk`]); single resources carry an `ETag` that answers `304` to
//!   `If-None-Match` ([`conditional_get`]).

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, ETAG, HeaderMap, IF_MATCH, IF_NONE_MATCH};
use serde_json::Value;

use crate::{Conn, RequestBuilder};

/// One answer: status, headers and body (JSON when it parses, else `Null`; the raw bytes too).
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// The body as JSON (`Null` when empty or not JSON).
    pub body: Value,
    /// The raw body.
    pub bytes: Vec<u8>,
    /// `METHOD path`, for messages.
    pub request: String,
}

impl Reply {
    /// Panics unless the status is `want`; the body.
    pub fn expect(&self, want: u16) -> &Value {
        assert_eq!(
            self.status.as_u16(),
            want,
            "{} answered {}: {}",
            self.request,
            self.status,
            crate::journal::cut(&String::from_utf8_lossy(&self.bytes), 1500)
        );
        &self.body
    }

    /// The `ETag` header (panics without one).
    pub fn etag(&self) -> String {
        self.headers
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{} answered no ETag", self.request))
            .to_string()
    }

    /// The string at `key` of the body.
    pub fn text(&self, key: &str) -> String {
        text(&self.body, key)
    }
}

/// The string at `v[key]`, or a panic naming what was expected.
pub fn text(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` must be a string in {v}"))
        .to_string()
}

/// A fresh `Idempotency-Key` (a UUID, as paywise asks: one per command, reused only to retry it).
pub fn key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A well-formed UUID that names nothing.
pub const UNKNOWN_UUID: &str = "00000000-0000-4000-8000-000000000000";

/// Sends `req` (built from `c`'s client, so that the answer is checked and journaled); the reply.
pub async fn send(c: &Conn, req: RequestBuilder) -> Reply {
    let built = req.build().expect("a request");
    let request = format!("{} {}", built.method(), built.url().path());
    let res = c.client.execute(built).await.expect("request sent");
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.expect("a body").to_vec();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        bytes,
        request,
    }
}

/// `GET path` with `query`.
pub async fn get(c: &Conn, path: &str, query: &[(&str, &str)]) -> Reply {
    send(c, c.get(path).query(query)).await
}

/// `GET url` of an absolute link (a page's `next`), with the connection's token.
pub async fn follow(c: &Conn, url: &str) -> Reply {
    send(c, c.client.get(url).bearer_auth(&c.token)).await
}

/// `POST path` with the JSON `body` and `Idempotency-Key: idem`.
pub async fn post(c: &Conn, path: &str, body: &Value, idem: &str) -> Reply {
    send(c, c.post(path).header("Idempotency-Key", idem).json(body)).await
}

/// A bodyless command: `POST path` with only `Idempotency-Key: idem` (no body, no content type),
/// as the SDK sends finalize, rotate-secret, redeliver, cancel and resend.
pub async fn command(c: &Conn, path: &str, idem: &str) -> Reply {
    send(c, c.post(path).header("Idempotency-Key", idem)).await
}

/// `PATCH path` with the JSON `body`, and `If-Match` when given.
pub async fn patch(c: &Conn, path: &str, body: &Value, if_match: Option<&str>) -> Reply {
    let mut req = c.patch(path).json(body);
    if let Some(tag) = if_match {
        req = req.header(IF_MATCH, tag);
    }
    send(c, req).await
}

/// `PUT path` with the JSON `body`, and `If-Match` when given.
pub async fn put(c: &Conn, path: &str, body: &Value, if_match: Option<&str>) -> Reply {
    let mut req = c.put(path).json(body);
    if let Some(tag) = if_match {
        req = req.header(IF_MATCH, tag);
    }
    send(c, req).await
}

/// `DELETE path`, with `If-Match` when given.
pub async fn delete(c: &Conn, path: &str, if_match: Option<&str>) -> Reply {
    let mut req = c.delete(path);
    if let Some(tag) = if_match {
        req = req.header(IF_MATCH, tag);
    }
    send(c, req).await
}

/// `GET path` (200, with an `ETag`), then the same with `If-None-Match: <etag>`: `304` and no
/// body. The first reply.
pub async fn conditional_get(c: &Conn, path: &str) -> Reply {
    let first = get(c, path, &[]).await;
    first.expect(200);
    let tag = first.etag();
    let again = send(c, c.get(path).header(IF_NONE_MATCH, &tag)).await;
    assert_eq!(
        again.status,
        StatusCode::NOT_MODIFIED,
        "GET {path} with If-None-Match {tag} must answer 304: {} {}",
        again.status,
        String::from_utf8_lossy(&again.bytes)
    );
    assert!(
        again.bytes.is_empty(),
        "a 304 has no body: {:?}",
        String::from_utf8_lossy(&again.bytes)
    );
    first
}

/// A write with a stale `If-Match` (`tag` no longer current) is `412 precondition_failed`.
pub fn assert_stale(reply: &Reply) {
    assert_error(reply, 412, Some("precondition_failed"));
}

/// Asserts `reply` is `status` with v2's error envelope: `code` and `detail` non-empty strings,
/// `errors` (when present) a list of `{code, field?, message}`; and its `code` is `code` when
/// given. The envelope (for the field-level checks).
pub fn assert_error<'r>(reply: &'r Reply, status: u16, code: Option<&str>) -> &'r Value {
    let body = reply.expect(status);
    assert_envelope(body, &reply.request);
    if let Some(code) = code {
        assert_eq!(body["code"], code, "{}: error code in {body}", reply.request);
    }
    body
}

/// Asserts `body` is v2's error envelope.
pub fn assert_envelope(body: &Value, at: &str) {
    for key in ["code", "detail"] {
        let v = body[key]
            .as_str()
            .unwrap_or_else(|| panic!("{at}: the error envelope needs a string `{key}`: {body}"));
        assert!(!v.is_empty(), "{at}: `{key}` is empty in {body}");
    }
    match &body["errors"] {
        Value::Null => {}
        Value::Array(items) => {
            for item in items {
                assert!(
                    item["code"].is_string() && item["message"].is_string(),
                    "{at}: every errors[] item has a code and a message: {item}"
                );
                assert!(
                    item["field"].is_string() || item["field"].is_null(),
                    "{at}: errors[].field is a string or null: {item}"
                );
            }
        }
        other => panic!("{at}: `errors` must be a list, got {other}"),
    }
}

/// The `field`s of a 400's `errors[]`.
pub fn error_fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["field"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts `page` is an offset page `{count, next, previous, results}` (`count` an integer,
/// `next`/`previous` absolute URLs or null, `results` a list); the results.
pub fn assert_page<'p>(page: &'p Value, at: &str) -> &'p Vec<Value> {
    assert!(
        page["count"].is_u64(),
        "{at}: `count` must be a non-negative integer in {page}"
    );
    for link in ["next", "previous"] {
        match &page[link] {
            Value::Null => {}
            Value::String(url) => assert!(
                url.starts_with("http://") || url.starts_with("https://"),
                "{at}: `{link}` must be an absolute URL (the SDK fetches it as is), got {url:?}"
            ),
            other => panic!("{at}: `{link}` must be a URL or null, got {other}"),
        }
    }
    page["results"]
        .as_array()
        .unwrap_or_else(|| panic!("{at}: `results` must be a list in {page}"))
}

/// Every result of the list at `path` with `query`, following `next` (at most 50 pages; the SDK's
/// pager also stops at a page without items).
pub async fn walk(c: &Conn, path: &str, query: &[(&str, &str)]) -> Vec<Value> {
    let first = get(c, path, query).await;
    let mut page = first.expect(200).clone();
    let mut out = Vec::new();
    for _ in 0..50 {
        let results = assert_page(&page, path).clone();
        let empty = results.is_empty();
        out.extend(results);
        match &page["next"] {
            Value::String(next) if !next.is_empty() && !empty => {
                let next = next.clone();
                page = follow(c, &next).await.expect(200).clone();
            }
            _ => return out,
        }
    }
    panic!("{path}: the list did not end after 50 pages");
}

/// The ids of `records`.
pub fn ids(records: &[Value]) -> Vec<String> {
    records.iter().map(|r| text(r, "id")).collect()
}

/// Asserts `v[key]` is an RFC 3339 timestamp with an offset.
pub fn assert_timestamp(v: &Value, key: &str) {
    let s = text(v, key);
    assert!(
        chrono::DateTime::parse_from_rfc3339(&s).is_ok(),
        "`{key}` must be an RFC 3339 timestamp with an offset, got {s:?}"
    );
}

/// The UTC timestamp at `v[key]`.
pub fn timestamp(v: &Value, key: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(&text(v, key))
        .unwrap_or_else(|e| panic!("`{key}` in {v} is not RFC 3339: {e}"))
        .with_timezone(&chrono::Utc)
}

/// A money value `{value: "12.50", currency: "EUR"}`, in cents.
pub fn cents(money: &Value, at: &str) -> i64 {
    let value = money["value"]
        .as_str()
        .unwrap_or_else(|| panic!("{at}: money `value` is a decimal string in {money}"));
    let (whole, frac) = value.split_once('.').unwrap_or((value, "00"));
    assert!(
        frac.len() <= 2 && frac.bytes().all(|b| b.is_ascii_digit()),
        "{at}: {value:?} has at most two decimals"
    );
    let digits = whole.strip_prefix('-').unwrap_or(whole);
    let magnitude: i64 = format!("{digits}{frac:0<2}").parse().expect("a decimal amount");
    if whole.starts_with('-') { -magnitude } else { magnitude }
}

/// A one-page PDF.
pub const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

/// A 1x1 PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49,
    0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x64, 0x60, 0xf8, 0x5f, 0x0f, 0x00, 0x02, 0x87, 0x01, 0x80, 0xeb, 0x47, 0xba,
    0x92, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// `bytes` in base64 (standard alphabet, padded): how inline documents and the upload's `base64`
/// field carry a file.
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// An upload as the SDK sends every `create_*_document` call: `multipart/form-data` (forced even
/// for base64) with the form fields `type`, then `filename` and `base64` when given, then a
/// `file` part with its own file name and content type when given.
#[derive(Debug, Clone, Default)]
pub struct Upload<'a> {
    /// The document type (required).
    pub kind: &'a str,
    /// The `filename` form field.
    pub filename: Option<&'a str>,
    /// The `base64` form field.
    pub base64: Option<String>,
    /// The `file` part: its file name, content type and bytes.
    pub file: Option<(&'a str, &'a str, &'a [u8])>,
}

impl Upload<'_> {
    /// A PDF as a `file` part.
    pub fn pdf(kind: &str) -> Upload<'_> {
        Upload {
            kind,
            filename: None,
            base64: None,
            file: Some(("contract-test.pdf", "application/pdf", PDF)),
        }
    }

    /// A PNG as the `base64` form field, with a `filename`.
    pub fn png_base64(kind: &str) -> Upload<'_> {
        Upload {
            kind,
            filename: Some("contract-test.png"),
            base64: Some(base64(PNG)),
            file: None,
        }
    }

    /// The multipart body and its boundary.
    pub fn body(&self) -> (Vec<u8>, String) {
        let boundary = uuid::Uuid::new_v4().simple().to_string();
        let mut out = Vec::new();
        let mut field = |name: &str, value: &str| {
            out.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        };
        field("type", self.kind);
        if let Some(f) = self.filename {
            field("filename", f);
        }
        if let Some(b) = &self.base64 {
            field("base64", b);
        }
        if let Some((name, mime, bytes)) = self.file {
            out.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {mime}\r\n\r\n"
                )
                .as_bytes(),
            );
            out.extend_from_slice(bytes);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        (out, boundary)
    }
}

/// `POST path` with the multipart `upload` and `Idempotency-Key: idem`.
pub async fn upload(c: &Conn, path: &str, upload: &Upload<'_>, idem: &str) -> Reply {
    let (body, boundary) = upload.body();
    send(
        c,
        c.post(path)
            .header("Idempotency-Key", idem)
            .header(CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
            .body(body),
    )
    .await
}

/// An inline document of a JSON command: `{type, base64, filename}`.
pub fn inline_pdf(kind: &str) -> Value {
    serde_json::json!({"type": kind, "base64": base64(PDF), "filename": "contract-test.pdf"})
}

/// Asserts `doc` is a `DocumentRead` of `kind` below the parent `(parent_type, parent_id)`
/// (`parent_id` unchecked when `None`); waits (bounded: 30 s against a vendor, whose scan may
/// run; the mock is `ready` at once) until it is no longer `pending`, then asserts it is `ready`
/// with a `download_url`. The document as read last.
pub async fn ready_document(c: &Conn, path: &str, doc: &Value, kind: &str, parent: (&str, Option<&str>)) -> Value {
    assert_eq!(doc["type"], kind, "document type in {doc}");
    assert_eq!(doc["parent"]["type"], parent.0, "document parent in {doc}");
    if let Some(id) = parent.1 {
        assert_eq!(doc["parent"]["id"], id, "document parent id in {doc}");
    }
    assert_timestamp(doc, "created_at");
    let mut doc = doc.clone();
    for _ in 0..30 {
        if doc["status"] != "pending" {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        doc = get(c, path, &[]).await.expect(200).clone();
    }
    assert_eq!(doc["status"], "ready", "document {path} is not ready: {doc}");
    assert!(
        doc["download_url"].as_str().is_some_and(|u| u.ends_with("/download/")),
        "a ready document's download_url is its …/download/ URL: {doc}"
    );
    doc
}

/// `GET path` of a download: 200 and the bytes.
pub async fn download(c: &Conn, path: &str, query: &[(&str, &str)]) -> Vec<u8> {
    let reply = get(c, path, query).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "GET {path} {query:?} answered {}: {}",
        reply.status,
        String::from_utf8_lossy(&reply.bytes)
    );
    assert!(!reply.bytes.is_empty(), "GET {path}: an empty download");
    reply.bytes
}

/// Asserts that repeating a command with its `Idempotency-Key` replayed the first answer: the
/// same status and the same body, except the one-time secrets replays omit (`secret_key` of a
/// webhook, `setup_url` of a membership), which are left out of the comparison.
pub fn assert_replay(first: &Reply, replay: &Reply) {
    fn strip(v: &Value) -> Value {
        match v {
            Value::Object(map) => Value::Object(
                map.iter()
                    .filter(|(k, _)| k.as_str() != "secret_key" && k.as_str() != "setup_url")
                    .map(|(k, v)| (k.clone(), strip(v)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(strip).collect()),
            other => other.clone(),
        }
    }
    assert_eq!(
        replay.status, first.status,
        "{}: a replay answers the first status",
        replay.request
    );
    assert_eq!(
        strip(&replay.body),
        strip(&first.body),
        "{}: a replay answers the first body",
        replay.request
    );
}
