//! `/v2/mandates/`: accepted cases, read-only (v1's mandates seen through v2), their history
//! (v1's status updates), documents (their claims' documents), messages, payments and requests
//! to client (the last two in [`crate::v2::payments`] and [`crate::v2::requests`] terms).
//!
//! `state` shows v1's `legal_stage` and `processing_state` and the payment state of the balance as
//! `{code, label, label_key}`; `legal_balance` is v1's `legal_claim_balance`; `total_amount` its
//! total legal claim. The mock has no sub-cases: `main_case` is null and `subcases` empty. The
//! list shows archived cases only when asked (`archived=true`) or in `updated_since` mode.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::format::Money;
use crate::list::Origin;
use crate::resources::mandates::{
    LegalStage, Mandate, PAYMENT_STATES, PROCESSING_STATES, ProcessingState, StatusUpdate,
};
use crate::resources::payments::Payment;
use crate::state::{AppState, Db, Scope};
use crate::v2::conv::{Idem, Paging, Query, V2Caller, V2Json, list_answer, page, respond, show, ts};
use crate::v2::error::V2Error;

/// `requests` filter values.
pub const REQUEST_FILTERS: &[&str] = &[
    "has_answered_requests_to_client",
    "has_no_requests_to_client",
    "has_open_requests_to_client",
];

fn label(kind: &str, code: &str) -> &'static str {
    match (kind, code) {
        ("legal_stage", "extrajudicial") => "Außergerichtliches Verfahren",
        ("legal_stage", "judicial_dunning") => "Gerichtliches Mahnverfahren",
        ("legal_stage", "foreclosure") => "Zwangsvollstreckung",
        ("legal_stage", "long_term_monitoring") => "Langzeitüberwachung",
        ("legal_stage", "ended") => "Beendet",
        ("processing", "in_progress") => "In Bearbeitung",
        ("processing", "paused") => "Pausiert",
        ("processing", "canceled_by_client") => "Storniert durch Mandant",
        ("processing", "canceled_by_service_provider") => "Storniert durch paywise",
        ("processing", "ended") => "Abgeschlossen",
        ("payment", "unpaid") => "Unbezahlt",
        ("payment", "partially_paid") => "Teilweise bezahlt",
        ("payment", "fully_paid") => "Vollständig bezahlt",
        _ => "",
    }
}

fn value(kind: &str, code: &str) -> Value {
    if code.is_empty() {
        return json!({ "code": "", "label": "", "label_key": "" });
    }
    json!({ "code": code, "label": label(kind, code), "label_key": format!("mandate.{kind}.{code}") })
}

/// `MandateState` of `m`.
pub fn state_of(m: &Mandate) -> Value {
    json!({
        "legal_stage": value("legal_stage", m.legal_stage.as_str()),
        "processing": value("processing", m.processing_state.as_str()),
        "payment": value("payment", m.balance.payment_state()),
    })
}

fn money_read(v: Decimal) -> Value {
    json!({ "value": crate::format::decimal_string(v), "currency": "EUR" })
}

/// The debtor snapshot of `m`.
pub fn debtor_of(db: &Db, m: &Mandate) -> Value {
    db.debtors
        .get(&m.scope, &m.debtor.to_string())
        .map_or(Value::Null, crate::v2::debtors::snapshot)
}

/// `MandateList`.
pub fn render_row(db: &Db, m: &Mandate) -> Value {
    json!({
        "id": m.id.to_string(),
        "reference_number": m.reference_number,
        "previous_reference_numbers": m.further_reference_numbers,
        "debtor": debtor_of(db, m),
        "state": state_of(m),
        "total_amount": money_read(m.balance.total_legal()),
        "archived": m.archived,
        "created_at": ts(&m.created),
        "updated_at": ts(&m.updated),
    })
}

/// `MandateLegalBalance` (the same members as v1's `legal_claim_balance`).
fn legal_balance(m: &Mandate) -> Value {
    let mut v = m.balance.render();
    if let Value::Object(o) = &mut v {
        for (_, x) in o.iter_mut() {
            if let Value::Object(amount) = x
                && let Some(Value::String(s)) = amount.get("value")
                && let Ok(d) = s.parse::<Decimal>()
            {
                *x = Money::eur(d).to_json();
            }
        }
    }
    v
}

