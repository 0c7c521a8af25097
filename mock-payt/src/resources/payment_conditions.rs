//! Payment conditions: `POST /v1/payment_conditions` ("Create payment conditions").
//!
//! There is no read endpoint. A code that already exists in the administration is updated (its
//! name changes) rather than refused: upsert by `code` (inferred, `reference/payt.md` 3.7). Invoices
//! name a condition by code in `payment_condition`; an unknown code gives the invoice a warning.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::body::Body;
use crate::body::{items, req_str};
use crate::bulk::Bulk;
use crate::error::PaytError;
use crate::seed::Gen;
use crate::state::{AppState, Caller, Db};

/// A payment condition (code and name). No entity is served; this is what the mock keeps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PaymentCondition {
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Owning administration.
    #[serde(with = "crate::format::id")]
    pub administration_id: u64,
    /// Code (unique per administration).
    pub code: String,
    /// Name.
    pub name: String,
    /// Creation.
    #[serde(with = "crate::format::ts")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "crate::format::ts")]
    pub updated_at: DateTime<Utc>,
}

administration_record!(
    PaymentCondition,
    changed = updated_at,
    lookups = |c| vec![("code", c.code.clone())],
    unique = &["code"]
);

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/payment_conditions", post(create))
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Body,
) -> Result<(StatusCode, Json<Value>), PaytError> {
    let admin = body.authorize(&state, &caller, "payment_conditions:write")?;
    let inputs: Vec<(String, String)> = items(&body, "payment_conditions")?
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let path = format!("payment_conditions[{i}]");
            Ok((req_str(m, "code", &path)?, req_str(m, "name", &path)?))
        })
        .collect::<Result<_, PaytError>>()?;
    let now = state.now();
    let bulk = state.store.write(|db| {
        let mut bulk = Bulk::new();
        for (code, name) in inputs {
            let existing = db.payment_conditions.lookup(&admin, "code", &code).next().map(|c| c.id);
            match existing {
                Some(id) => {
                    db.payment_conditions.update(&admin, &id.to_string(), |c| {
                        if c.name != name {
                            c.name = name;
                            c.updated_at = now;
                        }
                    });
                }
                None => {
                    // The id was just taken from the generator, so the store has no record under
                    // it: a refusal would be a bug, and is the item's error, not lost.
                    let key = code.clone();
                    let stored = db.payment_conditions.insert(PaymentCondition {
                        id: state.ids.next_seq(),
                        administration_id: admin,
                        code,
                        name,
                        created_at: now,
                        updated_at: now,
                    });
                    if stored.is_err() {
                        bulk.reject(key, "conflict");
                        continue;
                    }
                }
            }
            bulk.processed();
        }
        bulk
    });
    Ok((StatusCode::CREATED, Json(bulk.to_json())))
}

/// Adds this resource's fixtures for administration `admin`: the usual Dutch payment conditions.
pub fn seed(g: &mut Gen, db: &mut Db, admin: u64) {
    let anchor = g.f.anchor_at(0);
    for (code, name) in [
        ("14D", "Betaling binnen 14 dagen"),
        ("30D", "Betaling binnen 30 dagen"),
        ("60D", "Betaling binnen 60 dagen"),
        ("INC", "Automatische incasso"),
        ("DIRECT", "Contante betaling"),
    ] {
        let created = anchor - chrono::Duration::days(g.f.int(300, 900) as i64);
        crate::seed::put(
            &mut db.payment_conditions,
            PaymentCondition {
                id: g.id(),
                administration_id: admin,
                code: code.to_string(),
                name: name.to_string(),
                created_at: created,
                updated_at: created,
            },
        );
    }
}
