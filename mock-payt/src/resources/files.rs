//! Files: `POST /v1/files` hands out signed upload URLs for invoice documents.
//!
//! The live API answers a JSON **array** of `{checksum, url, expires_at}`, one per new file, and
//! `[]` for a file whose checksum the administration already has (`reference/payt.md` O4; the
//! spec says a single object). The checksum is the base64 SHA3-512 digest of the content, so it
//! must decode to 64 bytes; another size is a 422 `invalid_checksum_size` (O3). The URL is valid
//! for an hour. Invoices then reference the file by checksum in `document`/`ubl_document`.
//!
//! The `url` leads to the mock's own storage ([`crate::storage`]), on the host the client called.
//! A file counts as known (the `[]` answer, and attachable to an invoice) only once its bytes
//! arrived there. Until then every `POST` hands out a fresh slot and URL, as a client that lost or
//! let expire its URL expects; earlier slots stay valid until they expire, and expired slots that
//! never received bytes are dropped on the next `POST` of their administration.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::body::Body;
use crate::body::{bad, items, missing, opt_int, req_str};
use crate::error::PaytError;
use crate::seed::Gen;
use crate::state::{AppState, Caller, Db};
use crate::storage;

/// The size of a SHA3-512 digest.
pub(crate) const CHECKSUM_BYTES: usize = 64;
/// The largest file accepted (bytes).
pub const MAX_BYTE_SIZE: i64 = 100 * 1024 * 1024;
/// How long an upload URL stays valid.
pub(crate) const URL_LIFETIME_MINUTES: i64 = 60;

/// The stored bytes of an upload in the storage form: base64 (standard alphabet), or `null`.
mod content {
    use axum::body::Bytes;
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Bytes>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Bytes>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| {
                base64::engine::general_purpose::STANDARD
                    .decode(t)
                    .map(Bytes::from)
                    .map_err(serde::de::Error::custom)
            })
            .transpose()
    }
}

/// An upload slot keyed by checksum; serialized as `CustomerApi_V1_UploadableFileEntity`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UploadedFile {
    /// Base64 SHA3-512 of the content.
    pub checksum: String,
    /// Where to PUT the content.
    pub url: String,
    /// When `url` stops working.
    #[serde(with = "crate::format::ts")]
    pub expires_at: DateTime<Utc>,
    /// Unique identifier (not exposed).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub id: u64,
    /// Owning administration (not exposed).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub administration_id: u64,
    /// Size in bytes (not exposed).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub byte_size: i64,
    /// MIME type (not exposed).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub content_type: String,
    /// Creation (not exposed).
    #[serde(
        default,
        skip_serializing_if = "mock_core::snapshot::hidden",
        with = "crate::format::ts"
    )]
    pub created_at: DateTime<Utc>,
    /// The signature the upload URL carries (not exposed).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub signature: String,
    /// The bytes, once they arrived at the storage (not exposed).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden", with = "content")]
    pub content: Option<Bytes>,
    /// When the bytes arrived (not exposed).
    #[serde(
        default,
        skip_serializing_if = "mock_core::snapshot::hidden",
        with = "crate::format::opt_ts"
    )]
    pub uploaded_at: Option<DateTime<Utc>>,
}

impl UploadedFile {
    /// Slot `id` of administration `admin` with its upload URL, signed with `signature` until
    /// `expires`; the caller sets what it is for (checksum, size, type), when it was made and, for
    /// a file already uploaded, its bytes.
    pub fn slot(admin: u64, id: u64, expires: DateTime<Utc>, signature: String) -> Self {
        UploadedFile {
            url: storage::upload_url(id, expires, &signature),
            expires_at: expires,
            id,
            administration_id: admin,
            signature,
            ..Self::default()
        }
    }

    /// Whether the bytes arrived.
    pub fn uploaded(&self) -> bool {
        self.content.is_some()
    }
}

administration_record!(UploadedFile, lookups = |f| vec![("checksum", f.checksum.clone())]);

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/files", post(create))
}

