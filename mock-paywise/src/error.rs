//! paywise errors, the Django REST Framework way.
//!
//! paywise publishes no error format, but the API is plainly DRF (limit/offset pages with DRF's
//! placeholder links, serializer wording, `href` hyperlinks), so the mock answers as DRF does:
//! `{"detail": "..."}` for 401/403/404/405/415 and parse errors, and `{"field": ["message"]}`
//! for validation errors (nested objects nest, list items are a list with `{}` for valid items,
//! cross-field rules go under `non_field_errors`).

use axum::Json;
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use mock_core::error::AuthFailure;
use mock_core::{CoreError, ErrorRenderer};
use serde_json::{Value, json};

/// Everything a paywise handler can answer instead of success.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PaywiseError {
    /// A `{"detail": ...}` error with its status.
    #[error("{0}: {1}")]
    Detail(StatusCode, String),
    /// 400 with DRF's field-error object.
    #[error("validation failed: {0}")]
    Validation(Value),
    /// A `{"message": ...}` error with its status: what paywise's Partner API files document for
    /// the 400s of `POST /partner/v1/users/`, `POST /partner/v1/userinvites/` and
    /// `GET /partner/v1/userinvites/{id}/get-onboarded-user/`.
    #[error("{0}: {1}")]
    Message(StatusCode, String),
}

impl PaywiseError {
    /// 500 `{"detail": "<what> not stored: <why>"}`: the store refused a new record (a key or
    /// sequence number already taken), which no client can cause.
    pub fn not_stored(what: &str, e: impl std::fmt::Display) -> Self {
        Self::Detail(StatusCode::INTERNAL_SERVER_ERROR, format!("{what} not stored: {e}"))
    }

    /// 404 `{"detail": "Not found."}` (also for another access mode's objects).
    pub fn not_found() -> Self {
        Self::Detail(StatusCode::NOT_FOUND, "Not found.".into())
    }

    /// 400 `{"non_field_errors": ["Invalid data."]}`: DRF's answer when a body passed every field
    /// check but still lacks what the record needs.
    pub fn invalid_data() -> Self {
        Self::Validation(json!({"non_field_errors": ["Invalid data."]}))
    }

    /// 400 with one message for one field.
    pub fn field(name: &str, message: impl Into<String>) -> Self {
        Self::Validation(json!({ name: [message.into()] }))
    }

    /// This error as the Partner API's `{"message": ...}` 400 (see [`PaywiseError::Message`]):
    /// field errors become one line, `field: message` joined by spaces (`notification_channels[0].value:
    /// ...` for nested ones), a 400 detail becomes the message; other errors stay as they are.
    pub fn into_message(self) -> Self {
        match self {
            PaywiseError::Validation(v) => {
                let mut parts = Vec::new();
                flatten_errors("", &v, &mut parts);
                Self::Message(StatusCode::BAD_REQUEST, parts.join(" "))
            }
            PaywiseError::Detail(StatusCode::BAD_REQUEST, d) => Self::Message(StatusCode::BAD_REQUEST, d),
            other => other,
        }
    }

    /// The error for a core failure.
    pub fn core(e: &CoreError) -> Self {
        let detail = |s: StatusCode, m: String| Self::Detail(s, m);
        match e {
            CoreError::Unauthenticated(why) => Self::unauthenticated(*why),
            CoreError::NotFound => Self::not_found(),
            CoreError::MethodNotAllowed(m) => {
                detail(StatusCode::METHOD_NOT_ALLOWED, format!("Method \"{m}\" not allowed."))
            }
            CoreError::PayloadTooLarge(limit) => detail(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("Request body exceeded the limit of {limit} bytes."),
            ),
            CoreError::UnsupportedMediaType(ct) => detail(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("Unsupported media type \"{ct}\" in request."),
            ),
            // Django matches no URL pattern for an id that is not UTF-8.
            CoreError::InvalidPath(_) => Self::not_found(),
            CoreError::BadRequest(m) => detail(StatusCode::BAD_REQUEST, m.clone()),
            CoreError::Internal => detail(StatusCode::INTERNAL_SERVER_ERROR, "A server error occurred.".into()),
            CoreError::Mock { status, message, .. } => detail(*status, message.clone()),
        }
    }

    /// 401 for a missing or unknown token, worded as DRF words it.
    pub fn unauthenticated(why: AuthFailure) -> Self {
        let m = match why {
            AuthFailure::Missing => "Authentication credentials were not provided.",
            AuthFailure::Malformed => "Invalid token header. No credentials provided.",
            AuthFailure::Unknown => "Invalid token.",
        };
        Self::Detail(StatusCode::UNAUTHORIZED, m.into())
    }
}

impl IntoResponse for PaywiseError {
    fn into_response(self) -> Response {
        match self {
            PaywiseError::Detail(status, detail) => {
                let mut res = (status, Json(json!({ "detail": detail }))).into_response();
                if status == StatusCode::UNAUTHORIZED {
                    res.headers_mut()
                        .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"api\""));
                }
                res
            }
            PaywiseError::Validation(v) => (StatusCode::BAD_REQUEST, Json(v)).into_response(),
            PaywiseError::Message(status, message) => (status, Json(json!({ "message": message }))).into_response(),
        }
    }
}

/// `field: message` lines of a DRF error tree (`non_field_errors` without a prefix).
fn flatten_errors(at: &str, v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(m) if at.is_empty() || at == "non_field_errors" => out.push(m.clone()),
        Value::String(m) => out.push(format!("{at}: {m}")),
        Value::Array(items) if items.iter().all(Value::is_string) => {
            for m in items {
                flatten_errors(at, m, out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                flatten_errors(&format!("{at}[{i}]"), item, out);
            }
        }
        Value::Object(map) => {
            for (k, child) in map {
                let path = match (at.is_empty(), k.as_str()) {
                    (_, "non_field_errors") if at.is_empty() => k.clone(),
                    (true, _) => k.clone(),
                    (false, "non_field_errors") => at.to_string(),
                    (false, _) => format!("{at}.{k}"),
                };
                flatten_errors(&path, child, out);
            }
        }
        other => out.push(format!("{at}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_become_one_message() {
        let e = PaywiseError::Validation(json!({
            "email": ["user with this email already exists."],
            "notification_channels": [{}, {"value": ["This field may not be blank."]}],
            "non_field_errors": ["Invalid data."]
        }))
        .into_message();
        assert_eq!(
            e,
            PaywiseError::Message(
                StatusCode::BAD_REQUEST,
                "email: user with this email already exists. notification_channels[1].value: This field may not be blank. Invalid data."
                    .into()
            )
        );
        let d = PaywiseError::Detail(StatusCode::NOT_FOUND, "Not found.".into());
        assert_eq!(d.clone().into_message(), d);
    }
}

/// Renders core failures as DRF errors.
#[derive(Debug, Clone, Copy, Default)]
pub struct PaywiseRenderer;

impl ErrorRenderer for PaywiseRenderer {
    fn render(&self, error: &CoreError) -> Response {
        PaywiseError::core(error).into_response()
    }

    /// v2 routes (`/v2/`, `/partner/v2/`) answer in v2's envelope, everything else as v1.
    fn render_at(&self, path: &str, error: &CoreError) -> Response {
        if crate::v2::error::is_v2_path(path) {
            crate::v2::error::V2Error::core(error).into_response()
        } else {
            self.render(error)
        }
    }
}
