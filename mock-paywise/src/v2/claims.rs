//! `/v2/claims/`: claims (a union of `receivable` and `titled`), a titled claim's enforceable
//! title (`/v2/claims/{id}/enforceable-title/`), and a claim's payments
//! (`/v2/claims/{id}/payments/`).
//!
//! v2's claims are v1's claims: one table. A claim created through v2 is a v1 claim whose order,
//! kind, reminders, legal basis, exact item quantities and title v2 keeps beside it; a claim
//! created through v1 belongs to an order of type `invoice` made for it. `status` is v1's
//! `submission_state` seen through v2 (`created` = `draft`, `released` and `under_review` =
//! `submitted`, `client_response_pending` = `awaiting_client_response`, `accepted`, `rejected`;
//! a withdrawn claim is `rejected` in v1). `principal_amount` is v1's `main_claim_amount`;
//! `total_amount` is the principal plus charges minus the claim's payments (for a titled claim
//! the title's gross amount, not reduced by payments).
//!
//! Create, PATCH and DELETE need the order to be a draft (409 `claim_not_editable`; an expired
//! draft: 409 `order_expired`). Payments may be recorded in every status: on a draft they are
//! facts of the claim (deletable), afterwards reports (booked on the mandate once there is one,
//! `payment.reported`).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::format::Money;
use crate::list::Origin;
use crate::resources::claims::{AdditionalCharge, Claim, ClaimPayment, Item, SubmissionState};
use crate::resources::payments::Payment;
use crate::state::{AppState, Db, Scope};
use crate::v2::conv::{
    Field, Idem, Obj, Paging, Patch, Query, V2Caller, V2Json, date, if_match, money, page, respond, show, ts,
};
use crate::v2::documents::{self, NewFile};
use crate::v2::error::{Errs, V2Error};
use crate::v2::orders::{Order, OrderStatus};

/// `status`.
pub const STATUSES: &[&str] = &[
    "draft",
    "submitted",
    "awaiting_client_response",
    "accepted",
    "rejected",
    "withdrawn",
];
/// Charge types.
pub const CHARGE_TYPES: &[&str] = &["reminder_fee", "bank_charge", "research_costs"];
/// Title types.
pub const TITLE_TYPES: &[&str] = &[
    "enforcement_order",
    "default_judgment",
    "final_judgment",
    "acknowledgment_judgment",
    "reservation_judgment",
    "court_settlement",
    "enforceable_notarial_deed",
    "cost_assessment_order",
    "other",
];
/// Payment metadata types.
pub const PAYMENT_METADATA_TYPES: &[&str] = crate::vendor::PAYMENT_METADATA_TYPES;

/// The claim type codes a client may send (`H01`–`H46`, `H61`, `H70`, `H75`–`H80`, `H90`, `H95`).
pub fn is_claim_type_code(code: &str) -> bool {
    let Some(n) = code
        .strip_prefix('H')
        .and_then(|n| (n.len() == 2).then_some(n))
        .and_then(|n| n.parse::<u32>().ok())
    else {
        return false;
    };
    (1..=46).contains(&n) || matches!(n, 61 | 70 | 90 | 95) || (75..=80).contains(&n)
}

/// An invoice line with its exact quantity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemV2 {
    /// Description.
    pub description: String,
    /// Quantity (up to 6 decimals).
    pub quantity: Decimal,
    /// Unit.
    pub unit: Option<String>,
    /// Unit price (may be negative).
    pub unit_price: Decimal,
}

/// A reminder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reminder {
    /// Id.
    pub id: Uuid,
    /// Sent on.
    pub date: NaiveDate,
    /// Payment deadline.
    pub due_date: Option<NaiveDate>,
}

/// The legal basis.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LegalBasis {
    /// `H01`–`H95`, `K014`.
    pub claim_type_code: Option<String>,
    /// Contract date.
    pub contract_date: Option<NaiveDate>,
    /// Description.
    pub description: Option<String>,
}

/// An enforceable title.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Title {
    /// Id.
    pub id: Uuid,
    /// Type.
    pub title_type: Option<String>,
    /// Gross amount.
    pub amount: Option<Decimal>,
    /// File number.
    pub file_number: Option<String>,
    /// Court, notary or authority.
    pub issuing_authority: Option<String>,
    /// Issued on.
    pub issued_on: Option<NaiveDate>,
    /// Legally binding since.
    pub legally_binding_since: Option<NaiveDate>,
    /// Served on.
    pub served_on: Option<NaiveDate>,
    /// Creation.
    #[serde(with = "crate::format::ts")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "crate::format::ts")]
    pub updated_at: DateTime<Utc>,
}

impl Title {
    /// Title `id` with none of its data filled in: what a titled claim starts with, what a
    /// replacing `PUT` starts from and what deleting the title leaves.
    pub fn blank(id: Uuid, created_at: DateTime<Utc>, updated_at: DateTime<Utc>) -> Self {
        Title {
            id,
            title_type: None,
            amount: None,
            file_number: None,
            issuing_authority: None,
            issued_on: None,
            legally_binding_since: None,
            served_on: None,
            created_at,
            updated_at,
        }
    }
}

/// What v2 keeps beside a v1 claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimV2 {
    /// `receivable` or `titled`.
    pub kind: String,
    /// The order.
    pub order_id: Uuid,
    /// Why the debtor disputes it.
    pub dispute_reason: Option<String>,
    /// Invoice lines, exactly.
    pub items: Vec<ItemV2>,
    /// Reminders.
    pub reminders: Vec<Reminder>,
    /// Legal basis.
    pub legal_basis: LegalBasis,
    /// The enforceable title (titled claims).
    pub title: Option<Title>,
    /// Withdrawn (v1 shows it `rejected`).
    pub withdrawn: bool,
    /// A rent claim's due date comes from the agreement's due rule (none was sent).
    #[serde(default)]
    pub due_derived: bool,
}

/// The id of the claim's order: `ext(c).order_id` without building the rest of the v2 part
/// (scans over every claim use it).
pub fn order_id(c: &Claim) -> Uuid {
    c.v2.as_deref()
        .map_or_else(|| crate::v2::orders::adopted_order_id(c.id), |x| x.order_id)
}

/// The claim's v2 part (defaults for a v1 claim: receivable, its adopted order).
pub fn ext(c: &Claim) -> ClaimV2 {
    c.v2.as_deref().cloned().unwrap_or_else(|| ClaimV2 {
        kind: "receivable".into(),
        order_id: crate::v2::orders::adopted_order_id(c.id),
        dispute_reason: None,
        items: c
            .items
            .iter()
            .map(|i| {
                let q = Decimal::from_f64_retain(i.quantity).unwrap_or(Decimal::ONE).normalize();
                ItemV2 {
                    description: i.description.clone(),
                    quantity: q,
                    unit: i.unit.clone(),
                    unit_price: if q.is_zero() {
                        i.amount.value
                    } else {
                        (i.amount.value / q).round_dp(2)
                    },
                }
            })
            .collect(),
        reminders: c
            .reminder_date
            .map(|d| Reminder {
                id: crate::resources::partner::derived_uuid(&format!("claim:{}:reminder", c.id)),
                date: d,
                due_date: None,
            })
            .into_iter()
            .collect(),
        legal_basis: LegalBasis {
            contract_date: c.occurence_date,
            ..LegalBasis::default()
        },
        title: None,
        withdrawn: false,
        due_derived: false,
    })
}

