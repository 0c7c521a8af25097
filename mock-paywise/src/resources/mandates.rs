//! Mandates (`/v1/mandates/`), their status updates and downloads.
//!
//! paywise opens a mandate (Inkassoakte) for a claim it accepts; in the mock the back office
//! (`POST /_mock/paywise/claims/{id}/advance` with `{"to": "accepted"}`) does that. A mandate's
//! `legal_claim_balance` has five components (interest-bearing costs, interest-free costs,
//! interest on costs, interest on the principal, principal), each with its legal claim, the
//! payments allocated to it and the balance (claim minus payments). Payments are allocated as
//! § 367 BGB says: costs first, then interest, then the principal; whatever exceeds the whole
//! balance is booked on the principal, so only `balance_of_principal_claim` and `total_balance`
//! can become negative (an overpayment). `total_mandate_amount` is `total_legal_claim`.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::error::PaywiseError;
use crate::format::{Money, timestamp};
use crate::list::{self, Filters, JsonBody, Origin, Resource, path_uuid};
use crate::resources::claims::{Claim, SubmissionState};
use crate::resources::debtors::Debtor;
use crate::resources::files;
use crate::state::{AppState, Caller, Db, Scope};
use crate::validate::{OPT_NOT_NULL, Obj};

state_enum! {
    /// A mandate's `legal_stage`, declared in the order a mandate moves through them: it only
    /// goes forward ([`LegalStage::next`]).
    pub enum LegalStage moved by StageEvent {
        /// Out of court.
        Extrajudicial = "extrajudicial",
        /// Court dunning procedure.
        JudicialDunning = "judicial_dunning",
        /// Enforcement.
        Foreclosure = "foreclosure",
        /// Long-term monitoring.
        LongTermMonitoring = "long_term_monitoring",
        /// Ended.
        Ended = "ended",
    }
}

/// What moves a mandate's [`LegalStage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageEvent {
    /// paywise's staff set the stage (the back office): the same or a later one.
    MoveTo(LegalStage),
    /// The time-driven rules take it one step on: `extrajudicial -> judicial_dunning ->
    /// foreclosure` (later stages are the staff's).
    Escalate,
}

impl LegalStage {
    /// Where `event` takes a mandate in this stage, or `None` where it is refused (backwards).
    pub fn next(self, event: StageEvent) -> Option<Self> {
        match event {
            StageEvent::MoveTo(to) => (to >= self).then_some(to),
            StageEvent::Escalate => match self {
                LegalStage::Extrajudicial => Some(LegalStage::JudicialDunning),
                LegalStage::JudicialDunning => Some(LegalStage::Foreclosure),
                _ => None,
            },
        }
    }
}

impl Default for LegalStage {
    /// A new mandate's stage (unless its claim started judicially).
    fn default() -> Self {
        LegalStage::Extrajudicial
    }
}

state_enum! {
    /// A mandate's `processing_state`: `in_progress` and `paused` alternate; `ended` and the two
    /// cancellations close it for good ([`ProcessingState::next`]).
    pub enum ProcessingState moved by SetProcessing {
        /// Being worked on.
        InProgress = "in_progress",
        /// Paused.
        Paused = "paused",
        /// Canceled by the client (final).
        CanceledByClient = "canceled_by_client",
        /// Canceled by paywise (final).
        CanceledByServiceProvider = "canceled_by_service_provider",
        /// Ended (final).
        Ended = "ended",
    }
}

/// What moves a mandate's [`ProcessingState`]: paywise's staff set it (the same state is
/// always allowed; from a final state nothing else is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetProcessing(pub ProcessingState);

impl ProcessingState {
    /// Whether the mandate is still open (`in_progress`, `paused`).
    pub fn is_open(self) -> bool {
        matches!(self, ProcessingState::InProgress | ProcessingState::Paused)
    }

    /// Where `event` takes a mandate in this state, or `None` where it is refused.
    pub fn next(self, SetProcessing(to): SetProcessing) -> Option<Self> {
        (to == self || self.is_open()).then_some(to)
    }
}

impl Default for ProcessingState {
    /// A new mandate's state.
    fn default() -> Self {
        ProcessingState::InProgress
    }
}

