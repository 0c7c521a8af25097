//! Mock-side behaviour the contract suite cannot check against paywise itself: access-mode
//! isolation between the test and production tokens, DRF paging edge cases, and the stack's error
//! shapes.

use mock_paywise::{MockPaywise, PaywiseMock as _};
use serde_json::{Value, json};

async fn get(url: &str, token: &str) -> (u16, Value) {
    let res = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("sent");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn debtor_body(reference: &str) -> Value {
    json!({
        "your_reference": reference,
        "acting_as": "business",
        "organization": {"name": "Muster GmbH"},
        "addresses": [{"street": "Hauptstr. 1", "zip": "10115", "city": "Berlin", "country": "DE"}]
    })
}

#[tokio::test]
async fn objects_of_one_access_mode_are_invisible_to_the_other() {
    let m = MockPaywise::test().seed(3).start().await;
    let client = reqwest::Client::new();
    let res = client
        .post(format!("{}/v1/debtors/", m.uri()))
        .bearer_auth(m.token())
        .json(&debtor_body("iso-1"))
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.expect("json");
    let id = created["id"].as_str().expect("id");

    let (s, _) = get(&format!("{}/v1/debtors/{id}/", m.uri()), m.token()).await;
    assert_eq!(s, 200);
    let (s, body) = get(&format!("{}/v1/debtors/{id}/", m.uri()), m.production_token()).await;
    assert_eq!((s, body), (404, json!({"detail": "Not found."})));
    let (_, page) = get(
        &format!("{}/v1/debtors/?your_reference=iso-1", m.uri()),
        m.production_token(),
    )
    .await;
    assert_eq!(page["count"], 0);

    // A claim in production mode cannot name a test-mode debtor.
    let res = client
        .post(format!("{}/v1/claims/", m.uri()))
        .bearer_auth(m.production_token())
        .json(&json!({
            "debtor": id,
            "main_claim_amount": {"value": "10.00", "currency": "EUR"},
            "total_claim_amount": {"value": "10.00", "currency": "EUR"},
            "your_reference": null, "subject_matter": null, "occurence_date": null, "document_reference": null, "document_date": null, "due_date": null, "reminder_date": null, "delay_date": null, "starting_approach": "extrajudicial", "claim_disputed": false, "obligation_fulfilled": true
        }))
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.expect("json");
    assert!(
        body["debtor"][0].as_str().expect("message").contains("does not exist"),
        "{body}"
    );

    // The two modes page independently.
    let (_, test) = get(&format!("{}/v1/claims/?limit=1", m.uri()), m.token()).await;
    let (_, prod) = get(&format!("{}/v1/claims/?limit=1", m.uri()), m.production_token()).await;
    assert_ne!(test["count"], prod["count"]);
}

#[tokio::test]
async fn drf_paging_edge_cases() {
    let m = MockPaywise::test().start().await;
    let base = format!("{}/v1/claims/", m.uri());
    let (_, all) = get(&format!("{base}?limit=1000"), m.token()).await;
    let count = all["count"].as_u64().expect("count");
    // A bad limit falls back to the default (100), as DRF does; a huge one is clamped to 1000.
    let (s, page) = get(&format!("{base}?limit=abc"), m.token()).await;
    assert_eq!(s, 200);
    assert_eq!(page["results"].as_array().map(Vec::len), Some(count.min(100) as usize));
    let (_, page) = get(&format!("{base}?limit=5&offset=-3"), m.token()).await;
    assert_eq!(page["previous"], Value::Null);
    // An offset beyond the end is an empty page with a link back.
    let (s, page) = get(&format!("{base}?limit=5&offset={}", count + 10), m.token()).await;
    assert_eq!(s, 200);
    assert_eq!(page["results"], json!([]));
    assert_eq!(page["next"], Value::Null);
    assert!(
        page["previous"].as_str().expect("previous").contains("offset="),
        "{page}"
    );
    // Links keep the other query parameters, sorted by name as DRF writes them.
    let (_, page) = get(&format!("{base}?submission_state=created&limit=1"), m.token()).await;
    if page["count"].as_u64().unwrap_or(0) > 1 {
        assert_eq!(
            page["next"].as_str().expect("next"),
            format!("{base}?limit=1&offset=1&submission_state=created")
        );
    }
    // Links honour a proxy's forwarded host and scheme.
    let res = reqwest::Client::new()
        .get(format!("{base}?limit=1"))
        .bearer_auth(m.token())
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "api.paywise.example")
        .send()
        .await
        .expect("sent");
    let page: Value = res.json().await.expect("json");
    assert_eq!(
        page["next"],
        json!("https://api.paywise.example/v1/claims/?limit=1&offset=1")
    );
    // So do the records' own links, though the same record was just shown on the mock's address
    // (a page's records are written once per origin, then copied).
    let href = |page: &Value| page["results"][0]["href"].as_str().unwrap_or_default().to_string();
    assert!(
        href(&page).starts_with("https://api.paywise.example/v1/claims/"),
        "{page}"
    );
    let (_, plain) = get(&format!("{base}?limit=1"), m.token()).await;
    assert!(href(&plain).starts_with(&format!("{}/v1/claims/", m.uri())), "{plain}");
}

