//! Partner API v2: managed companies (`/partner/v2/companies/`) and their memberships
//! (`/partner/v2/companies/{id}/users/`), the mock-only confirmation and activation routes, and
//! how v2's companies are v1's partner companies.
//!
//! Every test runs its own mock on a frozen clock; time moves only when a test advances it.

use axum::body::Body;
use chrono::Duration;
use mock_paywise::MockPaywise;
use mock_paywise::resources::partner::{
    FIXTURE_ACCOUNT, PARTNER_PRODUCTION_TOKEN, PARTNER_RESTRICTED_TOKEN, PARTNER_TOKEN,
};
use mock_paywise::state::{AccessMode, Scope};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tower::ServiceExt;

struct Resp {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn etag(&self) -> String {
        self.header("etag").expect("an ETag").to_string()
    }
}

struct Api {
    m: MockPaywise,
    base: String,
    client: reqwest::Client,
    keys: std::cell::Cell<u64>,
}

impl Api {
    async fn start() -> Self {
        let m = MockPaywise::test()
            .seed(42)
            .clock(mock_core::Clock::frozen(mock_core::testing::epoch()))
            .start()
            .await;
        Self {
            base: m.uri(),
            m,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            keys: std::cell::Cell::new(0),
        }
    }

    /// A fresh Idempotency-Key.
    fn key(&self) -> String {
        self.keys.set(self.keys.get() + 1);
        format!("key-{}", self.keys.get())
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.expect("sent");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Resp { status, headers, body }
    }

