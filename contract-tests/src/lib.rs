//! Contract tests: HTTP-only checks that run unchanged against our mocks or the vendors.
//!
//! The target comes from the environment, so the same test functions prove the mock and the
//! vendor agree:
//!
//! | variable | meaning |
//! |---|---|
//! | `CONTRACT_TARGET` | `mock` (default) or `sandbox` |
//! | `PAYT_BASE_URL` | Payt base URL. With `mock`: a mock you started yourself (otherwise each test starts one on port 0). With `sandbox`: defaults to `https://demo-api.paytsoftware.com` |
//! | `PAYT_TOKEN` | Payt bearer token (required for `sandbox`; defaults to the mock's token) |
//! | `PAYT_ADMINISTRATION_ID` | the Payt administration to test in (required for `sandbox`; discovered from `GET /v1/administrations` otherwise) |
//! | `PAYWISE_BASE_URL` | paywise base URL (`sandbox` default: `https://api.paywise.de`) |
//! | `PAYWISE_TOKEN` | paywise test-mode token (required for `sandbox`) |
//! | `PAYWISE_PARTNER_TOKEN` | paywise partner key (optional for `sandbox`: without it the Partner API tests are skipped) |
//! | `PAYWISE_V2_BASE_URL` | paywise API v2 base URL (`sandbox` default: `https://api-sandbox.paywise.de`; with `mock`: a mock you started yourself, else `PAYWISE_BASE_URL`, else each test starts one) |
//! | `PAYWISE_V2_TOKEN` | a paywise v2 key of the sandbox environment (required for `sandbox`) |
//! | `PAYWISE_V2_PARTNER_TOKEN` | a paywise v2 Partner key of the sandbox (optional for `sandbox`: without it the v2 Partner tests are skipped) |
//! | `CONTRACT_ALLOW_PERMANENT_WRITES` | `1`: with `sandbox`, run the tests whose records no API call removes |
//! | `CONTRACT_DRIFT` | `fail` (default) or `report` (drift is journaled, not failed) |
//! | `CONTRACT_REPORT_DIR` | where the journal goes (see [`journal`]) |
//! | `CONTRACT_ALLOW_LOCAL_WRITES` | `1`: with `sandbox`, let the write tests run against a mock you started by hand on this machine (loopback) |
//! | `CONTRACT_ALLOW_PRODUCTION_READS` | `1`: with `sandbox`, let the read-only tests run against a production target (writes stay refused) |
//!
//! A missing setting fails the test with a message naming what to set; nothing is skipped
//! silently.
//!
//! **Safety.** Before any write, the suite checks that it talks to a test environment: for Payt
//! the demo host (`demo-api.paytsoftware.com`), for paywise a token whose `GET /v1/info/` says
//! `access_mode: test`. A loopback target counts only with `CONTRACT_ALLOW_LOCAL_WRITES=1`. Against
//! anything else the write builders ([`Conn::post`], [`Conn::patch`], [`Conn::delete`], ...) refuse
//! with a message, and even reads need `CONTRACT_ALLOW_PRODUCTION_READS=1`. Tests discover or create their own data through the public API and never rely on
//! fixture ids or mock-only endpoints. Everything they create carries [`REFERENCE_PREFIX`], and
//! what the API lets a client remove is removed when the test ends ([`Conn::cleanup_later`]).
//! Writes that leave something permanent behind on the vendor (creating administrations,
//! signing up companies) also need `CONTRACT_ALLOW_PERMANENT_WRITES=1` against a vendor; without
//! it those tests say they were skipped ([`Conn::permanent_writes`]).
//!
//! **Drift.** Every answer is checked against the vendor's contract ([`contract`]: Payt's
//! published spec; for paywise its own OpenAPI files for the 29 operations they cover and our
//! transcription, `contracts/paywise-openapi.json`, for the 20 they lack): a missing or
//! extra field, a type or format change or an undocumented success status fails the test at that
//! request (`CONTRACT_DRIFT=report` only records it). Every exchange and every test's outcome go
//! to a journal ([`journal`]) that `contract-report` (`contract-tests/report`) turns into
//! the drift report (terminal, JSON and JUnit XML). paywise's API v2 (`/v2/`, `/partner/v2/`) is
//! checked against `contracts/paywise-v2-openapi.json`, transcribed from paywise's Python SDK
//! ([`PaywiseV2`], [`PaywiseV2Partner`]).

use std::env;
use std::sync::Mutex;

use reqwest::Method;
use serde_json::Value;

