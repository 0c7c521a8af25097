//! `GET /v1/claims/`, `POST /v1/claims/`, `GET /v1/claims/{id}/`, `PATCH /v1/claims/{id}/`
//! (release), `DELETE /v1/claims/{id}/`, `POST /v1/claims/{id}/documents/`.
//!
//! Release: `PATCH` with `{"submission_state": "released", "send_order_confirmation": bool}`
//! moves a `created` claim to `released`; that is the only change a client can make. Other
//! keys are ignored (read-only for the release serializer). A claim that is no longer `created`
//! refuses every PATCH with `{"non_field_errors": ["..."]}`; another target state is
//! `{"submission_state": ["..."]}`. `DELETE` works only while `created` (204), otherwise 400
//! `{"detail": "..."}`; it also deletes the claim's payments. Documents (multipart `file`, PDF,
//! JPEG or PNG, at most 5 MiB) may be uploaded in every state, since paywise asks for documents
//! during review too; the answer is the Claim (201).
//!
//! A new claim is `created`. Its `total_claim_amount` must equal `main_claim_amount` plus the
//! additional charges minus the payments already received (paywise's own definition); a total
//! that does not add up is refused with a message giving the expected value, so nothing a client
//! wrote is silently changed.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use mock_core::server::JsonBytes;
use mock_core::store::Hint;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::PaywiseError;
use crate::format::Money;
use crate::list::{self, Filters, JsonBody, Origin, Resource, path_uuid};
use crate::resources::files;
use crate::resources::payments::Payment;
use crate::state::{AppState, Caller, Scope};
use crate::states::Machine as _;
use crate::validate::{NULLABLE, OPT, OPT_LIST, OPT_NOT_BLANK, OPT_OBJECT, Obj, REQ, event, metadata};
use crate::vendor::{
    ADDITIONAL_CHARGE_EVENT_TYPES, ADDITIONAL_CHARGE_TYPES, CLAIM_EVENT_TYPES, CLAIM_METADATA_TYPES,
    PAYMENT_METADATA_TYPES,
};

state_enum! {
    /// A claim's `submission_state`, as v1 spells it (v2 shows it as its `status`, see
    /// `crate::v2::claims::status`). Moves only by [`ClaimEvent`]s through
    /// [`SubmissionState::next`].
    pub enum SubmissionState moved by ClaimEvent {
        /// A draft the client may change, release or delete.
        Created = "created",
        /// Handed over; paywise will review it.
        Released = "released",
        /// paywise reviews it.
        UnderReview = "under_review",
        /// paywise asked the client a question.
        ClientResponsePending = "client_response_pending",
        /// Accepted into a mandate (final).
        Accepted = "accepted",
        /// Refused, or withdrawn through v2 (final).
        Rejected = "rejected",
    }
}

/// Every `submission_state`, as the list filter offers them.
pub(crate) const SUBMISSION_STATES: &[&str] = SubmissionState::NAMES;

/// What moves a claim's [`SubmissionState`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimEvent {
    /// The client releases its draft (v1's `PATCH`, v2's finalize): `created -> released`.
    Release,
    /// paywise's staff (the back office, the time-driven rules) move it on in review to the
    /// state given: see [`SubmissionState::review_targets`].
    Review(SubmissionState),
    /// Its v2 order moved (see `crate::v2::orders::OrderStatus::next`, which decides what
    /// may happen to an order): the claim takes the state v1 shows for the order's status
    /// (`crate::v2::orders::OrderStatus::claim_state`), any but `created`, from any state
    /// that is not final (a final state only stays).
    Follow(SubmissionState),
}

impl SubmissionState {
    /// Where paywise's staff may move a claim in this state ([`ClaimEvent::Review`]):
    /// `released -> under_review`, `under_review -> client_response_pending | accepted |
    /// rejected`, `client_response_pending -> under_review | accepted | rejected`.
    pub fn review_targets(self) -> &'static [SubmissionState] {
        use SubmissionState::*;
        match self {
            Released => &[UnderReview],
            UnderReview => &[ClientResponsePending, Accepted, Rejected],
            ClientResponsePending => &[UnderReview, Accepted, Rejected],
            Created | Accepted | Rejected => &[],
        }
    }

    /// Where `event` takes a claim in this state, or `None` where it is refused.
    pub fn next(self, event: ClaimEvent) -> Option<Self> {
        match (self, event) {
            (SubmissionState::Created, ClaimEvent::Release) => Some(SubmissionState::Released),
            (from, ClaimEvent::Review(to)) if from.review_targets().contains(&to) => Some(to),
            (from, ClaimEvent::Follow(to)) if !to.is_draft() && (!from.is_final() || from == to) => Some(to),
            _ => None,
        }
    }

    /// Whether nothing moves the claim any more (`accepted`, `rejected`).
    pub fn is_final(self) -> bool {
        matches!(self, SubmissionState::Accepted | SubmissionState::Rejected)
    }

    /// Whether the claim is still the client's draft.
    pub fn is_draft(self) -> bool {
        self == SubmissionState::Created
    }
}