/// Every `legal_stage`, in the order a mandate moves through them.
pub(crate) const LEGAL_STAGES: &[&str] = LegalStage::NAMES;
/// Every `processing_state`.
pub(crate) const PROCESSING_STATES: &[&str] = ProcessingState::NAMES;
/// Every `payment_state`.
pub(crate) const PAYMENT_STATES: &[&str] = &["unpaid", "partially_paid", "fully_paid"];
/// The balance components, in the order payments are allocated to them (§ 367 BGB: costs,
/// interest, principal).
pub const COMPONENTS: [&str; 5] = [
    "costs_interest_bearing",
    "costs_interest_free",
    "interest_on_costs",
    "interest_on_principal_claim",
    "principal_claim",
];
/// The index of the principal in [`COMPONENTS`].
pub const PRINCIPAL: usize = 4;

/// The "Forderungsstand": legal claim and payments per component (the API shows it through
/// [`Balance::render`]; `Serialize` is its storage form).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Balance {
    /// The legal claim per component (see [`COMPONENTS`]).
    pub legal: [Decimal; 5],
    /// The payments allocated per component.
    pub paid: [Decimal; 5],
    /// Last change.
    pub updated: DateTime<Utc>,
}

impl Balance {
    /// A balance with `legal` claims and nothing paid.
    pub fn new(legal: [Decimal; 5], updated: DateTime<Utc>) -> Self {
        Self {
            legal,
            paid: [Decimal::ZERO; 5],
            updated,
        }
    }

    /// The open amount of component `i`.
    pub fn open(&self, i: usize) -> Decimal {
        self.legal[i] - self.paid[i]
    }

    /// The sum of the legal claims.
    pub fn total_legal(&self) -> Decimal {
        self.legal.iter().sum()
    }

    /// The sum of the payments.
    pub fn total_paid(&self) -> Decimal {
        self.paid.iter().sum()
    }

    /// The open amount (negative after an overpayment).
    pub fn total_balance(&self) -> Decimal {
        self.total_legal() - self.total_paid()
    }

    /// Allocates a payment of `amount`: costs, then interest, then principal; an excess is
    /// booked on the principal.
    pub fn allocate(&mut self, amount: Decimal) {
        let mut rest = amount;
        for i in 0..COMPONENTS.len() {
            if rest <= Decimal::ZERO {
                break;
            }
            let take = rest.min(self.open(i).max(Decimal::ZERO));
            self.paid[i] += take;
            rest -= take;
        }
        if rest > Decimal::ZERO {
            self.paid[PRINCIPAL] += rest;
        }
    }

    /// `unpaid`, `partially_paid` or `fully_paid`.
    pub fn payment_state(&self) -> &'static str {
        if self.total_paid() <= Decimal::ZERO {
            "unpaid"
        } else if self.total_balance() <= Decimal::ZERO {
            "fully_paid"
        } else {
            "partially_paid"
        }
    }

    /// The API's `legal_claim_balance` object.
    pub fn render(&self) -> Value {
        let m = |d: Decimal| Money::eur(d).to_json();
        let mut out = Map::new();
        for (i, c) in COMPONENTS.iter().enumerate() {
            out.insert(format!("balance_of_{c}"), m(self.open(i)));
        }
        out.insert("total_balance".into(), m(self.total_balance()));
        for (i, c) in COMPONENTS.iter().enumerate() {
            out.insert(format!("legal_claim_of_{c}"), m(self.legal[i]));
        }
        out.insert("total_legal_claim".into(), m(self.total_legal()));
        for (i, c) in COMPONENTS.iter().enumerate() {
            out.insert(format!("payment_on_{c}"), m(self.paid[i]));
        }
        out.insert("total_payment".into(), m(self.total_paid()));
        out.insert("updated".into(), Value::String(timestamp(&self.updated)));
        Value::Object(out)
    }
}

/// A claim of a mandate and the payments on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MandateClaim {
    /// The claim's id.
    pub id: Uuid,
    /// The ids of the payments on the claim.
    pub payments: Vec<Uuid>,
}

