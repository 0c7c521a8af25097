//! Webhook endpoints and deliveries: management (`/v1/webhooks/`), the inferred test-event and
//! delivery-inspection endpoints, and delivery to a local receiver (headers, signature, retries on
//! the mock's clock, auto-disable, access-mode isolation, and that a slow receiver never slows the
//! API).
//!
//! Nothing here sleeps to wait: the tests poll (short sleeps in a bounded loop) until what they
//! wait for has happened, and move the mock's clock to make retries due.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use mock_paywise::state::{AccessMode, Scope};
use mock_paywise::{MockPaywise, PaywiseMock as _};
use reqwest::Client;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::Notify;

const ALL_EVENTS: [&str; 14] = [
    "mandate.created",
    "mandate.updated",
    "mandate.status_updated",
    "mandate.closed",
    "mandate.balance_updated",
    "mandate.message_created",
    "claim.created",
    "claim.updated",
    "payment.created",
    "payment.updated",
    "statement.created",
    "statement.updated",
    "request_to_client.created",
    "request_to_client.answered",
];

// ---------------------------------------------------------------------------------------------
// A local receiver
// ---------------------------------------------------------------------------------------------

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("header {name} missing in {:?}", self.headers))
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

#[derive(Clone, Default)]
struct Inner {
    got: Arc<Mutex<Vec<Received>>>,
    /// Statuses to answer, in order; 200 once empty.
    plan: Arc<Mutex<VecDeque<u16>>>,
    /// When set, every request waits for this before answering.
    hold: Option<Arc<Notify>>,
}

struct Receiver {
    url: String,
    inner: Inner,
}

async fn record(State(inner): State<Inner>, uri: axum::http::Uri, headers: HeaderMap, body: Bytes) -> StatusCode {
    inner.got.lock().expect("lock").push(Received {
        path: uri.path().to_string(),
        headers,
        body,
    });
    if let Some(hold) = &inner.hold {
        hold.notified().await;
    }
    let status = inner.plan.lock().expect("lock").pop_front().unwrap_or(200);
    StatusCode::from_u16(status).expect("a status")
}