/// `extrajudicial` (start out of court) or `judicial` (apply for a dunning order at once).
pub const STARTING_APPROACHES: &[&str] = &["extrajudicial", "judicial"];

/// An invoice line (`ItemRequest`: description, quantity and amount are required).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Description (1 to 1000 characters).
    pub description: String,
    /// Quantity: a number (`format: double`), written as DRF's `FloatField` writes it (stored as
    /// exact decimal text, see `crate::format::float`).
    #[serde(with = "crate::format::float")]
    pub quantity: f64,
    /// Unit.
    pub unit: Option<String>,
    /// Amount.
    pub amount: Money,
}

/// An additional charge ("Nebenforderung"), such as a reminder fee.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdditionalCharge {
    /// Unique identifier.
    pub id: Uuid,
    /// Kind, e.g. `reminder_fee`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The client's reference.
    pub your_reference: Option<String>,
    /// What it is for.
    pub subject_matter: Option<String>,
    /// When it arose.
    pub occurence_date: Option<NaiveDate>,
    /// Document date.
    pub document_date: Option<NaiveDate>,
    /// Due date.
    pub due_date: Option<NaiveDate>,
    /// Amount.
    pub amount: Money,
    /// `{type, value}` entries.
    pub metadata: Vec<Value>,
    /// Events.
    pub events: Vec<Value>,
}

/// A payment already received before the claim was handed over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimPayment {
    /// Unique identifier: only in the `href` (`ClaimPayment` has no `id`).
    pub id: Uuid,
    /// The client's reference.
    pub your_reference: Option<String>,
    /// Amount.
    pub amount: Money,
    /// Value date.
    pub value_date: NaiveDate,
    /// `{type, value}` entries.
    pub metadata: Vec<Value>,
    /// Creation.
    #[serde(with = "crate::format::ts")]
    pub created: DateTime<Utc>,
}

impl crate::format::ToJson for Item {
    fn to_json(&self) -> Value {
        api_object! {
            "description" => self.description,
            "quantity" => self.quantity,
            "unit" => self.unit,
            "amount" => self.amount,
        }
    }
}

impl crate::format::ToJson for AdditionalCharge {
    fn to_json(&self) -> Value {
        api_object! {
            "id" => self.id,
            "type" => self.kind,
            "your_reference" => self.your_reference,
            "subject_matter" => self.subject_matter,
            "occurence_date" => self.occurence_date,
            "document_date" => self.document_date,
            "due_date" => self.due_date,
            "amount" => self.amount,
            "metadata" => self.metadata,
            "events" => self.events,
        }
    }
}

impl ClaimPayment {
    /// The payment as a claim shows it: its `href` in place of its `id`, then `created` and the
    /// rest (the order the mock has always written, see [`PaymentLink`]).
    fn render(&self, origin: &Origin) -> Value {
        api_object! {
            "href" => origin.url(&format!("/v1/payments/{}/", self.id)),
            "created" => self.created,
            "your_reference" => self.your_reference,
            "amount" => self.amount,
            "value_date" => self.value_date,
            "metadata" => self.metadata,
        }
    }
}

/// A claim's mandate as the API shows it: an object with a string `id` gets its `href` first
/// (a stored `href` wins over the made one); anything else as stored.
fn mandate_link(mandate: &Option<Value>, origin: &Origin) -> Value {
    match mandate {
        Some(Value::Object(fields)) if fields.get("id").is_some_and(Value::is_string) => {
            let id = fields.get("id").and_then(Value::as_str).unwrap_or_default();
            let mut out = serde_json::Map::with_capacity(fields.len() + 1);
            out.insert("href".into(), Value::String(origin.url(&format!("/v1/mandates/{id}/"))));
            out.extend(fields.clone());
            Value::Object(out)
        }
        other => other.clone().unwrap_or(Value::Null),
    }
}