/// The 64 bytes of a base64 checksum, or the 422 that says what is wrong with it.
pub(crate) fn decode_checksum(checksum: &str, path: &str) -> Result<Vec<u8>, PaytError> {
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

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Body,
) -> Result<(StatusCode, Json<Value>), PaytError> {
    let admin = body.authorize(&state, &caller, "files:write")?;
    let mut wanted = Vec::new();
    for (i, m) in items(&body, "files")?.into_iter().enumerate() {
        let path = format!("files[{i}]");
        let byte_size = opt_int(m, "byte_size", &path)?.ok_or_else(|| missing(&format!("{path}[byte_size]")))?;
        if byte_size <= 0 {
            return Err(bad(format!("{path}[byte_size] must be greater than 0")).into());
        }
        if byte_size > MAX_BYTE_SIZE {
            return Err(PaytError::unprocessable(
                "file_too_large",
                format!("{path}[byte_size] is {byte_size}; files may be at most {MAX_BYTE_SIZE} bytes"),
            ));
        }
        let checksum = req_str(m, "checksum", &path)?;
        decode_checksum(&checksum, &path)?;
        let content_type = req_str(m, "content_type", &path)?;
        if !content_type.contains('/') || content_type.contains(' ') {
            return Err(bad(format!(
                "{path}[content_type] is not a MIME type ({content_type:?}): use e.g. application/pdf"
            ))
            .into());
        }
        wanted.push((checksum, byte_size, content_type));
    }
    let now = state.now();
    let expires = now + Duration::minutes(URL_LIFETIME_MINUTES);
    let created = state.store.write(|db| {
        // Slots whose URL expired before any bytes arrived are of no use to anyone.
        let stale: Vec<String> = db
            .files
            .iter(&admin)
            .filter(|f| !f.uploaded() && f.expires_at <= now)
            .map(|f| f.id.to_string())
            .collect();
        for key in stale {
            db.files.remove(&admin, &key);
        }
        let mut out = Vec::new();
        for (checksum, byte_size, content_type) in wanted {
            if db
                .files
                .lookup(&admin, "checksum", &checksum)
                .any(UploadedFile::uploaded)
            {
                continue;
            }
            let id = state.ids.next_seq();
            let signature = mock_core::ids::secret_hex(40);
            let file = UploadedFile {
                checksum,
                byte_size,
                content_type,
                created_at: now,
                ..UploadedFile::slot(admin, id, expires, signature)
            };
            // The id was just taken from the generator, so the store takes the slot; a refusal
            // would be a bug, answered as a conflict rather than a slot silently left out.
            db.files
                .insert(file.clone())
                .map_err(|e| PaytError::unprocessable("conflict", e.to_string()))?;
            out.push(file);
        }
        Ok::<_, PaytError>(out)
    })?;
    let body = serde_json::to_value(&created).map_err(|_| PaytError::Core(mock_core::CoreError::Internal))?;
    Ok((StatusCode::CREATED, Json(body)))
}

