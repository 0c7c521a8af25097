//! `/v2/orders/`: orders (`invoice`, `rental`, `titled`) from draft through finalize to
//! submission, withdrawal, rejection and acceptance into a mandate, and a rental order's
//! agreement (`/v2/orders/{id}/rental-agreement/`).
//!
//! A draft is edited by PATCH (order fields), by the claim endpoints, the title and agreement
//! endpoints and the document uploads; every successful draft change pushes `expires_at`
//! (`updated_at` + 90 days) forward, and a draft past it is `expired` (read-only, 409
//! `order_expired`). `POST …/finalize/` checks the whole aggregate (422 `order_incomplete` with
//! one `errors[]` item per gap), freezes it and submits it (`order.submitted`); `POST
//! …/withdraw/` takes a submitted order back until paywise starts its review (409
//! `order_not_withdrawable`); `DELETE` removes a draft with its claims. Acceptance, rejection,
//! questions and merges are paywise's: the mock's back office does them (see
//! [`crate::v2::backoffice`]).
//!
//! v1's claims each belong to an order of type `invoice` that v2 shows for them: its id is the
//! claim's id with a fixed mask (so it needs no record until v2 changes it), its status follows
//! the claim's, and it has no `expires_at` (like an order made in paywise's portal).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::list::Origin;
use crate::resources::claims::{Claim, ClaimEvent, SubmissionState};
use crate::state::{AppState, Db, Scope};
use crate::states::Machine as _;
use crate::v2::claims::{self, ext};
use crate::v2::conv::{
    Field, Idem, Obj, Paging, Patch, Query, V2Caller, V2Json, date, if_match, money, no_body, page, respond, show, ts,
};
use crate::v2::documents;
use crate::v2::error::{ErrorItem, Errs, V2Error};

/// Order types.
pub const TYPES: &[&str] = &["invoice", "rental", "titled"];
state_enum! {
    /// An order's `status` (declared in the order of their names: a list sorted by status sorts
    /// by name). Moves only by [`OrderEvent`]s through [`OrderStatus::next`]; `expired` is never
    /// stored (a draft past its `expires_at` shows it, see [`status`]).
    pub enum OrderStatus moved by OrderEvent {
        /// Accepted into a mandate (final).
        Accepted = "accepted",
        /// paywise asked the client a question.
        AwaitingClientResponse = "awaiting_client_response",
        /// Being put together by the client.
        Draft = "draft",
        /// A draft untouched for 90 days: read-only until deleted.
        Expired = "expired",
        /// Merged into another order (final).
        Merged = "merged",
        /// Refused by paywise (final).
        Rejected = "rejected",
        /// Finalized; paywise will review it.
        Submitted = "submitted",
        /// Taken back by the client before review (final).
        Withdrawn = "withdrawn",
    }
}

/// Order statuses, as the list filter offers them.
pub const STATUSES: &[&str] = OrderStatus::NAMES;

/// What moves an order's [`OrderStatus`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderEvent {
    /// The client finalizes its draft: `draft -> submitted`.
    Finalize,
    /// The client withdraws it (before review, which the handler checks): `submitted ->
    /// withdrawn`.
    Withdraw,
    /// paywise starts its review (the status stays): `submitted | awaiting_client_response`.
    StartReview,
    /// paywise asks a question: `submitted | awaiting_client_response ->
    /// awaiting_client_response`.
    Ask,
    /// The client answered every open question: `awaiting_client_response -> submitted`.
    Answered,
    /// paywise accepts it: `submitted | awaiting_client_response -> accepted`.
    Accept,
    /// paywise rejects it: `submitted | awaiting_client_response -> rejected`.
    Reject,
    /// paywise merges it into another order: `submitted | awaiting_client_response -> merged`.
    Merge,
    /// paywise merges another order into it (the status stays): `submitted |
    /// awaiting_client_response`.
    Absorb,
    /// The draft outlives its `expires_at`: `draft -> expired`.
    Expire,
}

impl OrderStatus {
    /// Where `event` takes an order in this status, or `None` where it is refused.
    pub fn next(self, event: OrderEvent) -> Option<Self> {
        use OrderStatus::*;
        let in_review = self.in_review();
        match event {
            OrderEvent::Finalize => (self == Draft).then_some(Submitted),
            OrderEvent::Withdraw => (self == Submitted).then_some(Withdrawn),
            OrderEvent::StartReview | OrderEvent::Absorb => in_review.then_some(self),
            OrderEvent::Ask => in_review.then_some(AwaitingClientResponse),
            OrderEvent::Answered => (self == AwaitingClientResponse).then_some(Submitted),
            OrderEvent::Accept => in_review.then_some(Accepted),
            OrderEvent::Reject => in_review.then_some(Rejected),
            OrderEvent::Merge => in_review.then_some(Merged),
            OrderEvent::Expire => (self == Draft).then_some(Expired),
        }
    }

    /// Whether paywise has it (`submitted`, `awaiting_client_response`): it can be reviewed,
    /// questioned, decided or merged, and its questions answered.
    pub fn in_review(self) -> bool {
        matches!(self, OrderStatus::Submitted | OrderStatus::AwaitingClientResponse)
    }

    /// Whether the order is closed to messages (`withdrawn`, `rejected`, `expired`, `merged`).
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            OrderStatus::Withdrawn | OrderStatus::Rejected | OrderStatus::Expired | OrderStatus::Merged
        )
    }

    /// Whether the order is still a draft the client may change (not expired).
    pub fn is_draft(self) -> bool {
        self == OrderStatus::Draft
    }

    /// The v1 `submission_state` its claims show while the order has this status.
    pub fn claim_state(self) -> SubmissionState {
        match self {
            OrderStatus::Draft => SubmissionState::Created,
            OrderStatus::Submitted => SubmissionState::Released,
            OrderStatus::AwaitingClientResponse => SubmissionState::ClientResponsePending,
            OrderStatus::Accepted => SubmissionState::Accepted,
            OrderStatus::Expired | OrderStatus::Merged | OrderStatus::Rejected | OrderStatus::Withdrawn => {
                SubmissionState::Rejected
            }
        }
    }
}
/// Starting approaches.
pub const STARTING_APPROACHES: &[&str] = &["extrajudicial", "judicial"];
/// Claims per order.
pub const MAX_CLAIMS: usize = 50;
/// Co-debtors per order.
pub const MAX_CO_DEBTORS: usize = 10;
/// How long an untouched API draft lives.
pub const DRAFT_LIFETIME: Duration = Duration::days(90);