pub mod contract;
pub mod journal;
mod recorder;
pub mod report;
pub mod v2;

pub use contract::Vendor;
pub use reqwest_middleware::{ClientWithMiddleware as Client, RequestBuilder};

use journal::TestGuard;

/// What every record a contract test creates is recognisable by.
pub const REFERENCE_PREFIX: &str = "contract-test-";

/// Where the suite runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Our mock (started per test, or already running at the base URL).
    Mock,
    /// The vendor's sandbox (or any real deployment).
    Sandbox,
}

/// The target named by `CONTRACT_TARGET`.
pub fn target() -> Target {
    match env::var("CONTRACT_TARGET").as_deref() {
        Err(_) | Ok("") | Ok("mock") => Target::Mock,
        Ok("sandbox") => Target::Sandbox,
        Ok(other) => panic!("CONTRACT_TARGET must be `mock` or `sandbox`, not {other:?}"),
    }
}

fn var(name: &str) -> Option<String> {
    env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn required(name: &str, what: &str) -> String {
    var(name).unwrap_or_else(|| {
        panic!("contract target `sandbox` needs {name} ({what}); set it, or run with CONTRACT_TARGET=mock")
    })
}

/// A unique reference for a record a test creates.
pub fn unique_reference(what: &str) -> String {
    // wall-clock-ok: only for uniqueness across runs against a vendor, never for an expectation.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{REFERENCE_PREFIX}{what}-{nanos:x}")
}

/// The Payt demo environment, the one place the write tests may run by default.
pub const PAYT_DEMO_HOST: &str = "demo-api.paytsoftware.com";

fn host_of(base: &str) -> String {
    reqwest::Url::parse(base)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default()
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.starts_with("127.") || host == "[::1]" || host == "::1"
}

fn flag(name: &str) -> bool {
    matches!(var(name).as_deref(), Some("1" | "true" | "yes"))
}

/// Whether the write tests may run against `base`, given what the target says it is
/// (`test_environment`): `Err` says why not and what to set.
fn write_policy(vendor: &str, base: &str, test_environment: bool) -> Result<(), String> {
    let host = host_of(base);
    if is_loopback(&host) {
        return if flag("CONTRACT_ALLOW_LOCAL_WRITES") {
            Ok(())
        } else {
            Err(format!(
                "refusing to write to {vendor} at {base}: a local target takes CONTRACT_ALLOW_LOCAL_WRITES=1 (or use CONTRACT_TARGET=mock)"
            ))
        };
    }
    if test_environment {
        Ok(())
    } else {
        Err(format!(
            "refusing to write to {vendor} at {base}: it is not a test environment (Payt: the demo host {PAYT_DEMO_HOST}; paywise: a test-mode token)"
        ))
    }
}

/// Panics unless reads may run against a production target.
fn read_policy(vendor: &str, base: &str, test_environment: bool) {
    let host = host_of(base);
    if !test_environment && !is_loopback(&host) && !flag("CONTRACT_ALLOW_PRODUCTION_READS") {
        panic!(
            "{vendor} at {base} is a production target: set CONTRACT_ALLOW_PRODUCTION_READS=1 to run the read-only tests against it (writes stay refused)"
        );
    }
}

fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

/// A client whose every exchange is checked against `vendor`'s contract and journaled.
fn client(vendor: Vendor) -> Client {
    reqwest_middleware::ClientBuilder::new(plain_client())
        .with(recorder::Recorder::new(vendor))
        .build()
}

/// Whether tests that leave something permanent behind may run against a vendor.
fn permanent_writes_allowed(started_mock: bool) -> bool {
    started_mock || target() == Target::Mock || flag("CONTRACT_ALLOW_PERMANENT_WRITES")
}

/// A request to undo when the test ends.
struct Cleanup {
    method: Method,
    path: String,
    body: Option<Value>,
    /// Sent as JSON with a fresh `Idempotency-Key` (paywise v2's commands), not as a form.
    command: bool,
}

/// One connection to a target: base URL, token, the checking client, the write policy, and what
/// to undo when the test ends. [`Payt`], [`Paywise`] and [`PaywisePartner`] dereference to it.
pub struct Conn {
    /// Base URL without a trailing slash.
    pub base: String,
    /// Bearer token.
    pub token: String,
    /// The HTTP client: every answer is checked against the vendor's contract and journaled;
    /// redirects are not followed, so they can be asserted.
    pub client: Client,
    /// Whether writes may be sent, and why not.
    pub writes: Result<(), String>,
    started_mock: bool,
    clock: Option<mock_core::Clock>,
    cleanups: Mutex<Vec<Cleanup>>,
    _guard: TestGuard,
}

impl Conn {
    fn new(vendor: Vendor, base: &str, token: String, clock: Option<mock_core::Clock>) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            token,
            client: client(vendor),
            writes: Ok(()),
            started_mock: clock.is_some(),
            clock,
            cleanups: Mutex::new(Vec::new()),
            _guard: TestGuard::new(),
        }
    }

    /// The target's current time: the clock of the mock this harness started (the shared test
    /// clock, so no expectation depends on the day the suite runs), else the wall clock, which is
    /// the vendor's (and a separately started mock's) time.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        match &self.clock {
            Some(clock) => clock.now(),
            // wall-clock-ok: a vendor (or a mock started by hand) lives in real time.
            None => chrono::Utc::now(),
        }
    }

    /// The target's current date (UTC), from [`Self::now`].
    pub fn today(&self) -> chrono::NaiveDate {
        self.now().date_naive()
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// An authenticated GET.
    pub fn get(&self, path: &str) -> RequestBuilder {
        self.client.get(self.url(path)).bearer_auth(&self.token)
    }

    /// Panics unless writes may be sent to this target (see the crate docs).
    pub fn ensure_writable(&self) {
        if let Err(why) = &self.writes {
            panic!("{why}");
        }
    }

    /// An authenticated POST (a write: refused unless the target is a test environment).
    pub fn post(&self, path: &str) -> RequestBuilder {
        self.ensure_writable();
        self.client.post(self.url(path)).bearer_auth(&self.token)
    }

    /// An authenticated PATCH (a write).
    pub fn patch(&self, path: &str) -> RequestBuilder {
        self.ensure_writable();
        self.client.patch(self.url(path)).bearer_auth(&self.token)
    }

    /// An authenticated PUT (a write).
    pub fn put(&self, path: &str) -> RequestBuilder {
        self.ensure_writable();
        self.client.put(self.url(path)).bearer_auth(&self.token)
    }

    /// An authenticated DELETE (a write).
    pub fn delete(&self, path: &str) -> RequestBuilder {
        self.ensure_writable();
        self.client.delete(self.url(path)).bearer_auth(&self.token)
    }

    /// Undoes `method path` (with `body`, a flat object sent as a form) when the test ends, passed or failed: for records
    /// the API lets a client remove. Nothing is sent to a mock the test started itself.
    pub fn cleanup_later(&self, method: Method, path: impl Into<String>, body: Option<Value>) {
        if self.started_mock {
            return;
        }
        self.cleanups
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Cleanup {
                method,
                path: path.into(),
                body,
                command: false,
            });
    }

    /// Sends the paywise v2 command `POST path` (JSON `body`, a fresh `Idempotency-Key`) when the
    /// test ends, passed or failed, as [`Self::cleanup_later`] does: for what v2 undoes by a
    /// command (releasing a company).
    pub fn cleanup_command_later(&self, path: impl Into<String>, body: Value) {
        if self.started_mock {
            return;
        }
        self.cleanups
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Cleanup {
                method: Method::POST,
                path: path.into(),
                body: Some(body),
                command: true,
            });
    }

    /// Whether the target runs on this machine (a mock this harness started, or any loopback
    /// base URL): then a receiver the test runs on loopback can be reached by it.
    pub fn is_local(&self) -> bool {
        self.started_mock || is_loopback(&host_of(&self.base))
    }

    /// Lets `by` pass on the target: on a mock this harness started, its clock moves `by` at once
    /// (the same clock [`Self::now`] reads); against anything else (a vendor, a mock started by
    /// hand) the test waits `by` in real time. For what the target holds back for a while (paywise
    /// v2's `updated_since` pages and event feeds hide changes younger than 60 s).
    pub async fn let_time_pass(&self, by: std::time::Duration) {
        match &self.clock {
            Some(clock) => clock.advance(chrono::Duration::from_std(by).unwrap_or(chrono::Duration::zero())),
            None => tokio::time::sleep(by).await,
        }
    }

    /// Whether a test that leaves something permanent behind (`what`) may run: always against a
    /// mock, against a vendor only with `CONTRACT_ALLOW_PERMANENT_WRITES=1`. When not, the test is
    /// recorded as skipped with the reason, and should return.
    pub fn permanent_writes(&self, what: &str) -> bool {
        if permanent_writes_allowed(self.started_mock) {
            return true;
        }
        skip(&format!(
            "{what}: set CONTRACT_ALLOW_PERMANENT_WRITES=1 to run it against {}",
            self.base
        ));
        false
    }

    /// GET `path` with `query`; panics unless 200; the JSON body (paywise; [`Payt::get_json`]
    /// adds the administration).
    pub async fn get_json(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let res = self.get(path).query(query).send().await.expect("request sent");
        let status = res.status();
        let body: Value = res.json().await.expect("a JSON body");
        assert_eq!(status, 200, "GET {path} {query:?} answered {status}: {body}");
        body
    }

    /// Follows a DRF page's `next` links (paywise) from the first page of `path` with `limit`,
    /// returning all results and the `count` of the first page.
    pub async fn walk(&self, path: &str, limit: usize, query: &[(&str, &str)]) -> (Vec<Value>, u64) {
        let lim = limit.to_string();
        let mut q: Vec<(&str, &str)> = query.to_vec();
        q.push(("limit", &lim));
        let mut page = self.get_json(path, &q).await;
        let count = page["count"].as_u64().expect("count is an integer");
        let mut all = Vec::new();
        for _ in 0..10_000 {
            all.extend(page["results"].as_array().expect("results is an array").iter().cloned());
            match &page["next"] {
                Value::String(next) => {
                    let res = self
                        .client
                        .get(next)
                        .bearer_auth(&self.token)
                        .send()
                        .await
                        .expect("request sent");
                    assert_eq!(res.status(), 200, "GET {next}");
                    page = res.json().await.expect("a JSON body");
                }
                Value::Null => return (all, count),
                other => panic!("next must be a URL or null, got {other}"),
            }
        }
        panic!("{path}: pagination did not end after 10000 pages");
    }
}

