//! Request bodies: JSON or Rails-style forms, decoded into one JSON value before validation, and
//! the one way Payt's resources read and validate them.
//!
//! # How a resource reads its body
//!
//! [`Body`] (the extractor) decodes JSON, `application/x-www-form-urlencoded` and multipart forms
//! into one JSON object. A resource then reads each key with the readers below, which take the
//! object, the key and the *path* of the object (`""` for the body itself, `invoices[0]` for an
//! item of a bulk write) and answer `Result<Option<T>, Problem>`:
//!
//! - [`items`] / [`Body::records`]: the array of objects of a bulk write; [`items_of`] any other
//!   list of objects (a plan's `terms`, `psp_mandates`), its refusals worded by an [`Items`];
//!   [`opt_objects`] a record's own list of objects; [`opt_object`] / [`req_object`] one object;
//! - [`is_email`]: the one e-mail check of every address;
//! - [`opt_str`] / [`req_str`], [`opt_int`], [`opt_bool`], [`opt_date`], [`opt_time`],
//!   [`opt_enum`], [`opt_strings`] (and the money readers of [`crate::resources::invoices`],
//!   `opt_money` and `opt_amount`, under Payt's money rule); [`given`] tells a key a bulk upsert
//!   leaves out from one it clears;
//! - [`Body::administration_id`], [`Body::string_list`], [`body_fields`] and [`body_bool`].
//!
//! The rules they share: JSON and forms differ in types, so a number is read as its text where a
//! string is wanted and a boolean may come as `"true"`/`"1"`; a blank string is an absent key; a
//! bad key is refused with `missing_parameter` or `invalid_parameter` and a message that names the
//! key by its Rails path (`invoices[0][amount] must be ...`, `comment must be a string`).
//!
//! # One refusal, three answers
//!
//! Every refusal is a [`Problem`] (code, path, message). Payt answers body problems in three
//! shapes, and each is a way of consuming the same `Problem`s, never a reader of its own:
//!
//! - **the first problem**, a 422 with its code and message (most writes): the handler reads
//!   with `?`, which turns the `Problem` into the [`PaytError`];
//! - **every problem in one 422** (administrations, sign-ups): [`Problems::take`] collects each
//!   reader's refusal and [`Problems::into_result`] answers them all;
//! - **per-record codes** in the `CustomerApi_SuccessEntity` (the bulk upserts of `debtors` and
//!   `contacts`): the same collection, answered by [`Problems::into_codes`], which names each
//!   problem `missing_<key>` / `invalid_<key>` or by its own code ([`Problem::record_code`]).
//!
//! Why not serde (with `serde_path_to_error` for the paths): the messages clients see name Rails
//! paths and say what to send, per type (`is not a valid date ("x"): use YYYY-MM-DD`), and the
//! lenient typing above would need a hand-written visitor per type; the readers are those
//! visitors, with the path passed in.

use axum::extract::{FromRequest, Request};
use chrono::{DateTime, NaiveDate, Utc};
use mock_core::CoreError;
use mock_core::body::{BodyError, parse_body};
use serde_json::{Map, Value};

use crate::error::PaytError;
use crate::fields::Fields;
use crate::params::{self, parse_id};
use crate::state::{AppState, Caller};

/// A decoded request body (JSON object), whichever content type it came in.
#[derive(Debug, Clone)]
pub struct Body(pub Map<String, Value>);

impl FromRequest<AppState> for Body {
    type Rejection = PaytError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let bytes = mock_core::body::read_bytes(req, state).await.map_err(PaytError::Core)?;
        match parse_body(&headers, &bytes, true) {
            Ok(Value::Object(map)) => Ok(Body(map)),
            Ok(_) => Err(PaytError::unprocessable(
                "invalid_body",
                "The request body must be a JSON object",
            )),
            Err(BodyError::UnsupportedMediaType(ct)) => Err(PaytError::Core(CoreError::UnsupportedMediaType(ct))),
            Err(BodyError::InvalidJson(e)) => Err(PaytError::unprocessable(
                "invalid_body",
                format!("The request body is not valid JSON: {e}"),
            )),
            Err(BodyError::InvalidForm(e)) => Err(PaytError::unprocessable(
                "invalid_body",
                format!("The request body is not a valid form: {e}"),
            )),
            Err(BodyError::TooComplex(e)) => Err(PaytError::unprocessable(
                "invalid_body",
                format!("The request body is too large to process: {e}"),
            )),
        }
    }
}

