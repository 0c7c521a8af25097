//! Collection statements (`/v1/statements/`) and their mandate details.
//!
//! `GET /v1/statements/` and `GET /v1/statements/{id}/` never embed mandate details (paywise
//! leaves them out "for performance reasons"); they are paged at
//! `GET /v1/statements/{statement_id}/mandate-details/`, which the statement links as
//! `mandate_details_href`. Statements are made by paywise (here: the fixtures, the monthly rule of
//! [`crate::lifecycle`] and the v2 back office); clients only read them.
//!
//! The figures add up (one VAT rate, `19.00`):
//! - per mandate detail, each `payments_to_*` block's `total_payments` is the sum of its
//!   allocations; `payments_to_dca.payout` is main claim plus default interest (fees and success
//!   commission stay with paywise); `payments_to_client.payout` is minus the fees and commission
//!   (gross) the client owes on money it received directly; `extraordinary_payouts_to_client`
//!   pays out its main-claim allocation; `third_party_money.total_payments` is the sum of the
//!   three totals; a cost burden's `total_amount` is `fee + fee_vat`;
//! - per VAT rate in `overview_vat_specific`, the `claims_from_*` blocks sum the details' fees,
//!   commissions and cost burdens; `vat` sums their VAT, `invoice_amount` their net amounts,
//!   `invoice_amount_vat` is `invoice_amount + vat`, and `payout` is the sum of the details'
//!   payouts minus the cost burdens;
//! - `balance_pre_outstanding_items_offsetting` is the sum of the overview payouts and
//!   `total_balance = balance_pre_outstanding_items_offsetting - offset_outstanding_items`;
//! - `mandate_count` is the number of mandate details.
//!
//! Downloads (`full_pdf`, `third_party_money_xlsx`, `cost_burden_xlsx`, `closing_xlsx`) are
//! served at `GET /v1/statements/{id}/downloads/{download_id}/` (path inferred) with placeholder
//! contents whose length is the `file_size`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use mock_core::server::JsonBytes;
use mock_core::store::Hint;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::PaywiseError;
use crate::format::Money;
use crate::list::{self, Filters, Origin, Resource, path_uuid, with_href};
use crate::state::{AccessMode, AppState, Caller, Db, Scope};

/// The VAT rate every fixture figure uses.
pub const VAT_RATE: &str = "19.00";
/// Download types.
pub const DOWNLOAD_TYPES: &[&str] = &["full_pdf", "third_party_money_xlsx", "cost_burden_xlsx", "closing_xlsx"];
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A file of a statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Download {
    /// Unique identifier.
    pub id: Uuid,
    /// One of [`DOWNLOAD_TYPES`].
    #[serde(rename = "type")]
    pub kind: String,
    /// File name.
    pub filename: String,
    /// MIME type.
    pub mime_type: String,
    /// Size in bytes.
    pub file_size: usize,
    /// The placeholder contents.
    #[serde(
        default,
        skip_serializing_if = "mock_core::snapshot::hidden",
        with = "crate::format::bytes"
    )]
    pub content: Vec<u8>,
}

/// A collection statement (Abrechnung).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    /// Creation order (not exposed).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub seq: u64,
    /// Company and access mode (not exposed).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub scope: Scope,
    /// Unique identifier.
    pub id: Uuid,
    /// Clearing number.
    pub clearing_no: String,
    /// Invoice number.
    pub invoice_no: String,
    /// Booking date.
    pub booking_date: NaiveDate,
    /// First day of the period.
    pub period_start: NaiveDate,
    /// Last day of the period.
    pub period_end: NaiveDate,
    /// Whether the statement was canceled.
    pub canceled: bool,
    /// Comment.
    pub comment: Option<String>,
    /// Balance after offsetting outstanding items.
    pub total_balance: Money,
    /// Balance before offsetting outstanding items.
    pub balance_pre_outstanding_items_offsetting: Money,
    /// Outstanding items offset against the balance.
    pub offset_outstanding_items: Money,
    /// Number of mandates in the statement.
    pub mandate_count: usize,
    /// Per-VAT-rate overview.
    pub overview_vat_specific: Vec<Value>,
    /// Files.
    pub downloads: Vec<Download>,
    /// Creation.
    #[serde(with = "crate::format::ts")]
    pub created: DateTime<Utc>,
    /// The payments the statement settles when the mock made it from payments (the monthly rule
    /// of [`crate::lifecycle`], the v2 back office); `None` for a fixture statement, which covers
    /// every payment of its scope booked up to its `period_end` (see [`uncovered`]). Not exposed.
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub payments: Option<Vec<Uuid>>,
}

