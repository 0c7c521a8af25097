//! The Payt mock as a [`mock_core::world::Vendor`]: what one world of it holds and how it is
//! seeded, snapshotted and served.
//!
//! A world's data is its [`Db`], the position of its id generator and its token grants; its clock
//! is kept by the core beside them. Snapshots hold the records in their storage form (see
//! [`mock_core::snapshot`]), hidden fields included.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use mock_core::dashboard::{BrowseError, Browsed, Page, PageQuery, Resource, Webhooks};
use mock_core::error::ErrorRenderer;
use mock_core::faults::RateLimit;
use mock_core::world::{SeedSpec, StoreData, Vendor};
use mock_core::{Clock, IdGen};
use serde_json::Value;

use crate::error::PaytRenderer;
use crate::state::{AppState, Db, Grant};
use crate::{DEFAULT_TOKEN, Options, READ_SCOPES, READONLY_TOKEN, seed};

/// The Payt mock's options: the token it grants and how it writes ids.
#[derive(Debug, Clone)]
pub struct Payt {
    /// The bearer token granted administrations 81 and 82 with every scope.
    pub token: String,
    /// How the app answers.
    pub options: Options,
    /// Webhook subscriptions every world starts with (`--payt-webhook`): URL and secret.
    pub webhooks: Vec<(String, String)>,
}

impl Default for Payt {
    fn default() -> Self {
        Self {
            token: DEFAULT_TOKEN.to_string(),
            options: Options::default(),
            webhooks: Vec::new(),
        }
    }
}

/// One Payt world as plain data: its tables, id generator position and token grants.
pub type PaytData = StoreData<Db, Grant>;

impl Payt {
    /// The grants of a freshly seeded world: the mock's token with every scope, and
    /// [`READONLY_TOKEN`] with the read scopes, both for the fixture administrations.
    fn grants(&self) -> BTreeMap<String, Grant> {
        let administrations = Some(seed::GRANTED_ADMINISTRATIONS.into_iter().collect());
        BTreeMap::from([
            (
                self.token.clone(),
                Grant {
                    administrations: administrations.clone(),
                    scopes: None,
                },
            ),
            (
                READONLY_TOKEN.to_string(),
                Grant {
                    administrations,
                    scopes: Some(READ_SCOPES.iter().map(|s| s.to_string()).collect()),
                },
            ),
        ])
    }
}

impl Vendor for Payt {
    const NAME: &'static str = "payt";
    type State = AppState;
    type Data = PaytData;

    fn generate(&self, spec: &SeedSpec) -> PaytData {
        let (mut db, mut last_id) = seed::generate_scaled(spec.seed, spec.anchor, spec.size, spec.scale);
        let at = spec.anchor.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        for (url, secret) in &self.webhooks {
            last_id += 1;
            if let Err(e) = db
                .webhooks
                .insert(crate::webhooks::configured(last_id, url, secret, at))
            {
                tracing::error!("cannot add the webhook subscription for {url}: {e}");
            }
        }
        PaytData {
            db,
            ids: IdGen::new(spec.seed, last_id + 1).state(),
            tokens: self.grants(),
        }
    }

    fn open(&self, data: PaytData, clock: Clock) -> AppState {
        let (store, ids, tokens) = data.open();
        AppState {
            store: Arc::new(store),
            clock,
            ids: Arc::new(ids),
            tokens: Arc::new(tokens),
        }
    }

    fn capture(&self, state: &AppState) -> PaytData {
        StoreData::capture(&state.store, &state.ids, &state.tokens)
    }

    fn restore(&self, state: &AppState, data: PaytData) {
        data.restore(&state.store, &state.ids, &state.tokens);
    }

    fn encode(&self, data: &PaytData) -> serde_json::Result<Value> {
        data.encode()
    }

    fn decode(&self, value: Value) -> Result<PaytData, String> {
        StoreData::decode(value)
    }

    fn app(&self, state: &AppState, control: bool) -> Router {
        crate::app_serving(state.clone(), self.options, control)
    }

    fn start(&self, state: &AppState) {
        crate::webhooks::start_background(state);
    }

    fn scenarios(&self) -> Vec<mock_core::scenario::Scenario> {
        crate::scenarios::all()
    }

    fn renderer(&self) -> Arc<dyn ErrorRenderer> {
        Arc::new(PaytRenderer)
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

    fn rate_limit(&self) -> Option<RateLimit> {
        Some(RateLimit::payt())
    }

    fn next_due(&self, state: &AppState) -> Option<chrono::DateTime<chrono::Utc>> {
        let now = state.clock.now();
        state.store.read(|db| crate::lifecycle::next_due(db, now))
    }

    fn run_due(&self, state: &AppState, at: chrono::DateTime<chrono::Utc>) -> Vec<mock_core::timeline::Moved> {
        crate::lifecycle::run_due(state, at)
    }

    fn resources(&self, state: &AppState) -> Vec<Resource> {
        crate::browse::resources(state)
    }

    fn records(&self, state: &AppState, resource: &str, query: &PageQuery) -> Result<Page, BrowseError> {
        crate::browse::records(state, resource, query)
    }

    fn record(&self, state: &AppState, resource: &str, id: &str, _origin: &str) -> Result<Browsed, BrowseError> {
        crate::browse::record(state, resource, id)
    }

    fn webhooks(&self, state: &AppState, limit: usize) -> Option<Webhooks> {
        Some(crate::browse::webhooks(state, limit))
    }

    fn redeliver(&self, state: &AppState, id: &str) -> Result<axum::extract::Request, BrowseError> {
        crate::browse::redeliver(state, id)
    }
}