/// Records the current test as skipped for `reason` (the report shows it; nothing is skipped
/// silently). The test should return right after.
pub fn skip(reason: &str) {
    eprintln!("skipped: {reason}");
    journal::mark_skipped(reason);
}

impl Drop for Conn {
    /// Sends the registered cleanups (last first) from a thread of their own, since `Drop` cannot
    /// await; failures are reported on stderr and never fail the test.
    fn drop(&mut self) {
        let cleanups = std::mem::take(
            self.cleanups
                .get_mut()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        if cleanups.is_empty() {
            return;
        }
        let (base, token) = (self.base.clone(), self.token.clone());
        let worker = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            rt.block_on(async move {
                let http = plain_client();
                for c in cleanups.into_iter().rev() {
                    let mut req = http
                        .request(c.method.clone(), format!("{base}{}", c.path))
                        .bearer_auth(&token);
                    if c.command {
                        let key = uuid::Uuid::new_v4().to_string();
                        req = req
                            .header("Idempotency-Key", key)
                            .json(c.body.as_ref().unwrap_or(&Value::Null));
                    } else if let Some(Value::Object(fields)) = &c.body {
                        // As a form: the encoding both vendors document for every write.
                        let form: Vec<(String, String)> = fields
                            .iter()
                            .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_string)))
                            .collect();
                        req = req.form(&form);
                    }
                    match req.send().await {
                        // 404 / 422: already gone or already undone (a test may undo it itself);
                        // 409: paywise v2's answer when the record is past what the command undoes
                        // (a submitted order is not deleted, a draft not withdrawn).
                        Ok(res) if res.status().is_success() || matches!(res.status().as_u16(), 404 | 409 | 422) => {}
                        Ok(res) => eprintln!("cleanup {} {} answered {}", c.method, c.path, res.status()),
                        Err(e) => eprintln!("cleanup {} {} failed: {e}", c.method, c.path),
                    }
                }
            });
        });
        if worker.join().is_err() {
            eprintln!("cleanup of the test's records panicked; some may be left on the target");
        }
    }
}

