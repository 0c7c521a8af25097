//! PSP (payment service provider) transactions: `GET /v1/psp_transactions` and
//! `GET /v1/psp_transactions/{id}` (read-only).
//!
//! Filters besides `ids` and `updated_after`: `payment_methods` and `statuses`, comma-separated
//! lists of the values the spec enumerates; a value outside those lists is a 400 naming it.

use std::collections::HashSet;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use mock_core::query::split_csv;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::PaytError;
use crate::list::{self, ListRequest};
use crate::seed::Gen;
use crate::state::{AppState, Caller, Db};

/// Properties shown only when `fields` asks for them (none for PSP transactions).
pub const OPT_IN: &[&str] = &[];

/// The `payment_methods` the spec lists.
pub const PAYMENT_METHODS: [&str; 44] = [
    "afterpay",
    "alipay",
    "amazonpay",
    "applepay",
    "bancomatpay",
    "bacs_direct_debit",
    "bancontact",
    "banktransfer",
    "belfius",
    "billink",
    "bitcoin",
    "capayable",
    "cashly",
    "creditcard",
    "creditclick",
    "direct_debit",
    "eps",
    "focum",
    "giropay",
    "googlepay",
    "ideal",
    "in3",
    "inghomepay",
    "kbc",
    "klarnapaylater",
    "klarnasliceit",
    "maestro",
    "minitix",
    "multibanco",
    "mybank",
    "paybybank",
    "payconiq",
    "payto",
    "paypal",
    "paysafecard",
    "phone_payment",
    "przelewy24",
    "sofort",
    "spraypay",
    "trustly",
    "twikey",
    "unknown",
    "voucher",
    "wechat",
];

/// The `statuses` the spec lists, in its order.
pub const STATUSES: [PspStatus; 7] = [
    PspStatus::Cancelled,
    PspStatus::ChargedBack,
    PspStatus::Failed,
    PspStatus::Paid,
    PspStatus::Pending,
    PspStatus::Processing,
    PspStatus::Refunded,
];

/// A transaction's `status`, written as the spec's names (`charged_back`, ...).
///
/// Transactions are read-only in the API and no time-driven rule moves them, so the mock has no
/// transitions to allow: a transaction keeps the status the fixtures gave it. The statuses a
/// payment reached (`paid_at` is set) are [`PspStatus::was_paid`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PspStatus {
    /// `cancelled`.
    Cancelled,
    /// `charged_back`.
    ChargedBack,
    /// `failed`.
    Failed,
    /// `paid`.
    Paid,
    /// `pending`.
    #[default]
    Pending,
    /// `processing`.
    Processing,
    /// `refunded`.
    Refunded,
}

impl PspStatus {
    /// Its name in the API and in the storage form.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cancelled => "cancelled",
            Self::ChargedBack => "charged_back",
            Self::Failed => "failed",
            Self::Paid => "paid",
            Self::Pending => "pending",
            Self::Processing => "processing",
            Self::Refunded => "refunded",
        }
    }

    /// The status named `name`, if there is one.
    pub fn parse(name: &str) -> Option<PspStatus> {
        STATUSES.into_iter().find(|s| s.name() == name)
    }

    /// Whether a transaction in this status was paid once (it has a `paid_at`).
    pub fn was_paid(self) -> bool {
        matches!(self, Self::Paid | Self::Refunded | Self::ChargedBack)
    }
}

