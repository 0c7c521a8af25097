//! The simulated paywise back office for v2: mock-only routes under `/_mock/paywise/v2/` that do
//! what paywise's staff do. They take the API's bearer token (and a Partner's
//! `X-On-Behalf-Of-Company`) and act in its company; bodies are JSON; refusals are in v2's
//! envelope; the same refusal rules as the API apply (nothing changes when one is refused).
//!
//! - `POST orders/{id}/start-review`: paywise starts reviewing a submitted order (withdraw is
//!   refused from then on).
//! - `POST orders/{id}/requests-to-client` `{title, description, allowed_answer_types,
//!   attach_document?}` (a generated PDF as the question's attachment): asks
//!   the client (the order becomes `awaiting_client_response`; `request_to_client.created`).
//! - `POST orders/{id}/accept` `{reference_number?}`: opens a mandate for the order's claims
//!   (v1 sees it too), with every payment so far booked; `order.accepted`, `mandate.created`.
//! - `POST orders/{id}/reject` `{reason, code?}`: `order.rejected`, with `rejection` filled.
//! - `POST orders/{id}/merge` `{into}`: folds a submitted order into another submitted one (its
//!   claims move, their ids stay).
//! - `POST orders/{id}/expire`: ends a draft's life now (`order.expired`).
//! - `POST order-requests/{id}/start-answer-review`: freezes an answer's documents.
//! - `POST mandates/{id}/requests-to-client`, `POST mandates/{id}/messages` (paywise's own,
//!   `published`), `POST mandates/{id}/status-updates` `{title, description, legal_stage?,
//!   processing_state?}` (`mandate.status_update.published`, and `mandate.state.changed` when
//!   the state moves).
//! - `POST messages/{id}/review` `{state?: "handled"}`: paywise reviews a client message.
//! - `POST documents/{id}/status` `{status, failure_reason?}`: the scan result of an upload.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, Datelike, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::list::Origin;
use crate::resources::claims::ClaimEvent;
use crate::resources::mandates::{self, Mandate, MandateClaim};
use crate::resources::requests_to_client::{FileRef, RequestToClient};
use crate::state::{AppState, Db, Scope};
use crate::states::Machine as _;
use crate::v2::conv::{Obj, Patch, V2Caller, V2Json, changed, path_id as uuid, respond};
use crate::v2::documents::{DocumentStatus, ScanResult};
use crate::v2::error::{Errs, V2Error};
use crate::v2::messages::{MessageState, Review};
use crate::v2::orders::{self, Order, OrderEvent, OrderStatus};
use crate::v2::requests::{ANSWER_TYPES, OrderRequest};

/// The routes (merged only with the control API on).
pub fn router() -> Router<AppState> {
    let r = Router::new()
        .route("/_mock/paywise/v2/orders/{p1}/start-review", post(start_review))
        .route("/_mock/paywise/v2/orders/{p1}/requests-to-client", post(order_request))
        .route("/_mock/paywise/v2/orders/{p1}/accept", post(accept))
        .route("/_mock/paywise/v2/orders/{p1}/reject", post(reject))
        .route("/_mock/paywise/v2/orders/{p1}/merge", post(merge))
        .route("/_mock/paywise/v2/orders/{p1}/expire", post(expire))
        .route(
            "/_mock/paywise/v2/order-requests/{p1}/start-answer-review",
            post(start_answer_review),
        )
        .route(
            "/_mock/paywise/v2/mandates/{p1}/requests-to-client",
            post(mandate_request),
        )
        .route("/_mock/paywise/v2/mandates/{p1}/messages", post(mandate_message))
        .route("/_mock/paywise/v2/mandates/{p1}/status-updates", post(status_update))
        .route("/_mock/paywise/v2/messages/{p1}/review", post(review_message))
        .route("/_mock/paywise/v2/documents/{p1}/status", post(document_status));
    r.merge(crate::v2::partner::control_router())
        .merge(crate::v2::statements::control_router())
}

fn refuse(from: OrderStatus, action: &str) -> V2Error {
    V2Error::conflict(
        "invalid_transition",
        format!("Cannot {action} an order that is {from}."),
    )
}

