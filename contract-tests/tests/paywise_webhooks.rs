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
//!   (`mock-paywise/tests/webhooks.rs`) check delivery against a local receiver;
//! - the test-event and delivery-inspection endpoints: paywise has them, but their paths are not
//!   documented (the mock's paths for them are inferred), so they cannot be a contract.
//!
//! Whether `GET /v1/webhooks/` is paginated is not shown in paywise's docs; like every other list
//! it is asserted to be a DRF limit/offset page, so a difference shows up here.

use contract_tests::{Paywise, unique_reference};
use reqwest::StatusCode;
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
