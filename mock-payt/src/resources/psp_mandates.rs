//! PSP (payment service provider) direct-debit mandates: `POST /v1/psp_mandates`,
//! `GET /v1/psp_mandates`, `DELETE /v1/psp_mandates` and `GET /v1/psp_mandates/deleted`.
//!
//! `POST` registers signed mandates (`provider_code` `mollie` or `twikey`) for debtors named by
//! internal `debtor_id` or external `debtor_code`; the whole request is validated first and
//! nothing is created when an item is invalid (422). `mandate_reference` is unique per
//! administration. The answer is one entity, the first mandate created (the spec's single
//! `CustomerApi_V1_PspMandateEntity` for an array input).
//!
//! `DELETE` deactivates the mandates named by `psp_mandate_ids`, `mandate_identifiers`,
//! `mandate_references` or `debtor_numbers` (comma-separated) and schedules their revocation at
//! the provider; the mock revokes at once, so a deleted mandate leaves the list and shows up as a
//! tombstone in `GET /v1/psp_mandates/deleted`.

use std::collections::HashSet;

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use mock_core::Record;
use mock_core::query::{QueryParams, split_csv};
use mock_core::store::CursorPage;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::body::{Body, Items, Problem, at, body_fields, items_of, missing, opt_str, req_str};
use crate::bulk::Bulk;
use crate::error::PaytError;
use crate::list::{self, ListRequest};
use crate::params::{self, id_list, parse_id, string_list};
use crate::seed::Gen;
use crate::state::{AppState, Caller, Db};

/// Properties shown only when `fields` asks for them.
pub const OPT_IN: &[&str] = &["debtor_number"];

/// The providers a mandate can be registered with.
pub(crate) const PROVIDERS: [&str; 2] = ["mollie", "twikey"];

/// `CustomerApi_V1_PspMandateEntity`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PspMandate {
    /// Owning administration.
    #[serde(with = "crate::format::id")]
    pub administration_id: u64,
    /// Account holder.
    pub bank_account_name: String,
    /// IBAN.
    pub bank_account_number: String,
    /// The debtor.
    #[serde(with = "crate::format::id")]
    pub debtor_id: u64,
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// The provider's identifier.
    pub mandate_identifier: String,
    /// The creditor's reference (unique per administration).
    pub mandate_reference: Option<String>,
    /// `mollie` or `twikey`.
    pub provider: String,
    /// Opt-in: the debtor's number (filled in when read).
    pub debtor_number: Option<String>,
    /// Last change.
    #[serde(with = "crate::format::ts")]
    pub updated_at: DateTime<Utc>,
    /// Deactivation.
    #[serde(with = "crate::format::opt_ts")]
    pub deactivated_at: Option<DateTime<Utc>>,
    /// The provider's customer id (Mollie only; not exposed by the entity).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub customer_identifier: Option<String>,
}

administration_record!(
    PspMandate,
    changed = updated_at,
    lookups = |m| {
        let mut keys = vec![
            ("identifier", m.mandate_identifier.clone()),
            ("debtor", m.debtor_id.to_string()),
        ];
        keys.extend(m.mandate_reference.clone().map(|r| ("reference", r)));
        keys
    }
);

/// `CustomerApi_V1_Deleted_PspMandateEntity`: the tombstone of a revoked mandate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeletedPspMandate {
    /// Owning administration.
    #[serde(with = "crate::format::id")]
    pub administration_id: u64,
    /// Unique identifier of the revoked mandate.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Revocation.
    #[serde(with = "crate::format::ts")]
    pub deleted_at: DateTime<Utc>,
    /// The debtor.
    #[serde(with = "crate::format::id")]
    pub debtor_id: u64,
    /// The provider's identifier.
    pub mandate_identifier: String,
    /// The provider.
    pub provider: String,
    /// The order of deletion (tombstones are listed in the order the mandates were deleted, and
    /// the cursor counts in this order; not exposed by the entity).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub seq: u64,
}

