//! Orders and order lines: `POST /v1/orders` (multipart `order[file]`) and `GET /v1/order_lines`.
//!
//! An order is one uploaded file; the mock turns it into order lines (mock decision, the format of
//! the file is not documented):
//! - a UTF-8 CSV (`,` or `;` separated) gives one line per data row. With a header row the columns
//!   are found by name (`order_line_identifier`, `amount`, `invoice_identifier`,
//!   `product_identifier`, `email_address`, `claim`); without one they are positional in that
//!   order. Every data row needs an identifier and an amount, and identifiers must be new in the
//!   administration, otherwise 422 and nothing is created;
//! - any other file gives a single `draft` line of 0.00 with `claim: false`, waiting for a person.
//!
//! New lines start as `draft`. `multipart/form-data` is what the API takes; a form or JSON body
//! with `order[file]` as text is accepted too.

use std::collections::HashSet;

use axum::extract::{FromRequest, Multipart, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use fixtures::shift;
use mock_core::body::{BodyKind, body_kind};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::body::Body;
use crate::error::PaytError;
use crate::format::two_decimals;
use crate::list::{self, ListRequest};
use crate::params::{self, string_list};
use crate::resources::invoices::parse_amount;
use crate::seed::Gen;
use crate::state::{AppState, Caller, Db};

/// Properties shown only when `fields` asks for them.
pub const OPT_IN: &[&str] = &["deeplink_url", "customer", "product_identifier"];
/// The `claim_status` enum, in the spec's order.
pub(crate) const CLAIM_STATUSES: [ClaimStatus; 6] = [
    ClaimStatus::ActionRequired,
    ClaimStatus::AutoResubmit,
    ClaimStatus::Draft,
    ClaimStatus::Failed,
    ClaimStatus::Processed,
    ClaimStatus::Submitted,
];

/// An order line's `claim_status`, written as the spec's names (`action_required`, ...).
///
/// A line made from an uploaded file is a `draft`; the claim's later statuses are Payt's
/// processing, which the mock does not imitate: no request and no time-driven rule moves a
/// line, so there are no transitions to allow (the fixtures show lines in every status).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimStatus {
    /// `action_required`.
    ActionRequired,
    /// `auto_resubmit`.
    AutoResubmit,
    /// `draft`.
    #[default]
    Draft,
    /// `failed`.
    Failed,
    /// `processed`.
    Processed,
    /// `submitted`.
    Submitted,
}

impl ClaimStatus {
    /// Its name in the API and in the storage form.
    pub fn name(self) -> &'static str {
        match self {
            Self::ActionRequired => "action_required",
            Self::AutoResubmit => "auto_resubmit",
            Self::Draft => "draft",
            Self::Failed => "failed",
            Self::Processed => "processed",
            Self::Submitted => "submitted",
        }
    }

    /// The status named `name`, if there is one.
    pub fn parse(name: &str) -> Option<ClaimStatus> {
        CLAIM_STATUSES.into_iter().find(|s| s.name() == name)
    }
}

/// An uploaded order file; serialized as `CustomerApi_V1_OrderEntity`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// Link into the Payt interface.
    pub deeplink_url: String,
    /// Unique identifier (not exposed).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub id: u64,
    /// Owning administration (not exposed).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub administration_id: u64,
    /// The uploaded file's name (not exposed).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub filename: Option<String>,
    /// The lines made from it (not exposed).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub order_line_ids: Vec<u64>,
    /// Creation (not exposed).
    #[serde(
        default,
        skip_serializing_if = "mock_core::snapshot::hidden",
        with = "crate::format::ts"
    )]
    pub created_at: DateTime<Utc>,
}

administration_record!(Order);

/// The `customer` of an order line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    /// E-mail address.
    pub email_address: Option<String>,
}