/// paywise starts reviewing order `id` of `scope` at `now` (inside a store write); returns it.
pub fn start_review_in(db: &mut Db, scope: Scope, id: Uuid, now: DateTime<Utc>) -> Result<Order, V2Error> {
    let mut o = orders::find(db, scope, id)?;
    let s = orders::status(db, &o, now);
    if s.next(OrderEvent::StartReview).is_none() {
        return Err(refuse(s, "review"));
    }
    o.review_started = true;
    o.updated_at = now;
    orders::save(db, o.clone());
    Ok(o)
}

async fn start_review(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    Path(id): Path<String>,
) -> Result<Response, V2Error> {
    let now = state.now();
    state.store.write(|db| {
        let o = start_review_in(db, caller.scope, uuid(&id)?, now)?;
        Ok(respond(StatusCode::OK, orders::render(db, &o, &origin, now)))
    })
}

/// A question: title, description, answer type, and whether paywise attaches a document.
pub type Question = (String, String, String, bool);

fn read_question(body: &Map<String, Value>) -> Result<Question, V2Error> {
    let mut errs = Errs::default();
    let o = Obj::new(
        body,
        "",
        &["title", "description", "allowed_answer_types", "attach_document"],
        &mut errs,
    );
    let attach = matches!(o.boolean("attach_document", &mut errs), Patch::Set(true));
    let title = o.req_string("title", 255, &mut errs);
    let description = o.req_string("description", 20_000, &mut errs);
    let kind = match o.choice("allowed_answer_types", ANSWER_TYPES, &mut errs) {
        Patch::Set(k) => k,
        _ => "yes-no".into(),
    };
    let (title, description) = errs.finish((title, description))?;
    Ok((title.unwrap_or_default(), description.unwrap_or_default(), kind, attach))
}

/// A generated one-page PDF paywise attaches, stored in the file table.
fn attachment(db: &mut Db, state: &AppState, scope: crate::state::Scope, name: &str, title: &str) -> FileRef {
    let file = crate::resources::files::generated_file(
        state.ids.uuid(),
        state.ids.next_seq(),
        scope,
        name,
        title,
        state.now(),
    );
    let r = FileRef::from(&file);
    if let Err(e) = db.files.insert(file) {
        tracing::warn!("attachment not stored: {e}");
    }
    r
}

/// paywise asks the client `question` about order `id` of `scope` at `now` (inside a store write;
/// the order becomes `awaiting_client_response`, `request_to_client.created`); returns the
/// request.
pub fn order_request_in(
    db: &mut Db,
    state: &AppState,
    scope: Scope,
    id: Uuid,
    question: Question,
    now: DateTime<Utc>,
) -> Result<OrderRequest, V2Error> {
    let (title, description, kind, attach) = question;
    let mut o = orders::find(db, scope, id)?;
    let s = orders::status(db, &o, now);
    let Some(awaiting) = s.next(OrderEvent::Ask) else {
        return Err(refuse(s, "ask a question about"));
    };
    let r = OrderRequest {
        seq: state.ids.next_seq(),
        scope,
        id: state.ids.uuid(),
        order_id: o.id,
        attachments: if attach {
            vec![attachment(db, state, scope, "Rueckfrage.pdf", &title)]
        } else {
            Vec::new()
        },
        title,
        description,
        allowed_answer_types: kind,
        answer: None,
        answer_review_started: false,
        created_at: now,
        updated_at: now,
    };
    db.v2_order_requests
        .insert(r.clone())
        .map_err(|e| V2Error::conflict("conflict", e.to_string()))?;
    orders::set_status(db, &mut o, awaiting, now);
    orders::save(db, o.clone());
    crate::v2::events::emit(
        db,
        state,
        scope,
        "request_to_client.created",
        json!({ "request_to_client_id": r.id.to_string(), "order_id": o.id.to_string() }),
    );
    Ok(r)
}

async fn order_request(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    Path(id): Path<String>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    let question = read_question(&body)?;
    let now = state.now();
    state.store.write(|db| {
        let r = order_request_in(db, &state, caller.scope, uuid(&id)?, question, now)?;
        Ok((StatusCode::CREATED, axum::Json(r.render(db, &origin))).into_response())
    })
}

