//! Requests to client ("Rückfragen") of a mandate, their answers and uploads.
//!
//! `GET /v1/mandates/{mandate_id}/requests-to-client/` (filter `answered`), `GET .../{id}/`,
//! `POST .../{id}/answer/` (201 with the RequestToClient), `POST .../{id}/answer/documents/`
//! (multipart `file`, 201 with the RequestToClient) and
//! `GET .../{id}/attachments/{file_id}/download/`.
//!
//! Answer rules (`text`, `additional_comment`), per allowed answer type; an answer is accepted
//! when it satisfies one of the request's `allowed_answer_types` (the errors shown are those of
//! the first type):
//! - `yes-no`: `text` is `yes` or `no`;
//! - `yes-no-dontknow`: `text` is `yes`, `no` or `dontknow`;
//! - `fileupload`: at least one file uploaded to `answer/documents/` first; `text` optional;
//! - `yes-no-freetext-on-no`: `text` `yes`/`no`; with `no`, `additional_comment` is required;
//! - `yes-with-date-no-freetext-on-no`: with `yes`, `additional_comment` holds a date
//!   `YYYY-MM-DD`; with `no`, `additional_comment` holds the required free text;
//! - `dynamic-form`: `text` is a JSON object, sent either as an object or as a string holding
//!   one; it is stored as a JSON string.
//!
//! A request can be answered once; a second answer or an upload after the answer is a 400.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use mock_core::server::JsonBytes;
use mock_core::store::Hint;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::error::PaywiseError;
use crate::format::ToJson;
use crate::format::timestamp;
use crate::list::{self, Filters, JsonBody, Origin, path_uuid};
use crate::resources::files::{self, StoredFile};
use crate::resources::mandates::Mandate;
use crate::state::{AppState, Caller, Db, Scope};

/// Every answer type.
pub const ANSWER_TYPES: &[&str] = &[
    "yes-no",
    "yes-no-dontknow",
    "fileupload",
    "yes-no-freetext-on-no",
    "yes-with-date-no-freetext-on-no",
    "dynamic-form",
];

/// A file of a request or an answer: `{id, filename, mime_type, file_size}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRef {
    /// The file's id.
    pub id: Uuid,
    /// File name.
    pub filename: String,
    /// MIME type.
    pub mime_type: String,
    /// Size in bytes.
    pub file_size: u64,
}

impl From<&StoredFile> for FileRef {
    fn from(f: &StoredFile) -> Self {
        Self {
            id: f.id,
            filename: f.filename.clone(),
            mime_type: f.mime_type.clone(),
            file_size: f.file_size,
        }
    }
}

impl ToJson for FileRef {
    fn to_json(&self) -> Value {
        api_object! {
            "id" => self.id,
            "filename" => self.filename,
            "mime_type" => self.mime_type,
            "file_size" => self.file_size,
        }
    }
}

/// As v1 shows it (without the v2-only `booking_date`).
impl ToJson for Answer {
    fn to_json(&self) -> Value {
        api_object! {
            "id" => self.id,
            "text" => self.text,
            "additional_comment" => self.additional_comment,
            "files" => self.files,
            "created" => self.created,
        }
    }
}

/// The client's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// Unique identifier.
    pub id: Uuid,
    /// The answer (`yes`, `no`, ..., or a JSON string for dynamic forms).
    pub text: Option<String>,
    /// Free text, or the date for `yes-with-date-no-freetext-on-no`.
    pub additional_comment: Option<String>,
    /// The uploaded files.
    pub files: Vec<FileRef>,
    /// Creation.
    #[serde(with = "crate::format::ts")]
    pub created: DateTime<Utc>,
    /// The date a v2 `yes-with-date-no-freetext-on-no` answer gave (v1 does not show it).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub booking_date: Option<NaiveDate>,
}

/// A question paywise asks the client about a mandate (the API shows it as its handlers render
/// it; `Serialize` is its storage form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestToClient {
    /// Creation order (not exposed).
    pub seq: u64,
    /// Company and access mode (not exposed).
    pub scope: Scope,
    /// Unique identifier.
    pub id: Uuid,
    /// The mandate (`None` while the claim asked about is still under review).
    pub mandate: Option<Uuid>,
    /// The mandate's file number.
    pub mandate_reference: Option<String>,
    /// The claim asked about, for requests made during claim review (not exposed).
    pub claim: Option<Uuid>,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Allowed answer types (see [`ANSWER_TYPES`]).
    pub allowed_answer_types: Vec<String>,
    /// Files paywise attached.
    pub file_attachments: Vec<FileRef>,
    /// Files the client uploaded for the answer.
    pub uploaded: Vec<FileRef>,
    /// The answer.
    pub answer: Option<Answer>,
    /// Creation.
    pub created: DateTime<Utc>,
    /// When answered.
    pub answered_at: Option<DateTime<Utc>>,
}

