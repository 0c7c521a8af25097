//! paywise API v2: the Case Management API v2 (`/v2/`) and the Partner API v2 (`/partner/v2/`),
//! as paywise's official SDK (PyPI `paywise` 0.1.0) calls them, in the same world as v1.
//!
//! Layout (one file per resource):
//! - `conv`: the caller (token, environment, `X-On-Behalf-Of-Company`), strict JSON bodies,
//!   offset and `updated_since` cursor pages, ETags and `Idempotency-Key` replays;
//!   `error`: v2's `{code, detail, errors[]}` envelope.
//! - `meta`: health, info, usage, legal forms.
//! - `debtors`: the company's debtors (v1's debtors, seen through v2).
//! - `orders`: orders and their rental agreement; `claims`: claims, their enforceable
//!   title and their payments (v1's claims, each in an order); `documents`: every document
//!   collection; `messages`: order and mandate messages; `requests`: requests to client and
//!   answers.
//! - `mandates`: accepted cases (v1's mandates), their history and documents; `payments`:
//!   reported payments; `statements`: collective and single-mandate statements.
//! - `events`: the event feeds; [`webhooks`]: endpoints, deliveries, signatures.
//! - [`partner`]: managed companies and their memberships.
//! - `backoffice`: mock-only routes (`/_mock/paywise/v2/`) for what paywise's staff do.
//!
//! Which data v1 and v2 share: debtors, claims, mandates, payments, statements, requests to
//! client of mandates and the Partner's companies are the same records seen through either
//! version; orders, documents, messages, order requests, v2 events, v2 webhooks and memberships
//! exist only in v2. The environment is the token's access mode: test keys are the sandbox,
//! live keys production.

// Handlers answer `Result<_, V2Error>`; the error is the response on the refusal path, so its size
// (an envelope with field problems) costs nothing that boxing would save.
#![allow(clippy::result_large_err)]

pub(crate) mod backoffice;
pub(crate) mod claims;
pub(crate) mod conv;
pub(crate) mod debtors;
pub(crate) mod documents;
pub(crate) mod error;
pub(crate) mod events;
pub(crate) mod mandates;
pub(crate) mod messages;
pub(crate) mod meta;
pub(crate) mod orders;
pub mod partner;
pub(crate) mod payments;
pub(crate) mod requests;
pub(crate) mod statements;
pub mod webhooks;

use axum::Router;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

async fn fallback() -> Response {
    error::V2Error::not_found().into_response()
}

/// The Case Management API v2, to be nested under `/v2`.
pub(crate) fn case_router() -> Router<AppState> {
    Router::new()
        .merge(meta::router())
        .merge(debtors::router())
        .merge(orders::router())
        .merge(claims::router())
        .merge(documents::router())
        .merge(messages::router())
        .merge(requests::router())
        .merge(mandates::router())
        .merge(payments::router())
        .merge(statements::router())
        .merge(events::router())
        .merge(webhooks::router())
        .fallback(fallback)
}

/// The Partner API v2, to be nested under `/partner/v2`.
pub(crate) fn partner_router() -> Router<AppState> {
    Router::new()
        .merge(partner::router())
        .merge(meta::partner_router())
        .merge(events::partner_router())
        .merge(webhooks::partner_router())
        .fallback(fallback)
}