scoped_record!(Statement);

impl Resource for Statement {
    fn render(&self, origin: &Origin) -> Value {
        let downloads: Vec<Value> = self
            .downloads
            .iter()
            .map(|d| {
                json!({
                    "id": d.id,
                    "type": d.kind,
                    "filename": d.filename,
                    "mime_type": d.mime_type,
                    "file_size": d.file_size,
                    "download_url": origin.url(&format!("/v1/statements/{}/downloads/{}/", self.id, d.id)),
                })
            })
            .collect();
        json!({
            "href": origin.url(&format!("/v1/statements/{}/", self.id)),
            "id": self.id,
            "clearing_no": self.clearing_no,
            "invoice_no": self.invoice_no,
            "booking_date": self.booking_date,
            "period_start": self.period_start,
            "period_end": self.period_end,
            "canceled": self.canceled,
            "comment": self.comment,
            "total_balance": self.total_balance,
            "balance_pre_outstanding_items_offsetting": self.balance_pre_outstanding_items_offsetting,
            "offset_outstanding_items": self.offset_outstanding_items,
            "mandate_count": self.mandate_count,
            "mandate_details_href": origin.url(&format!("/v1/statements/{}/mandate-details/", self.id)),
            "overview_vat_specific": self.overview_vat_specific,
            "downloads": downloads,
            "created": crate::format::timestamp(&self.created),
        })
    }
}

/// The details of one mandate in a statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MandateDetail {
    /// Creation order (not exposed).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub seq: u64,
    /// Company and access mode (not exposed).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub scope: Scope,
    /// Unique identifier (not exposed).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub id: Uuid,
    /// The statement (not exposed).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub statement: Uuid,
    /// The client's references of the mandate's claims (for the `your_reference` filter).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub your_references: Vec<String>,
    /// The mandate's file number.
    pub reference_number: String,
    /// The mandate's id.
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub mandate: Uuid,
    /// How the mandate was closed, if it was.
    pub closing: Option<Value>,
    /// Third-party money per VAT rate.
    pub third_party_money_entries: Vec<Value>,
    /// Costs the client bears, per VAT rate.
    pub cost_burden_entries: Vec<Value>,
    /// The figures the overview sums (not exposed).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub sums: Sums,
}

// A statement's mandate details are read by statement, by mandate and by file number.
scoped_record!(
    MandateDetail,
    lookups = |r| {
        vec![
            ("statement", r.statement.to_string()),
            ("mandate", r.mandate.to_string()),
            ("reference_number", r.reference_number.clone()),
        ]
    }
);

impl Resource for MandateDetail {
    fn render(&self, origin: &Origin) -> Value {
        json!({
            "reference_number": self.reference_number,
            "mandate": with_href(
                json!({"id": self.mandate, "reference_number": self.reference_number}),
                origin.url(&format!("/v1/mandates/{}/", self.mandate)),
            ),
            "closing": self.closing,
            "third_party_money_entries": self.third_party_money_entries,
            "cost_burden_entries": self.cost_burden_entries,
        })
    }
}

