//! The object store behind `POST /v1/files`: where clients PUT a file's bytes, and where the
//! invoices' `document_url`/`ubl_document_url` serve them.
//!
//! Payt's documented flow (`reference/payt.md` 3.2) is: register the file with `POST /v1/files`
//! (checksum, byte size, content type), PUT the bytes to the signed `url` it answers before
//! `expires_at`, then reference the checksum in an invoice's `document`/`ubl_document`. The live
//! URLs lead to Payt's object store; the mock's lead here, to the host and port the client called
//! (`links.rs`), under `/_mock/payt/storage/`. This is not a control route: the public flow
//! needs it, so it is served whatever the control-API setting.
//!
//! - `PUT /_mock/payt/storage/uploads/{slot}?X-Payt-Expires=..&X-Payt-Signature=..` takes the bytes
//!   as a direct-upload client sends them: any `Content-Type`, `Content-Length` or chunked, and
//!   `Content-MD5`/`x-amz-*` headers are tolerated (and not checked). The body must have exactly the
//!   registered byte size and SHA3-512 digest. Success is 200 with an `ETag`; from then on the file
//!   is known to its administration (`POST /v1/files` answers `[]` for it, invoices may attach it).
//! - `GET /_mock/payt/storage/administrations/{admin}/invoices/{id}/document.pdf` (and `ubl.xml`)
//!   serves the invoice's current document with its content type and filename. Like a signed link it
//!   needs no token.
//!
//! Failures answer as an S3-compatible store does: `application/xml`
//! `<Error><Code>..</Code><Message>..</Message>..<RequestId>..</RequestId></Error>` with `BadDigest`
//! (400), `EntityTooSmall`/`EntityTooLarge`/`IncompleteBody` (400), `AccessDenied` (403, "Request
//! has expired" after `expires_at` on the mock's clock), `SignatureDoesNotMatch` (403),
//! `NoSuchUpload`/`NoSuchKey` (404), `MethodNotAllowed` (405). A refused upload stores nothing.
//!
//! Memory stays bounded: a body is read only up to its slot's registered size (at most
//! [`MAX_BYTE_SIZE`](crate::resources::files::MAX_BYTE_SIZE)), so these routes sit outside the API's 10 MiB body limit, and the store keeps
//! at most [`STORAGE_LIMIT_BYTES`] in all (beyond that, 507 `InsufficientStorage`, mock-only).

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE, ETAG};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, put};
use base64::Engine;
use chrono::{DateTime, Utc};
use http_body_util::BodyExt;
use sha3::{Digest, Sha3_512};
use tower_http::catch_panic::CatchPanicLayer;

use mock_core::error::xml_escape;
use mock_core::query::QueryParams;

use crate::links::{PREFIX, link};
use crate::state::AppState;

/// The most bytes the store keeps in all (uploads and fixture documents).
pub const STORAGE_LIMIT_BYTES: usize = 1024 * 1024 * 1024;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The path of upload slot `slot`, signed with `signature` until `expires`.
pub(crate) fn upload_url(slot: u64, expires: DateTime<Utc>, signature: &str) -> String {
    link(&format!(
        "{PREFIX}/storage/uploads/{slot}?X-Payt-Expires={}&X-Payt-Signature={signature}",
        expires.timestamp()
    ))
}

/// Where the document of invoice `id` is served; `file` is `document.pdf` or `ubl.xml`.
pub fn document_url(admin: u64, id: u64, file: &str) -> String {
    link(&format!(
        "{PREFIX}/storage/administrations/{admin}/invoices/{id}/{file}"
    ))
}

/// The base64 SHA3-512 digest of `bytes`, as `POST /v1/files` takes it.
pub fn checksum(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha3_512::digest(bytes))
}

/// The storage routes with their own request-id, tracing and panic layers (and no body limit but
/// the slot's size).
pub fn router(state: AppState) -> Router {
    let router = Router::new()
        .route(
            &format!("{PREFIX}/storage/uploads/{{slot}}"),
            put(upload).fallback(method_not_allowed),
        )
        .route(
            &format!("{PREFIX}/storage/administrations/{{admin}}/invoices/{{id}}/{{file}}"),
            get(document).fallback(method_not_allowed),
        )
        .route(&format!("{PREFIX}/storage"), any(no_such_key))
        .route(&format!("{PREFIX}/storage/{{*rest}}"), any(no_such_key))
        .with_state(state)
        .layer(CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
            tracing::error!("storage handler panicked");
            S3Error::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "We encountered an internal error. Please try again.",
            )
            .into_response()
        }));
    mock_core::server::observed(router)
}

// ------------------------------------------------------------------------------------------------
// Errors

/// An object-store error: status, `Code`, `Message` and extra elements.
#[derive(Debug, Clone)]
pub struct S3Error {
    status: StatusCode,
    code: &'static str,
    message: String,
    extra: Vec<(&'static str, String)>,
    request_id: String,
}

impl S3Error {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            extra: Vec::new(),
            request_id: String::new(),
        }
    }

    fn with(mut self, name: &'static str, value: impl ToString) -> Self {
        self.extra.push((name, value.to_string()));
        self
    }

    fn request(mut self, headers: &HeaderMap) -> Self {
        self.request_id = request_id(headers);
        self
    }
}

fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

impl IntoResponse for S3Error {
    fn into_response(self) -> Response {
        let mut body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>",
            self.code,
            xml_escape(&self.message)
        );
        for (name, value) in &self.extra {
            body.push_str(&format!("<{name}>{}</{name}>", xml_escape(value)));
        }
        body.push_str(&format!(
            "<RequestId>{}</RequestId><HostId>payt-mock</HostId></Error>",
            xml_escape(&self.request_id)
        ));
        let mut res = (self.status, [(CONTENT_TYPE, "application/xml")], body).into_response();
        if let Ok(v) = HeaderValue::from_str(&self.request_id) {
            res.headers_mut().insert(HeaderName::from_static("x-amz-request-id"), v);
        }
        res
    }
}

async fn method_not_allowed(headers: HeaderMap) -> S3Error {
    S3Error::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        "The specified method is not allowed against this resource.",
    )
    .request(&headers)
}

async fn no_such_key(headers: HeaderMap) -> S3Error {
    S3Error::new(StatusCode::NOT_FOUND, "NoSuchKey", "The specified key does not exist.").request(&headers)
}

// ------------------------------------------------------------------------------------------------
// Upload

/// What the upload needs to know of its slot.
struct Slot {
    administration_id: u64,
    checksum: String,
    byte_size: i64,
    expires_at: DateTime<Utc>,
    signature: String,
}

/// The stored object's `ETag`: the first 16 bytes of its digest in hex, quoted.
fn etag(digest: &[u8]) -> String {
    format!("\"{}\"", hex::encode(&digest[..digest.len().min(16)]))
}

/// Checks the slot, its signature and expiry, then reads at most the registered size, checks size
/// and digest, and stores the bytes.
async fn upload(
    State(state): State<AppState>,
    Path(slot): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, S3Error> {
    let no_upload = || {
        S3Error::new(
            StatusCode::NOT_FOUND,
            "NoSuchUpload",
            "The specified upload does not exist: register the file with POST /v1/files and PUT to the url it answers.",
        )
        .request(&headers)
    };
    let id = slot.parse::<u64>().map_err(|_| no_upload())?;
    let found = state.store.read(|db| {
        db.files.find(&id.to_string()).map(|f| Slot {
            administration_id: f.administration_id,
            checksum: f.checksum.clone(),
            byte_size: f.byte_size,
            expires_at: f.expires_at,
            signature: f.signature.clone(),
        })
    });
    let slot = found.ok_or_else(no_upload)?;

    let query = QueryParams::parse(query.as_deref());
    let (Some(expires), Some(signature)) = (query.get("X-Payt-Expires"), query.get("X-Payt-Signature")) else {
        return Err(S3Error::new(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Query-string authentication requires the X-Payt-Expires and X-Payt-Signature parameters: use the url POST /v1/files answered, unchanged.",
        )
        .request(&headers));
    };
    if signature != slot.signature || expires != slot.expires_at.timestamp().to_string() {
        return Err(S3Error::new(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided: use the url POST /v1/files answered, unchanged.",
        )
        .request(&headers));
    }
    let now = state.now();
    if now >= slot.expires_at {
        return Err(
            S3Error::new(StatusCode::FORBIDDEN, "AccessDenied", "Request has expired")
                .with("X-Payt-Expires", expires)
                .with("Expires", crate::format::timestamp(&slot.expires_at))
                .with("ServerTime", crate::format::timestamp(&now))
                .request(&headers),
        );
    }

    // The registered size is positive and at most MAX_BYTE_SIZE (POST /v1/files checks both).
    let expected = usize::try_from(slot.byte_size).unwrap_or(0);
    let too_small = |got: usize| {
        S3Error::new(
            StatusCode::BAD_REQUEST,
            "EntityTooSmall",
            format!(
                "Your proposed upload is smaller than the size registered with POST /v1/files ({got} bytes, registered {expected})."
            ),
        )
        .with("ProposedSize", got)
        .with("MinSizeAllowed", expected)
        .request(&headers)
    };
    let too_large = |got: usize| {
        S3Error::new(
            StatusCode::BAD_REQUEST,
            "EntityTooLarge",
            format!(
                "Your proposed upload exceeds the size registered with POST /v1/files ({got} bytes or more, registered {expected})."
            ),
        )
        .with("ProposedSize", got)
        .with("MaxSizeAllowed", expected)
        .request(&headers)
    };
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok());
    match declared {
        Some(n) if n > expected => return Err(too_large(n)),
        Some(n) if n < expected => return Err(too_small(n)),
        _ => {}
    }

    let mut body = body;
    // Grown as bytes arrive: a slow or empty body does not hold the whole registered size.
    let mut bytes: Vec<u8> = Vec::with_capacity(expected.min(1024 * 1024));
    let mut hasher = Sha3_512::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| {
            S3Error::new(
                StatusCode::BAD_REQUEST,
                "IncompleteBody",
                "You did not provide the number of bytes specified by the Content-Length HTTP header.",
            )
            .request(&headers)
        })?;
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > expected {
                return Err(too_large(bytes.len() + data.len()));
            }
            hasher.update(&data);
            bytes.extend_from_slice(&data);
        }
    }
    if bytes.len() < expected {
        return Err(too_small(bytes.len()));
    }
    let digest = hasher.finalize();
    let registered = crate::resources::files::decode_checksum(&slot.checksum, "file").unwrap_or_default();
    if registered.as_slice() != digest.as_slice() {
        return Err(S3Error::new(
            StatusCode::BAD_REQUEST,
            "BadDigest",
            "The SHA3-512 digest of the body does not match the checksum registered with POST /v1/files.",
        )
        .with(
            "ExpectedDigest",
            base64::engine::general_purpose::STANDARD.encode(&registered),
        )
        .with(
            "CalculatedDigest",
            base64::engine::general_purpose::STANDARD.encode(digest),
        )
        .request(&headers));
    }

    let content = Bytes::from(bytes);
    let admin = slot.administration_id;
    let stored = state.store.write(|db| {
        // The bytes of one checksum are kept once per administration.
        let known = db
            .files
            .lookup(&admin, "checksum", &slot.checksum)
            .any(|f| f.content.is_some());
        if known {
            return true;
        }
        let total: usize = db
            .files
            .iter_all()
            .filter_map(|f| f.content.as_ref())
            .map(Bytes::len)
            .sum();
        if total + content.len() > STORAGE_LIMIT_BYTES {
            return false;
        }
        db.files
            .update(&admin, &id.to_string(), |f| {
                f.content = Some(content.clone());
                f.uploaded_at = Some(now);
            })
            .is_some()
    });
    if !stored {
        return Err(S3Error::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "InsufficientStorage",
            format!("The mock keeps at most {STORAGE_LIMIT_BYTES} bytes of uploads; restart it to start afresh."),
        )
        .request(&headers));
    }
    let mut res = StatusCode::OK.into_response();
    if let Ok(v) = HeaderValue::from_str(&etag(&digest)) {
        res.headers_mut().insert(ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&request_id(&headers)) {
        res.headers_mut().insert(HeaderName::from_static("x-amz-request-id"), v);
    }
    Ok(res)
}