/// The claim's title, for a titled claim.
pub fn title_of(c: &Claim) -> Option<Title> {
    ext(c).title
}

/// v2's status of a claim: its [`SubmissionState`] as the status of an order.
pub fn order_status(c: &Claim) -> OrderStatus {
    match c.submission_state {
        SubmissionState::Created => OrderStatus::Draft,
        SubmissionState::Released | SubmissionState::UnderReview => OrderStatus::Submitted,
        SubmissionState::ClientResponsePending => OrderStatus::AwaitingClientResponse,
        SubmissionState::Accepted => OrderStatus::Accepted,
        SubmissionState::Rejected if c.v2.as_ref().is_some_and(|x| x.withdrawn) => OrderStatus::Withdrawn,
        SubmissionState::Rejected => OrderStatus::Rejected,
    }
}

/// v2's status of a claim, as v2 spells it (one of [`STATUSES`]).
pub fn status(c: &Claim) -> &'static str {
    order_status(c).as_str()
}

/// The caller's claim `id` (404 otherwise).
pub fn find(db: &Db, scope: Scope, id: Uuid) -> Result<Claim, V2Error> {
    db.claims
        .get(&scope, &id.to_string())
        .cloned()
        .ok_or_else(V2Error::not_found)
}

fn find_raw(db: &Db, scope: Scope, raw: &str) -> Result<Claim, V2Error> {
    find(db, scope, Uuid::parse_str(raw).map_err(|_| V2Error::not_found())?)
}

/// Whether the claim's order allows edits now.
pub fn editable(db: &Db, state: &AppState, c: &Claim) -> Result<(), V2Error> {
    let order_id = ext(c).order_id;
    match db.v2_orders.get(&c.scope, &order_id.to_string()) {
        Some(o) => crate::v2::orders::editable_in(db, o, state.now()),
        None if c.submission_state.is_draft() => Ok(()),
        None => Err(not_editable()),
    }
}

/// 409 `claim_not_editable`.
pub fn not_editable() -> V2Error {
    V2Error::conflict(
        "claim_not_editable",
        "The claim's order is no longer a draft; claims can only change while their order is a draft.",
    )
}

/// The claim's payments (its records in the payments table), oldest first.
pub fn payments_of<'a>(db: &'a Db, c: &Claim) -> Vec<&'a Payment> {
    let mut out: Vec<&Payment> = db.payments.lookup(&c.scope, "claim", &c.id.to_string()).collect();
    out.sort_by_key(|p| p.seq);
    out
}

/// What the claim is owed: principal plus charges minus payments (a title's gross amount).
pub fn total(db: &Db, c: &Claim) -> Decimal {
    let x = ext(c);
    if x.kind == "titled" {
        return x.title.as_ref().and_then(|t| t.amount).unwrap_or_default();
    }
    let paid: Decimal = payments_of(db, c).iter().map(|p| p.amount.value).sum();
    c.main_claim_amount.value + c.additional_charges_amount.value - paid
}

fn render_charge(ch: &AdditionalCharge) -> Value {
    json!({
        "id": ch.id.to_string(),
        "type": ch.kind,
        "amount": money(ch.amount.value),
        "occurrence_date": date(&ch.occurence_date),
        "subject_matter": ch.subject_matter,
        "your_reference": ch.your_reference,
        "events": ch.events,
        "metadata": ch.metadata,
    })
}

/// `EnforceableTitleRead`.
pub fn render_title(db: &Db, scope: Scope, t: &Title, origin: &Origin) -> Value {
    json!({
        "id": t.id.to_string(),
        "title_type": t.title_type,
        "amount": t.amount.map(money),
        "file_number": t.file_number,
        "issuing_authority": t.issuing_authority,
        "issued_on": date(&t.issued_on),
        "legally_binding_since": date(&t.legally_binding_since),
        "served_on": date(&t.served_on),
        "documents": documents::rendered(db, scope, t.id, origin),
        "created_at": ts(&t.created_at),
        "updated_at": ts(&t.updated_at),
    })
}

/// The claim as v2 shows it.
pub fn render(db: &Db, c: &Claim, origin: &Origin) -> Value {
    let x = ext(c);
    let order = db.v2_orders.get(&c.scope, &x.order_id.to_string());
    let mut m = Map::new();
    m.insert("type".into(), json!(x.kind));
    m.insert("id".into(), json!(c.id.to_string()));
    m.insert("status".into(), json!(status(c)));
    m.insert("order_id".into(), json!(x.order_id.to_string()));
    let mandate = c
        .mandate
        .as_ref()
        .and_then(|v| v.get("id"))
        .and_then(Value::as_str)
        .map(str::to_string);
    m.insert("mandate_id".into(), json!(mandate));
    m.insert("debtor_id".into(), json!(c.debtor.to_string()));
    m.insert(
        "additional_debtor_ids".into(),
        json!(order.map_or_else(Vec::new, |o| {
            o.additional_debtor_ids.iter().map(Uuid::to_string).collect()
        })),
    );
    m.insert("your_reference".into(), json!(c.your_reference));
    m.insert("document_reference".into(), json!(c.document_reference));
    m.insert("subject_matter".into(), json!(c.subject_matter));
    m.insert("is_disputed".into(), json!(c.claim_disputed));
    m.insert("dispute_reason".into(), json!(x.dispute_reason));
    m.insert("total_amount".into(), money(total(db, c)));
    if x.kind == "titled" {
        m.insert("principal_amount".into(), Value::Null);
        m.insert(
            "enforceable_title".into(),
            x.title
                .as_ref()
                .map_or(Value::Null, |t| render_title(db, c.scope, t, origin)),
        );
    } else {
        m.insert("principal_amount".into(), money(c.main_claim_amount.value));
        m.insert(
            "additional_charges".into(),
            Value::Array(c.additional_charges.iter().map(render_charge).collect()),
        );
        m.insert(
            "additional_charges_amount".into(),
            money(c.additional_charges_amount.value),
        );
        m.insert(
            "items".into(),
            Value::Array(
                x.items
                    .iter()
                    .map(|i| {
                        json!({
                            "description": i.description,
                            "quantity": i.quantity.normalize().to_string(),
                            "unit": i.unit,
                            "unit_price": money(i.unit_price),
                            "amount": money((i.quantity * i.unit_price).round_dp(2)),
                        })
                    })
                    .collect(),
            ),
        );
        m.insert(
            "reminders".into(),
            Value::Array(
                x.reminders
                    .iter()
                    .map(|r| json!({ "id": r.id.to_string(), "date": date(&Some(r.date)), "due_date": date(&r.due_date) }))
                    .collect(),
            ),
        );
        m.insert(
            "legal_basis".into(),
            json!({
                "claim_type_code": x.legal_basis.claim_type_code,
                "contract_date": date(&x.legal_basis.contract_date),
                "description": x.legal_basis.description,
            }),
        );
        m.insert("document_date".into(), date(&c.document_date));
        m.insert("due_date".into(), date(&c.due_date));
        m.insert("delay_date".into(), date(&c.delay_date));
        m.insert("documents".into(), documents::rendered(db, c.scope, c.id, origin));
    }
    m.insert(
        "payments".into(),
        Value::Array(
            payments_of(db, c)
                .iter()
                .map(|p| crate::v2::payments::render(db, p))
                .collect(),
        ),
    );
    m.insert("events".into(), Value::Array(c.events.clone()));
    m.insert("metadata".into(), Value::Array(c.metadata.clone()));
    m.insert("created_at".into(), ts(&c.created));
    m.insert("updated_at".into(), ts(&c.updated));
    Value::Object(m)
}

