//! Behaviour of the "accounts" group: debtor sub-resources, statements and their mandate details,
//! token info, and the Partner API (companies, users, invites, acting for a company with
//! `X-User-Id`).

use axum::body::Body;
use mock_paywise::resources::partner::{self, PARTNER_PRODUCTION_TOKEN, PARTNER_RESTRICTED_TOKEN, PARTNER_TOKEN};
use mock_paywise::{MockPaywise, PaywiseMock as _};
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tower::ServiceExt;

struct Api {
    base: String,
    client: reqwest::Client,
}

impl Api {
    fn new(m: &MockPaywise) -> Self {
        Self {
            base: m.uri(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
        user: Option<&str>,
    ) -> (u16, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if !token.is_empty() {
            req = req.bearer_auth(token);
        }
        if let Some(u) = user {
            req = req.header("X-User-Id", u);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("sent");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.call(Method::GET, path, token, None, None).await
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, token, Some(body), None).await
    }
}

fn debtor_body(reference: &str) -> Value {
    json!({
        "your_reference": reference,
        "acting_as": "business",
        "organization": {"name": "Muster GmbH"},
        "addresses": [{"street": "Hauptstr. 1", "zip": "10115", "city": "Berlin", "country": "DE"}]
    })
}

fn dec(v: &Value) -> Decimal {
    v["value"].as_str().expect("money value").parse().expect("decimal")
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

// ---------------------------------------------------------------------------------------------
// Debtor sub-resources
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn debtor_sub_resources_append_and_return_the_whole_debtor() {
    let m = MockPaywise::test().seed(5).start().await;
    let api = Api::new(&m);
    let (st, d) = api.post("/v1/debtors/", m.token(), debtor_body("sub-1")).await;
    assert_eq!(st, 201);
    let id = s(&d["id"]).to_string();

    let cc = format!("/v1/debtors/{id}/communicationchannels/");
    let (st, out) = api
        .post(&cc, m.token(), json!({"type": "email", "value": "a@b.de"}))
        .await;
    assert_eq!(st, 201, "{out}");
    assert_eq!(out["id"], d["id"]);
    assert_eq!(out["href"], d["href"]);
    assert_eq!(
        out["communication_channels"],
        json!([{"type": "email", "value": "a@b.de"}])
    );
    assert_eq!(out["addresses"], d["addresses"]);
    assert!(s(&out["updated"]) >= s(&d["updated"]));
    let (_, shown) = api.get(&format!("/v1/debtors/{id}/"), m.token()).await;
    assert_eq!(shown, out);

    let (st, e) = api.post(&cc, m.token(), json!({"type": "pigeon", "value": "x"})).await;
    assert_eq!((st, e), (400, json!({"type": ["\"pigeon\" is not a valid choice."]})));
    let (st, e) = api
        .post(&cc, m.token(), json!({"type": "email", "value": "nope"}))
        .await;
    assert_eq!((st, e), (400, json!({"value": ["Enter a valid email address."]})));
    let (st, e) = api.post(&cc, m.token(), json!({})).await;
    assert_eq!(st, 400);
    assert_eq!(
        e,
        json!({"type": ["This field is required."], "value": ["This field is required."]})
    );
    let (st, e) = api.post(&cc, m.token(), json!([1])).await;
    assert_eq!(st, 400);
    assert!(e["non_field_errors"].is_array());

    let ad = format!("/v1/debtors/{id}/addresses/");
    let addr = json!({"street": "Nebenweg 2", "zip": "80331", "city": "München", "country": "DE"});
    let (st, out) = api.post(&ad, m.token(), addr.clone()).await;
    assert_eq!(st, 201);
    assert_eq!(out["addresses"].as_array().map(Vec::len), Some(2));
    assert_eq!(out["addresses"][1], addr);
    let (st, e) = api
        .post(
            &ad,
            m.token(),
            json!({"street": "x", "zip": "1", "city": "y", "country": "XX"}),
        )
        .await;
    assert_eq!((st, e), (400, json!({"country": ["\"XX\" is not a valid choice."]})));

    let ba = format!("/v1/debtors/{id}/bankaccounts/");
    let (st, out) = api
        .post(
            &ba,
            m.token(),
            json!({"iban": "de89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX"}),
        )
        .await;
    assert_eq!(st, 201, "{out}");
    assert_eq!(
        out["bank_accounts"],
        json!([{"iban": "DE89370400440532013000", "bic": "COBADEFFXXX"}])
    );
    let (st, e) = api.post(&ba, m.token(), json!({"iban": "DE00123"})).await;
    assert_eq!((st, e), (400, json!({"iban": ["Enter a valid IBAN."]})));

    // Other access mode, unknown and malformed ids, auth, media type.
    for path in [&cc, &ad, &ba] {
        let (st, e) = api
            .post(path, m.production_token(), json!({"type": "email", "value": "a@b.de"}))
            .await;
        assert_eq!((st, e), (404, json!({"detail": "Not found."})));
    }
    let unknown = "/v1/debtors/00000000-0000-4000-8000-000000000000/communicationchannels/";
    assert_eq!(
        api.post(unknown, m.token(), json!({"type": "email", "value": "a@b.de"}))
            .await
            .0,
        404
    );
    assert_eq!(
        api.post("/v1/debtors/xyz/addresses/", m.token(), addr.clone()).await.0,
        404
    );
    assert_eq!(api.post(&cc, "", json!({})).await.0, 401);
    assert_eq!(api.post(&cc, "wrong", json!({})).await.0, 401);
    let res = api
        .client
        .post(format!("{}{cc}", api.base))
        .bearer_auth(m.token())
        .header("content-type", "text/plain")
        .body("type=email")
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 415);
    assert_eq!(api.get(&cc, m.token()).await.0, 405);
}

// ---------------------------------------------------------------------------------------------
// Statements
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn statements_list_show_filter_and_isolate() {
    let m = MockPaywise::test().seed(11).start().await;
    let api = Api::new(&m);
    let (st, page) = api.get("/v1/statements/", m.token()).await;
    assert_eq!(st, 200);
    assert_eq!(page["count"], 4);
    assert_eq!(page["next"], Value::Null);
    let results = page["results"].as_array().expect("results").clone();
    let keys = [
        "href",
        "id",
        "clearing_no",
        "invoice_no",
        "booking_date",
        "period_start",
        "period_end",
        "canceled",
        "comment",
        "total_balance",
        "balance_pre_outstanding_items_offsetting",
        "offset_outstanding_items",
        "mandate_count",
        "mandate_details_href",
        "overview_vat_specific",
        "downloads",
        "created",
    ];
    for st in &results {
        let got: Vec<&str> = st.as_object().expect("object").keys().map(String::as_str).collect();
        assert_eq!(got, keys);
        assert!(st.get("mandate_details").is_none());
        assert_eq!(
            dec(&st["total_balance"]),
            dec(&st["balance_pre_outstanding_items_offsetting"]) - dec(&st["offset_outstanding_items"])
        );
        let payout: Decimal = st["overview_vat_specific"]
            .as_array()
            .expect("overview")
            .iter()
            .map(|o| dec(&o["payout"]))
            .sum();
        assert_eq!(payout, dec(&st["balance_pre_outstanding_items_offsetting"]));
        for o in st["overview_vat_specific"].as_array().expect("overview") {
            assert_eq!(
                dec(&o["invoice_amount_vat"]),
                dec(&o["invoice_amount"]) + dec(&o["vat"])
            );
        }
        assert_eq!(st["downloads"].as_array().map(Vec::len), Some(4));
    }
    assert!(results.iter().any(|r| r["canceled"] == true));

    let first = &results[0];
    let id = s(&first["id"]);
    let (st, shown) = api.get(&format!("/v1/statements/{id}/"), m.token()).await;
    assert_eq!(st, 200);
    assert_eq!(&shown, first);
    assert_eq!(
        api.get(&format!("/v1/statements/{id}/"), m.production_token()).await,
        (404, json!({"detail": "Not found."}))
    );
    assert_eq!(api.get("/v1/statements/nope/", m.token()).await.0, 404);
    let (_, prod) = api.get("/v1/statements/", m.production_token()).await;
    assert_eq!(prod["count"], 1);

    for key in [
        "booking_date",
        "clearing_no",
        "id",
        "invoice_no",
        "period_start",
        "period_end",
    ] {
        let (st, p) = api
            .get(&format!("/v1/statements/?{key}={}", s(&first[key])), m.token())
            .await;
        assert_eq!(st, 200);
        assert_eq!(p["count"], 1, "filter {key}");
        assert_eq!(p["results"][0]["id"], first["id"]);
    }
    let (_, none) = api.get("/v1/statements/?clearing_no=nothing", m.token()).await;
    assert_eq!(none["count"], 0);
    assert_eq!(
        api.get("/v1/statements/?booking_date=2026-13-01", m.token()).await,
        (400, json!({"booking_date": ["Enter a valid date."]}))
    );
    assert_eq!(
        api.get("/v1/statements/?id=abc&period_start=x", m.token()).await,
        (
            400,
            json!({"id": ["Enter a valid UUID."], "period_start": ["Enter a valid date."]})
        )
    );
    let (_, limited) = api.get("/v1/statements/?limit=1&offset=1", m.token()).await;
    assert_eq!(limited["results"].as_array().map(Vec::len), Some(1));
    assert!(limited["next"].is_string() && limited["previous"].is_string());

    // Downloads.
    let dl = &first["downloads"][0];
    let res = reqwest::Client::new()
        .get(s(&dl["download_url"]))
        .bearer_auth(m.token())
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers().get("content-type").and_then(|v| v.to_str().ok()),
        dl["mime_type"].as_str()
    );
    let bytes = res.bytes().await.expect("body");
    assert_eq!(Some(bytes.len() as u64), dl["file_size"].as_u64());
    let res = reqwest::Client::new()
        .get(s(&dl["download_url"]))
        .bearer_auth(m.production_token())
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn mandate_details_page_filters_and_add_up() {
    let m = MockPaywise::test().seed(11).start().await;
    let api = Api::new(&m);
    let (_, page) = api.get("/v1/statements/", m.token()).await;
    let mut seen_detail = false;
    for st in page["results"].as_array().expect("results") {
        let (code, details) = api
            .get(s(&st["mandate_details_href"]).trim_start_matches(&api.base), m.token())
            .await;
        assert_eq!(code, 200);
        assert_eq!(details["count"], st["mandate_count"]);
        let mut payout = Decimal::ZERO;
        for d in details["results"].as_array().expect("results") {
            seen_detail = true;
            assert_eq!(d["mandate"]["reference_number"], d["reference_number"]);
            assert!(s(&d["mandate"]["href"]).ends_with(&format!("/v1/mandates/{}/", s(&d["mandate"]["id"]))));
            for e in d["third_party_money_entries"].as_array().expect("entries") {
                let t = &e["third_party_money"];
                let dca = &t["payments_to_dca"];
                let alloc: Decimal = [
                    "allocation_to_fee",
                    "allocation_to_fee_vat",
                    "allocation_to_main_claim",
                    "allocation_to_default_interest",
                    "allocation_to_success_commission",
                    "allocation_to_success_commission_vat",
                ]
                .iter()
                .map(|k| dec(&dca[*k]))
                .sum();
                assert_eq!(alloc, dec(&dca["total_payments"]));
                assert_eq!(
                    dec(&t["total_payments"]),
                    dec(&dca["total_payments"])
                        + dec(&t["payments_to_client"]["total_payments"])
                        + dec(&t["extraordinary_payouts_to_client"]["total_payments"])
                );
                payout += dec(&dca["payout"])
                    + dec(&t["payments_to_client"]["payout"])
                    + dec(&t["extraordinary_payouts_to_client"]["payout"]);
            }
            for c in d["cost_burden_entries"].as_array().expect("entries") {
                let cb = &c["cost_burden"];
                assert_eq!(dec(&cb["total_amount"]), dec(&cb["fee"]) + dec(&cb["fee_vat"]));
                payout -= dec(&cb["total_amount"]);
            }
        }
        assert_eq!(payout, dec(&st["balance_pre_outstanding_items_offsetting"]));
        // Filters.
        if let Some(d) = details["results"].get(0) {
            let path = format!(
                "/v1/statements/{}/mandate-details/?reference_number={}",
                s(&st["id"]),
                s(&d["reference_number"])
            );
            let (_, f) = api.get(&path, m.token()).await;
            assert!(f["count"].as_u64().unwrap_or(0) >= 1);
            let (_, f) = api
                .get(&format!("{path}&your_reference=no-such-reference"), m.token())
                .await;
            assert_eq!(f["count"], 0);
            let (_, by_mandate) = api
                .get(
                    &format!("/v1/statements/?mandate_reference_number={}", s(&d["reference_number"])),
                    m.token(),
                )
                .await;
            assert!(
                by_mandate["results"]
                    .as_array()
                    .expect("results")
                    .iter()
                    .any(|r| r["id"] == st["id"])
            );
        }
        let other = format!("/v1/statements/{}/mandate-details/", s(&st["id"]));
        assert_eq!(
            api.get(&other, m.production_token()).await,
            (404, json!({"detail": "Not found."}))
        );
    }
    assert!(
        seen_detail,
        "the fixtures have mandates, so statements have mandate details"
    );
    assert_eq!(
        api.get(
            "/v1/statements/00000000-0000-4000-8000-000000000000/mandate-details/",
            m.token()
        )
        .await
        .0,
        404
    );
}

// ---------------------------------------------------------------------------------------------
// Token info
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn token_info_names_the_key_and_its_access_mode() {
    let m = MockPaywise::test().seed(2).start().await;
    let api = Api::new(&m);
    let (st, test) = api.get("/v1/info/", m.token()).await;
    assert_eq!(st, 200);
    let e = &test[0];
    assert_eq!(test.as_array().map(Vec::len), Some(1));
    let keys: Vec<&str> = e.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "id",
            "token_name",
            "user",
            "user_first_name",
            "user_last_name",
            "access_mode"
        ]
    );
    assert_eq!(e["access_mode"], "test");
    let (_, live) = api.get("/v1/info/", m.production_token()).await;
    assert_eq!(live[0]["access_mode"], "production");
    assert_ne!(live[0]["id"], e["id"]);
    assert_eq!(api.get("/v1/info/", "").await.0, 401);
    assert_eq!(
        api.get("/v1/info", m.token()).await.0,
        301,
        "APPEND_SLASH redirects the slashless path"
    );
}