impl Body {
    /// The checks a body write starts with, in the order the live API answers: the grant of
    /// `scope` (403), the body's `administration_id` (422), the caller's grant of that
    /// administration (403). The administration.
    pub fn authorize(&self, state: &AppState, caller: &Caller, scope: &str) -> Result<u64, PaytError> {
        caller.grant.require(scope)?;
        let admin = self.administration_id()?;
        state.check_administration(caller, admin)?;
        Ok(admin)
    }

    /// The required `administration_id` body key (string or number).
    pub fn administration_id(&self) -> Result<u64, Problem> {
        administration_id(self.0.get("administration_id"))
    }

    /// The required array of records of a bulk write (`debtors`, `contacts`, ...): 422 when it is
    /// missing or not an array.
    pub fn records(&self, key: &str, what: &str) -> Result<&[Value], Problem> {
        match self.0.get(key) {
            None | Some(Value::Null) => Err(Problem::missing(key)),
            Some(Value::Array(items)) => {
                crate::limits::cap(key, items.len(), crate::limits::MAX_RECORDS)?;
                Ok(items)
            }
            Some(_) => Err(Problem::invalid(
                key,
                format_args!("must be an array of {what} objects"),
            )),
        }
    }

    /// An optional array of strings at `key`; numbers are accepted as their text.
    pub fn string_list(&self, key: &str) -> Result<Vec<String>, Problem> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) if items.len() > crate::limits::MAX_KEYS => {
                Err(crate::limits::too_many(key, items.len(), crate::limits::MAX_KEYS))
            }
            Some(Value::Array(items)) => strings_in(items, key),
            Some(_) => Err(Problem::invalid(key, "must be an array of strings")),
        }
    }
}

/// The required `administration_id` of a body (a string or a number; a multipart form's text
/// part as a string): 422 `missing_parameter` when absent or blank, `invalid_parameter` when it
/// is not an administration id.
pub fn administration_id(v: Option<&Value>) -> Result<u64, Problem> {
    match v {
        None | Some(Value::Null) => Err(Problem::missing("administration_id")),
        Some(Value::String(s)) if s.trim().is_empty() => Err(Problem::missing("administration_id")),
        Some(Value::String(s)) => parse_id(s).ok_or_else(invalid_admin),
        Some(Value::Number(n)) => n.as_u64().ok_or_else(invalid_admin),
        Some(_) => Err(invalid_admin()),
    }
}

fn invalid_admin() -> Problem {
    Problem::invalid(
        "administration_id",
        "is invalid: expected an administration id such as 81",
    )
}

// ------------------------------------------------------------------------------------------------
// Refusals, and the one collector of them

/// What a reader refuses about one value of a body: the code of Payt's 422 (`missing_parameter`,
/// `invalid_parameter`, or one of its own), the Rails path of the value, and what to fix.
///
/// A handler answers the first with `?` (it becomes a [`PaytError`] 422); [`Problems`] collects
/// them where the vendor names them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The error code a 422 answers with.
    pub code: &'static str,
    /// The Rails path of the value (`invoices[0][amount]`), or empty when the message names
    /// several keys.
    pub at: String,
    /// What to fix, naming the value by its path.
    pub message: String,
}

impl Problem {
    /// A missing required value: `missing_parameter`, `"<at> is missing"`.
    pub fn missing(at: &str) -> Self {
        Self {
            code: "missing_parameter",
            at: at.to_string(),
            message: format!("{at} is missing"),
        }
    }

    /// A bad value: `invalid_parameter`, `"<at> <why>"`.
    pub fn invalid(at: &str, why: impl std::fmt::Display) -> Self {
        Self {
            code: "invalid_parameter",
            at: at.to_string(),
            message: format!("{at} {why}"),
        }
    }

