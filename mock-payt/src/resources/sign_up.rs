//! Sign-up (`POST /v1/sign_up`, HTTP Basic auth with the application's client credentials): a new
//! Payt account, i.e. a company (status `unconfirmed`, in its trial), its first administration
//! (status `implementation`, connected to the application's resource) and its first user, plus an
//! OAuth `authorization_code` grant (valid 10 minutes) for the application's first access token.
//!
//! The body is a Rails-style form (`administration[name]=...&user[email_address]=...`); JSON with
//! the same nesting is accepted too. Every missing or invalid key is named in one 422; a user e-mail
//! address that already signed up is a 422 `email_address_taken`. The user's `sign_up_url` is where
//! the application sends the user to confirm the account.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::body::{Body, Problems, is_email, opt_object};
use crate::error::PaytError;
use crate::list;
use crate::resources::administrations::{self, required_text, text};
use crate::resources::companies::{self, BasicError, Company};
use crate::seed::Gen;
use crate::state::{AppState, Db};

/// How long the access grant's code is valid, in seconds (10 minutes, per Payt's sign-up docs).
pub(crate) const GRANT_EXPIRES_IN: i64 = 600;
/// How long the trial of a new company lasts, in days (inferred).
pub(crate) const TRIAL_DAYS: i64 = 30;
/// The locales a user may pick (default `en-GB`).
pub(crate) const LOCALES: [&str; 6] = ["nl", "de", "en-GB", "es", "fr", "nl-BE"];

/// `CustomerApi_V1_SignUpUserEntity`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SignUpUser {
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Full name.
    pub name: String,
    /// Login e-mail address.
    pub email_address: String,
    /// One-time token for the in-app sign-up.
    pub sign_up_token: String,
    /// Where the user completes the sign-up.
    pub sign_up_url: String,
}

/// `CustomerApi_V1_AccessGrantEntity`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccessGrant {
    /// The authorization code.
    pub code: String,
    /// Seconds the code is valid.
    pub expires_in: i64,
    /// UNIX time of creation, as a string.
    pub created_at: String,
    /// Always `authorization_code`.
    pub grant_type: String,
}

/// A completed sign-up and its access grant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SignUp {
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// The new company.
    #[serde(with = "crate::format::id")]
    pub company_id: u64,
    /// The new administration.
    #[serde(with = "crate::format::id")]
    pub administration_id: u64,
    /// The new user.
    pub user: SignUpUser,
    /// The user's locale.
    pub locale: String,
    /// The grant for the first access token.
    pub access_grant: AccessGrant,
    /// When the grant's code stops working.
    #[serde(with = "crate::format::ts")]
    pub grant_expires_at: DateTime<Utc>,
    /// The administration's phone number (not in its entity).
    pub phone_number: String,
    /// The connected resource's identifier in the application.
    pub resource_identifier: String,
    /// When the sign-up happened.
    #[serde(with = "crate::format::ts")]
    pub created_at: DateTime<Utc>,
}

// Found by its user's `sign_up_token` too (the sign-up page, `GET /_mock/payt/app/sign_up/{token}`).
mock_core::unscoped_record!(
    SignUp,
    lookups = |s| vec![(SIGN_UP_TOKEN, s.user.sign_up_token.clone())],
    unique = &[SIGN_UP_TOKEN]
);

/// The secondary key a sign-up is found by its user's `sign_up_token` under.
pub(crate) const SIGN_UP_TOKEN: &str = "sign_up_token";

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/sign_up", post(sign_up))
}

fn object<'a>(body: &'a Map<String, Value>, key: &str, problems: &mut Problems) -> Option<&'a Map<String, Value>> {
    problems
        .take(opt_object(body, key, "", "an object of fields"))
        .flatten()
}

async fn sign_up(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Body, PaytError>,
) -> Result<(StatusCode, Json<Value>), BasicError> {
    // Credentials first: a malformed body from an unknown client is still a 401.
    companies::basic_auth(&headers)?;
    Ok(create(&state, &body?.0)?)
}