/// A claim read from a create body, before it is stored.
pub struct NewClaim {
    /// The v1 record (ids, scope, debtor and order-level fields filled in by [`insert`]).
    pub claim: Claim,
    /// Inline documents (claim documents, or title documents for a titled claim).
    pub documents: Vec<NewFile>,
    /// Inline payments.
    pub payments: Vec<PaymentInput>,
}

/// A payment read from a body.
#[derive(Debug, Clone)]
pub struct PaymentInput {
    /// Amount.
    pub amount: Decimal,
    /// Value date.
    pub value_date: NaiveDate,
    /// Reference.
    pub your_reference: Option<String>,
    /// Metadata.
    pub metadata: Vec<Value>,
}

/// Reads a `PaymentWriteRequest`.
pub fn read_payment(m: &Map<String, Value>, at: &str, errs: &mut Errs, today: NaiveDate) -> Option<PaymentInput> {
    let o = Obj::new(m, at, &["amount", "value_date", "your_reference", "metadata"], errs);
    let amount = o.req_value("amount", o.money("amount", Some(Decimal::new(1, 2)), errs), errs);
    let value_date = match o.date("value_date", errs) {
        Patch::Set(d) if d > today => {
            errs.push(
                &o.path("value_date"),
                "invalid",
                "The value date cannot be in the future.",
            );
            None
        }
        Patch::Set(d) => Some(d),
        _ => {
            if !o.has("value_date") || m.get("value_date") == Some(&Value::Null) {
                errs.push(&o.path("value_date"), "required", "This field is required.");
            }
            None
        }
    };
    let your_reference = o.opt_string("your_reference", 255, errs).set();
    let metadata = read_metadata(&o, PAYMENT_METADATA_TYPES, errs);
    Some(PaymentInput {
        amount: amount?,
        value_date: value_date?,
        your_reference,
        metadata,
    })
}

fn read_metadata(o: &Obj<'_>, types: &[&str], errs: &mut Errs) -> Vec<Value> {
    match o.list("metadata", 100, errs, |m, at, errs| {
        let r = Obj::new(m, at, &["type", "value"], errs);
        let t = r.req_sent("type", r.choice("type", types, errs), errs);
        let v = r.req_string("value", 1000, errs);
        Some(json!({ "type": t?, "value": v? }))
    }) {
        Patch::Set(v) => v,
        _ => Vec::new(),
    }
}

fn read_charge(
    m: &Map<String, Value>,
    at: &str,
    errs: &mut Errs,
    ids: &crate::v2::conv::IdSource<'_>,
) -> Option<AdditionalCharge> {
    let o = Obj::new(
        m,
        at,
        &[
            "type",
            "amount",
            "occurrence_date",
            "subject_matter",
            "your_reference",
            "metadata",
            "events",
            "id",
        ],
        errs,
    );
    let kind = o.req_sent("type", o.choice("type", CHARGE_TYPES, errs), errs);
    let amount = o.req_sent("amount", o.money("amount", Some(Decimal::ZERO), errs), errs);
    let occurrence = o.date("occurrence_date", errs).set();
    let subject = o.opt_string("subject_matter", 2000, errs).set();
    let reference = o.opt_string("your_reference", 255, errs).set();
    let metadata = read_metadata(&o, crate::vendor::CLAIM_METADATA_TYPES, errs);
    let events = crate::v2::debtors::read_events(&o, "events", &["invoice", "transaction"], errs);
    let id = match o.uuid("id", errs) {
        Patch::Set(id) => id,
        _ => ids.next(),
    };
    Some(AdditionalCharge {
        id,
        kind: kind.clone(),
        your_reference: reference,
        subject_matter: subject,
        occurence_date: occurrence,
        document_date: None,
        due_date: None,
        amount: Money::eur(amount?),
        metadata,
        events,
    })
    .filter(|_| kind.is_some())
}

fn read_item(m: &Map<String, Value>, at: &str, errs: &mut Errs) -> Option<ItemV2> {
    let o = Obj::new(m, at, &["description", "quantity", "unit", "unit_price"], errs);
    let description = o.req_string("description", 2000, errs);
    let quantity = match o.get("quantity") {
        Field::Value(Value::String(s)) => match s.parse::<Decimal>() {
            // Bounded like an amount, so that quantity times unit price stays within a decimal.
            Ok(q) if q >= crate::v2::conv::MAX_MONEY => {
                errs.push(
                    &o.path("quantity"),
                    "max_whole_digits",
                    "Ensure that there are no more than 14 digits before the decimal point.",
                );
                None
            }
            Ok(q) if q.scale() <= 6 && q >= Decimal::ZERO => Some(q),
            Ok(_) => {
                errs.push(
                    &o.path("quantity"),
                    "invalid",
                    "The quantity must be at least 0 with at most 6 decimals.",
                );
                None
            }
            Err(_) => {
                errs.push(
                    &o.path("quantity"),
                    "invalid",
                    "Send the quantity as a decimal string (\"1.5\").",
                );
                None
            }
        },
        Field::Absent | Field::Null => {
            errs.push(&o.path("quantity"), "required", "This field is required.");
            None
        }
        Field::Value(_) => {
            errs.push(
                &o.path("quantity"),
                "invalid",
                "Send the quantity as a decimal string (\"1.5\").",
            );
            None
        }
    };
    let unit_price = o.req_sent("unit_price", o.money("unit_price", None, errs), errs);
    let unit = o.opt_string("unit", 50, errs).set();
    Some(ItemV2 {
        description: description?,
        quantity: quantity?,
        unit,
        unit_price: unit_price?,
    })
}

