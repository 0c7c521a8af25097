//! Contract tests for the Payt workflow resources: payment-plan transitions, deleted records, tasks,
//! messages, notes, PSP mandates and PSP transactions.
//!
//! HTTP only, public API only: they run unchanged against our mock (the default) or Payt's demo
//! environment (`CONTRACT_TARGET=sandbox`). They discover what they need through the API or create
//! it (a payment plan on an open credit case, a message to a case's debtor sent to an example
//! address, a PSP mandate tagged with a unique reference, which the test revokes again), and they
//! leave a task they complete open again. Against a target the test did not start, what the API
//! can undo is undone when the test ends, passed or failed (`Payt::cleanup_later`): created plans
//! are deactivated, created mandates revoked, a completed task reopened. Approving and rejecting
//! plans that debtors proposed cannot be undone and uses up records only a debtor can make, so
//! against a vendor that test needs `CONTRACT_ALLOW_PERMANENT_WRITES=1`.
//!
//! The administration is shared (the tests of this file run in parallel, and on Payt's demo other
//! runs may write too), so checks that compare several reads of a list are repeated while the list
//! changes under them (`settled`), never loosened.
//!
//! Exact texts are asserted only where Payt documents them (`Missing permission: ...` is not
//! reachable here); the `code`/`message` of 400, 404, 405 and 422 answers are ours (inferred), so
//! only the status and the error shape are asserted for those.

use std::collections::HashSet;

use anyhow::ensure;
use chrono::{Days, Duration, NaiveDateTime};
use contract_tests::RequestBuilder;
use contract_tests::{Payt, records, unique_reference};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const TASKS: &str = "/v1/tasks";
const MESSAGES: &str = "/v1/messages";
const NOTES: &str = "/v1/notes";
const PSP_MANDATES: &str = "/v1/psp_mandates";
const PSP_TRANSACTIONS: &str = "/v1/psp_transactions";
const CREDIT_CASES: &str = "/v1/credit_cases";
const PAYMENT_PLANS: &str = "/v1/payment_plans";
/// The administration-scoped list routes of this group.
const LISTS: [&str; 5] = [TASKS, MESSAGES, NOTES, PSP_MANDATES, PSP_TRANSACTIONS];
/// The resources with a `deleted` endpoint in this group.
const DELETED: [&str; 3] = [CREDIT_CASES, PAYMENT_PLANS, PSP_MANDATES];
/// A record id no record has.
const UNKNOWN_ID: &str = "999999999999";
/// An administration id no token is granted.
const UNLIKELY_ADMINISTRATION: &str = "999999999";
/// A valid Dutch IBAN (the ABN AMRO example account).
const IBAN: &str = "NL91ABNA0417164300";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

async fn send(rb: RequestBuilder) -> (StatusCode, String) {
    let res = rb.send().await.expect("request sent");
    let status = res.status();
    (status, res.text().await.expect("a readable body"))
}

fn parse(text: &str, ctx: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{ctx}: the body is not JSON ({e}): {text}"))
}

/// Asserts `status` is `expected` and the body is Payt's error entity.
fn assert_error(status: StatusCode, text: &str, expected: u16, ctx: &str) -> Value {
    assert_eq!(status.as_u16(), expected, "{ctx}: {text}");
    let body = parse(text, ctx);
    assert!(body["code"].is_string(), "{ctx}: error code must be a string: {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{ctx}: error message must be a non-empty string: {body}"
    );
    body
}

/// Asserts 200 and parses.
fn ok(status: StatusCode, text: &str, ctx: &str) -> Value {
    assert_eq!(status, 200, "{ctx}: {text}");
    parse(text, ctx)
}

fn id_of(v: &Value) -> String {
    match &v["id"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("a record id must be a string, got {other}: {v}"),
    }
}

fn ids_of(records: &[Value]) -> Vec<String> {
    records.iter().map(id_of).collect()
}

fn str_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn assert_timestamp(v: &Value, ctx: &str) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("{ctx}: a timestamp must be a string, got {v}"));
    assert!(
        s.len() == 20 && NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%SZ").is_ok(),
        "{ctx}: {s:?} is not YYYY-MM-DDTHH:MM:SSZ"
    );
}

/// Every `*_at` value is null or a timestamp; every `id`/`*_id` value is null or a string.
fn assert_formats(record: &Value, ctx: &str) {
    let map = record
        .as_object()
        .unwrap_or_else(|| panic!("{ctx}: not an object: {record}"));
    for (k, v) in map {
        if k.ends_with("_at") && !v.is_null() {
            assert_timestamp(v, &format!("{ctx}.{k}"));
        }
        if (k == "id" || k.ends_with("_id")) && !v.is_null() {
            assert!(v.is_string(), "{ctx}.{k}: ids are strings, got {v}");
        }
    }
}

fn assert_money(v: &Value, ctx: &str) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("{ctx}: money must be a string, got {v}"));
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (whole, frac) = digits.split_once('.').unwrap_or(("", ""));
    assert!(
        !whole.is_empty()
            && whole.bytes().all(|b| b.is_ascii_digit())
            && frac.len() == 2
            && frac.bytes().all(|b| b.is_ascii_digit()),
        "{ctx}: money must have exactly two decimals, got {s:?}"
    );
}

