//! Time that moves: advancing a world's clock runs paywise's time-driven rules in order, each
//! change stamped at its own moment (mock-paywise/src/lifecycle.rs). The tests make their own
//! records through the API on a frozen clock, advance through the control API, and read the
//! results back through the API. The last ones check that the generated fixtures are settled by
//! the same rules up to the anchor date's midnight: nothing in them is due then, so a seeded
//! world does not move in its first minute.

use mock_core::testing;
use mock_paywise::MockPaywise;
use mock_paywise::seed::generate_scaled;
use reqwest::Method;
use serde_json::{Value, json};

struct Api {
    m: MockPaywise,
    http: reqwest::Client,
}

impl Api {
    async fn start() -> Self {
        Self::with(MockPaywise::test().size(0).clock(testing::frozen()).start().await)
    }

    fn with(m: MockPaywise) -> Self {
        Self {
            m,
            http: reqwest::Client::new(),
        }
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.m.uri()))
            .bearer_auth(self.m.token());
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("sent");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = self.send(Method::GET, path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    async fn ok(&self, method: Method, path: &str, body: Value) -> Value {
        let (status, answer) = self.send(method, path, Some(body)).await;
        assert!((200..300).contains(&status), "{path}: {status} {answer}");
        answer
    }

    /// A debtor and a claim of 100.00, released: the claim's id.
    async fn released_claim(&self, reference: &str) -> String {
        let debtor = self
            .ok(
                Method::POST,
                "/v1/debtors/",
                json!({
                    "your_reference": reference,
                    "acting_as": "consumer",
                    "person": {"first_name": "Erika", "last_name": "Mustermann"},
                    "addresses": [{"street": "Hauptstr. 1", "zip": "10115", "city": "Berlin", "country": "DE"}]
                }),
            )
            .await;
        let claim = self
            .ok(
                Method::POST,
                "/v1/claims/",
                json!({
                    "debtor": debtor["id"],
                    "your_reference": reference,
                    "main_claim_amount": {"value": "100.00", "currency": "EUR"},
                    "total_claim_amount": {"value": "100.00", "currency": "EUR"},
                    "additional_charges": [],
                    "subject_matter": null, "occurence_date": null, "document_reference": "RE-1", "document_date": null,
                    "due_date": null, "reminder_date": null, "delay_date": null, "starting_approach": "extrajudicial",
                    "claim_disputed": false,
                    "obligation_fulfilled": true
                }),
            )
            .await;
        let id = claim["id"].as_str().expect("a claim id").to_string();
        self.ok(
            Method::PATCH,
            &format!("/v1/claims/{id}/"),
            json!({"submission_state": "released"}),
        )
        .await;
        id
    }

    /// `POST /_mock/clock` advance by `by`: the timeline.
    async fn advance(&self, by: &str) -> Vec<Value> {
        let res = self
            .http
            .post(format!("{}/_mock/clock", self.m.uri()))
            .json(&json!({"action": "advance", "by": by}))
            .send()
            .await
            .expect("sent");
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.expect("json");
        body["timeline"].as_array().cloned().expect("a timeline")
    }

    /// `PUT /_mock/paywise/lifecycle`: the status and the answer.
    async fn configure(&self, body: Value) -> (u16, Value) {
        let res = self
            .http
            .put(format!("{}/_mock/paywise/lifecycle", self.m.uri()))
            .json(&body)
            .send()
            .await
            .expect("sent");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

/// The timeline entries of one record, as `(change, at)`.
fn of(timeline: &[Value], resource: &str, id: &str) -> Vec<(String, String)> {
    timeline
        .iter()
        .filter(|m| m["resource"] == resource && m["id"] == id)
        .map(|m| {
            (
                m["change"].as_str().unwrap_or_default().to_string(),
                m["at"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

fn in_order(timeline: &[Value]) {
    let stamps: Vec<&str> = timeline.iter().filter_map(|m| m["at"].as_str()).collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "{stamps:?}");
}

#[tokio::test]
async fn a_released_claim_is_reviewed_accepted_and_its_mandate_walks_to_foreclosure() {
    let api = Api::start().await;
    let claim = api.released_claim("T-1").await;
    let timeline = api.advance("P120D").await;
    in_order(&timeline);

    assert_eq!(
        of(&timeline, "claim", &claim),
        pairs(&[
            ("under_review", "2026-11-02T09:00:00.000Z"),
            ("accepted", "2026-11-05T09:00:00.000Z"),
        ])
    );
    let created: Vec<&Value> = timeline
        .iter()
        .filter(|m| m["resource"] == "mandate" && m["change"] == "created")
        .collect();
    assert_eq!(created.len(), 1, "{timeline:?}");
    assert_eq!(created[0]["event"], "mandate.created");
    let mandate = created[0]["id"].as_str().expect("mandate id").to_string();
    assert_eq!(
        of(&timeline, "mandate", &mandate),
        pairs(&[
            ("created", "2026-11-05T09:00:00.000Z"),
            ("judicial_dunning", "2026-12-05T09:00:00.000Z"),
            ("foreclosure", "2027-02-03T09:00:00.000Z"),
        ])
    );
    let events: Vec<&str> = timeline.iter().filter_map(|m| m["event"].as_str()).collect();
    assert_eq!(
        events,
        [
            "claim.updated",
            "claim.updated",
            "mandate.created",
            "mandate.status_updated",
            "mandate.status_updated"
        ]
    );
    let tenant = timeline[0]["tenant"].as_str().expect("a tenant");
    assert!(tenant.ends_with("/test"), "{tenant}");

    // The API shows the same.
    let c = api.get(&format!("/v1/claims/{claim}/")).await;
    assert_eq!(c["submission_state"], "accepted");
    assert_eq!(c["mandate"]["id"], mandate.as_str());
    assert!(
        c["updated"].as_str().is_some_and(|u| u.starts_with("2026-11-05T")),
        "{c}"
    );
    let m = api.get(&format!("/v1/mandates/{mandate}/")).await;
    assert_eq!(m["legal_stage"], "foreclosure");
    assert_eq!(m["processing_state"], "in_progress");
    let sus = api.get(&format!("/v1/mandates/{mandate}/statusupdates/")).await;
    let list = sus.as_array().cloned().unwrap_or_default();
    let mut seen: Vec<(String, String, String)> = list
        .iter()
        .map(|s| {
            (
                s["created"].as_str().unwrap_or_default().to_string(),
                s["title"].as_str().unwrap_or_default().to_string(),
                s["legal_stage"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    seen.sort();
    let titles: Vec<(&str, &str)> = seen.iter().map(|(_, t, s)| (t.as_str(), s.as_str())).collect();
    assert_eq!(
        titles,
        [
            ("Mandat angelegt", "extrajudicial"),
            ("Antrag auf Erlass eines Mahnbescheids gestellt", "judicial_dunning"),
            ("Zwangsvollstreckung eingeleitet", "foreclosure"),
        ],
        "{sus}"
    );
    assert!(seen[1].0.starts_with("2026-12-05T"), "{seen:?}");
    assert!(seen[2].0.starts_with("2027-02-03T"), "{seen:?}");

    // v2 sees the claim's order accepted into the same mandate.
    let v2 = api.get(&format!("/v2/mandates/{mandate}/")).await;
    assert_eq!(v2["state"]["legal_stage"]["code"], "foreclosure", "{v2}");

    // The log holds the same entries; nothing more is due within the next 120 days.
    let log: Value = reqwest::get(format!("{}/_mock/timeline", api.m.uri()))
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(log["count"], timeline.len());
    assert!(api.advance("P120D").await.is_empty());
}

#[tokio::test]
async fn a_configured_outcome_asks_the_client_instead_and_then_waits() {
    let api = Api::start().await;
    let (status, settings) = api
        .configure(json!({"outcome": "client_response_pending", "review_after": "PT12H", "decide_after": "P2D"}))
        .await;
    assert_eq!(status, 200, "{settings}");
    assert_eq!(settings["outcome"], "client_response_pending");
    assert_eq!(settings["enabled"], true);
    let claim = api.released_claim("T-ASK").await;
    let timeline = api.advance("P30D").await;
    assert_eq!(
        of(&timeline, "claim", &claim),
        pairs(&[
            ("under_review", "2026-11-01T21:00:00.000Z"),
            ("client_response_pending", "2026-11-03T21:00:00.000Z"),
        ])
    );
    let asked: Vec<&Value> = timeline
        .iter()
        .filter(|m| m["resource"] == "request_to_client")
        .collect();
    assert_eq!(asked.len(), 1, "{timeline:?}");
    assert_eq!(asked[0]["event"], "request_to_client.created");
    assert!(timeline.iter().all(|m| m["resource"] != "mandate"), "{timeline:?}");
    let c = api.get(&format!("/v1/claims/{claim}/")).await;
    assert_eq!(c["submission_state"], "client_response_pending");
    // v2 shows the claim waiting for the client's answer.
    let v2 = api.get(&format!("/v2/claims/{claim}/")).await;
    assert_eq!(v2["status"], "awaiting_client_response", "{v2}");
    // Nothing decides it any more: the client must answer.
    assert!(api.advance("P30D").await.is_empty());

    // Bad settings are refused with what to fix, and change nothing.
    for bad in [
        json!({"outcome": "maybe"}),
        json!({"review_after": "P1M"}),
        json!({"decide_after": "-P1D"}),
        json!({"review_after": "P1000000000D"}),
        json!({"enabled": "yes"}),
        json!({"speed": 2}),
        json!([1]),
    ] {
        let (status, body) = api.configure(bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body.to_string().len() > 20, "{bad}: {body}");
    }
    let shown: Value = reqwest::get(format!("{}/_mock/paywise/lifecycle", api.m.uri()))
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(shown["review_after"], "PT12H");

    // Switched off, nothing moves; a reset restores the defaults.
    assert_eq!(api.configure(json!({"enabled": false})).await.0, 200);
    api.released_claim("T-OFF").await;
    assert!(api.advance("P10D").await.is_empty());
    api.m.reset();
    let shown: Value = reqwest::get(format!("{}/_mock/paywise/lifecycle", api.m.uri()))
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(shown["enabled"], true);
    assert_eq!(shown["outcome"], "accepted");
}

#[tokio::test]
async fn a_v2_order_is_reviewed_and_accepted_after_the_same_delays() {
    let api = Api::start().await;
    let mut keys = 0u32;
    let mut post = async |path: &str, body: Value| {
        keys += 1;
        let res = api
            .http
            .post(format!("{}{path}", api.m.uri()))
            .bearer_auth(api.m.token())
            .header("Idempotency-Key", format!("00000000-0000-4000-8000-{keys:012}"))
            .json(&body)
            .send()
            .await
            .expect("sent");
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert!((200..300).contains(&status), "{path}: {status} {body}");
        body
    };
    let debtor = post(
        "/v2/debtors/",
        json!({
            "acting_as": "consumer",
            "person": {"first_name": "Erika", "last_name": "Mustermann", "salutation": "ms"},
            "addresses": [{"street": "Hauptstr. 1", "postal_code": "10115", "city": "Berlin", "country": "DE"}],
            "your_reference": "D-1"
        }),
    )
    .await;
    let order = post(
        "/v2/orders/",
        json!({
            "debtor_id": debtor["id"],
            "starting_approach": "extrajudicial",
            "creditor_obligation_fulfilled": true,
            "claims": [{
                "type": "receivable",
                "is_disputed": false,
                "principal_amount": {"value": "119.00", "currency": "EUR"},
                "document_date": "2020-01-10",
                "due_date": "2020-01-24",
                "subject_matter": "Software licence",
                "document_reference": "INV-1",
                "your_reference": "C-1",
                "items": [{"description": "Licence", "quantity": "1.5", "unit_price": {"value": "79.33"}}],
                "additional_charges": [{"type": "reminder_fee", "amount": {"value": "5.00"}, "occurrence_date": "2020-02-01"}]
            }]
        }),
    )
    .await;
    let id = order["id"].as_str().expect("an order id").to_string();
    post(&format!("/v2/orders/{id}/finalize/"), json!({})).await;
    let mut timeline = api.advance("P10D").await;
    // The v2 feed (which keeps 30 days) has the acceptance.
    let feed = api.get("/v2/events/").await;
    assert!(feed.to_string().contains("order.accepted"), "{feed}");
    timeline.extend(api.advance("P30D").await);
    in_order(&timeline);
    assert_eq!(
        of(&timeline, "order", &id),
        pairs(&[
            ("review_started", "2026-11-02T09:00:00.000Z"),
            ("accepted", "2026-11-05T09:00:00.000Z"),
        ])
    );
    // Its claims are not moved a second time by the v1 rules.
    assert!(timeline.iter().all(|m| m["resource"] != "claim"), "{timeline:?}");
    let mandate = timeline
        .iter()
        .find(|m| m["resource"] == "mandate" && m["change"] == "created")
        .and_then(|m| m["id"].as_str())
        .expect("a mandate")
        .to_string();
    assert_eq!(
        of(&timeline, "mandate", &mandate),
        pairs(&[
            ("created", "2026-11-05T09:00:00.000Z"),
            ("judicial_dunning", "2026-12-05T09:00:00.000Z"),
        ])
    );
    let o = api.get(&format!("/v2/orders/{id}/")).await;
    assert_eq!(o["status"], "accepted", "{o}");
    let m = api.get(&format!("/v2/mandates/{mandate}/")).await;
    assert_eq!(m["state"]["legal_stage"]["code"], "judicial_dunning", "{m}");
}

#[tokio::test]
async fn the_fixtures_move_forward_in_time_order() {
    let api = Api::with(MockPaywise::test().clock(testing::frozen()).start().await);
    let timeline = api.advance("P200D").await;
    in_order(&timeline);
    assert!(!timeline.is_empty());
    for resource in ["claim", "mandate", "statement"] {
        assert!(timeline.iter().any(|m| m["resource"] == resource), "{resource}");
    }
    // No mandate moves back or twice into a stage.
    let mandates = api.get("/v1/mandates/?limit=1000").await;
    for m in mandates["results"].as_array().into_iter().flatten() {
        let id = m["id"].as_str().unwrap_or_default();
        let stages: Vec<String> = of(&timeline, "mandate", id).into_iter().map(|(c, _)| c).collect();
        let mut dedup = stages.clone();
        dedup.dedup();
        assert_eq!(stages, dedup, "{id}");
    }
    // Moving on once more still works and stays in order.
    in_order(&api.advance("P400D").await);
}

/// The anchor date's midnight (UTC), up to which the generated fixtures are settled.
fn anchor_midnight() -> chrono::DateTime<chrono::Utc> {
    mock_paywise::seed::settled_until(testing::ANCHOR_DATE)
}

#[test]
fn generated_fixtures_have_nothing_due_at_the_anchor_dates_midnight() {
    let until = anchor_midnight();
    for seed in [mock_paywise::DEFAULT_SEED, 7] {
        for (size, scale) in [(1, 0), (2, 0), (1, 501), (0, 0)] {
            let (db, _) = generate_scaled(seed, testing::ANCHOR_DATE, size, scale);
            let due = mock_paywise::lifecycle::next_due(&db);
            assert!(
                due.is_none_or(|at| at > until),
                "seed {seed}, size {size}, scale {scale}: a rule is due at {due:?}"
            );
        }
    }
    // Another anchor too (a statement falls due on the 3rd of each month).
    let anchor = fixtures::shift(testing::ANCHOR_DATE, 19);
    let (db, _) = generate_scaled(7, anchor, 1, 501);
    let due = mock_paywise::lifecycle::next_due(&db);
    assert!(
        due.is_none_or(|at| at > mock_paywise::seed::settled_until(anchor)),
        "{due:?}"
    );
}

#[test]
fn settled_fixtures_are_deterministic() {
    for (size, scale) in [(1, 0), (2, 0), (1, 501)] {
        let (a, last_a) = generate_scaled(7, testing::ANCHOR_DATE, size, scale);
        let (b, last_b) = generate_scaled(7, testing::ANCHOR_DATE, size, scale);
        assert_eq!(last_a, last_b, "size {size}, scale {scale}");
        let bytes = |db: &mock_paywise::state::Db| serde_json::to_string(db).expect("serializes");
        assert!(bytes(&a) == bytes(&b), "size {size}, scale {scale}: other bytes");
        assert!(a.fingerprint() == b.fingerprint(), "size {size}, scale {scale}");
    }
}

#[tokio::test]
async fn a_seeded_world_does_not_move_in_its_first_minute() {
    // From the anchor's midnight, up to which the fixtures are settled: nothing moves in a minute,
    // whatever the size and scale.
    for (size, scale) in [(1, 0), (2, 0), (1, 501)] {
        let m = MockPaywise::test()
            .size(size)
            .scale(scale)
            .clock(mock_core::Clock::frozen(anchor_midnight()))
            .start()
            .await;
        let api = Api::with(m);
        let timeline = api.advance("PT1M").await;
        assert!(timeline.is_empty(), "size {size}, scale {scale}: {timeline:?}");
    }
    // The tests' usual clock (09:00 on the anchor date) with the default fixtures: their first
    // moment lies later that day, so the first minute moves nothing either.
    let (db, _) = generate_scaled(mock_paywise::DEFAULT_SEED, testing::ANCHOR_DATE, 1, 0);
    let first = mock_paywise::lifecycle::next_due(&db).expect("a rule is due later");
    assert!(first > testing::epoch() + chrono::Duration::minutes(1), "{first}");
    let api = Api::with(MockPaywise::test().clock(testing::frozen()).start().await);
    let timeline = api.advance("PT1M").await;
    assert!(timeline.is_empty(), "{timeline:?}");
    // Later that day the remaining released claims and the submitted titled order do move, each
    // at its own moment on the anchor date.
    let timeline = api.advance("PT15H").await;
    assert!(!timeline.is_empty());
    let day = testing::ANCHOR_DATE.format("%Y-%m-%d").to_string();
    assert!(
        timeline
            .iter()
            .all(|m| m["at"].as_str().is_some_and(|at| at.starts_with(&day))),
        "{timeline:?}"
    );
    assert!(
        timeline
            .iter()
            .any(|m| m["resource"] == "order" && m["change"] == "review_started"),
        "{timeline:?}"
    );
}

/// `GET` of a download URL: the status, the body's length.
async fn download(api: &Api, url: &str) -> (u16, usize) {
    let res = api.http.get(url).bearer_auth(api.m.token()).send().await.expect("sent");
    let status = res.status().as_u16();
    (status, res.bytes().await.map(|b| b.len()).unwrap_or_default())
}

#[tokio::test]
async fn payments_on_a_mandate_are_published_in_the_next_monthly_statement_once() {
    let api = Api::start().await;
    let claim = api.released_claim("T-PAY").await;
    // Reviewed 2026-11-02, accepted 2026-11-05T09:00 (the clock then reads that moment).
    let timeline = api.advance("P4D").await;
    let mandate = timeline
        .iter()
        .find(|m| m["resource"] == "mandate" && m["change"] == "created")
        .and_then(|m| m["id"].as_str())
        .expect("a mandate")
        .to_string();
    let pay = |amount: &str, date: &str| json!({"claim": claim, "amount": {"value": amount, "currency": "EUR"}, "value_date": date});
    api.ok(Method::POST, "/v1/payments/", pay("40.00", "2026-11-05")).await;
    assert_eq!(api.get("/v1/statements/").await["count"], 0);
    // A v1 subscriber of statement.created (its receiver is away: the delivery log shows it).
    let hook = api
        .ok(
            Method::POST,
            "/v1/webhooks/",
            json!({"url": "https://127.0.0.1:1/hook", "events": ["statement.created"]}),
        )
        .await;
    let hook = hook["id"].as_str().expect("a webhook id").to_string();

    // November's statement is published on 3 December at 06:30 UTC, the fixtures' schedule.
    let timeline = api.advance("P30D").await;
    in_order(&timeline);
    let published: Vec<&Value> = timeline.iter().filter(|m| m["change"] == "published").collect();
    assert_eq!(published.len(), 2, "{timeline:?}");
    assert_eq!(published[0]["resource"], "statement");
    assert_eq!(published[0]["event"], "statement.published");
    assert_eq!(published[0]["at"], "2026-12-03T06:30:00.000Z");
    assert!(published[0]["tenant"].as_str().is_some_and(|t| t.ends_with("/test")));
    assert_eq!(published[1]["resource"], "single_mandate_statement");
    assert_eq!(published[1]["event"], "single_mandate_statement.published");
    let id = published[0]["id"].as_str().expect("a statement id").to_string();

    let mut queued = Value::Null;
    for _ in 0..500 {
        queued = api.get(&format!("/v1/webhooks/{hook}/deliveries/")).await;
        if queued["count"].as_u64().is_some_and(|n| n > 0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(queued["count"], 1, "{queued}");
    assert_eq!(queued["results"][0]["event"], "statement.created", "{queued}");

    let list = api.get("/v1/statements/").await;
    assert_eq!(list["count"], 1, "{list}");
    let s = &list["results"][0];
    assert_eq!(s["id"], id.as_str());
    assert_eq!(s["booking_date"], "2026-12-03");
    assert_eq!(s["period_start"], "2026-11-01");
    assert_eq!(s["period_end"], "2026-11-30");
    assert_eq!(s["created"], "2026-12-03T06:30:00Z");
    assert_eq!(s["canceled"], false);
    assert_eq!(s["mandate_count"], 1);
    // The client received the payment directly: no payout, nothing offset.
    assert_eq!(s["total_balance"]["value"], "0.00", "{s}");
    let details = api.get(&format!("/v1/statements/{id}/mandate-details/")).await;
    assert_eq!(details["count"], 1, "{details}");
    let d = &details["results"][0];
    assert_eq!(d["mandate"]["id"], mandate.as_str());
    let tpm = &d["third_party_money_entries"][0]["third_party_money"];
    assert_eq!(tpm["total_payments"]["value"], "40.00", "{d}");
    assert_eq!(tpm["payments_to_client"]["total_payments"]["value"], "40.00", "{d}");
    assert_eq!(
        tpm["payments_to_client"]["allocation_to_main_claim"]["value"], "40.00",
        "{d}"
    );
    assert_eq!(tpm["payments_to_dca"]["total_payments"]["value"], "0.00", "{d}");
    let downloads = s["downloads"].as_array().cloned().unwrap_or_default();
    assert_eq!(downloads.len(), 3, "{s}");
    for f in &downloads {
        let (status, len) = download(&api, f["download_url"].as_str().expect("a url")).await;
        assert_eq!(
            (status, len),
            (200, f["file_size"].as_u64().unwrap_or_default() as usize),
            "{f}"
        );
    }

    // v2 sees the same statement, and the single-mandate statement of the same settlement.
    let v2 = api.get("/v2/statements/").await;
    let rows = v2["results"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 1, "{v2}");
    assert_eq!(rows[0]["id"], id.as_str());
    assert_eq!(rows[0]["status"], "published");
    assert_eq!(rows[0]["published_at"], "2026-12-03T06:30:00Z");
    let read = api.get(&format!("/v2/statements/{id}/")).await;
    let vat = &read["financials"]["vat_entries"][0];
    assert_eq!(vat["instalment_payments_to_client"]["value"], "40.00", "{read}");
    assert_eq!(read["mandates"][0]["id"], mandate.as_str(), "{read}");
    let (status, _) = download(
        &api,
        &format!("{}/v2/statements/{id}/download/?type=full-pdf", api.m.uri()),
    )
    .await;
    assert_eq!(status, 200);
    let singles = api
        .get(&format!("/v2/single-mandate-statements/?mandate={mandate}"))
        .await;
    let singles = singles["results"].as_array().cloned().unwrap_or_default();
    assert_eq!(singles.len(), 1, "{singles:?}");
    assert_eq!(singles[0]["id"], published[1]["id"]);
    assert_eq!(singles[0]["period_end"], "2026-11-30");
    let single = api
        .get(&format!(
            "/v2/single-mandate-statements/{}/",
            published[1]["id"].as_str().unwrap_or_default()
        ))
        .await;
    let vat = &single["financials"]["vat_entries"][0];
    assert_eq!(vat["total_payments"]["value"], "40.00", "{single}");
    assert_eq!(vat["payments_to_client"]["value"], "40.00", "{single}");
    // v2's feed has both events.
    let feed = api.get("/v2/events/").await.to_string();
    assert!(feed.contains("\"statement.published\""), "{feed}");
    assert!(feed.contains("\"single_mandate_statement.published\""), "{feed}");

    // A month on, nothing new was paid: no second statement for the same payment.
    let timeline = api.advance("P31D").await;
    assert!(timeline.iter().all(|m| m["resource"] != "statement"), "{timeline:?}");
    assert_eq!(api.get("/v1/statements/").await["count"], 1);

    // A payment in January is published in February's statement, alone.
    api.ok(Method::POST, "/v1/payments/", pay("10.00", "2027-01-05")).await;
    let timeline = api.advance("P31D").await;
    let published: Vec<&Value> = timeline.iter().filter(|m| m["resource"] == "statement").collect();
    assert_eq!(published.len(), 1, "{timeline:?}");
    assert_eq!(published[0]["at"], "2027-02-03T06:30:00.000Z");
    let second = published[0]["id"].as_str().expect("an id").to_string();
    let s = api.get(&format!("/v1/statements/{second}/")).await;
    assert_eq!(
        (s["period_start"].as_str(), s["period_end"].as_str()),
        (Some("2027-01-01"), Some("2027-01-31"))
    );
    let details = api.get(&format!("/v1/statements/{second}/mandate-details/")).await;
    let tpm = &details["results"][0]["third_party_money_entries"][0]["third_party_money"];
    assert_eq!(tpm["total_payments"]["value"], "10.00", "{details}");
    assert_eq!(
        api.get("/v2/statements/").await["results"].as_array().map(Vec::len),
        Some(2)
    );

    // Switched off, no statement is published; switched on again, the late one comes at once.
    let (status, settings) = api.configure(json!({"statements": false})).await;
    assert_eq!(
        (status, settings["statements"].as_bool()),
        (200, Some(false)),
        "{settings}"
    );
    assert_eq!(api.configure(json!({"statements": "no"})).await.0, 400);
    api.ok(Method::POST, "/v1/payments/", pay("5.00", "2027-02-05")).await;
    assert!(api.advance("P40D").await.iter().all(|m| m["resource"] != "statement"));
    assert_eq!(api.configure(json!({"statements": true})).await.0, 200);
    let timeline = api.advance("PT1H").await;
    assert_eq!(
        timeline.iter().filter(|m| m["resource"] == "statement").count(),
        1,
        "{timeline:?}"
    );
    assert_eq!(api.get("/v1/statements/").await["count"], 3);
}