/// What one mandate detail contributes to its statement's overview.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Sums {
    /// Fees and their VAT, commission and its VAT, from payments to paywise.
    pub dca: [Decimal; 4],
    /// The same, from payments to the client.
    pub client: [Decimal; 4],
    /// Cost burden fee and VAT.
    pub cost: [Decimal; 2],
    /// The detail's payouts (all three blocks).
    pub payout: Decimal,
}

fn money(d: Decimal) -> Value {
    Money::eur(d).to_json()
}

fn vat_of(net: Decimal) -> Decimal {
    (net * Decimal::new(19, 2)).round_dp(2)
}

/// The figures of one mandate detail: paid main claim, interest, fee and commission to paywise;
/// main claim, fee and commission paid to the client; an extraordinary payout; a cost burden fee.
#[derive(Debug, Clone, Copy, Default)]
pub struct Figures {
    /// Main claim paid to paywise.
    pub main: Decimal,
    /// Default interest paid to paywise.
    pub interest: Decimal,
    /// Fee allocated from payments to paywise.
    pub fee: Decimal,
    /// Success commission from payments to paywise.
    pub commission: Decimal,
    /// Main claim paid to the client directly.
    pub client_main: Decimal,
    /// Fee owed on payments to the client.
    pub client_fee: Decimal,
    /// Commission owed on payments to the client.
    pub client_commission: Decimal,
    /// Extraordinary payout to the client.
    pub extraordinary: Decimal,
    /// Cost burden fee.
    pub cost_fee: Decimal,
}

/// The third-party money and cost burden entries of `f`, and their sums.
pub fn detail_entries(f: &Figures) -> (Vec<Value>, Vec<Value>, Sums) {
    let (fee_vat, com_vat) = (vat_of(f.fee), vat_of(f.commission));
    let dca_total = f.fee + fee_vat + f.main + f.interest + f.commission + com_vat;
    let dca_payout = f.main + f.interest;
    let (cfee_vat, ccom_vat) = (vat_of(f.client_fee), vat_of(f.client_commission));
    let client_total = f.client_fee + cfee_vat + f.client_main + f.client_commission + ccom_vat;
    let client_payout = -(f.client_fee + cfee_vat + f.client_commission + ccom_vat);
    let block = |total, fee, fee_vat, main, interest, com, com_vat, payout| {
        json!({
            "total_payments": money(total),
            "allocation_to_fee": money(fee),
            "allocation_to_fee_vat": money(fee_vat),
            "allocation_to_main_claim": money(main),
            "allocation_to_default_interest": money(interest),
            "allocation_to_success_commission": money(com),
            "allocation_to_success_commission_vat": money(com_vat),
            "payout": money(payout),
        })
    };
    let tpm = json!({
        "vat_rate": VAT_RATE,
        "third_party_money": {
            "vat_rate": VAT_RATE,
            "total_payments": money(dca_total + client_total + f.extraordinary),
            "payments_to_dca": block(dca_total, f.fee, fee_vat, f.main, f.interest, f.commission, com_vat, dca_payout),
            "payments_to_client": block(
                client_total,
                f.client_fee,
                cfee_vat,
                f.client_main,
                Decimal::ZERO,
                f.client_commission,
                ccom_vat,
                client_payout,
            ),
            "extraordinary_payouts_to_client": {
                "total_payments": money(f.extraordinary),
                "allocation_to_main_claim": money(f.extraordinary),
                "payout": money(f.extraordinary),
            },
        },
    });
    let cost_vat = vat_of(f.cost_fee);
    let cost = json!({
        "vat_rate": VAT_RATE,
        "cost_burden": {
            "vat_rate": VAT_RATE,
            "fee": money(f.cost_fee),
            "fee_vat": money(cost_vat),
            "total_amount": money(f.cost_fee + cost_vat),
        },
    });
    let sums = Sums {
        dca: [f.fee, fee_vat, f.commission, com_vat],
        client: [f.client_fee, cfee_vat, f.client_commission, ccom_vat],
        cost: [f.cost_fee, cost_vat],
        payout: dca_payout + client_payout + f.extraordinary,
    };
    (vec![tpm], vec![cost], sums)
}

