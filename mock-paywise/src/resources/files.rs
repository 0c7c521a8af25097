//! Uploaded and generated files: claim documents, answer uploads, status-update and
//! request-to-client attachments.
//!
//! Uploads are `multipart/form-data` with one part named `file`. paywise documents PDF, JPEG and
//! PNG for answer documents and no list for claim documents; the mock accepts those three types
//! for both. The type is the part's `Content-Type`, or, when that is missing or
//! `application/octet-stream`, the file name's extension. Files larger than [`MAX_UPLOAD`] are
//! refused (paywise documents no limit). A body that is not multipart is DRF's 415.

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use mock_core::CoreError;
use mock_core::body::{BodyKind, body_kind, media_type};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::PaywiseError;
use crate::state::{AppState, Db, Scope};

/// The MIME types an upload may have.
pub const ALLOWED_TYPES: &[&str] = &["application/pdf", "image/jpeg", "image/png"];
/// The largest file an upload may carry (5 MiB; the whole request body is limited to 10 MiB).
pub const MAX_UPLOAD: usize = 5 * 1024 * 1024;

/// An uploaded or generated file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredFile {
    /// Creation order (not exposed).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub seq: u64,
    /// Company and access mode (not exposed).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub scope: Scope,
    /// Unique identifier.
    pub id: Uuid,
    /// The file name.
    pub filename: String,
    /// The MIME type.
    pub mime_type: String,
    /// Size in bytes.
    pub file_size: u64,
    /// The bytes (not exposed in JSON).
    #[serde(
        default,
        skip_serializing_if = "mock_core::snapshot::hidden",
        with = "crate::format::bytes"
    )]
    pub content: Vec<u8>,
    /// Upload time.
    #[serde(with = "crate::format::ts")]
    pub created: DateTime<Utc>,
}

scoped_record!(StoredFile);

impl StoredFile {
    /// `{id, filename, mime_type, file_size}`.
    pub fn summary(&self) -> Value {
        json!({ "id": self.id, "filename": self.filename, "mime_type": self.mime_type, "file_size": self.file_size })
    }
}

/// A file read from a multipart request, not yet stored.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The file name the client sent.
    pub filename: String,
    /// The MIME type (one of [`ALLOWED_TYPES`]).
    pub mime_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

fn guess_type(filename: &str) -> Option<&'static str> {
    let lower = filename.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map(|(_, e)| e)?;
    match ext {
        "pdf" => Some("application/pdf"),
        "jpg" | "jpeg" => Some("image/jpeg"),
        "png" => Some("image/png"),
        _ => None,
    }
}

/// Reads the part named `file` of a multipart request and checks its type and size.
pub async fn read_upload(state: &AppState, req: Request) -> Result<Upload, PaywiseError> {
    if body_kind(req.headers()) != BodyKind::Multipart {
        let ct = media_type(req.headers()).unwrap_or_default();
        return Err(PaywiseError::core(&CoreError::UnsupportedMediaType(ct)));
    }
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        PaywiseError::Detail(
            StatusCode::BAD_REQUEST,
            format!("Multipart form parse error - {}", e.body_text()),
        )
    };
    let mut mp = Multipart::from_request(req, state).await.map_err(|e| {
        PaywiseError::Detail(
            StatusCode::BAD_REQUEST,
            format!("Multipart form parse error - {}", e.body_text()),
        )
    })?;
    let mut found = None;
    let mut parts = 0;
    while let Some(field) = mp.next_field().await.map_err(unreadable)? {
        parts += 1;
        if parts > mock_core::body::MAX_MULTIPART_PARTS {
            return Err(PaywiseError::Detail(
                StatusCode::BAD_REQUEST,
                format!(
                    "Multipart form parse error - {}",
                    mock_core::body::too_many_parts("`file`")
                ),
            ));
        }
        if field.name() != Some("file") || found.is_some() {
            continue;
        }
        let filename = field.file_name().map(str::to_string);
        let declared = field
            .content_type()
            .map(|c| c.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
        let bytes = field.bytes().await.map_err(unreadable)?;
        found = Some((filename, declared, bytes.to_vec()));
    }
    let Some((filename, declared, bytes)) = found else {
        return Err(PaywiseError::field("file", "No file was submitted."));
    };
    let Some(filename) = filename.filter(|f| !f.trim().is_empty()) else {
        return Err(PaywiseError::field(
            "file",
            "The submitted data was not a file. Check the encoding type on the form.",
        ));
    };
    if bytes.is_empty() {
        return Err(PaywiseError::field("file", "The submitted file is empty."));
    }
    if bytes.len() > MAX_UPLOAD {
        return Err(PaywiseError::field(
            "file",
            format!(
                "The file is too large ({} bytes); the limit is {MAX_UPLOAD} bytes (5 MiB).",
                bytes.len()
            ),
        ));
    }
    let mime = match declared.as_deref() {
        None | Some("") | Some("application/octet-stream") => guess_type(&filename).map(str::to_string),
        Some(m) => Some(m.to_string()),
    };
    match mime {
        Some(m) if ALLOWED_TYPES.contains(&m.as_str()) => Ok(Upload {
            filename,
            mime_type: m,
            bytes,
        }),
        other => Err(PaywiseError::field(
            "file",
            format!(
                "Unsupported file type \"{}\". Allowed types: PDF, JPEG, PNG.",
                other.unwrap_or_else(|| "unknown".into())
            ),
        )),
    }
}

