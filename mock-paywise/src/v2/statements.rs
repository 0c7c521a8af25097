//! `/v2/statements/` (collective payout statements, Sammelabrechnungen) and
//! `/v2/single-mandate-statements/` (per-case settlements, Aktenabrechnungen), read-only, and the
//! mock-only back office that publishes and cancels them (`/_mock/paywise/v2/...`).
//!
//! **Collective statements are v1's statements** (`db.statements` with their mandate details,
//! `db.mandate_details`), seen through v2:
//! - `status` is `cancelled` when v1's `canceled` is set, else `published`; `published_at` is v1's
//!   `created`. v1 keeps no cancellation time: `cancelled_at` is the time of the statement's
//!   `statement.cancelled` event, for a statement the fixtures made cancelled one day after it was
//!   created. `updated_at` is `cancelled_at` when cancelled, else `created_at`. (v1's fixtures
//!   book the latest statement up to three days after the anchor date, so its `created_at` may be
//!   ahead of the clock: `updated_since` holds it back until the clock passes it.)
//! - `financials` maps v1's balances (`balance_pre_outstanding_items_offsetting`,
//!   `offset_outstanding_items`, `total_balance`) and `overview_vat_specific` (VAT rates as percent
//!   strings, `"19.00"`); `total_payments_to_dca` and `instalment_payments_to_client` of a VAT entry
//!   sum the mandate details' payments to paywise and to the client at that rate.
//! - `files[]` are v1's downloads with hyphenated types (`full_pdf` -> `full-pdf`, ...), served by
//!   `GET /v2/statements/{id}/download/?type=...` with the same bytes as v1's download.
//! - `mandates[]` (also paged at `/v2/statements/{id}/mandates/`) are the mandate details in their
//!   order, with the case's live `debtor`, `state`, `created_at` and `amount` (the v2 mandate's
//!   `total_amount`), v1's `closing` (a closing code outside v2's 38 codes is shown as `IP01`,
//!   `IN06` or `IÜ01` by its closing type), `cost_burden[]` and `third_party_money[]` with every
//!   documented member (v1 leaves out members that are zero by construction; they are `"0.00"`
//!   here), and `related_statements[]`: the other published statements with the same case, newest
//!   booking date first.
//!
//! **Single-mandate statements exist only in v2** (`db.v2_single_statements`): [`seed`] derives one
//! or two per fixture mandate that appears in v1's statements, and the back office publishes more
//! from a mandate's current balance. Their VAT rates are fractions (`"0.19"`); their PDF is a small
//! generated one-page PDF. A settlement covers what the balance received since the mandate's
//! previous (not cancelled) single-mandate statement: paywise's costs as collection fee (net and
//! 19 % VAT), the client's own costs, interest, principal and any overpayment; payments the client
//! reported (`/v2/.../payments/`) count as payments to the client, the rest as payments to paywise.
//! The payout is what paywise received minus its fee; `total_balance` is the payouts minus the cost
//! burden; `payout_method` is `transfer` for a balance of at least zero, else `direct_debit`.
//!
//! Back office (all `POST`, JSON, the caller's Bearer token, acting in its company and
//! environment; refusals in v2's envelope):
//! - `/_mock/paywise/v2/statements/{id}/cancel` `{comment?}`: cancels a collective statement
//!   (v1's `canceled`), emits `statement.cancelled`; 200 with the `StatementRead`; 409
//!   `already_cancelled` when it is.
//! - `/_mock/paywise/v2/mandates/{id}/single-mandate-statements` `{statement_type?, booking_date?}`:
//!   publishes a single-mandate statement of the mandate (type by default from the case: closed
//!   cases get `final` or `negative_closing`, cases in long-term monitoring
//!   `transition_to_longtime_monitoring`, others `interim`; booking date today), emits
//!   `single_mandate_statement.published`; 201 with the `SingleMandateStatementRead`.
//! - `/_mock/paywise/v2/single-mandate-statements/{id}/cancel`: cancels one, emits
//!   `single_mandate_statement.cancelled`; 200; 409 `already_cancelled`.
//! - `/_mock/paywise/v2/mandates/{id}/statements` `{booking_date?, statement_type?, files?}`:
//!   publishes a collective statement with that one case (a v1 statement, visible in v1 too) and a
//!   single-mandate statement of the same settlement; `files` are the transferred file types
//!   (default `full-pdf`, `third-party-money-xlsx`, `cost-burden-xlsx`, and `closing-xlsx` when the
//!   case closed); emits `statement.published` and `single_mandate_statement.published`; 201 with
//!   `{"statement", "single_mandate_statement"}`.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use mock_core::Record as _;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::format::Money;
use crate::list::Origin;
use crate::resources::mandates::{LegalStage, Mandate, PRINCIPAL, ProcessingState};
use crate::resources::statements::{Download, Figures, MandateDetail, Statement, detail_entries, overview};
use crate::state::{AccessMode, AppState, Db, Scope};
use crate::v2::conv::{Obj, Paging, Patch, Query, V2Caller, V2Json, date, money, page, respond, show, ts};
use crate::v2::error::{Errs, V2Error};
use crate::v2::events;

/// `status` values of both kinds of statement.
pub const STATUSES: &[&str] = &["cancelled", "published"];
/// `statement_type` of a single-mandate statement.
pub const STATEMENT_TYPES: &[&str] = &[
    "expenses_invoice",
    "final",
    "interim",
    "negative_closing",
    "transition_to_longtime_monitoring",
];
/// The file types of a collective statement (`files[].type`, the download's `type`).
pub const FILE_TYPES: &[&str] = &["full-pdf", "third-party-money-xlsx", "cost-burden-xlsx", "closing-xlsx"];
/// The `ordering` fields of both statement lists.
pub const ORDERING: &[&str] = &[
    "booking_date",
    "period_start",
    "period_end",
    "created",
    "updated",
    "clearing_no",
    "invoice_no",
];
/// The `allocation_to_*` members of a payment allocation, in the order [`SingleVat::allocations`]
/// keeps them.
pub const ALLOCATIONS: [&str; 12] = [
    "main_claim",
    "default_interest",
    "fee",
    "fee_vat",
    "success_commission",
    "success_commission_vat",
    "tax_free_expenses",
    "taxable_expenses",
    "taxable_expenses_vat",
    "client_costs",
    "client_expenses",
    "overpayment",
];
const MAIN: usize = 0;
const INTEREST: usize = 1;
const FEE: usize = 2;
const FEE_VAT: usize = 3;
const CLIENT_COSTS: usize = 9;
const OVERPAYMENT: usize = 11;

/// The 38 closing codes of v2 (`ClosingCodeEnum`) with their descriptions.
pub const CLOSING_CODES: &[(&str, &str)] = &[
    ("IP01", "Vollzahlung"),
    ("IP02", "Teilzahlung"),
    ("IP03", "vor Bearbeitung bezahlt"),
    ("IP04", "Vergleichszahlung"),
    ("IPU1", "Vollzahlung (Unterakte)"),
    ("IPU2", "Teilzahlung (Unterakte)"),
    ("IPU3", "vor Bearbeitung bezahlt (Unterakte)"),
    ("IPU4", "Vergleichszahlung (Unterakte)"),
    ("IN01", "Akte storniert"),
    ("IN010", "Akte storniert - keine Kostenbelastung Honorar"),
    ("IN011", "Akte geschlossen: Negative SCHUFA-Auskunft"),
    ("IN012", "Akte storniert: Nicht eingezahlter GMV-Vorschuss"),
    ("IN013", "Akte storniert: Nicht eingezahlter ZV-Vorschuss"),
    ("IN014", "Akte storniert: Nicht beantwortete Rückfrage"),
    ("IN015", "Akte geschlossen: Mangels zustellfähiger Anschrift"),
    ("IN016", "Akte geschlossen: Schuldner verstorben"),
    ("IN017", "Akte geschlossen: Bestritten"),
    ("IN018", "Akte storniert: Zahlung vor Übernahme"),
    ("IN02", "Kunde wünscht Abschluss"),
    ("IN020", "Kunde wünscht Abschluss - keine Kostenbelastung"),
    ("IN03", "Abschluss wegen EV"),
    ("IN04", "Abschluss wegen Insolvenz"),
    ("IN05", "Schuldner verstorben"),
    ("IN06", "Erfolglos"),
    ("INO7", "Aktensperre"),
    ("IN08", "Aufhebung Aktensperre"),
    ("INU1", "Unterakte storniert"),
    ("INU2", "Kunde wünscht Abschluss (Unterakte)"),
    ("INU3", "Abschluss wegen EV (Unterakte)"),
    ("INU4", "Abschluss wegen Insolvenz (Unterakte)"),
    ("INU5", "Schuldner verstorben (Unterakte)"),
    ("INU6", "Erfolglos (Unterakte)"),
    ("IÜ01", "Überwachung Sonstiges"),
    ("IÜ02", "Überwachung Abgabe EV"),
    ("IÜ03", "Überwachung Insolvenz"),
    ("IÜU1", "Überwachung Sonstiges (Unterakte)"),
    ("IÜU2", "Überwachung Abgabe EV (Unterakte)"),
    ("IÜU3", "Überwachung Insolvenz (Unterakte)"),
];
/// `closing_type` values.
pub const CLOSING_TYPES: &[&str] = &["positive", "negative", "transition_to_longtime_monitoring"];

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/// How long after its creation a statement the fixtures made cancelled counts as cancelled.
const FIXTURE_CANCEL_DELAY: Duration = Duration::days(1);

fn vat_rate() -> Decimal {
    Decimal::new(19, 2)
}

// ---------------------------------------------------------------------------------------------
// The single-mandate statement record
// ---------------------------------------------------------------------------------------------

