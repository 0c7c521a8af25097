//! v2's conventions, shared by every v2 resource: who is calling (token, environment, the
//! Partner's `X-On-Behalf-Of-Company`), strict JSON bodies, offset and `updated_since` cursor
//! pages, ETags (`If-None-Match` → 304, `If-Match` → 412) and `Idempotency-Key` replays.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{FromRequest, FromRequestParts, OriginalUri, Request};
use axum::http::header::{ETAG, HOST, IF_MATCH, IF_NONE_MATCH};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use mock_core::CoreError;
use mock_core::body::{BodyKind, body_kind};
use mock_core::query::QueryParams;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::list::Origin;
use crate::resources::partner::PartnerKey;
use crate::state::{AccessMode, AppState, Grant, Scope};
use crate::v2::error::{Errs, V2Error};

/// The production host of v2 (a request addressed to it with a sandbox token is refused).
pub const PRODUCTION_HOST: &str = "api.paywise.de";
/// The sandbox host of v2 (a request addressed to it with a production token is refused).
pub const SANDBOX_HOST: &str = "api-sandbox.paywise.de";
/// The default page size (paywise documents none).
pub const DEFAULT_LIMIT: usize = 50;
/// The largest page size v2 allows.
pub const MAX_LIMIT: usize = 100;
/// How long a change is held back from `updated_since` pages and the event feeds.
pub const SETTLE: Duration = Duration::seconds(60);

/// `production` or `sandbox`: what a token's access mode is called in v2.
pub fn environment(mode: AccessMode) -> &'static str {
    match mode {
        AccessMode::Production => "production",
        AccessMode::Test => "sandbox",
    }
}

/// The request counters behind `/v2/usage/` and `/partner/v2/usage/`: per bucket, the times of
/// the requests in the current window.
#[derive(Debug, Default)]
pub struct Usage {
    buckets: Mutex<std::collections::HashMap<String, VecDeque<DateTime<Utc>>>>,
}

/// One bucket of the usage answer.
#[derive(Debug, Clone, Serialize)]
pub struct UsageLimit {
    /// `token`, `partner`, `company`, `mail:company-create`, ...
    pub scope: String,
    /// Requests allowed per window.
    pub limit: u64,
    /// Requests counted in the window.
    pub used: u64,
    /// `limit - used`, at least 0.
    pub remaining: u64,
    /// The window's length.
    pub window_seconds: u64,
    /// When the oldest counted request leaves the window (now when none is counted).
    #[serde(with = "crate::format::ts")]
    pub resets_at: DateTime<Utc>,
}

impl crate::format::ToJson for UsageLimit {
    fn to_json(&self) -> Value {
        api_object! {
            "scope" => self.scope,
            "limit" => self.limit,
            "used" => self.used,
            "remaining" => self.remaining,
            "window_seconds" => self.window_seconds,
            "resets_at" => self.resets_at,
        }
    }
}

/// Requests per window of the ordinary request buckets (paywise publishes no numbers).
pub const REQUEST_LIMIT: u64 = 1000;
/// The window of the ordinary request buckets, in seconds.
pub const REQUEST_WINDOW: i64 = 60;

impl Usage {
    /// Counts one request against `bucket` at `now`.
    pub fn hit(&self, bucket: &str, now: DateTime<Utc>) {
        let mut b = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let q = b.entry(bucket.to_string()).or_default();
        let from = now - Duration::seconds(REQUEST_WINDOW);
        while q.front().is_some_and(|t| *t <= from) {
            q.pop_front();
        }
        if q.len() < REQUEST_LIMIT as usize * 2 {
            q.push_back(now);
        }
    }

    /// The state of `bucket` shown as `scope`.
    pub fn limit(&self, bucket: &str, scope: &str, now: DateTime<Utc>) -> UsageLimit {
        let b = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let from = now - Duration::seconds(REQUEST_WINDOW);
        let times: Vec<DateTime<Utc>> = b
            .get(bucket)
            .map(|q| q.iter().copied().filter(|t| *t > from).collect())
            .unwrap_or_default();
        let used = times.len() as u64;
        UsageLimit {
            scope: scope.to_string(),
            limit: REQUEST_LIMIT,
            used,
            remaining: REQUEST_LIMIT.saturating_sub(used),
            window_seconds: REQUEST_WINDOW as u64,
            resets_at: times.first().map_or(now, |t| *t + Duration::seconds(REQUEST_WINDOW)),
        }
    }
}

/// What v2 adds to a world's runtime state (not part of its data): the usage counters.
#[derive(Debug, Default)]
pub struct Runtime {
    /// Request counters.
    pub usage: Usage,
}

/// The usage bucket of a company in one environment.
pub fn company_bucket(scope: Scope) -> String {
    format!("company:{}:{}", scope.company, environment(scope.mode))
}

/// The authenticated caller of a v2 route.
#[derive(Debug, Clone)]
pub struct V2Caller {
    /// What the token is.
    pub grant: Grant,
    /// The company and environment the call acts in (for a Partner key on the Case API: the
    /// company named by `X-On-Behalf-Of-Company`).
    pub scope: Scope,
    /// The Partner key, if the token is one.
    pub partner: Option<PartnerKey>,
    /// The managed company's id (`X-On-Behalf-Of-Company`), for a Partner key on the Case API.
    pub on_behalf_of: Option<Uuid>,
    /// The token's usage bucket.
    pub bucket: String,
}

impl V2Caller {
    /// `production` or `sandbox`.
    pub fn environment(&self) -> &'static str {
        environment(self.scope.mode)
    }

    /// The key idempotency records and usage counters are kept under: the company (or, on the
    /// Partner API, the Partner account).
    pub fn owner(&self) -> String {
        match (&self.partner, self.on_behalf_of) {
            (Some(k), None) => format!("partner:{}", k.account),
            _ => format!("company:{}", self.scope.company),
        }
    }
}

fn request_path(parts: &Parts) -> String {
    parts
        .extensions
        .get::<OriginalUri>()
        .map_or_else(|| parts.uri.path().to_string(), |o| o.0.path().to_string())
}

