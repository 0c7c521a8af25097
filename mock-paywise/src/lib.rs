//! A stateful local stand-in for the paywise Case Management API v1.
//!
//! Layout:
//! - [`resources`]: one module per resource (record type, validation, routes).
//! - [`state`]: tables scoped by company and access mode, the shared [`state::AppState`] and the
//!   authenticated [`state::Caller`].
//! - [`list`]: DRF pages with absolute links, request origins, JSON bodies, query filters.
//! - [`validate`]: DRF-style body validation with DRF's messages.
//! - [`error`]: `{"detail": ...}` and field errors.
//! - [`format`]: timestamps and money;
//! - [`seed`]: the fixtures.
//!
//! Paths end with `/` as paywise documents them; a path without it is redirected (301) to the
//! path with it, as Django's `APPEND_SLASH` does.
//!
//! ```no_run
//! # async fn demo() {
//! let paywise = mock_paywise::MockPaywise::builder().seed(7).start().await;
//! let res = reqwest::Client::new()
//!     .get(format!("{}/v1/claims/", paywise.uri()))
//!     .bearer_auth(paywise.token())
//!     .send()
//!     .await
//!     .unwrap();
//! assert_eq!(res.status(), 200);
//! # }
//! ```

pub mod error;
pub mod format;
pub mod list;
pub mod resources;
pub mod seed;
pub mod state;
pub mod validate;
pub mod vendor;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use mock_core::auth::TokenRegistry;
use mock_core::error::CoreError;
use mock_core::server::{self, DEFAULT_BODY_LIMIT};
use mock_core::{Clock, IdGen, ServerHandle, Store};
use tower::ServiceExt;

