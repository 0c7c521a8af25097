//! Invoices: `GET /v1/invoices`, `GET /v1/invoices/{id}`, `GET /v1/invoices/deleted`,
//! `POST /v1/invoices` (bulk upsert), `PATCH /v1/invoices` (bulk update), `PATCH
//! /v1/invoices/block` and `PATCH /v1/invoices/resume`.
//!
//! - Upserts match an existing invoice by `invoice_identifier` when given, else by
//!   `invoice_number`, within the administration (`reference/payt.md` section 5 row 11, O8).
//! - Request-level validation (a missing required key, a value of the wrong type, a bad enum value,
//!   date or amount) is a 422 and nothing is processed. Business failures are per-record `errors`
//!   in the SuccessEntity, keyed by the invoice number (`debtor_not_found`, O6).
//! - Amounts are accepted as any decimal string or number (`"1000"`, `"-600"`) and shown with two
//!   decimals (O7). Reads name the book amounts `book_total_amount`/`book_open_amount`, writes
//!   `book_amount_total`/`book_amount_open` (O9).
//! - `payments[]` replaces the invoice's payments, keyed by `origin_identifier`; payments left out
//!   are removed (and show up in `/v1/payments/deleted`). When the open amount changes and no
//!   payments are given, a payment for the difference is created.
//! - Blocking is internal (`blocked_via_api`, `block_reason`) and shows through the opt-in
//!   `flow_code` as `blocked`. Resume lifts only blocks made through the API.
//! - `document`/`ubl_document` `{checksum, filename}` attach a file registered with `POST
//!   /v1/files` whose bytes were PUT to its upload url ([`crate::storage`]). A checksum never
//!   registered is the per-record error `document_not_found`; one registered but whose bytes never
//!   arrived is `document_not_uploaded` (PUT the bytes to the `url` of `POST /v1/files` first). The
//!   opt-in `document_url`/`ubl_document_url` then serve the bytes with the filename.

use std::collections::HashSet;
use std::str::FromStr;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, patch};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::body::{
    Body, Problem, bad, items, missing, opt_bool, opt_date, opt_enum, opt_int, opt_objects, opt_str, opt_strings,
    opt_time, req_str,
};
use crate::bulk::Bulk;
use crate::error::PaytError;
use crate::fields::Fields;
use thin_vec::ThinVec;

use crate::format::two_decimals;
use crate::format::{Derived, Stamp, Text};
use crate::list::{self, ListRequest, ShowRequest};
use crate::params::{self, id_list, string_list};
use crate::resources::Label;
use crate::resources::payments::{DeletedPayment, Payment};
use crate::state::{AppState, Caller, Db};

/// Properties shown only when `fields` asks for them.
pub const OPT_IN: &[&str] = &[
    "public_url",
    "deeplink_url",
    "flow_code",
    "document_url",
    "ubl_document_url",
    "internal_note_email_address",
    "invoice_lines",
    "labels",
    "peppol_identifier",
];

/// The `payment_method` enum of invoices.
pub const PAYMENT_METHODS: &[&str] = &["bank_transfer", "direct_debit", "cash", "none", "unknown"];
/// The `cost_type` enum of invoice payments.
pub(crate) const COST_TYPES: &[&str] = &[
    "principal",
    "administration_costs",
    "interest_costs",
    "debt_collection_costs",
];
/// The `transaction_type` enum of invoice payments (the empty string is allowed).
pub(crate) const TRANSACTION_TYPES: &[&str] = &[
    "credit",
    "payment",
    "reversal",
    "revaluation",
    "settlement",
    "write_off",
    "",
];
/// The `order` enum of `GET /v1/invoices`.
pub const ORDERS: &[&str] = &["invoice_date_asc", "invoice_date_desc", "due_date_asc", "due_date_desc"];
/// The most invoice numbers (and identifiers) one block or resume request may name.
pub(crate) const MAX_BLOCK_ITEMS: usize = 1000;
/// The `flow_code` an invoice blocked through the API shows.
pub(crate) static BLOCKED_FLOW: Text = arcstr::literal!("blocked");

/// `CustomerApi_V1_InvoiceLineEntity`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InvoiceLine {
    /// What is invoiced.
    pub description: String,
    /// Unit (`piece` by default).
    pub product_unit: String,
    /// VAT percentage, e.g. `"21.0"`.
    pub vat_percentage: String,
    /// The VAT rate's code.
    pub vat_rate_code: String,
    /// Quantity, e.g. `"1.0"`.
    pub product_quantity: String,
    /// Position in the invoice.
    pub line_order: i64,
    /// Price of one unit.
    #[serde(with = "crate::format::money")]
    pub product_price: Decimal,
    /// Amount without VAT.
    #[serde(with = "crate::format::money")]
    pub total_excl_tax_amount: Decimal,
    /// Amount with VAT.
    #[serde(with = "crate::format::money")]
    pub total_incl_tax_amount: Decimal,
    /// VAT.
    #[serde(with = "crate::format::money")]
    pub vat_amount: Decimal,
}

