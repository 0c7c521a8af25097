//! `GET /v2/debtors/`, `POST /v2/debtors/`, `GET /v2/debtors/{id}/`, `PATCH /v2/debtors/{id}/`.
//!
//! v2's debtors are v1's: one table, seen through either version. v1's `zip` is v2's
//! `postal_code`; v2 shows the channels of its three types (`email`, `phone`, `mobile_phone`) and
//! keeps a v1 debtor's other channels when it replaces the list. What only v2 knows (legal form,
//! register data, representatives, account holders, the ids of addresses, accounts and channels
//! and which address is primary) is kept beside the v1 record; a debtor v2 never wrote gets
//! stable ids derived from its own and shows its first address as primary.
//!
//! Create is a union on `acting_as`: a `consumer` needs `person` and takes no `organization` or
//! `legal_form`; a `business` needs exactly one of `person` (legal forms of the groups
//! `privatperson` and `einzelkaufmann`, or no form) and `organization` (every other form, or no
//! form). PATCH merges `person` and `organization`, replaces the collections (rows keep their
//! `id` when it is sent back) and must leave a valid identity.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::list::Origin;
use crate::resources::debtors::{Address, BankAccount, Channel, Debtor, Organization, Person};
use crate::resources::partner::derived_uuid;
use crate::state::{AppState, Db, Scope};
use crate::v2::conv::{Idem, Obj, Paging, Patch, Query, V2Caller, V2Json, if_match, paged, respond, show, ts};
use crate::v2::error::{Errs, V2Error};

/// `acting_as`.
pub const ACTING_AS: &[&str] = &["consumer", "business"];
/// v2's channel types.
pub const CHANNEL_TYPES: &[&str] = &["email", "phone", "mobile_phone"];
/// Representative roles.
pub const ROLES: &[&str] = &[
    "managing_director",
    "director",
    "board_member",
    "chairperson",
    "general_partner",
    "shareholder",
    "owner",
    "authorized_signatory",
    "partner",
    "legal_guardian",
    "other",
];
/// Debtor metadata types.
pub const METADATA_TYPES: &[&str] = &["user:reference", "user:name", "user:ip", "user:language"];
/// Debtor event types.
pub const EVENT_TYPES: &[&str] = &["registration", "login", "insolvency"];

/// What v2 keeps beside a v1 debtor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DebtorV2 {
    /// Legal-form code.
    pub legal_form: Option<String>,
    /// Register court.
    pub commercial_register: Option<String>,
    /// Register number (`HRB 12345`).
    pub commercial_registration_number: Option<String>,
    /// Ids of the addresses, in order.
    pub address_ids: Vec<Uuid>,
    /// Index of the primary address.
    pub primary: usize,
    /// Ids of the bank accounts.
    pub bank_ids: Vec<Uuid>,
    /// Account holders, by bank account.
    pub account_holders: Vec<Option<String>>,
    /// Ids of the v1 channels, in order.
    pub channel_ids: Vec<Uuid>,
    /// Representatives, as the API shows them.
    pub legal_representatives: Vec<Value>,
}

fn ext(d: &Debtor) -> DebtorV2 {
    d.v2.as_deref().cloned().unwrap_or_default()
}

fn row_id(d: &Debtor, kind: &str, i: usize, ids: &[Uuid]) -> Uuid {
    ids.get(i)
        .copied()
        .unwrap_or_else(|| derived_uuid(&format!("debtor:{}:{kind}:{i}", d.id)))
}

/// `mr`, `ms`, `mx` or null, from a stored salutation.
fn salutation(raw: &Option<String>) -> Value {
    match raw.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("mr" | "herr" | "mr." | "male") => json!("mr"),
        Some("ms" | "frau" | "ms." | "mrs" | "mrs." | "female") => json!("ms"),
        Some("mx" | "divers") => json!("mx"),
        _ => Value::Null,
    }
}

fn person(p: &Option<Person>) -> Value {
    p.as_ref().map_or(Value::Null, |p| {
        json!({
            "salutation": salutation(&p.salutation),
            "first_name": p.first_name,
            "last_name": p.last_name,
            "birth_date": crate::v2::conv::date(&p.birth_date),
        })
    })
}

fn organization(d: &Debtor, x: &DebtorV2) -> Value {
    d.organization.as_ref().map_or(Value::Null, |o| {
        json!({
            "name": o.name,
            "commercial_register": x.commercial_register,
            "commercial_registration_number": x.commercial_registration_number,
        })
    })
}