async fn non_empty(payt: &Payt, path: &str) -> Vec<Value> {
    let all = payt.walk(path, 500, &[]).await;
    assert!(
        !all.is_empty(),
        "{path}: administration {} has no records; this test needs at least one",
        payt.administration_id
    );
    all
}

fn admin_q(payt: &Payt) -> [(&'static str, String); 1] {
    [("administration_id", payt.administration_id.clone())]
}

fn patch(payt: &Payt, path: &str) -> RequestBuilder {
    payt.patch(path)
}

fn delete(payt: &Payt, path: &str) -> RequestBuilder {
    payt.delete(path)
}

fn fields(only: &[&str]) -> String {
    json!({ "only": only }).to_string()
}

/// Deactivates plan `id` when the test ends (passed or failed), which frees its case for the next
/// run; the plan stays listed. Payment plans have no name or reference to tag.
fn deactivate_later(payt: &Payt, id: &str) {
    payt.cleanup_later(
        Method::PATCH,
        format!("{PAYMENT_PLANS}/{id}/deactivate"),
        Some(json!({"administration_id": payt.administration_id})),
    );
}

/// Revokes the mandates with `reference` when the test ends (a reference matching nothing is a
/// 200 with `count` 0). `DELETE /v1/psp_mandates` takes its selectors in the query only.
fn revoke_later(payt: &Payt, reference: &str) {
    let query = [
        ("administration_id", payt.administration_id.as_str()),
        ("mandate_references", reference),
    ];
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query)
        .finish();
    payt.cleanup_later(Method::DELETE, format!("{PSP_MANDATES}?{query}"), None);
}

