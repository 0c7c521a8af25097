//! Administrations: `GET /v1/administrations` (the administrations granted to the token),
//! `GET /v1/administrations/{administration_id}` and `POST /v1/administrations`.
//!
//! `POST` creates an administration for the company of the calling token (the company that owns
//! an administration the token is granted) in status `implementation`, grants it to the calling
//! token at once (so the token can use it in the next request, as an OAuth grant for "all current
//! and future administrations" would), and answers 201 with the entity. A `connection` becomes the
//! administration's `import_origin_identifier`. Bank-account fields that do not form a valid
//! account (IBAN checksum, BIC of the same country and bank, a holder name) are ignored silently,
//! as the spec says.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use mock_core::auth::bearer_token;
use mock_core::query::QueryParams;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::body::{Body, Problem, Problems, is_email, opt_object, req_object, str_value};
use crate::error::PaytError;
use crate::list;
use crate::params::{self, Paging};
use crate::state::{AppState, Caller};

/// Properties shown only when `fields` asks for them.
pub const OPT_IN: &[&str] = &["import_origin_identifier", "last_successful_import_at"];

/// `CustomerApi_V1_AdministrationEntity`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Administration {
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Name.
    pub name: String,
    /// Where the administration stands.
    pub status: AdministrationStatus,
    /// Email address of the administration.
    pub email_address: String,
    /// Contact person.
    pub contact_name: String,
    /// Chamber-of-commerce number.
    pub commercial_registration_number: String,
    /// ISO 3166 alpha-2.
    pub country_code: String,
    /// City.
    pub city: String,
    /// House number.
    pub house_number: String,
    /// Internal name.
    pub internal_name: String,
    /// Street name.
    pub street_name: String,
    /// Postal code.
    pub postal_code: String,
    /// Account holder.
    pub bank_account_name: Option<String>,
    /// IBAN.
    pub bank_account_number: Option<String>,
    /// BIC.
    pub bank_account_bic: Option<String>,
    /// VAT number.
    pub vat_number: Option<String>,
    /// Canonical tz name.
    pub timezone: String,
    /// ISO 4217.
    pub currency_code: String,
    /// Link into the Payt interface.
    pub administration_url: String,
    /// Opt-in: identifier used for importing from origin.
    pub import_origin_identifier: Option<String>,
    /// Opt-in: last successful import.
    #[serde(with = "crate::format::opt_ts")]
    pub last_successful_import_at: Option<DateTime<Utc>>,
    /// When the administration was paused.
    #[serde(with = "crate::format::opt_ts")]
    pub paused_at: Option<DateTime<Utc>>,
    /// When reminding was paused.
    #[serde(with = "crate::format::opt_ts")]
    pub reminding_paused_at: Option<DateTime<Utc>>,
}

/// An administration's `status`, written as the spec's names. The fixtures' administrations are
/// `active` and one made through `POST /v1/administrations` starts in `implementation`; nothing in
/// the API or the time-driven rules moves an administration, so there are no transitions to allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdministrationStatus {
    /// `active`.
    Active,
    /// `inactive`.
    Inactive,
    /// `deleted`.
    Deleted,
    /// `implementation`: being set up.
    Implementation,
}

mock_core::unscoped_record!(Administration);

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/administrations", get(list).post(create))
        .route("/administrations/{administration_id}", get(show))
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<list::Written, PaytError> {
    caller.grant.require("administrations:read")?;
    let q = QueryParams::parse(raw.as_deref());
    let paging = Paging::parse(&q)?;
    let fields = params::fields(&q)?;
    let page = state.store.read(|db| {
        db.administrations
            .page_after(&(), paging.cursor, paging.per_page, |a| caller.grant.allows(a.id))
    });
    list::page(page, &fields, OPT_IN)
}

/// `GET /v1/administrations/{administration_id}`: the path id is an int32 in the spec, so a
/// non-numeric id is a 400; an administration that does not exist or is not granted is a 403,
/// as everywhere else.
async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, PaytError> {
    caller.grant.require("administrations:read")?;
    let q = QueryParams::parse(raw.as_deref());
    let fields = params::fields(&q)?;
    let id = id
        .trim()
        .parse::<u32>()
        .map_err(|_| PaytError::invalid("administration_id", "is invalid: expected an integer such as 81"))?;
    let id = u64::from(id);
    state.check_administration(&caller, id)?;
    let admin = state
        .store
        .read(|db| db.administrations.get(&(), &id.to_string()).cloned())
        .ok_or_else(|| PaytError::not_found("Administration", &id.to_string()))?;
    Ok(Json(list::entity(&admin, &fields, OPT_IN)?))
}

// ------------------------------------------------------------------------------------------------
// Validation shared with sign-up

/// A string value at `key` of `map`: trimmed, `None` when absent, null or blank; numbers are read
/// as their text (forms and JSON clients differ); anything else is a problem.
///
/// `body::str_value` (what `body::opt_str` reads), its refusal collected.
pub fn text(map: &Map<String, Value>, key: &str, path: &str, problems: &mut Problems) -> Option<String> {
    problems.take(str_value(map.get(key), path)).flatten()
}