/// The identity part every view shares: `acting_as, legal_form, person, organization,
/// your_reference, events, metadata`.
fn identity(d: &Debtor, x: &DebtorV2, out: &mut Map<String, Value>) {
    out.insert("acting_as".into(), json!(d.acting_as));
    out.insert("legal_form".into(), json!(x.legal_form));
    out.insert("person".into(), person(&d.person));
    out.insert("organization".into(), organization(d, x));
    out.insert("your_reference".into(), json!(d.your_reference));
    out.insert("events".into(), Value::Array(d.events.clone()));
    out.insert("metadata".into(), Value::Array(d.metadata.clone()));
}

fn addresses(d: &Debtor, x: &DebtorV2) -> Value {
    Value::Array(
        d.addresses
            .iter()
            .enumerate()
            .map(|(i, a)| {
                json!({
                    "id": row_id(d, "address", i, &x.address_ids).to_string(),
                    "street": a.street,
                    "postal_code": a.zip,
                    "city": a.city,
                    "country": a.country,
                    "primary": i == x.primary,
                })
            })
            .collect(),
    )
}

/// The `id` and the [`identity`] part: how every view with an id begins.
fn identified(d: &Debtor, x: &DebtorV2) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(d.id.to_string()));
    identity(d, x, &mut m);
    m
}

/// `m` with the `created_at` and `updated_at` that end the detail and the list row.
fn stamped(d: &Debtor, mut m: Map<String, Value>) -> Value {
    m.insert("created_at".into(), ts(&d.created));
    m.insert("updated_at".into(), ts(&d.updated));
    Value::Object(m)
}

/// `DebtorDetail`.
pub fn render(d: &Debtor) -> Value {
    let x = ext(d);
    let mut m = identified(d, &x);
    m.insert("addresses".into(), addresses(d, &x));
    m.insert(
        "bank_accounts".into(),
        Value::Array(
            d.bank_accounts
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    json!({
                        "id": row_id(d, "bank", i, &x.bank_ids).to_string(),
                        "iban": b.iban,
                        "bic": b.bic,
                        "account_holder": x.account_holders.get(i).cloned().flatten(),
                    })
                })
                .collect(),
        ),
    );
    m.insert(
        "communication_channels".into(),
        Value::Array(
            d.communication_channels
                .iter()
                .enumerate()
                .filter(|(_, c)| CHANNEL_TYPES.contains(&c.kind.as_str()))
                .map(|(i, c)| {
                    json!({
                        "id": row_id(d, "channel", i, &x.channel_ids).to_string(),
                        "type": c.kind,
                        "value": c.value,
                    })
                })
                .collect(),
        ),
    );
    m.insert(
        "legal_representatives".into(),
        Value::Array(x.legal_representatives.clone()),
    );
    stamped(d, m)
}

/// `DebtorList` (a list row: no accounts, channels or representatives).
pub fn render_row(d: &Debtor) -> Value {
    let x = ext(d);
    let mut m = identified(d, &x);
    m.insert("addresses".into(), addresses(d, &x));
    stamped(d, m)
}

/// `DebtorSummary` (an order's debtors).
pub fn summary(d: &Debtor) -> Value {
    Value::Object(identified(d, &ext(d)))
}

/// `MandateDebtor` (a case's frozen snapshot: no id).
pub fn snapshot(d: &Debtor) -> Value {
    let x = ext(d);
    let mut m = Map::new();
    identity(d, &x, &mut m);
    Value::Object(m)
}

/// Whether the debtor has a complete address (what finalizing an order needs).
pub fn has_complete_address(d: &Debtor) -> bool {
    d.addresses.iter().any(|a| {
        a.street.as_deref().is_some_and(|s| !s.trim().is_empty())
            && a.zip.as_deref().is_some_and(|s| !s.trim().is_empty())
            && a.city.as_deref().is_some_and(|s| !s.trim().is_empty())
            && !a.country.is_empty()
    })
}

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/debtors/", get(list).post(create))
        .route("/debtors/{p1}/", get(get_one).patch(update))
}

/// The caller's debtor `raw` (404 for anything else).
pub fn find(db: &Db, scope: Scope, raw: &str) -> Result<Debtor, V2Error> {
    let id = Uuid::parse_str(raw).map_err(|_| V2Error::not_found())?;
    db.debtors
        .get(&scope, &id.to_string())
        .cloned()
        .ok_or_else(V2Error::not_found)
}

