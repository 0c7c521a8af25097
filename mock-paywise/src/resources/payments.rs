//! Direct payments reported by the client (`/v1/payments/`).
//!
//! A payment may be reported on any claim at any time, before or after release and in any claim
//! or mandate state. The claim itself does not change: its `payments[]` are the payments already
//! received when it was handed over (those are payment records too, so their `href`s resolve
//! here), and `total_claim_amount` stays main claim plus charges minus those. When the claim
//! belongs to a mandate the amount is allocated to the mandate's `legal_claim_balance` (costs,
//! interest, principal; see [`crate::resources::mandates`]) and listed under the mandate's
//! `claims[].payments`; `payment.created` and `mandate.balance_updated` are emitted. A payment on a claim that is accepted later counts when
//! its mandate is opened.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use mock_core::server::JsonBytes;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::PaywiseError;
use crate::format::Money;
use crate::list::{self, JsonBody, Origin, Resource};
use crate::resources::claims::{PkRef, pk_ref};
use crate::resources::mandates::{self, LegalStage, ProcessingState};
use crate::state::{AppState, Caller, Db, Scope};
use crate::validate::{OPT, Obj, REQ, metadata};

/// A payment the client reports on a claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    /// Creation order (not exposed).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub seq: u64,
    /// Company and access mode (not exposed).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub scope: Scope,
    /// Unique identifier.
    pub id: Uuid,
    /// The claim's id.
    pub claim: Uuid,
    /// The client's reference.
    pub your_reference: Option<String>,
    /// Amount.
    pub amount: Money,
    /// Value date.
    pub value_date: NaiveDate,
    /// `{type, value}` entries.
    pub metadata: Vec<Value>,
    /// Creation.
    #[serde(with = "crate::format::ts")]
    pub created: DateTime<Utc>,
}

scoped_record!(Payment, lookups = |r| vec![("claim", r.claim.to_string())]);

impl Resource for Payment {
    fn render(&self, origin: &Origin) -> Value {
        api_object! {
            "href" => origin.url(&format!("/v1/payments/{}/", self.id)),
            "id" => self.id,
            "claim" => self.claim,
            "your_reference" => self.your_reference,
            "amount" => self.amount,
            "value_date" => self.value_date,
            "metadata" => self.metadata,
            "created" => self.created,
        }
    }

    fn write<S: serde::Serializer>(&self, origin: &Origin, s: S) -> Result<S::Ok, S::Error> {
        crate::list::WithHref::write(origin.url(&format!("/v1/payments/{}/", self.id)), self, s)
    }
}

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/payments/", get(list).post(create))
        .route("/payments/{id}/", get(show))
}

async fn list(State(state): State<AppState>, caller: Caller, origin: Origin) -> Result<JsonBytes, PaywiseError> {
    list::list(&state, &caller, &origin, None, |db| &db.payments)
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    Path(id): Path<String>,
) -> Result<JsonBytes, PaywiseError> {
    list::show(&state, &caller, &origin, &id, |db| &db.payments)
}

/// Books `payment` (already validated, claim in scope): stores it and, if the claim is in a
/// mandate, allocates it there. Returns the mandate id if one changed; refused (nothing
/// changes) if the store has a payment with its id or sequence number already.
pub fn book(db: &mut Db, payment: &Payment, now: DateTime<Utc>) -> Result<Option<Uuid>, mock_core::store::StoreError> {
    db.payments.insert(payment.clone())?;
    Ok(allocate(db, payment, now))
}