fn read_reminders(
    o: &Obj<'_>,
    errs: &mut Errs,
    create: bool,
    old: &[Reminder],
    ids: &crate::v2::conv::IdSource<'_>,
) -> Patch<Vec<Reminder>> {
    let rows = o.list("reminders", 50, errs, |m, at, errs| {
        let r = Obj::new(m, at, &["date", "due_date", "id"], errs);
        let id = match r.uuid("id", errs) {
            Patch::Set(_) if create => {
                errs.push(&r.path("id"), "invalid", "id is not allowed when creating reminders.");
                return None;
            }
            Patch::Set(id) if old.iter().any(|o| o.id == id) => id,
            Patch::Set(_) => {
                errs.push(&r.path("id"), "invalid", "No reminder of this claim has this id.");
                return None;
            }
            _ => ids.next(),
        };
        let d = r.req_sent("date", r.date("date", errs), errs);
        let due = r.date("due_date", errs).set();
        let d = d?;
        if due.is_some_and(|due| due < d) {
            errs.push(
                &r.path("due_date"),
                "invalid",
                "The reminder's deadline cannot be before its date.",
            );
            return None;
        }
        Some(Reminder {
            id,
            date: d,
            due_date: due,
        })
    });
    if let Patch::Set(rs) = &rows {
        for (i, w) in rs.windows(2).enumerate() {
            if w[1].date < w[0].date || w[0].due_date.is_some_and(|due| w[1].date < due) {
                errs.push(
                    &format!("{}[{}].date", o.path("reminders"), i + 1),
                    "invalid",
                    "Reminders must be in order: each not before the previous one and its deadline.",
                );
            }
        }
    }
    match rows {
        Patch::Clear => Patch::Set(Vec::new()),
        other => other,
    }
}

fn read_legal_basis(o: &Obj<'_>, errs: &mut Errs, base: LegalBasis, order_kind: &str) -> Patch<LegalBasis> {
    o.object("legal_basis", errs, |m, at, errs| {
        let lb = Obj::new(m, at, &["claim_type_code", "contract_date", "description"], errs);
        let mut out = base.clone();
        match lb.opt_string("claim_type_code", 10, errs) {
            Patch::Set(code) if !is_claim_type_code(&code) => errs.push(
                &lb.path("claim_type_code"),
                "invalid_choice",
                format!("\"{code}\" is not a claim type code (H01–H46, H61, H70, H75–H80, H90, H95)."),
            ),
            Patch::Set(code) if (code == "H17" || code == "H19") && order_kind != "rental" => errs.push(
                &lb.path("claim_type_code"),
                "invalid",
                "H17 and H19 (rent) are only allowed in rental orders.",
            ),
            other => other.apply(&mut out.claim_type_code),
        }
        lb.date("contract_date", errs).apply(&mut out.contract_date);
        lb.opt_string("description", 2000, errs).apply(&mut out.description);
        Some(out)
    })
}

#[allow(clippy::too_many_arguments)]
fn read_title(
    m: &Map<String, Value>,
    at: &str,
    errs: &mut Errs,
    base: Option<&Title>,
    now: DateTime<Utc>,
    ids: &crate::v2::conv::IdSource<'_>,
    inline: bool,
    budget: &mut (usize, usize),
) -> Option<(Title, Vec<NewFile>)> {
    let known: &[&str] = if inline {
        &[
            "title_type",
            "amount",
            "file_number",
            "issuing_authority",
            "issued_on",
            "legally_binding_since",
            "served_on",
            "documents",
        ]
    } else {
        &[
            "title_type",
            "amount",
            "file_number",
            "issuing_authority",
            "issued_on",
            "legally_binding_since",
            "served_on",
        ]
    };
    let o = Obj::new(m, at, known, errs);
    // The id is drawn even when there is a `base`, as it always was: the ids that follow stay put.
    let blank = Title::blank(ids.next(), now, now);
    let mut t = base.cloned().unwrap_or(blank);
    o.choice("title_type", TITLE_TYPES, errs).apply(&mut t.title_type);
    o.money("amount", Some(Decimal::ZERO), errs).apply(&mut t.amount);
    o.opt_string("file_number", 255, errs).apply(&mut t.file_number);
    o.opt_string("issuing_authority", 255, errs)
        .apply(&mut t.issuing_authority);
    o.date("issued_on", errs).apply(&mut t.issued_on);
    o.date("legally_binding_since", errs)
        .apply(&mut t.legally_binding_since);
    o.date("served_on", errs).apply(&mut t.served_on);
    if let Some(issued) = t.issued_on {
        for (name, d) in [
            ("legally_binding_since", t.legally_binding_since),
            ("served_on", t.served_on),
        ] {
            if d.is_some_and(|d| d < issued) {
                errs.push(&o.path(name), "invalid", "Cannot be before issued_on.");
            }
        }
    }
    let docs = if inline {
        documents::read_inline(&o, "documents", documents::TITLE_TYPES, budget, errs)
    } else {
        Vec::new()
    };
    Some((t, docs))
}