/// Where a connection goes, read from the environment.
struct Place<'a> {
    /// With `sandbox`: the variable naming the base URL, and the vendor's host when it is unset.
    sandbox_base: (&'a str, &'a str),
    /// With `mock`: the variables that may name a running mock's base URL (the first set wins);
    /// with none set, the suite starts a mock itself.
    mock_base: &'a [&'a str],
    /// The variable naming the token (with `mock`, optional).
    token_var: &'a str,
    /// With `sandbox`, what the token is when one is required; `None`: the connection is
    /// optional, and without a token there is none.
    required: Option<&'a str>,
}

impl Place<'_> {
    /// The base URL, the token, and the mock serving them when the suite started one; `None`
    /// for an optional connection whose token is not set. `start` starts a mock (`(uri, token,
    /// mock)`), only when no base URL is named.
    async fn resolve<M, F, Fut>(&self, mock_token: &str, start: F) -> Option<(String, String, Option<M>)>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = (String, String, M)>,
    {
        match target() {
            Target::Sandbox => {
                let (base_var, default) = self.sandbox_base;
                let base = var(base_var).unwrap_or_else(|| default.into());
                let token = match (var(self.token_var), self.required) {
                    (Some(t), _) => t,
                    (None, Some(what)) => required(self.token_var, what),
                    (None, None) => return None,
                };
                Some((base, token, None))
            }
            Target::Mock => match self.mock_base.iter().find_map(|v| var(v)) {
                Some(base) => Some((base, var(self.token_var).unwrap_or_else(|| mock_token.into()), None)),
                None => {
                    let (uri, token, mock) = start().await;
                    Some((uri, token, Some(mock)))
                }
            },
        }
    }
}