/// The overview of a statement with `details`, and its balance before offsetting.
pub fn overview(details: &[Sums]) -> (Vec<Value>, Decimal) {
    if details.is_empty() {
        return (Vec::new(), Decimal::ZERO);
    }
    let add = |pick: &dyn Fn(&Sums) -> Decimal| details.iter().map(pick).sum::<Decimal>();
    let zero = money(Decimal::ZERO);
    let claims = |pick: &dyn Fn(&Sums) -> [Decimal; 4]| {
        json!({
            "taxfree_expenses_claims": zero,
            "taxable_expenses_claims": zero,
            "taxable_expenses_vat_claims": zero,
            "fee_claims": money(add(&|s| pick(s)[0])),
            "fee_vat_claims": money(add(&|s| pick(s)[1])),
            "success_commission_claims": money(add(&|s| pick(s)[2])),
            "success_commission_vat_claims": money(add(&|s| pick(s)[3])),
        })
    };
    let net = add(&|s| s.dca[0] + s.dca[2] + s.client[0] + s.client[2] + s.cost[0]);
    let vat = add(&|s| s.dca[1] + s.dca[3] + s.client[1] + s.client[3] + s.cost[1]);
    let payout = add(&|s| s.payout - s.cost[0] - s.cost[1]);
    let entry = json!({
        "vat_rate": VAT_RATE,
        "claims_from_payments_to_dca": claims(&|s| s.dca),
        "claims_from_payments_to_client": claims(&|s| s.client),
        "claims_from_advanced_costs": {
            "taxfree_expenses_claims": zero,
            "taxable_expenses_claims": zero,
            "taxable_expenses_vat_claims": zero,
            "fee_claims": money(add(&|s| s.cost[0])),
            "fee_vat_claims": money(add(&|s| s.cost[1])),
            "taxfree_litigation_expenses_claims": zero,
            "taxable_litigation_expenses_claims": zero,
        },
        "vat": money(vat),
        "invoice_amount": money(net),
        "invoice_amount_vat": money(net + vat),
        "payout": money(payout),
    });
    (vec![entry], payout)
}

/// A payment booked on a mandate, as the statements see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Booked {
    /// The mandate's scope.
    pub scope: Scope,
    /// The mandate.
    pub mandate: Uuid,
    /// The payment.
    pub payment: Uuid,
    /// The payment's creation order.
    pub seq: u64,
    /// When it was booked on the mandate: its report, or the mandate's opening for a payment
    /// reported (or received before handover) while the claim had no mandate yet.
    pub at: DateTime<Utc>,
}

/// What the statements of a scope (of every scope when `None`) cover: the payments the mock's
/// statements list, and for fixture statements the last `period_end` per scope.
struct Coverage {
    covered: std::collections::HashSet<Uuid>,
    up_to: std::collections::HashMap<Scope, NaiveDate>,
}

impl Coverage {
    fn of(db: &Db, scope: Option<Scope>) -> Self {
        let mut covered = std::collections::HashSet::new();
        let mut up_to: std::collections::HashMap<Scope, NaiveDate> = std::collections::HashMap::new();
        let statements: Box<dyn Iterator<Item = &Statement>> = match &scope {
            Some(s) => Box::new(db.statements.iter(s)),
            None => Box::new(db.statements.iter_all()),
        };
        for s in statements {
            match &s.payments {
                Some(ids) => covered.extend(ids.iter().copied()),
                None => {
                    let end = up_to.entry(s.scope).or_insert(s.period_end);
                    *end = (*end).max(s.period_end);
                }
            }
        }
        Self { covered, up_to }
    }