/// Opens a mandate for `o`'s claims; returns it.
fn open_mandate(db: &mut Db, state: &AppState, o: &Order, reference: Option<String>) -> Result<Mandate, V2Error> {
    let now = state.now();
    let claims = orders::claims_of(db, o);
    let Some(first) = claims.first() else {
        return Err(V2Error::conflict(
            "invalid_transition",
            "The order has no claims to accept.",
        ));
    };
    let debtor = db.debtors.get(&o.scope, &o.debtor_id.to_string()).cloned();
    let id = state.ids.uuid();
    let reference = reference.unwrap_or_else(|| mandates::reference_number(state.clock.today().year(), *id.as_bytes()));
    let payments: Vec<(Uuid, Decimal)> = crate::v2::claims::payments_of(db, first)
        .iter()
        .map(|p| (p.id, p.amount.value))
        .collect();
    let mut m = Mandate::for_claim(
        state.ids.next_seq(),
        id,
        reference,
        first,
        debtor.as_ref(),
        &payments,
        [Decimal::ZERO; 3],
        now,
    );
    for c in claims.iter().skip(1) {
        m.balance.legal[1] += c.additional_charges_amount.value;
        m.balance.legal[mandates::PRINCIPAL] += c.main_claim_amount.value;
        let pays = crate::v2::claims::payments_of(db, c);
        for p in &pays {
            m.balance.allocate(p.amount.value);
        }
        m.claims.push(MandateClaim {
            id: c.id,
            payments: pays.iter().map(|p| p.id).collect(),
        });
    }
    db.mandates
        .insert(m.clone())
        .map_err(|e| V2Error::conflict("conflict", e.to_string()))?;
    let link = json!({ "id": m.id, "reference_number": m.reference_number });
    for c in &claims {
        db.claims.update(&o.scope, &c.id.to_string(), |c| {
            c.mandate = Some(link.clone());
            c.submission_state
                .apply(ClaimEvent::Follow(OrderStatus::Accepted.claim_state()));
            c.updated = now;
        });
    }
    Ok(m)
}

/// paywise accepts order `id` of `scope` at `now` (inside a store write): opens its mandate,
/// emits `order.accepted` and `mandate.created`; returns the order and the mandate.
pub fn accept_in(
    db: &mut Db,
    state: &AppState,
    scope: Scope,
    id: Uuid,
    reference: Option<String>,
    now: DateTime<Utc>,
) -> Result<(Order, Mandate), V2Error> {
    let mut o = orders::find(db, scope, id)?;
    let s = orders::status(db, &o, now);
    let Some(accepted) = s.next(OrderEvent::Accept) else {
        return Err(refuse(s, "accept"));
    };
    let m = open_mandate(db, state, &o, reference)?;
    o.mandate = Some(m.id);
    o.status = accepted;
    o.updated_at = now;
    orders::save(db, o.clone());
    let mut data = orders::event_data(db, &o);
    if let Value::Object(d) = &mut data {
        d.insert("mandate_id".into(), json!(m.id.to_string()));
        d.insert("mandate_url".into(), json!(format!("/v2/mandates/{}/", m.id)));
    }
    crate::v2::events::emit(db, state, o.scope, "order.accepted", data);
    crate::v2::events::emit(
        db,
        state,
        o.scope,
        "mandate.created",
        json!({ "mandate_id": m.id.to_string(), "mandate_url": format!("/v2/mandates/{}/", m.id) }),
    );
    Ok((o, m))
}

async fn accept(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    Path(id): Path<String>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    let mut errs = Errs::default();
    let o = Obj::new(&body, "", &["reference_number"], &mut errs);
    let reference = o.opt_string("reference_number", 50, &mut errs).set();
    errs.finish(())?;
    let now = state.now();
    state.store.write(|db| {
        let (o, _) = accept_in(db, &state, caller.scope, uuid(&id)?, reference, now)?;
        Ok(respond(StatusCode::OK, orders::render(db, &o, &origin, now)))
    })
}

/// paywise rejects order `id` of `scope` at `now` for `reason` (inside a store write; emits
/// `order.rejected`); returns the order.
pub fn reject_in(
    db: &mut Db,
    state: &AppState,
    scope: Scope,
    id: Uuid,
    reason: String,
    code: Option<String>,
    now: DateTime<Utc>,
) -> Result<Order, V2Error> {
    let mut o = orders::find(db, scope, id)?;
    let s = orders::status(db, &o, now);
    let Some(rejected) = s.next(OrderEvent::Reject) else {
        return Err(refuse(s, "reject"));
    };
    o.rejection = Some(json!({
        "code": code,
        "reason": reason,
        "rejected_at": crate::format::timestamp(&now),
        "notified_to": o.confirmation_email.iter().collect::<Vec<_>>(),
    }));
    orders::set_status(db, &mut o, rejected, now);
    orders::save(db, o.clone());
    let data = orders::event_data(db, &o);
    crate::v2::events::emit(db, state, o.scope, "order.rejected", data);
    Ok(o)
}