    /// A refusal with a code of its own.
    pub fn own(code: &'static str, at: &str, message: impl Into<String>) -> Self {
        Self {
            code,
            at: at.to_string(),
            message: message.into(),
        }
    }

    /// The code a bulk write's answer gives the record for it (`CustomerApi_SuccessEntity`):
    /// `missing_<key>` or `invalid_<key>` after the last key of its path, else its own code.
    pub fn record_code(&self) -> String {
        let key = self
            .at
            .rsplit_once('[')
            .map_or(self.at.as_str(), |(_, k)| k.trim_end_matches(']'));
        match self.code {
            _ if key.is_empty() => self.code.to_string(),
            "missing_parameter" => format!("missing_{key}"),
            "invalid_parameter" => format!("invalid_{key}"),
            own => own.to_string(),
        }
    }
}

impl From<Problem> for PaytError {
    fn from(p: Problem) -> Self {
        PaytError::unprocessable(p.code, p.message)
    }
}

/// The problems of a body (or of one record of a bulk write), collected in the order they were
/// found, for the two answers that name them all: one 422 ([`Problems::into_result`],
/// administrations and sign-ups) or a record's codes ([`Problems::into_codes`], the bulk writes
/// of `debtors` and `contacts`).
#[derive(Debug, Default)]
pub struct Problems(Vec<Problem>);

impl Problems {
    /// A missing required key.
    pub fn missing(&mut self, path: &str) {
        self.0.push(Problem::missing(path));
    }

    /// A key with a bad value.
    pub fn invalid(&mut self, path: &str, why: &str) {
        self.0.push(Problem::invalid(path, why));
    }

    /// A problem with its own code.
    pub fn own(&mut self, code: &'static str, path: &str, message: impl Into<String>) {
        self.0.push(Problem::own(code, path, message));
    }

    /// The value of a reader's answer, or `None` with its refusal collected.
    pub fn take<T>(&mut self, read: Result<T, Problem>) -> Option<T> {
        match read {
            Ok(v) => Some(v),
            Err(p) => {
                self.0.push(p);
                None
            }
        }
    }

    /// `Ok` when there were none; otherwise a 422 with the first problem's code and every message.
    pub fn into_result(self) -> Result<(), PaytError> {
        match self.0.first() {
            None => Ok(()),
            Some(first) => Err(PaytError::unprocessable(
                first.code,
                self.0.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join(", "),
            )),
        }
    }

    /// `Ok` when there were none; otherwise the record's codes ([`Problem::record_code`]).
    pub fn into_codes(self) -> Result<(), Vec<String>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0.iter().map(Problem::record_code).collect())
        }
    }
}

// ------------------------------------------------------------------------------------------------
// The readers

/// The path of `key` in the object at `path`: `key` at the top of the body, `path[key]` below.
pub fn at(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}[{key}]")
    }
}

/// 422 `invalid_parameter` with `message`, which names the value(s) it refuses.
pub fn bad(message: impl Into<String>) -> Problem {
    Problem::own("invalid_parameter", "", message)
}

/// 422 `missing_parameter` for `path`.
pub fn missing(path: &str) -> Problem {
    Problem::missing(path)
}

/// What a list of objects in a body is called in its refusals, and how long it may be: see
/// [`items_of`]. [`RECORDS`] suits a bulk write's records.
pub struct Items {
    /// The most items one request may hold.
    pub max: usize,
    /// What the list must be: `{key} must be an array of {array}`.
    pub array: &'static str,
    /// What an item must be: `{key}[{i}] must be {item}`.
    pub item: &'static str,
    /// What one item is, when the list must not be empty: `{key} is empty: give at least one {one}`.
    pub one: Option<&'static str>,
}

/// The records of a bulk write: up to [`crate::limits::MAX_RECORDS`] objects, none required.
pub const RECORDS: Items = Items {
    max: crate::limits::MAX_RECORDS,
    array: "objects",
    item: "an object",
    one: None,
};

