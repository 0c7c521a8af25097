//! A stateful local stand-in for the paywise Case Management API v1 and v2 and the Partner API.
//!
//! [`MockPaywise`] runs the mock in a test (see its example); [`app`] and [`state`](fn@state) build the
//! router and its state directly; [`world::Paywise`] is what one world of it holds. The control
//! API, worlds, journal and faults come from [`mock_core`].
//!
//! Paths end with `/` as paywise documents them; a path without it is redirected (301) to the
//! path with it, as Django's `APPEND_SLASH` does.
//!
//! ## Where each thing lives
//!
//! Each resource keeps its record type, its states and their allowed transitions, its validation
//! and its routes in one file. Public are the modules the binary, the harness's users and the
//! crate's tests need ([`resources`], [`v2`], [`state`](mod@state), [`seed`], [`lifecycle`], [`validate`],
//! [`world`], `browse`); the shared plumbing is crate-private.
//!
//! | what | v1 (`/v1/`, `/partner/v1/`) | v2 (`/v2/`, `/partner/v2/`) |
//! |---|---|---|
//! | claims (`SubmissionState`) | `resources/claims.rs` | `v2/claims.rs` |
//! | orders (`OrderStatus`) | (v1 claims adopt one) | `v2/orders.rs` |
//! | debtors | `resources/debtors.rs` | `v2/debtors.rs` |
//! | mandates (`LegalStage`, `ProcessingState`), status updates | `resources/mandates.rs` | `v2/mandates.rs` |
//! | requests to client | `resources/requests_to_client.rs` | `v2/requests.rs` |
//! | payments | `resources/payments.rs` | `v2/payments.rs` |
//! | statements | `resources/statements.rs` | `v2/statements.rs` |
//! | webhooks and deliveries (`DeliveryStatus`) | `resources/webhooks.rs` | `v2/webhooks.rs`, events `v2/events.rs` |
//! | files; documents (`DocumentStatus`) | `resources/files.rs` | `v2/documents.rs` |
//! | messages (`MessageState`) | | `v2/messages.rs` |
//! | partner companies, users, invites (`InviteStatus`) | `resources/partner.rs` | `v2/partner.rs` (memberships `MembershipStatus`, onboarding `OnboardingStatus`) |
//! | token info; usage and catalogues | `resources/info.rs` | `v2/meta.rs` |
//! | the simulated back office (`/_mock/paywise/`) | `resources/backoffice.rs` | `v2/backoffice.rs` |
//!
//! Shared pieces:
//! - `states.rs`: `state_enum!`, the shape of every lifecycle state (an enum named as the vendor
//!   spells it) and the `Machine` trait; the transitions stay in each resource's file.
//! - [`state`](mod@state): tables scoped by company and access mode ([`state::Db`]), the shared
//!   [`state::AppState`] and the authenticated [`state::Caller`].
//! - `list.rs`: v1's DRF pages with absolute links, request origins, JSON bodies, query filters.
//! - `v2/conv.rs`: v2's conventions (callers, strict bodies, cursor pages, ETags, idempotency);
//!   `v2/error.rs` its `{code, detail, errors}` envelope.
//! - [`validate`]: v1's DRF-style body validation with DRF's messages; `error.rs` its
//!   `{"detail": ...}` and field errors.
//! - `format.rs`: timestamps, dates and money, and `ToJson`, the infallible API form every
//!   rendering is built from.
//! - `vendor.rs`: the choices of paywise's own OpenAPI files (event and metadata types,
//!   currencies), value for value.
//! - [`lifecycle`]: the time-driven rules (review, acceptance, legal stages).
//! - [`seed`]: the fixtures (`seed/v2.rs` what v2 adds, `seed/scale.rs` large worlds);
//!   `scenarios.rs` the named scenarios.
//! - [`world`]: the vendor's world (seeding, snapshots, the app); `browse.rs` the state browser.