const ADOPTED_MASK: u128 = 0x5f3c_a1d2_0e47_0b68_3f91_2c3d_4e5f_6071;

/// The id of the order v2 shows for v1 claim `claim`.
pub fn adopted_order_id(claim: Uuid) -> Uuid {
    Uuid::from_u128(claim.as_u128() ^ ADOPTED_MASK)
}

/// Easter Sunday of `year` (the anonymous Gregorian algorithm).
fn easter(year: i32) -> Option<NaiveDate> {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32)
}

/// Whether `d` is a German federal public holiday (no state holidays).
pub fn federal_holiday(d: NaiveDate) -> bool {
    use chrono::Datelike;
    let fixed = matches!((d.month(), d.day()), (1, 1) | (5, 1) | (10, 3) | (12, 25) | (12, 26));
    let moving = easter(d.year()).is_some_and(|e| [-2i64, 1, 39, 50].iter().any(|off| e + Duration::days(*off) == d));
    fixed || moving
}

/// The due date of a rent claim for the month of `document_date` under `rule` (`None`: the 3rd
/// German business day): `calendar_day` is that day (or the month's last); `business_day` the
/// n-th day that is Monday to Friday and no federal holiday (or the month's last such day).
pub fn rent_due(document_date: NaiveDate, rule: Option<&(i64, String)>) -> NaiveDate {
    use chrono::{Datelike, Weekday};
    let (day, kind) = rule.map_or((3, "business_day"), |(d, k)| (*d, k.as_str()));
    let first = document_date.with_day(1).unwrap_or(document_date);
    let days: Vec<NaiveDate> = first.iter_days().take_while(|d| d.month() == first.month()).collect();
    let pick = |candidates: Vec<NaiveDate>| {
        let n = usize::try_from(day.max(1)).unwrap_or(1);
        candidates.get(n - 1).or(candidates.last()).copied().unwrap_or(first)
    };
    if kind == "calendar_day" {
        pick(days)
    } else {
        pick(
            days.into_iter()
                .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !federal_holiday(*d))
                .collect(),
        )
    }
}

/// A rental agreement's property address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropertyAddress {
    /// Street.
    pub street: String,
    /// Postal code.
    pub postal_code: String,
    /// City.
    pub city: String,
    /// Country.
    pub country: String,
}

/// A rental agreement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RentalAgreement {
    /// Id.
    pub id: Uuid,
    /// Signed on.
    pub contract_date: Option<NaiveDate>,
    /// Warm rent.
    pub monthly_rent: Option<Decimal>,
    /// The property.
    pub property_address: Option<PropertyAddress>,
    /// `(day, kind)`; `None` = the 3rd German business day.
    pub due_rule: Option<(i64, String)>,
    /// Creation.
    #[serde(with = "crate::format::ts")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "crate::format::ts")]
    pub updated_at: DateTime<Utc>,
}

/// An order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// Creation order.
    pub seq: u64,
    /// The company.
    pub scope: Scope,
    /// Id.
    pub id: Uuid,
    /// `invoice`, `rental`, `titled`.
    pub kind: String,
    /// Stored status (v1 orders: derived from their claim).
    pub status: OrderStatus,
    /// Primary debtor.
    pub debtor_id: Uuid,
    /// Co-debtors.
    pub additional_debtor_ids: Vec<Uuid>,
    /// Confirmation e-mail recipient.
    pub confirmation_email: Option<String>,
    /// I/Ren.
    pub starting_approach: Option<String>,
    /// I/Ren.
    pub creditor_obligation_fulfilled: Option<bool>,
    /// T.
    pub success_fee_confirmed: bool,
    /// Ren.
    pub rental_agreement: Option<RentalAgreement>,
    /// Accepted into.
    pub mandate: Option<Uuid>,
    /// Merged into.
    pub merged_into: Option<Uuid>,
    /// Rejection notice.
    pub rejection: Option<Value>,
    /// API drafts: when they expire.
    pub expires_at: Option<DateTime<Utc>>,
    /// paywise started reviewing it (withdraw refused).
    pub review_started: bool,
    /// The order v2 shows for a v1 claim.
    pub from_v1: bool,
    /// Creation.
    #[serde(with = "crate::format::ts")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "crate::format::ts")]
    pub updated_at: DateTime<Utc>,
}

scoped_record!(Order);

/// The order v2 shows for a v1 claim (not stored until v2 changes it).
pub fn adopted(c: &Claim) -> Order {
    Order {
        seq: c.seq,
        scope: c.scope,
        id: adopted_order_id(c.id),
        kind: "invoice".into(),
        status: claims::order_status(c),
        debtor_id: c.debtor,
        additional_debtor_ids: Vec::new(),
        confirmation_email: None,
        starting_approach: Some(c.starting_approach.clone()).filter(|s| !s.is_empty()),
        creditor_obligation_fulfilled: Some(c.obligation_fulfilled),
        success_fee_confirmed: false,
        rental_agreement: None,
        mandate: c
            .mandate
            .as_ref()
            .and_then(|m| m.get("id"))
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok()),
        merged_into: None,
        rejection: None,
        expires_at: None,
        review_started: false,
        from_v1: true,
        created_at: c.created,
        updated_at: c.updated,
    }
}

/// The caller's order `id` (stored, or the one v2 shows for a v1 claim).
pub fn find(db: &Db, scope: Scope, id: Uuid) -> Result<Order, V2Error> {
    if let Some(o) = db.v2_orders.get(&scope, &id.to_string()) {
        return Ok(o.clone());
    }
    let claim = Uuid::from_u128(id.as_u128() ^ ADOPTED_MASK);
    match db.claims.get(&scope, &claim.to_string()) {
        Some(c) if c.v2.is_none() => Ok(adopted(c)),
        _ => Err(V2Error::not_found()),
    }
}