async fn list(State(state): State<AppState>, caller: V2Caller, origin: Origin) -> Result<Response, V2Error> {
    let mut q = Query::new(&origin.query);
    let paging = Paging::read(&mut q, true);
    let acting_as = q.choice("acting_as", ACTING_AS);
    let id = q.uuid("id");
    let reference = q.string("your_reference").map(|r| r.to_lowercase());
    q.finish()?;
    let scope = caller.scope;
    let rows: Vec<Debtor> = state.store.read(|db| {
        let mut rows: Vec<Debtor> = db
            .debtors
            .iter(&scope)
            .filter(|d| acting_as.as_ref().is_none_or(|a| &d.acting_as == a))
            .filter(|d| id.is_none_or(|i| d.id == i))
            .filter(|d| {
                reference.as_ref().is_none_or(|r| {
                    d.your_reference
                        .as_deref()
                        .is_some_and(|y| y.to_lowercase().contains(r.as_str()))
                })
            })
            .cloned()
            .collect();
        rows.sort_by(|a, b| b.created.cmp(&a.created).then(b.seq.cmp(&a.seq)));
        rows
    });
    Ok(paged(
        &origin,
        &paging,
        state.now(),
        rows,
        |d| (d.updated, d.id),
        render_row,
    ))
}

async fn get_one(
    State(state): State<AppState>,
    caller: V2Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, V2Error> {
    let d = state.store.read(|db| find(db, caller.scope, &id))?;
    Ok(show(&headers, render(&d)))
}

/// A debtor as read from a body, before it is stored.
#[derive(Debug, Default, Clone)]
struct Identity {
    acting_as: String,
    person: Option<Person>,
    organization: Option<Organization>,
    ext: DebtorV2,
}

fn read_person(
    m: &Map<String, Value>,
    at: &str,
    errs: &mut Errs,
    today: NaiveDate,
    patch: Option<&Person>,
) -> Option<Person> {
    let o = Obj::new(m, at, &["salutation", "first_name", "last_name", "birth_date"], errs);
    if m.is_empty() {
        errs.push(
            at,
            "invalid",
            "Send the person's names; an empty object is not a person.",
        );
        return None;
    }
    let mut p = patch.cloned().unwrap_or(Person {
        salutation: None,
        first_name: None,
        last_name: String::new(),
        birth_date: None,
        death_date: None,
    });
    if patch.is_none() || o.has("first_name") {
        p.first_name = o.req_string("first_name", 255, errs);
    }
    if patch.is_none() || o.has("last_name") {
        p.last_name = o.req_string("last_name", 255, errs).unwrap_or_default();
    }
    match o.get("salutation") {
        crate::v2::conv::Field::Value(Value::String(s)) if s.is_empty() => p.salutation = None,
        _ => o
            .choice("salutation", &["mr", "ms", "mx"], errs)
            .apply(&mut p.salutation),
    }
    match o.date("birth_date", errs) {
        Patch::Set(d) if d > today => errs.push(
            &o.path("birth_date"),
            "invalid",
            "The birth date cannot be in the future.",
        ),
        other => other.apply(&mut p.birth_date),
    }
    Some(p)
}

/// Normalizes `HRB12345`, `hrb 12345 b` to `HRB 12345 B`; `None` if it is not a German register
/// number.
fn register_number(raw: &str) -> Option<String> {
    let s: String = raw.split_whitespace().collect::<Vec<_>>().join("").to_ascii_uppercase();
    let prefix = ["HRA", "HRB", "VR", "PR", "GNR", "FN"]
        .into_iter()
        .find(|p| s.starts_with(p))?;
    let rest = &s[prefix.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let tail = &rest[digits.len()..];
    if digits.is_empty() || digits.len() > 9 || tail.len() > 1 || !tail.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let prefix = if prefix == "GNR" { "GnR" } else { prefix };
    Some(if tail.is_empty() {
        format!("{prefix} {digits}")
    } else {
        format!("{prefix} {digits} {tail}")
    })
}

fn read_organization(
    m: &Map<String, Value>,
    at: &str,
    errs: &mut Errs,
    base: Option<(&Organization, &DebtorV2)>,
    x: &mut DebtorV2,
    create: bool,
) -> Option<Organization> {
    let o = Obj::new(
        m,
        at,
        &["name", "commercial_register", "commercial_registration_number"],
        errs,
    );
    if m.is_empty() {
        errs.push(
            at,
            "invalid",
            "Send the organization's name; an empty object is not an organization.",
        );
        return None;
    }
    let mut org = base
        .map(|(o, _)| o.clone())
        .unwrap_or(Organization { name: String::new() });
    if base.is_none() || o.has("name") {
        org.name = o.req_string("name", 255, errs).unwrap_or_default();
    }
    o.opt_string("commercial_register", 255, errs)
        .apply(&mut x.commercial_register);
    match o.opt_string("commercial_registration_number", 50, errs) {
        Patch::Set(n) => match register_number(&n) {
            Some(norm)
                if create
                    && !(norm.starts_with("HRA")
                        || norm.starts_with("HRB")
                        || norm.starts_with("VR")
                        || norm.starts_with("PR")) =>
            {
                errs.push(
                    &o.path("commercial_registration_number"),
                    "invalid",
                    "Use HRA, HRB, VR or PR with 1 to 9 digits and an optional letter (HRB 12345).",
                )
            }
            Some(norm) => x.commercial_registration_number = Some(norm),
            None if !create && x.legal_form.as_deref() == Some("foreign") => x.commercial_registration_number = Some(n),
            None => errs.push(
                &o.path("commercial_registration_number"),
                "invalid",
                "Use HRA, HRB, VR or PR with 1 to 9 digits and an optional letter (HRB 12345).",
            ),
        },
        other => other.apply(&mut x.commercial_registration_number),
    }
    Some(org)
}

fn read_addresses(
    o: &Obj<'_>,
    errs: &mut Errs,
    old: &[(Uuid, Address)],
    ids: &crate::v2::conv::IdSource<'_>,
) -> Patch<(Vec<Address>, Vec<Uuid>, usize)> {
    let mut primaries = Vec::new();
    let rows = o.list("addresses", 5, errs, |m, at, errs| {
        let a = Obj::new(
            m,
            at,
            &["street", "postal_code", "city", "country", "primary", "id"],
            errs,
        );
        let id = match a.uuid("id", errs) {
            Patch::Set(id) if old.iter().any(|(o, _)| *o == id) => id,
            Patch::Set(_) => {
                errs.push(
                    &a.path("id"),
                    "invalid",
                    "No address of this debtor has this id; leave id out for a new address.",
                );
                return None;
            }
            _ => ids.next(),
        };
        let street = a.req_string("street", 255, errs);
        let zip = a.req_string("postal_code", 20, errs);
        let city = a.req_string("city", 255, errs);
        let country = a.req_string("country", 2, errs);
        if let Some(c) = &country
            && !crate::resources::is_country(c)
        {
            errs.push(
                &a.path("country"),
                "invalid_choice",
                format!("\"{c}\" is not an ISO 3166-1 alpha-2 country code."),
            );
        }
        if let Patch::Set(true) = a.boolean("primary", errs) {
            primaries.push(at.to_string());
        }
        Some((
            id,
            Address {
                street,
                zip,
                city,
                country: country.unwrap_or_default(),
            },
        ))
    });
    match rows {
        Patch::Set(rows) => {
            if primaries.len() > 1 || (rows.len() > 1 && primaries.is_empty()) {
                errs.push(&o.path("addresses"), "invalid", "Mark exactly one address as primary.");
                return Patch::Keep;
            }
            let primary = o
                .map
                .get("addresses")
                .and_then(Value::as_array)
                .and_then(|items| items.iter().position(|i| i.get("primary") == Some(&Value::Bool(true))))
                .unwrap_or(0);
            let (ids, addrs): (Vec<Uuid>, Vec<Address>) = rows.into_iter().unzip();
            Patch::Set((addrs, ids, primary))
        }
        Patch::Clear => Patch::Set((Vec::new(), Vec::new(), 0)),
        Patch::Keep => Patch::Keep,
    }
}

/// Reads a representative (`level` 1 may nest level-2 ones).
fn read_representative(
    m: &Map<String, Value>,
    at: &str,
    errs: &mut Errs,
    level: u8,
    today: NaiveDate,
    ids: &crate::v2::conv::IdSource<'_>,
) -> Option<Value> {
    let known: &[&str] = if level == 1 {
        &[
            "role",
            "person",
            "organization",
            "legal_form",
            "legal_representatives",
            "id",
        ]
    } else {
        &["role", "person", "organization", "legal_form", "id"]
    };
    let o = Obj::new(m, at, known, errs);
    let role = o.req_value("role", o.choice("role", ROLES, errs), errs);
    let person = o.object("person", errs, |pm, pat, errs| read_person(pm, pat, errs, today, None));
    let mut x = DebtorV2::default();
    let org = o.object("organization", errs, |om, oat, errs| {
        read_organization(om, oat, errs, None, &mut x, true)
    });
    let (person, org) = match (person, org) {
        (Patch::Set(p), Patch::Keep | Patch::Clear) => (Some(p), None),
        (Patch::Keep | Patch::Clear, Patch::Set(o)) => (None, Some(o)),
        (Patch::Set(_), Patch::Set(_)) => {
            errs.push(at, "invalid", "Send exactly one of person and organization.");
            (None, None)
        }
        _ => {
            if !o.has("person") && !o.has("organization") {
                errs.push(at, "invalid", "Send exactly one of person and organization.");
            }
            (None, None)
        }
    };
    let legal_form = read_legal_form(&o, errs);
    let nested = if level == 1 {
        match o.list("legal_representatives", 10, errs, |nm, nat, errs| {
            read_representative(nm, nat, errs, 2, today, ids)
        }) {
            Patch::Set(v) => v,
            _ => Vec::new(),
        }
    } else {
        Vec::new()
    };
    let id = match o.uuid("id", errs) {
        Patch::Set(id) => id,
        _ => ids.next(),
    };
    let mut v = json!({
        "id": id.to_string(),
        "role": role,
        "person": person.as_ref().map_or(Value::Null, |p| crate::v2::debtors::person(&Some(p.clone()))),
        "organization": org.as_ref().map_or(Value::Null, |o| json!({
            "name": o.name,
            "commercial_register": x.commercial_register,
            "commercial_registration_number": x.commercial_registration_number,
        })),
        "legal_form": legal_form,
    });
    if level == 1
        && let Value::Object(m) = &mut v
    {
        m.insert("legal_representatives".into(), Value::Array(nested));
    }
    Some(v)
}

fn read_legal_form(o: &Obj<'_>, errs: &mut Errs) -> Option<String> {
    match o.string("legal_form", 50, errs) {
        Patch::Set(s) if s.is_empty() => None,
        Patch::Set(s) if crate::v2::meta::legal_form_group(&s).is_some() => Some(s),
        Patch::Set(s) => {
            errs.push(
                &o.path("legal_form"),
                "invalid_choice",
                format!("\"{s}\" is not a code of GET /v2/legal-forms/."),
            );
            None
        }
        _ => None,
    }
}

fn normalize_phone(raw: &str) -> Option<String> {
    let mut s: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '/' | '.'))
        .collect();
    if let Some(rest) = s.strip_prefix("00") {
        s = format!("+{rest}");
    } else if let Some(rest) = s.strip_prefix('0') {
        s = format!("+49{rest}");
    }
    let digits = s.strip_prefix('+')?;
    (digits.len() >= 7 && digits.len() <= 15 && digits.chars().all(|c| c.is_ascii_digit()) && !digits.starts_with('0'))
        .then_some(s)
}