// Read by the mandate and by the claim they were asked about.
scoped_record!(
    RequestToClient,
    lookups = |r| {
        let mandate = r.mandate.iter().map(|m| ("mandate", m.to_string()));
        mandate
            .chain(r.claim.iter().map(|c| ("claim", c.to_string())))
            .collect()
    }
);

impl RequestToClient {
    fn href(&self, origin: &Origin) -> Option<String> {
        self.mandate
            .map(|m| origin.url(&format!("/v1/mandates/{m}/requests-to-client/{}/", self.id)))
    }
}

impl list::Resource for RequestToClient {
    fn render(&self, origin: &Origin) -> Value {
        let mut out = Map::new();
        out.insert("id".into(), json!(self.id));
        out.insert("href".into(), json!(self.href(origin)));
        out.insert(
            "mandate".into(),
            match self.mandate {
                Some(m) => json!({
                    "id": m,
                    "href": origin.url(&format!("/v1/mandates/{m}/")),
                    "reference_number": self.mandate_reference,
                }),
                None => Value::Null,
            },
        );
        out.insert("title".into(), json!(self.title));
        out.insert("description".into(), json!(self.description));
        out.insert("allowed_answer_types".into(), json!(self.allowed_answer_types));
        let attachments: Vec<Value> = self
            .file_attachments
            .iter()
            .map(|f| {
                let mut v = f.to_json();
                if let (Value::Object(o), Some(m)) = (&mut v, self.mandate) {
                    o.insert(
                        "download_url".into(),
                        json!(origin.url(&format!(
                            "/v1/mandates/{m}/requests-to-client/{}/attachments/{}/download/",
                            self.id, f.id
                        ))),
                    );
                }
                v
            })
            .collect();
        out.insert("file_attachments".into(), Value::Array(attachments));
        out.insert("answered".into(), json!(self.answer.is_some()));
        out.insert("answer".into(), self.answer.to_json());
        out.insert("created".into(), json!(timestamp(&self.created)));
        out.insert("answered_at".into(), json!(self.answered_at.as_ref().map(timestamp)));
        Value::Object(out)
    }
}

/// The mandate's `requests_to_client_summary`.
pub fn summary(db: &Db, m: &Mandate, origin: &Origin) -> Value {
    let rtcs: Vec<&RequestToClient> = db
        .requests_to_client
        .lookup(&m.scope, "mandate", &m.id.to_string())
        .collect();
    let unanswered = rtcs.iter().filter(|r| r.answer.is_none()).count();
    let items: Vec<Value> = rtcs
        .iter()
        .map(|r| {
            let short: String = r.description.chars().take(100).collect();
            json!({
                "id": r.id,
                "href": r.href(origin),
                "title": r.title,
                "description_short": short,
                "answered": r.answer.is_some(),
                "allowed_answer_types": r.allowed_answer_types,
                "created": timestamp(&r.created),
                "answered_at": r.answered_at.as_ref().map(timestamp),
            })
        })
        .collect();
    json!({
        "total_count": rtcs.len(),
        "unanswered_count": unanswered,
        "has_pending": unanswered > 0,
        "items": items,
    })
}

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/mandates/{mandate_id}/requests-to-client/", get(list))
        .route("/mandates/{mandate_id}/requests-to-client/{request_id}/", get(show))
        .route(
            "/mandates/{mandate_id}/requests-to-client/{request_id}/answer/",
            post(answer),
        )
        .route(
            "/mandates/{mandate_id}/requests-to-client/{request_id}/answer/documents/",
            post(upload),
        )
        .route(
            "/mandates/{mandate_id}/requests-to-client/{request_id}/attachments/{file_id}/download/",
            get(download),
        )
}

fn mandate_id(state: &AppState, caller: &Caller, raw: &str) -> Result<Uuid, PaywiseError> {
    let id = path_uuid(raw)?;
    if state
        .store
        .read(|db| db.mandates.get(&caller.scope(), &id.to_string()).is_some())
    {
        Ok(id)
    } else {
        Err(PaywiseError::not_found())
    }
}