fn find_raw(db: &Db, scope: Scope, raw: &str) -> Result<Order, V2Error> {
    find(db, scope, Uuid::parse_str(raw).map_err(|_| V2Error::not_found())?)
}

/// The order's claims, oldest first.
pub fn claims_of(db: &Db, o: &Order) -> Vec<Claim> {
    let mut out: Vec<Claim> = db
        .claims
        .lookup(&o.scope, "order", &o.id.to_string())
        .cloned()
        .collect();
    out.sort_by_key(|c| c.seq);
    out
}

/// The order's status now (`expired` once a draft outlived `expires_at`; a v1 claim's order
/// follows the claim).
pub fn status(db: &Db, o: &Order, now: DateTime<Utc>) -> OrderStatus {
    if o.from_v1
        && let Some(c) = claims_of(db, o).first()
    {
        return claims::order_status(c);
    }
    if o.expires_at.is_some_and(|t| now > t)
        && let Some(expired) = o.status.next(OrderEvent::Expire)
    {
        return expired;
    }
    o.status
}

/// Whether the order's aggregate may change now (outside a store closure).
pub fn editable(state: &AppState, o: &Order) -> Result<(), V2Error> {
    let now = state.now();
    state.store.read(|db| editable_in(db, o, now))
}

/// Whether the order's aggregate may change at `now`, read from `db` (inside a store closure:
/// the store's lock is not re-entrant).
pub fn editable_in(db: &Db, o: &Order, now: DateTime<Utc>) -> Result<(), V2Error> {
    match status(db, o, now) {
        OrderStatus::Draft => Ok(()),
        OrderStatus::Expired => Err(V2Error::conflict(
            "order_expired",
            "The draft expired (90 days without a change); it is read-only until it is deleted.",
        )),
        _ => Err(claims::not_editable()),
    }
}

/// Records a successful draft change: `updated_at` now, `expires_at` 90 days later. A v1
/// claim's order is stored from now on.
pub fn touch(db: &mut Db, state: &AppState, scope: Scope, id: Uuid) {
    let now = state.now();
    if db.v2_orders.get(&scope, &id.to_string()).is_none() {
        if let Ok(o) = find(db, scope, id) {
            let mut o = o;
            o.updated_at = now;
            if let Err(e) = db.v2_orders.insert(o) {
                tracing::warn!("order not stored: {e}");
            }
        }
        return;
    }
    db.v2_orders.update(&scope, &id.to_string(), |o| {
        o.updated_at = now;
        if o.status.is_draft() && !o.from_v1 {
            o.expires_at = Some(now + DRAFT_LIFETIME);
        }
    });
}

/// Stores `o` (insert or replace).
pub fn save(db: &mut Db, o: Order) {
    let key = o.id.to_string();
    let scope = o.scope;
    if db.v2_orders.get(&scope, &key).is_some() {
        db.v2_orders.update(&scope, &key, |slot| *slot = o);
    } else if let Err(e) = db.v2_orders.insert(o) {
        tracing::warn!("order not stored: {e}");
    }
}

/// `OrderTotals`.
fn totals(db: &Db, o: &Order, claims: &[Claim]) -> Value {
    let mut main = Decimal::ZERO;
    let mut charges = Decimal::ZERO;
    let mut paid = Decimal::ZERO;
    for c in claims {
        let x = ext(c);
        if x.kind == "titled" {
            main += x.title.as_ref().and_then(|t| t.amount).unwrap_or_default();
        } else {
            main += c.main_claim_amount.value;
            charges += c.additional_charges_amount.value;
        }
        paid += claims::payments_of(db, c)
            .iter()
            .map(|p| p.amount.value)
            .sum::<Decimal>();
    }
    let value = if o.kind == "titled" {
        main + charges
    } else {
        main + charges - paid
    };
    json!({
        "main_claims": money(main),
        "charges": money(charges),
        "payments": money(paid),
        "order_value": money(value),
    })
}

/// `RentalAgreementRead`.
pub fn render_agreement(db: &Db, scope: Scope, a: &RentalAgreement, origin: &Origin) -> Value {
    json!({
        "id": a.id.to_string(),
        "contract_date": date(&a.contract_date),
        "monthly_rent": a.monthly_rent.map(money),
        "property_address": a.property_address.as_ref().map(|p| json!({
            "street": p.street, "postal_code": p.postal_code, "city": p.city, "country": p.country,
        })),
        "due_rule": a.due_rule.as_ref().map(|(day, kind)| json!({ "day": day, "kind": kind })),
        "documents": documents::rendered(db, scope, a.id, origin),
        "created_at": ts(&a.created_at),
        "updated_at": ts(&a.updated_at),
    })
}

/// The order as v2 shows it.
pub fn render(db: &Db, o: &Order, origin: &Origin, now: DateTime<Utc>) -> Value {
    let claims = claims_of(db, o);
    let debtor = |id: &Uuid| {
        db.debtors
            .get(&o.scope, &id.to_string())
            .map_or(Value::Null, crate::v2::debtors::summary)
    };
    let mut m = Map::new();
    m.insert("type".into(), json!(o.kind));
    m.insert("id".into(), json!(o.id.to_string()));
    m.insert("status".into(), json!(status(db, o, now)));
    m.insert("debtor".into(), debtor(&o.debtor_id));
    m.insert(
        "additional_debtors".into(),
        Value::Array(o.additional_debtor_ids.iter().map(debtor).collect()),
    );
    m.insert(
        "claims".into(),
        Value::Array(claims.iter().map(|c| claims::render(db, c, origin)).collect()),
    );
    m.insert("confirmation_email".into(), json!(o.confirmation_email));
    if o.kind == "titled" {
        m.insert("success_fee_confirmed".into(), json!(o.success_fee_confirmed));
    } else {
        m.insert("starting_approach".into(), json!(o.starting_approach));
        m.insert(
            "creditor_obligation_fulfilled".into(),
            json!(o.creditor_obligation_fulfilled),
        );
    }
    if o.kind == "rental" {
        m.insert(
            "rental_agreement".into(),
            o.rental_agreement
                .as_ref()
                .map_or(Value::Null, |a| render_agreement(db, o.scope, a, origin)),
        );
    }
    m.insert("totals".into(), totals(db, o, &claims));
    m.insert("mandate".into(), json!(o.mandate.map(|u| u.to_string())));
    m.insert("merged_into".into(), json!(o.merged_into.map(|u| u.to_string())));
    m.insert("rejection".into(), o.rejection.clone().unwrap_or(Value::Null));
    m.insert(
        "expires_at".into(),
        json!(o.expires_at.as_ref().map(crate::format::timestamp)),
    );
    m.insert("created_at".into(), ts(&o.created_at));
    m.insert("updated_at".into(), ts(&o.updated_at));
    Value::Object(m)
}

