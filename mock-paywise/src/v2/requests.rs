//! Requests to client ("Rückfragen") of orders (`/v2/orders/{id}/requests-to-client/`, before
//! acceptance) and of mandates (`/v2/mandates/{id}/requests-to-client/`, v1's requests seen
//! through v2), their one answer, and the answer's documents.
//!
//! paywise publishes requests (the mock's back office); an order with an open request is
//! `awaiting_client_response` and goes back to `submitted` once every published request is
//! answered. An answer follows the request's `allowed_answer_types`:
//! `yes-no` / `yes-no-dontknow` (`text`), `yes-no-freetext-on-no` (`additional_comment` with
//! `no`), `yes-with-date-no-freetext-on-no` (`booking_date` with `yes`, `additional_comment`
//! with `no`), `freetext` (`text`), `fileupload` (text, documents, or both; documents inline or
//! uploaded to `…/answer/documents/` first). `booking_date` is refused elsewhere. A request is
//! answered once (409 `already_answered`); a closed order takes no answers (409 `order_closed`).
//! `request_to_client.answered` follows.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::list::Origin;
use crate::resources::partner::derived_uuid;
use crate::resources::requests_to_client::{Answer, FileRef, RequestToClient};
use crate::state::{AppState, Db, Scope};
use crate::v2::conv::{Idem, Obj, Patch, V2Caller, V2Json, changed, list_answer, page, path_id as uuid, show, ts};
use crate::v2::documents;
use crate::v2::error::{Errs, V2Error};
use crate::v2::orders::OrderEvent;

/// v2's answer types.
pub const ANSWER_TYPES: &[&str] = &[
    "fileupload",
    "freetext",
    "yes-no",
    "yes-no-dontknow",
    "yes-no-freetext-on-no",
    "yes-with-date-no-freetext-on-no",
];

/// An answer as v2 keeps it for an order request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderAnswer {
    /// Id.
    pub id: Uuid,
    /// `yes`, `no`, `dontknow` or free text.
    pub text: Option<String>,
    /// Free text.
    pub additional_comment: Option<String>,
    /// A date.
    pub booking_date: Option<NaiveDate>,
    /// Creation.
    #[serde(with = "crate::format::ts")]
    pub created_at: DateTime<Utc>,
}

/// A request to client of an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderRequest {
    /// Creation order.
    pub seq: u64,
    /// The company.
    pub scope: Scope,
    /// Id.
    pub id: Uuid,
    /// The order.
    pub order_id: Uuid,
    /// Title.
    pub title: String,
    /// What paywise needs.
    pub description: String,
    /// One of [`ANSWER_TYPES`].
    pub allowed_answer_types: String,
    /// paywise's attachments (files in the file table).
    pub attachments: Vec<FileRef>,
    /// The answer.
    pub answer: Option<OrderAnswer>,
    /// paywise started reviewing the answer (its documents are frozen).
    pub answer_review_started: bool,
    /// Creation.
    #[serde(with = "crate::format::ts")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "crate::format::ts")]
    pub updated_at: DateTime<Utc>,
}

// An order's requests are read by order.
scoped_record!(OrderRequest, lookups = |r| vec![("order", r.order_id.to_string())]);

/// What an answer shows: text, comment, booking date, when.
type AnswerView<'a> = (Option<&'a String>, Option<&'a String>, Option<NaiveDate>, DateTime<Utc>);

/// The id an answer of request `request` has (also before it exists: its documents hang there).
pub fn answer_id(request: Uuid) -> Uuid {
    derived_uuid(&format!("answer:{request}"))
}

/// Serves attachment `file` of a request titled `title` (404 when `list`, its attachments, has
/// no such file): order and mandate requests alike.
fn download_attachment(db: &Db, scope: Scope, list: &[FileRef], file: Uuid, title: &str) -> Result<Response, V2Error> {
    let f = list.iter().find(|f| f.id == file).ok_or_else(V2Error::not_found)?;
    Ok(documents::attachment_response(
        db,
        scope,
        file,
        &f.filename,
        &f.mime_type,
        title,
    ))
}

fn attachments(list: &[FileRef], origin: &Origin, base: &str) -> Value {
    Value::Array(
        list.iter()
            .map(|f| {
                json!({
                    "id": f.id.to_string(),
                    "filename": f.filename,
                    "mime_type": f.mime_type,
                    "download_url": origin.url(&format!("{base}attachments/{}/download/", f.id)),
                })
            })
            .collect(),
    )
}

