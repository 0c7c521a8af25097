//! v2 documents: every collection (list, upload, retrieve, delete, download) below claims,
//! enforceable titles, rental agreements, order and mandate messages and request-to-client
//! answers, plus the inline `documents[]` of JSON commands.
//!
//! An upload is multipart (`type`, then exactly one of a `file` part or a `base64` field, and an
//! optional `filename`), as the SDK sends it, or the same keys as a JSON object. Accepted: PDF,
//! JPEG and PNG (detected from the content, not the name), at most 10 MiB decoded, PDFs at most
//! 100 pages (400 `page_limit_exceeded`); at most 20 documents and 50 MiB per JSON command (the
//! mock's request body limit, 10 MiB, comes first). The mock scans nothing: a document is
//! `ready` at once, with its `download_url` (the authenticated API URL of its `…/download/`);
//! the back office can set it `pending`, `failed` (with a `failure_reason`) or `rejected`. The
//! file name is sanitized (path parts and control characters removed, the extension forced to
//! the detected type). Uploads and deletes follow their parent's editability (409 otherwise).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use mock_core::body::{BodyKind, body_kind};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::list::Origin;
use crate::state::{AppState, Db, Scope};
use crate::v2::conv::{Idem, Obj, Paging, Patch, Query, V2Caller, if_match, paged, path_id as uuid, show, ts};
use crate::v2::error::{Errs, V2Error};

/// Every document type.
pub const ALL_TYPES: &[&str] = &[
    "bank_statement",
    "claim_statement",
    "correspondence",
    "enforceable_title",
    "invoice",
    "other",
    "payment_proof",
    "reminder",
    "rental_agreement",
];
/// Types of claim documents.
pub const CLAIM_TYPES: &[&str] = &[
    "bank_statement",
    "claim_statement",
    "correspondence",
    "invoice",
    "other",
    "payment_proof",
    "reminder",
];
/// Types of title documents.
pub const TITLE_TYPES: &[&str] = &["enforceable_title", "other"];
/// Types of rental-agreement documents.
pub const RENTAL_TYPES: &[&str] = &["rental_agreement", "claim_statement", "other"];
/// The largest file (decoded).
pub const MAX_FILE: usize = 10 * 1024 * 1024;
/// The most pages a PDF may have.
pub const MAX_PAGES: usize = 100;
/// The most inline documents per command.
pub const MAX_INLINE: usize = 20;
/// The most decoded bytes of inline documents per command.
pub const MAX_INLINE_BYTES: usize = 50 * 1024 * 1024;

state_enum! {
    /// A document's `status`: the result of paywise's scan of an upload (the mock's uploads are
    /// `ready` at once; the back office sets any result, see [`DocumentStatus::next`]).
    pub enum DocumentStatus moved by ScanResult {
        /// Being scanned.
        Pending = "pending",
        /// Scanned; downloadable.
        Ready = "ready",
        /// The scan failed (with a `failure_reason`).
        Failed = "failed",
        /// Refused.
        Rejected = "rejected",
    }
}

/// What moves a [`DocumentStatus`]: a scan's result (any status, from any status: paywise may
/// scan a document again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanResult(pub DocumentStatus);

impl DocumentStatus {
    /// Where `event` takes a document in this status (every result is allowed).
    pub fn next(self, ScanResult(to): ScanResult) -> Option<Self> {
        Some(to)
    }
}

/// A stored document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// Creation order.
    pub seq: u64,
    /// The company.
    pub scope: Scope,
    /// Id.
    pub id: Uuid,
    /// Document type.
    pub kind: String,
    /// The scan's result.
    pub status: DocumentStatus,
    /// Why it failed.
    pub failure_reason: Option<String>,
    /// Sanitized name.
    pub filename: String,
    /// Detected type.
    pub mime_type: String,
    /// `claim`, `message`, `request_to_client_answer`, `rental_agreement`, `enforceable_title`.
    pub parent_type: String,
    /// The parent's id.
    pub parent_id: Uuid,
    /// The claim the document belongs to, for claim and title documents (mandate views).
    pub claim: Option<Uuid>,
    /// Its URL path (`/v2/claims/{claim}/documents/{id}/`).
    pub path: String,
    /// The content.
    #[serde(with = "crate::format::bytes")]
    pub bytes: Vec<u8>,
    /// Creation.
    #[serde(with = "crate::format::ts")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "crate::format::ts")]
    pub updated_at: DateTime<Utc>,
}