#[macro_use]
pub(crate) mod states;
pub mod browse;
pub(crate) mod error;
#[macro_use]
pub(crate) mod format;
pub mod lifecycle;
pub(crate) mod list;
#[macro_use]
pub mod resources;
pub(crate) mod scenarios;
pub mod seed;
pub mod state;
pub mod v2;
pub mod validate;
pub(crate) mod vendor;
pub mod world;

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use mock_core::Clock;
use mock_core::error::CoreError;
use mock_core::server::{self, DEFAULT_BODY_LIMIT};
use tower::ServiceExt;

use crate::error::PaywiseRenderer;
use crate::state::AppState;

/// The test-mode bearer token the mock accepts unless told otherwise.
pub const DEFAULT_TOKEN: &str = "paywise_test_token";
/// The production-mode bearer token the mock accepts unless told otherwise.
pub const DEFAULT_PRODUCTION_TOKEN: &str = "paywise_live_token";
/// The seed used unless told otherwise.
pub const DEFAULT_SEED: u64 = 42;

/// Django's `APPEND_SLASH`: a path without its trailing slash that would match a route with it is
/// answered `301 Moved Permanently` to the slashed path (query kept). The router itself is asked:
/// a probe of the slashed path that is not a 404 means the route exists.
async fn append_slash(probe: Router, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let versioned = ["/v1/", "/partner/v1/", "/v2/", "/partner/v2/"];
    if !path.ends_with('/') && versioned.iter().any(|p| path.starts_with(p)) {
        let slashed = format!("{path}/");
        let probe_req = Request::get(&slashed).body(axum::body::Body::empty());
        if let Ok(probe_req) = probe_req {
            let Ok(res) = probe.oneshot(probe_req).await;
            if res.status() != StatusCode::NOT_FOUND {
                let location = match req.uri().query() {
                    Some(q) => format!("{slashed}?{q}"),
                    None => slashed,
                };
                return (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, location)]).into_response();
            }
        }
    }
    next.run(req).await
}

/// No route: v1's 404, or v2's where the path is v2's (`/v2/` and `/partner/v2/` themselves reach
/// here, not the nested routers' own fallbacks).
async fn fallback(uri: axum::http::Uri) -> Response {
    mock_core::error::ErrorRenderer::render_at(&PaywiseRenderer, uri.path(), &CoreError::NotFound)
}

/// The paywise API as an axum router (with the shared middleware stack), for `state`.
pub fn app(state: AppState) -> Router {
    app_with(state, Options::default())
}

/// How the paywise app answers, beyond its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Serve the mock-only control routes under `/_mock/paywise/` (the simulated back office and
    /// the partner onboarding shortcuts). On by default; off makes the mock exactly the public API.
    pub control: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self { control: true }
    }
}

/// The paywise API with `options`.
pub fn app_with(state: AppState, options: Options) -> Router {
    use resources::*;
    let v1 = Router::new()
        .merge(claims::router())
        .merge(debtors::router())
        .merge(mandates::router())
        .merge(requests_to_client::router())
        .merge(payments::router())
        .merge(statements::router())
        .merge(webhooks::router())
        .merge(files::router())
        .merge(info::router());
    let router = Router::new()
        .nest("/v1", v1)
        .nest("/partner/v1", partner::router())
        .nest("/v2", v2::case_router())
        .nest("/partner/v2", v2::partner_router())
        .merge(partner::onboarding_router());
    let router = if options.control {
        router
            .merge(backoffice::router())
            .merge(partner::control_router())
            .merge(v2::backoffice::router())
            .merge(lifecycle::router())
    } else {
        router
    };
    let last_origin = state.origin.clone();
    let router = router.fallback(fallback).with_state(state);
    let probe = router.clone();
    let router = router.layer(axum::middleware::from_fn(move |req: Request, next: Next| {
        let probe = probe.clone();
        async move { append_slash(probe, req, next).await }
    }));
    // Remember where the world is called at, for the links of what the time-driven rules emit.
    let router = router.layer(axum::middleware::from_fn(move |req: Request, next: Next| {
        last_origin.remember(mock_core::pagination::request_origin(req.headers()));
        next.run(req)
    }));
    server::stack(router, Arc::new(PaywiseRenderer), DEFAULT_BODY_LIMIT)
}