// ---------------------------------------------------------------------------------------------
// Partner API
// ---------------------------------------------------------------------------------------------

async fn control(m: &MockPaywise, path: &str, body: Value) -> (u16, Value) {
    let app = partner::control_router().with_state(m.state().clone());
    let req = axum::http::Request::post(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    let Ok(res) = app.oneshot(req).await;
    let status = res.status().as_u16();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.expect("body");
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn partner_keys_and_case_management_keys_stay_apart() {
    let m = MockPaywise::test().seed(3).start().await;
    let api = Api::new(&m);
    let (st, info) = api.get("/partner/v1/info/", PARTNER_TOKEN).await;
    assert_eq!(st, 200);
    let keys: Vec<&str> = info[0]
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "token_name",
            "user",
            "user_first_name",
            "user_last_name",
            "scopes"
        ]
    );
    assert_eq!(info[0]["scopes"], json!(["API_ONLY_ONBOARDING"]));
    let (_, restricted) = api.get("/partner/v1/info/", PARTNER_RESTRICTED_TOKEN).await;
    assert_eq!(restricted[0]["scopes"], json!([]));

    let forbidden = json!({"detail": "You do not have permission to perform this action."});
    for path in ["/partner/v1/info/", "/partner/v1/companies/", "/partner/v1/users/"] {
        assert_eq!(api.get(path, m.token()).await, (403, forbidden.clone()));
    }
    assert_eq!(api.get("/partner/v1/companies/", "").await.0, 401);
    // Partner keys need X-User-Id on the Case Management API.
    let (st, e) = api.get("/v1/claims/", PARTNER_TOKEN).await;
    assert_eq!(st, 403);
    assert!(e["detail"].is_string());
    let (st, _) = api
        .call(Method::GET, "/v1/claims/", PARTNER_TOKEN, None, Some("not-a-uuid"))
        .await;
    assert_eq!(st, 403);
    let (st, _) = api
        .call(
            Method::GET,
            "/v1/claims/",
            PARTNER_TOKEN,
            None,
            Some("00000000-0000-4000-8000-000000000000"),
        )
        .await;
    assert_eq!(st, 403);
}