use crate::error::{PaywiseError, PaywiseRenderer};
use crate::state::{AccessMode, AppState, Grant, Scope};

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
    if !path.ends_with('/') && (path.starts_with("/v1/") || path.starts_with("/partner/v1/")) {
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

async fn fallback() -> Response {
    PaywiseError::core(&CoreError::NotFound).into_response()
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
        .merge(partner::onboarding_router());
    let router = if options.control {
        router.merge(backoffice::router()).merge(partner::control_router())
    } else {
        router
    };
    let router = router.fallback(fallback).with_state(state);
    let probe = router.clone();
    let router = router.layer(axum::middleware::from_fn(move |req: Request, next: Next| {
        let probe = probe.clone();
        async move { append_slash(probe, req, next).await }
    }));
    server::stack(router, Arc::new(PaywiseRenderer), DEFAULT_BODY_LIMIT)
}

/// Builds the state for `seed`, with fixtures dated around `anchor` (see [`seed`]), `test_token`
/// in test mode and `production_token` in production mode, both for the fixture company. Pass
/// `clock.today()` as the anchor for data that is as fresh on every day as on the first.
pub fn state(seed: u64, anchor: NaiveDate, test_token: &str, production_token: &str, clock: Clock) -> AppState {
    let (db, last) = seed::generate(seed, anchor);
    let tokens = TokenRegistry::new();
    for (token, mode, name) in [
        (test_token, AccessMode::Test, "Test key"),
        (production_token, AccessMode::Production, "Live key"),
    ] {
        tokens.insert(
            token,
            Grant {
                scope: Scope {
                    company: seed::COMPANY,
                    mode,
                },
                name: name.into(),
                partner: None,
            },
        );
    }
    resources::partner::register_tokens(&tokens, seed);
    AppState {
        store: Arc::new(Store::new(db)),
        clock,
        ids: Arc::new(IdGen::new(seed, last + 1)),
        tokens: Arc::new(tokens),
        events: state::Events::default(),
        lenient: state::Lenient::default(),
    }
}

/// A running paywise mock. Dropping it stops the server.
pub struct MockPaywise {
    server: ServerHandle,
    state: AppState,
    token: String,
    production_token: String,
}

/// Options for [`MockPaywise`].
#[derive(Debug, Clone)]
pub struct MockPaywiseBuilder {
    seed: u64,
    addr: SocketAddr,
    token: String,
    production_token: String,
    clock: Option<Clock>,
    anchor_date: Option<NaiveDate>,
    lenient: state::Lenient,
}

impl Default for MockPaywiseBuilder {
    fn default() -> Self {
        Self {
            seed: DEFAULT_SEED,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            token: DEFAULT_TOKEN.into(),
            production_token: DEFAULT_PRODUCTION_TOKEN.into(),
            clock: None,
            anchor_date: None,
            lenient: state::Lenient::default(),
        }
    }
}

impl MockPaywiseBuilder {
    /// The fixture seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The address to bind (port 0, the default, picks a free port on 127.0.0.1).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// The test-mode bearer token.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = token.into();
        self
    }

    /// The production-mode bearer token.
    pub fn production_token(mut self, token: impl Into<String>) -> Self {
        self.production_token = token.into();
        self
    }

    /// The clock (the wall clock by default).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Pins the date the fixtures are placed around (by default the clock's date at start), for
    /// byte-identical data on every day.
    pub fn anchor_date(mut self, date: NaiveDate) -> Self {
        self.anchor_date = Some(date);
        self
    }

    /// Switches off one of the rules the mock enforces beyond paywise's OpenAPI files (see
    /// [`state::LenientRule`] and the README), for the vendor-lenient behaviour; call once per rule.
    ///
    /// ```no_run
    /// # async fn demo() {
    /// use mock_paywise::{MockPaywise, state::LenientRule};
    /// // A claim whose total does not add up is accepted as sent.
    /// let mock = MockPaywise::test().lenient(LenientRule::Totals).start().await;
    /// # drop(mock);
    /// # }
    /// ```
    pub fn lenient(mut self, rule: state::LenientRule) -> Self {
        self.lenient = self.lenient.with(rule);
        self
    }

    /// Starts the server.
    pub async fn try_start(self) -> io::Result<MockPaywise> {
        let clock = self.clock.unwrap_or_default();
        let anchor = self.anchor_date.unwrap_or_else(|| clock.today());
        let mut state = state(self.seed, anchor, &self.token, &self.production_token, clock);
        state.lenient = self.lenient;
        let server = ServerHandle::start(self.addr, app(state.clone())).await?;
        resources::webhooks::start_background(&state);
        Ok(MockPaywise {
            server,
            state,
            token: self.token,
            production_token: self.production_token,
        })
    }

    /// Starts the server; panics if the address cannot be bound (use [`Self::try_start`] to handle that).
    pub async fn start(self) -> MockPaywise {
        let addr = self.addr;
        match self.try_start().await {
            Ok(m) => m,
            Err(e) => panic!("cannot start the paywise mock on {addr}: {e}"),
        }
    }
}

impl MockPaywise {
    /// Options.
    pub fn builder() -> MockPaywiseBuilder {
        MockPaywiseBuilder::default()
    }

    /// A mock with the default seed on a free port.
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    /// Options, starting from what every test in this workspace runs on: the clock of
    /// [`mock_core::testing::clock`] (09:00 UTC on 2026-11-01, running on) and fixtures anchored at
    /// [`mock_core::testing::ANCHOR_DATE`], so no expectation depends on the day the test runs.
    ///
    /// ```no_run
    /// # async fn demo() {
    /// let paywise = mock_paywise::MockPaywise::test().seed(7).start().await;
    /// assert_eq!(paywise.state().clock.today(), mock_core::testing::ANCHOR_DATE);
    /// # }
    /// ```
    pub fn test() -> MockPaywiseBuilder {
        Self::builder()
            .clock(mock_core::testing::clock())
            .anchor_date(mock_core::testing::ANCHOR_DATE)
    }

    /// The base URL, `http://127.0.0.1:port` (routes are under `/v1/`).
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The test-mode bearer token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The production-mode bearer token.
    pub fn production_token(&self) -> &str {
        &self.production_token
    }

    /// The mock's state, for tests that look inside.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops the server and waits for open requests.
    pub async fn stop(self) -> io::Result<()> {
        self.server.stop().await
    }
}