/// Reads a `ClaimCreateRequest` (a standalone one also has `order_id`, read by the caller) for
/// an order of `order_kind`.
pub fn read_create(
    m: &Map<String, Value>,
    at: &str,
    order_kind: &str,
    standalone: bool,
    errs: &mut Errs,
    budget: &mut (usize, usize),
    state: &AppState,
) -> Option<NewClaim> {
    let today = state.clock.today();
    let now = state.now();
    let ids = crate::v2::conv::IdSource::new(state);
    let kind = match m.get("type") {
        Some(Value::String(k)) if k == "receivable" || k == "titled" => k.clone(),
        Some(Value::String(k)) => {
            errs.push(
                &join(at, "type"),
                "invalid_choice",
                format!("\"{k}\" is not a valid choice; one of: receivable, titled."),
            );
            return None;
        }
        _ => {
            errs.push(
                &join(at, "type"),
                "required",
                "This field is required: receivable or titled.",
            );
            return None;
        }
    };
    if kind == "titled" && order_kind != "titled" {
        errs.push(
            &join(at, "type"),
            "invalid",
            "Titled claims belong in orders of type titled.",
        );
        return None;
    }
    let mut known: Vec<&str> = if kind == "receivable" {
        vec![
            "type",
            "is_disputed",
            "dispute_reason",
            "principal_amount",
            "items",
            "additional_charges",
            "reminders",
            "legal_basis",
            "document_date",
            "due_date",
            "delay_date",
            "subject_matter",
            "document_reference",
            "your_reference",
            "documents",
            "payments",
            "metadata",
            "events",
        ]
    } else {
        vec![
            "type",
            "is_disputed",
            "dispute_reason",
            "enforceable_title",
            "document_reference",
            "your_reference",
            "subject_matter",
            "payments",
            "metadata",
            "events",
        ]
    };
    if standalone {
        known.push("order_id");
    }
    let o = Obj::new(m, at, &known, errs);
    let is_disputed = o.req_boolean("is_disputed", errs);
    let dispute_reason = o.opt_string("dispute_reason", 2000, errs).set();
    if is_disputed == Some(true) && dispute_reason.is_none() {
        errs.push(
            &o.path("dispute_reason"),
            "required",
            "A disputed claim needs a dispute_reason.",
        );
    }
    if is_disputed == Some(false) && dispute_reason.is_some() {
        errs.push(
            &o.path("dispute_reason"),
            "invalid",
            "Only a disputed claim has a dispute_reason.",
        );
    }
    let opt = |name: &str, max: usize, errs: &mut Errs| o.opt_string(name, max, errs).set();
    let subject_matter = opt("subject_matter", 2000, errs);
    let document_reference = opt("document_reference", 255, errs);
    let your_reference = opt("your_reference", 255, errs);
    let payments = match o.list("payments", 50, errs, |pm, pat, errs| read_payment(pm, pat, errs, today)) {
        Patch::Set(p) => p,
        _ => Vec::new(),
    };
    let metadata = read_metadata(&o, crate::vendor::CLAIM_METADATA_TYPES, errs);
    let events = crate::v2::debtors::read_events(&o, "events", &["claim", "delivery"], errs);
    let mut x = ClaimV2 {
        kind: kind.clone(),
        order_id: Uuid::nil(),
        dispute_reason,
        items: Vec::new(),
        reminders: Vec::new(),
        legal_basis: LegalBasis::default(),
        title: None,
        withdrawn: false,
        due_derived: false,
    };
    let mut principal = Decimal::ZERO;
    let mut charges = Vec::new();
    let mut docs = Vec::new();
    let (mut document_date, mut due_date, mut delay_date) = (None, None, None);
    if kind == "receivable" {
        match o.money("principal_amount", Some(Decimal::new(1, 2)), errs) {
            Patch::Set(p) => principal = p,
            _ => {
                if !o.has("principal_amount") || m.get("principal_amount") == Some(&Value::Null) {
                    errs.push(
                        &o.path("principal_amount"),
                        "required",
                        "This field is required (items never compute it).",
                    );
                }
            }
        }
        if let Patch::Set(items) = o.list("items", 100, errs, read_item) {
            x.items = items;
        }
        if let Patch::Set(c) = o.list("additional_charges", 50, errs, |cm, cat, errs| {
            read_charge(cm, cat, errs, &ids)
        }) {
            charges = c;
        }
        if let Patch::Set(r) = read_reminders(&o, errs, true, &[], &ids) {
            x.reminders = r;
        }
        if order_kind == "titled" {
            if o.has("legal_basis") {
                errs.push(
                    &o.path("legal_basis"),
                    "invalid",
                    "Enforcement-cost claims of titled orders get K014; send no legal_basis.",
                );
            }
            x.legal_basis.claim_type_code = Some("K014".into());
        } else if let Patch::Set(lb) = read_legal_basis(&o, errs, LegalBasis::default(), order_kind) {
            x.legal_basis = lb;
        }
        document_date = o.date("document_date", errs).set();
        due_date = o.date("due_date", errs).set();
        delay_date = o.date("delay_date", errs).set();
        check_dates(&o, errs, document_date, due_date, delay_date, &x);
        if x.legal_basis.contract_date.is_none() && !is_rent(&x) {
            x.legal_basis.contract_date = document_date;
        }
        if let (Some(c), Some(d)) = (x.legal_basis.contract_date, document_date)
            && c > d
        {
            errs.push(
                &o.path("legal_basis.contract_date"),
                "invalid",
                "The contract date cannot be after the document date.",
            );
        }
        if delay_date.is_none() {
            delay_date = derived_delay(document_date, due_date, &x.reminders);
        }
        docs = documents::read_inline(&o, "documents", documents::CLAIM_TYPES, budget, errs);
    } else {
        match o.object("enforceable_title", errs, |tm, tat, errs| {
            read_title(tm, tat, errs, None, now, &ids, true, budget)
        }) {
            Patch::Set((t, d)) => {
                x.title = Some(t);
                docs = d;
            }
            _ => {
                if !o.has("enforceable_title") || m.get("enforceable_title") == Some(&Value::Null) {
                    errs.push(
                        &o.path("enforceable_title"),
                        "required",
                        "A titled claim needs enforceable_title.",
                    );
                }
            }
        }
    }
    let charges_sum: Decimal = charges.iter().map(|c| c.amount.value).sum();
    let paid: Decimal = payments.iter().map(|p| p.amount).sum();
    let main = if kind == "titled" {
        x.title.as_ref().and_then(|t| t.amount).unwrap_or_default()
    } else {
        principal
    };
    let claim = Claim {
        seq: 0,
        scope: Scope::default(),
        id: Uuid::nil(),
        submission_state: SubmissionState::Created,
        debtor: Uuid::nil(),
        mandate: None,
        your_reference,
        subject_matter,
        occurence_date: x.legal_basis.contract_date,
        document_reference,
        document_date,
        due_date,
        reminder_date: x.reminders.first().map(|r| r.date),
        delay_date,
        total_claim_amount: Money::eur(main + charges_sum - paid),
        main_claim_amount: Money::eur(main),
        items: v1_items(&x.items),
        additional_charges_amount: Money::eur(charges_sum),
        additional_charges: charges,
        payments: Vec::new(),
        starting_approach: "extrajudicial".into(),
        claim_disputed: is_disputed.unwrap_or_default(),
        obligation_fulfilled: false,
        documents: Vec::new(),
        metadata,
        events,
        created: now,
        updated: now,
        v2: Some(Box::new(x)),
    };
    Some(NewClaim {
        claim,
        documents: docs,
        payments,
    })
}

fn join(at: &str, name: &str) -> String {
    if at.is_empty() {
        name.to_string()
    } else {
        format!("{at}.{name}")
    }
}

fn v1_items(items: &[ItemV2]) -> Vec<Item> {
    items
        .iter()
        .map(|i| Item {
            description: i.description.clone(),
            quantity: i.quantity.to_string().parse::<f64>().unwrap_or(1.0),
            unit: i.unit.clone(),
            amount: Money::eur((i.quantity * i.unit_price).round_dp(2)),
        })
        .collect()
}

fn is_rent(x: &ClaimV2) -> bool {
    matches!(x.legal_basis.claim_type_code.as_deref(), Some("H17" | "H19"))
}

fn check_dates(
    o: &Obj<'_>,
    errs: &mut Errs,
    document: Option<NaiveDate>,
    due: Option<NaiveDate>,
    delay: Option<NaiveDate>,
    x: &ClaimV2,
) {
    if !is_rent(x)
        && let (Some(d), Some(due)) = (document, due)
        && due < d
    {
        errs.push(
            &o.path("due_date"),
            "invalid",
            "The due date cannot be before the document date.",
        );
    }
    if let Some(first) = x.reminders.first() {
        let floor = due.or(document);
        if floor.is_some_and(|f| first.date < f) {
            errs.push(
                &format!("{}[0].date", o.path("reminders")),
                "invalid",
                "The first reminder cannot be before the due date (or the document date when there is none).",
            );
        }
    }
    if let Some(delay) = delay {
        let after = x
            .reminders
            .last()
            .and_then(|r| r.due_date.or(Some(r.date)))
            .or(due)
            .or(document);
        if after.is_some_and(|a| delay <= a) {
            errs.push(
                &o.path("delay_date"),
                "invalid",
                "The delay date must follow the due date or the last reminder's deadline.",
            );
        }
    }
}

/// The default start of default: the day after the last reminder's deadline, else after the due
/// date; none without either.
fn derived_delay(_document: Option<NaiveDate>, due: Option<NaiveDate>, reminders: &[Reminder]) -> Option<NaiveDate> {
    reminders
        .last()
        .map(|r| r.due_date.unwrap_or(r.date))
        .or(due)
        .and_then(|d| d.succ_opt())
}