    /// Adds the payments booked on `m` that are not covered to `out`.
    fn bookings(&self, db: &Db, m: &crate::resources::mandates::Mandate, out: &mut Vec<Booked>) {
        let cut = self.up_to.get(&m.scope);
        for id in m.claims.iter().flat_map(|c| c.payments.iter()) {
            if self.covered.contains(id) {
                continue;
            }
            let mut key = Uuid::encode_buffer();
            let Some(p) = db.payments.get(&m.scope, id.hyphenated().encode_lower(&mut key)) else {
                continue;
            };
            let at = p.created.max(m.created);
            if cut.is_some_and(|c| at.date_naive() <= *c) {
                continue;
            }
            out.push(Booked {
                scope: m.scope,
                mandate: m.id,
                payment: p.id,
                seq: p.seq,
                at,
            });
        }
    }
}

/// Every payment booked on a mandate of `scope` (every scope when `None`) that no statement
/// covers yet, in booking order. A statement the mock made from payments covers the payments it
/// lists (cancelled or not: the mock issues no corrections); a fixture statement covers every
/// payment of its scope booked (UTC date) up to its `period_end`.
pub fn uncovered(db: &Db, scope: Option<Scope>) -> Vec<Booked> {
    let coverage = Coverage::of(db, scope);
    let mandates: Box<dyn Iterator<Item = &crate::resources::mandates::Mandate>> = match &scope {
        Some(s) => Box::new(db.mandates.iter(s)),
        None => Box::new(db.mandates.iter_all()),
    };
    let mut out = Vec::new();
    for m in mandates {
        coverage.bookings(db, m, &mut out);
    }
    out.sort_by_key(|b| (b.at, b.seq));
    out
}

/// The payments booked on the mandate `m` that no statement covers yet, in booking order: what
/// [`uncovered`] lists of it.
pub fn uncovered_on(db: &Db, m: &crate::resources::mandates::Mandate) -> Vec<Booked> {
    let mut out = Vec::new();
    Coverage::of(db, Some(m.scope)).bookings(db, m, &mut out);
    out.sort_by_key(|b| (b.at, b.seq));
    out
}

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/statements/", get(list))
        .route("/statements/{id}/", get(show))
        .route("/statements/{id}/mandate-details/", get(mandate_details))
        .route("/statements/{id}/downloads/{download_id}/", get(download))
}

async fn list(State(state): State<AppState>, caller: Caller, origin: Origin) -> Result<JsonBytes, PaywiseError> {
    let mut f = Filters::new(&origin.query);
    let booking_date = f.date("booking_date");
    let clearing_no = f.string("clearing_no");
    let id = f.uuid("id");
    let invoice_no = f.string("invoice_no");
    let reference = f.string("mandate_reference_number");
    let period_start = f.date("period_start");
    let period_end = f.date("period_end");
    f.finish()?;
    let with_mandate: Option<Vec<Uuid>> = reference.as_ref().map(|r| {
        state.store.read(|db| {
            db.mandate_details
                .lookup(&caller.scope(), "reference_number", r)
                .map(|d| d.statement)
                .collect()
        })
    });
    let filtered = booking_date.is_some()
        || clearing_no.is_some()
        || id.is_some()
        || invoice_no.is_some()
        || reference.is_some()
        || period_start.is_some()
        || period_end.is_some();
    let matches = |s: &Statement| {
        booking_date.is_none_or(|d| s.booking_date == d)
            && clearing_no.as_ref().is_none_or(|c| &s.clearing_no == c)
            && id.is_none_or(|i| s.id == i)
            && invoice_no.as_ref().is_none_or(|i| &s.invoice_no == i)
            && with_mandate.as_ref().is_none_or(|ids| ids.contains(&s.id))
            && period_start.is_none_or(|d| s.period_start == d)
            && period_end.is_none_or(|d| s.period_end == d)
    };
    list::list(
        &state,
        &caller,
        &origin,
        filtered.then_some(&matches as &dyn Fn(&Statement) -> bool),
        |db| &db.statements,
    )
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    Path(id): Path<String>,
) -> Result<JsonBytes, PaywiseError> {
    list::show(&state, &caller, &origin, &id, |db| &db.statements)
}