/// Allocates the stored `payment` on its claim's mandate, if the claim is in one.
fn allocate(db: &mut Db, payment: &Payment, now: DateTime<Utc>) -> Option<Uuid> {
    let scope = payment.scope;
    let claim_id = payment.claim.to_string();
    let mandate = db
        .claims
        .get(&scope, &claim_id)
        .and_then(|c| c.mandate.as_ref())
        .and_then(|m| m.get("id"))
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())?;
    db.mandates.update(&scope, &mandate.to_string(), |m| {
        m.balance.allocate(payment.amount.value);
        m.balance.updated = now;
        m.updated = now;
        if let Some(c) = m.claims.iter_mut().find(|c| c.id == payment.claim) {
            c.payments.push(payment.id);
        }
    })?;
    Some(mandate)
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), PaywiseError> {
    let scope = caller.scope();
    let mut o = Obj::new(&body).map_err(PaywiseError::Validation)?;
    let claim = match pk_ref(&body, "claim", false, |u| {
        state.store.read(|db| db.claims.get(&scope, &u.to_string()).is_some())
    }) {
        PkRef::Found(u) => Some(u),
        PkRef::Absent => {
            o.error("claim", crate::validate::REQUIRED);
            None
        }
        PkRef::Null => {
            o.error("claim", crate::validate::NOT_NULL);
            None
        }
        refused => {
            if let Some(e) = refused.error() {
                o.error("claim", e);
            }
            None
        }
    };
    let amount = o.money("amount", REQ, !state.lenient.amounts);
    let value_date = o.date("value_date", REQ);
    let your_reference = o.string("your_reference", OPT, Some(255));
    let metadata = o.list(
        "metadata",
        crate::validate::OPT_LIST,
        true,
        metadata(crate::vendor::PAYMENT_METADATA_TYPES),
    );
    o.finish().map_err(PaywiseError::Validation)?;
    let (Some(claim), Some(amount), Some(value_date)) = (claim, amount, value_date) else {
        return Err(PaywiseError::field("claim", crate::validate::REQUIRED));
    };
    let now = state.now();
    let payment = Payment {
        seq: state.ids.next_seq(),
        scope,
        id: state.ids.uuid(),
        claim,
        your_reference,
        amount,
        value_date,
        metadata: metadata.unwrap_or_default(),
        created: now,
    };
    let mandate = state
        .store
        .write(|db| book(db, &payment, now))
        .map_err(|e| PaywiseError::not_stored("payment", e))?;
    let out = payment.render(&origin);
    state.emit(scope, "payment.created", out.clone());
    if let Some(m) = mandate.and_then(|m| mandates::render_by_id(&state, &scope, &m, &origin)) {
        state.emit(scope, "mandate.balance_updated", m);
    }
    Ok((StatusCode::CREATED, Json(out)))
}

/// Adds this resource's fixtures: a payment record for every payment sent inline with a claim
/// (same id), and a few direct payments on mandate claims, booked on their mandates (one
/// mandate in each fixture scope ends up fully paid when it is in legal stage `ended`).
pub fn seed(f: &mut fixtures::Faker, seq: &mut u64, db: &mut Db) {
    let mut claims: Vec<_> = db.claims.iter_all().cloned().collect();
    claims.sort_by_key(|c| c.seq);
    let mut inline = Vec::new();
    for c in &claims {
        for p in &c.payments {
            inline.push(Payment {
                seq: 0,
                scope: c.scope,
                id: p.id,
                claim: c.id,
                your_reference: p.your_reference.clone(),
                amount: p.amount,
                value_date: p.value_date,
                metadata: p.metadata.clone(),
                created: p.created,
            });
        }
    }
    for mut p in inline {
        *seq += 1;
        p.seq = *seq;
        crate::seed::kept(db.payments.insert(p));
    }
    let mut mandates: Vec<_> = db.mandates.iter_all().cloned().collect();
    mandates.sort_by_key(|m| m.seq);
    for (i, m) in mandates.iter().enumerate() {
        let Some(claim) = m.claims.first().map(|c| c.id) else {
            continue;
        };
        let open = m.balance.total_balance();
        let amount = if m.legal_stage == LegalStage::Ended && m.processing_state == ProcessingState::Ended {
            open
        } else if i % 3 == 1 {
            (open * Decimal::new(f.int(10, 60) as i64, 2)).round_dp(2)
        } else {
            Decimal::ZERO
        };
        if amount < Decimal::new(1, 2) {
            continue;
        }
        *seq += 1;
        let created = m.updated + Duration::days(1);
        let payment = Payment {
            seq: *seq,
            scope: m.scope,
            id: uuid::Builder::from_random_bytes(f.bytes16()).into_uuid(),
            claim,
            your_reference: Some(format!("DZ-{}", f.int(100_000, 999_999))),
            amount: Money::eur(amount),
            value_date: created.date_naive(),
            metadata: vec![json!({"type": "comment", "value": "Direktzahlung an Mandanten"})],
            created,
        };
        crate::seed::kept(book(db, &payment, created));
    }
}