async fn reject(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    Path(id): Path<String>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    let mut errs = Errs::default();
    let b = Obj::new(&body, "", &["reason", "code"], &mut errs);
    let reason = b.req_string("reason", 5000, &mut errs);
    let code = b.opt_string("code", 100, &mut errs).set();
    let reason = errs.finish(reason)?.unwrap_or_default();
    let now = state.now();
    state.store.write(|db| {
        let o = reject_in(db, &state, caller.scope, uuid(&id)?, reason, code, now)?;
        Ok(respond(StatusCode::OK, orders::render(db, &o, &origin, now)))
    })
}

async fn merge(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    Path(id): Path<String>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    let mut errs = Errs::default();
    let b = Obj::new(&body, "", &["into"], &mut errs);
    let into = match b.uuid("into", &mut errs) {
        Patch::Set(u) => Some(u),
        _ => {
            errs.push("into", "required", "Name the surviving order.");
            None
        }
    };
    let into = errs.finish(into)?.ok_or_else(V2Error::not_found)?;
    let now = state.now();
    state.store.write(|db| {
        let mut o = orders::find(db, caller.scope, uuid(&id)?)?;
        let target = orders::find(db, caller.scope, into)?;
        let mut merged = OrderStatus::Merged;
        for (order, what, event) in [
            (&o, "merge", OrderEvent::Merge),
            (&target, "merge into", OrderEvent::Absorb),
        ] {
            let s = orders::status(db, order, now);
            match s.next(event) {
                Some(to) if event == OrderEvent::Merge => merged = to,
                Some(_) => {}
                None => return Err(refuse(s, what)),
            }
        }
        if o.id == target.id || o.kind != target.kind || o.debtor_id != target.debtor_id {
            return Err(V2Error::conflict(
                "invalid_transition",
                "Only two different submitted orders of the same type and debtor can be merged.",
            ));
        }
        for c in orders::claims_of(db, &o) {
            db.claims.update(&o.scope, &c.id.to_string(), |c| {
                let mut x = crate::v2::claims::ext(c);
                x.order_id = target.id;
                c.v2 = Some(Box::new(x));
                c.updated = now;
            });
        }
        o.status = merged;
        o.merged_into = Some(target.id);
        o.updated_at = now;
        orders::save(db, o.clone());
        orders::touch(db, &state, target.scope, target.id);
        Ok(respond(StatusCode::OK, orders::render(db, &o, &origin, now)))
    })
}

async fn expire(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    Path(id): Path<String>,
) -> Result<Response, V2Error> {
    let now = state.now();
    state.store.write(|db| {
        let mut o = orders::find(db, caller.scope, uuid(&id)?)?;
        let s = orders::status(db, &o, now);
        if s.next(OrderEvent::Expire).is_none() || o.from_v1 {
            return Err(refuse(s, "expire"));
        }
        o.expires_at = Some(now - chrono::Duration::seconds(1));
        orders::save(db, o.clone());
        let data = orders::event_data(db, &o);
        crate::v2::events::emit(db, &state, o.scope, "order.expired", data);
        Ok(respond(StatusCode::OK, orders::render(db, &o, &origin, now)))
    })
}

async fn start_answer_review(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    Path(id): Path<String>,
) -> Result<Response, V2Error> {
    state.store.write(|db| {
        let key = uuid(&id)?.to_string();
        let r = db
            .v2_order_requests
            .get(&caller.scope, &key)
            .cloned()
            .ok_or_else(V2Error::not_found)?;
        if r.answer.is_none() {
            return Err(V2Error::conflict(
                "invalid_transition",
                "The request has no answer to review yet.",
            ));
        }
        let r = changed(&mut db.v2_order_requests, &caller.scope, &key, |r| {
            r.answer_review_started = true;
        })?;
        Ok(respond(StatusCode::OK, r.render(db, &origin)))
    })
}

