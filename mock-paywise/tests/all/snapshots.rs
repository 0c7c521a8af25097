//! Snapshots of the paywise mock's shapes: one page (`limit=2`) of every DRF list of the Case
//! Management API (sub-resource lists included) and of the Partner API, token info, and every
//! distinct error (DRF field errors, `{"detail": ...}` errors, 400/401/403/404/405/413/415 and the
//! Partner API's), so that a change of a shape shows up in review as a changed `.snap` file.
//!
//! Each test starts its own mock with seed 7 on a clock frozen at the shared test epoch, with the
//! fixtures anchored at the shared anchor date: ids (drawn from the seed) and timestamps are the
//! same on every run and every day and need no redaction. What varies is the mock's port in the
//! absolute links (`next`, `previous`, `href`, ...), which a redaction normalizes (see [`snap`]).
//!
//! A snapshot is one exchange: `{request, status, headers, body}`. Review a change with
//! `just snap`; see the README's "Snapshots" section.

use std::time::{Duration, Instant};

use mock_core::testing;
use mock_paywise::resources::partner::{PARTNER_RESTRICTED_TOKEN, PARTNER_TOKEN};
use mock_paywise::state::{AccessMode, Scope};
use mock_paywise::{DEFAULT_PRODUCTION_TOKEN, DEFAULT_TOKEN, MockPaywise, seed};
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

const SEED: u64 = 7;
/// The fixture company in test mode, where [`DEFAULT_TOKEN`] acts.
const TEST: Scope = Scope {
    company: seed::COMPANY,
    mode: AccessMode::Test,
};

async fn mock() -> MockPaywise {
    MockPaywise::test()
        .seed(SEED)
        .clock(mock_core::Clock::frozen(testing::epoch()))
        .start()
        .await
}

/// Asserts `exchange` against the snapshot `name`; the mock's port in URLs, the one value that
/// varies between runs, is normalized to `[port]` (see `mock_core::testing::normalize_port`).
fn snap(name: &str, exchange: &Value) {
    mock_core::assert_exchange_snapshot!(name, exchange);
}

struct Api {
    base: String,
    client: reqwest::Client,
}

/// Who sends a request: a token (empty: none) and, for a partner key, the `X-User-Id`.
#[derive(Clone, Copy)]
struct As<'a> {
    token: &'a str,
    user: Option<&'a str>,
}

const CLIENT: As<'static> = As {
    token: DEFAULT_TOKEN,
    user: None,
};
const PARTNER: As<'static> = As {
    token: PARTNER_TOKEN,
    user: None,
};
const NOBODY: As<'static> = As { token: "", user: None };

impl Api {
    fn new(m: &MockPaywise) -> Self {
        Self {
            base: m.uri(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a client"),
        }
    }

    fn request(&self, method: Method, path: &str, who: As<'_>) -> RequestBuilder {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if !who.token.is_empty() {
            req = req.bearer_auth(who.token);
        }
        if let Some(user) = who.user {
            req = req.header("X-User-Id", user);
        }
        req
    }

    /// Sends `req` and returns the exchange as snapshotted. A 5xx is a bug of the mock, never a
    /// shape to accept: it fails the test here.
    async fn exchange(&self, label: String, req: RequestBuilder) -> Value {
        let res = req.send().await.expect("sent");
        let (status, headers) = (res.status().as_u16(), res.headers().clone());
        let bytes = res.bytes().await.expect("a body");
        testing::exchange(&label, status, &headers, &bytes)
    }

    async fn call(&self, method: Method, path: &str, who: As<'_>) -> Value {
        let label = match who.user {
            Some(user) => format!("{method} {path} (X-User-Id: {user})"),
            None => format!("{method} {path}"),
        };
        self.exchange(label, self.request(method, path, who)).await
    }

    async fn get(&self, path: &str, who: As<'_>) -> Value {
        self.call(Method::GET, path, who).await
    }

    /// `method path` with a JSON body.
    async fn json(&self, method: Method, path: &str, who: As<'_>, body: Value) -> Value {
        let label = format!("{method} {path} {body}");
        self.exchange(label, self.request(method, path, who).json(&body)).await
    }

    /// `method path` with a raw body of `content_type`; `shown` stands for the body in the label.
    async fn raw(&self, method: Method, path: &str, content_type: &str, body: Vec<u8>, shown: &str) -> Value {
        let label = format!("{method} {path} ({content_type}: {shown})");
        let req = self
            .request(method, path, CLIENT)
            .header("Content-Type", content_type)
            .body(body);
        self.exchange(label, req).await
    }
}