#[tokio::test]
async fn stack_errors_have_drf_shapes() {
    let m = MockPaywise::test().start().await;
    let client = reqwest::Client::new();
    let res = client
        .put(format!("{}/v1/claims/", m.uri()))
        .bearer_auth(m.token())
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 405);
    assert_eq!(
        res.json::<Value>().await.expect("json"),
        json!({"detail": "Method \"PUT\" not allowed."})
    );
    let res = client
        .post(format!("{}/v1/debtors/", m.uri()))
        .bearer_auth(m.token())
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 415);
    assert_eq!(
        res.json::<Value>().await.expect("json"),
        json!({"detail": "Unsupported media type \"text/plain\" in request."})
    );
    let res = client
        .get(format!("{}/v1/debtors/%FF/", m.uri()))
        .bearer_auth(m.token())
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 404, "Django matches no URL pattern");
    assert_eq!(
        res.json::<Value>().await.expect("json"),
        json!({"detail": "Not found."})
    );
    let res = client
        .post(format!("{}/v1/debtors/", m.uri()))
        .bearer_auth(m.token())
        .json(&json!([1, 2]))
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.json::<Value>().await.expect("json"),
        json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
    );
    let res = client
        .post(format!("{}/v1/debtors/", m.uri()))
        .bearer_auth(m.token())
        .header("content-type", "application/json")
        .body(vec![b'{'; 11 * 1024 * 1024])
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 413);
    assert!(res.json::<Value>().await.expect("json")["detail"].is_string());
    let (s, body) = get(&format!("{}/v1/nothing-here/", m.uri()), m.token()).await;
    assert_eq!((s, body), (404, json!({"detail": "Not found."})));
    let (s, body) = get(&format!("{}/v1/claims/not-a-uuid/", m.uri()), m.token()).await;
    assert_eq!((s, body), (404, json!({"detail": "Not found."})));
    let res = client
        .get(format!("{}/v1/claims/", m.uri()))
        .header("authorization", "Token abc")
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers().get("www-authenticate").and_then(|v| v.to_str().ok()),
        Some("Bearer realm=\"api\"")
    );
}

#[tokio::test]
async fn created_records_get_ids_timestamps_and_exact_money() {
    let m = MockPaywise::test().seed(11).start().await;
    let client = reqwest::Client::new();
    let res = client
        .post(format!("{}/v1/debtors/", m.uri()))
        .bearer_auth(m.token())
        .json(&debtor_body("money-1"))
        .send()
        .await
        .expect("sent");
    let debtor: Value = res.json().await.expect("json");
    let res = client
        .post(format!("{}/v1/claims/", m.uri()))
        .bearer_auth(m.token())
        .json(&json!({
            "debtor": debtor["id"],
            "main_claim_amount": {"value": 100.1, "currency": "EUR"},
            "additional_charges": [{"your_reference": null, "subject_matter": null, "occurence_date": null, "document_date": null, "due_date": null, "amount": {"value": "0.2", "currency": "EUR"}}],
            "payments": [{"amount": {"value": "50", "currency": "EUR"}, "value_date": "2026-01-02"}],
            "total_claim_amount": {"value": "50.30", "currency": "EUR"},
            "your_reference": null, "subject_matter": null, "occurence_date": null, "document_reference": null, "document_date": null, "due_date": null, "reminder_date": null, "delay_date": null, "starting_approach": "judicial", "claim_disputed": "false", "obligation_fulfilled": true
        }))
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 201);
    let claim: Value = res.json().await.expect("json");
    assert_eq!(
        claim["main_claim_amount"],
        json!({"value": "100.10", "currency": "EUR"})
    );
    assert_eq!(
        claim["additional_charges_amount"],
        json!({"value": "0.20", "currency": "EUR"})
    );
    assert_eq!(
        claim["total_claim_amount"],
        json!({"value": "50.30", "currency": "EUR"})
    );
    assert_eq!(claim["claim_disputed"], json!(false));
    let created = claim["created"].as_str().expect("created");
    assert!(created.ends_with('Z'), "{created}");
    assert!(claim["payments"][0]["href"].as_str().expect("href").ends_with('/'));
}

/// The claims and debtors of every scope, compared before and after a refusal.
fn v1_counts(m: &MockPaywise) -> (usize, usize) {
    m.state().store.read(|db| (db.claims.len(), db.debtors.len()))
}