async fn mandate_request(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    Path(id): Path<String>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    let (title, description, kind, attach) = read_question(&body)?;
    let now = state.now();
    state.store.write(|db| {
        let m = crate::v2::mandates::find(db, caller.scope, uuid(&id)?)?;
        if m.closed() {
            return Err(V2Error::conflict("invalid_transition", "The mandate is closed."));
        }
        let r = RequestToClient {
            seq: state.ids.next_seq(),
            scope: m.scope,
            id: state.ids.uuid(),
            mandate: Some(m.id),
            mandate_reference: Some(m.reference_number.clone()),
            claim: None,
            file_attachments: if attach {
                vec![attachment(db, &state, m.scope, "Rueckfrage.pdf", &title)]
            } else {
                Vec::new()
            },
            title,
            description,
            allowed_answer_types: vec![kind],
            uploaded: Vec::new(),
            answer: None,
            created: now,
            answered_at: None,
        };
        db.requests_to_client
            .insert(r.clone())
            .map_err(|e| V2Error::conflict("conflict", e.to_string()))?;
        crate::v2::events::emit(
            db,
            &state,
            m.scope,
            "request_to_client.created",
            json!({
                "request_to_client_id": r.id.to_string(),
                "mandate_id": m.id.to_string(),
                "request_to_client_url": format!("/v2/mandates/{}/requests-to-client/{}/", m.id, r.id),
            }),
        );
        let out = crate::v2::requests::render_mandate_request(db, &r, m.id, &origin);
        Ok((StatusCode::CREATED, axum::Json(out)).into_response())
    })
}

async fn mandate_message(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    Path(id): Path<String>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    let mut errs = Errs::default();
    let b = Obj::new(&body, "", &["title", "body"], &mut errs);
    let title = b.req_string("title", 255, &mut errs);
    let text = b.req_string("body", 20_000, &mut errs);
    let (title, text) = errs.finish((title, text))?;
    let now = state.now();
    state.store.write(|db| {
        let m = crate::v2::mandates::find(db, caller.scope, uuid(&id)?)?;
        let msg = crate::v2::messages::Message {
            seq: state.ids.next_seq(),
            scope: m.scope,
            id: state.ids.uuid(),
            parent_type: "mandate".into(),
            parent_id: m.id,
            title: title.unwrap_or_default(),
            body: crate::v2::messages::sanitize(&text.unwrap_or_default()),
            author: "paywise".into(),
            state: crate::v2::messages::MessageState::Published,
            review_started: true,
            response_to: None,
            history_entry: None,
            created_at: now,
            updated_at: now,
        };
        db.v2_messages
            .insert(msg.clone())
            .map_err(|e| V2Error::conflict("conflict", e.to_string()))?;
        Ok((StatusCode::CREATED, axum::Json(msg.render(db, &origin))).into_response())
    })
}

