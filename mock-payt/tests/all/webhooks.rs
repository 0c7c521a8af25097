//! Payt webhooks (mock-payt/src/webhooks.rs): a subscription made through the control API
//! receives the events of changes made through the API and by time, signed with HMAC-SHA256
//! (hex, over the raw body); a failing receiver sees the retry schedule on the mock's clock and,
//! after ten attempts, the subscription deactivated.

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use mock_core::testing;
use mock_payt::MockPayt;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::mpsc;

/// What a receiver got: the headers and the raw body.
type Received = (HeaderMap, Vec<u8>);

/// A receiver answering `status` to every POST, reporting each request.
async fn receiver(status: StatusCode) -> (String, mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = mpsc::unbounded_channel::<Received>();
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(
                move |State(tx): State<mpsc::UnboundedSender<Received>>,
                      headers: HeaderMap,
                      body: axum::body::Bytes| async move {
                    tx.send((headers, body.to_vec())).ok();
                    status
                },
            ),
        )
        .with_state(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    (url, rx)
}

struct Api {
    m: MockPayt,
    http: reqwest::Client,
}

impl Api {
    async fn start() -> Self {
        Self {
            m: MockPayt::test().size(0).clock(testing::frozen()).start().await,
            http: reqwest::Client::new(),
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>, auth: bool) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.m.uri()));
        if auth {
            req = req.bearer_auth(self.m.token());
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("sent");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn api(&self, method: Method, path: &str, body: Value) -> Value {
        let (status, answer) = self.call(method, path, Some(body), true).await;
        assert!((200..300).contains(&status), "{path}: {status} {answer}");
        answer
    }

    async fn control(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call(method, path, body, false).await
    }

    async fn debtor_and_invoice(&self, number: &str) {
        self.api(
            Method::POST,
            "/v1/debtors",
            json!({"administration_id": 81, "debtors": [
                {"debtor_number": "D-1", "name": "Haak B.V.", "debtor_identifier": "ext-1"}
            ]}),
        )
        .await;
        self.api(
            Method::POST,
            "/v1/invoices",
            json!({"administration_id": 81, "invoices": [{
                "invoice_number": number, "debtor_number": "D-1", "currency_code": "EUR",
                "invoice_date": "2026-10-14", "due_date": "2026-10-28", "amount_total": 100, "amount_open": 100,
                "book_amount_total": 100, "book_amount_open": 100, "sent_at": "2026-10-14T09:00:00Z"
            }]}),
        )
        .await;
    }

    async fn advance(&self, by: &str) {
        let (status, _) = self
            .control(
                Method::POST,
                "/_mock/clock",
                Some(json!({"action": "advance", "by": by})),
            )
            .await;
        assert_eq!(status, 200);
    }

    async fn deliveries(&self) -> Vec<Value> {
        let (status, body) = self.control(Method::GET, "/_mock/payt/webhook-deliveries", None).await;
        assert_eq!(status, 200);
        body["deliveries"].as_array().cloned().unwrap_or_default()
    }

    /// Waits (at most 10 s) until the first delivery has `n` attempts.
    async fn attempts(&self, n: usize) -> Value {
        for _ in 0..1000 {
            let all = self.deliveries().await;
            if all
                .first()
                .is_some_and(|d| d["attempts"].as_array().is_some_and(|a| a.len() >= n))
            {
                return all[0].clone();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no attempt {n}: {:?}", self.deliveries().await);
    }
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> (HeaderMap, Value, Vec<u8>) {
    let (headers, body) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a delivery arrives")
        .expect("the receiver runs");
    let json = serde_json::from_slice(&body).expect("a JSON body");
    (headers, json, body)
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

#[tokio::test]
async fn a_local_receiver_gets_signed_events_of_api_changes_and_of_time() {
    let api = Api::start().await;
    let (url, mut rx) = receiver(StatusCode::OK).await;
    let (status, sub) = api
        .control(
            Method::POST,
            "/_mock/payt/webhooks",
            Some(json!({"url": url, "secret": "s3cret", "administration_ids": [81],
                        "events": ["invoice_created", "invoice_blocked", "invoice_step_performed"]})),
        )
        .await;
    assert_eq!(status, 201, "{sub}");
    assert_eq!(sub["active"], true);

    api.debtor_and_invoice("W-1").await;
    let (headers, body, raw) = next(&mut rx).await;
    assert_eq!(body["event"], "invoice_created");
    assert_eq!(body["invoice"]["invoice_number"], "W-1");
    assert_eq!(body["debtor"]["debtor_number"], "D-1");
    // The payload's invoice is the invoice as GET shows it (its debtor's number, the deprecated
    // twins mirroring their successors), not the stored record.
    assert_eq!(body["invoice"]["debtor_number"], "D-1");
    let id = body["invoice"]["id"].as_str().expect("an id");
    let (status, shown) = api
        .call(
            Method::GET,
            &format!("/v1/invoices/{id}?administration_id=81"),
            None,
            true,
        )
        .await;
    assert_eq!((status, &body["invoice"]), (200, &shown));
    assert_eq!(body["administration"]["id"], "81");
    assert_eq!(header(&headers, "x-payt-administration-identifier"), "81");
    let delivery = header(&headers, "x-payt-delivery");
    assert!(
        delivery.len() == 36 && delivery.matches('-').count() == 4,
        "a UUID: {delivery}"
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").expect("any key");
    mac.update(&raw);
    assert_eq!(
        header(&headers, "x-payt-signature"),
        hex::encode(mac.finalize().into_bytes())
    );

    api.api(
        Method::PATCH,
        "/v1/invoices/block",
        json!({"administration_id": 81, "invoice_numbers": ["W-1"]}),
    )
    .await;
    let (_, body, _) = next(&mut rx).await;
    assert_eq!(body["event"], "invoice_blocked");
    api.api(
        Method::PATCH,
        "/v1/invoices/resume",
        json!({"administration_id": 81, "invoice_numbers": ["W-1"]}),
    )
    .await;
    // Not subscribed to invoice_resumed; time moves the invoice on to its first reminder.
    api.advance("P10D").await;
    let (headers, body, _) = next(&mut rx).await;
    assert_eq!(body["event"], "invoice_step_performed", "{body}");
    assert_eq!(body["invoice"]["reminder_1_at"], "2026-11-04T08:00:00Z");
    assert_eq!(body["created_at"], "2026-11-04T08:00:00Z");
    let ids: Vec<String> = api
        .deliveries()
        .await
        .iter()
        .flat_map(|d| {
            d["attempts"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|a| a["delivery"].as_str().unwrap_or_default().to_string())
        })
        .collect();
    assert!(ids.contains(&header(&headers, "x-payt-delivery").to_string()));
    assert_eq!(ids.len(), 3, "one attempt per delivery: {ids:?}");
    assert!(rx.try_recv().is_err(), "invoice_resumed is not subscribed");
}

#[tokio::test]
async fn a_failing_receiver_sees_ten_attempts_on_the_mock_clock_then_the_subscription_is_deactivated() {
    let api = Api::start().await;
    let (url, _rx) = receiver(StatusCode::INTERNAL_SERVER_ERROR).await;
    let (status, sub) = api
        .control(
            Method::POST,
            "/_mock/payt/webhooks",
            Some(json!({"url": url, "events": ["invoice_created"]})),
        )
        .await;
    assert_eq!(status, 201);
    assert!(sub["secret"].as_str().is_some_and(|s| s.starts_with("whsec_")));
    let sub_id = sub["id"].as_str().expect("id").to_string();
    api.debtor_and_invoice("F-1").await;
    let first = api.attempts(1).await;
    assert_eq!(first["status"], "pending");
    assert_eq!(first["attempts"][0]["status_code"], 500);
    assert_eq!(first["next_attempt_at"], "2026-11-01T09:01:00.000Z");
    // Each wait is longer than the last; nothing is retried before its moment.
    let waits = [
        "PT1M", "PT5M", "PT15M", "PT1H", "PT2H", "PT4H", "PT8H", "PT16H", "PT24H",
    ];
    for (n, wait) in waits.iter().enumerate() {
        api.advance(wait).await;
        let d = api.attempts(n + 2).await;
        assert_eq!(d["attempts"].as_array().map(Vec::len), Some(n + 2), "{d}");
    }
    let last = api.deliveries().await[0].clone();
    let at: Vec<&str> = last["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .filter_map(|a| a["at"].as_str())
        .collect();
    assert_eq!(
        at,
        [
            "2026-11-01T09:00:00.000Z",
            "2026-11-01T09:01:00.000Z",
            "2026-11-01T09:06:00.000Z",
            "2026-11-01T09:21:00.000Z",
            "2026-11-01T10:21:00.000Z",
            "2026-11-01T12:21:00.000Z",
            "2026-11-01T16:21:00.000Z",
            "2026-11-02T00:21:00.000Z",
            "2026-11-02T16:21:00.000Z",
            "2026-11-03T16:21:00.000Z",
        ]
    );
    assert_eq!(last["status"], "failed");
    assert_eq!(last["next_attempt_at"], Value::Null);
    let (_, sub) = api
        .control(Method::GET, &format!("/_mock/payt/webhooks/{sub_id}"), None)
        .await;
    assert_eq!(sub["active"], false);
    assert_eq!(sub["deactivated_at"], "2026-11-03T16:21:00.000Z");
    // Reactivated and redelivered, the delivery is attempted again.
    let (status, _) = api
        .control(
            Method::PATCH,
            &format!("/_mock/payt/webhooks/{sub_id}"),
            Some(json!({"active": true})),
        )
        .await;
    assert_eq!(status, 200);
    let id = last["id"].as_str().expect("id");
    let (status, again) = api
        .control(
            Method::POST,
            &format!("/_mock/payt/webhook-deliveries/{id}/redeliver"),
            None,
        )
        .await;
    assert_eq!((status, &again["status"]), (202, &json!("pending")));
    api.attempts(11).await;
}

#[tokio::test]
async fn bad_subscriptions_are_refused_with_what_to_fix() {
    let api = Api::start().await;
    for (body, says) in [
        (json!({"url": "http://example.com/hook"}), "loopback"),
        (
            json!({"url": "https://example.com/hook", "events": ["invoice_exploded"]}),
            "not a Payt webhook event",
        ),
        (
            json!({"url": "https://example.com/hook", "administration_ids": ["x"]}),
            "administration id",
        ),
        (
            json!({"url": "https://example.com/hook", "colour": "red"}),
            "unknown field",
        ),
    ] {
        let (status, answer) = api
            .control(Method::POST, "/_mock/payt/webhooks", Some(body.clone()))
            .await;
        assert_eq!(status, 400, "{body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{body}: {message}");
    }
    let (_, list) = api.control(Method::GET, "/_mock/payt/webhooks", None).await;
    assert_eq!(list["subscriptions"], json!([]), "nothing was made");
    let (status, _) = api.control(Method::DELETE, "/_mock/payt/webhooks/999", None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn without_the_control_api_there_are_no_webhook_routes() {
    let m = MockPayt::test()
        .size(0)
        .clock(testing::frozen())
        .control_api(false)
        .start()
        .await;
    let res = reqwest::get(format!("{}/_mock/payt/webhooks", m.uri()))
        .await
        .expect("sent");
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn a_generated_secret_does_not_follow_from_the_seed() {
    // Two mocks of the same seed hand out the same ids but different secrets.
    let (a, b) = (Api::start().await, Api::start().await);
    let body = json!({"url": "https://example.com/payt", "administration_ids": [81]});
    let (_, x) = a
        .control(Method::POST, "/_mock/payt/webhooks", Some(body.clone()))
        .await;
    let (_, y) = b.control(Method::POST, "/_mock/payt/webhooks", Some(body)).await;
    assert_eq!(x["id"], y["id"], "the same seed gives the same ids");
    let (sx, sy) = (x["secret"].as_str(), y["secret"].as_str());
    assert!(sx.is_some_and(|s| s.starts_with("whsec_") && s.len() == 38), "{x}");
    assert_ne!(sx, sy, "the secret follows from the seed");
}
