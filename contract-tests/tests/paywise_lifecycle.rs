//! Contract tests for the paywise claim lifecycle: release, delete, documents, payments,
//! mandates, status updates and requests to client.
//!
//! HTTP only, public API only: claims, debtors and payments are created here (tagged with
//! [`unique_reference`]); mandates and requests to client can only be made by paywise's staff, so
//! those tests discover them through the list endpoints and fail with a message naming what is
//! missing when the account has none. Error bodies are undocumented (DRF is inferred), so only
//! their key structure is asserted, never the wording.

use contract_tests::{Paywise, unique_reference};
use reqwest::StatusCode;
use serde_json::{Value, json};

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
            "main_claim_amount": {"value": "80.00", "currency": "EUR"},
            "total_claim_amount": {"value": "85.00", "currency": "EUR"},
            "additional_charges": [{"type": "reminder_fee", "amount": {"value": "5.00", "currency": "EUR"}}],
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
    let (s, _) = send(pw.post(&path).json(&json!({}))).await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn payments_are_reported_on_own_claims() {
    let pw = Paywise::connect().await;
    let claim = new_claim(&pw, "lifecycle-payment").await;
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
        assert!(filtered.iter().any(|x| x["id"] == r["id"]));
    }
}