/// Authenticates the token and checks it against the host the request was addressed to.
fn authenticate(parts: &Parts, state: &AppState) -> Result<(Grant, String), V2Error> {
    let token = mock_core::auth::bearer_token(&parts.headers).map_err(V2Error::unauthenticated)?;
    let grant = state
        .tokens
        .get(token)
        .ok_or(V2Error::unauthenticated(mock_core::error::AuthFailure::Unknown))?;
    let host = parts
        .headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| h.split(':').next().unwrap_or(h).to_ascii_lowercase());
    let wrong = match (host.as_deref(), grant.scope.mode) {
        (Some(PRODUCTION_HOST), AccessMode::Test) => Some("sandbox"),
        (Some(SANDBOX_HOST), AccessMode::Production) => Some("production"),
        _ => None,
    };
    if let Some(env) = wrong {
        return Err(V2Error::new(
            StatusCode::UNAUTHORIZED,
            "authentication_failed",
            format!("This is a {env} token; use it against the {env} host."),
        ));
    }
    let bucket = format!("token:{}", &hex::encode(Sha256::digest(token.as_bytes()))[..16]);
    Ok((grant, bucket))
}

impl FromRequestParts<AppState> for V2Caller {
    type Rejection = V2Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let (grant, bucket) = authenticate(parts, state)?;
        let now = state.now();
        state.v2.usage.hit(&bucket, now);
        let path = request_path(parts);
        let header = parts
            .headers
            .get("x-on-behalf-of-company")
            .map(|v| v.to_str().unwrap_or("").trim().to_string());
        if crate::v2::error::is_v2_path(&path) && path.contains("/partner/v2/") {
            let Some(key) = grant.partner.clone() else {
                return Err(V2Error::forbidden(
                    "The Partner API needs a Partner key; this is a Case Management key.",
                ));
            };
            state.v2.usage.hit(&format!("partner:{}", key.account), now);
            return Ok(V2Caller {
                scope: grant.scope,
                partner: Some(key),
                on_behalf_of: None,
                grant,
                bucket,
            });
        }
        match (grant.partner.clone(), header) {
            (None, None) => {
                state.v2.usage.hit(&company_bucket(grant.scope), now);
                Ok(V2Caller {
                    scope: grant.scope,
                    partner: None,
                    on_behalf_of: None,
                    grant,
                    bucket,
                })
            }
            (None, Some(_)) => Err(V2Error::forbidden(
                "X-On-Behalf-Of-Company is for Partner keys; a direct Case Management key must not send it.",
            )),
            (Some(_), None) => Err(V2Error::forbidden(
                "A Partner key must name the managed company in X-On-Behalf-Of-Company to use the Case Management API.",
            )),
            (Some(key), Some(raw)) => {
                let id = Uuid::parse_str(&raw).map_err(|_| {
                    V2Error::forbidden(
                        "X-On-Behalf-Of-Company must be the id (UUID) of a company this Partner manages.",
                    )
                })?;
                let company = crate::v2::partner::case_company(state, &key, id, grant.scope.mode)?;
                state.v2.usage.hit(&format!("partner:{}", key.account), now);
                state.v2.usage.hit(
                    &company_bucket(Scope {
                        company,
                        mode: grant.scope.mode,
                    }),
                    now,
                );
                Ok(V2Caller {
                    scope: Scope {
                        company,
                        mode: grant.scope.mode,
                    },
                    partner: Some(key),
                    on_behalf_of: Some(id),
                    grant,
                    bucket,
                })
            }
        }
    }
}

/// A JSON body (an object), read strictly: `application/json` (or no content type), at most the
/// body limit, valid JSON. An empty body reads as `{}` (the bodyless commands).
#[derive(Debug, Clone)]
pub struct V2Json(pub Map<String, Value>);

impl FromRequest<AppState> for V2Json {
    type Rejection = V2Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let kind = body_kind(req.headers());
        let ct = mock_core::body::media_type(req.headers()).unwrap_or_default();
        let bytes = mock_core::body::read_bytes(req, state)
            .await
            .map_err(|e| V2Error::core(&e))?;
        if bytes.trim_ascii().is_empty() {
            return Ok(V2Json(Map::new()));
        }
        match kind {
            BodyKind::Json | BodyKind::Absent => {}
            _ => return Err(V2Error::core(&CoreError::UnsupportedMediaType(ct))),
        }
        match mock_core::body::parse_json(&bytes) {
            Ok(Value::Object(m)) => Ok(V2Json(m)),
            Ok(_) => Err(V2Error::field("", "invalid", "The body must be a JSON object.")),
            Err(e) => Err(body_error(&e)),
        }
    }
}

/// The v2 answer to a JSON body that cannot be decoded: 400 `parse_error` for bytes that are not
/// JSON, 400 `validation_error` for a body beyond [`mock_core::body::JSON_LIMITS`].
pub fn body_error(e: &mock_core::body::BodyError) -> V2Error {
    match e {
        mock_core::body::BodyError::TooComplex(why) => {
            V2Error::field("", "too_complex", format!("The body is too large to process: {why}."))
        }
        other => V2Error::new(
            StatusCode::BAD_REQUEST,
            "parse_error",
            format!(
                "The body is not valid JSON: {}",
                other.to_string().trim_start_matches("invalid JSON: ")
            ),
        ),
    }
}

/// The v2 money rule (issue 16), the decimal field of the vendor's files (`max_digits=16,
/// decimal_places=2`: `^-?\d{0,14}(?:\.\d{0,2})?$`): a decimal string with at most 14 digits
/// before the point and two after, so |value| < 10^14. Rules of single fields (minimums, the
/// monthly rent's 8 digits) come on top.
pub const MAX_MONEY: Decimal = Decimal::from_parts(0x107A_4000, 0x5AF3, 0, false, 0);

/// The message for an amount beyond [`MAX_MONEY`].
pub const MONEY_RANGE: &str = "Ensure that there are no more than 14 digits before the decimal point (the value must lie between -99999999999999.99 and 99999999999999.99).";

fn is_digit_string(s: &str) -> bool {
    let t = s.strip_prefix('-').unwrap_or(s);
    !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'.') && t.bytes().filter(|b| *b == b'.').count() <= 1
}