/// Snapshots a `200` page (or token info) of `path`.
async fn page(api: &Api, name: &str, path: &str, who: As<'_>) -> Value {
    let page = api.get(path, who).await;
    assert_eq!(page["status"], 200, "{page}");
    snap(name, &page);
    page
}

#[tokio::test]
async fn one_page_of_every_case_management_list() {
    let m = mock().await;
    let api = Api::new(&m);
    for (name, path) in [
        ("list_claims", "/v1/claims/?limit=2"),
        ("list_debtors", "/v1/debtors/?limit=2"),
        ("list_mandates", "/v1/mandates/?limit=2"),
        ("list_payments", "/v1/payments/?limit=2"),
        ("list_statements", "/v1/statements/?limit=2"),
        ("list_webhooks_empty", "/v1/webhooks/?limit=2"),
        ("info", "/v1/info/"),
    ] {
        page(&api, name, path, CLIENT).await;
    }
    // A middle page: both links.
    page(&api, "list_claims_offset_2", "/v1/claims/?limit=2&offset=2", CLIENT).await;
    // Production mode sees its own few claims.
    let live = As {
        token: DEFAULT_PRODUCTION_TOKEN,
        user: None,
    };
    page(&api, "list_claims_production", "/v1/claims/?limit=2", live).await;

    // Sub-resource lists, of the first fixture record that has some.
    let (with_updates, with_requests, statement) = m.state().store.read(|db| {
        (
            db.status_updates.iter(&TEST).next().map(|s| s.mandate),
            db.requests_to_client.iter(&TEST).find_map(|r| r.mandate),
            db.mandate_details.iter(&TEST).next().map(|d| d.statement),
        )
    });
    let mandate = with_updates.expect("a mandate with status updates in the fixtures");
    page(
        &api,
        "list_mandate_statusupdates",
        &format!("/v1/mandates/{mandate}/statusupdates/?limit=2"),
        CLIENT,
    )
    .await;
    let mandate = with_requests.expect("a mandate with requests to client in the fixtures");
    page(
        &api,
        "list_mandate_requests_to_client",
        &format!("/v1/mandates/{mandate}/requests-to-client/?limit=2"),
        CLIENT,
    )
    .await;
    let statement = statement.expect("a statement with mandate details in the fixtures");
    page(
        &api,
        "list_statement_mandate_details",
        &format!("/v1/statements/{statement}/mandate-details/?limit=2"),
        CLIENT,
    )
    .await;
}