#[tokio::test]
async fn companies_fill_in_until_complete_then_refuse_changes() {
    let m = MockPaywise::test().seed(3).start().await;
    let api = Api::new(&m);
    let (st, page) = api.get("/partner/v1/companies/", PARTNER_TOKEN).await;
    assert_eq!(st, 200);
    assert_eq!(page["count"], 2);
    let done: Vec<bool> = page["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|c| c["data_submission_completed"] == true)
        .collect();
    assert_eq!(done, [true, false]);
    let complete = &page["results"][0];
    assert!(!complete["users"].as_array().expect("users").is_empty());

    // A complete company can no longer be changed.
    let path = format!("/partner/v1/companies/{}/", s(&complete["id"]));
    let (st, e) = api
        .call(
            Method::PATCH,
            &path,
            PARTNER_TOKEN,
            Some(json!({"phone": "+49 30 1"})),
            None,
        )
        .await;
    assert_eq!(st, 403);
    assert!(e["detail"].is_string());

    // Create with a name and a phone number (the vendor file requires both): incomplete.
    let (st, e) = api.post("/partner/v1/companies/", PARTNER_TOKEN, json!({})).await;
    assert_eq!(
        (st, e),
        (
            400,
            json!({"name": ["This field is required."], "phone": ["This field is required."]})
        )
    );
    let (st, c) = api
        .post(
            "/partner/v1/companies/",
            PARTNER_TOKEN,
            json!({"name": "Neu GmbH", "phone": "+49 30 1"}),
        )
        .await;
    // The vendor file documents 200 for this create.
    assert_eq!(st, 200, "{c}");
    assert_eq!(c["data_submission_completed"], false);
    assert_eq!(c["users"], json!([]));
    let path = format!("/partner/v1/companies/{}/", s(&c["id"]));
    assert_eq!(api.get(&path, PARTNER_TOKEN).await, (200, c.clone()));

    let (st, e) = api
        .call(
            Method::PATCH,
            &path,
            PARTNER_TOKEN,
            Some(json!({"tax_deduction_eligibility": "X", "address": {"street": "a", "zip": "1", "city": "b", "country": "ZZ"}, "iban": "DE00", "name": null})),
            None,
        )
        .await;
    assert_eq!(st, 400);
    assert_eq!(e["tax_deduction_eligibility"], json!(["\"X\" is not a valid choice."]));
    assert_eq!(e["address"], json!({"country": ["\"ZZ\" is not a valid choice."]}));
    // `iban` is not a field of the vendor's company serializer: ignored, as DRF ignores it.
    assert!(e.get("iban").is_none(), "{e}");
    assert_eq!(e["name"], json!(["This field may not be null."]));

    let patch = |body: Value| {
        let api = &api;
        let path = path.clone();
        async move { api.call(Method::PATCH, &path, PARTNER_TOKEN, Some(body), None).await }
    };
    let (st, c) = patch(json!({
        "phone": "+49 30 123456",
        "address": {"street": "Torstr. 1", "zip": "10119", "city": "Berlin", "country": "DE"},
        "legal_form": "GmbH",
        "tax_deduction_eligibility": "K",
    }))
    .await;
    assert_eq!(st, 200, "{c}");
    assert_eq!(
        c["data_submission_completed"], false,
        "no VAT number and no representatives yet"
    );
    let (_, c) = patch(json!({"vat_number": "DE123456789"})).await;
    assert_eq!(
        c["data_submission_completed"], false,
        "a GmbH needs legal representatives"
    );
    let (st, c) = patch(json!({"legal_representatives": [{"type": "geschaeftsführer", "name": "Eva Neu"}]})).await;
    assert_eq!(st, 200);
    assert_eq!(c["data_submission_completed"], true);
    assert_eq!(patch(json!({"phone": "+49 1"})).await.0, 403);

    // A sole proprietor needs no representatives.
    let (_, sole) = api
        .post(
            "/partner/v1/companies/",
            PARTNER_TOKEN,
            json!({"name": "Max Muster", "phone": "0301", "legal_form": "Einzelkaufmann", "tax_deduction_eligibility": "N",
                   "address": {"street": "a 1", "zip": "10115", "city": "Berlin", "country": "DE"}}),
        )
        .await;
    assert_eq!(sole["data_submission_completed"], true);

    assert_eq!(
        api.get(
            "/partner/v1/companies/00000000-0000-4000-8000-000000000000/",
            PARTNER_TOKEN
        )
        .await,
        (404, json!({"detail": "Not found."}))
    );
    assert_eq!(api.get("/partner/v1/companies/x/", PARTNER_TOKEN).await.0, 404);
}

#[tokio::test]
async fn users_are_created_listed_and_filtered() {
    let m = MockPaywise::test().seed(3).start().await;
    let api = Api::new(&m);
    let (_, companies) = api.get("/partner/v1/companies/", PARTNER_TOKEN).await;
    let company = s(&companies["results"][0]["id"]).to_string();
    let (st, page) = api.get("/partner/v1/users/", PARTNER_TOKEN).await;
    assert_eq!(st, 200);
    let before = page["count"].as_u64().expect("count");
    assert!(before >= 3);

    let body = json!({"email": "neu@kunde.example", "first_name": "Nina", "last_name": "Neu", "company": company,
                      "skip_email_verification": true});
    assert_eq!(
        api.post("/partner/v1/users/", PARTNER_RESTRICTED_TOKEN, body.clone())
            .await,
        (
            403,
            json!({"detail": "You do not have permission to perform this action."})
        )
    );
    let (st, u) = api.post("/partner/v1/users/", PARTNER_TOKEN, body.clone()).await;
    assert_eq!(st, 201, "{u}");
    let keys: Vec<&str> = u.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "href",
            "id",
            "email",
            "first_name",
            "last_name",
            "company",
            "email_verified",
            "notification_channels"
        ]
    );
    assert_eq!(u["email_verified"], true);
    assert_eq!(
        api.get(&format!("/partner/v1/users/{}/", s(&u["id"])), PARTNER_TOKEN)
            .await,
        (200, u.clone())
    );

    let (st, e) = api.post("/partner/v1/users/", PARTNER_TOKEN, body.clone()).await;
    assert_eq!(
        (st, e),
        (400, json!({"message": "email: user with this email already exists."}))
    );
    let mut upper = body.clone();
    upper["email"] = json!("NEU@kunde.example");
    assert_eq!(api.post("/partner/v1/users/", PARTNER_TOKEN, upper).await.0, 400);

    let (st, e) = api
        .post(
            "/partner/v1/users/",
            PARTNER_TOKEN,
            json!({"email": "", "first_name": "", "last_name": "x", "company": "00000000-0000-4000-8000-000000000000"}),
        )
        .await;
    // The vendor file documents this 400 as `{"message": ...}`: the field errors in one line.
    assert_eq!(st, 400);
    let message = e["message"].as_str().expect("a message");
    assert!(message.contains("email: This field may not be blank."), "{message}");
    assert!(
        message.contains("first_name: This field may not be blank."),
        "{message}"
    );
    assert!(
        message.contains("company: Invalid pk \"00000000-0000-4000-8000-000000000000\" - object does not exist."),
        "{message}"
    );
    let (st, e) = api
        .post(
            "/partner/v1/users/",
            PARTNER_TOKEN,
            json!({"email": "x@y.de", "first_name": "a", "last_name": "b", "company": company,
                   "notification_channels": [{"channel_type": "SMS", "value": "x@y.de", "notification_types": ["STATEMENTS", "NOPE"]}]}),
        )
        .await;
    assert_eq!(st, 400);
    assert_eq!(
        e["message"],
        "notification_channels[0].channel_type: \"SMS\" is not a valid choice. notification_channels[0].notification_types: \"NOPE\" is not a valid choice."
    );

    // Not verified without skip_email_verification.
    let (_, plain) = api
        .post(
            "/partner/v1/users/",
            PARTNER_TOKEN,
            json!({"email": "plain@kunde.example", "first_name": "P", "last_name": "Lain", "company": company}),
        )
        .await;
    assert_eq!(plain["email_verified"], false);

    for (key, value) in [
        ("email", "neu@kunde.example"),
        ("first_name", "Nina"),
        ("last_name", "Neu"),
        ("id", s(&u["id"])),
    ] {
        let (_, p) = api
            .get(&format!("/partner/v1/users/?{key}={value}"), PARTNER_TOKEN)
            .await;
        assert_eq!(p["count"], 1, "filter {key}");
        assert_eq!(p["results"][0]["id"], u["id"]);
    }
    let (_, p) = api
        .get(&format!("/partner/v1/users/?company={company}"), PARTNER_TOKEN)
        .await;
    assert!(
        p["results"]
            .as_array()
            .expect("results")
            .iter()
            .all(|r| r["company"] == json!(company))
    );
    assert_eq!(
        api.get("/partner/v1/users/?company=nope", PARTNER_TOKEN).await,
        (400, json!({"company": ["Enter a valid UUID."]}))
    );
    assert_eq!(
        api.get("/partner/v1/users/00000000-0000-4000-8000-000000000000/", PARTNER_TOKEN)
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn invites_open_complete_and_hand_over_the_user() {
    let m = MockPaywise::test().seed(3).start().await;
    let api = Api::new(&m);
    let (_, companies) = api.get("/partner/v1/companies/", PARTNER_TOKEN).await;
    let company = s(&companies["results"][0]["id"]).to_string();
    let body = json!({"email": "eingeladen@kunde.example", "company": company, "first_name": "Ina",
                      "success_url": "https://partner.example/ok", "failure_url": "https://partner.example/fail"});
    let (st, inv) = api.post("/partner/v1/userinvites/", PARTNER_TOKEN, body.clone()).await;
    assert_eq!(st, 201, "{inv}");
    assert_eq!(inv["status"], "OPEN");
    // The invite's web flow starts at the mock's own onboarding page, never at paywise's host.
    let invite_url = format!("{}/_mock/paywise/partner/onboarding/{}/", m.uri(), s(&inv["id"]));
    assert_eq!(inv["invite_url"], json!(invite_url));
    let page = reqwest::get(&invite_url).await.expect("the onboarding page answers");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("eingeladen@kunde.example") && html.contains("OPEN"),
        "{html}"
    );
    assert!(inv["expiry"].is_string());
    let path = format!("/partner/v1/userinvites/{}/", s(&inv["id"]));
    assert_eq!(api.get(&path, PARTNER_TOKEN).await, (200, inv.clone()));

    // The e-mail address is taken by the open invite, for invites and users alike.
    assert_eq!(
        api.post("/partner/v1/userinvites/", PARTNER_TOKEN, body.clone()).await,
        (400, json!({"message": "email: user with this email already exists."}))
    );
    let (st, e) = api
        .post(
            "/partner/v1/userinvites/",
            PARTNER_TOKEN,
            json!({"email": "a@b.de", "company": company, "success_url": "nope"}),
        )
        .await;
    assert_eq!(st, 400);
    assert_eq!(
        e["message"],
        "success_url: Enter a valid URL. failure_url: This field is required."
    );

    let onboarded = format!("{path}get-onboarded-user/");
    let (st, e) = api.get(&onboarded, PARTNER_TOKEN).await;
    assert_eq!(st, 400, "the vendor file documents 400 {{message}} here");
    assert!(e["message"].is_string());

    let (st, user) = control(
        &m,
        &format!("/_mock/paywise/partner/userinvites/{}/complete", s(&inv["id"])),
        json!({"last_name": "Eingeladen"}),
    )
    .await;
    assert_eq!(st, 201, "{user}");
    assert_eq!(user["email"], "eingeladen@kunde.example");
    assert_eq!(user["first_name"], "Ina");
    assert_eq!(user["last_name"], "Eingeladen");
    assert_eq!(user["email_verified"], true);
    let (_, inv2) = api.get(&path, PARTNER_TOKEN).await;
    assert_eq!(inv2["status"], "COMPLETED");
    let (st, got) = api.get(&onboarded, PARTNER_TOKEN).await;
    assert_eq!(st, 200);
    assert_eq!(got["id"], user["id"]);
    let (st, _) = control(
        &m,
        &format!("/_mock/paywise/partner/userinvites/{}/complete", s(&inv["id"])),
        json!({}),
    )
    .await;
    assert_eq!(st, 400, "a completed invite cannot be completed again");
    assert_eq!(api.get("/partner/v1/userinvites/", PARTNER_TOKEN).await.0, 405);
}