/// A member of a JSON object as a reader sees it.
#[derive(Debug, Clone, Copy)]
pub enum Field<'a> {
    /// Not sent.
    Absent,
    /// Sent as `null`.
    Null,
    /// Sent with a value.
    Value(&'a Value),
}

/// What a PATCH says about one member.
#[derive(Debug, Clone, PartialEq)]
pub enum Patch<T> {
    /// Not sent: unchanged.
    Keep,
    /// `null`: cleared.
    Clear,
    /// A new value.
    Set(T),
}

impl<T> Patch<T> {
    /// Whether the member was sent.
    pub fn sent(&self) -> bool {
        !matches!(self, Patch::Keep)
    }

    /// The value sent, if one was: `Keep` and `Clear` give `None` (a create reads its members
    /// this way).
    pub fn set(self) -> Option<T> {
        match self {
            Patch::Set(v) => Some(v),
            Patch::Keep | Patch::Clear => None,
        }
    }

    /// Applies the patch to `slot`.
    pub fn apply(self, slot: &mut Option<T>) {
        match self {
            Patch::Keep => {}
            Patch::Clear => *slot = None,
            Patch::Set(v) => *slot = Some(v),
        }
    }
}

/// Reads one JSON object strictly: unknown members are refused (`unknown_field`), each getter
/// checks its member's type and rules and records problems under the member's full path.
pub struct Obj<'a> {
    /// The object.
    pub map: &'a Map<String, Value>,
    /// Its path (`""` for the body, `claims[0]` for a nested one).
    pub at: String,
}

impl<'a> Obj<'a> {
    /// A reader of `map` at `at` that accepts only `known` members (others are recorded).
    pub fn new(map: &'a Map<String, Value>, at: &str, known: &[&str], errs: &mut Errs) -> Self {
        let obj = Obj {
            map,
            at: at.to_string(),
        };
        for k in map.keys() {
            if !known.contains(&k.as_str()) {
                errs.push(
                    &obj.path(k),
                    "unknown_field",
                    format!("Unknown field; allowed here: {}.", known.join(", ")),
                );
            }
        }
        obj
    }