type Collections = (
    Patch<(Vec<Address>, Vec<Uuid>, usize)>,
    Patch<(Vec<BankAccount>, Vec<Uuid>, Vec<Option<String>>)>,
    Patch<(Vec<Channel>, Vec<Uuid>)>,
    Patch<Vec<Value>>,
);

/// Puts the lists a body sent into debtor `d` and its v2 part `x`: the addresses (with their row
/// ids and the primary one), the bank accounts (with their holders), v2's channels (on an
/// update, the `old` debtor's channels of v1's other types stay behind them) and the
/// representatives. A list the body left out stays as it is.
fn apply_collections(d: &mut Debtor, x: &mut DebtorV2, collections: Collections, old: Option<&Debtor>) {
    let (addresses, banks, channels, reps) = collections;
    if let Patch::Set((a, i, p)) = addresses {
        d.addresses = a;
        x.address_ids = i;
        x.primary = p;
    }
    if let Patch::Set((b, i, h)) = banks {
        d.bank_accounts = b;
        x.bank_ids = i;
        x.account_holders = h;
    }
    if let Patch::Set((c, i)) = channels {
        // v1's other channel types stay; v2's three are replaced.
        let (kept, kept_ids): (Vec<Channel>, Vec<Uuid>) = old.map_or_else(Default::default, |old| {
            let kept = old
                .communication_channels
                .iter()
                .filter(|c| !CHANNEL_TYPES.contains(&c.kind.as_str()))
                .cloned()
                .collect();
            let kept_ids = old
                .communication_channels
                .iter()
                .enumerate()
                .filter(|(_, c)| !CHANNEL_TYPES.contains(&c.kind.as_str()))
                .map(|(n, _)| row_id(old, "channel", n, &ext(old).channel_ids))
                .collect();
            (kept, kept_ids)
        });
        d.communication_channels = c.into_iter().chain(kept).collect();
        x.channel_ids = i.into_iter().chain(kept_ids).collect();
    }
    if let Patch::Set(r) = reps {
        x.legal_representatives = r;
    }
}