/// 89 days ago, inside the 90-day window of the deleted endpoints.
fn window_start(payt: &Payt) -> String {
    (payt.now() - Duration::days(89))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// Lists: shapes, paging, ids, updated_after
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn workflow_lists_use_payt_formats() {
    let payt = Payt::connect().await;
    for path in LISTS {
        for r in non_empty(&payt, path).await {
            let ctx = format!("{path} {}", id_of(&r));
            // Tolerance: ids, amounts, timestamps differ per target: type and format only (administration_id exact).
            assert_formats(&r, &ctx);
            assert_eq!(
                str_of(&r["administration_id"]),
                Some(payt.administration_id.clone()),
                "{ctx}"
            );
            assert!(r["updated_at"].is_string(), "{ctx}: updated_at is required: {r}");
        }
    }
    for t in payt.walk(PSP_TRANSACTIONS, 500, &[]).await {
        assert_money(&t["amount"], "psp transaction amount");
        assert_money(&t["book_amount"], "psp transaction book_amount");
        assert!(
            t["invoice_ids"]
                .as_array()
                .is_some_and(|a| a.iter().all(Value::is_string)),
            "{t}"
        );
    }
    for t in payt.walk(TASKS, 500, &[]).await {
        let d = t["expiry_date"]
            .as_str()
            .unwrap_or_else(|| panic!("expiry_date is a date: {t}"));
        assert!(chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok(), "{t}");
    }
    for m in payt.walk(MESSAGES, 500, &[]).await {
        assert!(matches!(m["sender_type"].as_str(), Some("creditor" | "debtor")), "{m}");
    }
    for n in payt.walk(NOTES, 500, &[]).await {
        assert!(n["content"].is_string() && n["created_at"].is_string(), "{n}");
    }
}

#[tokio::test]
async fn workflow_lists_walk_with_small_pages_like_one_big_page() {
    let payt = Payt::connect().await;
    for path in LISTS {
        // Tolerance: records may be created or revoked between the two walks (settled).
        payt.settled(&[(path, &[])], async || {
            let small = payt.pages(path, 7, &[]).await;
            let big = payt.walk(path, 500, &[]).await;
            let small_ids = ids_of(&records(&small));
            ensure!(
                small_ids == ids_of(&big),
                "{path}: per_page=7 differs from per_page=500: {small_ids:?} vs {:?}",
                ids_of(&big)
            );
            let numbers: Vec<u64> = small_ids.iter().map(|i| i.parse().expect("decimal ids")).collect();
            assert!(
                numbers.windows(2).all(|w| w[0] < w[1]),
                "{path}: ids ascend: {numbers:?}"
            );
            // Tolerance: the count differs per target; only a list longer than a page must span pages.
            if big.len() > 7 {
                assert!(small.len() > 1, "{path}: more than one page of 7");
            }
            Ok(())
        })
        .await;
    }
}

#[tokio::test]
async fn workflow_ids_filters_answer_exactly_those() {
    let payt = Payt::connect().await;
    for path in LISTS {
        // Tolerance: ids come from the data; the newest record may be revoked before the filtered read (settled).
        payt.settled(&[(path, &[])], async || {
            let all = non_empty(&payt, path).await;
            let (a, b) = (id_of(&all[0]), id_of(&all[all.len() - 1]));
            let csv = format!("{b},{a},{UNKNOWN_ID}");
            let got = payt.walk(path, 500, &[("ids", &csv)]).await;
            let mut want = vec![a.clone()];
            if b != a {
                want.push(b);
            }
            ensure!(ids_of(&got) == want, "{path}?ids={csv}: {:?}", ids_of(&got));
            Ok(())
        })
        .await;
    }
}

#[tokio::test]
async fn workflow_updated_after_is_strictly_after() {
    let payt = Payt::connect().await;
    for path in LISTS {
        // Tolerance: the pivot is a record's own updated_at; records may change between the two reads (settled).
        payt.settled(&[(path, &[])], async || {
            let all = non_empty(&payt, path).await;
            let mut stamps: Vec<String> = all
                .iter()
                .filter_map(|r| r["updated_at"].as_str().map(str::to_string))
                .collect();
            stamps.sort();
            let pivot = stamps[stamps.len() / 2].clone();
            let got = payt.walk(path, 500, &[("updated_after", &pivot)]).await;
            let want: Vec<String> = ids_of(
                &all.iter()
                    .filter(|r| r["updated_at"].as_str().is_some_and(|t| t > pivot.as_str()))
                    .cloned()
                    .collect::<Vec<_>>(),
            );
            ensure!(
                ids_of(&got) == want,
                "{path}?updated_after={pivot}: {:?} vs {want:?}",
                ids_of(&got)
            );
            Ok(())
        })
        .await;
    }
}

#[tokio::test]
async fn workflow_show_equals_list_record() {
    let payt = Payt::connect().await;
    for path in [TASKS, MESSAGES, PSP_TRANSACTIONS] {
        // Tolerance: a record may change between the list and the show (settled).
        payt.settled(&[(path, &[])], async || {
            let all = non_empty(&payt, path).await;
            for r in [&all[0], &all[all.len() - 1]] {
                let shown = payt.get_json(&format!("{path}/{}", id_of(r)), &[]).await;
                ensure!(&shown == r, "{path}/{}: {shown} vs {r}", id_of(r));
            }
            Ok(())
        })
        .await;
        let (status, text) = send(payt.get(&format!("{path}/{UNKNOWN_ID}")).query(&admin_q(&payt))).await;
        assert_error(status, &text, 404, &format!("{path}/{UNKNOWN_ID}"));
    }
}

#[tokio::test]
async fn workflow_opt_in_fields_appear_only_when_requested() {
    let payt = Payt::connect().await;
    for (path, opt_in) in [
        (TASKS, "comments"),
        (MESSAGES, "content"),
        (PSP_MANDATES, "debtor_number"),
    ] {
        let f = fields(&["id", opt_in]);
        let mut asked = Vec::new();
        // Tolerance: records may be created or revoked between the two reads (settled).
        payt.settled(&[(path, &[])], async || {
            let plain = non_empty(&payt, path).await;
            assert!(
                plain.iter().all(|r| r.get(opt_in).is_none()),
                "{path}: {opt_in} is opt-in"
            );
            asked = payt.walk(path, 500, &[("fields", &f)]).await;
            ensure!(
                ids_of(&asked) == ids_of(&plain),
                "{path} with fields: {:?} vs {:?}",
                ids_of(&asked),
                ids_of(&plain)
            );
            Ok(())
        })
        .await;
        let mut want = vec!["id".to_string(), opt_in.to_string()];
        want.sort();
        for r in &asked {
            let mut keys: Vec<String> = r.as_object().expect("an object").keys().cloned().collect();
            keys.sort();
            assert_eq!(keys, want, "{path}: fields shows exactly the selection: {r}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Endpoint-specific filters
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn messages_and_notes_filter_by_debtor_invoice_and_case() {
    let payt = Payt::connect().await;
    for path in [MESSAGES, NOTES] {
        for (param, key) in [
            ("debtor_ids", "debtor_id"),
            ("invoice_ids", "invoice_id"),
            ("credit_case_ids", "credit_case_id"),
        ] {
            // Tolerance: the value comes from the data; the message test may write to it between the reads (settled).
            payt.settled(&[(path, &[])], async || {
                let all = non_empty(&payt, path).await;
                let Some(value) = all.iter().find_map(|r| str_of(&r[key])) else {
                    panic!("{path}: no record has a {key}; the {param} filter cannot be tested");
                };
                let got = payt.walk(path, 500, &[(param, &format!("{value},{UNKNOWN_ID}"))]).await;
                let want: Vec<String> = ids_of(
                    &all.iter()
                        .filter(|r| str_of(&r[key]).as_deref() == Some(value.as_str()))
                        .cloned()
                        .collect::<Vec<_>>(),
                );
                ensure!(
                    ids_of(&got) == want,
                    "{path}?{param}={value}: {:?} vs {want:?}",
                    ids_of(&got)
                );
                Ok(())
            })
            .await;
        }
    }
}

#[tokio::test]
async fn psp_mandates_filter_by_debtor_id_and_number() {
    let payt = Payt::connect().await;
    let f = fields(&["id", "debtor_id", "debtor_number"]);
    // Tolerance: the debtor comes from the data; the mandate test may add and revoke one for it meanwhile (settled).
    payt.settled(&[(PSP_MANDATES, &[])], async || {
        let all = payt.walk(PSP_MANDATES, 500, &[("fields", &f)]).await;
        assert!(!all.is_empty(), "{PSP_MANDATES}: no mandates to filter");
        let debtor = str_of(&all[0]["debtor_id"]).expect("debtor_id");
        let number = str_of(&all[0]["debtor_number"]).expect("debtor_number (opt-in)");
        let want: Vec<String> = ids_of(
            &all.iter()
                .filter(|m| str_of(&m["debtor_id"]).as_deref() == Some(debtor.as_str()))
                .cloned()
                .collect::<Vec<_>>(),
        );
        let by_id = payt.walk(PSP_MANDATES, 500, &[("debtor_ids", &debtor)]).await;
        ensure!(
            ids_of(&by_id) == want,
            "debtor_ids={debtor}: {:?} vs {want:?}",
            ids_of(&by_id)
        );
        let by_number = payt
            .walk(
                PSP_MANDATES,
                500,
                &[("debtor_numbers", &format!("{number},{}", unique_reference("nope")))],
            )
            .await;
        ensure!(
            ids_of(&by_number) == want,
            "debtor_numbers={number}: {:?} vs {want:?}",
            ids_of(&by_number)
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn psp_transactions_filter_by_status_and_payment_method() {
    let payt = Payt::connect().await;
    let all = non_empty(&payt, PSP_TRANSACTIONS).await;
    let statuses: HashSet<String> = all.iter().filter_map(|t| str_of(&t["status"])).collect();
    let methods: HashSet<String> = all.iter().filter_map(|t| str_of(&t["payment_method"])).collect();
    for (param, key, values) in [
        ("statuses", "status", &statuses),
        ("payment_methods", "payment_method", &methods),
    ] {
        for v in values {
            let got = payt.walk(PSP_TRANSACTIONS, 500, &[(param, v)]).await;
            let want: Vec<String> = ids_of(&all.iter().filter(|t| t[key] == v.as_str()).cloned().collect::<Vec<_>>());
            assert_eq!(ids_of(&got), want, "{param}={v}");
        }
    }
    for (param, value) in [("statuses", "paid,settled"), ("payment_methods", "ideal,cheque")] {
        let (status, text) = send(
            payt.get(PSP_TRANSACTIONS)
                .query(&admin_q(&payt))
                .query(&[(param, value)]),
        )
        .await;
        assert_error(status, &text, 400, &format!("{param}={value}"));
    }
}

// ---------------------------------------------------------------------------------------------
// Deleted endpoints
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn deleted_endpoints_page_tombstones_in_the_window() {
    let payt = Payt::connect().await;
    let since = window_start(&payt);
    for base in DELETED {
        let path = format!("{base}/deleted");
        let all = payt.walk(&path, 500, &[("deleted_after", &since)]).await;
        for t in &all {
            assert_formats(t, &path);
            assert!(
                t["deleted_at"].as_str().is_some_and(|d| d > since.as_str()),
                "{path}: {t}"
            );
            assert!(t["debtor_id"].is_string(), "{path}: debtor_id: {t}");
        }
        let window = [("deleted_after", since.as_str())];
        // Tolerance: the mandate test revokes mandates meanwhile, adding tombstones (settled).
        payt.settled(&[(&path, &window)], async || {
            let all = payt.walk(&path, 500, &window).await;
            let small = records(&payt.pages(&path, 2, &window).await);
            ensure!(
                ids_of(&small) == ids_of(&all),
                "{path}: per_page=2 walk: {:?} vs {:?}",
                ids_of(&small),
                ids_of(&all)
            );
            Ok(())
        })
        .await;
        if let Some(t) = all.last() {
            let before = t["deleted_at"].as_str().unwrap_or_default().to_string();
            let got = payt
                .walk(&path, 500, &[("deleted_after", &since), ("deleted_before", &before)])
                .await;
            assert!(
                got.iter()
                    .all(|g| g["deleted_at"].as_str().is_some_and(|d| d < before.as_str())),
                "{path} deleted_before"
            );
        }
        let (status, text) = send(payt.get(&path).query(&admin_q(&payt))).await;
        assert_error(status, &text, 400, &format!("{path} without deleted_after"));
        let (status, text) = send(
            payt.get(&path)
                .query(&admin_q(&payt))
                .query(&[("deleted_after", "yesterday")]),
        )
        .await;
        assert_error(status, &text, 400, &format!("{path} with a garbage deleted_after"));
    }
}

// ---------------------------------------------------------------------------------------------
// Payment-plan transitions
// ---------------------------------------------------------------------------------------------

/// A credit case a plan can be created on, from the end of the list (the payment-plan contract
/// tests use the start and the middle).
async fn eligible_case(payt: &Payt) -> Value {
    let cases = payt.walk(CREDIT_CASES, 500, &[]).await;
    cases
        .into_iter()
        .rev()
        .find(|c| {
            c["active_payment_plan_id"].is_null()
                && c["deactivated_at"].is_null()
                && c["open_amount"]
                    .as_str()
                    .and_then(|a| a.parse::<f64>().ok())
                    .is_some_and(|a| a >= 1.0)
        })
        .unwrap_or_else(|| {
            panic!(
                "administration {} has no open credit case without a plan",
                payt.administration_id
            )
        })
}

async fn transition(payt: &Payt, id: &str, action: &str) -> (StatusCode, String) {
    send(
        patch(payt, &format!("{PAYMENT_PLANS}/{id}/{action}"))
            .form(&[("administration_id", payt.administration_id.as_str())]),
    )
    .await
}

#[tokio::test]
async fn an_active_plan_can_be_deactivated_once_and_never_approved_or_rejected() {
    let payt = Payt::connect().await;
    let case = eligible_case(&payt).await;
    let due = payt.today().checked_add_days(Days::new(30)).expect("date");
    let (status, text) = send(payt.post(PAYMENT_PLANS).json(&json!({
        "administration_id": payt.administration_id,
        "credit_case_numbers": [case["credit_case_number"]],
        "terms": [{"amount": 1.0, "due_date": due.format("%Y-%m-%d").to_string()}]
    })))
    .await;
    assert_eq!(status, 201, "create a plan: {text}");
    let plan = parse(&text, "created plan");
    let id = id_of(&plan);
    // Should the test fail before it deactivates the plan itself. On success this later
    // deactivation of a deactivated plan answers 422, which the harness reports on stderr only.
    deactivate_later(&payt, &id);

    for action in ["approve", "reject"] {
        let (status, text) = transition(&payt, &id, action).await;
        assert_error(status, &text, 422, &format!("{action} of active plan {id}"));
    }
    let (status, text) = transition(&payt, &id, "deactivate").await;
    let done = ok(status, &text, "deactivate");
    assert_eq!(done["active"], json!(false), "{done}");
    // Tolerance: deactivated_at is the clock of the run: checked by format only.
    assert_timestamp(&done["deactivated_at"], "deactivated_at");
    assert_eq!(id_of(&done), id);
    let shown = payt.get_json(&format!("{PAYMENT_PLANS}/{id}"), &[]).await;
    assert_eq!(shown, done, "GET shows the deactivated plan");
    let case_after = payt.get_json(&format!("{CREDIT_CASES}/{}", id_of(&case)), &[]).await;
    assert!(
        case_after["active_payment_plan_id"].is_null(),
        "the case is released: {case_after}"
    );
    for action in ["approve", "reject", "deactivate"] {
        let (status, text) = transition(&payt, &id, action).await;
        assert_error(status, &text, 422, &format!("{action} of deactivated plan {id}"));
    }
    let (status, text) = transition(&payt, UNKNOWN_ID, "deactivate").await;
    assert_error(status, &text, 404, "deactivate of an unknown plan");
}

/// Proposed plans come only from debtors (the debtor portal); the test needs two.
async fn proposed_plans(payt: &Payt) -> Vec<Value> {
    let plans = payt.walk(PAYMENT_PLANS, 500, &[]).await;
    let proposed: Vec<Value> = plans
        .into_iter()
        .filter(|p| {
            p["active"] == json!(false)
                && p["approved_at"].is_null()
                && p["rejected_at"].is_null()
                && p["deactivated_at"].is_null()
        })
        .collect();
    assert!(
        proposed.len() >= 2,
        "administration {} needs two payment plans proposed by debtors (through the debtor portal) for this test",
        payt.administration_id
    );
    proposed
}

#[tokio::test]
async fn a_proposed_plan_can_be_approved_or_rejected() {
    let payt = Payt::connect().await;
    // Rejecting is terminal, and an approved plan can only be deactivated: the two proposed plans
    // are used up for good, and only a debtor can propose new ones (the debtor portal, no API).
    if !payt.permanent_writes("approves and rejects payment plans debtors proposed, which cannot be undone") {
        return;
    }
    let proposed = proposed_plans(&payt).await;
    let (a, b) = (id_of(&proposed[0]), id_of(&proposed[1]));
    let (status, text) = transition(&payt, &a, "deactivate").await;
    assert_error(status, &text, 422, "deactivate of a proposed plan");

    let f = fields(&["id", "active", "approved_at"]);
    let (status, text) = send(patch(&payt, &format!("{PAYMENT_PLANS}/{a}/approve")).form(&[
        ("administration_id", payt.administration_id.as_str()),
        ("fields", f.as_str()),
    ]))
    .await;
    let approved = ok(status, &text, "approve");
    // Ends the approved plan when the test ends, which frees its invoices and cases.
    deactivate_later(&payt, &a);
    assert_eq!(approved["active"], json!(true));
    assert_timestamp(&approved["approved_at"], "approved_at");
    assert_eq!(
        approved.as_object().map(|o| o.len()),
        Some(3),
        "fields projects the answer: {approved}"
    );
    for action in ["approve", "reject"] {
        let (status, text) = transition(&payt, &a, action).await;
        assert_error(status, &text, 422, &format!("{action} of an approved plan"));
    }

    let (status, text) = transition(&payt, &b, "reject").await;
    let rejected = ok(status, &text, "reject");
    assert_eq!(rejected["active"], json!(false));
    assert_timestamp(&rejected["rejected_at"], "rejected_at");
    assert!(
        rejected["rejected_by_user"]["id"].is_string(),
        "rejected_by_user: {rejected}"
    );
    for action in ["approve", "reject", "deactivate"] {
        let (status, text) = transition(&payt, &b, action).await;
        assert_error(status, &text, 422, &format!("{action} of a rejected plan"));
    }
}

// ---------------------------------------------------------------------------------------------
// Tasks
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_task_can_be_commented_completed_and_reopened() {
    let payt = Payt::connect().await;
    let tasks = non_empty(&payt, TASKS).await;
    let task = tasks
        .iter()
        .rev()
        .find(|t| t["completed_at"].is_null())
        .unwrap_or_else(|| panic!("administration {} has no open task", payt.administration_id));
    let id = id_of(task);
    let path = |what: &str| format!("{TASKS}/{id}/{what}");
    let admin = payt.administration_id.as_str();

    let text = unique_reference("task-comment");
    let (status, body) = send(
        payt.post(&path("comment"))
            .json(&json!({"administration_id": admin, "comment": text})),
    )
    .await;
    assert_eq!(status, 201, "comment: {body}");
    let body = parse(&body, "comment");
    assert_eq!(body["success"], json!(true), "{body}");
    assert!(body["count"].is_u64() && body["errors"].is_object(), "{body}");
    let f = fields(&["id", "comments"]);
    let shown = payt.get_json(&format!("{TASKS}/{id}"), &[("fields", &f)]).await;
    let comment = shown["comments"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["content"] == text.as_str()))
        .unwrap_or_else(|| panic!("the comment is not on the task: {shown}"));
    // Tolerance: the comment's id and time are the target's: checked by type and format only.
    assert!(comment["id"].is_string());
    assert_timestamp(&comment["created_at"], "comment created_at");
    let (status, body) = send(payt.post(&path("comment")).json(&json!({"administration_id": admin}))).await;
    assert_error(status, &body, 422, "comment without text");

    // Reopened when the test ends, passed or failed (on an open task a no-op).
    payt.cleanup_later(
        Method::PATCH,
        path("unmark_completed"),
        Some(json!({"administration_id": admin})),
    );
    let (status, body) = send(patch(&payt, &path("mark_completed")).json(&json!({
        "administration_id": admin, "completed_status": "succeeded",
        "completed_status_message": unique_reference("done"), "resume_dossiers": false
    })))
    .await;
    let done = ok(status, &body, "mark_completed");
    assert_timestamp(&done["completed_at"], "completed_at");
    assert_eq!(id_of(&done), id);
    let (status, body) = send(patch(&payt, &path("mark_completed")).json(&json!({"administration_id": admin}))).await;
    assert_error(status, &body, 422, "mark_completed of a completed task");

    let (status, body) = send(patch(&payt, &path("unmark_completed")).form(&[("administration_id", admin)])).await;
    let reopened = ok(status, &body, "unmark_completed");
    assert!(reopened["completed_at"].is_null(), "{reopened}");
    let (status, body) = send(patch(&payt, &path("unmark_completed")).form(&[("administration_id", admin)])).await;
    let again = ok(status, &body, "unmark_completed of an open task");
    assert!(again["completed_at"].is_null());
    assert_eq!(payt.get_json(&format!("{TASKS}/{id}"), &[]).await, again);
}

#[tokio::test]
async fn task_writes_on_unknown_tasks_are_404_and_bad_bodies_422() {
    let payt = Payt::connect().await;
    let admin = payt.administration_id.as_str();
    for (rb, what) in [
        (
            payt.post(&format!("{TASKS}/{UNKNOWN_ID}/comment"))
                .json(&json!({"administration_id": admin, "comment": "x"})),
            "comment",
        ),
        (
            patch(&payt, &format!("{TASKS}/{UNKNOWN_ID}/mark_completed")).json(&json!({"administration_id": admin})),
            "mark_completed",
        ),
        (
            patch(&payt, &format!("{TASKS}/{UNKNOWN_ID}/unmark_completed")).json(&json!({"administration_id": admin})),
            "unmark_completed",
        ),
    ] {
        let (status, text) = send(rb).await;
        assert_error(status, &text, 404, what);
    }
    let task = non_empty(&payt, TASKS).await.swap_remove(0);
    let (status, text) = send(
        patch(&payt, &format!("{TASKS}/{}/mark_completed", id_of(&task)))
            .json(&json!({"administration_id": admin, "completed_status": "maybe"})),
    )
    .await;
    if status.is_success() && task["completed_at"].is_null() {
        // The target completed the task after all: reopen it when the test ends.
        payt.cleanup_later(
            Method::PATCH,
            format!("{TASKS}/{}/unmark_completed", id_of(&task)),
            Some(json!({"administration_id": admin})),
        );
    }
    assert_error(status, &text, 422, "an unknown completed_status");
}

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_message_can_be_sent_read_and_unread() {
    let payt = Payt::connect().await;
    let case = non_empty(&payt, CREDIT_CASES).await.pop().expect("a case");
    let subject = unique_reference("message");
    let (status, text) = send(payt.post(MESSAGES).json(&json!({
        "administration_id": payt.administration_id,
        "credit_case_number": case["credit_case_number"],
        "message": {"subject": subject, "body": "Contract test, please ignore.", "email": "contract-test@example.com"}
    })))
    .await;
    let sent = ok(status, &text, "POST /v1/messages (200, not 201)");
    assert_formats(&sent, "sent message");
    assert_eq!(sent["sender_type"], "creditor");
    assert_eq!(sent["subject"], subject.as_str());
    assert_eq!(str_of(&sent["debtor_id"]), str_of(&case["debtor_id"]));
    assert_eq!(str_of(&sent["credit_case_id"]), Some(id_of(&case)));
    // Tolerance: sent_at is the clock of the run: checked by format only.
    assert_timestamp(&sent["sent_at"], "sent_at");
    assert!(sent.get("content").is_none(), "content is opt-in");
    let id = id_of(&sent);
    let f = fields(&["id", "content"]);
    let shown = payt.get_json(&format!("{MESSAGES}/{id}"), &[("fields", &f)]).await;
    assert_eq!(shown, json!({"id": id, "content": "Contract test, please ignore."}));
    let listed = payt.walk(MESSAGES, 500, &[("credit_case_ids", &id_of(&case))]).await;
    // Tolerance: the case may hold messages of other tests and runs: ours must be among them.
    assert!(ids_of(&listed).contains(&id));

    let (status, text) = send(patch(&payt, MESSAGES).json(&json!({"administration_id": payt.administration_id, "messages": [{"id": id, "read": true}, {"id": UNKNOWN_ID, "read": true}]}))).await;
    let res = ok(status, &text, "PATCH /v1/messages read=true");
    assert_eq!(res["count"], json!(1), "{res}");
    assert!(
        res["errors"].as_object().is_some_and(|e| e.contains_key(UNKNOWN_ID)),
        "{res}"
    );
    let read = payt.get_json(&format!("{MESSAGES}/{id}"), &[]).await;
    assert_timestamp(&read["read_at"], "read_at");
    assert!(read["read_by_user"]["id"].is_string(), "{read}");
    let (status, text) = send(patch(&payt, MESSAGES).form(&[
        ("administration_id", payt.administration_id.as_str()),
        ("messages[][id]", id.as_str()),
        ("messages[][read]", "false"),
    ]))
    .await;
    ok(status, &text, "PATCH /v1/messages read=false (form)");
    let unread = payt.get_json(&format!("{MESSAGES}/{id}"), &[]).await;
    assert!(
        unread["read_at"].is_null() && unread["read_by_user"].is_null(),
        "{unread}"
    );
}

#[tokio::test]
async fn a_message_needs_exactly_one_existing_target() {
    let payt = Payt::connect().await;
    let case = non_empty(&payt, CREDIT_CASES).await.swap_remove(0);
    let message = json!({"subject": unique_reference("message"), "body": "x", "email": "contract-test@example.com"});
    let admin = payt.administration_id.clone();
    for (body, expected) in [
        (json!({"administration_id": admin, "message": message}), 422),
        (
            json!({"administration_id": admin, "credit_case_number": case["credit_case_number"], "debtor_number": "x", "message": message}),
            422,
        ),
        (
            json!({"administration_id": admin, "credit_case_number": case["credit_case_number"], "message": {"body": "no subject"}}),
            422,
        ),
        (
            json!({"administration_id": admin, "credit_case_number": unique_reference("case"), "message": message}),
            404,
        ),
        (
            json!({"administration_id": admin, "invoice_number": unique_reference("invoice"), "message": message}),
            404,
        ),
    ] {
        let (status, text) = send(payt.post(MESSAGES).json(&body)).await;
        assert_error(status, &text, expected, &format!("POST /v1/messages {body}"));
    }
}

// ---------------------------------------------------------------------------------------------
// PSP mandates
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_psp_mandate_can_be_created_and_revoked() {
    let payt = Payt::connect().await;
    let case = non_empty(&payt, CREDIT_CASES).await.pop().expect("a case");
    let debtor = str_of(&case["debtor_id"]).expect("the case's debtor");
    let reference = unique_reference("mandate");
    let item = json!({"bank_account_name": reference, "bank_account_number": IBAN, "provider_code": "twikey", "debtor_id": debtor, "mandate_reference": reference});
    // Revoked when the test ends, passed or failed (the test revokes it itself on the way).
    revoke_later(&payt, &reference);
    let (status, text) = send(
        payt.post(PSP_MANDATES)
            .json(&json!({"administration_id": payt.administration_id, "psp_mandates": [item]})),
    )
    .await;
    let created = ok(status, &text, "POST /v1/psp_mandates (200, not 201)");
    assert_formats(&created, "created mandate");
    assert_eq!(created["mandate_reference"], reference.as_str());
    assert_eq!(created["provider"], "twikey");
    assert_eq!(str_of(&created["debtor_id"]), Some(debtor.clone()));
    // Tolerance: the mandate identifier is generated (the IBAN may come back masked): type only.
    assert!(created["mandate_identifier"].is_string() && created["bank_account_number"].is_string());
    let id = id_of(&created);
    let listed = payt.walk(PSP_MANDATES, 500, &[("ids", &id)]).await;
    assert_eq!(ids_of(&listed), vec![id.clone()]);

    // The reference is unique per administration.
    let (status, text) = send(
        payt.post(PSP_MANDATES)
            .json(&json!({"administration_id": payt.administration_id, "psp_mandates": [item]})),
    )
    .await;
    assert_error(status, &text, 422, "a second mandate with the same reference");

    let (status, text) = send(
        delete(&payt, PSP_MANDATES)
            .query(&admin_q(&payt))
            .query(&[("mandate_references", reference.as_str())]),
    )
    .await;
    let res = ok(status, &text, "DELETE /v1/psp_mandates");
    assert_eq!(
        (res["success"].clone(), res["count"].clone()),
        (json!(true), json!(1)),
        "{res}"
    );
    let since = window_start(&payt);
    // Tolerance: the window holds the tombstones of other tests and runs too: ours is looked up.
    let gone = payt
        .walk(&format!("{PSP_MANDATES}/deleted"), 500, &[("deleted_after", &since)])
        .await;
    let tomb = gone
        .iter()
        .find(|t| id_of(t) == id)
        .unwrap_or_else(|| panic!("mandate {id} is not in /deleted"));
    assert_eq!(tomb["mandate_identifier"], created["mandate_identifier"]);
    assert_eq!(tomb["provider"], created["provider"]);
    assert!(
        payt.walk(PSP_MANDATES, 500, &[("ids", &id)]).await.is_empty(),
        "a revoked mandate leaves the list"
    );
}

#[tokio::test]
async fn invalid_psp_mandates_are_422_and_delete_needs_a_selector() {
    let payt = Payt::connect().await;
    let case = non_empty(&payt, CREDIT_CASES).await.swap_remove(0);
    let debtor = str_of(&case["debtor_id"]).expect("debtor");
    let reference = unique_reference("bad-mandate");
    let good = json!({"bank_account_name": reference, "bank_account_number": IBAN, "provider_code": "mollie", "debtor_id": debtor, "mandate_reference": reference});
    // Each body below must be refused; should a target accept one, its mandate is revoked when the
    // test ends.
    revoke_later(&payt, &reference);
    for (key, value) in [
        ("provider_code", json!("gocardless")),
        ("bank_account_number", Value::Null),
        ("bank_account_name", Value::Null),
        ("debtor_id", json!(UNKNOWN_ID)),
    ] {
        let mut item = good.clone();
        if value.is_null() {
            item.as_object_mut().map(|o| o.remove(key));
        } else {
            item[key] = value;
        }
        let (status, text) = send(
            payt.post(PSP_MANDATES)
                .json(&json!({"administration_id": payt.administration_id, "psp_mandates": [item]})),
        )
        .await;
        assert_error(status, &text, 422, &format!("POST /v1/psp_mandates with a bad {key}"));
    }
    let (status, text) = send(delete(&payt, PSP_MANDATES).query(&admin_q(&payt))).await;
    assert_error(status, &text, 400, "DELETE /v1/psp_mandates without a selector");
    let (status, text) = send(
        delete(&payt, PSP_MANDATES)
            .query(&admin_q(&payt))
            .query(&[("mandate_references", unique_reference("none").as_str())]),
    )
    .await;
    let res = ok(status, &text, "DELETE of an unknown reference");
    assert_eq!(res["count"], json!(0), "{res}");
}

// ---------------------------------------------------------------------------------------------
// Auth and errors
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn workflow_routes_need_a_token_and_a_granted_administration() {
    let payt = Payt::connect().await;
    for path in LISTS {
        let (status, text) = send(payt.client.get(payt.url(path)).query(&admin_q(&payt))).await;
        assert_error(status, &text, 401, &format!("{path} without a token"));
        let (status, text) = send(payt.get(path).query(&[("administration_id", UNLIKELY_ADMINISTRATION)])).await;
        assert!(
            matches!(status.as_u16(), 403 | 404),
            "{path} for an ungranted administration: {status} {text}"
        );
        let (status, text) = send(payt.get(path)).await;
        assert_error(status, &text, 400, &format!("{path} without administration_id"));
        let (status, text) = send(payt.get(path).query(&admin_q(&payt)).query(&[("per_page", "0")])).await;
        assert_error(status, &text, 400, &format!("{path} per_page=0"));
    }
    let (status, text) = send(
        payt.client
            .patch(payt.url(&format!("{TASKS}/1/mark_completed")))
            .json(&json!({"administration_id": payt.administration_id})),
    )
    .await;
    assert_error(status, &text, 401, "mark_completed without a token");
    let (status, text) = send(
        patch(&payt, &format!("{PAYMENT_PLANS}/1/approve"))
            .json(&json!({"administration_id": UNLIKELY_ADMINISTRATION})),
    )
    .await;
    assert!(
        matches!(status.as_u16(), 403 | 404),
        "approve in an ungranted administration: {status} {text}"
    );
    for (rb, what) in [
        (payt.put(TASKS), "PUT /v1/tasks"),
        (delete(&payt, NOTES), "DELETE /v1/notes"),
        (payt.post(PSP_TRANSACTIONS), "POST /v1/psp_transactions"),
        (payt.get(&format!("{TASKS}/1/comment")), "GET /v1/tasks/1/comment"),
    ] {
        let (status, text) = send(rb.query(&admin_q(&payt))).await;
        assert_error(status, &text, 405, what);
    }
}