/// `CustomerApi_V1_OrderLineEntity`, properties in the spec's order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrderLine {
    /// Whether to claim the amount.
    pub claim: bool,
    /// Where its claim stands.
    pub claim_status: ClaimStatus,
    /// Response codes of the claim request.
    pub claim_response_codes: Vec<String>,
    /// Opt-in: link into the Payt interface.
    pub deeplink_url: String,
    /// Opt-in: the customer.
    pub customer: Option<Customer>,
    /// Opt-in: product identifier.
    pub product_identifier: Option<String>,
    /// Owning administration.
    #[serde(with = "crate::format::id")]
    pub administration_id: u64,
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Unique per administration.
    pub order_line_identifier: String,
    /// The invoice in the accounting system.
    pub invoice_identifier: Option<String>,
    /// The credit invoice in the accounting system.
    pub credit_invoice_identifier: Option<String>,
    /// Total amount.
    #[serde(with = "crate::format::money")]
    pub amount: Decimal,
    /// Credited.
    #[serde(with = "crate::format::money")]
    pub credited_amount: Decimal,
    /// Credited and reimbursed.
    #[serde(with = "crate::format::money")]
    pub credited_reimbursed_amount: Decimal,
    /// Rejected, not invoiced.
    #[serde(with = "crate::format::money")]
    pub rejected_amount: Decimal,
    /// Reimbursed.
    #[serde(with = "crate::format::opt_money")]
    pub reimbursed_amount: Option<Decimal>,
    /// Creation.
    #[serde(with = "crate::format::ts")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "crate::format::ts")]
    pub updated_at: DateTime<Utc>,
}

administration_record!(
    OrderLine,
    changed = updated_at,
    lookups = |l| vec![("identifier", l.order_line_identifier.clone())]
);

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/orders", post(create))
        .route("/order_lines", get(list))
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<list::Written, PaytError> {
    let req = ListRequest::parse(&state, &caller, raw.as_deref(), "order_lines:read")?;
    let q = &req.query;
    let created_before = params::timestamp(q, "created_before")?;
    let created_after = params::timestamp(q, "created_after")?;
    let identifiers = string_list(q, "order_line_identifiers");
    let invoice_identifiers = string_list(q, "invoice_identifiers");
    let status = match q.get("claim_status").map(str::trim) {
        None | Some("") => None,
        Some(s) => match ClaimStatus::parse(s) {
            Some(status) => Some(status),
            None => {
                return Err(PaytError::invalid(
                    "claim_status",
                    format!(
                        "does not have a valid value ({s:?}): use one of {}",
                        CLAIM_STATUSES.map(ClaimStatus::name).join(", ")
                    ),
                ));
            }
        },
    };
    let page = state.store.read(|db| {
        req.page_of(&db.order_lines, |l| {
            req.common_match(l.id, l.updated_at)
                && created_before.is_none_or(|t| l.created_at < t)
                && created_after.is_none_or(|t| l.created_at > t)
                && identifiers
                    .as_ref()
                    .is_none_or(|s| s.contains(&l.order_line_identifier))
                && invoice_identifiers
                    .as_ref()
                    .is_none_or(|s| l.invoice_identifier.as_ref().is_some_and(|i| s.contains(i)))
                && status.is_none_or(|s| l.claim_status == s)
        })
    });
    list::page_shared(page, &req.fields, OPT_IN)
}

/// A line read from the file, before ids are given.
#[derive(Debug, Clone, PartialEq)]
struct NewLine {
    identifier: Option<String>,
    amount: Decimal,
    invoice_identifier: Option<String>,
    product_identifier: Option<String>,
    email: Option<String>,
    claim: bool,
}

fn invalid_file(message: String) -> PaytError {
    PaytError::unprocessable("invalid_order_file", message)
}

/// The cells of one record, trimmed; a cell the `csv` reader did not take as quoted because
/// blanks stand before its opening quote (`a, "b"`) loses that pair of quotes too.
fn cells(record: &csv::StringRecord) -> Vec<String> {
    record
        .iter()
        .map(|c| {
            let c = c.trim();
            match c.strip_prefix('"').and_then(|c| c.strip_suffix('"')) {
                Some(inner) if c.len() >= 2 => inner.trim().to_string(),
                _ => c.to_string(),
            }
        })
        .collect()
}

/// Whether a record is a blank line (the reader skips empty lines, not those of blanks only).
fn is_blank(record: &csv::StringRecord) -> bool {
    record.iter().all(|c| c.trim().is_empty()) && record.len() <= 1
}