fn read_collections(
    o: &Obj<'_>,
    errs: &mut Errs,
    old: Option<&Debtor>,
    today: NaiveDate,
    ids: &crate::v2::conv::IdSource<'_>,
) -> Collections {
    let x = old.map(ext).unwrap_or_default();
    let old_addresses: Vec<(Uuid, Address)> = old.map_or_else(Vec::new, |d| {
        d.addresses
            .iter()
            .enumerate()
            .map(|(i, a)| (row_id(d, "address", i, &x.address_ids), a.clone()))
            .collect()
    });
    let addresses = read_addresses(o, errs, &old_addresses, ids);
    let old_banks: Vec<Uuid> = old.map_or_else(Vec::new, |d| {
        (0..d.bank_accounts.len())
            .map(|i| row_id(d, "bank", i, &x.bank_ids))
            .collect()
    });
    let mut seen_ibans = Vec::new();
    let banks = o.list("bank_accounts", 10, errs, |m, at, errs| {
        let b = Obj::new(m, at, &["iban", "bic", "account_holder", "id"], errs);
        let id = match b.uuid("id", errs) {
            Patch::Set(id) if old_banks.contains(&id) => id,
            Patch::Set(_) => {
                errs.push(&b.path("id"), "invalid", "No bank account of this debtor has this id.");
                return None;
            }
            _ => ids.next(),
        };
        let iban = b
            .req_string("iban", 34, errs)
            .map(|i| mock_core::bank::compact_iban(&i));
        let bic = b.bic(errs);
        let holder = b.opt_string("account_holder", 255, errs).set();
        let iban = iban?;
        if !b.bank_account_holds(&iban, bic.as_deref(), errs) {
            return None;
        }
        if seen_ibans.contains(&iban) {
            errs.push(&b.path("iban"), "duplicate", "This IBAN is in the list twice.");
            return None;
        }
        seen_ibans.push(iban.clone());
        Some((id, BankAccount { iban, bic }, holder))
    });
    let banks = match banks {
        Patch::Set(rows) => {
            let mut accounts = Vec::new();
            let mut bank_ids = Vec::new();
            let mut holders = Vec::new();
            for (id, a, h) in rows {
                bank_ids.push(id);
                accounts.push(a);
                holders.push(h);
            }
            Patch::Set((accounts, bank_ids, holders))
        }
        Patch::Clear => Patch::Set((Vec::new(), Vec::new(), Vec::new())),
        Patch::Keep => Patch::Keep,
    };
    let old_channels: Vec<Uuid> = old.map_or_else(Vec::new, |d| {
        (0..d.communication_channels.len())
            .map(|i| row_id(d, "channel", i, &x.channel_ids))
            .collect()
    });
    let mut seen = Vec::new();
    let channels = o.list("communication_channels", 10, errs, |m, at, errs| {
        let c = Obj::new(m, at, &["type", "value", "id"], errs);
        let id = match c.uuid("id", errs) {
            Patch::Set(id) if old_channels.contains(&id) => id,
            Patch::Set(_) => {
                errs.push(&c.path("id"), "invalid", "No channel of this debtor has this id.");
                return None;
            }
            _ => ids.next(),
        };
        let kind = c.req_sent("type", c.choice("type", CHANNEL_TYPES, errs), errs);
        let value = c.req_string("value", 255, errs);
        let (kind, value) = (kind?, value?);
        let value = if kind == "email" {
            if !value.contains('@') || value.starts_with('@') || value.ends_with('@') {
                errs.push(&c.path("value"), "invalid", "Enter a valid e-mail address.");
                return None;
            }
            value.trim().to_string()
        } else {
            match normalize_phone(&value) {
                Some(v) => v,
                None => {
                    errs.push(
                        &c.path("value"),
                        "invalid",
                        "Enter a valid phone number (E.164, e.g. +4930123456).",
                    );
                    return None;
                }
            }
        };
        if seen.contains(&(kind.clone(), value.clone())) {
            errs.push(at, "duplicate", "This channel is in the list twice.");
            return None;
        }
        seen.push((kind.clone(), value.clone()));
        Some((id, Channel { kind, value }))
    });
    let channels = match channels {
        Patch::Set(rows) => {
            let (c, i): (Vec<Channel>, Vec<Uuid>) = rows.into_iter().map(|(i, c)| (c, i)).unzip();
            Patch::Set((c, i))
        }
        Patch::Clear => Patch::Set((Vec::new(), Vec::new())),
        Patch::Keep => Patch::Keep,
    };
    let reps = match o.list("legal_representatives", 10, errs, |m, at, errs| {
        read_representative(m, at, errs, 1, today, ids)
    }) {
        Patch::Clear => Patch::Set(Vec::new()),
        other => other,
    };
    (addresses, banks, channels, reps)
}

