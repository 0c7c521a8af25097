//! Writes under load (issues 13 and 16), as a fast and deterministic test: per vendor, 64 writer
//! tasks each create, update and move records through the HTTP API while 4 reader tasks walk the
//! lists, and afterwards every acknowledged write is in the lists exactly once and in the state
//! its last acknowledged change left it, no id is listed twice and the fixtures are all still
//! there. Each test runs under a deadline.
//!
//! - Payt: each write is an invoice of its own (`POST /v1/invoices`, a bulk upsert answering
//!   `{"count": 1, "errors": {}}`), then a payment plan on it (`POST /v1/payment_plans`, 201
//!   with the plan's id) that is then deactivated (or approved, if proposed), and every other
//!   invoice is blocked (`PATCH /v1/invoices/block`). Readers walk `GET /v1/payment_plans` and `GET /v1/invoices` of
//!   administration 81 by cursor; a cursor walk must serve growing ids even while records arrive.
//! - paywise: each write is a claim with a `your_reference` of its own (`POST /v1/claims/`), and
//!   every other claim is released (`PATCH /v1/claims/{id}/`).
//!   Readers walk `GET /v1/claims/` by limit and offset.
//!
//! The mocks run in-process on the frozen test clock (`mock_core::testing::frozen`), so nothing
//! depends on the day or on timing; the benchmark `benches/writes.rs` measures the same under
//! timed load against the release binary.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use mock_payt::MockPayt;
use mock_paywise::MockPaywise;
use serde_json::{Value, json};

const WRITERS: usize = 64;
const WRITES: usize = 8;
const READERS: usize = 4;
/// How long one vendor's load may take (it takes a few seconds; a lost wake-up or a deadlock
/// fails here instead of hanging CI).
const DEADLINE: std::time::Duration = std::time::Duration::from_secs(180);
const ADMIN: u64 = 81;

/// A client of one mock.
#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    fn new(base: String, token: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base,
            token: token.to_string(),
        }
    }

    /// `GET` of `url` (absolute) or `path` (on the base URL): status and JSON.
    async fn get(&self, url_or_path: &str) -> (u16, Value) {
        let url = if url_or_path.starts_with("http") {
            url_or_path.to_string()
        } else {
            format!("{}{url_or_path}", self.base)
        };
        let res = self
            .http
            .get(&url)
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, body).await
    }

    async fn patch(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(reqwest::Method::PATCH, path, body).await
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: &Value) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let res = self
            .http
            .request(method.clone(), &url)
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

/// A record's id as text (Payt sends string ids, or numbers with `integer_ids`).
fn id_of(record: &Value) -> String {
    match &record["id"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// How often each value occurs.
fn counts<'a>(values: impl IntoIterator<Item = &'a String>) -> BTreeMap<&'a str, usize> {
    let mut out = BTreeMap::new();
    for v in values {
        *out.entry(v.as_str()).or_insert(0) += 1;
    }
    out
}

/// That each of `acknowledged` occurs exactly once in `listed`, no value occurs twice, and every
/// value of `before` is still listed; `what` names the check in the failure.
fn assert_exactly_once(what: &str, acknowledged: &[String], listed: &[String], before: &[String]) {
    let seen = counts(listed);
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "{what}: listed more than once: {twice:?}");
    let missing: Vec<_> = acknowledged.iter().filter(|a| !seen.contains_key(a.as_str())).collect();
    assert!(
        missing.is_empty(),
        "{what}: {} of {} acknowledged writes are not listed: {missing:?}",
        missing.len(),
        acknowledged.len()
    );
    let acked = counts(acknowledged);
    let twice: Vec<_> = acked.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "{what}: acknowledged more than once: {twice:?}");
    let lost: Vec<_> = before.iter().filter(|b| !seen.contains_key(b.as_str())).collect();
    assert!(lost.is_empty(), "{what}: fixtures gone: {lost:?}");
    let expected: BTreeSet<&str> = before.iter().chain(acknowledged).map(String::as_str).collect();
    let unknown: Vec<_> = seen.keys().filter(|k| !expected.contains(*k)).collect();
    assert!(unknown.is_empty(), "{what}: listed but never written: {unknown:?}");
}

/// Stops the readers when dropped, so a failing writer does not leave them walking.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

// ---------------------------------------------------------------------------------------------
// Payt
// ---------------------------------------------------------------------------------------------