impl std::fmt::Display for PspStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `CustomerApi_V1_PspTransactionEntity`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PspTransaction {
    /// Account holder (bank-based methods).
    pub bank_account_name: Option<String>,
    /// IBAN (bank-based methods).
    pub bank_account_number: Option<String>,
    /// ISO 4217.
    pub currency_code: String,
    /// The invoices paid.
    pub invoice_ids: Vec<String>,
    /// One of [`PAYMENT_METHODS`].
    pub payment_method: String,
    /// SEPA reason code of a charge-back (`MD06`, `AM04`, ...).
    pub reversal_code: Option<String>,
    /// Its status.
    pub status: PspStatus,
    /// Amount in the invoice currency.
    #[serde(with = "crate::format::money")]
    pub amount: Decimal,
    /// Amount in the administration currency.
    #[serde(with = "crate::format::money")]
    pub book_amount: Decimal,
    /// Owning administration.
    #[serde(with = "crate::format::id")]
    pub administration_id: u64,
    /// The paying debtor.
    #[serde(with = "crate::format::id")]
    pub debtor_id: u64,
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Payment.
    #[serde(with = "crate::format::opt_ts")]
    pub paid_at: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(with = "crate::format::ts")]
    pub updated_at: DateTime<Utc>,
}

administration_record!(PspTransaction, changed = updated_at);

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/psp_transactions", get(list)).route(
        "/psp_transactions/{id}",
        list::show_route("psp_transactions:read", "PspTransaction", OPT_IN, |db| {
            &db.psp_transactions
        }),
    )
}

/// A comma-separated enumerated filter; 400 naming the first unknown value.
fn enum_list(raw: Option<&str>, name: &str, allowed: &[&str]) -> Result<Option<HashSet<String>>, PaytError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let values = split_csv(raw);
    if let Some(bad) = values.iter().find(|v| !allowed.contains(&v.as_str())) {
        return Err(PaytError::invalid(
            name,
            format!(
                "does not have a valid value: {bad:?} is not one of {}",
                allowed.join(", ")
            ),
        ));
    }
    Ok(Some(values.into_iter().collect()))
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<list::Written, PaytError> {
    let req = ListRequest::parse(&state, &caller, raw.as_deref(), "psp_transactions:read")?;
    let methods = enum_list(req.query.get("payment_methods"), "payment_methods", &PAYMENT_METHODS)?;
    let names = STATUSES.map(PspStatus::name);
    let statuses: Option<HashSet<PspStatus>> = enum_list(req.query.get("statuses"), "statuses", &names)?
        .map(|s| s.iter().filter_map(|s| PspStatus::parse(s)).collect());
    let page = state.store.read(|db| {
        req.page_of(&db.psp_transactions, |t| {
            req.common_match(t.id, t.updated_at)
                && methods.as_ref().is_none_or(|m| m.contains(&t.payment_method))
                && statuses.as_ref().is_none_or(|s| s.contains(&t.status))
        })
    });
    list::page_shared(page, &req.fields, OPT_IN)
}

/// Payment methods with a weight: iDEAL dominates Dutch online payments.
const METHOD_WEIGHTS: &[(&str, u64)] = &[
    ("ideal", 40),
    ("creditcard", 8),
    ("bancontact", 6),
    ("direct_debit", 8),
    ("twikey", 6),
    ("banktransfer", 6),
    ("paypal", 5),
    ("applepay", 4),
    ("googlepay", 2),
    ("klarnapaylater", 3),
    ("in3", 2),
    ("sofort", 2),
    ("giropay", 1),
    ("eps", 1),
    ("belfius", 1),
    ("kbc", 1),
    ("przelewy24", 1),
    ("trustly", 1),
    ("paybybank", 1),
    ("billink", 1),
    ("afterpay", 1),
    ("maestro", 1),
    ("payconiq", 1),
    ("voucher", 1),
];

/// Methods that debit a bank account, whose transactions name it.
const BANK_METHODS: &[&str] = &[
    "ideal",
    "direct_debit",
    "twikey",
    "banktransfer",
    "sofort",
    "giropay",
    "eps",
    "bancontact",
    "trustly",
    "paybybank",
    "belfius",
    "kbc",
];