/// `MandateHistory` of a status update.
pub fn render_history(db: &Db, m: &Mandate, su: &StatusUpdate, origin: &Origin, expand: bool) -> Value {
    let text = strip_tags(&su.description);
    let related: Vec<Value> = db
        .v2_messages
        .lookup(&m.scope, "parent", &m.id.to_string())
        .filter(|msg| msg.history_entry == Some(su.id))
        .map(|msg| {
            json!({
                "type": "message",
                "id": msg.id.to_string(),
                "url": format!("/v2/mandates/{}/messages/{}/", m.id, msg.id),
                "body": if expand { msg.render(db, origin) } else { Value::Null },
            })
        })
        .collect();
    json!({
        "id": su.id.to_string(),
        "type": "status_update",
        "title": su.title,
        "description": text,
        "text": text,
        "occurred_at": ts(&su.created),
        "updated_at": ts(&su.created),
        "state": {
            "legal_stage": value("legal_stage", su.legal_stage.as_str()),
            "processing": value("processing", su.processing_state.as_str()),
            "payment": value("payment", ""),
        },
        "is_advance_request": false,
        "advance_type": "",
        "attachments": su.downloads.iter().map(|d| json!({
            "id": d.id.to_string(),
            "filename": d.filename,
            "mime_type": d.mime_type,
            "download_url": origin.url(&format!("/v2/mandates/{}/history/{}/attachments/{}/download/", m.id, su.id, d.id)),
        })).collect::<Vec<_>>(),
        "source_mandate": { "id": m.id.to_string(), "reference_number": m.reference_number, "relation": "main_case" },
        "related_resources": related,
    })
}

/// The plain text of `html`: its tags dropped, trimmed.
fn strip_tags(html: &str) -> String {
    crate::v2::messages::text_of(html).trim().to_string()
}

fn history_of(db: &Db, m: &Mandate) -> Vec<StatusUpdate> {
    let mut out: Vec<StatusUpdate> = db
        .status_updates
        .lookup(&m.scope, "mandate", &m.id.to_string())
        .cloned()
        .collect();
    out.sort_by(|a, b| b.created.cmp(&a.created).then(b.seq.cmp(&a.seq)));
    out
}

/// `MandateDetail`.
pub fn render(db: &Db, m: &Mandate, origin: &Origin, history: bool, expand: bool) -> Value {
    let mut v = render_row(db, m);
    if let Value::Object(o) = &mut v {
        let mut claims: Vec<_> = m
            .claims
            .iter()
            .filter_map(|c| db.claims.get(&m.scope, &c.id.to_string()))
            .collect();
        claims.sort_by_key(|c| c.created);
        o.insert(
            "claims".into(),
            Value::Array(
                claims
                    .iter()
                    .map(|c| crate::v2::claims::render(db, c, origin))
                    .collect(),
            ),
        );
        o.insert("legal_balance".into(), legal_balance(m));
        o.insert("main_case".into(), Value::Null);
        o.insert("subcases".into(), json!([]));
        let entries: Vec<Value> = if history {
            history_of(db, m)
                .iter()
                .take(100)
                .map(|su| render_history(db, m, su, origin, expand))
                .collect()
        } else {
            Vec::new()
        };
        o.insert("history".into(), Value::Array(entries));
    }
    v
}

/// The caller's mandate `id`.
pub fn find(db: &Db, scope: Scope, id: Uuid) -> Result<Mandate, V2Error> {
    db.mandates
        .get(&scope, &id.to_string())
        .cloned()
        .ok_or_else(V2Error::not_found)
}

fn find_raw(db: &Db, scope: Scope, raw: &str) -> Result<Mandate, V2Error> {
    find(db, scope, Uuid::parse_str(raw).map_err(|_| V2Error::not_found())?)
}

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/mandates/", get(list))
        .route("/mandates/{p1}/", get(get_one))
        .route("/mandates/{p1}/documents/", get(documents))
        .route("/mandates/{p1}/documents/{p2}/download/", get(download_document))
        .route("/mandates/{p1}/history/", get(history))
        .route(
            "/mandates/{p1}/history/{p2}/attachments/{p3}/download/",
            get(download_attachment),
        )
        .route("/mandates/{p1}/payments/", get(list_payments).post(create_payment))
}