fn find(state: &AppState, caller: &Caller, mandate: &str, request: &str) -> Result<RequestToClient, PaywiseError> {
    let m = mandate_id(state, caller, mandate)?;
    let r = path_uuid(request)?;
    state
        .store
        .read(|db| db.requests_to_client.get(&caller.scope(), &r.to_string()).cloned())
        .filter(|r| r.mandate == Some(m))
        .ok_or_else(PaywiseError::not_found)
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    Path(mandate): Path<String>,
) -> Result<JsonBytes, PaywiseError> {
    let m = mandate_id(&state, &caller, &mandate)?;
    let mut f = Filters::new(&origin.query);
    let answered = f.boolean("answered");
    f.finish()?;
    let matches = |r: &RequestToClient| r.mandate == Some(m) && answered.is_none_or(|a| r.answer.is_some() == a);
    let mandate = m.to_string();
    let hint = Hint::Lookup("mandate", &mandate);
    list::list_hinted(&state, &caller, &origin, hint, Some(&matches), |db| {
        &db.requests_to_client
    })
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    Path((mandate, request)): Path<(String, String)>,
) -> Result<Json<Value>, PaywiseError> {
    use crate::list::Resource;
    Ok(Json(find(&state, &caller, &mandate, &request)?.render(&origin)))
}

const ALREADY: &str = "This request to client has already been answered.";

/// Checks one answer type's rule; `Ok` with the stored text and comment, or the errors.
fn check(
    kind: &str,
    text: &Value,
    comment: &Value,
    uploaded: usize,
) -> Result<(Option<String>, Option<String>), Map<String, Value>> {
    let mut errors = Map::new();
    let mut err = |k: &str, m: String| {
        errors.insert(k.to_string(), json!([m]));
    };
    let as_text = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            _ => None,
        }
    };
    let text_s = as_text(text);
    let comment_s = as_text(comment);
    if !matches!(text, Value::Null | Value::String(_)) && kind != "dynamic-form" {
        err("text", "Not a valid string.".into());
        return Err(errors);
    }
    if !matches!(comment, Value::Null | Value::String(_)) {
        err("additional_comment", "Not a valid string.".into());
        return Err(errors);
    }
    let choice = |choices: &[&str], err: &mut dyn FnMut(&str, String)| -> Option<String> {
        match &text_s {
            None => {
                err("text", "This field is required.".into());
                None
            }
            Some(t) if choices.contains(&t.as_str()) => Some(t.clone()),
            Some(t) => {
                err("text", format!("\"{t}\" is not a valid choice."));
                None
            }
        }
    };
    let out = match kind {
        "yes-no" => choice(&["yes", "no"], &mut err).map(|t| (Some(t), comment_s.clone())),
        "yes-no-dontknow" => choice(&["yes", "no", "dontknow"], &mut err).map(|t| (Some(t), comment_s.clone())),
        "fileupload" => {
            if uploaded == 0 {
                err(
                    "non_field_errors",
                    "Upload at least one file to answer/documents/ before submitting this answer.".into(),
                );
                None
            } else {
                Some((text_s.clone(), comment_s.clone()))
            }
        }
        "yes-no-freetext-on-no" => match choice(&["yes", "no"], &mut err) {
            Some(t) if t == "no" && comment_s.is_none() => {
                err(
                    "additional_comment",
                    "This field is required when the answer is \"no\".".into(),
                );
                None
            }
            Some(t) => Some((Some(t), comment_s.clone())),
            None => None,
        },
        "yes-with-date-no-freetext-on-no" => match choice(&["yes", "no"], &mut err) {
            Some(t) if t == "yes" => match comment_s.as_deref().map(|c| NaiveDate::parse_from_str(c, "%Y-%m-%d")) {
                Some(Ok(d)) => Some((Some(t), Some(d.format("%Y-%m-%d").to_string()))),
                _ => {
                    err(
                        "additional_comment",
                        "A date in the format YYYY-MM-DD is required when the answer is \"yes\".".into(),
                    );
                    None
                }
            },
            Some(t) => {
                if comment_s.is_none() {
                    err(
                        "additional_comment",
                        "This field is required when the answer is \"no\".".into(),
                    );
                    None
                } else {
                    Some((Some(t), comment_s.clone()))
                }
            }
            None => None,
        },
        "dynamic-form" => {
            let obj = match text {
                Value::Object(_) => Some(text.clone()),
                Value::String(s) => serde_json::from_str::<Value>(s).ok().filter(Value::is_object),
                _ => None,
            };
            match obj {
                Some(v) => Some((Some(v.to_string()), comment_s.clone())),
                None => {
                    err(
                        "text",
                        if matches!(text, Value::Null) {
                            "This field is required.".into()
                        } else {
                            "Must be a JSON object with the form's fields (an object or a string holding one).".into()
                        },
                    );
                    None
                }
            }
        }
        other => {
            err("non_field_errors", format!("Unknown answer type \"{other}\"."));
            None
        }
    };
    out.ok_or(errors)
}