/// A mandate (Inkassoakte) paywise opened for accepted claims.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mandate {
    /// Creation order (not exposed).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub seq: u64,
    /// Company and access mode (not exposed).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub scope: Scope,
    /// Unique identifier.
    pub id: Uuid,
    /// paywise file number ("Aktenzeichen").
    pub reference_number: String,
    /// Earlier file numbers.
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub further_reference_numbers: Vec<String>,
    /// The debtor's id (filters only).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub debtor: Uuid,
    /// The debtor's display name.
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub debtor_name: String,
    /// The legal stage.
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub legal_stage: LegalStage,
    /// The processing state.
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub processing_state: ProcessingState,
    /// The balance.
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub balance: Balance,
    /// The claims.
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub claims: Vec<MandateClaim>,
    /// Archived by the client (no business effect).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub archived: bool,
    /// Creation.
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub created: DateTime<Utc>,
    /// Last change.
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub updated: DateTime<Utc>,
    /// When `legal_stage` last changed (not exposed; the time-driven rules count from it, see
    /// [`crate::lifecycle`]); `None` in data stored before it existed: then `created` counts.
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub stage_changed: Option<DateTime<Utc>>,
}

// v2's statements are filtered by a case's reference number.
scoped_record!(
    Mandate,
    lookups = |r| vec![("reference_number", r.reference_number.clone())]
);

impl Mandate {
    /// A new mandate for `claim` (of `debtor`), with the given payments on the claim (amounts in
    /// the order they were made) allocated.
    #[allow(clippy::too_many_arguments)]
    pub fn for_claim(
        seq: u64,
        id: Uuid,
        reference_number: String,
        claim: &Claim,
        debtor: Option<&Debtor>,
        payments: &[(Uuid, Decimal)],
        extra: [Decimal; 3],
        created: DateTime<Utc>,
    ) -> Self {
        let [costs_interest_bearing, interest_on_costs, interest_on_principal] = extra;
        let legal = [
            costs_interest_bearing,
            claim.additional_charges_amount.value,
            interest_on_costs,
            interest_on_principal,
            claim.main_claim_amount.value,
        ];
        let mut balance = Balance::new(legal, created);
        for (_, amount) in payments {
            balance.allocate(*amount);
        }
        let legal_stage = if claim.starting_approach == "judicial" {
            LegalStage::JudicialDunning
        } else {
            LegalStage::Extrajudicial
        };
        Self {
            seq,
            scope: claim.scope,
            id,
            reference_number,
            further_reference_numbers: Vec::new(),
            debtor: claim.debtor,
            debtor_name: debtor.map(Debtor::display_name).unwrap_or_default(),
            legal_stage,
            processing_state: ProcessingState::InProgress,
            balance,
            claims: vec![MandateClaim {
                id: claim.id,
                payments: payments.iter().map(|(id, _)| *id).collect(),
            }],
            archived: false,
            created,
            updated: created,
            stage_changed: Some(created),
        }
    }

    /// Whether the mandate is closed (ended or canceled).
    pub fn closed(&self) -> bool {
        !self.processing_state.is_open()
    }

    /// When the legal stage last changed (its creation if that was never recorded).
    pub fn stage_since(&self) -> DateTime<Utc> {
        self.stage_changed.unwrap_or(self.created)
    }

    /// The mandate without its status updates and requests to client (see [`render_full`]).
    fn render_base(&self, origin: &Origin) -> Map<String, Value> {
        let mut out = Map::new();
        out.insert(
            "href".into(),
            Value::String(origin.url(&format!("/v1/mandates/{}/", self.id))),
        );
        out.insert("id".into(), json!(self.id));
        out.insert("reference_number".into(), json!(self.reference_number));
        out.insert(
            "further_reference_numbers".into(),
            json!(self.further_reference_numbers),
        );
        out.insert("debtor".into(), json!({ "name": self.debtor_name }));
        out.insert("legal_stage".into(), json!(self.legal_stage));
        out.insert("processing_state".into(), json!(self.processing_state));
        out.insert("payment_state".into(), json!(self.balance.payment_state()));
        out.insert("legal_claim_balance".into(), self.balance.render());
        let claims: Vec<Value> = self
            .claims
            .iter()
            .map(|c| {
                let payments: Vec<Value> = c
                    .payments
                    .iter()
                    .map(|p| json!({"href": origin.url(&format!("/v1/payments/{p}/")), "id": p}))
                    .collect();
                json!({"href": origin.url(&format!("/v1/claims/{}/", c.id)), "id": c.id, "payments": payments})
            })
            .collect();
        out.insert("claims".into(), Value::Array(claims));
        out.insert(
            "total_mandate_amount".into(),
            Money::eur(self.balance.total_legal()).to_json(),
        );
        out
    }
}