fn open_requests(db: &Db, m: &Mandate) -> (usize, usize) {
    let rtcs: Vec<_> = db
        .requests_to_client
        .lookup(&m.scope, "mandate", &m.id.to_string())
        .collect();
    let open = rtcs.iter().filter(|r| r.answer.is_none()).count();
    (rtcs.len(), open)
}

fn debtor_name(db: &Db, m: &Mandate) -> String {
    db.debtors
        .get(&m.scope, &m.debtor.to_string())
        .map_or_else(|| m.debtor_name.to_lowercase(), |d| d.display_name().to_lowercase())
}

async fn list(State(state): State<AppState>, caller: V2Caller, origin: Origin) -> Result<Response, V2Error> {
    let mut q = Query::new(&origin.query);
    let paging = Paging::read(&mut q, true);
    let archived = q.boolean("archived");
    let after = q.datetime("created_after");
    let before = q.datetime("created_before");
    let legal_stage = q.string("legal_stage").map(|s| LegalStage::parse(&s));
    let ordering = q.ordering(&["name", "created", "amount", "status"]);
    let payment = q.choices("payment_state", PAYMENT_STATES);
    // Typed once: a stage no mandate can be in (the filter takes any text) matches none.
    let processing: Vec<Option<ProcessingState>> = q
        .choices("processing_state", PROCESSING_STATES)
        .iter()
        .map(|p| ProcessingState::parse(p))
        .collect();
    let search = q.string("q");
    let reference = q.string("reference_number");
    let requests = q.choices("requests", REQUEST_FILTERS);
    q.finish()?;
    let now = state.now();
    let scope = caller.scope;
    let sync = paging.since.is_some();
    let body = state.store.read(|db| {
        let search_uuid = search.as_deref().and_then(|s| Uuid::parse_str(s.trim()).ok());
        let needle = search.as_deref().map(str::to_lowercase);
        let mut rows: Vec<&Mandate> = db
            .mandates
            .iter(&scope)
            .filter(|m| match archived {
                Some(a) => m.archived == a,
                None => sync || !m.archived,
            })
            .filter(|m| after.is_none_or(|t| m.created >= t) && before.is_none_or(|t| m.created <= t))
            .filter(|m| legal_stage.is_none_or(|s| s == Some(m.legal_stage)))
            .filter(|m| payment.is_empty() || payment.iter().any(|p| p == m.balance.payment_state()))
            .filter(|m| processing.is_empty() || processing.contains(&Some(m.processing_state)))
            .filter(|m| {
                reference.as_ref().is_none_or(|r| {
                    m.reference_number.to_lowercase().contains(&r.to_lowercase())
                        || m.further_reference_numbers.iter().any(|p| p == r)
                })
            })
            .filter(|m| {
                requests.is_empty() || {
                    let (all, open) = open_requests(db, m);
                    requests.iter().any(|r| match r.as_str() {
                        "has_no_requests_to_client" => all == 0,
                        "has_open_requests_to_client" => open > 0,
                        _ => all > open,
                    })
                }
            })
            .filter(|m| match (&search_uuid, &needle) {
                (Some(u), _) => m.id == *u || m.claims.iter().any(|c| c.id == *u),
                (None, Some(n)) => {
                    debtor_name(db, m).contains(n.as_str())
                        || m.reference_number.to_lowercase().contains(n.as_str())
                        || m.further_reference_numbers
                            .iter()
                            .any(|p| p.to_lowercase().contains(n.as_str()))
                        || m.claims.iter().any(|c| {
                            db.claims.get(&m.scope, &c.id.to_string()).is_some_and(|c| {
                                [&c.your_reference, &c.document_reference]
                                    .iter()
                                    .any(|f| f.as_deref().is_some_and(|v| v.to_lowercase() == *n))
                            })
                        })
                        || (n.chars().count() >= 3
                            && history_of(db, m).iter().any(|su| {
                                su.title.to_lowercase().contains(n.as_str())
                                    || su.description.to_lowercase().contains(n.as_str())
                            }))
                }
                (None, None) => true,
            })
            .collect();
        let ordering = if ordering.is_empty() {
            vec![("created".to_string(), true)]
        } else {
            ordering
        };
        let latest_status = |m: &Mandate| history_of(db, m).first().map(|s| s.title.clone()).unwrap_or_default();
        rows.sort_by(|a, b| {
            for (field, desc) in &ordering {
                let ord = match field.as_str() {
                    "name" => debtor_name(db, a).cmp(&debtor_name(db, b)),
                    "amount" => a.balance.total_legal().cmp(&b.balance.total_legal()),
                    "status" => latest_status(a).cmp(&latest_status(b)),
                    _ => a.created.cmp(&b.created),
                };
                let ord = if *desc { ord.reverse() } else { ord };
                if ord != std::cmp::Ordering::Equal {
                    return ord;
                }
            }
            b.seq.cmp(&a.seq)
        });
        page(
            &origin,
            &paging,
            now,
            rows,
            |m| (m.updated, m.id),
            |m| render_row(db, m),
        )
    });
    Ok(respond(StatusCode::OK, body))
}