/// Every record of a Payt cursor walk of `path` (which ends in `per_page=...`), in the order
/// served, as `(id, field)`. The ids of a cursor walk grow strictly, also while records are
/// written.
async fn payt_walk(api: &Api, path: &str, field: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut last = 0u64;
    for _ in 0..10_000 {
        let url = match &cursor {
            Some(c) => format!("{path}&cursor={c}"),
            None => path.to_string(),
        };
        let (s, page) = api.get(&url).await;
        assert_eq!(s, 200, "{url}: {page}");
        for r in page["data"].as_array().expect("data") {
            let id = id_of(r);
            let n: u64 = id.parse().expect("a numeric Payt id");
            assert!(
                n > last,
                "{url}: id {n} after {last}: a cursor walk must serve growing ids"
            );
            last = n;
            out.push((id, r[field].as_str().map(str::to_string).unwrap_or_default()));
        }
        match page["pagination"]["cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
    panic!("the cursor walk of {path} does not end");
}

fn plans_path() -> String {
    format!("/v1/payment_plans?administration_id={ADMIN}&per_page=100")
}

fn invoices_path() -> String {
    format!("/v1/invoices?administration_id={ADMIN}&per_page=100")
}

fn invoice_body(number: &str, debtor_number: &str) -> Value {
    json!({
        "administration_id": ADMIN,
        "invoices": [{
            "invoice_number": number, "currency_code": "EUR", "invoice_date": "2026-10-01", "due_date": "2026-10-31",
            "debtor_number": debtor_number, "amount_total": "100", "amount_open": "100",
            "book_amount_total": "100", "book_amount_open": "100"
        }]
    })
}

fn plan_body(number: &str) -> Value {
    json!({
        "administration_id": ADMIN,
        "invoice_numbers": [number],
        "terms": [{"amount": 10, "due_date": "2027-01-01"}, {"amount": 20, "due_date": "2027-02-01"}]
    })
}

/// Writer `w`: [`WRITES`] invoices of debtor `debtor_number`, each with a plan on it; the
/// acknowledged invoice numbers and plan ids.
async fn payt_writer(api: Api, w: usize, debtor_number: String) -> (Vec<String>, Vec<String>) {
    let (mut numbers, mut plans) = (Vec::new(), Vec::new());
    for k in 0..WRITES {
        let number = format!("LOAD-{w:02}-{k:02}");
        let (s, out) = api.post("/v1/invoices", &invoice_body(&number, &debtor_number)).await;
        assert_eq!(
            (s, &out["count"], &out["errors"]),
            (201, &json!(1), &json!({})),
            "{number}: {out}"
        );
        numbers.push(number.clone());
        let (s, plan) = api.post("/v1/payment_plans", &plan_body(&number)).await;
        assert_eq!(s, 201, "plan on {number}: {plan}");
        assert_eq!(plan["payment_terms"].as_array().map(Vec::len), Some(2), "{plan}");
        let id = id_of(&plan);
        assert!(!id.is_empty() && id != "null", "plan on {number} without an id: {plan}");
        // A transition of the plan (an active plan is deactivated, a proposed one approved) and
        // an update of every other invoice (blocked).
        let transition = if plan["active"] == json!(true) {
            "deactivate"
        } else {
            "approve"
        };
        let (s, moved) = api
            .patch(
                &format!("/v1/payment_plans/{id}/{transition}"),
                &json!({"administration_id": ADMIN}),
            )
            .await;
        assert_eq!(s, 200, "{transition} plan {id}: {moved}");
        if k.is_multiple_of(2) {
            let (s, out) = api
                .patch(
                    "/v1/invoices/block",
                    &json!({"administration_id": ADMIN, "invoice_numbers": [number]}),
                )
                .await;
            assert_eq!((s, &out["count"]), (200, &json!(1)), "block {number}: {out}");
        }
        plans.push(id);
    }
    (numbers, plans)
}

/// Reader `r`: walks plans (even `r`) or invoices (odd `r`) until `stop`, at least once.
async fn payt_reader(api: Api, r: usize, stop: Arc<AtomicBool>, walks: Arc<AtomicUsize>) {
    loop {
        if r.is_multiple_of(2) {
            payt_walk(&api, &plans_path(), "id").await;
        } else {
            payt_walk(&api, &invoices_path(), "invoice_number").await;
        }
        walks.fetch_add(1, Ordering::SeqCst);
        if stop.load(Ordering::SeqCst) {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn payt_plans_written_and_moved_by_64_writers_under_reads_are_each_listed_once() {
    tokio::time::timeout(DEADLINE, payt_load())
        .await
        .expect("the load finishes within its deadline");
}

async fn payt_load() {
    let m = MockPayt::test()
        .seed(13)
        .clock(mock_core::testing::frozen())
        .start()
        .await;
    let api = Api::new(m.uri(), m.token());
    let (s, debtors) = api
        .get(&format!("/v1/debtors?administration_id={ADMIN}&per_page={WRITERS}"))
        .await;
    assert_eq!(s, 200, "{debtors}");
    let debtor_numbers: Vec<String> = debtors["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|d| d["debtor_number"].as_str().map(str::to_string))
        .collect();
    assert!(!debtor_numbers.is_empty(), "fixture debtors");
    let plans_before: Vec<String> = payt_walk(&api, &plans_path(), "id")
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let invoices_before: Vec<String> = payt_walk(&api, &invoices_path(), "invoice_number")
        .await
        .into_iter()
        .map(|(_, n)| n)
        .collect();
    assert!(
        !invoices_before.iter().any(|n| n.starts_with("LOAD-")),
        "the fixtures use another numbering"
    );

    let stop = Arc::new(AtomicBool::new(false));
    let walks = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..READERS)
        .map(|r| tokio::spawn(payt_reader(api.clone(), r, stop.clone(), walks.clone())))
        .collect();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let debtor = debtor_numbers[w % debtor_numbers.len()].clone();
            tokio::spawn(payt_writer(api.clone(), w, debtor))
        })
        .collect();
    let (mut numbers, mut plans) = (Vec::new(), Vec::new());
    {
        let _stop = StopOnDrop(stop.clone());
        for t in writers {
            let (n, p) = t.await.expect("a writer that did not panic");
            numbers.extend(n);
            plans.extend(p);
        }
    }
    for t in readers {
        t.await.expect("a reader that did not panic");
    }
    assert!(walks.load(Ordering::SeqCst) >= READERS);
    assert_eq!(plans.len(), WRITERS * WRITES);

    let plans_after: Vec<String> = payt_walk(&api, &plans_path(), "id")
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_exactly_once("payment plans", &plans, &plans_after, &plans_before);
    let invoices_after = payt_walk(&api, &invoices_path(), "invoice_number").await;
    let invoice_numbers: Vec<String> = invoices_after.iter().map(|(_, n)| n.clone()).collect();
    assert_exactly_once("invoices", &numbers, &invoice_numbers, &invoices_before);
    // Each plan is on its own invoice, and each invoice shows it as its active plan.
    let (s, page) = api
        .get(&format!(
            "/v1/invoices?administration_id={ADMIN}&per_page=100&invoice_numbers={}&fields={}",
            numbers[..10].join(","),
            r#"{"only":["invoice_number","flow_code","active_payment_plan_id"]}"#
        ))
        .await;
    assert_eq!(s, 200, "{page}");
    for i in page["data"].as_array().expect("data") {
        let number = i["invoice_number"].as_str().unwrap_or_default();
        let k: usize = number
            .rsplit('-')
            .next()
            .and_then(|k| k.parse().ok())
            .expect("a load number");
        let blocked = i["flow_code"] == "blocked";
        assert_eq!(blocked, k.is_multiple_of(2), "{number} blocked: {i}");
        // An invoice whose plan was approved shows it as its active plan; a deactivated plan
        // leaves none.
        match &i["active_payment_plan_id"] {
            Value::Null => {}
            Value::String(p) => assert!(plans.contains(p), "{number}: plan {p} not written here: {i}"),
            other => panic!("{number}: active_payment_plan_id {other}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// paywise
// ---------------------------------------------------------------------------------------------

/// Every claim of a limit/offset walk of `GET /v1/claims/` as `(id, your_reference)`, following
/// `next`. While claims are written an offset walk may serve a record twice (one inserted before
/// the offset shifts the rest), so only the walks after the writes are checked for that.
async fn paywise_walk(api: &Api) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut url = format!("{}/v1/claims/?limit=100&offset=0", api.base);
    for _ in 0..10_000 {
        let (s, page) = api.get(&url).await;
        assert_eq!(s, 200, "{url}: {page}");
        for r in page["results"].as_array().expect("results") {
            out.push((
                id_of(r),
                r["your_reference"].as_str().map(str::to_string).unwrap_or_default(),
            ));
        }
        match page["next"].as_str() {
            Some(next) => url = next.to_string(),
            None => return out,
        }
    }
    panic!("the walk of the claims does not end");
}

fn claim_body(debtor: &str, reference: &str) -> Value {
    json!({
        "debtor": debtor,
        "your_reference": reference,
        "main_claim_amount": {"value": "100.00", "currency": "EUR"},
        "total_claim_amount": {"value": "100.00", "currency": "EUR"},
        "subject_matter": null, "occurence_date": null, "document_reference": null, "document_date": null,
        "due_date": null, "reminder_date": null, "delay_date": null, "starting_approach": "extrajudicial",
        "claim_disputed": false, "obligation_fulfilled": true
    })
}

/// Writer `w`: [`WRITES`] claims on `debtor`; the acknowledged `(id, your_reference)`s.
async fn paywise_writer(api: Api, w: usize, debtor: String) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for k in 0..WRITES {
        let reference = format!("LOAD-{w:02}-{k:02}");
        let (s, claim) = api.post("/v1/claims/", &claim_body(&debtor, &reference)).await;
        assert_eq!(s, 201, "{reference}: {claim}");
        assert_eq!(claim["your_reference"], json!(reference), "{claim}");
        let id = claim["id"].as_str().expect("a claim id").to_string();
        // Every other claim is released (the transition a client makes).
        if k.is_multiple_of(2) {
            let (s, released) = api
                .patch(&format!("/v1/claims/{id}/"), &json!({"submission_state": "released"}))
                .await;
            assert_eq!(s, 200, "release {reference}: {released}");
            assert_eq!(released["submission_state"], "released", "{released}");
        }
        out.push((id, reference));
    }
    out
}

async fn paywise_reader(api: Api, stop: Arc<AtomicBool>, walks: Arc<AtomicUsize>) {
    loop {
        paywise_walk(&api).await;
        walks.fetch_add(1, Ordering::SeqCst);
        if stop.load(Ordering::SeqCst) {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn paywise_claims_written_and_released_by_64_writers_under_reads_are_each_listed_once() {
    tokio::time::timeout(DEADLINE, paywise_load())
        .await
        .expect("the load finishes within its deadline");
}

async fn paywise_load() {
    let m = MockPaywise::test()
        .seed(13)
        .clock(mock_core::testing::frozen())
        .start()
        .await;
    let api = Api::new(m.uri(), m.token());
    let (s, debtors) = api.get(&format!("/v1/debtors/?limit={WRITERS}")).await;
    assert_eq!(s, 200, "{debtors}");
    let debtor_ids: Vec<String> = debtors["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|d| d["id"].as_str().map(str::to_string))
        .collect();
    assert!(!debtor_ids.is_empty(), "fixture debtors");
    let before = paywise_walk(&api).await;
    assert!(
        !before.iter().any(|(_, r)| r.starts_with("LOAD-")),
        "the fixtures use other references"
    );
    let before_ids: Vec<String> = before.iter().map(|(id, _)| id.clone()).collect();

    let stop = Arc::new(AtomicBool::new(false));
    let walks = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..READERS)
        .map(|_| tokio::spawn(paywise_reader(api.clone(), stop.clone(), walks.clone())))
        .collect();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let debtor = debtor_ids[w % debtor_ids.len()].clone();
            tokio::spawn(paywise_writer(api.clone(), w, debtor))
        })
        .collect();
    let mut acknowledged = Vec::new();
    {
        let _stop = StopOnDrop(stop.clone());
        for t in writers {
            acknowledged.extend(t.await.expect("a writer that did not panic"));
        }
    }
    for t in readers {
        t.await.expect("a reader that did not panic");
    }
    assert!(walks.load(Ordering::SeqCst) >= READERS);
    assert_eq!(acknowledged.len(), WRITERS * WRITES);

    let after = paywise_walk(&api).await;
    let ids: Vec<String> = acknowledged.iter().map(|(id, _)| id.clone()).collect();
    let listed: Vec<String> = after.iter().map(|(id, _)| id.clone()).collect();
    assert_exactly_once("claims", &ids, &listed, &before_ids);
    // Each listed claim carries the reference its write gave it.
    let by_id: BTreeMap<&str, &str> = after.iter().map(|(id, r)| (id.as_str(), r.as_str())).collect();
    for (id, reference) in &acknowledged {
        assert_eq!(by_id.get(id.as_str()), Some(&reference.as_str()), "claim {id}");
    }
    // Each released claim is released, the others still created.
    for (id, reference) in &acknowledged {
        let k: usize = reference
            .rsplit('-')
            .next()
            .and_then(|k| k.parse().ok())
            .expect("a load reference");
        let (s, claim) = api.get(&format!("/v1/claims/{id}/")).await;
        assert_eq!(s, 200, "{claim}");
        let want = if k.is_multiple_of(2) { "released" } else { "created" };
        assert_eq!(claim["submission_state"], want, "{reference}: {claim}");
    }
    // The count agrees with the walk.
    let (_, first) = api.get("/v1/claims/?limit=1").await;
    assert_eq!(first["count"], json!(after.len()));
}
