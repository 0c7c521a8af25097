//! The control plane (`/_mock/...`, see `mock_core::control`) against the Payt mock, over HTTP and
//! through the Rust handle: worlds by header and by base-URL prefix, links that keep the prefix,
//! the world cap, reset, snapshots, the request journal, fault rules (and their deterministic
//! replay), the emulated rate limit, the clock, the mock without a control API, and the OpenAPI
//! document of the control API checked against the routes and the live answers.
//!
//! Every mock here runs on the shared test clock (`MockPayt::test()`), most on a frozen one.

use std::time::{Duration, Instant};

use jsonschema::Draft;
use mock_core::journal::Verify;
use mock_core::pattern::PathPattern;
use mock_core::testing::{at, epoch, frozen};
use mock_core::world::WorldError;
use mock_payt::resources::companies::{CLIENT_ID, CLIENT_SECRET};
use mock_payt::{MockPayt, MockPaytBuilder, READONLY_TOKEN};
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

const WORLD: &str = "x-mock-world";

/// A small but complete PDF, for the upload flow.
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\nxref\n0 3\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \ntrailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n110\n%%EOF\n";

/// One answer, read whole.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: HeaderMap,
    bytes: Vec<u8>,
    /// The body as JSON (`Null` when it is not JSON).
    json: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// The `{"error": {"code", "message"}}` of a control-API refusal, checked for its shape.
    fn control_error(&self) -> (&str, &str) {
        let e = &self.json["error"];
        assert_eq!(self.json.as_object().map(|o| o.len()), Some(1), "{}", self.json);
        match (e["code"].as_str(), e["message"].as_str()) {
            (Some(c), Some(m)) if !m.is_empty() => (c, m),
            _ => panic!("not a control-API error: {}", self.json),
        }
    }

    /// The `{"code", "message"}` of a Payt error, checked for its shape (nothing else in it).
    fn payt_error(&self) -> (&str, &str) {
        let keys: Vec<&str> = self
            .json
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(keys, ["code", "message"], "not Payt's error shape: {}", self.text());
        match (self.json["code"].as_str(), self.json["message"].as_str()) {
            (Some(c), Some(m)) if !m.is_empty() => (c, m),
            _ => panic!("not a Payt error: {}", self.json),
        }
    }
}

async fn send(rb: RequestBuilder) -> Answer {
    let res = rb.send().await.expect("the mock answers");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.expect("a whole body").to_vec();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        bytes,
        json,
    }
}

struct T {
    m: MockPayt,
    http: reqwest::Client,
}

impl T {
    /// A mock on the frozen test clock.
    async fn new() -> Self {
        Self::with(MockPayt::test().clock(frozen())).await
    }

    /// A mock of size 0 (the tenants, no debtors or invoices) on the frozen test clock: for
    /// tests that move whole snapshots over HTTP, which take about a second each at size 1 in a
    /// debug build (6.7 MB of JSON).
    async fn small() -> Self {
        Self::with(MockPayt::test().clock(frozen()).size(0)).await
    }

    async fn with(builder: MockPaytBuilder) -> Self {
        Self {
            m: builder.start().await,
            http: reqwest::Client::new(),
        }
    }

    fn uri(&self) -> String {
        self.m.uri()
    }

    /// The base URL of world `name` by prefix.
    fn prefix(&self, name: &str) -> String {
        format!("{}/_mock/w/{name}", self.m.uri())
    }

    /// A Payt API request on `base` (the mock's URI or a world prefix) with the main token.
    fn api(&self, method: Method, base: &str, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{base}{path}"))
            .bearer_auth(self.m.token())
    }

    /// A control request (no token) on the mock's URI.
    fn control(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.m.uri()))
    }

    async fn get_json(&self, path: &str) -> Value {
        let a = send(self.control(Method::GET, path)).await;
        assert_eq!(a.status, 200, "GET {path}: {}", a.text());
        a.json
    }

    /// Creates debtor `number` in administration 81 (on `base`, in the world `world` names).
    async fn create_debtor(&self, base: &str, world: Option<&str>, number: &str) -> Answer {
        let rb = self.api(Method::POST, base, "/v1/debtors").json(&json!({
            "administration_id": 81,
            "debtors": [{"debtor_number": number, "debtor_identifier": format!("ext-{number}"), "name": format!("Debtor {number}")}],
        }));
        send(with_world(rb, world)).await
    }

    async fn must_create_debtor(&self, base: &str, world: Option<&str>, number: &str) {
        let a = self.create_debtor(base, world, number).await;
        assert_eq!(a.status, 201, "{}", a.text());
        assert_eq!(a.json["count"], 1, "{}", a.json);
    }

    /// Whether debtor `number` is listed in administration 81.
    async fn has_debtor(&self, base: &str, world: Option<&str>, number: &str) -> bool {
        let rb = self
            .api(Method::GET, base, "/v1/debtors")
            .query(&[("administration_id", "81"), ("debtor_numbers", number)]);
        let a = send(with_world(rb, world)).await;
        assert_eq!(a.status, 200, "{}", a.text());
        let data = a.json["data"].as_array().expect("a page");
        assert!(data.len() <= 1, "{}", a.json);
        !data.is_empty()
    }

    /// The journal of a world (`None`: default), with the query `query`.
    async fn journal(&self, world: Option<&str>, query: &[(&str, &str)]) -> Vec<Value> {
        let a = send(with_world(
            self.control(Method::GET, "/_mock/journal").query(query),
            world,
        ))
        .await;
        assert_eq!(a.status, 200, "{}", a.text());
        a.json["entries"].as_array().cloned().expect("entries")
    }

    /// Adds fault rule `rule` to a world; the rule as listed.
    async fn add_fault(&self, world: Option<&str>, rule: Value) -> Value {
        let a = send(with_world(
            self.control(Method::POST, "/_mock/faults").json(&rule),
            world,
        ))
        .await;
        assert_eq!(a.status, 201, "{rule}: {}", a.text());
        a.json
    }

    /// `POST /_mock/clock` in a world; the clock as answered.
    async fn clock_action(&self, world: Option<&str>, body: Value) -> Value {
        let a = send(with_world(
            self.control(Method::POST, "/_mock/clock").json(&body),
            world,
        ))
        .await;
        assert_eq!(a.status, 200, "{body}: {}", a.text());
        a.json
    }

    async fn clock_now(&self, world: Option<&str>) -> String {
        let a = send(with_world(self.control(Method::GET, "/_mock/clock"), world)).await;
        assert_eq!(a.status, 200, "{}", a.text());
        a.json["now"].as_str().expect("now").to_string()
    }

    async fn snapshot(&self, world: Option<&str>) -> Value {
        let a = send(with_world(self.control(Method::GET, "/_mock/snapshot"), world)).await;
        assert_eq!(a.status, 200, "{}", a.text());
        a.json
    }

    async fn put_snapshot(&self, world: Option<&str>, snapshot: &Value) -> Answer {
        send(with_world(
            self.control(Method::PUT, "/_mock/snapshot").json(snapshot),
            world,
        ))
        .await
    }

    /// A plain authenticated GET of administrations (the cheapest request with a token).
    async fn administrations(&self, world: Option<&str>, token: &str) -> Answer {
        let rb = self
            .http
            .get(format!("{}/v1/administrations", self.m.uri()))
            .bearer_auth(token);
        send(with_world(rb, world)).await
    }

    /// `POST /v1/files` registering `content`; the answer.
    async fn register_file(&self, base: &str, content: &[u8]) -> Answer {
        send(self.api(Method::POST, base, "/v1/files").json(&json!({
            "administration_id": "81",
            "files": [{
                "checksum": mock_payt::storage::checksum(content),
                "byte_size": content.len(),
                "content_type": "application/pdf",
            }],
        })))
        .await
    }
}

fn with_world(rb: RequestBuilder, world: Option<&str>) -> RequestBuilder {
    match world {
        Some(w) => rb.header(WORLD, w),
        None => rb,
    }
}

/// Every string in `value` that is an absolute URL.
fn absolute_urls(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if s.starts_with("http://") || s.starts_with("https://") => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| absolute_urls(v, out)),
        Value::Object(map) => map.values().for_each(|v| absolute_urls(v, out)),
        _ => {}
    }
}

fn names(list: &Value) -> Vec<String> {
    list["worlds"]
        .as_array()
        .expect("worlds")
        .iter()
        .map(|w| w["name"].as_str().expect("a name").to_string())
        .collect()
}

fn statuses(entries: &[Value]) -> Vec<u64> {
    entries
        .iter()
        .map(|e| e["response"]["status"].as_u64().expect("a status"))
        .collect()
}

fn header_of<'a>(entry: &'a Value, name: &str) -> Option<&'a str> {
    entry["headers"]
        .as_array()?
        .iter()
        .find(|h| h[0] == name)
        .and_then(|h| h[1].as_str())
}

// ------------------------------------------------------------------------------------------------
// 1. Worlds

#[tokio::test]
async fn a_debtor_written_in_a_world_is_seen_there_by_header_and_by_prefix_and_nowhere_else() {
    let t = T::new().await;
    let uri = t.uri();
    let a = t.prefix("a");

    t.must_create_debtor(&uri, Some("a"), "W-A").await;
    assert!(t.has_debtor(&uri, Some("a"), "W-A").await, "by header");
    assert!(t.has_debtor(&a, None, "W-A").await, "by prefix");
    assert!(
        t.has_debtor(&a, Some("a"), "W-A").await,
        "header and prefix naming the same world"
    );
    assert!(!t.has_debtor(&uri, None, "W-A").await, "not in default");
    assert!(
        !t.has_debtor(&uri, Some("default"), "W-A").await,
        "not in default by name"
    );
    assert!(!t.has_debtor(&uri, Some("b"), "W-A").await, "not in b");

    // A write through the prefix lands in the same world.
    t.must_create_debtor(&a, None, "W-A2").await;
    assert!(t.has_debtor(&uri, Some("a"), "W-A2").await);
    assert!(!t.has_debtor(&uri, None, "W-A2").await);
    assert!(!t.has_debtor(&t.prefix("b"), None, "W-A2").await);

    // The handle sees the same worlds.
    let world_a = t.m.world("a").expect("a valid name");
    assert_eq!(world_a.uri(), a);
    assert!(
        world_a
            .state()
            .store
            .read(|db| db.debtors.iter(&81).any(|d| d.debtor_number == "W-A"))
    );
    assert!(
        !t.m.state()
            .store
            .read(|db| db.debtors.iter(&81).any(|d| d.debtor_number == "W-A"))
    );
}

#[tokio::test]
async fn the_world_list_shows_seed_size_and_anchor_and_a_dropped_world_comes_back_seeded() {
    let t = T::new().await;
    let uri = t.uri();
    t.must_create_debtor(&uri, Some("a"), "W-L").await;
    assert_eq!(t.administrations(Some("b"), t.m.token()).await.status, 200);

    let list = t.get_json("/_mock/worlds").await;
    assert_eq!(list["vendor"], "payt");
    assert_eq!(list["max_worlds"], 64);
    assert_eq!(names(&list), ["a", "b", "default"]);
    for w in list["worlds"].as_array().expect("worlds") {
        assert_eq!(w["seed"], 42, "{w}");
        assert_eq!(w["size"], 1, "{w}");
        assert_eq!(w["anchor"], "2026-11-01", "{w}");
        assert_eq!(w["clock"]["now"], "2026-11-01T09:00:00.000Z", "{w}");
        assert_eq!(w["clock"]["frozen"], true, "{w}");
    }
    let a = t.get_json("/_mock/worlds/a").await;
    assert_eq!(a["name"], "a");
    assert_eq!(a["journal_entries"], 1, "the POST");

    let gone = send(t.control(Method::DELETE, "/_mock/worlds/a")).await;
    assert_eq!(gone.status, 204, "{}", gone.text());
    let missing = send(t.control(Method::GET, "/_mock/worlds/a")).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.control_error().0, "unknown_world");
    assert_eq!(names(&t.get_json("/_mock/worlds").await), ["b", "default"]);
    let again = send(t.control(Method::DELETE, "/_mock/worlds/a")).await;
    assert_eq!((again.status, again.control_error().0), (404, "unknown_world"));

    // Named again, `a` is made afresh from the seed: the debtor is gone.
    assert!(!t.has_debtor(&uri, Some("a"), "W-L").await);
    assert_eq!(names(&t.get_json("/_mock/worlds").await), ["a", "b", "default"]);

    // DELETE /_mock/worlds drops them all; the default world is made again on its next use.
    assert_eq!(send(t.control(Method::DELETE, "/_mock/worlds")).await.status, 204);
    assert_eq!(names(&t.get_json("/_mock/worlds").await), Vec::<String>::new());
    assert_eq!(t.administrations(None, t.m.token()).await.status, 200);
    assert_eq!(names(&t.get_json("/_mock/worlds").await), ["default"]);
}