fn read_metadata(o: &Obj<'_>, errs: &mut Errs) -> Vec<Value> {
    match o.list("metadata", 100, errs, |m, at, errs| {
        let r = Obj::new(m, at, &["type", "value"], errs);
        let t = r.choice("type", METADATA_TYPES, errs);
        let v = r.req_string("value", 255, errs);
        match (t, v) {
            (Patch::Set(t), Some(v)) => Some(json!({ "type": t, "value": v })),
            (Patch::Keep, _) if !r.has("type") => {
                errs.push(&r.path("type"), "required", "This field is required.");
                None
            }
            _ => None,
        }
    }) {
        Patch::Set(v) => v,
        _ => Vec::new(),
    }
}

/// Reads the events of a debtor or claim (`types` their input enum).
pub fn read_events(o: &Obj<'_>, name: &str, types: &[&str], errs: &mut Errs) -> Vec<Value> {
    match o.list(name, 100, errs, |m, at, errs| {
        let e = Obj::new(
            m,
            at,
            &[
                "type",
                "title",
                "occurence",
                "your_reference",
                "description",
                "location",
            ],
            errs,
        );
        let t = e.req_sent("type", e.choice("type", types, errs), errs);
        let title = e.req_string("title", 255, errs);
        let occurence = e.req_sent("occurence", e.datetime("occurence", errs), errs);
        let opt = |name: &str, errs: &mut Errs| match e.opt_string(name, 255, errs) {
            Patch::Set(s) => Value::String(s),
            _ => Value::Null,
        };
        let your_reference = opt("your_reference", errs);
        let description = opt("description", errs);
        let location = opt("location", errs);
        Some(json!({
            "type": t?,
            "title": title?,
            "occurence": crate::format::timestamp(&occurence?),
            "your_reference": your_reference,
            "description": description,
            "location": location,
        }))
    }) {
        Patch::Set(v) => v,
        _ => Vec::new(),
    }
}

