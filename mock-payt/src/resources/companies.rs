//! Companies (`GET /v1/companies`, `GET /v1/companies/{id}`), with HTTP Basic authentication.
//!
//! A company is the Payt account that owns administrations. These two routes authenticate the
//! *application* (`Authorization: Basic base64(client_id:client_secret)`), not a user token: a
//! bearer token, unknown credentials or a malformed header answer 401. The mock knows one
//! application, [`CLIENT_ID`] / [`CLIENT_SECRET`] (and a restricted one, [`RESTRICTED_CLIENT_ID`],
//! that is answered 403), and every company it holds is "connected" to
//! it: the fixture company that owns administrations 81-83 and every company created by
//! `POST /v1/sign_up` (status `unconfirmed`).

use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::NaiveDate;
use fixtures::shift;
use mock_core::auth::credentials;
use mock_core::error::AuthFailure;
use mock_core::query::QueryParams;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::PaytError;
use crate::list;
use crate::params::{self, Paging};
use crate::seed::Gen;
use crate::state::{AppState, Db};

/// The `client_id` of the one OAuth application the mock knows (HTTP Basic user name).
pub const CLIENT_ID: &str = "payt_client_id";
/// The `client_secret` of that application (HTTP Basic password).
pub const CLIENT_SECRET: &str = "payt_client_secret";

/// The `client_id` of a second application the mock knows, one that is not enabled for in-app
/// integrations: it authenticates, but companies and sign-up answer it 403.
pub const RESTRICTED_CLIENT_ID: &str = "payt_restricted_client_id";
/// The `client_secret` of the restricted application.
pub const RESTRICTED_CLIENT_SECRET: &str = "payt_restricted_client_secret";

/// Properties shown only when `fields` asks for them (none for companies).
pub const OPT_IN: &[&str] = &[];

/// `CustomerApi_V1_CompanyEntity`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Company {
    /// Unique identifier.
    #[serde(with = "crate::format::id")]
    pub id: u64,
    /// Name.
    pub name: String,
    /// Where the company stands.
    pub status: CompanyStatus,
    /// The date the trial ends (or ended).
    pub trial_ends_on: Option<NaiveDate>,
    /// Whether the company is still in its trial period.
    pub trial: bool,
    /// The administrations the company owns (not exposed by the entity).
    #[serde(default, skip_serializing_if = "mock_core::snapshot::hidden")]
    pub administration_ids: Vec<u64>,
}

mock_core::unscoped_record!(Company);

/// A company's `status`, written as the spec's names. The fixtures' company is `active` and one
/// made by `POST /v1/sign_up` starts `unconfirmed`; nothing in the API or the time-driven rules
/// moves a company, so there are no transitions to allow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompanyStatus {
    /// `active`.
    #[default]
    Active,
    /// `implementation`.
    Implementation,
    /// `inactive`.
    Inactive,
    /// `deleted`.
    Deleted,
    /// `unconfirmed`: signed up, not yet confirmed.
    Unconfirmed,
}

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/companies", get(list))
        .route("/companies/{id}", get(show))
}

/// What a Basic-auth route answers instead of success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BasicError {
    /// 401: missing, malformed or unknown client credentials.
    Unauthenticated(AuthFailure),
    /// Any other Payt error.
    Payt(PaytError),
}

impl From<PaytError> for BasicError {
    fn from(e: PaytError) -> Self {
        Self::Payt(e)
    }
}

impl IntoResponse for BasicError {
    fn into_response(self) -> Response {
        match self {
            Self::Unauthenticated(why) => basic_unauthorized(why),
            Self::Payt(e) => e.into_response(),
        }
    }
}

/// A 401 for a route that wants HTTP Basic credentials.
fn basic_unauthorized(why: AuthFailure) -> Response {
    let message = match why {
        AuthFailure::Missing => {
            "Authorization header with HTTP Basic client credentials (client_id:client_secret) is missing"
        }
        AuthFailure::Malformed => {
            "This endpoint uses HTTP Basic authentication: send 'Authorization: Basic base64(client_id:client_secret)'"
        }
        AuthFailure::Unknown => "The client credentials are invalid",
    };
    let mut res = (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "code": "unauthorized", "message": message })),
    )
        .into_response();
    res.headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"Payt\""));
    res
}

