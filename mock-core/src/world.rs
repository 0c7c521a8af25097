//! Worlds: everything mutable of a mock in one value, and many of them side by side.
//!
//! A **world** is one complete, isolated copy of a vendor's state: its tables, token grants, id
//! counters and RNG position, clock, request journal and fault rules. A vendor crate says what its
//! state is by implementing [`Vendor`]; [`Worlds`] keeps the worlds of one mock by name, creates
//! them from a cached seeded template (a clone, not a regeneration), resets, snapshots, restores
//! and drops them, and caps their number. [`router`] is the mock's whole HTTP surface: the
//! control API under [`PREFIX`] (see [`crate::control`]) and every other request dispatched to the
//! world it names.
//!
//! A request names its world with the `X-Mock-World` header or with the base-URL prefix
//! `/_mock/w/{world}` (for SDKs that only take a base URL: `http://127.0.0.1:8180/_mock/w/ci-42`
//! then serves `/v1/...` of world `ci-42`). Without either it is served by the world `default`.
//! Under a prefix every absolute URL the mock writes keeps the prefix (the vendors build links on
//! [`crate::pagination::origin`], which appends it), and so do `Location` headers. With the
//! control API switched off there is one world and neither the header nor the prefix means
//! anything.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use axum::Router;
use axum::extract::{OriginalUri, Request, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderName, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::clock::{Clock, ClockState};
use crate::dashboard::{BrowseError, Browsed, Page, PageQuery, Resource, Webhooks};
use crate::error::{CoreError, ErrorRenderer};
use crate::faults::{Faults, RateLimit, Refused, RequestInfo};
use crate::journal::Journal;
use crate::scenario::{Scenario, ScenarioError};
use crate::timeline::{Moved, Rules};

/// The reserved path prefix of everything mock-only.
pub const PREFIX: &str = "/_mock";
/// The base-URL prefix that names a world: `/_mock/w/{world}/...`.
pub const WORLD_PREFIX: &str = "/_mock/w/";
/// The header that names a world.
pub const WORLD_HEADER: HeaderName = HeaderName::from_static("x-mock-world");
/// The header the dispatcher sets (and strips from clients) with the base-URL prefix a request
/// came through, so that links keep it; see [`crate::pagination::origin`].
pub const BASE_PATH_HEADER: HeaderName = HeaderName::from_static("x-mock-base-path");
/// The world a request without a name is served by.
pub const DEFAULT_WORLD: &str = "default";
/// The snapshot format's name and version: a file of another version is refused.
pub const SNAPSHOT_FORMAT: &str = "payt-paywise-mocks/world";
/// The version of [`SNAPSHOT_FORMAT`].
pub const SNAPSHOT_VERSION: u64 = 1;

/// What a seeded world is generated from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SeedSpec {
    /// The fixture seed.
    pub seed: u64,
    /// How many fixtures: 1 is the default data set, 0 only the tenants the tokens need, N times
    /// as many records per tenant.
    pub size: u32,
    /// The date the fixtures are placed around.
    pub anchor: NaiveDate,
    /// How many extra lean records a large world holds (0, the default, none: the fixtures are
    /// exactly those of `seed` and `size`). Each vendor says what `scale` N adds (Payt: N credit
    /// cases in administration 81, paywise: N claims in the fixture company's test mode, each
    /// with proportionate debtors, invoices and payments). Absent in older snapshots and state
    /// files, which then load as 0; written only when it is not 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub scale: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl SeedSpec {
    /// The spec of `seed`, `size` and `anchor` without extra records (scale 0).
    pub fn new(seed: u64, size: u32, anchor: NaiveDate) -> Self {
        Self {
            seed,
            size,
            anchor,
            scale: 0,
        }
    }
}

