//! The dashboard's control routes behind the state browser and the webhook view
//! (`/_mock/state...`, `/_mock/webhooks...`), on both mocks: pages, searches, links, history,
//! and bad input answered in the control API's error shape (never a 500).

use mock_core::testing::frozen;
use mock_payt::MockPayt;
use mock_paywise::MockPaywise;
use serde_json::{Value, json};

async fn get(url: &str) -> (u16, Value) {
    let res = reqwest::get(url).await.expect("the mock answers");
    let status = res.status().as_u16();
    (status, res.json().await.expect("a JSON answer"))
}

async fn post(url: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let mut req = reqwest::Client::new().post(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("the mock answers");
    let status = res.status().as_u16();
    let text = res.text().await.expect("a body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn control_error(body: &Value) -> &str {
    assert!(
        body["error"]["message"].is_string(),
        "the control API's error shape: {body}"
    );
    body["error"]["code"].as_str().expect("an error code")
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().expect("an id").to_string())
        .collect()
}

fn link<'a>(record: &'a Value, resource: &str) -> Option<&'a Value> {
    record["links"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["resource"] == resource)
}

#[tokio::test]
async fn payt_state_pages_searches_and_links_from_debtor_to_invoice_to_credit_case() {
    let m = MockPayt::test().clock(frozen()).start().await;
    let u = m.uri();
    let (status, index) = get(&format!("{u}/_mock/state")).await;
    assert_eq!(status, 200, "{index}");
    let names: Vec<&str> = index["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| r["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(
        names,
        ["debtors", "invoices", "credit_cases", "payment_plans", "payments"]
    );
    let debtors = index["resources"][0]["count"].as_u64().expect("a count");
    assert!(debtors > 4, "{index}");

    // Pages neither repeat nor drop records.
    let (_, one) = get(&format!("{u}/_mock/state/debtors?limit=3")).await;
    let (_, two) = get(&format!("{u}/_mock/state/debtors?limit=3&offset=3")).await;
    let (_, both) = get(&format!("{u}/_mock/state/debtors?limit=6")).await;
    assert_eq!(one["total"].as_u64(), Some(debtors));
    assert_eq!([ids(&one), ids(&two)].concat(), ids(&both));

    // A credit case's invoice and debtor, then back from the debtor to both.
    let (_, cases) = get(&format!("{u}/_mock/state/credit_cases?limit=1")).await;
    let case = &cases["items"][0];
    let invoice = link(case, "invoices").expect("a case links its invoices");
    let (status, invoice) = get(&format!(
        "{u}/_mock/state/invoices/{}",
        invoice["id"].as_str().expect("id")
    ))
    .await;
    assert_eq!(status, 200, "{invoice}");
    assert_eq!(
        invoice["record"]["id"], invoice["id"],
        "the record as the API writes it"
    );
    let debtor = link(&invoice, "debtors").expect("an invoice links its debtor");
    let (_, debtor) = get(&format!(
        "{u}/_mock/state/debtors/{}",
        debtor["id"].as_str().expect("id")
    ))
    .await;
    assert!(link(&debtor, "invoices").is_some(), "{debtor}");
    assert!(
        debtor["links"]
            .as_array()
            .expect("links")
            .iter()
            .any(|l| l["resource"] == "credit_cases" && l["id"] == case["id"]),
        "the debtor links the case through its invoice: {debtor}"
    );

    // Search by reference: served by the store's key.
    let number = debtor["record"]["debtor_number"].as_str().expect("a debtor number");
    let (_, found) = get(&format!("{u}/_mock/state/debtors?q={number}")).await;
    assert_eq!(found["served"], "key");
    // (Numbers are unique within an administration, not across them.)
    assert!(ids(&found).iter().any(|i| debtor["id"] == *i), "{found}");
    let (_, none) = get(&format!("{u}/_mock/state/debtors?q=no-such-debtor")).await;
    assert_eq!(none["total"], 0);
}

#[tokio::test]
async fn payt_history_holds_the_requests_that_name_a_record_and_what_the_rules_moved() {
    let m = MockPayt::test().clock(frozen()).start().await;
    let u = m.uri();
    let (status, made) = post(
        &format!("{u}/v1/debtors"),
        Some(mock_payt::DEFAULT_TOKEN),
        Some(json!({"administration_id": 81, "debtors": [{"debtor_number": "D-HIST", "name": "History", "debtor_identifier": "h-1"}]})),
    )
    .await;
    assert!(status < 300, "{made}");
    let (_, found) = get(&format!("{u}/_mock/state/debtors?q=D-HIST")).await;
    let id = ids(&found).pop().expect("the new debtor");
    let (_, debtor) = get(&format!("{u}/_mock/state/debtors/{id}")).await;
    let history = debtor["history"].as_array().expect("history");
    assert!(
        history
            .iter()
            .any(|h| h["source"] == "request" && h["method"] == "POST" && h["url"] == "/v1/debtors"),
        "{debtor}"
    );

    let (_, clock) = post(
        &format!("{u}/_mock/clock"),
        None,
        Some(json!({"action": "advance", "by": "P30D"})),
    )
    .await;
    let moved = clock["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .find(|m| m["resource"] == "credit_case" || m["resource"] == "invoice")
        .expect("the rules moved a case or an invoice")
        .clone();
    let resource = format!("{}s", moved["resource"].as_str().expect("a resource"));
    let (_, record) = get(&format!(
        "{u}/_mock/state/{resource}/{}",
        moved["id"].as_str().expect("id")
    ))
    .await;
    assert!(
        record["history"]
            .as_array()
            .expect("history")
            .iter()
            .any(|h| h["source"] == "timeline" && h["change"] == moved["change"]),
        "{record}"
    );
    // The browser's own reads are not journaled.
    let (_, journal) = get(&format!("{u}/_mock/journal")).await;
    assert!(
        journal["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .all(|e| !e["request"]["path"].as_str().unwrap_or_default().starts_with("/_mock/")),
        "{journal}"
    );
}

#[tokio::test]
async fn bad_input_is_a_control_error_never_a_500() {
    let m = MockPayt::test().clock(frozen()).start().await;
    let u = m.uri();
    for (path, status, code) in [
        ("/_mock/state/widgets", 404, "unknown_resource"),
        ("/_mock/state/widgets/1", 404, "unknown_resource"),
        ("/_mock/state/debtors/999999999", 404, "not_found"),
        ("/_mock/state/debtors/%F0%9F%92%A5", 404, "not_found"),
        ("/_mock/state/debtors?limit=0", 400, "invalid_request"),
        ("/_mock/state/debtors?limit=101", 400, "invalid_request"),
        ("/_mock/state/debtors?limit=ten", 400, "invalid_request"),
        ("/_mock/state/debtors?offset=-1", 400, "invalid_request"),
        ("/_mock/state/debtors?sort=name", 400, "invalid_request"),
        ("/_mock/webhooks?limit=0", 400, "invalid_request"),
        ("/_mock/webhooks?page=2", 400, "invalid_request"),
    ] {
        let (got, body) = get(&format!("{u}{path}")).await;
        assert_eq!(got, status, "{path}: {body}");
        assert_eq!(control_error(&body), code, "{path}");
    }
    let (got, body) = post(&format!("{u}/_mock/webhooks/deliveries/42/redeliver"), None, None).await;
    assert_eq!(got, 404, "{body}");
    assert_eq!(control_error(&body), "not_found");
    // An offset past the end is an empty page.
    let (got, body) = get(&format!("{u}/_mock/state/debtors?offset=1000000")).await;
    assert_eq!(got, 200, "{body}");
    assert_eq!(body["items"], json!([]));
}

#[tokio::test]
async fn paywise_state_links_claim_mandate_and_payments_and_scans_for_file_numbers() {
    let m = MockPaywise::test().clock(frozen()).start().await;
    let u = m.uri();
    let (_, index) = get(&format!("{u}/_mock/state")).await;
    let names: Vec<&str> = index["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| r["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(names, ["debtors", "claims", "mandates", "payments"]);

    let (_, mandates) = get(&format!("{u}/_mock/state/mandates?limit=100")).await;
    let mandate = mandates["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|m| link(m, "payments").is_some())
        .expect("a seeded mandate with payments")
        .clone();
    let claim = link(&mandate, "claims").expect("a mandate links its claims");
    let (status, claim) = get(&format!("{u}/_mock/state/claims/{}", claim["id"].as_str().expect("id"))).await;
    assert_eq!(status, 200, "{claim}");
    assert_eq!(
        link(&claim, "mandates").map(|l| &l["id"]),
        Some(&mandate["id"]),
        "{claim}"
    );
    assert!(
        claim["record"]["href"].as_str().is_some_and(|h| h.starts_with(&u)),
        "{claim}"
    );
    let debtor = link(&claim, "debtors").expect("a claim links its debtor");
    let (_, debtor) = get(&format!(
        "{u}/_mock/state/debtors/{}",
        debtor["id"].as_str().expect("id")
    ))
    .await;
    assert!(link(&debtor, "claims").is_some(), "{debtor}");

    let number = mandate["record"]["reference_number"].as_str().expect("a file number");
    let (_, found) = get(&format!("{u}/_mock/state/mandates?q={number}")).await;
    assert_eq!(found["served"], "scan");
    assert_eq!(found["complete"], true);
    assert_eq!(ids(&found), [mandate["id"].as_str().expect("id")]);

    let (status, hooks) = get(&format!("{u}/_mock/webhooks")).await;
    assert_eq!(status, 200, "{hooks}");
    assert_eq!(hooks["available"], true);
}

/// A receiver that answers 200 to every request; its URL.
async fn receiver() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 8192];
                // One read holds a delivery's head (and usually its body); the answer does not wait.
                if s.read(&mut buf).await.is_ok() {
                    s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                        .await
                        .ok();
                }
            });
        }
    });
    format!("http://127.0.0.1:{port}/hook")
}