/// Starts a paywise mock on port 0 with the suite's seed; its base URL and `token`.
async fn start_paywise(token: &str) -> (String, String, mock_paywise::MockPaywise) {
    let m = mock_paywise::MockPaywise::test().seed(seed()).start().await;
    (m.uri(), token.to_string(), m)
}

/// The connection of a target type: every target derefs to its [`Conn`].
macro_rules! deref_to_conn {
    ($($target:ty),*) => {
        $(impl std::ops::Deref for $target {
            type Target = Conn;
            fn deref(&self) -> &Conn {
                &self.conn
            }
        })*
    };
}

deref_to_conn!(Payt, Paywise, PaywisePartner, PaywiseV2, PaywiseV2Partner);

/// A Payt target: the connection, the administration, and the mock that serves it (if any).
pub struct Payt {
    conn: Conn,
    /// The administration the tests work in.
    pub administration_id: String,
    _mock: Option<mock_payt::MockPayt>,
}

impl Payt {
    /// Connects to the configured target, starting a mock on port 0 when none is configured.
    pub async fn connect() -> Self {
        let place = Place {
            sandbox_base: ("PAYT_BASE_URL", "https://demo-api.paytsoftware.com"),
            mock_base: &["PAYT_BASE_URL"],
            token_var: "PAYT_TOKEN",
            required: Some("a bearer token for the Payt demo environment"),
        };
        let (base, token, mock) = place
            .resolve(mock_payt::DEFAULT_TOKEN, || async {
                let m = mock_payt::MockPayt::test().seed(seed()).start().await;
                (m.uri(), m.token().to_string(), m)
            })
            .await
            .expect("a required token");
        let mut conn = Conn::new(
            Vendor::Payt,
            &base,
            token,
            mock.as_ref().map(|m| m.state().clock.clone()),
        );
        if mock.is_none() && target() == Target::Sandbox {
            let demo = host_of(&conn.base) == PAYT_DEMO_HOST;
            read_policy("Payt", &conn.base, demo);
            conn.writes = write_policy("Payt", &conn.base, demo);
        }
        let mut payt = Self {
            conn,
            administration_id: String::new(),
            _mock: mock,
        };
        payt.administration_id = match (target(), var("PAYT_ADMINISTRATION_ID")) {
            (_, Some(id)) => id,
            (Target::Sandbox, None) => required("PAYT_ADMINISTRATION_ID", "the administration the token may use"),
            (Target::Mock, None) => payt.discover_administration().await,
        };
        payt
    }

    async fn discover_administration(&self) -> String {
        let body = self.get_json("/v1/administrations", &[]).await;
        let id = &body["data"][0]["id"];
        match id {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => panic!("GET /v1/administrations returned no administration to test in: {body}"),
        }
    }

    /// GET `path` with `administration_id` and `query`; panics unless 200; the JSON body.
    pub async fn get_json(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let mut q: Vec<(&str, &str)> = query.to_vec();
        if path != "/v1/administrations" && !q.iter().any(|(k, _)| *k == "administration_id") {
            q.push(("administration_id", &self.administration_id));
        }
        let res = self.get(path).query(&q).send().await.expect("request sent");
        let status = res.status();
        let body: Value = res.json().await.expect("a JSON body");
        assert_eq!(status, 200, "GET {path} {q:?} answered {status}: {body}");
        body
    }