/// What a vendor crate tells the core about its state.
///
/// `State` is what the vendor's handlers share (its `AppState`: handles to the tables, ids,
/// tokens and clock of one world); `Data` is the same as plain data. Cloning `Data` is a snapshot,
/// [`Vendor::restore`] puts one back in place (so handles held elsewhere see it).
pub trait Vendor: Send + Sync + 'static {
    /// The vendor's name in the control API and the state file (`payt`, `paywise`).
    const NAME: &'static str;
    /// One world's live state, as the vendor's handlers share it; cheap to clone.
    type State: Clone + Send + Sync + 'static;
    /// One world's state as plain data (without its clock, which the core keeps).
    type Data: Clone + Send + Sync + 'static;

    /// The seeded start state for `spec`.
    fn generate(&self, spec: &SeedSpec) -> Self::Data;
    /// A live world holding `data`, on `clock`.
    fn open(&self, data: Self::Data, clock: Clock) -> Self::State;
    /// A copy of the world's data.
    fn capture(&self, state: &Self::State) -> Self::Data;
    /// Replaces the world's data with `data`, in place.
    fn restore(&self, state: &Self::State, data: Self::Data);
    /// `data` as JSON, in its storage form (see [`crate::snapshot`]).
    fn encode(&self, data: &Self::Data) -> serde_json::Result<Value>;
    /// Data from what [`Vendor::encode`] wrote; the message says what is wrong.
    fn decode(&self, value: Value) -> Result<Self::Data, String>;
    /// The vendor's API (with its middleware stack) serving one world; `control` says whether
    /// the vendor's own mock-only routes (a back office) are served too.
    fn app(&self, state: &Self::State, control: bool) -> Router;
    /// Renders core failures in the vendor's error shape.
    fn renderer(&self) -> Arc<dyn ErrorRenderer>;
    /// The world's clock.
    fn clock<'a>(&self, state: &'a Self::State) -> &'a Clock;
    /// A number that moves with every write to the world's data (for saving the state file).
    fn revision(&self, state: &Self::State) -> u64;
    /// The bearer token a client uses unless told otherwise.
    fn token(&self) -> &str;
    /// Starts what runs in the background for one world (paywise's webhook dispatcher); it must
    /// end once every clone of `state` is dropped.
    fn start(&self, _state: &Self::State) {}
    /// The vendor's documented rate limit, if it has one the mock can emulate.
    fn rate_limit(&self) -> Option<RateLimit> {
        None
    }
    /// The earliest moment at which one of the world's time-driven rules is due (past or
    /// future), or `None` if none will ever be without a change through the API.
    fn next_due(&self, _state: &Self::State) -> Option<DateTime<Utc>> {
        None
    }
    /// Runs every time-driven rule due at or before `at`, stamping each change `at` (the world's
    /// clock reads `at` meanwhile), and says what moved. It must make progress: after it, nothing
    /// it could do at `at` is still due.
    fn run_due(&self, _state: &Self::State, _at: DateTime<Utc>) -> Vec<Moved> {
        Vec::new()
    }
    /// The vendor's named scenarios (see [`crate::scenario`]).
    fn scenarios(&self) -> Vec<Scenario> {
        Vec::new()
    }
    /// The resources the state browser lists (`GET /_mock/state`), with their counts; none by
    /// default (see [`crate::dashboard`]).
    fn resources(&self, _state: &Self::State) -> Vec<Resource> {
        Vec::new()
    }
    /// A page of `resource`'s records (`GET /_mock/state/{resource}`), searched by `query.q` if
    /// given; the reads must be bounded (a page, key lookups, or a scan of at most
    /// [`crate::dashboard::SCAN_LIMIT`] records).
    fn records(&self, _state: &Self::State, resource: &str, _query: &PageQuery) -> Result<Page, BrowseError> {
        Err(BrowseError::UnknownResource(resource.to_string()))
    }
    /// One record of `resource` with its relations (`GET /_mock/state/{resource}/{id}`); the
    /// core adds its history.
    fn record(&self, _state: &Self::State, resource: &str, _id: &str, _origin: &str) -> Result<Browsed, BrowseError> {
        Err(BrowseError::UnknownResource(resource.to_string()))
    }
    /// The world's webhook subscriptions and its newest `limit` deliveries (`GET /_mock/webhooks`),
    /// or `None` if the vendor has no webhooks.
    fn webhooks(&self, _state: &Self::State, _limit: usize) -> Option<Webhooks> {
        None
    }
    /// The request to the vendor's own app that queues delivery `id` again
    /// (`POST /_mock/webhooks/deliveries/{id}/redeliver`): the core serves it on the world's app
    /// without journaling it. `Err` when there is no such delivery or it cannot be redelivered.
    fn redeliver(&self, _state: &Self::State, id: &str) -> Result<Request, BrowseError> {
        Err(BrowseError::NotFound(format!(
            "no webhook delivery {id:?} in this world"
        )))
    }
}

/// How a mock's worlds are made and bounded.
#[derive(Debug, Clone)]
pub struct Config {
    /// What a world is generated from unless a request says otherwise.
    pub spec: SeedSpec,
    /// How many worlds may exist at once (the default world included).
    pub max_worlds: usize,
    /// How many entries each world's journal keeps.
    pub journal_capacity: usize,
    /// How many bytes of each request and response body the journal keeps.
    pub journal_body_limit: usize,
    /// The seed of the fault rules' random draws.
    pub fault_seed: u64,
    /// Whether the control API, the journal, fault rules and named worlds exist at all.
    pub control: bool,
    /// Whether worlds start with the vendor's rate limit emulated.
    pub rate_limit: bool,
    /// Whether time-driven rules also run in the background (once a second) in worlds whose
    /// clock runs; without it they run only when the control API moves a clock.
    pub background_rules: bool,
}

impl Config {
    /// Defaults around `spec`: 64 worlds, 1,000 journal entries of at most 64 KiB bodies each.
    pub fn new(spec: SeedSpec) -> Self {
        Self {
            spec,
            max_worlds: 64,
            journal_capacity: 1000,
            journal_body_limit: 64 * 1024,
            fault_seed: spec.seed,
            control: true,
            rate_limit: false,
            background_rules: false,
        }
    }
}

/// One world.
pub struct World<V: Vendor> {
    name: String,
    spec: Mutex<SeedSpec>,
    initial_clock: ClockState,
    state: V::State,
    app: Router,
    journal: Journal,
    faults: Faults,
    rate_limit: Limiter,
    created_at: DateTime<Utc>,
    rules: Rules,
}

impl<V: Vendor> World<V> {
    /// The world's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The world's live state (what the vendor's handlers see).
    pub fn state(&self) -> &V::State {
        &self.state
    }