    /// The full path of member `name`.
    pub fn path(&self, name: &str) -> String {
        if self.at.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.at)
        }
    }

    /// The optional `bic` (at most 11 characters), trimmed and upper case.
    pub fn bic(&self, errs: &mut Errs) -> Option<String> {
        match self.opt_string("bic", 11, errs) {
            Patch::Set(s) => Some(s.trim().to_ascii_uppercase()),
            _ => None,
        }
    }

    /// Whether a bank account's compacted `iban` and its [`Obj::bic`] keep the rules every v2
    /// bank account shares: the IBAN has its country's format, an IBAN from outside Germany
    /// comes with a BIC, and a BIC has ISO 9362's shape and the IBAN's country
    /// ([`mock_core::bank::bic`]). A broken rule is recorded at this object's `iban` or `bic`.
    ///
    /// A `bic` that was sent but could not be read (not a string, too long) has its error from
    /// [`Obj::bic`] already: it is not also reported missing.
    pub fn bank_account_holds(&self, iban: &str, bic: Option<&str>, errs: &mut Errs) -> bool {
        let unread = bic.is_none()
            && matches!(self.get("bic"), Field::Value(v) if v.as_str().is_none_or(|s| !s.trim().is_empty()));
        let Some(country) = self.iban_country(iban, bic.is_some() || unread, errs) else {
            return false;
        };
        if unread {
            return false;
        }
        if let Some(bic) = bic
            && mock_core::bank::bic(bic).is_none_or(|b| b.country != country)
        {
            errs.push(
                &self.path("bic"),
                "invalid",
                "The BIC must have 8 or 11 letters and digits: four letters of bank, then the IBAN's country.",
            );
            return false;
        }
        true
    }

    /// The country (its first two letters) of a bank account's compacted `iban` when it has its
    /// country's format and, from outside Germany, comes with a BIC (`has_bic`).
    fn iban_country<'i>(&self, iban: &'i str, has_bic: bool, errs: &mut Errs) -> Option<&'i str> {
        if mock_core::bank::iban_of_country_format(iban).is_none() {
            errs.push(
                &self.path("iban"),
                "invalid",
                "Enter a valid IBAN (country code, check digits and account number).",
            );
            return None;
        }
        let country = iban.get(..2).unwrap_or_default();
        if !has_bic && country != "DE" {
            errs.push(
                &self.path("bic"),
                "required",
                "A BIC is required for an IBAN from outside Germany.",
            );
            return None;
        }
        Some(country)
    }

    /// Member `name`.
    pub fn get(&self, name: &str) -> Field<'a> {
        match self.map.get(name) {
            None => Field::Absent,
            Some(Value::Null) => Field::Null,
            Some(v) => Field::Value(v),
        }
    }

    /// Whether member `name` was sent (even as null).
    pub fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// A required member is missing or null.
    fn required(&self, name: &str, errs: &mut Errs) {
        errs.push(&self.path(name), "required", "This field is required.");
    }

    /// A string member: `Keep` absent, `Clear` null (or blank when `blank_is_null`), at most
    /// `max` characters.
    pub fn string(&self, name: &str, max: usize, errs: &mut Errs) -> Patch<String> {
        match self.get(name) {
            Field::Absent => Patch::Keep,
            Field::Null => Patch::Clear,
            Field::Value(Value::String(s)) => {
                if s.chars().count() > max {
                    errs.push(
                        &self.path(name),
                        "max_length",
                        format!("Ensure this field has no more than {max} characters."),
                    );
                    Patch::Keep
                } else {
                    Patch::Set(s.clone())
                }
            }
            Field::Value(_) => {
                errs.push(&self.path(name), "invalid", "Not a valid string.");
                Patch::Keep
            }
        }
    }

    /// A required, non-blank string member.
    pub fn req_string(&self, name: &str, max: usize, errs: &mut Errs) -> Option<String> {
        match self.string(name, max, errs) {
            Patch::Set(s) if s.trim().is_empty() => {
                errs.push(&self.path(name), "blank", "This field may not be blank.");
                None
            }
            Patch::Set(s) => Some(s),
            Patch::Clear | Patch::Keep if !self.has(name) || self.map.get(name) == Some(&Value::Null) => {
                self.required(name, errs);
                None
            }
            _ => None,
        }
    }

    /// An optional string member that reads blank as null.
    pub fn opt_string(&self, name: &str, max: usize, errs: &mut Errs) -> Patch<String> {
        match self.string(name, max, errs) {
            Patch::Set(s) if s.trim().is_empty() => Patch::Clear,
            other => other,
        }
    }

    /// A boolean member.
    pub fn boolean(&self, name: &str, errs: &mut Errs) -> Patch<bool> {
        match self.get(name) {
            Field::Absent => Patch::Keep,
            Field::Null => Patch::Clear,
            Field::Value(Value::Bool(b)) => Patch::Set(*b),
            Field::Value(_) => {
                errs.push(&self.path(name), "invalid", "Must be a valid boolean.");
                Patch::Keep
            }
        }
    }

    /// A required boolean member.
    pub fn req_boolean(&self, name: &str, errs: &mut Errs) -> Option<bool> {
        self.req_value(name, self.boolean(name, errs), errs)
    }

    /// The value of member `name` as `got` read it, where the member must be sent: not sent
    /// at all records `required`; `null` gives `None` with no error of its own.
    pub fn req_sent<T>(&self, name: &str, got: Patch<T>, errs: &mut Errs) -> Option<T> {
        match got {
            Patch::Set(v) => Some(v),
            _ if !self.has(name) => {
                self.required(name, errs);
                None
            }
            _ => None,
        }
    }

    /// The value of member `name` as `got` read it, where the member must have a value: not
    /// sent or `null` records `required` (a value the reader refused has its own error).
    pub fn req_value<T>(&self, name: &str, got: Patch<T>, errs: &mut Errs) -> Option<T> {
        match got {
            Patch::Set(v) => Some(v),
            _ if !matches!(self.get(name), Field::Value(_)) => {
                self.required(name, errs);
                None
            }
            _ => None,
        }
    }

    /// A member from `choices`.
    pub fn choice(&self, name: &str, choices: &[&str], errs: &mut Errs) -> Patch<String> {
        match self.get(name) {
            Field::Absent => Patch::Keep,
            Field::Null => Patch::Clear,
            Field::Value(Value::String(s)) if choices.contains(&s.as_str()) => Patch::Set(s.clone()),
            Field::Value(v) => {
                errs.push(
                    &self.path(name),
                    "invalid_choice",
                    format!("{v} is not a valid choice; one of: {}.", choices.join(", ")),
                );
                Patch::Keep
            }
        }
    }

    /// A date member (`YYYY-MM-DD`).
    pub fn date(&self, name: &str, errs: &mut Errs) -> Patch<NaiveDate> {
        match self.get(name) {
            Field::Absent => Patch::Keep,
            Field::Null => Patch::Clear,
            Field::Value(Value::String(s)) => match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                Ok(d) if s.len() == 10 => Patch::Set(d),
                _ => {
                    errs.push(&self.path(name), "invalid", "Date has wrong format. Use YYYY-MM-DD.");
                    Patch::Keep
                }
            },
            Field::Value(_) => {
                errs.push(&self.path(name), "invalid", "Date has wrong format. Use YYYY-MM-DD.");
                Patch::Keep
            }
        }
    }

    /// A timezone-aware RFC 3339 timestamp member.
    pub fn datetime(&self, name: &str, errs: &mut Errs) -> Patch<DateTime<Utc>> {
        match self.get(name) {
            Field::Absent => Patch::Keep,
            Field::Null => Patch::Clear,
            Field::Value(Value::String(s)) => match DateTime::parse_from_rfc3339(s) {
                Ok(t) => Patch::Set(crate::format::micros(t.with_timezone(&Utc))),
                Err(_) => {
                    errs.push(
                        &self.path(name),
                        "invalid",
                        "Datetime has wrong format. Use RFC 3339 with a time zone (2026-01-31T12:00:00Z).",
                    );
                    Patch::Keep
                }
            },
            Field::Value(_) => {
                errs.push(&self.path(name), "invalid", "Datetime has wrong format.");
                Patch::Keep
            }
        }
    }

    /// A UUID member.
    pub fn uuid(&self, name: &str, errs: &mut Errs) -> Patch<Uuid> {
        match self.get(name) {
            Field::Absent => Patch::Keep,
            Field::Null => Patch::Clear,
            Field::Value(Value::String(s)) => match Uuid::parse_str(s) {
                Ok(u) => Patch::Set(u),
                Err(_) => {
                    errs.push(&self.path(name), "invalid", "Must be a valid UUID.");
                    Patch::Keep
                }
            },
            Field::Value(_) => {
                errs.push(&self.path(name), "invalid", "Must be a valid UUID.");
                Patch::Keep
            }
        }
    }

    /// An integer member within `min..=max`.
    pub fn integer(&self, name: &str, min: i64, max: i64, errs: &mut Errs) -> Patch<i64> {
        match self.get(name) {
            Field::Absent => Patch::Keep,
            Field::Null => Patch::Clear,
            Field::Value(Value::Number(n)) if n.as_i64().is_some() => {
                let v = n.as_i64().unwrap_or_default();
                if v < min || v > max {
                    errs.push(
                        &self.path(name),
                        "out_of_range",
                        format!("Ensure this value is between {min} and {max}."),
                    );
                    Patch::Keep
                } else {
                    Patch::Set(v)
                }
            }
            Field::Value(_) => {
                errs.push(&self.path(name), "invalid", "A valid integer is required.");
                Patch::Keep
            }
        }
    }

    /// A nested object member: `f` reads it with a reader at its path.
    pub fn object<T>(
        &self,
        name: &str,
        errs: &mut Errs,
        f: impl FnOnce(&Map<String, Value>, &str, &mut Errs) -> Option<T>,
    ) -> Patch<T> {
        match self.get(name) {
            Field::Absent => Patch::Keep,
            Field::Null => Patch::Clear,
            Field::Value(Value::Object(m)) => match f(m, &self.path(name), errs) {
                Some(v) => Patch::Set(v),
                None => Patch::Keep,
            },
            Field::Value(_) => {
                errs.push(&self.path(name), "invalid", "Expected an object.");
                Patch::Keep
            }
        }
    }

    /// A list member of objects, at most `max` long: `f` reads each item at `name[i]`.
    pub fn list<T>(
        &self,
        name: &str,
        max: usize,
        errs: &mut Errs,
        mut f: impl FnMut(&Map<String, Value>, &str, &mut Errs) -> Option<T>,
    ) -> Patch<Vec<T>> {
        self.items(name, max, errs, |items, errs| {
            let before = errs.0.len();
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let at = format!("{}[{i}]", self.path(name));
                match item {
                    Value::Object(m) => {
                        if let Some(v) = f(m, &at, errs) {
                            out.push(v);
                        }
                    }
                    _ => errs.push(&at, "invalid", "Expected an object."),
                }
            }
            if errs.0.len() == before {
                Patch::Set(out)
            } else {
                Patch::Keep
            }
        })
    }

    /// A list member, at most `max` long, whose items `f` reads: absent keeps, `null` clears, a
    /// longer list (`max_items`) or anything but a list (`invalid`) is refused.
    fn items<T>(
        &self,
        name: &str,
        max: usize,
        errs: &mut Errs,
        f: impl FnOnce(&[Value], &mut Errs) -> Patch<Vec<T>>,
    ) -> Patch<Vec<T>> {
        match self.get(name) {
            Field::Absent => Patch::Keep,
            Field::Null => Patch::Clear,
            Field::Value(Value::Array(items)) if items.len() > max => {
                errs.push(
                    &self.path(name),
                    "max_items",
                    format!("Ensure this list has no more than {max} items."),
                );
                Patch::Keep
            }
            Field::Value(Value::Array(items)) => f(items, errs),
            Field::Value(_) => {
                errs.push(&self.path(name), "invalid", "Expected a list.");
                Patch::Keep
            }
        }
    }

    /// A list member of strings from `choices` (or any string when `choices` is empty).
    pub fn strings(&self, name: &str, choices: &[&str], max: usize, errs: &mut Errs) -> Patch<Vec<String>> {
        self.items(name, max, errs, |items, errs| {
            let mut out = Vec::new();
            let mut ok = true;
            for (i, item) in items.iter().enumerate() {
                match item.as_str() {
                    Some(s) if choices.is_empty() || choices.contains(&s) => out.push(s.to_string()),
                    _ => {
                        ok = false;
                        errs.push(
                            &format!("{}[{i}]", self.path(name)),
                            "invalid_choice",
                            format!("{item} is not a valid choice; one of: {}.", choices.join(", ")),
                        );
                    }
                }
            }
            if ok { Patch::Set(out) } else { Patch::Keep }
        })
    }

    /// A list member of UUIDs.
    pub fn uuids(&self, name: &str, max: usize, errs: &mut Errs) -> Patch<Vec<Uuid>> {
        match self.strings(name, &[], max, errs) {
            Patch::Set(items) => {
                let mut out = Vec::new();
                for (i, s) in items.iter().enumerate() {
                    match Uuid::parse_str(s) {
                        Ok(u) => out.push(u),
                        Err(_) => {
                            errs.push(&format!("{}[{i}]", self.path(name)), "invalid", "Must be a valid UUID.");
                            return Patch::Keep;
                        }
                    }
                }
                Patch::Set(out)
            }
            Patch::Clear => Patch::Clear,
            Patch::Keep => Patch::Keep,
        }
    }

    /// A money member `{value, currency}`: `value` a decimal string with at most two decimals,
    /// at least `min` (no lower bound when `None`); `currency` `EUR` (the default).
    pub fn money(&self, name: &str, min: Option<Decimal>, errs: &mut Errs) -> Patch<Decimal> {
        self.object(name, errs, |m, at, errs| {
            let o = Obj::new(m, at, &["value", "currency"], errs);
            let value = match o.get("value") {
                Field::Value(Value::String(s)) => match s.trim().parse::<Decimal>() {
                    Ok(d) if d.abs() >= MAX_MONEY && s.trim() == s => {
                        errs.push(&o.path("value"), "max_whole_digits", MONEY_RANGE);
                        None
                    }
                    Ok(d) if d.scale() <= 2 && s.trim() == s && !s.contains('e') && !s.contains('E') => Some(d),
                    Ok(_) => {
                        errs.push(
                            &o.path("value"),
                            "max_decimal_places",
                            "Ensure that there are no more than 2 decimal places.",
                        );
                        None
                    }
                    // Digits beyond what a decimal holds: out of range, not unreadable.
                    Err(_) if is_digit_string(s) => {
                        errs.push(&o.path("value"), "max_whole_digits", MONEY_RANGE);
                        None
                    }
                    Err(_) => {
                        errs.push(
                            &o.path("value"),
                            "invalid",
                            "A valid decimal string is required (\"100.00\").",
                        );
                        None
                    }
                },
                Field::Value(Value::Number(_)) => {
                    errs.push(
                        &o.path("value"),
                        "invalid",
                        "Send the amount as a decimal string (\"100.00\"), not a number.",
                    );
                    None
                }
                Field::Value(_) => {
                    errs.push(&o.path("value"), "invalid", "A valid decimal string is required.");
                    None
                }
                Field::Absent | Field::Null => {
                    errs.push(&o.path("value"), "required", "This field is required.");
                    None
                }
            };
            if let Patch::Set(c) = o.choice("currency", &["EUR"], errs)
                && c != "EUR"
            {
                return None;
            }
            let value = value?;
            if let Some(min) = min
                && value < min
            {
                errs.push(
                    &o.path("value"),
                    "min_value",
                    format!("Ensure this value is greater than or equal to {min}."),
                );
                return None;
            }
            Some(value)
        })
    }
}

