//! Snapshots of the Payt mock's shapes: the first page (`per_page=2`) of every list endpoint and
//! every distinct error (status, the headers that matter, the `{code, message}` body), so that a
//! change of a shape shows up in review as a changed `.snap` file.
//!
//! Each test starts its own mock with seed 7 on a clock frozen at the shared test epoch, with the
//! fixtures anchored at the shared anchor date: the bodies are byte-identical on every day and in
//! any test order. Ids and timestamps therefore need no redaction; the only value that varies
//! between runs is the mock's port in absolute URLs, which a filter normalizes (see [`snap`]).
//!
//! A snapshot is one exchange: `{request, status, headers, body}`. Review a change with
//! `just snap`; see the README's "Snapshots" section.

use mock_core::testing;
use mock_payt::{DEFAULT_TOKEN, MockPayt, READONLY_TOKEN};
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

const SEED: u64 = 7;
/// The administration the default token is granted.
const ADMIN: &str = "81";
/// A window start older than 90 days: clamped, so every tombstone of the window is listed.
const DELETED_AFTER: &str = "2026-07-01T00:00:00Z";

async fn mock() -> MockPayt {
    MockPayt::test()
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

/// How a request authenticates.
#[derive(Clone, Copy)]
enum Auth<'a> {
    None,
    Bearer(&'a str),
    Header(&'a str),
    Basic(&'a str, &'a str),
}

struct Api {
    base: String,
    client: reqwest::Client,
}

impl Api {
    fn new(m: &MockPayt) -> Self {
        Self {
            base: m.uri(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a client"),
        }
    }

    fn request(&self, method: Method, path: &str, auth: Auth<'_>) -> RequestBuilder {
        let req = self.client.request(method, format!("{}{path}", self.base));
        match auth {
            Auth::None => req,
            Auth::Bearer(t) => req.bearer_auth(t),
            Auth::Header(h) => req.header("Authorization", h),
            Auth::Basic(id, secret) => req.basic_auth(id, Some(secret)),
        }
    }

    /// Sends `req` and returns the exchange as snapshotted. A 5xx is a bug of the mock, never a
    /// shape to accept: it fails the test here.
    async fn exchange(&self, label: String, req: RequestBuilder) -> Value {
        let res = req.send().await.expect("sent");
        let (status, headers) = (res.status().as_u16(), res.headers().clone());
        let bytes = res.bytes().await.expect("a body");
        testing::exchange(&label, status, &headers, &bytes)
    }

    async fn call(&self, method: Method, path: &str, auth: Auth<'_>) -> Value {
        let label = format!("{method} {path}");
        self.exchange(label, self.request(method, path, auth)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.call(Method::GET, path, Auth::Bearer(DEFAULT_TOKEN)).await
    }

    /// `method path` with a JSON body, as the default token.
    async fn json(&self, method: Method, path: &str, body: Value) -> Value {
        let label = format!("{method} {path} {body}");
        let req = self.request(method, path, Auth::Bearer(DEFAULT_TOKEN)).json(&body);
        self.exchange(label, req).await
    }

    /// `method path` with a raw body of `content_type`, as the default token; `shown` stands for
    /// the body in the label.
    async fn raw(&self, method: Method, path: &str, content_type: &str, body: Vec<u8>, shown: &str) -> Value {
        let label = format!("{method} {path} ({content_type}: {shown})");
        let req = self
            .request(method, path, Auth::Bearer(DEFAULT_TOKEN))
            .header("Content-Type", content_type)
            .body(body);
        self.exchange(label, req).await
    }
}

/// Every `GET` that answers a page, and the query (besides `administration_id` and `per_page`) it
/// needs.
const LISTS: &[(&str, &str, &str)] = &[
    ("list_contacts", "/v1/contacts", ""),
    ("list_credit_cases", "/v1/credit_cases", ""),
    ("list_credit_cases_deleted", "/v1/credit_cases/deleted", DELETED_AFTER),
    ("list_debtors", "/v1/debtors", ""),
    ("list_invoices", "/v1/invoices", ""),
    ("list_invoices_deleted", "/v1/invoices/deleted", DELETED_AFTER),
    ("list_messages", "/v1/messages", ""),
    ("list_notes", "/v1/notes", ""),
    ("list_notifications", "/v1/notifications", ""),
    ("list_order_lines", "/v1/order_lines", ""),
    ("list_payment_plans", "/v1/payment_plans", ""),
    ("list_payment_plans_deleted", "/v1/payment_plans/deleted", DELETED_AFTER),
    ("list_payments", "/v1/payments", ""),
    ("list_payments_deleted", "/v1/payments/deleted", DELETED_AFTER),
    ("list_psp_mandates", "/v1/psp_mandates", ""),
    ("list_psp_mandates_deleted", "/v1/psp_mandates/deleted", DELETED_AFTER),
    ("list_psp_transactions", "/v1/psp_transactions", ""),
    ("list_tasks", "/v1/tasks", ""),
    ("list_vat_rates", "/v1/vat_rates", ""),
];

#[tokio::test]
async fn one_page_of_every_list() {
    let m = mock().await;
    let api = Api::new(&m);
    for (name, path, deleted_after) in LISTS {
        let mut path = format!("{path}?administration_id={ADMIN}&per_page=2");
        if !deleted_after.is_empty() {
            path.push_str(&format!("&deleted_after={deleted_after}"));
        }
        let page = api.get(&path).await;
        assert_eq!(page["status"], 200, "{page}");
        snap(name, &page);
    }
    // The administrations of the token, and the companies of the application (HTTP Basic).
    let page = api.get("/v1/administrations?per_page=2").await;
    assert_eq!(page["status"], 200, "{page}");
    snap("list_administrations", &page);
    let basic = Auth::Basic(
        mock_payt::resources::companies::CLIENT_ID,
        mock_payt::resources::companies::CLIENT_SECRET,
    );
    let page = api.call(Method::GET, "/v1/companies?per_page=2", basic).await;
    assert_eq!(page["status"], 200, "{page}");
    snap("list_companies", &page);
}

#[tokio::test]
async fn authentication_and_permission_errors() {
    let m = mock().await;
    let api = Api::new(&m);
    let cases = "/v1/credit_cases?administration_id=81";
    snap(
        "error_401_missing_token",
        &api.call(Method::GET, cases, Auth::None).await,
    );
    snap(
        "error_401_malformed_authorization",
        &api.call(Method::GET, cases, Auth::Header("Token payt_test_token"))
            .await,
    );
    snap(
        "error_401_unknown_token",
        &api.call(Method::GET, cases, Auth::Bearer("not_a_token")).await,
    );
    snap(
        "error_403_administration_not_granted",
        &api.get("/v1/credit_cases?administration_id=83").await,
    );
    snap(
        "error_403_administration_unknown",
        &api.get("/v1/credit_cases?administration_id=99999").await,
    );
    snap(
        "error_403_missing_scope",
        &api.exchange(
            "POST /v1/vat_rates (readonly token)".into(),
            api.request(Method::POST, "/v1/vat_rates", Auth::Bearer(READONLY_TOKEN))
                .json(&json!({"administration_id": 81, "vat_rates": [{"code": "X", "rate": "9"}]})),
        )
        .await,
    );
    // Companies use HTTP Basic with the application's credentials.
    snap(
        "error_401_companies_bearer_token",
        &api.call(Method::GET, "/v1/companies", Auth::Bearer(DEFAULT_TOKEN))
            .await,
    );
    snap(
        "error_401_companies_unknown_client",
        &api.call(Method::GET, "/v1/companies", Auth::Basic("nobody", "secret"))
            .await,
    );
    snap(
        "error_403_companies_restricted_application",
        &api.call(
            Method::GET,
            "/v1/companies",
            Auth::Basic(
                mock_payt::resources::companies::RESTRICTED_CLIENT_ID,
                mock_payt::resources::companies::RESTRICTED_CLIENT_SECRET,
            ),
        )
        .await,
    );
}

#[tokio::test]
async fn routing_parameter_and_body_errors() {
    let m = mock().await;
    let api = Api::new(&m);
    snap(
        "error_404_unknown_id",
        &api.get("/v1/credit_cases/999999?administration_id=81").await,
    );
    snap(
        "error_404_unknown_route",
        &api.get("/v1/no_such_resource?administration_id=81").await,
    );
    snap(
        "error_405_payments_post",
        &api.json(Method::POST, "/v1/payments", json!({"administration_id": 81}))
            .await,
    );
    snap(
        "error_405_delete_credit_cases",
        &api.call(Method::DELETE, "/v1/credit_cases", Auth::Bearer(DEFAULT_TOKEN))
            .await,
    );
    snap(
        "error_400_missing_administration_id",
        &api.get("/v1/credit_cases").await,
    );
    snap(
        "error_400_invalid_per_page",
        &api.get("/v1/credit_cases?administration_id=81&per_page=501").await,
    );
    snap(
        "error_400_invalid_updated_after",
        &api.get("/v1/invoices?administration_id=81&updated_after=yesterday")
            .await,
    );
    snap(
        "error_400_invalid_fields",
        &api.get("/v1/invoices?administration_id=81&fields={not json").await,
    );
    snap(
        "error_400_deleted_after_missing",
        &api.get("/v1/invoices/deleted?administration_id=81").await,
    );
    snap(
        "error_malformed_json",
        &api.raw(
            Method::POST,
            "/v1/vat_rates",
            "application/json",
            br#"{"administration_id": 81,"#.to_vec(),
            r#"{"administration_id": 81,"#,
        )
        .await,
    );
    snap(
        "error_415_unsupported_media_type",
        &api.raw(
            Method::POST,
            "/v1/vat_rates",
            "text/plain",
            b"administration_id=81".to_vec(),
            "administration_id=81",
        )
        .await,
    );
    let limit = mock_core::server::DEFAULT_BODY_LIMIT;
    let mut big = br#"{"administration_id": 81, "padding": ""#.to_vec();
    big.resize(limit + 16, b'x');
    big.extend_from_slice(br#""}"#);
    snap(
        "error_413_body_too_large",
        &api.raw(
            Method::POST,
            "/v1/vat_rates",
            "application/json",
            big,
            &format!("{} bytes", limit + 18),
        )
        .await,
    );
}

/// 422s of a few writes, and the bulk writes' answer to records with errors or warnings (201 with
/// `errors`/`warnings` keyed by record, as Payt answers them).
#[tokio::test]
async fn validation_errors_of_representative_writes() {
    let m = mock().await;
    let api = Api::new(&m);
    snap(
        "error_422_vat_rate_invalid_percentage",
        &api.json(
            Method::POST,
            "/v1/vat_rates",
            json!({"administration_id": 81, "vat_rates": [{"code": "X", "rate": "lots"}]}),
        )
        .await,
    );
    snap(
        "bulk_debtors_record_errors",
        &api.json(
            Method::POST,
            "/v1/debtors",
            json!({"administration_id": 81, "debtors": [{}]}),
        )
        .await,
    );
    snap(
        "bulk_contacts_warning_invalid_email",
        &api.json(
            Method::POST,
            "/v1/contacts",
            json!({"administration_id": 81, "contacts": [{"contact_identifier": "c-1", "invoice_email_address": "not-an-address"}]}),
        )
        .await,
    );
    snap(
        "error_422_invoice_without_fields",
        &api.json(
            Method::POST,
            "/v1/invoices",
            json!({"administration_id": 81, "invoices": [{}]}),
        )
        .await,
    );
    snap(
        "error_422_payment_plan_without_terms",
        &api.json(
            Method::POST,
            "/v1/payment_plans",
            json!({"administration_id": 81, "invoice_numbers": ["INC-81-00002"]}),
        )
        .await,
    );
    let active = m
        .state()
        .store
        .read(|db| db.payment_plans.iter(&81).find(|p| p.active).map(|p| p.id))
        .expect("an active plan in the fixtures");
    snap(
        "error_422_payment_plan_invalid_state",
        &api.json(
            Method::PATCH,
            &format!("/v1/payment_plans/{active}/approve"),
            json!({"administration_id": 81}),
        )
        .await,
    );
}