/// A claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    /// Creation order (not exposed).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub seq: u64,
    /// Company and access mode (not exposed).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub scope: Scope,
    /// Unique identifier.
    pub id: Uuid,
    /// Where the claim is in its lifecycle.
    pub submission_state: SubmissionState,
    /// The debtor's id.
    pub debtor: Uuid,
    /// `{href, id, reference_number}` once accepted into a mandate.
    pub mandate: Option<Value>,
    /// The client's reference.
    pub your_reference: Option<String>,
    /// The goods or service.
    pub subject_matter: Option<String>,
    /// When the principal claim arose.
    pub occurence_date: Option<NaiveDate>,
    /// Invoice or contract number.
    pub document_reference: Option<String>,
    /// Invoice date.
    pub document_date: Option<NaiveDate>,
    /// Due date.
    pub due_date: Option<NaiveDate>,
    /// First formal reminder.
    pub reminder_date: Option<NaiveDate>,
    /// Start of default.
    pub delay_date: Option<NaiveDate>,
    /// Main claim plus additional charges minus payments received.
    pub total_claim_amount: Money,
    /// Principal including VAT.
    pub main_claim_amount: Money,
    /// Invoice lines.
    pub items: Vec<Item>,
    /// Sum of the additional charges.
    pub additional_charges_amount: Money,
    /// Additional charges.
    pub additional_charges: Vec<AdditionalCharge>,
    /// Payments already received.
    pub payments: Vec<ClaimPayment>,
    /// One of [`STARTING_APPROACHES`].
    pub starting_approach: String,
    /// Whether the debtor disputes the claim.
    pub claim_disputed: bool,
    /// Whether the client fulfilled its obligation.
    pub obligation_fulfilled: bool,
    /// Uploaded documents `{id, mime_type, filename}`.
    pub documents: Vec<Value>,
    /// `{type, value}` entries.
    pub metadata: Vec<Value>,
    /// Events.
    pub events: Vec<Value>,
    /// Creation.
    #[serde(with = "crate::format::ts")]
    pub created: DateTime<Utc>,
    /// Last change.
    #[serde(with = "crate::format::ts")]
    pub updated: DateTime<Utc>,
    /// What v2 adds (its order, kind, reminders, legal basis, title, exact items); `None` for a
    /// claim v2 never wrote.
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub v2: Option<Box<crate::v2::claims::ClaimV2>>,
}

scoped_record!(
    Claim,
    lookups = |r| {
        let mut keys = vec![("submission_state", r.submission_state.as_str().to_string())];
        keys.extend(r.your_reference.iter().map(|v| ("your_reference", v.clone())));
        // Its v2 order (a v1 claim's adopted one): the order's claims are read by it.
        keys.push(("order", crate::v2::claims::order_id(r).to_string()));
        keys
    }
);

impl crate::list::Resource for Claim {
    /// The claim as the API shows it, with absolute `href`s: each payment's in place of its
    /// `id`, and the mandate's first.
    fn render(&self, origin: &Origin) -> Value {
        let payments: Vec<Value> = self.payments.iter().map(|p| p.render(origin)).collect();
        api_object! {
            "href" => origin.url(&format!("/v1/claims/{}/", self.id)),
            "id" => self.id,
            "submission_state" => self.submission_state,
            "debtor" => self.debtor,
            "mandate" => mandate_link(&self.mandate, origin),
            "your_reference" => self.your_reference,
            "subject_matter" => self.subject_matter,
            "occurence_date" => self.occurence_date,
            "document_reference" => self.document_reference,
            "document_date" => self.document_date,
            "due_date" => self.due_date,
            "reminder_date" => self.reminder_date,
            "delay_date" => self.delay_date,
            "total_claim_amount" => self.total_claim_amount,
            "main_claim_amount" => self.main_claim_amount,
            "items" => self.items,
            "additional_charges_amount" => self.additional_charges_amount,
            "additional_charges" => self.additional_charges,
            "payments" => payments,
            "starting_approach" => self.starting_approach,
            "claim_disputed" => self.claim_disputed,
            "obligation_fulfilled" => self.obligation_fulfilled,
            "documents" => self.documents,
            "metadata" => self.metadata,
            "events" => self.events,
            "created" => self.created,
            "updated" => self.updated,
        }
    }

    /// The bytes of [`Resource::render`] written without a `Value` (a page of claims is the
    /// mock's largest paywise answer): the members in the struct's order after `href`, each
    /// payment and the mandate with its own `href` first, as `render` places them.
    fn write<S: serde::Serializer>(&self, origin: &Origin, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(28))?;
        m.serialize_entry("href", &origin.url(&format!("/v1/claims/{}/", self.id)))?;
        m.serialize_entry("id", &self.id)?;
        m.serialize_entry("submission_state", &self.submission_state)?;
        m.serialize_entry("debtor", &self.debtor)?;
        m.serialize_entry(
            "mandate",
            &MandateLink {
                mandate: &self.mandate,
                origin,
            },
        )?;
        m.serialize_entry("your_reference", &self.your_reference)?;
        m.serialize_entry("subject_matter", &self.subject_matter)?;
        m.serialize_entry("occurence_date", &self.occurence_date)?;
        m.serialize_entry("document_reference", &self.document_reference)?;
        m.serialize_entry("document_date", &self.document_date)?;
        m.serialize_entry("due_date", &self.due_date)?;
        m.serialize_entry("reminder_date", &self.reminder_date)?;
        m.serialize_entry("delay_date", &self.delay_date)?;
        m.serialize_entry("total_claim_amount", &self.total_claim_amount)?;
        m.serialize_entry("main_claim_amount", &self.main_claim_amount)?;
        m.serialize_entry("items", &self.items)?;
        m.serialize_entry("additional_charges_amount", &self.additional_charges_amount)?;
        m.serialize_entry("additional_charges", &self.additional_charges)?;
        let payments: Vec<PaymentLink<'_>> = self
            .payments
            .iter()
            .map(|payment| PaymentLink { payment, origin })
            .collect();
        m.serialize_entry("payments", &payments)?;
        m.serialize_entry("starting_approach", &self.starting_approach)?;
        m.serialize_entry("claim_disputed", &self.claim_disputed)?;
        m.serialize_entry("obligation_fulfilled", &self.obligation_fulfilled)?;
        m.serialize_entry("documents", &self.documents)?;
        m.serialize_entry("metadata", &self.metadata)?;
        m.serialize_entry("events", &self.events)?;
        m.serialize_entry("created", &Timestamp(&self.created))?;
        m.serialize_entry("updated", &Timestamp(&self.updated))?;
        m.end()
    }
}