impl Resource for Mandate {
    /// The mandate with empty `status_updates` and requests-to-client summary; handlers use
    /// [`render_full`], which reads those from their tables.
    fn render(&self, origin: &Origin) -> Value {
        let mut out = self.render_base(origin);
        out.insert("status_updates".into(), json!([]));
        out.insert(
            "requests_to_client_summary".into(),
            json!({"total_count": 0, "unanswered_count": 0, "has_pending": false, "items": []}),
        );
        out.insert("archived".into(), json!(self.archived));
        // No `updated`: the mandate object has none (reference §5); only its balance has one.
        out.insert("created".into(), json!(timestamp(&self.created)));
        Value::Object(out)
    }
}

/// The mandate as the API shows it, with its status updates and requests-to-client summary.
pub(crate) fn render_full(db: &Db, m: &Mandate, origin: &Origin) -> Value {
    let mut out = m.render_base(origin);
    let sus: Vec<Value> = db
        .status_updates
        .lookup(&m.scope, "mandate", &m.id.to_string())
        .map(|s| s.render(origin))
        .collect();
    out.insert("status_updates".into(), Value::Array(sus));
    out.insert(
        "requests_to_client_summary".into(),
        crate::resources::requests_to_client::summary(db, m, origin),
    );
    out.insert("archived".into(), json!(m.archived));
    out.insert("created".into(), json!(timestamp(&m.created)));
    Value::Object(out)
}

/// The mandate `id` of `scope` as the API shows it, if it exists.
pub(crate) fn render_by_id(state: &AppState, scope: &Scope, id: &Uuid, origin: &Origin) -> Option<Value> {
    state.store.read(|db| {
        db.mandates
            .get(scope, &id.to_string())
            .map(|m| render_full(db, m, origin))
    })
}

/// A file attached to a status update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Download {
    /// The file's id.
    pub id: Uuid,
    /// File name.
    pub filename: String,
    /// MIME type.
    pub mime_type: String,
    /// Size in bytes.
    pub file_size: u64,
}

/// A status update of a mandate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusUpdate {
    /// Creation order (not exposed).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub seq: u64,
    /// Company and access mode (not exposed).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub scope: Scope,
    /// Unique identifier.
    pub id: Uuid,
    /// The mandate (not exposed).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub mandate: Uuid,
    /// Title.
    pub title: String,
    /// Description (HTML).
    pub description: String,
    /// The mandate's legal stage after this update.
    pub legal_stage: LegalStage,
    /// The mandate's processing state after this update.
    pub processing_state: ProcessingState,
    /// Creation.
    #[serde(with = "crate::format::ts")]
    pub created: DateTime<Utc>,
    /// Attached files.
    pub downloads: Vec<Download>,
}

// A mandate's status updates are read by mandate.
scoped_record!(StatusUpdate, lookups = |r| vec![("mandate", r.mandate.to_string())]);

impl Resource for StatusUpdate {
    fn render(&self, origin: &Origin) -> Value {
        let downloads: Vec<Value> = self
            .downloads
            .iter()
            .map(|d| {
                api_object! {
                    "id" => d.id,
                    "filename" => d.filename,
                    "mime_type" => d.mime_type,
                    "file_size" => d.file_size,
                    "download_url" => origin.url(&format!(
                        "/v1/mandates/{}/statusupdates/{}/download/{}/",
                        self.mandate, self.id, d.id
                    )),
                }
            })
            .collect();
        api_object! {
            "id" => self.id,
            "title" => self.title,
            "description" => self.description,
            "legal_stage" => self.legal_stage,
            "processing_state" => self.processing_state,
            "created" => self.created,
            "downloads" => downloads,
        }
    }
}

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/mandates/", get(list))
        .route("/mandates/{id}/", get(show).patch(patch))
        .route("/mandates/{id}/statusupdates/", get(status_updates))
        .route(
            "/mandates/{id}/statusupdates/{su_id}/download/{file_id}/",
            get(download),
        )
}