async fn get_one(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, V2Error> {
    let mut q = Query::new(&origin.query);
    let history = q.boolean("history").unwrap_or(false);
    let expand = q.choices("expand", &["history.related_resources"]);
    q.finish()?;
    let v = state
        .store
        .read(|db| find_raw(db, caller.scope, &id).map(|m| render(db, &m, &origin, history, !expand.is_empty())))?;
    Ok(show(&headers, v))
}

/// The documents of the mandate's claims (v2 uploads and v1 claim documents).
fn mandate_documents(db: &Db, m: &Mandate, origin: &Origin) -> Vec<(DateTime<Utc>, Uuid, Value)> {
    let claim_ids: Vec<Uuid> = m.claims.iter().map(|c| c.id).collect();
    let mut out: Vec<(DateTime<Utc>, Uuid, Value)> = db
        .v2_documents
        .iter(&m.scope)
        .filter(|d| d.claim.is_some_and(|c| claim_ids.contains(&c)))
        .map(|d| (d.updated_at, d.id, d.render_for_mandate(origin, m.id)))
        .collect();
    for c in claim_ids
        .iter()
        .filter_map(|id| db.claims.get(&m.scope, &id.to_string()))
    {
        for d in &c.documents {
            let Some(id) = d
                .get("id")
                .and_then(Value::as_str)
                .and_then(|s| Uuid::parse_str(s).ok())
            else {
                continue;
            };
            out.push((
                c.created,
                id,
                json!({
                    "id": id.to_string(),
                    "type": "invoice",
                    "status": "ready",
                    "filename": d.get("filename"),
                    "mime_type": d.get("mime_type"),
                    "download_url": origin.url(&format!("/v2/mandates/{}/documents/{id}/download/", m.id)),
                    "created_at": ts(&c.created),
                }),
            ));
        }
    }
    out.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
    out
}

async fn documents(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    Path(id): Path<String>,
) -> Result<Response, V2Error> {
    list_answer(
        &state,
        &origin,
        |_| (),
        |db, (), paging, now| {
            let m = find_raw(db, caller.scope, &id)?;
            let rows = mandate_documents(db, &m, &origin);
            Ok(page(
                &origin,
                paging,
                now,
                rows,
                |(t, id, _)| (*t, *id),
                |(_, _, v)| v.clone(),
            ))
        },
    )
}

async fn download_document(
    State(state): State<AppState>,
    caller: V2Caller,
    Path((id, doc)): Path<(String, String)>,
) -> Result<Response, V2Error> {
    let doc = Uuid::parse_str(&doc).map_err(|_| V2Error::not_found())?;
    let found = state.store.read(|db| {
        let m = find_raw(db, caller.scope, &id)?;
        let claim_ids: Vec<Uuid> = m.claims.iter().map(|c| c.id).collect();
        if let Some(d) = db.v2_documents.get(&m.scope, &doc.to_string()).filter(|d| {
            d.claim.is_some_and(|c| claim_ids.contains(&c)) && d.status == crate::v2::documents::DocumentStatus::Ready
        }) {
            return Ok((d.filename.clone(), d.mime_type.clone(), d.bytes.clone()));
        }
        let listed = claim_ids
            .iter()
            .filter_map(|c| db.claims.get(&m.scope, &c.to_string()))
            .any(|c| {
                c.documents
                    .iter()
                    .any(|d| d.get("id").and_then(Value::as_str) == Some(doc.to_string().as_str()))
            });
        match db.files.get(&m.scope, &doc.to_string()) {
            Some(f) if listed => Ok((f.filename.clone(), f.mime_type.clone(), f.content.clone())),
            _ if listed => Ok((
                format!("{doc}.pdf"),
                "application/pdf".into(),
                crate::resources::files::generated_pdf("Document"),
            )),
            _ => Err(V2Error::not_found()),
        }
    })?;
    Ok(crate::v2::documents::file_response(&found.0, &found.1, found.2))
}

async fn history(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    Path(id): Path<String>,
) -> Result<Response, V2Error> {
    list_answer(
        &state,
        &origin,
        |q| q.choices("expand", &["history.related_resources"]),
        |db, expand, paging, now| {
            let m = find_raw(db, caller.scope, &id)?;
            let rows = history_of(db, &m);
            Ok(page(
                &origin,
                paging,
                now,
                rows,
                |su| (su.created, su.id),
                |su| render_history(db, &m, su, &origin, !expand.is_empty()),
            ))
        },
    )
}

async fn download_attachment(
    State(state): State<AppState>,
    caller: V2Caller,
    Path((id, entry, file)): Path<(String, String, String)>,
) -> Result<Response, V2Error> {
    let entry = Uuid::parse_str(&entry).map_err(|_| V2Error::not_found())?;
    let file = Uuid::parse_str(&file).map_err(|_| V2Error::not_found())?;
    state.store.read(|db| {
        let m = find_raw(db, caller.scope, &id)?;
        let su = db
            .status_updates
            .get(&m.scope, &entry.to_string())
            .filter(|s| s.mandate == m.id && s.downloads.iter().any(|d| d.id == file))
            .ok_or_else(V2Error::not_found)?;
        let d = su
            .downloads
            .iter()
            .find(|d| d.id == file)
            .ok_or_else(V2Error::not_found)?;
        Ok(crate::v2::documents::attachment_response(
            db,
            m.scope,
            file,
            &d.filename,
            &d.mime_type,
            &su.title,
        ))
    })
}

async fn list_payments(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    Path(id): Path<String>,
) -> Result<Response, V2Error> {
    crate::v2::payments::page_of(&state, &origin, |db| {
        let m = find_raw(db, caller.scope, &id)?;
        // The payments of each of its claims, by their secondary key.
        let mut rows: Vec<&Payment> = m
            .claims
            .iter()
            .flat_map(|c| {
                db.payments
                    .lookup(&m.scope, "claim", &c.id.to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        rows.sort_by(|a, b| b.created.cmp(&a.created).then(b.seq.cmp(&a.seq)));
        // A claim listed twice lists its payments once.
        rows.dedup_by_key(|p| p.seq);
        Ok(rows)
    })
}

async fn create_payment(
    State(state): State<AppState>,
    caller: V2Caller,
    idem: Idem,
    Path(id): Path<String>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    idem.run(&state, &caller, &body, || {
        let input = crate::v2::payments::read_report(&state, &body)?;
        state.store.write(|db| {
            let m = find_raw(db, caller.scope, &id)?;
            let Some(claim) = m.claims.first().map(|c| c.id) else {
                return Err(V2Error::conflict(
                    "conflict",
                    "The mandate has no claim to book the payment on.",
                ));
            };
            let payment = crate::v2::payments::new_payment(&state, m.scope, claim, input);
            crate::v2::payments::report(db, &state, &payment)?;
            Ok((StatusCode::CREATED, crate::v2::payments::render(db, &payment)))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::mandates::LEGAL_STAGES;

    #[test]
    fn every_code_has_a_label() {
        for s in LEGAL_STAGES {
            assert!(!label("legal_stage", s).is_empty(), "{s}");
        }
        for s in PROCESSING_STATES {
            assert!(!label("processing", s).is_empty(), "{s}");
        }
        for s in PAYMENT_STATES {
            assert!(!label("payment", s).is_empty(), "{s}");
        }
        assert_eq!(strip_tags("<p>Hallo <b>Welt</b></p>"), "Hallo Welt");
    }
}