/// `{value, currency}` as v2 writes money: an exact two-decimal string and `EUR`.
pub fn money(v: Decimal) -> Value {
    json!({ "value": crate::format::decimal_string(v), "currency": "EUR" })
}

/// A timestamp as v2 writes it (as v1: UTC with `Z`, microseconds when not zero).
pub fn ts(t: &DateTime<Utc>) -> Value {
    Value::String(crate::format::timestamp(t))
}

/// A date as v2 writes it.
pub fn date(d: &Option<NaiveDate>) -> Value {
    d.map_or(Value::Null, |d| Value::String(d.format("%Y-%m-%d").to_string()))
}

/// Reads the query of a list strictly: only `known` parameters (plus the paging ones), each
/// getter recording problems under the parameter's name.
pub struct Query<'a> {
    /// The decoded query.
    pub q: &'a QueryParams,
    /// Problems so far.
    pub errs: Errs,
}

impl<'a> Query<'a> {
    /// A reader of `q`.
    pub fn new(q: &'a QueryParams) -> Self {
        Query {
            q,
            errs: Errs::default(),
        }
    }

    /// The last value of `name`, trimmed; `None` when absent or empty.
    pub fn string(&mut self, name: &str) -> Option<String> {
        self.q
            .get(name)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }

    /// Every value of `name` (repeated keys), each from `choices`.
    pub fn choices(&mut self, name: &str, choices: &[&str]) -> Vec<String> {
        let mut out = Vec::new();
        for (k, v) in self.q.pairs() {
            if k == name {
                if choices.contains(&v.as_str()) {
                    out.push(v.clone());
                } else {
                    self.errs.push(
                        name,
                        "invalid_choice",
                        format!("\"{v}\" is not a valid choice; one of: {}.", choices.join(", ")),
                    );
                }
            }
        }
        out
    }