// Read by parent, and by the claim they belong to.
scoped_record!(
    Document,
    lookups = |r| {
        let mut keys = vec![("parent", r.parent_id.to_string())];
        keys.extend(r.claim.iter().map(|c| ("claim", c.to_string())));
        keys
    }
);

impl Document {
    /// `DocumentRead`.
    pub fn render(&self, origin: &Origin) -> Value {
        json!({
            "id": self.id.to_string(),
            "type": self.kind,
            "status": self.status,
            "failure_reason": self.failure_reason,
            "filename": self.filename,
            "mime_type": self.mime_type,
            "download_url": (self.status == DocumentStatus::Ready).then(|| origin.url(&format!("{}download/", self.path))),
            "parent": { "id": self.parent_id.to_string(), "type": self.parent_type },
            "created_at": ts(&self.created_at),
            "updated_at": ts(&self.updated_at),
        })
    }

    /// `MandateDocument` (no parent, no `updated_at`), downloadable below the mandate.
    pub fn render_for_mandate(&self, origin: &Origin, mandate: Uuid) -> Value {
        json!({
            "id": self.id.to_string(),
            "type": self.kind,
            "status": self.status,
            "filename": self.filename,
            "mime_type": self.mime_type,
            "download_url": (self.status == DocumentStatus::Ready)
                .then(|| origin.url(&format!("/v2/mandates/{mandate}/documents/{}/download/", self.id))),
            "created_at": ts(&self.created_at),
        })
    }
}

/// The documents of parent `parent_id`, oldest first.
pub fn of_parent(db: &Db, scope: Scope, parent_id: Uuid) -> Vec<Document> {
    let mut docs: Vec<Document> = db
        .v2_documents
        .lookup(&scope, "parent", &parent_id.to_string())
        .cloned()
        .collect();
    docs.sort_by_key(|d| d.seq);
    docs
}

/// Rendered documents of `parent_id`.
pub fn rendered(db: &Db, scope: Scope, parent_id: Uuid, origin: &Origin) -> Value {
    Value::Array(
        of_parent(db, scope, parent_id)
            .iter()
            .map(|d| d.render(origin))
            .collect(),
    )
}

/// A file read from a request, checked.
#[derive(Debug, Clone)]
pub struct NewFile {
    /// Document type.
    pub kind: String,
    /// Sanitized name.
    pub filename: String,
    /// Detected type.
    pub mime_type: String,
    /// Content.
    pub bytes: Vec<u8>,
}

fn detect(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    if bytes.starts_with(b"%PDF") {
        Some(("application/pdf", "pdf"))
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("image/jpeg", "jpg"))
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G']) {
        Some(("image/png", "png"))
    } else {
        None
    }
}

/// The pages of a PDF (counted `/Type /Page` objects).
fn pdf_pages(bytes: &[u8]) -> usize {
    let needle = b"/Type";
    let mut n = 0;
    let mut i = 0;
    while let Some(pos) = memchr::memmem::find(&bytes[i..], needle) {
        let rest = &bytes[i + pos + needle.len()..];
        let rest = rest.trim_ascii_start();
        if rest.starts_with(b"/Page") && !rest.starts_with(b"/Pages") {
            n += 1;
        }
        i += pos + needle.len();
    }
    n
}

fn sanitize(name: Option<&str>, ext: &str, kind: &str) -> String {
    let base = name
        .unwrap_or("")
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>();
    let stem = base
        .rsplit_once('.')
        .map_or(base.as_str(), |(s, _)| s)
        .trim()
        .to_string();
    let stem = if stem.is_empty() { kind.to_string() } else { stem };
    format!("{stem}.{ext}")
}

