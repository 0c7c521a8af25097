//! Contract tests for the paywise claim lifecycle: release, delete, documents, payments,
//! mandates, status updates and requests to client.
//!
//! HTTP only, public API only: claims, debtors and payments are created here (tagged with
//! [`unique_reference`]); mandates and requests to client can only be made by paywise's staff, so
//! those tests discover them through the list endpoints and fail with a message naming what is
//! missing when the account has none. Error bodies are undocumented (DRF is inferred), so only
//! their key structure is asserted, never the wording.
//!
//! Answering a request to client uses one up for good (paywise's staff make new ones), so each
//! answer test takes an unanswered request of its own answer type (one type per test, so that
//! tests running at the same time never answer the same request), searching from the newest
//! mandate, and is recorded as skipped when the account has none left. Claims that are never
//! released are deleted when the test ends.

use contract_tests::{Paywise, skip, unique_reference};
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A well-formed UUID that names nothing.
const UNKNOWN_UUID: &str = "00000000-0000-4000-8000-000000000000";

const BOUNDARY: &str = "contract-test-boundary-7f3a";

fn text<'v>(v: &'v Value, key: &str) -> &'v str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` must be a string in {v}"))
}

/// Money's value in cents after checking `{"value": "12.50", "currency": "EUR"}`.
fn cents(money: &Value, at: &str) -> i64 {
    assert_eq!(money["currency"], "EUR", "{at}: {money}");
    let v = money["value"]
        .as_str()
        .unwrap_or_else(|| panic!("{at}: value must be a string in {money}"));
    let (whole, frac) = v
        .split_once('.')
        .unwrap_or_else(|| panic!("{at}: {v:?} needs two decimals"));
    assert_eq!(frac.len(), 2, "{at}: {v:?} needs two decimals");
    let neg = whole.starts_with('-');
    let n: i64 = format!("{}{frac}", whole.trim_start_matches('-'))
        .parse()
        .unwrap_or_else(|_| panic!("{at}: {v:?} is not a decimal"));
    if neg { -n } else { n }
}

fn assert_field_errors(body: &Value, fields: &[&str]) {
    for f in fields {
        assert!(body.get(*f).is_some(), "expected an error for `{f}` in {body}");
    }
}

async fn send(req: contract_tests::RequestBuilder) -> (StatusCode, Value) {
    let res = req.send().await.expect("request sent");
    let status = res.status();
    let body = res.text().await.expect("a body");
    (status, serde_json::from_str(&body).unwrap_or(Value::String(body)))
}

async fn create(pw: &Paywise, path: &str, body: &Value) -> Value {
    let (s, got) = send(pw.post(path).json(body)).await;
    assert_eq!(s, StatusCode::CREATED, "POST {path} {body} answered {s}: {got}");
    got
}

/// A new consumer debtor and a created (unreleased) claim of 80.00 plus a 5.00 fee.
async fn new_claim(pw: &Paywise, what: &str) -> Value {
    let reference = unique_reference(what);
    let debtor = create(
        pw,
        "/v1/debtors/",
        &json!({
            "your_reference": reference,
            "acting_as": "consumer",
            "person": {"first_name": "Erika", "last_name": "Mustermann"},
            "addresses": [{"street": "Hauptstr. 1", "zip": "10115", "city": "Berlin", "country": "DE"}]
        }),
    )
    .await;
    create(
        pw,
        "/v1/claims/",
        &json!({
            "debtor": debtor["id"],
            "your_reference": reference,
            "subject_matter": null, "occurence_date": null, "document_reference": null, "document_date": null, "due_date": null, "reminder_date": null, "delay_date": null,
            "main_claim_amount": {"value": "80.00", "currency": "EUR"},
            "total_claim_amount": {"value": "85.00", "currency": "EUR"},
            "additional_charges": [{"type": "reminder_fee", "your_reference": null, "subject_matter": null, "occurence_date": null, "document_date": null, "due_date": null, "amount": {"value": "5.00", "currency": "EUR"}}],
            "starting_approach": "extrajudicial",
            "claim_disputed": false,
            "obligation_fulfilled": true
        }),
    )
    .await
}

