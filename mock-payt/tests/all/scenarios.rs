//! Payt's named scenarios (mock-payt/src/scenarios.rs): each loads through the control API into a
//! world on a frozen clock, and its defining records read back through the public API.

use mock_core::testing;
use mock_payt::MockPayt;
use serde_json::{Value, json};

struct Api {
    m: MockPayt,
    http: reqwest::Client,
}

impl Api {
    async fn start() -> Self {
        Self {
            m: MockPayt::test().clock(testing::frozen()).start().await,
            http: reqwest::Client::new(),
        }
    }

    async fn load(&self, name: &str) -> (u16, Value) {
        let res = self
            .http
            .post(format!("{}/_mock/scenarios/{name}", self.m.uri()))
            .send()
            .await
            .expect("sent");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> Value {
        let res = self
            .http
            .get(format!("{}{path}", self.m.uri()))
            .bearer_auth(self.m.token())
            .send()
            .await
            .expect("sent");
        assert_eq!(res.status(), 200, "{path}");
        res.json().await.expect("json")
    }

    async fn invoice(&self, number: &str) -> Value {
        self.get(&format!(
            "/v1/invoices/{number}?administration_id=81&identifier_type=invoice_number"
        ))
        .await
    }
}

#[tokio::test]
async fn the_scenarios_are_listed_and_an_unknown_name_says_which_exist() {
    let api = Api::start().await;
    let list: Value = reqwest::get(format!("{}/_mock/scenarios", api.m.uri()))
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let names: Vec<&str> = list["scenarios"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["payt-overdue-invoices", "payt-case-at-summons", "payt-missed-term"]
    );
    let (status, body) = api.load("nope").await;
    assert_eq!(status, 404);
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("payt-missed-term")),
        "{body}"
    );
}

#[tokio::test]
async fn overdue_invoices_stand_at_each_step_of_the_reminder_flow() {
    let api = Api::start().await;
    let (status, loaded) = api.load("payt-overdue-invoices").await;
    assert_eq!(status, 200, "{loaded}");
    assert_eq!(loaded["now"], "2026-11-01T09:00:00.000Z", "it ends where the clock was");
    assert!(!loaded["timeline"].as_array().expect("a timeline").is_empty());
    let pre = api.invoice("SC-PRE").await;
    assert!(
        pre["pre_reminder_at"].is_string() && pre["reminder_1_at"].is_null(),
        "{pre}"
    );
    let r1 = api.invoice("SC-R1").await;
    assert!(r1["reminder_1_at"].is_string() && r1["reminder_2_at"].is_null(), "{r1}");
    let r2 = api.invoice("SC-R2").await;
    assert!(
        r2["reminder_2_at"].is_string() && r2["final_reminder_at"].is_null(),
        "{r2}"
    );
    let fin = api.invoice("SC-FINAL").await;
    assert!(
        fin["final_reminder_at"].is_string() && fin["collectable_at"].is_null(),
        "{fin}"
    );
    let coll = api.invoice("SC-COLL").await;
    assert!(coll["debt_collection_at"].is_string(), "{coll}");
    let case = coll["active_credit_case_id"].as_str().expect("in a credit case");
    let c = api.get(&format!("/v1/credit_cases/{case}?administration_id=81")).await;
    assert!(c["pre_summons_at"].is_string() && c["summons_1_at"].is_null(), "{c}");
    // Every record was made by the API and moved by the rules: the invoices were sent 60 days ago.
    assert_eq!(pre["sent_at"], "2026-09-02T09:00:00Z");
    assert_eq!(pre["invoice_date"], "2026-09-02");
    // The world holds only the scenario's invoices.
    let page = api.get("/v1/invoices?administration_id=81&per_page=100").await;
    assert_eq!(page["data"].as_array().map(Vec::len), Some(5), "{page}");
}

#[tokio::test]
async fn a_credit_case_at_summons() {
    let api = Api::start().await;
    let (status, loaded) = api.load("payt-case-at-summons").await;
    assert_eq!(status, 200, "{loaded}");
    let inv = api.invoice("SC-CASE").await;
    let case = inv["active_credit_case_id"].as_str().expect("in a credit case");
    let c = api.get(&format!("/v1/credit_cases/{case}?administration_id=81")).await;
    assert!(c["summons_2_at"].is_string() && c["summons_3_at"].is_null(), "{c}");
    assert_eq!(c["latest_summons_at"], c["summons_2_at"]);
    assert_eq!(inv["summons_2_at"], c["summons_2_at"], "mirrored onto the invoice");
}

#[tokio::test]
async fn a_payment_plan_with_a_missed_term() {
    let api = Api::start().await;
    let (status, loaded) = api.load("payt-missed-term").await;
    assert_eq!(status, 200, "{loaded}");
    let expired: Vec<&Value> = loaded["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .filter(|m| m["event"] == "payment_plan_term_expired")
        .collect();
    assert_eq!(expired.len(), 1, "{loaded}");
    assert_eq!(expired[0]["at"], "2026-10-23T08:00:00.000Z");
    let inv = api.invoice("SC-PLAN-1").await;
    let plan = inv["active_payment_plan_id"].as_str().expect("under a plan");
    let p = api.get(&format!("/v1/payment_plans/{plan}?administration_id=81")).await;
    assert_eq!(
        (&p["active"], &p["deactivated_at"]),
        (&json!(true), &Value::Null),
        "{p}"
    );
    assert!(
        inv["reminder_1_at"].is_null(),
        "under the plan the invoice stood still: {inv}"
    );
    let tasks = api.get("/v1/tasks?administration_id=81").await;
    assert!(
        tasks["data"]
            .as_array()
            .expect("tasks")
            .iter()
            .any(|t| t["subject"] == "Payment plan term missed"),
        "{tasks}"
    );
}
