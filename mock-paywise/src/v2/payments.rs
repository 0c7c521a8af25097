//! `GET /v2/payments/`, `GET /v2/payments/{id}/`: the payments the client reported (v1's payment
//! records, seen through v2). New reports go to `POST /v2/claims/{id}/payments/` or
//! `POST /v2/mandates/{id}/payments/`; a report on a claim with a mandate is booked on the
//! mandate's balance and raises `payment.reported` and `mandate.balance_updated`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::format::Money;
use crate::list::Origin;
use crate::resources::payments::Payment;
use crate::state::{AppState, Db, Scope};
use crate::v2::claims::{PaymentInput, read_payment};
use crate::v2::conv::{Paging, Query, V2Caller, date, list_answer, page, respond, show, ts};
use crate::v2::error::{Errs, V2Error};

/// `PaymentRead`.
pub fn render(db: &Db, p: &Payment) -> Value {
    let claim = db.claims.get(&p.scope, &p.claim.to_string());
    let mandate = claim
        .and_then(|c| c.mandate.as_ref())
        .and_then(|m| m.get("id"))
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .and_then(|id| db.mandates.get(&p.scope, &id.to_string()));
    json!({
        "id": p.id.to_string(),
        "amount": { "value": crate::format::decimal_string(p.amount.value), "currency": "EUR" },
        "value_date": date(&Some(p.value_date)),
        "your_reference": p.your_reference,
        "claim": claim.map(|c| json!({
            "id": c.id.to_string(),
            "document_reference": c.document_reference,
            "your_reference": c.your_reference,
        })),
        "mandate": mandate.map(|m| json!({ "id": m.id.to_string(), "reference_number": m.reference_number })),
        "metadata": p.metadata,
        "created_at": ts(&p.created),
        "updated_at": ts(&p.created),
    })
}

/// A page of `rows_of`'s payments (a claim's or a mandate's), as `GET .../payments/` lists them:
/// `rows_of` finds the parent (or refuses) and gives its payments in page order.
pub fn page_of<F>(state: &AppState, origin: &Origin, rows_of: F) -> Result<Response, V2Error>
where
    F: for<'a> FnOnce(&'a Db) -> Result<Vec<&'a Payment>, V2Error>,
{
    list_answer(
        state,
        origin,
        |_| (),
        |db, (), paging, now| {
            let rows = rows_of(db)?;
            Ok(page(
                origin,
                paging,
                now,
                rows,
                |p| (p.created, p.id),
                |p| render(db, p),
            ))
        },
    )
}

/// A `PaymentWriteRequest` body (`POST .../payments/` on a claim or a mandate), or its 400.
pub fn read_report(state: &AppState, body: &Map<String, Value>) -> Result<PaymentInput, V2Error> {
    let mut errs = Errs::default();
    let input = read_payment(body, "", &mut errs, state.clock.today());
    errs.finish(input)?
        .ok_or_else(|| V2Error::field("amount", "required", "This field is required."))
}

/// The payment record of `input`, reported on `claim` in `scope`, created now.
pub fn new_payment(state: &AppState, scope: Scope, claim: Uuid, input: PaymentInput) -> Payment {
    Payment {
        seq: state.ids.next_seq(),
        scope,
        id: state.ids.uuid(),
        claim,
        your_reference: input.your_reference,
        amount: Money::eur(input.amount),
        value_date: input.value_date,
        metadata: input.metadata,
        created: state.now(),
    }
}

/// Records a payment report: stored, booked on the claim's mandate when it has one, with
/// `payment.reported` (and `mandate.balance_updated`); 409 `conflict` (nothing changes) if the
/// store refuses it.
pub fn report(db: &mut Db, state: &AppState, payment: &Payment) -> Result<(), V2Error> {
    let now = state.now();
    let mandate =
        crate::resources::payments::book(db, payment, now).map_err(|e| V2Error::conflict("conflict", e.to_string()))?;
    crate::v2::events::emit(
        db,
        state,
        payment.scope,
        "payment.reported",
        json!({ "payment_id": payment.id.to_string(), "payment_url": format!("/v2/payments/{}/", payment.id) }),
    );
    if let Some(m) = mandate {
        crate::v2::events::emit(
            db,
            state,
            payment.scope,
            "mandate.balance_updated",
            json!({ "mandate_id": m.to_string(), "mandate_url": format!("/v2/mandates/{m}/") }),
        );
    }
    Ok(())
}

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/payments/", get(list))
        .route("/payments/{p1}/", get(get_one))
}

async fn list(State(state): State<AppState>, caller: V2Caller, origin: Origin) -> Result<Response, V2Error> {
    let mut q = Query::new(&origin.query);
    let paging = Paging::read(&mut q, true);
    let claim = q.uuid("claim");
    let mandate = q.uuid("mandate");
    let after = q.date("value_date_after");
    let before = q.date("value_date_before");
    let reference = q.string("your_reference").map(|s| s.to_lowercase());
    q.finish()?;
    let scope = caller.scope;
    let now = state.now();
    let body = state.store.read(|db| {
        let mandate_claims: Option<Vec<Uuid>> = mandate.map(|m| {
            db.mandates
                .get(&scope, &m.to_string())
                .map_or_else(Vec::new, |m| m.claims.iter().map(|c| c.id).collect())
        });
        let mut rows: Vec<&Payment> = db
            .payments
            .iter(&scope)
            .filter(|p| claim.is_none_or(|c| p.claim == c))
            .filter(|p| mandate_claims.as_ref().is_none_or(|ids| ids.contains(&p.claim)))
            .filter(|p| after.is_none_or(|d| p.value_date >= d) && before.is_none_or(|d| p.value_date <= d))
            .filter(|p| {
                reference.as_ref().is_none_or(|r| {
                    p.your_reference
                        .as_deref()
                        .is_some_and(|y| y.to_lowercase().contains(r.as_str()))
                })
            })
            .collect();
        rows.sort_by(|a, b| b.created.cmp(&a.created).then(b.seq.cmp(&a.seq)));
        page(&origin, &paging, now, rows, |p| (p.created, p.id), |p| render(db, p))
    });
    Ok(respond(StatusCode::OK, body))
}

async fn get_one(
    State(state): State<AppState>,
    caller: V2Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, V2Error> {
    let id = Uuid::parse_str(&id).map_err(|_| V2Error::not_found())?;
    let v = state.store.read(|db| {
        db.payments
            .get(&caller.scope, &id.to_string())
            .map(|p| render(db, p))
            .ok_or_else(V2Error::not_found)
    })?;
    Ok(show(&headers, v))
}