#[tokio::test]
async fn partner_acts_for_a_verified_user_of_a_complete_company() {
    let m = MockPaywise::test().seed(3).start().await;
    let api = Api::new(&m);
    let (_, companies) = api.get("/partner/v1/companies/", PARTNER_TOKEN).await;
    let complete = s(&companies["results"][0]["id"]).to_string();
    let incomplete = s(&companies["results"][1]["id"]).to_string();
    let new_user = |company: &str, email: &str, skip: bool| json!({"email": email, "first_name": "A", "last_name": "B", "company": company, "skip_email_verification": skip});
    let (_, ok) = api
        .post(
            "/partner/v1/users/",
            PARTNER_TOKEN,
            new_user(&complete, "ok@k.example", true),
        )
        .await;
    let (_, unverified) = api
        .post(
            "/partner/v1/users/",
            PARTNER_TOKEN,
            new_user(&complete, "unv@k.example", false),
        )
        .await;
    let (_, wrong_company) = api
        .post(
            "/partner/v1/users/",
            PARTNER_TOKEN,
            new_user(&incomplete, "inc@k.example", true),
        )
        .await;
    let ok = s(&ok["id"]).to_string();

    let as_user = |method: Method, path: &'static str, token: &'static str, user: String, body: Option<Value>| {
        let api = &api;
        async move { api.call(method, path, token, body, Some(&user)).await }
    };
    let (st, d) = as_user(
        Method::POST,
        "/v1/debtors/",
        PARTNER_TOKEN,
        ok.clone(),
        Some(debtor_body("acting")),
    )
    .await;
    assert_eq!(st, 201, "{d}");
    let (_, mine) = as_user(Method::GET, "/v1/debtors/", PARTNER_TOKEN, ok.clone(), None).await;
    assert_eq!(mine["count"], 1, "a new company starts empty");
    let (_, theirs) = api.get("/v1/debtors/?your_reference=acting", m.token()).await;
    assert_eq!(
        theirs["count"], 0,
        "the fixture company does not see the partner company's debtor"
    );
    let (_, live) = as_user(Method::GET, "/v1/debtors/", PARTNER_PRODUCTION_TOKEN, ok.clone(), None).await;
    assert_eq!(live["count"], 0, "the production key acts in production mode");
    let (_, info) = as_user(Method::GET, "/v1/info/", PARTNER_TOKEN, ok.clone(), None).await;
    assert_eq!(info[0]["user"], "ok@k.example");
    assert_eq!(info[0]["access_mode"], "test");

    let uid = s(&unverified["id"]).to_string();
    let (st, e) = as_user(Method::GET, "/v1/debtors/", PARTNER_TOKEN, uid.clone(), None).await;
    assert_eq!(st, 403);
    assert!(e["detail"].as_str().expect("detail").contains("verified"));
    let (st, v) = control(
        &m,
        &format!("/_mock/paywise/partner/users/{uid}/verify-email"),
        json!({}),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(v["email_verified"], true);
    assert_eq!(
        as_user(Method::GET, "/v1/debtors/", PARTNER_TOKEN, uid, None).await.0,
        200
    );

    let (st, e) = as_user(
        Method::GET,
        "/v1/debtors/",
        PARTNER_TOKEN,
        s(&wrong_company["id"]).to_string(),
        None,
    )
    .await;
    assert_eq!(st, 403);
    assert!(e["detail"].as_str().expect("detail").contains("data submission"));

    // A Case Management key ignores X-User-Id.
    let (st, _) = api.call(Method::GET, "/v1/debtors/", m.token(), None, Some(&ok)).await;
    assert_eq!(st, 200);
}