/// A timestamp as [`crate::format::ts`] writes it.
struct Timestamp<'a>(&'a DateTime<Utc>);

impl Serialize for Timestamp<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::format::ts::serialize(self.0, s)
    }
}

/// A claim's payment as the API shows it: its `href` in place of its `id`.
struct PaymentLink<'a> {
    payment: &'a ClaimPayment,
    origin: &'a Origin,
}

impl Serialize for PaymentLink<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let p = self.payment;
        let mut m = s.serialize_map(Some(6))?;
        // `render` takes the `id` out by swapping the last member (`created`) into its place.
        m.serialize_entry("href", &self.origin.url(&format!("/v1/payments/{}/", p.id)))?;
        m.serialize_entry("created", &Timestamp(&p.created))?;
        m.serialize_entry("your_reference", &p.your_reference)?;
        m.serialize_entry("amount", &p.amount)?;
        m.serialize_entry("value_date", &p.value_date)?;
        m.serialize_entry("metadata", &p.metadata)?;
        m.end()
    }
}

/// A claim's mandate as the API shows it: an object with an `id` gets its `href` first.
struct MandateLink<'a> {
    mandate: &'a Option<Value>,
    origin: &'a Origin,
}

impl Serialize for MandateLink<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self.mandate {
            Some(Value::Object(fields)) if fields.get("id").is_some_and(Value::is_string) => {
                let id = fields.get("id").and_then(Value::as_str).unwrap_or_default();
                // As `render` merges them: `href` first, a stored `href` winning over the made one.
                let mut m = s.serialize_map(Some(fields.len() + 1))?;
                match fields.get("href") {
                    Some(stored) => m.serialize_entry("href", stored)?,
                    None => m.serialize_entry("href", &self.origin.url(&format!("/v1/mandates/{id}/")))?,
                }
                for (k, v) in fields.iter().filter(|(k, _)| *k != "href") {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
            other => other.serialize(s),
        }
    }
}

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/claims/", get(list).post(create))
        .route("/claims/{id}/", get(show).patch(release).delete(delete))
        .route("/claims/{id}/documents/", post(upload))
}

async fn list(State(state): State<AppState>, caller: Caller, origin: Origin) -> Result<JsonBytes, PaywiseError> {
    let mut f = Filters::new(&origin.query);
    let claim_disputed = f.boolean("claim_disputed");
    let delay_date = f.date("delay_date");
    let document_reference = f.string("document_reference");
    let due_date = f.date("due_date");
    let id = f.uuid("id");
    let obligation_fulfilled = f.boolean("obligation_fulfilled");
    let reminder_date = f.date("reminder_date");
    let starting_approach = f.choice("starting_approach", STARTING_APPROACHES);
    let subject_matter = f.string("subject_matter");
    let submission_state = f.choice("submission_state", SUBMISSION_STATES);
    let your_reference = f.string("your_reference");
    f.finish()?;
    let filters = [
        claim_disputed.is_some(),
        delay_date.is_some(),
        document_reference.is_some(),
        due_date.is_some(),
        id.is_some(),
        obligation_fulfilled.is_some(),
        reminder_date.is_some(),
        starting_approach.is_some(),
        subject_matter.is_some(),
        submission_state.is_some(),
        your_reference.is_some(),
    ]
    .into_iter()
    .filter(|set| *set)
    .count();
    let eq = |want: &Option<String>, got: &Option<String>| want.as_ref().is_none_or(|w| got.as_ref() == Some(w));
    let matches = |c: &Claim| {
        claim_disputed.is_none_or(|b| c.claim_disputed == b)
            && delay_date.is_none_or(|d| c.delay_date == Some(d))
            && eq(&document_reference, &c.document_reference)
            && due_date.is_none_or(|d| c.due_date == Some(d))
            && id.is_none_or(|i| c.id == i)
            && obligation_fulfilled.is_none_or(|b| c.obligation_fulfilled == b)
            && reminder_date.is_none_or(|d| c.reminder_date == Some(d))
            && starting_approach.as_ref().is_none_or(|s| &c.starting_approach == s)
            && eq(&subject_matter, &c.subject_matter)
            && submission_state
                .as_ref()
                .is_none_or(|s| SubmissionState::parse(s) == Some(c.submission_state))
            && eq(&your_reference, &c.your_reference)
    };
    // `your_reference` and `submission_state` are secondary keys: only the records under one are
    // tested and counted, and a page filtered by the state alone is read from its key directly.
    let hint = match (your_reference.as_deref(), submission_state.as_deref()) {
        (Some(r), _) => Hint::Lookup("your_reference", r),
        (None, Some(s)) if filters == 1 => Hint::Exact("submission_state", s),
        (None, Some(s)) => Hint::Lookup("submission_state", s),
        (None, None) => Hint::None,
    };
    list::list_hinted(
        &state,
        &caller,
        &origin,
        hint,
        (filters > 0).then_some(&matches as &dyn Fn(&Claim) -> bool),
        |db| &db.claims,
    )
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    Path(id): Path<String>,
) -> Result<JsonBytes, PaywiseError> {
    list::show(&state, &caller, &origin, &id, |db| &db.claims)
}