/// `CustomerApi_V1_InvoiceEntity`, properties in the spec's order, plus internal state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Invoice {
    /// Category.
    pub category: Option<Text>,
    /// ISO 4217.
    pub currency_code: Text,
    /// Description.
    pub description: Option<Text>,
    /// Opt-in: debtor portal link.
    pub public_url: crate::links::Link,
    /// Opt-in: link into the Payt interface.
    pub deeplink_url: crate::links::Link,
    /// Opt-in: the current flow (`blocked` while blocked through the API); derived on read.
    #[serde(default, skip_serializing_if = "Derived::in_snapshot")]
    pub flow_code: Derived,
    /// Opt-in: the PDF.
    pub document_url: Option<Text>,
    /// Opt-in: the UBL document.
    pub ubl_document_url: Option<Text>,
    /// Opt-in: internal note address.
    pub internal_note_email_address: crate::links::Link,
    /// Number communicated to the debtor.
    pub invoice_number: Text,
    /// Opt-in: the lines.
    pub invoice_lines: ThinVec<InvoiceLine>,
    /// Purchase order number.
    pub purchase_order_number: Option<Text>,
    /// Opt-in: labels.
    pub labels: ThinVec<Label>,
    /// Order number.
    pub order_number: Option<Text>,
    /// The invoicing software's identifier.
    pub invoice_identifier: Option<Text>,
    /// Intended payment method.
    pub payment_method: Text,
    /// Opt-in: Peppol identifier.
    pub peppol_identifier: Option<Text>,
    /// Owning administration.
    #[serde(with = "crate::format::id")]
    pub administration_id: u64,
    /// Deprecated twin of `active_credit_case_id`; derived on read.
    #[serde(default, skip_serializing_if = "Derived::in_snapshot")]
    pub credit_case_id: Derived,
    /// The credit case it is in, if any.
    #[serde(with = "crate::format::opt_id")]
    pub active_credit_case_id: Option<u64>,
    /// The debtor it is addressed to.
    #[serde(with = "crate::format::id")]
    pub debtor_id: u64,
    /// The debtor's number; derived on read.
    #[serde(default, skip_serializing_if = "Derived::in_snapshot")]
    pub debtor_number: Derived,
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Deprecated twin of `active_payment_plan_id`; derived on read.
    #[serde(default, skip_serializing_if = "Derived::in_snapshot")]
    pub payment_plan_id: Derived,
    /// The active payment plan covering it, if any.
    #[serde(with = "crate::format::opt_id")]
    pub active_payment_plan_id: Option<u64>,
    /// The date it was fully paid.
    pub payment_date: Option<NaiveDate>,
    /// Due date.
    pub due_date: NaiveDate,
    /// Invoice date.
    pub invoice_date: NaiveDate,
    /// Administration costs.
    #[serde(with = "crate::format::money")]
    pub administration_costs_total: Decimal,
    /// Open administration costs.
    #[serde(with = "crate::format::money")]
    pub administration_costs_open: Decimal,
    /// Total amount.
    #[serde(with = "crate::format::money")]
    pub total_amount: Decimal,
    /// Open amount.
    #[serde(with = "crate::format::money")]
    pub open_amount: Decimal,
    /// Open amount in the administration's currency.
    #[serde(with = "crate::format::money")]
    pub book_open_amount: Decimal,
    /// Total amount in the administration's currency.
    #[serde(with = "crate::format::money")]
    pub book_total_amount: Decimal,
    /// Whether a user paused it.
    pub paused_by_user: bool,
    /// Forwarded to a bailiff.
    pub bailiff_at: Option<Stamp>,
    /// Ready for debt collection.
    pub collectable_at: Option<Stamp>,
    /// Sent to debt collection.
    pub debt_collection_at: Option<Stamp>,
    /// End of service announced.
    pub end_of_service_announcement_at: Option<Stamp>,
    /// Service ended.
    pub end_of_service_at: Option<Stamp>,
    /// Final reminder.
    pub final_reminder_at: Option<Stamp>,
    /// Pre-reminder.
    pub pre_reminder_at: Option<Stamp>,
    /// Deprecated twin of `reminder_1_at`.
    pub first_reminder_at: Option<Stamp>,
    /// First reminder.
    pub reminder_1_at: Option<Stamp>,
    /// Second reminder.
    pub reminder_2_at: Option<Stamp>,
    /// Third reminder.
    pub reminder_3_at: Option<Stamp>,
    /// Fourth reminder.
    pub reminder_4_at: Option<Stamp>,
    /// Latest reminder.
    pub latest_reminder_at: Option<Stamp>,
    /// Latest summons.
    pub latest_summons_at: Option<Stamp>,
    /// Notice of default.
    pub notice_of_default_at: Option<Stamp>,
    /// Paused.
    pub paused_at: Option<Stamp>,
    /// Pre-judicial phase.
    pub pre_judicial_at: Option<Stamp>,
    /// Debt collection notice.
    pub pre_summons_at: Option<Stamp>,
    /// Sent to the debtor.
    pub sent_at: Option<Stamp>,
    /// Deprecated twin of `summons_1_at`.
    pub first_summons_at: Option<Stamp>,
    /// First summons.
    pub summons_1_at: Option<Stamp>,
    /// Second summons.
    pub summons_2_at: Option<Stamp>,
    /// Third summons.
    pub summons_3_at: Option<Stamp>,
    /// Fourth summons.
    pub summons_4_at: Option<Stamp>,
    /// Last change.
    #[serde(with = "crate::format::ts")]
    pub updated_at: DateTime<Utc>,
    /// The reminder flow the invoice follows (`standard`, `b2b`, ...; not exposed directly).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub flow: Text,
    /// Blocked through `PATCH /v1/invoices/block` (not exposed by the entity).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub blocked_via_api: bool,
    /// Why it was blocked (not exposed by the entity).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub block_reason: Option<Text>,
    /// When it was blocked (not exposed by the entity).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub blocked_at: Option<Stamp>,
    /// Checksum of the PDF document (not exposed by the entity).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub document_checksum: Option<Text>,
    /// Checksum of the UBL document (not exposed by the entity).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub ubl_document_checksum: Option<Text>,
    /// The filename the PDF document was attached with (not exposed; served with the document).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub document_filename: Option<Text>,
    /// The filename the UBL document was attached with (not exposed; served with the document).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub ubl_document_filename: Option<Text>,
    /// Payment condition code (write-only).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub payment_condition: Option<Text>,
    /// Payment term in days (write-only).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub payment_term: Option<i64>,
    /// Contact identifier (write-only).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub contact_identifier: Option<Text>,
}

administration_record!(
    Invoice,
    changed = updated_at,
    lookups = |i| {
        let mut keys = vec![
            ("debtor", i.debtor_id.to_string()),
            ("number", i.invoice_number.to_string()),
        ];
        keys.extend(i.invoice_identifier.as_ref().map(|n| ("identifier", n.to_string())));
        keys.extend(i.active_credit_case_id.map(|c| ("case", c.to_string())));
        keys.extend(i.active_payment_plan_id.map(|p| ("plan", p.to_string())));
        keys
    },
    unique = &["number"]
);

/// A step of an invoice's reminder flow, in the order the flow takes them (each step's moment,
/// and the skipping of a pre-reminder whose day has passed, are time-driven rules:
/// [`crate::lifecycle`]). A step is taken once, by [`InvoiceStep::apply`], which stamps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvoiceStep {
    /// Sent (`sent_at`).
    Send,
    /// Pre-reminder.
    PreReminder,
    /// Reminder 1 (also `first_reminder_at` and `latest_reminder_at`).
    Reminder1,
    /// Reminder 2.
    Reminder2,
    /// Final reminder.
    FinalReminder,
    /// Collectable.
    Collectable,
    /// Handed over to debt collection (terminal; the rules open a credit case).
    DebtCollection,
}

impl InvoiceStep {
    /// Every step, in the order of the flow.
    pub const ALL: [InvoiceStep; 7] = [
        Self::Send,
        Self::PreReminder,
        Self::Reminder1,
        Self::Reminder2,
        Self::FinalReminder,
        Self::Collectable,
        Self::DebtCollection,
    ];

    /// Its name in the timeline.
    pub fn name(self) -> &'static str {
        match self {
            Self::Send => "sent",
            Self::PreReminder => "pre_reminder",
            Self::Reminder1 => "reminder_1",
            Self::Reminder2 => "reminder_2",
            Self::FinalReminder => "final_reminder",
            Self::Collectable => "collectable",
            Self::DebtCollection => "debt_collection",
        }
    }

    /// The webhook event taking it raises, if any.
    pub fn event(self) -> Option<&'static str> {
        match self {
            Self::Send | Self::Collectable => None,
            Self::DebtCollection => Some("invoice_to_debt_collection"),
            _ => Some("invoice_step_performed"),
        }
    }

    /// When invoice `inv` took it.
    pub fn stamp(self, inv: &Invoice) -> Option<DateTime<Utc>> {
        crate::format::at(match self {
            Self::Send => inv.sent_at,
            Self::PreReminder => inv.pre_reminder_at,
            Self::Reminder1 => inv.reminder_1_at,
            Self::Reminder2 => inv.reminder_2_at,
            Self::FinalReminder => inv.final_reminder_at,
            Self::Collectable => inv.collectable_at,
            Self::DebtCollection => inv.debt_collection_at,
        })
    }

    /// Takes it on invoice `inv` at `at`.
    pub fn apply(self, inv: &mut Invoice, at: DateTime<Utc>) {
        let stamp = Some(Stamp::new(at));
        match self {
            Self::Send => inv.sent_at = stamp,
            Self::PreReminder => inv.pre_reminder_at = stamp,
            Self::Reminder1 => {
                inv.reminder_1_at = stamp;
                inv.first_reminder_at = stamp;
                inv.latest_reminder_at = stamp;
            }
            Self::Reminder2 => {
                inv.reminder_2_at = stamp;
                inv.latest_reminder_at = stamp;
            }
            Self::FinalReminder => {
                inv.final_reminder_at = stamp;
                inv.latest_reminder_at = stamp;
            }
            Self::Collectable => inv.collectable_at = stamp,
            Self::DebtCollection => inv.debt_collection_at = stamp,
        }
        inv.updated_at = at;
    }
}

impl Invoice {
    /// The properties an answer derives ([`Derived`] in the record), as overrides of the
    /// record's placeholders: the deprecated twins mirror their successors, `debtor_number` comes
    /// from the debtor and `flow_code` from the flow and the block state. Every answer that shows
    /// an invoice (a page, one by id, a webhook's payload) writes it with these.
    pub fn view_overrides(&self, db: &Db) -> Vec<(&'static str, Value)> {
        let id = |v: Option<u64>| v.map_or(Value::Null, |n| Value::String(n.to_string()));
        let debtor_number = db
            .debtors
            .get(&self.administration_id, &self.debtor_id.to_string())
            .map_or(Value::Null, |d| Value::String(d.debtor_number.clone()));
        let flow = if self.blocked_via_api {
            BLOCKED_FLOW.as_str()
        } else if self.flow.is_empty() {
            "standard"
        } else {
            &self.flow
        };
        vec![
            ("credit_case_id", id(self.active_credit_case_id)),
            ("payment_plan_id", id(self.active_payment_plan_id)),
            ("debtor_number", debtor_number),
            ("flow_code", Value::String(flow.to_string())),
        ]
    }