    async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, PARTNER_TOKEN, None, &[]).await
    }

    async fn get_as(&self, path: &str, token: &str) -> Resp {
        self.send(Method::GET, path, token, None, &[]).await
    }

    /// A POST with a fresh Idempotency-Key.
    async fn post(&self, path: &str, body: Value) -> Resp {
        let key = self.key();
        self.post_key(path, PARTNER_TOKEN, &key, body).await
    }

    async fn post_key(&self, path: &str, token: &str, key: &str, body: Value) -> Resp {
        self.send(Method::POST, path, token, Some(&body), &[("Idempotency-Key", key)])
            .await
    }

    async fn patch(&self, path: &str, body: Value, headers: &[(&str, &str)]) -> Resp {
        self.send(Method::PATCH, path, PARTNER_TOKEN, Some(&body), headers)
            .await
    }

    /// Onboards a company with the test key; asserts 201.
    async fn company(&self, body: Value) -> Value {
        let r = self.post("/partner/v2/companies/", body).await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body
    }

    async fn count(&self, token: &str) -> u64 {
        let r = self.get_as("/partner/v2/companies/?limit=100", token).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["count"].as_u64().expect("count")
    }

    /// A mock-only control route, called on the module's own control router.
    async fn control(&self, path: &str) -> (u16, Value) {
        let app = mock_paywise::v2::partner::control_router().with_state(self.m.state().clone());
        let req = axum::http::Request::post(path).body(Body::empty()).expect("request");
        let Ok(res) = app.oneshot(req).await;
        let status = res.status().as_u16();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.expect("body");
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    fn advance(&self, by: Duration) {
        self.m.state().clock.advance(by);
    }

    /// The Partner's event feed (everything, after letting it settle).
    async fn events(&self) -> Vec<Value> {
        self.advance(Duration::seconds(61));
        let r = self.get("/partner/v2/events/?limit=100").await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["results"].as_array().expect("results").clone()
    }
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

fn id(v: &Value) -> String {
    s(&v["id"]).to_string()
}

/// A company body with every piece of data a case submission needs.
fn full_company(name: &str, reference: &str) -> Value {
    json!({
        "name": name,
        "onboarding_mode": "api_only",
        "external_reference": reference,
        "address": {"street": "Hauptstr. 1", "postal_code": "10115", "city": "Berlin", "country": "DE"},
        "phone": "+4930123456",
        "legal_form": "gmbh",
        "legal_representatives": [{"name": "Erika Muster", "type": "managing_director"}],
        "tax_treatment": "input_tax_deductible",
        "vat_number": "DE123456789",
        "default_claim_type": "H11",
        "payout_bank_account": {"account_holder": "Muster GmbH", "iban": "DE89370400440532013000"},
        "notification_channels": [{"type": "email", "value": "ops@muster.example"}],
        "data_sharing_basis": "self_authorized",
        "users": [
            {"email": "anna@muster.example", "first_name": "Anna", "last_name": "Admin", "role": "admin"},
            {"email": "max@muster.example", "first_name": "Max", "last_name": "Member", "role": "member"}
        ]
    })
}

fn minimal(name: &str) -> Value {
    json!({"name": name, "onboarding_mode": "api_only"})
}

fn member(email: &str, role: &str) -> Value {
    json!({"email": email, "first_name": "F", "last_name": "L", "role": role})
}

// ---------------------------------------------------------------------------------------------
// Companies
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn onboarding_an_api_only_company_creates_it_with_its_users_and_events() {
    let api = Api::start().await;
    let r = api
        .post("/partner/v2/companies/", full_company("Muster GmbH", "crm-1"))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let c = r.body;
    assert_eq!(c["name"], "Muster GmbH");
    assert_eq!(c["external_reference"], "crm-1");
    assert_eq!(c["onboarding_mode"], "api_only");
    assert_eq!(c["onboarding_status"], "confirmation_not_required");
    assert_eq!(c["case_access"], "available");
    assert_eq!(c["sandbox_origin"], "sandbox_native");
    assert_eq!(c["address"]["postal_code"], "10115");
    assert_eq!(c["payout_bank_account"]["iban"], "DE89370400440532013000");
    assert_eq!(c["payout_bank_account"]["bic"], Value::Null);
    assert_eq!(
        c["notification_channels"][0]["notifications"],
        json!(["status_updates", "requests_to_client", "statements", "advance_requests"]),
        "an empty selection is all four"
    );
    assert_eq!(c["case_submission_readiness"], json!({"ready": true, "issues": []}));
    assert_eq!(c["created_at"], "2026-11-01T09:00:00Z");
    assert_eq!(c["updated_at"], c["created_at"]);
    assert!(s(&c["customer_number"]).parse::<u64>().is_ok());
    assert!(c.get("data_sharing_basis").is_none(), "writable but never shown");
    let users = c["users"].as_array().expect("users");
    assert_eq!(users.len(), 2);
    for u in users {
        assert_eq!(u["status"], "pending_setup");
        assert_eq!(u["sandbox_origin"], "sandbox_native");
        assert_eq!(u["invite_expires_at"], "2026-11-15T09:00:00Z");
        let url = s(&u["setup_url"]);
        assert!(
            url.starts_with(&format!("{}/_mock/paywise/v2/setup/", api.base)),
            "{url}"
        );
    }
    let cid = id(&c);

    // Reads never show the setup URLs.
    let detail = api.get(&format!("/partner/v2/companies/{cid}/")).await;
    assert_eq!(detail.status, 200);
    assert_eq!(detail.body["users"].as_array().expect("users").len(), 2);
    assert!(detail.body["users"][0].get("setup_url").is_none());
    let list = api.get("/partner/v2/companies/?external_reference=crm-1").await;
    assert_eq!(list.body["count"], 1);
    assert!(
        list.body["results"][0].get("users").is_none(),
        "list rows have no users"
    );

    // company.created, then one company.user.added per inline user.
    let events = api.events().await;
    let kinds: Vec<&str> = events.iter().map(|e| s(&e["type"])).collect();
    assert_eq!(kinds, ["company.created", "company.user.added", "company.user.added"]);
    assert_eq!(events[0]["data"]["company_id"], cid.as_str());
    assert_eq!(
        events[0]["data"]["company_url"],
        format!("/partner/v2/companies/{cid}/")
    );
    assert_eq!(events[0]["data"]["case_submission_ready"], true);
    assert_eq!(events[0]["data"]["customer_number"], c["customer_number"]);
    assert_eq!(events[1]["data"]["membership_id"], users[0]["id"]);

    // The company can be operated through the Case Management API at once.
    let info = api
        .send(
            Method::GET,
            "/v2/info/",
            PARTNER_TOKEN,
            None,
            &[("X-On-Behalf-Of-Company", &cid)],
        )
        .await;
    assert_eq!(info.status, 200, "{}", info.body);
    assert_eq!(info.body["company"], cid.as_str());
}

#[tokio::test]
async fn the_setup_page_is_served_by_the_control_router() {
    let api = Api::start().await;
    let c = api.company(full_company("Setup GmbH", "s-1")).await;
    let url = s(&c["users"][0]["setup_url"]).to_string();
    let path = url.strip_prefix(&api.base).expect("on the mock").to_string();
    let app = mock_paywise::v2::partner::control_router().with_state(api.m.state().clone());
    let req = axum::http::Request::get(&path).body(Body::empty()).expect("request");
    let Ok(res) = app.clone().oneshot(req).await;
    assert_eq!(res.status(), 200);
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.expect("body");
    let html = String::from_utf8(bytes.to_vec()).expect("utf-8");
    assert!(html.contains("anna@muster.example"), "{html}");
    let req = axum::http::Request::get("/_mock/paywise/v2/setup/nope")
        .body(Body::empty())
        .expect("request");
    let Ok(res) = app.oneshot(req).await;
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn a_retry_with_the_same_key_replays_the_first_answer_without_setup_urls() {
    let api = Api::start().await;
    let before = api.count(PARTNER_TOKEN).await;
    let body = full_company("Replay GmbH", "r-1");
    let first = api
        .post_key("/partner/v2/companies/", PARTNER_TOKEN, "same", body.clone())
        .await;
    assert_eq!(first.status, 201);
    assert!(first.body["users"][0]["setup_url"].is_string());
    let again = api
        .post_key("/partner/v2/companies/", PARTNER_TOKEN, "same", body.clone())
        .await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body["id"], first.body["id"]);
    assert!(again.body["users"][0].get("setup_url").is_none());
    assert_eq!(api.count(PARTNER_TOKEN).await, before + 1, "one company");
    // The same key with another body is refused.
    let other = api
        .post_key("/partner/v2/companies/", PARTNER_TOKEN, "same", minimal("Other"))
        .await;
    assert_eq!(other.status, 409);
    assert_eq!(other.body["code"], "idempotency_key_reused");
    // No key at all.
    let none = api
        .send(
            Method::POST,
            "/partner/v2/companies/",
            PARTNER_TOKEN,
            Some(&minimal("X")),
            &[],
        )
        .await;
    assert_eq!(none.status, 400);
    assert_eq!(api.count(PARTNER_TOKEN).await, before + 1);
    // Replays do not count against the allowance.
    let usage = api.get("/partner/v2/usage/").await;
    let companies = usage.body["limits"]
        .as_array()
        .expect("limits")
        .iter()
        .find(|l| l["scope"] == "mail:company-create")
        .cloned()
        .expect("mail:company-create");
    assert_eq!(companies["used"], 1);
}

#[tokio::test]
async fn refused_creations_change_nothing() {
    let api = Api::start().await;
    let taken = api.company(minimal("Taken GmbH")).await;
    let r = api
        .patch(
            &format!("/partner/v2/companies/{}/", id(&taken)),
            json!({"external_reference": "dup"}),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let before = api.count(PARTNER_TOKEN).await;
    let rep = |n: usize| {
        (0..n)
            .map(|i| json!({"name": format!("R{i}"), "type": "managing_director"}))
            .collect::<Vec<_>>()
    };
    let channels = |n: usize| {
        (0..n)
            .map(|i| json!({"type": "email", "value": format!("c{i}@x.example")}))
            .collect::<Vec<_>>()
    };
    let users = |n: usize| {
        (0..n)
            .map(|i| member(&format!("u{i}@x.example"), "admin"))
            .collect::<Vec<_>>()
    };
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"name": "No Mode"}), 400, "onboarding_mode_required"),
        (
            json!({"name": "Bad Mode", "onboarding_mode": "by_fax"}),
            400,
            "validation_error",
        ),
        (json!({"onboarding_mode": "api_only"}), 400, "validation_error"),
        (
            json!({"name": "U", "onboarding_mode": "api_only", "colour": "red"}),
            400,
            "validation_error",
        ),
        (
            json!({"name": "R", "onboarding_mode": "api_only", "legal_form": "gmbh", "legal_representatives": rep(4)}),
            400,
            "validation_error",
        ),
        (
            json!({"name": "R", "onboarding_mode": "api_only", "legal_representatives": rep(1)}),
            400,
            "validation_error",
        ),
        (
            json!({"name": "R", "onboarding_mode": "api_only", "legal_form": "gmbh", "legal_representatives": [{"name": "A", "type": "owner"}]}),
            400,
            "validation_error",
        ),
        (
            json!({"name": "C", "onboarding_mode": "api_only", "notification_channels": channels(11)}),
            400,
            "validation_error",
        ),
        (
            json!({"name": "T", "onboarding_mode": "api_only", "tax_treatment": "reverse_charge"}),
            400,
            "validation_error",
        ),
        (
            json!({"name": "T", "onboarding_mode": "api_only", "tax_treatment": "third_country_non_taxable", "address": {"street": "a", "postal_code": "1", "city": "b", "country": "DE"}}),
            400,
            "validation_error",
        ),
        (
            json!({"name": "P", "onboarding_mode": "api_only", "phone": "030 123456"}),
            400,
            "validation_error",
        ),
        (
            json!({"name": "B", "onboarding_mode": "api_only", "payout_bank_account": {"account_holder": "B", "iban": "DE00123"}}),
            400,
            "validation_error",
        ),
        (
            json!({"name": "B", "onboarding_mode": "api_only", "payout_bank_account": {"account_holder": "B", "iban": "FR1420041010050500013M02606"}}),
            400,
            "validation_error",
        ),
        (
            json!({"name": "B", "onboarding_mode": "api_only", "payout_bank_account": {"account_holder": "B", "iban": "FR1420041010050500013M02606", "bic": "BNP1FRPP"}}),
            400,
            "validation_error",
        ),
        (
            json!({"name": "A", "onboarding_mode": "api_only", "address": {"street": "a", "city": "b", "country": "DE"}}),
            400,
            "validation_error",
        ),
        (
            json!({"name": "Us", "onboarding_mode": "api_only", "users": [member("m@x.example", "member")]}),
            400,
            "validation_error",
        ),
        (
            json!({"name": "Us", "onboarding_mode": "api_only", "users": users(11)}),
            400,
            "validation_error",
        ),
        (
            json!({"name": "Us", "onboarding_mode": "api_only", "users": [member("a@x.example", "admin"), member("A@x.example", "member")]}),
            400,
            "validation_error",
        ),
        (
            json!({"name": "Dup", "onboarding_mode": "api_only", "external_reference": "  dup "}),
            409,
            "company_exists",
        ),
    ];
    for (body, status, code) in cases {
        let r = api.post("/partner/v2/companies/", body.clone()).await;
        assert_eq!(r.status, status, "{body} -> {}", r.body);
        assert_eq!(r.body["code"], code, "{body} -> {}", r.body);
        if code == "company_exists" {
            assert_eq!(r.body["company_id"], taken["id"]);
        }
        if code == "validation_error" {
            assert!(!r.body["errors"].as_array().expect("errors").is_empty(), "{}", r.body);
        }
    }
    let missing = api.post("/partner/v2/companies/", json!({"name": "No Mode"})).await;
    assert_eq!(missing.body["errors"][0]["field"], "onboarding_mode");

    // Entitlements: the restricted key may not onboard api_only companies, but web_flow ones.
    let denied = api
        .post_key(
            "/partner/v2/companies/",
            PARTNER_RESTRICTED_TOKEN,
            "r1",
            minimal("Denied"),
        )
        .await;
    assert_eq!(denied.status, 403);
    assert_eq!(denied.body["code"], "onboarding_mode_not_allowed");
    let skip = api
        .post_key(
            "/partner/v2/companies/",
            PARTNER_RESTRICTED_TOKEN,
            "r2",
            json!({"name": "Skip", "onboarding_mode": "web_flow", "users": [{"email": "s@x.example", "first_name": "S", "last_name": "K", "role": "admin", "skip_email_verification": true}]}),
        )
        .await;
    assert_eq!(skip.status, 403, "{}", skip.body);
    assert_eq!(api.count(PARTNER_TOKEN).await, before, "nothing was created");
    let allowed = api
        .post_key(
            "/partner/v2/companies/",
            PARTNER_RESTRICTED_TOKEN,
            "r3",
            json!({"name": "Web", "onboarding_mode": "web_flow"}),
        )
        .await;
    assert_eq!(allowed.status, 201, "{}", allowed.body);
    assert_eq!(api.count(PARTNER_TOKEN).await, before + 1);
    // Nothing of the refusals reached the event feed either.
    let kinds: Vec<String> = api.events().await.iter().map(|e| s(&e["type"]).to_string()).collect();
    assert_eq!(kinds, ["company.created", "company.created"]);
}

