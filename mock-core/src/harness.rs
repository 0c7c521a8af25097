//! The Rust harness: start a mock in a test, drive its worlds, read what it received.
//!
//! [`MockServer<V>`] is one running mock of vendor `V` (the vendor crates name it:
//! `mock_payt::MockPayt`, `mock_paywise::MockPaywise`). [`Builder`] sets it up; the handle gives
//! the base URL, the default world's state, and the control plane: [`MockServer::reset`], named
//! worlds ([`MockServer::world`]), the journal ([`MockServer::received_requests`],
//! [`MockServer::verify`]), fault rules ([`MockServer::faults`]), snapshots
//! ([`MockServer::snapshot`], [`MockServer::restore`]) and the clock. Everything here is also
//! reachable over HTTP through the control API (see [`crate::control`]), which is what users in
//! other languages drive.
//!
//! The vendor crates carry runnable examples (Arrange, Act, Assert).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use chrono::NaiveDate;
use serde_json::Value;

use crate::clock::Clock;
use crate::faults::Faults;
use crate::journal::{Entry, Filter, Verification, Verify};
use crate::server::ServerHandle;
use crate::timeline::Moved;
use crate::world::{Config, DEFAULT_WORLD, SeedSpec, Vendor, WORLD_PREFIX, World, WorldError, Worlds};

/// Options of a [`MockServer`].
#[derive(Debug, Clone)]
pub struct Builder<V: Vendor> {
    vendor: V,
    seed: u64,
    size: u32,
    scale: u64,
    addr: SocketAddr,
    clock: Option<Clock>,
    anchor: Option<NaiveDate>,
    control: bool,
    max_worlds: Option<usize>,
    journal_capacity: Option<usize>,
    rate_limit: bool,
    background_rules: bool,
    limits: crate::serving::Limits,
}

impl<V: Vendor> Builder<V> {
    /// Options for `vendor` (its tokens and switches), seed `seed`, on a free port of 127.0.0.1.
    pub fn new(vendor: V, seed: u64) -> Self {
        Self {
            vendor,
            seed,
            size: 1,
            scale: 0,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            clock: None,
            anchor: None,
            control: true,
            max_worlds: None,
            journal_capacity: None,
            rate_limit: false,
            background_rules: false,
            limits: crate::serving::Limits::default(),
        }
    }

    /// The fixture seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The fixture size (1, the default, is the standard data set; 0 only the tenants).
    pub fn size(mut self, size: u32) -> Self {
        self.size = size;
        self
    }

    /// Extra lean records for a large world (0, the default, none; see
    /// [`SeedSpec::scale`]): the vendor's docs say what `n` adds.
    pub fn scale(mut self, n: u64) -> Self {
        self.scale = n;
        self
    }

    /// The address to bind (port 0, the default, picks a free port on 127.0.0.1).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// The default world's clock (the wall clock by default); other worlds start as it reads then.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Pins the date the fixtures are placed around (by default the clock's date at start).
    pub fn anchor_date(mut self, date: NaiveDate) -> Self {
        self.anchor = Some(date);
        self
    }

    /// Serve the control API, named worlds, the journal and fault rules (on by default); off makes
    /// the mock exactly the vendor's public API.
    pub fn control_api(mut self, on: bool) -> Self {
        self.control = on;
        self
    }

    /// How many worlds may exist at once (64 by default).
    pub fn max_worlds(mut self, n: usize) -> Self {
        self.max_worlds = Some(n);
        self
    }

    /// How many requests each world's journal keeps (1,000 by default).
    pub fn journal_capacity(mut self, n: usize) -> Self {
        self.journal_capacity = Some(n);
        self
    }

    /// Emulate the vendor's documented rate limit in every world from the start.
    pub fn rate_limit(mut self, on: bool) -> Self {
        self.rate_limit = on;
        self
    }

    /// Run the time-driven rules in the background (once a second) in worlds whose clock runs,
    /// as the binary does; off by default, so a test moves time (and the rules) explicitly.
    pub fn background_rules(mut self, on: bool) -> Self {
        self.background_rules = on;
        self
    }

