//! `GET /v1/debtors/`, `POST /v1/debtors/`, `GET /v1/debtors/{id}/`, and the sub-resources
//! `POST /v1/debtors/{id}/communicationchannels/`, `.../addresses/`, `.../bankaccounts/`.
//!
//! A debtor is a consumer or a business, described as a `person` or an `organization`, with at
//! least one address. Clients de-duplicate with `?your_reference=X&limit=1`.
//!
//! Adding a communication channel (documented), an address or a bank account (both unverified:
//! only an unofficial client knows them) appends one entry validated as in a debtor body, moves
//! `updated`, and answers 201 with the full debtor. paywise documents no debtor events, so none
//! are emitted.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use mock_core::server::JsonBytes;
use mock_core::store::Hint;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::is_country;
use crate::error::PaywiseError;
use crate::list::{self, Filters, JsonBody, Origin, Resource};
use crate::state::{AppState, Caller, Scope};
use crate::validate::{NULLABLE, OPT, OPT_LIST, OPT_OBJECT, Obj, REQ, event, looks_like_email, metadata};
use crate::vendor::{DEBTOR_EVENT_TYPES, DEBTOR_METADATA_TYPES};

/// `consumer` (Verbraucher) or `business` (Unternehmer).
pub const ACTING_AS: &[&str] = &["consumer", "business"];
/// Communication channel types.
pub const CHANNEL_TYPES: &[&str] = &[
    "email",
    "phone",
    "mobile_phone",
    "fax",
    "skype",
    "facebook_messenger",
    "imessage",
    "whatsapp",
    "facebook",
    "twitter",
    "linkedin",
    "xing",
    "social_various",
    "website_url",
    "web_various",
];

/// A natural person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Person {
    /// Salutation (at most 100 characters).
    pub salutation: Option<String>,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: String,
    /// Date of birth.
    pub birth_date: Option<NaiveDate>,
    /// Date of death.
    pub death_date: Option<NaiveDate>,
}

/// An organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organization {
    /// Name.
    pub name: String,
}

/// A postal address (`AddressRequest`: all four required; street, zip and city may be null).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Address {
    /// Street and number.
    pub street: Option<String>,
    /// Postal code.
    pub zip: Option<String>,
    /// City.
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

/// A communication channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    /// One of [`CHANNEL_TYPES`].
    #[serde(rename = "type")]
    pub kind: String,
    /// Address, number or URL.
    pub value: String,
}

/// A bank account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BankAccount {
    /// IBAN.
    pub iban: String,
    /// BIC.
    pub bic: Option<String>,
}

impl crate::format::ToJson for Person {
    fn to_json(&self) -> Value {
        api_object! {
            "salutation" => self.salutation,
            "first_name" => self.first_name,
            "last_name" => self.last_name,
            "birth_date" => self.birth_date,
            "death_date" => self.death_date,
        }
    }
}

impl crate::format::ToJson for Organization {
    fn to_json(&self) -> Value {
        api_object! { "name" => self.name }
    }
}

impl crate::format::ToJson for Address {
    fn to_json(&self) -> Value {
        api_object! {
            "street" => self.street,
            "zip" => self.zip,
            "city" => self.city,
            "country" => self.country,
        }
    }
}

impl crate::format::ToJson for Channel {
    fn to_json(&self) -> Value {
        api_object! { "type" => self.kind, "value" => self.value }
    }
}

impl crate::format::ToJson for BankAccount {
    fn to_json(&self) -> Value {
        api_object! { "iban" => self.iban, "bic" => self.bic }
    }
}

/// A debtor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Debtor {
    /// Creation order (not exposed).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub seq: u64,
    /// Company and access mode (not exposed).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub scope: Scope,
    /// Unique identifier.
    pub id: Uuid,
    /// The client's reference.
    pub your_reference: Option<String>,
    /// `consumer` or `business`.
    pub acting_as: String,
    /// For natural persons, including sole traders.
    pub person: Option<Person>,
    /// For organizations.
    pub organization: Option<Organization>,
    /// Addresses.
    pub addresses: Vec<Address>,
    /// Communication channels.
    pub communication_channels: Vec<Channel>,
    /// Bank accounts.
    pub bank_accounts: Vec<BankAccount>,
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
    /// What v2 adds (legal form, representatives, row ids); `None` for a debtor v2 never wrote.
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub v2: Option<Box<crate::v2::debtors::DebtorV2>>,
}

scoped_record!(
    Debtor,
    lookups = |r| { r.your_reference.iter().map(|v| ("your_reference", v.clone())).collect() }
);

impl crate::list::Resource for Debtor {
    /// The debtor as the API shows it, with its absolute `href`.
    fn render(&self, origin: &Origin) -> Value {
        api_object! {
            "href" => origin.url(&format!("/v1/debtors/{}/", self.id)),
            "id" => self.id,
            "your_reference" => self.your_reference,
            "acting_as" => self.acting_as,
            "person" => self.person,
            "organization" => self.organization,
            "addresses" => self.addresses,
            "communication_channels" => self.communication_channels,
            "bank_accounts" => self.bank_accounts,
            "metadata" => self.metadata,
            "events" => self.events,
            "created" => self.created,
            "updated" => self.updated,
        }
    }