/// Checks one file: type from `allowed`, content PDF/JPEG/PNG, size, pages.
pub fn check_file(
    at: &str,
    kind: Option<String>,
    allowed: &[&str],
    bytes: Vec<u8>,
    filename: Option<&str>,
    errs: &mut Errs,
) -> Option<NewFile> {
    let kind = match kind {
        Some(k) if allowed.contains(&k.as_str()) => k,
        Some(k) => {
            errs.push(
                &join(at, "type"),
                "invalid_choice",
                format!("\"{k}\" is not a valid choice here; one of: {}.", allowed.join(", ")),
            );
            return None;
        }
        None => {
            errs.push(&join(at, "type"), "required", "This field is required.");
            return None;
        }
    };
    if bytes.len() > MAX_FILE {
        errs.push(
            at,
            "file_too_large",
            "Each file may have at most 10 MiB (10,485,760 bytes).",
        );
        return None;
    }
    let Some((mime, ext)) = detect(&bytes) else {
        errs.push(
            at,
            "unsupported_media_type",
            "Only PDF, JPEG and PNG files are accepted.",
        );
        return None;
    };
    if mime == "application/pdf" && pdf_pages(&bytes) > MAX_PAGES {
        errs.push(at, "page_limit_exceeded", "A PDF may have at most 100 pages.");
        return None;
    }
    Some(NewFile {
        filename: sanitize(filename, ext, &kind),
        kind,
        mime_type: mime.to_string(),
        bytes,
    })
}

fn join(at: &str, name: &str) -> String {
    if at.is_empty() {
        name.to_string()
    } else {
        format!("{at}.{name}")
    }
}

/// Reads inline documents `{type, base64, filename}` of member `name` of `o` (types from
/// `allowed`), counting them against the command's `budget` (documents, bytes).
pub fn read_inline(
    o: &Obj<'_>,
    name: &str,
    allowed: &[&str],
    budget: &mut (usize, usize),
    errs: &mut Errs,
) -> Vec<NewFile> {
    let items = o.list(name, MAX_INLINE, errs, |m, at, errs| {
        let d = Obj::new(m, at, &["type", "base64", "filename"], errs);
        let kind = d.string("type", 50, errs).set();
        let filename = d.opt_string("filename", 255, errs).set();
        let bytes = match d.get("base64") {
            crate::v2::conv::Field::Value(Value::String(s)) => match STANDARD.decode(s.trim()) {
                Ok(b) => b,
                Err(_) => {
                    errs.push(&d.path("base64"), "invalid", "Not valid base64.");
                    return None;
                }
            },
            _ => {
                errs.push(&d.path("base64"), "required", "This field is required.");
                return None;
            }
        };
        budget.0 += 1;
        budget.1 += bytes.len();
        check_file(at, kind, allowed, bytes, filename.as_deref(), errs)
    });
    if budget.0 > MAX_INLINE || budget.1 > MAX_INLINE_BYTES {
        errs.push(
            &o.path(name),
            "too_many_documents",
            "A command may carry at most 20 documents and 50 MiB of content.",
        );
    }
    match items {
        Patch::Set(v) => v,
        _ => Vec::new(),
    }
}

/// Stores `file` as a ready document of parent `(parent_type, parent_id)` below `base` (the
/// collection's path, ending in `/`).
#[allow(clippy::too_many_arguments)]
pub fn store(
    db: &mut Db,
    state: &AppState,
    scope: Scope,
    file: NewFile,
    parent_type: &str,
    parent_id: Uuid,
    claim: Option<Uuid>,
    base: &str,
) -> Document {
    let now = state.now();
    let id = state.ids.uuid();
    let doc = Document {
        seq: state.ids.next_seq(),
        scope,
        id,
        kind: file.kind,
        status: DocumentStatus::Ready,
        failure_reason: None,
        filename: file.filename,
        mime_type: file.mime_type,
        parent_type: parent_type.to_string(),
        parent_id,
        claim,
        path: format!("{base}{id}/"),
        bytes: file.bytes,
        created_at: now,
        updated_at: now,
    };
    if let Err(e) = db.v2_documents.insert(doc.clone()) {
        tracing::warn!("document not stored: {e}");
    }
    doc
}