/// Checks the identity rules of `i` (union on `acting_as`).
fn check_identity(i: &Identity, errs: &mut Errs) {
    match i.acting_as.as_str() {
        "consumer" => {
            if i.person.is_none() {
                errs.push("person", "required", "A consumer needs person.");
            }
            if i.organization.is_some() {
                errs.push(
                    "organization",
                    "invalid",
                    "A consumer has no organization; send person.",
                );
            }
            if i.ext.legal_form.is_some() {
                errs.push("legal_form", "invalid", "A consumer has no legal form.");
            }
        }
        _ => {
            let group = i.ext.legal_form.as_deref().and_then(crate::v2::meta::legal_form_group);
            match (&i.person, &i.organization) {
                (Some(_), Some(_)) | (None, None) => errs.push(
                    "",
                    "invalid",
                    "A business debtor needs exactly one of person and organization.",
                ),
                (Some(_), None) if group.is_some_and(|g| g != "privatperson" && g != "einzelkaufmann") => errs.push(
                    "organization",
                    "required",
                    "This legal form needs organization (person is for sole traders and private persons).",
                ),
                _ => {}
            }
        }
    }
}

async fn create(
    State(state): State<AppState>,
    caller: V2Caller,
    idem: Idem,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    idem.run(&state, &caller, &body, || {
        let today = state.clock.today();
        let mut errs = Errs::default();
        // Read once, before the known keys (which depend on it); its problems are recorded after
        // the unknown keys', as before.
        let mut acting_errs = Errs::default();
        let acting = (Obj {
            map: &body,
            at: String::new(),
        })
        .choice("acting_as", ACTING_AS, &mut acting_errs);
        let known: &[&str] = if matches!(&acting, Patch::Set(a) if a == "consumer") {
            &[
                "acting_as",
                "person",
                "addresses",
                "bank_accounts",
                "communication_channels",
                "legal_representatives",
                "metadata",
                "events",
                "your_reference",
            ]
        } else {
            &[
                "acting_as",
                "person",
                "organization",
                "legal_form",
                "addresses",
                "bank_accounts",
                "communication_channels",
                "legal_representatives",
                "metadata",
                "events",
                "your_reference",
            ]
        };
        let o = Obj::new(&body, "", known, &mut errs);
        errs.0.append(&mut acting_errs.0);
        let acting_as = match acting {
            Patch::Set(a) => a,
            _ => {
                if !o.has("acting_as") {
                    errs.push("acting_as", "required", "This field is required: consumer or business.");
                }
                String::new()
            }
        };
        let mut identity = Identity {
            acting_as,
            ..Identity::default()
        };
        identity.ext.legal_form = read_legal_form(&o, &mut errs);
        if let Patch::Set(p) = o.object("person", &mut errs, |m, at, errs| read_person(m, at, errs, today, None)) {
            identity.person = Some(p);
        }
        let mut x = identity.ext.clone();
        if let Patch::Set(org) = o.object("organization", &mut errs, |m, at, errs| {
            read_organization(m, at, errs, None, &mut x, true)
        }) {
            identity.organization = Some(org);
        }
        identity.ext = x;
        let ids = crate::v2::conv::IdSource::new(&state);
        let collections = read_collections(&o, &mut errs, None, today, &ids);
        let metadata = read_metadata(&o, &mut errs);
        let events = read_events(&o, "events", EVENT_TYPES, &mut errs);
        let your_reference = o.opt_string("your_reference", 255, &mut errs).set();
        if !identity.acting_as.is_empty() {
            check_identity(&identity, &mut errs);
        }
        errs.finish(())?;
        let now = state.now();
        let mut ext = identity.ext;
        let mut d = Debtor {
            seq: state.ids.next_seq(),
            scope: caller.scope,
            id: state.ids.uuid(),
            your_reference,
            acting_as: identity.acting_as,
            person: identity.person,
            organization: identity.organization,
            addresses: Vec::new(),
            communication_channels: Vec::new(),
            bank_accounts: Vec::new(),
            metadata,
            events,
            created: now,
            updated: now,
            v2: None,
        };
        apply_collections(&mut d, &mut ext, collections, None);
        d.v2 = Some(Box::new(ext));
        let out = render(&d);
        state
            .store
            .write(|db| db.debtors.insert(d))
            .map_err(|e| V2Error::conflict("conflict", e.to_string()))?;
        Ok((StatusCode::CREATED, out))
    })
}

