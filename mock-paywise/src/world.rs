//! The paywise mock as a [`mock_core::world::Vendor`]: what one world of it holds and how it is
//! seeded, snapshotted and served.
//!
//! A world's data is its [`Db`] (Case Management data, webhooks and their pending deliveries,
//! files and the Partner API accounts), the position of its id generator and its token grants;
//! its clock is kept by the core beside them. Each world runs its own webhook dispatcher.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use mock_core::auth::TokenRegistry;
use mock_core::dashboard::{BrowseError, Browsed, Page, PageQuery, Resource, Webhooks};
use mock_core::error::ErrorRenderer;
use mock_core::world::{SeedSpec, StoreData, Vendor};
use mock_core::{Clock, IdGen};
use serde_json::Value;

use crate::error::PaywiseRenderer;
use crate::state::{AccessMode, AppState, Db, Events, Grant, Lenient, Scope};
use crate::{DEFAULT_PRODUCTION_TOKEN, DEFAULT_TOKEN, Options, app_with, resources, seed};

/// The paywise mock's options: its tokens and the rules switched off.
#[derive(Debug, Clone)]
pub struct Paywise {
    /// The test-mode bearer token of the fixture company.
    pub token: String,
    /// The production-mode bearer token of the fixture company.
    pub production_token: String,
    /// The mock's own rules switched off (none by default).
    pub lenient: Lenient,
}

impl Default for Paywise {
    fn default() -> Self {
        Self {
            token: DEFAULT_TOKEN.to_string(),
            production_token: DEFAULT_PRODUCTION_TOKEN.to_string(),
            lenient: Lenient::default(),
        }
    }
}

/// One paywise world as plain data: its tables, id generator position and token grants.
pub type PaywiseData = StoreData<Db, Grant>;

impl Paywise {
    /// The grants of a freshly seeded world: the fixture company's test and production keys and
    /// the Partner API keys.
    fn grants(&self, seed: u64) -> BTreeMap<String, Grant> {
        let tokens = TokenRegistry::new();
        for (token, mode, name) in [
            (&self.token, AccessMode::Test, "Test key"),
            (&self.production_token, AccessMode::Production, "Live key"),
        ] {
            tokens.insert(
                token.clone(),
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
        tokens.entries()
    }
}

impl Vendor for Paywise {
    const NAME: &'static str = "paywise";
    type State = AppState;
    type Data = PaywiseData;

    fn generate(&self, spec: &SeedSpec) -> PaywiseData {
        let (db, last) = seed::generate_scaled(spec.seed, spec.anchor, spec.size, spec.scale);
        PaywiseData {
            db,
            ids: IdGen::new(spec.seed, last + 1).state(),
            tokens: self.grants(spec.seed),
        }
    }

    fn open(&self, mut data: PaywiseData, clock: Clock) -> AppState {
        requeue(&mut data.db);
        let (store, ids, tokens) = data.open();
        AppState {
            store: Arc::new(store),
            clock,
            ids: Arc::new(ids),
            tokens: Arc::new(tokens),
            events: Events::default(),
            lenient: self.lenient,
            v2: Default::default(),
            origin: Default::default(),
        }
    }

    fn capture(&self, state: &AppState) -> PaywiseData {
        StoreData::capture(&state.store, &state.ids, &state.tokens)
    }

    fn restore(&self, state: &AppState, mut data: PaywiseData) {
        requeue(&mut data.db);
        data.restore(&state.store, &state.ids, &state.tokens);
    }

    fn encode(&self, data: &PaywiseData) -> serde_json::Result<Value> {
        data.encode()
    }

    fn decode(&self, value: Value) -> Result<PaywiseData, String> {
        StoreData::decode(value)
    }

    fn app(&self, state: &AppState, control: bool) -> Router {
        app_with(state.clone(), Options { control })
    }

    fn renderer(&self) -> Arc<dyn ErrorRenderer> {
        Arc::new(PaywiseRenderer)
    }

    fn clock<'a>(&self, state: &'a AppState) -> &'a Clock {
        &state.clock
    }

    fn revision(&self, state: &AppState) -> u64 {
        state.store.revision()
    }

    fn token(&self) -> &str {
        &self.token
    }

    fn next_due(&self, state: &AppState) -> Option<chrono::DateTime<chrono::Utc>> {
        state.store.read(crate::lifecycle::next_due)
    }

    fn run_due(&self, state: &AppState, at: chrono::DateTime<chrono::Utc>) -> Vec<mock_core::timeline::Moved> {
        crate::lifecycle::run_due(state, at)
    }

    fn start(&self, state: &AppState) {
        resources::webhooks::start_background(state);
        crate::v2::webhooks::start_background(state);
    }

    fn scenarios(&self) -> Vec<mock_core::scenario::Scenario> {
        crate::scenarios::all()
    }

    fn resources(&self, state: &AppState) -> Vec<Resource> {
        crate::browse::resources(state)
    }

    fn records(&self, state: &AppState, resource: &str, query: &PageQuery) -> Result<Page, BrowseError> {
        crate::browse::records(state, resource, query)
    }

    fn record(&self, state: &AppState, resource: &str, id: &str, origin: &str) -> Result<Browsed, BrowseError> {
        crate::browse::record(state, resource, id, origin)
    }

    fn webhooks(&self, state: &AppState, limit: usize) -> Option<Webhooks> {
        Some(crate::browse::webhooks(state, limit))
    }

    fn redeliver(&self, state: &AppState, id: &str) -> Result<axum::extract::Request, BrowseError> {
        crate::browse::redeliver(state, id)
    }
}

/// Deliveries a snapshot caught in flight belong to an attempt of the world it was taken of: in
/// the world it is loaded into they are pending again, so this world's dispatcher retries them.
fn requeue(db: &mut Db) {
    let stuck: Vec<_> = db
        .deliveries
        .iter_all()
        .filter(|d| d.in_flight)
        .map(|d| (d.scope, d.id.to_string()))
        .collect();
    for (scope, key) in stuck {
        db.deliveries.update(&scope, &key, |d| d.in_flight = false);
    }
}