#[tokio::test]
async fn the_hourly_company_allowance_throttles_and_recovers() {
    let api = Api::start().await;
    for i in 0..30 {
        api.company(minimal(&format!("Bulk {i:02}"))).await;
    }
    let before = api.count(PARTNER_TOKEN).await;
    api.advance(Duration::minutes(10));
    let r = api.post("/partner/v2/companies/", minimal("One Too Many")).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.body["code"], "throttled");
    assert_eq!(
        r.header("retry-after"),
        Some("3000"),
        "50 minutes until the first leaves"
    );
    assert_eq!(api.count(PARTNER_TOKEN).await, before);
    let usage = api.get("/partner/v2/usage/").await;
    let limits = usage.body["limits"].as_array().expect("limits");
    let mail = limits
        .iter()
        .find(|l| l["scope"] == "mail:company-create")
        .expect("company budget");
    assert_eq!(mail["limit"], 30);
    assert_eq!(mail["used"], 30);
    assert_eq!(mail["remaining"], 0);
    assert_eq!(mail["window_seconds"], 3600);
    assert_eq!(mail["resets_at"], "2026-11-01T10:00:00Z");
    let members = limits
        .iter()
        .find(|l| l["scope"] == "mail:membership-create")
        .expect("membership budget");
    assert_eq!(members["used"], 0);
    assert_eq!(members["limit"], 60);
    // The production environment has its own allowance.
    let live = api
        .post_key(
            "/partner/v2/companies/",
            PARTNER_PRODUCTION_TOKEN,
            "live",
            minimal("Live"),
        )
        .await;
    assert_eq!(live.status, 201, "{}", live.body);
    api.advance(Duration::minutes(50));
    let r = api.post("/partner/v2/companies/", minimal("Next Hour")).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test]