async fn answer(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    Path((mandate, request)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), PaywiseError> {
    use crate::list::Resource;
    let r = find(&state, &caller, &mandate, &request)?;
    let Value::Object(map) = &body else {
        return Err(PaywiseError::Validation(crate::validate::not_a_dict(&body)));
    };
    if r.answer.is_some() {
        return Err(PaywiseError::field("non_field_errors", ALREADY));
    }
    let text = map.get("text").cloned().unwrap_or(Value::Null);
    let comment = map.get("additional_comment").cloned().unwrap_or(Value::Null);
    let mut first_errors = None;
    let mut accepted = None;
    for kind in &r.allowed_answer_types {
        match check(kind, &text, &comment, r.uploaded.len()) {
            Ok(v) => {
                accepted = Some(v);
                break;
            }
            Err(e) => {
                if first_errors.is_none() {
                    first_errors = Some(e);
                }
            }
        }
    }
    let Some((text, additional_comment)) = accepted else {
        return Err(PaywiseError::Validation(Value::Object(
            first_errors.unwrap_or_default(),
        )));
    };
    let now = state.now();
    let answer = Answer {
        id: state.ids.uuid(),
        text,
        additional_comment,
        files: r.uploaded.clone(),
        created: now,
        booking_date: None,
    };
    let scope = caller.scope();
    let updated = state.store.write(|db| {
        db.requests_to_client.update(&scope, &r.id.to_string(), |x| {
            if x.answer.is_some() {
                return None;
            }
            x.answer = Some(answer);
            x.answered_at = Some(now);
            Some(x.clone())
        })
    });
    let updated = updated
        .flatten()
        .ok_or_else(|| PaywiseError::field("non_field_errors", ALREADY))?;
    let out = updated.render(&origin);
    state.emit(scope, "request_to_client.answered", out.clone());
    Ok((StatusCode::CREATED, Json(out)))
}

async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    Path((mandate, request)): Path<(String, String)>,
    req: Request,
) -> Result<(StatusCode, Json<Value>), PaywiseError> {
    use crate::list::Resource;
    let r = find(&state, &caller, &mandate, &request)?;
    let upload = files::read_upload(&state, req).await?;
    if r.answer.is_some() {
        return Err(PaywiseError::field("non_field_errors", ALREADY));
    }
    let scope = caller.scope();
    let updated = state.store.write(|db| {
        let file = files::store(&state, db, scope, upload)?;
        db.requests_to_client
            .update(&scope, &r.id.to_string(), |x| {
                x.uploaded.push(FileRef::from(&file));
                x.clone()
            })
            .ok_or_else(PaywiseError::not_found)
    })?;
    Ok((StatusCode::CREATED, Json(updated.render(&origin))))
}

async fn download(
    State(state): State<AppState>,
    caller: Caller,
    Path((mandate, request, file)): Path<(String, String, String)>,
) -> Result<Response, PaywiseError> {
    let r = find(&state, &caller, &mandate, &request)?;
    let file = path_uuid(&file)?;
    if !r.file_attachments.iter().any(|f| f.id == file) {
        return Err(PaywiseError::not_found());
    }
    Ok(files::download(&state, &caller.scope(), &file))
}

