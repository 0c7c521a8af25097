//! Payments: `GET /v1/payments` and `GET /v1/payments/deleted`. Read-only in the API (`POST` and
//! `PUT /v1/payments` answer 405, `reference/payt.md` O5); payments come from the invoice upsert
//! (`payments[]`, or the open amount changing) and from the fixtures.
//!
//! The fixture hook of this module also fills in the invoice fields the foundation's seed leaves
//! at their defaults (timeline, lines, labels, documents, ...), since it is the first hook of the
//! invoicing group to run, and then seeds payments that account for every paid amount.

use std::collections::HashSet;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::routing::get;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use fixtures::shift;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use thin_vec::ThinVec;

use crate::error::PaytError;
use crate::format::two_decimals;
use crate::format::{Stamp, Text};
use crate::list::{self, ListRequest};
use crate::params::{id_list, string_list};
use crate::resources::Label;
use crate::resources::invoices::{self, InvoiceLine};
use crate::seed::Gen;
use crate::state::{AppState, Caller, Db};

/// Properties shown only when `fields` asks for them.
pub const OPT_IN: &[&str] = &["psp_transaction", "bank_transaction"];

/// `CustomerApi_V1_BankTransactionEntity`: the bank transaction a payment was matched to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BankTransaction {
    /// Account holder.
    pub bank_account_name: Option<String>,
    /// IBAN.
    pub bank_account_number: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// ISO 4217.
    pub currency_code: String,
    /// Exchange rate to the administration's currency.
    pub exchange_rate: String,
    /// Payment method.
    pub payment_method: Option<String>,
    /// Amount.
    #[serde(with = "crate::format::money")]
    pub amount: Decimal,
    /// Amount in the administration's currency.
    #[serde(with = "crate::format::money")]
    pub book_amount: Decimal,
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Booking date.
    pub book_date: NaiveDate,
}

/// `skip_serializing_if` of [`Payment::psp_transaction`]: `None` is left out of a snapshot only.
fn stored_none(v: &Option<Box<Value>>) -> bool {
    v.is_none() && mock_core::snapshot::storing()
}

/// A present value, `null` included, is `Some`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Box<Value>>, D::Error> {
    Value::deserialize(d).map(|v| Some(Box::new(v)))
}

/// `CustomerApi_V1_PaymentEntity`, properties in the spec's order, plus internal state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    /// Owning administration.
    #[serde(with = "crate::format::id")]
    pub administration_id: u64,
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// `principal`, `administration_costs`, `interest_costs` or `debt_collection_costs`.
    pub cost_type: Option<Text>,
    /// Description.
    pub description: Option<Text>,
    /// Reason.
    pub reason: Option<Text>,
    /// The bank's reversal code.
    pub reversal_code: Option<Text>,
    /// `credit`, `payment`, `reversal`, ...
    pub transaction_type: Option<Text>,
    /// The invoice paid.
    #[serde(with = "crate::format::id")]
    pub invoice_id: u64,
    /// Payment method.
    pub payment_method: Option<Text>,
    /// Last change.
    #[serde(with = "crate::format::ts")]
    pub updated_at: DateTime<Utc>,
    /// Amount in the invoice's currency.
    #[serde(with = "crate::format::money")]
    pub total_amount: Decimal,
    /// Amount in the administration's currency.
    #[serde(with = "crate::format::money")]
    pub total_book_amount: Decimal,
    /// Payment date.
    pub payment_date: NaiveDate,
    /// Opt-in: the PSP transaction (the mock links none). The API writes `None` and a JSON
    /// `null` alike, so a snapshot leaves `None` out and reads a present value, `null` too, as
    /// `Some`. Boxed, as the bank transaction, so that a payment without one stays small.
    #[serde(default, skip_serializing_if = "stored_none", deserialize_with = "present")]
    pub psp_transaction: Option<Box<Value>>,
    /// Opt-in: the bank transaction (boxed: most payments have none, and a payment stays small).
    pub bank_transaction: Option<Box<BankTransaction>>,
    /// The origin identifier the invoice upsert keys payments by (not exposed by the entity).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub origin_identifier: Option<Text>,
}

administration_record!(
    Payment,
    changed = updated_at,
    lookups = |p| {
        let mut keys = vec![("invoice", p.invoice_id.to_string())];
        keys.extend(p.origin_identifier.as_ref().map(|o| ("origin", o.to_string())));
        keys
    }
);