/// The lines of an order file (see the module docs), read with the `csv` crate: fields may be
/// quoted (`"12.50"`, `"A;1"` holding the delimiter, `"say ""hi"""` with an escaped quote).
fn parse_file(bytes: &[u8]) -> Result<Vec<NewLine>, PaytError> {
    let fallback = vec![fallback_line()];
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Ok(fallback);
    };
    check_row_count(text)?;
    let Some(first) = text.lines().map(str::trim).find(|l| !l.is_empty()) else {
        return Ok(fallback);
    };
    let sep = if first.contains(';') && !first.contains(',') {
        b';'
    } else {
        b','
    };
    // Each row and the file's line it starts on (1-based, blank lines counted).
    let mut rows: Vec<(u64, Vec<String>)> = Vec::new();
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(sep)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    // The reader's own line count misses the lines a `\r\n` ends, so lines are counted here: the
    // `\n`s before each record's first byte (records come in order, so the count goes on).
    let (mut counted_to, mut line) = (0usize, 1u64);
    for record in reader.records() {
        let record = record.map_err(|e| invalid_file(format!("order[file] cannot be read as CSV: {e}")))?;
        if is_blank(&record) {
            continue;
        }
        let start = record
            .position()
            .and_then(|p| usize::try_from(p.byte()).ok())
            .unwrap_or(counted_to)
            .clamp(counted_to, text.len());
        // A record starts after its line's terminator, whichever byte the reader names.
        let start = text.as_bytes()[start..]
            .iter()
            .position(|b| *b != b'\r' && *b != b'\n')
            .map_or(text.len(), |k| start + k);
        line += memchr::memchr_iter(b'\n', &text.as_bytes()[counted_to..start]).count() as u64;
        counted_to = start;
        rows.push((line, cells(&record)));
    }
    let Some((_, head)) = rows.first() else {
        return Ok(fallback);
    };
    let (header, columns) = columns_of(head);
    // Without a header, a file counts as CSV only if its first row reads as a line.
    let looks_like_csv = header || (head.len() >= 2 && parse_amount(&head[1]).is_some());
    if !looks_like_csv {
        return Ok(fallback);
    }
    if header && (columns[0].is_none() || columns[1].is_none()) {
        return Err(invalid_file(
            "order[file]: the header row needs order_line_identifier and amount columns".to_string(),
        ));
    }
    let data = if header { &rows[1..] } else { &rows[..] };
    if data.len() > crate::limits::MAX_ORDER_ROWS {
        return Err(invalid_file(format!(
            "order[file] has {} order lines: at most {} are allowed in one file; split it",
            data.len(),
            crate::limits::MAX_ORDER_ROWS
        )));
    }
    let mut out = Vec::new();
    for (n, cells) in data {
        out.push(order_line(*n, cells, &columns)?);
    }
    if out.is_empty() {
        return Err(invalid_file(
            "order[file] has a header row but no order lines".to_string(),
        ));
    }
    Ok(out)
}

/// The one draft line a file that is not a CSV of order lines becomes (a document, say).
fn fallback_line() -> NewLine {
    NewLine {
        identifier: None,
        amount: Decimal::ZERO,
        invoice_identifier: None,
        product_identifier: None,
        email: None,
        claim: false,
    }
}

/// Refuses a file of more than [`crate::limits::MAX_ORDER_ROWS`] lines (plus a header row),
/// counted before any row is split: a file of a million rows is refused without building them.
fn check_row_count(text: &str) -> Result<(), PaytError> {
    let count = text.lines().filter(|l| !l.trim().is_empty()).count();
    if count > crate::limits::MAX_ORDER_ROWS + 1 {
        return Err(invalid_file(format!(
            "order[file] has {count} rows: at most {} order lines (plus a header row) are allowed in one file; split it",
            crate::limits::MAX_ORDER_ROWS
        )));
    }
    Ok(())
}

/// The columns of an order file: whether its first row is a header (it names an `amount`
/// column), and where each of the six fields stands (by name in a header, else in that order).
fn columns_of(head: &[String]) -> (bool, Vec<Option<usize>>) {
    let header = head.iter().any(|c| c.eq_ignore_ascii_case("amount"));
    let names = [
        "order_line_identifier",
        "amount",
        "invoice_identifier",
        "product_identifier",
        "email_address",
        "claim",
    ];
    let columns = if header {
        names
            .iter()
            .map(|n| {
                head.iter().position(|c| {
                    c.eq_ignore_ascii_case(n) || (*n == "email_address" && c.eq_ignore_ascii_case("email"))
                })
            })
            .collect()
    } else {
        (0..names.len()).map(Some).collect()
    };
    (header, columns)
}