    /// The world's request journal.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// The world's fault rules.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// What the world was (last) seeded from.
    pub fn spec(&self) -> SeedSpec {
        *self.spec.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The vendor's app serving this world, without the journal, faults or rate limit (what the
    /// control API uses to run a vendor request on the dashboard's behalf).
    pub(crate) fn app(&self) -> &Router {
        &self.app
    }

    /// The world's time-driven rules: up to when they ran, and what they moved.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Whether the vendor's rate limit is emulated in this world.
    pub fn rate_limited(&self) -> bool {
        self.rate_limit.is_on()
    }

    /// The world as the control API lists it.
    fn info(&self, vendor: &V) -> Value {
        let spec = self.spec();
        json!({
            "name": self.name,
            "seed": spec.seed,
            "size": spec.size,
            "scale": spec.scale,
            "anchor": spec.anchor,
            "created_at": crate::control::timestamp(self.created_at),
            "clock": crate::control::clock_json(vendor.clock(&self.state)),
            "journal_entries": self.journal.len(),
            "fault_rules": self.faults.list().len(),
            "rate_limit": self.rate_limited(),
            "revision": vendor.revision(&self.state),
        })
    }
}

/// Why a world could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorldError {
    /// The name is not a valid world name.
    #[error("invalid world name {0:?}: use 1 to 64 letters, digits, '.', '_' or '-' (e.g. X-Mock-World: ci-job-42)")]
    InvalidName(String),
    /// The cap is reached.
    #[error(
        "the mock holds its maximum of {0} worlds; drop some (DELETE /_mock/worlds/{{name}} or DELETE /_mock/worlds) or start it with a higher --max-worlds"
    )]
    Limit(usize),
    /// No world of that name exists.
    #[error("no world named {0:?}")]
    Unknown(String),
    /// A world of that name exists already.
    #[error("a world named {0:?} exists already; reset it (POST /_mock/worlds/{0}/reset) or drop it first")]
    Exists(String),
    /// A snapshot could not be loaded; nothing changed.
    #[error("{0}")]
    Snapshot(String),
}

impl WorldError {
    /// The status the control API answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            WorldError::InvalidName(_) => StatusCode::BAD_REQUEST,
            WorldError::Limit(_) => StatusCode::SERVICE_UNAVAILABLE,
            WorldError::Unknown(_) => StatusCode::NOT_FOUND,
            WorldError::Exists(_) => StatusCode::CONFLICT,
            WorldError::Snapshot(_) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    /// A short machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            WorldError::InvalidName(_) => "invalid_world",
            WorldError::Limit(_) => "world_limit",
            WorldError::Unknown(_) => "unknown_world",
            WorldError::Exists(_) => "world_exists",
            WorldError::Snapshot(_) => "invalid_snapshot",
        }
    }
}

/// Whether `name` may name a world.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The worlds of one mock.
pub struct Worlds<V: Vendor> {
    vendor: V,
    config: Config,
    /// The clock the default world runs on (a handle the embedding program may keep).
    default_clock: Clock,
    /// How new worlds' clocks start: as the default clock ran when the mock started.
    initial_clock: ClockState,
    templates: Mutex<Vec<(SeedSpec, Arc<V::Data>)>>,
    worlds: RwLock<BTreeMap<String, Arc<World<V>>>>,
    /// The vendor's error renderer, made once (every refused request uses it).
    renderer: Arc<dyn ErrorRenderer>,
    /// Moves with every change the control API makes (worlds made, dropped, reset, restored,
    /// clocks set), so that the state file knows to save.
    changes: AtomicU64,
}

/// How many seeded templates are kept (a reset with a new seed or size adds one).
const TEMPLATES: usize = 8;

impl<V: Vendor> Worlds<V> {
    /// The worlds of `vendor`, the default one on `clock`, made at once.
    pub fn new(vendor: V, config: Config, clock: Clock) -> Arc<Self> {
        let initial_clock = clock.state();
        let worlds = Arc::new(Self {
            renderer: vendor.renderer(),
            vendor,
            config,
            default_clock: clock,
            initial_clock,
            templates: Mutex::new(Vec::new()),
            worlds: RwLock::new(BTreeMap::new()),
            changes: AtomicU64::new(0),
        });
        let default = worlds.make(DEFAULT_WORLD, worlds.config.spec);
        worlds.insert(default);
        if worlds.config.background_rules {
            worlds.start_background_rules();
        }
        worlds
    }