/// What a claim body says, before ids and timestamps are assigned.
struct NewClaim {
    claim: Claim,
    debtor_raw: Value,
}

fn validate(body: &Value, now: DateTime<Utc>, state: &AppState) -> Result<NewClaim, Value> {
    let mut o = Obj::new(body)?;
    // `ClaimSerializerWithoutIdRequest`: these are `required` and `nullable` in the files.
    let debtor_raw = o.string("debtor", REQ, None);
    let your_reference = o.string("your_reference", NULLABLE, Some(255));
    let subject_matter = o.string("subject_matter", NULLABLE, None);
    let occurence_date = o.date("occurence_date", NULLABLE);
    let document_reference = o.string("document_reference", NULLABLE, Some(255));
    let document_date = o.date("document_date", NULLABLE);
    let due_date = o.date("due_date", NULLABLE);
    let reminder_date = o.date("reminder_date", NULLABLE);
    let delay_date = o.date("delay_date", NULLABLE);
    let positive = !state.lenient.amounts;
    let total = o.money("total_claim_amount", REQ, false);
    let main = o.money("main_claim_amount", REQ, positive);
    let items = o.list("items", OPT_LIST, true, |i| {
        let description = i.string("description", REQ, Some(1000));
        let quantity = i.number("quantity", REQ);
        let unit = i.string("unit", OPT, Some(255));
        let amount = i.money("amount", REQ, false);
        match (description, quantity, amount) {
            (Some(description), Some(quantity), Some(amount)) => Some(Item {
                description,
                quantity,
                unit,
                amount,
            }),
            _ => None,
        }
    });
    let charges_amount = o.money("additional_charges_amount", OPT_OBJECT, false);
    let charges = o.list("additional_charges", OPT_LIST, true, |c| {
        // `type` is the enum or blank (`BlankEnum`), and not required.
        let kind = match c.get("type") {
            Some(Value::String(s)) if s.is_empty() => Some(String::new()),
            _ => c.choice("type", OPT_NOT_BLANK, ADDITIONAL_CHARGE_TYPES),
        };
        let your_reference = c.string("your_reference", NULLABLE, Some(255));
        let subject_matter = c.string("subject_matter", NULLABLE, None);
        let occurence_date = c.date("occurence_date", NULLABLE);
        let document_date = c.date("document_date", NULLABLE);
        let due_date = c.date("due_date", NULLABLE);
        let amount = c.money("amount", REQ, positive);
        let metadata = c
            .list("metadata", OPT_LIST, true, metadata(CLAIM_METADATA_TYPES))
            .unwrap_or_default();
        let events = c
            .list("events", OPT_LIST, true, event(ADDITIONAL_CHARGE_EVENT_TYPES))
            .unwrap_or_default();
        amount.map(|amount| AdditionalCharge {
            id: state.ids.uuid(),
            kind,
            your_reference,
            subject_matter,
            occurence_date,
            document_date,
            due_date,
            amount,
            metadata,
            events,
        })
    });
    let payments = o.list("payments", OPT_LIST, true, |p| {
        let your_reference = p.string("your_reference", OPT, Some(255));
        let amount = p.money("amount", REQ, positive);
        let value_date = p.date("value_date", REQ);
        let metadata = p
            .list("metadata", OPT_LIST, true, metadata(PAYMENT_METADATA_TYPES))
            .unwrap_or_default();
        match (amount, value_date) {
            (Some(amount), Some(value_date)) => Some(ClaimPayment {
                id: state.ids.uuid(),
                your_reference,
                amount,
                value_date,
                metadata,
                created: now,
            }),
            _ => None,
        }
    });
    let starting_approach = o.choice("starting_approach", REQ, STARTING_APPROACHES);
    let claim_disputed = o.boolean("claim_disputed", REQ);
    let obligation_fulfilled = o.boolean("obligation_fulfilled", REQ);
    let metadata = o.list("metadata", OPT_LIST, true, metadata(CLAIM_METADATA_TYPES));
    let events = o.list("events", OPT_LIST, true, event(CLAIM_EVENT_TYPES));

    let items: Vec<Item> = items.unwrap_or_default().into_iter().flatten().collect();
    let charges: Vec<AdditionalCharge> = charges.unwrap_or_default().into_iter().flatten().collect();
    let payments: Vec<ClaimPayment> = payments.unwrap_or_default().into_iter().flatten().collect();
    let charges_sum: Decimal = charges.iter().map(|c| c.amount.value).sum();
    let payments_sum: Decimal = payments.iter().map(|p| p.amount.value).sum();
    let strict = !state.lenient.totals;
    // Our inference (README): one claim, one currency; sums in two currencies mean nothing.
    if strict && let Some(main) = main {
        let others = charges
            .iter()
            .map(|c| c.amount)
            .chain(payments.iter().map(|p| p.amount))
            .chain(items.iter().map(|i| i.amount))
            .chain(total)
            .chain(charges_amount);
        if others.into_iter().any(|m| m.currency != main.currency) {
            o.non_field("All amounts of a claim must be in the currency of main_claim_amount.");
        }
    }
    if strict
        && let Some(given) = charges_amount
        && !o.failed("additional_charges")
        && given.value != charges_sum
    {
        o.error(
            "additional_charges_amount",
            format!(
                "Must equal the sum of additional_charges ({}).",
                Money::eur(charges_sum).value.round_dp(2)
            ),
        );
    }
    if strict && let (Some(total), Some(main)) = (total, main) {
        let expected = main.value + charges_sum - payments_sum;
        if !o.failed("additional_charges") && !o.failed("payments") && total.value != expected {
            let mut e = expected;
            e.rescale(2);
            o.error(
                "total_claim_amount",
                format!("Must equal main_claim_amount plus additional charges minus payments already received ({e})."),
            );
        } else if expected < Decimal::ZERO {
            o.error("total_claim_amount", "Payments already received exceed the claim.");
        }
    }
    o.finish()?;
    let main = main.unwrap_or(Money::eur(Decimal::ZERO));
    Ok(NewClaim {
        debtor_raw: Value::String(debtor_raw.unwrap_or_default()),
        claim: Claim {
            seq: 0,
            scope: Scope {
                company: 0,
                mode: crate::state::AccessMode::Test,
            },
            id: Uuid::nil(),
            submission_state: SubmissionState::Created,
            debtor: Uuid::nil(),
            mandate: None,
            your_reference,
            subject_matter,
            occurence_date,
            document_reference,
            document_date,
            due_date,
            reminder_date,
            delay_date,
            total_claim_amount: total.unwrap_or(main),
            main_claim_amount: main,
            items,
            additional_charges_amount: Money {
                value: charges_sum,
                currency: main.currency,
            },
            additional_charges: charges,
            payments,
            starting_approach: starting_approach.unwrap_or_default(),
            claim_disputed: claim_disputed.unwrap_or_default(),
            obligation_fulfilled: obligation_fulfilled.unwrap_or_default(),
            documents: Vec::new(),
            metadata: metadata.unwrap_or_default(),
            events: events.unwrap_or_default(),
            created: now,
            updated: now,
            v2: None,
        },
    })
}