#[tokio::test]
async fn header_and_prefix_naming_different_worlds_is_a_400_in_payts_shape() {
    let t = T::new().await;
    let a = send(
        t.api(Method::GET, &t.prefix("a"), "/v1/debtors")
            .query(&[("administration_id", "81")])
            .header(WORLD, "b"),
    )
    .await;
    assert_eq!(a.status, 400, "{}", a.text());
    let (code, message) = a.payt_error();
    assert_eq!(code, "invalid_world");
    assert!(message.contains("\"a\"") && message.contains("\"b\""), "{message}");
    // Neither world was made.
    assert_eq!(names(&t.get_json("/_mock/worlds").await), ["default"]);
}

#[tokio::test]
async fn invalid_world_names_are_a_400_saying_which_names_are_allowed() {
    let t = T::new().await;
    let long = "x".repeat(65);
    for name in ["bad/name", "has space", long.as_str(), "ümlaut"] {
        let rb = t
            .http
            .get(format!("{}/v1/administrations", t.uri()))
            .bearer_auth(t.m.token());
        let rb = if name.is_ascii() {
            rb.header(WORLD, name)
        } else {
            rb.header(
                WORLD,
                reqwest::header::HeaderValue::from_bytes(name.as_bytes()).expect("bytes"),
            )
        };
        let a = send(rb).await;
        assert_eq!(a.status, 400, "{name}: {}", a.text());
        let (code, message) = a.payt_error();
        assert_eq!(code, "invalid_world", "{name}");
        assert!(
            message.contains("1 to 64 letters, digits, '.', '_' or '-'"),
            "{name}: {message}"
        );
    }
    // By prefix too.
    let a = send(t.api(
        Method::GET,
        &format!("{}/_mock/w/bad%20name", t.uri()),
        "/v1/administrations",
    ))
    .await;
    assert_eq!(a.status, 400, "{}", a.text());
    assert!(a.payt_error().1.contains("letters, digits"), "{}", a.text());
    // And on the control API's own route.
    let a = send(
        t.control(Method::POST, "/_mock/worlds")
            .json(&json!({"name": "bad/name"})),
    )
    .await;
    assert_eq!(a.status, 400, "{}", a.text());
    let (code, message) = a.control_error();
    assert_eq!(code, "invalid_world");
    assert!(message.contains("letters, digits"), "{message}");
    // A control route named with a bad world answers in the control API's shape.
    let a = send(t.control(Method::GET, "/_mock/journal").header(WORLD, "bad/name")).await;
    assert_eq!(a.status, 400, "{}", a.text());
    assert_eq!(a.control_error().0, "invalid_world");
    assert_eq!(names(&t.get_json("/_mock/worlds").await), ["default"]);
}