/// Every order of `scope`: the stored ones and those v2 shows for v1 claims.
pub fn all(db: &Db, scope: Scope) -> Vec<Order> {
    let mut out: Vec<Order> = db.v2_orders.iter(&scope).cloned().collect();
    let stored: std::collections::HashSet<Uuid> = out.iter().map(|o| o.id).collect();
    out.extend(
        db.claims
            .iter(&scope)
            .filter(|c| c.v2.is_none() && !stored.contains(&adopted_order_id(c.id)))
            .map(adopted),
    );
    out
}

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/orders/", get(list).post(create))
        .route("/orders/{p1}/", get(get_one).patch(update).delete(delete))
        .route("/orders/{p1}/finalize/", post(finalize))
        .route("/orders/{p1}/withdraw/", post(withdraw))
        .route(
            "/orders/{p1}/rental-agreement/",
            get(get_agreement).patch(patch_agreement),
        )
}

fn debtor_name(db: &Db, o: &Order) -> String {
    db.debtors
        .get(&o.scope, &o.debtor_id.to_string())
        .map(|d| d.display_name().to_lowercase())
        .unwrap_or_default()
}

async fn list(State(state): State<AppState>, caller: V2Caller, origin: Origin) -> Result<Response, V2Error> {
    let mut q = Query::new(&origin.query);
    let paging = Paging::read(&mut q, true);
    let after = q.datetime("created_after");
    let before = q.datetime("created_before");
    let ordering = q.ordering(&["name", "created", "amount", "status"]);
    let search = q.string("q");
    let statuses: Vec<OrderStatus> = q
        .choices("status", STATUSES)
        .iter()
        .filter_map(|s| OrderStatus::parse(s))
        .collect();
    let types = q.choices("type", TYPES);
    q.finish()?;
    let now = state.now();
    let scope = caller.scope;
    let body = state.store.read(|db| {
        let search_uuid = search.as_deref().and_then(|s| Uuid::parse_str(s.trim()).ok());
        let needle = search.as_deref().map(str::to_lowercase);
        let mut rows: Vec<(Order, OrderStatus, Decimal)> = all(db, scope)
            .into_iter()
            .filter(|o| after.is_none_or(|t| o.created_at >= t) && before.is_none_or(|t| o.created_at <= t))
            .filter(|o| types.is_empty() || types.contains(&o.kind))
            .map(|o| {
                let s = status(db, &o, now);
                (o, s)
            })
            .filter(|(_, s)| statuses.is_empty() || statuses.contains(s))
            .filter(|(o, _)| match (&search_uuid, &needle) {
                (Some(u), _) => o.id == *u || o.debtor_id == *u,
                (None, Some(n)) => {
                    debtor_name(db, o).contains(n.as_str())
                        || claims_of(db, o).iter().any(|c| {
                            [&c.your_reference, &c.document_reference, &c.subject_matter]
                                .iter()
                                .any(|f| f.as_deref().is_some_and(|v| v.to_lowercase().contains(n.as_str())))
                        })
                }
                (None, None) => true,
            })
            .map(|(o, s)| {
                let amount: Decimal = claims_of(db, &o).iter().map(|c| claims::total(db, c)).sum();
                (o, s, amount)
            })
            .collect();
        let ordering = if ordering.is_empty() {
            vec![("created".to_string(), true)]
        } else {
            ordering
        };
        rows.sort_by(|a, b| {
            for (field, desc) in &ordering {
                let ord = match field.as_str() {
                    "name" => debtor_name(db, &a.0).cmp(&debtor_name(db, &b.0)),
                    "amount" => a.2.cmp(&b.2),
                    "status" => a.1.cmp(&b.1),
                    _ => a.0.created_at.cmp(&b.0.created_at),
                };
                let ord = if *desc { ord.reverse() } else { ord };
                if ord != std::cmp::Ordering::Equal {
                    return ord;
                }
            }
            b.0.seq.cmp(&a.0.seq)
        });
        page(
            &origin,
            &paging,
            now,
            rows,
            |(o, _, _)| (o.updated_at, o.id),
            |(o, _, _)| render(db, o, &origin, now),
        )
    });
    Ok(respond(StatusCode::OK, body))
}