/// An invoice settled by a single-mandate statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrincipalClaim {
    /// The client's invoice or voucher number (the claim's document reference).
    pub voucher_no: Option<String>,
    /// The invoice date.
    pub voucher_date: Option<NaiveDate>,
    /// The invoiced principal.
    pub amount: Decimal,
}

/// Payments and their allocation at one VAT rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SingleVat {
    /// The VAT rate as a fraction (0.19).
    pub vat_rate: Decimal,
    /// Debtor payments received by paywise.
    pub payments_to_dca: Decimal,
    /// Debtor payments received by the client directly.
    pub payments_to_client: Decimal,
    /// Instalment payments already passed on to the client.
    pub instalment_payments_to_client: Decimal,
    /// The allocations, in the order of [`ALLOCATIONS`].
    pub allocations: [Decimal; 12],
    /// The payout balance at this rate.
    pub payout: Decimal,
}

/// One position of a cost burden.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostItem {
    /// Account code.
    pub account_code: String,
    /// Main account it is grouped into.
    pub main_account_code: String,
    /// What it is.
    pub designation: String,
    /// `fee`, `tax_free_expenses` or `taxable_expenses`: the cost burden total it adds to.
    pub kind: String,
    /// Net amount.
    pub net: Decimal,
    /// VAT amount.
    pub vat: Decimal,
}

/// What the client owes paywise on the case (the totals are sums of the items).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostBurden {
    /// The VAT rate as a fraction.
    pub vat_rate: Decimal,
    /// The positions.
    pub items: Vec<CostItem>,
}

impl CostBurden {
    fn sum(&self, kind: Option<&str>, vat: bool) -> Decimal {
        self.items
            .iter()
            .filter(|i| kind.is_none_or(|k| i.kind == k))
            .map(|i| if vat { i.vat } else { i.net })
            .sum()
    }

    /// The gross total.
    pub fn total(&self) -> Decimal {
        self.sum(None, false) + self.sum(None, true)
    }

    /// The net collection fee.
    pub fn fee(&self) -> Decimal {
        self.sum(Some("fee"), false)
    }
}

/// A single-mandate statement (Aktenabrechnung).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SingleStatement {
    /// Creation order.
    pub seq: u64,
    /// Scope.
    pub scope: crate::state::Scope,
    /// Id.
    pub id: uuid::Uuid,
    /// The settled case (shown while it exists).
    pub mandate: Option<Uuid>,
    /// The case's file number at settlement.
    pub reference_number: String,
    /// The client's customer number for the debtor.
    pub your_reference: Option<String>,
    /// One of [`STATEMENT_TYPES`].
    pub statement_type: String,
    /// Booking date.
    pub booking_date: NaiveDate,
    /// Start of the settled period (none: the whole case history).
    pub period_start: Option<NaiveDate>,
    /// End of the settled period.
    pub period_end: Option<NaiveDate>,
    /// Clearing number.
    pub clearing_no: Option<String>,
    /// Invoice number (when the settlement yields an invoice).
    pub invoice_no: Option<String>,
    /// paywise's note.
    pub comment: Option<String>,
    /// One of [`PAYOUT_METHODS`].
    pub payout_method: String,
    /// Whether the client may deduct input VAT.
    pub pre_tax_deductible: bool,
    /// The invoices settled.
    pub principal_claims: Vec<PrincipalClaim>,
    /// Principal still open after this settlement.
    pub open_principal_claim: Decimal,
    /// Payments per VAT rate.
    pub vat_entries: Vec<SingleVat>,
    /// What the client owes paywise, when anything.
    pub cost_burden: Option<CostBurden>,
    /// The PDF's file name.
    pub filename: String,
    /// Creation.
    #[serde(with = "crate::format::ts")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "crate::format::ts")]
    pub updated_at: DateTime<Utc>,
    /// Cancellation, if cancelled.
    #[serde(default)]
    pub cancelled_at: Option<DateTime<Utc>>,
}

// A mandate's single statements are read by mandate.
scoped_record!(
    SingleStatement,
    lookups = |r| r.mandate.iter().map(|m| ("mandate", m.to_string())).collect()
);

impl SingleStatement {
    /// `published` or `cancelled`.
    pub fn status(&self) -> &'static str {
        if self.cancelled_at.is_some() {
            "cancelled"
        } else {
            "published"
        }
    }

    /// Payouts minus the cost burden.
    pub fn total_balance(&self) -> Decimal {
        let payout: Decimal = self.vat_entries.iter().map(|v| v.payout).sum();
        payout - self.cost_burden.as_ref().map_or(Decimal::ZERO, CostBurden::total)
    }

    /// The PDF (generated from the statement's fixed members, so always the same bytes).
    pub fn pdf(&self) -> Vec<u8> {
        crate::resources::files::generated_pdf(&format!(
            "paywise Aktenabrechnung {} {} {}",
            self.clearing_no.as_deref().unwrap_or(""),
            self.reference_number,
            self.booking_date
        ))
    }

    fn sort_key(&self, field: &str) -> SortKey {
        match field {
            "booking_date" => SortKey::Date(Some(self.booking_date)),
            "period_start" => SortKey::Date(self.period_start),
            "period_end" => SortKey::Date(self.period_end),
            "created" => SortKey::Time(self.created_at),
            "updated" => SortKey::Time(self.updated_at),
            "clearing_no" => SortKey::Text(self.clearing_no.clone()),
            _ => SortKey::Text(self.invoice_no.clone()),
        }
    }
}

fn fraction(rate: Decimal) -> String {
    let mut d = rate.normalize();
    if d.scale() < 2 {
        d.rescale(2);
    }
    d.to_string()
}

fn render_vat(v: &SingleVat) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("vat_rate".into(), Value::String(fraction(v.vat_rate)));
    m.insert("total_payments".into(), money(v.payments_to_dca + v.payments_to_client));
    m.insert("payments_to_dca".into(), money(v.payments_to_dca));
    m.insert("payments_to_client".into(), money(v.payments_to_client));
    m.insert(
        "instalment_payments_to_client".into(),
        money(v.instalment_payments_to_client),
    );
    m.insert("payout".into(), money(v.payout));
    for (name, amount) in ALLOCATIONS.iter().zip(v.allocations.iter()) {
        m.insert(format!("allocation_to_{name}"), money(*amount));
    }
    Value::Object(m)
}

fn render_cost(c: &CostBurden) -> Value {
    json!({
        "vat_rate": fraction(c.vat_rate),
        "fee": money(c.sum(Some("fee"), false)),
        "fee_vat": money(c.sum(Some("fee"), true)),
        "tax_free_expenses": money(c.sum(Some("tax_free_expenses"), false)),
        "taxable_expenses": money(c.sum(Some("taxable_expenses"), false)),
        "taxable_expenses_vat": money(c.sum(Some("taxable_expenses"), true)),
        "total_net": money(c.sum(None, false)),
        "total_vat": money(c.sum(None, true)),
        "total_amount": money(c.total()),
        "items": c.items.iter().map(|i| json!({
            "account_code": i.account_code,
            "main_account_code": i.main_account_code,
            "designation": i.designation,
            "net_amount": money(i.net),
            "vat_amount": money(i.vat),
            "gross_amount": money(i.net + i.vat),
        })).collect::<Vec<_>>(),
    })
}

/// `SingleMandateStatementList`.
pub fn render_single_row(s: &SingleStatement) -> Value {
    json!({
        "id": s.id.to_string(),
        "reference_number": s.reference_number,
        "statement_type": s.statement_type,
        "status": s.status(),
        "booking_date": date(&Some(s.booking_date)),
        "period_start": date(&s.period_start),
        "period_end": date(&s.period_end),
        "clearing_no": s.clearing_no,
        "invoice_no": s.invoice_no,
        "your_reference": s.your_reference,
        "cancelled_at": s.cancelled_at.as_ref().map(ts),
        "created_at": ts(&s.created_at),
        "updated_at": ts(&s.updated_at),
    })
}

/// `SingleMandateStatementRead`.
pub fn render_single(db: &Db, s: &SingleStatement, origin: &Origin) -> Value {
    let mut v = render_single_row(s);
    let mandate = s
        .mandate
        .and_then(|id| db.mandates.get(&s.scope, &id.to_string()))
        .map(|m| json!({ "id": m.id.to_string(), "reference_number": m.reference_number }));
    let total: Decimal = s.principal_claims.iter().map(|p| p.amount).sum();
    if let Value::Object(o) = &mut v {
        o.insert("comment".into(), json!(s.comment));
        o.insert("mandate".into(), mandate.unwrap_or(Value::Null));
        o.insert("payout_method".into(), json!(s.payout_method));
        o.insert("pre_tax_deductible".into(), json!(s.pre_tax_deductible));
        o.insert(
            "file".into(),
            json!({
                "filename": s.filename,
                "media_type": "application/pdf",
                "download_url": origin.url(&format!("/v2/single-mandate-statements/{}/download/", s.id)),
            }),
        );
        o.insert(
            "financials".into(),
            json!({
                "principal_claims": s.principal_claims.iter().map(|p| json!({
                    "voucher_no": p.voucher_no,
                    "voucher_date": date(&p.voucher_date),
                    "amount": money(p.amount),
                })).collect::<Vec<_>>(),
                "principal_claims_total": money(total),
                "open_principal_claim": money(s.open_principal_claim),
                "total_balance": money(s.total_balance()),
                "vat_entries": s.vat_entries.iter().map(render_vat).collect::<Vec<_>>(),
                "cost_burden": s.cost_burden.as_ref().map(render_cost),
            }),
        );
    }
    v
}

// ---------------------------------------------------------------------------------------------
// Collective statements: v1's statements seen through v2
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum SortKey {
    Date(Option<NaiveDate>),
    Time(DateTime<Utc>),
    Text(Option<String>),
}

