//! Contract tests for paywise's webhook endpoint management (`/v1/webhooks/`).
//!
//! They speak only HTTP through [`contract_tests::Paywise`], so they run unchanged against our mock
//! (`CONTRACT_TARGET=mock`, the default) or paywise itself with a test-mode token
//! (`CONTRACT_TARGET=sandbox`). Every endpoint they create points at
//! `https://example.com/<unique reference>` and is deleted again at the end of the test.
//!
//! What is covered: create (201, `secret_key` only in the create response, documented defaults),
//! retrieve, PATCH of every documented writable field, list with the `enabled` filter, delete, and
//! the validation of `url` (HTTPS only), `events` (known types) and `max_consecutive_failures`
//! (1–1000). Error bodies follow DRF's shape; their wording is paywise's own and is not asserted.
//!
//! Not covered here, on purpose:
//! - **delivery** (headers, signature, retries, auto-disable): paywise would have to reach a
//!   receiver we run, which a test on this machine cannot offer it; the mock's own tests
//!   (`mock-paywise/tests/all/webhooks.rs`) check delivery against a local receiver;
//! - the receiving side of the test-event endpoint, for the same reason.
//!
//! The test-event and delivery-inspection endpoints (`POST /v1/webhooks/{id}/test/`,
//! `GET /v1/webhooks/{id}/deliveries/`, `GET /v1/webhooks/{id}/deliveries/{delivery_id}/`) exist at
//! paywise, but their paths were never captured: the mock's are inferred. Against a vendor, a
//! route that answers 404 or 405 makes the test a recorded skip ("paywise has no ..."); against
//! the mock everything is asserted.
//!
//! Whether `GET /v1/webhooks/` is paginated is not shown in paywise's docs; like every other list
//! it is asserted to be a DRF limit/offset page, so a difference shows up here.

use contract_tests::{Paywise, Target, skip, target, unique_reference};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const WEBHOOKS: &str = "/v1/webhooks/";
/// A well-formed UUID that names no endpoint.
const UNKNOWN_UUID: &str = "00000000-0000-4000-8000-000000000000";

