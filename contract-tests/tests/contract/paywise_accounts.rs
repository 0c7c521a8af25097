//! Contract tests for the "accounts" slice of paywise's Case Management API v1: debtor
//! sub-resources, statements with their mandate details, and token info.
//!
//! HTTP only, through [`contract_tests::Paywise`]; nothing relies on fixture ids or mock-only
//! endpoints. Debtors are created here and carry a [`unique_reference`]; statements are made by
//! paywise's staff only, so those tests discover them through `GET /v1/statements/` and fail with
//! a message naming what is missing when the account has none.
//!
//! `POST /v1/debtors/{id}/addresses/`, `POST /v1/debtors/{id}/bankaccounts/` and `GET /v1/info/`
//! are known only from an unofficial client (no docs page); their tests check what that client
//! expects. Error bodies are undocumented: only their key structure is asserted.

use contract_tests::{Paywise, skip, unique_reference};
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

const UNKNOWN_UUID: &str = "00000000-0000-4000-8000-000000000000";

fn text<'v>(v: &'v Value, key: &str) -> &'v str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` must be a string in {v}"))
}

/// Checks a money object (`{"value": "12.50", "currency": "EUR"}`) and returns the value in cents.
fn cents(money: &Value, at: &str) -> i64 {
    let value = money["value"]
        .as_str()
        .unwrap_or_else(|| panic!("{at}: money value must be a string in {money}"));
    assert_eq!(money["currency"], "EUR", "{at}: currency in {money}");
    let (whole, frac) = value
        .split_once('.')
        .unwrap_or_else(|| panic!("{at}: {value} needs two decimals"));
    assert_eq!(frac.len(), 2, "{at}: {value} needs two decimals");
    let sign = if whole.starts_with('-') { -1 } else { 1 };
    let whole: i64 = whole.trim_start_matches('-').parse().expect("integer part");
    let frac: i64 = frac.parse().expect("fraction");
    sign * (whole * 100 + frac)
}

fn is_date(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok())
}

fn assert_page(page: &Value, what: &str) {
    assert!(page["count"].is_u64(), "{what}: count in {page}");
    assert!(page["next"].is_null() || page["next"].is_string(), "{what}: next");
    assert!(
        page["previous"].is_null() || page["previous"].is_string(),
        "{what}: previous"
    );
    assert!(page["results"].is_array(), "{what}: results");
}

async fn create_debtor(p: &Paywise) -> Value {
    p.ensure_writable();
    let body = json!({
        "your_reference": unique_reference("debtor"),
        "acting_as": "business",
        "organization": {"name": "Contract Test GmbH"},
        "addresses": [{"street": "Hauptstr. 1", "zip": "10115", "city": "Berlin", "country": "DE"}]
    });
    let res = p.post("/v1/debtors/").json(&body).send().await.expect("sent");
    let status = res.status();
    let debtor: Value = res.json().await.expect("JSON");
    assert_eq!(status, 201, "creating a debtor: {debtor}");
    debtor
}