#[tokio::test]
async fn post_worlds_makes_a_world_from_the_given_seed_and_size_and_a_second_post_is_409() {
    let t = T::new().await;
    let made = send(
        t.control(Method::POST, "/_mock/worlds")
            .json(&json!({"name": "x", "seed": 7, "size": 0})),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.text());
    assert_eq!(
        (&made.json["name"], &made.json["seed"], &made.json["size"]),
        (&json!("x"), &json!(7), &json!(0))
    );
    let shown = t.get_json("/_mock/worlds/x").await;
    assert_eq!(
        (&shown["seed"], &shown["size"], &shown["anchor"]),
        (&json!(7), &json!(0), &json!("2026-11-01"))
    );
    // Size 0: the tenants, no debtors.
    let page = send(
        t.api(Method::GET, &t.prefix("x"), "/v1/debtors")
            .query(&[("administration_id", "81")]),
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert_eq!(page.json["data"], json!([]));

    let twice = send(t.control(Method::POST, "/_mock/worlds").json(&json!({"name": "x"}))).await;
    assert_eq!(twice.status, 409);
    let (code, message) = twice.control_error();
    assert_eq!(code, "world_exists");
    assert!(message.contains("\"x\""), "{message}");

    let nameless = send(t.control(Method::POST, "/_mock/worlds").json(&json!({"seed": 1}))).await;
    assert_eq!((nameless.status, nameless.control_error().0), (400, "invalid_request"));
    let too_big = send(
        t.control(Method::POST, "/_mock/worlds")
            .json(&json!({"name": "y", "size": 101})),
    )
    .await;
    assert_eq!(too_big.status, 400);
    assert!(too_big.control_error().1.contains("at most 100"), "{}", too_big.text());
}

// ------------------------------------------------------------------------------------------------
// 2. Links under a prefix

#[tokio::test]
async fn every_absolute_url_under_a_world_prefix_keeps_the_prefix_and_leads_back_into_that_world() {
    let t = T::new().await;
    let uri = t.uri();
    let p = t.prefix("p");
    let in_p = format!("{p}/");
    let mut seen = Vec::new();
    let assert_prefixed = |value: &Value, seen: &mut Vec<String>| {
        let mut urls = Vec::new();
        absolute_urls(value, &mut urls);
        for u in &urls {
            assert!(u.starts_with(&in_p), "{u} does not keep the prefix {in_p}");
        }
        seen.extend(urls);
    };

    // The upload URL of POST /v1/files.
    let slots = t.register_file(&p, PDF).await;
    assert_eq!(slots.status, 201, "{}", slots.text());
    assert_prefixed(&slots.json, &mut seen);
    let upload = slots.json[0]["url"].as_str().expect("an upload url").to_string();
    assert!(
        upload.starts_with(&format!("{p}/_mock/payt/storage/uploads/")),
        "{upload}"
    );
    // Following it stores the file in world p, and only there.
    let put = send(
        t.http
            .put(&upload)
            .header("content-type", "application/pdf")
            .body(PDF.to_vec()),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.text());
    let again = t.register_file(&p, PDF).await;
    assert_eq!((again.status, &again.json), (201, &json!([])), "known in p");
    let elsewhere = t.register_file(&uri, PDF).await;
    assert_eq!(elsewhere.status, 201);
    assert_eq!(elsewhere.json.as_array().map(Vec::len), Some(1), "unknown in default");
    let default_slot = elsewhere.json[0]["url"].as_str().expect("a url");
    assert!(default_slot.starts_with(&format!("{uri}/_mock/payt/storage/uploads/")));

    // The administrations' administration_url.
    let admins = send(t.api(Method::GET, &p, "/v1/administrations")).await;
    assert_eq!(admins.status, 200);
    assert_prefixed(&admins.json, &mut seen);

    // A debtor's public_url and deeplink_url; following them reaches world p.
    t.must_create_debtor(&p, None, "W-P").await;
    let debtor = send(t.api(Method::GET, &p, "/v1/debtors/W-P").query(&[
        ("administration_id", "81"),
        ("identifier_type", "debtor_number"),
        ("fields", r#"{"only":["id","public_url","deeplink_url"]}"#),
    ]))
    .await;
    assert_eq!(debtor.status, 200, "{}", debtor.text());
    assert_prefixed(&debtor.json, &mut seen);
    for link in ["public_url", "deeplink_url"] {
        let url = debtor.json[link].as_str().expect("a link");
        assert!(url.starts_with(&format!("{p}/_mock/payt/")), "{url}");
        let page = send(t.http.get(url)).await;
        assert_eq!(page.status, 200, "{link}: {}", page.text());
        assert_eq!(page.json["id"], debtor.json["id"], "{}", page.json);
        // The same page in the default world: that debtor does not exist there.
        let there = send(t.http.get(url.replacen(&p, &uri, 1))).await;
        assert_eq!(there.status, 404, "{link} in default: {}", there.text());
    }

    // The uploaded file attached to an invoice: its document_url serves the bytes from world p.
    let invoices = send(
        t.api(Method::GET, &p, "/v1/invoices")
            .query(&[("administration_id", "81"), ("per_page", "1")]),
    )
    .await;
    assert_eq!(invoices.status, 200);
    assert_prefixed(&invoices.json, &mut seen);
    let number = invoices.json["data"][0]["invoice_number"]
        .as_str()
        .expect("an invoice")
        .to_string();
    let attached = send(t.api(Method::PATCH, &p, "/v1/invoices").json(&json!({
        "administration_id": "81",
        "invoices": [{"invoice_number": number, "document": {
            "checksum": mock_payt::storage::checksum(PDF), "filename": "control.pdf"}}],
    })))
    .await;
    assert_eq!(
        (attached.status, &attached.json["count"]),
        (200, &json!(1)),
        "{}",
        attached.text()
    );
    let shown = send(t.api(Method::GET, &p, &format!("/v1/invoices/{number}")).query(&[
        ("administration_id", "81"),
        ("identifier_type", "invoice_number"),
        (
            "fields",
            r#"{"only":["id","document_url","public_url","deeplink_url"]}"#,
        ),
    ]))
    .await;
    assert_eq!(shown.status, 200, "{}", shown.text());
    assert_prefixed(&shown.json, &mut seen);
    let doc = shown.json["document_url"].as_str().expect("a document_url");
    let served = send(t.http.get(doc)).await;
    assert_eq!(served.status, 200, "{}", served.text());
    assert_eq!(served.bytes, PDF);

    // A sign-up's sign_up_url (Basic credentials), followed.
    let form = [
        ("administration[city]", "Utrecht"),
        ("administration[commercial_registration_number]", "12345678"),
        ("administration[country_code]", "NL"),
        ("administration[email_address]", "info@prefix.example"),
        ("administration[house_number]", "3"),
        ("administration[name]", "Prefix B.V."),
        ("administration[phone_number]", "030 1234567"),
        ("administration[postal_code]", "3511 AB"),
        ("administration[street_name]", "Oudegracht"),
        ("user[first_name]", "Eva"),
        ("user[last_name]", "Wit"),
        ("user[email_address]", "eva@prefix.example"),
        ("connection[resource_label]", "Prefix"),
        ("connection[resource_identifier]", "p-1"),
    ];
    let signed = send(
        t.http
            .post(format!("{p}/v1/sign_up"))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .form(&form),
    )
    .await;
    assert_eq!(signed.status, 201, "{}", signed.text());
    assert_prefixed(&signed.json, &mut seen);
    let sign_up_url = signed.json["user"]["sign_up_url"].as_str().expect("a sign_up_url");
    assert_eq!(send(t.http.get(sign_up_url)).await.status, 200);
    assert_eq!(send(t.http.get(sign_up_url.replacen(&p, &uri, 1))).await.status, 404);

    assert!(seen.len() >= 8, "the answers carried links: {seen:?}");

    // A world named by header (no prefix) gets links without one: they reach it only with the
    // header, as the client sent it.
    let by_header = send(t.api(Method::GET, &uri, "/v1/administrations").header(WORLD, "p")).await;
    let mut urls = Vec::new();
    absolute_urls(&by_header.json, &mut urls);
    assert!(!urls.is_empty());
    assert!(
        urls.iter().all(|u| u.starts_with(&format!("{uri}/_mock/payt/"))),
        "{urls:?}"
    );
}

// ------------------------------------------------------------------------------------------------
// 3. The cap

#[tokio::test]
async fn beyond_max_worlds_a_new_world_is_refused_with_503_naming_the_limit() {
    let t = T::with(MockPayt::test().clock(frozen()).max_worlds(3)).await;
    assert_eq!(t.administrations(Some("w1"), t.m.token()).await.status, 200);
    assert_eq!(t.administrations(Some("w2"), t.m.token()).await.status, 200);
    let refused = t.administrations(Some("w3"), t.m.token()).await;
    assert_eq!(refused.status, 503, "{}", refused.text());
    let (code, message) = refused.payt_error();
    assert_eq!(code, "world_limit");
    assert!(message.contains("maximum of 3 worlds"), "{message}");
    assert!(message.contains("DELETE /_mock/worlds/{name}"), "{message}");
    // Existing worlds still serve.
    assert_eq!(t.administrations(Some("w1"), t.m.token()).await.status, 200);
    assert_eq!(t.administrations(None, t.m.token()).await.status, 200);

    let posted = send(t.control(Method::POST, "/_mock/worlds").json(&json!({"name": "w4"}))).await;
    assert_eq!(posted.status, 503);
    let (code, message) = posted.control_error();
    assert_eq!(code, "world_limit");
    assert!(message.contains("maximum of 3 worlds"), "{message}");
    assert!(t.m.world("w5").is_err_and(|e| e == WorldError::Limit(3)));

    // Dropping one makes room.
    assert_eq!(send(t.control(Method::DELETE, "/_mock/worlds/w1")).await.status, 204);
    assert_eq!(t.administrations(Some("w3"), t.m.token()).await.status, 200);
    assert_eq!(names(&t.get_json("/_mock/worlds").await), ["default", "w2", "w3"]);
}

// ------------------------------------------------------------------------------------------------
// 4. Reset

/// The first fixture debtor of administration 81: its `debtor_number` and `debtor_identifier`
/// (what an upsert of it names), and its show URL's path.
async fn fixture_debtor(t: &T, base: &str, world: Option<&str>) -> (Value, String) {
    let rb = t
        .api(Method::GET, base, "/v1/debtors")
        .query(&[("administration_id", "81"), ("per_page", "1")]);
    let a = send(with_world(rb, world)).await;
    assert_eq!(a.status, 200, "{}", a.text());
    let d = &a.json["data"][0];
    let keys = json!({"debtor_number": d["debtor_number"], "debtor_identifier": d["debtor_identifier"]});
    assert!(keys["debtor_identifier"].is_string(), "{d}");
    let id = d["id"].as_str().expect("an id").to_string();
    (keys, format!("/v1/debtors/{id}?administration_id=81"))
}

/// The answer's body, as text (compared byte for byte).
async fn raw_get(t: &T, base: &str, world: Option<&str>, path: &str) -> String {
    let a = send(with_world(t.api(Method::GET, base, path), world)).await;
    assert_eq!(a.status, 200, "{path}: {}", a.text());
    String::from_utf8(a.bytes).expect("a UTF-8 body")
}

/// Writes to a world: a new debtor `W-R`, a changed fixture debtor, a fault rule on
/// `GET /v1/vat_rates`, and a clock a day on.
async fn dirty(t: &T, world: Option<&str>, fixture: &Value) {
    let uri = t.uri();
    t.must_create_debtor(&uri, world, "W-R").await;
    let changed = send(with_world(
        t.api(Method::POST, &uri, "/v1/debtors").json(&json!({
            "administration_id": 81,
            "debtors": [{
                "debtor_number": fixture["debtor_number"],
                "debtor_identifier": fixture["debtor_identifier"],
                "name": "Changed By The Test",
            }],
        })),
        world,
    ))
    .await;
    assert_eq!(changed.status, 201, "{}", changed.text());
    assert_eq!(changed.json["count"], 1, "{}", changed.text());
    t.add_fault(
        world,
        json!({"path": "/v1/vat_rates", "action": {"type": "status", "status": 500}}),
    )
    .await;
    t.clock_action(world, json!({"action": "advance", "by": "P1D"})).await;
    assert_eq!(t.clock_now(world).await, "2026-11-02T09:00:00.000Z");
}

/// What a world looks like right after a reset: empty journal, no rules, the seeded data and
/// clock. `before` is the fixture debtor's answer before the writes.
async fn assert_pristine(t: &T, world: Option<&str>, fixture_path: &str, before: &str) {
    let uri = t.uri();
    // Control requests first: they are not journaled, so the journal is still as reset left it.
    assert_eq!(t.journal(world, &[]).await, Vec::<Value>::new(), "the journal is empty");
    let rules = send(with_world(t.control(Method::GET, "/_mock/faults"), world)).await;
    assert_eq!(rules.json["rules"], json!([]), "the fault rules are gone");
    assert_eq!(
        t.clock_now(world).await,
        "2026-11-01T09:00:00.000Z",
        "the clock is back"
    );
    assert!(!t.has_debtor(&uri, world, "W-R").await, "the created debtor is gone");
    assert_eq!(
        raw_get(t, &uri, world, fixture_path).await,
        before,
        "the fixture debtor is as seeded"
    );
    let vat = send(with_world(
        t.api(Method::GET, &uri, "/v1/vat_rates")
            .query(&[("administration_id", "81")]),
        world,
    ))
    .await;
    assert_eq!(vat.status, 200, "the rule no longer fires: {}", vat.text());
}

#[tokio::test]
async fn post_reset_restores_the_seeded_data_and_clock_and_empties_journal_and_faults() {
    let t = T::new().await;
    let uri = t.uri();
    let (fixture, path) = fixture_debtor(&t, &uri, None).await;
    let before = raw_get(&t, &uri, None, &path).await;
    dirty(&t, None, &fixture).await;
    assert_ne!(raw_get(&t, &uri, None, &path).await, before, "the write changed it");

    let reset = send(t.control(Method::POST, "/_mock/reset")).await;
    assert_eq!(reset.status, 200, "{}", reset.text());
    assert_eq!(reset.json["name"], "default");
    assert_eq!(reset.json["journal_entries"], 0);
    assert_eq!(reset.json["fault_rules"], 0);
    assert_pristine(&t, None, &path, &before).await;
}

#[tokio::test]
async fn post_worlds_name_reset_restores_that_world_only() {
    let t = T::new().await;
    let uri = t.uri();
    let (fixture, path) = fixture_debtor(&t, &uri, Some("r")).await;
    let before = raw_get(&t, &uri, Some("r"), &path).await;
    dirty(&t, Some("r"), &fixture).await;
    t.must_create_debtor(&uri, Some("other"), "W-O").await;

    let reset = send(t.control(Method::POST, "/_mock/worlds/r/reset").json(&json!({}))).await;
    assert_eq!(reset.status, 200, "{}", reset.text());
    assert_eq!(reset.json["name"], "r");
    assert_pristine(&t, Some("r"), &path, &before).await;
    assert!(
        t.has_debtor(&uri, Some("other"), "W-O").await,
        "another world keeps its writes"
    );
}

#[tokio::test]
async fn the_handles_reset_restores_the_default_world() {
    let t = T::new().await;
    let uri = t.uri();
    let (fixture, path) = fixture_debtor(&t, &uri, None).await;
    let before = raw_get(&t, &uri, None, &path).await;
    dirty(&t, None, &fixture).await;
    assert!(!t.m.received_requests().is_empty());
    assert_eq!(t.m.faults().list().len(), 1);

    t.m.reset();
    assert!(t.m.received_requests().is_empty());
    assert!(t.m.faults().list().is_empty());
    assert_eq!(t.m.clock().now(), epoch());
    assert_pristine(&t, None, &path, &before).await;

    // A named world through its handle, too.
    let w = t.m.world("h").expect("a world");
    t.must_create_debtor(&w.uri(), None, "W-H").await;
    w.reset();
    assert!(!t.has_debtor(&w.uri(), None, "W-H").await);
}

#[tokio::test]
async fn reset_with_seed_7_and_size_0_gives_a_world_without_debtors() {
    let t = T::new().await;
    let reset = send(
        t.control(Method::POST, "/_mock/reset")
            .json(&json!({"seed": 7, "size": 0})),
    )
    .await;
    assert_eq!(reset.status, 200, "{}", reset.text());
    assert_eq!((&reset.json["seed"], &reset.json["size"]), (&json!(7), &json!(0)));
    let page = send(
        t.api(Method::GET, &t.uri(), "/v1/debtors")
            .query(&[("administration_id", "81")]),
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert_eq!(page.json["data"], json!([]));
    // The tenants are still there: a write works.
    t.must_create_debtor(&t.uri(), None, "W-0").await;
}

#[tokio::test]
async fn reset_refuses_bad_bodies_with_a_message_and_changes_nothing() {
    let t = T::new().await;
    t.must_create_debtor(&t.uri(), None, "W-B").await;
    for (body, says) in [
        (r#"{"seed":"x"}"#, "cannot read the body"),
        (r#"{"size": 1000}"#, "at most 100"),
        (r#"{"colour": "red"}"#, "unknown field `colour`"),
        (r#"{"name": "other"}"#, "name is not read here"),
        ("not json", "cannot read the body"),
    ] {
        for path in ["/_mock/reset", "/_mock/worlds/default/reset"] {
            let a = send(
                t.control(Method::POST, path)
                    .header("content-type", "application/json")
                    .body(body),
            )
            .await;
            assert_eq!(a.status, 400, "{path} {body}: {}", a.text());
            let (code, message) = a.control_error();
            assert_eq!(code, "invalid_request");
            assert!(message.contains(says), "{path} {body}: {message}");
        }
    }
    assert!(t.has_debtor(&t.uri(), None, "W-B").await, "nothing was reset");
}

#[tokio::test]
async fn reset_puts_an_advanced_clock_back() {
    let t = T::new().await;
    let before = t.get_json("/_mock/clock").await;
    let advanced = t.clock_action(None, json!({"action": "advance", "by": "P1D"})).await;
    assert_eq!(advanced["now"], "2026-11-02T09:00:00.000Z");
    assert_eq!(send(t.control(Method::POST, "/_mock/reset")).await.status, 200);
    assert_eq!(t.get_json("/_mock/clock").await, before);

    // A running clock set elsewhere comes back to its start too (it reads the day it started on).
    let running = T::with(MockPayt::test()).await;
    running
        .clock_action(None, json!({"action": "set", "at": "2030-01-01T00:00:00Z"}))
        .await;
    assert_eq!(send(running.control(Method::POST, "/_mock/reset")).await.status, 200);
    let clock = running.get_json("/_mock/clock").await;
    assert_eq!(
        (&clock["today"], &clock["frozen"]),
        (&json!("2026-11-01"), &json!(false))
    );
}

// ------------------------------------------------------------------------------------------------
// 5. Snapshots

#[tokio::test]
async fn a_snapshot_put_back_restores_the_world_exactly() {
    let t = T::small().await;
    let uri = t.uri();
    let first = t.snapshot(None).await;
    assert_eq!(first["format"], "payt-paywise-mocks/world");
    assert_eq!(first["version"], 1);
    assert_eq!(first["vendor"], "payt");
    assert_eq!(first["world"], "default");
    assert_eq!(first, t.m.snapshot(), "HTTP and the handle export the same");

    t.must_create_debtor(&uri, None, "W-S").await;
    assert_eq!(t.register_file(&uri, PDF).await.status, 201);
    t.clock_action(None, json!({"action": "advance", "by": "PT6H"})).await;
    assert_ne!(t.snapshot(None).await, first);

    let put = t.put_snapshot(None, &first).await;
    assert_eq!(put.status, 200, "{}", put.text());
    assert_eq!(put.json["name"], "default");
    assert_eq!(t.snapshot(None).await, first, "a second export equals the first");
    assert!(!t.has_debtor(&uri, None, "W-S").await);
    assert_eq!(t.clock_now(None).await, "2026-11-01T09:00:00.000Z");
    // The id generator is back too: the same write gives the same id again.
    let a1 = t.create_debtor(&uri, None, "W-S").await;
    assert_eq!(a1.status, 201);
    let after_first = t.snapshot(None).await;
    assert_eq!(t.put_snapshot(None, &first).await.status, 200);
    assert_eq!(t.create_debtor(&uri, None, "W-S").await.status, 201);
    assert_eq!(t.snapshot(None).await, after_first, "the replayed write is identical");
}

#[tokio::test]
async fn a_snapshot_of_world_a_loaded_into_world_b_makes_b_answer_like_a() {
    let t = T::small().await;
    let uri = t.uri();
    t.must_create_debtor(&uri, Some("a"), "W-AB").await;
    let snap = t.snapshot(Some("a")).await;
    assert_eq!(snap["world"], "a");
    assert!(!t.has_debtor(&uri, Some("b"), "W-AB").await);

    let put = t.put_snapshot(Some("b"), &snap).await;
    assert_eq!(put.status, 200, "{}", put.text());
    assert_eq!(put.json["name"], "b");
    assert!(t.has_debtor(&uri, Some("b"), "W-AB").await);
    let list = "/v1/debtors?administration_id=81&per_page=500";
    assert_eq!(
        raw_get(&t, &uri, Some("a"), list).await,
        raw_get(&t, &uri, Some("b"), list).await
    );
    // The same next write gives the same answer in both.
    let in_a = t.create_debtor(&uri, Some("a"), "W-AB2").await;
    let in_b = t.create_debtor(&uri, Some("b"), "W-AB2").await;
    assert_eq!(in_a.bytes, in_b.bytes);
    let by_number = "/v1/debtors/W-AB2?administration_id=81&identifier_type=debtor_number";
    assert_eq!(
        raw_get(&t, &uri, Some("a"), by_number).await,
        raw_get(&t, &uri, Some("b"), by_number).await
    );
    let mut b = t.snapshot(Some("b")).await;
    assert_eq!(b["world"], "b");
    b["world"] = json!("a");
    assert_eq!(b, t.snapshot(Some("a")).await);
}

#[tokio::test]
async fn a_bad_snapshot_is_refused_with_422_saying_what_is_wrong_and_nothing_changes() {
    let t = T::small().await;
    let uri = t.uri();
    t.must_create_debtor(&uri, None, "W-K0").await;
    let good = t.snapshot(None).await;
    // Written after the snapshot: a snapshot that loaded would remove it.
    t.must_create_debtor(&uri, None, "W-K").await;
    let current = t.snapshot(None).await;

    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        f(&mut v);
        v
    };
    let cases = [
        (json!([1, 2, 3]), "is a JSON object".to_string()),
        (json!("a snapshot"), "is a JSON object".to_string()),
        (with(&|v| v["format"] = json!("har")), "format is \"har\"".to_string()),
        (
            with(&|v| {
                v.as_object_mut().map(|o| o.remove("format"));
            }),
            "format is missing".to_string(),
        ),
        (
            with(&|v| v["version"] = json!(2)),
            "version 2 is not supported".to_string(),
        ),
        (
            with(&|v| v["vendor"] = json!("paywise")),
            "snapshot of the paywise mock".to_string(),
        ),
        (
            with(&|v| {
                v["data"]["db"]["debtors"][0]
                    .as_object_mut()
                    .map(|o| o.remove("debtor_number"));
            }),
            "db.debtors[0]".to_string(),
        ),
        (
            with(&|v| v["data"]["db"]["debtors"][0]["name"] = json!(12)),
            "db.debtors[0].name".to_string(),
        ),
        (
            with(&|v| {
                v.as_object_mut().map(|o| o.remove("data"));
            }),
            "data is missing".to_string(),
        ),
    ];
    assert!(
        good["data"]["db"]["debtors"][0].is_object(),
        "the snapshot has a debtor"
    );
    for (snapshot, says) in &cases {
        let a = t.put_snapshot(None, snapshot).await;
        assert_eq!(a.status, 422, "{says}: {}", a.text());
        let (code, message) = a.control_error();
        assert_eq!(code, "invalid_snapshot", "{says}");
        assert!(message.contains(says.as_str()), "expected {says:?} in {message:?}");
    }
    let missing_field = t
        .put_snapshot(
            None,
            &with(&|v| {
                v["data"]["db"]["debtors"][0]
                    .as_object_mut()
                    .map(|o| o.remove("debtor_number"));
            }),
        )
        .await;
    assert!(
        missing_field.control_error().1.contains("debtor_number"),
        "{}",
        missing_field.text()
    );

    // Not JSON at all is a 400.
    let garbage = send(
        t.control(Method::PUT, "/_mock/snapshot")
            .header("content-type", "application/json")
            .body("{"),
    )
    .await;
    assert_eq!((garbage.status, garbage.control_error().0), (400, "invalid_request"));

    assert!(
        t.has_debtor(&uri, None, "W-K").await,
        "the record written before is still there"
    );
    assert_eq!(t.snapshot(None).await, current, "nothing changed");
    // Through the handle, the same refusal.
    let refused = t.m.restore(with(&|v| v["version"] = json!(2)));
    assert!(
        matches!(&refused, Err(WorldError::Snapshot(m)) if m.contains("version 2")),
        "{refused:?}"
    );
}

#[tokio::test]
async fn snapshots_through_the_handle_restore_and_move_between_worlds() {
    // The full fixture set (size 1): through the handle no JSON crosses the wire.
    let t = T::new().await;
    let uri = t.uri();
    let seeded = t.m.snapshot();
    assert!(
        seeded["data"]["db"]["invoices"]
            .as_array()
            .is_some_and(|i| !i.is_empty())
    );
    t.must_create_debtor(&uri, None, "W-H1").await;
    t.m.restore(seeded.clone()).expect("a good snapshot loads");
    assert!(!t.has_debtor(&uri, None, "W-H1").await);
    assert_eq!(t.m.snapshot(), seeded);

    // Between worlds (size 0, to keep it quick).
    let t = T::small().await;
    let uri = t.uri();
    let seeded = t.m.snapshot();
    let w = t.m.world("w").expect("a world");
    t.must_create_debtor(&w.uri(), None, "W-H2").await;
    let from_w = w.snapshot();
    assert_eq!(from_w["world"], "w");
    t.m.restore(from_w).expect("a snapshot of another world loads");
    assert!(t.has_debtor(&uri, None, "W-H2").await);
    w.restore(seeded).expect("loads");
    assert!(!t.has_debtor(&w.uri(), None, "W-H2").await);
    assert!(matches!(
        w.restore(json!({"format": "nope"})),
        Err(WorldError::Snapshot(_))
    ));
}

// ------------------------------------------------------------------------------------------------
// 6. The journal

#[tokio::test]
async fn the_journal_records_requests_and_answers_with_credentials_redacted() {
    let t = T::new().await;
    let uri = t.uri();
    t.must_create_debtor(&uri, None, "W-J").await;
    assert!(t.has_debtor(&uri, None, "W-J").await);
    let companies = send(
        t.http
            .get(format!("{uri}/v1/companies"))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET)),
    )
    .await;
    assert_eq!(companies.status, 200, "{}", companies.text());
    assert_eq!(send(t.api(Method::GET, &uri, "/v1/nothing-here")).await.status, 404);
    // Control requests are not journaled.
    t.get_json("/_mock/worlds").await;
    t.get_json("/_mock/clock").await;
    t.get_json("/_mock").await;

    let entries = t.journal(None, &[]).await;
    assert_eq!(entries.len(), 4, "{entries:#?}");
    let post = &entries[0];
    assert_eq!(post["world"], "default");
    assert_eq!(post["at"], "2026-11-01T09:00:00.000Z");
    assert_eq!(post["request"]["method"], "POST");
    assert_eq!(post["request"]["path"], "/v1/debtors");
    assert_eq!(post["request"]["query"], Value::Null);
    assert!(
        post["request"]["body"].as_str().is_some_and(|b| b.contains("W-J")),
        "{post}"
    );
    assert_eq!(post["response"]["status"], 201);
    assert!(
        post["response"]["body"]
            .as_str()
            .is_some_and(|b| b.contains("\"success\":true")),
        "{post}"
    );
    assert_eq!(header_of(&post["request"], "authorization"), Some("Bearer [redacted]"));
    let list = &entries[1];
    assert_eq!(list["request"]["method"], "GET");
    assert_eq!(list["request"]["query"], "administration_id=81&debtor_numbers=W-J");
    assert_eq!(
        list["request"]["url"],
        "/v1/debtors?administration_id=81&debtor_numbers=W-J"
    );
    assert_eq!(list["response"]["status"], 200);
    assert_eq!(
        header_of(&entries[2]["request"], "authorization"),
        Some("Basic [redacted]")
    );
    assert_eq!(entries[2]["request"]["path"], "/v1/companies");
    assert_eq!(entries[3]["response"]["status"], 404);
    let ids: Vec<u64> = entries.iter().map(|e| e["id"].as_u64().expect("an id")).collect();
    assert_eq!(ids, [1, 2, 3, 4]);

    // No secret anywhere in the journal.
    let text = serde_json::to_string(&entries).expect("JSON");
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{CLIENT_ID}:{CLIENT_SECRET}"),
    );
    for secret in [t.m.token(), CLIENT_SECRET, basic.as_str()] {
        assert!(!text.contains(secret), "{secret} leaked into the journal");
    }

    // The handle reads the same journal.
    let received = t.m.received_requests();
    assert_eq!(received.len(), 4);
    assert_eq!(received[0].request.method, "POST");
    assert_eq!(received[0].request.path, "/v1/debtors");
    assert_eq!(received[0].response.status, 201);
    assert_eq!(received[2].request.path, "/v1/companies");
}

#[tokio::test]
async fn journal_filters_select_by_method_path_status_time_and_limit() {
    let t = T::new().await;
    let uri = t.uri();
    let clock = t.m.clock();
    // 09:00:00 GET list, 09:00:10 POST, 09:00:20 GET unknown debtor (404) and administrations,
    // 09:00:30 an unknown path (404).
    let list = t
        .api(Method::GET, &uri, "/v1/debtors")
        .query(&[("administration_id", "81")]);
    assert_eq!(send(list).await.status, 200);
    clock.advance(chrono::Duration::seconds(10));
    t.must_create_debtor(&uri, None, "W-F").await;
    clock.advance(chrono::Duration::seconds(10));
    let unknown = t
        .api(Method::GET, &uri, "/v1/debtors/999999999")
        .query(&[("administration_id", "81")]);
    assert_eq!(send(unknown).await.status, 404);
    assert_eq!(t.administrations(None, t.m.token()).await.status, 200);
    clock.advance(chrono::Duration::seconds(10));
    assert_eq!(send(t.api(Method::GET, &uri, "/v1/nope")).await.status, 404);

    let paths = |entries: Vec<Value>| -> Vec<String> {
        entries
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e["request"]["method"].as_str().unwrap_or(""),
                    e["request"]["path"].as_str().unwrap_or("")
                )
            })
            .collect()
    };
    assert_eq!(t.journal(None, &[]).await.len(), 5);
    assert_eq!(
        paths(t.journal(None, &[("method", "post")]).await),
        ["POST /v1/debtors"]
    );
    assert_eq!(
        paths(t.journal(None, &[("path", "/v1/debtors*")]).await),
        ["GET /v1/debtors", "POST /v1/debtors"]
    );
    assert_eq!(
        paths(t.journal(None, &[("path", "/v1/debtors/**")]).await),
        ["GET /v1/debtors/999999999"]
    );
    assert_eq!(
        paths(t.journal(None, &[("status", "4xx")]).await),
        ["GET /v1/debtors/999999999", "GET /v1/nope"]
    );
    assert_eq!(statuses(&t.journal(None, &[("status", "201")]).await), [201]);
    assert_eq!(
        paths(
            t.journal(
                None,
                &[("since", "2026-11-01T09:00:10Z"), ("until", "2026-11-01T09:00:20Z")]
            )
            .await
        ),
        [
            "POST /v1/debtors",
            "GET /v1/debtors/999999999",
            "GET /v1/administrations"
        ]
    );
    assert_eq!(
        t.journal(None, &[("since", "2026-11-01T09:00:30Z")]).await[0]["at"],
        "2026-11-01T09:00:30.000Z"
    );
    assert_eq!(
        paths(t.journal(None, &[("limit", "2")]).await),
        ["GET /v1/administrations", "GET /v1/nope"]
    );
    assert_eq!(
        paths(
            t.journal(None, &[("method", "GET"), ("status", "2xx"), ("limit", "1")])
                .await
        ),
        ["GET /v1/administrations"]
    );

    for bad in [
        ("status", "abc"),
        ("limit", "many"),
        ("since", "yesterday"),
        ("path", "v1/no-slash"),
        ("colour", "red"),
    ] {
        let a = send(t.control(Method::GET, "/_mock/journal").query(&[bad])).await;
        assert_eq!(a.status, 400, "{bad:?}: {}", a.text());
        let (code, message) = a.control_error();
        assert_eq!(code, "invalid_request");
        assert!(!message.is_empty());
        if bad.0 == "status" {
            assert!(message.contains("abc"), "{message}");
        }
    }
}

