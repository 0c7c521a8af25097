//! paywise v2 statements: `/v2/statements/` (v1's collective statements seen through v2, with
//! their files and case rows), `/v2/single-mandate-statements/` (v2-only, seeded from the fixture
//! mandates in v1's statements), and the back office under `/_mock/paywise/v2/` that publishes and
//! cancels them, with its events in `GET /v2/events/`.
//!
//! Every test starts its own mock (seed 42) on a frozen clock; events and `updated_since` rows
//! settle after 60 s, so the tests move the mock's clock.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use chrono::Duration;
use mock_paywise::{MockPaywise, PaywiseMock as _};
use reqwest::header::{ETAG, IF_NONE_MATCH};
use rust_decimal::Decimal;
use serde_json::{Value, json};

struct Api {
    m: MockPaywise,
    c: reqwest::Client,
}

impl Api {
    async fn start() -> Self {
        Self::seeded(42).await
    }

    async fn seeded(seed: u64) -> Self {
        Api {
            m: MockPaywise::test()
                .seed(seed)
                .clock(mock_core::testing::frozen())
                .start()
                .await,
            c: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.m.uri())
        }
    }

    async fn get_with(&self, path: &str, token: &str) -> (u16, Value) {
        let res = self
            .c
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("sent");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.get_with(path, self.m.token()).await
    }

    /// A 200 answer's body.
    async fn ok(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    async fn raw(&self, path: &str, if_none_match: Option<&str>) -> reqwest::Response {
        let mut req = self.c.get(self.url(path)).bearer_auth(self.m.token());
        if let Some(tag) = if_none_match {
            req = req.header(IF_NONE_MATCH, tag);
        }
        req.send().await.expect("sent")
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let res = self
            .c
            .post(self.url(path))
            .bearer_auth(self.m.token())
            .json(&body)
            .send()
            .await
            .expect("sent");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Every row of a v2 list (following `next`).
    async fn all(&self, path: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut next = Some(path.to_string());
        while let Some(url) = next {
            let page = self.ok(&url).await;
            out.extend(page["results"].as_array().expect("results").iter().cloned());
            next = page["next"].as_str().map(str::to_string);
        }
        out
    }

    async fn ids(&self, path: &str) -> Vec<String> {
        self.all(path).await.iter().map(|r| id(r).to_string()).collect()
    }

    /// How many of `rows` changed at least 60 s ago (what `updated_since` returns).
    fn settled(&self, rows: &[Value]) -> usize {
        let until = self.m.clock().now() - Duration::seconds(60);
        rows.iter()
            .filter(|r| {
                chrono::DateTime::parse_from_rfc3339(r["updated_at"].as_str().expect("updated_at"))
                    .expect("a timestamp")
                    <= until
            })
            .count()
    }

    /// Moves the mock's clock past the 60 s settling delay of the event feed.
    fn settle(&self) {
        self.m.clock().advance(Duration::seconds(61));
    }

    /// The events of `kind` in the feed.
    async fn events(&self, kind: &str) -> Vec<Value> {
        let feed = self.ok(&format!("/v2/events/?event_type={kind}&limit=100")).await;
        feed["results"].as_array().expect("results").clone()
    }
}

fn id(v: &Value) -> &str {
    v["id"].as_str().expect("an id")
}

fn dec(v: &Value) -> Decimal {
    Decimal::from_str(v["value"].as_str().expect("an amount's value")).expect("a decimal string")
}

fn keys(v: &Value, expected: &[&str], what: &str) {
    let o = v.as_object().unwrap_or_else(|| panic!("{what} is not an object: {v}"));
    for k in expected {
        assert!(o.contains_key(*k), "{what} has no {k}: {v}");
    }
}

/// Every `{value, currency}` below `v` is an exact two-decimal EUR string.
fn amounts_are_exact(v: &Value, at: &str) {
    match v {
        Value::Object(o) => {
            if let (Some(value), Some(currency)) = (o.get("value"), o.get("currency")) {
                let s = value
                    .as_str()
                    .unwrap_or_else(|| panic!("{at}.value is not a string: {v}"));
                let (_, decimals) = s.split_once('.').unwrap_or_else(|| panic!("{at}: {s} has no decimals"));
                assert_eq!(decimals.len(), 2, "{at}: {s}");
                assert!(Decimal::from_str(s).is_ok(), "{at}: {s}");
                assert_eq!(currency, "EUR", "{at}");
            }
            for (k, x) in o {
                amounts_are_exact(x, &format!("{at}.{k}"));
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                amounts_are_exact(x, &format!("{at}[{i}]"));
            }
        }
        _ => {}
    }
}

const LIST_KEYS: &[&str] = &[
    "id",
    "clearing_no",
    "invoice_no",
    "booking_date",
    "period_start",
    "period_end",
    "status",
    "cancelled_at",
    "published_at",
    "comment",
    "mandate_count",
    "created_at",
    "updated_at",
];
const ROW_KEYS: &[&str] = &[
    "id",
    "reference_number",
    "debtor",
    "state",
    "created_at",
    "amount",
    "closing",
    "cost_burden",
    "third_party_money",
    "related_statements",
];
const ALLOCATION_BLOCK: &[&str] = &[
    "total_payments",
    "payout",
    "allocation_to_main_claim",
    "allocation_to_default_interest",
    "allocation_to_fee",
    "allocation_to_fee_vat",
    "allocation_to_success_commission",
    "allocation_to_success_commission_vat",
    "allocation_to_tax_free_expenses",
    "allocation_to_taxable_expenses",
    "allocation_to_taxable_expenses_vat",
    "allocation_to_client_costs",
    "allocation_to_client_expenses",
    "allocation_to_overpayment",
];
const SINGLE_LIST_KEYS: &[&str] = &[
    "id",
    "reference_number",
    "statement_type",
    "status",
    "booking_date",
    "period_start",
    "period_end",
    "clearing_no",
    "invoice_no",
    "your_reference",
    "cancelled_at",
    "created_at",
    "updated_at",
];
const STATEMENT_TYPES: &[&str] = &[
    "expenses_invoice",
    "final",
    "interim",
    "negative_closing",
    "transition_to_longtime_monitoring",
];

/// Checks the shape of a `StatementRead` (every documented key, percent VAT rates, exact amounts).
fn check_statement_read(s: &Value) {
    keys(s, LIST_KEYS, "statement");
    keys(s, &["financials", "files", "mandates"], "statement");
    amounts_are_exact(s, "statement");
    let status = s["status"].as_str().expect("status");
    assert!(["published", "cancelled"].contains(&status), "{status}");
    assert_eq!(status == "cancelled", !s["cancelled_at"].is_null(), "{s}");
    keys(
        &s["financials"],
        &[
            "balance_before_outstanding_items_offsetting",
            "outstanding_items_offset",
            "total_balance",
            "vat_entries",
        ],
        "financials",
    );
    let f = &s["financials"];
    assert_eq!(
        dec(&f["balance_before_outstanding_items_offsetting"]) - dec(&f["outstanding_items_offset"]),
        dec(&f["total_balance"])
    );
    for e in f["vat_entries"].as_array().expect("vat_entries") {
        keys(
            e,
            &[
                "vat_rate",
                "invoice_amount",
                "invoice_amount_vat",
                "vat",
                "payout",
                "total_payments_to_dca",
                "instalment_payments_to_client",
                "claims_from_payments_to_dca",
                "claims_from_payments_to_client",
                "claims_from_advanced_costs",
            ],
            "vat entry",
        );
        assert_eq!(e["vat_rate"], "19.00", "collective statements use percent VAT rates");
        let seven = [
            "fee_claims",
            "fee_vat_claims",
            "success_commission_claims",
            "success_commission_vat_claims",
            "taxable_expenses_claims",
            "taxable_expenses_vat_claims",
            "taxfree_expenses_claims",
        ];
        keys(&e["claims_from_payments_to_dca"], &seven, "claims_from_payments_to_dca");
        keys(
            &e["claims_from_payments_to_client"],
            &seven,
            "claims_from_payments_to_client",
        );
        keys(
            &e["claims_from_advanced_costs"],
            &[
                "fee_claims",
                "fee_vat_claims",
                "taxable_expenses_claims",
                "taxable_expenses_vat_claims",
                "taxfree_expenses_claims",
                "taxable_litigation_expenses_claims",
                "taxable_litigation_expenses_vat_claims",
                "taxfree_litigation_expenses_claims",
            ],
            "claims_from_advanced_costs",
        );
        assert_eq!(
            dec(&e["invoice_amount"]) + dec(&e["vat"]),
            dec(&e["invoice_amount_vat"])
        );
    }
    for file in s["files"].as_array().expect("files") {
        keys(file, &["type", "filename", "media_type", "download_url"], "file");
        let kind = file["type"].as_str().expect("type");
        assert!(
            ["full-pdf", "third-party-money-xlsx", "cost-burden-xlsx", "closing-xlsx"].contains(&kind),
            "{kind}"
        );
        let url = file["download_url"].as_str().expect("download_url");
        assert!(
            url.ends_with(&format!("/v2/statements/{}/download/?type={kind}", id(s))),
            "{url}"
        );
    }
    let rows = s["mandates"].as_array().expect("mandates");
    assert_eq!(rows.len() as u64, s["mandate_count"].as_u64().expect("mandate_count"));
    for row in rows {
        keys(row, ROW_KEYS, "case row");
        keys(&row["state"], &["legal_stage", "processing", "payment"], "state");
        if !row["closing"].is_null() {
            keys(
                &row["closing"],
                &[
                    "closing_date",
                    "closing_code",
                    "closing_description",
                    "closing_type",
                    "accepted_main_claim_amount",
                    "remaining_main_claim_amount",
                ],
                "closing",
            );
            let kind = row["closing"]["closing_type"].as_str().expect("closing_type");
            assert!(["positive", "negative", "transition_to_longtime_monitoring"].contains(&kind));
        }
        for c in row["cost_burden"].as_array().expect("cost_burden") {
            keys(
                c,
                &[
                    "vat_rate",
                    "fee",
                    "fee_vat",
                    "tax_free_expenses",
                    "taxable_expenses",
                    "taxable_expenses_vat",
                    "litigation_taxfree_expenses",
                    "litigation_taxable_expenses",
                    "litigation_taxable_expenses_vat",
                    "total_amount",
                ],
                "cost burden",
            );
            assert_eq!(c["vat_rate"], "19.00");
        }
        for t in row["third_party_money"].as_array().expect("third_party_money") {
            keys(
                t,
                &[
                    "vat_rate",
                    "total_payments",
                    "payments_to_dca",
                    "payments_to_client",
                    "extraordinary_payouts_to_client",
                ],
                "third-party money",
            );
            assert_eq!(t["vat_rate"], "19.00");
            let mut sum = Decimal::ZERO;
            for block in [
                "payments_to_dca",
                "payments_to_client",
                "extraordinary_payouts_to_client",
            ] {
                keys(&t[block], ALLOCATION_BLOCK, block);
                let allocated: Decimal = ALLOCATION_BLOCK[2..].iter().map(|k| dec(&t[block][*k])).sum();
                assert_eq!(allocated, dec(&t[block]["total_payments"]), "{block} adds up: {t}");
                sum += dec(&t[block]["total_payments"]);
            }
            assert_eq!(sum, dec(&t["total_payments"]));
        }
        for r in row["related_statements"].as_array().expect("related_statements") {
            keys(
                r,
                &["id", "clearing_no", "booking_date", "period_start", "period_end"],
                "related",
            );
            assert_ne!(r["id"], s["id"]);
        }
    }
}

/// Checks the shape and sums of a `SingleMandateStatementRead`.
fn check_single_read(s: &Value) {
    keys(s, SINGLE_LIST_KEYS, "single-mandate statement");
    keys(
        s,
        &[
            "comment",
            "mandate",
            "payout_method",
            "pre_tax_deductible",
            "file",
            "financials",
        ],
        "single-mandate statement",
    );
    amounts_are_exact(s, "single");
    assert!(STATEMENT_TYPES.contains(&s["statement_type"].as_str().expect("statement_type")));
    assert!(["transfer", "direct_debit"].contains(&s["payout_method"].as_str().expect("payout_method")));
    assert!(s["pre_tax_deductible"].is_boolean());
    keys(&s["file"], &["filename", "media_type", "download_url"], "file");
    assert_eq!(s["file"]["media_type"], "application/pdf");
    let url = s["file"]["download_url"].as_str().expect("download_url");
    assert!(
        url.ends_with(&format!("/v2/single-mandate-statements/{}/download/", id(s))),
        "{url}"
    );
    let f = &s["financials"];
    keys(
        f,
        &[
            "principal_claims",
            "principal_claims_total",
            "open_principal_claim",
            "total_balance",
            "vat_entries",
            "cost_burden",
        ],
        "financials",
    );
    let claims = f["principal_claims"].as_array().expect("principal_claims");
    for c in claims {
        keys(c, &["voucher_no", "voucher_date", "amount"], "principal claim");
    }
    let total: Decimal = claims.iter().map(|c| dec(&c["amount"])).sum();
    assert_eq!(total, dec(&f["principal_claims_total"]));
    let mut payout = Decimal::ZERO;
    for e in f["vat_entries"].as_array().expect("vat_entries") {
        let mut expected: Vec<&str> = vec![
            "vat_rate",
            "payments_to_dca",
            "payments_to_client",
            "instalment_payments_to_client",
        ];
        expected.extend_from_slice(ALLOCATION_BLOCK);
        keys(e, &expected, "vat entry");
        assert_eq!(
            e["vat_rate"], "0.19",
            "single-mandate statements use fraction VAT rates"
        );
        assert_eq!(
            dec(&e["payments_to_dca"]) + dec(&e["payments_to_client"]),
            dec(&e["total_payments"])
        );
        let allocated: Decimal = ALLOCATION_BLOCK[2..].iter().map(|k| dec(&e[*k])).sum();
        assert_eq!(allocated, dec(&e["total_payments"]), "allocations add up: {e}");
        payout += dec(&e["payout"]);
    }
    let mut cost = Decimal::ZERO;
    if !f["cost_burden"].is_null() {
        let c = &f["cost_burden"];
        keys(
            c,
            &[
                "vat_rate",
                "fee",
                "fee_vat",
                "tax_free_expenses",
                "taxable_expenses",
                "taxable_expenses_vat",
                "total_net",
                "total_vat",
                "total_amount",
                "items",
            ],
            "cost burden",
        );
        assert_eq!(c["vat_rate"], "0.19");
        let items = c["items"].as_array().expect("items");
        assert!(!items.is_empty());
        let mut net = Decimal::ZERO;
        let mut vat = Decimal::ZERO;
        for i in items {
            keys(
                i,
                &[
                    "account_code",
                    "main_account_code",
                    "designation",
                    "net_amount",
                    "vat_amount",
                    "gross_amount",
                ],
                "cost item",
            );
            assert_eq!(dec(&i["net_amount"]) + dec(&i["vat_amount"]), dec(&i["gross_amount"]));
            net += dec(&i["net_amount"]);
            vat += dec(&i["vat_amount"]);
        }
        assert_eq!(net, dec(&c["total_net"]));
        assert_eq!(vat, dec(&c["total_vat"]));
        assert_eq!(net + vat, dec(&c["total_amount"]));
        assert_eq!(
            dec(&c["fee"]) + dec(&c["tax_free_expenses"]) + dec(&c["taxable_expenses"]),
            dec(&c["total_net"])
        );
        cost = dec(&c["total_amount"]);
    }
    assert_eq!(payout - cost, dec(&f["total_balance"]));
    let expected_method = if dec(&f["total_balance"]) >= Decimal::ZERO {
        "transfer"
    } else {
        "direct_debit"
    };
    assert_eq!(s["payout_method"], expected_method);
}

#[tokio::test]
async fn v1_and_v2_show_the_same_collective_statements() {
    let api = Api::start().await;
    let v1 = api.ok("/v1/statements/?limit=100").await;
    let v1_rows = v1["results"].as_array().expect("results").clone();
    let v2_rows = api.all("/v2/statements/?limit=100").await;
    assert!(v1_rows.len() >= 2, "the fixtures have statements");
    let v1_ids: BTreeSet<&str> = v1_rows.iter().map(id).collect();
    let v2_ids: BTreeSet<&str> = v2_rows.iter().map(id).collect();
    assert_eq!(v1_ids, v2_ids);
    let by_id: BTreeMap<&str, &Value> = v2_rows.iter().map(|r| (id(r), r)).collect();
    let mut cancelled = 0;
    for old in &v1_rows {
        let new = by_id[id(old)];
        keys(new, LIST_KEYS, "list row");
        for k in [
            "clearing_no",
            "invoice_no",
            "booking_date",
            "period_start",
            "period_end",
            "mandate_count",
            "comment",
        ] {
            assert_eq!(old[k], new[k], "{k} of {}", id(old));
        }
        let canceled = old["canceled"].as_bool().expect("canceled");
        assert_eq!(new["status"], if canceled { "cancelled" } else { "published" });
        assert_eq!(new["cancelled_at"].is_null(), !canceled);
        assert_eq!(new["published_at"], old["created"]);
        assert_eq!(new["created_at"], old["created"]);
        cancelled += usize::from(canceled);

        let read = api.ok(&format!("/v2/statements/{}/", id(old))).await;
        check_statement_read(&read);
        let f = &read["financials"];
        assert_eq!(f["total_balance"]["value"], old["total_balance"]["value"]);
        assert_eq!(
            f["balance_before_outstanding_items_offsetting"]["value"],
            old["balance_pre_outstanding_items_offsetting"]["value"]
        );
        assert_eq!(
            f["outstanding_items_offset"]["value"],
            old["offset_outstanding_items"]["value"]
        );
        let v1_types: BTreeSet<String> = old["downloads"]
            .as_array()
            .expect("downloads")
            .iter()
            .map(|d| d["type"].as_str().expect("type").replace('_', "-"))
            .collect();
        let v2_types: BTreeSet<String> = read["files"]
            .as_array()
            .expect("files")
            .iter()
            .map(|d| d["type"].as_str().expect("type").to_string())
            .collect();
        assert_eq!(v1_types, v2_types);
        let details = api
            .ok(&format!("/v1/statements/{}/mandate-details/?limit=100", id(old)))
            .await;
        let v1_refs: Vec<&Value> = details["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|d| &d["reference_number"])
            .collect();
        let v2_refs: Vec<&Value> = read["mandates"]
            .as_array()
            .expect("mandates")
            .iter()
            .map(|r| &r["reference_number"])
            .collect();
        assert_eq!(v1_refs, v2_refs);
    }
    assert!(cancelled >= 1, "the fixtures have a cancelled statement");

    // The production token sees production's statements only, in both versions.
    let (_, v1_prod) = api
        .get_with("/v1/statements/?limit=100", api.m.production_token())
        .await;
    let (_, v2_prod) = api
        .get_with("/v2/statements/?limit=100", api.m.production_token())
        .await;
    let a: BTreeSet<&str> = v1_prod["results"].as_array().expect("results").iter().map(id).collect();
    let b: BTreeSet<&str> = v2_prod["results"].as_array().expect("results").iter().map(id).collect();
    assert_eq!(a, b);
    assert!(a.is_disjoint(&v2_ids));
}

#[tokio::test]
async fn statement_list_filters_ordering_and_paging() {
    let api = Api::start().await;
    let rows = api.all("/v2/statements/?limit=100").await;
    let n = rows.len();
    assert!(n >= 3);

    // Default order: newest created first.
    let created: Vec<&str> = rows
        .iter()
        .map(|r| r["created_at"].as_str().expect("created_at"))
        .collect();
    let mut sorted = created.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(created, sorted);

    // Ordering by each field, both ways.
    for (field, key) in [
        ("booking_date", "booking_date"),
        ("period_start", "period_start"),
        ("period_end", "period_end"),
        ("created", "created_at"),
        ("updated", "updated_at"),
        ("clearing_no", "clearing_no"),
        ("invoice_no", "invoice_no"),
    ] {
        let up = api.all(&format!("/v2/statements/?ordering={field}")).await;
        let values: Vec<String> = up
            .iter()
            .map(|r| r[key].as_str().expect("a value").to_string())
            .collect();
        let mut expected = values.clone();
        expected.sort();
        assert_eq!(values, expected, "ordering={field}");
        let down = api.all(&format!("/v2/statements/?ordering=-{field}")).await;
        let values: Vec<String> = down
            .iter()
            .map(|r| r[key].as_str().expect("a value").to_string())
            .collect();
        expected.reverse();
        assert_eq!(values, expected, "ordering=-{field}");
    }

    // Status.
    let cancelled = api.all("/v2/statements/?status=cancelled").await;
    let published = api.all("/v2/statements/?status=published").await;
    assert!(!cancelled.is_empty());
    assert!(
        cancelled
            .iter()
            .all(|r| r["status"] == "cancelled" && !r["cancelled_at"].is_null())
    );
    assert!(
        published
            .iter()
            .all(|r| r["status"] == "published" && r["cancelled_at"].is_null())
    );
    assert_eq!(cancelled.len() + published.len(), n);

    // Exact numbers, date ranges (inclusive).
    let one = &rows[1];
    for (param, key) in [("clearing_no", "clearing_no"), ("invoice_no", "invoice_no")] {
        let value = one[key].as_str().expect("a number");
        assert_eq!(
            api.ids(&format!("/v2/statements/?{param}={value}")).await,
            vec![id(one).to_string()]
        );
        let partial = &value[..value.len() - 1];
        assert!(api.ids(&format!("/v2/statements/?{param}={partial}")).await.is_empty());
    }
    for (prefix, key) in [
        ("booking_date", "booking_date"),
        ("period_start", "period_start"),
        ("period_end", "period_end"),
    ] {
        let d = one[key].as_str().expect("a date");
        let exact = api
            .all(&format!("/v2/statements/?{prefix}_from={d}&{prefix}_to={d}"))
            .await;
        assert!(
            exact.iter().any(|r| id(r) == id(one)),
            "{prefix} range includes its ends"
        );
        assert!(exact.iter().all(|r| r[key] == d));
        let from = api.all(&format!("/v2/statements/?{prefix}_from={d}")).await;
        assert!(from.iter().all(|r| r[key].as_str().expect("a date") >= d));
        let to = api.all(&format!("/v2/statements/?{prefix}_to={d}")).await;
        assert!(to.iter().all(|r| r[key].as_str().expect("a date") <= d));
        assert_eq!(from.len() + to.len() - exact.len(), n);
    }

    // A case's file number: the statements containing it.
    let read = api.ok(&format!("/v2/statements/{}/", id(one))).await;
    let case = read["mandates"][0].clone();
    assert!(case.is_object(), "the fixture statement has cases: {read}");
    let reference = case["reference_number"].as_str().expect("reference_number");
    let with_case = api
        .ids(&format!("/v2/statements/?mandate_reference_number={reference}"))
        .await;
    assert!(with_case.contains(&id(one).to_string()));
    let related: BTreeSet<String> = case["related_statements"]
        .as_array()
        .expect("related")
        .iter()
        .map(|r| id(r).to_string())
        .collect();
    let published_ids: BTreeSet<String> = published.iter().map(|r| id(r).to_string()).collect();
    for other in &with_case {
        if other != id(one) && published_ids.contains(other) {
            assert!(related.contains(other), "{other} is related");
        }
    }
    assert!(related.iter().all(|r| with_case.contains(r)));

    // q: the statement's id, a clearing number substring (any case), a case reference (exact).
    assert_eq!(
        api.ids(&format!("/v2/statements/?q={}", id(one))).await,
        vec![id(one).to_string()]
    );
    let clearing = one["clearing_no"].as_str().expect("clearing_no");
    let tail = clearing[clearing.len() - 4..].to_lowercase();
    assert!(
        api.ids(&format!("/v2/statements/?q={tail}"))
            .await
            .contains(&id(one).to_string())
    );
    let by_ref = api
        .ids(&format!("/v2/statements/?q={}", reference.to_lowercase()))
        .await;
    assert!(by_ref.contains(&id(one).to_string()));

    // Offset pages.
    let first = api.ok("/v2/statements/?limit=2").await;
    assert_eq!(first["count"].as_u64(), Some(n as u64));
    assert_eq!(first["results"].as_array().expect("results").len(), 2);
    assert!(first["previous"].is_null());
    let second = api.ok(first["next"].as_str().expect("next")).await;
    assert!(second["previous"].is_string());
    assert_ne!(first["results"][0]["id"], second["results"][0]["id"]);

    // updated_since: every settled row, oldest change first, by cursor.
    let since = api
        .all("/v2/statements/?updated_since=2000-01-01T00:00:00Z&limit=2")
        .await;
    assert_eq!(since.len(), api.settled(&rows));
    assert!(since.len() >= 2);
    let changed: Vec<&str> = since
        .iter()
        .map(|r| r["updated_at"].as_str().expect("updated_at"))
        .collect();
    let mut ordered = changed.clone();
    ordered.sort_unstable();
    assert_eq!(changed, ordered);
    let page = api
        .ok("/v2/statements/?updated_since=2000-01-01T00:00:00Z&limit=2")
        .await;
    assert!(page["previous"].is_null());
    assert!(page["next"].as_str().expect("next").contains("cursor="));

    // Refusals.
    for bad in [
        "/v2/statements/?status=open",
        "/v2/statements/?booking_date_from=yesterday",
        "/v2/statements/?period_end_to=2026-13-01",
        "/v2/statements/?ordering=amount",
        "/v2/statements/?limit=101",
        "/v2/statements/?updated_since=2026-01-01",
        "/v2/statements/?updated_since=2000-01-01T00:00:00Z&offset=2",
        "/v2/statements/?cursor=abc",
    ] {
        let (status, body) = api.get(bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["code"], "validation_error", "{bad}");
    }
}

#[tokio::test]
async fn statement_detail_conditional_get_and_refusals() {
    let api = Api::start().await;
    let rows = api.all("/v2/statements/").await;
    for row in &rows {
        let read = api.ok(&format!("/v2/statements/{}/", id(row))).await;
        check_statement_read(&read);
        for k in LIST_KEYS {
            assert_eq!(read[*k], row[*k], "{k}: the list row is the detail's head");
        }
        // Live case values: the mandate as v2 shows it now.
        for case in read["mandates"].as_array().expect("mandates") {
            let m = api.ok(&format!("/v2/mandates/{}/", id(case))).await;
            assert_eq!(case["amount"], m["total_amount"]);
            assert_eq!(case["state"], m["state"]);
            assert_eq!(case["debtor"], m["debtor"]);
            assert_eq!(case["created_at"], m["created_at"]);
            assert_eq!(case["reference_number"], m["reference_number"]);
        }
    }

    let path = format!("/v2/statements/{}/", id(&rows[0]));
    let res = api.raw(&path, None).await;
    assert_eq!(res.status(), 200);
    let tag = res.headers()[ETAG].to_str().expect("an ETag").to_string();
    let again = api.raw(&path, Some(&tag)).await;
    assert_eq!(again.status(), 304);
    assert!(again.bytes().await.expect("a body").is_empty());
    assert_eq!(api.raw(&path, Some("*")).await.status(), 304);
    assert_eq!(api.raw(&path, Some("\"other\"")).await.status(), 200);

    for missing in [
        "/v2/statements/00000000-0000-4000-8000-000000000000/",
        "/v2/statements/not-a-uuid/",
        "/v2/statements/00000000-0000-4000-8000-000000000000/mandates/",
        "/v2/statements/00000000-0000-4000-8000-000000000000/download/",
    ] {
        let (status, body) = api.get(missing).await;
        assert_eq!(status, 404, "{missing}");
        assert_eq!(body["code"], "not_found");
    }
    // Another environment's statement is not found.
    let (status, _) = api.get_with(&path, api.m.production_token()).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn statement_downloads_by_type() {
    let api = Api::start().await;
    let rows = api.all("/v2/statements/").await;
    let s = api.ok(&format!("/v2/statements/{}/", id(&rows[0]))).await;
    let v1 = api.ok(&format!("/v1/statements/{}/", id(&rows[0]))).await;
    let files = s["files"].as_array().expect("files");
    assert_eq!(files.len(), 4, "the fixtures transferred every file");
    for f in files {
        let url = f["download_url"].as_str().expect("download_url");
        let res = api.raw(url, None).await;
        assert_eq!(res.status(), 200, "{url}");
        assert_eq!(
            res.headers()["content-type"].to_str().expect("a content type"),
            f["media_type"].as_str().expect("media_type")
        );
        let disposition = res.headers()["content-disposition"]
            .to_str()
            .expect("a disposition")
            .to_string();
        assert!(
            disposition.contains(f["filename"].as_str().expect("filename")),
            "{disposition}"
        );
        let bytes = res.bytes().await.expect("bytes");
        // The same bytes as v1's download of that type.
        let v1_kind = f["type"].as_str().expect("type").replace('-', "_");
        let v1_file = v1["downloads"]
            .as_array()
            .expect("downloads")
            .iter()
            .find(|d| d["type"] == v1_kind.as_str())
            .expect("v1 has the file");
        let v1_bytes = api
            .raw(v1_file["download_url"].as_str().expect("download_url"), None)
            .await
            .bytes()
            .await
            .expect("bytes");
        assert_eq!(bytes, v1_bytes, "{v1_kind}");
    }
    // The default is the PDF.
    let base = format!("/v2/statements/{}/download/", id(&s));
    let default = api.raw(&base, None).await;
    assert_eq!(default.status(), 200);
    assert_eq!(default.headers()["content-type"], "application/pdf");
    let pdf = default.bytes().await.expect("bytes");
    assert!(pdf.starts_with(b"%PDF"));
    let explicit = api
        .raw(&format!("{base}?type=full-pdf"), None)
        .await
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(pdf, explicit);

    // An unknown type is a 400; v1's underscore names are not v2's.
    for bad in ["everything-zip", "full_pdf", ""] {
        let (status, body) = api.get(&format!("{base}?type={bad}")).await;
        assert_eq!(status, 400, "type={bad}");
        assert_eq!(body["code"], "validation_error");
    }
}

#[tokio::test]
async fn statement_case_rows_page_and_filter() {
    let api = Api::start().await;
    let rows = api.all("/v2/statements/").await;
    let s = rows
        .iter()
        .find(|r| r["mandate_count"].as_u64().unwrap_or(0) >= 2)
        .expect("a statement with two cases");
    let read = api.ok(&format!("/v2/statements/{}/", id(s))).await;
    let base = format!("/v2/statements/{}/mandates/", id(s));

    let page = api.ok(&base).await;
    keys(&page, &["count", "next", "previous", "results"], "case row page");
    assert_eq!(page["count"], read["mandate_count"]);
    assert_eq!(
        page["results"], read["mandates"],
        "the same rows as the detail's mandates"
    );

    let first = api.ok(&format!("{base}?limit=1")).await;
    assert_eq!(first["results"].as_array().expect("results").len(), 1);
    assert_eq!(first["results"][0], read["mandates"][0]);
    let second = api.ok(first["next"].as_str().expect("next")).await;
    assert_eq!(second["results"][0], read["mandates"][1]);
    assert!(second["previous"].is_string());

    // reference_number: a case-insensitive substring.
    let case = &read["mandates"][1];
    let reference = case["reference_number"].as_str().expect("reference_number");
    let part = reference[1..].to_lowercase();
    let hits = api.ids(&format!("{base}?reference_number={part}")).await;
    assert!(hits.contains(&id(case).to_string()));
    assert!(api.ids(&format!("{base}?reference_number=zz-nothing")).await.is_empty());

    // your_reference and document_reference: any claim of the case, case-insensitive substring.
    let m = api.ok(&format!("/v2/mandates/{}/", id(case))).await;
    let claim = &m["claims"][0];
    if let Some(yours) = claim["your_reference"].as_str() {
        let hits = api
            .ids(&format!("{base}?your_reference={}", yours[1..].to_lowercase()))
            .await;
        assert!(hits.contains(&id(case).to_string()), "your_reference {yours}");
    }
    if let Some(doc) = claim["document_reference"].as_str() {
        let hits = api
            .ids(&format!("{base}?document_reference={}", doc.to_lowercase()))
            .await;
        assert!(hits.contains(&id(case).to_string()), "document_reference {doc}");
    }
    assert!(
        api.ids(&format!("{base}?document_reference=zz-nothing"))
            .await
            .is_empty()
    );

    // No cursor mode here.
    for bad in [
        format!("{base}?updated_since=2000-01-01T00:00:00Z"),
        format!("{base}?limit=0"),
    ] {
        let (status, body) = api.get(&bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
}

#[tokio::test]
async fn single_mandate_statements_from_the_fixtures() {
    let api = Api::start().await;
    let rows = api.all("/v2/single-mandate-statements/?limit=100").await;
    assert!(!rows.is_empty(), "the fixtures derive single-mandate statements");

    // One or two per mandate that is in v1's statements, and only for those.
    let mut in_statements = BTreeSet::new();
    for s in api.all("/v2/statements/").await {
        let read = api.ok(&format!("/v2/statements/{}/", id(&s))).await;
        for case in read["mandates"].as_array().expect("mandates") {
            in_statements.insert(case["reference_number"].as_str().expect("reference").to_string());
        }
    }
    let mut per_case: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rows {
        keys(r, SINGLE_LIST_KEYS, "single row");
        *per_case
            .entry(r["reference_number"].as_str().expect("reference").to_string())
            .or_default() += 1;
    }
    assert_eq!(per_case.keys().cloned().collect::<BTreeSet<_>>(), in_statements);
    assert!(per_case.values().all(|n| (1..=2).contains(n)), "{per_case:?}");

    let mut with_cost = 0;
    for r in &rows {
        let read = api.ok(&format!("/v2/single-mandate-statements/{}/", id(r))).await;
        check_single_read(&read);
        for k in SINGLE_LIST_KEYS {
            assert_eq!(read[*k], r[*k], "{k}");
        }
        assert_eq!(read["mandate"]["reference_number"], read["reference_number"]);
        with_cost += usize::from(!read["financials"]["cost_burden"].is_null());
        // A statement from a cancelled collective statement is cancelled too.
        assert_eq!(read["status"] == "cancelled", !read["cancelled_at"].is_null());
    }
    assert!(with_cost >= 1, "some fixture settlements bear costs");

    // The PDF.
    let one = &rows[0];
    let res = api
        .raw(&format!("/v2/single-mandate-statements/{}/download/", id(one)), None)
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let pdf = res.bytes().await.expect("bytes");
    assert!(pdf.starts_with(b"%PDF-1."));
    assert!(pdf.ends_with(b"%%EOF\n"));
    assert!(pdf.windows(6).any(|w| w == b"/Count"), "a page tree");

    // 304.
    let path = format!("/v2/single-mandate-statements/{}/", id(one));
    let res = api.raw(&path, None).await;
    let tag = res.headers()[ETAG].to_str().expect("an ETag").to_string();
    assert_eq!(api.raw(&path, Some(&tag)).await.status(), 304);

    // 404s.
    for missing in [
        "/v2/single-mandate-statements/00000000-0000-4000-8000-000000000000/",
        "/v2/single-mandate-statements/nope/",
        "/v2/single-mandate-statements/00000000-0000-4000-8000-000000000000/download/",
    ] {
        let (status, body) = api.get(missing).await;
        assert_eq!(status, 404, "{missing}");
        assert_eq!(body["code"], "not_found");
    }
}

#[tokio::test]
async fn single_mandate_statement_filters_and_ordering() {
    let api = Api::start().await;
    let rows = api.all("/v2/single-mandate-statements/?limit=100").await;
    let n = rows.len();
    let base = "/v2/single-mandate-statements/";

    // Default: newest created first.
    let created: Vec<&str> = rows
        .iter()
        .map(|r| r["created_at"].as_str().expect("created_at"))
        .collect();
    let mut sorted = created.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(created, sorted);
    let by_booking = api.all(&format!("{base}?ordering=booking_date,-clearing_no")).await;
    let dates: Vec<&str> = by_booking
        .iter()
        .map(|r| r["booking_date"].as_str().expect("date"))
        .collect();
    let mut expected = dates.clone();
    expected.sort_unstable();
    assert_eq!(dates, expected);
    let by_clearing = api.all(&format!("{base}?ordering=-clearing_no")).await;
    let numbers: Vec<&str> = by_clearing
        .iter()
        .map(|r| r["clearing_no"].as_str().expect("no"))
        .collect();
    let mut expected = numbers.clone();
    expected.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(numbers, expected);

    let one = &rows[0];
    let read = api.ok(&format!("{base}{}/", id(one))).await;
    let mandate = read["mandate"]["id"].as_str().expect("mandate");
    let of_mandate = api.all(&format!("{base}?mandate={mandate}")).await;
    assert!(of_mandate.iter().any(|r| id(r) == id(one)));
    assert!(
        of_mandate
            .iter()
            .all(|r| r["reference_number"] == one["reference_number"])
    );
    assert_eq!(
        api.ids(&format!(
            "{base}?reference_number={}",
            one["reference_number"].as_str().expect("ref")
        ))
        .await,
        of_mandate.iter().map(|r| id(r).to_string()).collect::<Vec<_>>()
    );
    let yours = one["your_reference"].as_str().expect("your_reference");
    assert!(
        api.all(&format!("{base}?your_reference={yours}"))
            .await
            .iter()
            .all(|r| r["your_reference"] == yours)
    );
    assert!(
        api.ids(&format!("{base}?your_reference={}", &yours[1..]))
            .await
            .is_empty()
    );
    let clearing = one["clearing_no"].as_str().expect("clearing_no");
    assert_eq!(
        api.ids(&format!("{base}?clearing_no={clearing}")).await,
        vec![id(one).to_string()]
    );
    if let Some(invoice) = rows.iter().find_map(|r| r["invoice_no"].as_str()) {
        let hits = api.all(&format!("{base}?invoice_no={invoice}")).await;
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0]["invoice_no"], invoice);
    }
    let d = one["booking_date"].as_str().expect("booking_date");
    let exact = api.all(&format!("{base}?booking_date={d}")).await;
    assert!(!exact.is_empty() && exact.iter().all(|r| r["booking_date"] == d));
    let from = api.all(&format!("{base}?booking_date_from={d}")).await;
    let to = api.all(&format!("{base}?booking_date_to={d}")).await;
    assert_eq!(from.len() + to.len() - exact.len(), n);

    let mut total = 0;
    for kind in STATEMENT_TYPES {
        let hits = api.all(&format!("{base}?statement_type={kind}")).await;
        assert!(hits.iter().all(|r| r["statement_type"] == *kind));
        total += hits.len();
    }
    assert_eq!(total, n);
    let published = api.all(&format!("{base}?status=published")).await;
    let cancelled = api.all(&format!("{base}?status=cancelled")).await;
    assert!(published.iter().all(|r| r["status"] == "published"));
    assert!(cancelled.iter().all(|r| r["status"] == "cancelled"));
    assert_eq!(published.len() + cancelled.len(), n);

    let since = api
        .all(&format!("{base}?updated_since=2000-01-01T00:00:00Z&limit=3"))
        .await;
    assert_eq!(since.len(), api.settled(&rows));
    assert!(!since.is_empty());

    for bad in [
        format!("{base}?statement_type=monthly"),
        format!("{base}?status=draft"),
        format!("{base}?mandate=abc"),
        format!("{base}?booking_date=31.01.2026"),
        format!("{base}?ordering=reference_number"),
    ] {
        let (status, body) = api.get(&bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["code"], "validation_error");
    }
}

#[tokio::test]
async fn the_same_seed_gives_the_same_single_mandate_statements() {
    let a = Api::seeded(42).await;
    let b = Api::seeded(42).await;
    let c = Api::seeded(43).await;
    let path = "/v2/single-mandate-statements/?ordering=clearing_no&limit=100";
    let first = a.all(path).await;
    assert!(!first.is_empty(), "the fixtures derive single-mandate statements");
    assert_eq!(first, b.all(path).await);
    let same = |v: Value| mock_core::testing::normalize_ports(&v);
    let ids: BTreeSet<String> = first.iter().map(|r| id(r).to_string()).collect();
    let other: BTreeSet<String> = c.ids(path).await.into_iter().collect();
    assert!(ids.is_disjoint(&other));
    for r in first.iter().take(3) {
        let p = format!("/v2/single-mandate-statements/{}/", id(r));
        assert_eq!(same(a.ok(&p).await), same(b.ok(&p).await));
    }
}

#[tokio::test]
async fn back_office_cancels_a_collective_statement() {
    let api = Api::start().await;
    let published = api.all("/v2/statements/?status=published").await;
    let s = &published[0];
    let path = format!("/v2/statements/{}/", id(s));
    let before = api.raw(&path, None).await;
    let tag = before.headers()[ETAG].to_str().expect("an ETag").to_string();
    let cancelled_at = api.m.clock().now();

    let (status, body) = api
        .post(
            &format!("/_mock/paywise/v2/statements/{}/cancel", id(s)),
            json!({"comment": "Storniert: Korrektur folgt."}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    check_statement_read(&body);
    assert_eq!(body["status"], "cancelled");
    assert_eq!(body["comment"], "Storniert: Korrektur folgt.");
    assert_eq!(body["updated_at"], body["cancelled_at"]);
    let at = chrono::DateTime::parse_from_rfc3339(body["cancelled_at"].as_str().expect("cancelled_at"))
        .expect("a timestamp");
    assert_eq!(at, cancelled_at);
    assert_eq!(api.ok(&path).await, body);
    assert_eq!(api.raw(&path, Some(&tag)).await.status(), 200, "a new ETag");

    // v1 sees it cancelled too; the other statements no longer name it as related.
    let v1 = api.ok(&format!("/v1/statements/{}/", id(s))).await;
    assert_eq!(v1["canceled"], true);
    for other in api.all("/v2/statements/").await {
        let read = api.ok(&format!("/v2/statements/{}/", id(&other))).await;
        for case in read["mandates"].as_array().expect("mandates") {
            assert!(
                case["related_statements"]
                    .as_array()
                    .expect("related")
                    .iter()
                    .all(|r| r["id"] != s["id"])
            );
        }
    }

    // Twice is a conflict; unknown statements and members are refused.
    let (status, body) = api
        .post(&format!("/_mock/paywise/v2/statements/{}/cancel/", id(s)), json!({}))
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "already_cancelled");
    let (status, body) = api
        .post(
            "/_mock/paywise/v2/statements/00000000-0000-4000-8000-000000000000/cancel",
            json!({}),
        )
        .await;
    assert_eq!((status, body["code"].clone()), (404, json!("not_found")));
    let (status, body) = api
        .post(
            &format!("/_mock/paywise/v2/statements/{}/cancel", id(&published[1])),
            json!({"reason": "x"}),
        )
        .await;
    assert_eq!((status, body["code"].clone()), (400, json!("validation_error")));

    // updated_since holds the change back for a minute, then returns it.
    let since = format!("/v2/statements/?updated_since={}", body_time(&at));
    assert!(api.ids(&since).await.is_empty());
    assert!(api.events("statement.cancelled").await.is_empty(), "not settled yet");
    api.settle();
    assert_eq!(api.ids(&since).await, vec![id(s).to_string()]);

    let events = api.events("statement.cancelled").await;
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e["type"], "statement.cancelled");
    assert_eq!(e["data"]["statement_id"], s["id"]);
    assert_eq!(
        e["data"]["statement_url"],
        format!("/v2/statements/{}/", id(s)).as_str()
    );
    assert!(e["data"]["company_id"].is_string());
}

fn body_time(t: &chrono::DateTime<chrono::FixedOffset>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        .replace('+', "%2B")
}

#[tokio::test]
async fn back_office_publishes_and_cancels_single_mandate_statements() {
    let api = Api::start().await;
    let fixture = api.all("/v2/single-mandate-statements/?status=published").await;
    let mine = api
        .ok(&format!("/v2/single-mandate-statements/{}/", id(&fixture[0])))
        .await;
    let mandate = mine["mandate"]["id"].as_str().expect("mandate").to_string();
    let previous_end = api
        .all(&format!(
            "/v2/single-mandate-statements/?mandate={mandate}&status=published"
        ))
        .await
        .iter()
        .map(|r| r["period_end"].as_str().expect("period_end").to_string())
        .max()
        .expect("a previous statement");
    let route = format!("/_mock/paywise/v2/mandates/{mandate}/single-mandate-statements");

    // Refusals first.
    for (body, code) in [
        (json!({"statement_type": "monthly"}), "validation_error"),
        (json!({"booking_date": "tomorrow"}), "validation_error"),
        (json!({"amount": "1.00"}), "validation_error"),
        (json!({"booking_date": previous_end}), "validation_error"),
    ] {
        let (status, answer) = api.post(&route, body.clone()).await;
        assert_eq!((status, answer["code"].as_str()), (400, Some(code)), "{body}: {answer}");
    }
    let (status, _) = api
        .post(
            "/_mock/paywise/v2/mandates/00000000-0000-4000-8000-000000000000/single-mandate-statements",
            json!({}),
        )
        .await;
    assert_eq!(status, 404);

    // Published from the mandate's balance, booked today by default.
    let (status, s) = api.post(&route, json!({})).await;
    assert_eq!(status, 201, "{s}");
    check_single_read(&s);
    let today = api.m.clock().now().date_naive().to_string();
    assert_eq!(s["booking_date"], today.as_str());
    assert_eq!(s["period_end"], today.as_str());
    let start = chrono::NaiveDate::parse_from_str(&previous_end, "%Y-%m-%d").expect("a date") + Duration::days(1);
    assert_eq!(
        s["period_start"],
        start.to_string().as_str(),
        "continues after the previous statement"
    );
    assert_eq!(s["status"], "published");
    assert_eq!(s["mandate"]["id"], mandate.as_str());
    let m = api.ok(&format!("/v2/mandates/{mandate}/")).await;
    assert_eq!(s["reference_number"], m["reference_number"]);
    assert_eq!(s["your_reference"], m["debtor"]["your_reference"]);
    assert_eq!(api.ok(&format!("/v2/single-mandate-statements/{}/", id(&s))).await, s);
    assert!(
        api.ids(&format!("/v2/single-mandate-statements/?mandate={mandate}"))
            .await
            .contains(&id(&s).to_string())
    );
    let pdf = api
        .raw(&format!("/v2/single-mandate-statements/{}/download/", id(&s)), None)
        .await
        .bytes()
        .await
        .expect("bytes");
    assert!(pdf.starts_with(b"%PDF"));

    // Not twice for the same day: the next settlement starts tomorrow.
    let (status, answer) = api.post(&route, json!({"booking_date": today})).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (400, Some("validation_error")),
        "{answer}"
    );

    // A chosen type and date.
    let tomorrow = (api.m.clock().now().date_naive() + Duration::days(1)).to_string();
    let (status, typed) = api
        .post(
            &format!("{route}/"),
            json!({"statement_type": "expenses_invoice", "booking_date": tomorrow}),
        )
        .await;
    assert_eq!(status, 201, "{typed}");
    check_single_read(&typed);
    assert_eq!(typed["statement_type"], "expenses_invoice");
    assert_eq!(typed["period_start"], tomorrow.as_str());
    assert_eq!(typed["period_end"], tomorrow.as_str());
    assert!(
        !typed["financials"]["cost_burden"].is_null(),
        "an expenses invoice bears costs"
    );
    assert!(typed["invoice_no"].is_string(), "and yields an invoice");
    assert_eq!(
        api.ids(&format!(
            "/v2/single-mandate-statements/?statement_type=expenses_invoice&mandate={mandate}"
        ))
        .await
        .first()
        .map(String::as_str),
        Some(id(&typed))
    );

    // Cancelled: once.
    let cancel = format!("/_mock/paywise/v2/single-mandate-statements/{}/cancel", id(&s));
    let (status, c) = api.post(&cancel, json!({})).await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["status"], "cancelled");
    assert!(c["cancelled_at"].is_string());
    assert_eq!(c["updated_at"], c["cancelled_at"]);
    let (status, again) = api.post(&cancel, json!({})).await;
    assert_eq!((status, again["code"].as_str()), (409, Some("already_cancelled")));
    let (status, _) = api
        .post(
            "/_mock/paywise/v2/single-mandate-statements/00000000-0000-4000-8000-000000000000/cancel",
            json!({}),
        )
        .await;
    assert_eq!(status, 404);
    assert!(
        api.ids(&format!(
            "/v2/single-mandate-statements/?status=cancelled&mandate={mandate}"
        ))
        .await
        .contains(&id(&s).to_string())
    );

    // The events, once settled.
    assert!(api.events("single_mandate_statement.published").await.is_empty());
    api.settle();
    let published = api.events("single_mandate_statement.published").await;
    assert_eq!(published.len(), 2);
    let got: BTreeSet<&str> = published
        .iter()
        .map(|e| e["data"]["single_mandate_statement_id"].as_str().expect("id"))
        .collect();
    assert_eq!(got, BTreeSet::from([id(&s), id(&typed)]));
    for e in &published {
        let sid = e["data"]["single_mandate_statement_id"].as_str().expect("id");
        assert_eq!(
            e["data"]["single_mandate_statement_url"],
            format!("/v2/single-mandate-statements/{sid}/").as_str()
        );
        assert!(e["data"]["company_id"].is_string());
    }
    let cancelled = api.events("single_mandate_statement.cancelled").await;
    assert_eq!(cancelled.len(), 1);
    assert_eq!(cancelled[0]["data"]["single_mandate_statement_id"], s["id"]);
}

#[tokio::test]
async fn back_office_publishes_a_collective_statement_with_its_single_statement() {
    let api = Api::start().await;
    let mandates = api.all("/v2/mandates/?limit=100").await;
    let m = &mandates[0];
    let mandate = id(m).to_string();
    let before = api.ids("/v2/statements/?limit=100").await;

    let (status, body) = api
        .post(
            &format!("/_mock/paywise/v2/mandates/{mandate}/statements"),
            json!({"files": ["full-pdf"]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let s = &body["statement"];
    let single = &body["single_mandate_statement"];
    check_statement_read(s);
    check_single_read(single);
    assert_eq!(s["status"], "published");
    assert_eq!(s["mandate_count"], 1);
    assert_eq!(s["mandates"][0]["id"], mandate.as_str());
    assert_eq!(single["mandate"]["id"], mandate.as_str());
    assert!(!before.contains(&id(s).to_string()));
    assert_eq!(api.ok(&format!("/v2/statements/{}/", id(s))).await, *s);

    // The same settlement in both.
    let tpm = &s["mandates"][0]["third_party_money"][0];
    let vat = &single["financials"]["vat_entries"][0];
    assert_eq!(tpm["total_payments"], vat["total_payments"]);
    assert_eq!(
        dec(&tpm["payments_to_dca"]["payout"]) + dec(&tpm["payments_to_client"]["payout"]),
        dec(&vat["payout"])
    );
    assert_eq!(tpm["payments_to_dca"]["total_payments"], vat["payments_to_dca"]);

    // Only the PDF was transferred.
    let types: Vec<&str> = s["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["type"].as_str().expect("type"))
        .collect();
    assert_eq!(types, vec!["full-pdf"]);
    let base = format!("/v2/statements/{}/download/", id(s));
    let pdf = api.raw(&base, None).await;
    assert_eq!(pdf.status(), 200);
    assert!(pdf.bytes().await.expect("bytes").starts_with(b"%PDF"));
    for missing in ["third-party-money-xlsx", "cost-burden-xlsx", "closing-xlsx"] {
        let (status, e) = api.get(&format!("{base}?type={missing}")).await;
        assert_eq!(status, 404, "{missing}");
        assert_eq!(e["code"], "not_found");
    }

    // v1 shows it as well, with its case.
    let v1 = api.ok(&format!("/v1/statements/{}/", id(s))).await;
    assert_eq!(v1["clearing_no"], s["clearing_no"]);
    assert_eq!(v1["canceled"], false);
    assert_eq!(v1["downloads"].as_array().expect("downloads").len(), 1);
    let details = api.ok(&format!("/v1/statements/{}/mandate-details/", id(s))).await;
    assert_eq!(details["results"][0]["mandate"]["id"], mandate.as_str());
    let v1_all = api.ok("/v1/statements/?limit=100").await;
    let v1_ids: BTreeSet<&str> = v1_all["results"].as_array().expect("results").iter().map(id).collect();
    let v2_ids: BTreeSet<String> = api.ids("/v2/statements/?limit=100").await.into_iter().collect();
    assert_eq!(v1_ids, v2_ids.iter().map(String::as_str).collect::<BTreeSet<_>>());
    let reference = m["reference_number"].as_str().expect("reference");
    assert!(
        api.ids(&format!("/v2/statements/?mandate_reference_number={reference}"))
            .await
            .contains(&id(s).to_string())
    );

    // By default every file but the closing export (for an open case) is transferred.
    let open = mandates
        .iter()
        .find(|o| {
            id(o) != mandate
                && o["state"]["processing"]["code"] == "in_progress"
                && o["state"]["legal_stage"]["code"] != "long_term_monitoring"
        })
        .expect("an open case");
    let (status, body) = api
        .post(
            &format!("/_mock/paywise/v2/mandates/{}/statements/", id(open)),
            json!({}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let types: BTreeSet<&str> = body["statement"]["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["type"].as_str().expect("type"))
        .collect();
    assert_eq!(
        types,
        BTreeSet::from(["full-pdf", "third-party-money-xlsx", "cost-burden-xlsx"])
    );
    assert!(body["statement"]["mandates"][0]["closing"].is_null());
    assert_eq!(body["single_mandate_statement"]["statement_type"], "interim");
    let (status, _) = api
        .get(&format!(
            "/v2/statements/{}/download/?type=closing-xlsx",
            id(&body["statement"])
        ))
        .await;
    assert_eq!(status, 404);

    // Refusals.
    let (status, e) = api
        .post(
            &format!("/_mock/paywise/v2/mandates/{mandate}/statements"),
            json!({"files": ["everything-zip"]}),
        )
        .await;
    assert_eq!((status, e["code"].as_str()), (400, Some("validation_error")));
    let (status, _) = api
        .post(
            "/_mock/paywise/v2/mandates/00000000-0000-4000-8000-000000000000/statements",
            json!({}),
        )
        .await;
    assert_eq!(status, 404);

    // Two published statements, two single-mandate statements.
    api.settle();
    let events = api.events("statement.published").await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["data"]["statement_id"], s["id"]);
    assert_eq!(
        events[0]["data"]["statement_url"],
        format!("/v2/statements/{}/", id(s)).as_str()
    );
    let singles = api.events("single_mandate_statement.published").await;
    assert_eq!(singles.len(), 2);
    assert_eq!(singles[0]["data"]["single_mandate_statement_id"], single["id"]);
}