/// Sorts by `ordering` (default `-created`), ties newest first.
fn order<T>(rows: &mut [T], ordering: &[(String, bool)], key: impl Fn(&T, &str) -> SortKey, seq: impl Fn(&T) -> u64) {
    let default = [("created".to_string(), true)];
    let ordering = if ordering.is_empty() { &default[..] } else { ordering };
    rows.sort_by(|a, b| {
        for (field, desc) in ordering {
            let o = key(a, field).cmp(&key(b, field));
            let o = if *desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        seq(b).cmp(&seq(a))
    });
}

/// When each cancelled statement of `scope` was cancelled through the back office (its
/// `statement.cancelled` event).
fn cancellations(db: &Db, scope: &Scope) -> HashMap<Uuid, DateTime<Utc>> {
    let mut out: HashMap<Uuid, DateTime<Utc>> = HashMap::new();
    for e in db.v2_events.iter(scope).filter(|e| e.kind == "statement.cancelled") {
        if let Some(id) = e
            .data
            .get("statement_id")
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
        {
            let at = out.entry(id).or_insert(e.created_at);
            *at = (*at).max(e.created_at);
        }
    }
    out
}

/// A v1 statement with what v2 adds to it.
#[derive(Debug, Clone)]
struct View<'a> {
    s: &'a Statement,
    cancelled_at: Option<DateTime<Utc>>,
}

impl<'a> View<'a> {
    fn new(s: &'a Statement, cancels: &HashMap<Uuid, DateTime<Utc>>) -> Self {
        let cancelled_at = s
            .canceled
            .then(|| cancels.get(&s.id).copied().unwrap_or(s.created + FIXTURE_CANCEL_DELAY));
        View { s, cancelled_at }
    }

    fn updated_at(&self) -> DateTime<Utc> {
        self.cancelled_at.unwrap_or(self.s.created)
    }

    fn sort_key(&self, field: &str) -> SortKey {
        match field {
            "booking_date" => SortKey::Date(Some(self.s.booking_date)),
            "period_start" => SortKey::Date(Some(self.s.period_start)),
            "period_end" => SortKey::Date(Some(self.s.period_end)),
            "created" => SortKey::Time(self.s.created),
            "updated" => SortKey::Time(self.updated_at()),
            "clearing_no" => SortKey::Text(Some(self.s.clearing_no.clone())),
            _ => SortKey::Text(Some(self.s.invoice_no.clone())),
        }
    }
}

/// A v1 amount (`{value, currency}`) as a decimal (zero when absent).
fn dec(v: Option<&Value>) -> Decimal {
    v.and_then(|v| v.get("value"))
        .and_then(Value::as_str)
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(Decimal::ZERO)
}

/// A v1 amount in v2's form (zero when v1 leaves it out).
fn amount(v: Option<&Value>) -> Value {
    money(dec(v))
}

/// A VAT rate as a percent string (`"19.00"`), whichever way v1 wrote it.
fn percent(v: Option<&Value>) -> Value {
    let parsed = match v {
        Some(Value::String(s)) => s.trim().parse::<Decimal>().ok(),
        Some(Value::Number(n)) => n.to_string().parse::<Decimal>().ok(),
        _ => None,
    };
    match parsed {
        Some(mut d) => {
            if d > Decimal::ZERO && d < Decimal::ONE {
                d *= Decimal::from(100);
            }
            let mut d = d.round_dp(2);
            d.rescale(2);
            Value::String(d.to_string())
        }
        None => Value::Null,
    }
}

fn same_rate(a: Option<&Value>, b: Option<&Value>) -> bool {
    percent(a) == percent(b)
}

fn list_row(v: &View<'_>) -> Value {
    let s = v.s;
    json!({
        "id": s.id.to_string(),
        "clearing_no": s.clearing_no,
        "invoice_no": s.invoice_no,
        "booking_date": date(&Some(s.booking_date)),
        "period_start": date(&Some(s.period_start)),
        "period_end": date(&Some(s.period_end)),
        "status": if s.canceled { "cancelled" } else { "published" },
        "cancelled_at": v.cancelled_at.as_ref().map(ts),
        "published_at": ts(&s.created),
        "comment": s.comment,
        "mandate_count": s.mandate_count,
        "created_at": ts(&s.created),
        "updated_at": ts(&v.updated_at()),
    })
}

fn details_of<'a>(db: &'a Db, s: &Statement) -> Vec<&'a MandateDetail> {
    db.mandate_details
        .lookup(&s.scope, "statement", &s.id.to_string())
        .collect()
}

fn third_party_block(v: Option<&Value>) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("total_payments".into(), amount(v.and_then(|v| v.get("total_payments"))));
    m.insert("payout".into(), amount(v.and_then(|v| v.get("payout"))));
    for name in ALLOCATIONS {
        let key = format!("allocation_to_{name}");
        m.insert(key.clone(), amount(v.and_then(|v| v.get(&key))));
    }
    Value::Object(m)
}

fn third_party_money(entry: &Value) -> Value {
    let t = entry.get("third_party_money").unwrap_or(entry);
    json!({
        "vat_rate": percent(entry.get("vat_rate").or_else(|| t.get("vat_rate"))),
        "total_payments": amount(t.get("total_payments")),
        "payments_to_dca": third_party_block(t.get("payments_to_dca")),
        "payments_to_client": third_party_block(t.get("payments_to_client")),
        "extraordinary_payouts_to_client": third_party_block(t.get("extraordinary_payouts_to_client")),
    })
}

fn cost_burden(entry: &Value) -> Value {
    let c = entry.get("cost_burden").unwrap_or(entry);
    json!({
        "vat_rate": percent(entry.get("vat_rate").or_else(|| c.get("vat_rate"))),
        "fee": amount(c.get("fee")),
        "fee_vat": amount(c.get("fee_vat")),
        "tax_free_expenses": amount(c.get("tax_free_expenses")),
        "taxable_expenses": amount(c.get("taxable_expenses")),
        "taxable_expenses_vat": amount(c.get("taxable_expenses_vat")),
        "litigation_taxfree_expenses": amount(c.get("litigation_taxfree_expenses")),
        "litigation_taxable_expenses": amount(c.get("litigation_taxable_expenses")),
        "litigation_taxable_expenses_vat": amount(c.get("litigation_taxable_expenses_vat")),
        "total_amount": amount(c.get("total_amount")),
    })
}

fn closing_label(code: &str) -> Option<&'static str> {
    CLOSING_CODES.iter().find(|(c, _)| *c == code).map(|(_, l)| *l)
}

/// v1's closing in v2's form.
fn closing(v: &Value) -> Value {
    let Some(o) = v.as_object() else {
        return Value::Null;
    };
    let kind = o
        .get("closing_type")
        .and_then(Value::as_str)
        .filter(|k| CLOSING_TYPES.contains(k))
        .unwrap_or("positive");
    let raw = o.get("closing_code").and_then(Value::as_str).unwrap_or("");
    let code = if closing_label(raw).is_some() {
        raw
    } else {
        match kind {
            "negative" => "IN06",
            "transition_to_longtime_monitoring" => "IÜ01",
            _ => "IP01",
        }
    };
    let description = o
        .get("closing_description")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .or_else(|| closing_label(code).map(str::to_string));
    json!({
        "closing_date": o.get("closing_date").cloned().unwrap_or(Value::Null),
        "closing_code": code,
        "closing_description": description,
        "closing_type": kind,
        "accepted_main_claim_amount": o.get("accepted_main_claim_amount").map_or(Value::Null, |a| amount(Some(a))),
        "remaining_main_claim_amount": o.get("remaining_main_claim_amount").map_or(Value::Null, |a| amount(Some(a))),
    })
}

/// The other published statements with `mandate`, newest booking first.
fn related(db: &Db, s: &Statement, mandate: Uuid) -> Vec<Value> {
    let mut others: Vec<&Statement> = db
        .mandate_details
        .lookup(&s.scope, "mandate", &mandate.to_string())
        .filter(|d| d.statement != s.id)
        .filter_map(|d| db.statements.get(&s.scope, &d.statement.to_string()))
        .filter(|o| !o.canceled)
        .collect();
    others.sort_by(|a, b| {
        b.booking_date
            .cmp(&a.booking_date)
            .then(b.created.cmp(&a.created))
            .then(b.seq.cmp(&a.seq))
    });
    others.dedup_by_key(|o| o.id);
    others
        .iter()
        .map(|o| {
            json!({
                "id": o.id.to_string(),
                "clearing_no": o.clearing_no,
                "booking_date": date(&Some(o.booking_date)),
                "period_start": date(&Some(o.period_start)),
                "period_end": date(&Some(o.period_end)),
            })
        })
        .collect()
}

/// `StatementMandateRow` of detail `d` of statement `s`.
fn mandate_row(db: &Db, s: &Statement, d: &MandateDetail) -> Value {
    let m = db.mandates.get(&s.scope, &d.mandate.to_string());
    json!({
        "id": d.mandate.to_string(),
        "reference_number": m.map_or(d.reference_number.clone(), |m| m.reference_number.clone()),
        "debtor": m.map_or(Value::Null, |m| crate::v2::mandates::debtor_of(db, m)),
        "state": m.map_or(Value::Null, crate::v2::mandates::state_of),
        "created_at": m.map_or(Value::Null, |m| ts(&m.created)),
        "amount": m.map_or(Value::Null, |m| money(m.balance.total_legal())),
        "closing": d.closing.as_ref().map_or(Value::Null, closing),
        "cost_burden": d.cost_burden_entries.iter().map(cost_burden).collect::<Vec<_>>(),
        "third_party_money": d.third_party_money_entries.iter().map(third_party_money).collect::<Vec<_>>(),
        "related_statements": related(db, s, d.mandate),
    })
}

fn claims_block(v: Option<&Value>, names: &[&str]) -> Value {
    let mut m = serde_json::Map::new();
    for name in names {
        m.insert((*name).to_string(), amount(v.and_then(|v| v.get(*name))));
    }
    Value::Object(m)
}