fn render_answer(db: &Db, scope: Scope, request: Uuid, a: Option<AnswerView<'_>>, origin: &Origin) -> Value {
    match a {
        None => Value::Null,
        Some((text, comment, booking, at)) => json!({
            "id": answer_id(request).to_string(),
            "text": text,
            "additional_comment": comment,
            "booking_date": crate::v2::conv::date(&booking),
            "documents": documents::rendered(db, scope, answer_id(request), origin),
            "created_at": ts(&at),
            "updated_at": ts(&at),
        }),
    }
}

impl OrderRequest {
    fn base(&self) -> String {
        format!("/v2/orders/{}/requests-to-client/{}/", self.order_id, self.id)
    }

    /// `OrderRequestToClientRead`.
    pub fn render(&self, db: &Db, origin: &Origin) -> Value {
        let a = self.answer.as_ref();
        json!({
            "id": self.id.to_string(),
            "href": origin.url(&self.base()),
            "title": self.title,
            "description": self.description,
            "allowed_answer_types": self.allowed_answer_types,
            "question_attachments": attachments(&self.attachments, origin, &self.base()),
            "answered": a.is_some(),
            "answered_at": a.map(|a| ts(&a.created_at)),
            "answer": render_answer(db, self.scope, self.id, a.map(|a| (a.text.as_ref(), a.additional_comment.as_ref(), a.booking_date, a.created_at)), origin),
            "order": { "id": self.order_id.to_string(), "href": origin.url(&format!("/v2/orders/{}/", self.order_id)) },
            "created_at": ts(&self.created_at),
            "updated_at": ts(&self.updated_at),
        })
    }
}

/// v2's single answer type of a v1 request.
fn v2_type(r: &RequestToClient) -> String {
    r.allowed_answer_types
        .iter()
        .find(|t| ANSWER_TYPES.contains(&t.as_str()))
        .cloned()
        .unwrap_or_else(|| "freetext".into())
}

fn mandate_base(r: &RequestToClient, mandate: Uuid) -> String {
    format!("/v2/mandates/{mandate}/requests-to-client/{}/", r.id)
}

/// `RequestToClientRead` of a v1 request.
pub fn render_mandate_request(db: &Db, r: &RequestToClient, mandate: Uuid, origin: &Origin) -> Value {
    let base = mandate_base(r, mandate);
    let reference = db
        .mandates
        .get(&r.scope, &mandate.to_string())
        .map(|m| m.reference_number.clone());
    let a = r.answer.as_ref();
    json!({
        "id": r.id.to_string(),
        "href": origin.url(&base),
        "title": r.title,
        "description": r.description,
        "allowed_answer_types": v2_type(r),
        "question_attachments": attachments(&r.file_attachments, origin, &base),
        "answered": a.is_some(),
        "answered_at": r.answered_at.as_ref().map(ts),
        "answer": render_answer(db, r.scope, r.id, a.map(|a: &Answer| (a.text.as_ref(), a.additional_comment.as_ref(), a.booking_date, a.created)), origin),
        "mandate": { "id": mandate.to_string(), "href": origin.url(&format!("/v2/mandates/{mandate}/")), "reference_number": reference },
        "created_at": ts(&r.created),
        "updated_at": ts(&r.answered_at.unwrap_or(r.created)),
    })
}