fn claim_path(claim: &Value) -> String {
    format!("/v1/claims/{}/", text(claim, "id"))
}

/// Deletes `claim` when the test ends (allowed while it is `created`), for tests that never
/// release it.
fn delete_later(pw: &Paywise, claim: &Value) {
    pw.cleanup_later(Method::DELETE, claim_path(claim), None);
}

fn multipart(filename: &str, mime: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: {mime}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn upload(pw: &Paywise, path: &str, filename: &str, mime: &str, bytes: &[u8]) -> (StatusCode, Value) {
    send(
        pw.post(path)
            .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .body(multipart(filename, mime, bytes)),
    )
    .await
}

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

#[tokio::test]
async fn an_unreleased_claim_can_be_deleted() {
    let pw = Paywise::connect().await;
    let claim = new_claim(&pw, "lifecycle-delete").await;
    delete_later(&pw, &claim);
    assert_eq!(claim["submission_state"], "created");
    let path = claim_path(&claim);
    let res = pw
        .client
        .delete(pw.url(&path))
        .bearer_auth(&pw.token)
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(res.text().await.expect("body").is_empty(), "204 has no body");
    let (s, _) = send(pw.get(&path)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn release_moves_created_to_released_once() {
    let pw = Paywise::connect().await;
    let claim = new_claim(&pw, "lifecycle-release").await;
    let path = claim_path(&claim);
    let (s, got) = send(
        pw.client
            .patch(pw.url(&path))
            .bearer_auth(&pw.token)
            .json(&json!({"submission_state": "released", "send_order_confirmation": false})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(got["id"], claim["id"]);
    assert_eq!(got["submission_state"], "released");
    let (_, again) = send(pw.get(&path)).await;
    assert_eq!(again["submission_state"], "released");
    // No change after release, and no delete.
    let (s, e) = send(
        pw.client
            .patch(pw.url(&path))
            .bearer_auth(&pw.token)
            .json(&json!({"submission_state": "released"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert!(e.is_object(), "a DRF error object: {e}");
    let res = pw
        .client
        .delete(pw.url(&path))
        .bearer_auth(&pw.token)
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_document_upload_answers_the_claim_with_the_document() {
    let pw = Paywise::connect().await;
    let claim = new_claim(&pw, "lifecycle-document").await;
    delete_later(&pw, &claim);
    let path = format!("{}documents/", claim_path(&claim));
    let (s, got) = upload(&pw, &path, "Rechnung.pdf", "application/pdf", PDF).await;
    assert!(s.is_success(), "upload answered {s}: {got}");
    assert_eq!(got["id"], claim["id"]);
    let docs = got["documents"].as_array().expect("documents is an array");
    let doc = docs
        .iter()
        .find(|d| d["filename"] == "Rechnung.pdf")
        .unwrap_or_else(|| panic!("the uploaded document is not in {docs:?}"));
    assert_eq!(doc["mime_type"], "application/pdf");
    assert!(doc["id"].is_string());
    // paywise's file lists JSON among this operation's request types: it carries no file.
    let (s, _) = send(pw.post(&path).json(&json!({}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn payments_are_reported_on_own_claims() {
    let pw = Paywise::connect().await;
    let claim = new_claim(&pw, "lifecycle-payment").await;
    delete_later(&pw, &claim);
    let reference = unique_reference("payment");
    let body = json!({
        "claim": claim["id"],
        "amount": {"value": "12.5", "currency": "EUR"},
        "value_date": "2026-11-02",
        "your_reference": reference,
        "metadata": [{"type": "comment", "value": "Teilzahlung"}]
    });
    let p = create(&pw, "/v1/payments/", &body).await;
    assert_eq!(p["claim"], claim["id"]);
    assert_eq!(cents(&p["amount"], "amount"), 1250);
    assert_eq!(p["amount"]["value"], "12.50");
    assert_eq!(p["value_date"], "2026-11-02");
    assert_eq!(p["your_reference"], reference.as_str());
    let href = text(&p, "href");
    assert!(href.ends_with(&format!("/v1/payments/{}/", text(&p, "id"))), "{href}");
    let (s, got) = send(pw.get(&format!("/v1/payments/{}/", text(&p, "id")))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(got, p);
    let (all, count) = pw.walk("/v1/payments/", 100, &[]).await;
    // Tolerance: the account holds other payments (fixtures, other tests), so the list is only
    // required to be non-empty and to contain this one.
    assert!(count >= 1);
    assert!(all.iter().any(|x| x["id"] == p["id"]), "the new payment is listed");
    let (s, e) = send(pw.post("/v1/payments/").json(&json!({}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_field_errors(&e, &["claim", "amount", "value_date"]);
}

/// Every mandate of the account, or a failure naming what is missing.
async fn mandates(pw: &Paywise) -> Vec<Value> {
    let (all, _) = pw.walk("/v1/mandates/", 100, &[]).await;
    assert!(
        !all.is_empty(),
        "GET /v1/mandates/ returned no mandate: these tests need at least one mandate in the test \
         account (paywise opens one when it accepts a released claim)"
    );
    all
}

fn check_balance(m: &Value) {
    const PARTS: [&str; 5] = [
        "costs_interest_bearing",
        "costs_interest_free",
        "interest_on_costs",
        "interest_on_principal_claim",
        "principal_claim",
    ];
    let b = &m["legal_claim_balance"];
    let (mut legal, mut paid, mut bal) = (0, 0, 0);
    for p in PARTS {
        legal += cents(&b[format!("legal_claim_of_{p}")], p);
        paid += cents(&b[format!("payment_on_{p}")], p);
        bal += cents(&b[format!("balance_of_{p}")], p);
    }
    assert_eq!(cents(&b["total_legal_claim"], "total_legal_claim"), legal, "{b}");
    assert_eq!(cents(&b["total_payment"], "total_payment"), paid, "{b}");
    assert_eq!(cents(&b["total_balance"], "total_balance"), bal, "{b}");
}

#[tokio::test]
async fn mandates_have_the_documented_shape_and_filters() {
    let pw = Paywise::connect().await;
    let all = mandates(&pw).await;
    for m in &all {
        let id = text(m, "id");
        assert!(text(m, "href").ends_with(&format!("/v1/mandates/{id}/")));
        assert!(!text(m, "reference_number").is_empty());
        assert!(m["debtor"]["name"].is_string(), "{m}");
        for (k, choices) in [
            (
                "legal_stage",
                &[
                    "extrajudicial",
                    "judicial_dunning",
                    "foreclosure",
                    "long_term_monitoring",
                    "ended",
                ][..],
            ),
            (
                "processing_state",
                &[
                    "in_progress",
                    "paused",
                    "canceled_by_client",
                    "canceled_by_service_provider",
                    "ended",
                ][..],
            ),
            ("payment_state", &["unpaid", "partially_paid", "fully_paid"][..]),
        ] {
            assert!(choices.contains(&text(m, k)), "{k} of {m}");
        }
        check_balance(m);
        cents(&m["total_mandate_amount"], "total_mandate_amount");
        assert!(m["claims"].is_array() && m["status_updates"].is_array());
        assert!(m["archived"].is_boolean());
    }
    let first = &all[0];
    let (s, got) = send(pw.get(&format!("/v1/mandates/{}/", text(first, "id")))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(got["id"], first["id"]);
    let stage = text(first, "legal_stage");
    // Tolerance: other mandates share the stage, so the filter must hold this one and only
    // mandates of that stage, not a known set.
    let (filtered, _) = pw.walk("/v1/mandates/", 100, &[("legal_stage", stage)]).await;
    assert!(filtered.iter().all(|m| m["legal_stage"] == stage));
    assert!(filtered.iter().any(|m| m["id"] == first["id"]));
    let (s, e) = send(pw.get("/v1/mandates/").query(&[("legal_stage", "not-a-stage")])).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_field_errors(&e, &["legal_stage"]);
    // Archive and restore (cosmetic only).
    let path = format!("/v1/mandates/{}/", text(first, "id"));
    let was = first["archived"].as_bool().expect("archived is a bool");
    for want in [!was, was] {
        let (s, got) = send(
            pw.client
                .patch(pw.url(&path))
                .bearer_auth(&pw.token)
                .json(&json!({"archived": want})),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{got}");
        assert_eq!(got["archived"], want);
        assert_eq!(got["legal_stage"], first["legal_stage"]);
    }
}

#[tokio::test]
async fn status_updates_list_with_downloads() {
    let pw = Paywise::connect().await;
    let all = mandates(&pw).await;
    // Tolerance: how many mandates, status updates and downloads the account has differs between
    // targets; at most 20 mandates and 3 downloads are checked.
    let mut downloads = 0;
    for m in all.iter().take(20) {
        let path = format!("/v1/mandates/{}/statusupdates/", text(m, "id"));
        let (s, body) = send(pw.get(&path)).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let items = body
            .as_array()
            .or_else(|| body["results"].as_array())
            .unwrap_or_else(|| panic!("{path}: a list of status updates, got {body}"));
        for su in items {
            assert!(su["id"].is_string() && su["title"].is_string(), "{su}");
            for d in su["downloads"].as_array().into_iter().flatten() {
                let url = text(d, "download_url");
                let res = pw.client.get(url).bearer_auth(&pw.token).send().await.expect("sent");
                assert_eq!(res.status(), StatusCode::OK, "{url}");
                downloads += 1;
                if downloads >= 3 {
                    return;
                }
            }
        }
    }
}

#[tokio::test]
async fn requests_to_client_list_and_detail() {
    let pw = Paywise::connect().await;
    let all = mandates(&pw).await;
    let mut found = Vec::new();
    // Tolerance: the account's mandates and requests differ between targets; the first five
    // requests found are checked.
    for m in &all {
        let path = format!("/v1/mandates/{}/requests-to-client/", text(m, "id"));
        let (items, count) = pw.walk(&path, 50, &[]).await;
        assert_eq!(items.len() as u64, count);
        for r in items {
            found.push((text(m, "id").to_string(), r));
        }
        if found.len() >= 5 {
            break;
        }
    }
    assert!(
        !found.is_empty(),
        "no mandate has a request to client: this test needs one (paywise's staff create them)"
    );
    for (mandate, r) in &found {
        let id = text(r, "id");
        assert!(text(r, "href").ends_with(&format!("/v1/mandates/{mandate}/requests-to-client/{id}/")));
        assert!(r["allowed_answer_types"].is_array() && r["file_attachments"].is_array());
        let answered = r["answered"].as_bool().expect("answered is a bool");
        assert_eq!(r["answer"].is_null(), !answered, "{r}");
        let (s, got) = send(pw.get(&format!("/v1/mandates/{mandate}/requests-to-client/{id}/"))).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(got["id"], r["id"]);
        let flag = answered.to_string();
        let (filtered, _) = pw
            .walk(
                &format!("/v1/mandates/{mandate}/requests-to-client/"),
                50,
                &[("answered", flag.as_str())],
            )
            .await;
        assert!(filtered.iter().all(|x| x["answered"] == answered));
        if !filtered.iter().any(|x| x["id"] == r["id"]) {
            // Tolerance: another test (or client) may answer an unanswered request while this one
            // runs; then it has left `answered=false` and must now read back answered.
            let (_, now) = send(pw.get(&format!("/v1/mandates/{mandate}/requests-to-client/{id}/"))).await;
            assert!(
                !answered && now["answered"] == true,
                "answered={flag} must list {id}, which still reads {now}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Answering requests to client, answer documents, attachment downloads
// ---------------------------------------------------------------------------------------------

/// A valid 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53, 0xde, 0x00, 0x00, 0x00, 0x0c, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xff, 0xff, 0x3f, 0x00, 0x05, 0xfe, 0x02, 0xfe, 0x0d, 0xef, 0x46, 0xb8,
    0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// Asserts `body[field]` is a non-empty list of messages for each of `fields` (DRF's field
/// errors; the wording is paywise's and is not asserted).
fn assert_messages(body: &Value, fields: &[&str]) {
    for f in fields {
        let list = body[*f]
            .as_array()
            .unwrap_or_else(|| panic!("errors.{f} must be a list of messages in {body}"));
        assert!(
            !list.is_empty() && list.iter().all(Value::is_string),
            "errors.{f} must be a non-empty list of strings in {body}"
        );
    }
}

/// Asserts `body` is DRF's `{"detail": "<message>"}`.
fn assert_detail(body: &Value, at: &str) {
    let obj = body
        .as_object()
        .unwrap_or_else(|| panic!("{at}: expected {{\"detail\": ...}}, got {body}"));
    assert_eq!(obj.len(), 1, "{at}: expected only `detail`, got {body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{at}: `detail` must be a non-empty string in {body}"
    );
}

/// Asserts `v[key]` is an ISO 8601 timestamp.
fn assert_timestamp(v: &Value, key: &str) {
    let s = text(v, key);
    assert!(
        chrono::DateTime::parse_from_rfc3339(s).is_ok(),
        "`{key}` must be an ISO 8601 timestamp, got {s:?} in {v}"
    );
}

/// The mandates of the account, newest first.
async fn mandates_newest_first(pw: &Paywise) -> Vec<Value> {
    let (mut all, _) = pw.walk("/v1/mandates/", 100, &[]).await;
    all.reverse();
    all
}

/// An unanswered request to client whose `allowed_answer_types` are exactly `[kind]`, searched
/// from the newest mandate: `(mandate id, request)`, or `None` when the account has none.
async fn unanswered_request(pw: &Paywise, kind: &str) -> Option<(String, Value)> {
    for m in mandates_newest_first(pw).await {
        let mandate = text(&m, "id").to_string();
        let path = format!("/v1/mandates/{mandate}/requests-to-client/");
        let (open, _) = pw.walk(&path, 50, &[("answered", "false")]).await;
        if let Some(r) = open
            .into_iter()
            .rev()
            .find(|r| r["allowed_answer_types"] == json!([kind]) && r["answered"] == false)
        {
            return Some((mandate, r));
        }
    }
    None
}

/// POSTs an answer; the status and the body.
async fn post_answer(pw: &Paywise, request_path: &str, body: &Value) -> (StatusCode, Value) {
    send(pw.post(&format!("{request_path}answer/")).json(body)).await
}

/// Asserts a successful answer's status: the reference leaves 200 or 201 open (§2.1 #20) and the
/// contract allows both.
fn assert_answered_status(status: StatusCode, body: &Value) {
    assert!(
        status == StatusCode::OK || status == StatusCode::CREATED,
        "an accepted answer is 200 or 201, got {status}: {body}"
    );
}

/// Asserts `after` is `before` with the answer added: everything but `answered`, `answer` and
/// `answered_at` is unchanged, and the request now reads back answered.
fn assert_only_the_answer_changed(before: &Value, after: &Value) {
    for key in [
        "id",
        "href",
        "mandate",
        "title",
        "description",
        "allowed_answer_types",
        "file_attachments",
        "created",
    ] {
        assert_eq!(after[key], before[key], "`{key}` changed when the request was answered");
    }
    assert_eq!(after["answered"], true, "{after}");
    assert!(after["answer"].is_object(), "the answer is shown: {after}");
    assert_timestamp(after, "answered_at");
    assert_timestamp(&after["answer"], "created");
    assert!(after["answer"]["id"].is_string(), "the answer has an id: {after}");
}

/// Checks the mandate's `requests_to_client_summary` after `answered` (a request of it) was
/// answered: the summary is consistent with itself and with the request list, and shows the
/// answer. `unanswered_before` is the summary's count before the answer.
async fn check_summary_after_answer(pw: &Paywise, mandate: &str, answered: &Value, unanswered_before: u64) {
    let m = pw.get_json(&format!("/v1/mandates/{mandate}/"), &[]).await;
    let summary = &m["requests_to_client_summary"];
    let items = summary["items"].as_array().expect("summary items is an array");
    let unanswered = items.iter().filter(|i| i["answered"] == false).count() as u64;
    assert_eq!(
        summary["total_count"],
        json!(items.len()),
        "total_count counts the items: {summary}"
    );
    assert_eq!(
        summary["unanswered_count"],
        json!(unanswered),
        "unanswered_count counts the unanswered items: {summary}"
    );
    assert_eq!(summary["has_pending"], json!(unanswered > 0), "{summary}");
    // Tolerance: other clients may answer further requests of this mandate meanwhile, so the
    // count must have dropped by at least one, not exactly one.
    assert!(
        unanswered < unanswered_before,
        "unanswered_count was {unanswered_before} before the answer and is {unanswered} after"
    );
    let item = items
        .iter()
        .find(|i| i["id"] == answered["id"])
        .unwrap_or_else(|| panic!("the answered request is not in the mandate's summary {summary}"));
    assert_eq!(item["href"], answered["href"]);
    assert_eq!(item["title"], answered["title"]);
    assert_eq!(item["allowed_answer_types"], answered["allowed_answer_types"]);
    assert_eq!(item["created"], answered["created"]);
    assert_eq!(item["answered"], true, "the summary shows the answer: {item}");
    assert_eq!(item["answered_at"], answered["answered_at"], "{item}");
    let (listed, _) = pw
        .walk(&format!("/v1/mandates/{mandate}/requests-to-client/"), 50, &[])
        .await;
    let mut listed_ids: Vec<&Value> = listed.iter().map(|r| &r["id"]).collect();
    let mut summary_ids: Vec<&Value> = items.iter().map(|i| &i["id"]).collect();
    listed_ids.sort_by_key(|v| v.to_string());
    summary_ids.sort_by_key(|v| v.to_string());
    assert_eq!(
        summary_ids, listed_ids,
        "the summary lists the mandate's requests to client"
    );
}

/// The unanswered count of `mandate`'s summary.
async fn unanswered_count(pw: &Paywise, mandate: &str) -> u64 {
    let m = pw.get_json(&format!("/v1/mandates/{mandate}/"), &[]).await;
    m["requests_to_client_summary"]["unanswered_count"]
        .as_u64()
        .unwrap_or_else(|| panic!("unanswered_count must be a count in {m}"))
}

/// Answers an unanswered request of answer type `kind` with `accepted` after each of `refused`
/// bodies was refused on `text`, and checks what the answer changes.
async fn check_choice_answer(kind: &str, refused: &[Value], accepted: &str) {
    let pw = Paywise::connect().await;
    let Some((mandate, request)) = unanswered_request(&pw, kind).await else {
        skip(&format!(
            "no unanswered request to client of type {kind} in the account (paywise's staff create them)"
        ));
        return;
    };
    let id = text(&request, "id");
    let path = format!("/v1/mandates/{mandate}/requests-to-client/{id}/");
    let before = unanswered_count(&pw, &mandate).await;

    for body in refused {
        let (status, errors) = post_answer(&pw, &path, body).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{kind}: answer {body} must be refused: {errors}"
        );
        assert_messages(&errors, &["text"]);
    }
    let (status, still) = send(pw.get(&path)).await;
    assert_eq!(status, StatusCode::OK, "{still}");
    assert_eq!(still, request, "refused answers leave the request as it was");

    let comment = unique_reference("answer");
    let (status, answered) = post_answer(&pw, &path, &json!({"text": accepted, "additional_comment": comment})).await;
    assert_answered_status(status, &answered);
    assert_only_the_answer_changed(&request, &answered);
    assert_eq!(answered["answer"]["text"], accepted);
    assert_eq!(answered["answer"]["additional_comment"], comment.as_str());
    assert_eq!(answered["answer"]["files"], json!([]), "no files were uploaded");
    let (status, shown) = send(pw.get(&path)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown, answered, "GET shows the request as the answer returned it");

    let list = format!("/v1/mandates/{mandate}/requests-to-client/");
    let (done, _) = pw.walk(&list, 50, &[("answered", "true")]).await;
    assert!(done.contains(&answered), "answered=true lists the answered request");
    let (open, _) = pw.walk(&list, 50, &[("answered", "false")]).await;
    assert!(
        open.iter().all(|r| r["id"] != answered["id"]),
        "answered=false no longer lists it"
    );
    check_summary_after_answer(&pw, &mandate, &answered, before).await;

    // A request is answered once.
    let (status, errors) = post_answer(&pw, &path, &json!({"text": accepted})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a second answer: {errors}");
    assert!(
        errors.as_object().is_some_and(|o| !o.is_empty()),
        "a DRF error object: {errors}"
    );
    assert_eq!(pw.get_json(&path, &[]).await, answered, "the first answer stays");
}

#[tokio::test]
async fn a_yes_no_request_takes_yes_or_no_and_shows_the_answer_on_the_mandate() {
    check_choice_answer(
        "yes-no",
        &[json!({}), json!({"text": "maybe"}), json!({"text": "dontknow"})],
        "no",
    )
    .await;
}

#[tokio::test]
async fn a_yes_no_dontknow_request_takes_dontknow_and_shows_the_answer_on_the_mandate() {
    check_choice_answer("yes-no-dontknow", &[json!({}), json!({"text": "maybe"})], "dontknow").await;
}

#[tokio::test]
async fn a_fileupload_request_is_answered_with_the_documents_uploaded_before() {
    let pw = Paywise::connect().await;
    let Some((mandate, request)) = unanswered_request(&pw, "fileupload").await else {
        skip("no unanswered request to client of type fileupload in the account (paywise's staff create them)");
        return;
    };
    let id = text(&request, "id");
    let path = format!("/v1/mandates/{mandate}/requests-to-client/{id}/");
    let documents = format!("{path}answer/documents/");
    let before = unanswered_count(&pw, &mandate).await;
    let comment = unique_reference("fileupload-answer");

    // Files first: an answer without them is refused (a cross-field rule).
    let (status, errors) = post_answer(&pw, &path, &json!({"additional_comment": comment})).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a fileupload answer without files: {errors}"
    );
    assert_messages(&errors, &["non_field_errors"]);

    // Only multipart, and only PDF, JPEG and PNG.
    let (status, errors) = send(pw.post(&documents).json(&json!({}))).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "a JSON upload: {errors}");
    assert_detail(&errors, "a JSON upload");
    let (status, errors) = upload(&pw, &documents, "Notiz.txt", "text/plain", b"keine Datei").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a text/plain upload: {errors}");
    assert_messages(&errors, &["file"]);

    let mut uploaded = Vec::new();
    for (filename, mime, bytes) in [
        ("Vertrag.pdf", "application/pdf", PDF),
        ("Unterschrift.png", "image/png", PNG),
    ] {
        let (status, got) = upload(&pw, &documents, filename, mime, bytes).await;
        assert_eq!(status, StatusCode::CREATED, "uploading {filename}: {got}");
        assert_eq!(got["id"], request["id"], "the upload answers the request");
        assert_eq!(got["answered"], false, "an upload alone does not answer: {got}");
        assert_eq!(got["answer"], Value::Null, "{got}");
        uploaded.push((filename, mime, bytes.len()));
    }

    let (status, answered) = post_answer(&pw, &path, &json!({"additional_comment": comment})).await;
    assert_answered_status(status, &answered);
    assert_only_the_answer_changed(&request, &answered);
    let answer = &answered["answer"];
    assert_eq!(answer["text"], Value::Null, "no text was sent: {answer}");
    assert_eq!(answer["additional_comment"], comment.as_str());
    let files = answer["files"].as_array().expect("answer.files is an array");
    assert_eq!(files.len(), uploaded.len(), "the answer carries the uploads: {answer}");
    for (f, (filename, mime, size)) in files.iter().zip(&uploaded) {
        assert_eq!(f["filename"], *filename, "{f}");
        assert_eq!(f["mime_type"], *mime, "{f}");
        assert_eq!(f["file_size"], json!(size), "{f}");
        assert!(f["id"].is_string(), "{f}");
    }
    assert_eq!(pw.get_json(&path, &[]).await, answered);
    check_summary_after_answer(&pw, &mandate, &answered, before).await;
}

#[tokio::test]
async fn request_attachments_download_as_listed() {
    let pw = Paywise::connect().await;
    let mut found = Vec::new();
    for m in mandates_newest_first(&pw).await {
        let mandate = text(&m, "id").to_string();
        let (requests, _) = pw
            .walk(&format!("/v1/mandates/{mandate}/requests-to-client/"), 50, &[])
            .await;
        for r in requests {
            for a in r["file_attachments"].as_array().into_iter().flatten() {
                found.push((mandate.clone(), text(&r, "id").to_string(), a.clone()));
            }
        }
        // Tolerance: how many attachments the account has differs between targets; three are
        // enough to check.
        if found.len() >= 3 {
            break;
        }
    }
    if found.is_empty() {
        skip("no request to client in the account has a file attachment (paywise's staff attach them)");
        return;
    }
    for (mandate, request, a) in &found {
        let file = text(a, "id");
        let url = text(a, "download_url");
        let want = format!("/v1/mandates/{mandate}/requests-to-client/{request}/attachments/{file}/download/");
        let parsed = reqwest::Url::parse(url).unwrap_or_else(|e| panic!("download_url {url:?}: {e}"));
        let base = reqwest::Url::parse(&pw.base).expect("the base URL parses");
        // Tolerance: one of paywise's examples shows `http://` links, so the scheme is not compared;
        // the host and the documented path are.
        assert_eq!(
            (parsed.host_str(), parsed.port_or_known_default(), parsed.path()),
            (base.host_str(), base.port_or_known_default(), want.as_str()),
            "download_url of {a}"
        );
        let res = pw.client.get(url).bearer_auth(&pw.token).send().await.expect("sent");
        assert_eq!(res.status(), StatusCode::OK, "GET {url}");
        let media = res
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        assert_eq!(media, text(a, "mime_type"), "GET {url}: content type");
        let bytes = res.bytes().await.expect("a body");
        assert_eq!(json!(bytes.len()), a["file_size"], "GET {url}: file_size is the size");

        let res = pw.client.get(url).send().await.expect("sent");
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "GET {url} without a token");
    }
    let (mandate, request, _) = &found[0];
    for path in [
        format!("/v1/mandates/{mandate}/requests-to-client/{request}/attachments/{UNKNOWN_UUID}/download/"),
        format!("/v1/mandates/{mandate}/requests-to-client/{UNKNOWN_UUID}/attachments/{UNKNOWN_UUID}/download/"),
    ] {
        let (status, body) = send(pw.get(&path)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "GET {path}: {body}");
        assert_detail(&body, &path);
    }
}

#[tokio::test]
async fn answers_to_unknown_requests_are_404_and_a_token_is_required() {
    let pw = Paywise::connect().await;
    let Some(mandate) = mandates_newest_first(&pw).await.into_iter().next() else {
        skip("the account has no mandate (paywise opens one when it accepts a released claim)");
        return;
    };
    let mandate = text(&mandate, "id");
    for base in [
        format!("/v1/mandates/{mandate}/requests-to-client/{UNKNOWN_UUID}/"),
        format!("/v1/mandates/{UNKNOWN_UUID}/requests-to-client/{UNKNOWN_UUID}/"),
        format!("/v1/mandates/{mandate}/requests-to-client/not-a-uuid/"),
    ] {
        let (status, body) = post_answer(&pw, &base, &json!({"text": "yes"})).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "POST {base}answer/: {body}");
        assert_detail(&body, &format!("POST {base}answer/"));
        let documents = format!("{base}answer/documents/");
        let (status, body) = upload(&pw, &documents, "Vertrag.pdf", "application/pdf", PDF).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "POST {documents}: {body}");
        assert_detail(&body, &format!("POST {documents}"));
    }
    // Authentication comes first.
    let base = format!("/v1/mandates/{mandate}/requests-to-client/{UNKNOWN_UUID}/");
    let (status, body) = send(
        pw.client
            .post(pw.url(&format!("{base}answer/")))
            .json(&json!({"text": "yes"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "an answer without a token: {body}");
    assert_detail(&body, "an answer without a token");
    let (status, body) = send(
        pw.client
            .post(pw.url(&format!("{base}answer/documents/")))
            .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .body(multipart("Vertrag.pdf", "application/pdf", PDF)),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "an upload without a token: {body}");
    assert_detail(&body, "an upload without a token");
}