    /// Whether it is fully paid.
    pub fn paid(&self) -> bool {
        self.open_amount.is_zero()
    }
}

/// The debtor-portal link of invoice `id`.
pub fn public_url(id: u64) -> crate::links::Link {
    crate::links::Link::portal(crate::links::PortalKind::Invoice, id)
}

/// The Payt-interface link of invoice `id`.
pub fn deeplink_url(admin: u64, id: u64) -> crate::links::Link {
    crate::links::Link::app(admin, crate::links::AppKind::Invoice, id)
}

/// The internal-note address of invoice `id`.
pub(crate) fn note_address(id: u64) -> crate::links::Link {
    crate::links::Link::note(crate::links::NoteKind::Invoice, id)
}

/// Where the document of invoice `id` is served (`kind`: `document.pdf` or `ubl.xml`): the
/// mock's storage ([`crate::storage`]).
pub fn document_url(admin: u64, id: u64, kind: &str) -> String {
    crate::storage::document_url(admin, id, kind)
}

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/invoices", get(list).post(upsert).patch(update))
        .route(
            "/invoices/deleted",
            list::deleted_route("invoices:read", |db| &db.deleted_invoices),
        )
        // As in Grape, a GET of these paths is a show of an invoice with that id: 404.
        .route(
            "/invoices/block",
            patch(block).get(|s: State<AppState>, c: Caller, q: RawQuery| show(s, c, Path("block".into()), q)),
        )
        .route(
            "/invoices/resume",
            patch(resume).get(|s: State<AppState>, c: Caller, q: RawQuery| show(s, c, Path("resume".into()), q)),
        )
        .route("/invoices/{id}", get(show))
}

// ------------------------------------------------------------------------------------------------
// Reads

/// The sort key `order=` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    InvoiceDate(bool),
    DueDate(bool),
}

impl Order {
    fn parse(raw: Option<&str>) -> Result<Option<Self>, PaytError> {
        match raw.map(str::trim) {
            None | Some("") => Ok(None),
            Some("invoice_date_asc") => Ok(Some(Order::InvoiceDate(false))),
            Some("invoice_date_desc") => Ok(Some(Order::InvoiceDate(true))),
            Some("due_date_asc") => Ok(Some(Order::DueDate(false))),
            Some("due_date_desc") => Ok(Some(Order::DueDate(true))),
            Some(other) => Err(PaytError::invalid(
                "order",
                format!(
                    "does not have a valid value ({other:?}): use one of {}",
                    ORDERS.join(", ")
                ),
            )),
        }
    }

    /// The position of `i` in this order: (date, id), reversed for descending orders.
    fn key(self, i: &Invoice) -> (NaiveDate, u64) {
        match self {
            Order::InvoiceDate(_) => (i.invoice_date, i.id),
            Order::DueDate(_) => (i.due_date, i.id),
        }
    }

    fn desc(self) -> bool {
        matches!(self, Order::InvoiceDate(true) | Order::DueDate(true))
    }
}

fn bool_param(q: &mock_core::query::QueryParams, name: &str) -> Result<Option<bool>, PaytError> {
    match q.get(name).map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => crate::body::bool_text(s)
            .map(Some)
            .ok_or_else(|| PaytError::invalid(name, format!("is invalid ({s:?}): expected true or false"))),
    }
}

fn number_param(q: &mock_core::query::QueryParams, name: &str) -> Result<Option<Decimal>, PaytError> {
    match q.get(name).map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => Decimal::from_str(s)
            .or_else(|_| Decimal::from_scientific(s))
            .map(Some)
            .map_err(|_| PaytError::invalid(name, format!("is invalid ({s:?}): expected a number such as 250.50"))),
    }
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<list::Written, PaytError> {
    let req = ListRequest::parse(&state, &caller, raw.as_deref(), "invoices:read")?;
    let q = &req.query;
    let paid = bool_param(q, "paid")?;
    let lte = number_param(q, "book_amount_total_lte")?;
    let gte = number_param(q, "book_amount_total_gte")?;
    let order = Order::parse(q.get("order"))?;
    let numbers = string_list(q, "invoice_numbers");
    let identifiers = string_list(q, "invoice_identifiers");
    let debtor_ids = id_list(q, "debtor_ids");
    let debtor_numbers = string_list(q, "debtor_numbers");
    let debtor_identifiers = string_list(q, "debtor_identifiers");
    let case_ids = id_list(q, "credit_case_ids");
    let admin = req.administration_id;
    let (items, has_more): (Vec<list::Viewed<Invoice>>, bool) = state.store.read(|db| {
        // Debtor numbers and identifiers are secondary keys of debtors: only those are read.
        let debtor_key = match (&debtor_numbers, &debtor_identifiers) {
            (Some(n), _) => Some(("number", n)),
            (None, Some(i)) => Some(("identifier", i)),
            (None, None) => None,
        };
        let by_debtor: Option<HashSet<u64>> = debtor_key.map(|(name, values)| {
            values
                .iter()
                .flat_map(|v| db.debtors.lookup(&admin, name, v))
                .filter(|d| {
                    debtor_numbers.as_ref().is_none_or(|n| n.contains(&d.debtor_number))
                        && debtor_identifiers
                            .as_ref()
                            .is_none_or(|n| n.contains(&d.debtor_identifier))
                })
                .map(|d| d.id)
                .collect()
        });
        let in_cases: Option<HashSet<u64>> = case_ids.as_ref().map(|ids| {
            ids.iter()
                .filter_map(|id| db.credit_cases.get(&admin, &id.to_string()))
                .flat_map(|c| c.invoice_ids.iter().copied())
                .collect()
        });
        // The only invoices that can match, where a filter names them by a secondary key.
        let debtors: Option<Vec<u64>> = match (&debtor_ids, &by_debtor) {
            (Some(a), Some(b)) => Some(a.intersection(b).copied().collect()),
            (Some(a), None) => Some(a.iter().copied().collect()),
            (None, Some(b)) => Some(b.iter().copied().collect()),
            (None, None) => None,
        };
        let under = |name: &'static str, values: &mut dyn Iterator<Item = String>| {
            let mut seqs: Vec<u64> = values
                .flat_map(|v| db.invoices.lookup(&admin, name, &v).map(|i| i.id).collect::<Vec<_>>())
                .collect();
            seqs.sort_unstable();
            seqs.dedup();
            seqs
        };
        let candidates: Option<Vec<u64>> = if let Some(d) = &debtors {
            Some(under("debtor", &mut d.iter().map(u64::to_string)))
        } else if let Some(n) = &numbers {
            Some(under("number", &mut n.iter().cloned()))
        } else {
            identifiers.as_ref().map(|n| under("identifier", &mut n.iter().cloned()))
        };
        let keep = |i: &Invoice| {
            req.common_match(i.id, i.updated_at)
                && paid.is_none_or(|p| i.paid() == p)
                && lte.is_none_or(|v| i.book_total_amount <= v)
                && gte.is_none_or(|v| i.book_total_amount >= v)
                && numbers.as_ref().is_none_or(|n| n.contains(i.invoice_number.as_str()))
                && identifiers
                    .as_ref()
                    .is_none_or(|n| i.invoice_identifier.as_ref().is_some_and(|x| n.contains(x.as_str())))
                && debtor_ids.as_ref().is_none_or(|d| d.contains(&i.debtor_id))
                && by_debtor.as_ref().is_none_or(|d| d.contains(&i.debtor_id))
                && case_ids.as_ref().is_none_or(|c| {
                    i.active_credit_case_id.is_some_and(|x| c.contains(&x))
                        || in_cases.as_ref().is_some_and(|s| s.contains(&i.id))
                })
        };
        let page = match order {
            None => {
                let page = req.page_among(&db.invoices, candidates.as_deref(), keep);
                let viewed = page.items.into_iter().map(|i| {
                    let overrides = i.view_overrides(db);
                    (i, overrides)
                });
                return Ok((viewed.collect(), page.has_more));
            }
            Some(order) => {
                // The cursor is the id of the last invoice of the previous page; the next page
                // continues after that invoice's (date, id) position in the requested order.
                let after = match req.paging.cursor {
                    None => None,
                    Some(c) => Some(
                        db.invoices
                            .get(&admin, &c.to_string())
                            .map(|i| order.key(i))
                            .ok_or_else(|| {
                                PaytError::invalid(
                                    "cursor",
                                    "is invalid: with order, pass the pagination.cursor of the previous page (the id of an invoice of this administration)",
                                )
                            })?,
                    ),
                };
                let mut all: Vec<&std::sync::Arc<Invoice>> =
                    db.invoices.iter_shared(&admin).filter(|i| keep(i)).collect();
                all.sort_by_key(|i| order.key(i));
                if order.desc() {
                    all.reverse();
                }
                let rest: Vec<&std::sync::Arc<Invoice>> = all
                    .into_iter()
                    .filter(|i| {
                        after.is_none_or(|a| if order.desc() { order.key(i) < a } else { order.key(i) > a })
                    })
                    .collect();
                let has_more = rest.len() > req.paging.per_page;
                let viewed = rest
                    .into_iter()
                    .take(req.paging.per_page)
                    .map(|i| (std::sync::Arc::clone(i), i.view_overrides(db)));
                (viewed.collect(), has_more)
            }
        };
        Ok::<_, PaytError>(page)
    })?;
    list::page_viewed(items, has_more, &req.fields, OPT_IN)
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, PaytError> {
    let req = ShowRequest::parse(&state, &caller, raw.as_deref(), "invoices:read")?;
    let query = mock_core::query::QueryParams::parse(raw.as_deref());
    let kind = query.get("identifier_type").map(str::trim).unwrap_or("").to_string();
    if !["", "invoice_number", "invoice_identifier"].contains(&kind.as_str()) {
        return Err(PaytError::invalid(
            "identifier_type",
            format!("does not have a valid value ({kind:?}): use invoice_number, invoice_identifier or leave it blank"),
        ));
    }
    let admin = req.administration_id;
    let found = state.store.read(|db| {
        let inv = match kind.as_str() {
            "invoice_number" => db.invoices.lookup(&admin, "number", &id).next(),
            "invoice_identifier" => db.invoices.lookup(&admin, "identifier", &id).next(),
            _ => params::parse_id(&id).and_then(|n| db.invoices.get(&admin, &n.to_string())),
        };
        inv.map(|i| (i.clone(), i.view_overrides(db)))
    });
    let (inv, overrides) = found.ok_or_else(|| match kind.as_str() {
        "" => PaytError::not_found("Invoice", &id),
        k => PaytError::NotFound(format!("Couldn't find Invoice with '{k}'={id}")),
    })?;
    Ok(Json(list::entity_with(&inv, &overrides, &req.fields, OPT_IN)?))
}