async fn the_hourly_membership_allowance_counts_inline_users_and_refuses_whole_commands() {
    let api = Api::start().await;
    let mut last = Value::Null;
    for i in 0..5 {
        let users: Vec<Value> = (0..10)
            .map(|j| member(&format!("u{i}-{j}@x.example"), if j == 0 { "admin" } else { "member" }))
            .collect();
        last = api
            .company(json!({"name": format!("Team {i}"), "onboarding_mode": "api_only", "users": users}))
            .await;
    }
    let cid = id(&last);
    for j in 0..10 {
        let r = api
            .post(
                &format!("/partner/v2/companies/{cid}/users/"),
                member(&format!("extra{j}@x.example"), "member"),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let companies = api.count(PARTNER_TOKEN).await;
    let r = api
        .post(
            &format!("/partner/v2/companies/{cid}/users/"),
            member("one@x.example", "member"),
        )
        .await;
    assert_eq!(r.status, 429);
    assert_eq!(r.body["code"], "throttled");
    assert_eq!(r.header("retry-after"), Some("3600"));
    // A company with an inline user is refused as a whole: no company either.
    let r = api
        .post(
            "/partner/v2/companies/",
            json!({"name": "With User", "onboarding_mode": "api_only", "users": [member("w@x.example", "admin")]}),
        )
        .await;
    assert_eq!(r.status, 429);
    assert_eq!(api.count(PARTNER_TOKEN).await, companies);
    let users = api.get(&format!("/partner/v2/companies/{cid}/users/?limit=100")).await;
    assert_eq!(users.body["count"], 20);
    // Without users it still fits the company allowance.
    api.company(minimal("Without Users")).await;
}

#[tokio::test]
async fn conditional_reads_and_writes_of_a_company() {
    let api = Api::start().await;
    let c = api.company(full_company("Etag GmbH", "e-1")).await;
    let path = format!("/partner/v2/companies/{}/", id(&c));
    let first = api.get(&path).await;
    let tag = first.etag();
    let not_modified = api
        .send(Method::GET, &path, PARTNER_TOKEN, None, &[("If-None-Match", &tag)])
        .await;
    assert_eq!(not_modified.status, 304);
    assert_eq!(not_modified.body, Value::Null);
    let star = api
        .send(Method::GET, &path, PARTNER_TOKEN, None, &[("If-None-Match", "*")])
        .await;
    assert_eq!(star.status, 304);
    let other = api
        .send(
            Method::GET,
            &path,
            PARTNER_TOKEN,
            None,
            &[("If-None-Match", "\"other\"")],
        )
        .await;
    assert_eq!(other.status, 200);

    api.advance(Duration::minutes(5));
    // A stale If-Match: 412 and nothing changes.
    let stale = api
        .patch(&path, json!({"phone": "+4940123456"}), &[("If-Match", "\"stale\"")])
        .await;
    assert_eq!(stale.status, 412);
    assert_eq!(stale.body["code"], "precondition_failed");
    assert_eq!(api.get(&path).await.etag(), tag);
    // Empty and unchanged PATCHes are no-ops.
    for body in [
        json!({}),
        json!({"phone": "+4930123456", "name": "Etag GmbH", "data_sharing_basis": "self_authorized"}),
    ] {
        let r = api.patch(&path, body, &[("If-Match", &tag)]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.etag(), tag);
        assert_eq!(r.body["updated_at"], "2026-11-01T09:00:00Z");
    }
    let changed = api
        .patch(&path, json!({"phone": "+4940123456"}), &[("If-Match", &tag)])
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["phone"], "+4940123456");
    assert_eq!(changed.body["updated_at"], "2026-11-01T09:05:00Z");
    assert_ne!(changed.etag(), tag);
    assert_eq!(api.get(&path).await.etag(), changed.etag());
    // The old tag no longer matches.
    let late = api
        .patch(&path, json!({"phone": "+4930123456"}), &[("If-Match", &tag)])
        .await;
    assert_eq!(late.status, 412);
    assert_eq!(api.get(&path).await.body["phone"], "+4940123456");
}

#[tokio::test]
async fn patching_a_company_merges_replaces_and_refuses() {
    let api = Api::start().await;
    let a = api.company(minimal("Patch GmbH")).await;
    let b = api
        .company(json!({"name": "Other GmbH", "onboarding_mode": "api_only", "external_reference": "taken"}))
        .await;
    let path = format!("/partner/v2/companies/{}/", id(&a));
    let snapshot = api.get(&path).await.body;
    let refusals: Vec<(Value, u16, &str)> = vec![
        (json!({"onboarding_mode": "api_only"}), 409, "onboarding_mode_immutable"),
        (json!({"external_reference": "taken"}), 409, "company_exists"),
        (json!({"address": {"postal_code": "20095"}}), 400, "validation_error"),
        (json!({"name": null}), 400, "validation_error"),
        (json!({"users": []}), 400, "validation_error"),
        (json!({"legal_form": "no_such_form"}), 400, "validation_error"),
        (json!({"default_claim_type": "H99"}), 400, "validation_error"),
    ];
    for (body, status, code) in refusals {
        let r = api.patch(&path, body.clone(), &[]).await;
        assert_eq!(r.status, status, "{body} -> {}", r.body);
        assert_eq!(r.body["code"], code, "{body} -> {}", r.body);
        if code == "company_exists" {
            assert_eq!(r.body["company_id"], b["id"]);
        }
    }
    assert_eq!(api.get(&path).await.body, snapshot, "refusals changed nothing");

    // A company without an address gets all four keys; then keys merge.
    let r = api
        .patch(
            &path,
            json!({"address": {"street": "Hafenstr. 2", "postal_code": "20095", "city": "Hamburg", "country": "DE"}}),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = api
        .patch(&path, json!({"address": {"postal_code": "20097"}}), &[])
        .await;
    assert_eq!(
        r.body["address"],
        json!({"street": "Hafenstr. 2", "postal_code": "20097", "city": "Hamburg", "country": "DE"})
    );
    // Representatives need a legal form, which then cannot be cleared while they remain.
    let r = api
        .patch(
            &path,
            json!({"legal_representatives": [{"name": "K", "type": "general_partner"}]}),
            &[],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["errors"][0]["field"], "legal_representatives");
    let r = api
        .patch(
            &path,
            json!({"legal_form": "kg", "legal_representatives": [{"name": "K", "type": "general_partner"}]}),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = api.patch(&path, json!({"legal_form": null}), &[]).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["errors"][0]["field"], "legal_form");
    let r = api
        .patch(&path, json!({"legal_form": null, "legal_representatives": []}), &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["legal_form"], Value::Null);
    // Channels are replaced; [] removes them.
    let r = api
        .patch(
            &path,
            json!({"notification_channels": [{"type": "email", "value": "a@x.example", "notifications": ["statements"]}]}),
            &[],
        )
        .await;
    assert_eq!(
        r.body["notification_channels"],
        json!([{"type": "email", "value": "a@x.example", "notifications": ["statements"]}])
    );
    let r = api.patch(&path, json!({"notification_channels": []}), &[]).await;
    assert_eq!(r.body["notification_channels"], json!([]));
    // The data sharing basis, once declared, only takes the same value.
    let r = api
        .patch(&path, json!({"data_sharing_basis": "not_secret_carrier"}), &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = api
        .patch(&path, json!({"data_sharing_basis": "self_authorized"}), &[])
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["code"], "data_sharing_basis_already_declared");
    let r = api
        .patch(&path, json!({"data_sharing_basis": "not_secret_carrier"}), &[])
        .await;
    assert_eq!(r.status, 200);
    // external_reference: set, then cleared with null (and the other company can take it).
    let r = api.patch(&path, json!({"external_reference": " mine "}), &[]).await;
    assert_eq!(r.body["external_reference"], "mine");
    let r = api
        .patch(&path, json!({"external_reference": null, "phone": null}), &[])
        .await;
    assert_eq!(r.body["external_reference"], Value::Null);
    let r = api
        .patch(
            &format!("/partner/v2/companies/{}/", id(&b)),
            json!({"external_reference": "mine"}),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Unknown companies: 404.
    let r = api
        .patch(
            "/partner/v2/companies/00000000-0000-4000-8000-000000000000/",
            json!({}),
            &[],
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["code"], "not_found");
}

#[tokio::test]
async fn readiness_and_the_field_locks() {
    let api = Api::start().await;
    let c = api
        .company(json!({"name": "Lock GmbH", "onboarding_mode": "api_only", "legal_form": "gmbh"}))
        .await;
    let cid = id(&c);
    let path = format!("/partner/v2/companies/{cid}/");
    assert_eq!(c["case_submission_readiness"]["ready"], false);
    let fields: Vec<&str> = c["case_submission_readiness"]["issues"]
        .as_array()
        .expect("issues")
        .iter()
        .map(|i| s(&i["field"]))
        .collect();
    assert_eq!(
        fields,
        [
            "address",
            "legal_representatives",
            "tax_treatment",
            "payout_bank_account",
            "notification_channels",
            "notification_channels"
        ]
    );
    // Completing the data makes it ready (and emits the readiness change).
    let mut rest = full_company("Lock GmbH", "lock");
    let obj = rest.as_object_mut().expect("object");
    for k in ["onboarding_mode", "users", "data_sharing_basis"] {
        obj.remove(k);
    }
    let r = api.patch(&path, rest.clone(), &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["case_submission_readiness"],
        json!({"ready": true, "issues": []})
    );
    let events = api.events().await;
    let last = events.last().expect("an event");
    assert_eq!(last["type"], "company.case_submission_readiness.changed");
    assert_eq!(last["data"]["case_submission_ready"], true);

    // The data submission is complete: the representatives are frozen (resending them is fine).
    let reps = rest["legal_representatives"].clone();
    let r = api.patch(&path, json!({"legal_representatives": reps}), &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = api
        .patch(
            &path,
            json!({"legal_representatives": [{"name": "New Boss", "type": "managing_director"}]}),
            &[],
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["code"], "legal_representatives_locked");
    // Before a first case the identity and the payout account may still change.
    let r = api.patch(&path, json!({"name": "Lock & Key GmbH"}), &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // A first case goes in (a released v1 claim of the company).
    let state = api.m.state();
    state.store.write(|db| {
        let number = db
            .partner_company(FIXTURE_ACCOUNT, &cid.parse().expect("uuid"))
            .expect("company")
            .number;
        let mut claim = db.claims.iter_all().next().cloned().expect("a seeded claim");
        claim.scope = Scope {
            company: number,
            mode: AccessMode::Test,
        };
        claim.id = "6f1c5a52-0000-4000-8000-000000000001".parse().expect("uuid");
        claim.seq = u64::MAX / 2;
        claim.submission_state = mock_paywise::resources::claims::SubmissionState::Released;
        db.claims.insert(claim).expect("inserted");
    });
    let snapshot = api.get(&path).await.body;
    let refusals: Vec<(Value, &str)> = vec![
        (json!({"name": "Renamed"}), "identity_locked"),
        (json!({"vat_number": "DE999999999"}), "identity_locked"),
        (json!({"tax_treatment": "not_input_tax_deductible"}), "identity_locked"),
        (
            json!({"payout_bank_account": {"account_holder": "X", "iban": "DE02120300000000202051"}}),
            "payout_bank_account_locked",
        ),
        (json!({"payout_bank_account": null}), "payout_bank_account_locked"),
        (
            json!({"notification_channels": [{"type": "email", "value": "a@x.example", "notifications": ["status_updates"]}]}),
            "notification_recipients_required",
        ),
    ];
    for (body, code) in refusals {
        let r = api.patch(&path, body.clone(), &[]).await;
        assert_eq!(r.status, 409, "{body} -> {}", r.body);
        assert_eq!(r.body["code"], code, "{body} -> {}", r.body);
    }
    assert_eq!(api.get(&path).await.body, snapshot, "refusals changed nothing");
    // Unchanged values pass; other fields still change.
    let r = api
        .patch(
            &path,
            json!({"name": "Lock & Key GmbH", "payout_bank_account": rest["payout_bank_account"], "phone": "+4989123456"}),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["phone"], "+4989123456");
}

#[tokio::test]
async fn releasing_a_company_ends_the_partners_access() {
    let api = Api::start().await;
    let c = api.company(full_company("Release GmbH", "rel-1")).await;
    let cid = id(&c);
    let path = format!("/partner/v2/companies/{cid}/");
    let release = format!("{path}release/");
    let bad = api.post(&release, json!({"reason": "two\nlines"})).await;
    assert_eq!(bad.status, 400);
    assert_eq!(api.get(&path).await.status, 200, "a refused release changes nothing");
    let r = api
        .post_key(&release, PARTNER_TOKEN, "rel", json!({"reason": "Contract ended"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!({"id": cid, "case_access": "unavailable"}));
    // Gone for this Partner.
    assert_eq!(api.get(&path).await.status, 404);
    assert_eq!(api.get(&format!("{path}users/")).await.status, 404);
    assert_eq!(api.patch(&path, json!({"phone": null}), &[]).await.status, 404);
    assert_eq!(
        api.get("/partner/v2/companies/?external_reference=rel-1").await.body["count"],
        0
    );
    let info = api
        .send(
            Method::GET,
            "/v2/info/",
            PARTNER_TOKEN,
            None,
            &[("X-On-Behalf-Of-Company", &cid)],
        )
        .await;
    assert_eq!(info.status, 404);
    // The same key replays the receipt; a new key gets 404.
    let again = api
        .post_key(&release, PARTNER_TOKEN, "rel", json!({"reason": "Contract ended"}))
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, r.body);
    let fresh = api.post(&release, json!({})).await;
    assert_eq!(fresh.status, 404);
    // The reference is free for a new company.
    let next = api.company(full_company("Release Two GmbH", "rel-1")).await;
    assert_ne!(next["id"], c["id"]);
    let revoked: Vec<Value> = api
        .events()
        .await
        .into_iter()
        .filter(|e| e["type"] == "company.access.revoked")
        .collect();
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0]["data"]["company_id"], cid.as_str());
    assert_eq!(revoked[0]["data"]["reason"], "partner_released");
    assert!(revoked[0]["data"]["authorization_version"].is_u64());
    assert!(
        !revoked[0].to_string().contains("Contract ended"),
        "the reason stays private"
    );
}

#[tokio::test]
async fn a_web_flow_company_gets_case_access_once_confirmed() {
    let api = Api::start().await;
    let c = api
        .company(
            json!({"name": "Web GmbH", "onboarding_mode": "web_flow", "users": [member("boss@web.example", "admin")]}),
        )
        .await;
    let cid = id(&c);
    assert_eq!(c["onboarding_status"], "confirmation_pending");
    assert_eq!(c["case_access"], "unavailable");
    let on_behalf = || async {
        api.send(
            Method::GET,
            "/v2/info/",
            PARTNER_TOKEN,
            None,
            &[("X-On-Behalf-Of-Company", &cid)],
        )
        .await
        .status
    };
    assert_eq!(on_behalf().await, 404);
    let (st, v) = api.control(&format!("/_mock/paywise/v2/companies/{cid}/confirm")).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["onboarding_status"], "confirmed");
    assert_eq!(v["case_access"], "available");
    assert_eq!(on_behalf().await, 200);
    let (st, v) = api.control(&format!("/_mock/paywise/v2/companies/{cid}/confirm")).await;
    assert_eq!(st, 409, "{v}");
    let api_only = api.company(minimal("Api GmbH")).await;
    let (st, _) = api
        .control(&format!("/_mock/paywise/v2/companies/{}/confirm", id(&api_only)))
        .await;
    assert_eq!(st, 409);
    let (st, _) = api
        .control("/_mock/paywise/v2/companies/00000000-0000-4000-8000-000000000000/confirm")
        .await;
    assert_eq!(st, 404);
    let confirmed: Vec<Value> = api
        .events()
        .await
        .into_iter()
        .filter(|e| e["type"] == "company.access.confirmed")
        .collect();
    assert_eq!(confirmed.len(), 1);
    assert_eq!(
        confirmed[0]["data"]["company_url"],
        format!("/partner/v2/companies/{cid}/")
    );
}

// ---------------------------------------------------------------------------------------------
// Memberships
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_membership_from_invitation_to_revocation() {
    let api = Api::start().await;
    let c = api.company(minimal("Members GmbH")).await;
    let users = format!("/partner/v2/companies/{}/users/", id(&c));
    // The first membership must be an admin.
    let r = api.post(&users, member("first@x.example", "member")).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["code"], "admin_required");
    let r = api
        .post(&users, json!({"email": "bad", "first_name": "", "role": "boss"}))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["errors"].as_array().expect("errors").len(), 4, "{}", r.body);
    assert_eq!(api.get(&users).await.body["count"], 0, "refusals add nothing");

    let added = api
        .post_key(&users, PARTNER_TOKEN, "add-admin", member("admin@x.example", "admin"))
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
    let admin = added.body.clone();
    assert_eq!(admin["status"], "pending_setup");
    assert!(s(&admin["setup_url"]).starts_with(&api.base));
    let replay = api
        .post_key(&users, PARTNER_TOKEN, "add-admin", member("admin@x.example", "admin"))
        .await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.body["id"], admin["id"]);
    assert!(replay.body.get("setup_url").is_none());
    let dup = api.post(&users, member("ADMIN@x.example", "member")).await;
    assert_eq!(dup.status, 409);
    assert_eq!(dup.body["code"], "membership_exists");
    assert_eq!(api.get(&users).await.body["count"], 1);

    let one = format!("{users}{}/", id(&admin));
    let got = api.get(&one).await;
    assert_eq!(got.status, 200);
    assert!(got.body.get("setup_url").is_none());
    let tag = got.etag();
    assert_eq!(
        api.send(Method::GET, &one, PARTNER_TOKEN, None, &[("If-None-Match", &tag)])
            .await
            .status,
        304
    );
    // Role changes while pending (If-Match honoured).
    let stale = api
        .patch(&one, json!({"role": "developer"}), &[("If-Match", "\"x\"")])
        .await;
    assert_eq!(stale.status, 412);
    let r = api
        .patch(&one, json!({"role": "developer", "email": "no@x.example"}), &[])
        .await;
    assert_eq!(r.status, 400, "only role");
    let r = api.patch(&one, json!({}), &[]).await;
    assert_eq!(r.status, 400, "role is required");
    let r = api
        .patch(&one, json!({"role": "developer"}), &[("If-Match", &tag)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["role"], "developer");
    let r = api.patch(&one, json!({"role": "admin"}), &[]).await;
    assert_eq!(r.body["role"], "admin");

    // Resend: a fresh setup URL, once.
    let resent = api
        .post_key(&format!("{one}resend/"), PARTNER_TOKEN, "resend-1", json!({}))
        .await;
    assert_eq!(resent.status, 200, "{}", resent.body);
    assert_ne!(resent.body["setup_url"], admin["setup_url"]);
    let again = api
        .post_key(&format!("{one}resend/"), PARTNER_TOKEN, "resend-1", json!({}))
        .await;
    assert!(again.body.get("setup_url").is_none());
    assert_eq!(again.header("idempotent-replayed"), Some("true"));

    // Revoke needs an active membership; activation is the user's step (mock control).
    let r = api.post(&format!("{one}revoke/"), json!({"reason": "left"})).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["code"], "membership_not_active");
    let (st, v) = api
        .control(&format!("/_mock/paywise/v2/memberships/{}/activate", id(&admin)))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["status"], "active");
    assert_eq!(v["invite_expires_at"], Value::Null);
    let (st, _) = api
        .control(&format!("/_mock/paywise/v2/memberships/{}/activate", id(&admin)))
        .await;
    assert_eq!(st, 409);
    // An active membership's role, cancel and resend are refused.
    let before = api.get(&one).await.body;
    assert_eq!(api.patch(&one, json!({"role": "member"}), &[]).await.status, 409);
    assert_eq!(api.post(&format!("{one}cancel/"), json!({})).await.status, 409);
    assert_eq!(api.post(&format!("{one}resend/"), json!({})).await.status, 409);
    assert_eq!(
        api.post(&format!("{one}revoke/"), json!({})).await.status,
        400,
        "reason required"
    );
    assert_eq!(api.get(&one).await.body, before, "refusals changed nothing");
    api.advance(Duration::minutes(3));
    let r = api
        .post(&format!("{one}revoke/"), json!({"reason": "Left the company"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "revoked");
    assert_eq!(r.body["revocation_reason"], "Left the company");
    assert_eq!(r.body["revoked_at"], "2026-11-01T09:03:00Z");
    assert!(r.body["revoked_by_token_id"].is_string());
    assert_eq!(
        api.post(&format!("{one}revoke/"), json!({"reason": "again"}))
            .await
            .status,
        409
    );

    // A revoked membership does not count: the next one must be an admin again.
    let r = api.post(&users, member("second@x.example", "readonly")).await;
    assert_eq!(r.body["code"], "admin_required");
    let second = api.post(&users, member("admin@x.example", "admin")).await;
    assert_eq!(second.status, 201, "the address is free again: {}", second.body);
    let two = format!("{users}{}/", id(&second.body));
    let r = api.post(&format!("{two}cancel/"), json!({})).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "cancelled");
    assert_eq!(r.body["invite_expires_at"], Value::Null);
    assert_eq!(api.patch(&two, json!({"role": "member"}), &[]).await.status, 409);
    assert_eq!(api.post(&format!("{two}resend/"), json!({})).await.status, 409);
    assert_eq!(api.post(&format!("{two}cancel/"), json!({"x": 1})).await.status, 400);
    let (st, _) = api
        .control(&format!("/_mock/paywise/v2/memberships/{}/activate", id(&second.body)))
        .await;
    assert_eq!(st, 409);

    let list = api.get(&users).await.body;
    assert_eq!(list["count"], 2);
    let statuses: Vec<&str> = list["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|m| s(&m["status"]))
        .collect();
    assert_eq!(statuses, ["revoked", "cancelled"]);
    let detail = api.get(&format!("/partner/v2/companies/{}/", id(&c))).await.body;
    assert_eq!(detail["users"].as_array().expect("users").len(), 2);

    let kinds: Vec<String> = api
        .events()
        .await
        .iter()
        .map(|e| s(&e["type"]).to_string())
        .filter(|k| k.starts_with("company.user."))
        .collect();
    assert_eq!(
        kinds,
        [
            "company.user.added",
            "company.user.activated",
            "company.user.revoked",
            "company.user.added"
        ]
    );
    // Unknown memberships and memberships of another company: 404.
    let other = api.company(full_company("Other GmbH", "o")).await;
    let foreign = format!("/partner/v2/companies/{}/users/{}/", id(&other), id(&admin));
    assert_eq!(api.get(&foreign).await.status, 404);
    assert_eq!(api.get(&format!("{users}not-a-uuid/")).await.status, 404);
}

#[tokio::test]
async fn an_expired_invitation_needs_a_resend() {
    let api = Api::start().await;
    let c = api.company(full_company("Expiry GmbH", "x")).await;
    let m = &c["users"][0];
    let mid = id(m);
    let (st, v) = api
        .control(&format!("/_mock/paywise/v2/memberships/{mid}/expire-invite"))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["status"], "pending_setup");
    assert_eq!(v["invite_expires_at"], "2026-11-01T09:00:00Z");
    let (st, _) = api
        .control(&format!("/_mock/paywise/v2/memberships/{mid}/expire-invite"))
        .await;
    assert_eq!(st, 409);
    let (st, v) = api
        .control(&format!("/_mock/paywise/v2/memberships/{mid}/activate"))
        .await;
    assert_eq!(st, 409, "{v}");
    assert_eq!(v["code"], "invite_expired");
    let path = format!("/partner/v2/companies/{}/users/{mid}/resend/", id(&c));
    let r = api.post(&path, json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["invite_expires_at"], "2026-11-15T09:00:00Z");
    let (st, _) = api
        .control(&format!("/_mock/paywise/v2/memberships/{mid}/activate"))
        .await;
    assert_eq!(st, 200);
    // An invitation whose time ran out cannot be accepted either.
    let other = &c["users"][1];
    api.advance(Duration::days(15));
    let (st, _) = api
        .control(&format!("/_mock/paywise/v2/memberships/{}/activate", id(other)))
        .await;
    assert_eq!(st, 409);
    let expired: Vec<Value> = api
        .events()
        .await
        .into_iter()
        .filter(|e| e["type"] == "company.user.invite_expired")
        .collect();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0]["data"]["membership_id"], mid.as_str());
}