const PAYMENT_CLAIMS: &[&str] = &[
    "fee_claims",
    "fee_vat_claims",
    "success_commission_claims",
    "success_commission_vat_claims",
    "taxable_expenses_claims",
    "taxable_expenses_vat_claims",
    "taxfree_expenses_claims",
];
const ADVANCED_CLAIMS: &[&str] = &[
    "fee_claims",
    "fee_vat_claims",
    "taxable_expenses_claims",
    "taxable_expenses_vat_claims",
    "taxfree_expenses_claims",
    "taxable_litigation_expenses_claims",
    "taxable_litigation_expenses_vat_claims",
    "taxfree_litigation_expenses_claims",
];

fn vat_entry(e: &Value, details: &[&MandateDetail]) -> Value {
    let rate = e.get("vat_rate");
    let sum_payments = |block: &str| -> Decimal {
        details
            .iter()
            .flat_map(|d| d.third_party_money_entries.iter())
            .filter(|t| same_rate(t.get("vat_rate"), rate))
            .map(|t| {
                let inner = t.get("third_party_money").unwrap_or(t);
                dec(inner.get(block).and_then(|b| b.get("total_payments")))
            })
            .sum()
    };
    json!({
        "vat_rate": percent(rate),
        "invoice_amount": amount(e.get("invoice_amount")),
        "invoice_amount_vat": amount(e.get("invoice_amount_vat")),
        "vat": amount(e.get("vat")),
        "payout": amount(e.get("payout")),
        "total_payments_to_dca": money(sum_payments("payments_to_dca")),
        "instalment_payments_to_client": money(sum_payments("payments_to_client")),
        "claims_from_payments_to_dca": claims_block(e.get("claims_from_payments_to_dca"), PAYMENT_CLAIMS),
        "claims_from_payments_to_client": claims_block(e.get("claims_from_payments_to_client"), PAYMENT_CLAIMS),
        "claims_from_advanced_costs": claims_block(e.get("claims_from_advanced_costs"), ADVANCED_CLAIMS),
    })
}

/// v1's download type as v2 names it.
fn file_type(v1: &str) -> String {
    v1.replace('_', "-")
}

/// `StatementRead`.
fn render_read(db: &Db, v: &View<'_>, origin: &Origin) -> Value {
    let s = v.s;
    let details = details_of(db, s);
    let mut out = list_row(v);
    if let Value::Object(o) = &mut out {
        o.insert(
            "financials".into(),
            json!({
                "balance_before_outstanding_items_offsetting": money(s.balance_pre_outstanding_items_offsetting.value),
                "outstanding_items_offset": money(s.offset_outstanding_items.value),
                "total_balance": money(s.total_balance.value),
                "vat_entries": s.overview_vat_specific.iter().map(|e| vat_entry(e, &details)).collect::<Vec<_>>(),
            }),
        );
        let files: Vec<Value> = s
            .downloads
            .iter()
            .map(|d| {
                let kind = file_type(&d.kind);
                json!({
                    "type": kind,
                    "filename": d.filename,
                    "media_type": d.mime_type,
                    "download_url": origin.url(&format!("/v2/statements/{}/download/?type={kind}", s.id)),
                })
            })
            .collect();
        o.insert("files".into(), Value::Array(files));
        o.insert(
            "mandates".into(),
            Value::Array(details.iter().map(|d| mandate_row(db, s, d)).collect()),
        );
    }
    out
}

/// The statement `id` of `scope` as v2 shows it (`StatementRead`).
pub fn statement_read(db: &Db, scope: &Scope, id: Uuid, origin: &Origin) -> Option<Value> {
    let s = db.statements.get(scope, &id.to_string())?;
    let cancels = cancellations(db, scope);
    Some(render_read(db, &View::new(s, &cancels), origin))
}

fn company_name(db: &Db, company: u64) -> Option<String> {
    db.partner_company_numbered(company).and_then(|c| c.name.clone())
}