/// `CustomerApi_V1_DeletedPaymentEntity`: the tombstone of a deleted payment, kept 90 days.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeletedPayment {
    /// Unique identifier of the deleted payment.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Owning administration.
    #[serde(with = "crate::format::id")]
    pub administration_id: u64,
    /// The payment's origin identifier.
    pub origin_identifier: Option<String>,
    /// The invoice it was on.
    #[serde(with = "crate::format::id")]
    pub invoice_id: u64,
    /// Deletion.
    #[serde(with = "crate::format::ts")]
    pub deleted_at: DateTime<Utc>,
}

administration_record!(DeletedPayment, changed = deleted_at);
tombstone!(DeletedPayment);

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/payments", get(list)).route(
        "/payments/deleted",
        list::deleted_route("payments:read", |db| &db.deleted_payments),
    )
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<list::Written, PaytError> {
    let req = ListRequest::parse(&state, &caller, raw.as_deref(), "payments:read")?;
    let q = &req.query;
    let numbers = string_list(q, "invoice_numbers");
    let identifiers = string_list(q, "invoice_identifiers");
    let case_ids = id_list(q, "credit_case_ids");
    let case_numbers = string_list(q, "credit_case_numbers");
    let admin = req.administration_id;
    let page = state.store.read(|db| {
        // The filters are resolved under the invoices' and cases' secondary keys, not by a scan.
        let invoices_under = |name: &'static str, values: &HashSet<String>| -> HashSet<u64> {
            values
                .iter()
                .flat_map(|v| db.invoices.lookup(&admin, name, v).map(|i| i.id))
                .collect()
        };
        let by_invoice: Option<HashSet<u64>> = match (
            numbers.as_ref().map(|n| invoices_under("number", n)),
            identifiers.as_ref().map(|n| invoices_under("identifier", n)),
        ) {
            (Some(a), Some(b)) => Some(a.intersection(&b).copied().collect()),
            (a, b) => a.or(b),
        };
        let by_case: Option<HashSet<u64>> = (case_ids.is_some() || case_numbers.is_some()).then(|| {
            let candidates: Vec<&crate::resources::credit_cases::CreditCase> = match (&case_numbers, &case_ids) {
                (Some(n), _) => n
                    .iter()
                    .flat_map(|n| {
                        db.credit_cases
                            .lookup(&admin, "number", n)
                            .chain(db.credit_cases.lookup(&admin, "case_number", n))
                    })
                    .collect(),
                (None, Some(ids)) => ids
                    .iter()
                    .filter_map(|id| db.credit_cases.get(&admin, &id.to_string()))
                    .collect(),
                (None, None) => Vec::new(),
            };
            let cases: Vec<_> = candidates
                .into_iter()
                .filter(|c| case_ids.as_ref().is_none_or(|ids| ids.contains(&c.id)))
                .collect();
            cases
                .iter()
                .flat_map(|c| c.invoice_ids.iter().copied())
                .chain(cases.iter().flat_map(|c| {
                    db.invoices
                        .lookup(&admin, "case", &c.id.to_string())
                        .map(|i| i.id)
                        .collect::<Vec<_>>()
                }))
                .collect()
        });
        req.page_of(&db.payments, |p| {
            req.common_match(p.id, p.updated_at)
                && by_invoice.as_ref().is_none_or(|s| s.contains(&p.invoice_id))
                && by_case.as_ref().is_none_or(|s| s.contains(&p.invoice_id))
        })
    });
    list::page_shared(page, &req.fields, OPT_IN)
}

// ------------------------------------------------------------------------------------------------
// Fixtures

fn at(date: NaiveDate, g: &mut Gen) -> DateTime<Utc> {
    let secs = g.f.int(7 * 3600, 19 * 3600) as i64;
    date.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default() + Duration::seconds(secs)
}

/// A fixture deletion time: 1 to 60 days before the anchor date, so inside the 90-day window of
/// the deleted lists while the mock's clock is within a month of the anchor (the default anchor is
/// the clock's date at seeding).
fn deletion_time(g: &mut Gen) -> DateTime<Utc> {
    let day = shift(g.f.anchor(), -(g.f.int(1, 60) as i64));
    at(day, g)
}