    fn write<S: serde::Serializer>(&self, origin: &Origin, s: S) -> Result<S::Ok, S::Error> {
        crate::list::WithHref::write(origin.url(&format!("/v1/debtors/{}/", self.id)), self, s)
    }
}

impl Debtor {
    /// The name a mandate shows for the debtor.
    pub fn display_name(&self) -> String {
        match (&self.organization, &self.person) {
            (Some(o), _) => o.name.clone(),
            (None, Some(p)) => match &p.first_name {
                Some(f) => format!("{f} {}", p.last_name),
                None => p.last_name.clone(),
            },
            (None, None) => String::new(),
        }
    }
}

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/debtors/", get(list).post(create))
        .route("/debtors/{id}/", get(show))
        .route("/debtors/{id}/communicationchannels/", post(add_channel))
        .route("/debtors/{id}/addresses/", post(add_address))
        .route("/debtors/{id}/bankaccounts/", post(add_bank_account))
}

async fn list(State(state): State<AppState>, caller: Caller, origin: Origin) -> Result<JsonBytes, PaywiseError> {
    let mut f = Filters::new(&origin.query);
    let acting_as = f.choice("acting_as", ACTING_AS);
    let id = f.uuid("id");
    let your_reference = f.string("your_reference");
    f.finish()?;
    let filtered = acting_as.is_some() || id.is_some() || your_reference.is_some();
    let matches = |d: &Debtor| {
        acting_as.as_ref().is_none_or(|a| &d.acting_as == a)
            && id.is_none_or(|i| d.id == i)
            && your_reference
                .as_ref()
                .is_none_or(|r| d.your_reference.as_ref() == Some(r))
    };
    // `your_reference` is a secondary key: only the records under it are tested and counted.
    let hint = your_reference
        .as_deref()
        .map_or(Hint::None, |r| Hint::Lookup("your_reference", r));
    list::list_hinted(
        &state,
        &caller,
        &origin,
        hint,
        filtered.then_some(&matches as &dyn Fn(&Debtor) -> bool),
        |db| &db.debtors,
    )
}

async fn show(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    Path(id): Path<String>,
) -> Result<JsonBytes, PaywiseError> {
    list::show(&state, &caller, &origin, &id, |db| &db.debtors)
}

/// Validates a debtor body; the fields of a new debtor, or DRF's error tree.
fn validate(body: &Value, lenient_iban: bool) -> Result<Debtor, Value> {
    let mut o = Obj::new(body)?;
    let your_reference = o.string("your_reference", OPT, Some(255));
    // `ActingAsEnum` or blank (`BlankEnum`).
    let acting_as = match o.get("acting_as") {
        Some(Value::String(s)) if s.is_empty() => Some(String::new()),
        _ => o.choice("acting_as", REQ, ACTING_AS),
    };
    let person = o.nested("person", OPT_OBJECT, |p| {
        let salutation = p.string("salutation", OPT, Some(100));
        // `PersonRequest` requires both names and lets them be null; our inference keeps the
        // last name non-null (README): a person without a name cannot be written to.
        let first_name = p.string("first_name", NULLABLE, Some(255));
        let last_name = p.string("last_name", REQ, Some(255));
        let birth_date = p.date("birth_date", OPT);
        let death_date = p.date("death_date", OPT);
        last_name.map(|last_name| Person {
            salutation,
            first_name,
            last_name,
            birth_date,
            death_date,
        })
    });
    let organization = o.nested("organization", OPT_OBJECT, |org| {
        org.string("name", REQ, Some(255)).map(|name| Organization { name })
    });
    let addresses = o.list("addresses", REQ, false, address);
    let channels = o.list("communication_channels", OPT_LIST, true, channel);
    let bank_accounts = o.list("bank_accounts", OPT_LIST, true, |b| bank_account(b, lenient_iban));
    let metadata = o.list("metadata", OPT_LIST, true, metadata(DEBTOR_METADATA_TYPES));
    let events = o.list("events", OPT_LIST, true, event(DEBTOR_EVENT_TYPES));
    let person = person.flatten();
    let organization = organization.flatten();
    if !o.failed("person") && !o.failed("organization") {
        match (&person, &organization) {
            (None, None) => o.non_field("Either person or organization must be given."),
            (Some(_), Some(_)) => o.non_field("Give either person or organization, not both."),
            _ => {}
        }
    }
    o.finish()?;
    let now = DateTime::<Utc>::MIN_UTC;
    Ok(Debtor {
        seq: 0,
        scope: Scope {
            company: 0,
            mode: crate::state::AccessMode::Test,
        },
        id: Uuid::nil(),
        your_reference,
        acting_as: acting_as.unwrap_or_default(),
        person,
        organization,
        addresses: addresses.unwrap_or_default().into_iter().flatten().collect(),
        communication_channels: channels.unwrap_or_default().into_iter().flatten().collect(),
        bank_accounts: bank_accounts.unwrap_or_default().into_iter().flatten().collect(),
        metadata: metadata.unwrap_or_default(),
        events: events.unwrap_or_default(),
        created: now,
        updated: now,
        v2: None,
    })
}