/// `CustomerApi_V1_DeletedInvoiceEntity`: the tombstone of a deleted invoice, kept 90 days.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeletedInvoice {
    /// Invoice number.
    pub invoice_number: String,
    /// The invoicing software's identifier.
    pub origin_identifier: Option<String>,
    /// Unique identifier of the deleted invoice.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Owning administration.
    #[serde(with = "crate::format::id")]
    pub administration_id: u64,
    /// The debtor.
    #[serde(with = "crate::format::id")]
    pub debtor_id: u64,
    /// Deletion.
    #[serde(with = "crate::format::ts")]
    pub deleted_at: DateTime<Utc>,
}

administration_record!(DeletedInvoice, changed = deleted_at);
tombstone!(DeletedInvoice);

// ------------------------------------------------------------------------------------------------
// Reading write bodies

/// Parses an amount given as a decimal string or number (`"1000"`, `"-600"`, `12.5`).
pub(crate) fn parse_amount(text: &str) -> Option<Decimal> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    Decimal::from_str(t)
        .or_else(|_| Decimal::from_scientific(t))
        .ok()
        // Bounded so that no later arithmetic (VAT, exchange rates, sums) can overflow.
        .filter(|d| d.abs() <= Decimal::from(MAX_AMOUNT) && (d.is_zero() || d.abs() >= Decimal::new(1, 6)))
}

/// The largest amount (and quantity) a write accepts.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;

/// Payt's money rule, the one every amount of a write is held to (issue 16): a decimal (a string
/// or a JSON number) whose magnitude is at most 10^12 ([`MAX_AMOUNT`]), kept to cents. Some
/// amounts add their own rules (plan terms: above 0, at most two decimals).
pub const MONEY_RULE: &str = "amounts must lie between -1000000000000 and 1000000000000";

/// The value at `key` of `m` as an amount under [`MONEY_RULE`] (not rounded), `None` when
/// absent or blank. A number out of range, a JSON integer beyond 64 bits (which the parser holds
/// as a float) included, is refused as out of range with the rule, never shown as a float.
pub(crate) fn opt_money(m: &Map<String, Value>, key: &str, path: &str) -> Result<Option<Decimal>, Problem> {
    let at = format!("{path}[{key}]");
    if let Some(Value::Number(n)) = m.get(key)
        && beyond_money_range(n)
    {
        return Err(out_of_range(&at, None));
    }
    let Some(s) = opt_str(m, key, path)? else {
        return Ok(None);
    };
    money_text(&s, &at).map(Some)
}

/// Whether a JSON number lies outside [`MONEY_RULE`]'s range (a float, or an integer beyond 64
/// bits that the parser holds as one): refused as out of range, never shown as the float it became.
pub(crate) fn beyond_money_range(n: &serde_json::Number) -> bool {
    n.as_f64()
        .is_some_and(|f| !f.is_finite() || f.abs() > MAX_AMOUNT as f64)
}

/// `s` as an amount under [`MONEY_RULE`], or the refusal naming `at`.
pub(crate) fn money_text(s: &str, at: &str) -> Result<Decimal, Problem> {
    match parse_amount(s) {
        Some(d) => Ok(d),
        // A number all the same: beyond the rule's range (or beyond what a decimal holds).
        None if s.trim().parse::<f64>().is_ok_and(|f| f.abs() > 1.0 || !f.is_finite()) => {
            Err(out_of_range(at, Some(s)))
        }
        None => Err(bad(format!(
            "{at} is not an amount ({s:?}): send a decimal such as \"1000\" or \"-600.50\"; {MONEY_RULE}"
        ))),
    }
}

/// 422 for an amount outside [`MONEY_RULE`].
pub fn out_of_range(at: &str, shown: Option<&str>) -> Problem {
    let shown = shown.map(|s| format!(" ({s:?})")).unwrap_or_default();
    bad(format!("{at} is out of range{shown}: {MONEY_RULE}"))
}

/// An optional amount under [`MONEY_RULE`], normalised to two decimals.
pub(crate) fn opt_amount(m: &Map<String, Value>, key: &str, path: &str) -> Result<Option<Decimal>, Problem> {
    Ok(opt_money(m, key, path)?.map(two_decimals))
}

/// A referenced document: `{checksum, filename, destroy}`.
#[derive(Debug, Clone, Default)]
struct DocInput {
    checksum: Option<String>,
    filename: Option<String>,
    destroy: bool,
}

fn opt_doc(m: &Map<String, Value>, key: &str, path: &str) -> Result<Option<DocInput>, Problem> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(d)) => {
            let p = format!("{path}[{key}]");
            let checksum = opt_str(d, "checksum", &p)?;
            let filename = opt_str(d, "filename", &p)?;
            let destroy = opt_bool(d, "destroy", &p)?.unwrap_or(false);
            if checksum.is_none() && !destroy {
                return Err(bad(format!(
                    "{p} needs a checksum (of a file created with POST /v1/files) or destroy=true"
                )));
            }
            Ok(Some(DocInput {
                checksum,
                filename,
                destroy,
            }))
        }
        Some(_) => Err(bad(format!(
            "{path}[{key}] must be an object with checksum, filename or destroy"
        ))),
    }
}