impl Record for DeletedPspMandate {
    type Scope = u64;
    fn scope(&self) -> u64 {
        self.administration_id
    }
    fn seq(&self) -> u64 {
        self.seq
    }
    fn key(&self) -> String {
        self.id.to_string()
    }
    fn changed(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        Some(self.deleted_at)
    }
}
tombstone!(DeletedPspMandate);

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/psp_mandates", get(list).post(create).delete(delete))
        .route(
            "/psp_mandates/deleted",
            list::deleted_route("psp_mandates:read", |db| &db.deleted_psp_mandates),
        )
}

/// Fills in the opt-in `debtor_number` from the debtor as it is now.
fn with_debtor_number(db: &Db, mut m: PspMandate) -> PspMandate {
    m.debtor_number = db
        .debtors
        .get(&m.administration_id, &m.debtor_id.to_string())
        .map(|d| d.debtor_number.clone());
    m
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<list::Written, PaytError> {
    let req = ListRequest::parse(&state, &caller, raw.as_deref(), "psp_mandates:read")?;
    let debtor_ids = id_list(&req.query, "debtor_ids");
    let numbers = string_list(&req.query, "debtor_numbers");
    let page = state.store.read(|db| {
        let by_number: Option<HashSet<u64>> = numbers.as_ref().map(|n| {
            n.iter()
                .flat_map(|n| db.debtors.lookup(&req.administration_id, "number", n))
                .map(|d| d.id)
                .collect()
        });
        let page = req.page_of(&db.psp_mandates, |m| {
            req.common_match(m.id, m.updated_at)
                && debtor_ids.as_ref().is_none_or(|s| s.contains(&m.debtor_id))
                && by_number.as_ref().is_none_or(|s| s.contains(&m.debtor_id))
        });
        CursorPage {
            items: page
                .items
                .iter()
                .map(|m| with_debtor_number(db, PspMandate::clone(m)))
                .collect(),
            has_more: page.has_more,
        }
    });
    list::page(page, &req.fields, OPT_IN)
}

/// All values of a comma-separated array parameter; Rails-style repeats (`name[]=a&name[]=b`) are
/// accepted too.
fn values(q: &QueryParams, name: &str) -> Vec<String> {
    let bracketed = format!("{name}[]");
    let mut out: Vec<String> = Vec::new();
    for (k, v) in q.pairs() {
        if k == name || *k == bracketed {
            for s in split_csv(v) {
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
    }
    out
}

/// The selectors of `DELETE /v1/psp_mandates`, in the spec's order.
const SELECTORS: [&str; 4] = [
    "psp_mandate_ids",
    "mandate_identifiers",
    "mandate_references",
    "debtor_numbers",
];

async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, PaytError> {
    caller.grant.require("psp_mandates:write")?;
    let query = QueryParams::parse(raw.as_deref());
    let admin = params::administration_id(&query)?;
    let wanted: Vec<(&str, Vec<String>)> = SELECTORS.iter().map(|s| (*s, values(&query, s))).collect();
    if wanted.iter().all(|(_, v)| v.is_empty()) {
        return Err(PaytError::missing(
            "psp_mandate_ids, mandate_identifiers, mandate_references or debtor_numbers",
        ));
    }
    state.check_administration(&caller, admin)?;
    let now = state.now();
    let bulk = state.store.write(|db| {
        let mut bulk = Bulk::new();
        let mut chosen: Vec<u64> = Vec::new();
        for (selector, given) in &wanted {
            for value in given {
                // Under the mandates' secondary keys, in id order, not by a scan.
                let hits: Vec<u64> = match *selector {
                    "psp_mandate_ids" => parse_id(value)
                        .and_then(|id| db.psp_mandates.get(&admin, &id.to_string()))
                        .map(|m| m.id)
                        .into_iter()
                        .collect(),
                    "mandate_identifiers" => db
                        .psp_mandates
                        .lookup(&admin, "identifier", value)
                        .map(|m| m.id)
                        .collect(),
                    "mandate_references" => db
                        .psp_mandates
                        .lookup(&admin, "reference", value)
                        .map(|m| m.id)
                        .collect(),
                    _ => {
                        let mut ids: Vec<u64> = db
                            .debtors
                            .lookup(&admin, "number", value)
                            .flat_map(|d| {
                                db.psp_mandates
                                    .lookup(&admin, "debtor", &d.id.to_string())
                                    .map(|m| m.id)
                                    .collect::<Vec<_>>()
                            })
                            .collect();
                        ids.sort_unstable();
                        ids.dedup();
                        ids
                    }
                };
                if hits.is_empty() {
                    bulk.reject(value.clone(), "psp_mandate_not_found");
                }
                for id in hits {
                    if !chosen.contains(&id) {
                        chosen.push(id);
                    }
                }
            }
        }
        for id in chosen {
            let key = id.to_string();
            let Some(m) = db.psp_mandates.get(&admin, &key).cloned() else {
                continue;
            };
            // The tombstone goes in first, under the live mandate's id: no tombstone has it yet
            // (a mandate is revoked once), so the store takes it; a refusal would be a bug and
            // leaves the mandate in place, answered as the item's error.
            let tombstone = DeletedPspMandate {
                administration_id: admin,
                id: m.id,
                deleted_at: now,
                debtor_id: m.debtor_id,
                mandate_identifier: m.mandate_identifier.clone(),
                provider: m.provider,
                seq: state.ids.next_seq(),
            };
            match db.deleted_psp_mandates.insert(tombstone) {
                Ok(()) => {
                    db.psp_mandates.remove(&admin, &key);
                    bulk.processed();
                }
                Err(_) => bulk.reject(m.mandate_identifier, "conflict"),
            }
        }
        bulk
    });
    Ok(Json(bulk.to_json()))
}

fn invalid(code: &'static str, message: String) -> PaytError {
    PaytError::unprocessable(code, message)
}

/// A validated item of a `POST /v1/psp_mandates` body.
struct NewMandate {
    bank_account_name: String,
    bank_account_number: String,
    provider: String,
    mandate_identifier: Option<String>,
    debtor_id: Option<u64>,
    debtor_code: Option<String>,
    customer_identifier: Option<String>,
    mandate_reference: Option<String>,
}

/// What the refusals of the `psp_mandates` list call it.
const MANDATES: Items = Items {
    max: crate::limits::MAX_RECORDS,
    array: "mandates",
    item: "an object with bank_account_name, bank_account_number and provider_code",
    one: Some("mandate"),
};

fn item(i: usize, m: &Map<String, Value>) -> Result<NewMandate, Problem> {
    let base = format!("psp_mandates[{i}]");
    let path = |k: &str| at(&base, k);
    let bank_account_name = req_str(m, "bank_account_name", &base)?;
    let raw_number = req_str(m, "bank_account_number", &base)?;
    let bank_account_number = mock_core::bank::iban(&raw_number).ok_or_else(|| {
        Problem::own(
            "invalid_bank_account_number",
            &path("bank_account_number"),
            format!(
                "{} {raw_number:?} is not a valid IBAN (check the country code and check digits)",
                path("bank_account_number")
            ),
        )
    })?;
    let provider = req_str(m, "provider_code", &base)?;
    if !PROVIDERS.contains(&provider.as_str()) {
        return Err(Problem::own(
            "invalid_provider_code",
            &path("provider_code"),
            format!("{} {provider:?} is not one of mollie, twikey", path("provider_code")),
        ));
    }
    let debtor_id = match opt_str(m, "debtor_id", &base)? {
        None => None,
        Some(s) => Some(parse_id(&s).ok_or_else(|| {
            Problem::own(
                "debtor_not_found",
                &path("debtor_id"),
                format!("{} {s:?} is not a debtor id", path("debtor_id")),
            )
        })?),
    };
    let debtor_code = opt_str(m, "debtor_code", &base)?;
    if debtor_id.is_none() && debtor_code.is_none() {
        return Err(missing(&format!("{} or {}", path("debtor_id"), path("debtor_code"))));
    }
    Ok(NewMandate {
        bank_account_name,
        bank_account_number,
        provider,
        mandate_identifier: opt_str(m, "mandate_identifier", &base)?,
        debtor_id,
        debtor_code,
        customer_identifier: opt_str(m, "customer_identifier", &base)?,
        mandate_reference: opt_str(m, "mandate_reference", &base)?,
    })
}

/// A provider-style mandate id: Mollie `mdt_` plus ten letters and digits, Twikey a mandate number.
fn generated_identifier(provider: &str, hex: &str) -> String {
    if provider == "mollie" {
        format!("mdt_{hex}")
    } else {
        format!("TWK{}", hex.to_ascii_uppercase())
    }
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
    body: Body,
) -> Result<Json<Value>, PaytError> {
    let admin = body.authorize(&state, &caller, "psp_mandates:write")?;
    let fields = body_fields(&body, raw.as_deref())?;
    let new: Vec<NewMandate> = items_of(&body, "psp_mandates", &MANDATES)?
        .into_iter()
        .enumerate()
        .map(|(i, m)| item(i, m))
        .collect::<Result<_, _>>()?;
    let now = state.now();
    let first = state.store.write(|db| {
        // Validate every item against the data first: nothing is created unless all pass.
        let mut debtors = Vec::with_capacity(new.len());
        // Those of this request; the stored ones are found under the mandates' secondary keys.
        let mut references: HashSet<String> = HashSet::new();
        let mut identifiers: HashSet<(String, String)> = HashSet::new();
        for (i, n) in new.iter().enumerate() {
            let debtor = match (n.debtor_id, &n.debtor_code) {
                (Some(id), _) => db.debtors.get(&admin, &id.to_string()),
                (None, Some(code)) => db
                    .debtors
                    .lookup(&admin, "identifier", code)
                    .next()
                    .or_else(|| db.debtors.lookup(&admin, "number", code).next()),
                (None, None) => None,
            };
            let debtor = debtor.ok_or_else(|| {
                let given = n
                    .debtor_id
                    .map(|id| format!("debtor_id {id}"))
                    .or_else(|| n.debtor_code.as_ref().map(|c| format!("debtor_code {c:?}")))
                    .unwrap_or_default();
                invalid(
                    "debtor_not_found",
                    format!("psp_mandates[{i}]: no debtor with {given} in administration {admin}"),
                )
            })?;
            debtors.push(debtor.id);
            if let Some(r) = &n.mandate_reference
                && (db.psp_mandates.lookup(&admin, "reference", r).next().is_some() || !references.insert(r.clone()))
            {
                return Err(invalid(
                    "duplicate_mandate_reference",
                    format!(
                        "psp_mandates[{i}][mandate_reference] {r:?} is already used in administration {admin}; mandate references are unique per administration"
                    ),
                ));
            }
            if let Some(m) = &n.mandate_identifier
                && (db
                    .psp_mandates
                    .lookup(&admin, "identifier", m)
                    .any(|stored| stored.provider == n.provider)
                    || !identifiers.insert((n.provider.clone(), m.clone())))
            {
                return Err(invalid(
                    "duplicate_mandate_identifier",
                    format!(
                        "psp_mandates[{i}][mandate_identifier] {m:?} is already registered with {}",
                        n.provider
                    ),
                ));
            }
        }
        let mut first = None;
        for (n, debtor_id) in new.into_iter().zip(debtors) {
            let id = state.ids.next_seq();
            let mandate_identifier = n
                .mandate_identifier
                .unwrap_or_else(|| generated_identifier(&n.provider, &state.ids.hex(10)));
            let m = PspMandate {
                administration_id: admin,
                bank_account_name: n.bank_account_name,
                bank_account_number: n.bank_account_number,
                debtor_id,
                id,
                mandate_identifier,
                mandate_reference: n.mandate_reference,
                customer_identifier: (n.provider == "mollie").then_some(n.customer_identifier).flatten(),
                provider: n.provider,
                debtor_number: None,
                updated_at: now,
                deactivated_at: None,
            };
            db.psp_mandates
                .insert(m.clone())
                .map_err(|e| PaytError::unprocessable("conflict", e.to_string()))?;
            if first.is_none() {
                first = Some(with_debtor_number(db, m));
            }
        }
        first.ok_or_else(|| invalid("invalid_parameter", "psp_mandates is empty".to_string()))
    })?;
    Ok(Json(list::entity(&first, &fields, OPT_IN)?))
}

fn alnum(g: &mut Gen, len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
    (0..len).map(|_| *g.f.pick(CHARS) as char).collect()
}

/// Adds mandates for about a quarter of the debtors of administration `admin` (two thirds at
/// Twikey, a third at Mollie; valid Dutch IBANs; half with a creditor reference; a tenth
/// deactivated, revocation pending) and 3 to 6 tombstones of mandates revoked 1 to 60 days before
/// the fixture anchor.
pub fn seed(g: &mut Gen, db: &mut Db, admin: u64) {
    let debtors: Vec<(u64, String)> = db.debtors.iter(&admin).map(|d| (d.id, d.name.to_string())).collect();
    let anchor = g.f.anchor_at(0);
    let banks = ["INGB", "RABO", "ABNA", "SNSB", "TRIO", "ASNB", "KNAB", "BUNQ"];
    let mut n = g.numbering.psp_mandates + 1;
    for (debtor_id, name) in &debtors {
        if !g.f.chance(0.25) {
            continue;
        }
        let provider = if g.f.chance(0.66) { "twikey" } else { "mollie" };
        let bank = *g.f.pick(&banks);
        let account = format!("{:010}", g.f.int(100_000_000, 9_999_999_999));
        let signed = g.f.date_around(-400, -5);
        let updated = signed.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default()
            + Duration::seconds(g.f.int(7 * 3600, 20 * 3600) as i64);
        let deactivated_at =
            g.f.chance(0.1)
                .then(|| (updated + Duration::days(g.f.int(10, 200) as i64)).min(anchor));
        let mandate_identifier = if provider == "mollie" {
            format!("mdt_{}", alnum(g, 10))
        } else {
            format!("MNDT{:07}", g.f.int(1, 9_999_999))
        };
        let id = g.id();
        crate::seed::put(
            &mut db.psp_mandates,
            PspMandate {
                administration_id: admin,
                bank_account_name: name.clone(),
                bank_account_number: fixtures::iban("NL", &format!("{bank}{account}")),
                debtor_id: *debtor_id,
                id,
                mandate_identifier,
                mandate_reference: g.f.chance(0.5).then(|| format!("MAND-{admin}-{n:05}")),
                provider: provider.to_string(),
                debtor_number: None,
                updated_at: deactivated_at.unwrap_or(updated),
                deactivated_at,
                customer_identifier: (provider == "mollie").then(|| format!("cst_{}", alnum(g, 10))),
            },
        );
        n += 1;
    }
    if debtors.is_empty() {
        return;
    }
    for _ in 0..g.f.int(3, 6) {
        let (debtor_id, _) = g.f.pick(&debtors).clone();
        let provider = if g.f.chance(0.66) { "twikey" } else { "mollie" };
        let mandate_identifier = if provider == "mollie" {
            format!("mdt_{}", alnum(g, 10))
        } else {
            format!("MNDT{:07}", g.f.int(1, 9_999_999))
        };
        let day = g.f.date_around(-60, -1);
        let deleted_at = day.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default()
            + Duration::seconds(g.f.int(7 * 3600, 20 * 3600) as i64);
        let id = g.id();
        crate::seed::put(
            &mut db.deleted_psp_mandates,
            DeletedPspMandate {
                administration_id: admin,
                id,
                deleted_at,
                debtor_id,
                mandate_identifier,
                provider: provider.to_string(),
                seq: id,
            },
        );
    }
}