async fn post_raw(m: &MockPaywise, path: &str, body: String) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(format!("{}{path}", m.uri()))
        .bearer_auth(m.token())
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("sent");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn claim_body(debtor: &Value) -> Value {
    json!({
        "debtor": debtor["id"],
        "main_claim_amount": {"value": "100.00", "currency": "EUR"},
        "total_claim_amount": {"value": "100.00", "currency": "EUR"},
        "your_reference": null, "subject_matter": null, "occurence_date": null, "document_reference": null,
        "document_date": null, "due_date": null, "reminder_date": null, "delay_date": null,
        "starting_approach": "judicial", "claim_disputed": "false", "obligation_fulfilled": true
    })
}

#[tokio::test]
async fn every_v1_list_is_capped_with_drf_s_message_and_a_refusal_changes_nothing() {
    use mock_paywise::validate::MAX_LIST_ITEMS;
    let m = MockPaywise::test().seed(11).start().await;
    let (_, debtors) = get(&format!("{}/v1/debtors/?limit=1", m.uri()), m.token()).await;
    let debtor = debtors["results"][0].clone();
    let before = v1_counts(&m);
    let many = |v: Value| Value::Array(vec![v; MAX_LIST_ITEMS + 1]);
    let message = json!([format!("Ensure this field has no more than {MAX_LIST_ITEMS} elements.")]);
    let charge = json!({"your_reference": null, "subject_matter": null, "occurence_date": null, "document_date": null,
                        "due_date": null, "amount": {"value": "1.00", "currency": "EUR"}});
    let payment = json!({"amount": {"value": "1.00", "currency": "EUR"}, "value_date": "2026-01-02"});
    let item =
        json!({"description": "x", "quantity": 1, "unit": "piece", "amount": {"value": "1.00", "currency": "EUR"}});
    for (key, v) in [("additional_charges", charge), ("payments", payment), ("items", item)] {
        let mut body = claim_body(&debtor);
        body[key] = many(v);
        let (s, b) = post_raw(&m, "/v1/claims/", body.to_string()).await;
        assert_eq!((s, &b[key]), (400, &message), "{key}: {b}");
    }
    let mut body = debtor_body("cap-1");
    body["addresses"] = many(body["addresses"][0].clone());
    let (s, b) = post_raw(&m, "/v1/debtors/", body.to_string()).await;
    assert_eq!((s, &b["addresses"]), (400, &message), "{b}");
    assert_eq!(v1_counts(&m), before, "a refused request changes nothing");
}

#[tokio::test]
async fn a_v1_body_beyond_the_value_cap_is_refused() {
    let m = MockPaywise::test().seed(11).start().await;
    let before = v1_counts(&m);
    let limits = mock_core::body::JSON_LIMITS;
    let body = format!("{{\"additional_charges\":[{}0]}}", "0,".repeat(limits.max_values));
    let (s, b) = post_raw(&m, "/v1/claims/", body).await;
    assert_eq!(s, 400, "{b}");
    let detail = b["detail"].as_str().unwrap_or("");
    assert!(detail.contains("at most 200000 values"), "{b}");
    assert_eq!(v1_counts(&m), before);
}

#[tokio::test]
async fn v1_amounts_follow_the_decimal_field_of_the_vendor_files() {
    let m = MockPaywise::test().seed(11).start().await;
    let (_, debtors) = get(&format!("{}/v1/debtors/?limit=1", m.uri()), m.token()).await;
    let debtor = debtors["results"][0].clone();
    let before = v1_counts(&m);
    // An integer beyond 64 bits (the parser holds it as a float), a float, a long digit string.
    for (value, message) in [
        (
            "123456789012345678901234567890",
            "Ensure that there are no more than 16 digits in total.",
        ),
        ("1e300", "Ensure that there are no more than 16 digits in total."),
        (
            "\"123456789012345678901234567890123\"",
            "Ensure that there are no more than 16 digits in total.",
        ),
        (
            "\"100000000000000.00\"",
            "Ensure that there are no more than 14 digits before the decimal point.",
        ),
        (
            "\"100000000000000\"",
            "Ensure that there are no more than 14 digits before the decimal point.",
        ),
    ] {
        let body = claim_body(&debtor)
            .to_string()
            .replacen(r#""value":"100.00""#, &format!(r#""value":{value}"#), 1);
        assert!(body.contains(value), "the body carries {value}: {body}");
        let (s, b) = post_raw(&m, "/v1/claims/", body).await;
        assert_eq!(s, 400, "{value}: {b}");
        let errors = b.as_object().expect("field errors");
        let field = errors.values().find_map(|e| e.get("value")).expect("the value field");
        assert_eq!(field, &json!([message]), "{value}: {b}");
    }
    assert_eq!(v1_counts(&m), before);
}