/// One `payments[]` item.
#[derive(Debug, Clone)]
struct PaymentInput {
    amount: Decimal,
    origin_identifier: String,
    cost_type: String,
    payment_date: Option<NaiveDate>,
    transaction_type: Option<String>,
    book_amount: Option<Decimal>,
    description: Option<String>,
    payment_method: Option<String>,
    reversal_code: Option<String>,
}

fn payments_input(m: &Map<String, Value>, path: &str) -> Result<Option<Vec<PaymentInput>>, Problem> {
    let Some(list) = opt_objects(m, "payments", path, crate::limits::MAX_INVOICE_PAYMENTS, "payments")? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (i, p) in list.into_iter().enumerate() {
        let pp = format!("{path}[payments][{i}]");
        let origin_identifier = req_str(p, "origin_identifier", &pp)?;
        if !seen.insert(origin_identifier.clone()) {
            return Err(bad(format!(
                "{pp}[origin_identifier] {origin_identifier:?} appears twice: each payment needs its own origin_identifier"
            )));
        }
        out.push(PaymentInput {
            amount: opt_amount(p, "amount", &pp)?.ok_or_else(|| missing(&format!("{pp}[amount]")))?,
            origin_identifier,
            cost_type: opt_enum(p, "cost_type", &pp, COST_TYPES)?.unwrap_or_else(|| "principal".to_string()),
            payment_date: opt_date(p, "payment_date", &pp)?,
            transaction_type: opt_enum(p, "transaction_type", &pp, TRANSACTION_TYPES)?,
            book_amount: opt_amount(p, "book_amount", &pp)?,
            description: opt_str(p, "description", &pp)?,
            payment_method: opt_str(p, "payment_method", &pp)?,
            reversal_code: opt_str(p, "reversal_code", &pp)?,
        });
    }
    Ok(Some(out))
}

/// One `invoice_lines[]` item.
#[derive(Debug, Clone)]
struct LineInput {
    description: String,
    vat_rate_code: String,
    excl: Option<Decimal>,
    incl: Option<Decimal>,
    price: Option<Decimal>,
    unit: Option<String>,
    quantity: Option<Decimal>,
    vat_percentage: Option<Decimal>,
    vat_amount: Option<Decimal>,
    line_order: Option<i64>,
}

fn lines_input(m: &Map<String, Value>, path: &str) -> Result<Option<Vec<LineInput>>, Problem> {
    let Some(list) = opt_objects(m, "invoice_lines", path, crate::limits::MAX_INVOICE_LINES, "lines")? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    let mut orders = HashSet::new();
    for (i, l) in list.iter().enumerate() {
        let lp = format!("{path}[invoice_lines][{i}]");
        let decimal = |key: &str| -> Result<Option<Decimal>, Problem> {
            match opt_str(l, key, &lp)? {
                None => Ok(None),
                Some(s) => parse_amount(&s)
                    .map(Some)
                    .ok_or_else(|| bad(format!("{lp}[{key}] is not a number ({s:?})"))),
            }
        };
        let line = LineInput {
            description: req_str(l, "description", &lp)?,
            vat_rate_code: req_str(l, "vat_rate_code", &lp)?,
            excl: opt_amount(l, "total_excl_tax_amount", &lp)?,
            incl: opt_amount(l, "total_incl_tax_amount", &lp)?,
            price: opt_amount(l, "product_price", &lp)?,
            unit: opt_str(l, "product_unit", &lp)?,
            quantity: decimal("product_quantity")?,
            vat_percentage: decimal("vat_percentage")?,
            vat_amount: opt_amount(l, "vat_amount", &lp)?,
            line_order: opt_int(l, "line_order", &lp)?,
        };
        if line.excl.is_none() && line.incl.is_none() {
            return Err(missing(&format!(
                "{lp}[total_excl_tax_amount] (or total_incl_tax_amount)"
            )));
        }
        if let Some(o) = line.line_order
            && !orders.insert(o)
        {
            return Err(bad(format!(
                "{lp}[line_order] {o} is used twice: each line needs a unique line_order"
            )));
        }
        out.push(line);
    }
    if !orders.is_empty() && orders.len() != out.len() {
        return Err(bad(format!(
            "{path}[invoice_lines]: give line_order on every line or on none"
        )));
    }
    Ok(Some(out))
}

/// One `invoices[]` item of a POST or PATCH.
#[derive(Debug, Clone, Default)]
struct InvoiceInput {
    invoice_number: String,
    invoice_identifier: Option<String>,
    currency_code: Option<String>,
    invoice_date: Option<NaiveDate>,
    due_date: Option<NaiveDate>,
    amount_total: Option<Decimal>,
    amount_open: Option<Decimal>,
    book_amount_total: Option<Decimal>,
    book_amount_open: Option<Decimal>,
    debtor_number: Option<String>,
    debtor_identifier: Option<String>,
    order_number: Option<String>,
    peppol_identifier: Option<String>,
    description: Option<String>,
    category: Option<String>,
    contact_identifier: Option<String>,
    payment_condition: Option<String>,
    payment_method: Option<String>,
    sent_at: Option<DateTime<Utc>>,
    labels: Option<Vec<String>>,
    payment_term: Option<i64>,
    document: Option<DocInput>,
    ubl_document: Option<DocInput>,
    payments: Option<Vec<PaymentInput>>,
    invoice_lines: Option<Vec<LineInput>>,
}

/// Keys every `POST /v1/invoices` item needs.
const POST_REQUIRED: &[&str] = &[
    "currency_code",
    "invoice_number",
    "invoice_date",
    "due_date",
    "book_amount_total",
    "book_amount_open",
    "amount_open",
    "amount_total",
];

fn invoice_input(m: &Map<String, Value>, path: &str, post: bool) -> Result<InvoiceInput, Problem> {
    if post {
        for key in POST_REQUIRED {
            let absent = match m.get(*key) {
                None | Some(Value::Null) => true,
                Some(Value::String(s)) => s.trim().is_empty(),
                Some(_) => false,
            };
            if absent {
                return Err(missing(&format!("{path}[{key}]")));
            }
        }
    }
    let currency_code = opt_str(m, "currency_code", path)?;
    if let Some(c) = &currency_code
        && !(c.len() == 3 && c.chars().all(|ch| ch.is_ascii_uppercase()))
    {
        return Err(bad(format!(
            "{path}[currency_code] must be an ISO 4217 code such as EUR, got {c:?}"
        )));
    }
    let input = InvoiceInput {
        invoice_number: req_str(m, "invoice_number", path)?,
        invoice_identifier: opt_str(m, "invoice_identifier", path)?,
        currency_code,
        invoice_date: opt_date(m, "invoice_date", path)?,
        due_date: opt_date(m, "due_date", path)?,
        amount_total: opt_amount(m, "amount_total", path)?,
        amount_open: opt_amount(m, "amount_open", path)?,
        book_amount_total: opt_amount(m, "book_amount_total", path)?,
        book_amount_open: opt_amount(m, "book_amount_open", path)?,
        debtor_number: opt_str(m, "debtor_number", path)?,
        debtor_identifier: opt_str(m, "debtor_identifier", path)?,
        order_number: opt_str(m, "order_number", path)?,
        peppol_identifier: opt_str(m, "peppol_identifier", path)?,
        description: opt_str(m, "description", path)?,
        category: opt_str(m, "category", path)?,
        contact_identifier: opt_str(m, "contact_identifier", path)?,
        payment_condition: opt_str(m, "payment_condition", path)?,
        payment_method: opt_enum(m, "payment_method", path, PAYMENT_METHODS)?,
        sent_at: opt_time(m, "sent_at", path)?,
        labels: opt_strings(m, "labels", path)?,
        payment_term: opt_int(m, "payment_term", path)?,
        document: opt_doc(m, "document", path)?,
        ubl_document: opt_doc(m, "ubl_document", path)?,
        payments: payments_input(m, path)?,
        invoice_lines: if post { lines_input(m, path)? } else { None },
    };
    if let (Some(i), Some(d)) = (input.invoice_date, input.due_date)
        && d < i
    {
        return Err(bad(format!(
            "{path}[due_date] ({d}) is before {path}[invoice_date] ({i})"
        )));
    }
    Ok(input)
}