#[tokio::test]
async fn the_journal_keeps_only_its_capacity_and_clears_on_delete() {
    let t = T::with(MockPayt::test().clock(frozen()).journal_capacity(3)).await;
    for n in 1..=5 {
        let rb = t
            .api(Method::GET, &t.uri(), "/v1/debtors")
            .query(&[("administration_id", "81"), ("per_page", &n.to_string())]);
        assert_eq!(send(rb).await.status, 200);
    }
    let entries = t.journal(None, &[]).await;
    let kept: Vec<(u64, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["id"].as_u64().unwrap_or(0),
                e["request"]["query"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        kept,
        [
            (3, "administration_id=81&per_page=3"),
            (4, "administration_id=81&per_page=4"),
            (5, "administration_id=81&per_page=5")
        ]
    );
    assert_eq!(t.m.received_requests().len(), 3);

    assert_eq!(send(t.control(Method::DELETE, "/_mock/journal")).await.status, 204);
    assert!(t.journal(None, &[]).await.is_empty());
    assert_eq!(t.administrations(None, t.m.token()).await.status, 200);
    let after = t.journal(None, &[]).await;
    assert_eq!(after.len(), 1);
    assert_eq!(after[0]["id"], 6, "ids never repeat");
}

#[tokio::test]
async fn verify_counts_matching_requests_and_names_near_misses() {
    let t = T::new().await;
    t.must_create_debtor(&t.uri(), None, "W-V").await;
    assert_eq!(t.administrations(None, t.m.token()).await.status, 200);
    let verify = |body: Value| {
        let rb = t.control(Method::POST, "/_mock/journal/verify").json(&body);
        async move { send(rb).await }
    };

    let ok = verify(json!({"method": "POST", "path": "/v1/debtors", "count": 1})).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(
        (&ok.json["ok"], &ok.json["count"]),
        (&json!(true), &json!(1)),
        "{}",
        ok.json
    );
    assert_eq!(ok.json["near_misses"], json!([]));

    let typo = verify(json!({"method": "POST", "path": "/v1/debtor", "count": 1})).await;
    assert_eq!(typo.status, 200);
    assert_eq!(
        (&typo.json["ok"], &typo.json["count"]),
        (&json!(false), &json!(0)),
        "{}",
        typo.json
    );
    assert_eq!(typo.json["expected"], "exactly 1");
    let nearest = &typo.json["near_misses"][0];
    assert_eq!(nearest["entry"]["url"], "/v1/debtors", "{}", typo.json);
    assert_eq!(nearest["entry"]["method"], "POST");
    let differences = nearest["differences"].as_array().expect("differences");
    assert_eq!(differences.len(), 1, "{nearest}");
    let d = differences[0].as_str().expect("text");
    assert!(d.contains("/v1/debtors") && d.contains("/v1/debtor"), "{d}");

    let body = verify(json!({"path": "/v1/debtors", "body_contains": "W-V", "status": "2xx"})).await;
    assert_eq!(body.json["ok"], true, "{}", body.json);
    let too_many = verify(json!({"path": "/v1/**", "at_most": 1})).await;
    assert_eq!(too_many.json["ok"], false, "{}", too_many.json);

    let both = verify(json!({"count": 1, "at_least": 1})).await;
    assert_eq!(both.status, 400);
    assert!(both.control_error().1.contains("at most one of"), "{}", both.text());
    let unknown = verify(json!({"pathh": "/v1/debtors"})).await;
    assert_eq!(unknown.status, 400, "{}", unknown.text());

    // Through the handle.
    let verdict =
        t.m.verify(&Verify {
            method: Some("POST".into()),
            path: Some(PathPattern::parse("/v1/debtors").expect("a pattern")),
            count: Some(1),
            ..Verify::default()
        })
        .expect("a valid verification");
    assert!(verdict.ok, "{verdict:?}");
    let missed =
        t.m.verify(&Verify {
            method: Some("POST".into()),
            path: Some(PathPattern::parse("/v1/debtor").expect("a pattern")),
            ..Verify::default()
        })
        .expect("a valid verification");
    assert!(!missed.ok);
    assert_eq!(missed.near_misses[0].entry.url, "/v1/debtors");
    assert!(
        t.m.verify(&Verify {
            count: Some(1),
            at_most: Some(2),
            ..Verify::default()
        })
        .is_err()
    );
}

#[tokio::test]
async fn the_journal_exports_as_a_har_1_2_document() {
    let t = T::new().await;
    t.must_create_debtor(&t.uri(), None, "W-HAR").await;
    assert_eq!(t.administrations(None, t.m.token()).await.status, 200);
    let har = t.get_json("/_mock/journal/har").await;
    assert_eq!(har["log"]["version"], "1.2");
    assert_eq!(har["log"]["creator"]["name"], "payt-paywise-mocks");
    let entries = har["log"]["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2);
    for e in entries {
        assert!(e["startedDateTime"].is_string(), "{e}");
        assert!(e["time"].is_number(), "{e}");
        assert!(e["request"]["method"].is_string(), "{e}");
        assert!(
            e["request"]["url"]
                .as_str()
                .is_some_and(|u| u.starts_with("http://127.0.0.1:")),
            "{e}"
        );
        assert!(e["request"]["headers"].is_array(), "{e}");
        assert!(e["response"]["status"].is_number(), "{e}");
        assert!(e["response"]["content"]["text"].is_string(), "{e}");
        assert!(e["timings"].is_object() && e["cache"].is_object(), "{e}");
        let auth = e["request"]["headers"]
            .as_array()
            .and_then(|h| {
                h.iter().find(|h| {
                    h["name"]
                        .as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case("authorization"))
                })
            })
            .and_then(|h| h["value"].as_str());
        assert_eq!(auth, Some("Bearer [redacted]"), "{e}");
    }
    assert_eq!(entries[0]["request"]["method"], "POST");
    assert!(
        entries[0]["request"]["postData"]["text"]
            .as_str()
            .is_some_and(|b| b.contains("W-HAR"))
    );
    assert_eq!(entries[0]["response"]["status"], 201);
    // Filters apply to the HAR too.
    let only_get = send(t.control(Method::GET, "/_mock/journal/har").query(&[("method", "GET")])).await;
    assert_eq!(only_get.json["log"]["entries"].as_array().map(Vec::len), Some(1));
    let bad = send(t.control(Method::GET, "/_mock/journal/har").query(&[("status", "abc")])).await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn journals_of_two_worlds_are_separate() {
    let t = T::new().await;
    assert_eq!(t.administrations(Some("a"), t.m.token()).await.status, 200);
    let b = t.prefix("b");
    assert_eq!(send(t.api(Method::GET, &b, "/v1/administrations")).await.status, 200);
    t.must_create_debtor(&b, None, "W-JB").await;

    let in_a = t.journal(Some("a"), &[]).await;
    assert_eq!(in_a.len(), 1);
    assert_eq!(in_a[0]["world"], "a");
    // World b's journal read through its prefix.
    let in_b = send(t.http.get(format!("{b}/_mock/journal"))).await;
    assert_eq!(in_b.json["world"], "b");
    let in_b = in_b.json["entries"].as_array().cloned().expect("entries");
    assert_eq!(in_b.len(), 2);
    assert!(in_b.iter().all(|e| e["world"] == "b"));
    assert_eq!(
        in_b[0]["request"]["path"], "/v1/administrations",
        "the path inside the world"
    );
    assert!(t.journal(None, &[]).await.is_empty(), "default received nothing");
    assert_eq!(t.m.world("a").expect("a").received_requests().len(), 1);
    assert_eq!(t.m.world("b").expect("b").received_requests().len(), 2);
    // Clearing one leaves the other.
    assert_eq!(
        send(with_world(t.control(Method::DELETE, "/_mock/journal"), Some("a")))
            .await
            .status,
        204
    );
    assert!(t.journal(Some("a"), &[]).await.is_empty());
    assert_eq!(t.journal(Some("b"), &[]).await.len(), 2);
}

// ------------------------------------------------------------------------------------------------
// 7. Faults

#[tokio::test]
async fn a_status_fault_with_times_1_fails_only_the_next_matching_request_and_changes_nothing() {
    let t = T::new().await;
    let uri = t.uri();
    let rule = t
        .add_fault(
            None,
            json!({"method": "post", "path": "/v1/debtors", "action": {"type": "status", "status": 503}, "times": 1}),
        )
        .await;
    assert_eq!(rule["id"], "f1");
    assert_eq!(rule["method"], "POST", "upper-cased");
    assert_eq!((&rule["fired"], &rule["remaining"]), (&json!(0), &json!(1)));

    // Another method on the path, and the method on another path, pass.
    assert!(!t.has_debtor(&uri, None, "W-F1").await);
    let contacts = send(
        t.api(Method::POST, &uri, "/v1/contacts")
            .json(&json!({"administration_id": 81, "contacts": []})),
    )
    .await;
    assert!(contacts.header("x-mock-fault").is_none());
    assert_ne!(contacts.status, 503, "{}", contacts.text());

    let failed = t.create_debtor(&uri, None, "W-F1").await;
    assert_eq!(failed.status, 503, "{}", failed.text());
    assert_eq!(failed.header("x-mock-fault"), Some("f1"));
    assert_eq!(
        failed.payt_error(),
        ("injected_fault", "Injected fault: 503 Service Unavailable")
    );
    assert!(
        !t.has_debtor(&uri, None, "W-F1").await,
        "the failed request created nothing"
    );

    // Spent: the next one goes through.
    t.must_create_debtor(&uri, None, "W-F1").await;
    let listed = t.get_json("/_mock/faults").await;
    assert_eq!(listed["world"], "default");
    assert_eq!(listed["rules"][0]["fired"], 1);
    assert_eq!(listed["rules"][0]["remaining"], 0);
    let faulted: Vec<Value> = t
        .journal(None, &[])
        .await
        .into_iter()
        .map(|e| e["fault"].clone())
        .collect();
    assert_eq!(
        faulted,
        [Value::Null, Value::Null, json!("f1"), Value::Null, Value::Null]
    );
}

#[tokio::test]
async fn a_status_fault_can_carry_its_own_message() {
    let t = T::new().await;
    t.add_fault(
        None,
        json!({"action": {"type": "status", "status": 422, "message": "Nope"}, "times": 1}),
    )
    .await;
    let a = t.administrations(None, t.m.token()).await;
    assert_eq!(a.status, 422);
    assert_eq!(a.payt_error(), ("injected_fault", "Nope"));
}

#[tokio::test]
async fn a_rate_limit_fault_answers_429_with_retry_after() {
    let t = T::new().await;
    t.add_fault(
        None,
        json!({"action": {"type": "rate_limit", "retry_after": 30}, "times": 1}),
    )
    .await;
    let a = t.administrations(None, t.m.token()).await;
    assert_eq!(a.status, 429, "{}", a.text());
    assert_eq!(a.header("retry-after"), Some("30"));
    assert_eq!(a.header("x-mock-fault"), Some("f1"));
    assert_eq!(a.payt_error().0, "rate_limited");
    assert_eq!(t.administrations(None, t.m.token()).await.status, 200);
}

#[tokio::test]
async fn a_latency_fault_delays_the_answer() {
    let t = T::new().await;
    t.add_fault(
        None,
        json!({"path": "/v1/administrations", "action": {"type": "latency", "ms": 50}, "times": 1}),
    )
    .await;
    let started = Instant::now();
    let a = t.administrations(None, t.m.token()).await;
    assert!(
        started.elapsed() >= Duration::from_millis(50),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(a.status, 200, "the request then proceeds");
    assert_eq!(a.header("x-mock-fault"), Some("f1"));
    assert!(a.json["data"].is_array());
}

#[tokio::test]
async fn a_drop_fault_closes_the_connection_and_unprocessed_changes_nothing() {
    let t = T::new().await;
    let uri = t.uri();
    let body = |n: &str| json!({"administration_id": 81, "debtors": [{"debtor_number": n, "debtor_identifier": n, "name": n}]});

    t.add_fault(
        None,
        json!({"method": "POST", "path": "/v1/debtors", "action": {"type": "drop"}, "times": 1}),
    )
    .await;
    let dropped = t
        .api(Method::POST, &uri, "/v1/debtors")
        .json(&body("W-D1"))
        .send()
        .await;
    assert!(dropped.is_err(), "no answer: {dropped:?}");
    assert!(!t.has_debtor(&uri, None, "W-D1").await, "the handler did not run");

    t.add_fault(
        None,
        json!({"method": "POST", "path": "/v1/debtors", "action": {"type": "drop", "processed": true}, "times": 1}),
    )
    .await;
    let dropped = t
        .api(Method::POST, &uri, "/v1/debtors")
        .json(&body("W-D2"))
        .send()
        .await;
    assert!(dropped.is_err(), "no answer: {dropped:?}");
    assert!(t.has_debtor(&uri, None, "W-D2").await, "processed, then dropped");
    let rules = t.get_json("/_mock/faults").await;
    assert_eq!(rules["rules"][0]["fired"], 1);
    assert_eq!(rules["rules"][1]["fired"], 1);
    assert_eq!(rules["rules"][1]["action"], json!({"type": "drop", "processed": true}));
}

#[tokio::test]
async fn truncate_and_malformed_faults_give_bodies_that_are_not_json() {
    let t = T::new().await;
    let url = format!("{}/v1/administrations", t.uri());

    t.add_fault(
        None,
        json!({"path": "/v1/administrations", "action": {"type": "truncate"}, "times": 1}),
    )
    .await;
    let res = t
        .http
        .get(&url)
        .bearer_auth(t.m.token())
        .send()
        .await
        .expect("the head arrives");
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers().get("x-mock-fault").and_then(|v| v.to_str().ok()),
        Some("f1")
    );
    match res.bytes().await {
        Err(_) => {}
        Ok(bytes) => assert!(
            serde_json::from_slice::<Value>(&bytes).is_err(),
            "a truncated body parsed: {bytes:?}"
        ),
    }

    t.add_fault(
        None,
        json!({"path": "/v1/administrations", "action": {"type": "malformed"}, "times": 1}),
    )
    .await;
    let a = t.administrations(None, t.m.token()).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("x-mock-fault"), Some("f2"));
    assert!(serde_json::from_slice::<Value>(&a.bytes).is_err(), "{}", a.text());
    assert!(a.text().contains("<!-- malformed by a mock fault -->"), "{}", a.text());

    // Both spent: the real answer again.
    assert!(t.administrations(None, t.m.token()).await.json["data"].is_array());
}

#[tokio::test]
async fn fault_rules_are_listed_with_fired_counts_and_deleted_one_by_one_or_all() {
    let t = T::new().await;
    t.add_fault(
        None,
        json!({"path": "/v1/administrations", "action": {"type": "status", "status": 500}, "times": 2}),
    )
    .await;
    t.add_fault(
        None,
        json!({"path": "/v1/vat_rates", "action": {"type": "latency", "ms": 1}}),
    )
    .await;
    assert_eq!(t.administrations(None, t.m.token()).await.status, 500);
    let listed = t.get_json("/_mock/faults").await;
    let rules = listed["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), 2);
    assert_eq!(
        (&rules[0]["id"], &rules[0]["fired"], &rules[0]["remaining"]),
        (&json!("f1"), &json!(1), &json!(1))
    );
    assert_eq!(
        (&rules[1]["id"], &rules[1]["fired"], &rules[1]["remaining"]),
        (&json!("f2"), &json!(0), &Value::Null)
    );
    assert_eq!(t.m.faults().list().len(), 2);
    assert_eq!(t.m.faults().get("f1").map(|r| r.fired), Some(1));

    assert_eq!(send(t.control(Method::DELETE, "/_mock/faults/f1")).await.status, 204);
    assert_eq!(
        t.administrations(None, t.m.token()).await.status,
        200,
        "deleted: no longer fires"
    );
    let again = send(t.control(Method::DELETE, "/_mock/faults/f1")).await;
    assert_eq!((again.status, again.control_error().0), (404, "unknown_rule"));
    assert_eq!(
        t.get_json("/_mock/faults").await["rules"].as_array().map(Vec::len),
        Some(1)
    );

    assert_eq!(send(t.control(Method::DELETE, "/_mock/faults")).await.status, 204);
    assert_eq!(t.get_json("/_mock/faults").await["rules"], json!([]));
    // Ids are not reused until a reset.
    assert_eq!(
        t.add_fault(None, json!({"action": {"type": "latency", "ms": 1}})).await["id"],
        "f3"
    );
}

#[tokio::test]
async fn a_token_scoped_fault_fires_only_for_that_token() {
    let t = T::new().await;
    t.add_fault(
        None,
        json!({"token": READONLY_TOKEN, "action": {"type": "status", "status": 500}}),
    )
    .await;
    for _ in 0..2 {
        let main = t.administrations(None, t.m.token()).await;
        assert_eq!(main.status, 200, "{}", main.text());
        assert!(main.header("x-mock-fault").is_none());
        let readonly = t.administrations(None, READONLY_TOKEN).await;
        assert_eq!(readonly.status, 500);
        assert_eq!(readonly.header("x-mock-fault"), Some("f1"));
    }
    assert_eq!(t.get_json("/_mock/faults").await["rules"][0]["fired"], 2);
}

#[tokio::test]
async fn a_fault_rule_in_one_world_never_fires_in_another() {
    let t = T::new().await;
    t.add_fault(Some("a"), json!({"action": {"type": "status", "status": 503}}))
        .await;
    assert_eq!(t.administrations(Some("a"), t.m.token()).await.status, 503);
    assert_eq!(t.administrations(None, t.m.token()).await.status, 200);
    assert_eq!(t.administrations(Some("b"), t.m.token()).await.status, 200);
    assert_eq!(
        send(t.api(Method::GET, &t.prefix("a"), "/v1/administrations"))
            .await
            .status,
        503
    );
    assert_eq!(t.get_json("/_mock/faults").await["rules"], json!([]));
    assert_eq!(t.m.world("a").expect("a").faults().list().len(), 1);
    assert!(t.m.faults().list().is_empty());
}

#[tokio::test]
async fn invalid_fault_rules_are_422_with_a_message() {
    let t = T::new().await;
    for (rule, says) in [
        (json!({"action": {"type": "explode"}}), "explode"),
        (json!({"action": {"type": "status", "status": 700}}), "700"),
        (
            json!({"action": {"type": "status", "status": 102}}),
            "between 200 and 599",
        ),
        (
            json!({"action": {"type": "status", "status": 503}, "probability": 2}),
            "probability",
        ),
        (
            json!({"action": {"type": "status", "status": 503}, "times": 0}),
            "times",
        ),
        (json!({"action": {"type": "latency", "ms": 10, "max_ms": 5}}), "max_ms"),
        (json!({"action": {"type": "drop"}, "colour": "red"}), "colour"),
        (json!({"action": {"type": "truncate", "how": "much"}}), "how"),
        (
            json!({"path": "no-slash", "action": {"type": "drop"}}),
            "must start with /",
        ),
        (
            json!({"method": "NOT A METHOD", "action": {"type": "drop"}}),
            "not an HTTP method",
        ),
        (json!({"path": "/v1/**"}), "action"),
    ] {
        let a = send(t.control(Method::POST, "/_mock/faults").json(&rule)).await;
        assert_eq!(a.status, 422, "{rule}: {}", a.text());
        let (code, message) = a.control_error();
        assert_eq!(code, "invalid_rule", "{rule}");
        assert!(message.contains(says), "{rule}: {message}");
    }
    assert_eq!(t.get_json("/_mock/faults").await["rules"], json!([]));
}

/// The statuses of 40 `GET /v1/administrations` in world `world` under a rule that fails half of
/// them at random.
async fn forty_with_a_coin_flip(t: &T, world: &str) -> Vec<u16> {
    t.add_fault(
        Some(world),
        json!({"path": "/v1/administrations", "action": {"type": "status", "status": 503}, "probability": 0.5}),
    )
    .await;
    let mut out = Vec::new();
    for _ in 0..40 {
        out.push(t.administrations(Some(world), t.m.token()).await.status);
    }
    out
}

#[tokio::test]
async fn probabilistic_faults_replay_identically_for_the_same_request_sequence() {
    let t = T::new().await;
    let first = forty_with_a_coin_flip(&t, "r1").await;
    let second = forty_with_a_coin_flip(&t, "r2").await;
    assert_eq!(first, second, "two worlds with the same rule decide alike");
    let failed = first.iter().filter(|s| **s == 503).count();
    assert!((5..=35).contains(&failed), "a mixed sequence: {first:?}");
    assert!(first.iter().all(|s| *s == 200 || *s == 503), "{first:?}");

    // After a reset the same world replays it again.
    assert_eq!(
        send(t.control(Method::POST, "/_mock/worlds/r1/reset")).await.status,
        200
    );
    assert_eq!(forty_with_a_coin_flip(&t, "r1").await, first);

    // And so does another mock with the same seed.
    let other = T::new().await;
    assert_eq!(forty_with_a_coin_flip(&other, "r1").await, first);
}

// ------------------------------------------------------------------------------------------------
// 8. The emulated rate limit

#[tokio::test]
async fn the_emulated_rate_limit_allows_ten_requests_a_second_per_token() {
    let t = T::new().await;
    assert_eq!(
        t.get_json("/_mock/rate-limit").await,
        json!({"enabled": false, "available": true})
    );
    let on = send(
        t.control(Method::PUT, "/_mock/rate-limit")
            .json(&json!({"enabled": true})),
    )
    .await;
    assert_eq!(
        (on.status, &on.json),
        (200, &json!({"enabled": true, "available": true}))
    );
    assert_eq!(t.get_json("/_mock/rate-limit").await["enabled"], true);

    for n in 1..=10 {
        assert_eq!(t.administrations(None, t.m.token()).await.status, 200, "request {n}");
    }
    let refused = t.administrations(None, t.m.token()).await;
    assert_eq!(refused.status, 429, "{}", refused.text());
    assert_eq!(refused.header("retry-after"), Some("1"));
    let (code, message) = refused.payt_error();
    assert_eq!(code, "rate_limited");
    assert!(!message.is_empty());
    // Per token: another token has its own ten.
    assert_eq!(t.administrations(None, READONLY_TOKEN).await.status, 200);
    // The journal notes the refusal.
    let last = t.journal(None, &[("status", "429")]).await;
    assert_eq!(last.len(), 1);
    assert_eq!(last[0]["fault"], "rate_limit");

    // The next second of the world's clock.
    t.clock_action(None, json!({"action": "advance", "by": "PT1S"})).await;
    assert_eq!(t.administrations(None, t.m.token()).await.status, 200);

    let off = send(
        t.control(Method::PUT, "/_mock/rate-limit")
            .json(&json!({"enabled": false})),
    )
    .await;
    assert_eq!(off.json["enabled"], false);
    for _ in 0..12 {
        assert_eq!(t.administrations(None, t.m.token()).await.status, 200);
    }
    let bad = send(
        t.control(Method::PUT, "/_mock/rate-limit")
            .json(&json!({"enabled": "yes"})),
    )
    .await;
    assert_eq!((bad.status, bad.control_error().0), (400, "invalid_request"));
    let empty = send(t.control(Method::PUT, "/_mock/rate-limit")).await;
    assert_eq!(empty.status, 400);
    // Only the world it was set in: another world is not limited.
    for _ in 0..12 {
        assert_eq!(t.administrations(Some("free"), t.m.token()).await.status, 200);
    }
}

#[tokio::test]
async fn the_emulated_rate_limit_allows_three_file_imports_a_second() {
    let t = T::new().await;
    assert_eq!(
        send(
            t.control(Method::PUT, "/_mock/rate-limit")
                .json(&json!({"enabled": true}))
        )
        .await
        .status,
        200
    );
    let uri = t.uri();
    for n in 0..3u8 {
        let a = t.register_file(&uri, &[b'x', n]).await;
        assert_eq!(a.status, 201, "import {n}: {}", a.text());
    }
    let refused = t.register_file(&uri, b"fourth").await;
    assert_eq!(refused.status, 429, "{}", refused.text());
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!(refused.payt_error().0, "rate_limited");
    // Other requests still have room in this second.
    assert_eq!(t.administrations(None, t.m.token()).await.status, 200);
    t.clock_action(None, json!({"action": "advance", "by": "PT1S"})).await;
    assert_eq!(t.register_file(&uri, b"fourth").await.status, 201);
}

#[tokio::test]
async fn the_builder_can_start_every_world_rate_limited() {
    let t = T::with(MockPayt::test().clock(frozen()).rate_limit(true)).await;
    assert_eq!(t.get_json("/_mock/rate-limit").await["enabled"], true);
    for world in [None, Some("later")] {
        for n in 1..=10 {
            assert_eq!(t.administrations(world, t.m.token()).await.status, 200, "{world:?} {n}");
        }
        assert_eq!(t.administrations(world, t.m.token()).await.status, 429, "{world:?}");
    }
    // A reset keeps the mock's setting.
    assert_eq!(send(t.control(Method::POST, "/_mock/reset")).await.status, 200);
    assert_eq!(t.get_json("/_mock/rate-limit").await["enabled"], true);
}

// ------------------------------------------------------------------------------------------------
// 9. The clock

#[tokio::test]
async fn the_clock_reads_freezes_sets_advances_and_unfreezes() {
    // The running test clock.
    let t = T::with(MockPayt::test()).await;
    let clock = t.get_json("/_mock/clock").await;
    assert_eq!(
        (&clock["today"], &clock["frozen"]),
        (&json!("2026-11-01"), &json!(false))
    );
    let now = at(clock["now"].as_str().expect("now"));
    assert!(now >= epoch(), "{now}");

    let frozen_at = t.clock_action(None, json!({"action": "freeze"})).await;
    assert_eq!(frozen_at["frozen"], true);
    let still = t.get_json("/_mock/clock").await;
    assert_eq!(still["now"], frozen_at["now"], "frozen: it does not move");

    let set = t
        .clock_action(None, json!({"action": "set", "at": "2027-01-02T03:04:05Z"}))
        .await;
    assert_eq!(
        (&set["now"], &set["today"], &set["frozen"]),
        (&json!("2027-01-02T03:04:05.000Z"), &json!("2027-01-02"), &json!(true))
    );
    // Setting the clock forward ran the time-driven rules on the way, in time order.
    let timeline = set["timeline"].as_array().expect("a timeline");
    assert!(!timeline.is_empty());
    assert!(timeline.windows(2).all(|w| w[0]["at"].as_str() <= w[1]["at"].as_str()));
    let advanced = t
        .clock_action(None, json!({"action": "advance", "by": "P1DT2H30M"}))
        .await;
    assert_eq!(advanced["now"], "2027-01-03T05:34:05.000Z");
    let weeks = t.clock_action(None, json!({"action": "advance", "by": "P2W"})).await;
    assert_eq!(weeks["now"], "2027-01-17T05:34:05.000Z");
    let back = t.clock_action(None, json!({"action": "advance", "by": "-P1D"})).await;
    assert_eq!(back["now"], "2027-01-16T05:34:05.000Z");
    assert_eq!(
        t.m.clock().now(),
        at("2027-01-16T05:34:05Z"),
        "the handle's clock is the world's"
    );

    let running = t.clock_action(None, json!({"action": "unfreeze"})).await;
    assert_eq!(running["frozen"], false);
    assert!(at(running["now"].as_str().expect("now")) >= at("2027-01-16T05:34:05Z"));
    // Set on a running clock keeps it running.
    let set = t
        .clock_action(None, json!({"action": "set", "at": "2028-02-29T12:00:00Z"}))
        .await;
    assert_eq!((&set["today"], &set["frozen"]), (&json!("2028-02-29"), &json!(false)));
}

#[tokio::test]
async fn bad_clock_bodies_are_400_and_leave_the_clock_alone() {
    let t = T::new().await;
    for (body, says) in [
        ("{}", "action"),
        (r#"{"action": "jump"}"#, "not one of freeze, unfreeze, set, advance"),
        (r#"{"action": "advance"}"#, "advance needs \"by\""),
        (r#"{"action": "advance", "by": "P1M"}"#, "P30D"),
        (r#"{"action": "advance", "by": "soon"}"#, "not an ISO 8601 duration"),
        (r#"{"action": "advance", "by": "P99999999D"}"#, "P36500D"),
        (r#"{"action": "set"}"#, "set needs \"at\""),
        (r#"{"action": "set", "at": "tomorrow"}"#, "cannot read the body"),
        (r#"{"action": "freeze", "by": "P1D"}"#, "take no other field"),
        (r#"{"action": "freeze", "speed": 2}"#, "unknown field `speed`"),
        ("", "JSON object"),
    ] {
        let a = send(
            t.control(Method::POST, "/_mock/clock")
                .header("content-type", "application/json")
                .body(body),
        )
        .await;
        assert_eq!(a.status, 400, "{body}: {}", a.text());
        let (code, message) = a.control_error();
        assert_eq!(code, "invalid_request");
        assert!(message.contains(says), "{body}: {message}");
    }
    assert_eq!(
        t.get_json("/_mock/clock").await,
        json!({"now": "2026-11-01T09:00:00.000Z", "today": "2026-11-01", "frozen": true})
    );
}

#[tokio::test]
async fn world_clocks_are_independent() {
    let t = T::new().await;
    let a = t
        .clock_action(Some("a"), json!({"action": "advance", "by": "P1D"}))
        .await;
    assert_eq!(a["now"], "2026-11-02T09:00:00.000Z");
    assert_eq!(
        t.clock_now(None).await,
        "2026-11-01T09:00:00.000Z",
        "default did not move"
    );
    assert_eq!(
        t.clock_now(Some("b")).await,
        "2026-11-01T09:00:00.000Z",
        "a new world starts as default started"
    );
    assert_eq!(t.m.world("a").expect("a").clock().now(), at("2026-11-02T09:00:00Z"));
    assert_eq!(t.m.clock().now(), epoch());
    // The world's API sees its own clock: a write stamps it.
    t.must_create_debtor(&t.uri(), Some("a"), "W-C").await;
    let shown = send(
        t.api(Method::GET, &t.prefix("a"), "/v1/debtors/W-C")
            .query(&[("administration_id", "81"), ("identifier_type", "debtor_number")]),
    )
    .await;
    assert!(
        shown.json["updated_at"]
            .as_str()
            .is_some_and(|u| u.starts_with("2026-11-02T09:00:00")),
        "{}",
        shown.json
    );
    // And advancing default leaves `a` alone.
    t.m.clock().advance(chrono::Duration::hours(1));
    assert_eq!(t.clock_now(Some("a")).await, "2026-11-02T09:00:00.000Z");
}

// ------------------------------------------------------------------------------------------------
// 10. Without the control API

#[tokio::test]
async fn without_the_control_api_the_mock_is_payts_public_api_alone() {
    let t = T::with(MockPayt::test().clock(frozen()).control_api(false)).await;
    let uri = t.uri();
    for (method, path) in [
        (Method::GET, "/_mock"),
        (Method::GET, "/_mock/openapi.json"),
        (Method::GET, "/_mock/worlds"),
        (Method::GET, "/_mock/journal"),
        (Method::POST, "/_mock/reset"),
        (Method::GET, "/_mock/clock"),
        (Method::POST, "/_mock/faults"),
    ] {
        let a = send(t.api(method.clone(), &uri, path)).await;
        assert_eq!(a.status, 404, "{method} {path}: {}", a.text());
        assert_eq!(a.payt_error().0, "not_found", "{method} {path}");
    }
    // The header means nothing: the write lands in the one world.
    t.must_create_debtor(&uri, Some("a"), "W-NC").await;
    assert!(t.has_debtor(&uri, None, "W-NC").await);
    assert!(t.has_debtor(&uri, Some("b"), "W-NC").await);
    // Neither does the prefix.
    let prefixed = send(
        t.api(Method::GET, &t.prefix("x"), "/v1/debtors")
            .query(&[("administration_id", "81")]),
    )
    .await;
    assert_eq!(prefixed.status, 404, "{}", prefixed.text());
    assert_eq!(prefixed.payt_error().0, "not_found");

    // What the public flow hands out still works: the upload URL and the link pages.
    let slots = t.register_file(&uri, PDF).await;
    assert_eq!(slots.status, 201, "{}", slots.text());
    let upload = slots.json[0]["url"].as_str().expect("an upload url");
    assert!(
        upload.starts_with(&format!("{uri}/_mock/payt/storage/uploads/")),
        "{upload}"
    );
    let put = send(
        t.http
            .put(upload)
            .header("content-type", "application/pdf")
            .body(PDF.to_vec()),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.text());
    assert_eq!(t.register_file(&uri, PDF).await.json, json!([]), "the file is known");
    let admins = send(t.api(Method::GET, &uri, "/v1/administrations")).await;
    let page = admins.json["data"][0]["administration_url"].as_str().expect("a link");
    assert_eq!(send(t.http.get(page)).await.status, 200);
    // Nothing is journaled, and there is one world.
    assert!(t.m.received_requests().is_empty());
    assert_eq!(t.m.worlds().names(), ["default"]);
}

// ------------------------------------------------------------------------------------------------
// 11. The OpenAPI document

/// A validator for the schema at JSON pointer `pointer` of the control API's document (its `$ref`s
/// resolve inside the document).
fn validator(doc: &Value, pointer: &str) -> jsonschema::Validator {
    const URI: &str = "urn:payt-paywise-mocks:control";
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .with_resource(URI, Draft::Draft202012.create_resource(doc.clone()))
        .build(&json!({ "$ref": format!("{URI}#{pointer}") }))
        .unwrap_or_else(|e| panic!("cannot compile {pointer}: {e}"))
}

fn assert_valid(doc: &Value, pointer: &str, instance: &Value) {
    let v = validator(doc, pointer);
    let errors: Vec<String> = v
        .iter_errors(instance)
        .map(|e| format!("{} at {} ({})", e, e.instance_path(), e.schema_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{pointer} refuses {instance}:\n{}",
        errors.join("\n")
    );
}

fn assert_invalid(doc: &Value, pointer: &str, instance: &Value) {
    assert!(
        !validator(doc, pointer).is_valid(instance),
        "{pointer} accepts {instance}"
    );
}

/// The JSON-pointer escape of a path template (`/_mock/worlds/{name}` → `~1_mock~1worlds~1{name}`),
/// with the braces percent-encoded for the URI fragment.
fn escape(template: &str) -> String {
    template
        .replace('~', "~0")
        .replace('/', "~1")
        .replace('{', "%7B")
        .replace('}', "%7D")
}

/// Checks a live answer against the document: the operation documents its status, and its body
/// (if the operation has one for that status) validates against the documented schema.
fn assert_documented(doc: &Value, method: &str, template: &str, answer: &Answer) {
    let op = &doc["paths"][template][method.to_ascii_lowercase()];
    assert!(op.is_object(), "{method} {template} is not in the document");
    let status = answer.status.to_string();
    let response = &op["responses"][&status];
    assert!(
        response.is_object(),
        "{method} {template} does not document {status}: {}",
        answer.text()
    );
    match response.pointer("/content/application~1json/schema") {
        Some(_) => assert_valid(
            doc,
            &format!(
                "/paths/{}/{}/responses/{status}/content/application~1json/schema",
                escape(template),
                method.to_ascii_lowercase()
            ),
            &answer.json,
        ),
        None => assert!(
            answer.bytes.is_empty(),
            "{method} {template} {status} has a body: {}",
            answer.text()
        ),
    }
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_the_index_lists() {
    let t = T::small().await;
    let res = send(t.control(Method::GET, "/_mock/openapi.json")).await;
    assert_eq!(res.status, 200);
    assert!(
        res.header("content-type")
            .is_some_and(|c| c.starts_with("application/json"))
    );
    let doc = res.json;
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1.")),
        "{}",
        doc["openapi"]
    );
    assert_eq!(
        serde_json::from_str::<Value>(mock_core::control::OPENAPI).ok(),
        Some(doc.clone())
    );

    let index = t.get_json("/_mock").await;
    assert_eq!(index["vendor"], "payt");
    assert_eq!(index["world"], "default");
    assert_eq!(index["openapi"], "/_mock/openapi.json");
    let mut listed: Vec<String> = index["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .map(|r| r.as_str().expect("a route").to_string())
        .collect();
    listed.sort();
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "put", "post", "delete", "patch", "head", "options", "trace"] {
            if item.get(method).is_some() {
                documented.push(format!("{} {path}", method.to_ascii_uppercase()));
            }
        }
    }
    documented.sort();
    assert_eq!(listed, documented, "the index and the document list the same routes");

    // Each listed route is served (none answers the fallback's 404 for an unknown route or 405).
    for route in &listed {
        let (method, path) = route.split_once(' ').expect("METHOD path");
        let path = path.replace("{name}", "default").replace("{id}", "f999");
        let method: Method = method.parse().expect("a method");
        if method == Method::DELETE && path.starts_with("/_mock/worlds") {
            continue; // would drop the world the rest of this loop reads
        }
        if path == "/_mock/journal/events" {
            // A stream that never ends: its head says it is served.
            let res = t.control(method.clone(), &path).send().await.expect("sent");
            assert_eq!(res.status(), 200, "{route}");
            assert!(
                res.headers()
                    .get("content-type")
                    .is_some_and(|c| c.as_bytes().starts_with(b"text/event-stream")),
                "{route}"
            );
            continue;
        }
        let a = send(
            t.control(method.clone(), &path)
                .header("content-type", "application/json")
                .body("{}"),
        )
        .await;
        assert_ne!(a.status, 405, "{route}");
        if a.status == 404 {
            // Only the control API's own "no such rule", "no such scenario", "no such
            // resource" or "no such record" (not the Payt fallback's 404).
            let code = a.control_error().0;
            assert!(
                ["unknown_rule", "unknown_scenario", "unknown_resource", "not_found"].contains(&code),
                "{route}: {}",
                a.text()
            );
        }
    }
}

#[tokio::test]
async fn live_control_answers_match_the_openapi_schemas() {
    let t = T::small().await;
    let doc: Value = serde_json::from_str(mock_core::control::OPENAPI).expect("the document is JSON");
    let schema = |name: &str| format!("/components/schemas/{name}");
    let control = |method: Method, path: &str| t.control(method, path);

    // Worlds.
    let made = send(control(Method::POST, "/_mock/worlds").json(&json!({"name": "x", "seed": 7, "size": 0}))).await;
    assert_documented(&doc, "POST", "/_mock/worlds", &made);
    assert_valid(&doc, &schema("World"), &made.json);
    assert_valid(
        &doc,
        &schema("CreateWorld"),
        &json!({"name": "x", "seed": 7, "size": 0}),
    );
    assert_invalid(&doc, &schema("CreateWorld"), &json!({"name": "bad/name"}));
    assert_invalid(&doc, &schema("CreateWorld"), &json!({"name": "x", "size": 101}));
    let exists = send(control(Method::POST, "/_mock/worlds").json(&json!({"name": "x"}))).await;
    assert_documented(&doc, "POST", "/_mock/worlds", &exists);
    assert_valid(&doc, &schema("Error"), &exists.json);
    let list = send(control(Method::GET, "/_mock/worlds")).await;
    assert_documented(&doc, "GET", "/_mock/worlds", &list);
    assert_valid(&doc, &schema("WorldList"), &list.json);
    assert_documented(
        &doc,
        "GET",
        "/_mock/worlds/{name}",
        &send(control(Method::GET, "/_mock/worlds/x")).await,
    );
    assert_documented(
        &doc,
        "GET",
        "/_mock/worlds/{name}",
        &send(control(Method::GET, "/_mock/worlds/nope")).await,
    );
    let reset = send(control(Method::POST, "/_mock/worlds/x/reset").json(&json!({"size": 1}))).await;
    assert_documented(&doc, "POST", "/_mock/worlds/{name}/reset", &reset);
    assert_valid(&doc, &schema("Reseed"), &json!({"size": 1}));
    assert_invalid(&doc, &schema("Reseed"), &json!({"name": "x"}));
    let bad_reset = send(control(Method::POST, "/_mock/reset").json(&json!({"size": 1000}))).await;
    assert_documented(&doc, "POST", "/_mock/reset", &bad_reset);
    assert_documented(
        &doc,
        "POST",
        "/_mock/reset",
        &send(control(Method::POST, "/_mock/reset")).await,
    );
    assert_documented(
        &doc,
        "DELETE",
        "/_mock/worlds/{name}",
        &send(control(Method::DELETE, "/_mock/worlds/x")).await,
    );
    assert_documented(
        &doc,
        "DELETE",
        "/_mock/worlds/{name}",
        &send(control(Method::DELETE, "/_mock/worlds/x")).await,
    );

    // Snapshots.
    let snap = send(control(Method::GET, "/_mock/snapshot")).await;
    assert_documented(&doc, "GET", "/_mock/snapshot", &snap);
    let put = send(control(Method::PUT, "/_mock/snapshot").json(&snap.json)).await;
    assert_documented(&doc, "PUT", "/_mock/snapshot", &put);
    let refused = send(control(Method::PUT, "/_mock/snapshot").json(&json!({"format": "x"}))).await;
    assert_eq!(refused.status, 422);
    assert_documented(&doc, "PUT", "/_mock/snapshot", &refused);
    let running = T::with(MockPayt::test().size(0)).await;
    assert_valid(&doc, &schema("Snapshot"), &running.snapshot(None).await);

    // Faults: every action the mock takes is a valid spec and lists as a valid rule.
    for spec in [
        json!({"method": "POST", "path": "/v1/debtors", "action": {"type": "status", "status": 503}, "times": 1}),
        json!({"action": {"type": "status", "status": 422, "message": "Nope"}, "probability": 0.0}),
        json!({"path": "/v1/nothing", "action": {"type": "latency", "ms": 1, "max_ms": 2}}),
        json!({"path": "/v1/nothing", "action": {"type": "rate_limit", "retry_after": 5}}),
        json!({"path": "/v1/nothing", "token": "t", "action": {"type": "drop", "processed": true}}),
        json!({"path": "/v1/nothing", "action": {"type": "drop"}}),
        json!({"path": "/v1/nothing", "action": {"type": "truncate"}}),
        json!({"path": "/v1/nothing", "action": {"type": "malformed"}}),
    ] {
        assert_valid(&doc, &schema("FaultRuleSpec"), &spec);
        let rule = send(control(Method::POST, "/_mock/faults").json(&spec)).await;
        assert_eq!(rule.status, 201, "{spec}: {}", rule.text());
        assert_documented(&doc, "POST", "/_mock/faults", &rule);
        assert_valid(&doc, &schema("FaultRule"), &rule.json);
    }
    // What the mock refuses, the document refuses too.
    for spec in [
        json!({"action": {"type": "explode"}}),
        json!({"action": {"type": "status", "status": 700}}),
        json!({"action": {"type": "status", "status": 102}}),
        json!({"action": {"type": "status", "status": 503}, "probability": 2}),
        json!({"action": {"type": "status", "status": 503}, "times": 0}),
        json!({"action": {"type": "rate_limit"}}),
        json!({"action": {"type": "latency", "ms": 60001}}),
        json!({"action": {"type": "drop"}, "colour": "red"}),
        json!({"action": {"type": "truncate", "how": "much"}}),
    ] {
        let refused = send(control(Method::POST, "/_mock/faults").json(&spec)).await;
        assert_eq!(refused.status, 422, "{spec}: {}", refused.text());
        assert_documented(&doc, "POST", "/_mock/faults", &refused);
        assert_invalid(&doc, &schema("FaultRuleSpec"), &spec);
    }
    let rules = send(control(Method::GET, "/_mock/faults")).await;
    assert_documented(&doc, "GET", "/_mock/faults", &rules);
    assert_documented(
        &doc,
        "DELETE",
        "/_mock/faults/{id}",
        &send(control(Method::DELETE, "/_mock/faults/f8")).await,
    );
    assert_documented(
        &doc,
        "DELETE",
        "/_mock/faults/{id}",
        &send(control(Method::DELETE, "/_mock/faults/f8")).await,
    );

    // Journal entries of several kinds: a write, a faulted answer, an unknown route.
    // (f1 fails the first POST /v1/debtors once.)
    assert_eq!(t.create_debtor(&t.uri(), None, "W-OA").await.status, 503);
    t.must_create_debtor(&t.uri(), None, "W-OA2").await;
    assert_eq!(send(t.api(Method::GET, &t.uri(), "/v1/nothing")).await.status, 404);
    let journal = send(control(Method::GET, "/_mock/journal")).await;
    assert_documented(&doc, "GET", "/_mock/journal", &journal);
    let entries = journal.json["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 3);
    for e in entries {
        assert_valid(&doc, &schema("JournalEntry"), e);
    }
    assert_documented(
        &doc,
        "GET",
        "/_mock/journal",
        &send(control(Method::GET, "/_mock/journal").query(&[("status", "abc")])).await,
    );
    let har = send(control(Method::GET, "/_mock/journal/har")).await;
    assert_documented(&doc, "GET", "/_mock/journal/har", &har);

    // Verifications, met and not.
    for body in [
        json!({"method": "POST", "path": "/v1/debtors", "at_least": 1}),
        json!({"method": "POST", "path": "/v1/debtor", "count": 1}),
        json!({"path": "/v1/**", "status": "4xx", "at_most": 0}),
        json!({"status": 503}),
    ] {
        assert_valid(&doc, &schema("Verify"), &body);
        let v = send(control(Method::POST, "/_mock/journal/verify").json(&body)).await;
        assert_eq!(v.status, 200, "{body}: {}", v.text());
        assert_documented(&doc, "POST", "/_mock/journal/verify", &v);
        assert_valid(&doc, &schema("Verification"), &v.json);
    }
    assert_invalid(&doc, &schema("Verify"), &json!({"pathh": "/v1/debtors"}));
    let bad = send(control(Method::POST, "/_mock/journal/verify").json(&json!({"count": 1, "at_most": 1}))).await;
    assert_documented(&doc, "POST", "/_mock/journal/verify", &bad);
    assert_valid(&doc, &schema("Error"), &bad.json);
    assert_documented(
        &doc,
        "DELETE",
        "/_mock/journal",
        &send(control(Method::DELETE, "/_mock/journal")).await,
    );
    assert_documented(
        &doc,
        "DELETE",
        "/_mock/faults",
        &send(control(Method::DELETE, "/_mock/faults")).await,
    );

    // Rate limit and clock.
    assert_documented(
        &doc,
        "GET",
        "/_mock/rate-limit",
        &send(control(Method::GET, "/_mock/rate-limit")).await,
    );
    let rl = send(control(Method::PUT, "/_mock/rate-limit").json(&json!({"enabled": true}))).await;
    assert_documented(&doc, "PUT", "/_mock/rate-limit", &rl);
    assert_valid(&doc, &schema("RateLimit"), &rl.json);
    let rl_bad = send(control(Method::PUT, "/_mock/rate-limit").json(&json!({"enabled": 1}))).await;
    assert_documented(&doc, "PUT", "/_mock/rate-limit", &rl_bad);
    let clock = send(control(Method::GET, "/_mock/clock")).await;
    assert_documented(&doc, "GET", "/_mock/clock", &clock);
    assert_valid(&doc, &schema("Clock"), &clock.json);
    for action in [
        json!({"action": "advance", "by": "P1D"}),
        json!({"action": "set", "at": "2027-01-01T00:00:00Z"}),
        json!({"action": "unfreeze"}),
        json!({"action": "freeze"}),
    ] {
        assert_valid(&doc, &schema("ClockAction"), &action);
        let a = send(control(Method::POST, "/_mock/clock").json(&action)).await;
        assert_documented(&doc, "POST", "/_mock/clock", &a);
    }
    assert_invalid(&doc, &schema("ClockAction"), &json!({"action": "jump"}));
    let clock_bad = send(control(Method::POST, "/_mock/clock").json(&json!({"action": "jump"}))).await;
    assert_documented(&doc, "POST", "/_mock/clock", &clock_bad);
    assert_valid(&doc, &schema("Error"), &clock_bad.json);

    // The index and the document itself.
    assert_documented(&doc, "GET", "/_mock", &send(control(Method::GET, "/_mock")).await);
    assert_documented(
        &doc,
        "GET",
        "/_mock/openapi.json",
        &send(control(Method::GET, "/_mock/openapi.json")).await,
    );
    assert_documented(
        &doc,
        "DELETE",
        "/_mock/worlds",
        &send(control(Method::DELETE, "/_mock/worlds")).await,
    );
}

#[tokio::test]
async fn a_control_route_asked_with_another_method_is_405_in_the_control_shape() {
    let t = T::new().await;
    let a = send(t.control(Method::PATCH, "/_mock/reset")).await;
    assert_eq!(a.status, 405, "{}", a.text());
    let (code, message) = a.control_error();
    assert_eq!(code, "method_not_allowed");
    assert!(message.contains("PATCH"), "{message}");
}
