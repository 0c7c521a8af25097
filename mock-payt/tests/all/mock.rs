//! Mock-side behaviour the contract suite cannot check against Payt itself: what a write does to
//! related records, scopes, administrations outside the grant, and filters that need fixture
//! knowledge to test positively.

use mock_payt::state::Grant;
use mock_payt::{MockPayt, PaytBuilder};
use serde_json::{Value, json};

async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let res = req.send().await.expect("sent");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// An invoice of administration 81 that a new plan may cover: (number, id, debtor id).
pub(crate) fn free_invoice(m: &MockPayt) -> (String, u64, u64) {
    m.state()
        .store
        .read(|db| {
            db.invoices
                .iter(&81)
                .find(|i| !i.open_amount.is_zero() && i.active_payment_plan_id.is_none())
                .map(|i| (i.invoice_number.to_string(), i.id, i.debtor_id))
        })
        .expect("a free invoice in the fixtures")
}

#[tokio::test]
async fn creating_a_plan_links_the_invoices_and_moves_updated_at() {
    let m = MockPayt::test().seed(5).start().await;
    let (number, invoice_id, debtor_id) = free_invoice(&m);
    let before = m
        .state()
        .store
        .read(|db| db.invoices.get(&81, &invoice_id.to_string()).map(|i| i.updated_at))
        .expect("invoice");
    let (status, plan) = send(
        reqwest::Client::new()
            .post(format!("{}/v1/payment_plans", m.uri()))
            .bearer_auth(m.token())
            .json(&json!({"administration_id": 81, "invoice_numbers": [number],
                          "terms": [{"amount": 10, "due_date": "2027-01-01"}, {"amount": "20.5", "due_date": "2027-02-01"}]})),
    )
    .await;
    assert_eq!(status, 201, "{plan}");
    assert_eq!(plan["debtor_id"], json!(debtor_id.to_string()));
    assert_eq!(plan["payment_terms"][1]["total_amount"], json!("20.50"));
    assert_eq!(plan["payment_terms"][1]["amount_due"], json!("20.50"));
    assert_eq!(plan["payment_terms"][1]["payment_date"], Value::Null);
    assert_eq!(plan["approved_at"], plan["created_at"]);
    let plan_id: u64 = plan["id"].as_str().expect("id").parse().expect("numeric");
    let after = m
        .state()
        .store
        .read(|db| db.invoices.get(&81, &invoice_id.to_string()).cloned())
        .expect("invoice");
    assert_eq!(after.active_payment_plan_id, Some(plan_id));
    assert!(after.updated_at > before, "updated_at must move");

    // The same invoice cannot be covered twice.
    let (status, err) = send(
        reqwest::Client::new()
            .post(format!("{}/v1/payment_plans", m.uri()))
            .bearer_auth(m.token())
            .json(
                &json!({"administration_id": "81", "invoice_numbers": [after.invoice_number],
                          "terms": [{"amount": 1, "due_date": "2027-01-01"}]}),
            ),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (422, Some("payment_plan_already_active"))
    );
}

#[tokio::test]
async fn invoices_of_two_debtors_cannot_share_a_plan() {
    let m = MockPayt::test().start().await;
    let numbers: Vec<String> = m.state().store.read(|db| {
        let mut seen = std::collections::HashSet::new();
        db.invoices
            .iter(&81)
            .filter(|i| !i.open_amount.is_zero() && i.active_payment_plan_id.is_none() && seen.insert(i.debtor_id))
            .take(2)
            .map(|i| i.invoice_number.to_string())
            .collect()
    });
    let (status, err) = send(
        reqwest::Client::new()
            .post(format!("{}/v1/payment_plans", m.uri()))
            .bearer_auth(m.token())
            .json(&json!({"administration_id": 81, "invoice_numbers": numbers,
                          "terms": [{"amount": 1, "due_date": "2027-01-01"}]})),
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (422, Some("multiple_debtors")));
    // Nothing was written.
    let linked = m.state().store.read(|db| {
        db.invoices
            .iter(&81)
            .filter(|i| numbers.iter().any(|n| *n == i.invoice_number))
            .all(|i| i.active_payment_plan_id.is_none())
    });
    assert!(linked);
}