/// A required string value: as [`text`], absent, null or blank a missing value.
pub(crate) fn required_text(map: &Map<String, Value>, key: &str, path: &str, problems: &mut Problems) -> String {
    let read = str_value(map.get(key), path).and_then(|v| v.ok_or_else(|| Problem::missing(path)));
    problems.take(read).unwrap_or_default()
}

/// Whether `s` is an ISO 3166 alpha-2 code in shape (two ASCII letters).
pub(crate) fn is_country_code(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic())
}

/// Whether `iban` (spaces allowed) has valid ISO 13616 check digits.
pub(crate) fn valid_iban(iban: &str) -> bool {
    mock_core::bank::iban(iban).is_some()
}

/// Whether `bic` is a BIC (8 or 11 characters) of the IBAN's country and, for Dutch accounts, of the
/// IBAN's bank.
pub(crate) fn bic_matches(bic: &str, iban: &str) -> bool {
    let bic = bic.trim().to_uppercase();
    let iban = mock_core::bank::compact_iban(iban);
    let (Some(b), Some(country), Some(bank)) = (mock_core::bank::bic(&bic), iban.get(..2), iban.get(4..8)) else {
        return false;
    };
    b.country == country && (country != "NL" || b.bank == bank)
}

/// Whether `tz` is a canonical tz name in shape (`Europe/Amsterdam`, `UTC`).
fn is_timezone(tz: &str) -> bool {
    ["UTC", "GMT", "Etc/UTC"].contains(&tz)
        || (tz.contains('/')
            && tz.split('/').all(|p| {
                !p.is_empty()
                    && p.starts_with(|c: char| c.is_ascii_uppercase())
                    && p.chars().all(|c| c.is_ascii_alphanumeric() || "_-+".contains(c))
            }))
}

/// The validated `connection` of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// How the user recognises the connected resource.
    pub resource_label: String,
    /// The connected resource's identifier in the application.
    pub resource_identifier: String,
    /// Who owns the credentials.
    pub credentials_label: Option<String>,
}

/// Reads `connection` (optional unless `required`): `resource_label` and `resource_identifier`
/// are required inside it.
pub fn connection(body: &Map<String, Value>, required: bool, problems: &mut Problems) -> Option<Connection> {
    let read = opt_object(
        body,
        "connection",
        "",
        "an object with resource_label and resource_identifier",
    );
    let map = match problems.take(read)? {
        Some(m) => m,
        None => {
            if required {
                problems.missing("connection[resource_label]");
                problems.missing("connection[resource_identifier]");
            }
            return None;
        }
    };
    let resource_label = required_text(map, "resource_label", "connection[resource_label]", problems);
    let resource_identifier = required_text(map, "resource_identifier", "connection[resource_identifier]", problems);
    let credentials_label = text(map, "credentials_label", "connection[credentials_label]", problems);
    match map.get("credentials") {
        None | Some(Value::Null) | Some(Value::Object(_)) => {}
        Some(_) => problems.invalid("connection[credentials]", "must be an object of keys and tokens"),
    }
    Some(Connection {
        resource_label,
        resource_identifier,
        credentials_label,
    })
}

/// Validates an `administration` object into a new record with id `id` (status
/// `implementation`). `contact_fallback` fills `contact_name` when it is optional (sign-up).
pub fn administration(
    map: &Map<String, Value>,
    id: u64,
    contact_fallback: Option<&str>,
    problems: &mut Problems,
) -> Administration {
    let p = |k: &str| format!("administration[{k}]");
    let req = |k: &str, problems: &mut Problems| required_text(map, k, &p(k), problems);
    let city = req("city", problems);
    let commercial_registration_number = req("commercial_registration_number", problems);
    let contact_name = match contact_fallback {
        None => req("contact_name", problems),
        Some(fallback) => {
            text(map, "contact_name", &p("contact_name"), problems).unwrap_or_else(|| fallback.to_string())
        }
    };
    let country_code = req("country_code", problems).to_uppercase();
    if !country_code.is_empty() && !is_country_code(&country_code) {
        problems.invalid(&p("country_code"), "is not an ISO 3166 alpha-2 country code such as NL");
    }
    let email_address = req("email_address", problems);
    if !email_address.is_empty() && !is_email(&email_address) {
        problems.invalid(&p("email_address"), "is not a valid e-mail address");
    }
    let house_number = req("house_number", problems);
    let name = req("name", problems);
    let postal_code = req("postal_code", problems);
    let street_name = req("street_name", problems);
    if let Some(sender) = text(map, "sender_email_address", &p("sender_email_address"), problems)
        && !is_email(&sender)
    {
        problems.invalid(&p("sender_email_address"), "is not a valid e-mail address");
    }
    let currency_code = text(map, "currency_code", &p("currency_code"), problems)
        .map(|c| c.to_uppercase())
        .unwrap_or_else(|| "EUR".into());
    if currency_code.len() != 3 || !currency_code.bytes().all(|b| b.is_ascii_alphabetic()) {
        problems.invalid(&p("currency_code"), "is not an ISO 4217 currency code such as EUR");
    }
    let timezone = text(map, "timezone", &p("timezone"), problems).unwrap_or_else(|| "Europe/Amsterdam".into());
    if !is_timezone(&timezone) {
        problems.invalid(&p("timezone"), "is not a canonical tz name such as Europe/Amsterdam");
    }
    let vat_number = text(map, "vat_number", &p("vat_number"), problems);
    let bank_name = text(map, "bank_account_name", &p("bank_account_name"), problems);
    let bank_number = text(map, "bank_account_number", &p("bank_account_number"), problems);
    let bank_bic = text(map, "bank_account_bic", &p("bank_account_bic"), problems);
    // "If it is not then the bank_account properties will be ignored": all three or none.
    let (bank_account_name, bank_account_number, bank_account_bic) = match (bank_name, bank_number, bank_bic) {
        (Some(n), Some(iban), Some(bic)) if valid_iban(&iban) && bic_matches(&bic, &iban) => (
            Some(n),
            Some(mock_core::bank::compact_iban(&iban)),
            Some(bic.to_uppercase()),
        ),
        _ => (None, None, None),
    };
    Administration {
        id,
        internal_name: name.to_lowercase(),
        name,
        status: AdministrationStatus::Implementation,
        email_address,
        contact_name,
        commercial_registration_number,
        country_code,
        city,
        house_number,
        street_name,
        postal_code,
        bank_account_name,
        bank_account_number,
        bank_account_bic,
        vat_number,
        timezone,
        currency_code,
        administration_url: administration_url(id),
        import_origin_identifier: None,
        last_successful_import_at: None,
        paused_at: None,
        reminding_paused_at: None,
    }
}

