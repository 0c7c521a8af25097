//! Payt's error shape: `{"code": "...", "message": "..."}` (`CustomerApi_ErrorEntity`).
//!
//! Status codes follow what the live API was seen to do (`reference/payt.md` section 6): 400 for a
//! missing or invalid query parameter, 422 for a body that fails validation (nothing is processed),
//! 401 for authentication, 403 for an administration or scope the token lacks, 404 for unknown
//! ids, 405 for a method a route does not have.

use axum::Json;
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use mock_core::error::AuthFailure;
use mock_core::{CoreError, ErrorRenderer};
use serde_json::json;

/// Everything a Payt handler can answer instead of success.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaytError {
    /// 401: no token, a malformed header, or an unknown token.
    #[error("unauthenticated: {0:?}")]
    Unauthenticated(AuthFailure),
    /// 403 with a message (administration not granted, missing permission).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 404 for an unknown record.
    #[error("not found: {0}")]
    NotFound(String),
    /// 400 for a query parameter: `code` is `missing_parameter` or `invalid_parameter`.
    #[error("{code}: {message}")]
    BadParameter {
        /// Machine-readable code.
        code: &'static str,
        /// What to fix.
        message: String,
    },
    /// 422 for a body that fails validation or a transition the record's state refuses.
    #[error("{code}: {message}")]
    Unprocessable {
        /// Machine-readable code.
        code: &'static str,
        /// What to fix.
        message: String,
    },
    /// A failure from the shared stack.
    #[error("{0:?}")]
    Core(CoreError),
}

impl PaytError {
    /// 400 `missing_parameter` for a required query parameter.
    pub fn missing(name: &str) -> Self {
        Self::BadParameter {
            code: "missing_parameter",
            message: format!("{name} is missing"),
        }
    }

    /// 400 `invalid_parameter` for a query parameter with a bad value.
    pub fn invalid(name: &str, why: impl std::fmt::Display) -> Self {
        Self::BadParameter {
            code: "invalid_parameter",
            message: format!("{name} {why}"),
        }
    }

    /// 422 with `code` and `message`.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unprocessable {
            code,
            message: message.into(),
        }
    }

    /// 404 for record `kind` with `id`, worded as Rails words it.
    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::NotFound(format!("Couldn't find {kind} with 'id'={id}"))
    }

    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            PaytError::Unauthenticated(why) => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                match why {
                    AuthFailure::Missing => "Authorization header with a Bearer token is missing".to_string(),
                    AuthFailure::Malformed => "Authorization header must be 'Bearer <token>'".to_string(),
                    AuthFailure::Unknown => "The access token is invalid".to_string(),
                },
            ),
            PaytError::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m.clone()),
            PaytError::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m.clone()),
            PaytError::BadParameter { code, message } => (StatusCode::BAD_REQUEST, *code, message.clone()),
            PaytError::Unprocessable { code, message } => (StatusCode::UNPROCESSABLE_ENTITY, *code, message.clone()),
            PaytError::Core(e) => match e {
                CoreError::Unauthenticated(why) => PaytError::Unauthenticated(*why).parts(),
                CoreError::NotFound => (StatusCode::NOT_FOUND, "not_found", "404 Not Found".to_string()),
                CoreError::MethodNotAllowed(_) => (
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    "405 Not Allowed".to_string(),
                ),
                CoreError::PayloadTooLarge(limit) => (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("The request body is larger than {limit} bytes"),
                ),
                CoreError::UnsupportedMediaType(ct) => (
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    format!(
                        "The content type {ct:?} is not supported; send application/json or application/x-www-form-urlencoded"
                    ),
                ),
                CoreError::InvalidPath(m) | CoreError::BadRequest(m) => {
                    (StatusCode::BAD_REQUEST, "invalid_parameter", m.clone())
                }
                CoreError::Internal => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_server_error",
                    "The mock failed to handle this request".to_string(),
                ),
                CoreError::Mock { status, code, message } => (*status, *code, message.clone()),
            },
        }
    }
}

impl IntoResponse for PaytError {
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        let mut res = (status, Json(json!({ "code": code, "message": message }))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"Payt\""));
        }
        res
    }
}

/// Renders core failures as Payt errors.
#[derive(Debug, Clone, Copy, Default)]
pub struct PaytRenderer;

impl ErrorRenderer for PaytRenderer {
    fn render(&self, error: &CoreError) -> Response {
        PaytError::Core(error.clone()).into_response()
    }
}