/// Stores `upload` in `scope` and returns the stored file.
pub fn store(state: &AppState, db: &mut Db, scope: Scope, upload: Upload) -> Result<StoredFile, PaywiseError> {
    let file = StoredFile {
        seq: state.ids.next_seq(),
        scope,
        id: state.ids.uuid(),
        file_size: upload.bytes.len() as u64,
        filename: upload.filename,
        mime_type: upload.mime_type,
        content: upload.bytes,
        created: state.now(),
    };
    db.files
        .insert(file.clone())
        .map_err(|e| PaywiseError::not_stored("file", e))?;
    Ok(file)
}

/// The bytes of the file `id` of `scope` with its content type, or 404.
pub fn download(state: &AppState, scope: &Scope, id: &Uuid) -> Response {
    match state.store.read(|db| db.files.get(scope, &id.to_string()).cloned()) {
        None => PaywiseError::not_found().into_response(),
        Some(f) => {
            let disposition = format!("attachment; filename=\"{}\"", f.filename.replace('"', ""));
            Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, f.mime_type.as_str())
                .header(header::CONTENT_DISPOSITION, disposition)
                .body(Body::from(f.content))
                .unwrap_or_else(|_| PaywiseError::not_found().into_response())
        }
    }
}

/// A small, valid one-page PDF showing `title`, for generated attachments.
pub fn generated_pdf(title: &str) -> Vec<u8> {
    let text: String = title
        .chars()
        .filter(|c| c.is_ascii() && !matches!(c, '(' | ')' | '\\'))
        .collect();
    let stream = format!("BT /F1 14 Tf 72 760 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_string(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = String::from("%PDF-1.4\n");
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out += &format!("{} 0 obj\n{o}\nendobj\n", i + 1);
    }
    let xref = out.len();
    out += &format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for o in offsets {
        out += &format!("{o:010} 00000 n \n");
    }
    out += &format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    out.into_bytes()
}

/// A generated PDF stored as a file of `scope` (for fixtures and the back office).
pub fn generated_file(
    id: Uuid,
    seq: u64,
    scope: Scope,
    filename: &str,
    title: &str,
    created: DateTime<Utc>,
) -> StoredFile {
    let content = generated_pdf(title);
    StoredFile {
        seq,
        scope,
        id,
        filename: filename.to_string(),
        mime_type: "application/pdf".into(),
        file_size: content.len() as u64,
        content,
        created,
    }
}

/// The routes of this resource (downloads live under the objects that own the files).
pub fn router() -> Router<AppState> {
    Router::new()
}

/// Adds this resource's fixtures (the fixture files are made with the objects that own them).
pub fn seed(f: &mut fixtures::Faker, seq: &mut u64, db: &mut Db) {
    let _ = (f, seq, db);
}