/// Reads the rental agreement fields of `m` onto `a`.
fn read_agreement(
    m: &Map<String, Value>,
    at: &str,
    errs: &mut Errs,
    a: &mut RentalAgreement,
    inline: bool,
) -> Vec<documents::NewFile> {
    let known: &[&str] = if inline {
        &[
            "contract_date",
            "monthly_rent",
            "property_address",
            "due_rule",
            "documents",
        ]
    } else {
        &["contract_date", "monthly_rent", "property_address", "due_rule"]
    };
    let o = Obj::new(m, at, known, errs);
    o.date("contract_date", errs).apply(&mut a.contract_date);
    match o.money("monthly_rent", Some(Decimal::ZERO), errs) {
        Patch::Set(v) if v >= Decimal::new(100_000_000, 0) => {
            errs.push(
                &o.path("monthly_rent.value"),
                "max_digits",
                "At most 8 digits before the decimal point.",
            );
        }
        other => other.apply(&mut a.monthly_rent),
    }
    let addr = o.object("property_address", errs, |am, aat, errs| {
        let p = Obj::new(am, aat, &["street", "postal_code", "city", "country"], errs);
        let street = p.req_string("street", 255, errs);
        let postal_code = p.req_string("postal_code", 20, errs);
        let city = p.req_string("city", 255, errs);
        let country = p.req_string("country", 2, errs);
        if let Some(c) = &country
            && !crate::resources::is_country(c)
        {
            errs.push(
                &p.path("country"),
                "invalid_choice",
                format!("\"{c}\" is not an ISO 3166-1 alpha-2 country code."),
            );
        }
        Some(PropertyAddress {
            street: street?,
            postal_code: postal_code?,
            city: city?,
            country: country?,
        })
    });
    addr.apply(&mut a.property_address);
    let rule = o.object("due_rule", errs, |rm, rat, errs| {
        let r = Obj::new(rm, rat, &["day", "kind"], errs);
        let day = r.req_sent("day", r.integer("day", 1, 31, errs), errs);
        let kind = r.req_sent("kind", r.choice("kind", &["calendar_day", "business_day"], errs), errs);
        Some((day?, kind?))
    });
    rule.apply(&mut a.due_rule);
    if inline {
        let mut budget = (0, 0);
        documents::read_inline(&o, "documents", documents::RENTAL_TYPES, &mut budget, errs)
    } else {
        Vec::new()
    }
}

/// The order fields of a create or PATCH body.
fn read_fields(o: &Obj<'_>, kind: &str, order: &mut Order, errs: &mut Errs, db: &Db) {
    match o.uuid("debtor_id", errs) {
        Patch::Set(id) if db.debtors.get(&order.scope, &id.to_string()).is_some() => order.debtor_id = id,
        Patch::Set(_) => errs.push("debtor_id", "does_not_exist", "No debtor of this company has this id."),
        Patch::Clear => errs.push("debtor_id", "null", "This field may not be null."),
        Patch::Keep => {}
    }
    match o.uuids("additional_debtor_ids", MAX_CO_DEBTORS, errs) {
        Patch::Set(ids) => {
            let mut seen = Vec::new();
            for (i, id) in ids.iter().enumerate() {
                let at = format!("additional_debtor_ids[{i}]");
                if db.debtors.get(&order.scope, &id.to_string()).is_none() {
                    errs.push(&at, "does_not_exist", "No debtor of this company has this id.");
                } else if seen.contains(id) {
                    errs.push(&at, "duplicate", "This debtor is in the list twice.");
                } else if *id == order.debtor_id {
                    errs.push(&at, "invalid", "The primary debtor cannot also be a co-debtor.");
                }
                seen.push(*id);
            }
            order.additional_debtor_ids = ids;
        }
        Patch::Clear => order.additional_debtor_ids.clear(),
        Patch::Keep => {}
    }
    match o.opt_string("confirmation_email", 254, errs) {
        Patch::Set(e) if !e.contains('@') => {
            errs.push("confirmation_email", "invalid", "Enter a valid e-mail address.")
        }
        other => other.apply(&mut order.confirmation_email),
    }
    if kind == "titled" {
        for name in ["creditor_obligation_fulfilled", "starting_approach"] {
            if o.has(name) {
                errs.push(name, "invalid", "Titled orders have no such field.");
            }
        }
        if let Patch::Set(b) = o.boolean("success_fee_confirmed", errs) {
            order.success_fee_confirmed = b;
        }
    } else {
        if o.has("success_fee_confirmed") {
            errs.push(
                "success_fee_confirmed",
                "invalid",
                "Only titled orders confirm a success fee.",
            );
        }
        o.boolean("creditor_obligation_fulfilled", errs)
            .apply(&mut order.creditor_obligation_fulfilled);
        o.choice("starting_approach", STARTING_APPROACHES, errs)
            .apply(&mut order.starting_approach);
    }
}

async fn create(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    idem: Idem,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    idem.run(&state, &caller, &body, || {
        let now = state.now();
        let mut errs = Errs::default();
        // Read before the known keys, which depend on it; an invalid choice (its error in
        // `errs`) counts as an invoice.
        let kind = match (Obj {
            map: &body,
            at: String::new(),
        })
        .choice("type", TYPES, &mut errs)
        {
            Patch::Set(k) => k,
            Patch::Keep | Patch::Clear => "invoice".to_string(),
        };
        let mut known = vec![
            "debtor_id",
            "type",
            "claims",
            "additional_debtor_ids",
            "confirmation_email",
            "creditor_obligation_fulfilled",
            "starting_approach",
            "success_fee_confirmed",
        ];
        if kind == "rental" {
            known.push("rental_agreement");
        }
        let o = Obj::new(&body, "", &known, &mut errs);
        if !o.has("debtor_id") || body.get("debtor_id") == Some(&Value::Null) {
            errs.push("debtor_id", "required", "This field is required.");
        }
        let mut order = Order {
            seq: state.ids.next_seq(),
            scope: caller.scope,
            id: state.ids.uuid(),
            kind: kind.clone(),
            status: OrderStatus::Draft,
            debtor_id: Uuid::nil(),
            additional_debtor_ids: Vec::new(),
            confirmation_email: None,
            starting_approach: None,
            creditor_obligation_fulfilled: None,
            success_fee_confirmed: false,
            rental_agreement: (kind == "rental").then(|| RentalAgreement {
                id: state.ids.uuid(),
                contract_date: None,
                monthly_rent: None,
                property_address: None,
                due_rule: None,
                created_at: now,
                updated_at: now,
            }),
            mandate: None,
            merged_into: None,
            rejection: None,
            expires_at: Some(now + DRAFT_LIFETIME),
            review_started: false,
            from_v1: false,
            created_at: now,
            updated_at: now,
        };
        state.store.read(|db| read_fields(&o, &kind, &mut order, &mut errs, db));
        let mut agreement_docs = Vec::new();
        if let Some(a) = order.rental_agreement.as_mut()
            && let Field::Value(Value::Object(m)) = o.get("rental_agreement")
        {
            agreement_docs = read_agreement(m, "rental_agreement", &mut errs, a, true);
        }
        let mut budget = (agreement_docs.len(), agreement_docs.iter().map(|d| d.bytes.len()).sum());
        let new_claims = match o.list("claims", MAX_CLAIMS, &mut errs, |m, at, errs| {
            claims::read_create(m, at, &kind, false, errs, &mut budget, &state)
        }) {
            Patch::Set(c) => c,
            _ => Vec::new(),
        };
        let rent_codes: std::collections::HashSet<String> = new_claims
            .iter()
            .filter_map(|c| ext(&c.claim).legal_basis.claim_type_code)
            .filter(|c| c == "H17" || c == "H19")
            .collect();
        if rent_codes.len() > 1 {
            errs.push("claims", "invalid", "H17 and H19 claims cannot be mixed in one order.");
        }
        errs.finish(())?;
        state.store.write(|db| {
            let mut claims_out = Vec::new();
            for new in new_claims {
                claims_out.push(claims::insert(db, &state, &order, new)?);
            }
            if let Some(a) = &order.rental_agreement {
                let base = format!("/v2/orders/{}/rental-agreement/documents/", order.id);
                for f in agreement_docs {
                    documents::store(db, &state, order.scope, f, "rental_agreement", a.id, None, &base);
                }
            }
            db.v2_orders
                .insert(order.clone())
                .map_err(|e| V2Error::conflict("conflict", e.to_string()))?;
            Ok((StatusCode::CREATED, render(db, &order, &origin, now)))
        })
    })
}