#[tokio::test]
async fn scopes_and_grants_are_enforced() {
    let m = MockPayt::test().start().await;
    m.state().tokens.insert(
        "read-only",
        Grant {
            administrations: None,
            scopes: Some(["payment_plans:read".to_string()].into_iter().collect()),
        },
    );
    let client = reqwest::Client::new();
    let (status, err) = send(
        client
            .post(format!("{}/v1/payment_plans", m.uri()))
            .bearer_auth("read-only")
            .json(&json!({"administration_id": 81, "terms": []})),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        err,
        json!({"code": "forbidden", "message": "Missing permission: payment_plans:write"})
    );
    let (status, _) = send(
        client
            .get(format!("{}/v1/payment_plans?administration_id=83", m.uri()))
            .bearer_auth("read-only"),
    )
    .await;
    assert_eq!(
        status, 200,
        "a grant without an administration list covers every administration"
    );
    let (status, err) = send(
        client
            .get(format!("{}/v1/credit_cases?administration_id=81", m.uri()))
            .bearer_auth("read-only"),
    )
    .await;
    assert_eq!(
        (status, err["message"].as_str()),
        (403, Some("Missing permission: credit_cases:read"))
    );
    // The default token is not granted administration 83, which exists.
    let (status, err) = send(
        client
            .get(format!("{}/v1/notifications/1?administration_id=83", m.uri()))
            .bearer_auth(m.token()),
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (403, Some("forbidden")));
    let (_, admins) = send(
        client
            .get(format!("{}/v1/administrations", m.uri()))
            .bearer_auth(m.token()),
    )
    .await;
    let ids: Vec<&str> = admins["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    assert_eq!(ids, vec!["81", "82"]);
}

#[tokio::test]
async fn payment_plans_filter_by_debtor_number_and_identifier() {
    let m = MockPayt::test().start().await;
    let (number, identifier, debtor_id) = m
        .state()
        .store
        .read(|db| {
            let plan = db.payment_plans.iter(&81).next()?;
            let d = db.debtors.get(&81, &plan.debtor_id.to_string())?;
            Some((d.debtor_number.clone(), d.debtor_identifier.clone(), d.id))
        })
        .expect("a plan with a debtor");
    for (param, value) in [
        ("debtor_numbers", number.as_str()),
        ("debtor_identifiers", identifier.as_str()),
    ] {
        let (status, page) = send(
            reqwest::Client::new()
                .get(format!("{}/v1/payment_plans", m.uri()))
                .query(&[("administration_id", "81"), (param, &format!("nope,{value}"))])
                .bearer_auth(m.token()),
        )
        .await;
        assert_eq!(status, 200);
        let data = page["data"].as_array().expect("data");
        assert!(!data.is_empty(), "{param}");
        assert!(
            data.iter().all(|p| p["debtor_id"] == json!(debtor_id.to_string())),
            "{param}"
        );
    }
}

#[tokio::test]
async fn bad_input_never_gets_a_5xx() {
    let m = MockPayt::test().start().await;
    let client = reqwest::Client::new();
    let hostile = [
        "administration_id=81&per_page=99999999999999999999",
        "administration_id=81&cursor=-1",
        "administration_id=81&cursor=18446744073709551616",
        "administration_id=81&ids=%00,%FF,1",
        "administration_id=81&fields=%7B%22only%22%3A%5B%7B%22a%22%3A%5B%7B%22b%22%3A%5B%7B%22c%22%3A%5B%7B%22d%22%3A%5B%7B%22e%22%3A%5B%7B%22f%22%3A%5B%7B%22g%22%3A%5B%7B%22h%22%3A%5B%7B%22i%22%3A%5B%5D%7D%5D%7D%5D%7D%5D%7D%5D%7D%5D%7D%5D%7D%5D%7D%5D%7D%5D%7D",
        "administration_id=1e400",
        "administration_id=81&updated_after=9999-99-99",
    ];
    for q in hostile {
        for path in [
            "/v1/credit_cases",
            "/v1/payment_plans",
            "/v1/notifications",
            "/api/v1/credit_cases/abc",
        ] {
            let res = client
                .get(format!("{}{path}?{q}", m.uri()))
                .bearer_auth(m.token())
                .send()
                .await
                .expect("sent");
            assert!(
                res.status().is_success() || res.status().is_client_error(),
                "{path}?{q}: {}",
                res.status()
            );
            let body: Value = res.json().await.expect("always JSON");
            assert!(
                body.get("data").is_some() || body["code"].is_string(),
                "{path}?{q}: {body}"
            );
        }
    }
    for body in [
        "{\"administration_id\": 81, \"terms\": [{\"amount\": 1e400, \"due_date\": \"2027-01-01\"}]}",
        "[]",
        "null",
        "\"x\"",
        "{\"terms\": {\"0\": 1}}",
    ] {
        let res = client
            .post(format!("{}/v1/payment_plans", m.uri()))
            .bearer_auth(m.token())
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("sent");
        assert_eq!(res.status(), 422, "{body}");
    }
    // A path id that is not UTF-8 once percent-decoded is refused in Payt's shape, not as text.
    for path in ["/v1/debtors/%FF", "/v1/invoices/%C3?administration_id=81"] {
        let res = client
            .get(format!("{}{path}", m.uri()))
            .bearer_auth(m.token())
            .send()
            .await
            .expect("sent");
        assert_eq!(res.status(), 400, "{path}");
        let body: Value = res.json().await.expect("JSON");
        assert_eq!(body["code"], "invalid_parameter", "{path}: {body}");
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("percent-encode each path segment as UTF-8")),
            "{path}: {body}"
        );
    }
}

