//! What the Payt and paywise mocks share.
//!
//! A vendor crate (`mock-payt`, `mock-paywise`) brings its routes, models and rules; everything that
//! is not about one vendor lives here, so that time, ids and every state change flow through one
//! place that the control plane (reset, snapshots, journal, fault injection, clock) can hook into.
//!
//! Layout:
//! - [`store`]: the typed in-memory store. A [`store::Table`] keeps records of one kind partitioned
//!   by scope (a Payt administration, a paywise company and access mode) and ordered by sequence, so
//!   cursor and offset pages cost O(log n + page). [`store::Store`] guards a vendor's tables behind
//!   one lock with `read`/`write` closures: handlers never touch a map.
//! - [`clock`]: the injectable clock every timestamp comes from.
//! - [`ids`]: sequence numbers and deterministic UUIDs.
//! - [`auth`]: bearer-token extraction and a token registry.
//! - [`bank`]: IBANs, checked by the `iban_validate` crate.
//! - [`error`]: the core failures (unknown route, method, body too large, ...) and the
//!   [`error::ErrorRenderer`] each vendor implements to put them in its own error shape.
//! - [`body`] and [`query`]: request-body decoding (JSON, Rack-style nested forms) and query strings.
//! - [`pagination`]: DRF limit/offset links and other paging helpers.
//! - [`faults`]: fault-injection rules for a world (latency, error statuses, dropped, truncated and
//!   malformed answers), decided deterministically from a seed, and the emulated vendor rate limit.
//! - [`journal`]: a world's request journal: a bounded ring of redacted exchanges (bodies teed
//!   and capped), filtered listings, WireMock-style verification with near misses, HAR 1.2 export.
//! - [`server`]: the middleware stack, `serve` with graceful shutdown, and [`server::ServerHandle`],
//!   which tests use to run a mock on port 0 and which stops the server when dropped.
//! - [`world`]: one world holds everything mutable of a mock (tables, tokens, ids, clock, journal,
//!   fault rules); [`world::Worlds`] keeps named, isolated worlds made from cached seeded templates,
//!   and [`world::router`] dispatches each request to the world it names.
//! - [`control`]: the control API under `/_mock/` (worlds, reset, snapshots, journal, faults,
//!   rate limit, clock) and its OpenAPI document; [`statefile`]: every world in one file, saved
//!   atomically; [`snapshot`]: the storage form of records.
//! - [`harness`]: [`harness::MockServer`], the Rust handle tests start a mock with.
//! - [`delivery`]: outgoing webhook deliveries, the same for every vendor: one
//!   [`delivery::Sender`] per dispatcher (reqwest on rustls, so receivers behind TLS work), the
//!   URL rule (https, or http to loopback), bounded answers and the trusted certificates
//!   (`--webhook-ca-file`, `--webhook-insecure`).
//! - [`testing`]: the clock and fixture anchor every test mock runs on, so no expectation depends
//!   on the day a test runs.

pub mod auth;
pub mod bank;
pub mod body;
pub mod clock;
pub mod control;
pub mod dashboard;
pub mod delivery;
pub mod error;
pub mod faults;
pub mod harness;
pub mod ids;
pub mod journal;
pub mod openapi;
pub mod pagination;
pub mod pattern;
pub mod query;
pub mod rendered;
pub mod scenario;
pub mod server;
pub mod serving;
pub mod snapshot;
pub mod statefile;
pub mod store;
pub mod testing;
pub mod timeline;
pub mod world;

pub use clock::Clock;
pub use error::{CoreError, ErrorRenderer};
pub use ids::IdGen;
pub use server::ServerHandle;
pub use store::{Record, Store, Table};
