//! The simulated paywise back office: mock-only control endpoints under `/_mock/paywise/` that do
//! what paywise's staff do. They take the same Bearer token as the API and act in its company and
//! access mode; bodies are JSON; errors are DRF-style like the rest of the mock.
//!
//! - `POST /_mock/paywise/claims/{id}/advance` `{"to": ...}` moves a claim through review:
//!   `released -> under_review`, `under_review -> client_response_pending | accepted | rejected`,
//!   `client_response_pending -> under_review | accepted | rejected`. Optional keys: for
//!   `client_response_pending` `title`, `description`, `allowed_answer_types` (default
//!   `["yes-no"]`) of the request to client it creates; for `accepted` `reference_number` (default
//!   generated, like `K26-8Q114`). `accepted` opens a mandate for the claim (with every payment
//!   reported on the claim so far allocated), links it as `claim.mandate`, and moves the claim's
//!   review requests to the mandate. Answer 200 `{"claim", "mandate", "request_to_client"}`.
//! - `POST /_mock/paywise/mandates/{id}/status-updates` `{"title", "description", "legal_stage",
//!   "processing_state", "attach_document"}` adds a status update (201) and optionally moves the
//!   mandate: `legal_stage` only forwards (extrajudicial, judicial_dunning, foreclosure,
//!   long_term_monitoring, ended); `processing_state` `in_progress <-> paused`, either to `ended`,
//!   `canceled_by_client` or `canceled_by_service_provider`, which are final. Emits
//!   `mandate.status_updated` (and `mandate.closed` when it closes the mandate).
//! - `POST /_mock/paywise/mandates/{id}/requests-to-client` `{"title", "description",
//!   "allowed_answer_types", "attach_document"}` asks the client a question (201 with the
//!   RequestToClient); emits `request_to_client.created`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::PaywiseError;
use crate::list::{JsonBody, Origin, Resource, path_uuid};
use crate::resources::claims::{Claim, ClaimEvent, SubmissionState};
use crate::resources::files;
use crate::resources::mandates::{
    self, Download, LEGAL_STAGES, LegalStage, Mandate, PROCESSING_STATES, ProcessingState, SetProcessing, StageEvent,
};
use crate::resources::requests_to_client::{ANSWER_TYPES, FileRef, RequestToClient};
use crate::resources::webhooks::{ChoiceList, choice_list};
use crate::state::{AppState, Caller, Db, Scope};
use crate::states::Machine as _;
use crate::validate::{OPT, OPT_NOT_NULL, Obj, REQ};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/_mock/paywise/claims/{id}/advance", post(advance))
        .route("/_mock/paywise/claims/{id}/advance/", post(advance))
        .route("/_mock/paywise/mandates/{id}/status-updates", post(add_status_update))
        .route("/_mock/paywise/mandates/{id}/status-updates/", post(add_status_update))
        .route("/_mock/paywise/mandates/{id}/requests-to-client", post(add_request))
        .route("/_mock/paywise/mandates/{id}/requests-to-client/", post(add_request))
}

/// `allowed_answer_types`, a list of [`ANSWER_TYPES`].
fn answer_types(o: &mut Obj<'_>, body: &Value, required: bool) -> Option<Vec<String>> {
    choice_list(
        o,
        body,
        "allowed_answer_types",
        ANSWER_TYPES,
        required,
        ChoiceList::List,
    )
}

#[allow(clippy::too_many_arguments)]
fn new_request(
    state: &AppState,
    db: &mut Db,
    scope: Scope,
    mandate: Option<&Mandate>,
    claim: Option<Uuid>,
    title: String,
    description: String,
    types: Vec<String>,
    attach: bool,
) -> Result<RequestToClient, PaywiseError> {
    let now = state.now();
    let mut attachments = Vec::new();
    if attach {
        let id = state.ids.uuid();
        let file = files::generated_file(id, state.ids.next_seq(), scope, "Schreiben.pdf", &title, now);
        attachments.push(FileRef::from(&file));
        db.files.insert(file).map_err(|e| stored("file", e))?;
    }
    let r = RequestToClient {
        seq: state.ids.next_seq(),
        scope,
        id: state.ids.uuid(),
        mandate: mandate.map(|m| m.id),
        mandate_reference: mandate.map(|m| m.reference_number.clone()),
        claim,
        title,
        description,
        allowed_answer_types: types,
        file_attachments: attachments,
        uploaded: Vec::new(),
        answer: None,
        created: now,
        answered_at: None,
    };
    db.requests_to_client
        .insert(r.clone())
        .map_err(|e| stored("request to client", e))?;
    Ok(r)
}