// ------------------------------------------------------------------------------------------------
// Download

/// The bytes `filename*` percent-encodes: all but RFC 8187's `attr-char` (alphanumerics and
/// ``!#$&+-.^_`|~``).
const ATTR_CHAR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `filename` as a `Content-Disposition` value: an ASCII fallback and the UTF-8 name (RFC 6266).
pub fn disposition(filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = percent_encoding::utf8_percent_encode(filename, ATTR_CHAR);
    format!("inline; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

async fn document(
    State(state): State<AppState>,
    Path((admin, id, file)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, S3Error> {
    let no_key =
        || S3Error::new(StatusCode::NOT_FOUND, "NoSuchKey", "The specified key does not exist.").request(&headers);
    let (ubl, content_type) = match file.as_str() {
        "document.pdf" => (false, "application/pdf"),
        "ubl.xml" => (true, "application/xml"),
        _ => return Err(no_key()),
    };
    let (Ok(admin), Ok(id)) = (admin.parse::<u64>(), id.parse::<u64>()) else {
        return Err(no_key());
    };
    let found = state.store.read(|db| {
        let inv = db.invoices.get(&admin, &id.to_string())?;
        let (checksum, filename) = if ubl {
            (inv.ubl_document_checksum.as_ref()?, &inv.ubl_document_filename)
        } else {
            (inv.document_checksum.as_ref()?, &inv.document_filename)
        };
        let content = db
            .files
            .lookup(&admin, "checksum", checksum)
            .find_map(|f| f.content.clone())?;
        let name = filename
            .clone()
            .unwrap_or_else(|| arcstr::format!("{}.{}", inv.invoice_number, if ubl { "xml" } else { "pdf" }));
        Some((content, name))
    });
    let (content, filename) = found.ok_or_else(no_key)?;
    let digest = Sha3_512::digest(content.as_ref());
    let mut res = (StatusCode::OK, [(CONTENT_TYPE, content_type)], Body::from(content)).into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&disposition(&filename)) {
        h.insert(CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&etag(&digest)) {
        h.insert(ETAG, v);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_are_safe_header_values() {
        assert_eq!(
            disposition("L-1.pdf"),
            "inline; filename=\"L-1.pdf\"; filename*=UTF-8''L-1.pdf"
        );
        let odd = disposition("fac\"tuur \u{e9}\r\n.pdf");
        assert!(HeaderValue::from_str(&odd).is_ok(), "{odd}");
        assert!(odd.contains("filename*=UTF-8''fac%22tuur%20%C3%A9%0D%0A.pdf"), "{odd}");
    }

    #[test]
    fn errors_are_escaped_xml() {
        let e = S3Error::new(StatusCode::BAD_REQUEST, "BadDigest", "a <b> & c");
        let res = e.into_response();
        assert_eq!(res.status(), 400);
        assert_eq!(res.headers()[CONTENT_TYPE], "application/xml");
    }
}