// ---------------------------------------------------------------------------------------------
// Lists
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_company_list_pages_orders_searches_and_filters() {
    let api = Api::start().await;
    // Only the seeded v1 companies so far.
    let seeded = api.count(PARTNER_TOKEN).await;
    for (name, reference) in [
        ("Alpha Zorbau GmbH", "a"),
        ("beta Zorbau AG", "b"),
        ("Gamma Quixhandel KG", "g"),
        ("Delta Zorbau Quixhandel GmbH", "d"),
    ] {
        api.company(json!({"name": name, "onboarding_mode": "api_only", "external_reference": reference}))
            .await;
    }
    let names = |v: &Value| -> Vec<String> {
        v["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|c| s(&c["name"]).to_string())
            .collect()
    };
    let all = api.get("/partner/v2/companies/?limit=100").await.body;
    assert_eq!(all["count"], seeded + 4);
    let mut sorted = names(&all);
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(names(&all), sorted, "by name, case-insensitively");
    let desc = api.get("/partner/v2/companies/?limit=100&ordering=-name").await.body;
    let mut reversed = sorted.clone();
    reversed.reverse();
    assert_eq!(names(&desc), reversed);

    // Pages.
    let p1 = api.get("/partner/v2/companies/?limit=2").await.body;
    assert_eq!(names(&p1), sorted[..2]);
    assert_eq!(p1["previous"], Value::Null);
    let next = s(&p1["next"]).to_string();
    assert!(next.starts_with(&api.base));
    let p2 = api
        .client
        .get(&next)
        .bearer_auth(PARTNER_TOKEN)
        .send()
        .await
        .expect("sent");
    let p2: Value = p2.json().await.expect("json");
    assert_eq!(names(&p2), sorted[2..4]);
    assert!(p2["previous"].is_string());

    // Search: every term, case-insensitively; quotes keep a phrase.
    let r = api.get("/partner/v2/companies/?search=zorbau").await.body;
    assert_eq!(
        names(&r),
        ["Alpha Zorbau GmbH", "beta Zorbau AG", "Delta Zorbau Quixhandel GmbH"]
    );
    let r = api.get("/partner/v2/companies/?search=ZORBAU%20quixhandel").await.body;
    assert_eq!(names(&r), ["Delta Zorbau Quixhandel GmbH"]);
    let r = api
        .get("/partner/v2/companies/?search=%22quixhandel%20kg%22")
        .await
        .body;
    assert_eq!(names(&r), ["Gamma Quixhandel KG"]);
    let r = api.get("/partner/v2/companies/?search=%22zorbau%20gmbh%22").await.body;
    assert_eq!(names(&r), ["Alpha Zorbau GmbH"]);
    // Exact filters.
    let r = api.get("/partner/v2/companies/?external_reference=g").await.body;
    assert_eq!(names(&r), ["Gamma Quixhandel KG"]);
    let number = s(&r["results"][0]["customer_number"]).to_string();
    let r = api
        .get(&format!("/partner/v2/companies/?customer_number={number}"))
        .await
        .body;
    assert_eq!(names(&r), ["Gamma Quixhandel KG"]);
    assert_eq!(
        api.get("/partner/v2/companies/?external_reference=G").await.body["count"],
        0
    );
    // Bad parameters.
    for q in ["ordering=created", "limit=101", "limit=0", "offset=-1", "cursor=abc"] {
        let r = api.get(&format!("/partner/v2/companies/?{q}")).await;
        assert_eq!(r.status, 400, "{q}: {}", r.body);
        assert_eq!(r.body["code"], "validation_error");
    }

    // Incremental sync: rows changed at or after updated_since, settled, by cursor.
    api.advance(Duration::minutes(10));
    let gamma = api.get("/partner/v2/companies/?external_reference=g").await.body["results"][0].clone();
    let r = api
        .patch(
            &format!("/partner/v2/companies/{}/", id(&gamma)),
            json!({"phone": "+4930999999"}),
            &[],
        )
        .await;
    assert_eq!(r.status, 200);
    let since = "2026-11-01T09:05:00Z";
    let r = api
        .get(&format!("/partner/v2/companies/?updated_since={since}"))
        .await
        .body;
    assert_eq!(r["count"], 0, "held back until settled");
    api.advance(Duration::seconds(61));
    let r = api
        .get(&format!("/partner/v2/companies/?updated_since={since}"))
        .await
        .body;
    assert_eq!(names(&r), ["Gamma Quixhandel KG"]);
    assert_eq!(r["previous"], Value::Null);
    let r = api
        .get("/partner/v2/companies/?updated_since=2026-11-01T08:00:00Z&limit=3")
        .await
        .body;
    assert_eq!(r["count"], 4, "the v2 companies (v1 ones have no v2 change time)");
    let next = s(&r["next"]).to_string();
    assert!(next.contains("cursor="));
    let rest: Value = api
        .client
        .get(&next)
        .bearer_auth(PARTNER_TOKEN)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(names(&rest), ["Gamma Quixhandel KG"], "the changed row comes last");
}

#[tokio::test]
async fn the_membership_list_pages() {
    let api = Api::start().await;
    let users: Vec<Value> = (0..5).map(|i| member(&format!("p{i}@x.example"), "admin")).collect();
    let c = api
        .company(json!({"name": "Pages", "onboarding_mode": "api_only", "users": users}))
        .await;
    let path = format!("/partner/v2/companies/{}/users/", id(&c));
    let p = api.get(&format!("{path}?limit=2&offset=2")).await.body;
    assert_eq!(p["count"], 5);
    let emails: Vec<&str> = p["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|m| s(&m["email"]))
        .collect();
    assert_eq!(emails, ["p2@x.example", "p3@x.example"]);
    assert!(p["next"].is_string());
    assert!(p["previous"].is_string());
    assert_eq!(api.get(&format!("{path}?limit=500")).await.status, 400);
    assert_eq!(
        api.get("/partner/v2/companies/00000000-0000-4000-8000-000000000000/users/")
            .await
            .status,
        404
    );
}

// ---------------------------------------------------------------------------------------------
// v1 and v2, environments
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn v1_and_v2_see_the_same_companies() {
    let api = Api::start().await;
    let v1_before = api.get("/partner/v1/companies/").await.body;
    let seeded = v1_before["count"].as_u64().expect("count");
    assert_eq!(api.count(PARTNER_TOKEN).await, seeded, "v2 lists v1's companies");
    assert_eq!(
        api.count(PARTNER_PRODUCTION_TOKEN).await,
        seeded,
        "in both environments"
    );

    // A v2 company in v1's shape.
    let mut body = full_company("Both Ways GmbH", "both");
    body["tax_treatment"] = json!("reverse_charge");
    body["notification_channels"] = json!([{"type": "email", "value": "rc@x.example", "notifications": ["requests_to_client", "statements", "advance_requests"]}]);
    let c = api.company(body).await;
    let cid = id(&c);
    let v1 = api.get(&format!("/partner/v1/companies/{cid}/")).await;
    assert_eq!(v1.status, 200, "{}", v1.body);
    let v1 = v1.body;
    assert_eq!(v1["name"], "Both Ways GmbH");
    assert_eq!(
        v1["address"],
        json!({"street": "Hauptstr. 1", "zip": "10115", "city": "Berlin", "country": "DE"})
    );
    assert_eq!(v1["tax_deduction_eligibility"], "K");
    assert_eq!(v1["legal_form"], "gmbh");
    assert_eq!(
        v1["legal_representatives"],
        json!([{"type": "geschaeftsführer", "name": "Erika Muster"}])
    );
    assert_eq!(
        v1["notification_channels"],
        json!([{"channel_type": "EMAIL", "value": "rc@x.example", "notification_types": ["REQUESTS_TO_CLIENT", "STATEMENTS"]}])
    );
    assert_eq!(v1["data_submission_completed"], true);
    assert!(v1.get("v2").is_none(), "v2's fields stay out of v1's answers");
    assert_eq!(api.get("/partner/v1/companies/").await.body["count"], seeded + 1);
    // v2 keeps what v1 cannot say.
    let v2 = api.get(&format!("/partner/v2/companies/{cid}/")).await.body;
    assert_eq!(
        v2["notification_channels"][0]["notifications"],
        json!(["requests_to_client", "statements", "advance_requests"])
    );
    assert_eq!(v2["tax_treatment"], "reverse_charge");

    // A v1 company in v2's shape, in both environments.
    let created = api
        .send(
            Method::POST,
            "/partner/v1/companies/",
            PARTNER_TOKEN,
            Some(&json!({
                "name": "Old School GmbH",
                "phone": "+4930111111",
                "address": {"street": "Altstr. 3", "zip": "01067", "city": "Dresden", "country": "DE"},
                "legal_form": "GmbH",
                "tax_deduction_eligibility": "N",
                "legal_representatives": [{"type": "geschaeftsführer", "name": "Otto Alt"}],
                "notification_channels": [{"channel_type": "EMAIL", "value": "old@x.example", "notification_types": ["STATEMENTS"]}]
            })),
            &[],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let oid = id(&created.body);
    for token in [PARTNER_TOKEN, PARTNER_PRODUCTION_TOKEN] {
        let r = api.get_as(&format!("/partner/v2/companies/{oid}/"), token).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let o = r.body;
        assert_eq!(o["name"], "Old School GmbH");
        assert_eq!(o["address"]["postal_code"], "01067");
        assert_eq!(o["legal_form"], "gmbh");
        assert_eq!(
            o["legal_representatives"],
            json!([{"name": "Otto Alt", "type": "managing_director"}])
        );
        assert_eq!(o["tax_treatment"], "not_input_tax_deductible");
        assert_eq!(
            o["notification_channels"],
            json!([{"type": "email", "value": "old@x.example", "notifications": ["statements"]}])
        );
        assert_eq!(o["onboarding_mode"], "api_only");
        assert_eq!(o["onboarding_status"], "confirmation_not_required");
        assert_eq!(o["case_access"], "available");
        assert_eq!(o["users"], json!([]));
        let origin = if token == PARTNER_TOKEN {
            "sandbox_native"
        } else {
            "unclassified"
        };
        assert_eq!(o["sandbox_origin"], origin);
    }
    // v1's company number scheme: the next number after the v2 company's.
    let numbers = api.m.state().store.read(|db| {
        let n = |id: &str| {
            db.partner_company(FIXTURE_ACCOUNT, &id.parse().expect("uuid"))
                .expect("company")
                .number
        };
        (n(&cid), n(&oid))
    });
    assert_eq!(numbers.1, numbers.0 + 1);
    // A v2 change shows in v1, and v1's change in v2.
    let r = api
        .patch(
            &format!("/partner/v2/companies/{oid}/"),
            json!({"address": {"postal_code": "01069"}, "vat_number": "DE111111111"}),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v1 = api.get(&format!("/partner/v1/companies/{oid}/")).await.body;
    assert_eq!(v1["address"]["zip"], "01069");
    assert_eq!(v1["vat_number"], "DE111111111");
    assert_eq!(v1["legal_form"], "GmbH", "an unchanged form keeps v1's spelling");
}

#[tokio::test]
async fn a_company_lives_in_the_environment_it_was_onboarded_in() {
    let api = Api::start().await;
    let sandbox = api.company(minimal("Sandbox GmbH")).await;
    let live = api
        .post_key(
            "/partner/v2/companies/",
            PARTNER_PRODUCTION_TOKEN,
            "live",
            minimal("Live GmbH"),
        )
        .await;
    assert_eq!(live.status, 201, "{}", live.body);
    assert_eq!(live.body["sandbox_origin"], "unclassified");
    assert_eq!(sandbox["sandbox_origin"], "sandbox_native");
    let seen = |token: &'static str, id: String| {
        let api = &api;
        async move { api.get_as(&format!("/partner/v2/companies/{id}/"), token).await.status }
    };
    assert_eq!(seen(PARTNER_TOKEN, id(&sandbox)).await, 200);
    assert_eq!(seen(PARTNER_PRODUCTION_TOKEN, id(&sandbox)).await, 404);
    assert_eq!(seen(PARTNER_PRODUCTION_TOKEN, id(&live.body)).await, 200);
    assert_eq!(seen(PARTNER_TOKEN, id(&live.body)).await, 404);
    let live_names: Vec<String> = api
        .get_as("/partner/v2/companies/?limit=100", PARTNER_PRODUCTION_TOKEN)
        .await
        .body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|c| s(&c["name"]).to_string())
        .collect();
    assert!(live_names.contains(&"Live GmbH".to_string()));
    assert!(!live_names.contains(&"Sandbox GmbH".to_string()));
    // The same external_reference may exist once per environment.
    let r = api
        .patch(
            &format!("/partner/v2/companies/{}/", id(&sandbox)),
            json!({"external_reference": "same"}),
            &[],
        )
        .await;
    assert_eq!(r.status, 200);
    let r = api
        .post_key(
            "/partner/v2/companies/",
            PARTNER_PRODUCTION_TOKEN,
            "live-2",
            json!({"name": "Live Two", "onboarding_mode": "api_only", "external_reference": "same"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // Not a Partner key: 403.
    let r = api.get_as("/partner/v2/companies/", api.m.token()).await;
    assert_eq!(r.status, 403);
}