#[tokio::test]
async fn adding_a_communication_channel_returns_the_whole_debtor() {
    let p = Paywise::connect().await;
    let debtor = create_debtor(&p).await;
    let id = text(&debtor, "id");
    let path = format!("/v1/debtors/{id}/communicationchannels/");
    let res = p
        .post(&path)
        .json(&json!({"type": "email", "value": "buchhaltung@contract-test.example"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 201);
    let out: Value = res.json().await.expect("JSON");
    assert_eq!(out["id"], debtor["id"]);
    assert_eq!(out["href"], debtor["href"]);
    assert_eq!(out["your_reference"], debtor["your_reference"]);
    let channels = out["communication_channels"]
        .as_array()
        .expect("communication_channels");
    assert!(
        channels
            .iter()
            .any(|c| c["type"] == "email" && c["value"] == "buchhaltung@contract-test.example"),
        "the new channel is in {out}"
    );
    let shown = p.get_json(&format!("/v1/debtors/{id}/"), &[]).await;
    assert_eq!(shown["communication_channels"], out["communication_channels"]);

    // An unknown type is a field error; an unknown debtor is 404.
    let res = p
        .post(&path)
        .json(&json!({"type": "no-such-type", "value": "x"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 400);
    let e: Value = res.json().await.expect("JSON");
    assert!(e["type"].is_array(), "a `type` error in {e}");
    let res = p
        .post(&format!("/v1/debtors/{UNKNOWN_UUID}/communicationchannels/"))
        .json(&json!({"type": "email", "value": "a@b.example"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn adding_an_address_and_a_bank_account_returns_the_whole_debtor() {
    let p = Paywise::connect().await;
    let debtor = create_debtor(&p).await;
    let id = text(&debtor, "id");
    let address = json!({"street": "Nebenweg 2", "zip": "80331", "city": "München", "country": "DE"});
    let res = p
        .post(&format!("/v1/debtors/{id}/addresses/"))
        .json(&address)
        .send()
        .await
        .expect("sent");
    assert_eq!(
        res.status(),
        201,
        "POST /v1/debtors/{{id}}/addresses/ (unverified endpoint)"
    );
    let out: Value = res.json().await.expect("JSON");
    assert_eq!(out["id"], debtor["id"]);
    assert!(out["addresses"].as_array().expect("addresses").contains(&address));

    let res = p
        .post(&format!("/v1/debtors/{id}/bankaccounts/"))
        .json(&json!({"iban": "DE89370400440532013000"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        res.status(),
        201,
        "POST /v1/debtors/{{id}}/bankaccounts/ (unverified endpoint)"
    );
    let out: Value = res.json().await.expect("JSON");
    assert!(
        out["bank_accounts"]
            .as_array()
            .expect("bank_accounts")
            .iter()
            .any(|b| b["iban"] == "DE89370400440532013000"),
        "the new bank account is in {out}"
    );
}

/// The account's statements; fails naming what is missing when there are none.
async fn statements(p: &Paywise) -> Vec<Value> {
    let (all, count) = p.walk("/v1/statements/", 50, &[]).await;
    assert_eq!(all.len() as u64, count);
    assert!(
        !all.is_empty(),
        "GET /v1/statements/ has no statement: this test needs at least one collection statement in the \
         test account (paywise creates statements; they cannot be made through the API)"
    );
    all
}

#[tokio::test]
async fn statements_have_the_documented_shape_and_no_mandate_details() {
    let p = Paywise::connect().await;
    let all = statements(&p).await;
    for st in &all {
        for key in [
            "href",
            "id",
            "clearing_no",
            "invoice_no",
            "booking_date",
            "period_start",
            "period_end",
            "canceled",
            "total_balance",
            "balance_pre_outstanding_items_offsetting",
            "offset_outstanding_items",
            "mandate_count",
            "overview_vat_specific",
            "downloads",
            "created",
        ] {
            assert!(st.get(key).is_some(), "statement lacks `{key}`: {st}");
        }
        assert!(
            st.get("mandate_details").is_none(),
            "the list never embeds mandate details"
        );
        for key in ["booking_date", "period_start", "period_end"] {
            assert!(is_date(&st[key]), "`{key}` is a date in {st}");
        }
        assert!(st["canceled"].is_boolean());
        for key in [
            "total_balance",
            "balance_pre_outstanding_items_offsetting",
            "offset_outstanding_items",
        ] {
            cents(&st[key], key);
        }
        assert!(text(st, "href").ends_with(&format!("/v1/statements/{}/", text(st, "id"))));
    }
    let first = &all[0];
    let id = text(first, "id");
    let shown = p.get_json(&format!("/v1/statements/{id}/"), &[]).await;
    assert_eq!(shown["id"], first["id"]);
    assert!(
        shown.get("mandate_details").is_none(),
        "retrieve never embeds mandate details"
    );
    let by_id = p.get_json("/v1/statements/", &[("id", id)]).await;
    assert_eq!(by_id["count"], 1);
    // Tolerance: the reference does not say clearing numbers are unique (nor whether the filter is
    // exact), so the filtered list must hold this statement, not only it.
    let by_clearing = p
        .get_json("/v1/statements/", &[("clearing_no", text(first, "clearing_no"))])
        .await;
    assert!(
        by_clearing["results"]
            .as_array()
            .expect("results")
            .iter()
            .any(|r| r["id"] == first["id"])
    );
    let res = p
        .get(&format!("/v1/statements/{UNKNOWN_UUID}/"))
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 404);
    let res = p
        .get("/v1/statements/")
        .query(&[("booking_date", "not-a-date")])
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 400);
    let e: Value = res.json().await.expect("JSON");
    assert!(e["booking_date"].is_array(), "a booking_date error in {e}");
}

#[tokio::test]
async fn mandate_details_are_a_page_per_statement() {
    let p = Paywise::connect().await;
    let all = statements(&p).await;
    let st = &all[0];
    let path = format!("/v1/statements/{}/mandate-details/", text(st, "id"));
    let page = p.get_json(&path, &[]).await;
    assert_page(&page, &path);
    if let Some(n) = st["mandate_count"].as_u64() {
        assert_eq!(
            page["count"].as_u64(),
            Some(n),
            "count equals the statement's mandate_count"
        );
    }
    for d in page["results"].as_array().expect("results") {
        assert!(d["reference_number"].is_string(), "reference_number in {d}");
        assert!(
            d["mandate"]["id"].is_string() && d["mandate"]["href"].is_string(),
            "mandate in {d}"
        );
        assert!(d["third_party_money_entries"].is_array());
        assert!(d["cost_burden_entries"].is_array());
        // Tolerance: the reference does not say whether the filter is exact or a mandate can have
        // several details in one statement, so it must find at least this one.
        let filtered = p
            .get_json(&path, &[("reference_number", text(d, "reference_number"))])
            .await;
        assert!(filtered["count"].as_u64().unwrap_or(0) >= 1);
    }
    let res = p
        .get(&format!("/v1/statements/{UNKNOWN_UUID}/mandate-details/"))
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn token_info_is_an_array_naming_the_access_mode() {
    let p = Paywise::connect().await;
    let info = p.get_json("/v1/info/", &[]).await;
    let entries = info.as_array().expect("GET /v1/info/ answers an array");
    assert!(!entries.is_empty());
    for key in [
        "id",
        "token_name",
        "user",
        "user_first_name",
        "user_last_name",
        "access_mode",
    ] {
        assert!(entries[0].get(key).is_some(), "token info lacks `{key}`: {info}");
    }
    assert_eq!(
        entries[0]["access_mode"], "test",
        "the contract suite runs with a test-mode key"
    );
    let res = p.client.get(p.url("/v1/info/")).send().await.expect("sent");
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn statement_downloads_serve_the_listed_files() {
    let p = Paywise::connect().await;
    let (all, _) = p.walk("/v1/statements/", 50, &[]).await;
    let Some(st) = all
        .iter()
        .find(|s| s["downloads"].as_array().is_some_and(|d| !d.is_empty()))
    else {
        skip("no statement in the account has downloads (paywise creates statements; the API cannot)");
        return;
    };
    let id = text(st, "id");
    let downloads = st["downloads"].as_array().expect("downloads is an array");
    let shown = p.get_json(&format!("/v1/statements/{id}/"), &[]).await;
    assert_eq!(
        &shown["downloads"], &st["downloads"],
        "list and retrieve show the same downloads"
    );
    for d in downloads {
        let url = text(d, "download_url");
        let parsed = reqwest::Url::parse(url).unwrap_or_else(|e| panic!("download_url {url:?}: {e}"));
        let base = reqwest::Url::parse(&p.base).expect("the base URL parses");
        // Tolerance: the path of statement downloads is not documented (only `download_url`), and
        // one of paywise's examples shows `http://` links: only the host is compared.
        assert_eq!(
            parsed.host_str(),
            base.host_str(),
            "download_url {url:?} must be served by the API at {}",
            p.base
        );
        let res = p.client.get(url).bearer_auth(&p.token).send().await.expect("sent");
        assert_eq!(res.status(), 200, "GET {url}");
        let media = res
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        assert_eq!(media, text(d, "mime_type"), "GET {url}: content type");
        let bytes = res.bytes().await.expect("a body");
        assert_eq!(json!(bytes.len()), d["file_size"], "GET {url}: file_size is the size");
        if d["type"] == "full_pdf" {
            assert!(bytes.starts_with(b"%PDF"), "GET {url}: full_pdf is a PDF");
        }
        let res = p.client.get(url).send().await.expect("sent");
        assert_eq!(res.status(), 401, "GET {url} without a token");
    }
    let download = text(&downloads[0], "id");
    for path in [
        format!("/v1/statements/{id}/downloads/{UNKNOWN_UUID}/"),
        format!("/v1/statements/{UNKNOWN_UUID}/downloads/{download}/"),
    ] {
        let res = p.get(&path).send().await.expect("sent");
        assert_eq!(res.status(), 404, "GET {path}");
        let e: Value = res.json().await.expect("JSON");
        assert!(e["detail"].is_string(), "GET {path}: {{\"detail\": ...}}, got {e}");
    }
}
