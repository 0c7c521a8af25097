//! VAT rates: `POST /v1/vat_rates` (bulk upsert keyed by `code`) and `GET /v1/vat_rates`.
//!
//! The list takes only `administration_id`, `cursor` and `per_page` (no `fields`, `ids` or
//! `updated_after` in the spec; other parameters are ignored, as Grape ignores undeclared ones).
//! `rate` and `name` are required when a code is new; `category` defaults to `regular`. Invoice
//! lines name their VAT rate by code and must use one the administration has.

use std::str::FromStr;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use mock_core::query::QueryParams;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use crate::body::Body;
use crate::body::{Problem, bad, items, missing, opt_enum, opt_str};
use crate::bulk::Bulk;
use crate::error::PaytError;
use crate::fields::Fields;
use crate::list;
use crate::params::{self, Paging};
use crate::seed::Gen;
use crate::state::{AppState, Caller, Db};

/// The `category` enum.
pub(crate) const CATEGORIES: &[&str] = &[
    "regular",
    "zero",
    "none",
    "exempt",
    "reversed",
    "export",
    "export_within_eea",
];

/// The rates every fixture administration has (Dutch VAT): code, name, rate, category,
/// exemption reason.
pub(crate) const SEED_RATES: &[(&str, &str, i64, &str, Option<&str>)] = &[
    ("H21", "BTW hoog 21%", 21, "regular", None),
    ("L9", "BTW laag 9%", 9, "regular", None),
    ("N0", "BTW 0%", 0, "zero", None),
    ("VRIJ", "Vrijgesteld van BTW", 0, "exempt", Some("VATEX-EU-132")),
    ("VERL", "BTW verlegd", 0, "reversed", None),
    ("EXP", "Export buiten de EU", 0, "export", None),
    ("ICL", "Intracommunautaire levering", 0, "export_within_eea", None),
    ("GEEN", "Geen BTW", 0, "none", None),
];

/// The rate as the entity types it, a JSON number (`21.0`). That loses the decimal's scale (and
/// could lose digits), so the storage form ([`mock_core::snapshot`]) writes the exact decimal as a
/// string instead; both are read back.
mod rate {
    use super::*;
    pub fn serialize<S: Serializer>(v: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        if mock_core::snapshot::storing() {
            s.collect_str(v)
        } else {
            s.serialize_f64(v.to_f64().unwrap_or_default())
        }
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        crate::format::deserialize_decimal(d)
    }
}

/// `CustomerApi_V1_VatRateEntity`, properties in the spec's order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VatRate {
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Owning administration.
    #[serde(with = "crate::format::id")]
    pub administration_id: u64,
    /// Category.
    pub category: String,
    /// Code (unique per administration).
    pub code: String,
    /// Name.
    pub name: String,
    /// Percentage (a JSON number, as the entity types it).
    #[serde(with = "rate")]
    pub rate: Decimal,
    /// VATEX code, for exempt rates.
    pub exemption_reason_code: Option<String>,
    /// Last change (not exposed by the entity).
    #[serde(
        default,
        skip_serializing_if = "mock_core::snapshot::hidden",
        with = "crate::format::ts"
    )]
    pub updated_at: DateTime<Utc>,
}

administration_record!(
    VatRate,
    changed = updated_at,
    lookups = |r| vec![("code", r.code.clone())],
    unique = &["code"]
);

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/vat_rates", get(list).post(upsert))
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<list::Written, PaytError> {
    caller.grant.require("vat_rates:read")?;
    let query = QueryParams::parse(raw.as_deref());
    let admin = params::administration_id(&query)?;
    let paging = Paging::parse(&query)?;
    state.check_administration(&caller, admin)?;
    let page = state.store.read(|db| {
        db.vat_rates
            .page_after(&admin, paging.cursor, paging.per_page, |_| true)
    });
    list::page(page, &Fields::Default, &[])
}