/// The link into the Payt interface of administration `id`.
pub fn administration_url(id: u64) -> String {
    crate::links::app_administration(id)
}

/// Grants administration `id` to the bearer token of the request (a token limited to some
/// administrations gets this one added; a token granted all of them needs nothing).
pub(crate) fn grant_to_caller(state: &AppState, headers: &HeaderMap, id: u64) {
    let Ok(token) = bearer_token(headers) else {
        return;
    };
    if let Some(mut grant) = state.tokens.get(token)
        && let Some(admins) = grant.administrations.as_mut()
    {
        admins.insert(id);
        state.tokens.insert(token, grant);
    }
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), PaytError> {
    caller.grant.require("administrations:write")?;
    let map = req_object(
        &body.0,
        "administration",
        "",
        "an object (administration[name], administration[city], ...)",
    )?;
    let mut problems = Problems::default();
    // Validated with a placeholder id; the real one is drawn only when nothing failed.
    let mut admin = administration(map, 0, None, &mut problems);
    let connection = connection(&body.0, false, &mut problems);
    problems.into_result()?;
    let id = state.ids.next_seq();
    admin.id = id;
    admin.administration_url = administration_url(id);
    admin.import_origin_identifier = connection.map(|c| c.resource_identifier);
    let created = admin.clone();
    state.store.write(|db| {
        // The caller's company: the one owning an administration the token may use.
        let company = db
            .companies
            .iter(&())
            .find(|c| c.administration_ids.iter().any(|a| caller.grant.allows(*a)))
            .or_else(|| db.companies.iter(&()).next())
            .map(|c| c.id);
        if let Some(company) = company {
            db.companies
                .update(&(), &company.to_string(), |c| c.administration_ids.push(id));
        }
        db.administrations
            .insert(admin)
            .map_err(|e| PaytError::unprocessable("conflict", e.to_string()))
    })?;
    grant_to_caller(&state, &headers, id);
    Ok((
        StatusCode::CREATED,
        Json(list::entity(&created, &Default::default(), OPT_IN)?),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibans_and_bics() {
        assert!(valid_iban("NL91ABNA0417164300"));
        assert!(valid_iban("nl91 abna 0417 1643 00"));
        assert!(!valid_iban("NL91ABNA0417164301"));
        assert!(!valid_iban("hello"));
        assert!(bic_matches("ABNANL2A", "NL91ABNA0417164300"));
        assert!(!bic_matches("INGBNL2A", "NL91ABNA0417164300"));
        assert!(!bic_matches("ABNA", "NL91ABNA0417164300"));
        assert!(
            !bic_matches("AB1ANL2A", "NL91AB1A0417164300"),
            "a bank code of letters only"
        );
        assert!(bic_matches(" abnanl2axxx ", "NL91ABNA0417164300"));
        assert!(
            bic_matches("DEUTDEFF", "DE89370400440532013000"),
            "outside NL only the country"
        );
        assert!(!bic_matches("DEUTNL2A", "DE89370400440532013000"));
    }

    #[test]
    fn emails_and_timezones() {
        assert!(is_email("a@b.nl"));
        assert!(!is_email("a@b"));
        assert!(!is_email("a b@c.nl"));
        assert!(is_timezone("Europe/Amsterdam"));
        assert!(is_timezone("America/Argentina/Buenos_Aires"));
        assert!(is_timezone("UTC"));
        assert!(!is_timezone("Amsterdam"));
        assert!(!is_timezone("europe/amsterdam"));
    }
}