/// Builds the state for `seed`, with fixtures dated around `anchor` (see [`seed`]), `test_token`
/// in test mode and `production_token` in production mode, both for the fixture company. Pass
/// `clock.today()` as the anchor for data that is as fresh on every day as on the first. (The mock
/// itself keeps its state in worlds; see [`world::Paywise`].)
pub fn state(seed: u64, anchor: NaiveDate, test_token: &str, production_token: &str, clock: Clock) -> AppState {
    use mock_core::world::Vendor;
    let paywise = world::Paywise {
        token: test_token.to_string(),
        production_token: production_token.to_string(),
        lenient: state::Lenient::default(),
    };
    let data = paywise.generate(&mock_core::world::SeedSpec::new(seed, 1, anchor));
    paywise.open(data, clock)
}

/// A running paywise mock (see [`mock_core::harness::MockServer`]): `uri()`, `token()` (test
/// mode), `production_token()` (through [`PaywiseMock`]), `state()`, and the control plane
/// (`reset()`, `world(name)`, `received_requests()`, `faults()`, `snapshot()`, `restore()`,
/// `clock()`). Dropping it stops the server.
///
/// Arrange a mock and a fault, act, assert on the answer and the journal:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use mock_core::faults::{Action, RuleSpec};
/// use mock_paywise::MockPaywise;
///
/// // Arrange: a mock whose next claim list fails with 503.
/// let paywise = MockPaywise::test().seed(7).start().await;
/// let mut rule = RuleSpec::new(Action::Status { status: 503, message: None });
/// rule.path = mock_core::pattern::PathPattern::parse("/v1/claims/").expect("a pattern");
/// rule.times = Some(1);
/// paywise.faults().add(rule).expect("a valid rule");
///
/// // Act: the code under test asks twice.
/// let client = reqwest::Client::new();
/// let url = format!("{}/v1/claims/", paywise.uri());
/// let first = client.get(&url).bearer_auth(paywise.token()).send().await.expect("answers");
/// let second = client.get(&url).bearer_auth(paywise.token()).send().await.expect("answers");
///
/// // Assert: one injected failure in paywise's own shape, then the real answer.
/// assert_eq!(first.status(), 503);
/// assert!(first.text().await.expect("a body").contains("\"detail\""));
/// assert_eq!(second.status(), 200);
/// let journal = paywise.received_requests();
/// assert_eq!(journal.len(), 2);
/// assert_eq!(journal[0].fault.as_deref(), Some("f1"));
/// # }
/// ```
pub type MockPaywise = mock_core::harness::MockServer<world::Paywise>;

/// Options of a [`MockPaywise`]: the shared ones ([`mock_core::harness::Builder`]) and, through
/// [`PaywiseBuilder`], paywise's own.
pub type MockPaywiseBuilder = mock_core::harness::Builder<world::Paywise>;

/// paywise's own options on a [`MockPaywiseBuilder`].
pub trait PaywiseBuilder {
    /// The test-mode bearer token.
    fn token(self, token: impl Into<String>) -> Self;
    /// The production-mode bearer token.
    fn production_token(self, token: impl Into<String>) -> Self;
    /// Switches off one of the rules the mock enforces beyond paywise's OpenAPI files (see
    /// [`state::LenientRule`] and the README), for the vendor-lenient behaviour; call once per rule.
    fn lenient(self, rule: state::LenientRule) -> Self;
}

impl PaywiseBuilder for MockPaywiseBuilder {
    fn token(self, token: impl Into<String>) -> Self {
        let token = token.into();
        self.configure(|p| p.token = token)
    }

    fn production_token(self, token: impl Into<String>) -> Self {
        let token = token.into();
        self.configure(|p| p.production_token = token)
    }

    fn lenient(self, rule: state::LenientRule) -> Self {
        self.configure(|p| p.lenient = p.lenient.with(rule))
    }
}

/// paywise's own accessors on a running [`MockPaywise`].
pub trait PaywiseMock {
    /// The production-mode bearer token.
    fn production_token(&self) -> &str;
}

impl PaywiseMock for MockPaywise {
    fn production_token(&self) -> &str {
        &self.vendor().production_token
    }
}