/// The case, claim and document references of the cases in statement `s` (lower case).
fn references(db: &Db, s: &Statement) -> Vec<String> {
    let mut out = Vec::new();
    for d in details_of(db, s) {
        out.push(d.reference_number.to_lowercase());
        out.extend(d.your_references.iter().map(|r| r.to_lowercase()));
        if let Some(m) = db.mandates.get(&s.scope, &d.mandate.to_string()) {
            out.push(m.reference_number.to_lowercase());
            for c in m
                .claims
                .iter()
                .filter_map(|c| db.claims.get(&s.scope, &c.id.to_string()))
            {
                out.extend(c.your_reference.iter().map(|r| r.trim().to_lowercase()));
                out.extend(c.document_reference.iter().map(|r| r.trim().to_lowercase()));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

/// The routes (nested under `/v2`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/statements/", get(list_statements))
        .route("/statements/{p1}/", get(get_statement))
        .route("/statements/{p1}/download/", get(download_statement))
        .route("/statements/{p1}/mandates/", get(list_statement_mandates))
        .route("/single-mandate-statements/", get(list_singles))
        .route("/single-mandate-statements/{p1}/", get(get_single))
        .route("/single-mandate-statements/{p1}/download/", get(download_single))
}

/// The mock-only back office of statements (see the module docs), at the root.
pub fn control_router() -> Router<AppState> {
    let mut r = Router::new();
    for (path, handler) in [
        ("/_mock/paywise/v2/statements/{p1}/cancel", post(cancel_statement)),
        (
            "/_mock/paywise/v2/mandates/{p1}/single-mandate-statements",
            post(publish_single_route),
        ),
        (
            "/_mock/paywise/v2/single-mandate-statements/{p1}/cancel",
            post(cancel_single),
        ),
        ("/_mock/paywise/v2/mandates/{p1}/statements", post(publish_statement)),
    ] {
        r = r.route(path, handler.clone()).route(&format!("{path}/"), handler);
    }
    r
}

fn path_id(raw: &str) -> Result<Uuid, V2Error> {
    Uuid::parse_str(raw).map_err(|_| V2Error::not_found())
}

async fn list_statements(State(state): State<AppState>, caller: V2Caller, origin: Origin) -> Result<Response, V2Error> {
    let mut q = Query::new(&origin.query);
    let paging = Paging::read(&mut q, true);
    let booking_from = q.date("booking_date_from");
    let booking_to = q.date("booking_date_to");
    let start_from = q.date("period_start_from");
    let start_to = q.date("period_start_to");
    let end_from = q.date("period_end_from");
    let end_to = q.date("period_end_to");
    let clearing_no = q.string("clearing_no");
    let invoice_no = q.string("invoice_no");
    let reference = q.string("mandate_reference_number");
    let ordering = q.ordering(ORDERING);
    let search = q.string("q");
    let status = q.choice("status", STATUSES);
    q.finish()?;
    let scope = caller.scope;
    let now = state.now();
    let body = state.store.read(|db| {
        let cancels = cancellations(db, &scope);
        // The statements with a case of that number: a mandate detail's own number, or its
        // mandate's.
        let with_case: Option<HashSet<Uuid>> = reference.as_ref().map(|r| {
            let by_mandate = db
                .mandates
                .lookup(&scope, "reference_number", r)
                .flat_map(|m| db.mandate_details.lookup(&scope, "mandate", &m.id.to_string()));
            db.mandate_details
                .lookup(&scope, "reference_number", r)
                .chain(by_mandate)
                .map(|d| d.statement)
                .collect()
        });
        let company = company_name(db, scope.company).map(|n| n.to_lowercase());
        let search_id = search.as_deref().and_then(|s| Uuid::parse_str(s).ok());
        let needle = search.as_ref().map(|s| s.to_lowercase());
        let in_range = |d: NaiveDate, from: Option<NaiveDate>, to: Option<NaiveDate>| {
            from.is_none_or(|f| d >= f) && to.is_none_or(|t| d <= t)
        };
        let mut rows: Vec<View<'_>> = db
            .statements
            .iter(&scope)
            .filter(|s| in_range(s.booking_date, booking_from, booking_to))
            .filter(|s| in_range(s.period_start, start_from, start_to))
            .filter(|s| in_range(s.period_end, end_from, end_to))
            .filter(|s| clearing_no.as_ref().is_none_or(|c| &s.clearing_no == c))
            .filter(|s| invoice_no.as_ref().is_none_or(|i| &s.invoice_no == i))
            .filter(|s| with_case.as_ref().is_none_or(|ids| ids.contains(&s.id)))
            .filter(|s| match status.as_deref() {
                Some("cancelled") => s.canceled,
                Some(_) => !s.canceled,
                None => true,
            })
            .filter(|s| match (&search_id, &needle) {
                (Some(id), _) => s.id == *id,
                (None, Some(n)) => {
                    s.clearing_no.to_lowercase().contains(n.as_str())
                        || s.invoice_no.to_lowercase().contains(n.as_str())
                        || company.as_ref().is_some_and(|c| c.contains(n.as_str()))
                        || references(db, s).iter().any(|r| r == n)
                }
                (None, None) => true,
            })
            .map(|s| View::new(s, &cancels))
            .collect();
        order(&mut rows, &ordering, |v, f| v.sort_key(f), |v| v.s.seq);
        page(&origin, &paging, now, rows, |v| (v.updated_at(), v.s.id), list_row)
    });
    Ok(respond(StatusCode::OK, body))
}

async fn get_statement(
    State(state): State<AppState>,
    caller: V2Caller,
    headers: HeaderMap,
    origin: Origin,
    Path(id): Path<String>,
) -> Result<Response, V2Error> {
    let id = path_id(&id)?;
    let v = state
        .store
        .read(|db| statement_read(db, &caller.scope, id, &origin))
        .ok_or_else(V2Error::not_found)?;
    Ok(show(&headers, v))
}

async fn download_statement(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    Path(id): Path<String>,
) -> Result<Response, V2Error> {
    let id = path_id(&id)?;
    let mut q = Query::new(&origin.query);
    let kind = q.choice("type", FILE_TYPES);
    let explicit = q.q.contains("type");
    q.finish()?;
    let kind = match kind {
        Some(k) => k,
        None if explicit => {
            return Err(V2Error::field("type", "invalid_choice", "type may not be blank."));
        }
        None => "full-pdf".to_string(),
    };
    let file: Download = state.store.read(|db| {
        let s = db
            .statements
            .get(&caller.scope, &id.to_string())
            .ok_or_else(V2Error::not_found)?;
        s.downloads
            .iter()
            .find(|d| file_type(&d.kind) == kind)
            .cloned()
            .ok_or_else(|| {
                V2Error::new(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    format!("The {kind} file of this statement has not been transferred yet."),
                )
            })
    })?;
    Ok(crate::v2::documents::file_response(
        &file.filename,
        &file.mime_type,
        file.content,
    ))
}

async fn list_statement_mandates(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    Path(id): Path<String>,
) -> Result<Response, V2Error> {
    let id = path_id(&id)?;
    let mut q = Query::new(&origin.query);
    let paging = Paging::read(&mut q, false);
    let document_reference = q.string("document_reference").map(|s| s.to_lowercase());
    let reference_number = q.string("reference_number").map(|s| s.to_lowercase());
    let your_reference = q.string("your_reference").map(|s| s.to_lowercase());
    q.finish()?;
    let scope = caller.scope;
    let now = state.now();
    let body = state.store.read(|db| {
        let s = db
            .statements
            .get(&scope, &id.to_string())
            .ok_or_else(V2Error::not_found)?;
        let rows: Vec<&MandateDetail> = details_of(db, s)
            .into_iter()
            .filter(|d| {
                let m = db.mandates.get(&scope, &d.mandate.to_string());
                let claims: Vec<_> = m
                    .map(|m| {
                        m.claims
                            .iter()
                            .filter_map(|c| db.claims.get(&scope, &c.id.to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
                let reference_ok = reference_number.as_ref().is_none_or(|r| {
                    d.reference_number.to_lowercase().contains(r.as_str())
                        || m.is_some_and(|m| m.reference_number.to_lowercase().contains(r.as_str()))
                });
                let yours_ok = your_reference.as_ref().is_none_or(|r| {
                    d.your_references.iter().any(|y| y.to_lowercase().contains(r.as_str()))
                        || claims.iter().any(|c| {
                            c.your_reference
                                .as_deref()
                                .is_some_and(|y| y.to_lowercase().contains(r.as_str()))
                        })
                });
                let document_ok = document_reference.as_ref().is_none_or(|r| {
                    claims.iter().any(|c| {
                        c.document_reference
                            .as_deref()
                            .is_some_and(|y| y.to_lowercase().contains(r.as_str()))
                    })
                });
                reference_ok && yours_ok && document_ok
            })
            .collect();
        Ok::<Value, V2Error>(page(
            &origin,
            &paging,
            now,
            rows,
            |d| (s.created, d.id),
            |d| mandate_row(db, s, d),
        ))
    })?;
    Ok(respond(StatusCode::OK, body))
}

async fn list_singles(State(state): State<AppState>, caller: V2Caller, origin: Origin) -> Result<Response, V2Error> {
    let mut q = Query::new(&origin.query);
    let paging = Paging::read(&mut q, true);
    let booking = q.date("booking_date");
    let booking_from = q.date("booking_date_from");
    let booking_to = q.date("booking_date_to");
    let clearing_no = q.string("clearing_no");
    let invoice_no = q.string("invoice_no");
    let mandate = q.uuid("mandate");
    let ordering = q.ordering(ORDERING);
    let reference = q.string("reference_number");
    let statement_type = q.choice("statement_type", STATEMENT_TYPES);
    let status = q.choice("status", STATUSES);
    let your_reference = q.string("your_reference");
    q.finish()?;
    let scope = caller.scope;
    let now = state.now();
    let body = state.store.read(|db| {
        let mut rows: Vec<&SingleStatement> = db
            .v2_single_statements
            .iter(&scope)
            .filter(|s| booking.is_none_or(|d| s.booking_date == d))
            .filter(|s| booking_from.is_none_or(|d| s.booking_date >= d))
            .filter(|s| booking_to.is_none_or(|d| s.booking_date <= d))
            .filter(|s| clearing_no.as_ref().is_none_or(|c| s.clearing_no.as_ref() == Some(c)))
            .filter(|s| invoice_no.as_ref().is_none_or(|i| s.invoice_no.as_ref() == Some(i)))
            .filter(|s| mandate.is_none_or(|m| s.mandate == Some(m)))
            .filter(|s| reference.as_ref().is_none_or(|r| &s.reference_number == r))
            .filter(|s| statement_type.as_ref().is_none_or(|t| &s.statement_type == t))
            .filter(|s| status.as_deref().is_none_or(|st| s.status() == st))
            .filter(|s| {
                your_reference
                    .as_ref()
                    .is_none_or(|y| s.your_reference.as_ref() == Some(y))
            })
            .collect();
        order(&mut rows, &ordering, |s, f| s.sort_key(f), |s| s.seq);
        page(
            &origin,
            &paging,
            now,
            rows,
            |s| (s.updated_at, s.id),
            |s| render_single_row(s),
        )
    });
    Ok(respond(StatusCode::OK, body))
}

fn find_single(db: &Db, scope: &Scope, id: Uuid) -> Result<SingleStatement, V2Error> {
    db.v2_single_statements
        .get(scope, &id.to_string())
        .cloned()
        .ok_or_else(V2Error::not_found)
}

async fn get_single(
    State(state): State<AppState>,
    caller: V2Caller,
    headers: HeaderMap,
    origin: Origin,
    Path(id): Path<String>,
) -> Result<Response, V2Error> {
    let id = path_id(&id)?;
    let v = state
        .store
        .read(|db| find_single(db, &caller.scope, id).map(|s| render_single(db, &s, &origin)))?;
    Ok(show(&headers, v))
}

async fn download_single(
    State(state): State<AppState>,
    caller: V2Caller,
    Path(id): Path<String>,
) -> Result<Response, V2Error> {
    let id = path_id(&id)?;
    let s = state.store.read(|db| find_single(db, &caller.scope, id))?;
    Ok(crate::v2::documents::file_response(
        &s.filename,
        "application/pdf",
        s.pdf(),
    ))
}

// ---------------------------------------------------------------------------------------------
// Settlements: what a mandate's balance received since its last single-mandate statement
// ---------------------------------------------------------------------------------------------

/// What the closing of `m` is, if the case ended (or moved to long-term monitoring): v1's
/// closing object, dated `on`.
fn closing_of(m: &Mandate, on: NaiveDate) -> Option<Value> {
    let (code, kind) = if m.legal_stage == LegalStage::LongTermMonitoring {
        ("IÜ01", "transition_to_longtime_monitoring")
    } else if !m.closed() {
        return None;
    } else {
        match (m.processing_state, m.balance.payment_state()) {
            (ProcessingState::CanceledByClient, _) => ("IN02", "negative"),
            (ProcessingState::CanceledByServiceProvider, _) => ("IN01", "negative"),
            (_, "fully_paid") => ("IP01", "positive"),
            (_, "partially_paid") => ("IP02", "positive"),
            _ => ("IN06", "negative"),
        }
    };
    Some(json!({
        "closing_date": on.format("%Y-%m-%d").to_string(),
        "closing_code": code,
        "closing_description": closing_label(code),
        "closing_type": kind,
        "accepted_main_claim_amount": Money::eur(m.balance.legal[PRINCIPAL]).to_json(),
        "remaining_main_claim_amount": Money::eur(m.balance.open(PRINCIPAL).max(Decimal::ZERO)).to_json(),
    }))
}

/// The single-mandate statement type a closing means.
fn type_of_closing(closing: Option<&Value>) -> &'static str {
    match closing.and_then(|c| c.get("closing_type")).and_then(Value::as_str) {
        Some("positive") => "final",
        Some("negative") => "negative_closing",
        Some("transition_to_longtime_monitoring") => "transition_to_longtime_monitoring",
        _ => "interim",
    }
}

fn net_of(gross: Decimal) -> Decimal {
    (gross / (Decimal::ONE + vat_rate())).round_dp(2)
}

fn vat_of(net: Decimal) -> Decimal {
    (net * vat_rate()).round_dp(2)
}

fn item(account: &str, designation: &str, kind: &str, net: Decimal, vat: Decimal) -> CostItem {
    CostItem {
        account_code: account.to_string(),
        main_account_code: format!("{}000", account.get(..1).unwrap_or("8")),
        designation: designation.to_string(),
        kind: kind.to_string(),
        net,
        vat,
    }
}

/// The cost burden of a settlement of `m` of `statement_type`: on a negative closing the collection
/// costs the debtor did not pay; on an expenses invoice the advanced expenses (an address enquiry,
/// and the court fee once the case left the extrajudicial stage).
fn cost_burden_for(m: &Mandate, statement_type: &str) -> Option<CostBurden> {
    let mut items = Vec::new();
    match statement_type {
        "negative_closing" => {
            let open = m.balance.open(0).max(Decimal::ZERO);
            if open > Decimal::ZERO {
                let net = net_of(open);
                items.push(item(
                    "8400",
                    "Inkassovergütung (nicht beigetrieben)",
                    "fee",
                    net,
                    vat_of(net),
                ));
            }
        }
        "expenses_invoice" => {
            let net = Decimal::new(840, 2);
            items.push(item(
                "8410",
                "Auslagen Adressermittlung",
                "taxable_expenses",
                net,
                vat_of(net),
            ));
            if m.legal_stage != LegalStage::Extrajudicial {
                items.push(item(
                    "8900",
                    "Gerichtskosten Mahnbescheid",
                    "tax_free_expenses",
                    Decimal::new(3600, 2),
                    Decimal::ZERO,
                ));
            }
        }
        _ => {}
    }
    (!items.is_empty()).then_some(CostBurden {
        vat_rate: vat_rate(),
        items,
    })
}

fn principal_claims(db: &Db, m: &Mandate) -> Vec<PrincipalClaim> {
    m.claims
        .iter()
        .filter_map(|c| db.claims.get(&m.scope, &c.id.to_string()))
        .map(|c| PrincipalClaim {
            voucher_no: c.document_reference.clone(),
            voucher_date: c.document_date,
            amount: c.main_claim_amount.value,
        })
        .collect()
}

fn live_singles<'a>(db: &'a Db, m: &Mandate) -> Vec<&'a SingleStatement> {
    db.v2_single_statements
        .lookup(&m.scope, "mandate", &m.id.to_string())
        .filter(|s| s.cancelled_at.is_none())
        .collect()
}

/// The settlement of what `m`'s balance received since its last (not cancelled) single-mandate
/// statement, and the same as v1 mandate-detail figures.
fn settle(db: &Db, m: &Mandate) -> (SingleVat, Figures) {
    let mut settled = [Decimal::ZERO; 12];
    let mut settled_client = Decimal::ZERO;
    for s in live_singles(db, m) {
        for v in &s.vat_entries {
            for (acc, a) in settled.iter_mut().zip(v.allocations.iter()) {
                *acc += *a;
            }
            settled_client += v.payments_to_client;
        }
    }
    let paid = &m.balance.paid;
    let overpaid = (-m.balance.open(PRINCIPAL)).max(Decimal::ZERO);
    let delta = |total: Decimal, done: Decimal| (total - done).max(Decimal::ZERO);
    let mut allocations = [Decimal::ZERO; 12];
    let fee = net_of(delta(paid[0], settled[FEE] + settled[FEE_VAT]));
    allocations[FEE] = fee;
    allocations[FEE_VAT] = vat_of(fee);
    allocations[CLIENT_COSTS] = delta(paid[1], settled[CLIENT_COSTS]);
    allocations[INTEREST] = delta(paid[2] + paid[3], settled[INTEREST]);
    allocations[MAIN] = delta(paid[PRINCIPAL] - overpaid, settled[MAIN]);
    allocations[OVERPAYMENT] = delta(overpaid, settled[OVERPAYMENT]);
    let reported: Decimal = db
        .payments
        .iter(&m.scope)
        .filter(|p| m.claims.iter().any(|c| c.id == p.claim))
        .map(|p| p.amount.value)
        .sum();
    settlement(allocations, delta(reported, settled_client))
}

/// The settlement of `allocations`, of which the client reported (received directly) up to
/// `reported`, and the same as v1 mandate-detail figures.
fn settlement(allocations: [Decimal; 12], reported: Decimal) -> (SingleVat, Figures) {
    let fee = allocations[FEE];
    let total: Decimal = allocations.iter().sum();
    let passthrough = allocations[MAIN] + allocations[CLIENT_COSTS] + allocations[OVERPAYMENT];
    let to_client = reported.min(passthrough);
    let to_dca = total - to_client;
    let vat = SingleVat {
        vat_rate: vat_rate(),
        payments_to_dca: to_dca,
        payments_to_client: to_client,
        instalment_payments_to_client: Decimal::ZERO,
        allocations,
        payout: to_dca - allocations[FEE] - allocations[FEE_VAT],
    };
    let figures = Figures {
        main: passthrough - to_client,
        interest: allocations[INTEREST],
        fee,
        client_main: to_client,
        ..Figures::default()
    };
    (vat, figures)
}

/// The settlement of the payments `covered` booked on `m` (every payment on `m` is one the client
/// reported): each payment's allocation is replayed in booking order on the mandate's legal claim,
/// so it is what that payment paid off, whatever the payments before it settled.
fn settle_payments(db: &Db, m: &Mandate, covered: &[Uuid]) -> (SingleVat, Figures) {
    let mut booked: Vec<&crate::resources::payments::Payment> = m
        .claims
        .iter()
        .flat_map(|c| c.payments.iter())
        .filter_map(|id| db.payments.get(&m.scope, &id.to_string()))
        .collect();
    booked.sort_by_key(|p| (p.created.max(m.created), p.seq));
    let mut balance = crate::resources::mandates::Balance::new(m.balance.legal, m.created);
    let over = |b: &crate::resources::mandates::Balance| (-b.open(PRINCIPAL)).max(Decimal::ZERO);
    let mut paid = [Decimal::ZERO; 5];
    let mut overpaid = Decimal::ZERO;
    let mut reported = Decimal::ZERO;
    for p in booked {
        let (before, over_before) = (balance.paid, over(&balance));
        balance.allocate(p.amount.value);
        if covered.contains(&p.id) {
            for (acc, (now, was)) in paid.iter_mut().zip(balance.paid.iter().zip(before.iter())) {
                *acc += *now - *was;
            }
            overpaid += over(&balance) - over_before;
            reported += p.amount.value;
        }
    }
    let mut allocations = [Decimal::ZERO; 12];
    let fee = net_of(paid[0]);
    allocations[FEE] = fee;
    allocations[FEE_VAT] = vat_of(fee);
    allocations[CLIENT_COSTS] = paid[1];
    allocations[INTEREST] = paid[2] + paid[3];
    allocations[MAIN] = paid[PRINCIPAL] - overpaid;
    allocations[OVERPAYMENT] = overpaid;
    settlement(allocations, reported)
}

/// A new single-mandate statement of `m` (not stored yet), with its settlement's v1 figures.
fn new_single(
    db: &Db,
    state: &AppState,
    m: &Mandate,
    statement_type: Option<String>,
    booking_date: NaiveDate,
) -> Result<(SingleStatement, Figures, Option<Value>), V2Error> {
    let previous = live_singles(db, m)
        .into_iter()
        .map(|s| s.period_end.unwrap_or(s.booking_date))
        .max();
    let period_start = previous.map(|d| d + Duration::days(1));
    if let Some(start) = period_start
        && booking_date < start
    {
        return Err(V2Error::field(
            "booking_date",
            "invalid",
            format!(
                "The mandate's previous statement settled up to {}; book on or after {start}.",
                start - Duration::days(1)
            ),
        ));
    }
    let settled = settle(db, m);
    Ok(single_of(
        db,
        state,
        m,
        statement_type,
        (booking_date, booking_date),
        settled,
        state.now(),
    ))
}

/// A new single-mandate statement of `m` (not stored yet) booked on `dates.0`, settling up to
/// `dates.1` what `settled` says, created `now`, with its settlement's v1 figures and the case's
/// closing.
fn single_of(
    db: &Db,
    state: &AppState,
    m: &Mandate,
    statement_type: Option<String>,
    dates: (NaiveDate, NaiveDate),
    settled: (SingleVat, Figures),
    now: DateTime<Utc>,
) -> (SingleStatement, Figures, Option<Value>) {
    let (booking_date, period_end) = dates;
    let period_start = live_singles(db, m)
        .into_iter()
        .map(|s| s.period_end.unwrap_or(s.booking_date))
        .max()
        .map(|d| (d + Duration::days(1)).min(period_end));
    let closing = closing_of(m, booking_date);
    let statement_type = statement_type.unwrap_or_else(|| type_of_closing(closing.as_ref()).to_string());
    let (vat, mut figures) = settled;
    let cost = cost_burden_for(m, &statement_type);
    figures.cost_fee = cost.as_ref().map_or(Decimal::ZERO, CostBurden::fee);
    let n = db.v2_single_statements.scope_len(&m.scope) + 1;
    let clearing_no = format!("EA-{}-{n:05}", booking_date.format("%Y"));
    let invoice_no = cost
        .as_ref()
        .map(|_| format!("RA-{}-{:05}", booking_date.format("%y"), 3_000 + n));
    let debtor = db.debtors.get(&m.scope, &m.debtor.to_string());
    let mut s = SingleStatement {
        seq: state.ids.next_seq(),
        scope: m.scope,
        id: state.ids.uuid(),
        mandate: Some(m.id),
        reference_number: m.reference_number.clone(),
        your_reference: debtor.and_then(|d| d.your_reference.clone()),
        statement_type,
        booking_date,
        period_start,
        period_end: Some(period_end),
        filename: format!("Aktenabrechnung_{}_{clearing_no}.pdf", m.reference_number),
        clearing_no: Some(clearing_no),
        invoice_no,
        comment: None,
        payout_method: String::new(),
        pre_tax_deductible: pre_tax_deductible(db, m.scope),
        principal_claims: principal_claims(db, m),
        open_principal_claim: m.balance.open(PRINCIPAL).max(Decimal::ZERO),
        vat_entries: vec![vat],
        cost_burden: cost,
        created_at: now,
        updated_at: now,
        cancelled_at: None,
    };
    s.payout_method = payout_method(s.total_balance()).to_string();
    (s, figures, closing)
}

fn payout_method(balance: Decimal) -> &'static str {
    if balance >= Decimal::ZERO {
        "transfer"
    } else {
        "direct_debit"
    }
}

/// Whether the company may deduct input VAT: not when its Partner record says it is not eligible
/// (`N`), else yes.
fn pre_tax_deductible(db: &Db, scope: Scope) -> bool {
    db.partner_company_numbered(scope.company)
        .and_then(|c| c.tax_deduction_eligibility.as_deref())
        .is_none_or(|t| t != "N")
}

// ---------------------------------------------------------------------------------------------
// Back office
// ---------------------------------------------------------------------------------------------

fn today(state: &AppState) -> NaiveDate {
    state.now().date_naive()
}

fn statement_event(db: &mut Db, state: &AppState, scope: Scope, kind: &str, id: Uuid) {
    events::emit(
        db,
        state,
        scope,
        kind,
        json!({ "statement_id": id.to_string(), "statement_url": format!("/v2/statements/{id}/") }),
    );
}

fn single_event(db: &mut Db, state: &AppState, scope: Scope, kind: &str, id: Uuid) {
    events::emit(
        db,
        state,
        scope,
        kind,
        json!({
            "single_mandate_statement_id": id.to_string(),
            "single_mandate_statement_url": format!("/v2/single-mandate-statements/{id}/"),
        }),
    );
}

async fn cancel_statement(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    Path(id): Path<String>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    let id = path_id(&id)?;
    let comment = read_cancel(&body)?;
    let scope = caller.scope;
    let v = state.store.write(|db| {
        let s = db
            .statements
            .get(&scope, &id.to_string())
            .ok_or_else(V2Error::not_found)?;
        if s.canceled {
            return Err(V2Error::conflict(
                "already_cancelled",
                "This statement is already cancelled.",
            ));
        }
        db.statements.update(&scope, &id.to_string(), |s| {
            s.canceled = true;
            comment.apply(&mut s.comment);
        });
        statement_event(db, &state, scope, "statement.cancelled", id);
        statement_read(db, &scope, id, &origin).ok_or_else(V2Error::not_found)
    })?;
    Ok(respond(StatusCode::OK, v))
}

/// Reads a cancelling back-office route's body: an optional `comment` (at most 2,000
/// characters; blank clears it).
fn read_cancel(body: &serde_json::Map<String, Value>) -> Result<Patch<String>, V2Error> {
    let mut errs = Errs::default();
    let o = Obj::new(body, "", &["comment"], &mut errs);
    let comment = o.opt_string("comment", 2_000, &mut errs);
    errs.finish(comment)
}

/// What a publishing back-office route was asked for.
struct PublishBody {
    statement_type: Option<String>,
    booking_date: Option<NaiveDate>,
    files: Option<Vec<String>>,
}

/// Reads `statement_type` and `booking_date` (and, when `files`, the file types).
fn read_publish(body: &serde_json::Map<String, Value>, files: bool) -> Result<PublishBody, V2Error> {
    let mut errs = Errs::default();
    let known: &[&str] = if files {
        &["statement_type", "booking_date", "files"]
    } else {
        &["statement_type", "booking_date"]
    };
    let o = Obj::new(body, "", known, &mut errs);
    let statement_type = o.choice("statement_type", STATEMENT_TYPES, &mut errs).set();
    let booking_date = o.date("booking_date", &mut errs).set();
    let files = if files {
        o.strings("files", FILE_TYPES, FILE_TYPES.len(), &mut errs).set()
    } else {
        None
    };
    errs.finish(PublishBody {
        statement_type,
        booking_date,
        files,
    })
}

async fn publish_single_route(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    Path(id): Path<String>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    let id = path_id(&id)?;
    let PublishBody {
        statement_type: kind,
        booking_date,
        ..
    } = read_publish(&body, false)?;
    let booking = booking_date.unwrap_or_else(|| today(&state));
    let scope = caller.scope;
    let v = state.store.write(|db| {
        let m = crate::v2::mandates::find(db, scope, id)?;
        let (s, _, _) = new_single(db, &state, &m, kind, booking)?;
        let sid = s.id;
        db.v2_single_statements
            .insert(s.clone())
            .map_err(|_| V2Error::conflict("conflict", "The statement could not be stored."))?;
        single_event(db, &state, scope, "single_mandate_statement.published", sid);
        Ok::<Value, V2Error>(render_single(db, &s, &origin))
    })?;
    Ok(respond(StatusCode::CREATED, v))
}

async fn cancel_single(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    Path(id): Path<String>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    let id = path_id(&id)?;
    let comment = read_cancel(&body)?;
    let scope = caller.scope;
    let now = state.now();
    let v = state.store.write(|db| {
        let s = find_single(db, &scope, id)?;
        if s.cancelled_at.is_some() {
            return Err(V2Error::conflict(
                "already_cancelled",
                "This single-mandate statement is already cancelled.",
            ));
        }
        db.v2_single_statements.update(&scope, &id.to_string(), |s| {
            s.cancelled_at = Some(now);
            s.updated_at = now;
            comment.apply(&mut s.comment);
        });
        single_event(db, &state, scope, "single_mandate_statement.cancelled", id);
        find_single(db, &scope, id).map(|s| render_single(db, &s, &origin))
    })?;
    Ok(respond(StatusCode::OK, v))
}

fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

fn download(state: &AppState, kind: &str, clearing_no: &str) -> Download {
    let v1_kind = kind.replace('-', "_");
    let (filename, mime, content) = if kind == "full-pdf" {
        (
            format!("Abrechnung_{clearing_no}.pdf"),
            "application/pdf",
            crate::resources::files::generated_pdf(&format!("paywise Sammelabrechnung {clearing_no}")),
        )
    } else {
        (
            format!("Abrechnung_{clearing_no}_{v1_kind}.xlsx"),
            XLSX,
            format!("paywise mock spreadsheet {v1_kind} {clearing_no}\n").into_bytes(),
        )
    };
    Download {
        id: state.ids.uuid(),
        kind: v1_kind,
        filename,
        mime_type: mime.to_string(),
        file_size: content.len(),
        content,
    }
}

/// The mandate detail of `m` in statement `statement`, with the references of its claims.
fn mandate_detail(
    db: &Db,
    state: &AppState,
    m: &Mandate,
    statement: Uuid,
    closing: Option<Value>,
    (tpm, cost, sums): (Vec<Value>, Vec<Value>, crate::resources::statements::Sums),
) -> MandateDetail {
    let your_references: Vec<String> = m
        .claims
        .iter()
        .filter_map(|c| db.claims.get(&m.scope, &c.id.to_string()))
        .filter_map(|c| c.your_reference.clone())
        .collect();
    MandateDetail {
        seq: state.ids.next_seq(),
        scope: m.scope,
        id: state.ids.uuid(),
        statement,
        your_references,
        reference_number: m.reference_number.clone(),
        mandate: m.id,
        closing,
        third_party_money_entries: tpm,
        cost_burden_entries: cost,
        sums,
    }
}

async fn publish_statement(
    State(state): State<AppState>,
    caller: V2Caller,
    origin: Origin,
    Path(id): Path<String>,
    V2Json(body): V2Json,
) -> Result<Response, V2Error> {
    let id = path_id(&id)?;
    let PublishBody {
        statement_type: kind,
        booking_date,
        files,
    } = read_publish(&body, true)?;
    let booking = booking_date.unwrap_or_else(|| today(&state));
    let scope = caller.scope;
    let v = state.store.write(|db| {
        let m = crate::v2::mandates::find(db, scope, id)?;
        let (single, figures, closing) = new_single(db, &state, &m, kind, booking)?;
        let files = files.unwrap_or_else(|| {
            let mut t: Vec<String> = FILE_TYPES[..3].iter().map(|s| (*s).to_string()).collect();
            if closing.is_some() {
                t.push("closing-xlsx".into());
            }
            t
        });
        let (tpm, cost, sums) = detail_entries(&figures);
        let (overview_vat_specific, pre) = overview(&[sums]);
        let n = db.statements.len() as u64 + 101;
        let clearing_no = format!("AB-{}-{n:04}", booking.format("%Y"));
        let statement_id = state.ids.uuid();
        // The statement settles the case's whole balance so far: every payment on it no
        // statement covers yet (so the monthly rule does not publish them again).
        let covered: Vec<Uuid> = crate::resources::statements::uncovered(db, Some(scope))
            .into_iter()
            .filter(|b| b.mandate == m.id)
            .map(|b| b.payment)
            .collect();
        let detail = mandate_detail(db, &state, &m, statement_id, closing, (tpm, cost, sums));
        let statement = Statement {
            seq: state.ids.next_seq(),
            scope,
            id: statement_id,
            invoice_no: format!("RE-{}-{:05}", booking.format("%y"), 7_000 + n),
            booking_date: booking,
            period_start: month_start(booking),
            period_end: booking,
            canceled: false,
            comment: None,
            total_balance: Money::eur(pre),
            balance_pre_outstanding_items_offsetting: Money::eur(pre),
            offset_outstanding_items: Money::eur(Decimal::ZERO),
            mandate_count: 1,
            overview_vat_specific,
            downloads: FILE_TYPES
                .iter()
                .filter(|t| files.iter().any(|f| f == *t))
                .map(|t| download(&state, t, &clearing_no))
                .collect(),
            clearing_no,
            created: state.now(),
            payments: Some(covered),
        };
        let single_id = single.id;
        // All three or none: a refused insert takes back the ones before it.
        let (statement_key, detail_key) = (statement.key(), detail.key());
        let (statement_scope, detail_scope) = (statement.scope(), detail.scope());
        let stored = db.statements.insert(statement).and_then(|()| {
            db.mandate_details
                .insert(detail)
                .inspect_err(|_| drop(db.statements.remove(&statement_scope, &statement_key)))
        });
        let stored = stored.and_then(|()| {
            db.v2_single_statements.insert(single.clone()).inspect_err(|_| {
                drop(db.mandate_details.remove(&detail_scope, &detail_key));
                drop(db.statements.remove(&statement_scope, &statement_key));
            })
        });
        if let Err(e) = stored {
            tracing::warn!("statement {statement_id} not stored: {e}");
            return Err(V2Error::conflict("conflict", "The statement could not be stored."));
        }
        statement_event(db, &state, scope, "statement.published", statement_id);
        single_event(db, &state, scope, "single_mandate_statement.published", single_id);
        let statement = statement_read(db, &scope, statement_id, &origin).ok_or_else(V2Error::not_found)?;
        Ok::<Value, V2Error>(json!({
            "statement": statement,
            "single_mandate_statement": render_single(db, &single, &origin),
        }))
    })?;
    Ok(respond(StatusCode::CREATED, v))
}

/// What [`publish_payments`] published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The collective statement.
    pub statement: Uuid,
    /// The single-mandate statements, one per case, in the order of the cases.
    pub singles: Vec<Uuid>,
}

/// Publishes, at `at` (booked on its date), a collective statement of `scope` for the period
/// `period` (first and last day) with one mandate detail per case of `cases` (a mandate and the
/// payments booked on it that the statement settles: what each of them paid off), and a
/// single-mandate statement of each case's settlement; the statement lists the payments it
/// covers. Files as the back office's default (`closing-xlsx` when a case closed). Emits
/// `statement.published` and `single_mandate_statement.published` as the back office does.
/// The monthly rule of [`crate::lifecycle`] calls it.
pub fn publish_payments(
    db: &mut Db,
    state: &AppState,
    scope: Scope,
    cases: &[(Uuid, Vec<Uuid>)],
    period: (NaiveDate, NaiveDate),
    at: DateTime<Utc>,
) -> Result<Published, String> {
    let (period_start, period_end) = period;
    let booking = at.date_naive();
    let n = db.statements.len() as u64 + 101;
    let clearing_no = format!("AB-{}-{n:04}", booking.format("%Y"));
    let statement_id = state.ids.uuid();
    let mut sums = Vec::new();
    let mut singles = Vec::new();
    let mut closed = false;
    for (mandate, payments) in cases {
        let m = db
            .mandates
            .get(&scope, &mandate.to_string())
            .cloned()
            .ok_or_else(|| format!("mandate {mandate} is gone"))?;
        let settled = settle_payments(db, &m, payments);
        let (single, figures, closing) = single_of(db, state, &m, None, (booking, period_end), settled, at);
        closed |= closing.is_some();
        let (tpm, cost, s) = detail_entries(&figures);
        sums.push(s);
        let detail = mandate_detail(db, state, &m, statement_id, closing, (tpm, cost, s));
        singles.push(single.id);
        db.mandate_details.insert(detail).map_err(|e| e.to_string())?;
        db.v2_single_statements.insert(single).map_err(|e| e.to_string())?;
    }
    let (overview_vat_specific, pre) = overview(&sums);
    let statement = Statement {
        seq: state.ids.next_seq(),
        scope,
        id: statement_id,
        invoice_no: format!("RE-{}-{:05}", booking.format("%y"), 7_000 + n),
        booking_date: booking,
        period_start,
        period_end,
        canceled: false,
        comment: None,
        total_balance: Money::eur(pre),
        balance_pre_outstanding_items_offsetting: Money::eur(pre),
        offset_outstanding_items: Money::eur(Decimal::ZERO),
        mandate_count: cases.len(),
        overview_vat_specific,
        downloads: FILE_TYPES
            .iter()
            .filter(|t| closed || **t != "closing-xlsx")
            .map(|t| download(state, t, &clearing_no))
            .collect(),
        clearing_no,
        created: at,
        payments: Some(cases.iter().flat_map(|(_, p)| p.iter().copied()).collect()),
    };
    db.statements.insert(statement).map_err(|e| e.to_string())?;
    statement_event(db, state, scope, "statement.published", statement_id);
    for id in &singles {
        single_event(db, state, scope, "single_mandate_statement.published", *id);
    }
    Ok(Published {
        statement: statement_id,
        singles,
    })
}

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// The settlement of a v1 mandate detail (its third-party money and cost burden entries).
fn from_detail(d: &MandateDetail) -> (Vec<SingleVat>, Option<CostBurden>) {
    let mut vats = Vec::new();
    for e in &d.third_party_money_entries {
        let t = e.get("third_party_money").unwrap_or(e);
        let rate = percent(e.get("vat_rate").or_else(|| t.get("vat_rate")))
            .as_str()
            .and_then(|s| s.parse::<Decimal>().ok())
            .map_or_else(vat_rate, |p| (p / Decimal::from(100)).normalize());
        let blocks = [t.get("payments_to_dca"), t.get("payments_to_client")];
        let mut allocations = [Decimal::ZERO; 12];
        for (i, name) in ALLOCATIONS.iter().enumerate() {
            let key = format!("allocation_to_{name}");
            allocations[i] = blocks.iter().map(|b| dec(b.and_then(|b| b.get(&key)))).sum();
        }
        let extraordinary = t.get("extraordinary_payouts_to_client");
        vats.push(SingleVat {
            vat_rate: rate,
            payments_to_dca: dec(blocks[0].and_then(|b| b.get("total_payments"))),
            payments_to_client: dec(blocks[1].and_then(|b| b.get("total_payments"))),
            instalment_payments_to_client: dec(extraordinary.and_then(|b| b.get("total_payments"))),
            allocations,
            payout: blocks.iter().map(|b| dec(b.and_then(|b| b.get("payout")))).sum(),
        });
    }
    let mut items = Vec::new();
    for e in &d.cost_burden_entries {
        let c = e.get("cost_burden").unwrap_or(e);
        let fee = dec(c.get("fee"));
        if fee > Decimal::ZERO {
            items.push(item("8400", "Inkassovergütung", "fee", fee, dec(c.get("fee_vat"))));
        }
    }
    let cost = (!items.is_empty()).then_some(CostBurden {
        vat_rate: vat_rate(),
        items,
    });
    (vats, cost)
}

/// Adds the fixture single-mandate statements: for every mandate in v1's statements (in mandate
/// order), one derived from its first statement's mandate detail and, when it is in two or more
/// statements, one from its closing detail (or else its last); typed by the detail's closing
/// (`final`, `negative_closing`, `transition_to_longtime_monitoring`), as `expenses_invoice`
/// when it only bears costs, else `interim`. A single-mandate statement of a cancelled collective
/// statement is cancelled too. Ids derive from the mandate details' ids, so the same data gives
/// the same statements, and a statement that exists already is left alone. Call it once the
/// statements are seeded (after [`crate::resources::statements::seed`]).
pub fn seed(db: &mut Db, seq: &mut u64) {
    let mut scopes: Vec<Scope> = db.mandate_details.iter_all().map(|d| d.scope).collect();
    scopes.sort_by_key(|s| (s.company, s.mode == AccessMode::Production));
    scopes.dedup();
    let mut made = Vec::new();
    for scope in scopes {
        let mut number = db.v2_single_statements.scope_len(&scope);
        for m in db.mandates.iter(&scope) {
            let mut details: Vec<(&MandateDetail, &Statement)> = db
                .mandate_details
                .lookup(&scope, "mandate", &m.id.to_string())
                .filter_map(|d| db.statements.get(&scope, &d.statement.to_string()).map(|s| (d, s)))
                .collect();
            if details.is_empty() {
                continue;
            }
            details.sort_by_key(|(_, s)| (s.booking_date, s.seq));
            let mut plan = vec![details[0]];
            if details.len() > 1 {
                let later = details[1..]
                    .iter()
                    .find(|(d, _)| d.closing.is_some())
                    .or(details.last())
                    .copied();
                plan.extend(later);
            }
            let debtor = db.debtors.get(&scope, &m.debtor.to_string());
            let claims = principal_claims(db, m);
            let principal: Decimal = claims.iter().map(|c| c.amount).sum();
            let mut settled_main = Decimal::ZERO;
            let mut previous_end: Option<NaiveDate> = None;
            for (k, (d, s)) in plan.into_iter().enumerate() {
                let id = crate::resources::partner::derived_uuid(&format!("paywise-v2-single-statement:{}:{k}", d.id));
                let (vats, cost) = from_detail(d);
                settled_main += vats.iter().map(|v| v.allocations[MAIN]).sum::<Decimal>();
                let statement_type = match (d.closing.as_ref(), &cost) {
                    (Some(c), _) => type_of_closing(Some(c)),
                    (None, Some(_)) => "expenses_invoice",
                    (None, None) => "interim",
                };
                number += 1;
                let clearing_no = format!("EA-{}-{number:05}", s.booking_date.format("%Y"));
                let created = s.created + Duration::hours(2);
                let cancelled_at = s.canceled.then(|| s.created + FIXTURE_CANCEL_DELAY);
                let mut single = SingleStatement {
                    seq: 0,
                    scope,
                    id,
                    mandate: Some(m.id),
                    reference_number: d.reference_number.clone(),
                    your_reference: debtor.and_then(|d| d.your_reference.clone()),
                    statement_type: statement_type.to_string(),
                    booking_date: s.booking_date,
                    period_start: previous_end.map(|e| e + Duration::days(1)),
                    period_end: Some(s.period_end),
                    filename: format!("Aktenabrechnung_{}_{clearing_no}.pdf", d.reference_number),
                    invoice_no: cost
                        .as_ref()
                        .map(|_| format!("RA-{}-{:05}", s.booking_date.format("%y"), 3_000 + number)),
                    clearing_no: Some(clearing_no),
                    comment: s
                        .canceled
                        .then(|| format!("Storniert mit der Sammelabrechnung {}.", s.clearing_no)),
                    payout_method: String::new(),
                    pre_tax_deductible: pre_tax_deductible(db, scope),
                    principal_claims: claims.clone(),
                    open_principal_claim: (principal - settled_main).max(Decimal::ZERO),
                    vat_entries: vats,
                    cost_burden: cost,
                    created_at: created,
                    updated_at: cancelled_at.unwrap_or(created),
                    cancelled_at,
                };
                single.payout_method = payout_method(single.total_balance()).to_string();
                previous_end = Some(s.period_end);
                made.push(single);
            }
        }
    }
    for mut s in made {
        if db.v2_single_statements.get(&s.scope, &s.id.to_string()).is_some() {
            continue;
        }
        *seq += 1;
        s.seq = *seq;
        if let Err(e) = db.v2_single_statements.insert(s) {
            tracing::warn!("fixture single-mandate statement not added: {e}");
        }
    }
}
