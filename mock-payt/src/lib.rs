//! A stateful local stand-in for the Payt Customer API v1.
//!
//! Layout:
//! - [`resources`]: one module per resource; each holds its record type (serialized exactly as the
//!   spec's entity), the properties shown only on request, and its routes.
//! - [`state`]: the database of tables, the shared [`state::AppState`] and the authenticated
//!   [`state::Caller`].
//! - [`params`], [`fields`], [`list`], [`body`]: query parameters, the `fields` projection, the
//!   page/show shapes and request bodies, shared by every resource.
//! - [`error`]: Payt's `{code, message}` errors and their statuses.
//! - [`format`]: how ids, money and timestamps are written;
//! - [`seed`]: the fixtures.
//! - [`links`]: every absolute URL the mock writes (on the origin the client called, never a Payt
//!   host) and the mock-only pages they lead to; [`storage`]: the object store behind `POST
//!   /v1/files`, where uploads are PUT and invoice documents are served.
//!
//! Every route answers under `/v1/...` and `/api/v1/...`, as the live API does. Mock-only paths sit
//! under `/_mock/payt/`; the link pages and the storage are what the public flow hands out, not a
//! control API, so they are always served.
//!
//! ```no_run
//! # async fn demo() {
//! let payt = mock_payt::MockPayt::builder().seed(7).start().await;
//! let res = reqwest::Client::new()
//!     .get(format!("{}/v1/administrations", payt.uri()))
//!     .bearer_auth(payt.token())
//!     .send()
//!     .await
//!     .unwrap();
//! assert_eq!(res.status(), 200);
//! # }
//! ```

pub mod body;
pub mod bulk;
pub mod error;
pub mod fields;
pub mod format;
pub mod integer_ids;
pub mod links;
pub mod list;
pub mod params;
pub mod resources;
pub mod seed;
pub mod state;
pub mod storage;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use chrono::NaiveDate;
use mock_core::auth::TokenRegistry;
use mock_core::error::CoreError;
use mock_core::server::{self, DEFAULT_BODY_LIMIT};
use mock_core::{Clock, IdGen, ServerHandle, Store};

use crate::error::{PaytError, PaytRenderer};
use crate::state::{AppState, Grant};

/// The bearer token the mock accepts unless told otherwise.
pub const DEFAULT_TOKEN: &str = "payt_test_token";
/// A token the fixtures grant administrations 81 and 82 with every read scope and no write scope.
pub const READONLY_TOKEN: &str = "payt_readonly_token";
/// Every read scope the mock checks.
pub const READ_SCOPES: &[&str] = &[
    "administrations:read",
    "contacts:read",
    "credit_cases:read",
    "debtors:read",
    "invoices:read",
    "messages:read",
    "notes:read",
    "notifications:read",
    "order_lines:read",
    "payment_plans:read",
    "payments:read",
    "psp_mandates:read",
    "psp_transactions:read",
    "tasks:read",
    "vat_rates:read",
];
/// The seed used unless told otherwise.
pub const DEFAULT_SEED: u64 = 42;

/// The routes of every resource, relative to the version prefix.
fn v1() -> Router<AppState> {
    use resources::*;
    Router::new()
        .merge(administrations::router())
        .merge(companies::router())
        .merge(contacts::router())
        .merge(credit_cases::router())
        .merge(files::router())
        .merge(messages::router())
        .merge(notes::router())
        .merge(notifications::router())
        .merge(orders::router())
        .merge(payment_conditions::router())
        .merge(payment_plans::router())
        .merge(payments::router())
        .merge(psp_mandates::router())
        .merge(psp_transactions::router())
        .merge(sign_up::router())
        .merge(tasks::router())
        .merge(vat_rates::router())
        .merge(debtors::router())
        .merge(invoices::router())
}

/// How the Payt app answers, beyond its state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Write ids and cursors as JSON integers instead of strings (see [`integer_ids`]).
    pub integer_ids: bool,
}

/// The Payt API as an axum router (with the shared middleware stack), for `state`.
pub fn app(state: AppState) -> Router {
    app_with(state, Options::default())
}