#[tokio::test]
async fn integer_ids_option_writes_ids_as_numbers() {
    let m = MockPayt::test().integer_ids(true).start().await;
    let (status, page) = send(
        reqwest::Client::new()
            .get(format!("{}/v1/credit_cases?administration_id=81&per_page=1", m.uri()))
            .bearer_auth(m.token()),
    )
    .await;
    assert_eq!(status, 200);
    assert!(page["data"][0]["id"].is_u64(), "{page}");
    assert!(page["data"][0]["administration_id"].is_u64(), "{page}");
    assert!(page["pagination"]["cursor"].is_u64(), "{page}");
    assert!(page["data"][0]["credit_case_number"].is_string(), "{page}");
    // Parameters accept ids in either form: the cursor handed out works as it is.
    let cursor = page["pagination"]["cursor"].to_string();
    let (status, next) = send(
        reqwest::Client::new()
            .get(format!(
                "{}/v1/credit_cases?administration_id=81&per_page=1&cursor={cursor}",
                m.uri()
            ))
            .bearer_auth(m.token()),
    )
    .await;
    assert_eq!(status, 200);
    assert_ne!(next["data"][0]["id"], page["data"][0]["id"]);
    // Errors are untouched.
    let (status, err) = send(
        reqwest::Client::new()
            .get(format!("{}/v1/credit_cases", m.uri()))
            .bearer_auth(m.token()),
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (400, Some("missing_parameter")));
}

#[tokio::test]
async fn the_fixture_read_only_token_reads_but_never_writes() {
    let m = MockPayt::test().start().await;
    let client = reqwest::Client::new();
    for path in [
        "/v1/invoices",
        "/v1/debtors",
        "/v1/payment_plans",
        "/v1/tasks",
        "/v1/vat_rates",
    ] {
        let (status, _) = send(
            client
                .get(format!("{}{path}?administration_id=81", m.uri()))
                .bearer_auth(mock_payt::READONLY_TOKEN),
        )
        .await;
        assert_eq!(status, 200, "{path}");
    }
    let (status, err) = send(
        client
            .post(format!("{}/v1/debtors", m.uri()))
            .bearer_auth(mock_payt::READONLY_TOKEN)
            .json(&json!({"administration_id": 81, "debtors": []})),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(err["message"], json!("Missing permission: debtors:write"));
}

/// The deleted invoices of administration 81 the mock lists when asked for the whole 90-day window.
async fn deleted_invoices(m: &MockPayt) -> Vec<Value> {
    let since = (m.state().clock.now() - chrono::Duration::days(90))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let (status, page) = send(
        reqwest::Client::new()
            .get(format!("{}/v1/invoices/deleted", m.uri()))
            .query(&[
                ("administration_id", "81"),
                ("deleted_after", &since),
                ("per_page", "100"),
            ])
            .bearer_auth(m.token()),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    page["data"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn fixtures_follow_the_clock_unless_the_anchor_is_pinned() {
    let later = mock_core::testing::at("2028-05-10T12:00:00Z");
    // wall-clock-ok: the builder gets a frozen clock on the next line; its anchor follows that clock.
    let following = MockPayt::builder().clock(mock_core::Clock::frozen(later)).start().await;
    let tombstones = deleted_invoices(&following).await;
    assert!(
        !tombstones.is_empty(),
        "tombstones inside the window of the clock's date"
    );
    for t in &tombstones {
        let at = t["deleted_at"].as_str().expect("deleted_at");
        assert!(at.starts_with("2028-0"), "deleted shortly before 2028-05-10: {t}");
    }

    let pinned = MockPayt::test().clock(mock_core::Clock::frozen(later)).start().await;
    assert!(
        deleted_invoices(&pinned).await.is_empty(),
        "fixtures pinned at 2026-11-01 are older than the window of 2028-05-10"
    );
}