async fn update(
    State(state): State<AppState>,
    caller: V2Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    let today = state.clock.today();
    let now = state.now();
    let ids = crate::v2::conv::IdSource::new(&state);
    state.store.write(|db| {
        let old = find(db, caller.scope, &id)?;
        if_match(&headers, &render(&old))?;
        let mut errs = Errs::default();
        let o = Obj::new(
            &body,
            "",
            &[
                "acting_as",
                "addresses",
                "bank_accounts",
                "communication_channels",
                "legal_form",
                "legal_representatives",
                "organization",
                "person",
                "your_reference",
            ],
            &mut errs,
        );
        for ro in ["events", "metadata", "id", "created_at", "updated_at"] {
            if o.has(ro) {
                errs.0.retain(|e| e.field.as_deref() != Some(ro));
                errs.push(ro, "read_only", "This field cannot be changed after creation.");
            }
        }
        let mut d = old.clone();
        let mut x = ext(&old);
        if let Patch::Set(a) = o.choice("acting_as", ACTING_AS, &mut errs) {
            d.acting_as = a;
        }
        if o.has("legal_form") {
            x.legal_form = read_legal_form(&o, &mut errs);
        }
        match o.object("person", &mut errs, |m, at, errs| {
            read_person(m, at, errs, today, old.person.as_ref())
        }) {
            Patch::Set(p) => d.person = Some(p),
            Patch::Clear => d.person = None,
            Patch::Keep => {}
        }
        let base = old.organization.clone();
        let mut x2 = x.clone();
        match o.object("organization", &mut errs, |m, at, errs| {
            read_organization(m, at, errs, base.as_ref().map(|b| (b, &x)), &mut x2, false)
        }) {
            Patch::Set(org) => d.organization = Some(org),
            Patch::Clear => {
                d.organization = None;
                x2.commercial_register = None;
                x2.commercial_registration_number = None;
            }
            Patch::Keep => {}
        }
        let mut x = x2;
        let collections = read_collections(&o, &mut errs, Some(&old), today, &ids);
        match o.opt_string("your_reference", 255, &mut errs) {
            Patch::Set(s) => d.your_reference = Some(s),
            Patch::Clear => d.your_reference = None,
            Patch::Keep => {}
        }
        let identity = Identity {
            acting_as: d.acting_as.clone(),
            person: d.person.clone(),
            organization: d.organization.clone(),
            ext: x.clone(),
        };
        check_identity(&identity, &mut errs);
        errs.finish(())?;
        if x.address_ids.len() != old.addresses.len() {
            x.address_ids = (0..old.addresses.len())
                .map(|i| row_id(&old, "address", i, &x.address_ids))
                .collect();
        }
        apply_collections(&mut d, &mut x, collections, Some(&old));
        d.v2 = Some(Box::new(x));
        if render(&d) != render(&old) {
            d.updated = now;
        }
        let out = render(&d);
        let key = d.id.to_string();
        db.debtors.update(&caller.scope, &key, |slot| *slot = d);
        Ok(respond(StatusCode::OK, out))
    })
}