/// `(answer id, answer documents path, whether they may change)` of a request's answer.
pub fn answer_parent(
    db: &Db,
    scope: Scope,
    order: bool,
    parent: Uuid,
    request: Uuid,
) -> Result<(Uuid, String, Result<(), V2Error>), V2Error> {
    let frozen = || {
        Err(V2Error::conflict(
            "answer_not_editable",
            "paywise started reviewing the answer; its documents can no longer change.",
        ))
    };
    if order {
        let o = crate::v2::orders::find(db, scope, parent)?;
        let r = db
            .v2_order_requests
            .get(&scope, &request.to_string())
            .filter(|r| r.order_id == o.id)
            .ok_or_else(V2Error::not_found)?;
        Ok((
            answer_id(r.id),
            format!("{}answer/documents/", r.base()),
            if r.answer_review_started { frozen() } else { Ok(()) },
        ))
    } else {
        let m = crate::v2::mandates::find(db, scope, parent)?;
        let r = db
            .requests_to_client
            .get(&scope, &request.to_string())
            .filter(|r| r.mandate == Some(m.id))
            .ok_or_else(V2Error::not_found)?;
        Ok((
            answer_id(r.id),
            format!("{}answer/documents/", mandate_base(r, m.id)),
            if m.closed() { frozen() } else { Ok(()) },
        ))
    }
}

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/orders/{p1}/requests-to-client/", get(list_order))
        .route("/orders/{p1}/requests-to-client/{p2}/", get(get_order))
        .route("/orders/{p1}/requests-to-client/{p2}/answer/", post(answer_order))
        .route(
            "/orders/{p1}/requests-to-client/{p2}/attachments/{p3}/download/",
            get(download_order),
        )
        .route("/mandates/{p1}/requests-to-client/", get(list_mandate))
        .route("/mandates/{p1}/requests-to-client/{p2}/", get(get_mandate))
        .route("/mandates/{p1}/requests-to-client/{p2}/answer/", post(answer_mandate))
        .route(
            "/mandates/{p1}/requests-to-client/{p2}/attachments/{p3}/download/",
            get(download_mandate),
        )
}

async fn list_order(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    Path(p): Path<String>,
) -> Result<Response, V2Error> {
    list_answer(
        &state,
        &origin,
        |q| q.boolean("answered"),
        |db, answered, paging, now| {
            let o = crate::v2::orders::find(db, caller.scope, uuid(&p)?)?;
            let mut rows: Vec<&OrderRequest> = db
                .v2_order_requests
                .lookup(&caller.scope, "order", &o.id.to_string())
                .filter(|r| answered.is_none_or(|a| r.answer.is_some() == a))
                .collect();
            rows.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.seq.cmp(&a.seq)));
            Ok(page(
                &origin,
                paging,
                now,
                rows,
                |r| (r.updated_at, r.id),
                |r| r.render(db, &origin),
            ))
        },
    )
}

fn order_request(db: &Db, scope: Scope, p: &str, id: &str) -> Result<OrderRequest, V2Error> {
    let o = crate::v2::orders::find(db, scope, uuid(p)?)?;
    db.v2_order_requests
        .get(&scope, &uuid(id)?.to_string())
        .filter(|r| r.order_id == o.id)
        .cloned()
        .ok_or_else(V2Error::not_found)
}

async fn get_order(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    headers: HeaderMap,
    Path((p, id)): Path<(String, String)>,
) -> Result<Response, V2Error> {
    let v = state
        .store
        .read(|db| order_request(db, caller.scope, &p, &id).map(|r| r.render(db, &origin)))?;
    Ok(show(&headers, v))
}

/// 409 `already_answered`: a request to the client takes one answer (order and mandate requests
/// alike).
fn already_answered() -> V2Error {
    V2Error::conflict(
        "already_answered",
        "This request was answered already; it takes one answer.",
    )
}

/// Stores the documents sent with the answer to `request` (whose URL is `base`) as the answer's
/// documents, under `{base}answer/documents/`.
fn store_answer_documents(
    db: &mut Db,
    state: &AppState,
    scope: Scope,
    request: Uuid,
    base: &str,
    files: Vec<documents::NewFile>,
) {
    let base = format!("{base}answer/documents/");
    for f in files {
        documents::store(
            db,
            state,
            scope,
            f,
            "request_to_client_answer",
            answer_id(request),
            None,
            &base,
        );
    }
}

/// An answer read from a body.
struct AnswerInput {
    text: Option<String>,
    comment: Option<String>,
    booking_date: Option<NaiveDate>,
    documents: Vec<documents::NewFile>,
}