/// The array of objects at `key` of the body (required), as [`RECORDS`].
pub fn items<'a>(body: &'a Body, key: &str) -> Result<Vec<&'a Map<String, Value>>, Problem> {
    items_of(body, key, &RECORDS)
}

/// The array of objects at `key` of the body (required), each refusal worded by `what`: missing,
/// longer than `what.max`, not an array, an item that is not an object, or empty where
/// `what.one` says it must not be. A form with a single indexed item (`invoices[0][...]`) decodes
/// to an object of objects, which is read as that list.
pub(crate) fn items_of<'a>(body: &'a Body, key: &str, what: &Items) -> Result<Vec<&'a Map<String, Value>>, Problem> {
    let items: Vec<&Map<String, Value>> = match body.0.get(key) {
        None | Some(Value::Null) => return Err(missing(key)),
        Some(Value::Array(items)) if items.len() > what.max => {
            return Err(crate::limits::too_many(key, items.len(), what.max));
        }
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Object(m) => Ok(m),
                _ => Err(Problem::invalid(
                    &format!("{key}[{i}]"),
                    format_args!("must be {}", what.item),
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(Value::Object(m)) if m.values().all(Value::is_object) && !m.is_empty() => {
            m.values().filter_map(Value::as_object).collect()
        }
        Some(_) => {
            return Err(Problem::invalid(
                key,
                format_args!("must be an array of {}", what.array),
            ));
        }
    };
    match what.one {
        Some(one) if items.is_empty() => Err(Problem::invalid(key, format_args!("is empty: give at least one {one}"))),
        _ => Ok(items),
    }
}

/// The optional array of objects at `key` of `m` (a record at `path`, such as an invoice's
/// `payments` or `invoice_lines`): `None` when absent or null, empty for a blank form value; more
/// than `max` items, an item that is not an object, or a value that is not an array is 422
/// `invalid_parameter` (`"<path>[<key>] must be an array of <what>"`).
pub(crate) fn opt_objects<'a>(
    m: &'a Map<String, Value>,
    key: &str,
    path: &str,
    max: usize,
    what: &str,
) -> Result<Option<Vec<&'a Map<String, Value>>>, Problem> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Some(Vec::new())),
        Some(Value::Array(items)) if items.len() > max => {
            Err(crate::limits::too_many(&format!("{path}[{key}]"), items.len(), max))
        }
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_object()
                    .ok_or_else(|| Problem::invalid(&format!("{path}[{key}][{i}]"), "must be an object"))
            })
            .collect::<Result<_, _>>()
            .map(Some),
        Some(_) => Err(Problem::invalid(
            &format!("{path}[{key}]"),
            format_args!("must be an array of {what}"),
        )),
    }
}

/// The optional object at `key` of `m` (a record at `path`): `None` when absent or null; any
/// other value is 422 `invalid_parameter`, `"<path>[<key>] must be <what>"`.
pub(crate) fn opt_object<'a>(
    m: &'a Map<String, Value>,
    key: &str,
    path: &str,
    what: &str,
) -> Result<Option<&'a Map<String, Value>>, Problem> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(_) => Err(Problem::invalid(&at(path, key), format_args!("must be {what}"))),
    }
}

/// The required object at `key` of `m`, as [`opt_object`]: absent or null is `missing_parameter`.
pub(crate) fn req_object<'a>(
    m: &'a Map<String, Value>,
    key: &str,
    path: &str,
    what: &str,
) -> Result<&'a Map<String, Value>, Problem> {
    opt_object(m, key, path, what)?.ok_or_else(|| Problem::missing(&at(path, key)))
}

/// Whether `s` looks like an e-mail address (`local@domain.tld`, no spaces): the one check every
/// address of a Payt write is held to.
pub(crate) fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
}

/// An optional string (numbers are taken as their text; blank is absent).
pub(crate) fn opt_str(m: &Map<String, Value>, key: &str, path: &str) -> Result<Option<String>, Problem> {
    str_value(m.get(key), &at(path, key))
}