    /// Every page of a list with `per_page` and extra `query`, following `pagination.cursor` to
    /// the end (a missing or null cursor ends it).
    pub async fn pages(&self, path: &str, per_page: usize, query: &[(&str, &str)]) -> Vec<Value> {
        let per = per_page.to_string();
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10_000 {
            let mut q: Vec<(&str, &str)> = query.to_vec();
            q.push(("per_page", &per));
            if let Some(c) = &cursor {
                q.push(("cursor", c));
            }
            let page = self.get_json(path, &q).await;
            let n = page["data"]
                .as_array()
                .map(Vec::len)
                .unwrap_or_else(|| panic!("{path} {q:?}: data must be an array: {page}"));
            assert!(
                n <= per_page,
                "{path} {q:?}: {n} records on a page of per_page {per_page}"
            );
            cursor = match page.get("pagination").and_then(|p| p.get("cursor")) {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                None | Some(Value::Null) => None,
                Some(other) => panic!("{path}: the cursor must be a string, a number or null, not {other}"),
            };
            out.push(page);
            if cursor.is_none() {
                return out;
            }
        }
        panic!("{path}: pagination did not end after 10000 pages");
    }

    /// Walks every page of a list with `per_page` and extra `query`, returning all records.
    pub async fn walk(&self, path: &str, per_page: usize, query: &[(&str, &str)]) -> Vec<Value> {
        records(&self.pages(path, per_page, query).await)
    }

    /// Runs `check`, and when it fails runs it again (at most four more times, no sleeps) as long
    /// as one of the `watched` lists (path and query) changed while it ran; a failure while they
    /// stood still is final.
    // Tolerance: other tests (of this run, or other runs on the demo) write meanwhile: repeated,
    // never loosened.
    pub async fn settled(
        &self,
        watched: &[(&str, &[(&str, &str)])],
        mut check: impl AsyncFnMut() -> anyhow::Result<()>,
    ) {
        let snapshot = async || {
            let mut lists = Vec::new();
            for (path, query) in watched {
                lists.push(self.walk(path, 500, query).await);
            }
            lists
        };
        let mut why = match check().await {
            Ok(()) => return,
            Err(e) => e,
        };
        for _ in 0..4 {
            let before = snapshot().await;
            match check().await {
                Ok(()) => return,
                Err(e) if snapshot().await == before => panic!("{e:#}"),
                Err(e) => why = e,
            }
        }
        let paths: Vec<&str> = watched.iter().map(|(p, _)| *p).collect();
        panic!("{why:#} (and {paths:?} kept changing in five tries)");
    }
}

/// A paywise Case Management target: the connection (test-mode token) and the mock that serves
/// it (if any).
pub struct Paywise {
    conn: Conn,
    _mock: Option<mock_paywise::MockPaywise>,
}

impl Paywise {
    /// Connects to the configured target, starting a mock on port 0 when none is configured.
    pub async fn connect() -> Self {
        let place = Place {
            sandbox_base: ("PAYWISE_BASE_URL", "https://api.paywise.de"),
            mock_base: &["PAYWISE_BASE_URL"],
            token_var: "PAYWISE_TOKEN",
            required: Some("a paywise API key in test access mode"),
        };
        let (base, token, mock) = place
            .resolve(mock_paywise::DEFAULT_TOKEN, || {
                start_paywise(mock_paywise::DEFAULT_TOKEN)
            })
            .await
            .expect("a required token");
        let mut paywise = Self {
            conn: Conn::new(
                Vendor::Paywise,
                &base,
                token,
                mock.as_ref().map(|m| m.state().clock.clone()),
            ),
            _mock: mock,
        };
        if paywise._mock.is_none() && target() == Target::Sandbox {
            let test_mode = paywise.token_is_test_mode().await;
            read_policy("paywise", &paywise.base, test_mode);
            paywise.conn.writes = write_policy("paywise", &paywise.base, test_mode);
        }
        paywise
    }

    /// Whether `GET /v1/info/` says every entry of the token is in test access mode.
    async fn token_is_test_mode(&self) -> bool {
        let res = match self.get("/v1/info/").send().await {
            Ok(res) => res,
            Err(e) => panic!("cannot reach paywise at {}: {e}", self.base),
        };
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(
            status, 200,
            "GET /v1/info/ must say the token's access mode: {status} {body}"
        );
        let entries = body.as_array().cloned().unwrap_or_default();
        !entries.is_empty() && entries.iter().all(|e| e["access_mode"] == "test")
    }
}

