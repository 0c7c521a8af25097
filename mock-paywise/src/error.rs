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
}

impl PaywiseError {
    /// 404 `{"detail": "Not found."}` (also for another access mode's objects).
    pub fn not_found() -> Self {
        Self::Detail(StatusCode::NOT_FOUND, "Not found.".into())
    }

    /// 400 with one message for one field.
    pub fn field(name: &str, message: impl Into<String>) -> Self {
        Self::Validation(json!({ name: [message.into()] }))
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
            CoreError::Internal => detail(StatusCode::INTERNAL_SERVER_ERROR, "A server error occurred.".into()),
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
        }
    }
}

/// Renders core failures as DRF errors.
#[derive(Debug, Clone, Copy, Default)]
pub struct PaywiseRenderer;

impl ErrorRenderer for PaywiseRenderer {
    fn render(&self, error: &CoreError) -> Response {
        PaywiseError::core(error).into_response()
    }
}
