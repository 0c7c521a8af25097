//! Contract tests for Payt's invoicing resources: invoices (list, filters, order, show, upsert,
//! update, block/resume, deleted), payments (list, filters, deleted), VAT rates, payment
//! conditions, files, orders and order lines.
//!
//! HTTP only, public API only: the tests discover data through the lists, and what they create
//! carries a `contract-test-` reference (invoice numbers and identifiers, the debtors the invoices
//! are created for, payment origin identifiers, VAT-rate and payment-condition codes and names,
//! order-line identifiers). Payt deletes none of these through the API; what can be undone is
//! (an invoice blocked through the API is resumed when the test ends, passed or failed). The
//! administration is shared with the other tests of the run (in parallel) and, on Payt's demo, with
//! other runs, so list comparisons are made against snapshots that did not change meanwhile.
//!
//! Exact error wording is asserted only where Payt documents or was seen to answer it
//! (`debtor_not_found` O6, `invalid_checksum_size` O3, `errors.not_found` in the docs, `Missing
//! permission` in the docs); for our own inferred messages only the status and `{code, message}`
//! being strings are asserted.

use std::collections::HashSet;

use contract_tests::RequestBuilder;
use contract_tests::{Payt, REFERENCE_PREFIX, unique_reference};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha3::{Digest, Sha3_512};

const INVOICES: &str = "/v1/invoices";
const PAYMENTS: &str = "/v1/payments";
const VAT_RATES: &str = "/v1/vat_rates";
const ORDER_LINES: &str = "/v1/order_lines";
const UNLIKELY_ADMINISTRATION: &str = "999999999";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