/// A paywise Partner API target (`/partner/v1/`): the connection with a partner key.
///
/// Optional: with `sandbox`, `PAYWISE_PARTNER_TOKEN` names the key; without it the partner tests
/// are recorded as skipped (most integrators have no partner key). The Partner API has no test
/// mode, so against a vendor every partner write (companies, users, invites) is a permanent
/// write: it needs `CONTRACT_ALLOW_PERMANENT_WRITES=1` besides the usual write policy.
pub struct PaywisePartner {
    conn: Conn,
    _mock: Option<mock_paywise::MockPaywise>,
}

impl PaywisePartner {
    /// Connects with the partner key; `None` (and the test recorded as skipped) when the sandbox
    /// has no `PAYWISE_PARTNER_TOKEN`.
    pub async fn connect() -> Option<Self> {
        let place = Place {
            sandbox_base: ("PAYWISE_BASE_URL", "https://api.paywise.de"),
            mock_base: &["PAYWISE_BASE_URL"],
            token_var: "PAYWISE_PARTNER_TOKEN",
            required: None,
        };
        let partner_token = mock_paywise::resources::partner::PARTNER_TOKEN;
        let Some((base, token, mock)) = place.resolve(partner_token, || start_paywise(partner_token)).await else {
            skip("the Partner API tests need PAYWISE_PARTNER_TOKEN (a paywise partner key)");
            return None;
        };
        let mut conn = Conn::new(
            Vendor::Paywise,
            &base,
            token,
            mock.as_ref().map(|m| m.state().clock.clone()),
        );
        if mock.is_none() && target() == Target::Sandbox {
            // No access mode to ask for: reads are fine, writes are permanent (see above).
            conn.writes = write_policy("the paywise Partner API", &conn.base, true).and_then(|()| {
                if is_loopback(&host_of(&conn.base)) || flag("CONTRACT_ALLOW_PERMANENT_WRITES") {
                    Ok(())
                } else {
                    Err(format!(
                        "refusing to write to the paywise Partner API at {}: its records are permanent; set CONTRACT_ALLOW_PERMANENT_WRITES=1",
                        conn.base
                    ))
                }
            });
        }
        Some(Self { conn, _mock: mock })
    }
}

/// The paywise API v2 sandbox, the one place the v2 write tests may run by default.
pub const PAYWISE_V2_SANDBOX: &str = "https://api-sandbox.paywise.de";

/// Where the v2 connections go: the v2 sandbox by default; a running mock at
/// `PAYWISE_V2_BASE_URL` or `PAYWISE_BASE_URL`.
const V2_PLACE: Place<'static> = Place {
    sandbox_base: ("PAYWISE_V2_BASE_URL", PAYWISE_V2_SANDBOX),
    mock_base: &["PAYWISE_V2_BASE_URL", "PAYWISE_BASE_URL"],
    token_var: "",
    required: None,
};

/// Asks a v2 target which environment the token is for (`GET {info}`: `sandbox` or
/// `production`); panics when it cannot say.
async fn paywise_v2_environment(conn: &Conn, info: &str) -> String {
    let res = match conn.get(info).send().await {
        Ok(res) => res,
        Err(e) => panic!("cannot reach paywise v2 at {}: {e}", conn.base),
    };
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(
        status, 200,
        "GET {info} must name the token's environment: {status} {body}"
    );
    body["environment"].as_str().unwrap_or_default().to_string()
}

/// A paywise API v2 Case Management target (`/v2/`): the connection (a sandbox key) and the mock
/// that serves it (if any).
///
/// With `sandbox`, `PAYWISE_V2_BASE_URL` (default [`PAYWISE_V2_SANDBOX`]) and `PAYWISE_V2_TOKEN`
/// name the target. Writes need a token whose `GET /v2/info/` says `environment: sandbox` (v2
/// selects the environment by host and key, and has no test mode); otherwise every write is
/// refused and even reads need `CONTRACT_ALLOW_PRODUCTION_READS=1`.
pub struct PaywiseV2 {
    conn: Conn,
    _mock: Option<mock_paywise::MockPaywise>,
}

impl PaywiseV2 {
    /// Connects to the configured target, starting a mock on port 0 when none is configured.
    pub async fn connect() -> Self {
        let place = Place {
            token_var: "PAYWISE_V2_TOKEN",
            required: Some("a paywise v2 key of the sandbox environment"),
            ..V2_PLACE
        };
        let (base, token, mock) = place
            .resolve(mock_paywise::DEFAULT_TOKEN, || {
                start_paywise(mock_paywise::DEFAULT_TOKEN)
            })
            .await
            .expect("a required token");
        let mut conn = Conn::new(
            Vendor::Paywise,
            &base,
            token,
            mock.as_ref().map(|m| m.state().clock.clone()),
        );
        if mock.is_none() && target() == Target::Sandbox {
            let sandbox = paywise_v2_environment(&conn, "/v2/info/").await == "sandbox";
            read_policy("paywise v2", &conn.base, sandbox);
            conn.writes = write_policy("paywise v2", &conn.base, sandbox);
        }
        Self { conn, _mock: mock }
    }
}

