//! A stateful local stand-in for the Payt Customer API v1.
//!
//! [`MockPayt`] runs the mock in a test (see its example); [`app`] builds the router directly;
//! [`world::Payt`] is what one world of it holds. The control API, worlds, journal and faults
//! come from [`mock_core`].
//!
//! ## Where each thing lives
//!
//! Each resource keeps its record type (serialized exactly as the spec's entity), the properties
//! shown only on request, its states and their transitions, its validation and its routes in one
//! file of [`resources`]: `administrations.rs`, `companies.rs`, `contacts.rs`, `debtors.rs`,
//! `sign_up.rs` (parties); `invoices.rs` (with its block, resume and payment rules), `payments.rs`,
//! `credit_cases.rs`, `payment_plans.rs` (`PlanState`), `tasks.rs` (`TaskState`), `orders.rs`,
//! `files.rs`; `messages.rs`, `notes.rs`, `notifications.rs`; `psp_mandates.rs`,
//! `psp_transactions.rs`, `payment_conditions.rs`, `vat_rates.rs`.
//!
//! Public are the modules the binary, the harness's users and the crate's tests need
//! ([`resources`], [`state`](mod@state), [`seed`], [`lifecycle`], [`format`](mod@format),
//! [`limits`], [`storage`], [`webhooks`], [`world`]); the shared plumbing is crate-private:
//! - `params.rs`, `fields.rs`, `list.rs`: query parameters, the `fields` projection, the page and
//!   show shapes (`list::filtered` serves the lists that differ only in their table);
//! - `body.rs`: request bodies (JSON and Rails-style forms), the field readers (`opt_str`,
//!   `opt_bool`, ...) every write uses and their one refusal, `Problem`, answered first-only
//!   (`?`), all in one 422 or as a bulk record's codes (`Problems`); `bulk.rs` the
//!   `{success, count, errors, warnings}` answer;
//! - `error.rs`: Payt's `{code, message}` errors and their statuses;
//! - `links.rs`: every absolute URL the mock writes (on the origin the client called, never a
//!   Payt host) and the mock-only pages they lead to;
//! - `integer_ids.rs`: the opt-in integer ids; `scenarios.rs`: the named scenarios; `browse.rs`:
//!   the dashboard's state browser.
//!
//! [`state`](mod@state) holds the database of tables, the shared [`state::AppState`] and the
//! authenticated [`state::Caller`]; [`format`](mod@format) how ids, money and timestamps are
//! written; [`seed`] the fixtures (`seed/scale.rs` large worlds); [`lifecycle`] the time-driven
//! rules; [`storage`] the object store behind `POST /v1/files`, where uploads are PUT and invoice
//! documents are served; [`webhooks`] the mock-only webhook subscriptions and deliveries.
//!
//! Every route answers under `/v1/...` and `/api/v1/...`, as the live API does. Mock-only paths sit
//! under `/_mock/payt/`; the link pages and the storage are what the public flow hands out, not a
//! control API, so they are always served.

pub(crate) mod body;
pub(crate) mod browse;
pub(crate) mod bulk;
pub(crate) mod error;
pub(crate) mod fields;
pub mod format;
pub(crate) mod integer_ids;
pub mod lifecycle;
pub mod limits;
pub(crate) mod links;
pub(crate) mod list;
pub(crate) mod params;
pub mod resources;
pub(crate) mod scenarios;
pub mod seed;
pub mod state;
pub mod storage;
pub mod webhooks;
pub mod world;

use std::sync::Arc;

use axum::Router;
use chrono::NaiveDate;
use mock_core::Clock;
use mock_core::error::CoreError;
use mock_core::server::{self, DEFAULT_BODY_LIMIT};

use crate::error::{PaytError, PaytRenderer};
use crate::state::AppState;

/// The bearer token the mock accepts unless told otherwise.
pub const DEFAULT_TOKEN: &str = "payt_test_token";
/// A token the fixtures grant administrations 81 and 82 with every read scope and no write scope.
pub const READONLY_TOKEN: &str = "payt_readonly_token";
/// Every read scope the mock checks.
pub(crate) const READ_SCOPES: &[&str] = &[
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
    /// Write ids and cursors as JSON integers instead of strings (see `integer_ids.rs`).
    pub integer_ids: bool,
}