// ------------------------------------------------------------------------------------------------
// Writing

/// What one item changes, computed before anything is written.
struct Change {
    invoice: Invoice,
    create: bool,
    upsert_payments: Vec<Payment>,
    remove_payments: Vec<Payment>,
    /// How much the open amount of the invoice's credit case goes down.
    case_paid: Decimal,
    warnings: Vec<&'static str>,
}

fn dec_text(d: Decimal) -> String {
    let s = d.normalize().to_string();
    if s.contains('.') { s } else { format!("{s}.0") }
}

fn build_lines(db: &Db, admin: u64, lines: &[LineInput]) -> Result<Vec<InvoiceLine>, &'static str> {
    let mut out = Vec::new();
    for (n, l) in lines.iter().enumerate() {
        let rate = db
            .vat_rates
            .lookup(&admin, "code", &l.vat_rate_code)
            .next()
            .ok_or("vat_rate_not_found")?;
        let pct = rate.rate;
        if let Some(given) = l.vat_percentage
            && given.normalize() != pct.normalize()
        {
            return Err("vat_percentage_mismatch");
        }
        let factor = pct / Decimal::from(100);
        let (excl, incl, vat) = match (l.excl, l.incl) {
            (Some(e), Some(i)) => (e, i, l.vat_amount.unwrap_or(i - e)),
            (Some(e), None) => {
                let vat = l.vat_amount.unwrap_or_else(|| two_decimals(e * factor));
                (e, e + vat, vat)
            }
            (None, Some(i)) => {
                let vat = l
                    .vat_amount
                    .unwrap_or_else(|| two_decimals(i - i / (Decimal::ONE + factor)));
                (i - vat, i, vat)
            }
            (None, None) => return Err("invoice_line_amount_missing"),
        };
        let quantity = l.quantity.unwrap_or(Decimal::ONE);
        let price = l.price.unwrap_or_else(|| {
            if quantity.is_zero() {
                excl
            } else {
                two_decimals(excl / quantity)
            }
        });
        out.push(InvoiceLine {
            description: l.description.clone(),
            product_unit: l.unit.clone().unwrap_or_else(|| "piece".to_string()),
            vat_percentage: dec_text(pct),
            vat_rate_code: rate.code.clone(),
            product_quantity: dec_text(quantity),
            line_order: l.line_order.unwrap_or(n as i64 + 1),
            product_price: price,
            total_excl_tax_amount: two_decimals(excl),
            total_incl_tax_amount: two_decimals(incl),
            vat_amount: two_decimals(vat),
        });
    }
    out.sort_by_key(|l| l.line_order);
    Ok(out)
}

/// The book amount of `amount` on `inv` (its exchange rate; 1 when the total is zero).
fn to_book(inv: &Invoice, amount: Decimal) -> Decimal {
    if inv.total_amount.is_zero() {
        amount
    } else {
        amount
            .checked_mul(inv.book_total_amount)
            .and_then(|v| v.checked_div(inv.total_amount))
            .map_or(amount, two_decimals)
    }
}