async fn mandate_details(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    Path(id): Path<String>,
) -> Result<JsonBytes, PaywiseError> {
    let id = path_uuid(&id)?;
    let exists = state
        .store
        .read(|db| db.statements.get(&caller.scope(), &id.to_string()).is_some());
    if !exists {
        return Err(PaywiseError::not_found());
    }
    let mut f = Filters::new(&origin.query);
    let reference = f.string("reference_number");
    let your_reference = f.string("your_reference");
    f.finish()?;
    let matches = |d: &MandateDetail| {
        d.statement == id
            && reference.as_ref().is_none_or(|r| &d.reference_number == r)
            && your_reference.as_ref().is_none_or(|r| d.your_references.contains(r))
    };
    let statement = id.to_string();
    list::list_hinted(
        &state,
        &caller,
        &origin,
        Hint::Lookup("statement", &statement),
        Some(&matches as &dyn Fn(&MandateDetail) -> bool),
        |db| &db.mandate_details,
    )
}

async fn download(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, download_id)): Path<(String, String)>,
) -> Result<Response, PaywiseError> {
    let id = path_uuid(&id)?;
    let download_id = path_uuid(&download_id)?;
    let file = state
        .store
        .read(|db| {
            db.statements
                .get(&caller.scope(), &id.to_string())
                .and_then(|s| s.downloads.iter().find(|d| d.id == download_id).cloned())
        })
        .ok_or_else(PaywiseError::not_found)?;
    let disposition = format!("attachment; filename=\"{}\"", file.filename.replace('"', ""));
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, file.mime_type.clone()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        file.content,
    )
        .into_response())
}

fn fuuid(f: &mut fixtures::Faker) -> Uuid {
    uuid::Builder::from_random_bytes(f.bytes16()).into_uuid()
}

fn month_start(d: NaiveDate, back: u32) -> NaiveDate {
    let months = d.year() * 12 + d.month0() as i32 - back as i32;
    NaiveDate::from_ymd_opt(months.div_euclid(12), months.rem_euclid(12) as u32 + 1, 1).unwrap_or(d)
}

fn downloads(f: &mut fixtures::Faker, clearing_no: &str) -> Vec<Download> {
    DOWNLOAD_TYPES
        .iter()
        .map(|kind| {
            let (name, mime) = match *kind {
                "full_pdf" => (format!("Abrechnung_{clearing_no}.pdf"), "application/pdf"),
                other => (format!("Abrechnung_{clearing_no}_{other}.xlsx"), XLSX),
            };
            let content = if mime == "application/pdf" {
                format!("%PDF-1.4\n% paywise mock statement {clearing_no}\n%%EOF\n").into_bytes()
            } else {
                format!("paywise mock spreadsheet {kind} {clearing_no}\n").into_bytes()
            };
            Download {
                id: fuuid(f),
                kind: (*kind).to_string(),
                filename: name,
                mime_type: mime.to_string(),
                file_size: content.len(),
                content,
            }
        })
        .collect()
}