/// The order line of data row `cells` on line `n`, its fields where `columns` says.
fn order_line(n: u64, cells: &[String], columns: &[Option<usize>]) -> Result<NewLine, PaytError> {
    let cell =
        |k: usize| -> Option<String> { columns[k].and_then(|c| cells.get(c)).filter(|s| !s.is_empty()).cloned() };
    let identifier =
        cell(0).ok_or_else(|| invalid_file(format!("order[file] line {n}: order_line_identifier is missing")))?;
    let amount_text = cell(1).ok_or_else(|| invalid_file(format!("order[file] line {n}: amount is missing")))?;
    let amount = parse_amount(&amount_text).ok_or_else(|| {
        invalid_file(format!(
            "order[file] line {n}: amount {amount_text:?} is not a number within the money rule: {}",
            crate::resources::invoices::MONEY_RULE
        ))
    })?;
    let claim = match cell(5).map(|s| s.to_ascii_lowercase()) {
        None => true,
        Some(s) if s == "true" || s == "1" || s == "yes" => true,
        Some(s) if s == "false" || s == "0" || s == "no" => false,
        Some(s) => {
            return Err(invalid_file(format!(
                "order[file] line {n}: claim {s:?} must be true or false"
            )));
        }
    };
    Ok(NewLine {
        identifier: Some(identifier),
        amount: two_decimals(amount),
        invoice_identifier: cell(2),
        product_identifier: cell(3),
        email: cell(4),
        claim,
    })
}