/// Stores `new` in `order` (the order's debtor and order-level fields copied to v1's fields),
/// with its inline documents and payments. Returns the claim.
pub fn insert(db: &mut Db, state: &AppState, order: &Order, new: NewClaim) -> Result<Claim, V2Error> {
    let NewClaim {
        mut claim,
        documents: docs,
        payments,
    } = new;
    claim.seq = state.ids.next_seq();
    claim.id = state.ids.uuid();
    claim.scope = order.scope;
    claim.debtor = order.debtor_id;
    claim.starting_approach = order
        .starting_approach
        .clone()
        .unwrap_or_else(|| "extrajudicial".into());
    claim.obligation_fulfilled = order.creditor_obligation_fulfilled.unwrap_or(false);
    if let Some(x) = claim.v2.as_mut() {
        x.order_id = order.id;
        // Rent claims take their contract date from the order's rental agreement.
        if matches!(x.legal_basis.claim_type_code.as_deref(), Some("H17" | "H19"))
            && let Some(agreed) = order.rental_agreement.as_ref().and_then(|a| a.contract_date)
        {
            if x.legal_basis.contract_date.is_some_and(|d| d != agreed) {
                return Err(V2Error::field(
                    "legal_basis.contract_date",
                    "invalid",
                    "A rent claim's contract date is the rental agreement's; leave it out or send the same date.",
                ));
            }
            x.legal_basis.contract_date = Some(agreed);
            claim.occurence_date = Some(agreed);
        }
        if matches!(x.legal_basis.claim_type_code.as_deref(), Some("H17" | "H19"))
            && order.kind == "rental"
            && claim.due_date.is_none()
            && let Some(doc) = claim.document_date
        {
            let due =
                crate::v2::orders::rent_due(doc, order.rental_agreement.as_ref().and_then(|a| a.due_rule.as_ref()));
            claim.due_date = Some(due);
            x.due_derived = true;
            if claim.delay_date.is_none() {
                claim.delay_date = due.succ_opt();
            }
        }
    }
    let now = state.now();
    for p in payments {
        let id = state.ids.uuid();
        claim.payments.push(ClaimPayment {
            id,
            your_reference: p.your_reference.clone(),
            amount: Money::eur(p.amount),
            value_date: p.value_date,
            metadata: p.metadata.clone(),
            created: now,
        });
        let rec = Payment {
            seq: state.ids.next_seq(),
            scope: claim.scope,
            id,
            claim: claim.id,
            your_reference: p.your_reference,
            amount: Money::eur(p.amount),
            value_date: p.value_date,
            metadata: p.metadata,
            created: now,
        };
        db.payments
            .insert(rec)
            .map_err(|e| V2Error::conflict("conflict", e.to_string()))?;
    }
    let is_title = ext(&claim).kind == "titled";
    let (parent_type, parent_id, base) = if is_title {
        let tid = ext(&claim).title.map_or(claim.id, |t| t.id);
        (
            "enforceable_title",
            tid,
            format!("/v2/claims/{}/enforceable-title/documents/", claim.id),
        )
    } else {
        ("claim", claim.id, format!("/v2/claims/{}/documents/", claim.id))
    };
    for f in docs {
        documents::store(db, state, claim.scope, f, parent_type, parent_id, Some(claim.id), &base);
    }
    db.claims
        .insert(claim.clone())
        .map_err(|e| V2Error::conflict("conflict", e.to_string()))?;
    Ok(claim)
}

/// Marks the claim (or order) a document was added to as changed.
pub fn touch_parent(db: &mut Db, state: &AppState, scope: Scope, _kind: &str, _parent: Uuid, claim: Option<Uuid>) {
    let now = state.now();
    if let Some(c) = claim {
        let order = db.claims.get(&scope, &c.to_string()).map(|c| ext(c).order_id);
        db.claims.update(&scope, &c.to_string(), |c| c.updated = now);
        if let Some(o) = order {
            crate::v2::orders::touch(db, state, scope, o);
        }
    }
}

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/claims/", get(list).post(create))
        .route("/claims/{p1}/", get(get_one).patch(update).delete(delete))
        .route("/claims/{p1}/payments/", get(list_payments).post(create_payment))
        .route("/claims/{p1}/payments/{p2}/", axum::routing::delete(delete_payment))
        .route(
            "/claims/{p1}/enforceable-title/",
            get(get_title)
                .put(write_title_route::<true>)
                .patch(write_title_route::<false>)
                .delete(delete_title),
        )
}

async fn list(State(state): State<AppState>, caller: V2Caller, origin: Origin) -> Result<Response, V2Error> {
    let mut q = Query::new(&origin.query);
    let paging = Paging::read(&mut q, true);
    let order_id = q.uuid("order_id");
    let statuses = q.choices("status", STATUSES);
    let your_reference = q.string("your_reference").map(|s| s.to_lowercase());
    let document_reference = q.string("document_reference").map(|s| s.to_lowercase());
    q.finish()?;
    let scope = caller.scope;
    let now = state.now();
    let body = state.store.read(|db| {
        let mut rows: Vec<&Claim> = db
            .claims
            .iter(&scope)
            .filter(|c| order_id.is_none_or(|o| self::order_id(c) == o))
            .filter(|c| statuses.is_empty() || statuses.iter().any(|s| s == status(c)))
            .filter(|c| {
                your_reference.as_ref().is_none_or(|r| {
                    c.your_reference
                        .as_deref()
                        .is_some_and(|y| y.trim().to_lowercase() == *r)
                })
            })
            .filter(|c| {
                document_reference.as_ref().is_none_or(|r| {
                    c.document_reference
                        .as_deref()
                        .is_some_and(|y| y.trim().to_lowercase() == *r)
                })
            })
            .collect();
        rows.sort_by(|a, b| b.created.cmp(&a.created).then(b.seq.cmp(&a.seq)));
        page(
            &origin,
            &paging,
            now,
            rows,
            |c| (c.updated, c.id),
            |c| render(db, c, &origin),
        )
    });
    Ok(respond(StatusCode::OK, body))
}

async fn create(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    idem: Idem,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    idem.run(&state, &caller, &body, || {
        let mut errs = Errs::default();
        let read = Obj {
            map: &body,
            at: String::new(),
        }
        .uuid("order_id", &mut errs);
        let order_id = match read {
            Patch::Set(id) => Some(id),
            // Not a UUID: `errs` holds the `invalid` error.
            Patch::Keep if body.get("order_id").is_some_and(|v| !v.is_null()) => None,
            Patch::Keep | Patch::Clear => {
                errs.push(
                    "order_id",
                    "required",
                    "This field is required: the draft order the claim joins.",
                );
                None
            }
        };
        let order = match order_id {
            Some(id) => match state.store.read(|db| crate::v2::orders::find(db, caller.scope, id)) {
                Ok(o) => Some(o),
                Err(_) => {
                    errs.push("order_id", "does_not_exist", "No order of this company has this id.");
                    None
                }
            },
            None => None,
        };
        let kind = order.as_ref().map_or("invoice", |o| o.kind.as_str()).to_string();
        let mut budget = (0, 0);
        let new = read_create(&body, "", &kind, true, &mut errs, &mut budget, &state);
        let new = errs.finish(new)?;
        let order = order.ok_or_else(V2Error::not_found)?;
        crate::v2::orders::editable(&state, &order)?;
        let new = new.ok_or_else(|| V2Error::field("", "invalid", "Invalid claim."))?;
        state.store.write(|db| {
            let count = db.claims.lookup(&order.scope, "order", &order.id.to_string()).count();
            if count >= crate::v2::orders::MAX_CLAIMS {
                return Err(V2Error::field(
                    "claims",
                    "max_items",
                    "An order holds at most 50 claims.",
                ));
            }
            check_rent_mix(db, &order, &new.claim)?;
            let claim = insert(db, &state, &order, new)?;
            crate::v2::orders::touch(db, &state, order.scope, order.id);
            Ok((StatusCode::CREATED, render(db, &claim, &origin)))
        })
    })
}