/// The Payt API as an axum router (with the shared middleware stack), for `state`.
pub fn app(state: AppState) -> Router {
    app_with(state, Options::default())
}

/// The Payt API with `options`.
///
/// Three parts: the API under `/v1` and `/api/v1` with the link pages (`links::router`), behind
/// `links::middleware` (the request's origin goes into every link), the optional
/// `integer_ids::middleware` and the shared stack with its 10 MiB body limit; and the storage
/// ([`storage::router`]) with its own layers, whose uploads may be as large as `POST /v1/files`
/// allows.
pub fn app_with(state: AppState, options: Options) -> Router {
    app_serving(state, options, false)
}

/// [`app_with`], with the mock-only control routes of the vendor (webhook subscriptions and
/// deliveries under `/_mock/payt/`) when `control` is on.
pub(crate) fn app_serving(state: AppState, options: Options, control: bool) -> Router {
    let v1 = v1();
    let mut routes = Router::new()
        .nest("/v1", v1.clone())
        .nest("/api/v1", v1)
        .merge(links::router());
    if control {
        routes = routes.merge(webhooks::control_router());
    }
    let mut router = routes
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
/// as fresh on every day as on the first. (The mock itself keeps its state in worlds; see
/// [`world::Payt`].)
pub fn state(seed: u64, anchor: NaiveDate, token: &str, clock: Clock) -> AppState {
    use mock_core::world::Vendor;
    let payt = world::Payt {
        token: token.to_string(),
        options: Options::default(),
        webhooks: Vec::new(),
    };
    let data = payt.generate(&mock_core::world::SeedSpec::new(seed, 1, anchor));
    payt.open(data, clock)
}

/// A running Payt mock (see [`mock_core::harness::MockServer`]): `uri()`, `token()`, `state()`,
/// and the control plane (`reset()`, `world(name)`, `received_requests()`, `faults()`,
/// `snapshot()`, `restore()`, `clock()`). Dropping it stops the server.
///
/// Arrange a mock, act on it over HTTP, assert on what it received:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use mock_payt::MockPayt;
///
/// // Arrange: a mock on a free port, on the test clock (2026-11-01 09:00 UTC).
/// let payt = MockPayt::test().seed(7).start().await;
///
/// // Act: what the code under test does.
/// let res = reqwest::Client::new()
///     .get(format!("{}/v1/administrations", payt.uri()))
///     .bearer_auth(payt.token())
///     .send()
///     .await
///     .expect("the mock answers");
///
/// // Assert: on the answer and on what the mock received.
/// assert_eq!(res.status(), 200);
/// let received = payt.received_requests();
/// assert_eq!(received.len(), 1);
/// assert_eq!(received[0].request.path, "/v1/administrations");
/// assert_eq!(
///     received[0].request.headers.iter().find(|(n, _)| n == "authorization").map(|(_, v)| v.as_str()),
///     Some("Bearer [redacted]")
/// );
///
/// // Each test can have a world of its own: same seed, no shared writes.
/// let mine = payt.world("test-42").expect("a valid name");
/// assert!(mine.uri().ends_with("/_mock/w/test-42"));
/// payt.reset();
/// assert!(payt.received_requests().is_empty());
/// # }
/// ```
pub type MockPayt = mock_core::harness::MockServer<world::Payt>;

/// Options of a [`MockPayt`]: the shared ones ([`mock_core::harness::Builder`]) and, through
/// [`PaytBuilder`], Payt's own.
pub type MockPaytBuilder = mock_core::harness::Builder<world::Payt>;

/// Payt's own options on a [`MockPaytBuilder`].
pub trait PaytBuilder {
    /// The bearer token granted the fixture administrations 81 and 82 with every scope.
    fn token(self, token: impl Into<String>) -> Self;
    /// Write ids and cursors as JSON integers (strings, as the spec says, by default).
    fn integer_ids(self, on: bool) -> Self;
}

impl PaytBuilder for MockPaytBuilder {
    fn token(self, token: impl Into<String>) -> Self {
        let token = token.into();
        self.configure(|p| p.token = token)
    }

    fn integer_ids(self, on: bool) -> Self {
        self.configure(|p| p.options.integer_ids = on)
    }
}