    /// `name` from `choices`.
    pub fn choice(&mut self, name: &str, choices: &[&str]) -> Option<String> {
        let v = self.string(name)?;
        if choices.contains(&v.as_str()) {
            Some(v)
        } else {
            self.errs.push(
                name,
                "invalid_choice",
                format!("\"{v}\" is not a valid choice; one of: {}.", choices.join(", ")),
            );
            None
        }
    }

    /// A boolean (`true`/`false`, also `1`/`0`).
    pub fn boolean(&mut self, name: &str) -> Option<bool> {
        let v = self.string(name)?;
        match v.to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => {
                self.errs.push(name, "invalid", "Must be true or false.");
                None
            }
        }
    }

    /// A UUID.
    pub fn uuid(&mut self, name: &str) -> Option<Uuid> {
        let v = self.string(name)?;
        match Uuid::parse_str(&v) {
            Ok(u) => Some(u),
            Err(_) => {
                self.errs.push(name, "invalid", "Must be a valid UUID.");
                None
            }
        }
    }

    /// A date.
    pub fn date(&mut self, name: &str) -> Option<NaiveDate> {
        let v = self.string(name)?;
        match NaiveDate::parse_from_str(&v, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                self.errs
                    .push(name, "invalid", "Date has wrong format. Use YYYY-MM-DD.");
                None
            }
        }
    }

    /// A timezone-aware timestamp.
    pub fn datetime(&mut self, name: &str) -> Option<DateTime<Utc>> {
        let v = self.string(name)?;
        match DateTime::parse_from_rfc3339(&v) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(_) => {
                self.errs.push(
                    name,
                    "invalid",
                    "Use an RFC 3339 timestamp with a time zone (2026-01-31T12:00:00Z).",
                );
                None
            }
        }
    }

    /// `ordering`: comma-separated fields from `fields`, each optionally with `-`.
    pub fn ordering(&mut self, fields: &[&str]) -> Vec<(String, bool)> {
        let Some(raw) = self.string("ordering") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for part in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (desc, name) = part.strip_prefix('-').map_or((false, part), |n| (true, n));
            if fields.contains(&name) {
                out.push((name.to_string(), desc));
            } else {
                self.errs.push(
                    "ordering",
                    "invalid_choice",
                    format!("Cannot order by \"{name}\"; one of: {}.", fields.join(", ")),
                );
            }
        }
        out
    }

    /// Problems, as the 400.
    pub fn finish(self) -> Result<(), V2Error> {
        self.errs.finish(())
    }
}

/// How a list is paged: by offset, or (`updated_since`) by cursor over `(updated_at, id)`.
#[derive(Debug, Clone)]
pub struct Paging {
    /// Page size.
    pub limit: usize,
    /// Offset (offset mode).
    pub offset: usize,
    /// `updated_since` (cursor mode).
    pub since: Option<DateTime<Utc>>,
    /// The position after which the cursor mode continues.
    pub after: Option<(DateTime<Utc>, Uuid)>,
}

impl Paging {
    /// Reads `limit`, `offset`, and (when `cursor_mode`) `updated_since` and `cursor` from `q`,
    /// recording problems in `q`.
    pub fn read(q: &mut Query<'_>, cursor_mode: bool) -> Paging {
        let limit = match q.string("limit") {
            None => DEFAULT_LIMIT,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    q.errs.push(
                        "limit",
                        "invalid",
                        format!("limit must be an integer from 1 to {MAX_LIMIT}."),
                    );
                    DEFAULT_LIMIT
                }
            },
        };
        let offset = match q.string("offset") {
            None => 0,
            Some(v) => match v.parse::<usize>() {
                Ok(n) => n,
                Err(_) => {
                    q.errs
                        .push("offset", "invalid", "offset must be a non-negative integer.");
                    0
                }
            },
        };
        let mut paging = Paging {
            limit,
            offset,
            since: None,
            after: None,
        };
        if !cursor_mode {
            for name in ["updated_since", "cursor"] {
                if q.q.contains(name) {
                    q.errs
                        .push(name, "unknown_parameter", "This list has no updated_since mode.");
                }
            }
            return paging;
        }
        paging.since = q.datetime("updated_since");
        let cursor = q.string("cursor");
        if paging.since.is_some() && q.q.contains("offset") {
            q.errs.push(
                "offset",
                "invalid",
                "offset cannot be combined with updated_since; follow the next URL (cursor) instead.",
            );
        }
        if let Some(c) = cursor {
            if !q.q.contains("updated_since") {
                q.errs
                    .push("cursor", "invalid", "cursor is only valid together with updated_since.");
            } else {
                match decode_cursor(&c) {
                    Some(after) => paging.after = Some(after),
                    None => q
                        .errs
                        .push("cursor", "invalid", "Invalid cursor; use the next URL as given."),
                }
            }
        }
        paging
    }
}