/// Questions the fixtures ask, one per answer type.
const QUESTIONS: &[(&str, &str, &str)] = &[
    (
        "yes-no",
        "Besteht die Forderung in voller Höhe?",
        "Bitte bestätigen Sie, dass die Forderung in der gemeldeten Höhe besteht.",
    ),
    (
        "yes-no-dontknow",
        "Hat der Schuldner Einwände erhoben?",
        "Der Schuldner behauptet, die Ware sei mangelhaft gewesen. Sind Ihnen Einwände bekannt?",
    ),
    (
        "fileupload",
        "Bitte Vertrag hochladen",
        "Für das gerichtliche Mahnverfahren benötigen wir den unterschriebenen Vertrag.",
    ),
    (
        "yes-no-freetext-on-no",
        "Ist die Anschrift des Schuldners aktuell?",
        "Die Post kam als unzustellbar zurück. Ist die Anschrift aktuell? Falls nein, nennen Sie uns bitte die neue.",
    ),
    (
        "yes-with-date-no-freetext-on-no",
        "Wurde die Leistung vollständig erbracht?",
        "Bitte bestätigen Sie das Leistungsdatum oder erläutern Sie, was noch aussteht.",
    ),
    (
        "dynamic-form",
        "Angaben zur Ratenzahlung",
        "Der Schuldner bietet eine Ratenzahlung an. Bitte füllen Sie das Formular aus.",
    ),
];

fn fixture_answer(kind: &str, f: &mut fixtures::Faker) -> (Option<String>, Option<String>) {
    match kind {
        "yes-no" => (Some((*f.pick(&["yes", "no"])).into()), None),
        "yes-no-dontknow" => (Some((*f.pick(&["yes", "no", "dontknow"])).into()), None),
        "fileupload" => (None, Some("Vertrag anbei.".into())),
        "yes-no-freetext-on-no" => (
            Some("no".into()),
            Some("Neue Anschrift: Hauptstraße 5, 10115 Berlin".into()),
        ),
        "yes-with-date-no-freetext-on-no" => (
            Some("yes".into()),
            Some(fixtures::shift(f.anchor(), -40).to_string()),
        ),
        _ => (
            Some(json!({"installments": 6, "first_due_date": fixtures::shift(f.anchor(), 30).to_string(), "accept": true}).to_string()),
            None,
        ),
    }
}

/// Adds this resource's fixtures: for each mandate (in order) one request per answer type, in
/// turn, answered for every other mandate, some with an attached PDF.
pub fn seed(f: &mut fixtures::Faker, seq: &mut u64, db: &mut Db) {
    let mut mandates: Vec<Mandate> = db.mandates.iter_all().cloned().collect();
    mandates.sort_by_key(|m| m.seq);
    let mut n = 0usize;
    for (i, m) in mandates.iter().enumerate() {
        // Two requests per mandate so that every answer type is both answered and unanswered.
        for k in 0..2 {
            let (kind, title, description) = QUESTIONS[n % QUESTIONS.len()];
            n += 1;
            let created = m.created + Duration::days(2 + 3 * k as i64);
            let mut attachments = Vec::new();
            if f.chance(0.4) {
                *seq += 1;
                let fid = uuid::Builder::from_random_bytes(f.bytes16()).into_uuid();
                let filename = format!("Schreiben_{}.pdf", m.reference_number);
                let file = files::generated_file(fid, *seq, m.scope, &filename, title, created);
                attachments.push(FileRef::from(&file));
                crate::seed::kept(db.files.insert(file));
            }
            let answered = (i + k) % 2 == 0;
            let mut uploaded = Vec::new();
            let answer = answered.then(|| {
                let at = created + Duration::hours(f.int(2, 72) as i64);
                if kind == "fileupload" {
                    *seq += 1;
                    let fid = uuid::Builder::from_random_bytes(f.bytes16()).into_uuid();
                    let file = files::generated_file(fid, *seq, m.scope, "Vertrag.pdf", "Vertrag", at);
                    uploaded.push(FileRef::from(&file));
                    crate::seed::kept(db.files.insert(file));
                }
                let (text, additional_comment) = fixture_answer(kind, f);
                Answer {
                    id: uuid::Builder::from_random_bytes(f.bytes16()).into_uuid(),
                    text,
                    additional_comment,
                    files: uploaded.clone(),
                    created: at,
                    booking_date: None,
                }
            });
            *seq += 1;
            let r = RequestToClient {
                seq: *seq,
                scope: m.scope,
                id: uuid::Builder::from_random_bytes(f.bytes16()).into_uuid(),
                mandate: Some(m.id),
                mandate_reference: Some(m.reference_number.clone()),
                claim: m.claims.first().map(|c| c.id),
                title: title.into(),
                description: description.into(),
                allowed_answer_types: vec![kind.into()],
                file_attachments: attachments,
                uploaded,
                answered_at: answer.as_ref().map(|a| a.created),
                answer,
                created,
            };
            crate::seed::kept(db.requests_to_client.insert(r));
        }
    }
}