/// Which parent a collection belongs to, and what it allows.
pub struct Parent {
    /// `claim`, `message`, ...
    pub kind: &'static str,
    /// The parent's id.
    pub id: Uuid,
    /// The claim, for claim and title documents.
    pub claim: Option<Uuid>,
    /// The collection's path (ends in `/`).
    pub base: String,
    /// Upload types.
    pub types: &'static [&'static str],
    /// Whether uploads and deletes are allowed now (the refusal otherwise).
    pub editable: Result<(), V2Error>,
}

/// Resolves the parent of a collection from its route `kind` and path ids.
fn resolve(db: &Db, state: &AppState, scope: Scope, kind: Kind, ids: &[String]) -> Result<Parent, V2Error> {
    let id = |i: usize| ids.get(i).map_or_else(|| Err(V2Error::not_found()), |s| uuid(s));
    match kind {
        Kind::Claim => {
            let claim = crate::v2::claims::find(db, scope, id(0)?)?;
            Ok(Parent {
                kind: "claim",
                id: claim.id,
                claim: Some(claim.id),
                base: format!("/v2/claims/{}/documents/", claim.id),
                types: CLAIM_TYPES,
                editable: crate::v2::claims::editable(db, state, &claim),
            })
        }
        Kind::Title => {
            let claim = crate::v2::claims::find(db, scope, id(0)?)?;
            let title = crate::v2::claims::title_of(&claim).ok_or_else(V2Error::not_found)?;
            Ok(Parent {
                kind: "enforceable_title",
                id: title.id,
                claim: Some(claim.id),
                base: format!("/v2/claims/{}/enforceable-title/documents/", claim.id),
                types: TITLE_TYPES,
                editable: crate::v2::claims::editable(db, state, &claim),
            })
        }
        Kind::Rental => {
            let order = crate::v2::orders::find(db, scope, id(0)?)?;
            let agreement = order.rental_agreement.as_ref().ok_or_else(V2Error::not_found)?;
            Ok(Parent {
                kind: "rental_agreement",
                id: agreement.id,
                claim: None,
                base: format!("/v2/orders/{}/rental-agreement/documents/", order.id),
                types: RENTAL_TYPES,
                editable: crate::v2::orders::editable_in(db, &order, state.now()),
            })
        }
        Kind::OrderMessage | Kind::MandateMessage => {
            let (parent, base) = if kind == Kind::OrderMessage {
                let o = crate::v2::orders::find(db, scope, id(0)?)?;
                (o.id, format!("/v2/orders/{}", o.id))
            } else {
                let m = crate::v2::mandates::find(db, scope, id(0)?)?;
                (m.id, format!("/v2/mandates/{}", m.id))
            };
            let message = crate::v2::messages::find(db, scope, parent, id(1)?)?;
            Ok(Parent {
                kind: "message",
                id: message.id,
                claim: None,
                base: format!("{base}/messages/{}/documents/", message.id),
                types: ALL_TYPES,
                editable: if message.is_editable() {
                    Ok(())
                } else {
                    Err(V2Error::conflict(
                        "message_not_editable",
                        "The message is under review or was handled; its documents can no longer change.",
                    ))
                },
            })
        }
        Kind::OrderAnswer | Kind::MandateAnswer => {
            let answer = crate::v2::requests::answer_parent(db, scope, kind == Kind::OrderAnswer, id(0)?, id(1)?)?;
            Ok(Parent {
                kind: "request_to_client_answer",
                id: answer.0,
                claim: None,
                base: answer.1,
                types: ALL_TYPES,
                editable: answer.2,
            })
        }
    }
}