/// How a v1 body's primary-key reference reads: a UUID string naming a record, as DRF's
/// `PrimaryKeyRelatedField` over a UUID key sees it (the claim of a payment, the debtor of a
/// claim, the company of a Partner user or invite).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PkRef<'a> {
    /// The field is absent.
    Absent,
    /// The field is `null`.
    Null,
    /// A UUID naming an existing record.
    Found(Uuid),
    /// A UUID naming no record (the text as sent).
    Unknown(&'a str),
    /// A string that is no UUID.
    NotUuid(&'a str),
    /// Not a string.
    WrongType(&'a Value),
}

impl PkRef<'_> {
    /// DRF's message for a refused reference; `None` for a found, absent or `null` one (whether
    /// those are allowed is the field's own rule).
    pub(crate) fn error(&self) -> Option<String> {
        match self {
            PkRef::Absent | PkRef::Null | PkRef::Found(_) => None,
            PkRef::Unknown(s) => Some(format!("Invalid pk \"{s}\" - object does not exist.")),
            PkRef::NotUuid(s) => Some(format!("“{s}” is not a valid UUID.")),
            PkRef::WrongType(v) => Some(format!(
                "Incorrect type. Expected pk value, received {}.",
                crate::validate::py_type(v)
            )),
        }
    }
}

/// Reads `body[field]` as a [`PkRef`]; `exists` says whether a record has that id. With `trim`,
/// spaces around the UUID are ignored (the Partner API's fields).
pub(crate) fn pk_ref<'a>(body: &'a Value, field: &str, trim: bool, exists: impl FnOnce(Uuid) -> bool) -> PkRef<'a> {
    match body.get(field) {
        None => PkRef::Absent,
        Some(Value::Null) => PkRef::Null,
        Some(Value::String(s)) => match Uuid::parse_str(if trim { s.trim() } else { s }) {
            Err(_) => PkRef::NotUuid(s),
            Ok(u) if exists(u) => PkRef::Found(u),
            Ok(_) => PkRef::Unknown(s),
        },
        Some(other) => PkRef::WrongType(other),
    }
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), PaywiseError> {
    let now = state.now();
    // The debtor reference is checked first so that its error joins the others in one answer.
    let debtor_error = pk_ref(&body, "debtor", false, |u| {
        state
            .store
            .read(|db| db.debtors.get(&caller.scope(), &u.to_string()).is_some())
    })
    .error();
    let validated = validate(&body, now, &state);
    let mut new = match (validated, debtor_error) {
        (Ok(new), None) => new,
        (Ok(_), Some(e)) => return Err(PaywiseError::field("debtor", e)),
        (Err(mut errors), Some(e)) => {
            if let Value::Object(m) = &mut errors {
                m.insert("debtor".into(), json!([e]));
            }
            return Err(PaywiseError::Validation(errors));
        }
        (Err(errors), None) => return Err(PaywiseError::Validation(errors)),
    };
    let debtor = new
        .debtor_raw
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| PaywiseError::field("debtor", crate::validate::REQUIRED))?;
    new.claim.debtor = debtor;
    new.claim.seq = state.ids.next_seq();
    new.claim.id = state.ids.uuid();
    new.claim.scope = caller.scope();
    let claim = new.claim;
    // Payments sent inline are payment records too, so their `href`s resolve.
    let payments: Vec<Payment> = claim
        .payments
        .iter()
        .map(|p| Payment {
            seq: state.ids.next_seq(),
            scope: claim.scope,
            id: p.id,
            claim: claim.id,
            your_reference: p.your_reference.clone(),
            amount: p.amount,
            value_date: p.value_date,
            metadata: p.metadata.clone(),
            created: p.created,
        })
        .collect();
    state
        .store
        .write(|db| {
            db.claims.insert(claim.clone())?;
            for p in payments {
                db.payments.insert(p)?;
            }
            Ok::<(), mock_core::store::StoreError>(())
        })
        .map_err(|e| PaywiseError::Detail(StatusCode::CONFLICT, e.to_string()))?;
    let out = claim.render(&origin);
    state.emit(claim.scope, "claim.created", out.clone());
    Ok((StatusCode::CREATED, Json(out)))
}