    /// The server's limits and timeouts ([`crate::serving::Limits`]; the defaults unless told).
    pub fn limits(mut self, limits: crate::serving::Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Changes the vendor's own options (tokens, switches).
    pub fn configure(mut self, f: impl FnOnce(&mut V)) -> Self {
        f(&mut self.vendor);
        self
    }

    /// The worlds and the router the options describe, for a program that serves them itself.
    pub fn build(self) -> (Arc<Worlds<V>>, Router) {
        let clock = self.clock.unwrap_or_default();
        let anchor = self.anchor.unwrap_or_else(|| clock.today());
        let mut config = Config::new(SeedSpec {
            seed: self.seed,
            size: self.size,
            anchor,
            scale: self.scale,
        });
        config.control = self.control;
        config.rate_limit = self.rate_limit;
        config.background_rules = self.background_rules;
        if let Some(n) = self.max_worlds {
            config.max_worlds = n;
        }
        if let Some(n) = self.journal_capacity {
            config.journal_capacity = n;
        }
        let worlds = Worlds::new(self.vendor, config, clock);
        let router = crate::world::router(worlds.clone());
        (worlds, router)
    }

    /// Starts the server.
    pub async fn try_start(self) -> io::Result<MockServer<V>> {
        let addr = self.addr;
        let limits = self.limits.clone();
        let (worlds, router) = self.build();
        let options = crate::serving::ServeOptions::new(worlds.vendor().renderer()).limits(limits);
        let server = ServerHandle::start_with(addr, router, options).await?;
        Ok(MockServer { server, worlds })
    }

    /// Starts the server; panics if the address cannot be bound (use [`Self::try_start`] to handle
    /// that).
    pub async fn start(self) -> MockServer<V> {
        let addr = self.addr;
        match self.try_start().await {
            Ok(m) => m,
            Err(e) => panic!("cannot start the {} mock on {addr}: {e}", V::NAME),
        }
    }
}

/// A running mock. Dropping it stops the server.
pub struct MockServer<V: Vendor> {
    server: ServerHandle,
    worlds: Arc<Worlds<V>>,
}

/// The fixture seed unless told otherwise.
pub const DEFAULT_SEED: u64 = 42;

impl<V: Vendor + Default> MockServer<V> {
    /// Options, with the vendor's defaults, seed [`DEFAULT_SEED`] and the wall clock.
    pub fn builder() -> Builder<V> {
        Builder::new(V::default(), DEFAULT_SEED)
    }

    /// A mock with the default seed on a free port, on the wall clock.
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    /// Options, starting from what every test in this workspace runs on: the clock of
    /// [`crate::testing::clock`] (09:00 UTC on 2026-11-01, running on) and fixtures anchored at
    /// [`crate::testing::ANCHOR_DATE`], so no expectation depends on the day the test runs.
    pub fn test() -> Builder<V> {
        Self::builder()
            .clock(crate::testing::clock())
            .anchor_date(crate::testing::ANCHOR_DATE)
    }
}

impl<V: Vendor> MockServer<V> {
    /// The base URL, `http://127.0.0.1:port`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The bearer token to use.
    pub fn token(&self) -> &str {
        self.worlds.vendor().token()
    }

    /// The vendor's options.
    pub fn vendor(&self) -> &V {
        self.worlds.vendor()
    }

    /// Every world of the mock.
    pub fn worlds(&self) -> &Arc<Worlds<V>> {
        &self.worlds
    }

    /// The default world: what requests without `X-Mock-World` see.
    pub fn default_world(&self) -> WorldHandle<V> {
        WorldHandle {
            world: self.worlds.default_world(),
            worlds: self.worlds.clone(),
            base: self.uri(),
        }
    }

    /// The world `name`, made from the seed on first use; its [`WorldHandle::uri`] is the base URL
    /// that reaches it.
    pub fn world(&self, name: &str) -> Result<WorldHandle<V>, WorldError> {
        let world = self.worlds.get_or_create(name)?;
        Ok(WorldHandle {
            base: format!("{}{WORLD_PREFIX}{name}", self.uri()),
            world,
            worlds: self.worlds.clone(),
        })
    }

    /// The default world's live state, for tests that need to look inside (prefer the journal and
    /// the API).
    pub fn state(&self) -> V::State {
        self.default_world().world.state().clone()
    }

    /// The default world's clock.
    pub fn clock(&self) -> Clock {
        self.default_world().clock()
    }

    /// Advances the default world's clock by `by`, running the time-driven rules on the way.
    pub fn advance(&self, by: chrono::Duration) -> Vec<Moved> {
        self.default_world().advance(by)
    }

    /// Puts the default world back to its seeded start (data, clock, journal, fault rules).
    pub fn reset(&self) {
        self.default_world().reset();
    }