/// The optional parts of a review step (see [`advance_in`]).
#[derive(Debug, Clone, Default)]
pub struct AdvanceOptions {
    /// `client_response_pending`: the question's title (default "Rückfrage zur Forderung").
    pub title: Option<String>,
    /// `client_response_pending`: the question (default a generic one naming the claim).
    pub description: Option<String>,
    /// `client_response_pending`: the answer types (default `["yes-no"]`).
    pub types: Option<Vec<String>>,
    /// `accepted`: the mandate's file number (default generated).
    pub reference: Option<String>,
}

/// What a review step changed: the claim, the mandate it opened, the request to client it made.
#[derive(Debug, Clone)]
pub struct Advanced {
    /// The claim after the step.
    pub claim: Claim,
    /// The mandate opened (`accepted`).
    pub mandate: Option<Uuid>,
    /// The request to client made (`client_response_pending`).
    pub request: Option<RequestToClient>,
}

/// Why a claim in `from` cannot move to `to` in review, if it cannot (the moves are
/// [`SubmissionState::review_targets`]).
pub fn review_refusal(from: SubmissionState, to: SubmissionState) -> Option<String> {
    if from.next(ClaimEvent::Review(to)).is_some() {
        return None;
    }
    let allowed = from.review_targets();
    let allowed = if allowed.is_empty() {
        "none".to_string()
    } else {
        allowed.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
    };
    Some(format!(
        "Cannot move a claim from \"{from}\" to \"{to}\"; allowed from there: {allowed}."
    ))
}

fn stored(what: &str, e: impl std::fmt::Display) -> PaywiseError {
    PaywiseError::not_stored(what, e)
}