/// Computes what `input` does to the administration's invoices, or the per-record error code.
fn plan_change(
    state: &AppState,
    db: &Db,
    admin: u64,
    input: &InvoiceInput,
    post: bool,
    now: DateTime<Utc>,
) -> Result<Option<Change>, &'static str> {
    let number = &input.invoice_number;
    let existing: Option<&Invoice> = if post {
        let by_identifier = input
            .invoice_identifier
            .as_ref()
            .and_then(|ii| db.invoices.lookup(&admin, "identifier", ii).next());
        match by_identifier {
            Some(i) => {
                if &i.invoice_number != number && db.invoices.lookup(&admin, "number", number).next().is_some() {
                    return Err("invoice_number_taken");
                }
                Some(i)
            }
            None => match db.invoices.lookup(&admin, "number", number).next() {
                Some(i) if i.invoice_identifier.is_some() && input.invoice_identifier.is_some() => {
                    return Err("invoice_number_taken");
                }
                other => other,
            },
        }
    } else {
        match db.invoices.lookup(&admin, "number", number).next() {
            Some(i) => {
                if let Some(ii) = &input.invoice_identifier
                    && i.invoice_identifier.as_deref() != Some(ii.as_str())
                    && db.invoices.lookup(&admin, "identifier", ii).any(|o| o.id != i.id)
                {
                    return Err("invoice_identifier_taken");
                }
                Some(i)
            }
            None => return Ok(None),
        }
    };
    let mut warnings = Vec::new();

    // The debtor.
    let debtor = match (&input.debtor_identifier, &input.debtor_number) {
        (None, None) => None,
        (ident, num) => Some(
            // Under the debtors' secondary keys: the identifier if given, else the number.
            match ident {
                Some(x) => db.debtors.lookup(&admin, "identifier", x),
                None => db.debtors.lookup(&admin, "number", num.as_deref().unwrap_or_default()),
            }
            .find(|d| {
                ident.as_ref().is_none_or(|x| &d.debtor_identifier == x)
                    && num.as_ref().is_none_or(|x| &d.debtor_number == x)
            })
            .map(|d| d.id)
            .ok_or("debtor_not_found")?,
        ),
    };
    let create = existing.is_none();
    let mut inv = match existing {
        Some(i) => i.clone(),
        None => {
            let debtor_id = debtor.ok_or("debtor_required")?;
            let id = state.ids.next_seq();
            Invoice {
                id,
                administration_id: admin,
                debtor_id,
                public_url: public_url(id),
                deeplink_url: deeplink_url(admin, id),
                internal_note_email_address: note_address(id),
                payment_method: arcstr::literal!("unknown"),
                flow: arcstr::literal!("standard"),
                ..Default::default()
            }
        }
    };
    let before = inv.clone();
    let old_open = inv.open_amount;
    if let Some(d) = debtor {
        inv.debtor_id = d;
    }
    inv.invoice_number = number.as_str().into();
    if let Some(v) = &input.invoice_identifier {
        inv.invoice_identifier = Some(v.clone().into());
    }
    if let Some(v) = &input.currency_code {
        inv.currency_code = v.clone().into();
    }
    if let Some(v) = input.invoice_date {
        inv.invoice_date = v;
    }
    if let Some(v) = input.due_date {
        inv.due_date = v;
    }
    if inv.due_date < inv.invoice_date {
        return Err("due_date_before_invoice_date");
    }
    if let Some(v) = input.amount_total {
        inv.total_amount = v;
    }
    if let Some(v) = input.amount_open {
        inv.open_amount = v;
    }
    if let Some(v) = input.book_amount_total {
        inv.book_total_amount = v;
    } else if create {
        inv.book_total_amount = inv.total_amount;
    }
    if let Some(v) = input.book_amount_open {
        inv.book_open_amount = v;
    } else if create || input.amount_open.is_some() {
        inv.book_open_amount = to_book(&inv, inv.open_amount);
    }
    if inv.total_amount.is_sign_positive() && inv.open_amount > inv.total_amount && !inv.total_amount.is_zero() {
        return Err("open_amount_exceeds_total_amount");
    }
    for (v, slot) in [
        (&input.order_number, &mut inv.order_number),
        (&input.peppol_identifier, &mut inv.peppol_identifier),
        (&input.description, &mut inv.description),
        (&input.category, &mut inv.category),
        (&input.contact_identifier, &mut inv.contact_identifier),
    ] {
        if let Some(v) = v {
            *slot = Some(v.clone().into());
        }
    }
    if let Some(pc) = &input.payment_condition {
        if db.payment_conditions.lookup(&admin, "code", pc).next().is_none() {
            warnings.push("payment_condition_not_found");
        }
        inv.payment_condition = Some(pc.clone().into());
    }
    if let Some(v) = &input.payment_method {
        inv.payment_method = v.clone().into();
    }
    if let Some(v) = input.payment_term {
        inv.payment_term = Some(v);
    }
    if let Some(sent) = input.sent_at {
        match crate::format::at(inv.sent_at) {
            None => inv.sent_at = Some(Stamp::new(sent)),
            Some(s) if s == sent => {}
            Some(_) => warnings.push("sent_at_not_changeable_after_sending"),
        }
    }
    if let Some(labels) = &input.labels {
        let mut seen = HashSet::new();
        inv.labels = labels
            .iter()
            .filter(|l| seen.insert(l.to_string()))
            .map(|l| Label { name: l.clone() })
            .collect();
    }
    for (doc, kind) in [(&input.document, "document"), (&input.ubl_document, "ubl_document")] {
        let Some(doc) = doc else { continue };
        let (checksum, url, filename) = if kind == "document" {
            (
                &mut inv.document_checksum,
                &mut inv.document_url,
                &mut inv.document_filename,
            )
        } else {
            (
                &mut inv.ubl_document_checksum,
                &mut inv.ubl_document_url,
                &mut inv.ubl_document_filename,
            )
        };
        if doc.destroy {
            if doc.checksum.is_none() || doc.checksum.as_deref() == checksum.as_deref() {
                *checksum = None;
                *url = None;
                *filename = None;
            }
            continue;
        }
        if let Some(c) = &doc.checksum {
            // Registered with POST /v1/files, and its bytes PUT to the url it answered.
            let mut slots = db.files.lookup(&admin, "checksum", c).peekable();
            if slots.peek().is_none() {
                return Err("document_not_found");
            }
            if !slots.any(|f| f.uploaded()) {
                return Err("document_not_uploaded");
            }
            if doc.filename.is_some() || checksum.as_deref() != Some(c.as_str()) {
                *filename = doc.filename.clone().map(Into::into);
            }
            *checksum = Some(c.clone().into());
            *url = Some(
                (document_url(
                    admin,
                    inv.id,
                    if kind == "document" { "document.pdf" } else { "ubl.xml" },
                ))
                .into(),
            );
        }
    }
    if let Some(lines) = &input.invoice_lines {
        inv.invoice_lines = build_lines(db, admin, lines)?.into();
    }

    // Payments.
    let invoice_key = inv.id.to_string();
    let current: Vec<&Payment> = db
        .payments
        .lookup(&admin, "invoice", &invoice_key)
        .filter(|p| p.invoice_id == inv.id)
        .collect();
    let mut upsert_payments = Vec::new();
    let mut remove_payments = Vec::new();
    let today = now.date_naive();
    match &input.payments {
        Some(given) => {
            for p in given {
                if db.payments.lookup(&admin, "origin", &p.origin_identifier).any(|o| {
                    o.invoice_id != inv.id && o.origin_identifier.as_deref() == Some(p.origin_identifier.as_str())
                }) {
                    return Err("payment_origin_identifier_taken");
                }
                let old = current
                    .iter()
                    .find(|o| o.origin_identifier.as_deref() == Some(p.origin_identifier.as_str()));
                let mut np = match old {
                    Some(o) => (*o).clone(),
                    None => Payment {
                        id: 0,
                        administration_id: admin,
                        invoice_id: inv.id,
                        origin_identifier: Some(p.origin_identifier.clone().into()),
                        ..Default::default()
                    },
                };
                let before_p = np.clone();
                np.cost_type = Some(p.cost_type.clone().into());
                np.total_amount = p.amount;
                np.total_book_amount = p.book_amount.unwrap_or_else(|| to_book(&inv, p.amount));
                np.payment_date = p
                    .payment_date
                    .unwrap_or(if old.is_some() { np.payment_date } else { today });
                np.transaction_type = p.transaction_type.clone().map(Into::into).or(if old.is_some() {
                    np.transaction_type.clone()
                } else {
                    None
                });
                np.description = p.description.clone().map(Into::into);
                np.payment_method = p.payment_method.clone().map(Into::into);
                np.reversal_code = p.reversal_code.clone().map(Into::into);
                if old.is_none() || np != before_p {
                    np.updated_at = now;
                    upsert_payments.push(np);
                }
            }
            for o in &current {
                if !given
                    .iter()
                    .any(|p| o.origin_identifier.as_deref() == Some(p.origin_identifier.as_str()))
                {
                    remove_payments.push((*o).clone());
                }
            }
            let principal: Decimal = db
                .payments
                .lookup(&admin, "invoice", &invoice_key)
                .filter(|p| p.invoice_id == inv.id)
                .filter(|p| {
                    !remove_payments.iter().any(|r| r.id == p.id) && !upsert_payments.iter().any(|u| u.id == p.id)
                })
                .chain(upsert_payments.iter())
                .filter(|p| p.cost_type.as_deref().is_none_or(|c| c == "principal"))
                .map(|p| p.total_amount)
                .sum();
            if principal != inv.total_amount - inv.open_amount {
                warnings.push("payments_do_not_match_open_amount");
            }
        }
        None => {
            let paid = if create {
                inv.total_amount - inv.open_amount
            } else {
                old_open - inv.open_amount
            };
            if !paid.is_zero() {
                upsert_payments.push(Payment {
                    id: 0,
                    administration_id: admin,
                    invoice_id: inv.id,
                    origin_identifier: None,
                    cost_type: Some(arcstr::literal!("principal")),
                    description: Some(arcstr::literal!("Created by Payt for the changed open amount")),
                    transaction_type: Some(if paid.is_sign_positive() {
                        arcstr::literal!("payment")
                    } else {
                        arcstr::literal!("reversal")
                    }),
                    payment_method: None,
                    total_amount: paid,
                    total_book_amount: to_book(&inv, paid),
                    payment_date: today,
                    updated_at: now,
                    ..Default::default()
                });
            }
        }
    }
    let payment_dates = current
        .iter()
        .filter(|p| !remove_payments.iter().any(|r| r.id == p.id))
        .map(|p| {
            upsert_payments
                .iter()
                .find(|u| u.id == p.id && u.id != 0)
                .map_or(p.payment_date, |u| u.payment_date)
        })
        .chain(upsert_payments.iter().filter(|u| u.id == 0).map(|u| u.payment_date))
        .max();
    if inv.open_amount.is_zero() {
        if inv.payment_date.is_none() || old_open != inv.open_amount {
            inv.payment_date = Some(payment_dates.unwrap_or(today));
        }
    } else {
        inv.payment_date = None;
    }
    if inv.administration_costs_open > Decimal::ZERO && inv.open_amount.is_zero() {
        inv.administration_costs_open = Decimal::ZERO;
    }
    let changed = create || inv != before || !upsert_payments.is_empty() || !remove_payments.is_empty();
    if changed {
        inv.updated_at = now;
    }
    let case_paid = if inv.active_credit_case_id.is_some() {
        old_open - inv.open_amount
    } else {
        Decimal::ZERO
    };
    Ok(Some(Change {
        invoice: inv,
        create,
        upsert_payments,
        remove_payments,
        case_paid: if create { Decimal::ZERO } else { case_paid },
        warnings,
    }))
}

/// Inserts `record` into a tombstone table. The store keeps each scope in sequence (id) order
/// wherever a record lands, so a tombstone of an old record goes in its place. Refused only if a
/// tombstone with that id is there already.
pub(crate) fn insert_tombstone<V: mock_core::Record<Scope = u64>>(
    table: &mut mock_core::Table<V>,
    record: V,
) -> Result<(), mock_core::store::StoreError> {
    table.insert(record)
}