    /// Once a second, runs the rules that came due in every world whose clock runs (needs a
    /// tokio runtime; without one rules run only when a clock is moved). Ends with the worlds.
    fn start_background_rules(self: &Arc<Self>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("no tokio runtime: time-driven rules run only when a clock is moved");
            return;
        };
        let weak = Arc::downgrade(self);
        runtime.spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(worlds) = weak.upgrade() else { break };
                worlds.run_background_rules();
            }
        });
    }

    /// One pass of the background rules: in every world whose clock runs, the rules due by now.
    /// A frozen clock stops them all. Returns how many changes were made.
    pub fn run_background_rules(&self) -> usize {
        let mut moved = 0;
        for world in self.all() {
            let clock = self.vendor.clock(&world.state);
            if !clock.is_frozen() {
                let run = world.rules.run_until_now(
                    clock,
                    || self.vendor.next_due(&world.state),
                    |at| self.vendor.run_due(&world.state, at),
                );
                if !run.is_empty() {
                    self.changed();
                }
                moved += run.len();
            }
        }
        moved
    }

    /// Loads scenario `name` into `world`: reseeds it without fixtures (size 0), moves its clock
    /// back by the scenario's span, runs the scenario's API calls and clock advances, then the
    /// rules up to the time the load began. Returns what the rules moved. On an error the world
    /// holds what the scenario made up to the failing step.
    pub async fn load_scenario(&self, world: &World<V>, name: &str) -> Result<Vec<Moved>, ScenarioError> {
        let scenarios = self.vendor.scenarios();
        let Some(scenario) = scenarios.iter().find(|s| s.name == name) else {
            let names: Vec<&str> = scenarios.iter().map(|s| s.name).collect();
            return Err(ScenarioError::Unknown(if names.is_empty() {
                format!("the {} mock has no scenarios", V::NAME)
            } else {
                format!(
                    "no scenario {name:?} in the {} mock; one of: {}",
                    V::NAME,
                    names.join(", ")
                )
            }));
        };
        let clock = self.vendor.clock(&world.state).clone();
        let (target, how) = (clock.now(), clock.state());
        let mut spec = world.spec();
        spec.size = 0;
        spec.scale = 0;
        self.reset(world, Some(spec));
        // The reset put the clock back to the world's start; the scenario ends where it was.
        clock.restore(how);
        let start = target - scenario.span;
        clock.move_to(start);
        world.rules.restart(start);
        let mut timeline = Vec::new();
        crate::scenario::run(scenario, &world.app, self.vendor.token(), &clock, |by| {
            let until = clock.now() + by;
            timeline.extend(self.run_rules(world, until));
        })
        .await
        .map_err(ScenarioError::Failed)?;
        timeline.extend(self.run_rules(world, target));
        self.changed();
        Ok(timeline)
    }

    /// Runs `world`'s time-driven rules up to `until`, each at its own moment, and leaves its
    /// clock reading `until` (frozen or running as it was). Returns what moved, in order.
    pub fn run_rules(&self, world: &World<V>, until: DateTime<Utc>) -> Vec<Moved> {
        let clock = self.vendor.clock(&world.state);
        let moved = world.rules.run_until(
            clock,
            until,
            || self.vendor.next_due(&world.state),
            |at| self.vendor.run_due(&world.state, at),
        );
        if !moved.is_empty() {
            self.changed();
        }
        moved
    }

    /// The vendor.
    pub fn vendor(&self) -> &V {
        &self.vendor
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The seeded template for `spec`, generated once and then cloned.
    fn template(&self, spec: SeedSpec) -> Arc<V::Data> {
        {
            let cache = self.templates.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((_, t)) = cache.iter().find(|(s, _)| *s == spec) {
                return t.clone();
            }
        }
        let t = Arc::new(self.vendor.generate(&spec));
        let mut cache = self.templates.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= TEMPLATES {
            cache.remove(0);
        }
        cache.push((spec, t.clone()));
        t
    }

    fn make(&self, name: &str, spec: SeedSpec) -> Arc<World<V>> {
        let data = (*self.template(spec)).clone();
        let clock = if name == DEFAULT_WORLD {
            self.default_clock.clone()
        } else {
            Clock::from_state(self.initial_clock)
        };
        let created_at = clock.now();
        let state = self.vendor.open(data, clock);
        self.vendor.start(&state);
        let app = self.vendor.app(&state, self.config.control);
        let rate_limit = if self.config.rate_limit {
            self.vendor.rate_limit()
        } else {
            None
        };
        Arc::new(World {
            name: name.to_string(),
            spec: Mutex::new(spec),
            initial_clock: self.initial_clock,
            state,
            app,
            journal: Journal::new(self.config.journal_capacity, self.config.journal_body_limit),
            faults: Faults::new(self.config.fault_seed),
            rate_limit: Limiter::new(rate_limit),
            created_at,
            rules: Rules::new(created_at),
        })
    }

    fn insert(&self, world: Arc<World<V>>) {
        self.worlds
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(world.name.clone(), world);
        self.changed();
    }

    fn changed(&self) {
        self.changes.fetch_add(1, Ordering::Relaxed);
    }

    /// The world named `name`, if it exists.
    pub fn get(&self, name: &str) -> Option<Arc<World<V>>> {
        self.worlds
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// The default world (made again if it was dropped).
    pub fn default_world(&self) -> Arc<World<V>> {
        match self.get_or_create(DEFAULT_WORLD) {
            Ok(w) => w,
            // The default world is never refused: the cap counts it, but it is made even at
            // the cap, since every request without a name needs it.
            Err(_) => {
                let w = self.make(DEFAULT_WORLD, self.config.spec);
                self.insert(w.clone());
                w
            }
        }
    }

    /// The world named `name`, made from the default seed on first use.
    pub fn get_or_create(&self, name: &str) -> Result<Arc<World<V>>, WorldError> {
        if let Some(w) = self.get(name) {
            return Ok(w);
        }
        self.create(name, None).or_else(|e| match e {
            // Another request made it in the meantime.
            WorldError::Exists(_) => self.get(name).ok_or(WorldError::Unknown(name.into())),
            e => Err(e),
        })
    }

    /// Makes the world `name` from `spec` (the default seed unless given); refused if it exists,
    /// if the name is invalid or if the cap is reached.
    pub fn create(&self, name: &str, spec: Option<SeedSpec>) -> Result<Arc<World<V>>, WorldError> {
        if !valid_name(name) {
            return Err(WorldError::InvalidName(name.into()));
        }
        if self.get(name).is_some() {
            return Err(WorldError::Exists(name.into()));
        }
        // Generate outside the lock (a template may take a moment the first time).
        let world = self.make(name, spec.unwrap_or(self.config.spec));
        let mut worlds = self.worlds.write().unwrap_or_else(PoisonError::into_inner);
        if worlds.contains_key(name) {
            return Err(WorldError::Exists(name.into()));
        }
        if worlds.len() >= self.config.max_worlds && name != DEFAULT_WORLD {
            return Err(WorldError::Limit(self.config.max_worlds));
        }
        worlds.insert(name.to_string(), world.clone());
        drop(worlds);
        self.changed();
        Ok(world)
    }

    /// The names of every world, sorted.
    pub fn names(&self) -> Vec<String> {
        self.worlds
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect()
    }

    /// Every world.
    pub fn all(&self) -> Vec<Arc<World<V>>> {
        self.worlds
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    /// Drops the world `name`; its data, journal and faults are gone. The default world is made
    /// afresh on its next use.
    pub fn drop_world(&self, name: &str) -> Result<(), WorldError> {
        let gone = self.worlds.write().unwrap_or_else(PoisonError::into_inner).remove(name);
        match gone {
            Some(_) => {
                self.changed();
                Ok(())
            }
            None => Err(WorldError::Unknown(name.into())),
        }
    }

    /// Drops every world.
    pub fn drop_all(&self) {
        self.worlds.write().unwrap_or_else(PoisonError::into_inner).clear();
        self.changed();
    }

    /// Puts `world` back to its seeded start (with `spec` instead, if given): data, ids, tokens,
    /// clock, an empty journal, no fault rules and the rate limit as the mock started.
    pub fn reset(&self, world: &World<V>, spec: Option<SeedSpec>) {
        let spec = spec.unwrap_or_else(|| world.spec());
        let data = (*self.template(spec)).clone();
        self.vendor.restore(&world.state, data);
        self.vendor.clock(&world.state).restore(world.initial_clock);
        world.rules.restart(self.vendor.clock(&world.state).now());
        *world.spec.lock().unwrap_or_else(PoisonError::into_inner) = spec;
        world.journal.clear();
        world.faults.reset(self.config.fault_seed);
        world.rate_limit.set(if self.config.rate_limit {
            self.vendor.rate_limit()
        } else {
            None
        });
        self.changed();
    }

    /// Switches the emulated rate limit of `world` on or off; false if the vendor has none.
    pub fn set_rate_limit(&self, world: &World<V>, on: bool) -> bool {
        let limit = if on { self.vendor.rate_limit() } else { None };
        if on && limit.is_none() {
            return false;
        }
        world.rate_limit.set(limit);
        true
    }

    /// Notes a change the control API made to a world outside its data (a clock set).
    pub fn touch(&self) {
        self.changed();
    }

    /// `world` as a snapshot: the JSON that [`Self::restore`] loads again exactly.
    pub fn snapshot(&self, world: &World<V>) -> serde_json::Result<Value> {
        let data = self.vendor.capture(&world.state);
        Ok(json!({
            "format": SNAPSHOT_FORMAT,
            "version": SNAPSHOT_VERSION,
            "vendor": V::NAME,
            "world": world.name,
            "seed": world.spec(),
            "clock": self.vendor.clock(&world.state).state(),
            "data": self.vendor.encode(&data)?,
        }))
    }

    /// Replaces `world`'s data and clock with `snapshot`'s; on any error nothing changes.
    pub fn restore(&self, world: &World<V>, snapshot: Value) -> Result<(), WorldError> {
        let (spec, clock, data) = self.parse_snapshot(snapshot)?;
        self.vendor.restore(&world.state, data);
        self.vendor.clock(&world.state).restore(clock);
        world.rules.restart(self.vendor.clock(&world.state).now());
        *world.spec.lock().unwrap_or_else(PoisonError::into_inner) = spec;
        self.changed();
        Ok(())
    }

    fn parse_snapshot(&self, snapshot: Value) -> Result<(SeedSpec, ClockState, V::Data), WorldError> {
        let bad = |m: String| WorldError::Snapshot(m);
        let Value::Object(mut o) = snapshot else {
            return Err(bad("a snapshot is a JSON object; this is not one".into()));
        };
        match o.get("format").and_then(Value::as_str) {
            Some(SNAPSHOT_FORMAT) => {}
            Some(other) => return Err(bad(format!("format is {other:?}, not {SNAPSHOT_FORMAT:?}"))),
            None => {
                return Err(bad(format!(
                    "format is missing: a snapshot has \"format\": \"{SNAPSHOT_FORMAT}\""
                )));
            }
        }
        match o.get("version").and_then(Value::as_u64) {
            Some(SNAPSHOT_VERSION) => {}
            Some(v) => {
                return Err(bad(format!(
                    "version {v} is not supported: this mock reads version {SNAPSHOT_VERSION}"
                )));
            }
            None => return Err(bad("version is missing or not a number".into())),
        }
        match o.get("vendor").and_then(Value::as_str) {
            Some(v) if v == V::NAME => {}
            Some(v) => {
                return Err(bad(format!(
                    "this is a snapshot of the {v} mock; the {} mock cannot load it",
                    V::NAME
                )));
            }
            None => return Err(bad("vendor is missing".into())),
        }
        let spec: SeedSpec =
            serde_json::from_value(o.remove("seed").unwrap_or(Value::Null)).map_err(|e| bad(format!("seed: {e}")))?;
        let clock: ClockState =
            serde_json::from_value(o.remove("clock").unwrap_or(Value::Null)).map_err(|e| bad(format!("clock: {e}")))?;
        let data = o.remove("data").ok_or_else(|| bad("data is missing".into()))?;
        let data = self.vendor.decode(data).map_err(|e| bad(format!("data: {e}")))?;
        Ok((spec, clock, data))
    }

    /// Makes (or replaces) the world named in `snapshot`'s `world` member, or `name`, from it.
    pub fn load(&self, name: &str, snapshot: Value) -> Result<Arc<World<V>>, WorldError> {
        let (spec, clock, data) = self.parse_snapshot(snapshot)?;
        let world = match self.get(name) {
            Some(w) => w,
            None => self.create(name, Some(spec))?,
        };
        self.vendor.restore(&world.state, data);
        self.vendor.clock(&world.state).restore(clock);
        world.rules.restart(self.vendor.clock(&world.state).now());
        *world.spec.lock().unwrap_or_else(PoisonError::into_inner) = spec;
        self.changed();
        Ok(world)
    }

    /// A number that moves with every change to any world (data writes and control changes).
    pub fn revision(&self) -> u64 {
        let data: u64 = self
            .all()
            .iter()
            .map(|w| self.vendor.revision(&w.state))
            .fold(0u64, u64::wrapping_add);
        data.wrapping_add(self.changes.load(Ordering::Relaxed))
    }

    /// Every world's snapshot, by name: what the state file holds for this mock.
    pub fn export(&self) -> serde_json::Result<Value> {
        let mut worlds = serde_json::Map::new();
        for w in self.all() {
            worlds.insert(w.name.clone(), self.snapshot(&w)?);
        }
        Ok(json!({ "worlds": worlds }))
    }

    /// Loads what [`Self::export`] wrote: every world in it is made or replaced. All snapshots are
    /// checked before any world changes.
    pub fn import(&self, value: Value) -> Result<(), WorldError> {
        let bad = |m: String| WorldError::Snapshot(m);
        let Some(worlds) = value.get("worlds").and_then(Value::as_object) else {
            return Err(bad(format!("the {} part has no \"worlds\" object", V::NAME)));
        };
        let mut parsed = Vec::new();
        for (name, snap) in worlds {
            if !valid_name(name) {
                return Err(WorldError::InvalidName(name.clone()));
            }
            let p = self
                .parse_snapshot(snap.clone())
                .map_err(|e| bad(format!("world {name:?}: {e}")))?;
            parsed.push((name.clone(), p));
        }
        if parsed.len() > self.config.max_worlds {
            return Err(WorldError::Limit(self.config.max_worlds));
        }
        for (name, (spec, clock, data)) in parsed {
            let world = match self.get(&name) {
                Some(w) => w,
                None => self.create(&name, Some(spec))?,
            };
            self.vendor.restore(&world.state, data);
            self.vendor.clock(&world.state).restore(clock);
            *world.spec.lock().unwrap_or_else(PoisonError::into_inner) = spec;
        }
        self.changed();
        Ok(())
    }

    /// The list the control API answers `GET /_mock/worlds` with.
    pub fn list_json(&self) -> Value {
        let worlds: Vec<Value> = self.all().iter().map(|w| w.info(&self.vendor)).collect();
        json!({
            "vendor": V::NAME,
            "max_worlds": self.config.max_worlds,
            "worlds": worlds,
        })
    }

    /// One world as the control API shows it.
    pub fn info_json(&self, world: &World<V>) -> Value {
        world.info(&self.vendor)
    }
}

/// The world a request names, put into its extensions by [`router`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// The world's name.
    pub name: String,
    /// The base-URL prefix it came through (`/_mock/w/{name}`), if any.
    pub base: Option<String>,
}

/// The mock's HTTP surface for `worlds`: with the control API, its routes under [`PREFIX`] and
/// every other request served by the world it names (journaled, faults applied); without it,
/// the default world's API alone.
pub fn router<V: Vendor>(worlds: Arc<Worlds<V>>) -> Router {
    if !worlds.config.control {
        return worlds.default_world().app.clone();
    }
    let inner = crate::control::routes::<V>()
        .fallback(dispatch::<V>)
        .with_state(worlds.clone());
    Router::new()
        .fallback_service(inner)
        .layer(axum::middleware::from_fn_with_state(worlds, name_world::<V>))
}

/// Reads the world a request names (prefix or header), strips the prefix, and rewrites
/// `Location` headers of the answer to keep it.
async fn name_world<V: Vendor>(State(worlds): State<Arc<Worlds<V>>>, mut req: Request, next: Next) -> Response {
    let renderer = worlds.renderer.clone();
    let uri = req.uri().clone();
    // A refusal is in the control API's shape for its routes, in the vendor's for everything else
    // (the vendor's API and its own mock-only routes such as `/_mock/paywise/`).
    let control_route = {
        let path = req.uri().path();
        let path = path
            .strip_prefix(WORLD_PREFIX)
            .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
            .unwrap_or(path);
        let vendor_route = path
            .strip_prefix("/_mock/")
            .and_then(|rest| rest.strip_prefix(V::NAME))
            .is_some_and(|rest| rest.starts_with('/'));
        (path == PREFIX || path.starts_with("/_mock/")) && !vendor_route
    };
    let refuse = |status: StatusCode, code: &'static str, message: String| {
        if control_route {
            crate::control::error(status, code, message)
        } else {
            renderer.render_at(uri.path(), &CoreError::Mock { status, code, message })
        }
    };
    req.headers_mut().remove(BASE_PATH_HEADER);
    let from_header = match req.headers().get(WORLD_HEADER).map(|v| v.to_str()) {
        None => None,
        Some(Ok(v)) => Some(v.trim().to_string()),
        Some(Err(_)) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "invalid_world",
                WorldError::InvalidName("(not ASCII)".into()).to_string(),
            );
        }
    };
    // Copied only when it names a world (the request's URI is rewritten below).
    let prefixed = req
        .uri()
        .path()
        .starts_with(WORLD_PREFIX)
        .then(|| req.uri().path().to_string());
    let mut base = None;
    let mut name = from_header.clone();
    if let Some(rest) = prefixed.as_deref().and_then(|p| p.strip_prefix(WORLD_PREFIX)) {
        let (world, tail) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if let Some(h) = &from_header
            && h != world
        {
            return refuse(
                StatusCode::BAD_REQUEST,
                "invalid_world",
                format!("the path names world {world:?} but X-Mock-World names {h:?}; name one world"),
            );
        }
        let prefix = format!("{WORLD_PREFIX}{world}");
        let target = match req.uri().query() {
            Some(q) => format!("{tail}?{q}"),
            None => tail.to_string(),
        };
        match target.parse::<Uri>() {
            Ok(uri) => {
                // The outer router noted the URI as sent (with the prefix) as the `OriginalUri`
                // that handlers of nested routers read for links and path checks; the world's app
                // must see the request as if it came without the prefix, which `origin` adds back.
                req.extensions_mut().insert(OriginalUri(uri.clone()));
                *req.uri_mut() = uri;
            }
            Err(_) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "invalid_world",
                    format!("cannot read the path after {prefix}"),
                );
            }
        }
        name = Some(world.to_string());
        base = Some(prefix);
    }
    let name = name.unwrap_or_else(|| DEFAULT_WORLD.to_string());
    if !valid_name(&name) {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid_world",
            WorldError::InvalidName(name).to_string(),
        );
    }
    if let Some(b) = &base
        && let Ok(v) = HeaderValue::from_str(b)
    {
        req.headers_mut().insert(BASE_PATH_HEADER, v);
    }
    req.extensions_mut().insert(Named {
        name,
        base: base.clone(),
    });
    // Every route of the control API is under `/_mock/`; a vendor request goes straight to its
    // world rather than through the control API's router first.
    let mut res = if control_route {
        next.run(req).await
    } else {
        dispatch::<V>(State(worlds), req).await
    };
    if let Some(b) = base
        && let Some(loc) = res.headers().get(LOCATION).and_then(|v| v.to_str().ok())
        && loc.starts_with('/')
        && !loc.starts_with("//")
        && let Ok(v) = HeaderValue::from_str(&format!("{b}{loc}"))
    {
        res.headers_mut().insert(LOCATION, v);
    }
    res
}