fn create(state: &AppState, body: &Map<String, Value>) -> Result<(StatusCode, Json<Value>), PaytError> {
    let mut problems = Problems::default();
    let empty = Map::new();
    let user = object(body, "user", &mut problems).unwrap_or(&empty);
    let first_name = required_text(user, "first_name", "user[first_name]", &mut problems);
    let last_name = required_text(user, "last_name", "user[last_name]", &mut problems);
    let email_address = required_text(user, "email_address", "user[email_address]", &mut problems).to_lowercase();
    if !email_address.is_empty() && !is_email(&email_address) {
        problems.invalid("user[email_address]", "is not a valid e-mail address");
    }
    let locale = text(user, "locale", "user[locale]", &mut problems).unwrap_or_else(|| "en-GB".into());
    if !LOCALES.contains(&locale.as_str()) {
        problems.invalid(
            "user[locale]",
            "does not have a valid value: use nl, de, en-GB, es, fr or nl-BE",
        );
    }
    let user_name = format!("{first_name} {last_name}").trim().to_string();
    let admin_map = object(body, "administration", &mut problems).unwrap_or(&empty);
    let mut admin = administrations::administration(admin_map, 0, Some(&user_name), &mut problems);
    let phone_number = required_text(admin_map, "phone_number", "administration[phone_number]", &mut problems);
    let connection = administrations::connection(body, true, &mut problems);
    problems.into_result()?;
    let taken = state
        .store
        .read(|db| db.sign_ups.iter(&()).any(|s| s.user.email_address == email_address));
    if taken {
        return Err(PaytError::unprocessable(
            "email_address_taken",
            format!(
                "user[email_address] {email_address} has already been taken: sign in to the existing Payt account instead"
            ),
        ));
    }

    let now = state.now();
    let company = Company {
        id: state.ids.next_seq(),
        name: admin.name.clone(),
        status: crate::resources::companies::CompanyStatus::Unconfirmed,
        trial_ends_on: Some((now + Duration::days(TRIAL_DAYS)).date_naive()),
        trial: true,
        administration_ids: Vec::new(),
    };
    admin.id = state.ids.next_seq();
    admin.administration_url = administrations::administration_url(admin.id);
    admin.import_origin_identifier = connection.as_ref().map(|c| c.resource_identifier.clone());
    let mut company = company;
    company.administration_ids.push(admin.id);
    let sign_up_token = mock_core::ids::secret_hex(32);
    let user = SignUpUser {
        id: state.ids.next_seq(),
        name: user_name,
        email_address,
        sign_up_url: crate::links::sign_up(&sign_up_token),
        sign_up_token,
    };
    let grant = AccessGrant {
        code: mock_core::ids::secret_hex(43),
        expires_in: GRANT_EXPIRES_IN,
        created_at: now.timestamp().to_string(),
        grant_type: "authorization_code".into(),
    };
    let record = SignUp {
        id: state.ids.next_seq(),
        company_id: company.id,
        administration_id: admin.id,
        user: user.clone(),
        locale,
        access_grant: grant.clone(),
        grant_expires_at: now + Duration::seconds(GRANT_EXPIRES_IN),
        phone_number,
        resource_identifier: connection.map(|c| c.resource_identifier).unwrap_or_default(),
        created_at: now,
    };
    let answer = json!({
        "administration": list::entity(&admin, &Default::default(), administrations::OPT_IN)?,
        "company": list::entity(&company, &Default::default(), companies::OPT_IN)?,
        "user": user,
        "access_grant": grant,
    });
    state.store.write(|db| {
        let conflict = |e: mock_core::store::StoreError| PaytError::unprocessable("conflict", e.to_string());
        db.companies.insert(company).map_err(conflict)?;
        db.administrations.insert(admin).map_err(conflict)?;
        db.sign_ups.insert(record).map_err(conflict)
    })?;
    Ok((StatusCode::CREATED, Json(answer)))
}

/// Sign-ups have no fixtures: every one starts through the API.
pub fn seed(g: &mut Gen, db: &mut Db, admin: u64) {
    let _ = (g, db, admin);
}