fn read_answer(body: &Map<String, Value>, kind: &str, has_uploads: bool) -> Result<AnswerInput, V2Error> {
    let mut errs = Errs::default();
    let o = Obj::new(
        body,
        "",
        &["text", "additional_comment", "booking_date", "documents"],
        &mut errs,
    );
    let text = match o.string("text", 20_000, &mut errs) {
        Patch::Set(t) if !t.trim().is_empty() => Some(t.trim().to_string()),
        _ => None,
    };
    let comment = match o.string("additional_comment", 20_000, &mut errs) {
        Patch::Set(c) => {
            let plain = crate::v2::messages::sanitize(&c);
            let plain: String = plain.replace(['<', '>'], " ");
            (!plain.trim().is_empty()).then(|| plain.trim().to_string())
        }
        _ => None,
    };
    let booking = o.date("booking_date", &mut errs).set();
    let mut budget = (0, 0);
    let docs = if kind == "fileupload" {
        documents::read_inline(&o, "documents", documents::ALL_TYPES, &mut budget, &mut errs)
    } else {
        if o.has("documents") {
            errs.push("documents", "invalid", "Only fileupload requests take documents.");
        }
        Vec::new()
    };
    let choices: &[&str] = match kind {
        "yes-no" | "yes-no-freetext-on-no" | "yes-with-date-no-freetext-on-no" => &["yes", "no"],
        "yes-no-dontknow" => &["yes", "no", "dontknow"],
        _ => &[],
    };
    if !choices.is_empty() {
        match &text {
            None => errs.push(
                "text",
                "required",
                format!("Answer with one of: {}.", choices.join(", ")),
            ),
            Some(t) if !choices.contains(&t.as_str()) => errs.push(
                "text",
                "invalid_choice",
                format!("\"{t}\" is not a valid answer; one of: {}.", choices.join(", ")),
            ),
            _ => {}
        }
    }
    if kind == "freetext" && text.is_none() {
        errs.push("text", "required", "This request needs a free-text answer.");
    }
    if kind == "fileupload" && text.is_none() && docs.is_empty() && !has_uploads {
        errs.push("", "required", "Send text, at least one document, or both.");
    }
    let no = text.as_deref() == Some("no");
    if (kind == "yes-no-freetext-on-no" || kind == "yes-with-date-no-freetext-on-no") && no && comment.is_none() {
        errs.push(
            "additional_comment",
            "required",
            "Explain the \"no\" in additional_comment.",
        );
    }
    if kind == "yes-with-date-no-freetext-on-no" && text.as_deref() == Some("yes") {
        if booking.is_none() {
            errs.push("booking_date", "required", "A \"yes\" needs the booking_date.");
        }
    } else if o.has("booking_date") {
        errs.push(
            "booking_date",
            "invalid",
            "booking_date only goes with \"yes\" on yes-with-date-no-freetext-on-no requests.",
        );
    }
    errs.finish(AnswerInput {
        text,
        comment,
        booking_date: booking,
        documents: docs,
    })
}

async fn answer_order(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    idem: Idem,
    Path((p, id)): Path<(String, String)>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    idem.run(&state, &caller, &body, || {
        let now = state.now();
        let r = state.store.read(|db| order_request(db, caller.scope, &p, &id))?;
        let uploads = state
            .store
            .read(|db| !documents::of_parent(db, caller.scope, answer_id(r.id)).is_empty());
        let input = read_answer(&body, &r.allowed_answer_types, uploads)?;
        state.store.write(|db| {
            let order = crate::v2::orders::find(db, caller.scope, r.order_id)?;
            let s = crate::v2::orders::status(db, &order, now);
            if !s.in_review() {
                return Err(V2Error::conflict(
                    "order_closed",
                    format!("The order is {s}; its requests can no longer be answered."),
                ));
            }
            if r.answer.is_some() {
                return Err(already_answered());
            }
            store_answer_documents(db, &state, caller.scope, r.id, &r.base(), input.documents);
            let answer = OrderAnswer {
                id: answer_id(r.id),
                text: input.text,
                additional_comment: input.comment,
                booking_date: input.booking_date,
                created_at: now,
            };
            let answered = changed(&mut db.v2_order_requests, &caller.scope, &r.id.to_string(), |r| {
                r.answer = Some(answer);
                r.updated_at = now;
            })?;
            let open = db
                .v2_order_requests
                .lookup(&caller.scope, "order", &order.id.to_string())
                .any(|x| x.answer.is_none());
            if !open && let Some(submitted) = s.next(OrderEvent::Answered) {
                let mut o = order.clone();
                crate::v2::orders::set_status(db, &mut o, submitted, now);
                crate::v2::orders::save(db, o);
            }
            crate::v2::events::emit(
                db,
                &state,
                caller.scope,
                "request_to_client.answered",
                json!({ "request_to_client_id": r.id.to_string(), "order_id": order.id.to_string() }),
            );
            Ok((StatusCode::OK, answered.render(db, &origin)))
        })
    })
}