fn invoice_lines(g: &mut Gen, total: Decimal) -> Vec<InvoiceLine> {
    const PRODUCTS: &[(&str, &str)] = &[
        ("Consultancy", "hour"),
        ("Onderhoudscontract", "piece"),
        ("Licentie software", "piece"),
        ("Installatiewerkzaamheden", "hour"),
        ("Verzendkosten", "piece"),
        ("Hosting", "month"),
        ("Kantoorartikelen", "piece"),
    ];
    let n = g.f.int(1, 3) as usize;
    let mut rest = total;
    let mut lines = Vec::new();
    for k in 0..n {
        let incl = if k + 1 == n {
            rest
        } else {
            two_decimals(total / Decimal::from(n as u64))
        };
        rest -= incl;
        let (code, pct) = if g.f.chance(0.85) {
            ("H21", Decimal::from(21))
        } else {
            ("L9", Decimal::from(9))
        };
        let excl = two_decimals(incl / (Decimal::ONE + pct / Decimal::from(100)));
        let (desc, unit) = *g.f.pick(PRODUCTS);
        lines.push(InvoiceLine {
            description: desc.to_string(),
            product_unit: unit.to_string(),
            vat_percentage: format!("{pct}.0"),
            vat_rate_code: code.to_string(),
            product_quantity: "1.0".to_string(),
            line_order: k as i64 + 1,
            product_price: excl,
            total_excl_tax_amount: excl,
            total_incl_tax_amount: incl,
            vat_amount: incl - excl,
        });
    }
    lines
}