/// A paywise API v2 Partner target (`/partner/v2/`): the connection with a v2 Partner key.
///
/// Optional: with `sandbox`, `PAYWISE_V2_PARTNER_TOKEN` names the key; without it the v2 Partner
/// tests are recorded as skipped. Writes need the key's `GET /partner/v2/info/` to say
/// `environment: sandbox`. Onboarding companies and adding memberships leave records no API call
/// removes (release ends the access, cancel the invitation, the records stay), so against a vendor
/// those tests also need `CONTRACT_ALLOW_PERMANENT_WRITES=1` ([`Conn::permanent_writes`]).
pub struct PaywiseV2Partner {
    conn: Conn,
    _mock: Option<mock_paywise::MockPaywise>,
}

impl PaywiseV2Partner {
    /// Connects with the v2 Partner key; `None` (and the test recorded as skipped) when the
    /// sandbox has no `PAYWISE_V2_PARTNER_TOKEN`.
    pub async fn connect() -> Option<Self> {
        let place = Place {
            token_var: "PAYWISE_V2_PARTNER_TOKEN",
            ..V2_PLACE
        };
        let partner_token = mock_paywise::resources::partner::PARTNER_TOKEN;
        let Some((base, token, mock)) = place.resolve(partner_token, || start_paywise(partner_token)).await else {
            skip("the v2 Partner API tests need PAYWISE_V2_PARTNER_TOKEN (a paywise v2 Partner key of the sandbox)");
            return None;
        };
        let mut conn = Conn::new(
            Vendor::Paywise,
            &base,
            token,
            mock.as_ref().map(|m| m.state().clock.clone()),
        );
        if mock.is_none() && target() == Target::Sandbox {
            let sandbox = paywise_v2_environment(&conn, "/partner/v2/info/").await == "sandbox";
            read_policy("the paywise v2 Partner API", &conn.base, sandbox);
            conn.writes = write_policy("the paywise v2 Partner API", &conn.base, sandbox);
        }
        Some(Self { conn, _mock: mock })
    }
}

/// The records (`data`) of Payt list pages, in order.
pub fn records(pages: &[Value]) -> Vec<Value> {
    pages
        .iter()
        .flat_map(|p| p["data"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// The fixture seed for mocks the suite starts itself (`CONTRACT_SEED`, default 7): any seed must
/// pass, since the tests never rely on fixture data.
pub fn seed() -> u64 {
    var("CONTRACT_SEED").and_then(|s| s.parse().ok()).unwrap_or(7)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `contract-tests/run --target sandbox` without settings stops before compiling anything and
    /// names every variable to set.
    #[test]
    fn a_sandbox_run_without_settings_fails_fast_and_says_what_to_set() {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/run");
        let out = std::process::Command::new("bash")
            .arg(script)
            .args(["--target", "sandbox"])
            .env_clear()
            .env("PATH", env::var("PATH").unwrap_or_default())
            .output()
            .expect("bash runs the script");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        for name in [
            "PAYT_TOKEN",
            "PAYT_ADMINISTRATION_ID",
            "PAYT_CLIENT_ID",
            "PAYT_CLIENT_SECRET",
            "PAYWISE_TOKEN",
            "PAYWISE_V2_TOKEN",
        ] {
            assert!(stderr.contains(name), "{name} missing from: {stderr}");
        }
        assert!(
            out.stdout.is_empty(),
            "nothing ran: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    #[test]
    fn only_test_environments_take_writes() {
        assert!(write_policy("Payt", "https://demo-api.paytsoftware.com", true).is_ok());
        assert!(write_policy("Payt", "https://api.paytsoftware.com", false).is_err());
        // Loopback needs the explicit opt-in (not set in this test's environment).
        if !flag("CONTRACT_ALLOW_LOCAL_WRITES") {
            assert!(write_policy("Payt", "http://127.0.0.1:8180", true).is_err());
        }
        assert_eq!(host_of("https://demo-api.paytsoftware.com/api"), PAYT_DEMO_HOST);
        assert!(is_loopback("127.0.0.1") && is_loopback("localhost") && !is_loopback("10.0.0.1"));
    }
}