/// A world's emulated rate limit, if it has one switched on. Every request asks it; the flag
/// answers for a world without one (the usual case) without taking the lock.
struct Limiter {
    on: AtomicBool,
    limit: Mutex<Option<RateLimit>>,
}

impl Limiter {
    fn new(limit: Option<RateLimit>) -> Self {
        Self {
            on: AtomicBool::new(limit.is_some()),
            limit: Mutex::new(limit),
        }
    }

    fn is_on(&self) -> bool {
        self.on.load(Ordering::Acquire)
    }

    fn set(&self, limit: Option<RateLimit>) {
        let mut held = self.limit.lock().unwrap_or_else(PoisonError::into_inner);
        self.on.store(limit.is_some(), Ordering::Release);
        *held = limit;
    }

    /// The limit's verdict on `info` now (`None`: no limit).
    fn check(&self, info: &RequestInfo<'_>, clock: &Clock) -> Option<Result<(), Refused>> {
        if !self.is_on() {
            return None;
        }
        self.limit
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|limit| limit.check(info, clock.now()))
    }
}

/// Serves a vendor request in the world it names: journal, rate limit, faults, then the API.
async fn dispatch<V: Vendor>(State(worlds): State<Arc<Worlds<V>>>, mut req: Request) -> Response {
    let name = req
        .extensions()
        .get::<Named>()
        .map_or_else(|| DEFAULT_WORLD.to_string(), |n| n.name.clone());
    let renderer = worlds.renderer.clone();
    let world = match worlds.get_or_create(&name) {
        Ok(w) => w,
        Err(e) => {
            return renderer.render_at(
                req.uri().path(),
                &CoreError::Mock {
                    status: e.status(),
                    code: e.code(),
                    message: e.to_string(),
                },
            );
        }
    };
    let clock = worlds.vendor.clock(&world.state).clone();
    let pending = world.journal.begin(&mut req, clock.now(), &world.name);
    let (res, fault) = {
        let (parts, body) = req.into_parts();
        let info = RequestInfo::from_parts(&parts);
        let limited = world.rate_limit.check(&info, &clock);
        let fired = match limited {
            Some(Err(_)) => None,
            _ => world.faults.decide(&info),
        };
        let req = Request::from_parts(parts, body);
        let path_for_faults = if fired.is_some() {
            req.uri().path().to_string()
        } else {
            String::new()
        };
        if let Some(Err(refused)) = limited {
            let at = crate::error::AtPath {
                renderer: renderer.clone(),
                path: req.uri().path().to_string(),
            };
            (refused.response(&at), Some("rate_limit".to_string()))
        } else {
            let app = world.app.clone();
            let serve = async move {
                match app.oneshot(req).await {
                    Ok(res) => res,
                    Err(never) => match never {},
                }
            };
            match fired {
                Some(fired) => {
                    let id = fired.rule.clone();
                    let at = crate::error::AtPath {
                        renderer: renderer.clone(),
                        path: path_for_faults,
                    };
                    (crate::faults::apply(&fired, &at, serve).await, Some(id))
                }
                None => (serve.await, None),
            }
        }
    };
    pending.finish(res, fault).await
}

