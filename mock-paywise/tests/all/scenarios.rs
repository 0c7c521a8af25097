//! paywise's named scenarios (mock-paywise/src/scenarios.rs): each loads through the control API
//! into a world on a frozen clock, and its defining records read back through the public API.

use mock_core::testing;
use mock_paywise::MockPaywise;
use serde_json::Value;

struct Api {
    m: MockPaywise,
    http: reqwest::Client,
}

impl Api {
    async fn start() -> Self {
        Self {
            m: MockPaywise::test().clock(testing::frozen()).start().await,
            http: reqwest::Client::new(),
        }
    }

    async fn load(&self, name: &str) -> Value {
        let res = self
            .http
            .post(format!("{}/_mock/scenarios/{name}", self.m.uri()))
            .send()
            .await
            .expect("sent");
        assert_eq!(res.status(), 200, "{name}");
        res.json().await.expect("json")
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

    /// The one claim of the world with `reference`.
    async fn claim(&self, reference: &str) -> Value {
        let page = self.get("/v1/claims/?limit=100").await;
        let found: Vec<&Value> = page["results"]
            .as_array()
            .expect("a page")
            .iter()
            .filter(|c| c["your_reference"] == reference)
            .collect();
        assert_eq!(found.len(), 1, "{page}");
        found[0].clone()
    }
}

#[tokio::test]
async fn the_scenarios_are_listed() {
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
    assert_eq!(names, ["paywise-claim-question", "paywise-judicial-mandate"]);
}

#[tokio::test]
async fn a_claim_under_review_with_an_open_question() {
    let api = Api::start().await;
    let loaded = api.load("paywise-claim-question").await;
    assert_eq!(loaded["now"], "2026-11-01T09:00:00.000Z");
    let claim = api.claim("SC-QUESTION").await;
    assert_eq!(claim["submission_state"], "client_response_pending", "{claim}");
    let id = claim["id"].as_str().expect("id");
    let v2 = api.get(&format!("/v2/claims/{id}/")).await;
    assert_eq!(v2["status"], "awaiting_client_response", "{v2}");
    let asked: Vec<&Value> = loaded["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .filter(|m| m["resource"] == "request_to_client")
        .collect();
    assert_eq!(asked.len(), 1, "{loaded}");
    assert_eq!(
        asked[0]["at"], "2026-10-31T09:00:00.000Z",
        "asked 4 days after the release"
    );
    // The scenario leaves the world's rules as they were.
    let settings: Value = reqwest::get(format!("{}/_mock/paywise/lifecycle", api.m.uri()))
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(settings["outcome"], "accepted", "{settings}");
}

#[tokio::test]
async fn a_mandate_in_the_judicial_stage_with_a_partial_payment() {
    let api = Api::start().await;
    let loaded = api.load("paywise-judicial-mandate").await;
    let claim = api.claim("SC-JUDICIAL").await;
    assert_eq!(claim["submission_state"], "accepted", "{claim}");
    let mandate = claim["mandate"]["id"].as_str().expect("a mandate");
    let m = api.get(&format!("/v1/mandates/{mandate}/")).await;
    assert_eq!(m["legal_stage"], "judicial_dunning", "{m}");
    assert_eq!(m["processing_state"], "in_progress", "{m}");
    let updates = api.get(&format!("/v1/mandates/{mandate}/statusupdates/")).await;
    assert!(updates.as_array().is_some_and(|u| u.len() >= 2), "{updates}");
    let payments = api.get("/v1/payments/").await;
    let paid: Vec<&Value> = payments["results"]
        .as_array()
        .expect("a page")
        .iter()
        .filter(|p| p["claim"] == claim["id"])
        .collect();
    assert_eq!(paid.len(), 1, "{payments}");
    assert_eq!(paid[0]["amount"]["value"], "400.00");
    // The payment (on 2026-09-23) is in the statement published on 2026-10-03.
    let statements = api.get("/v1/statements/").await;
    let list = statements["results"].as_array().expect("a page");
    assert_eq!(list.len(), 1, "{statements}");
    let published: Vec<&Value> = loaded["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .filter(|m| m["resource"] == "statement" && m["change"] == "published")
        .collect();
    assert_eq!(published.len(), 1, "{loaded}");
    assert_eq!(published[0]["at"], "2026-10-03T06:30:00.000Z");
}