/// Moves claim `claim_id` of `scope` to `to` at `now`, inside a store write, as paywise's staff do
/// (see the module doc): `accepted` opens a mandate, `client_response_pending` asks the client.
/// Emits nothing: the caller emits [`emit_advanced`] after the write.
pub fn advance_in(
    state: &AppState,
    db: &mut Db,
    scope: Scope,
    claim_id: Uuid,
    to: SubmissionState,
    opts: &AdvanceOptions,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Advanced, PaywiseError> {
    let current = db
        .claims
        .get(&scope, &claim_id.to_string())
        .cloned()
        .ok_or_else(PaywiseError::not_found)?;
    if let Some(why) = review_refusal(current.submission_state, to) {
        return Err(PaywiseError::field("to", why));
    }
    let mut mandate_id = None;
    let mut request = None;
    let mut link = None;
    match to {
        SubmissionState::ClientResponsePending => {
            request = Some(new_request(
                state,
                db,
                scope,
                None,
                Some(current.id),
                opts.title.clone().unwrap_or_else(|| "Rückfrage zur Forderung".into()),
                opts.description.clone().unwrap_or_else(|| {
                    format!(
                        "Bitte beantworten Sie unsere Rückfrage zur Forderung {}.",
                        current.document_reference.clone().unwrap_or_default()
                    )
                }),
                opts.types.clone().unwrap_or_else(|| vec!["yes-no".into()]),
                false,
            )?);
        }
        SubmissionState::Accepted => {
            let mid = state.ids.uuid();
            let number = opts.reference.clone().unwrap_or_else(|| {
                mandates::reference_number(chrono::Datelike::year(&now), *state.ids.uuid().as_bytes())
            });
            let payments: Vec<(Uuid, Decimal)> = db
                .payments
                .lookup(&scope, "claim", &current.id.to_string())
                .map(|p| (p.id, p.amount.value))
                .collect();
            let debtor = db.debtors.get(&scope, &current.debtor.to_string()).cloned();
            let m = Mandate::for_claim(
                state.ids.next_seq(),
                mid,
                number.clone(),
                &current,
                debtor.as_ref(),
                &payments,
                [Decimal::ZERO; 3],
                now,
            );
            // Requests asked during the review now belong to the mandate.
            let pending: Vec<String> = db
                .requests_to_client
                .lookup(&scope, "claim", &current.id.to_string())
                .filter(|r| r.mandate.is_none())
                .map(|r| r.id.to_string())
                .collect();
            for r in pending {
                db.requests_to_client.update(&scope, &r, |r| {
                    r.mandate = Some(mid);
                    r.mandate_reference = Some(number.clone());
                });
            }
            let su = mandates::status_update(
                state.ids.next_seq(),
                state.ids.uuid(),
                &m,
                "Mandat angelegt",
                &format!("<p>Ihre Forderung wurde angenommen; Aktenzeichen {number}.</p>"),
                Vec::new(),
                now,
            );
            db.mandates.insert(m).map_err(|e| stored("mandate", e))?;
            db.status_updates.insert(su).map_err(|e| stored("status update", e))?;
            link = Some(json!({"id": mid.to_string(), "reference_number": number}));
            mandate_id = Some(mid);
        }
        _ => {}
    }
    let claim = db
        .claims
        .update(&scope, &claim_id.to_string(), |c| {
            c.submission_state.apply(ClaimEvent::Review(to));
            if link.is_some() {
                c.mandate = link.clone();
            }
            c.updated = now;
            c.clone()
        })
        .ok_or_else(PaywiseError::not_found)?;
    Ok(Advanced {
        claim,
        mandate: mandate_id,
        request,
    })
}

/// The events of a review step (after its write): `claim.updated`, and
/// `request_to_client.created` or `mandate.created`. Returns the claim, request and mandate as
/// the API shows them.
pub fn emit_advanced(state: &AppState, scope: Scope, a: &Advanced, origin: &Origin) -> (Value, Value, Value) {
    let claim_json = a.claim.render(origin);
    state.emit(scope, "claim.updated", claim_json.clone());
    let request_json = a.request.as_ref().map(|r| r.render(origin));
    if let Some(r) = &request_json {
        state.emit(scope, "request_to_client.created", r.clone());
    }
    let mandate_json = a
        .mandate
        .and_then(|m| mandates::render_by_id(state, &scope, &m, origin));
    if let Some(m) = &mandate_json {
        state.emit(scope, "mandate.created", m.clone());
    }
    (
        claim_json,
        request_json.unwrap_or(Value::Null),
        mandate_json.unwrap_or(Value::Null),
    )
}

async fn advance(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, PaywiseError> {
    let id = path_uuid(&id)?;
    let scope = caller.scope();
    let claim = state
        .store
        .read(|db| db.claims.get(&scope, &id.to_string()).cloned())
        .ok_or_else(PaywiseError::not_found)?;
    let mut o = Obj::new(&body).map_err(PaywiseError::Validation)?;
    let to = o
        .choice(
            "to",
            REQ,
            &["under_review", "client_response_pending", "accepted", "rejected"],
        )
        .and_then(|t| SubmissionState::parse(&t));
    let title = o.string("title", OPT, Some(255));
    let description = o.string("description", OPT, None);
    let types = answer_types(&mut o, &body, false);
    let reference = o.string("reference_number", OPT, Some(50));
    if let Some(t) = to
        && let Some(why) = review_refusal(claim.submission_state, t)
    {
        o.error("to", why);
    }
    o.finish().map_err(PaywiseError::Validation)?;
    let Some(to) = to else {
        return Err(PaywiseError::field("to", crate::validate::REQUIRED));
    };
    let opts = AdvanceOptions {
        title,
        description,
        types,
        reference,
    };
    let now = state.now();
    let advanced = state.store.write(|db| {
        let current = db
            .claims
            .get(&scope, &id.to_string())
            .ok_or_else(PaywiseError::not_found)?;
        if current.submission_state != claim.submission_state {
            return Err(PaywiseError::field("to", "The claim changed meanwhile; try again."));
        }
        advance_in(&state, db, scope, id, to, &opts, now)
    })?;
    let (claim_json, request_json, mandate_json) = emit_advanced(&state, scope, &advanced, &origin);
    Ok(Json(json!({
        "claim": claim_json,
        "mandate": mandate_json,
        "request_to_client": request_json,
    })))
}

fn mandate(state: &AppState, scope: &Scope, id: &str) -> Result<Mandate, PaywiseError> {
    let id = path_uuid(id)?;
    state
        .store
        .read(|db| db.mandates.get(scope, &id.to_string()).cloned())
        .ok_or_else(PaywiseError::not_found)
}

/// Why `from -> to` is refused for a processing state, if it is.
pub fn processing_refusal(from: ProcessingState, to: ProcessingState) -> Option<String> {
    from.next(SetProcessing(to))
        .is_none()
        .then(|| format!("The mandate's processing state \"{from}\" is final; it cannot become \"{to}\"."))
}

/// Why `from -> to` is refused for a legal stage, if it is.
pub fn stage_refusal(from: LegalStage, to: LegalStage) -> Option<String> {
    from.next(StageEvent::MoveTo(to))
        .is_none()
        .then(|| format!("The legal stage cannot go back from \"{from}\" to \"{to}\"."))
}

async fn add_status_update(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), PaywiseError> {
    let scope = caller.scope();
    let m = mandate(&state, &scope, &id)?;
    let mut o = Obj::new(&body).map_err(PaywiseError::Validation)?;
    let title = o.string("title", REQ, Some(255));
    let description = o.string("description", OPT, None);
    let stage = o
        .choice("legal_stage", OPT_NOT_NULL, LEGAL_STAGES)
        .and_then(|s| LegalStage::parse(&s));
    let processing = o
        .choice("processing_state", OPT_NOT_NULL, PROCESSING_STATES)
        .and_then(|p| ProcessingState::parse(&p));
    let attach = o.boolean("attach_document", OPT_NOT_NULL).unwrap_or(false);
    if let Some(s) = stage
        && let Some(e) = stage_refusal(m.legal_stage, s)
    {
        o.error("legal_stage", e);
    }
    if let Some(p) = processing
        && let Some(e) = processing_refusal(m.processing_state, p)
    {
        o.error("processing_state", e);
    }
    let changes = stage.is_some_and(|s| s != m.legal_stage) || processing.is_some_and(|p| p != m.processing_state);
    if m.closed() && changes && !o.failed("processing_state") {
        o.non_field(format!(
            "The mandate is closed (\"{}\"); it cannot change any more.",
            m.processing_state
        ));
    }
    o.finish().map_err(PaywiseError::Validation)?;
    let title = title.unwrap_or_default();
    let now = state.now();
    let was_closed = m.closed();
    let change = StageChange {
        title,
        description,
        legal_stage: stage,
        processing_state: processing,
        attach,
    };
    let su = state
        .store
        .write(|db| status_update_in(&state, db, scope, m.id, &change, now))?;
    emit_status_update(&state, scope, m.id, was_closed, &origin);
    Ok((StatusCode::CREATED, Json(su.render(&origin))))
}

/// A status update paywise's staff publish, optionally moving the mandate (see
/// [`status_update_in`]).
#[derive(Debug, Clone, Default)]
pub struct StageChange {
    /// The update's title.
    pub title: String,
    /// Its description (HTML; default the title as a paragraph).
    pub description: Option<String>,
    /// The new legal stage, if it moves.
    pub legal_stage: Option<LegalStage>,
    /// The new processing state, if it moves.
    pub processing_state: Option<ProcessingState>,
    /// Whether a generated PDF is attached.
    pub attach: bool,
}

/// Adds a status update to mandate `mandate_id` of `scope` at `now`, moving it as `change` says
/// (checked by the caller), inside a store write. Emits nothing: the caller emits
/// [`emit_status_update`] after the write.
pub fn status_update_in(
    state: &AppState,
    db: &mut Db,
    scope: Scope,
    mandate_id: Uuid,
    change: &StageChange,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<mandates::StatusUpdate, PaywiseError> {
    let m = db
        .mandates
        .get(&scope, &mandate_id.to_string())
        .cloned()
        .ok_or_else(PaywiseError::not_found)?;
    let title = &change.title;
    let mut downloads = Vec::new();
    if change.attach {
        let fid = state.ids.uuid();
        let filename = format!("{}_{}.pdf", m.reference_number, now.format("%Y%m%d"));
        let file = files::generated_file(fid, state.ids.next_seq(), scope, &filename, title, now);
        downloads.push(Download {
            id: fid,
            filename,
            mime_type: file.mime_type.clone(),
            file_size: file.file_size,
        });
        db.files.insert(file).map_err(|e| stored("file", e))?;
    }
    let updated = db
        .mandates
        .update(&scope, &m.id.to_string(), |x| {
            if let Some(s) = change.legal_stage
                && s != x.legal_stage
                && x.legal_stage.apply(StageEvent::MoveTo(s))
            {
                x.stage_changed = Some(now);
            }
            if let Some(p) = change.processing_state {
                x.processing_state.apply(SetProcessing(p));
            }
            x.updated = now;
            x.clone()
        })
        .ok_or_else(PaywiseError::not_found)?;
    let su = mandates::status_update(
        state.ids.next_seq(),
        state.ids.uuid(),
        &updated,
        title,
        &change.description.clone().unwrap_or_else(|| format!("<p>{title}</p>")),
        downloads,
        now,
    );
    db.status_updates
        .insert(su.clone())
        .map_err(|e| stored("status update", e))?;
    Ok(su)
}

/// The events of a status update (after its write): `mandate.status_updated`, and
/// `mandate.closed` if the mandate was open before (`was_closed`) and is closed now.
pub fn emit_status_update(state: &AppState, scope: Scope, mandate_id: Uuid, was_closed: bool, origin: &Origin) {
    let closed = state.store.read(|db| {
        db.mandates
            .get(&scope, &mandate_id.to_string())
            .is_some_and(Mandate::closed)
    });
    if let Some(mj) = mandates::render_by_id(state, &scope, &mandate_id, origin) {
        state.emit(scope, "mandate.status_updated", mj.clone());
        if closed && !was_closed {
            state.emit(scope, "mandate.closed", mj);
        }
    }
}

async fn add_request(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), PaywiseError> {
    let scope = caller.scope();
    let m = mandate(&state, &scope, &id)?;
    let mut o = Obj::new(&body).map_err(PaywiseError::Validation)?;
    let title = o.string("title", REQ, Some(255));
    let description = o.string("description", OPT, None);
    let types = answer_types(&mut o, &body, true);
    let attach = o.boolean("attach_document", OPT_NOT_NULL).unwrap_or(false);
    o.finish().map_err(PaywiseError::Validation)?;
    let (Some(title), Some(types)) = (title, types) else {
        return Err(PaywiseError::field("title", crate::validate::REQUIRED));
    };
    let r = state.store.write(|db| {
        let r = new_request(
            &state,
            db,
            scope,
            Some(&m),
            m.claims.first().map(|c| c.id),
            title,
            description.unwrap_or_default(),
            types,
            attach,
        )?;
        let now = state.now();
        db.mandates.update(&scope, &m.id.to_string(), |x| x.updated = now);
        Ok::<_, PaywiseError>(r)
    })?;
    let out = r.render(&origin);
    state.emit(scope, "request_to_client.created", out.clone());
    Ok((StatusCode::CREATED, Json(out)))
}

/// Adds this module's fixtures (none: the back office only acts on request).
pub fn seed(f: &mut fixtures::Faker, seq: &mut u64, db: &mut Db) {
    let _ = (f, seq, db);
}