/// H17 and H19 claims are never mixed in one order, and a rental claim per calendar month.
fn check_rent_mix(db: &Db, order: &Order, new: &Claim) -> Result<(), V2Error> {
    let code = ext(new).legal_basis.claim_type_code;
    if !matches!(code.as_deref(), Some("H17" | "H19")) {
        return Ok(());
    }
    for c in db.claims.lookup(&order.scope, "order", &order.id.to_string()) {
        let other = ext(c).legal_basis.claim_type_code;
        if matches!(other.as_deref(), Some("H17" | "H19")) && other != code {
            return Err(V2Error::field(
                "legal_basis.claim_type_code",
                "invalid",
                "H17 and H19 claims cannot be mixed in one order.",
            ));
        }
    }
    Ok(())
}

async fn get_one(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, V2Error> {
    let v = state
        .store
        .read(|db| find_raw(db, caller.scope, &id).map(|c| render(db, &c, &origin)))?;
    Ok(show(&headers, v))
}

async fn update(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    headers: HeaderMap,
    Path(id): Path<String>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    let ids = crate::v2::conv::IdSource::new(&state);
    let now = state.now();
    state.store.write(|db| {
        let old = find_raw(db, caller.scope, &id)?;
        if_match(&headers, &render(db, &old, &origin))?;
        let mut x = ext(&old);
        let titled = x.kind == "titled";
        let mut errs = Errs::default();
        let known: &[&str] = &[
            "additional_charges",
            "delay_date",
            "dispute_reason",
            "document_date",
            "document_reference",
            "due_date",
            "is_disputed",
            "items",
            "legal_basis",
            "principal_amount",
            "reminders",
            "subject_matter",
            "your_reference",
        ];
        let o = Obj::new(&body, "", known, &mut errs);
        for fixed in ["type", "order_id"] {
            if o.has(fixed) {
                errs.0.retain(|e| e.field.as_deref() != Some(fixed));
                errs.push(fixed, "read_only", "This field cannot be changed.");
            }
        }
        if titled {
            for name in [
                "additional_charges",
                "items",
                "legal_basis",
                "principal_amount",
                "reminders",
                "document_date",
                "due_date",
                "delay_date",
            ] {
                if o.has(name) {
                    errs.push(
                        name,
                        "invalid",
                        "A titled claim has no such field; change its enforceable title instead.",
                    );
                }
            }
        }
        let mut c = old.clone();
        o.opt_string("your_reference", 255, &mut errs)
            .apply(&mut c.your_reference);
        o.opt_string("document_reference", 255, &mut errs)
            .apply(&mut c.document_reference);
        o.opt_string("subject_matter", 2000, &mut errs)
            .apply(&mut c.subject_matter);
        let disputed = o.boolean("is_disputed", &mut errs);
        let reason = o.opt_string("dispute_reason", 2000, &mut errs);
        match (&disputed, &reason) {
            (Patch::Set(false), Patch::Set(_)) => errs.push(
                "dispute_reason",
                "invalid",
                "Only a disputed claim has a dispute_reason.",
            ),
            (Patch::Set(false), _) => {
                c.claim_disputed = false;
                x.dispute_reason = None;
            }
            (Patch::Set(true), _) => c.claim_disputed = true,
            _ => {}
        }
        if disputed != Patch::Set(false) {
            reason.apply(&mut x.dispute_reason);
        }
        if c.claim_disputed && x.dispute_reason.is_none() {
            errs.push("dispute_reason", "required", "A disputed claim needs a dispute_reason.");
        }
        if !titled {
            if let Patch::Set(p) = o.money("principal_amount", Some(Decimal::new(1, 2)), &mut errs) {
                c.main_claim_amount = Money::eur(p);
            }
            if let Patch::Set(items) = o.list("items", 100, &mut errs, read_item) {
                x.items = items;
                c.items = v1_items(&x.items);
            } else if matches!(o.get("items"), Field::Null) {
                x.items.clear();
                c.items.clear();
            }
            match o.list("additional_charges", 50, &mut errs, |cm, cat, errs| {
                read_charge(cm, cat, errs, &ids)
            }) {
                Patch::Set(ch) => c.additional_charges = ch,
                Patch::Clear => c.additional_charges.clear(),
                Patch::Keep => {}
            }
            let reminders_sent = o.has("reminders");
            if let Patch::Set(r) = read_reminders(&o, &mut errs, false, &x.reminders, &ids) {
                x.reminders = r;
            }
            let order_kind = db
                .v2_orders
                .get(&c.scope, &x.order_id.to_string())
                .map_or("invoice".to_string(), |o| o.kind.clone());
            if o.has("legal_basis") && x.legal_basis.claim_type_code.as_deref() == Some("K014") {
                errs.push(
                    "legal_basis",
                    "invalid",
                    "The legal basis of an enforcement-cost claim (K014) cannot change.",
                );
            } else if let Patch::Set(lb) = read_legal_basis(&o, &mut errs, x.legal_basis.clone(), &order_kind) {
                x.legal_basis = lb;
            }
            let doc_sent = o.has("document_date");
            let due_sent = o.has("due_date");
            o.date("document_date", &mut errs).apply(&mut c.document_date);
            o.date("due_date", &mut errs).apply(&mut c.due_date);
            let delay = o.date("delay_date", &mut errs);
            let delay_sent = delay.sent();
            delay.apply(&mut c.delay_date);
            if !delay_sent && (doc_sent || due_sent || reminders_sent) && !is_rent(&x) {
                c.delay_date = derived_delay(c.document_date, c.due_date, &x.reminders);
            }
            check_dates(
                &o,
                &mut errs,
                c.document_date,
                c.due_date,
                if delay_sent { c.delay_date } else { None },
                &x,
            );
        }
        errs.finish(())?;
        editable(db, &state, &old)?;
        c.additional_charges_amount = Money::eur(c.additional_charges.iter().map(|ch| ch.amount.value).sum());
        let paid: Decimal = c.payments.iter().map(|p| p.amount.value).sum();
        c.total_claim_amount = Money::eur(c.main_claim_amount.value + c.additional_charges_amount.value - paid);
        c.reminder_date = x.reminders.first().map(|r| r.date);
        c.occurence_date = x.legal_basis.contract_date;
        c.v2 = Some(Box::new(x));
        if render(db, &c, &origin) != render(db, &old, &origin) {
            c.updated = now;
        }
        let key = c.id.to_string();
        let order = ext(&c).order_id;
        db.claims.update(&c.scope, &key, |slot| *slot = c.clone());
        if c.updated == now {
            crate::v2::orders::touch(db, &state, c.scope, order);
        }
        Ok(respond(StatusCode::OK, render(db, &c, &origin)))
    })
}

/// Removes a claim with its payments and documents (its order's draft deletion and DELETE).
pub fn remove(db: &mut Db, c: &Claim) {
    let pays: Vec<String> = db
        .payments
        .lookup(&c.scope, "claim", &c.id.to_string())
        .map(|p| p.id.to_string())
        .collect();
    for p in pays {
        db.payments.remove(&c.scope, &p);
    }
    let docs: Vec<String> = db
        .v2_documents
        .lookup(&c.scope, "claim", &c.id.to_string())
        .map(|d| d.id.to_string())
        .collect();
    for d in docs {
        db.v2_documents.remove(&c.scope, &d);
    }
    db.claims.remove(&c.scope, &c.id.to_string());
}

async fn delete(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, V2Error> {
    state.store.write(|db| {
        let c = find_raw(db, caller.scope, &id)?;
        if_match(&headers, &render(db, &c, &origin))?;
        editable(db, &state, &c)?;
        let order = ext(&c).order_id;
        remove(db, &c);
        crate::v2::orders::touch(db, &state, c.scope, order);
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}

async fn list_payments(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    Path(id): Path<String>,
) -> Result<Response, V2Error> {
    crate::v2::payments::page_of(&state, &origin, |db| {
        let c = find_raw(db, caller.scope, &id)?;
        Ok(payments_of(db, &c))
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
            let c = find_raw(db, caller.scope, &id)?;
            let payment = crate::v2::payments::new_payment(&state, c.scope, c.id, input);
            let now = payment.created;
            if c.submission_state.is_draft() {
                // A fact of the draft claim: it is part of the claim as handed over.
                db.payments
                    .insert(payment.clone())
                    .map_err(|e| V2Error::conflict("conflict", e.to_string()))?;
                db.claims.update(&c.scope, &c.id.to_string(), |c| {
                    c.payments.push(ClaimPayment {
                        id: payment.id,
                        your_reference: payment.your_reference.clone(),
                        amount: payment.amount,
                        value_date: payment.value_date,
                        metadata: payment.metadata.clone(),
                        created: now,
                    });
                    c.total_claim_amount = Money::eur(c.total_claim_amount.value - payment.amount.value);
                    c.updated = now;
                });
            } else {
                crate::v2::payments::report(db, &state, &payment)?;
            }
            Ok((StatusCode::CREATED, crate::v2::payments::render(db, &payment)))
        })
    })
}

async fn delete_payment(
    State(state): State<AppState>,
    caller: V2Caller,
    Path((id, pid)): Path<(String, String)>,
) -> Result<Response, V2Error> {
    state.store.write(|db| {
        let c = find_raw(db, caller.scope, &id)?;
        let pid = Uuid::parse_str(&pid).map_err(|_| V2Error::not_found())?;
        let p = db
            .payments
            .get(&c.scope, &pid.to_string())
            .filter(|p| p.claim == c.id)
            .cloned()
            .ok_or_else(V2Error::not_found)?;
        if !c.submission_state.is_draft() {
            return Err(V2Error::conflict(
                "payment_not_deletable",
                "Payments can only be deleted while the claim is a draft; a reported payment is final.",
            ));
        }
        let now = state.now();
        db.payments.remove(&c.scope, &p.id.to_string());
        db.claims.update(&c.scope, &c.id.to_string(), |c| {
            c.payments.retain(|x| x.id != p.id);
            c.total_claim_amount = Money::eur(c.total_claim_amount.value + p.amount.value);
            c.updated = now;
        });
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}

fn titled_claim(db: &Db, scope: Scope, raw: &str) -> Result<(Claim, Title), V2Error> {
    let c = find_raw(db, scope, raw)?;
    let t = title_of(&c).ok_or_else(V2Error::not_found)?;
    Ok((c, t))
}

async fn get_title(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, V2Error> {
    let v = state
        .store
        .read(|db| titled_claim(db, caller.scope, &id).map(|(c, t)| render_title(db, c.scope, &t, &origin)))?;
    Ok(show(&headers, v))
}

fn write_title(
    state: &AppState,
    caller: &V2Caller,
    origin: &Origin,
    headers: &HeaderMap,
    id: &str,
    body: &Map<String, Value>,
    replace: bool,
) -> Result<Response, V2Error> {
    let now = state.now();
    let ids = crate::v2::conv::IdSource::new(state);
    state.store.write(|db| {
        let (c, t) = titled_claim(db, caller.scope, id)?;
        if_match(headers, &render_title(db, c.scope, &t, origin))?;
        let mut errs = Errs::default();
        let base = if replace {
            Title::blank(t.id, t.created_at, t.updated_at)
        } else {
            t.clone()
        };
        let mut budget = (0, 0);
        let read = read_title(body, "", &mut errs, Some(&base), now, &ids, false, &mut budget);
        let read = errs.finish(read)?;
        editable(db, state, &c)?;
        let Some((mut next, _)) = read else {
            return Err(V2Error::field("", "invalid", "Invalid title."));
        };
        if next != t {
            next.updated_at = now;
        }
        let amount = next.amount.unwrap_or_default();
        let out = render_title(db, c.scope, &next, origin);
        db.claims.update(&c.scope, &c.id.to_string(), |c| {
            if let Some(x) = c.v2.as_mut() {
                x.title = Some(next.clone());
            }
            c.main_claim_amount = Money::eur(amount);
            c.total_claim_amount = Money::eur(amount);
            c.updated = now;
        });
        crate::v2::orders::touch(db, state, c.scope, ext(&c).order_id);
        Ok(respond(StatusCode::OK, out))
    })
}

/// `PUT` (`REPLACE`: the body is the whole title) and `PATCH` (the members given) of a title.
async fn write_title_route<const REPLACE: bool>(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    headers: HeaderMap,
    Path(id): Path<String>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    write_title(&state, &caller, &origin, &headers, &id, &body, REPLACE)
}

async fn delete_title(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, V2Error> {
    let now = state.now();
    state.store.write(|db| {
        let (c, t) = titled_claim(db, caller.scope, &id)?;
        if_match(&headers, &render_title(db, c.scope, &t, &origin))?;
        editable(db, &state, &c)?;
        let docs = documents::of_parent(db, c.scope, t.id);
        if !docs.is_empty() {
            return Err(V2Error::conflict(
                "title_has_documents",
                "Delete the title's documents first (document_ids lists them).",
            )
            .with(
                "document_ids",
                json!(docs.iter().map(|d| d.id.to_string()).collect::<Vec<_>>()),
            ));
        }
        // The claim keeps a blank title (a titled claim always has one to fill in again).
        db.claims.update(&c.scope, &c.id.to_string(), |c| {
            if let Some(x) = c.v2.as_mut() {
                x.title = Some(Title::blank(t.id, t.created_at, now));
            }
            c.main_claim_amount = Money::eur(Decimal::ZERO);
            c.total_claim_amount = Money::eur(Decimal::ZERO);
            c.updated = now;
        });
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}