/// Polls `GET /_mock/webhooks` until a delivery of `api` has `status` (the dispatcher runs on
/// its own ticks), and answers it.
async fn delivery(u: &str, api: &str, status: &str) -> Value {
    for _ in 0..500 {
        let (_, hooks) = get(&format!("{u}/_mock/webhooks")).await;
        if let Some(d) = hooks["deliveries"]
            .as_array()
            .and_then(|ds| ds.iter().find(|d| d["api"] == api && d["status"] == status))
        {
            return d.clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("no {api} delivery reached {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paywise_v2_deliveries_are_redelivered_through_the_control_api_and_v1_ones_refused() {
    let m = MockPaywise::test().clock(frozen()).start().await;
    let u = m.uri();
    let hook = receiver().await;
    let token = mock_paywise::DEFAULT_TOKEN;
    let v2 = reqwest::Client::new()
        .post(format!("{u}/v2/webhooks/"))
        .bearer_auth(token)
        .header("Idempotency-Key", "dash-1")
        .json(&json!({"url": hook}))
        .send()
        .await
        .expect("sent");
    assert_eq!(v2.status(), 201);
    let wid = v2.json::<Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let test = reqwest::Client::new()
        .post(format!("{u}/v2/webhooks/{wid}/test/"))
        .bearer_auth(token)
        .header("Idempotency-Key", "dash-2")
        .json(&json!({"event": "mandate.created"}))
        .send()
        .await
        .expect("sent");
    assert!(test.status().is_success(), "{}", test.text().await.unwrap_or_default());
    let done = delivery(&u, "v2", "success").await;
    assert_eq!(done["redeliver"], true, "{done}");
    assert_eq!(done["attempt_log"][0]["status"], 200, "{done}");
    let id = done["id"].as_str().expect("id");
    let (status, again) = post(&format!("{u}/_mock/webhooks/deliveries/{id}/redeliver"), None, None).await;
    assert!((200..300).contains(&status), "{status}: {again}");
    let (_, hooks) = get(&format!("{u}/_mock/webhooks")).await;
    assert_eq!(
        hooks["total_deliveries"], 2,
        "a redelivery is a new v2 delivery: {hooks}"
    );

    let (status, v1) = post(
        &format!("{u}/v1/webhooks/"),
        Some(token),
        Some(json!({"url": hook, "events": ["mandate.created"]})),
    )
    .await;
    assert_eq!(status, 201, "{v1}");
    let v1id = v1["id"].as_str().expect("id");
    let (status, sent) = post(&format!("{u}/v1/webhooks/{v1id}/test/"), Some(token), Some(json!({}))).await;
    assert!((200..300).contains(&status), "{sent}");
    let old = delivery(&u, "v1", "success").await;
    assert_eq!(old["redeliver"], false);
    let (status, refused) = post(
        &format!(
            "{u}/_mock/webhooks/deliveries/{}/redeliver",
            old["id"].as_str().expect("id")
        ),
        None,
        None,
    )
    .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(control_error(&refused), "refused");
    // None of it entered the journal but the API calls the test made.
    let (_, journal) = get(&format!("{u}/_mock/journal")).await;
    assert_eq!(journal["entries"].as_array().map(Vec::len), Some(4), "{journal}");
}