/// The collections, by route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `/v2/claims/{claim}/documents/`
    Claim,
    /// `/v2/claims/{claim}/enforceable-title/documents/`
    Title,
    /// `/v2/orders/{order}/rental-agreement/documents/`
    Rental,
    /// `/v2/orders/{order}/messages/{message}/documents/`
    OrderMessage,
    /// `/v2/mandates/{mandate}/messages/{message}/documents/`
    MandateMessage,
    /// `/v2/orders/{order}/requests-to-client/{request}/answer/documents/`
    OrderAnswer,
    /// `/v2/mandates/{mandate}/requests-to-client/{request}/answer/documents/`
    MandateAnswer,
}

macro_rules! collection {
    ($router:expr, $path:literal, $kind:expr) => {
        $router
            .route(
                concat!($path, "/"),
                get(|s: State<AppState>, c: V2Caller, o: Origin, p: Path<Vec<String>>| async move {
                    list(s, c, o, p, $kind).await
                })
                .post(
                    |s: State<AppState>, c: V2Caller, o: Origin, i: Idem, p: Path<Vec<String>>, req: Request| async move {
                        upload(s, c, o, i, p, req, $kind).await
                    },
                ),
            )
            .route(
                concat!($path, "/{doc}/"),
                get(|s: State<AppState>, c: V2Caller, o: Origin, h: HeaderMap, p: Path<Vec<String>>| async move {
                    get_one(s, c, o, h, p, $kind).await
                })
                .delete(
                    |s: State<AppState>, c: V2Caller, o: Origin, h: HeaderMap, p: Path<Vec<String>>| async move {
                        delete(s, c, o, h, p, $kind).await
                    },
                ),
            )
            .route(
                concat!($path, "/{doc}/download/"),
                get(|s: State<AppState>, c: V2Caller, p: Path<Vec<String>>| async move { download(s, c, p, $kind).await }),
            )
    };
}

/// The routes.
pub fn router() -> Router<AppState> {
    let r = Router::new();
    let r = collection!(r, "/claims/{p1}/documents", Kind::Claim);
    let r = collection!(r, "/claims/{p1}/enforceable-title/documents", Kind::Title);
    let r = collection!(r, "/orders/{p1}/rental-agreement/documents", Kind::Rental);
    let r = collection!(r, "/orders/{p1}/messages/{p2}/documents", Kind::OrderMessage);
    let r = collection!(r, "/mandates/{p1}/messages/{p2}/documents", Kind::MandateMessage);
    let r = collection!(
        r,
        "/orders/{p1}/requests-to-client/{p2}/answer/documents",
        Kind::OrderAnswer
    );
    collection!(
        r,
        "/mandates/{p1}/requests-to-client/{p2}/answer/documents",
        Kind::MandateAnswer
    )
}

async fn list(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    Path(ids): Path<Vec<String>>,
    kind: Kind,
) -> Result<Response, V2Error> {
    let mut q = Query::new(&origin.query);
    let paging = Paging::read(&mut q, true);
    q.finish()?;
    let docs = state.store.read(|db| {
        let parent = resolve(db, &state, caller.scope, kind, &ids)?;
        Ok::<_, V2Error>(of_parent(db, caller.scope, parent.id))
    })?;
    Ok(paged(
        &origin,
        &paging,
        state.now(),
        docs,
        |d| (d.updated_at, d.id),
        |d| d.render(&origin),
    ))
}

fn find_doc(db: &Db, scope: Scope, parent: &Parent, raw: Option<&String>) -> Result<Document, V2Error> {
    let id = uuid(raw.map_or("", String::as_str))?;
    db.v2_documents
        .get(&scope, &id.to_string())
        .filter(|d| d.parent_id == parent.id)
        .cloned()
        .ok_or_else(V2Error::not_found)
}

async fn get_one(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    headers: HeaderMap,
    Path(ids): Path<Vec<String>>,
    kind: Kind,
) -> Result<Response, V2Error> {
    let doc = state.store.read(|db| {
        let parent = resolve(db, &state, caller.scope, kind, &ids)?;
        find_doc(db, caller.scope, &parent, ids.last())
    })?;
    Ok(show(&headers, doc.render(&origin)))
}

