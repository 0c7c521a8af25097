//! Files: `POST /v1/files` hands out signed upload URLs for invoice documents.
//!
//! The live API answers a JSON **array** of `{checksum, url, expires_at}`, one per new file, and
//! `[]` for a file whose checksum the administration already has (`reference/payt.md` O4; the
//! spec says a single object). The checksum is the base64 SHA3-512 digest of the content, so it
//! must decode to 64 bytes; another size is a 422 `invalid_checksum_size` (O3). The URL is valid
//! for an hour. Invoices then reference the file by checksum in `document`/`ubl_document`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::body::Body;
use crate::error::PaytError;
use crate::resources::invoices::{bad, items, opt_int, req_str};
use crate::seed::Gen;
use crate::state::{AppState, Caller, Db};

/// The size of a SHA3-512 digest.
pub const CHECKSUM_BYTES: usize = 64;
/// The largest file accepted (bytes).
pub const MAX_BYTE_SIZE: i64 = 100 * 1024 * 1024;
/// How long an upload URL stays valid.
pub const URL_LIFETIME_MINUTES: i64 = 60;

/// An upload slot keyed by checksum; serialized as `CustomerApi_V1_UploadableFileEntity`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UploadedFile {
    /// Base64 SHA3-512 of the content.
    pub checksum: String,
    /// Where to PUT the content.
    pub url: String,
    /// When `url` stops working.
    #[serde(with = "crate::format::ts")]
    pub expires_at: DateTime<Utc>,
    /// Unique identifier (not exposed).
    #[serde(skip)]
    pub id: u64,
    /// Owning administration (not exposed).
    #[serde(skip)]
    pub administration_id: u64,
    /// Size in bytes (not exposed).
    #[serde(skip)]
    pub byte_size: i64,
    /// MIME type (not exposed).
    #[serde(skip)]
    pub content_type: String,
    /// Creation (not exposed).
    #[serde(skip)]
    pub created_at: DateTime<Utc>,
}

administration_record!(UploadedFile);

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/files", post(create))
}

/// The 64 bytes of a base64 checksum, or the 422 that says what is wrong with it.
pub fn decode_checksum(checksum: &str, path: &str) -> Result<Vec<u8>, PaytError> {
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE,
    ];
    let bytes = engines.iter().find_map(|e| e.decode(checksum).ok()).ok_or_else(|| {
        PaytError::unprocessable(
            "invalid_checksum",
            format!("{path}[checksum] is not base64: send the base64 of the file's SHA3-512 digest"),
        )
    })?;
    if bytes.len() != CHECKSUM_BYTES {
        return Err(PaytError::unprocessable(
            "invalid_checksum_size",
            format!(
                "{path}[checksum] decodes to {} bytes; a SHA3-512 digest has {CHECKSUM_BYTES} (base64 of 88 characters)",
                bytes.len()
            ),
        ));
    }
    Ok(bytes)
}

fn upload_url(admin: u64, checksum: &[u8], expires: DateTime<Utc>, signature: &str) -> String {
    let key: String = checksum.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!(
        "https://uploads.paytsoftware.com/administrations/{admin}/files/{key}?X-Payt-Expires={}&X-Payt-Signature={signature}",
        expires.timestamp()
    )
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Body,
) -> Result<(StatusCode, Json<Value>), PaytError> {
    caller.grant.require("files:write")?;
    let admin = body.administration_id()?;
    state.check_administration(&caller, admin)?;
    let mut wanted = Vec::new();
    for (i, m) in items(&body, "files")?.into_iter().enumerate() {
        let path = format!("files[{i}]");
        let byte_size = opt_int(m, "byte_size", &path)?
            .ok_or_else(|| PaytError::unprocessable("missing_parameter", format!("{path}[byte_size] is missing")))?;
        if byte_size <= 0 {
            return Err(bad(format!("{path}[byte_size] must be greater than 0")));
        }
        if byte_size > MAX_BYTE_SIZE {
            return Err(PaytError::unprocessable(
                "file_too_large",
                format!("{path}[byte_size] is {byte_size}; files may be at most {MAX_BYTE_SIZE} bytes"),
            ));
        }
        let checksum = req_str(m, "checksum", &path)?;
        let digest = decode_checksum(&checksum, &path)?;
        let content_type = req_str(m, "content_type", &path)?;
        if !content_type.contains('/') || content_type.contains(' ') {
            return Err(bad(format!(
                "{path}[content_type] is not a MIME type ({content_type:?}): use e.g. application/pdf"
            )));
        }
        wanted.push((checksum, digest, byte_size, content_type));
    }
    let now = state.now();
    let expires = now + Duration::minutes(URL_LIFETIME_MINUTES);
    let created = state.store.write(|db| {
        let mut out = Vec::new();
        for (checksum, digest, byte_size, content_type) in wanted {
            if db.files.iter(&admin).any(|f| f.checksum == checksum) {
                continue;
            }
            let file = UploadedFile {
                url: upload_url(admin, &digest, expires, &state.ids.hex(40)),
                checksum,
                expires_at: expires,
                id: state.ids.next_seq(),
                administration_id: admin,
                byte_size,
                content_type,
                created_at: now,
            };
            let _ = db.files.insert(file.clone());
            out.push(file);
        }
        out
    });
    let body = serde_json::to_value(&created).unwrap_or_else(|_| Value::Array(Vec::new()));
    Ok((StatusCode::CREATED, Json(body)))
}

/// Adds this resource's fixtures for administration `admin`: the uploaded documents of the
/// fixture invoices.
pub fn seed(g: &mut Gen, db: &mut Db, admin: u64) {
    let docs: Vec<(String, String, DateTime<Utc>)> = db
        .invoices
        .iter(&admin)
        .flat_map(|i| {
            let at = i.sent_at.unwrap_or(i.updated_at);
            [
                i.document_checksum
                    .clone()
                    .map(|c| (c, "application/pdf".to_string(), at)),
                i.ubl_document_checksum
                    .clone()
                    .map(|c| (c, "application/xml".to_string(), at)),
            ]
        })
        .flatten()
        .collect();
    for (checksum, content_type, at) in docs {
        let created = at - Duration::minutes(g.f.int(5, 120) as i64);
        let digest = base64::engine::general_purpose::STANDARD
            .decode(&checksum)
            .unwrap_or_default();
        let signature = format!("{:032x}", u128::from_le_bytes(g.f.bytes16()));
        let expires = created + Duration::minutes(URL_LIFETIME_MINUTES);
        let _ = db.files.insert(UploadedFile {
            url: upload_url(admin, &digest, expires, &signature),
            checksum,
            expires_at: expires,
            id: g.id(),
            administration_id: admin,
            byte_size: g.f.int(20_000, 900_000) as i64,
            content_type,
            created_at: created,
        });
    }
}