async fn list(State(state): State<AppState>, caller: Caller, origin: Origin) -> Result<Json<Value>, PaywiseError> {
    let mut f = Filters::new(&origin.query);
    let archived = f.boolean("archived");
    let debtor = f.uuid("debtor");
    let org = f.string("debtor_organization_name");
    let first = f.string("debtor_person_first_name");
    let last = f.string("debtor_person_last_name");
    let debtor_ref = f.string("debtor_your_reference");
    let legal_stage = f
        .choice("legal_stage", LEGAL_STAGES)
        .and_then(|s| LegalStage::parse(&s));
    let payment_state = f.choice("payment_state", PAYMENT_STATES);
    let processing_state = f
        .choice("processing_state", PROCESSING_STATES)
        .and_then(|s| ProcessingState::parse(&s));
    let reference_number = f.string("reference_number");
    f.finish()?;
    let (limit, offset) = origin.limit_offset();
    let scope = caller.scope();
    let body = state.store.read(|db| {
        let debtor_matches = |id: &Uuid| {
            if org.is_none() && first.is_none() && last.is_none() && debtor_ref.is_none() {
                return true;
            }
            let Some(d) = db.debtors.get(&scope, &id.to_string()) else {
                return false;
            };
            org.as_ref()
                .is_none_or(|o| d.organization.as_ref().is_some_and(|x| &x.name == o))
                && first
                    .as_ref()
                    .is_none_or(|n| d.person.as_ref().is_some_and(|p| p.first_name.as_ref() == Some(n)))
                && last
                    .as_ref()
                    .is_none_or(|n| d.person.as_ref().is_some_and(|p| &p.last_name == n))
                && debtor_ref.as_ref().is_none_or(|r| d.your_reference.as_ref() == Some(r))
        };
        let matches = |m: &Mandate| {
            archived.is_none_or(|a| m.archived == a)
                && debtor.is_none_or(|d| m.debtor == d)
                && legal_stage.as_ref().is_none_or(|s| m.legal_stage == *s)
                && payment_state.as_ref().is_none_or(|s| m.balance.payment_state() == s)
                && processing_state.as_ref().is_none_or(|s| m.processing_state == *s)
                && reference_number.as_ref().is_none_or(|r| &m.reference_number == r)
                && debtor_matches(&m.debtor)
        };
        let page = db.mandates.page_offset(&scope, offset, limit, Some(&matches));
        list::page(&origin, page, limit, offset, |m| render_full(db, m, &origin))
    });
    Ok(body)
}

fn find(state: &AppState, caller: &Caller, id: &str) -> Result<Uuid, PaywiseError> {
    let id = path_uuid(id)?;
    let exists = state
        .store
        .read(|db| db.mandates.get(&caller.scope(), &id.to_string()).is_some());
    if exists { Ok(id) } else { Err(PaywiseError::not_found()) }
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    Path(id): Path<String>,
) -> Result<Json<Value>, PaywiseError> {
    let id = path_uuid(&id)?;
    render_by_id(&state, &caller.scope(), &id, &origin)
        .map(Json)
        .ok_or_else(PaywiseError::not_found)
}

async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, PaywiseError> {
    let id = find(&state, &caller, &id)?;
    let mut o = Obj::new(&body).map_err(PaywiseError::Validation)?;
    // DRF ignores read-only and unknown fields; `archived` is the only writable one.
    let archived = o.boolean("archived", OPT_NOT_NULL);
    o.finish().map_err(PaywiseError::Validation)?;
    let scope = caller.scope();
    let now = state.now();
    let changed = state.store.write(|db| {
        db.mandates
            .update(&scope, &id.to_string(), |m| match archived {
                Some(a) if a != m.archived => {
                    m.archived = a;
                    m.updated = now;
                    true
                }
                _ => false,
            })
            .unwrap_or(false)
    });
    let out = render_by_id(&state, &scope, &id, &origin).ok_or_else(PaywiseError::not_found)?;
    if changed {
        state.emit(scope, "mandate.updated", out.clone());
    }
    Ok(Json(out))
}

async fn status_updates(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    Path(id): Path<String>,
) -> Result<Json<Value>, PaywiseError> {
    let id = find(&state, &caller, &id)?;
    let scope = caller.scope();
    let out: Vec<Value> = state.store.read(|db| {
        db.status_updates
            .lookup(&scope, "mandate", &id.to_string())
            .map(|s| s.render(&origin))
            .collect()
    });
    Ok(Json(Value::Array(out)))
}