/// The string a value stands for, trimmed (a number as its text; absent, null or blank is
/// `None`); anything else is refused, naming it `at`.
pub(crate) fn str_value(v: Option<&Value>, at: &str) -> Result<Option<String>, Problem> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(Problem::invalid(at, "must be a string")),
    }
}

/// A required string.
pub(crate) fn req_str(m: &Map<String, Value>, key: &str, path: &str) -> Result<String, Problem> {
    let at = at(path, key);
    opt_str(m, key, path)?.ok_or_else(|| missing(&at))
}

/// What a record of a bulk upsert says about one key: left out (the stored value stays), or given
/// (`Set(None)`: cleared with `null` or blank).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Given<T> {
    /// The record does not carry the key.
    Omitted,
    /// The record carries the key, with this value.
    Set(T),
}

/// `key` of the record `m` read by `read` (one of the `opt_*` readers, at the top of the record):
/// [`Given::Omitted`] when the record leaves the key out.
pub fn given<T>(
    m: &Map<String, Value>,
    key: &str,
    read: impl FnOnce(&Map<String, Value>, &str, &str) -> Result<Option<T>, Problem>,
) -> Result<Given<Option<T>>, Problem> {
    if m.contains_key(key) {
        read(m, key, "").map(Given::Set)
    } else {
        Ok(Given::Omitted)
    }
}

/// An optional date `YYYY-MM-DD`.
pub(crate) fn opt_date(m: &Map<String, Value>, key: &str, path: &str) -> Result<Option<NaiveDate>, Problem> {
    date_value(m.get(key), &at(path, key))
}

/// The date `YYYY-MM-DD` a value stands for, read as [`str_value`] reads a string (absent, null or
/// blank is `None`); anything else is refused, naming it `at`.
pub(crate) fn date_value(v: Option<&Value>, at: &str) -> Result<Option<NaiveDate>, Problem> {
    match str_value(v, at)? {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(&s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| Problem::invalid(at, format_args!("is not a valid date ({s:?}): use YYYY-MM-DD"))),
    }
}

/// An optional ISO 8601 timestamp.
pub(crate) fn opt_time(m: &Map<String, Value>, key: &str, path: &str) -> Result<Option<DateTime<Utc>>, Problem> {
    let at = at(path, key);
    match opt_str(m, key, path)? {
        None => Ok(None),
        Some(s) => params::parse_timestamp(&s)
            .map(|t| Some(crate::format::whole_seconds(t)))
            .ok_or_else(|| {
                Problem::invalid(
                    &at,
                    format_args!("is not a valid timestamp ({s:?}): use ISO 8601 such as 2026-10-01T09:30:00Z"),
                )
            }),
    }
}

/// An optional integer.
pub(crate) fn opt_int(m: &Map<String, Value>, key: &str, path: &str) -> Result<Option<i64>, Problem> {
    let at = at(path, key);
    match opt_str(m, key, path)? {
        None => Ok(None),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| (i64::from(i32::MIN)..=i64::from(i32::MAX)).contains(n))
            .map(Some)
            .ok_or_else(|| Problem::invalid(&at, format_args!("must be an integer, got {s:?}"))),
    }
}

/// An optional boolean: [`body_bool`]'s values; absent, `null` or blank is none.
pub(crate) fn opt_bool(m: &Map<String, Value>, key: &str, path: &str) -> Result<Option<bool>, Problem> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(v) => body_bool(v)
            .map(Some)
            .ok_or_else(|| Problem::invalid(&at(path, key), "must be true or false")),
    }
}