impl Receiver {
    async fn start(plan: &[u16], hold: Option<Arc<Notify>>) -> Self {
        let inner = Inner {
            got: Arc::default(),
            plan: Arc::new(Mutex::new(plan.iter().copied().collect())),
            hold,
        };
        let app = Router::new().fallback(record).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url: format!("http://{addr}/hooks/paywise"),
            inner,
        }
    }

    fn count(&self) -> usize {
        self.inner.got.lock().expect("lock").len()
    }

    fn get(&self, i: usize) -> Received {
        self.inner.got.lock().expect("lock")[i].clone()
    }

    /// Waits (polling) until at least `n` requests arrived.
    async fn wait_for(&self, n: usize) {
        let start = Instant::now();
        while self.count() < n {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the receiver got {} requests, expected {n}",
                self.count()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

struct Api {
    m: MockPaywise,
    client: Client,
}

impl Api {
    async fn start() -> Self {
        Self {
            m: MockPaywise::test().seed(11).start().await,
            client: Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.m.uri())
    }

    fn token(&self, mode: AccessMode) -> &str {
        match mode {
            AccessMode::Test => self.m.token(),
            AccessMode::Production => self.m.production_token(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, mode: AccessMode, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .client
            .request(method, self.url(path))
            .bearer_auth(self.token(mode));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("sent");
        let status = res.status().as_u16();
        let text = res.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, AccessMode::Test, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, AccessMode::Test, Some(body))
            .await
    }

    async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::PATCH, path, AccessMode::Test, Some(body))
            .await
    }

    /// Creates an endpoint in `mode`; the create response.
    async fn endpoint(&self, mode: AccessMode, url: &str, events: &[&str], extra: Value) -> Value {
        let mut body = json!({"url": url, "events": events, "description": "test receiver"});
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        let (s, v) = self
            .call(reqwest::Method::POST, "/v1/webhooks/", mode, Some(body))
            .await;
        assert_eq!(s, 201, "{v}");
        v
    }

    fn emit(&self, mode: AccessMode, kind: &str, data: Value) {
        self.m.state().emit(
            Scope {
                company: mock_paywise::seed::COMPANY,
                mode,
            },
            kind,
            data,
        );
    }

    fn advance_minutes(&self, minutes: i64) {
        self.m.state().clock.advance(chrono::Duration::minutes(minutes));
    }

    async fn deliveries(&self, webhook: &str, mode: AccessMode) -> Vec<Value> {
        let (s, page) = self
            .call(
                reqwest::Method::GET,
                &format!("/v1/webhooks/{webhook}/deliveries/"),
                mode,
                None,
            )
            .await;
        assert_eq!(s, 200, "{page}");
        page["results"].as_array().expect("results").clone()
    }

    /// Waits (polling) until the endpoint's first delivery satisfies `done`; that delivery.
    async fn wait_delivery(&self, webhook: &str, done: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let list = self.deliveries(webhook, AccessMode::Test).await;
            if let Some(d) = list.first()
                && done(d)
            {
                return d.clone();
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "delivery never got there: {list:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn claim_object() -> Value {
    json!({"id": "6f1c0a4e-8f6b-4f43-9b7e-0f7d7e2a1c11", "submission_state": "created"})
}

// ---------------------------------------------------------------------------------------------
// Management
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn create_shows_the_secret_once_with_documented_defaults() {
    let api = Api::start().await;
    let (s, created) = api
        .post(
            "/v1/webhooks/",
            json!({"url": "https://example.com/hooks", "events": ["claim.created", "mandate.created"],
                   "description": "ERP"}),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    let keys: Vec<&str> = created
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "url",
            "enabled",
            "events",
            "access_mode",
            "secret_key",
            "description",
            "max_consecutive_failures",
            "consecutive_failures",
            "last_failure_at",
            "created",
            "updated"
        ]
    );
    let wid = id(&created);
    assert!(
        created.get("href").is_none(),
        "the endpoint object has no href (reference §8)"
    );
    assert_eq!(created["url"], "https://example.com/hooks");
    assert_eq!(created["enabled"], true);
    assert_eq!(created["events"], json!(["claim.created", "mandate.created"]));
    assert_eq!(created["access_mode"], "test");
    assert_eq!(created["description"], "ERP");
    assert_eq!(created["max_consecutive_failures"], 50);
    assert_eq!(created["consecutive_failures"], 0);
    assert_eq!(created["last_failure_at"], Value::Null);
    assert_eq!(created["created"], created["updated"]);
    let secret = created["secret_key"].as_str().expect("secret");
    assert!(secret.len() >= 32, "{secret}");

    let (s, shown) = api.get(&format!("/v1/webhooks/{wid}/")).await;
    assert_eq!(s, 200);
    assert!(shown.get("secret_key").is_none(), "{shown}");
    let mut without = created.clone();
    without.as_object_mut().expect("object").remove("secret_key");
    assert_eq!(shown, without);

    let (_, page) = api.get("/v1/webhooks/").await;
    assert_eq!(page["count"], 1);
    assert!(page["results"][0].get("secret_key").is_none());

    // Production tokens make production endpoints; description and max are optional.
    let (s, prod) = api
        .call(
            reqwest::Method::POST,
            "/v1/webhooks/",
            AccessMode::Production,
            Some(json!({"url": "https://example.com/p", "events": ["payment.created"], "max_consecutive_failures": 7})),
        )
        .await;
    assert_eq!(s, 201, "{prod}");
    assert_eq!(prod["access_mode"], "production");
    assert_eq!(prod["description"], "");
    assert_eq!(prod["max_consecutive_failures"], 7);
    // Duplicates in events collapse.
    let (_, dup) = api
        .post(
            "/v1/webhooks/",
            json!({"url": "https://example.com/d", "events": ["claim.created", "claim.created"]}),
        )
        .await;
    assert_eq!(dup["events"], json!(["claim.created"]));
    // Every documented event type is accepted.
    let (s, _) = api
        .post(
            "/v1/webhooks/",
            json!({"url": "https://example.com/all", "events": ALL_EVENTS}),
        )
        .await;
    assert_eq!(s, 201);
}

#[tokio::test]
async fn create_validation_errors() {
    let api = Api::start().await;
    let cases = [
        (
            json!({}),
            json!({"url": ["This field is required."], "events": ["This field is required."]}),
        ),
        (
            json!({"url": null, "events": null}),
            json!({"url": ["This field may not be null."], "events": ["This field may not be null."]}),
        ),
        (
            json!({"url": "", "events": []}),
            json!({"url": ["This field may not be blank."], "events": ["This selection may not be empty."]}),
        ),
        (
            json!({"url": "not a url", "events": "claim.created"}),
            json!({"url": ["Enter a valid URL."], "events": ["Expected a list of items but got type \"str\"."]}),
        ),
        (
            json!({"url": "http://example.com/hook", "events": ["claim.created", "claim.deleted"]}),
            json!({"url": ["Only HTTPS URLs are allowed."], "events": ["\"claim.deleted\" is not a valid choice."]}),
        ),
        (
            json!({"url": "ftp://example.com/x", "events": ["claim.created"]}),
            json!({"url": ["Enter a valid URL."]}),
        ),
        (
            json!({"url": format!("https://example.com/{}", "a".repeat(200)), "events": ["claim.created"]}),
            json!({"url": ["Ensure this field has no more than 200 characters."]}),
        ),
        (
            json!({"url": "https://example.com/", "events": ["claim.created"], "max_consecutive_failures": 0}),
            json!({"max_consecutive_failures": ["Ensure this value is greater than or equal to 1."]}),
        ),
        (
            json!({"url": "https://example.com/", "events": ["claim.created"], "max_consecutive_failures": 1001}),
            json!({"max_consecutive_failures": ["Ensure this value is less than or equal to 1000."]}),
        ),
        (
            json!({"url": "https://example.com/", "events": ["claim.created"], "max_consecutive_failures": "x"}),
            json!({"max_consecutive_failures": ["A valid integer is required."]}),
        ),
        (
            json!({"url": "https://example.com/", "events": ["claim.created"], "description": "d".repeat(256)}),
            json!({"description": ["Ensure this field has no more than 255 characters."]}),
        ),
        (
            json!({"url": "https://example.com/", "events": ["claim.created"], "enabled": "maybe"}),
            json!({"enabled": ["Must be a valid boolean."]}),
        ),
        (
            json!([1]),
            json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
        ),
    ];
    for (body, want) in cases {
        let (s, got) = api.post("/v1/webhooks/", body.clone()).await;
        assert_eq!((s, &got), (400, &want), "body {body}");
    }
    // Plain http is accepted only for loopback receivers.
    for url in [
        "http://127.0.0.1:9/x",
        "http://localhost:9/x",
        "http://[::1]:9/x",
        "https://hooks.example.org:8443/p?q=1",
    ] {
        let (s, v) = api
            .post("/v1/webhooks/", json!({"url": url, "events": ["claim.created"]}))
            .await;
        assert_eq!(s, 201, "{url}: {v}");
    }
    // Nothing invalid was stored.
    let (_, page) = api.get("/v1/webhooks/").await;
    assert_eq!(page["count"], 4);

    // Not JSON: DRF's 415; bad JSON: 400; no token: 401.
    let res = api
        .client
        .post(api.url("/v1/webhooks/"))
        .bearer_auth(api.m.token())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("url=x")
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 415);
    let body: Value = res.json().await.expect("json");
    assert_eq!(
        body,
        json!({"detail": "Unsupported media type \"application/x-www-form-urlencoded\" in request."})
    );
    let res = api
        .client
        .post(api.url("/v1/webhooks/"))
        .bearer_auth(api.m.token())
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 400);
    let res = api.client.get(api.url("/v1/webhooks/")).send().await.expect("sent");
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body, json!({"detail": "Authentication credentials were not provided."}));
    let res = api
        .client
        .get(api.url("/v1/webhooks/"))
        .bearer_auth("nope")
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn list_pages_and_filters_by_enabled() {
    let api = Api::start().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let w = api
            .endpoint(
                AccessMode::Test,
                &format!("https://example.com/{i}"),
                &["claim.created"],
                json!({}),
            )
            .await;
        ids.push(id(&w));
    }
    for wid in &ids[..2] {
        let (s, v) = api
            .patch(&format!("/v1/webhooks/{wid}/"), json!({"enabled": false}))
            .await;
        assert_eq!((s, &v["enabled"]), (200, &json!(false)));
    }
    let (_, page) = api.get("/v1/webhooks/?limit=2").await;
    assert_eq!(page["count"], 5);
    assert_eq!(page["previous"], Value::Null);
    assert_eq!(page["next"], api.url("/v1/webhooks/?limit=2&offset=2"));
    let got: Vec<String> = page["results"].as_array().expect("results").iter().map(id).collect();
    assert_eq!(got, ids[..2]);
    let (_, page) = api.get("/v1/webhooks/?enabled=true").await;
    assert_eq!(page["count"], 3);
    assert!(
        page["results"]
            .as_array()
            .expect("r")
            .iter()
            .all(|w| w["enabled"] == true)
    );
    let (_, page) = api.get("/v1/webhooks/?enabled=false").await;
    assert_eq!(page["count"], 2);
    // django-filter ignores a boolean it cannot read.
    let (s, page) = api.get("/v1/webhooks/?enabled=perhaps").await;
    assert_eq!((s, page["count"].clone()), (200, json!(5)));
    // APPEND_SLASH.
    let res = api
        .client
        .get(api.url("/v1/webhooks"))
        .bearer_auth(api.m.token())
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 301);
    // Not an allowed method.
    let (s, v) = api
        .call(reqwest::Method::PUT, "/v1/webhooks/", AccessMode::Test, Some(json!({})))
        .await;
    assert_eq!((s, v), (405, json!({"detail": "Method \"PUT\" not allowed."})));
}