async fn download(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, su_id, file_id)): Path<(String, String, String)>,
) -> Result<Response, PaywiseError> {
    let id = find(&state, &caller, &id)?;
    let su_id = path_uuid(&su_id)?;
    let file_id = path_uuid(&file_id)?;
    let scope = caller.scope();
    let attached = state.store.read(|db| {
        db.status_updates
            .get(&scope, &su_id.to_string())
            .is_some_and(|s| s.mandate == id && s.downloads.iter().any(|d| d.id == file_id))
    });
    if !attached {
        return Err(PaywiseError::not_found());
    }
    Ok(files::download(&state, &scope, &file_id))
}

/// A paywise file number like `K25-8Q114`: `K`, the year, and five characters.
pub fn reference_number(year: i32, bytes: [u8; 16]) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let tail: String = bytes[..5]
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    format!("K{:02}-{tail}", year.rem_euclid(100))
}

/// Adds a status update for `m` (used by fixtures and the back office).
#[allow(clippy::too_many_arguments)]
pub fn status_update(
    seq: u64,
    id: Uuid,
    m: &Mandate,
    title: &str,
    description: &str,
    downloads: Vec<Download>,
    created: DateTime<Utc>,
) -> StatusUpdate {
    StatusUpdate {
        seq,
        scope: m.scope,
        id,
        mandate: m.id,
        title: title.into(),
        description: description.into(),
        legal_stage: m.legal_stage,
        processing_state: m.processing_state,
        created,
        downloads,
    }
}

/// (legal stage, processing state) pairs the fixtures cycle through: every value of both.
const FIXTURE_STATES: &[(LegalStage, ProcessingState)] = &[
    (LegalStage::Extrajudicial, ProcessingState::InProgress),
    (LegalStage::JudicialDunning, ProcessingState::InProgress),
    (LegalStage::Foreclosure, ProcessingState::Paused),
    (LegalStage::LongTermMonitoring, ProcessingState::InProgress),
    (LegalStage::Ended, ProcessingState::Ended),
    (LegalStage::Extrajudicial, ProcessingState::CanceledByClient),
    (LegalStage::JudicialDunning, ProcessingState::CanceledByServiceProvider),
    (LegalStage::Extrajudicial, ProcessingState::Paused),
];

/// The title of the status update that announces `stage` (the fixtures' and the time-driven
/// rules' wording).
pub(crate) fn stage_title(stage: LegalStage) -> &'static str {
    match stage {
        LegalStage::Extrajudicial => "Außergerichtliches Mahnverfahren eingeleitet",
        LegalStage::JudicialDunning => "Antrag auf Erlass eines Mahnbescheids gestellt",
        LegalStage::Foreclosure => "Zwangsvollstreckung eingeleitet",
        LegalStage::LongTermMonitoring => "Langzeitüberwachung",
        LegalStage::Ended => "Mandat beendet",
    }
}

