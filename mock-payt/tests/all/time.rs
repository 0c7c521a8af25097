//! Time that moves: advancing a world's clock runs Payt's time-driven rules in order, each change
//! stamped at its own moment (mock-payt/src/lifecycle.rs). The tests make their own records
//! through the API on a frozen clock, advance through the control API, and read the results back
//! through the API.

use mock_core::testing;
use mock_payt::MockPayt;
use reqwest::Method;
use serde_json::{Value, json};

struct Api {
    m: MockPayt,
    http: reqwest::Client,
}

impl Api {
    async fn start() -> Self {
        let m = MockPayt::test().size(0).clock(testing::frozen()).start().await;
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

    async fn post(&self, path: &str, body: Value) -> Value {
        let (status, answer) = self.send(Method::POST, path, Some(body)).await;
        assert!((200..300).contains(&status), "{path}: {status} {answer}");
        answer
    }

    /// A debtor and one open invoice of 100.00, dated 14 days before `due`, sent at the test epoch.
    async fn invoice(&self, number: &str, due: &str) -> String {
        let dated = chrono::NaiveDate::parse_from_str(due, "%Y-%m-%d").expect("a date") - chrono::Duration::days(14);
        self.post(
            "/v1/debtors",
            json!({"administration_id": 81, "debtors": [
                {"debtor_number": format!("D-{number}"), "name": "Tijd B.V.", "debtor_identifier": format!("ext-{number}")}
            ]}),
        )
        .await;
        self.post(
            "/v1/invoices",
            json!({"administration_id": 81, "invoices": [{
                "invoice_number": number, "debtor_number": format!("D-{number}"), "currency_code": "EUR",
                "invoice_date": dated.to_string(), "due_date": due, "amount_total": 100, "amount_open": 100,
                "book_amount_total": 100, "book_amount_open": 100, "sent_at": "2026-11-01T09:00:00Z"
            }]}),
        )
        .await;
        let found = self
            .get(&format!(
                "/v1/invoices/{number}?administration_id=81&identifier_type=invoice_number"
            ))
            .await;
        found["id"].as_str().expect("the invoice has an id").to_string()
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

#[tokio::test]
async fn an_unpaid_invoice_walks_the_reminder_flow_into_a_credit_case_that_reaches_the_bailiff() {
    let api = Api::start().await;
    let id = api.invoice("T-1", "2026-11-10").await;
    let timeline = api.advance("P180D").await;

    // Every entry is in time order.
    let stamps: Vec<&str> = timeline.iter().filter_map(|m| m["at"].as_str()).collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "{stamps:?}");

    assert_eq!(
        of(&timeline, "invoice", &id),
        pairs(&[
            ("pre_reminder", "2026-11-07T08:00:00.000Z"),
            ("reminder_1", "2026-11-17T08:00:00.000Z"),
            ("reminder_2", "2026-12-01T08:00:00.000Z"),
            ("final_reminder", "2026-12-15T08:00:00.000Z"),
            ("collectable", "2026-12-29T08:00:00.000Z"),
            ("debt_collection", "2026-12-29T08:00:00.000Z"),
        ])
    );
    let created: Vec<&Value> = timeline
        .iter()
        .filter(|m| m["resource"] == "credit_case" && m["change"] == "created")
        .collect();
    assert_eq!(created.len(), 1, "{timeline:?}");
    assert_eq!(created[0]["event"], "case_created");
    let case = created[0]["id"].as_str().expect("case id").to_string();
    assert_eq!(
        of(&timeline, "credit_case", &case),
        pairs(&[
            ("created", "2026-12-29T08:00:00.000Z"),
            ("summons_1", "2027-01-12T08:00:00.000Z"),
            ("summons_2", "2027-01-26T08:00:00.000Z"),
            ("summons_3", "2027-02-09T08:00:00.000Z"),
            ("summons_4", "2027-02-23T08:00:00.000Z"),
            ("notice_of_default", "2027-03-23T08:00:00.000Z"),
            ("pre_judicial", "2027-04-06T08:00:00.000Z"),
            ("bailiff", "2027-04-20T08:00:00.000Z"),
        ])
    );

    // The API shows the same: the invoice with its reminders and the case's stages mirrored.
    let inv = api.get(&format!("/v1/invoices/{id}?administration_id=81")).await;
    assert_eq!(inv["reminder_1_at"], "2026-11-17T08:00:00Z");
    assert_eq!(inv["final_reminder_at"], "2026-12-15T08:00:00Z");
    assert_eq!(inv["latest_reminder_at"], "2026-12-15T08:00:00Z");
    assert_eq!(inv["debt_collection_at"], "2026-12-29T08:00:00Z");
    assert_eq!(inv["active_credit_case_id"], case.as_str());
    assert_eq!(inv["summons_4_at"], "2027-02-23T08:00:00Z");
    assert_eq!(inv["bailiff_at"], "2027-04-20T08:00:00Z");
    assert_eq!(inv["updated_at"], "2027-04-20T08:00:00Z");
    let c = api.get(&format!("/v1/credit_cases/{case}?administration_id=81")).await;
    assert_eq!(c["started_at"], "2026-12-29T08:00:00Z");
    assert_eq!(c["pre_summons_at"], "2026-12-29T08:00:00Z");
    assert_eq!(c["notice_of_default_at"], "2027-03-23T08:00:00Z");
    assert_eq!(c["latest_summons_at"], "2027-03-23T08:00:00Z");
    assert_eq!(c["forwarded_to_bailiff_at"], "2027-04-20T08:00:00Z");
    assert_eq!(
        c["open_amount"], "140.00",
        "principal and the statutory collection costs (40.00)"
    );
    // The task Payt sets the creditor at the pre-judicial stage.
    let tasks = api.get("/v1/tasks?administration_id=81").await;
    let for_case: Vec<&Value> = tasks["data"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter(|t| t["credit_case_id"] == case.as_str())
        .collect();
    assert_eq!(for_case.len(), 1, "{tasks}");
    assert_eq!(for_case[0]["created_at"], "2027-04-06T08:00:00Z");
    // A sync with updated_after sees the last change.
    let synced = api
        .get("/v1/invoices?administration_id=81&updated_after=2027-04-20T07:59:59Z")
        .await;
    assert!(
        synced["data"]
            .as_array()
            .expect("page")
            .iter()
            .any(|i| i["id"] == id.as_str())
    );
    // The control API's timeline log holds the same entries.
    let log: Value = reqwest::get(format!("{}/_mock/timeline", api.m.uri()))
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(log["count"], timeline.len());
    assert_eq!(log["rules_ran_until"], "2027-04-30T09:00:00.000Z");
}

#[tokio::test]
async fn the_flow_moves_one_step_at_a_time_and_stands_still_when_paid_paused_or_blocked() {
    let api = Api::start().await;
    let late = api.invoice("T-LATE", "2026-08-01").await;
    let blocked = api.invoice("T-BLOCK", "2026-10-01").await;
    let paid = api.invoice("T-PAID", "2026-10-01").await;
    api.send(
        Method::PATCH,
        "/v1/invoices/block",
        Some(json!({"administration_id": 81, "invoice_numbers": ["T-BLOCK"]})),
    )
    .await;
    api.post(
        "/v1/invoices",
        json!({"administration_id": 81, "invoices": [{
            "invoice_number": "T-PAID", "debtor_number": "D-T-PAID", "currency_code": "EUR",
            "invoice_date": "2026-09-17", "due_date": "2026-10-01", "amount_total": 100, "amount_open": 0,
            "book_amount_total": 100, "book_amount_open": 0
        }]}),
    )
    .await;
    let timeline = api.advance("P20D").await;
    // Imported three months late: its next step comes at once (stamped at the first run, not in
    // the past), the following ones at the flow's intervals.
    assert_eq!(
        of(&timeline, "invoice", &late),
        pairs(&[
            ("reminder_1", "2026-11-01T09:00:00.000Z"),
            ("reminder_2", "2026-11-15T09:00:00.000Z"),
        ])
    );
    assert_eq!(of(&timeline, "invoice", &blocked), pairs(&[]));
    assert_eq!(of(&timeline, "invoice", &paid), pairs(&[]));
    // Resumed, the blocked invoice moves on from where it stood.
    api.send(
        Method::PATCH,
        "/v1/invoices/resume",
        Some(json!({"administration_id": 81, "invoice_numbers": ["T-BLOCK"]})),
    )
    .await;
    let timeline = api.advance("P1D").await;
    assert_eq!(
        of(&timeline, "invoice", &blocked),
        pairs(&[("reminder_1", "2026-11-21T09:00:00.000Z")])
    );
}

#[tokio::test]
async fn a_missed_payment_plan_term_expires_and_deactivates_the_plan_which_resumes_the_flow() {
    let api = Api::start().await;
    let id = api.invoice("T-PLAN", "2026-10-20").await;
    let plan = api
        .post(
            "/v1/payment_plans",
            json!({"administration_id": 81, "invoice_numbers": ["T-PLAN"], "terms": [
                {"amount": "50.00", "due_date": "2026-11-15"}, {"amount": "50.00", "due_date": "2026-12-15"}
            ]}),
        )
        .await;
    let plan_id = plan["id"].as_str().expect("plan id").to_string();
    let timeline = api.advance("P40D").await;
    assert_eq!(
        of(&timeline, "payment_plan", &plan_id),
        pairs(&[
            (
                &format!(
                    "term_{}_expired",
                    plan["payment_terms"][0]["id"].as_str().unwrap_or_default()
                ),
                "2026-11-16T08:00:00.000Z"
            ),
            ("deactivated", "2026-11-30T08:00:00.000Z"),
        ])
    );
    assert!(
        timeline
            .iter()
            .any(|m| m["event"] == "payment_plan_term_expired" && m["id"] == plan_id.as_str())
    );
    // Under the plan the invoice stood still; deactivated, its flow resumes at once.
    assert_eq!(
        of(&timeline, "invoice", &id),
        pairs(&[("reminder_1", "2026-11-30T08:00:00.000Z")])
    );
    let p = api
        .get(&format!("/v1/payment_plans/{plan_id}?administration_id=81"))
        .await
        .clone();
    assert_eq!(p["active"], false);
    assert_eq!(p["deactivated_at"], "2026-11-30T08:00:00Z");
}

#[tokio::test]
async fn a_frozen_clock_stops_every_rule_and_a_running_one_lets_them_move() {
    let m = MockPayt::test().size(0).clock(testing::frozen()).start().await;
    let api = Api {
        m,
        http: reqwest::Client::new(),
    };
    let id = api.invoice("T-FROZEN", "2026-09-01").await;
    // The background pass finds every clock frozen: nothing moves.
    assert_eq!(api.m.worlds().run_background_rules(), 0);
    assert!(api.m.default_world().timeline().is_empty());
    let inv = api.get(&format!("/v1/invoices/{id}?administration_id=81")).await;
    assert_eq!(inv["reminder_1_at"], Value::Null);
    // Unfrozen, the next pass runs what is due.
    api.m.clock().unfreeze();
    assert!(api.m.worlds().run_background_rules() > 0);
    let inv = api.get(&format!("/v1/invoices/{id}?administration_id=81")).await;
    assert!(inv["reminder_1_at"].is_string(), "{inv}");
}

#[tokio::test]
async fn the_seeded_world_moves_forward_too() {
    let m = MockPayt::test().clock(testing::frozen()).start().await;
    let moved = m.advance(chrono::Duration::days(30));
    assert!(
        moved
            .iter()
            .any(|m| m.resource == "credit_case" && m.change.starts_with("summons")),
        "{moved:?}"
    );
    assert!(
        moved
            .iter()
            .any(|m| m.resource == "invoice" && m.change == "reminder_1")
    );
    assert!(moved.windows(2).all(|w| w[0].at <= w[1].at));
    // Stamped no earlier than the world's clock started.
    assert!(moved.iter().all(|m| m.at >= testing::epoch()));
}

/// The anchor date's midnight, where the fixtures are settled.
fn anchor_midnight() -> chrono::DateTime<chrono::Utc> {
    testing::ANCHOR_DATE.and_hms_opt(0, 0, 0).expect("midnight").and_utc()
}

#[test]
fn the_fixtures_are_where_the_rules_leave_them_at_the_anchor_dates_midnight() {
    use mock_payt::seed::generate_scaled;
    let midnight = anchor_midnight();
    for (seed, size, scale) in [(42, 1, 0), (7, 2, 0), (42, 1, 501)] {
        let (db, _) = generate_scaled(seed, testing::ANCHOR_DATE, size, scale);
        let due = mock_payt::lifecycle::next_due(&db, midnight);
        assert!(
            due.is_none_or(|d| d > midnight),
            "seed {seed} size {size} scale {scale}: a rule is due at {due:?}"
        );
        // The settling made cases and walked them: the fixtures hold cases opened by debt
        // collection, whose invoices carry their case.
        let handed_over = db
            .invoices
            .iter_all()
            .filter(|i| i.debt_collection_at.is_some() && i.active_credit_case_id.is_none())
            .filter(|i| i.open_amount > rust_decimal::Decimal::ZERO && i.paused_at.is_none())
            .count();
        assert_eq!(handed_over, 0, "an open invoice in debt collection without a case");
    }
    // Deterministic.
    let (a, la) = generate_scaled(42, testing::ANCHOR_DATE, 1, 0);
    let (b, lb) = generate_scaled(42, testing::ANCHOR_DATE, 1, 0);
    assert_eq!(la, lb);
    assert!(a.fingerprint() == b.fingerprint());
}

#[tokio::test]
async fn a_freshly_seeded_world_moves_only_at_moments_after_its_anchor() {
    // Started at the anchor date's 00:00, a seeded world has nothing to catch up: the first hours
    // move nothing, the morning run at 08:00 moves what falls due that day.
    let m = MockPayt::test()
        .clock(mock_core::Clock::frozen(anchor_midnight()))
        .start()
        .await;
    assert!(m.advance(chrono::Duration::hours(7)).is_empty());
    let moved = m.advance(chrono::Duration::days(3));
    assert!(!moved.is_empty());
    assert!(moved.iter().all(|m| m.at > anchor_midnight()), "{moved:?}");
}