/// An optional value of `allowed`.
pub(crate) fn opt_enum(
    m: &Map<String, Value>,
    key: &str,
    path: &str,
    allowed: &[&str],
) -> Result<Option<String>, Problem> {
    let at = at(path, key);
    // The empty string is a value of its own for enums that allow it.
    if allowed.contains(&"") && matches!(m.get(key), Some(Value::String(s)) if s.is_empty()) {
        return Ok(Some(String::new()));
    }
    match opt_str(m, key, path)? {
        None => Ok(None),
        Some(s) if allowed.contains(&s.as_str()) => Ok(Some(s)),
        Some(s) => Err(Problem::invalid(
            &at,
            format_args!(
                "does not have a valid value ({s:?}): use one of {}",
                allowed
                    .iter()
                    .filter(|a| !a.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// An optional list of strings.
pub(crate) fn opt_strings(m: &Map<String, Value>, key: &str, path: &str) -> Result<Option<Vec<String>>, Problem> {
    let at = at(path, key);
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        // A form cannot send an empty array; `labels=` (blank) clears the labels.
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Some(Vec::new())),
        Some(Value::Array(items)) if items.len() > crate::limits::MAX_LABELS => {
            Err(crate::limits::too_many(&at, items.len(), crate::limits::MAX_LABELS))
        }
        Some(Value::Array(items)) => strings_in(items, &at).map(Some),
        Some(_) => Err(Problem::invalid(&at, "must be an array of strings")),
    }
}

/// The elements of the array at `at` (a key, or a path such as `invoices[0][labels]`) as strings:
/// a non-blank string trimmed, a number as its text; anything else is 422 `invalid_parameter`,
/// `"<at>[i] must be a non-empty string"`. What [`Body::string_list`] and [`opt_strings`] share.
fn strings_in(items: &[Value], at: &str) -> Result<Vec<String>, Problem> {
    items
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(Problem::invalid(&format!("{at}[{i}]"), "must be a non-empty string")),
        })
        .collect()
}

/// The `fields` of a write: the body key (a JSON string in forms, or an object in JSON; a bad value
/// is a 422, since it came in the body), else the query parameter (Grape merges query parameters
/// into `params`; a bad value there is a 400).
pub(crate) fn body_fields(body: &Body, raw_query: Option<&str>) -> Result<Fields, PaytError> {
    match body.0.get("fields") {
        None => crate::params::fields(&mock_core::query::QueryParams::parse(raw_query)),
        Some(v) => Fields::from_value(v).map_err(|e| match e {
            PaytError::BadParameter { message, .. } => PaytError::unprocessable("invalid_parameter", message),
            other => other,
        }),
    }
}

/// A boolean body value, read as Grape reads a `Boolean` parameter (dry-types' `Params::Bool`,
/// which Payt's Grape API coerces with): JSON `true`/`false`, the integers `1`/`0`, or a string of
/// [`bool_text`]. Anything else is none; each caller says what that means for its field.
pub(crate) fn body_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_u64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        Value::String(s) => bool_text(s),
        _ => None,
    }
}