/// Renders a [`WorldError`] for the control API.
impl IntoResponse for WorldError {
    fn into_response(self) -> Response {
        crate::control::error(self.status(), self.code(), self.to_string())
    }
}

/// The templates' sizes, for tests: how many seeded templates are cached.
#[doc(hidden)]
pub fn template_count<V: Vendor>(worlds: &Worlds<V>) -> usize {
    worlds.templates.lock().unwrap_or_else(PoisonError::into_inner).len()
}

/// The plain data of a vendor whose world is a [`crate::Store`] of tables `D`, an
/// [`crate::IdGen`] and a [`crate::auth::TokenRegistry`] of grants `G` (both vendors are): the
/// `Data` of their [`Vendor`] impls, with what capturing, restoring and (de)coding it takes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoreData<D, G> {
    /// Every table.
    pub db: D,
    /// Where the id generator stands.
    pub ids: crate::ids::IdState,
    /// Every token and its grant.
    pub tokens: BTreeMap<String, G>,
}

impl<D: Clone, G: Clone> StoreData<D, G> {
    /// A copy of the three, consistent with each other (taken under the store's lock).
    pub fn capture(store: &crate::Store<D>, ids: &crate::IdGen, tokens: &crate::auth::TokenRegistry<G>) -> Self {
        store.read(|db| Self {
            db: db.clone(),
            ids: ids.state(),
            tokens: tokens.entries(),
        })
    }