async fn send(rb: RequestBuilder) -> (StatusCode, Value) {
    let res = rb.send().await.expect("request sent");
    let status = res.status();
    let text = res.text().await.expect("a readable body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

fn assert_error(status: StatusCode, body: &Value, expected: u16, ctx: &str) {
    assert_eq!(status.as_u16(), expected, "{ctx}: {body}");
    assert!(
        body["code"].is_string() && body["message"].is_string(),
        "{ctx}: error body {body}"
    );
}

fn id_of(v: &Value) -> String {
    match &v["id"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("record without an id: {other}"),
    }
}

fn ids(records: &[Value]) -> Vec<String> {
    records.iter().map(id_of).collect()
}

fn str_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Asserts a money string with exactly two decimals; its value in cents.
fn cents(v: &Value, ctx: &str) -> i64 {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("{ctx}: money must be a string, got {v}"));
    let (whole, frac) = s.trim_start_matches('-').split_once('.').unwrap_or(("", ""));
    assert!(
        !whole.is_empty()
            && whole.bytes().all(|b| b.is_ascii_digit())
            && frac.len() == 2
            && frac.bytes().all(|b| b.is_ascii_digit()),
        "{ctx}: money {s:?} must have exactly two decimals"
    );
    let c = whole.parse::<i64>().expect("digits") * 100 + frac.parse::<i64>().expect("digits");
    if s.starts_with('-') { -c } else { c }
}

fn assert_ascending(ids: &[String], ctx: &str) {
    let n: Vec<u64> = ids
        .iter()
        .map(|i| i.parse().unwrap_or_else(|_| panic!("{ctx}: id {i} is not numeric")))
        .collect();
    assert!(n.windows(2).all(|w| w[0] < w[1]), "{ctx}: ids not unique and ascending");
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(A[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

async fn invoices_where(payt: &Payt, query: &[(&str, &str)]) -> Vec<Value> {
    payt.walk(INVOICES, 500, query).await
}

/// Checks that `query` answers exactly the invoices `keep` selects from the whole list. Other
/// tests may write to the same target meanwhile (a shared sandbox), so the comparison is made
/// against a snapshot that did not change while the filtered list was read (tolerance: up to five
/// tries for a quiet moment).
async fn check_filter(payt: &Payt, query: &[(&str, &str)], keep: &dyn Fn(&Value) -> bool, what: &str) {
    // Tolerance: invoices created or changed meanwhile by other tests; retried on a changed snapshot.
    for attempt in 0..5 {
        let before = invoices_where(payt, &[]).await;
        let got = invoices_where(payt, query).await;
        let after = invoices_where(payt, &[]).await;
        if before != after && attempt < 4 {
            continue;
        }
        let want: Vec<String> = ids(&before.iter().filter(|i| keep(i)).cloned().collect::<Vec<_>>());
        assert_eq!(ids(&got), want, "filter {what}");
        return;
    }
}

/// A debtor of the test's own to create invoices for (so that they do not pile up on a debtor of
/// the shared administration and change its totals); its debtor number.
async fn own_debtor(payt: &Payt) -> String {
    let number = unique_reference("debtor");
    let debtor = json!({"debtor_number": number, "name": format!("Contract Test {number}"),
                        "debtor_identifier": format!("{number}-id")});
    let (s, b) = send(
        payt.post("/v1/debtors")
            .json(&json!({"administration_id": payt.administration_id, "debtors": [debtor]})),
    )
    .await;
    assert_eq!(
        (s.as_u16(), b["count"].clone()),
        (201, json!(1)),
        "POST /v1/debtors {number}: {b}"
    );
    number
}

/// Whether a contract test created `invoice` (its number carries the prefix): other tests of the
/// run may change such invoices while this one reads them.
fn ours(invoice: &Value) -> bool {
    str_of(&invoice["invoice_number"]).is_some_and(|n| n.starts_with(REFERENCE_PREFIX))
}

fn new_invoice(number: &str, debtor: &str, total: &str, open: &str) -> Value {
    json!({
        "invoice_number": number, "invoice_identifier": format!("{number}-id"), "currency_code": "EUR",
        "invoice_date": "2026-11-01", "due_date": "2026-12-01", "debtor_number": debtor,
        "amount_total": total, "amount_open": open, "book_amount_total": total, "book_amount_open": open
    })
}

async fn upsert(payt: &Payt, invoices: Value) -> Value {
    let (s, b) = send(
        payt.post(INVOICES)
            .json(&json!({"administration_id": payt.administration_id, "invoices": invoices})),
    )
    .await;
    assert_eq!(s, 201, "POST /v1/invoices: {b}");
    assert!(
        b["success"].is_boolean() && b["count"].is_u64() && b["errors"].is_object(),
        "SuccessEntity: {b}"
    );
    b
}

async fn show_by_number(payt: &Payt, number: &str, fields: Option<&str>) -> Value {
    let mut q = vec![("identifier_type", "invoice_number")];
    if let Some(f) = fields {
        q.push(("fields", f));
    }
    payt.get_json(&format!("{INVOICES}/{number}"), &q).await
}

fn patch(payt: &Payt, path: &str) -> RequestBuilder {
    payt.patch(path)
}

// ---------------------------------------------------------------------------------------------
// Invoices: reads
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn invoices_page_to_the_end_with_the_entity_shape() {
    let payt = Payt::connect().await;
    // Tolerance: other tests create invoices meanwhile: compared once the list stood still (up to five tries).
    let mut all = Vec::new();
    for attempt in 0..5 {
        let before = payt.walk(INVOICES, 500, &[]).await;
        all = payt.walk(INVOICES, 50, &[]).await;
        let after = payt.walk(INVOICES, 500, &[]).await;
        if before != after && attempt < 4 {
            continue;
        }
        assert_eq!(ids(&all), ids(&before), "per_page 50 and 500 disagree");
        break;
    }
    assert!(
        !all.is_empty(),
        "administration {} has no invoices",
        payt.administration_id
    );
    assert_ascending(&ids(&all), "invoices");
    for inv in all.iter().take(50) {
        for key in [
            "currency_code",
            "invoice_number",
            "payment_method",
            "administration_id",
            "debtor_id",
            "id",
            "due_date",
            "invoice_date",
            "updated_at",
        ] {
            assert!(
                inv.get(key).is_some_and(|v| !v.is_null()),
                "invoice without {key}: {inv}"
            );
        }
        for key in [
            "total_amount",
            "open_amount",
            "book_open_amount",
            "book_total_amount",
            "administration_costs_total",
            "administration_costs_open",
        ] {
            cents(&inv[key], key);
        }
        assert!(inv["id"].is_string() && inv["administration_id"] == payt.administration_id.as_str());
        // O9: reads say book_total_amount, never the write name.
        assert!(inv.get("book_amount_total").is_none());
        // Opt-in fields are hidden by default.
        for key in [
            "public_url",
            "deeplink_url",
            "flow_code",
            "invoice_lines",
            "labels",
            "peppol_identifier",
        ] {
            assert!(inv.get(key).is_none(), "opt-in {key} shown by default");
        }
    }
    let fields = json!({"only": ["id", "flow_code", "public_url", {"invoice_lines": ["description", "vat_amount"]}, {"labels": ["name"]}]}).to_string();
    let page = payt.get_json(INVOICES, &[("per_page", "5"), ("fields", &fields)]).await;
    for inv in page["data"].as_array().into_iter().flatten() {
        let mut keys: Vec<&String> = inv.as_object().expect("object").keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            ["flow_code", "id", "invoice_lines", "labels", "public_url"],
            "{inv}"
        );
    }
}

#[tokio::test]
async fn invoice_filters() {
    let payt = Payt::connect().await;
    let all = invoices_where(&payt, &[]).await;
    // Tolerance: filter values (ids, numbers, the updated_after pivot) are taken from the data, per target.
    let first = &all[0];
    let id = id_of(first);
    check_filter(&payt, &[("ids", &id)], &|i| id_of(i) == id, "ids").await;
    let number = str_of(&first["invoice_number"]).expect("number");
    check_filter(
        &payt,
        &[("invoice_numbers", &number)],
        &|i| str_of(&i["invoice_number"]).as_deref() == Some(&number),
        "invoice_numbers",
    )
    .await;
    if let Some(ident) = all.iter().find_map(|i| str_of(&i["invoice_identifier"])) {
        check_filter(
            &payt,
            &[("invoice_identifiers", &ident)],
            &|i| str_of(&i["invoice_identifier"]).as_deref() == Some(&ident),
            "invoice_identifiers",
        )
        .await;
    }
    let debtor = str_of(&first["debtor_id"]).expect("debtor id");
    let same_debtor = |i: &Value| str_of(&i["debtor_id"]).as_deref() == Some(&debtor);
    check_filter(&payt, &[("debtor_ids", &debtor)], &same_debtor, "debtor_ids").await;
    if let Some(dn) = str_of(&first["debtor_number"]) {
        check_filter(&payt, &[("debtor_numbers", &dn)], &same_debtor, "debtor_numbers").await;
    }
    let (s, d) = send(
        payt.get(&format!("/v1/debtors/{debtor}"))
            .query(&[("administration_id", payt.administration_id.as_str())]),
    )
    .await;
    if s == 200
        && let Some(di) = str_of(&d["debtor_identifier"])
    {
        check_filter(
            &payt,
            &[("debtor_identifiers", &di)],
            &same_debtor,
            "debtor_identifiers",
        )
        .await;
    }
    if let Some(case) = all.iter().find_map(|i| str_of(&i["active_credit_case_id"])) {
        let got = invoices_where(&payt, &[("credit_case_ids", &case)]).await;
        assert!(ids(&got).iter().any(|g| {
            all.iter()
                .any(|i| &id_of(i) == g && str_of(&i["active_credit_case_id"]).as_deref() == Some(&case))
        }));
    }
    check_filter(
        &payt,
        &[("paid", "true")],
        &|i| cents(&i["open_amount"], "open") == 0,
        "paid=true",
    )
    .await;
    check_filter(
        &payt,
        &[("paid", "false")],
        &|i| cents(&i["open_amount"], "open") != 0,
        "paid=false",
    )
    .await;
    check_filter(
        &payt,
        &[("book_amount_total_lte", "250.5")],
        &|i| cents(&i["book_total_amount"], "b") <= 25050,
        "lte",
    )
    .await;
    check_filter(
        &payt,
        &[("book_amount_total_gte", "1000")],
        &|i| cents(&i["book_total_amount"], "b") >= 100_000,
        "gte",
    )
    .await;
    let mut stamps: Vec<String> = all.iter().filter_map(|i| str_of(&i["updated_at"])).collect();
    stamps.sort();
    let mid = stamps[stamps.len() / 2].clone();
    check_filter(
        &payt,
        &[("updated_after", &mid)],
        &|i| str_of(&i["updated_at"]).is_some_and(|u| u > mid),
        "updated_after",
    )
    .await;

    for order in ["invoice_date_asc", "invoice_date_desc", "due_date_asc", "due_date_desc"] {
        // Tolerance: other tests change invoices meanwhile: walk again (up to five times) if the list changed.
        for attempt in 0..5 {
            let before = ids(&invoices_where(&payt, &[]).await);
            let walked = payt.walk(INVOICES, 37, &[("order", order)]).await;
            let after = ids(&invoices_where(&payt, &[]).await);
            if before != after && attempt < 4 {
                continue;
            }
            let mut got = ids(&walked);
            let key = if order.starts_with("invoice") {
                "invoice_date"
            } else {
                "due_date"
            };
            let dates: Vec<String> = walked.iter().filter_map(|i| str_of(&i[key])).collect();
            assert!(
                dates.windows(2).all(|w| if order.ends_with("asc") {
                    w[0] <= w[1]
                } else {
                    w[0] >= w[1]
                }),
                "{order}: not sorted"
            );
            got.sort();
            let mut want = before;
            want.sort();
            assert_eq!(got, want, "{order}: paging must give every invoice exactly once");
            break;
        }
    }

    for (param, value) in [
        ("paid", "perhaps"),
        ("book_amount_total_lte", "lots"),
        ("order", "amount_asc"),
        ("per_page", "501"),
        ("updated_after", "soon"),
    ] {
        let (s, b) = send(
            payt.get(INVOICES)
                .query(&[("administration_id", payt.administration_id.as_str()), (param, value)]),
        )
        .await;
        assert_error(s, &b, 400, param);
    }
    let (s, b) = send(payt.get(INVOICES)).await;
    assert_error(s, &b, 400, "no administration_id (O2)");
    let (s, b) = send(
        payt.get(INVOICES)
            .query(&[("administration_id", UNLIKELY_ADMINISTRATION)]),
    )
    .await;
    assert_error(s, &b, 403, "ungranted administration");
    let (s, b) = send(
        payt.client
            .get(payt.url(INVOICES))
            .query(&[("administration_id", payt.administration_id.as_str())]),
    )
    .await;
    assert_error(s, &b, 401, "no token");
}

#[tokio::test]
async fn invoice_show_by_id_number_and_identifier() {
    let payt = Payt::connect().await;
    let page = payt.get_json(INVOICES, &[("per_page", "100")]).await;
    let list = page["data"].as_array().expect("data").clone();
    // Tolerance: show equals the list record, so an invoice other tests may change is picked only as a last resort.
    let inv = list
        .iter()
        .filter(|i| !ours(i))
        .chain(list.iter().filter(|i| ours(i)))
        .find(|i| i["invoice_identifier"].is_string())
        .unwrap_or(&list[0])
        .clone();
    let id = id_of(&inv);
    assert_eq!(payt.get_json(&format!("{INVOICES}/{id}"), &[]).await, inv);
    let number = str_of(&inv["invoice_number"]).expect("number");
    assert_eq!(show_by_number(&payt, &number, None).await, inv);
    if let Some(ident) = str_of(&inv["invoice_identifier"]) {
        assert_eq!(
            payt.get_json(
                &format!("{INVOICES}/{ident}"),
                &[("identifier_type", "invoice_identifier")]
            )
            .await,
            inv
        );
    }
    let (s, b) = send(
        payt.get(&format!("{INVOICES}/999999999999"))
            .query(&[("administration_id", payt.administration_id.as_str())]),
    )
    .await;
    assert_error(s, &b, 404, "unknown id");
    let (s, b) = send(
        payt.get(&format!("{INVOICES}/{id}"))
            .query(&[("administration_id", UNLIKELY_ADMINISTRATION)]),
    )
    .await;
    assert_error(s, &b, 403, "ungranted administration");
}

#[tokio::test]
async fn deleted_invoices_and_payments() {
    let payt = Payt::connect().await;
    for path in ["/v1/invoices/deleted", "/v1/payments/deleted"] {
        let all = payt.walk(path, 3, &[("deleted_after", "2000-01-01T00:00:00Z")]).await;
        assert_ascending(&ids(&all), path);
        for d in &all {
            assert!(
                d["deleted_at"].is_string() && d["administration_id"].is_string(),
                "{path}: {d}"
            );
        }
        let (s, b) = send(
            payt.get(path)
                .query(&[("administration_id", payt.administration_id.as_str())]),
        )
        .await;
        assert_error(s, &b, 400, "deleted_after is required");
    }
}

// ---------------------------------------------------------------------------------------------
// Invoices: writes
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn invoice_upsert_update_and_payments() {
    let payt = Payt::connect().await;
    let debtor = own_debtor(&payt).await;
    let number = unique_reference("inv");
    // O7: amounts without decimals are accepted and read back with two.
    let out = upsert(&payt, json!([new_invoice(&number, &debtor, "1000", "1000")])).await;
    assert_eq!(
        (out["success"].clone(), out["count"].clone()),
        (json!(true), json!(1)),
        "{out}"
    );
    let created = show_by_number(&payt, &number, None).await;
    assert_eq!(created["total_amount"], "1000.00");
    assert_eq!(created["open_amount"], "1000.00");

    // O8: posting the same number again updates the same invoice.
    let mut again = new_invoice(&number, &debtor, "1000", "400");
    let pay = unique_reference("pay");
    again["payments"] = json!([{"amount": "600", "origin_identifier": pay, "payment_date": "2026-11-10"}]);
    upsert(&payt, json!([again.clone()])).await;
    let updated = show_by_number(&payt, &number, None).await;
    assert_eq!(updated["id"], created["id"]);
    assert_eq!(updated["open_amount"], "400.00");
    // Tolerance: timestamps have whole seconds, so the update may share the creation's second.
    assert!(str_of(&updated["updated_at"]) >= str_of(&created["updated_at"]));
    let payments = payt.walk(PAYMENTS, 100, &[("invoice_numbers", &number)]).await;
    assert_eq!(payments.len(), 1, "{payments:?}");
    assert_eq!(payments[0]["total_amount"], "600.00");
    assert_eq!(str_of(&payments[0]["invoice_id"]), str_of(&created["id"]));

    // Replacing the payments removes the ones left out.
    let removed = id_of(&payments[0]);
    let mut replaced = again.clone();
    replaced["amount_open"] = json!("1000");
    replaced["book_amount_open"] = json!("1000");
    replaced["payments"] = json!([]);
    upsert(&payt, json!([replaced])).await;
    assert!(
        payt.walk(PAYMENTS, 100, &[("invoice_numbers", &number)])
            .await
            .is_empty()
    );
    // Tolerance: the tombstones of other tests and runs are listed too: ours must be among them.
    let deleted = payt
        .walk(
            "/v1/payments/deleted",
            500,
            &[("deleted_after", "2000-01-01T00:00:00Z")],
        )
        .await;
    assert!(
        ids(&deleted).contains(&removed),
        "the removed payment is listed as deleted"
    );

    // PATCH updates existing invoices; unknown numbers are errors.not_found (docs).
    let missing = unique_reference("missing");
    let (s, b) = send(patch(&payt, INVOICES).json(&json!({
        "administration_id": payt.administration_id,
        "invoices": [{"invoice_number": number, "description": "patched"}, {"invoice_number": missing}]
    })))
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["count"], 1);
    assert_eq!(b["errors"]["not_found"], json!([missing]));
    assert_eq!(show_by_number(&payt, &number, None).await["description"], "patched");

    // O6: an unknown debtor is a per-record error keyed by the invoice number.
    let other = unique_reference("inv");
    let out = upsert(
        &payt,
        json!([new_invoice(&other, &unique_reference("no-debtor"), "5", "5")]),
    )
    .await;
    assert_eq!(out["errors"][&other], json!(["debtor_not_found"]), "{out}");

    // Request-level validation: 422, nothing processed.
    let bad_number = unique_reference("bad");
    let mut bad = new_invoice(&bad_number, &debtor, "5", "5");
    bad.as_object_mut().map(|o| o.remove("due_date"));
    let (s, b) = send(
        payt.post(INVOICES)
            .json(&json!({"administration_id": payt.administration_id, "invoices": [bad]})),
    )
    .await;
    assert_error(s, &b, 422, "missing due_date");
    let (s, _) = send(payt.get(&format!("{INVOICES}/{bad_number}")).query(&[
        ("administration_id", payt.administration_id.as_str()),
        ("identifier_type", "invoice_number"),
    ]))
    .await;
    assert_eq!(s, 404);

    // O5: payments are read-only.
    for rb in [payt.post(PAYMENTS), payt.put(PAYMENTS)] {
        let (s, _) = send(rb.json(&json!({"administration_id": payt.administration_id}))).await;
        assert_eq!(s, 405);
    }
}

#[tokio::test]
async fn block_and_resume() {
    let payt = Payt::connect().await;
    let debtor = own_debtor(&payt).await;
    let number = unique_reference("block");
    upsert(&payt, json!([new_invoice(&number, &debtor, "10", "10")])).await;
    let fields = json!({"only": ["id", "flow_code"]}).to_string();
    let before = show_by_number(&payt, &number, Some(&fields)).await["flow_code"].clone();
    let missing = unique_reference("missing");
    let form = |action: &str| {
        patch(&payt, &format!("{INVOICES}/{action}")).form(&[
            ("administration_id", payt.administration_id.as_str()),
            ("invoice_numbers[]", number.as_str()),
            ("invoice_numbers[]", missing.as_str()),
        ])
    };
    // Resumed when the test ends, passed or failed (a resume of an invoice not blocked is harmless).
    payt.cleanup_later(
        Method::PATCH,
        format!("{INVOICES}/resume"),
        Some(json!({"administration_id": payt.administration_id, "invoice_numbers": [number]})),
    );
    let (s, b) = send(form("block")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        (b["count"].clone(), b["errors"]["not_found"].clone()),
        (json!(1), json!([missing]))
    );
    let blocked = show_by_number(&payt, &number, Some(&fields)).await["flow_code"].clone();
    assert_ne!(blocked, before, "blocking must show in flow_code");
    let (s, b) = send(form("resume")).await;
    assert_eq!((s.as_u16(), b["count"].clone()), (200, json!(1)), "{b}");
    assert_eq!(show_by_number(&payt, &number, Some(&fields)).await["flow_code"], before);
    let (s, b) = send(
        patch(&payt, &format!("{INVOICES}/block"))
            .json(&json!({"administration_id": UNLIKELY_ADMINISTRATION, "invoice_numbers": [number]})),
    )
    .await;
    assert_error(s, &b, 403, "block in an ungranted administration");
}

// ---------------------------------------------------------------------------------------------
// Payments, VAT rates, payment conditions, files, orders
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn payments_page_and_filter() {
    let payt = Payt::connect().await;
    // A payment of the test's own, so that the filters are checked on every target, on a record no
    // other test changes.
    let debtor = own_debtor(&payt).await;
    let number = unique_reference("paid");
    let mut invoice = new_invoice(&number, &debtor, "100", "60");
    invoice["payments"] =
        json!([{"amount": "40", "origin_identifier": unique_reference("pay"), "payment_date": "2026-11-05"}]);
    let out = upsert(&payt, json!([invoice])).await;
    assert_eq!(
        (out["count"].clone(), out["errors"].clone()),
        (json!(1), json!({})),
        "{out}"
    );

    let all = payt.walk(PAYMENTS, 50, &[]).await;
    assert_ascending(&ids(&all), "payments");
    let mine = payt.walk(PAYMENTS, 500, &[("invoice_numbers", &number)]).await;
    assert_eq!(mine.len(), 1, "the invoice's one payment: {mine:?}");
    let p = &mine[0];
    let id = id_of(p);
    // Tolerance: payments of other tests and runs are listed too: ours must be there, a sample is format-checked.
    assert!(ids(&all).contains(&id), "payment {id} is listed");
    for p in all.iter().take(30).chain(std::iter::once(p)) {
        cents(&p["total_amount"], "total_amount");
        cents(&p["total_book_amount"], "total_book_amount");
        assert!(p["payment_date"].is_string() && p["invoice_id"].is_string(), "{p}");
        assert!(p.get("bank_transaction").is_none(), "opt-in shown by default");
    }
    assert_eq!(p["total_amount"], "40.00", "{p}");
    assert_eq!(
        ids(&payt.walk(PAYMENTS, 500, &[("ids", &id)]).await),
        std::slice::from_ref(&id)
    );
    assert_eq!(
        ids(&payt
            .walk(PAYMENTS, 500, &[("invoice_identifiers", &format!("{number}-id"))])
            .await),
        std::slice::from_ref(&id)
    );
    let fields = json!({"only": ["id", "bank_transaction"]}).to_string();
    let page = payt.get_json(PAYMENTS, &[("ids", &id), ("fields", &fields)]).await;
    assert!(page["data"][0].get("bank_transaction").is_some());

    // credit_case_ids, on a payment found in the data (a new invoice has no credit case).
    if let Some(first) = all.first() {
        let invoice_id = str_of(&first["invoice_id"]).expect("invoice id");
        let inv = payt.get_json(&format!("{INVOICES}/{invoice_id}"), &[]).await;
        if let Some(case) = str_of(&inv["active_credit_case_id"]) {
            let got = payt.walk(PAYMENTS, 500, &[("credit_case_ids", &case)]).await;
            assert!(ids(&got).contains(&id_of(first)));
        }
    }
}

#[tokio::test]
async fn vat_rates_list_and_upsert() {
    let payt = Payt::connect().await;
    let code = unique_reference("vat");
    let body = |rates: Value| json!({"administration_id": payt.administration_id, "vat_rates": rates});
    let (s, b) = send(payt.post(VAT_RATES).json(&body(
        json!([{"code": code, "rate": "7", "name": format!("{code} 7%")}]),
    )))
    .await;
    assert_eq!((s.as_u16(), b["count"].clone()), (201, json!(1)), "{b}");
    let (s, b) = send(
        payt.post(VAT_RATES)
            .json(&body(json!([{"code": code, "name": format!("{code} renamed")}]))),
    )
    .await;
    assert_eq!((s.as_u16(), b["count"].clone()), (201, json!(1)), "{b}");
    let all = payt.walk(VAT_RATES, 2, &[]).await;
    assert_ascending(&ids(&all), "vat rates");
    // Tolerance: the administration holds the rates of other tests and runs: ours are compared.
    let mine: Vec<&Value> = all.iter().filter(|r| r["code"] == code.as_str()).collect();
    assert_eq!(mine.len(), 1, "upsert by code must not duplicate");
    assert_eq!(mine[0]["name"], format!("{code} renamed").as_str());
    assert_eq!(mine[0]["category"], "regular");
    assert!(mine[0]["rate"].is_number(), "rate is a number in the entity");
    let (s, b) = send(
        payt.post(VAT_RATES)
            .json(&body(json!([{"code": code, "category": "luxury"}]))),
    )
    .await;
    assert_error(s, &b, 422, "bad category");
}

#[tokio::test]
async fn payment_conditions_are_created() {
    let payt = Payt::connect().await;
    let code = unique_reference("pc");
    let (s, b) = send(payt.post("/v1/payment_conditions").json(
        &json!({"administration_id": payt.administration_id, "payment_conditions": [{"code": code, "name": code}]}),
    ))
    .await;
    assert_eq!(
        (s.as_u16(), b["count"].clone(), b["success"].clone()),
        (201, json!(1), json!(true)),
        "{b}"
    );
    let (s, b) = send(
        payt.post("/v1/payment_conditions")
            .json(&json!({"administration_id": payt.administration_id, "payment_conditions": [{"code": code}]})),
    )
    .await;
    assert_error(s, &b, 422, "name missing");
}

/// Payt's documented upload flow: register a file by SHA3-512 checksum, PUT its bytes to the `url`
/// the answer hands out (whatever host that is: Payt's store, or the mock's), attach it to an
/// invoice by checksum, and read it back through the invoice's `document_url`.
#[tokio::test]
async fn files_follow_the_documented_upload_flow() {
    let payt = Payt::connect().await;
    let reference = unique_reference("file");
    // A small PDF unique to this run, so that the target does not know its checksum yet.
    let content = format!(
        "%PDF-1.4\n% {reference}\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )
    .into_bytes();
    let checksum = base64(&Sha3_512::digest(&content));
    let body = json!({"administration_id": payt.administration_id, "files": [{"byte_size": content.len(), "checksum": checksum, "content_type": "application/pdf"}]});
    // O4: an array of {checksum, url, expires_at}.
    let (s, b) = send(payt.post("/v1/files").json(&body)).await;
    assert_eq!(s, 201, "{b}");
    let items = b.as_array().expect("O4: an array");
    assert_eq!(items.len(), 1, "{b}");
    assert_eq!(items[0]["checksum"], checksum.as_str());
    // Tolerance: the upload URL and its expiry are generated per request: checked by form only.
    let url = items[0]["url"].as_str().expect("an upload url").to_string();
    assert!(
        url::Url::parse(&url).is_ok_and(|u| u.has_host()),
        "an absolute url: {url}"
    );
    assert!(items[0]["expires_at"].is_string());

    // PUT the bytes as a direct-upload client does: the url is signed, so no token goes with it
    // (the bearer token is never sent to the store's host).
    payt.ensure_writable();
    let store = reqwest::Client::new();
    let res = store
        .put(&url)
        .header("content-type", "application/pdf")
        .body(content.clone())
        .send()
        .await
        .expect("PUT sent");
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    assert!(status.is_success(), "PUT {url} answered {status}: {text}");

    // O4: [] once the target has the file.
    let (s, b) = send(payt.post("/v1/files").json(&body)).await;
    assert_eq!((s.as_u16(), b), (201, json!([])));

    // Attach it to an invoice of the test's own, by checksum.
    let debtor = own_debtor(&payt).await;
    let number = unique_reference("inv-doc");
    let out = upsert(&payt, json!([new_invoice(&number, &debtor, "25.00", "25.00")])).await;
    assert_eq!(out["count"], 1, "{out}");
    let filename = format!("{number}.pdf");
    let (s, out) = send(patch(&payt, INVOICES).json(
        &json!({"administration_id": payt.administration_id, "invoices": [
            {"invoice_number": number, "document": {"checksum": checksum, "filename": filename}}
        ]}),
    ))
    .await;
    assert_eq!(s, 200, "PATCH /v1/invoices: {out}");
    assert_eq!(
        (out["count"].clone(), out["errors"].clone()),
        (json!(1), json!({})),
        "{out}"
    );

    // Read it back where Payt exposes it: the invoice's opt-in document_url serves the bytes.
    let shown = show_by_number(&payt, &number, Some(r#"{"only":["invoice_number","document_url"]}"#)).await;
    let doc_url = shown["document_url"].as_str().expect("a document_url").to_string();
    let res = store.get(&doc_url).send().await.expect("GET sent");
    assert_eq!(res.status(), 200, "GET {doc_url}");
    let served = res.bytes().await.expect("the document");
    assert_eq!(
        served.as_ref(),
        content.as_slice(),
        "GET {doc_url} serves the uploaded bytes"
    );

    // O3: a checksum that is not 64 bytes.
    let short = base64(&[1u8; 16]);
    let (s, b) = send(payt.post("/v1/files").json(&json!({"administration_id": payt.administration_id, "files": [{"byte_size": 1, "checksum": short, "content_type": "application/pdf"}]}))).await;
    assert_error(s, &b, 422, "short checksum");
    assert_eq!(b["code"], "invalid_checksum_size");
}

#[tokio::test]
async fn orders_create_order_lines() {
    let payt = Payt::connect().await;
    let ident = unique_reference("ol");
    let csv = format!("order_line_identifier,amount\n{ident},12.50\n");
    let body = format!(
        "--CONTRACT\r\nContent-Disposition: form-data; name=\"administration_id\"\r\n\r\n{}\r\n--CONTRACT\r\nContent-Disposition: form-data; name=\"order[file]\"; filename=\"order.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--CONTRACT--\r\n",
        payt.administration_id
    );
    let (s, b) = send(
        payt.post("/v1/orders")
            .header("content-type", "multipart/form-data; boundary=CONTRACT")
            .body(body),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    // Tolerance: the deeplink is generated per order: checked by type only.
    assert!(b["deeplink_url"].is_string(), "{b}");
    let missing = format!(
        "--CONTRACT\r\nContent-Disposition: form-data; name=\"administration_id\"\r\n\r\n{}\r\n--CONTRACT--\r\n",
        payt.administration_id
    );
    let (s, b) = send(
        payt.post("/v1/orders")
            .header("content-type", "multipart/form-data; boundary=CONTRACT")
            .body(missing),
    )
    .await;
    assert_error(s, &b, 422, "order[file] missing");

    // Tolerance: order lines of other tests and runs are listed too: ours by identifier, others by order and status.
    let all = payt.walk(ORDER_LINES, 10, &[]).await;
    assert_ascending(&ids(&all), "order lines");
    let mine = payt.walk(ORDER_LINES, 100, &[("order_line_identifiers", &ident)]).await;
    assert_eq!(mine.len(), 1, "the created line is listed by its identifier");
    assert_eq!(mine[0]["amount"], "12.50");
    let statuses: HashSet<String> = all.iter().filter_map(|l| str_of(&l["claim_status"])).collect();
    for status in &statuses {
        let got = payt.walk(ORDER_LINES, 500, &[("claim_status", status)]).await;
        assert!(got.iter().all(|l| l["claim_status"] == status.as_str()));
    }
    let (s, b) = send(payt.get(ORDER_LINES).query(&[
        ("administration_id", payt.administration_id.as_str()),
        ("claim_status", "done"),
    ]))
    .await;
    assert_error(s, &b, 400, "bad claim_status");
}