#[tokio::test]
async fn patch_updates_fields_and_refuses_bad_values() {
    let api = Api::start().await;
    let w = api
        .endpoint(AccessMode::Test, "https://example.com/a", &["claim.created"], json!({}))
        .await;
    let wid = id(&w);
    let path = format!("/v1/webhooks/{wid}/");
    api.advance_minutes(3);
    let (s, v) = api
        .patch(
            &path,
            json!({"url": "https://example.com/b", "events": ["payment.created", "payment.updated"],
                   "description": "new", "max_consecutive_failures": 1000,
                   "id": "00000000-0000-4000-8000-000000000000", "access_mode": "production",
                   "consecutive_failures": 9, "secret_key": "x"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["url"], "https://example.com/b");
    assert_eq!(v["events"], json!(["payment.created", "payment.updated"]));
    assert_eq!(v["description"], "new");
    assert_eq!(v["max_consecutive_failures"], 1000);
    // Read-only fields are ignored, as DRF ignores them.
    assert_eq!(v["id"], w["id"]);
    assert_eq!(v["access_mode"], "test");
    assert_eq!(v["consecutive_failures"], 0);
    assert!(v.get("secret_key").is_none());
    assert_eq!(v["created"], w["created"]);
    assert_ne!(v["updated"], w["updated"]);
    let (_, shown) = api.get(&path).await;
    assert_eq!(shown, v);

    // An empty PATCH changes nothing but `updated`.
    api.advance_minutes(1);
    let (s, same) = api.patch(&path, json!({})).await;
    assert_eq!(s, 200);
    assert_eq!(same["url"], v["url"]);
    assert_ne!(same["updated"], v["updated"]);

    let cases = [
        (json!({"url": ""}), json!({"url": ["This field may not be blank."]})),
        (
            json!({"url": "http://example.com/x"}),
            json!({"url": ["Only HTTPS URLs are allowed."]}),
        ),
        (
            json!({"events": []}),
            json!({"events": ["This selection may not be empty."]}),
        ),
        (
            json!({"events": null}),
            json!({"events": ["This field may not be null."]}),
        ),
        (
            json!({"events": ["nope"]}),
            json!({"events": ["\"nope\" is not a valid choice."]}),
        ),
        (
            json!({"enabled": null}),
            json!({"enabled": ["This field may not be null."]}),
        ),
        (
            json!({"max_consecutive_failures": -1}),
            json!({"max_consecutive_failures": ["Ensure this value is greater than or equal to 1."]}),
        ),
    ];
    for (body, want) in cases {
        let (s, got) = api.patch(&path, body.clone()).await;
        assert_eq!((s, &got), (400, &want), "body {body}");
    }
    let (_, after) = api.get(&path).await;
    assert_eq!(after, same, "a refused PATCH changes nothing");

    // Unknown ids and non-UUIDs are 404.
    for bad in ["00000000-0000-4000-8000-000000000000", "nope"] {
        let (s, v) = api.patch(&format!("/v1/webhooks/{bad}/"), json!({})).await;
        assert_eq!((s, v), (404, json!({"detail": "Not found."})));
        let (s, _) = api.get(&format!("/v1/webhooks/{bad}/")).await;
        assert_eq!(s, 404);
    }
}

#[tokio::test]
async fn delete_removes_the_endpoint_and_its_deliveries() {
    let api = Api::start().await;
    let rx = Receiver::start(&[], None).await;
    let w = api
        .endpoint(AccessMode::Test, &rx.url, &["claim.created"], json!({}))
        .await;
    let wid = id(&w);
    api.emit(AccessMode::Test, "claim.created", claim_object());
    api.wait_delivery(&wid, |d| d["status"] == "success").await;
    let path = format!("/v1/webhooks/{wid}/");
    let res = api
        .client
        .delete(api.url(&path))
        .bearer_auth(api.m.token())
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 204);
    assert!(res.bytes().await.expect("body").is_empty());
    let (s, _) = api.get(&path).await;
    assert_eq!(s, 404);
    let (s, _) = api.get(&format!("{path}deliveries/")).await;
    assert_eq!(s, 404);
    assert_eq!(api.m.state().store.read(|db| db.deliveries.len()), 0);
    let (s, v) = api.call(reqwest::Method::DELETE, &path, AccessMode::Test, None).await;
    assert_eq!((s, v), (404, json!({"detail": "Not found."})));
}

#[tokio::test]
async fn endpoints_of_one_access_mode_are_invisible_to_the_other() {
    let api = Api::start().await;
    let w = api
        .endpoint(AccessMode::Test, "https://example.com/t", &["claim.created"], json!({}))
        .await;
    let path = format!("/v1/webhooks/{}/", id(&w));
    let not_found = json!({"detail": "Not found."});
    for (method, p, body) in [
        (reqwest::Method::GET, path.clone(), None),
        (reqwest::Method::PATCH, path.clone(), Some(json!({"enabled": false}))),
        (reqwest::Method::DELETE, path.clone(), None),
        (reqwest::Method::POST, format!("{path}test/"), Some(json!({}))),
        (reqwest::Method::GET, format!("{path}deliveries/"), None),
    ] {
        let (s, v) = api.call(method.clone(), &p, AccessMode::Production, body).await;
        assert_eq!((s, &v), (404, &not_found), "{method} {p}");
    }
    let (_, page) = api
        .call(reqwest::Method::GET, "/v1/webhooks/", AccessMode::Production, None)
        .await;
    assert_eq!(page["count"], 0);
    let (s, still) = api.get(&path).await;
    assert_eq!((s, &still["enabled"]), (200, &json!(true)));
}

// ---------------------------------------------------------------------------------------------
// Delivery
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn deliveries_are_signed_and_shaped_as_documented() {
    let api = Api::start().await;
    let rx = Receiver::start(&[], None).await;
    let other = Receiver::start(&[], None).await;
    let w = api
        .endpoint(
            AccessMode::Test,
            &rx.url,
            &["claim.created", "claim.updated"],
            json!({}),
        )
        .await;
    let wid = id(&w);
    let secret = w["secret_key"].as_str().expect("secret").to_string();
    // Subscribed to something else, or disabled: gets nothing.
    api.endpoint(AccessMode::Test, &other.url, &["payment.created"], json!({}))
        .await;
    api.endpoint(
        AccessMode::Test,
        &other.url,
        &["claim.created"],
        json!({"enabled": false}),
    )
    .await;

    let before = api.m.state().now();
    api.emit(AccessMode::Test, "claim.created", claim_object());
    rx.wait_for(1).await;
    let got = rx.get(0);
    assert_eq!(got.path, "/hooks/paywise");
    assert_eq!(got.header("content-type"), "application/json");
    assert_eq!(got.header("user-agent"), "paywise-webhooks/1.0");
    assert_eq!(got.header("x-paywise-event"), "claim.created");
    let delivery_id = got.header("x-paywise-delivery-id").to_string();
    assert!(uuid::Uuid::parse_str(&delivery_id).is_ok(), "{delivery_id}");
    let sig = got.header("x-paywise-signature");
    assert_eq!(sig, format!("sha256={}", hmac_hex(&secret, &got.body)));
    // A receiver with another secret would refuse it.
    assert_ne!(sig, format!("sha256={}", hmac_hex("wrong", &got.body)));

    let body = got.json();
    let keys: Vec<&str> = body.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(keys, ["event", "timestamp", "data"]);
    assert_eq!(body["event"], "claim.created");
    let at = chrono::DateTime::parse_from_rfc3339(body["timestamp"].as_str().expect("timestamp")).expect("rfc3339");
    assert!(at >= before - chrono::Duration::seconds(1), "{at} vs {before}");
    assert_eq!(body["data"]["access_mode"], "test");
    let company = api
        .m
        .state()
        .store
        .read(|db| mock_paywise::resources::webhooks::company_uuid(db, mock_paywise::seed::COMPANY));
    assert_eq!(body["data"]["company_id"], company.to_string());
    assert_eq!(body["data"]["id"], claim_object()["id"]);
    assert_eq!(body["data"]["submission_state"], "created");

    // The delivery is inspectable.
    let d = api.wait_delivery(&wid, |d| d["status"] == "success").await;
    assert_eq!(d["id"], delivery_id.as_str());
    assert_eq!(
        d["href"],
        api.url(&format!("/v1/webhooks/{wid}/deliveries/{delivery_id}/"))
    );
    assert_eq!(d["webhook"], wid.as_str());
    assert_eq!(d["event"], "claim.created");
    assert_eq!(d["attempts"], 1);
    assert_eq!(d["response_status"], 200);
    assert_eq!(d["next_attempt_at"], Value::Null);
    assert_eq!(d["error"], Value::Null);
    assert_eq!(d["test"], false);
    assert_eq!(d["payload"], body);
    let (s, one) = api.get(&format!("/v1/webhooks/{wid}/deliveries/{delivery_id}/")).await;
    assert_eq!((s, &one), (200, &d));

    // Unsubscribed event types reach nobody; a later subscribed one does.
    api.emit(AccessMode::Test, "mandate.created", json!({"id": "m"}));
    api.emit(AccessMode::Test, "claim.updated", json!({"id": "c2"}));
    rx.wait_for(2).await;
    assert_eq!(rx.get(1).header("x-paywise-event"), "claim.updated");
    assert_eq!(rx.count(), 2);
    assert_eq!(other.count(), 0);
    let (_, page) = api
        .get(&format!("/v1/webhooks/{wid}/deliveries/?event=claim.updated"))
        .await;
    assert_eq!(page["count"], 1);
}

#[tokio::test]
async fn claims_created_through_the_api_are_delivered() {
    let api = Api::start().await;
    let rx = Receiver::start(&[], None).await;
    api.endpoint(AccessMode::Test, &rx.url, &["claim.created"], json!({}))
        .await;
    let (s, debtor) = api
        .post(
            "/v1/debtors/",
            json!({"your_reference": "wh-1", "acting_as": "business", "organization": {"name": "Muster GmbH"},
                   "addresses": [{"street": "Hauptstr. 1", "zip": "10115", "city": "Berlin", "country": "DE"}]}),
        )
        .await;
    assert_eq!(s, 201, "{debtor}");
    let (s, claim) = api
        .post(
            "/v1/claims/",
            json!({"debtor": debtor["id"], "main_claim_amount": {"value": "10.00", "currency": "EUR"},
                   "total_claim_amount": {"value": "10.00", "currency": "EUR"},
                   "your_reference": null, "subject_matter": null, "occurence_date": null, "document_reference": null, "document_date": null, "due_date": null, "reminder_date": null, "delay_date": null, "starting_approach": "extrajudicial", "claim_disputed": false, "obligation_fulfilled": true}),
        )
        .await;
    assert_eq!(s, 201, "{claim}");
    rx.wait_for(1).await;
    let body = rx.get(0).json();
    assert_eq!(body["event"], "claim.created");
    assert_eq!(body["data"]["id"], claim["id"]);
    assert_eq!(body["data"]["access_mode"], "test");
}

#[tokio::test]
async fn test_mode_events_never_reach_production_endpoints() {
    let api = Api::start().await;
    let test_rx = Receiver::start(&[], None).await;
    let prod_rx = Receiver::start(&[], None).await;
    let t = api
        .endpoint(AccessMode::Test, &test_rx.url, &["claim.created"], json!({}))
        .await;
    let p = api
        .endpoint(AccessMode::Production, &prod_rx.url, &["claim.created"], json!({}))
        .await;
    assert_eq!(p["access_mode"], "production");
    api.emit(AccessMode::Test, "claim.created", claim_object());
    test_rx.wait_for(1).await;
    api.wait_delivery(&id(&t), |d| d["status"] == "success").await;
    // Deliveries of one event are recorded together, so the production endpoint had its chance.
    assert_eq!(prod_rx.count(), 0);
    assert!(api.deliveries(&id(&p), AccessMode::Production).await.is_empty());
    // And the other way round.
    api.emit(AccessMode::Production, "claim.created", claim_object());
    prod_rx.wait_for(1).await;
    assert_eq!(prod_rx.get(0).json()["data"]["access_mode"], "production");
    assert_eq!(test_rx.count(), 1);
    // A production delivery is not visible to the test token.
    let prod_deliveries = api.deliveries(&id(&p), AccessMode::Production).await;
    assert_eq!(prod_deliveries.len(), 1);
    let (s, _) = api
        .get(&format!(
            "/v1/webhooks/{}/deliveries/{}/",
            id(&p),
            id(&prod_deliveries[0])
        ))
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn failures_are_retried_after_1_5_and_15_minutes_on_the_mock_clock() {
    let api = Api::start().await;
    let rx = Receiver::start(&[500, 503], None).await;
    let w = api
        .endpoint(AccessMode::Test, &rx.url, &["payment.created"], json!({}))
        .await;
    let wid = id(&w);
    api.emit(AccessMode::Test, "payment.created", json!({"id": "p1"}));
    rx.wait_for(1).await;
    let d = api.wait_delivery(&wid, |d| d["attempts"] == 1).await;
    assert_eq!(d["status"], "pending");
    assert_eq!(d["response_status"], 500);
    assert_eq!(d["error"], "HTTP 500.");
    let last = chrono::DateTime::parse_from_rfc3339(d["last_attempt_at"].as_str().expect("last")).expect("ts");
    let next = chrono::DateTime::parse_from_rfc3339(d["next_attempt_at"].as_str().expect("next")).expect("ts");
    assert_eq!(next - last, chrono::Duration::minutes(1));
    let (_, ep) = api.get(&format!("/v1/webhooks/{wid}/")).await;
    assert_eq!(ep["consecutive_failures"], 1);
    assert_eq!(ep["last_failure_at"], d["last_attempt_at"]);
    assert_eq!(ep["enabled"], true);

    // Not before the minute is over (on the mock's clock).
    api.advance_minutes(1);
    rx.wait_for(2).await;
    let d = api.wait_delivery(&wid, |d| d["attempts"] == 2).await;
    assert_eq!(d["response_status"], 503);
    let last = chrono::DateTime::parse_from_rfc3339(d["last_attempt_at"].as_str().expect("last")).expect("ts");
    let next = chrono::DateTime::parse_from_rfc3339(d["next_attempt_at"].as_str().expect("next")).expect("ts");
    assert_eq!(next - last, chrono::Duration::minutes(5));
    let (_, ep) = api.get(&format!("/v1/webhooks/{wid}/")).await;
    assert_eq!(ep["consecutive_failures"], 2);

    api.advance_minutes(5);
    rx.wait_for(3).await;
    let d = api.wait_delivery(&wid, |d| d["status"] == "success").await;
    assert_eq!(d["attempts"], 3);
    assert_eq!(d["response_status"], 200);
    assert_eq!(d["error"], Value::Null);
    assert_eq!(d["next_attempt_at"], Value::Null);
    // Every attempt carried the same delivery id, body and signature.
    let first = rx.get(0);
    for i in 1..3 {
        let again = rx.get(i);
        assert_eq!(again.body, first.body);
        assert_eq!(
            again.header("x-paywise-delivery-id"),
            first.header("x-paywise-delivery-id")
        );
        assert_eq!(again.header("x-paywise-signature"), first.header("x-paywise-signature"));
    }
    // Success resets the count.
    let (_, ep) = api.get(&format!("/v1/webhooks/{wid}/")).await;
    assert_eq!(ep["consecutive_failures"], 0);
    assert_eq!(ep["enabled"], true);
    assert_eq!(rx.count(), 3);
}

#[tokio::test]
async fn a_delivery_fails_permanently_after_three_retries() {
    let api = Api::start().await;
    let rx = Receiver::start(&[500; 10], None).await;
    let w = api
        .endpoint(AccessMode::Test, &rx.url, &["statement.created"], json!({}))
        .await;
    let wid = id(&w);
    api.emit(AccessMode::Test, "statement.created", json!({"id": "s1"}));
    rx.wait_for(1).await;
    api.wait_delivery(&wid, |d| d["attempts"] == 1).await;
    for (n, minutes) in [(2, 1), (3, 5), (4, 15)] {
        api.advance_minutes(minutes);
        rx.wait_for(n).await;
        api.wait_delivery(&wid, |d| d["attempts"] == n).await;
    }
    let d = api.wait_delivery(&wid, |d| d["status"] == "failed").await;
    assert_eq!(d["attempts"], 4);
    assert_eq!(d["next_attempt_at"], Value::Null);
    let (_, ep) = api.get(&format!("/v1/webhooks/{wid}/")).await;
    assert_eq!(ep["consecutive_failures"], 4);
    assert_eq!(ep["enabled"], true);
    let (_, page) = api.get(&format!("/v1/webhooks/{wid}/deliveries/?status=failed")).await;
    assert_eq!(page["count"], 1);
    let (_, page) = api.get(&format!("/v1/webhooks/{wid}/deliveries/?status=pending")).await;
    assert_eq!(page["count"], 0);
}

#[tokio::test]
async fn endpoints_are_disabled_after_max_consecutive_failures_and_reenabling_resets() {
    let api = Api::start().await;
    let rx = Receiver::start(&[500; 10], None).await;
    let w = api
        .endpoint(
            AccessMode::Test,
            &rx.url,
            &["mandate.updated"],
            json!({"max_consecutive_failures": 2}),
        )
        .await;
    let wid = id(&w);
    let path = format!("/v1/webhooks/{wid}/");
    api.emit(AccessMode::Test, "mandate.updated", json!({"id": "m1"}));
    api.wait_delivery(&wid, |d| d["attempts"] == 1).await;
    api.advance_minutes(1);
    api.wait_delivery(&wid, |d| d["attempts"] == 2).await;
    let (_, ep) = api.get(&path).await;
    assert_eq!(ep["enabled"], false);
    assert_eq!(ep["consecutive_failures"], 2);
    assert!(ep["last_failure_at"].is_string());
    // The pending retry is given up without calling the receiver.
    api.advance_minutes(5);
    let d = api.wait_delivery(&wid, |d| d["status"] == "failed").await;
    assert_eq!(d["attempts"], 2);
    assert_eq!(rx.count(), 2);
    // A disabled endpoint gets no new deliveries. (A second, enabled endpoint shows when the
    // event has been fanned out: all endpoints of one event are served together.)
    let marker = api
        .endpoint(
            AccessMode::Test,
            // Never reached (nothing listens on port 1): it only shows the fan-out.
            "https://127.0.0.1:1/marker",
            &["mandate.updated"],
            json!({}),
        )
        .await;
    api.emit(AccessMode::Test, "mandate.updated", json!({"id": "m2"}));
    let start = Instant::now();
    while api.deliveries(&id(&marker), AccessMode::Test).await.is_empty() {
        assert!(start.elapsed() < Duration::from_secs(10), "m2 was never fanned out");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(api.deliveries(&wid, AccessMode::Test).await.len(), 1);
    let (_, page) = api.get("/v1/webhooks/?enabled=false").await;
    assert_eq!(page["count"], 1);
    // Re-enabling resets the count; the next event is delivered again.
    let (s, ep) = api.patch(&path, json!({"enabled": true})).await;
    assert_eq!(s, 200);
    assert_eq!(
        (ep["enabled"].clone(), ep["consecutive_failures"].clone()),
        (json!(true), json!(0))
    );
    api.emit(AccessMode::Test, "mandate.updated", json!({"id": "m3"}));
    rx.wait_for(3).await;
    assert_eq!(rx.get(2).json()["data"]["id"], "m3");
    let all = api.deliveries(&wid, AccessMode::Test).await;
    assert_eq!(all.len(), 2, "m2 was never recorded: {all:?}");
}

#[tokio::test]
async fn redirects_are_failures_and_not_followed() {
    let api = Api::start().await;
    let rx = Receiver::start(&[302], None).await;
    let w = api
        .endpoint(AccessMode::Test, &rx.url, &["claim.created"], json!({}))
        .await;
    api.emit(AccessMode::Test, "claim.created", claim_object());
    let d = api.wait_delivery(&id(&w), |d| d["attempts"] == 1).await;
    assert_eq!(d["status"], "pending");
    assert_eq!(d["response_status"], 302);
    assert!(d["error"].as_str().expect("error").contains("redirect"), "{d}");
    assert_eq!(rx.count(), 1);
}

#[tokio::test]
async fn unreachable_http_and_https_receivers_are_failed_attempts() {
    let api = Api::start().await;
    // A port nobody listens on, over http and https (receivers behind TLS: tests/all/webhooks_tls.rs).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead = format!("http://{}/x", listener.local_addr().expect("addr"));
    drop(listener);
    let a = api
        .endpoint(AccessMode::Test, &dead, &["claim.created"], json!({}))
        .await;
    let b = api
        .endpoint(
            AccessMode::Test,
            &dead.replacen("http://", "https://", 1),
            &["claim.created"],
            json!({}),
        )
        .await;
    api.emit(AccessMode::Test, "claim.created", claim_object());
    for w in [&a, &b] {
        let d = api.wait_delivery(&id(w), |d| d["attempts"] == 1).await;
        assert_eq!(d["response_status"], Value::Null);
        assert!(
            d["error"].as_str().expect("error").starts_with("Connection failed: "),
            "{d}"
        );
        assert_eq!(d["status"], "pending");
    }
}

#[tokio::test]
async fn a_receiver_that_does_not_answer_times_out_on_the_mock_clock() {
    let api = Api::start().await;
    let hold = Arc::new(Notify::new());
    let rx = Receiver::start(&[], Some(hold.clone())).await;
    let w = api
        .endpoint(AccessMode::Test, &rx.url, &["claim.created"], json!({}))
        .await;
    api.emit(AccessMode::Test, "claim.created", claim_object());
    rx.wait_for(1).await;
    api.m.state().clock.advance(chrono::Duration::seconds(31));
    let d = api.wait_delivery(&id(&w), |d| d["attempts"] == 1).await;
    assert_eq!(d["error"], "No response within 30 seconds.");
    assert_eq!(d["status"], "pending");
    hold.notify_waiters();
}

#[tokio::test]
async fn a_slow_receiver_never_slows_the_api() {
    let api = Api::start().await;
    let hold = Arc::new(Notify::new());
    let slow = Receiver::start(&[], Some(hold.clone())).await;
    let fast = Receiver::start(&[], None).await;
    api.endpoint(AccessMode::Test, &slow.url, &["claim.created"], json!({}))
        .await;
    api.emit(AccessMode::Test, "claim.created", claim_object());
    slow.wait_for(1).await;
    // The slow delivery is in flight: requests and other deliveries go on.
    let start = Instant::now();
    for _ in 0..20 {
        let (s, _) = api.get("/v1/webhooks/").await;
        assert_eq!(s, 200);
    }
    api.endpoint(AccessMode::Test, &fast.url, &["payment.created"], json!({}))
        .await;
    api.emit(AccessMode::Test, "payment.created", json!({"id": "p"}));
    fast.wait_for(1).await;
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "API requests took {:?} while a receiver hung",
        start.elapsed()
    );
    hold.notify_waiters();
}

// ---------------------------------------------------------------------------------------------
// Inferred: test events and delivery inspection
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn test_events_are_sent_once_and_do_not_count_failures() {
    let api = Api::start().await;
    let rx = Receiver::start(&[200, 500], None).await;
    let w = api
        .endpoint(
            AccessMode::Test,
            &rx.url,
            &["mandate.closed", "claim.created"],
            json!({}),
        )
        .await;
    let wid = id(&w);
    let secret = w["secret_key"].as_str().expect("secret").to_string();
    let path = format!("/v1/webhooks/{wid}/test/");

    // Without a body: the first subscribed type.
    let res = api
        .client
        .post(api.url(&path))
        .bearer_auth(api.m.token())
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 201);
    let d: Value = res.json().await.expect("json");
    assert_eq!(d["event"], "mandate.closed");
    assert_eq!(d["test"], true);
    assert!(
        ["pending", "success"].contains(&d["status"].as_str().expect("status")),
        "{d}"
    );
    rx.wait_for(1).await;
    let got = rx.get(0);
    assert_eq!(got.header("x-paywise-event"), "mandate.closed");
    assert_eq!(got.header("x-paywise-delivery-id"), d["id"].as_str().expect("id"));
    assert_eq!(
        got.header("x-paywise-signature"),
        format!("sha256={}", hmac_hex(&secret, &got.body))
    );
    assert_eq!(got.json()["data"]["test"], true);
    assert_eq!(got.json()["data"]["access_mode"], "test");

    // Any documented type may be named; a failure is not retried and not counted.
    let (s, d2) = api.post(&path, json!({"event": "payment.updated"})).await;
    assert_eq!(s, 201);
    rx.wait_for(2).await;
    assert_eq!(rx.get(1).header("x-paywise-event"), "payment.updated");
    let start = Instant::now();
    let failed = loop {
        let (_, d) = api.get(&format!("/v1/webhooks/{wid}/deliveries/{}/", id(&d2))).await;
        if d["status"] == "failed" {
            break d;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{d}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(failed["attempts"], 1);
    assert_eq!(failed["next_attempt_at"], Value::Null);
    let (_, ep) = api.get(&format!("/v1/webhooks/{wid}/")).await;
    assert_eq!(ep["consecutive_failures"], 0);
    assert_eq!(ep["last_failure_at"], Value::Null);

    // Even a disabled endpoint can be tested.
    api.patch(&format!("/v1/webhooks/{wid}/"), json!({"enabled": false}))
        .await;
    let (s, _) = api.post(&path, json!({"event": "claim.created"})).await;
    assert_eq!(s, 201);
    rx.wait_for(3).await;

    let (s, v) = api.post(&path, json!({"event": "nope"})).await;
    assert_eq!((s, v), (400, json!({"event": ["\"nope\" is not a valid choice."]})));
    let (s, _) = api
        .post("/v1/webhooks/00000000-0000-4000-8000-000000000000/test/", json!({}))
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn delivery_inspection_filters_and_errors() {
    let api = Api::start().await;
    let rx = Receiver::start(&[], None).await;
    let w = api
        .endpoint(
            AccessMode::Test,
            &rx.url,
            &["claim.created", "claim.updated"],
            json!({}),
        )
        .await;
    let other = api
        .endpoint(
            AccessMode::Test,
            "https://example.com/o",
            &["payment.created"],
            json!({}),
        )
        .await;
    let wid = id(&w);
    for kind in ["claim.created", "claim.updated", "claim.updated"] {
        api.emit(AccessMode::Test, kind, claim_object());
    }
    rx.wait_for(3).await;
    let start = Instant::now();
    while api
        .deliveries(&wid, AccessMode::Test)
        .await
        .iter()
        .any(|d| d["status"] != "success")
    {
        assert!(start.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let base = format!("/v1/webhooks/{wid}/deliveries/");
    let (_, page) = api.get(&format!("{base}?limit=2")).await;
    assert_eq!(page["count"], 3);
    assert_eq!(page["next"], api.url(&format!("{base}?limit=2&offset=2")));
    let (_, page) = api.get(&format!("{base}?event=claim.updated&status=success")).await;
    assert_eq!(page["count"], 2);
    let (s, v) = api.get(&format!("{base}?status=done&event=x")).await;
    assert_eq!(
        (s, v),
        (
            400,
            json!({"status": ["Select a valid choice. done is not one of the available choices."],
                   "event": ["Select a valid choice. x is not one of the available choices."]})
        )
    );
    // A delivery is found only under its own endpoint.
    let first = id(&page["results"][0]);
    let (s, _) = api
        .get(&format!("/v1/webhooks/{}/deliveries/{first}/", id(&other)))
        .await;
    assert_eq!(s, 404);
    let (s, _) = api.get(&format!("{base}not-a-uuid/")).await;
    assert_eq!(s, 404);
    let (s, _) = api
        .get("/v1/webhooks/00000000-0000-4000-8000-000000000000/deliveries/")
        .await;
    assert_eq!(s, 404);
    assert!(api.deliveries(&id(&other), AccessMode::Test).await.is_empty());
}

#[tokio::test]
async fn secrets_do_not_follow_from_the_seed() {
    // Two mocks of the same seed hand out the same ids but different secrets (v1 and v2): a user
    // who knows the public seed cannot forge a signature.
    let (a, b) = (Api::start().await, Api::start().await);
    let body = json!({"url": "https://example.com/hooks", "events": ["claim.created"]});
    let (_, x) = a.post("/v1/webhooks/", body.clone()).await;
    let (_, y) = b.post("/v1/webhooks/", body).await;
    assert_eq!(x["id"], y["id"], "the same seed gives the same ids");
    let (sx, sy) = (x["secret_key"].as_str(), y["secret_key"].as_str());
    assert!(sx.is_some_and(|s| s.len() == 64), "{x}");
    assert_ne!(sx, sy, "the secret follows from the seed");
    let v2 = json!({"url": "https://example.com/v2", "events": ["order.submitted"]});
    let create = |api: &Api, key: &'static str| {
        api.client
            .post(api.url("/v2/webhooks/"))
            .bearer_auth(api.token(AccessMode::Test))
            .header("Idempotency-Key", key)
            .json(&v2)
            .send()
    };
    let key = "0b6f1c1e-9d43-4c55-9a53-3d1a4f0e7b21";
    let x: Value = create(&a, key).await.expect("sent").json().await.expect("json");
    let y: Value = create(&b, key).await.expect("sent").json().await.expect("json");
    let (sx, sy) = (x["secret_key"].as_str(), y["secret_key"].as_str());
    assert!(sx.is_some_and(|s| s.starts_with("whsec_")), "{x}");
    assert_ne!(sx, sy, "the v2 secret follows from the seed");
}