/// The administration id and the file (name, content) of a create request.
async fn read_request(
    state: &AppState,
    req: Request,
) -> Result<(Option<Value>, Option<(Option<String>, Vec<u8>)>), PaytError> {
    if body_kind(req.headers()) == BodyKind::Multipart {
        let unreadable = |e: axum::extract::multipart::MultipartError| {
            PaytError::unprocessable(
                "invalid_body",
                format!("The multipart body cannot be read: {}", e.body_text()),
            )
        };
        let mut mp = Multipart::from_request(req, state).await.map_err(|e| {
            PaytError::unprocessable(
                "invalid_body",
                format!("The multipart body cannot be read: {}", e.body_text()),
            )
        })?;
        let mut admin = None;
        let mut file = None;
        let mut parts = 0;
        while let Some(field) = mp.next_field().await.map_err(unreadable)? {
            parts += 1;
            if parts > mock_core::body::MAX_MULTIPART_PARTS {
                return Err(PaytError::unprocessable(
                    "invalid_body",
                    mock_core::body::too_many_parts("`administration_id` and `order[file]`"),
                ));
            }
            match field.name().unwrap_or_default() {
                "administration_id" => admin = Some(Value::String(field.text().await.map_err(unreadable)?)),
                "order[file]" => {
                    let name = field.file_name().map(str::to_string);
                    let bytes = field.bytes().await.map_err(unreadable)?;
                    file = Some((name, bytes.to_vec()));
                }
                _ => {}
            }
        }
        Ok((admin, file))
    } else {
        let body = Body::from_request(req, state).await?;
        let admin = body.0.get("administration_id").cloned();
        let file = body
            .0
            .get("order")
            .and_then(|o| o.get("file"))
            .or_else(|| body.0.get("order[file]"))
            .and_then(Value::as_str)
            .map(|s| (None, s.as_bytes().to_vec()));
        Ok((admin, file))
    }
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    req: Request,
) -> Result<(StatusCode, Json<Value>), PaytError> {
    caller.grant.require("orders:write")?;
    let (admin, file) = read_request(&state, req).await?;
    // Read as every Payt body's `administration_id` is, whether the body is a form or multipart.
    let admin = crate::body::administration_id(admin.as_ref())?;
    state.check_administration(&caller, admin)?;
    let (filename, bytes) = file.ok_or_else(|| {
        PaytError::unprocessable(
            "missing_parameter",
            "order[file] is missing: send the order as a multipart file",
        )
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(PaytError::unprocessable("empty_file", "order[file] is empty"));
    }
    let lines = parse_file(&bytes)?;
    let now = state.now();
    let order = state.store.write(|db| {
        // The file's own identifiers; the stored ones are found under the lines' secondary key.
        let mut seen: HashSet<String> = HashSet::new();
        for l in &lines {
            if let Some(i) = &l.identifier
                && (db.order_lines.lookup(&admin, "identifier", i).next().is_some() || !seen.insert(i.clone()))
            {
                return Err(PaytError::unprocessable(
                    "duplicate_order_line_identifier",
                    format!("order line {i} already exists (or appears twice in the file); identifiers must be unique"),
                ));
            }
        }
        // Every id below was just taken from the generator, so the store has no record under
        // it and takes each one; a refusal would be a bug, answered as a conflict, not lost.
        let conflict = |e: mock_core::store::StoreError| PaytError::unprocessable("conflict", e.to_string());
        let id = state.ids.next_seq();
        let mut ids = Vec::new();
        let mut new_lines = Vec::new();
        for (n, l) in lines.into_iter().enumerate() {
            let line_id = state.ids.next_seq();
            ids.push(line_id);
            new_lines.push(OrderLine {
                claim: l.claim,
                claim_status: ClaimStatus::Draft,
                claim_response_codes: Vec::new(),
                deeplink_url: line_url(admin, line_id),
                customer: l.email.map(|e| Customer { email_address: Some(e) }),
                product_identifier: l.product_identifier,
                administration_id: admin,
                id: line_id,
                order_line_identifier: l.identifier.unwrap_or_else(|| format!("ORDER-{id}-{}", n + 1)),
                invoice_identifier: l.invoice_identifier,
                credit_invoice_identifier: None,
                amount: l.amount,
                credited_amount: Decimal::ZERO,
                credited_reimbursed_amount: Decimal::ZERO,
                rejected_amount: Decimal::ZERO,
                reimbursed_amount: None,
                created_at: now,
                updated_at: now,
            });
        }
        let order = Order {
            deeplink_url: order_url(admin, id),
            id,
            administration_id: admin,
            filename,
            order_line_ids: ids,
            created_at: now,
        };
        db.orders.insert(order.clone()).map_err(conflict)?;
        for line in new_lines {
            db.order_lines.insert(line).map_err(conflict)?;
        }
        Ok(order)
    })?;
    Ok((
        StatusCode::CREATED,
        Json(list::entity(&order, &Default::default(), &[])?),
    ))
}

fn order_url(admin: u64, id: u64) -> String {
    crate::links::app_record(admin, crate::links::AppKind::Order, id)
}

fn line_url(admin: u64, id: u64) -> String {
    crate::links::app_record(admin, crate::links::AppKind::OrderLine, id)
}

/// Adds this resource's fixtures for administration `admin`: a few orders with lines in every
/// claim status.
pub fn seed(g: &mut Gen, db: &mut Db, admin: u64) {
    let identifiers: Vec<String> = db
        .invoices
        .iter(&admin)
        .filter_map(|i| i.invoice_identifier.as_deref().map(str::to_owned))
        .collect();
    let emails: Vec<String> = db
        .debtors
        .iter(&admin)
        .filter_map(|d| d.primary_email_address.as_deref().map(str::to_owned))
        .collect();
    let mut line_no = g.numbering.order_lines + 1;
    for k in 0..3u64 {
        let order_id = g.id();
        let created_day = shift(g.f.anchor(), -(100 - 35 * k as i64) - g.f.int(0, 5) as i64);
        let created = created_day
            .and_hms_opt(8, 0, 0)
            .map(|t| t.and_utc())
            .unwrap_or_default()
            + Duration::minutes(g.f.int(0, 600) as i64);
        let mut ids = Vec::new();
        for _ in 0..g.f.int(6, 10) {
            let id = g.id();
            ids.push(id);
            let status = *g.f.pick(&CLAIM_STATUSES);
            let amount = g.f.amount(15, 900);
            let (codes, credited, rejected, reimbursed, credit_invoice): (
                Vec<String>,
                Decimal,
                Decimal,
                Option<Decimal>,
                Option<String>,
            ) = match status {
                ClaimStatus::Processed => {
                    let rejected = if g.f.chance(0.3) {
                        two_decimals(amount / Decimal::from(4))
                    } else {
                        Decimal::ZERO
                    };
                    (
                        vec!["0000".into()],
                        Decimal::ZERO,
                        rejected,
                        Some(amount - rejected),
                        None,
                    )
                }
                ClaimStatus::Failed => (
                    vec![g.f.pick(&["8001", "8005", "0931"]).to_string()],
                    Decimal::ZERO,
                    amount,
                    None,
                    None,
                ),
                ClaimStatus::ActionRequired => (
                    vec![g.f.pick(&["0402", "0817"]).to_string()],
                    Decimal::ZERO,
                    Decimal::ZERO,
                    None,
                    None,
                ),
                ClaimStatus::AutoResubmit => (vec!["9999".into()], Decimal::ZERO, Decimal::ZERO, None, None),
                _ => (Vec::new(), Decimal::ZERO, Decimal::ZERO, None, None),
            };
            let (credited, credit_invoice) = if status == ClaimStatus::Processed && g.f.chance(0.15) {
                (amount, Some(format!("CR-{admin}-{line_no:05}")))
            } else {
                (credited, credit_invoice)
            };
            let updated = if status == ClaimStatus::Draft {
                created
            } else {
                created + Duration::hours(g.f.int(2, 24 * 20) as i64)
            };
            crate::seed::put(
                &mut db.order_lines,
                OrderLine {
                    claim: status != ClaimStatus::Draft || g.f.chance(0.5),
                    claim_status: status,
                    claim_response_codes: codes,
                    deeplink_url: line_url(admin, id),
                    customer: g.f.chance(0.8).then(|| Customer {
                        email_address: Some(g.f.pick(&emails).clone()),
                    }),
                    product_identifier: Some(format!("PRD-{}", g.f.int(1000, 1099))),
                    administration_id: admin,
                    id,
                    order_line_identifier: format!("OL-{admin}-{line_no:05}"),
                    invoice_identifier: (status == ClaimStatus::Processed && !identifiers.is_empty())
                        .then(|| g.f.pick(&identifiers).clone()),
                    credit_invoice_identifier: credit_invoice,
                    amount,
                    credited_amount: credited,
                    credited_reimbursed_amount: if credited.is_zero() { Decimal::ZERO } else { credited },
                    rejected_amount: rejected,
                    reimbursed_amount: reimbursed,
                    created_at: created,
                    updated_at: updated,
                },
            );
            line_no += 1;
        }
        crate::seed::put(
            &mut db.orders,
            Order {
                deeplink_url: order_url(admin, order_id),
                id: order_id,
                administration_id: admin,
                filename: Some(format!("orders-{}.csv", created_day.format("%Y%m%d"))),
                order_line_ids: ids,
                created_at: created,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    use super::{ClaimStatus, NewLine, parse_file};
    use crate::error::PaytError;

    fn line(id: &str, amount: i64, cents: u32) -> NewLine {
        NewLine {
            identifier: Some(id.to_string()),
            amount: Decimal::new(amount * 100 + i64::from(cents), 2),
            invoice_identifier: None,
            product_identifier: None,
            email: None,
            claim: true,
        }
    }

    fn message(r: Result<Vec<NewLine>, PaytError>) -> String {
        match r {
            Err(PaytError::Unprocessable { message, .. }) => message,
            other => panic!("a 422, not {other:?}"),
        }
    }

    #[test]
    fn quoted_fields_are_read() {
        // A quoted amount, a quoted identifier holding the delimiter, an escaped quote.
        let file = "order_line_identifier,amount,product_identifier\n\
                    \"OL-1\",\"12.50\",\"Box \"\"large\"\"\"\n\
                    \"OL,2\",3,\n";
        let lines = parse_file(file.as_bytes()).expect("a valid file");
        let mut first = line("OL-1", 12, 50);
        first.product_identifier = Some("Box \"large\"".to_string());
        assert_eq!(lines, vec![first, line("OL,2", 3, 0)]);
        // Semicolons: a quoted cell may hold one.
        let lines = parse_file(b"\"A;1\";7\nB;8\n").expect("a valid file");
        assert_eq!(lines, vec![line("A;1", 7, 0), line("B", 8, 0)]);
        // Blanks before a quote (`a, "b"`) still read the quoted text.
        let lines = parse_file(b"OL-9, \"4.25\"\n").expect("a valid file");
        assert_eq!(lines, vec![line("OL-9", 4, 25)]);
    }

    #[test]
    fn errors_name_the_file_line() {
        let m = message(parse_file(b"order_line_identifier,amount\n\nOL-1,1\n\n  \nOL-2,\n"));
        assert_eq!(m, "order[file] line 6: amount is missing");
        let m = message(parse_file(b"OL-1,1\nOL-2,\"1\n2\"\nOL-3,x\n"));
        assert!(m.starts_with("order[file] line 2: amount \"1\\n2\""), "{m}");
    }

    #[test]
    fn claim_status_names_round_trip() {
        for s in super::CLAIM_STATUSES {
            let json = serde_json::to_value(s).expect("a status serializes");
            assert_eq!(json, serde_json::Value::String(s.name().to_string()));
            assert_eq!(serde_json::from_value::<ClaimStatus>(json).ok(), Some(s));
            assert_eq!(ClaimStatus::parse(s.name()), Some(s));
        }
        assert_eq!(ClaimStatus::parse("done"), None);
    }

    /// The reader before the `csv` crate (cells split at the delimiter, trimmed and stripped of
    /// quotes): on files without quotes both must give the same lines and the same errors.
    fn by_hand(bytes: &[u8]) -> Result<Vec<NewLine>, PaytError> {
        use super::{check_row_count, columns_of, fallback_line, invalid_file, order_line, parse_amount};
        let fallback = vec![fallback_line()];
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Ok(fallback);
        };
        check_row_count(text)?;
        let rows: Vec<(usize, &str)> = text
            .lines()
            .enumerate()
            .map(|(n, l)| (n + 1, l.trim()))
            .filter(|(_, l)| !l.is_empty())
            .collect();
        let Some(&(_, first)) = rows.first() else {
            return Ok(fallback);
        };
        let sep = if first.contains(';') && !first.contains(',') {
            ';'
        } else {
            ','
        };
        let split = |l: &str| -> Vec<String> {
            l.split(sep)
                .map(|c| c.trim().trim_matches('"').trim().to_string())
                .collect()
        };
        let head = split(first);
        let (header, columns) = columns_of(&head);
        let data = if header { &rows[1..] } else { &rows[..] };
        let looks_like_csv = header || {
            let cells = split(first);
            cells.len() >= 2 && parse_amount(&cells[1]).is_some()
        };
        if !looks_like_csv {
            return Ok(fallback);
        }
        if header && (columns[0].is_none() || columns[1].is_none()) {
            return Err(invalid_file(
                "order[file]: the header row needs order_line_identifier and amount columns".to_string(),
            ));
        }
        let mut out = Vec::new();
        for &(n, row) in data {
            let cells = split(row);
            out.push(order_line(n as u64, &cells, &columns)?);
        }
        if out.is_empty() {
            return Err(invalid_file(
                "order[file] has a header row but no order lines".to_string(),
            ));
        }
        Ok(out)
    }

    fn cell() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just(" ".to_string()),
            Just("amount".to_string()),
            Just("Order_Line_Identifier".to_string()),
            Just("email".to_string()),
            Just("claim".to_string()),
            Just("yes".to_string()),
            Just("maybe".to_string()),
            "[0-9]{1,4}(\\.[0-9]{1,3})?",
            "[ ]?[A-Za-z0-9@.-]{1,8}[ ]?",
        ]
    }

    fn file() -> impl Strategy<Value = String> {
        let row = proptest::collection::vec(cell(), 0..7);
        (
            proptest::collection::vec(row, 0..6),
            proptest::sample::select(vec![",", ";"]),
            proptest::sample::select(vec!["\n", "\r\n"]),
        )
            .prop_map(|(rows, sep, end)| rows.iter().map(|r| r.join(sep)).collect::<Vec<_>>().join(end))
    }

    proptest! {
        /// Files without quotes read as they did before the `csv` crate: the same lines and the
        /// same errors (line numbers, messages) or the same fallback line.
        #[test]
        fn unquoted_files_read_as_before(f in file()) {
            let ours = format!("{:?}", parse_file(f.as_bytes()));
            let before = format!("{:?}", by_hand(f.as_bytes()));
            prop_assert_eq!(ours, before, "{:?}", f);
        }
    }
}