/// The caller's claim `id`, or 404.
fn find(state: &AppState, caller: &Caller, id: &str) -> Result<Claim, PaywiseError> {
    let id = path_uuid(id)?;
    state
        .store
        .read(|db| db.claims.get(&caller.scope(), &id.to_string()).cloned())
        .ok_or_else(PaywiseError::not_found)
}

/// The message for a change to a claim that is no longer `created`.
pub(crate) fn locked(state: SubmissionState) -> String {
    format!("The claim has already been released (submission_state \"{state}\") and can no longer be changed.")
}

async fn release(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, PaywiseError> {
    let claim = find(&state, &caller, &id)?;
    let mut o = Obj::new(&body).map_err(PaywiseError::Validation)?;
    if !claim.submission_state.is_draft() {
        return Err(PaywiseError::field("non_field_errors", locked(claim.submission_state)));
    }
    // `PatchedReleaseClaimForProcessingRequest`: optional, `SubmissionStateEnum` or blank; absent
    // or blank changes nothing.
    let target = match o.get("submission_state") {
        None => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(_) => o.choice("submission_state", REQ, SUBMISSION_STATES),
    };
    let _send_order_confirmation = o.boolean("send_order_confirmation", crate::validate::Spec::default());
    if let Some(t) = &target
        && t != "released"
    {
        o.error(
            "submission_state",
            format!("A client can only release a claim (\"created\" to \"released\"), not set \"{t}\"."),
        );
    }
    o.finish().map_err(PaywiseError::Validation)?;
    if target.is_none() {
        return Ok(Json(claim.render(&origin)));
    }
    let now = state.now();
    let scope = caller.scope();
    let updated = state
        .store
        .write(|db| {
            db.claims.update(&scope, &claim.id.to_string(), |c| {
                if !c.submission_state.apply(ClaimEvent::Release) {
                    return Err(locked(c.submission_state));
                }
                c.updated = now;
                Ok(c.clone())
            })
        })
        .ok_or_else(PaywiseError::not_found)?
        .map_err(|m| PaywiseError::field("non_field_errors", m))?;
    let out = updated.render(&origin);
    state.emit(scope, "claim.updated", out.clone());
    Ok(Json(out))
}

async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, PaywiseError> {
    let claim = find(&state, &caller, &id)?;
    let scope = caller.scope();
    // A field error, as the refused release is (reference §3.2).
    let refused = |s: SubmissionState| {
        PaywiseError::field(
            "non_field_errors",
            format!("Only claims with submission_state \"created\" can be deleted; this claim is \"{s}\"."),
        )
    };
    if !claim.submission_state.is_draft() {
        return Err(refused(claim.submission_state));
    }
    state.store.write(|db| {
        let key = claim.id.to_string();
        match db.claims.get(&scope, &key) {
            None => return Err(PaywiseError::not_found()),
            Some(c) if !c.submission_state.is_draft() => return Err(refused(c.submission_state)),
            Some(_) => {}
        }
        db.claims.remove(&scope, &key);
        let payments: Vec<String> = db
            .payments
            .lookup(&scope, "claim", &claim.id.to_string())
            .map(|p| p.id.to_string())
            .collect();
        for p in payments {
            db.payments.remove(&scope, &p);
        }
        Ok(())
    })?;
    Ok(StatusCode::NO_CONTENT)
}

async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    Path(id): Path<String>,
    req: Request,
) -> Result<(StatusCode, Json<Value>), PaywiseError> {
    let claim = find(&state, &caller, &id)?;
    // The vendor file lists JSON and form bodies for this operation too (DRF's parsers): they
    // cannot carry a file, so DRF answers that none was submitted.
    let content_type = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("application/json") || content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(PaywiseError::field("file", "No file was submitted."));
    }
    let upload = files::read_upload(&state, req).await?;
    let scope = caller.scope();
    let now = state.now();
    let updated = state.store.write(|db| {
        let file = files::store(&state, db, scope, upload)?;
        db.claims
            .update(&scope, &claim.id.to_string(), |c| {
                c.documents
                    .push(json!({"id": file.id, "mime_type": file.mime_type, "filename": file.filename}));
                c.updated = now;
                c.clone()
            })
            .ok_or_else(PaywiseError::not_found)
    })?;
    let out = updated.render(&origin);
    state.emit(scope, "claim.updated", out.clone());
    Ok((StatusCode::CREATED, Json(out)))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::states::testing::{round_trips, walk};

    fn event() -> impl Strategy<Value = ClaimEvent> {
        let state = proptest::sample::select(SubmissionState::ALL);
        prop_oneof![
            Just(ClaimEvent::Release),
            state.clone().prop_map(ClaimEvent::Review),
            state.prop_map(ClaimEvent::Follow),
        ]
    }

    #[test]
    fn names_round_trip_and_match_the_filter() {
        round_trips(SubmissionState::ALL, SubmissionState::as_str);
        assert_eq!(
            SUBMISSION_STATES,
            [
                "created",
                "released",
                "under_review",
                "client_response_pending",
                "accepted",
                "rejected"
            ]
        );
        for s in SubmissionState::ALL {
            assert_eq!(SubmissionState::parse(s.as_str()), Some(*s));
        }
        assert_eq!(SubmissionState::parse("Created"), None);
    }

    #[test]
    fn the_review_moves_are_the_back_office_s() {
        use SubmissionState::*;
        assert_eq!(Created.next(ClaimEvent::Release), Some(Released));
        assert_eq!(Released.next(ClaimEvent::Release), None);
        assert_eq!(Released.next(ClaimEvent::Review(UnderReview)), Some(UnderReview));
        assert_eq!(Released.next(ClaimEvent::Review(Accepted)), None);
        assert_eq!(
            ClientResponsePending.next(ClaimEvent::Review(UnderReview)),
            Some(UnderReview)
        );
        assert_eq!(Accepted.next(ClaimEvent::Follow(Rejected)), None);
        assert_eq!(Created.next(ClaimEvent::Follow(Created)), None);
    }

    proptest! {
        #[test]
        fn random_events_stay_in_the_machine(
            start in proptest::sample::select(SubmissionState::ALL),
            events in proptest::collection::vec(event(), 0..40),
        ) {
            let seen = walk(SubmissionState::ALL, start, &events);
            // Once final, a claim stays where it is.
            if let Some(i) = seen.iter().position(|s| s.is_final()) {
                prop_assert!(seen[i..].iter().all(|s| *s == seen[i]), "{seen:?}");
            }
            // Nothing leads back to a draft.
            if let Some(i) = seen.iter().position(|s| !s.is_draft()) {
                prop_assert!(seen[i..].iter().all(|s| !s.is_draft()), "{seen:?}");
            }
        }
    }
}