/// Adds 60 to 100 transactions for administration `admin`, each paying one or two invoices of one
/// debtor: every status (mostly `paid`), many payment methods, charge-backs with SEPA reason codes.
pub fn seed(g: &mut Gen, db: &mut Db, admin: u64) {
    let invoices: Vec<(u64, u64, Decimal)> = db
        .invoices
        .iter(&admin)
        .map(|i| (i.id, i.debtor_id, i.total_amount))
        .collect();
    if invoices.is_empty() {
        return;
    }
    let names: std::collections::HashMap<u64, String> =
        db.debtors.iter(&admin).map(|d| (d.id, d.name.to_string())).collect();
    let anchor = g.f.anchor_at(0);
    let total_weight: u64 = METHOD_WEIGHTS.iter().map(|(_, w)| w).sum();
    let status_cycle = [
        PspStatus::Paid,
        PspStatus::Paid,
        PspStatus::Paid,
        PspStatus::Paid,
        PspStatus::Paid,
        PspStatus::Paid,
        PspStatus::Pending,
        PspStatus::Processing,
        PspStatus::Failed,
        PspStatus::Cancelled,
        PspStatus::Refunded,
        PspStatus::ChargedBack,
    ];
    let banks = ["INGB", "RABO", "ABNA", "SNSB", "TRIO", "ASNB", "KNAB", "BUNQ"];
    let count = 60 + g.f.int(0, 40);
    for k in 0..count {
        let mut roll = g.f.int(1, total_weight);
        let mut method = "ideal";
        for (m, w) in METHOD_WEIGHTS {
            if roll <= *w {
                method = m;
                break;
            }
            roll -= w;
        }
        // The first transactions walk through every status so each appears in every administration.
        let status = if (k as usize) < STATUSES.len() {
            STATUSES[k as usize]
        } else {
            *g.f.pick(&status_cycle)
        };
        let (invoice_id, debtor_id, total) = *g.f.pick(&invoices);
        let mut ids = vec![invoice_id.to_string()];
        let mut amount = total;
        if g.f.chance(0.15)
            && let Some((other, _, t)) = invoices.iter().find(|(i, d, _)| *d == debtor_id && *i != invoice_id)
        {
            ids.push(other.to_string());
            amount += *t;
        }
        let day = g.f.date_around(-180, -1);
        let created = day.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default()
            + Duration::seconds(g.f.int(0, 24 * 3600 - 1) as i64);
        let paid_at = status
            .was_paid()
            .then(|| created + Duration::seconds(g.f.int(5, 600) as i64));
        let updated_at = match status {
            PspStatus::Refunded | PspStatus::ChargedBack => {
                paid_at.map(|p| (p + Duration::days(g.f.int(2, 40) as i64)).min(anchor))
            }
            _ => paid_at,
        }
        .unwrap_or(created);
        let bank = BANK_METHODS.contains(&method);
        let (bank_account_name, bank_account_number) = if bank {
            let b = *g.f.pick(&banks);
            let account = format!("{:010}", g.f.int(100_000_000, 9_999_999_999));
            (
                names.get(&debtor_id).cloned(),
                Some(fixtures::iban("NL", &format!("{b}{account}"))),
            )
        } else {
            (None, None)
        };
        let reversal_code = (status == PspStatus::ChargedBack)
            .then(|| g.f.pick(&["MD06", "AM04", "MS02", "AC04", "MD01", "SL01"]).to_string());
        let id = g.id();
        crate::seed::put(
            &mut db.psp_transactions,
            PspTransaction {
                bank_account_name,
                bank_account_number,
                currency_code: "EUR".to_string(),
                invoice_ids: ids,
                payment_method: method.to_string(),
                reversal_code,
                status,
                amount,
                book_amount: amount,
                administration_id: admin,
                debtor_id,
                id,
                paid_at,
                updated_at,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::{PspStatus, STATUSES};

    #[test]
    fn status_names_round_trip() {
        for s in STATUSES {
            let json = serde_json::to_value(s).expect("a status serializes");
            assert_eq!(json, serde_json::Value::String(s.name().to_string()));
            assert_eq!(serde_json::from_value::<PspStatus>(json).ok(), Some(s));
            assert_eq!(PspStatus::parse(s.name()), Some(s));
            assert_eq!(s.to_string(), s.name());
        }
        assert_eq!(PspStatus::parse("done"), None);
    }
}