/// Adds this resource's fixtures for administration `admin`: the documents of the fixture
/// invoices, already uploaded. Each is a small real file (a one-page PDF, a UBL invoice) naming its
/// invoice; the invoice's checksum is that file's digest, so `GET document_url` serves it.
pub fn seed(g: &mut Gen, db: &mut Db, admin: u64) {
    struct Doc {
        invoice: u64,
        ubl: bool,
        at: DateTime<Utc>,
        content: Vec<u8>,
        filename: String,
    }
    let docs: Vec<Doc> = db
        .invoices
        .iter(&admin)
        .flat_map(|i| {
            let at = crate::format::at(i.sent_at).unwrap_or(i.updated_at);
            let total = crate::format::two_decimals(i.total_amount).to_string();
            [
                i.document_checksum.as_ref().map(|_| Doc {
                    invoice: i.id,
                    ubl: false,
                    at,
                    content: pdf(&[
                        format!("Invoice {}", i.invoice_number),
                        format!("Invoice date {}", i.invoice_date),
                        format!("Due date {}", i.due_date),
                        format!("Total {} {total}", i.currency_code),
                    ]),
                    filename: format!("{}.pdf", i.invoice_number),
                }),
                i.ubl_document_checksum.as_ref().map(|_| Doc {
                    invoice: i.id,
                    ubl: true,
                    at,
                    content: ubl(&i.invoice_number, i.invoice_date, i.due_date, &i.currency_code, &total),
                    filename: format!("{}.xml", i.invoice_number),
                }),
            ]
        })
        .flatten()
        .collect();
    for doc in docs {
        // The draws are those of the fixtures before the documents had content, so every later
        // fixture stays as it was.
        let created = doc.at - Duration::minutes(g.f.int(5, 120) as i64);
        let signature = format!("{:032x}", u128::from_le_bytes(g.f.bytes16()));
        let expires = created + Duration::minutes(URL_LIFETIME_MINUTES);
        let id = g.id();
        let _ = g.f.int(20_000, 900_000);
        let checksum = storage::checksum(&doc.content);
        let content_type = if doc.ubl { "application/xml" } else { "application/pdf" };
        let (ubl, filename, sum) = (doc.ubl, doc.filename, checksum.clone());
        db.invoices.update(&admin, &doc.invoice.to_string(), |i| {
            if ubl {
                i.ubl_document_checksum = Some(sum.into());
                i.ubl_document_filename = Some(filename.into());
            } else {
                i.document_checksum = Some(sum.into());
                i.document_filename = Some(filename.into());
            }
        });
        let file = UploadedFile {
            checksum,
            byte_size: doc.content.len() as i64,
            content_type: content_type.to_string(),
            created_at: created,
            uploaded_at: Some(created),
            content: Some(Bytes::from(doc.content)),
            ..UploadedFile::slot(admin, id, expires, signature)
        };
        // Ids are fresh, so the insert cannot collide.
        if db.files.insert(file).is_err() {
            tracing::warn!(id, "duplicate fixture file");
        }
    }
}

/// A one-page PDF showing `lines`, with a correct cross-reference table.
pub fn pdf(lines: &[String]) -> Vec<u8> {
    let escape = |s: &str| s.replace('\\', "\\\\").replace('(', "\\(").replace(')', "\\)");
    let mut text = String::from("BT /F1 12 Tf 72 760 Td 16 TL");
    for l in lines {
        text.push_str(&format!(" ({}) '", escape(l)));
    }
    text.push_str(" ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>"
            .to_string(),
        format!("<< /Length {} >>\nstream\n{text}\nendstream", text.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = String::from("%PDF-1.4\n");
    let mut offsets = Vec::new();
    for (n, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.push_str(&format!("{} 0 obj\n{o}\nendobj\n", n + 1));
    }
    let xref = out.len();
    out.push_str(&format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1));
    for o in offsets {
        out.push_str(&format!("{o:010} 00000 n \n"));
    }
    out.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    out.into_bytes()
}

/// A minimal UBL 2.1 invoice.
fn ubl(number: &str, date: chrono::NaiveDate, due: chrono::NaiveDate, currency: &str, total: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\" \
xmlns:cac=\"urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2\" \
xmlns:cbc=\"urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2\">\n\
  <cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>\n\
  <cbc:ID>{number}</cbc:ID>\n\
  <cbc:IssueDate>{date}</cbc:IssueDate>\n\
  <cbc:DueDate>{due}</cbc:DueDate>\n\
  <cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>\n\
  <cbc:DocumentCurrencyCode>{currency}</cbc:DocumentCurrencyCode>\n\
  <cac:LegalMonetaryTotal>\n\
    <cbc:PayableAmount currencyID=\"{currency}\">{total}</cbc:PayableAmount>\n\
  </cac:LegalMonetaryTotal>\n\
</Invoice>\n"
    )
    .into_bytes()
}