/// A percentage given as a string or number, 0..=100 with at most 4 decimals.
fn percentage(m: &serde_json::Map<String, Value>, path: &str) -> Result<Option<Decimal>, Problem> {
    let Some(s) = opt_str(m, "rate", path)? else {
        return Ok(None);
    };
    let d = Decimal::from_str(s.trim_end_matches('%').trim()).map_err(|_| {
        bad(format!(
            "{path}[rate] is not a percentage ({s:?}): send a number such as \"21\" or \"9.5\""
        ))
    })?;
    if d < Decimal::ZERO || d > Decimal::from(100) {
        return Err(bad(format!("{path}[rate] must be between 0 and 100, got {s}")));
    }
    Ok(Some(d.normalize()))
}

struct Input {
    code: String,
    rate: Option<Decimal>,
    name: Option<String>,
    category: Option<String>,
    exemption_reason_code: Option<String>,
}

async fn upsert(
    State(state): State<AppState>,
    caller: Caller,
    body: Body,
) -> Result<(StatusCode, Json<Value>), PaytError> {
    let admin = body.authorize(&state, &caller, "vat_rates:write")?;
    let inputs: Vec<Input> = items(&body, "vat_rates")?
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let path = format!("vat_rates[{i}]");
            Ok(Input {
                code: opt_str(m, "code", &path)?
                    .ok_or_else(|| missing(&format!("{path}[code] (the code identifies the VAT rate)")))?,
                rate: percentage(m, &path)?,
                name: opt_str(m, "name", &path)?,
                category: opt_enum(m, "category", &path, CATEGORIES)?,
                exemption_reason_code: opt_str(m, "exemption_reason_code", &path)?,
            })
        })
        .collect::<Result<_, PaytError>>()?;
    let now = state.now();
    let bulk = state.store.write(|db| {
        let mut bulk = Bulk::new();
        for input in inputs {
            let existing = db.vat_rates.lookup(&admin, "code", &input.code).next().cloned();
            match existing {
                Some(old) => {
                    let mut r = old.clone();
                    if let Some(v) = input.rate {
                        r.rate = v;
                    }
                    if let Some(v) = input.name {
                        r.name = v;
                    }
                    if let Some(v) = input.category {
                        r.category = v;
                    }
                    if let Some(v) = input.exemption_reason_code {
                        r.exemption_reason_code = Some(v);
                    }
                    if r != old {
                        r.updated_at = now;
                        db.vat_rates.update(&admin, &r.id.to_string(), |o| *o = r);
                    }
                    bulk.processed();
                }
                None => {
                    let mut errors = Vec::new();
                    if input.rate.is_none() {
                        errors.push("rate_required_on_creation");
                    }
                    if input.name.is_none() {
                        errors.push("name_required_on_creation");
                    }
                    if errors.is_empty() {
                        let code = input.code.clone();
                        // The id was just taken from the generator, so the store has no record
                        // under it: a refusal would be a bug, and is the item's error, not lost.
                        match db.vat_rates.insert(VatRate {
                            id: state.ids.next_seq(),
                            administration_id: admin,
                            category: input.category.unwrap_or_else(|| "regular".to_string()),
                            code: input.code,
                            name: input.name.unwrap_or_default(),
                            rate: input.rate.unwrap_or_default(),
                            exemption_reason_code: input.exemption_reason_code,
                            updated_at: now,
                        }) {
                            Ok(()) => bulk.processed(),
                            Err(_) => bulk.reject(code, "conflict"),
                        }
                    } else {
                        for e in errors {
                            bulk.reject(input.code.clone(), e);
                        }
                    }
                }
            }
        }
        bulk
    });
    Ok((StatusCode::CREATED, Json(bulk.to_json())))
}

/// Adds this resource's fixtures for administration `admin`: the Dutch VAT rates.
pub fn seed(g: &mut Gen, db: &mut Db, admin: u64) {
    let anchor = g.f.anchor_at(0);
    for (code, name, rate, category, exemption) in SEED_RATES {
        let id = g.id();
        crate::seed::put(
            &mut db.vat_rates,
            VatRate {
                id,
                administration_id: admin,
                category: category.to_string(),
                code: code.to_string(),
                name: name.to_string(),
                rate: Decimal::from(*rate),
                exemption_reason_code: exemption.map(str::to_string),
                updated_at: anchor - chrono::Duration::days(g.f.int(200, 700) as i64),
            },
        );
    }
}