async fn download_order(
    State(state): State<AppState>,
    caller: V2Caller,
    Path((p, id, file)): Path<(String, String, String)>,
) -> Result<Response, V2Error> {
    let file = uuid(&file)?;
    state.store.read(|db| {
        let r = order_request(db, caller.scope, &p, &id)?;
        download_attachment(db, caller.scope, &r.attachments, file, &r.title)
    })
}

fn mandate_request(db: &Db, scope: Scope, p: &str, id: &str) -> Result<(RequestToClient, Uuid), V2Error> {
    let m = crate::v2::mandates::find(db, scope, uuid(p)?)?;
    db.requests_to_client
        .get(&scope, &uuid(id)?.to_string())
        .filter(|r| r.mandate == Some(m.id))
        .cloned()
        .map(|r| (r, m.id))
        .ok_or_else(V2Error::not_found)
}

async fn list_mandate(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    Path(p): Path<String>,
) -> Result<Response, V2Error> {
    list_answer(
        &state,
        &origin,
        |q| q.boolean("answered"),
        |db, answered, paging, now| {
            let m = crate::v2::mandates::find(db, caller.scope, uuid(&p)?)?;
            let mut rows: Vec<&RequestToClient> = db
                .requests_to_client
                .lookup(&caller.scope, "mandate", &m.id.to_string())
                .filter(|r| answered.is_none_or(|a| r.answer.is_some() == a))
                .collect();
            rows.sort_by(|a, b| b.created.cmp(&a.created).then(b.seq.cmp(&a.seq)));
            Ok(page(
                &origin,
                paging,
                now,
                rows,
                |r| (r.answered_at.unwrap_or(r.created), r.id),
                |r| render_mandate_request(db, r, m.id, &origin),
            ))
        },
    )
}

async fn get_mandate(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    headers: HeaderMap,
    Path((p, id)): Path<(String, String)>,
) -> Result<Response, V2Error> {
    let v = state.store.read(|db| {
        mandate_request(db, caller.scope, &p, &id).map(|(r, m)| render_mandate_request(db, &r, m, &origin))
    })?;
    Ok(show(&headers, v))
}

async fn answer_mandate(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    idem: Idem,
    Path((p, id)): Path<(String, String)>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    idem.run(&state, &caller, &body, || {
        let now = state.now();
        let (r, mandate) = state.store.read(|db| mandate_request(db, caller.scope, &p, &id))?;
        let uploads = !r.uploaded.is_empty()
            || state
                .store
                .read(|db| !documents::of_parent(db, caller.scope, answer_id(r.id)).is_empty());
        let input = read_answer(&body, &v2_type(&r), uploads)?;
        state.store.write(|db| {
            if r.answer.is_some() {
                return Err(already_answered());
            }
            store_answer_documents(
                db,
                &state,
                caller.scope,
                r.id,
                &mandate_base(&r, mandate),
                input.documents,
            );
            let answer = Answer {
                id: answer_id(r.id),
                text: input.text,
                additional_comment: input.comment,
                files: r.uploaded.clone(),
                created: now,
                booking_date: input.booking_date,
            };
            let answered = changed(&mut db.requests_to_client, &caller.scope, &r.id.to_string(), |r| {
                r.answer = Some(answer);
                r.answered_at = Some(now);
            })?;
            crate::v2::events::emit(
                db,
                &state,
                caller.scope,
                "request_to_client.answered",
                json!({
                    "request_to_client_id": r.id.to_string(),
                    "mandate_id": mandate.to_string(),
                    "request_to_client_url": format!("/v2/mandates/{mandate}/requests-to-client/{}/", r.id),
                }),
            );
            Ok((StatusCode::OK, render_mandate_request(db, &answered, mandate, &origin)))
        })
    })
}

async fn download_mandate(
    State(state): State<AppState>,
    caller: V2Caller,
    Path((p, id, file)): Path<(String, String, String)>,
) -> Result<Response, V2Error> {
    let file = uuid(&file)?;
    state.store.read(|db| {
        let (r, _) = mandate_request(db, caller.scope, &p, &id)?;
        download_attachment(db, caller.scope, &r.file_attachments, file, &r.title)
    })
}
