//! Request bodies: JSON or Rails-style forms, decoded into one JSON value before validation.

use axum::extract::{FromRequest, Request};
use mock_core::CoreError;
use mock_core::body::{BodyError, parse_body};
use serde_json::{Map, Value};

use crate::error::PaytError;
use crate::params::parse_id;
use crate::state::AppState;

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
    /// The required `administration_id` body key (string or number).
    pub fn administration_id(&self) -> Result<u64, PaytError> {
        match self.0.get("administration_id") {
            None | Some(Value::Null) => Err(PaytError::unprocessable(
                "missing_parameter",
                "administration_id is missing",
            )),
            Some(Value::String(s)) if s.trim().is_empty() => Err(PaytError::unprocessable(
                "missing_parameter",
                "administration_id is missing",
            )),
            Some(Value::String(s)) => parse_id(s).ok_or_else(invalid_admin),
            Some(Value::Number(n)) => n.as_u64().ok_or_else(invalid_admin),
            Some(_) => Err(invalid_admin()),
        }
    }

    /// The required array of records of a bulk write (`debtors`, `contacts`, ...): 422 when it is
    /// missing or not an array.
    pub fn records(&self, key: &str, what: &str) -> Result<Vec<Value>, PaytError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Err(PaytError::unprocessable(
                "missing_parameter",
                format!("{key} is missing"),
            )),
            Some(Value::Array(items)) => {
                crate::limits::cap(key, items.len(), crate::limits::MAX_RECORDS)?;
                Ok(items.clone())
            }
            Some(_) => Err(PaytError::unprocessable(
                "invalid_parameter",
                format!("{key} must be an array of {what} objects"),
            )),
        }
    }

    /// An optional array of strings at `key`; numbers are accepted as their text.
    pub fn string_list(&self, key: &str) -> Result<Vec<String>, PaytError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) if items.len() > crate::limits::MAX_KEYS => {
                Err(crate::limits::too_many(key, items.len(), crate::limits::MAX_KEYS))
            }
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
                    Value::Number(n) => Ok(n.to_string()),
                    _ => Err(PaytError::unprocessable(
                        "invalid_parameter",
                        format!("{key}[{i}] must be a non-empty string"),
                    )),
                })
                .collect(),
            Some(_) => Err(PaytError::unprocessable(
                "invalid_parameter",
                format!("{key} must be an array of strings"),
            )),
        }
    }
}

fn invalid_admin() -> PaytError {
    PaytError::unprocessable(
        "invalid_parameter",
        "administration_id is invalid: expected an administration id such as 81",
    )
}