async fn delete(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    headers: HeaderMap,
    Path(ids): Path<Vec<String>>,
    kind: Kind,
) -> Result<Response, V2Error> {
    state.store.write(|db| {
        let parent = resolve(db, &state, caller.scope, kind, &ids)?;
        let doc = find_doc(db, caller.scope, &parent, ids.last())?;
        if_match(&headers, &doc.render(&origin))?;
        parent.editable?;
        db.v2_documents.remove(&caller.scope, &doc.id.to_string());
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}

/// Serves a file.
pub fn file_response(filename: &str, mime: &str, bytes: Vec<u8>) -> Response {
    let mut res = (StatusCode::OK, bytes).into_response();
    if let Ok(v) = HeaderValue::from_str(mime) {
        res.headers_mut().insert(CONTENT_TYPE, v);
    }
    let safe: String = filename.chars().filter(|c| *c != '"' && !c.is_control()).collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        res.headers_mut().insert(CONTENT_DISPOSITION, v);
    }
    res
}

/// Serves an attachment paywise listed as `filename` (`mime`): the world's stored file `id`, or,
/// when the world holds no such file, a generated PDF titled `title`.
pub fn attachment_response(db: &Db, scope: Scope, id: Uuid, filename: &str, mime: &str, title: &str) -> Response {
    let content = db
        .files
        .get(&scope, &id.to_string())
        .map_or_else(|| crate::resources::files::generated_pdf(title), |f| f.content.clone());
    file_response(filename, mime, content)
}

async fn download(
    State(state): State<AppState>,
    caller: V2Caller,
    Path(ids): Path<Vec<String>>,
    kind: Kind,
) -> Result<Response, V2Error> {
    let doc = state.store.read(|db| {
        let parent = resolve(db, &state, caller.scope, kind, &ids)?;
        find_doc(db, caller.scope, &parent, ids.last())
    })?;
    if doc.status != DocumentStatus::Ready {
        return Err(V2Error::not_found());
    }
    Ok(file_response(&doc.filename, &doc.mime_type, doc.bytes))
}

/// The upload's fields: `type`, `filename`, and the content (`file` part or `base64`).
async fn read_upload(
    req: Request,
    state: &AppState,
) -> Result<
    (
        Map<String, Value>,
        Option<String>,
        Option<String>,
        Option<Vec<u8>>,
        Option<String>,
    ),
    V2Error,
> {
    let kind = body_kind(req.headers());
    if kind == BodyKind::Multipart {
        let mut mp = Multipart::from_request(req, state)
            .await
            .map_err(|e| V2Error::field("", "invalid", format!("Unreadable multipart body: {e}")))?;
        let mut fields = Map::new();
        let (mut t, mut name, mut file, mut b64) = (None, None, None, None);
        for part in 0.. {
            let field = match mp.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return Err(V2Error::field("", "invalid", format!("Unreadable multipart body: {e}"))),
            };
            if part == mock_core::body::MAX_MULTIPART_PARTS {
                return Err(V2Error::field(
                    "",
                    "invalid",
                    mock_core::body::too_many_parts("`type`, `filename`, and `file` or `base64`"),
                ));
            }
            let fname = field.name().unwrap_or("").to_string();
            let part_filename = field.file_name().map(str::to_string);
            let data: Bytes = field
                .bytes()
                .await
                .map_err(|e| V2Error::field(&fname, "invalid", format!("Unreadable part: {e}")))?;
            let text = || String::from_utf8_lossy(&data).to_string();
            match fname.as_str() {
                "type" => t = Some(text()),
                "filename" => name = Some(text()),
                "base64" => b64 = Some(text()),
                "file" => {
                    if name.is_none() {
                        name = part_filename;
                    }
                    file = Some(data.to_vec());
                }
                other => {
                    fields.insert(other.to_string(), Value::Null);
                }
            }
        }
        return Ok((fields, t, name, file, b64));
    }
    let bytes = mock_core::body::read_bytes(req, state)
        .await
        .map_err(|e| V2Error::core(&e))?;
    let body: Map<String, Value> = match mock_core::body::parse_json(&bytes) {
        Ok(Value::Object(m)) => m,
        Err(e @ mock_core::body::BodyError::TooComplex(_)) => return Err(crate::v2::conv::body_error(&e)),
        _ => {
            return Err(V2Error::field(
                "",
                "invalid",
                "Send multipart/form-data with type and a file (or base64), or a JSON object with type and base64.",
            ));
        }
    };
    // A member that is not a string is the `invalid` error the other v2 readers give.
    let o = Obj {
        map: &body,
        at: String::new(),
    };
    let mut errs = Errs::default();
    let mut get = |k: &str| match o.string(k, usize::MAX, &mut errs) {
        Patch::Set(s) => Some(s),
        Patch::Keep | Patch::Clear => None,
    };
    let (t, name, b64) = (get("type"), get("filename"), get("base64"));
    errs.finish(())?;
    let mut rest = body.clone();
    for k in ["type", "filename", "base64"] {
        rest.remove(k);
    }
    Ok((rest, t, name, None, b64))
}