/// Writes a planned change. A new invoice's id was just taken from the generator and a removed
/// payment is removed once, so the store takes the invoice and every tombstone; a refusal (a bug)
/// comes back as the item's error instead of being lost, and the invoice or tombstone it concerns
/// is not written (a payment leaves only after its tombstone is in).
fn apply(
    state: &AppState,
    db: &mut Db,
    admin: u64,
    change: Change,
    now: DateTime<Utc>,
) -> Result<(), mock_core::store::StoreError> {
    let inv = change.invoice;
    let inv_id = inv.id;
    let case = inv.active_credit_case_id;
    let was_open = db
        .invoices
        .get(&admin, &inv_id.to_string())
        .map(|i| i.open_amount > Decimal::ZERO);
    let open = inv.open_amount > Decimal::ZERO;
    if change.create {
        db.invoices.insert(inv)?;
    } else {
        db.invoices.update(&admin, &inv_id.to_string(), |i| *i = inv);
    }
    for p in change.remove_payments {
        insert_tombstone(
            &mut db.deleted_payments,
            DeletedPayment {
                id: p.id,
                administration_id: admin,
                origin_identifier: p.origin_identifier.as_deref().map(str::to_owned),
                invoice_id: p.invoice_id,
                deleted_at: now,
            },
        )?;
        db.payments.remove(&admin, &p.id.to_string());
    }
    if let Some(case_id) = case
        && !change.case_paid.is_zero()
    {
        db.credit_cases.update(&admin, &case_id.to_string(), |c| {
            c.open_amount = (c.open_amount - change.case_paid).max(Decimal::ZERO);
            c.updated_at = now;
        });
    }
    let id_text = inv_id.to_string();
    if change.create {
        crate::webhooks::emit(db, &state.ids, now, admin, "invoice_created", "invoice", &id_text);
    }
    match (was_open.unwrap_or(true), open) {
        (true, false) => crate::webhooks::emit(db, &state.ids, now, admin, "invoice_paid", "invoice", &id_text),
        (false, true) if !change.create => {
            crate::webhooks::emit(db, &state.ids, now, admin, "invoice_reopened", "invoice", &id_text);
        }
        _ => {}
    }
    for mut p in change.upsert_payments {
        if p.id == 0 {
            p.id = state.ids.next_seq();
            // A fresh id from the generator, so the insert cannot meet an existing record; if it
            // did, the invoice is answered as a conflict.
            db.payments.insert(p)?;
            crate::webhooks::emit(
                db,
                &state.ids,
                now,
                admin,
                "invoice_payment_created",
                "invoice",
                &id_text,
            );
        } else {
            let key = p.id.to_string();
            db.payments.update(&admin, &key, |o| *o = p);
        }
    }
    Ok(())
}

async fn write(state: AppState, caller: Caller, body: Body, post: bool) -> Result<Value, PaytError> {
    let admin = body.authorize(&state, &caller, "invoices:write")?;
    let inputs: Vec<InvoiceInput> = items(&body, "invoices")?
        .into_iter()
        .enumerate()
        .map(|(i, m)| invoice_input(m, &format!("invoices[{i}]"), post))
        .collect::<Result<_, _>>()?;
    let now = state.now();
    let bulk = state.store.write(|db| {
        let mut bulk = Bulk::new();
        for input in &inputs {
            let key = input.invoice_number.clone();
            match plan_change(&state, db, admin, input, post, now) {
                Ok(Some(change)) => {
                    for w in &change.warnings {
                        bulk.warn(key.clone(), *w);
                    }
                    match apply(&state, db, admin, change, now) {
                        Ok(()) => bulk.processed(),
                        Err(_) => bulk.reject(key, "conflict"),
                    }
                }
                Ok(None) => bulk.reject("not_found", key),
                Err(code) => bulk.reject(key, code),
            }
        }
        bulk
    });
    Ok(bulk.to_json())
}

async fn upsert(
    State(state): State<AppState>,
    caller: Caller,
    body: Body,
) -> Result<(StatusCode, Json<Value>), PaytError> {
    let out = write(state, caller, body, true).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

async fn update(State(state): State<AppState>, caller: Caller, body: Body) -> Result<Json<Value>, PaytError> {
    write(state, caller, body, false).await.map(Json)
}

// ------------------------------------------------------------------------------------------------
// Block / resume

async fn block_or_resume(state: AppState, caller: Caller, body: Body, block: bool) -> Result<Json<Value>, PaytError> {
    let admin = body.authorize(&state, &caller, "invoices:write")?;
    if let Some(f) = body.0.get("fields") {
        Fields::from_value(f).map_err(|_| bad("fields is invalid: expected JSON such as {\"only\": [\"id\"]}"))?;
    }
    let numbers = body.string_list("invoice_numbers")?;
    let identifiers = body.string_list("invoice_identifiers")?;
    for (name, list) in [("invoice_numbers", &numbers), ("invoice_identifiers", &identifiers)] {
        if list.len() > MAX_BLOCK_ITEMS {
            return Err(PaytError::unprocessable(
                "too_many_invoices",
                format!(
                    "{name} has {} entries; send at most {MAX_BLOCK_ITEMS} per request",
                    list.len()
                ),
            ));
        }
    }
    if numbers.is_empty() && identifiers.is_empty() {
        return Err(PaytError::unprocessable(
            "missing_parameter",
            "give invoice_numbers or invoice_identifiers (or both)",
        ));
    }
    let reason = opt_str(&body.0, "reason", "")?.unwrap_or_else(|| "Blocked through the API".to_string());
    let now = state.now();
    let bulk = state.store.write(|db| {
        let mut bulk = Bulk::new();
        let mut done = HashSet::new();
        // Where several invoices share a number or identifier, the last one (the highest id)
        // is the one blocked or resumed.
        let last = |name: &'static str, key: &str| db.invoices.lookup(&admin, name, key).last().map(|i| i.id);
        let wanted: Vec<(&String, Option<u64>)> = numbers
            .iter()
            .map(|n| (n, last("number", n)))
            .chain(identifiers.iter().map(|n| (n, last("identifier", n))))
            .collect();
        for (key, id) in wanted {
            let Some(id) = id else {
                bulk.reject("not_found", key.clone());
                continue;
            };
            if !done.insert(id) {
                continue;
            }
            let warning = db.invoices.update(&admin, &id.to_string(), |i| {
                if block {
                    if i.blocked_via_api {
                        return Some("already_blocked");
                    }
                    i.blocked_via_api = true;
                    i.block_reason = Some(reason.clone().into());
                    i.blocked_at = Some(Stamp::new(now));
                    i.updated_at = now;
                    None
                } else {
                    if !i.blocked_via_api {
                        return Some("not_blocked_through_api");
                    }
                    i.blocked_via_api = false;
                    i.block_reason = None;
                    i.blocked_at = None;
                    i.updated_at = now;
                    None
                }
            });
            match warning {
                Some(Some(w)) => bulk.warn(key.clone(), w),
                Some(None) => {
                    let event = if block { "invoice_blocked" } else { "invoice_resumed" };
                    crate::webhooks::emit(db, &state.ids, now, admin, event, "invoice", &id.to_string());
                }
                None => {}
            }
            bulk.processed();
        }
        bulk
    });
    Ok(Json(bulk.to_json()))
}

async fn block(State(state): State<AppState>, caller: Caller, body: Body) -> Result<Json<Value>, PaytError> {
    block_or_resume(state, caller, body, true).await
}

async fn resume(State(state): State<AppState>, caller: Caller, body: Body) -> Result<Json<Value>, PaytError> {
    block_or_resume(state, caller, body, false).await
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use proptest::prelude::*;

    use super::{Invoice, InvoiceStep};

    proptest! {
        /// Taking any sequence of steps stamps each step taken, and only those: a step's
        /// timestamp is set exactly when it was taken, at the moment of its latest taking.
        #[test]
        fn a_step_stamps_itself_only(steps in proptest::collection::vec(proptest::sample::select(InvoiceStep::ALL.to_vec()), 0..16)) {
            let mut inv = Invoice::default();
            let mut taken = std::collections::HashMap::new();
            for (i, s) in steps.into_iter().enumerate() {
                let at = Utc.timestamp_opt(1_700_000_000 + i as i64, 0).single().unwrap_or_default();
                s.apply(&mut inv, at);
                taken.insert(s, at);
                for t in InvoiceStep::ALL {
                    prop_assert_eq!(t.stamp(&inv), taken.get(&t).copied());
                }
            }
        }
    }

    #[test]
    fn step_names_are_distinct() {
        let names: std::collections::HashSet<&str> = InvoiceStep::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(names.len(), InvoiceStep::ALL.len());
    }
}