async fn status_update(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    Path(id): Path<String>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    let mut errs = Errs::default();
    let b = Obj::new(
        &body,
        "",
        &[
            "title",
            "description",
            "legal_stage",
            "processing_state",
            "attach_document",
        ],
        &mut errs,
    );
    let attach = matches!(b.boolean("attach_document", &mut errs), Patch::Set(true));
    let title = b.req_string("title", 255, &mut errs);
    let description = match b.string("description", 20_000, &mut errs) {
        Patch::Set(d) => d,
        _ => String::new(),
    };
    let stage = match b.choice("legal_stage", mandates::LEGAL_STAGES, &mut errs) {
        Patch::Set(s) => mandates::LegalStage::parse(&s),
        _ => None,
    };
    let processing = match b.choice("processing_state", mandates::PROCESSING_STATES, &mut errs) {
        Patch::Set(s) => mandates::ProcessingState::parse(&s),
        _ => None,
    };
    let title = errs.finish(title)?.unwrap_or_default();
    let now = state.now();
    state.store.write(|db| {
        let m = crate::v2::mandates::find(db, caller.scope, uuid(&id)?)?;
        if let Some(to) = stage
            && let Some(why) = crate::resources::backoffice::stage_refusal(m.legal_stage, to)
        {
            return Err(V2Error::conflict("invalid_transition", why));
        }
        if let Some(to) = processing
            && let Some(why) = crate::resources::backoffice::processing_refusal(m.processing_state, to)
        {
            return Err(V2Error::conflict("invalid_transition", why));
        }
        let moved = stage.is_some_and(|s| s != m.legal_stage) || processing.is_some_and(|p| p != m.processing_state);
        let mut next = m.clone();
        if let Some(s) = stage
            && s != next.legal_stage
            && next.legal_stage.apply(mandates::StageEvent::MoveTo(s))
        {
            next.stage_changed = Some(now);
        }
        if let Some(p) = processing {
            next.processing_state.apply(mandates::SetProcessing(p));
        }
        next.updated = now;
        let downloads = if attach {
            let f = attachment(db, &state, m.scope, "Sachstand.pdf", &title);
            vec![mandates::Download {
                id: f.id,
                filename: f.filename,
                mime_type: f.mime_type,
                file_size: f.file_size,
            }]
        } else {
            Vec::new()
        };
        let su = mandates::status_update(
            state.ids.next_seq(),
            state.ids.uuid(),
            &next,
            &title,
            &description,
            downloads,
            now,
        );
        db.mandates
            .update(&m.scope, &m.id.to_string(), |slot| *slot = next.clone());
        db.status_updates
            .insert(su.clone())
            .map_err(|e| V2Error::conflict("conflict", e.to_string()))?;
        let data = json!({ "mandate_id": m.id.to_string(), "mandate_url": format!("/v2/mandates/{}/", m.id) });
        if moved {
            crate::v2::events::emit(db, &state, m.scope, "mandate.state.changed", data.clone());
        }
        let mut su_data = data;
        if let Value::Object(d) = &mut su_data {
            d.insert("status_update_id".into(), json!(su.id.to_string()));
        }
        crate::v2::events::emit(db, &state, m.scope, "mandate.status_update.published", su_data);
        let out = crate::v2::mandates::render_history(db, &next, &su, &origin, false);
        Ok((StatusCode::CREATED, axum::Json(out)).into_response())
    })
}

async fn review_message(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    Path(id): Path<String>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    let mut errs = Errs::default();
    let b = Obj::new(&body, "", &["state"], &mut errs);
    let to = match b.choice("state", &["under_review", "handled"], &mut errs) {
        Patch::Set(s) => MessageState::parse(&s).unwrap_or(MessageState::UnderReview),
        _ => MessageState::UnderReview,
    };
    errs.finish(())?;
    let now = state.now();
    state.store.write(|db| {
        let key = uuid(&id)?.to_string();
        let m = db
            .v2_messages
            .get(&caller.scope, &key)
            .cloned()
            .ok_or_else(V2Error::not_found)?;
        let next = m.state.next(Review(to));
        let (true, Some(to)) = (m.author != "paywise", next) else {
            return Err(V2Error::conflict(
                "invalid_transition",
                "paywise's own messages are not reviewed.",
            ));
        };
        let m = changed(&mut db.v2_messages, &caller.scope, &key, |m| {
            m.review_started = true;
            m.state = to;
            m.updated_at = now;
        })?;
        Ok(respond(StatusCode::OK, m.render(db, &origin)))
    })
}

async fn document_status(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    Path(id): Path<String>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    let mut errs = Errs::default();
    let b = Obj::new(&body, "", &["status", "failure_reason"], &mut errs);
    let status = match b.choice("status", DocumentStatus::NAMES, &mut errs) {
        Patch::Set(s) => DocumentStatus::parse(&s),
        _ => {
            errs.push("status", "required", "This field is required.");
            None
        }
    };
    let reason = match b.choice(
        "failure_reason",
        &[
            "page_limit_exceeded",
            "encrypted",
            "corrupt",
            "unsupported",
            "processing_failed",
        ],
        &mut errs,
    ) {
        Patch::Set(r) => Some(r),
        _ => None,
    };
    let status = errs
        .finish(status)?
        .ok_or_else(|| V2Error::field("status", "required", "This field is required."))?;
    if (status == DocumentStatus::Failed) != reason.is_some() {
        return Err(V2Error::field(
            "failure_reason",
            "invalid",
            "A failed document needs a failure_reason; others have none.",
        ));
    }
    let now = state.now();
    state.store.write(|db| {
        let key = uuid(&id)?.to_string();
        let d = changed(&mut db.v2_documents, &caller.scope, &key, |d| {
            d.status.apply(ScanResult(status));
            d.failure_reason = reason;
            d.updated_at = now;
        })?;
        Ok(respond(StatusCode::OK, d.render(&origin)))
    })
}
