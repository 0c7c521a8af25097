//! Token info (`GET /v1/info/`).
//!
//! The path is inferred (an unofficial client and an n8n action name it; paywise's docs have no
//! page for it). The answer is a JSON array, as the Partner API's token info is, with one entry:
//! the calling key, `{id, token_name, user, user_first_name, user_last_name, access_mode}`. For
//! a partner key acting through `X-User-Id`, `user` is that user.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};

use crate::error::PaywiseError;
use crate::resources::partner;
use crate::state::{AppState, Caller, Db};

/// The fixture company's account owner, as token info shows the user of its keys.
pub const OWNER: (&str, &str, &str) = ("julia.hoffmann@example.de", "Julia", "Hoffmann");

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/info/", get(info))
}

/// Adds this module's fixtures (none: the keys are registered with the state).
pub fn seed(f: &mut fixtures::Faker, seq: &mut u64, db: &mut Db) {
    let _ = (f, seq, db);
}

async fn info(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, PaywiseError> {
    let scope = caller.scope();
    let (user, first, last) = match partner::acting_user(&state, &caller) {
        Some(u) => u,
        None => (OWNER.0.to_string(), OWNER.1.to_string(), OWNER.2.to_string()),
    };
    let id = match &caller.grant.partner {
        Some(key) => key.id,
        None => partner::derived_uuid(&format!("key:{}:{:?}:{}", scope.company, scope.mode, caller.grant.name)),
    };
    Ok(Json(json!([{
        "id": id,
        "token_name": caller.grant.name,
        "user": user,
        "user_first_name": first,
        "user_last_name": last,
        "access_mode": scope.mode,
    }])))
}