/// Adds monthly statements (four in test mode, one canceled; one in production mode), each with
/// up to three of the scope's mandates as mandate details (none if there are no mandates).
pub fn seed(f: &mut fixtures::Faker, seq: &mut u64, db: &mut Db) {
    let anchor = f.anchor();
    let mut number = 1u64;
    for (mode, months) in [(AccessMode::Test, 4u32), (AccessMode::Production, 1)] {
        let scope = Scope {
            company: crate::seed::COMPANY,
            mode,
        };
        let mandates: Vec<(Uuid, String)> = db
            .mandates
            .iter(&scope)
            .map(|m| (m.id, m.reference_number.clone()))
            .collect();
        for k in 0..months {
            let period_start = month_start(anchor, months - k);
            let period_end = month_start(anchor, months - k - 1) - Duration::days(1);
            let booking_date = period_end + Duration::days(3);
            let clearing_no = format!("AB-{}-{:04}", period_end.format("%Y"), 100 + number);
            let invoice_no = format!("RE-{}-{:05}", period_end.format("%y"), 7_000 + number);
            number += 1;
            *seq += 1;
            let statement_seq = *seq;
            let statement_id = fuuid(f);
            let mut sums = Vec::new();
            let take = mandates.len().min(3);
            for j in 0..take {
                let (mandate, reference) = &mandates[(k as usize * 2 + j) % mandates.len()];
                let main = f.amount(50, 1_500);
                let figures = Figures {
                    main,
                    interest: f.amount(0, 30),
                    fee: f.amount(20, 120),
                    commission: (main * Decimal::new(5, 2)).round_dp(2),
                    client_main: if f.chance(0.3) {
                        f.amount(20, 300)
                    } else {
                        Decimal::ZERO
                    },
                    client_fee: if f.chance(0.3) { f.amount(5, 40) } else { Decimal::ZERO },
                    client_commission: Decimal::ZERO,
                    extraordinary: Decimal::ZERO,
                    cost_fee: if f.chance(0.25) { f.amount(5, 60) } else { Decimal::ZERO },
                };
                let (tpm, cost, s) = detail_entries(&figures);
                sums.push(s);
                let closed = f.chance(0.5);
                let closing = closed.then(|| {
                    json!({
                        "closing_date": period_end - Duration::days(f.int(0, 20) as i64),
                        "closing_code": "IN001",
                        "closing_description": "Forderung vollständig bezahlt",
                        "closing_type": "positive",
                        "accepted_main_claim_amount": money(main),
                        "remaining_main_claim_amount": money(Decimal::ZERO),
                    })
                });
                let your_references: Vec<String> = db
                    .claims
                    .iter(&scope)
                    .filter(|c| {
                        c.mandate
                            .as_ref()
                            .and_then(|m| m.get("id"))
                            .and_then(Value::as_str)
                            .is_some_and(|i| i == mandate.to_string())
                    })
                    .filter_map(|c| c.your_reference.clone())
                    .collect();
                *seq += 1;
                crate::seed::kept(db.mandate_details.insert(MandateDetail {
                    seq: *seq,
                    scope,
                    id: fuuid(f),
                    statement: statement_id,
                    your_references,
                    reference_number: reference.clone(),
                    mandate: *mandate,
                    closing,
                    third_party_money_entries: tpm,
                    cost_burden_entries: cost,
                    sums: s,
                }));
            }
            let (overview_vat_specific, pre) = overview(&sums);
            let offset = if k == 0 && pre > Decimal::ZERO {
                (pre / Decimal::from(10)).round_dp(2)
            } else {
                Decimal::ZERO
            };
            let canceled = mode == AccessMode::Test && k == 1;
            let created = booking_date
                .and_hms_opt(6, 30, 0)
                .map(|t| t.and_utc())
                .unwrap_or_default();
            crate::seed::kept(db.statements.insert(Statement {
                seq: statement_seq,
                scope,
                id: statement_id,
                clearing_no: clearing_no.clone(),
                invoice_no,
                booking_date,
                period_start,
                period_end,
                canceled,
                comment: canceled.then(|| "Storniert: wird durch eine korrigierte Abrechnung ersetzt.".to_string()),
                total_balance: Money::eur(pre - offset),
                balance_pre_outstanding_items_offsetting: Money::eur(pre),
                offset_outstanding_items: Money::eur(offset),
                mandate_count: take,
                overview_vat_specific,
                downloads: downloads(f, &clearing_no),
                created,
                payments: None,
            }));
        }
    }
}