    /// Puts the data back into the three, in place (every handle to them sees it).
    pub fn restore(self, store: &crate::Store<D>, ids: &crate::IdGen, tokens: &crate::auth::TokenRegistry<G>) {
        store.write(|db| {
            *db = self.db;
            if let Err(e) = ids.restore(&self.ids) {
                tracing::error!("a checked id state did not load: {e}");
            }
            tokens.replace(self.tokens);
        });
    }

    /// The three made from the data.
    pub fn open(self) -> (crate::Store<D>, crate::IdGen, crate::auth::TokenRegistry<G>) {
        let next = self.ids.next;
        let ids = crate::IdGen::from_state(&self.ids).unwrap_or_else(|_| crate::IdGen::new(0, next));
        let tokens = crate::auth::TokenRegistry::new();
        tokens.replace(self.tokens);
        (crate::Store::new(self.db), ids, tokens)
    }
}

impl<D: Serialize, G: Serialize> StoreData<D, G> {
    /// The data in its storage form (see [`crate::snapshot`]).
    pub fn encode(&self) -> serde_json::Result<Value> {
        crate::snapshot::to_value(self)
    }
}

impl<D: serde::de::DeserializeOwned, G: serde::de::DeserializeOwned> StoreData<D, G> {
    /// Data from its storage form; the message names the path of what does not load
    /// (`db.debtors[3].name: missing field`).
    pub fn decode(value: Value) -> Result<Self, String> {
        let data: Self = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            format!("{path}: {}", e.into_inner())
        })?;
        crate::IdGen::from_state(&data.ids).map_err(|e| format!("ids: {e}"))?;
        Ok(data)
    }
}