/// The documented event types.
const EVENT_TYPES: [&str; 14] = [
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

async fn send(req: contract_tests::RequestBuilder) -> (StatusCode, Value) {
    let res = req.send().await.expect("request sent");
    let status = res.status();
    let text = res.text().await.expect("a body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    };
    (status, body)
}

async fn patch(pw: &Paywise, path: &str, body: &Value) -> (StatusCode, Value) {
    send(pw.client.patch(pw.url(path)).bearer_auth(&pw.token).json(body)).await
}

async fn delete(pw: &Paywise, path: &str) -> StatusCode {
    let res = pw
        .client
        .delete(pw.url(path))
        .bearer_auth(&pw.token)
        .send()
        .await
        .expect("request sent");
    let status = res.status();
    let body = res.bytes().await.expect("a body");
    if status == StatusCode::NO_CONTENT {
        assert!(body.is_empty(), "204 must have no body, got {body:?}");
    }
    status
}

fn text<'v>(v: &'v Value, key: &str) -> &'v str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` must be a string in {v}"))
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn assert_timestamp(v: &Value, key: &str) {
    let s = text(v, key);
    assert!(
        chrono::DateTime::parse_from_rfc3339(s).is_ok(),
        "`{key}` must be an ISO 8601 timestamp, got {s:?}"
    );
}

/// Asserts each of `fields` holds a non-empty list of messages in the 400 body `body`.
fn assert_field_errors(body: &Value, fields: &[&str]) {
    for f in fields {
        let list = body[*f]
            .as_array()
            .unwrap_or_else(|| panic!("errors.{f} must be a list of messages in {body}"));
        assert!(
            !list.is_empty() && list.iter().all(Value::is_string),
            "errors.{f} in {body}"
        );
    }
}

/// A fresh, recognisable public HTTPS URL.
fn receiver_url(what: &str) -> String {
    format!("https://example.com/{}", unique_reference(what))
}

/// Creates an endpoint; the create response after checking its documented shape.
async fn create(pw: &Paywise, body: &Value) -> Value {
    let (status, created) = send(pw.post(WEBHOOKS).json(body)).await;
    assert_eq!(status, StatusCode::CREATED, "POST {WEBHOOKS} {body}: {created}");
    let id = text(&created, "id");
    // Deleted when the test ends, even if it fails before its own DELETE (a 404 then is fine).
    pw.cleanup_later(Method::DELETE, format!("{WEBHOOKS}{id}/"), None);
    assert!(is_uuid(id), "id must be a UUID, got {id:?}");
    assert_eq!(created["url"], body["url"]);
    assert_eq!(created["events"], body["events"]);
    assert_eq!(created["enabled"], true);
    assert_eq!(
        created["access_mode"], "test",
        "a test-mode token makes test-mode endpoints"
    );
    assert!(
        !text(&created, "secret_key").is_empty(),
        "the create response must carry the secret_key: {created}"
    );
    assert_eq!(created["consecutive_failures"], 0);
    assert_eq!(created["last_failure_at"], Value::Null);
    assert_timestamp(&created, "created");
    assert_timestamp(&created, "updated");
    created
}

fn path_of(v: &Value) -> String {
    format!("{WEBHOOKS}{}/", text(v, "id"))
}

#[tokio::test]
async fn creating_an_endpoint_shows_the_secret_only_once() {
    let pw = Paywise::connect().await;
    let url = receiver_url("webhook");
    let body = json!({"url": url, "events": ["claim.created", "mandate.status_updated"],
                      "description": "contract test"});
    let created = create(&pw, &body).await;
    assert_eq!(created["description"], "contract test");
    assert_eq!(created["max_consecutive_failures"], 50, "documented default");
    let path = path_of(&created);

    let shown = pw.get_json(&path, &[]).await;
    assert!(
        shown.get("secret_key").is_none(),
        "secret_key must only be in the create response: {shown}"
    );
    for key in [
        "id",
        "url",
        "enabled",
        "events",
        "access_mode",
        "description",
        "max_consecutive_failures",
        "consecutive_failures",
        "last_failure_at",
        "created",
    ] {
        assert_eq!(shown[key], created[key], "{key} read back differs");
    }
    assert_eq!(delete(&pw, &path).await, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn every_documented_event_type_is_accepted() {
    let pw = Paywise::connect().await;
    let created = create(&pw, &json!({"url": receiver_url("webhook-all"), "events": EVENT_TYPES})).await;
    assert_eq!(delete(&pw, &path_of(&created)).await, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn patch_changes_each_writable_field_and_the_enabled_filter_follows() {
    let pw = Paywise::connect().await;
    let created = create(
        &pw,
        &json!({"url": receiver_url("webhook-patch"), "events": ["claim.created"]}),
    )
    .await;
    let path = path_of(&created);
    let id = text(&created, "id").to_string();

    let new_url = receiver_url("webhook-patched");
    let change = json!({"url": new_url, "events": ["payment.created", "payment.updated"],
                        "description": "patched", "max_consecutive_failures": 10, "enabled": false});
    let (status, patched) = patch(&pw, &path, &change).await;
    assert_eq!(status, StatusCode::OK, "PATCH {path}: {patched}");
    for (k, v) in change.as_object().expect("object") {
        assert_eq!(&patched[k], v, "{k} after PATCH");
    }
    assert!(patched.get("secret_key").is_none(), "{patched}");
    assert_eq!(pw.get_json(&path, &[]).await["enabled"], false);

    // Tolerance: other endpoints of the account may be enabled or disabled; only this one's
    // membership is asserted, plus that the filter returns nothing of the other state.
    let disabled = walk_ids(&pw, &[("enabled", "false")]).await;
    assert!(disabled.contains(&id), "?enabled=false must list the disabled endpoint");
    let enabled = walk_ids(&pw, &[("enabled", "true")]).await;
    assert!(
        !enabled.contains(&id),
        "?enabled=true must not list the disabled endpoint"
    );
    let page = pw.get_json(WEBHOOKS, &[("enabled", "false"), ("limit", "100")]).await;
    assert!(
        page["results"]
            .as_array()
            .expect("results")
            .iter()
            .all(|w| w["enabled"] == false),
        "{page}"
    );

    let (status, back) = patch(&pw, &path, &json!({"enabled": true})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(back["enabled"], true);
    assert_eq!(back["consecutive_failures"], 0, "re-enabling resets the failure count");
    assert_eq!(delete(&pw, &path).await, StatusCode::NO_CONTENT);
}

/// Every id of `GET /v1/webhooks/` with `query`, following `next` links.
async fn walk_ids(pw: &Paywise, query: &[(&str, &str)]) -> Vec<String> {
    let (all, _) = pw.walk(WEBHOOKS, 50, query).await;
    all.iter().map(|w| text(w, "id").to_string()).collect()
}

#[tokio::test]
async fn the_list_is_a_drf_page_of_the_companys_endpoints() {
    let pw = Paywise::connect().await;
    let a = create(
        &pw,
        &json!({"url": receiver_url("webhook-list-a"), "events": ["claim.created"]}),
    )
    .await;
    let b = create(
        &pw,
        &json!({"url": receiver_url("webhook-list-b"), "events": ["claim.updated"]}),
    )
    .await;
    let page = pw.get_json(WEBHOOKS, &[("limit", "1")]).await;
    let count = page["count"].as_u64().expect("count is an integer");
    // Tolerance: the account may hold other endpoints (other tests, other clients), so the list
    // must hold at least these two and contain both.
    assert!(count >= 2, "{page}");
    assert_eq!(page["results"].as_array().map(Vec::len), Some(1));
    assert_eq!(page["previous"], Value::Null);
    let next = text(&page, "next");
    assert!(next.starts_with("http") && next.contains("offset=1"), "{next}");
    let listed = page["results"][0].clone();
    assert!(
        listed.get("secret_key").is_none(),
        "the list must not show secrets: {listed}"
    );
    let all = walk_ids(&pw, &[]).await;
    for w in [&a, &b] {
        assert!(all.contains(&text(w, "id").to_string()), "{w} missing from the list");
    }
    for w in [&a, &b] {
        assert_eq!(delete(&pw, &path_of(w)).await, StatusCode::NO_CONTENT);
    }
}

#[tokio::test]
async fn invalid_endpoints_are_refused_with_field_errors() {
    let pw = Paywise::connect().await;
    let url = receiver_url("webhook-invalid");
    let cases = [
        (json!({}), vec!["url", "events"]),
        (json!({"url": "not a url", "events": ["claim.created"]}), vec!["url"]),
        (
            json!({"url": url.replacen("https://", "http://", 1), "events": ["claim.created"]}),
            vec!["url"],
        ),
        (json!({"url": url, "events": ["claim.deleted"]}), vec!["events"]),
        (json!({"url": url, "events": "claim.created"}), vec!["events"]),
        (
            json!({"url": url, "events": ["claim.created"], "max_consecutive_failures": 0}),
            vec!["max_consecutive_failures"],
        ),
        (
            json!({"url": url, "events": ["claim.created"], "max_consecutive_failures": 1001}),
            vec!["max_consecutive_failures"],
        ),
    ];
    for (body, fields) in cases {
        let (status, errors) = send(pw.post(WEBHOOKS).json(&body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "POST {body}: {errors}");
        assert_field_errors(&errors, &fields);
    }
    // Nothing was created.
    let all = pw.walk(WEBHOOKS, 100, &[]).await.0;
    assert!(
        all.iter().all(|w| !text(w, "url").contains("webhook-invalid")),
        "a refused endpoint was stored"
    );

    let created = create(&pw, &json!({"url": url, "events": ["claim.created"]})).await;
    let path = path_of(&created);
    for (body, field) in [
        (json!({"url": "http://example.com/plain"}), "url"),
        (json!({"events": ["nope"]}), "events"),
        (json!({"max_consecutive_failures": 1001}), "max_consecutive_failures"),
    ] {
        let (status, errors) = patch(&pw, &path, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "PATCH {body}: {errors}");
        assert_field_errors(&errors, &[field]);
    }
    assert_eq!(pw.get_json(&path, &[]).await["url"], created["url"]);
    assert_eq!(delete(&pw, &path).await, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn unknown_and_deleted_endpoints_are_404_and_a_token_is_required() {
    let pw = Paywise::connect().await;
    let unknown = format!("{WEBHOOKS}{UNKNOWN_UUID}/");
    let (status, body) = send(pw.get(&unknown)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body["detail"].is_string(), "{body}");
    let (status, _) = patch(&pw, &unknown, &json!({"description": "x"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(delete(&pw, &unknown).await, StatusCode::NOT_FOUND);

    let created = create(
        &pw,
        &json!({"url": receiver_url("webhook-delete"), "events": ["claim.created"]}),
    )
    .await;
    let path = path_of(&created);
    assert_eq!(delete(&pw, &path).await, StatusCode::NO_CONTENT);
    let (status, _) = send(pw.get(&path)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(delete(&pw, &path).await, StatusCode::NOT_FOUND);

    let (status, body) = send(pw.client.get(pw.url(WEBHOOKS))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body["detail"].is_string(), "{body}");
}

// ---------------------------------------------------------------------------------------------
// Test events and delivery inspection (inferred endpoints)
// ---------------------------------------------------------------------------------------------

/// Sends `method path` (JSON `body`) around the checking client: only to ask a vendor whether it
/// serves an inferred route at all, since its answer for a route it lacks (Django's HTML 404) is
/// no answer of the contract. The status and the JSON body (`Null` if none).
async fn unchecked(pw: &Paywise, method: Method, path: &str, body: Option<&Value>) -> (u16, Value) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client");
    let mut req = client.request(method, pw.url(path)).bearer_auth(&pw.token);
    if let Some(b) = body {
        req = req.json(b);
    }
    let res = req.send().await.expect("request sent");
    let status = res.status().as_u16();
    let body = res.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// Whether a vendor's answer `status` says the route itself is missing.
fn route_missing(status: u16) -> bool {
    target() == Target::Sandbox && matches!(status, 404 | 405)
}

/// Asserts `d` is a test delivery of `event` to the endpoint `webhook`.
fn assert_test_delivery(d: &Value, webhook: &str, event: &str) {
    let id = text(d, "id");
    assert!(is_uuid(id), "a delivery id is a UUID: {d}");
    let href = text(d, "href");
    assert!(
        href.starts_with("http") && href.ends_with(&format!("{WEBHOOKS}{webhook}/deliveries/{id}/")),
        "href {href:?} must be the delivery's absolute URL"
    );
    assert_eq!(d["webhook"], webhook, "{d}");
    assert_eq!(d["event"], event, "{d}");
    assert_eq!(d["test"], true, "{d}");
    assert!(d["attempts"].is_u64(), "{d}");
    assert_timestamp(d, "created");
    assert_timestamp(d, "updated");
    let payload = &d["payload"];
    assert_eq!(payload["event"], event, "the payload names the event: {d}");
    assert_timestamp(payload, "timestamp");
    assert_eq!(
        payload["data"]["access_mode"], "test",
        "a test-mode endpoint gets test-mode events: {d}"
    );
    assert!(
        payload["data"]["company_id"].as_str().is_some_and(is_uuid),
        "data.company_id is a UUID: {d}"
    );
}

/// Reads the delivery at `path` until its status is no longer `pending` (bounded: 10 s). `None`
/// only against a vendor still working on it then.
async fn settled(pw: &Paywise, path: &str) -> Option<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let d = pw.get_json(path, &[]).await;
        if d["status"] != "pending" {
            return Some(d);
        }
        if std::time::Instant::now() >= deadline {
            // Tolerance: a vendor may queue deliveries for longer; the mock attempts within 50 ms.
            assert_eq!(target(), Target::Sandbox, "{path} is still pending after 10 s: {d}");
            return None;
        }
    }
}

#[tokio::test]
async fn a_test_event_becomes_a_delivery_that_can_be_inspected() {
    let pw = Paywise::connect().await;
    // Statement events: nothing the suite does causes them, so every delivery to this endpoint
    // is one of the test events sent here.
    let events = ["statement.created", "statement.updated"];
    let created = create(
        &pw,
        &json!({"url": receiver_url("webhook-test-event"), "events": events}),
    )
    .await;
    let path = path_of(&created);
    let id = text(&created, "id").to_string();
    let test_path = format!("{path}test/");
    let deliveries = format!("{path}deliveries/");
    let mut ours: Vec<Value> = Vec::new();

    if target() == Target::Sandbox {
        let (status, probe) = unchecked(
            &pw,
            Method::POST,
            &test_path,
            Some(&json!({"event": "statement.updated"})),
        )
        .await;
        if route_missing(status) {
            skip("paywise has no POST /v1/webhooks/{id}/test/: the mock's inferred endpoint");
            return;
        }
        let probe_id = probe["id"].clone();
        let (status, _) = unchecked(&pw, Method::GET, &deliveries, None).await;
        if route_missing(status) {
            skip("paywise has no GET /v1/webhooks/{id}/deliveries/: the mock's inferred endpoint");
            return;
        }
        if let Some(probe_id) = probe_id.as_str() {
            let (status, _) = unchecked(&pw, Method::GET, &format!("{deliveries}{probe_id}/"), None).await;
            if route_missing(status) {
                skip("paywise has no GET /v1/webhooks/{id}/deliveries/{delivery_id}/: the mock's inferred endpoint");
                return;
            }
            ours.push(probe_id.into());
        }
    }

    let (status, first) = send(pw.post(&test_path).json(&json!({"event": "statement.updated"}))).await;
    assert_eq!(status, StatusCode::CREATED, "POST {test_path}: {first}");
    assert_test_delivery(&first, &id, "statement.updated");
    ours.push(first["id"].clone());
    // Without an event, the test event is one the endpoint subscribed to.
    let (status, second) = send(pw.post(&test_path).json(&json!({}))).await;
    assert_eq!(status, StatusCode::CREATED, "POST {test_path} {{}}: {second}");
    let event = text(&second, "event");
    assert!(
        events.contains(&event),
        "a test event without `event` is one of the endpoint's {events:?}: {second}"
    );
    assert_test_delivery(&second, &id, event);
    assert_eq!(
        second["payload"]["data"]["company_id"], first["payload"]["data"]["company_id"],
        "both events are the same company's"
    );
    ours.push(second["id"].clone());
    let (status, errors) = send(pw.post(&test_path).json(&json!({"event": "claim.deleted"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "an unknown event type: {errors}");
    assert_field_errors(&errors, &["event"]);

    // The list holds exactly the test events sent to this endpoint.
    let (listed, count) = pw.walk(&deliveries, 50, &[]).await;
    assert_eq!(listed.len() as u64, count, "{deliveries}: walked all of count");
    assert!(listed.iter().all(|d| d["webhook"] == id.as_str()), "{listed:?}");
    let mut listed_ids: Vec<String> = listed.iter().map(|d| text(d, "id").to_string()).collect();
    let mut our_ids: Vec<String> = ours
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect();
    listed_ids.sort();
    our_ids.sort();
    assert_eq!(
        listed_ids, our_ids,
        "{deliveries} lists the test events sent to the endpoint"
    );
    let (by_event, _) = pw.walk(&deliveries, 50, &[("event", "statement.updated")]).await;
    assert!(
        by_event.iter().all(|d| d["event"] == "statement.updated"),
        "{by_event:?}"
    );
    assert!(
        by_event.iter().any(|d| d["id"] == first["id"]),
        "event=statement.updated lists it"
    );
    for (filter, value) in [("event", "claim.deleted"), ("status", "bogus")] {
        let (status, errors) = send(pw.get(&deliveries).query(&[(filter, value)])).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{filter}={value}: {errors}");
        assert_field_errors(&errors, &[filter]);
    }

    // One delivery, and how it ended.
    let first_path = format!("{deliveries}{}/", text(&first, "id"));
    let shown = pw.get_json(&first_path, &[]).await;
    for key in ["href", "id", "webhook", "event", "test", "payload", "created"] {
        assert_eq!(shown[key], first[key], "`{key}` of {first_path}");
    }
    if let Some(done) = settled(&pw, &first_path).await {
        assert!(
            done["attempts"].as_u64().unwrap_or(0) >= 1,
            "an ended delivery was attempted: {done}"
        );
        assert_timestamp(&done, "last_attempt_at");
        assert_eq!(done["next_attempt_at"], Value::Null, "nothing more is due: {done}");
        let answered_2xx = done["response_status"]
            .as_u64()
            .is_some_and(|s| (200..300).contains(&s));
        if done["status"] == "success" {
            assert!(answered_2xx && done["error"].is_null(), "a success is a 2xx: {done}");
        } else {
            assert!(
                !answered_2xx && done["error"].as_str().is_some_and(|e| !e.is_empty()),
                "a failure says why: {done}"
            );
        }
        let status = text(&done, "status");
        let (same, _) = pw.walk(&deliveries, 50, &[("status", status)]).await;
        assert!(same.iter().any(|d| d["id"] == first["id"]), "status={status} lists it");
        assert!(same.iter().all(|d| d["status"] == status), "{same:?}");
        let (pending, _) = pw.walk(&deliveries, 50, &[("status", "pending")]).await;
        assert!(
            pending.iter().all(|d| d["id"] != first["id"]),
            "status=pending no longer lists it"
        );
        if target() == Target::Mock {
            // A test event is tried once (whether example.com answered or, without a network,
            // could not be reached) and leaves the endpoint's failure count alone.
            assert_eq!(done["attempts"], 1, "{done}");
            let endpoint = pw.get_json(&path, &[]).await;
            assert_eq!(endpoint["consecutive_failures"], 0, "{endpoint}");
            assert_eq!(endpoint["last_failure_at"], Value::Null, "{endpoint}");
        }
    }

    // Unknown ids, and no token.
    let first_id = text(&first, "id");
    for p in [
        format!("{deliveries}{UNKNOWN_UUID}/"),
        format!("{WEBHOOKS}{UNKNOWN_UUID}/deliveries/"),
        format!("{WEBHOOKS}{UNKNOWN_UUID}/deliveries/{first_id}/"),
    ] {
        let (status, body) = send(pw.get(&p)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "GET {p}: {body}");
        assert!(body["detail"].is_string(), "{body}");
    }
    let unknown_test = format!("{WEBHOOKS}{UNKNOWN_UUID}/test/");
    let (status, body) = send(pw.post(&unknown_test).json(&json!({}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "POST {unknown_test}: {body}");
    let (status, body) = send(pw.client.post(pw.url(&test_path)).json(&json!({}))).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "POST {test_path} without a token: {body}"
    );
    let (status, body) = send(pw.client.get(pw.url(&deliveries))).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "GET {deliveries} without a token: {body}"
    );

    // The deliveries go with their endpoint.
    assert_eq!(delete(&pw, &path).await, StatusCode::NO_CONTENT);
    for p in [&deliveries, &first_path] {
        let (status, body) = send(pw.get(p)).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "GET {p} after deleting the endpoint: {body}"
        );
    }
}