/// The Payt API with `options`.
///
/// Three parts: the API under `/v1` and `/api/v1` with the link pages ([`links::router`]), behind
/// [`links::middleware`] (the request's origin goes into every link), the optional
/// [`integer_ids::middleware`] and the shared stack with its 10 MiB body limit; and the storage
/// ([`storage::router`]) with its own layers, whose uploads may be as large as `POST /v1/files`
/// allows.
pub fn app_with(state: AppState, options: Options) -> Router {
    let v1 = v1();
    let mut router = Router::new()
        .nest("/v1", v1.clone())
        .nest("/api/v1", v1)
        .merge(links::router())
        .fallback(|| async { PaytError::Core(CoreError::NotFound) })
        .with_state(state.clone())
        .layer(axum::middleware::from_fn(links::middleware));
    if options.integer_ids {
        router = router.layer(axum::middleware::from_fn(integer_ids::middleware));
    }
    storage::router(state).merge(server::stack(router, Arc::new(PaytRenderer), DEFAULT_BODY_LIMIT))
}

/// Builds the state for `seed`, with fixtures dated around `anchor` (see [`seed`]), `token`
/// granted administrations 81 and 82 and every scope, and [`READONLY_TOKEN`] granted the same
/// administrations with the read scopes only. Pass `clock.today()` as the anchor for data that is
/// as fresh on every day as on the first.
pub fn state(seed: u64, anchor: NaiveDate, token: &str, clock: Clock) -> AppState {
    let (db, last_id) = seed::generate(seed, anchor);
    let ids = IdGen::new(seed, last_id + 1);
    let tokens = TokenRegistry::new();
    tokens.insert(
        token,
        Grant {
            administrations: Some(seed::GRANTED_ADMINISTRATIONS.into_iter().collect()),
            scopes: None,
        },
    );
    tokens.insert(
        READONLY_TOKEN,
        Grant {
            administrations: Some(seed::GRANTED_ADMINISTRATIONS.into_iter().collect()),
            scopes: Some(READ_SCOPES.iter().map(|s| s.to_string()).collect()),
        },
    );
    AppState {
        store: Arc::new(Store::new(db)),
        clock,
        ids: Arc::new(ids),
        tokens: Arc::new(tokens),
    }
}

/// A running Payt mock. Dropping it stops the server.
pub struct MockPayt {
    server: ServerHandle,
    state: AppState,
    token: String,
}

/// Options for [`MockPayt`].
#[derive(Debug, Clone)]
pub struct MockPaytBuilder {
    seed: u64,
    addr: SocketAddr,
    token: String,
    clock: Option<Clock>,
    anchor_date: Option<NaiveDate>,
    options: Options,
}

impl Default for MockPaytBuilder {
    fn default() -> Self {
        Self {
            seed: DEFAULT_SEED,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            token: DEFAULT_TOKEN.to_string(),
            clock: None,
            anchor_date: None,
            options: Options::default(),
        }
    }
}

impl MockPaytBuilder {
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

    /// The bearer token granted the fixture administrations 81 and 82 with every scope.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = token.into();
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

    /// Write ids and cursors as JSON integers (strings, as the spec says, by default).
    pub fn integer_ids(mut self, on: bool) -> Self {
        self.options.integer_ids = on;
        self
    }

    /// Starts the server.
    pub async fn try_start(self) -> io::Result<MockPayt> {
        let clock = self.clock.unwrap_or_default();
        let anchor = self.anchor_date.unwrap_or_else(|| clock.today());
        let state = state(self.seed, anchor, &self.token, clock);
        let server = ServerHandle::start(self.addr, app_with(state.clone(), self.options)).await?;
        Ok(MockPayt {
            server,
            state,
            token: self.token,
        })
    }

    /// Starts the server; panics if the address cannot be bound (use [`Self::try_start`] to handle that).
    pub async fn start(self) -> MockPayt {
        let addr = self.addr;
        match self.try_start().await {
            Ok(m) => m,
            Err(e) => panic!("cannot start the Payt mock on {addr}: {e}"),
        }
    }
}

impl MockPayt {
    /// Options.
    pub fn builder() -> MockPaytBuilder {
        MockPaytBuilder::default()
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
    /// let payt = mock_payt::MockPayt::test().seed(7).start().await;
    /// assert_eq!(payt.state().clock.today(), mock_core::testing::ANCHOR_DATE);
    /// # }
    /// ```
    pub fn test() -> MockPaytBuilder {
        Self::builder()
            .clock(mock_core::testing::clock())
            .anchor_date(mock_core::testing::ANCHOR_DATE)
    }

    /// The base URL, `http://127.0.0.1:port` (routes are under `/v1` and `/api/v1`).
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The bearer token to use.
    pub fn token(&self) -> &str {
        &self.token
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