async fn upload(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    idem: Idem,
    Path(ids): Path<Vec<String>>,
    req: Request,
    kind: Kind,
) -> Result<Response, V2Error> {
    let (unknown, t, name, file, b64) = read_upload(req, &state).await?;
    let mut errs = Errs::default();
    for k in unknown.keys() {
        errs.push(
            k,
            "unknown_field",
            "Unknown field; allowed here: type, file, base64, filename.",
        );
    }
    let bytes = match (file, b64) {
        (Some(f), None) => Some(f),
        (None, Some(b)) => match STANDARD.decode(b.trim()) {
            Ok(v) => Some(v),
            Err(_) => {
                errs.push("base64", "invalid", "Not valid base64.");
                None
            }
        },
        (Some(_), Some(_)) => {
            errs.push("", "invalid", "Send exactly one of file and base64, not both.");
            None
        }
        (None, None) => {
            errs.push("file", "required", "Send exactly one of file and base64.");
            None
        }
    };
    // The key identifies the command: type, name and a digest of the content.
    let mut key_body = Map::new();
    key_body.insert("type".into(), json!(t));
    key_body.insert("filename".into(), json!(name));
    if let Some(b) = &bytes {
        use sha2::Digest as _;
        key_body.insert("content".into(), json!(hex::encode(sha2::Sha256::digest(b))));
    }
    idem.run(&state, &caller, &key_body, || {
        let parent = state.store.read(|db| resolve(db, &state, caller.scope, kind, &ids))?;
        let mut errs = errs;
        let file = bytes.and_then(|b| check_file("file", t.clone(), parent.types, b, name.as_deref(), &mut errs));
        let file = errs.finish(file)?;
        parent.editable.clone()?;
        let Some(file) = file else {
            return Err(V2Error::field(
                "file",
                "required",
                "Send exactly one of file and base64.",
            ));
        };
        let doc = state.store.write(|db| {
            let d = store(
                db,
                &state,
                caller.scope,
                file,
                parent.kind,
                parent.id,
                parent.claim,
                &parent.base,
            );
            crate::v2::claims::touch_parent(db, &state, caller.scope, parent.kind, parent.id, parent.claim);
            d
        });
        Ok((StatusCode::CREATED, doc.render(&origin)))
    })
}

#[cfg(test)]
mod state_tests {
    use proptest::prelude::*;

    use super::*;
    use crate::states::testing::{round_trips, walk};

    proptest! {
        #[test]
        fn every_scan_result_is_a_status(
            start in proptest::sample::select(DocumentStatus::ALL),
            events in proptest::collection::vec(proptest::sample::select(DocumentStatus::ALL).prop_map(ScanResult), 0..20),
        ) {
            let seen = walk(DocumentStatus::ALL, start, &events);
            prop_assert_eq!(seen.len(), events.len() + 1);
        }
    }

    #[test]
    fn names_round_trip() {
        round_trips(DocumentStatus::ALL, DocumentStatus::as_str);
        assert_eq!(DocumentStatus::NAMES, ["pending", "ready", "failed", "rejected"]);
    }
}