async fn get_one(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, V2Error> {
    let now = state.now();
    let v = state
        .store
        .read(|db| find_raw(db, caller.scope, &id).map(|o| render(db, &o, &origin, now)))?;
    Ok(show(&headers, v))
}

/// Copies the order-level fields v1 keeps on each claim (debtor, starting approach, obligation).
fn sync_claims(db: &mut Db, o: &Order) {
    for c in claims_of(db, o) {
        db.claims.update(&o.scope, &c.id.to_string(), |c| {
            c.debtor = o.debtor_id;
            if let Some(s) = &o.starting_approach {
                c.starting_approach = s.clone();
            }
            c.obligation_fulfilled = o.creditor_obligation_fulfilled.unwrap_or(false);
        });
    }
}

async fn update(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    headers: HeaderMap,
    Path(id): Path<String>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    let now = state.now();
    let old = state.store.read(|db| find_raw(db, caller.scope, &id))?;
    let current = state.store.read(|db| render(db, &old, &origin, now));
    if_match(&headers, &current)?;
    let mut errs = Errs::default();
    let o = Obj::new(
        &body,
        "",
        &[
            "debtor_id",
            "additional_debtor_ids",
            "confirmation_email",
            "creditor_obligation_fulfilled",
            "starting_approach",
            "success_fee_confirmed",
        ],
        &mut errs,
    );
    for fixed in ["type", "claims", "rental_agreement"] {
        if o.has(fixed) {
            errs.0.retain(|e| e.field.as_deref() != Some(fixed));
            errs.push(
                fixed,
                "read_only",
                "Not patchable here: use the claim and rental-agreement endpoints (type never changes).",
            );
        }
    }
    let mut next = old.clone();
    state
        .store
        .read(|db| read_fields(&o, &old.kind, &mut next, &mut errs, db));
    errs.finish(())?;
    editable(&state, &old)?;
    state.store.write(|db| {
        if next != old {
            next.updated_at = now;
            if !next.from_v1 {
                next.expires_at = Some(now + DRAFT_LIFETIME);
            }
        }
        save(db, next.clone());
        sync_claims(db, &next);
        Ok(respond(StatusCode::OK, render(db, &next, &origin, now)))
    })
}

async fn delete(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, V2Error> {
    let now = state.now();
    state.store.write(|db| {
        let o = find_raw(db, caller.scope, &id)?;
        if_match(&headers, &render(db, &o, &origin, now))?;
        match status(db, &o, now) {
            OrderStatus::Draft | OrderStatus::Expired => {}
            _ => {
                return Err(V2Error::conflict(
                    "order_not_deletable",
                    "Only a draft order can be deleted; withdraw a submitted one instead.",
                ));
            }
        }
        remove(db, &o);
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}

/// Removes a draft order with its claims and documents.
pub fn remove(db: &mut Db, o: &Order) {
    for c in claims_of(db, o) {
        claims::remove(db, &c);
    }
    if let Some(a) = &o.rental_agreement {
        let docs: Vec<String> = documents::of_parent(db, o.scope, a.id)
            .iter()
            .map(|d| d.id.to_string())
            .collect();
        for d in docs {
            db.v2_documents.remove(&o.scope, &d);
        }
    }
    db.v2_orders.remove(&o.scope, &o.id.to_string());
}

/// What finalizing `o` lacks, one item per gap.
pub fn gaps(db: &Db, o: &Order, today: NaiveDate) -> Vec<ErrorItem> {
    let mut errs = Errs::default();
    let claims = claims_of(db, o);
    if o.kind == "titled" {
        if !o.success_fee_confirmed {
            errs.push(
                "success_fee_confirmed",
                "required",
                "Confirm the success-fee terms (true) before finalizing.",
            );
        }
        if !claims.iter().any(|c| ext(c).kind == "titled") {
            errs.push("claims", "required", "A titled order needs at least one titled claim.");
        }
    } else {
        if o.starting_approach.is_none() {
            errs.push(
                "starting_approach",
                "required",
                "Choose extrajudicial or judicial before finalizing.",
            );
        }
        if o.creditor_obligation_fulfilled.is_none() {
            errs.push(
                "creditor_obligation_fulfilled",
                "required",
                "Say whether you fully performed (true or false).",
            );
        }
    }
    if claims.is_empty() {
        errs.push("claims", "required", "An order needs at least one claim.");
    }
    match db.debtors.get(&o.scope, &o.debtor_id.to_string()) {
        Some(d) if crate::v2::debtors::has_complete_address(d) => {}
        _ => errs.push(
            "debtor_id",
            "incomplete",
            "The debtor needs at least one complete address.",
        ),
    }
    for (i, c) in claims.iter().enumerate() {
        let at = |f: &str| format!("claims[{i}].{f}");
        let x = ext(c);
        if x.kind == "titled" {
            let Some(t) = &x.title else {
                errs.push(
                    &at("enforceable_title"),
                    "required",
                    "A titled claim needs its enforceable title.",
                );
                continue;
            };
            if t.amount.is_none_or(|a| a <= Decimal::ZERO) {
                errs.push(
                    &at("enforceable_title.amount"),
                    "required",
                    "The title's amount must be above 0.",
                );
            }
            for (name, ok) in [
                ("title_type", t.title_type.is_some()),
                ("file_number", t.file_number.is_some()),
                ("issuing_authority", t.issuing_authority.is_some()),
                ("issued_on", t.issued_on.is_some()),
            ] {
                if !ok {
                    errs.push(
                        &at(&format!("enforceable_title.{name}")),
                        "required",
                        "Required before finalizing.",
                    );
                }
            }
            let primary = documents::of_parent(db, o.scope, t.id)
                .iter()
                .filter(|d| d.kind == "enforceable_title")
                .count();
            if primary != 1 {
                errs.push(
                    &at("enforceable_title.documents"),
                    "required",
                    "Exactly one document of type enforceable_title is required.",
                );
            }
        } else {
            if c.main_claim_amount.value <= Decimal::ZERO {
                errs.push(&at("principal_amount"), "required", "The principal must be above 0.");
            }
            match c.document_date {
                None => errs.push(&at("document_date"), "required", "Required before finalizing."),
                Some(d) if d > today => errs.push(
                    &at("document_date"),
                    "invalid",
                    "The document date cannot be in the future.",
                ),
                _ => {}
            }
            let has_docs = !documents::of_parent(db, o.scope, c.id).is_empty();
            if c.subject_matter.as_deref().is_none_or(|s| s.trim().is_empty()) && !has_docs {
                errs.push(
                    &at("subject_matter"),
                    "required",
                    "Describe the subject matter or upload a claim document.",
                );
            }
            for (j, ch) in c.additional_charges.iter().enumerate() {
                if ch.amount.value <= Decimal::ZERO {
                    errs.push(
                        &at(&format!("additional_charges[{j}].amount")),
                        "required",
                        "A charge must be above 0.",
                    );
                }
                if ch.occurence_date.is_none() {
                    errs.push(
                        &at(&format!("additional_charges[{j}].occurrence_date")),
                        "required",
                        "Required before finalizing.",
                    );
                }
            }
        }
    }
    if o.kind == "rental" {
        let a = o.rental_agreement.as_ref();
        if a.and_then(|a| a.contract_date).is_none() {
            errs.push(
                "rental_agreement.contract_date",
                "required",
                "Required before finalizing.",
            );
        }
        if a.and_then(|a| a.monthly_rent).is_none_or(|r| r <= Decimal::ZERO) {
            errs.push(
                "rental_agreement.monthly_rent",
                "required",
                "The monthly rent must be above 0.",
            );
        }
        if a.and_then(|a| a.property_address.as_ref()).is_none() {
            errs.push(
                "rental_agreement.property_address",
                "required",
                "Required before finalizing.",
            );
        }
    }
    errs.0
}

/// Sets the order's and its claims' status (v1's `submission_state` follows, see
/// [`OrderStatus::claim_state`]); the caller checked the move with [`OrderStatus::next`].
pub fn set_status(db: &mut Db, o: &mut Order, status: OrderStatus, now: DateTime<Utc>) {
    o.status = status;
    o.updated_at = now;
    for c in claims_of(db, o) {
        db.claims.update(&o.scope, &c.id.to_string(), |c| {
            c.submission_state.apply(ClaimEvent::Follow(status.claim_state()));
            if status == OrderStatus::Withdrawn
                && let Some(x) = c.v2.as_mut()
            {
                x.withdrawn = true;
            }
            c.updated = now;
        });
    }
}

/// `order.*` event data.
pub fn event_data(db: &Db, o: &Order) -> Value {
    let mut ids: Vec<String> = claims_of(db, o).iter().map(|c| c.id.to_string()).collect();
    ids.sort();
    json!({ "order_id": o.id.to_string(), "order_url": format!("/v2/orders/{}/", o.id), "claim_ids": ids })
}

async fn finalize(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    idem: Idem,
    Path(id): Path<String>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    idem.run(&state, &caller, &body, || {
        no_body(&body, "finalize")?;
        let now = state.now();
        let today = state.clock.today();
        let order = state.store.read(|db| find_raw(db, caller.scope, &id))?;
        editable(&state, &order)?;
        state.store.write(|db| {
            let gaps = gaps(db, &order, today);
            if !gaps.is_empty() {
                let mut e = V2Error::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "order_incomplete",
                    format!(
                        "The order cannot be submitted yet: {} thing(s) are missing (see errors).",
                        gaps.len()
                    ),
                );
                e.errors = gaps;
                return Err(e);
            }
            let mut o = order.clone();
            o.expires_at = None;
            let Some(submitted) = status(db, &o, now).next(OrderEvent::Finalize) else {
                return Err(claims::not_editable());
            };
            set_status(db, &mut o, submitted, now);
            save(db, o.clone());
            let data = event_data(db, &o);
            crate::v2::events::emit(db, &state, o.scope, "order.submitted", data);
            Ok((StatusCode::OK, render(db, &o, &origin, now)))
        })
    })
}

async fn withdraw(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    idem: Idem,
    Path(id): Path<String>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    idem.run(&state, &caller, &body, || {
        let mut errs = Errs::default();
        let o = Obj::new(&body, "", &["reason"], &mut errs);
        let reason = o.opt_string("reason", 5000, &mut errs);
        errs.finish(reason)?;
        let now = state.now();
        state.store.write(|db| {
            let order = find_raw(db, caller.scope, &id)?;
            let s = status(db, &order, now);
            let withdrawn = s.next(OrderEvent::Withdraw).filter(|_| !order.review_started);
            let Some(withdrawn) = withdrawn else {
                return Err(V2Error::conflict(
                    "order_not_withdrawable",
                    format!(
                        "Only a submitted order whose review has not started can be withdrawn (this one is {}{}).",
                        s,
                        if order.review_started { ", under review" } else { "" }
                    ),
                ));
            };
            let mut o = order.clone();
            set_status(db, &mut o, withdrawn, now);
            save(db, o.clone());
            let data = event_data(db, &o);
            crate::v2::events::emit(db, &state, o.scope, "order.withdrawn", data);
            Ok((StatusCode::OK, render(db, &o, &origin, now)))
        })
    })
}

fn agreement_of(o: &Order) -> Result<RentalAgreement, V2Error> {
    o.rental_agreement.clone().ok_or_else(|| {
        V2Error::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Only rental orders have a rental agreement.",
        )
    })
}

async fn get_agreement(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, V2Error> {
    let v = state.store.read(|db| {
        let o = find_raw(db, caller.scope, &id)?;
        let a = agreement_of(&o)?;
        Ok::<_, V2Error>(render_agreement(db, o.scope, &a, &origin))
    })?;
    Ok(show(&headers, v))
}

async fn patch_agreement(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    headers: HeaderMap,
    Path(id): Path<String>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    let now = state.now();
    let order = state.store.read(|db| find_raw(db, caller.scope, &id))?;
    let a = agreement_of(&order)?;
    let current = state.store.read(|db| render_agreement(db, order.scope, &a, &origin));
    if_match(&headers, &current)?;
    let mut errs = Errs::default();
    let mut next = a.clone();
    read_agreement(&body, "", &mut errs, &mut next, false);
    errs.finish(())?;
    editable(&state, &order)?;
    state.store.write(|db| {
        if next != a {
            next.updated_at = now;
        }
        let mut o = order.clone();
        o.rental_agreement = Some(next.clone());
        save(db, o.clone());
        if next.due_rule != a.due_rule {
            for c in claims_of(db, &o) {
                let x = ext(&c);
                if x.due_derived
                    && let Some(doc) = c.document_date
                {
                    let due = rent_due(doc, next.due_rule.as_ref());
                    db.claims.update(&o.scope, &c.id.to_string(), |c| {
                        c.due_date = Some(due);
                        c.delay_date = due.succ_opt();
                    });
                }
            }
        }
        if next.contract_date != a.contract_date {
            for c in claims_of(db, &o) {
                if matches!(ext(&c).legal_basis.claim_type_code.as_deref(), Some("H17" | "H19")) {
                    db.claims.update(&o.scope, &c.id.to_string(), |c| {
                        c.occurence_date = next.contract_date;
                        if let Some(x) = c.v2.as_mut() {
                            x.legal_basis.contract_date = next.contract_date;
                        }
                    });
                }
            }
        }
        touch(db, &state, o.scope, o.id);
        Ok(respond(StatusCode::OK, render_agreement(db, o.scope, &next, &origin)))
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::states::testing::{round_trips, walk};

    const EVENTS: &[OrderEvent] = &[
        OrderEvent::Finalize,
        OrderEvent::Withdraw,
        OrderEvent::StartReview,
        OrderEvent::Ask,
        OrderEvent::Answered,
        OrderEvent::Accept,
        OrderEvent::Reject,
        OrderEvent::Merge,
        OrderEvent::Absorb,
        OrderEvent::Expire,
    ];

    #[test]
    fn status_names_round_trip_in_name_order() {
        round_trips(OrderStatus::ALL, OrderStatus::as_str);
        let mut sorted = STATUSES.to_vec();
        sorted.sort_unstable();
        assert_eq!(
            sorted, STATUSES,
            "declared in name order, so sorting by status sorts by name"
        );
    }

    proptest! {
        #[test]
        fn random_events_stay_in_the_machine(
            start in proptest::sample::select(OrderStatus::ALL),
            events in proptest::collection::vec(proptest::sample::select(EVENTS), 0..40),
        ) {
            let seen = walk(OrderStatus::ALL, start, &events);
            for pair in seen.windows(2) {
                let final_ = matches!(
                    pair[0],
                    OrderStatus::Accepted | OrderStatus::Merged | OrderStatus::Rejected | OrderStatus::Withdrawn
                );
                prop_assert!(!final_ || pair[1] == pair[0], "{seen:?}");
                prop_assert!(pair[1] != OrderStatus::Draft || pair[0] == OrderStatus::Draft, "{seen:?}");
            }
        }

        #[test]
        fn claims_of_an_order_follow_it(
            events in proptest::collection::vec(proptest::sample::select(EVENTS), 0..40),
        ) {
            // A claim moved as set_status moves it shows the state of its order's status.
            let mut order = OrderStatus::Draft;
            let mut claim = SubmissionState::Created;
            for e in events {
                if let Some(to) = order.next(e).filter(|to| *to != order && *to != OrderStatus::Expired && *to != OrderStatus::Merged) {
                    order = to;
                    prop_assert!(claim.apply(ClaimEvent::Follow(to.claim_state())), "{e:?} to {to:?}");
                    prop_assert_eq!(claim, to.claim_state());
                }
            }
        }
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a date")
    }

    #[test]
    fn rent_falls_due_on_german_business_days() {
        // New Year's Day is a Thursday: the 3rd business day is Tuesday the 6th.
        assert_eq!(rent_due(d("2026-01-01"), None), d("2026-01-06"));
        // Good Friday (3rd) and Easter Monday (6th) are skipped.
        assert_eq!(rent_due(d("2026-04-01"), None), d("2026-04-07"));
        assert_eq!(
            rent_due(d("2026-02-01"), Some(&(31, "calendar_day".into()))),
            d("2026-02-28")
        );
        assert_eq!(
            rent_due(d("2026-05-01"), Some(&(1, "business_day".into()))),
            d("2026-05-04")
        );
        assert!(federal_holiday(d("2026-05-14")), "Ascension Day 2026");
        assert!(federal_holiday(d("2026-05-25")), "Whit Monday 2026");
        assert!(!federal_holiday(d("2026-11-01")), "All Saints is a state holiday only");
    }
}