/// A boolean's text (a form field or a query parameter), trimmed: dry-types' `Params::Bool`
/// values `1 on On ON t true True TRUE T y yes Yes YES Y` and `0 off Off OFF f false False FALSE F
/// n no No NO N`; anything else (`tRuE`, `maybe`, blank) is none.
pub(crate) fn bool_text(s: &str) -> Option<bool> {
    match s.trim() {
        "1" | "on" | "On" | "ON" | "t" | "true" | "True" | "TRUE" | "T" | "y" | "yes" | "Yes" | "YES" | "Y" => {
            Some(true)
        }
        "0" | "off" | "Off" | "OFF" | "f" | "false" | "False" | "FALSE" | "F" | "n" | "no" | "No" | "NO" | "N" => {
            Some(false)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_refusal_answers_in_each_of_payts_three_shapes() {
        let record = json!({"name": [], "language_code": "x", "labels": "a", "city": " "});
        let m = record.as_object().expect("object");
        // The first problem, with `?`: a 422 with its code and message.
        let first: Result<Option<String>, PaytError> = (|| Ok(opt_str(m, "name", "debtors[0]")?))();
        assert_eq!(
            first,
            Err(PaytError::unprocessable(
                "invalid_parameter",
                "debtors[0][name] must be a string"
            ))
        );
        // Collected: one 422 naming all, or a record's codes, in the order found.
        let collect = || {
            let mut p = Problems::default();
            assert_eq!(p.take(opt_str(m, "name", "")), None);
            assert_eq!(p.take(req_str(m, "city", "")), None);
            assert_eq!(p.take(req_str(m, "missing", "")), None);
            assert_eq!(p.take(opt_str(m, "language_code", "")), Some(Some("x".to_string())));
            p.own("too_many_labels", "labels", "labels has 101 items");
            p.invalid("address[postal_code]", "is not a postal code");
            p
        };
        assert_eq!(
            collect().into_codes(),
            Err(vec![
                "invalid_name".to_string(),
                "missing_city".to_string(),
                "missing_missing".to_string(),
                "too_many_labels".to_string(),
                "invalid_postal_code".to_string(),
            ])
        );
        assert_eq!(
            collect().into_result(),
            Err(PaytError::unprocessable(
                "invalid_parameter",
                "name must be a string, city is missing, missing is missing, labels has 101 items, \
                 address[postal_code] is not a postal code"
            ))
        );
        assert_eq!(Problems::default().into_codes(), Ok(()));
        assert_eq!(Problems::default().into_result(), Ok(()));
        // A refusal that names no single key keeps its code in a bulk answer.
        assert_eq!(bad("a or b must be given").record_code(), "invalid_parameter");
    }

    #[test]
    fn given_tells_a_key_left_out_from_one_cleared() {
        let record = json!({"a": null, "b": " ", "c": "x", "d": true, "e": {}});
        let m = record.as_object().expect("object");
        assert_eq!(given(m, "z", opt_str), Ok(Given::Omitted));
        assert_eq!(given(m, "a", opt_str), Ok(Given::Set(None)));
        assert_eq!(given(m, "b", opt_str), Ok(Given::Set(None)));
        assert_eq!(given(m, "c", opt_str), Ok(Given::Set(Some("x".to_string()))));
        assert_eq!(given(m, "d", opt_bool), Ok(Given::Set(Some(true))));
        assert_eq!(
            given(m, "c", opt_bool).map_err(|p| p.record_code()),
            Err("invalid_c".to_string())
        );
        assert_eq!(opt_object(m, "e", "", "an object").map(|o| o.is_some()), Ok(true));
        assert_eq!(opt_object(m, "a", "", "an object").map(|o| o.is_some()), Ok(false));
        assert_eq!(
            req_object(m, "c", "x", "an object").map_err(|p| p.message),
            Err("x[c] must be an object".to_string())
        );
        assert_eq!(
            req_object(m, "z", "", "an object").map_err(|p| p.message),
            Err("z is missing".to_string())
        );
    }

    #[test]
    fn a_boolean_is_read_as_grape_reads_one() {
        for (text, want) in [
            ("1", true),
            ("on", true),
            ("ON", true),
            ("t", true),
            ("True", true),
            (" yes ", true),
            ("Y", true),
            ("0", false),
            ("Off", false),
            ("f", false),
            ("FALSE", false),
            ("no", false),
            ("N", false),
        ] {
            assert_eq!(bool_text(text), Some(want), "{text:?}");
            assert_eq!(body_bool(&json!(text)), Some(want), "{text:?}");
        }
        for text in ["", "tRuE", "maybe", "2", "yes please"] {
            assert_eq!(bool_text(text), None, "{text:?}");
        }
        assert_eq!(body_bool(&json!(true)), Some(true));
        assert_eq!(body_bool(&json!(0)), Some(false));
        assert_eq!(body_bool(&json!(1)), Some(true));
        for v in [json!(2), json!(-1), json!(1.0), json!(null), json!([]), json!({})] {
            assert_eq!(body_bool(&v), None, "{v}");
        }
        let m = json!({"a": " ", "b": null, "c": "yes", "d": "maybe", "e": 1});
        let m = m.as_object().expect("object");
        assert_eq!(opt_bool(m, "a", "").ok(), Some(None));
        assert_eq!(opt_bool(m, "b", "").ok(), Some(None));
        assert_eq!(opt_bool(m, "c", "").ok(), Some(Some(true)));
        assert_eq!(opt_bool(m, "e", "").ok(), Some(Some(true)));
        assert!(opt_bool(m, "d", "").is_err());
    }
}