/// The webhook lists need an endpoint and a delivery, which only the API creates: one endpoint
/// and one test event. Before the event the endpoint is pointed at a loopback port nobody listens
/// on, so that the delivery fails at once and in the same way everywhere (no receiver, no DNS, no
/// network).
#[tokio::test]
async fn webhook_endpoints_and_deliveries() {
    let m = mock().await;
    let api = Api::new(&m);
    let created = api
        .json(
            Method::POST,
            "/v1/webhooks/",
            CLIENT,
            json!({"url": "https://hooks.example.com/paywise", "events": ["claim.created", "claim.updated"]}),
        )
        .await;
    assert_eq!(created["status"], 201, "{created}");
    // The secret comes from the operating system's random source (never from the seed): 64 hex
    // characters, different on every run, so the snapshot shows its place only.
    let mut created = created;
    let secret = created["body"]["secret_key"].as_str().unwrap_or_default().to_string();
    assert!(
        secret.len() == 64 && secret.bytes().all(|b| b.is_ascii_hexdigit()),
        "{secret}"
    );
    created["body"]["secret_key"] = json!("[secret]");
    snap("create_webhook", &created);
    let id = created["body"]["id"].as_str().expect("an id").to_string();
    page(&api, "list_webhooks", "/v1/webhooks/?limit=2", CLIENT).await;
    let moved = api
        .json(
            Method::PATCH,
            &format!("/v1/webhooks/{id}/"),
            CLIENT,
            json!({"url": "https://127.0.0.1:1/paywise"}),
        )
        .await;
    assert_eq!(moved["status"], 200, "{moved}");
    let sent = api
        .json(Method::POST, &format!("/v1/webhooks/{id}/test/"), CLIENT, json!({}))
        .await;
    assert_eq!(sent["status"], 201, "{sent}");
    // The attempt runs in the background: wait (bounded) until it is recorded, so that the page
    // shows the settled delivery rather than a race.
    let deliveries = format!("/v1/webhooks/{id}/deliveries/?limit=2");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = api.get(&deliveries, CLIENT).await;
        if page["body"]["results"][0]["status"] != "pending" {
            break;
        }
        assert!(Instant::now() < deadline, "the test delivery never settled: {page}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    page(&api, "list_webhook_deliveries", &deliveries, CLIENT).await;
}

#[tokio::test]
async fn one_page_of_every_partner_list_and_acting_for_a_user() {
    let m = mock().await;
    let api = Api::new(&m);
    page(&api, "partner_info", "/partner/v1/info/", PARTNER).await;
    page(
        &api,
        "partner_list_companies",
        "/partner/v1/companies/?limit=2",
        PARTNER,
    )
    .await;
    let users = page(&api, "partner_list_users", "/partner/v1/users/?limit=2", PARTNER).await;
    // The fixture partner's first user: of the complete company, e-mail verified.
    let user = &users["body"]["results"][0];
    assert_eq!(user["email_verified"], true, "{user}");
    let user = user["id"].as_str().expect("an id").to_string();
    let acting = As {
        token: PARTNER_TOKEN,
        user: Some(&user),
    };
    page(&api, "partner_acting_info", "/v1/info/", acting).await;
    page(&api, "partner_acting_list_claims", "/v1/claims/?limit=2", acting).await;
}

#[tokio::test]
async fn authentication_routing_and_body_errors() {
    let m = mock().await;
    let api = Api::new(&m);
    snap("error_401_missing_token", &api.get("/v1/claims/", NOBODY).await);
    snap(
        "error_401_unknown_token",
        &api.get(
            "/v1/claims/",
            As {
                token: "not_a_token",
                user: None,
            },
        )
        .await,
    );
    snap(
        "error_401_malformed_authorization",
        &api.exchange(
            "GET /v1/claims/ (Authorization: Token paywise_test_token)".into(),
            api.request(Method::GET, "/v1/claims/", NOBODY)
                .header("Authorization", "Token paywise_test_token"),
        )
        .await,
    );
    snap(
        "error_404_unknown_id",
        &api.get("/v1/claims/00000000-0000-4000-8000-000000000000/", CLIENT)
            .await,
    );
    snap("error_404_malformed_id", &api.get("/v1/claims/42/", CLIENT).await);
    snap(
        "error_404_unknown_route",
        &api.get("/v1/no-such-resource/", CLIENT).await,
    );
    snap(
        "error_405_put_claims",
        &api.json(Method::PUT, "/v1/claims/", CLIENT, json!({})).await,
    );
    snap(
        "error_405_delete_debtor",
        &api.call(
            Method::DELETE,
            "/v1/debtors/00000000-0000-4000-8000-000000000000/",
            CLIENT,
        )
        .await,
    );
    snap(
        "redirect_301_append_slash",
        &api.get("/v1/claims?limit=2", CLIENT).await,
    );
    snap(
        "error_400_malformed_json",
        &api.raw(
            Method::POST,
            "/v1/debtors/",
            "application/json",
            br#"{"acting_as": "#.to_vec(),
            r#"{"acting_as": "#,
        )
        .await,
    );
    snap(
        "error_415_unsupported_media_type",
        &api.raw(
            Method::POST,
            "/v1/debtors/",
            "text/plain",
            b"acting_as=business".to_vec(),
            "acting_as=business",
        )
        .await,
    );
    let limit = mock_core::server::DEFAULT_BODY_LIMIT;
    let mut big = br#"{"acting_as": "business", "padding": ""#.to_vec();
    big.resize(limit + 16, b'x');
    big.extend_from_slice(br#""}"#);
    let shown = format!("{} bytes", big.len());
    snap(
        "error_413_body_too_large",
        &api.raw(Method::POST, "/v1/debtors/", "application/json", big, &shown)
            .await,
    );
    snap(
        "error_400_invalid_filter",
        &api.get("/v1/claims/?submission_state=nonsense", CLIENT).await,
    );
}

#[tokio::test]
async fn validation_errors() {
    let m = mock().await;
    let api = Api::new(&m);
    snap(
        "error_400_debtor_required_fields",
        &api.json(Method::POST, "/v1/debtors/", CLIENT, json!({})).await,
    );
    snap(
        "error_400_debtor_nested_fields",
        &api.json(
            Method::POST,
            "/v1/debtors/",
            CLIENT,
            json!({"acting_as": "robot", "organization": {"name": ""},
                   "addresses": [{"street": "Hauptstr. 1", "zip": "10115", "city": "Berlin", "country": "DE"}, {"country": "ZZ"}],
                   "communication_channels": [{"type": "email", "value": "nope"}]}),
        )
        .await,
    );
    snap(
        "error_400_body_not_an_object",
        &api.json(Method::POST, "/v1/debtors/", CLIENT, json!([1])).await,
    );
    snap(
        "error_400_claim_required_fields",
        &api.json(Method::POST, "/v1/claims/", CLIENT, json!({})).await,
    );
    snap(
        "error_400_claim_invalid_values",
        &api.json(
            Method::POST,
            "/v1/claims/",
            CLIENT,
            json!({"debtor": "not-a-uuid", "due_date": "tomorrow", "main_claim_amount": {"value": "abc", "currency": "XYZ"}}),
        )
        .await,
    );
    snap(
        "error_400_webhook_invalid",
        &api.json(
            Method::POST,
            "/v1/webhooks/",
            CLIENT,
            json!({"url": "ftp://example.com/", "events": ["claim.exploded"]}),
        )
        .await,
    );
    let submitted = m
        .state()
        .store
        .read(|db| {
            db.claims
                .iter(&TEST)
                .find(|c| c.submission_state.as_str() != "created")
                .map(|c| c.id)
        })
        .expect("a submitted claim in the fixtures");
    snap(
        "error_400_claim_delete_refused",
        &api.call(Method::DELETE, &format!("/v1/claims/{submitted}/"), CLIENT)
            .await,
    );
}

#[tokio::test]
async fn partner_api_errors() {
    let m = mock().await;
    let api = Api::new(&m);
    snap(
        "partner_error_401_missing_token",
        &api.get("/partner/v1/companies/", NOBODY).await,
    );
    snap(
        "partner_error_403_case_management_key",
        &api.get("/partner/v1/companies/", CLIENT).await,
    );
    snap(
        "partner_error_403_without_x_user_id",
        &api.get("/v1/claims/", PARTNER).await,
    );
    snap(
        "partner_error_403_unknown_x_user_id",
        &api.get(
            "/v1/claims/",
            As {
                token: PARTNER_TOKEN,
                user: Some("00000000-0000-4000-8000-000000000000"),
            },
        )
        .await,
    );
    let users = api.get("/partner/v1/users/", PARTNER).await;
    let users = users["body"]["results"].as_array().expect("users").clone();
    let unverified = users
        .iter()
        .find(|u| u["email_verified"] == false)
        .and_then(|u| u["id"].as_str())
        .expect("an unverified fixture user");
    snap(
        "partner_error_403_unverified_user",
        &api.get(
            "/v1/claims/",
            As {
                token: PARTNER_TOKEN,
                user: Some(unverified),
            },
        )
        .await,
    );
    snap(
        "partner_error_400_company_required_fields",
        &api.json(Method::POST, "/partner/v1/companies/", PARTNER, json!({}))
            .await,
    );
    snap(
        "partner_error_404_unknown_company",
        &api.get("/partner/v1/companies/00000000-0000-4000-8000-000000000000/", PARTNER)
            .await,
    );
    let companies = api.get("/partner/v1/companies/", PARTNER).await;
    let complete = companies["body"]["results"]
        .as_array()
        .expect("companies")
        .iter()
        .find(|c| c["data_submission_completed"] == true)
        .and_then(|c| c["id"].as_str())
        .expect("a complete fixture company")
        .to_string();
    snap(
        "partner_error_403_complete_company_patch",
        &api.json(
            Method::PATCH,
            &format!("/partner/v1/companies/{complete}/"),
            PARTNER,
            json!({"phone": "+49 30 1"}),
        )
        .await,
    );
    snap(
        "partner_error_403_instant_onboarding_not_permitted",
        &api.json(
            Method::POST,
            "/partner/v1/users/",
            As {
                token: PARTNER_RESTRICTED_TOKEN,
                user: None,
            },
            json!({"email": "new@example.de", "first_name": "A", "last_name": "B", "company": complete}),
        )
        .await,
    );
    snap(
        "partner_error_400_user_invalid",
        &api.json(
            Method::POST,
            "/partner/v1/users/",
            PARTNER,
            json!({"email": "not-an-address", "company": "00000000-0000-4000-8000-000000000000"}),
        )
        .await,
    );
}