/// Adds this resource's fixtures: one mandate for every `accepted` claim, with that claim's
/// mandate id and reference number, cycling through every legal stage and processing state,
/// with one to three status updates (some with a PDF download).
pub fn seed(f: &mut fixtures::Faker, seq: &mut u64, db: &mut Db) {
    let claims: Vec<Claim> = db
        .claims
        .iter_all()
        .filter(|c| c.submission_state == SubmissionState::Accepted && c.mandate.is_some())
        .cloned()
        .collect::<Vec<_>>();
    let mut claims = claims;
    claims.sort_by_key(|c| c.seq);
    for (i, claim) in claims.iter().enumerate() {
        let Some(link) = &claim.mandate else { continue };
        let Some(id) = link
            .get("id")
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
        else {
            continue;
        };
        let reference = link
            .get("reference_number")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let debtor = db.debtors.get(&claim.scope, &claim.debtor.to_string()).cloned();
        let created = claim.updated;
        // Collection costs (interest-bearing) and default interest accrued since the delay date.
        let costs = Decimal::new(f.int(3_950, 12_950) as i64, 2);
        let days = claim
            .delay_date
            .map(|d| (f.anchor() - d).num_days().max(0))
            .unwrap_or(0);
        // 9.27 % p.a. (base rate plus 9 points, business) or 5.27 % (consumer), rounded to cents.
        let rate = if debtor.as_ref().is_some_and(|d| d.acting_as == "business") {
            Decimal::new(927, 4)
        } else {
            Decimal::new(527, 4)
        };
        let interest = (claim.main_claim_amount.value * rate * Decimal::from(days) / Decimal::from(365)).round_dp(2);
        let interest_on_costs = (costs * rate * Decimal::from(days / 2) / Decimal::from(365)).round_dp(2);
        let payments: Vec<(Uuid, Decimal)> = claim.payments.iter().map(|p| (p.id, p.amount.value)).collect();
        *seq += 1;
        let mut m = Mandate::for_claim(
            *seq,
            id,
            reference,
            claim,
            debtor.as_ref(),
            &payments,
            [costs, interest_on_costs, interest],
            created,
        );
        let (stage, processing) = FIXTURE_STATES[i % FIXTURE_STATES.len()];
        m.archived = i % 6 == 5;
        // Status updates along the way.
        let mut at = created + Duration::hours(2);
        let mut steps: Vec<(LegalStage, ProcessingState)> = vec![(m.legal_stage, m.processing_state)];
        if stage != m.legal_stage {
            steps.push((stage, ProcessingState::InProgress));
        }
        if processing != ProcessingState::InProgress {
            steps.push((stage, processing));
        }
        for (n, (s, p)) in steps.iter().enumerate() {
            if *s != m.legal_stage {
                m.stage_changed = Some(at);
            }
            m.legal_stage = *s;
            m.processing_state = *p;
            let title = if n == 0 {
                "Mandat angelegt".to_string()
            } else if *p != ProcessingState::InProgress {
                format!("Bearbeitungsstand: {p}")
            } else {
                stage_title(*s).to_string()
            };
            let mut downloads = Vec::new();
            if n == 0 || f.chance(0.5) {
                *seq += 1;
                let fid = uuid::Builder::from_random_bytes(f.bytes16()).into_uuid();
                let filename = format!("{}_{}.pdf", m.reference_number, n + 1);
                let file = files::generated_file(fid, *seq, m.scope, &filename, &title, at);
                downloads.push(Download {
                    id: fid,
                    filename,
                    mime_type: file.mime_type.clone(),
                    file_size: file.file_size,
                });
                crate::seed::kept(db.files.insert(file));
            }
            *seq += 1;
            let su_id = uuid::Builder::from_random_bytes(f.bytes16()).into_uuid();
            let description = format!("<p>{title} ({}).</p>", m.reference_number);
            let su = status_update(*seq, su_id, &m, &title, &description, downloads, at);
            crate::seed::kept(db.status_updates.insert(su));
            m.updated = at;
            at += Duration::days(f.int(3, 20) as i64);
        }
        crate::seed::kept(db.mandates.insert(m));
    }
}

#[cfg(test)]
mod state_tests {
    use proptest::prelude::*;

    use super::*;
    use crate::states::testing::{round_trips, walk};

    fn stage_event() -> impl Strategy<Value = StageEvent> {
        prop_oneof![
            Just(StageEvent::Escalate),
            proptest::sample::select(LegalStage::ALL).prop_map(StageEvent::MoveTo),
        ]
    }

    #[test]
    fn names_round_trip_in_the_vendor_s_order() {
        round_trips(LegalStage::ALL, LegalStage::as_str);
        round_trips(ProcessingState::ALL, ProcessingState::as_str);
        assert_eq!(
            LEGAL_STAGES,
            [
                "extrajudicial",
                "judicial_dunning",
                "foreclosure",
                "long_term_monitoring",
                "ended"
            ]
        );
        assert_eq!(
            PROCESSING_STATES,
            [
                "in_progress",
                "paused",
                "canceled_by_client",
                "canceled_by_service_provider",
                "ended"
            ]
        );
    }

    proptest! {
        #[test]
        fn the_legal_stage_only_goes_forward(
            start in proptest::sample::select(LegalStage::ALL),
            events in proptest::collection::vec(stage_event(), 0..40),
        ) {
            let seen = walk(LegalStage::ALL, start, &events);
            prop_assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
        }

        #[test]
        fn a_closed_mandate_stays_closed(
            start in proptest::sample::select(ProcessingState::ALL),
            events in proptest::collection::vec(proptest::sample::select(ProcessingState::ALL).prop_map(SetProcessing), 0..40),
        ) {
            let seen = walk(ProcessingState::ALL, start, &events);
            if let Some(i) = seen.iter().position(|s| !s.is_open()) {
                prop_assert!(seen[i..].iter().all(|s| *s == seen[i]), "{seen:?}");
            }
        }
    }
}
