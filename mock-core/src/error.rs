//! Failures that happen before or around a vendor's handler, and how a vendor renders them.
//!
//! Unknown routes, unsupported methods, oversized bodies, missing tokens and panics are detected by
//! shared code, but the client must see each vendor's own error shape. Each vendor implements
//! [`ErrorRenderer`]; the server stack calls it for every such failure.

use axum::http::{Method, StatusCode};
use axum::response::Response;

/// Why a bearer token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `Authorization` header.
    Missing,
    /// An `Authorization` header that is not `Bearer <token>` (or the scheme the route expects).
    Malformed,
    /// A well-formed token that the mock does not know.
    Unknown,
}

/// A failure detected outside a vendor's handlers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoreError {
    /// The request could not be authenticated.
    Unauthenticated(AuthFailure),
    /// No route matches the path.
    NotFound,
    /// The route exists but not for this method.
    MethodNotAllowed(Method),
    /// The body is larger than the limit (bytes).
    PayloadTooLarge(usize),
    /// The body's content type is not one the route accepts.
    UnsupportedMediaType(String),
    /// A path segment that is not UTF-8 once percent-decoded (`/v1/debtors/%FF`): no record can
    /// have that id. A vendor renders it as its framework does (Rails: 400; Django: no URL
    /// pattern matches, 404). The text says what to fix.
    InvalidPath(String),
    /// Any other request the router could not read before a handler saw it (a plain-text 400 from
    /// an extractor). The text says what to fix.
    BadRequest(String),
    /// A handler panicked or the mock failed; the details go to the log, never to the client.
    Internal,
    /// A failure the mock makes on purpose or for its own reasons, not the vendor's: an injected
    /// fault (`code` `injected_fault`, or `rate_limited` for the emulated rate limit) or a refused
    /// world (`world_limit`, `invalid_world`). Rendered in the vendor's shape with `status` and
    /// `message`, so that a client's error handling sees what the vendor would send.
    Mock {
        /// The status to answer with.
        status: StatusCode,
        /// A short machine-readable reason (Payt writes it as its `code`).
        code: &'static str,
        /// What the client reads.
        message: String,
    },
}

impl CoreError {
    /// The HTTP status this failure maps to.
    pub fn status(&self) -> StatusCode {
        match self {
            CoreError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            CoreError::NotFound => StatusCode::NOT_FOUND,
            CoreError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            CoreError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            CoreError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            CoreError::InvalidPath(_) | CoreError::BadRequest(_) => StatusCode::BAD_REQUEST,
            CoreError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            CoreError::Mock { status, .. } => *status,
        }
    }
}

/// Renders core failures in a vendor's error shape.
pub trait ErrorRenderer: Send + Sync + 'static {
    /// The response for `error`.
    fn render(&self, error: &CoreError) -> Response;

    /// The response for `error` on a request for `path`: [`ErrorRenderer::render`] unless the
    /// vendor's shape depends on the path (paywise v1 and v2 answer errors differently).
    fn render_at(&self, path: &str, error: &CoreError) -> Response {
        let _ = path;
        self.render(error)
    }
}

/// A renderer bound to one request's path: renders through [`ErrorRenderer::render_at`].
pub struct AtPath {
    /// The vendor's renderer.
    pub renderer: std::sync::Arc<dyn ErrorRenderer>,
    /// The request's path.
    pub path: String,
}

impl ErrorRenderer for AtPath {
    fn render(&self, error: &CoreError) -> Response {
        self.renderer.render_at(&self.path, error)
    }
}

/// `text` escaped for XML content and attribute values: the five markup characters become
/// entities, and control characters XML 1.0 does not allow are dropped (tab, newline and carriage
/// return stay). For the XML error bodies an object-store stand-in writes and for XML reports.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escape_writes_entities_and_drops_what_xml_forbids() {
        assert_eq!(
            xml_escape("a <b> & \"c\" 'd'\u{1}\n"),
            "a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos;\n"
        );
    }
}