    /// What the default world received, oldest first.
    pub fn received_requests(&self) -> Vec<Entry> {
        self.default_world().received_requests()
    }

    /// Whether matching requests reached the default world as often as `verify` says.
    pub fn verify(&self, verify: &Verify) -> Result<Verification, String> {
        self.default_world().verify(verify)
    }

    /// The default world's fault rules.
    pub fn faults(&self) -> FaultsHandle<V> {
        FaultsHandle(self.worlds.default_world())
    }

    /// The default world as a snapshot.
    pub fn snapshot(&self) -> Value {
        self.default_world().snapshot()
    }

    /// Replaces the default world with `snapshot`.
    pub fn restore(&self, snapshot: Value) -> Result<(), WorldError> {
        self.default_world().restore(snapshot)
    }

    /// Stops the server and waits for open requests.
    pub async fn stop(self) -> io::Result<()> {
        self.server.stop().await
    }
}

/// One world of a running mock.
pub struct WorldHandle<V: Vendor> {
    worlds: Arc<Worlds<V>>,
    world: Arc<World<V>>,
    base: String,
}

impl<V: Vendor> WorldHandle<V> {
    /// The world's name.
    pub fn name(&self) -> &str {
        self.world.name()
    }

    /// The base URL that reaches this world (the `/_mock/w/{name}` prefix for named worlds).
    pub fn uri(&self) -> String {
        self.base.clone()
    }

    /// The world's live state.
    pub fn state(&self) -> &V::State {
        self.world.state()
    }

    /// The world's clock.
    pub fn clock(&self) -> Clock {
        self.worlds.vendor().clock(self.world.state()).clone()
    }

    /// Moves the world's clock forward by `by`, running every time-driven rule on the way at its
    /// own moment (as `POST /_mock/clock {"action": "advance"}` does); returns what moved.
    pub fn advance(&self, by: chrono::Duration) -> Vec<Moved> {
        let until = self.clock().now() + by;
        self.worlds.run_rules(&self.world, until)
    }

    /// Sets the world's clock to `at` (frozen or running as it was), running the rules due on
    /// the way; returns what moved.
    pub fn set_time(&self, at: chrono::DateTime<chrono::Utc>) -> Vec<Moved> {
        self.worlds.run_rules(&self.world, at)
    }

    /// Freezes the world's clock where it is: no rule runs until it is moved.
    pub fn freeze(&self) {
        let clock = self.clock();
        clock.set(clock.now());
    }

    /// What the world's time-driven rules moved so far (at most the last 10,000), oldest first.
    pub fn timeline(&self) -> Vec<Moved> {
        self.world.rules().log(crate::timeline::LOG_CAPACITY)
    }

    /// Back to the seeded start.
    pub fn reset(&self) {
        self.worlds.reset(&self.world, None);
    }

    /// Back to the start seeded from `spec` instead.
    pub fn reset_to(&self, spec: SeedSpec) {
        self.worlds.reset(&self.world, Some(spec));
    }

    /// What the world received, oldest first.
    pub fn received_requests(&self) -> Vec<Entry> {
        self.world.journal().list(&Filter::default()).unwrap_or_default()
    }

    /// Whether matching requests arrived as often as `verify` says.
    pub fn verify(&self, verify: &Verify) -> Result<Verification, String> {
        self.world.journal().verify(verify)
    }

    /// The world's fault rules.
    pub fn faults(&self) -> &Faults {
        self.world.faults()
    }

    /// The world as a snapshot.
    pub fn snapshot(&self) -> Value {
        match self.worlds.snapshot(&self.world) {
            Ok(v) => v,
            Err(e) => panic!("world {} cannot be written as JSON: {e}", self.world.name()),
        }
    }

    /// Replaces the world with `snapshot`; on error nothing changes.
    pub fn restore(&self, snapshot: Value) -> Result<(), WorldError> {
        self.worlds.restore(&self.world, snapshot)
    }

    /// Drops the world (a later use makes it afresh).
    pub fn drop_world(self) -> Result<(), WorldError> {
        if self.world.name() == DEFAULT_WORLD {
            self.reset();
            return Ok(());
        }
        self.worlds.drop_world(self.world.name())
    }
}

/// The fault rules of a world, held by the handle.
pub struct FaultsHandle<V: Vendor>(Arc<World<V>>);

impl<V: Vendor> std::ops::Deref for FaultsHandle<V> {
    type Target = Faults;
    fn deref(&self) -> &Faults {
        self.0.faults()
    }
}