fn encode_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{id}", at.timestamp_micros()))
}

fn decode_cursor(raw: &str) -> Option<(DateTime<Utc>, Uuid)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(raw).ok()?).ok()?;
    let (micros, id) = text.split_once('|')?;
    Some((
        DateTime::from_timestamp_micros(micros.parse().ok()?)?,
        Uuid::parse_str(id).ok()?,
    ))
}

/// The URL of this list with `set` query members replaced (and `drop` removed).
pub fn link(origin: &Origin, set: &[(&str, String)], drop: &[&str]) -> String {
    let mut pairs: Vec<(String, String)> = origin
        .query
        .pairs()
        .iter()
        .filter(|(k, _)| !set.iter().any(|(s, _)| s == k) && !drop.contains(&k.as_str()))
        .cloned()
        .collect();
    for (k, v) in set {
        pairs.push(((*k).to_string(), v.clone()));
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter())
        .finish();
    if query.is_empty() {
        origin.url(&origin.path)
    } else {
        format!("{}?{query}", origin.url(&origin.path))
    }
}

/// One page of `rows` (already filtered and in the list's order), rendered by `render`:
/// `{count, next, previous, results}`. In cursor mode the rows are re-ordered by
/// `(updated_at, id)`, those younger than [`SETTLE`] held back, and `next` carries the cursor.
pub fn page<T>(
    origin: &Origin,
    paging: &Paging,
    now: DateTime<Utc>,
    mut rows: Vec<T>,
    key: impl Fn(&T) -> (DateTime<Utc>, Uuid),
    render: impl Fn(&T) -> Value,
) -> Value {
    if let Some(since) = paging.since {
        let settled = now - SETTLE;
        rows.retain(|r| {
            let (at, _) = key(r);
            at >= since && at <= settled
        });
        rows.sort_by_key(|r| key(r));
        let count = rows.len();
        let start = paging.after.map_or(0, |after| {
            rows.iter().position(|r| key(r) > after).unwrap_or(rows.len())
        });
        let end = (start + paging.limit).min(rows.len());
        let results: Vec<Value> = rows[start..end].iter().map(&render).collect();
        let next = (end < rows.len()).then(|| {
            let (at, id) = key(&rows[end - 1]);
            link(
                origin,
                &[("cursor", encode_cursor(at, id)), ("limit", paging.limit.to_string())],
                &["offset"],
            )
        });
        return json!({ "count": count, "next": next, "previous": null, "results": results });
    }
    let count = rows.len();
    let start = paging.offset.min(count);
    let end = (start + paging.limit).min(count);
    let results: Vec<Value> = rows[start..end].iter().map(&render).collect();
    let next = (end < count).then(|| {
        link(
            origin,
            &[("limit", paging.limit.to_string()), ("offset", end.to_string())],
            &[],
        )
    });
    let previous = (start > 0).then(|| {
        let prev = start.saturating_sub(paging.limit);
        if prev == 0 {
            link(origin, &[("limit", paging.limit.to_string())], &["offset"])
        } else {
            link(
                origin,
                &[("limit", paging.limit.to_string()), ("offset", prev.to_string())],
                &[],
            )
        }
    });
    json!({ "count": count, "next": next, "previous": previous, "results": results })
}

/// A path id: a UUID, or 404 (nothing else can name a record).
pub fn path_id(raw: &str) -> Result<Uuid, V2Error> {
    Uuid::parse_str(raw).map_err(|_| V2Error::not_found())
}

/// The strong ETag of a rendering: a hash of its JSON.
pub fn etag(v: &Value) -> String {
    // `Value`'s Display is its compact JSON (what `to_vec` wrote), and cannot fail.
    let text = v.to_string();
    format!("\"{}\"", &hex::encode(Sha256::digest(text.as_bytes()))[..32])
}

fn matches_any(header: &str, current: &str) -> bool {
    header
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t == current || t.strip_prefix("W/") == Some(current))
}

/// A single resource's answer: its JSON with its `ETag`; 304 without a body when
/// `If-None-Match` names the current ETag (or `*`).
pub fn show(headers: &HeaderMap, v: Value) -> Response {
    let tag = etag(&v);
    let header = HeaderValue::from_str(&tag).ok();
    if let Some(inm) = headers.get(IF_NONE_MATCH).and_then(|h| h.to_str().ok())
        && matches_any(inm, &tag)
    {
        let mut res = StatusCode::NOT_MODIFIED.into_response();
        if let Some(h) = header {
            res.headers_mut().insert(ETAG, h);
        }
        return res;
    }
    respond(StatusCode::OK, v)
}