/// Checks `Authorization: Basic base64(client_id:client_secret)` against the mock's applications:
/// 401 for unknown credentials, 403 for the restricted application.
pub fn basic_auth(headers: &HeaderMap) -> Result<(), BasicError> {
    let encoded = credentials(headers, "basic").map_err(BasicError::Unauthenticated)?;
    let decoded = STANDARD
        .decode(encoded)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or(BasicError::Unauthenticated(AuthFailure::Malformed))?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or(BasicError::Unauthenticated(AuthFailure::Malformed))?;
    if id == CLIENT_ID && secret == CLIENT_SECRET {
        Ok(())
    } else if id == RESTRICTED_CLIENT_ID && secret == RESTRICTED_CLIENT_SECRET {
        Err(BasicError::Payt(PaytError::Forbidden(
            "This application is not enabled for in-app integrations (companies and sign-up)".into(),
        )))
    } else {
        Err(BasicError::Unauthenticated(AuthFailure::Unknown))
    }
}

async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<list::Written, BasicError> {
    basic_auth(&headers)?;
    let q = QueryParams::parse(raw.as_deref());
    let paging = Paging::parse(&q)?;
    let fields = params::fields(&q)?;
    let page = state
        .store
        .read(|db| db.companies.page_after(&(), paging.cursor, paging.per_page, |_| true));
    Ok(list::page(page, &fields, OPT_IN)?)
}

async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, BasicError> {
    basic_auth(&headers)?;
    let q = QueryParams::parse(raw.as_deref());
    let fields = params::fields(&q)?;
    let found =
        params::parse_id(&id).and_then(|n| state.store.read(|db| db.companies.get(&(), &n.to_string()).cloned()));
    let company = found.ok_or_else(|| BasicError::Payt(PaytError::not_found("Company", &id)))?;
    Ok(Json(list::entity(&company, &fields, OPT_IN)?))
}

/// The company that owns administration `admin`, if any.
pub fn owner_of(db: &Db, admin: u64) -> Option<u64> {
    db.companies
        .iter(&())
        .find(|c| c.administration_ids.contains(&admin))
        .map(|c| c.id)
}

/// Seeds the one company that owns the fixture administrations (created once, on the first call)
/// and records administration `admin` as its own.
pub fn seed(g: &mut Gen, db: &mut Db, admin: u64) {
    if db.companies.is_empty() {
        let c = g.f.nl_company();
        let company = Company {
            id: g.id(),
            name: c.name,
            status: CompanyStatus::Active,
            // The trial ended long before the fixture anchor; the company pays since.
            trial_ends_on: Some(shift(g.f.anchor(), -(g.f.int(400, 900) as i64))),
            trial: false,
            administration_ids: Vec::new(),
        };
        crate::seed::put(&mut db.companies, company);
    }
    let first = db.companies.iter(&()).next().map(|c| c.id);
    if let Some(id) = first {
        db.companies
            .update(&(), &id.to_string(), |c| c.administration_ids.push(admin));
    }
}

#[cfg(test)]
mod tests {
    use super::CompanyStatus;
    use crate::resources::administrations::AdministrationStatus;

    #[test]
    fn status_names_round_trip() {
        use CompanyStatus as C;
        for (s, name) in [
            (C::Active, "active"),
            (C::Implementation, "implementation"),
            (C::Inactive, "inactive"),
            (C::Deleted, "deleted"),
            (C::Unconfirmed, "unconfirmed"),
        ] {
            assert_eq!(serde_json::to_value(s).ok(), Some(serde_json::json!(name)));
            assert_eq!(serde_json::from_value::<C>(serde_json::json!(name)).ok(), Some(s));
        }
        use AdministrationStatus as A;
        for (s, name) in [
            (A::Active, "active"),
            (A::Inactive, "inactive"),
            (A::Deleted, "deleted"),
            (A::Implementation, "implementation"),
        ] {
            assert_eq!(serde_json::to_value(s).ok(), Some(serde_json::json!(name)));
            assert_eq!(serde_json::from_value::<A>(serde_json::json!(name)).ok(), Some(s));
        }
    }
}