/// An address `{street, zip, city, country}`.
fn address(a: &mut Obj<'_>) -> Option<Address> {
    let street = a.string("street", NULLABLE, Some(255));
    let zip = a.string("zip", NULLABLE, Some(100));
    let city = a.string("city", NULLABLE, Some(100));
    let country = a.string("country", REQ, None);
    if let Some(c) = &country
        && !is_country(c)
    {
        a.error("country", format!("\"{c}\" is not a valid choice."));
    }
    if a.has_errors() {
        return None;
    }
    Some(Address {
        street,
        zip,
        city,
        country: country?,
    })
}

/// A communication channel `{type, value}` (an `email` value must look like an address).
fn channel(c: &mut Obj<'_>) -> Option<Channel> {
    let kind = c.choice("type", REQ, CHANNEL_TYPES);
    let value = c.string("value", REQ, Some(255));
    if let (Some("email"), Some(v)) = (kind.as_deref(), value.as_deref())
        && !looks_like_email(v)
    {
        c.error("value", "Enter a valid email address.");
    }
    Some(Channel {
        kind: kind?,
        value: value?,
    })
}

/// A bank account `{iban, bic}` (`BankAccountRequest`: iban 1 to 34 characters, bic at most 255);
/// the IBAN is normalized (no spaces, upper case) and, unless `lenient`, checked (our inference).
fn bank_account(b: &mut Obj<'_>, lenient: bool) -> Option<BankAccount> {
    let iban = b.string("iban", REQ, Some(34));
    let bic = b.string("bic", OPT, Some(255));
    let iban = iban.map(|i| mock_core::bank::compact_iban(&i));
    if let Some(i) = &iban
        && !lenient
        && mock_core::bank::iban_of_country_format(i).is_none()
    {
        b.error("iban", "Enter a valid IBAN.");
    }
    Some(BankAccount { iban: iban?, bic })
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), PaywiseError> {
    let mut debtor = validate(&body, state.lenient.iban).map_err(PaywiseError::Validation)?;
    let now = state.now();
    debtor.seq = state.ids.next_seq();
    debtor.id = state.ids.uuid();
    debtor.scope = caller.scope();
    debtor.created = now;
    debtor.updated = now;
    state
        .store
        .write(|db| db.debtors.insert(debtor.clone()))
        .map_err(|e| PaywiseError::Detail(StatusCode::CONFLICT, e.to_string()))?;
    Ok((StatusCode::CREATED, Json(debtor.render(&origin))))
}

/// Validates one entry with `entry`, appends it with `add` to the caller's debtor `id`, moves
/// `updated`, and answers 201 with the whole debtor.
fn add_entry<T>(
    state: &AppState,
    caller: &Caller,
    origin: &Origin,
    id: &str,
    body: &Value,
    entry: impl Fn(&mut Obj<'_>) -> Option<T>,
    add: impl FnOnce(&mut Debtor, T),
) -> Result<(StatusCode, Json<Value>), PaywiseError> {
    let id = list::path_uuid(id)?;
    let key = id.to_string();
    let scope = caller.scope();
    if state.store.read(|db| db.debtors.get(&scope, &key).is_none()) {
        return Err(PaywiseError::not_found());
    }
    let mut o = Obj::new(body).map_err(PaywiseError::Validation)?;
    let item = entry(&mut o);
    o.finish().map_err(PaywiseError::Validation)?;
    let Some(item) = item else {
        return Err(PaywiseError::invalid_data());
    };
    let now = state.now();
    let debtor = state
        .store
        .write(|db| {
            db.debtors.update(&scope, &key, |d| {
                add(d, item);
                d.updated = now.max(d.updated);
                d.clone()
            })
        })
        .ok_or_else(PaywiseError::not_found)?;
    Ok((StatusCode::CREATED, Json(debtor.render(origin))))
}

async fn add_channel(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), PaywiseError> {
    add_entry(&state, &caller, &origin, &id, &body, channel, |d, c| {
        d.communication_channels.push(c);
    })
}

async fn add_address(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), PaywiseError> {
    add_entry(&state, &caller, &origin, &id, &body, address, |d, a| {
        d.addresses.push(a)
    })
}

async fn add_bank_account(
    State(state): State<AppState>,
    caller: Caller,
    origin: Origin,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), PaywiseError> {
    let lenient = state.lenient.iban;
    add_entry(
        &state,
        &caller,
        &origin,
        &id,
        &body,
        move |b| bank_account(b, lenient),
        |d, b| {
            d.bank_accounts.push(b);
        },
    )
}