/// A v2 list answer: the paging and what `filters` reads from the query (400 on a bad value),
/// then `body` builds the page under one read lock, given the filters, the paging and now.
pub fn list_answer<Q>(
    state: &AppState,
    origin: &Origin,
    filters: impl FnOnce(&mut Query<'_>) -> Q,
    body: impl FnOnce(&crate::state::Db, Q, &Paging, DateTime<Utc>) -> Result<Value, V2Error>,
) -> Result<Response, V2Error> {
    let mut q = Query::new(&origin.query);
    let paging = Paging::read(&mut q, true);
    let filters = filters(&mut q);
    q.finish()?;
    let now = state.now();
    let body = state.store.read(|db| body(db, filters, &paging, now))?;
    Ok(respond(StatusCode::OK, body))
}

/// Changes the record with `key` in `scope` and returns it as changed; 404 where there is none.
pub fn changed<V: mock_core::Record + Clone>(
    table: &mut mock_core::Table<V>,
    scope: &V::Scope,
    key: &str,
    change: impl FnOnce(&mut V),
) -> Result<V, V2Error> {
    table
        .update(scope, key, |r| {
            change(r);
            r.clone()
        })
        .ok_or_else(V2Error::not_found)
}

/// A bodyless command's body (`finalize`, `cancel`, `redeliver`, ...): nothing, or `{}`;
/// anything else is refused with `"<what> takes no body."`.
pub fn no_body(body: &Map<String, Value>, what: &str) -> Result<(), V2Error> {
    if body.is_empty() {
        Ok(())
    } else {
        Err(V2Error::field("", "invalid", format!("{what} takes no body.")))
    }
}

/// A `200` with one page of `rows` (see [`page`]) and its `ETag`.
pub fn paged<T>(
    origin: &Origin,
    paging: &Paging,
    now: DateTime<Utc>,
    rows: Vec<T>,
    key: impl Fn(&T) -> (DateTime<Utc>, Uuid),
    render: impl Fn(&T) -> Value,
) -> Response {
    respond(StatusCode::OK, page(origin, paging, now, rows, key, render))
}

/// `v` with `status` and its `ETag`.
pub fn respond(status: StatusCode, v: Value) -> Response {
    let tag = etag(&v);
    let mut res = (status, axum::Json(v)).into_response();
    if let Ok(h) = HeaderValue::from_str(&tag) {
        res.headers_mut().insert(ETAG, h);
    }
    res
}

/// Refuses a write whose `If-Match` names another ETag than `current`'s (412).
pub fn if_match(headers: &HeaderMap, current: &Value) -> Result<(), V2Error> {
    match headers.get(IF_MATCH).map(|h| h.to_str().unwrap_or("")) {
        None => Ok(()),
        Some(h) if matches_any(h, &etag(current)) => Ok(()),
        Some(_) => Err(V2Error::precondition_failed()),
    }
}

/// The stored first answer of a command, replayed for the same key and body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// Creation order (not exposed).
    pub seq: u64,
    /// The company and environment it belongs to.
    pub scope: Scope,
    /// `owner method path key`, hashed.
    pub id: String,
    /// The request body's hash.
    pub body_hash: String,
    /// The first answer's status.
    pub status: u16,
    /// The first answer's body, one-time secrets removed.
    pub body: Value,
    /// When it was first answered.
    #[serde(with = "crate::format::ts")]
    pub created_at: DateTime<Utc>,
}

scoped_record!(IdempotencyRecord);

/// The `Idempotency-Key` of a command, with what identifies its request.
#[derive(Debug, Clone)]
pub struct Idem {
    key: String,
    method: Method,
    path: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Idem {
    type Rejection = V2Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let key = match parts.headers.get("idempotency-key").map(|v| v.to_str()) {
            None => {
                return Err(V2Error::new(
                    StatusCode::BAD_REQUEST,
                    "idempotency_key_required",
                    "Every POST needs an Idempotency-Key header (a fresh UUID per command; reuse it only to retry the same command).",
                ));
            }
            Some(Ok(k)) if !k.trim().is_empty() && k.len() <= 255 => k.trim().to_string(),
            Some(_) => {
                return Err(V2Error::new(
                    StatusCode::BAD_REQUEST,
                    "idempotency_key_invalid",
                    "Idempotency-Key must be 1 to 255 visible ASCII characters.",
                ));
            }
        };
        Ok(Idem {
            key,
            method: parts.method.clone(),
            path: request_path(parts),
        })
    }
}

/// Members holding one-time secrets, left out of stored answers.
const SECRETS: &[&str] = &["secret_key", "setup_url"];

fn strip_secrets(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for s in SECRETS {
                m.remove(*s);
            }
            m.values_mut().for_each(strip_secrets);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_secrets),
        _ => {}
    }
}

impl Idem {
    fn record_id(&self, caller: &V2Caller) -> String {
        let text = format!("{} {} {} {}", caller.owner(), self.method, self.path, self.key);
        hex::encode(Sha256::digest(text.as_bytes()))
    }

    /// Runs `command` once per key: a repeat of the same key with the same body gets the stored
    /// first answer (`Idempotent-Replayed: true`, secrets left out); with another body, 409
    /// `idempotency_key_reused`. Only successful answers are stored, so a refused command may be
    /// corrected and retried under the same key.
    pub fn run(
        &self,
        state: &AppState,
        caller: &V2Caller,
        body: &Map<String, Value>,
        command: impl FnOnce() -> Result<(StatusCode, Value), V2Error>,
    ) -> Result<Response, V2Error> {
        let id = self.record_id(caller);
        // The body's compact JSON, through `Value`'s Display, which cannot fail.
        let body_hash = hex::encode(Sha256::digest(Value::Object(body.clone()).to_string().as_bytes()));
        let scope = caller.scope;
        let stored = state.store.read(|db| db.v2_idempotency.get(&scope, &id).cloned());
        if let Some(r) = stored {
            if r.body_hash != body_hash {
                return Err(V2Error::conflict(
                    "idempotency_key_reused",
                    "This Idempotency-Key was already used with a different request body; send a new key for a new command.",
                ));
            }
            let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
            let mut res = respond(status, r.body);
            res.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            return Ok(res);
        }
        let (status, value) = command()?;
        let mut kept = value.clone();
        strip_secrets(&mut kept);
        let record = IdempotencyRecord {
            seq: state.ids.next_seq(),
            scope,
            id,
            body_hash,
            status: status.as_u16(),
            body: kept,
            created_at: state.now(),
        };
        state.store.write(|db| {
            if db.v2_idempotency.get(&scope, &record.id).is_none()
                && let Err(e) = db.v2_idempotency.insert(record)
            {
                tracing::warn!("idempotency record not kept: {e}");
            }
        });
        Ok(if status == StatusCode::NO_CONTENT {
            status.into_response()
        } else {
            respond(status, value)
        })
    }
}

/// New ids for the rows a body creates, drawn from the world's generator.
pub struct IdSource<'a> {
    state: &'a AppState,
}

impl<'a> IdSource<'a> {
    /// Ids from `state`'s generator.
    pub fn new(state: &'a AppState) -> Self {
        IdSource { state }
    }

    /// The next id.
    pub fn next(&self) -> Uuid {
        self.state.ids.uuid()
    }
}

/// Shared handle of the runtime state.
pub type SharedRuntime = Arc<Runtime>;