/// A base64 SHA3-512-sized checksum (64 random bytes).
pub(crate) fn fake_checksum(g: &mut Gen) -> String {
    use base64::Engine;
    let mut bytes = Vec::with_capacity(64);
    for _ in 0..4 {
        bytes.extend_from_slice(&g.f.bytes16());
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Fills in the invoice fields the foundation seed leaves at their defaults.
#[allow(clippy::too_many_lines)]
fn enrich_invoices(g: &mut Gen, db: &mut Db, admin: u64) {
    let invoices: Vec<invoices::Invoice> = db.invoices.iter(&admin).cloned().collect();
    let conditions = ["14D", "30D", "60D", "INC"];
    for mut inv in invoices {
        let id = inv.id;
        let debtor = db.debtors.get(&admin, &inv.debtor_id.to_string()).cloned();
        let business = debtor.as_ref().is_some_and(|d| d.coc_number.is_some());
        let case = inv
            .active_credit_case_id
            .and_then(|c| db.credit_cases.get(&admin, &c.to_string()).cloned());
        inv.category = (g.f.chance(0.6).then(|| {
            g.f.pick(&["diensten", "producten", "abonnement", "projecten"])
                .to_string()
        }))
        .map(Into::into);
        inv.description = Some(arcstr::format!("Factuur {}", inv.invoice_number));
        inv.public_url = invoices::public_url(id);
        inv.deeplink_url = invoices::deeplink_url(admin, id);
        inv.internal_note_email_address = invoices::note_address(id);
        inv.flow = if business { "b2b" } else { "b2c" }.into();
        inv.invoice_lines = invoice_lines(g, inv.total_amount).into();
        inv.purchase_order_number =
            ((business && g.f.chance(0.3)).then(|| format!("PO-{}", g.f.int(10_000, 99_999)))).map(Into::into);
        inv.labels = if g.f.chance(0.2) {
            thin_vec::thin_vec![Label {
                name: g.f.pick(&["spoed", "project-x", "disputed", "vip"]).to_string(),
            }]
        } else {
            ThinVec::new()
        };
        inv.order_number = (g.f.chance(0.4).then(|| format!("SO-{}", g.f.int(100_000, 999_999)))).map(Into::into);
        inv.payment_method =
            g.f.pick(&[
                "bank_transfer",
                "bank_transfer",
                "bank_transfer",
                "direct_debit",
                "unknown",
            ])
            .to_string()
            .into();
        if inv.payment_method == "direct_debit" {
            inv.payment_condition = Some(arcstr::literal!("INC"));
        } else {
            inv.payment_condition = Some(g.f.pick(&conditions[..3]).to_string().into());
        }
        inv.payment_term = Some((inv.due_date - inv.invoice_date).num_days());
        inv.peppol_identifier = (debtor
            .as_ref()
            .and_then(|d| d.coc_number.clone())
            .filter(|_| g.f.chance(0.3))
            .map(|coc| format!("0106:{coc}")))
        .map(Into::into);
        inv.book_total_amount = inv.total_amount;
        inv.book_open_amount = inv.open_amount;
        if g.f.chance(0.15) {
            inv.administration_costs_total = Decimal::new(1500, 2);
            inv.administration_costs_open = if inv.open_amount.is_zero() {
                Decimal::ZERO
            } else {
                inv.administration_costs_total
            };
        }
        if g.f.chance(0.7) {
            inv.document_checksum = Some(fake_checksum(g).into());
            inv.document_url = Some(invoices::document_url(admin, id, "document.pdf").into());
        }
        if g.f.chance(0.3) {
            inv.ubl_document_checksum = Some(fake_checksum(g).into());
            inv.ubl_document_url = Some(invoices::document_url(admin, id, "ubl.xml").into());
        }

        // The timeline: sent, pre-reminder, reminders while open, then the case's stages.
        let unsent = inv.invoice_date > shift(g.f.anchor(), -20) && g.f.chance(0.3);
        let mut latest = inv.updated_at;
        if !unsent {
            let sent = at(inv.invoice_date, g);
            inv.sent_at = Some(Stamp::new(sent));
            latest = latest.max(sent);
            let open = !inv.open_amount.is_zero();
            let stamp = |d: NaiveDate, g: &mut Gen| (d < g.f.anchor()).then(|| Stamp::new(at(d, g)));
            inv.pre_reminder_at = stamp(shift(inv.due_date, -3), g).filter(|_| open);
            if open {
                inv.reminder_1_at = stamp(shift(inv.due_date, 7), g);
                inv.reminder_2_at = inv.reminder_1_at.and_then(|_| stamp(shift(inv.due_date, 21), g));
                inv.final_reminder_at = inv.reminder_2_at.and_then(|_| stamp(shift(inv.due_date, 35), g));
                inv.collectable_at = inv.final_reminder_at.and_then(|_| stamp(shift(inv.due_date, 49), g));
            }
            inv.first_reminder_at = inv.reminder_1_at;
            inv.latest_reminder_at = inv.final_reminder_at.or(inv.reminder_2_at).or(inv.reminder_1_at);
        }
        if let Some(c) = &case {
            inv.debt_collection_at = Some(Stamp::new(c.started_at));
            inv.pre_summons_at = c.pre_summons_at;
            inv.summons_1_at = c.summons_1_at;
            inv.first_summons_at = c.first_summons_at;
            inv.summons_2_at = c.summons_2_at;
            inv.summons_3_at = c.summons_3_at;
            inv.summons_4_at = c.summons_4_at;
            inv.latest_summons_at = c.latest_summons_at;
            inv.notice_of_default_at = c.notice_of_default_at;
            inv.pre_judicial_at = c.pre_judicial_at;
            inv.bailiff_at = c.forwarded_to_bailiff_at;
        }
        if !inv.open_amount.is_zero() && inv.sent_at.is_some() && g.f.chance(0.04) {
            let p = at(shift(g.f.anchor(), -(g.f.int(2, 30) as i64)), g);
            inv.paused_at = Some(Stamp::new(p));
            inv.paused_by_user = true;
        }
        if !inv.open_amount.is_zero() && inv.sent_at.is_some() && g.f.chance(0.04) {
            let b = at(shift(g.f.anchor(), -(g.f.int(2, 30) as i64)), g);
            inv.blocked_via_api = true;
            inv.block_reason = Some(arcstr::literal!("Disputed by the debtor"));
            inv.blocked_at = Some(Stamp::new(b));
        }
        latest = [
            Some(Stamp::new(latest)),
            inv.latest_reminder_at,
            inv.collectable_at,
            inv.latest_summons_at,
            inv.paused_at,
            inv.blocked_at,
        ]
        .into_iter()
        .flatten()
        .max()
        .map_or(latest, Stamp::at);
        inv.updated_at = latest.min(g.f.anchor_at(0));
        db.invoices.update(&admin, &id.to_string(), |i| *i = inv);
    }
}

/// Adds this resource's fixtures for administration `admin` (after debtors, invoices, credit cases,
/// payment plans and notifications exist): invoice details, payments for every paid amount, and
/// tombstones of deleted invoices and payments.
pub fn seed(g: &mut Gen, db: &mut Db, admin: u64) {
    enrich_invoices(g, db, admin);
    let invoices: Vec<invoices::Invoice> = db.invoices.iter(&admin).cloned().collect();
    let mut payments: Vec<Payment> = Vec::new();
    let mut updates: Vec<(u64, Option<NaiveDate>, DateTime<Utc>)> = Vec::new();
    // Bank transaction ids: a range of ten thousand per administration and block.
    let mut bank_id = 700_000 + admin * 10_000 + 10_000_000 * g.numbering.block;
    for inv in &invoices {
        let paid = inv.total_amount - inv.open_amount;
        if paid <= Decimal::ZERO {
            continue;
        }
        let parts = if paid > Decimal::from(500) && g.f.chance(0.3) {
            2
        } else {
            1
        };
        let span = (g.f.anchor() - inv.invoice_date).num_days().max(2);
        let mut last = inv.invoice_date;
        let mut rest = paid;
        let mut latest = inv.updated_at;
        for k in 0..parts {
            let amount = if k + 1 == parts {
                rest
            } else {
                two_decimals(paid / Decimal::from(2))
            };
            rest -= amount;
            let day = shift(last, g.f.int(1, (span / 2).max(1) as u64) as i64).min(shift(g.f.anchor(), -1));
            last = day;
            let credit = k == 0 && g.f.chance(0.05);
            let method = if credit {
                None
            } else if inv.payment_method == "direct_debit" {
                Some("direct_debit".to_string())
            } else {
                Some(g.f.pick(&["bank_transfer", "bank_transfer", "ideal"]).to_string())
            };
            let id = g.id();
            let updated = at(shift(day, 1), g).min(g.f.anchor_at(0));
            latest = latest.max(updated);
            let bank = (method.as_deref() == Some("bank_transfer")).then(|| {
                bank_id += 1;
                BankTransaction {
                    bank_account_name: db
                        .debtors
                        .get(&admin, &inv.debtor_id.to_string())
                        .map(|d| d.name.to_string()),
                    bank_account_number: Some(fixtures::iban(
                        "NL",
                        &format!("INGB{:010}", g.f.int(100_000_000, 9_999_999_999)),
                    )),
                    description: Some(format!("Betaling factuur {}", inv.invoice_number)),
                    currency_code: inv.currency_code.to_string(),
                    exchange_rate: "1.0".to_string(),
                    payment_method: Some("bank_transfer".to_string()),
                    amount,
                    book_amount: amount,
                    id: bank_id,
                    book_date: day,
                }
            });
            payments.push(Payment {
                administration_id: admin,
                id,
                cost_type: Some(arcstr::literal!("principal")),
                description: Some(if credit {
                    arcstr::format!("Creditnota bij {}", inv.invoice_number)
                } else {
                    arcstr::format!("Betaling {}", inv.invoice_number)
                }),
                reason: None,
                reversal_code: None,
                transaction_type: Some(if credit {
                    arcstr::literal!("credit")
                } else {
                    arcstr::literal!("payment")
                }),
                invoice_id: inv.id,
                payment_method: method.map(Into::into),
                updated_at: updated,
                total_amount: amount,
                total_book_amount: amount,
                payment_date: day,
                psp_transaction: None,
                bank_transaction: bank.map(Box::new),
                origin_identifier: Some(arcstr::format!("BNK-{admin}-{id}")),
            });
        }
        updates.push((
            inv.id,
            inv.open_amount.is_zero().then_some(last),
            latest.min(g.f.anchor_at(0)),
        ));
    }
    for (id, payment_date, updated) in updates {
        db.invoices.update(&admin, &id.to_string(), |i| {
            i.payment_date = payment_date;
            i.updated_at = i.updated_at.max(updated);
        });
    }
    for p in payments {
        crate::seed::put(&mut db.payments, p);
    }

    // Tombstones: invoices and payments removed from the accounting software.
    let debtor_ids: Vec<u64> = db.debtors.iter(&admin).map(|d| d.id).collect();
    let mut deleted_invoices = Vec::new();
    // At most `seed::TOMBSTONES_PER_BLOCK` (10) a block: the invoice numbers reserved for them.
    for k in 0..(6 + g.f.int(0, 4)) {
        let id = g.id();
        let t = g.numbering.deleted_invoices + k;
        deleted_invoices.push(invoices::DeletedInvoice {
            invoice_number: g.deleted_invoice_number(t),
            origin_identifier: g.f.chance(0.8).then(|| format!("INV-{admin}-D{t:05}")),
            id,
            administration_id: admin,
            debtor_id: *g.f.pick(&debtor_ids),
            deleted_at: deletion_time(g),
        });
    }
    let invoice_ids: Vec<u64> = invoices.iter().map(|i| i.id).collect();
    let mut deleted_payments = Vec::new();
    for _ in 0..(5 + g.f.int(0, 4)) {
        let id = g.id();
        deleted_payments.push(DeletedPayment {
            id,
            administration_id: admin,
            origin_identifier: Some(format!("BNK-{admin}-{id}")),
            invoice_id: *g.f.pick(&invoice_ids),
            deleted_at: deletion_time(g),
        });
    }
    for d in deleted_invoices {
        crate::seed::put(&mut db.deleted_invoices, d);
    }
    for d in deleted_payments {
        crate::seed::put(&mut db.deleted_payments, d);
    }
}
