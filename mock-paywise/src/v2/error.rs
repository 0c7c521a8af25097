//! v2's error envelope: `{"code", "detail", "errors": [{"code", "field", "message"}]}` on both
//! APIs, with the status classes the SDK declares (400 `validation_error`, 401, 403, 404
//! `not_found`, 409 with a lifecycle code, 412 `precondition_failed`, 422 on finalize, 429
//! `throttled`). Field paths use dots for objects and `[i]` for list items (`claims[0].amount`).

use axum::Json;
use axum::http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use mock_core::CoreError;
use mock_core::error::AuthFailure;
use serde::Serialize;
use serde_json::{Map, Value};

/// One field-level problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorItem {
    /// A machine code (`required`, `invalid`, `invalid_choice`, `unknown_field`, ...).
    pub code: String,
    /// Where: `claims[0].principal_amount.value`; `None` for the body as a whole.
    pub field: Option<String>,
    /// What to fix.
    pub message: String,
}

/// Every answer of a v2 handler other than success.
#[derive(Debug, Clone, PartialEq)]
pub struct V2Error {
    /// The status.
    pub status: StatusCode,
    /// The machine category.
    pub code: String,
    /// A short human summary.
    pub detail: String,
    /// Field-level problems (may be empty).
    pub errors: Vec<ErrorItem>,
    /// Extra members of the special bodies (`company_id`, `document_ids`, `impact`).
    pub extra: Map<String, Value>,
    /// `Retry-After` seconds for 429.
    pub retry_after: Option<u64>,
}

impl V2Error {
    /// An error with `status`, `code` and `detail` and nothing else.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_string(),
            detail: detail.into(),
            errors: Vec::new(),
            extra: Map::new(),
            retry_after: None,
        }
    }

    /// 400 `validation_error` with `errors`; the detail names the first problem.
    pub fn validation(errors: Vec<ErrorItem>) -> Self {
        let detail = match errors.first() {
            Some(e) => match &e.field {
                Some(f) => format!("Invalid request: {f}: {}", e.message),
                None => format!("Invalid request: {}", e.message),
            },
            None => "Invalid request.".to_string(),
        };
        Self {
            errors,
            ..Self::new(StatusCode::BAD_REQUEST, "validation_error", detail)
        }
    }

    /// 400 `validation_error` for one field.
    pub fn field(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![ErrorItem {
            code: code.into(),
            field: (!field.is_empty()).then(|| field.to_string()),
            message: message.into(),
        }])
    }

    /// 404 `not_found`.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Not found.")
    }

    /// 409 with a lifecycle `code`.
    pub fn conflict(code: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    /// 412 `precondition_failed`.
    pub fn precondition_failed() -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
            "If-Match does not match the resource's current ETag; read it again and retry.",
        )
    }

    /// 403 `permission_denied` with `detail`.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "permission_denied", detail)
    }

    /// 401 for a missing or unknown token.
    pub fn unauthenticated(why: AuthFailure) -> Self {
        let (code, detail) = match why {
            AuthFailure::Missing => ("not_authenticated", "Authentication credentials were not provided."),
            AuthFailure::Malformed => (
                "authentication_failed",
                "Invalid Authorization header: send `Authorization: Bearer <token>`.",
            ),
            AuthFailure::Unknown => ("authentication_failed", "Invalid token."),
        };
        Self::new(StatusCode::UNAUTHORIZED, code, detail)
    }

    /// `self` with an extra member (`company_id`, `document_ids`, `impact`).
    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_string(), value);
        self
    }

    /// The error for a core failure (unknown route, wrong method, body too large, injected fault).
    pub fn core(e: &CoreError) -> Self {
        match e {
            CoreError::Unauthenticated(why) => Self::unauthenticated(*why),
            CoreError::NotFound => Self::not_found(),
            CoreError::MethodNotAllowed(m) => Self::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("Method \"{m}\" not allowed."),
            ),
            CoreError::PayloadTooLarge(limit) => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("Request body exceeded the limit of {limit} bytes."),
            ),
            CoreError::UnsupportedMediaType(ct) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("Unsupported media type \"{ct}\" in request; send application/json."),
            ),
            // Django matches no URL pattern for an id that is not UTF-8 (as for any other id that
            // is not a UUID).
            CoreError::InvalidPath(_) => Self::not_found(),
            CoreError::BadRequest(m) => Self::new(StatusCode::BAD_REQUEST, "parse_error", m.clone()),
            CoreError::Internal => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "A server error occurred.",
            ),
            CoreError::Mock { status, code, message } => {
                let code = match (*status, *code) {
                    (StatusCode::TOO_MANY_REQUESTS, _) => "throttled",
                    (StatusCode::NOT_FOUND, _) => "not_found",
                    (_, c) => c,
                };
                Self::new(*status, code, message.clone())
            }
        }
    }
}

/// `{code, detail, errors, ...extra}`.
#[derive(Serialize)]
struct Envelope<'a> {
    code: &'a str,
    detail: &'a str,
    errors: &'a [ErrorItem],
    #[serde(flatten)]
    extra: &'a Map<String, Value>,
}

impl IntoResponse for V2Error {
    fn into_response(self) -> Response {
        let body = Envelope {
            code: &self.code,
            detail: &self.detail,
            errors: &self.errors,
            extra: &self.extra,
        };
        let mut res = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"api\""));
        }
        if let Some(secs) = self.retry_after {
            res.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

/// Collects field problems while a body is read.
#[derive(Debug, Default)]
pub struct Errs(pub Vec<ErrorItem>);

impl Errs {
    /// Records a problem at `field` (a full path; empty for the body).
    pub fn push(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.0.push(ErrorItem {
            code: code.to_string(),
            field: (!field.is_empty()).then(|| field.to_string()),
            message: message.into(),
        });
    }

    /// `Ok(v)` when nothing was recorded, else the 400.
    pub fn finish<T>(self, v: T) -> Result<T, V2Error> {
        if self.0.is_empty() {
            Ok(v)
        } else {
            Err(V2Error::validation(self.0))
        }
    }
}

/// Whether `path` (possibly below a world prefix `/_mock/w/{name}`) is a v2 route.
pub fn is_v2_path(path: &str) -> bool {
    let path = path
        .strip_prefix(mock_core::world::WORLD_PREFIX)
        .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or(path);
    path.starts_with("/v2/") || path == "/v2" || path.starts_with("/partner/v2/") || path == "/partner/v2"
}
