//! Writes under load: 32 concurrent writers per vendor for a fixed time, with readers paging the
//! lists at the same time, against the release binary; then every acknowledged write must be in
//! the lists exactly once.
//!
//! `just bench-writes` (or `cargo build --release --bin payt-paywise-mocks && cargo bench --bench
//! writes -- [flags]`; `--duration 2` for a short run). One process on free ports, started as
//! `--anchor-date 2026-01-15 --clock-start 2026-01-15T12:00:00Z --clock-frozen`, serves both
//! vendors; they take turns (Payt, then paywise), so each has the machine to itself:
//!
//! - **Payt**: each writer creates an invoice of its own (`POST /v1/invoices`, a bulk upsert
//!   whose 201 carries per-record results: acknowledged when `count` is 1 and `errors` empty) and
//!   then a payment plan on it (`POST /v1/payment_plans`: acknowledged when 2xx with an `id`).
//!   Readers walk `GET /v1/payment_plans` (even readers) and `GET /v1/invoices` (odd ones) of
//!   administration 81 by cursor, 100 a page, over and over.
//! - **paywise**: each writer creates claims (`POST /v1/claims/`) with a `your_reference` of its
//!   own; readers walk `GET /v1/claims/` by limit (100) and offset.
//!
//! Before the load the lists are walked once (the fixtures); after it, once more: every
//! acknowledged plan id, invoice number and claim id must be listed exactly once, no id twice,
//! every fixture still there, and nothing listed that nobody wrote (beyond writes whose answer
//! never arrived). Readers also note walk anomalies while the writes go on: a Payt cursor walk
//! whose ids do not grow, a paywise offset walk that serves a claim twice (an insert before the
//! offset shifts the rest; offset paging allows that).
//!
//! Prints Markdown tables (the README carries the latest), writes them to `<out>.md` and every
//! number to `<out>` (default `<target>/bench/writes.json`). Exits non-zero when an acknowledged
//! write is missing or listed twice (or any of the other checks fails); throughput and latency
//! are reported, never asserted.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Parser, ValueEnum};
use serde_json::{Value, json};

#[path = "support/mod.rs"]
mod support;

const PAYT_AUTH: &str = "Bearer payt_test_token";
const PAYWISE_AUTH: &str = "Bearer paywise_test_token";
const ADMIN: u64 = 81;
/// The prefix of every invoice number and claim reference the writers use (the fixtures use none).
const PREFIX: &str = "LOAD-";

/// Writes under load: concurrent writers and readers against both mocks.
#[derive(Debug, Parser)]
#[command(name = "bench-writes")]
struct Args {
    /// Seconds of writes per vendor.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Concurrent writer tasks per vendor.
    #[arg(long, default_value_t = 32)]
    writers: usize,
    /// Concurrent reader tasks per vendor (paging lists while the writes go on).
    #[arg(long, default_value_t = 4)]
    readers: usize,
    /// Only this vendor.
    #[arg(long, value_enum)]
    vendor: Option<VendorArg>,
    /// The binary to start (by default `<target>/release/payt-paywise-mocks`).
    #[arg(long)]
    bin: Option<PathBuf>,
    /// Where the JSON goes (the Markdown goes next to it, as .md).
    #[arg(long)]
    out: Option<PathBuf>,
    /// How long the start may take before the run gives up (seconds).
    #[arg(long, default_value_t = 60)]
    start_timeout: u64,
    /// Passed by `cargo bench`.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum VendorArg {
    Payt,
    Paywise,
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

// ------------------------------------------------------------------------------------------------
// The mock process

/// The started binary; killed when dropped.
type Mock = support::Started;

async fn start(args: &Args, bin: &std::path::Path, client: &reqwest::Client) -> Result<Mock> {
    let deadline = Instant::now() + Duration::from_secs(args.start_timeout);
    let started = support::start(bin, &[], deadline).with_context(|| format!("within {} s", args.start_timeout))?;
    let payt = format!("{}/v1/payment_plans?administration_id={ADMIN}&per_page=1", started.payt);
    let paywise = format!("{}/v1/claims/?limit=1", started.paywise);
    for (url, auth) in [(payt, PAYT_AUTH), (paywise, PAYWISE_AUTH)] {
        support::wait_ok(client, &url, auth, deadline)
            .await
            .with_context(|| format!("within {} s", args.start_timeout))?;
    }
    Ok(started)
}

// ------------------------------------------------------------------------------------------------
// Requests

/// An answer: status and JSON body (`Null` when the body is not JSON).
struct Answer {
    status: u16,
    body: Value,
}

async fn send(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    auth: &str,
    body: Option<&Value>,
) -> Result<Answer, reqwest::Error> {
    let mut req = client.request(method, url).header("authorization", auth);
    if let Some(b) = body {
        req = req.json(b);
    }
    let res = req.send().await?;
    let status = res.status().as_u16();
    let bytes = res.bytes().await?;
    Ok(Answer {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    })
}

/// A record's id as text (Payt sends string ids, or numbers with `--payt-integer-ids`).
fn id_of(record: &Value) -> Option<String> {
    match &record["id"] {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// What an error answer is counted as: the request, the status and the vendor's error code (Payt's
/// `code`, paywise's `detail` or the fields a validation error names).
fn error_key(what: &str, a: &Answer) -> String {
    let code = match &a.body {
        Value::Object(m) => match (m.get("code"), m.get("detail")) {
            (Some(Value::String(c)), _) => c.clone(),
            (_, Some(Value::String(d))) => d.chars().take(60).collect(),
            _ => m.keys().cloned().collect::<Vec<_>>().join(","),
        },
        _ => String::new(),
    };
    format!("{what} {} {code}", a.status).trim_end().to_string()
}

fn transport_key(what: &str, e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "transport"
    };
    format!("{what} {kind}")
}

// ------------------------------------------------------------------------------------------------
// Writers

/// What the writers of one kind of record did.
#[derive(Debug, Default)]
struct Writes {
    /// Requests sent.
    attempts: u64,
    /// Acknowledged ids (plan ids, invoice numbers, claim ids), in the order acknowledged.
    acked: Vec<String>,
    /// Latency of every request that got an answer.
    latencies: Vec<Duration>,
    /// Requests that got no answer (the write may or may not have happened).
    unanswered: u64,
    /// Failures, by request, status and code.
    errors: BTreeMap<String, u64>,
}

impl Writes {
    fn merge(&mut self, other: Writes) {
        self.attempts += other.attempts;
        self.acked.extend(other.acked);
        self.latencies.extend(other.latencies);
        self.unanswered += other.unanswered;
        for (k, n) in other.errors {
            *self.errors.entry(k).or_insert(0) += n;
        }
    }

    /// Sends one write and notes it; `ack` picks the acknowledged id out of a 2xx answer.
    async fn write(
        &mut self,
        what: &str,
        client: &reqwest::Client,
        url: &str,
        auth: &str,
        body: &Value,
        ack: impl Fn(&Value) -> Option<String>,
    ) -> Option<String> {
        self.attempts += 1;
        let t = Instant::now();
        match send(client, reqwest::Method::POST, url, auth, Some(body)).await {
            Ok(a) => {
                self.latencies.push(t.elapsed());
                let id = (200..300).contains(&a.status).then(|| ack(&a.body)).flatten();
                match &id {
                    Some(id) => self.acked.push(id.clone()),
                    None => *self.errors.entry(error_key(what, &a)).or_insert(0) += 1,
                }
                id
            }
            Err(e) => {
                self.unanswered += 1;
                *self.errors.entry(transport_key(what, &e)).or_insert(0) += 1;
                None
            }
        }
    }
}

fn invoice_body(number: &str, debtor_number: &str) -> Value {
    json!({
        "administration_id": ADMIN,
        "invoices": [{
            "invoice_number": number, "currency_code": "EUR", "invoice_date": "2026-01-10", "due_date": "2026-02-10",
            "debtor_number": debtor_number, "amount_total": "100", "amount_open": "100",
            "book_amount_total": "100", "book_amount_open": "100"
        }]
    })
}

fn plan_body(number: &str) -> Value {
    json!({
        "administration_id": ADMIN,
        "invoice_numbers": [number],
        "terms": [{"amount": 10, "due_date": "2027-01-01"}]
    })
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

/// Payt writer `w` until `deadline`: an invoice, then a plan on it. (plans, invoices)
async fn payt_writer(
    client: reqwest::Client,
    base: String,
    w: usize,
    debtor: String,
    deadline: Instant,
) -> (Writes, Writes) {
    let (mut plans, mut invoices) = (Writes::default(), Writes::default());
    let (plans_url, invoices_url) = (format!("{base}/v1/payment_plans"), format!("{base}/v1/invoices"));
    let mut n = 0u64;
    while Instant::now() < deadline {
        n += 1;
        let number = format!("{PREFIX}{w:02}-{n:07}");
        let invoice = invoices
            .write(
                "POST /v1/invoices",
                &client,
                &invoices_url,
                PAYT_AUTH,
                &invoice_body(&number, &debtor),
                |b| (b["count"] == json!(1) && b["errors"] == json!({})).then(|| number.clone()),
            )
            .await;
        if invoice.is_none() {
            continue;
        }
        plans
            .write(
                "POST /v1/payment_plans",
                &client,
                &plans_url,
                PAYT_AUTH,
                &plan_body(&number),
                id_of,
            )
            .await;
    }
    (plans, invoices)
}

/// paywise writer `w` until `deadline`: claims on `debtor`. (claims, their references)
async fn paywise_writer(
    client: reqwest::Client,
    base: String,
    w: usize,
    debtor: String,
    deadline: Instant,
) -> (Writes, Vec<(String, String)>) {
    let mut claims = Writes::default();
    let mut references = Vec::new();
    let url = format!("{base}/v1/claims/");
    let mut n = 0u64;
    while Instant::now() < deadline {
        n += 1;
        let reference = format!("{PREFIX}{w:02}-{n:07}");
        let body = claim_body(&debtor, &reference);
        if let Some(id) = claims
            .write("POST /v1/claims/", &client, &url, PAYWISE_AUTH, &body, id_of)
            .await
        {
            references.push((id, reference));
        }
    }
    (claims, references)
}

// ------------------------------------------------------------------------------------------------
// Readers and walks

/// One list the readers walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum List {
    PaytPlans,
    PaytInvoices,
    PaywiseClaims,
}

impl List {
    fn name(self) -> &'static str {
        match self {
            Self::PaytPlans => "GET /v1/payment_plans (cursor, 100 a page)",
            Self::PaytInvoices => "GET /v1/invoices (cursor, 100 a page)",
            Self::PaywiseClaims => "GET /v1/claims/ (limit 100, offset)",
        }
    }

    fn auth(self) -> &'static str {
        match self {
            Self::PaywiseClaims => PAYWISE_AUTH,
            _ => PAYT_AUTH,
        }
    }

    /// The field the walk collects besides the id.
    fn field(self) -> &'static str {
        match self {
            Self::PaytPlans => "debtor_id",
            Self::PaytInvoices => "invoice_number",
            Self::PaywiseClaims => "your_reference",
        }
    }

    fn first(self, base: &str) -> String {
        match self {
            Self::PaytPlans => format!("{base}/v1/payment_plans?administration_id={ADMIN}&per_page=100"),
            Self::PaytInvoices => format!("{base}/v1/invoices?administration_id={ADMIN}&per_page=100"),
            Self::PaywiseClaims => format!("{base}/v1/claims/?limit=100&offset=0"),
        }
    }

    /// The page after `page` (fetched from `url`), if any.
    fn next(self, url: &str, page: &Value) -> Option<String> {
        match self {
            Self::PaywiseClaims => page["next"].as_str().map(str::to_string),
            _ => {
                let cursor = page["pagination"]["cursor"].as_str()?;
                let base = url.split("&cursor=").next().unwrap_or(url);
                Some(format!("{base}&cursor={cursor}"))
            }
        }
    }

    fn records(self, page: &Value) -> &[Value] {
        let key = if self == Self::PaywiseClaims { "results" } else { "data" };
        page[key].as_array().map_or(&[], Vec::as_slice)
    }
}

/// What the readers of one list did.
#[derive(Debug, Default)]
struct Reads {
    walks: u64,
    pages: u64,
    records: u64,
    latencies: Vec<Duration>,
    /// Walks whose ids did not grow (Payt) or that served an id twice (paywise).
    anomalies: u64,
    errors: BTreeMap<String, u64>,
}

impl Reads {
    fn merge(&mut self, other: Reads) {
        self.walks += other.walks;
        self.pages += other.pages;
        self.records += other.records;
        self.latencies.extend(other.latencies);
        self.anomalies += other.anomalies;
        for (k, n) in other.errors {
            *self.errors.entry(k).or_insert(0) += n;
        }
    }
}

/// Walks `list` over and over until `stop` (checked before every page); a walk cut short counts
/// its pages but not as a walk.
async fn reader(client: reqwest::Client, base: String, list: List, stop: Arc<AtomicBool>) -> Reads {
    let mut reads = Reads::default();
    'walks: while !stop.load(Ordering::Relaxed) {
        let mut url = list.first(&base);
        let mut last: Option<u64> = None;
        let mut seen: HashSet<String> = HashSet::new();
        let mut anomaly = false;
        loop {
            if stop.load(Ordering::Relaxed) {
                break 'walks;
            }
            let t = Instant::now();
            let page = match send(&client, reqwest::Method::GET, &url, list.auth(), None).await {
                Ok(a) if a.status == 200 => a.body,
                Ok(a) => {
                    *reads.errors.entry(error_key("GET", &a)).or_insert(0) += 1;
                    continue 'walks;
                }
                Err(e) => {
                    *reads.errors.entry(transport_key("GET", &e)).or_insert(0) += 1;
                    continue 'walks;
                }
            };
            reads.latencies.push(t.elapsed());
            reads.pages += 1;
            for r in list.records(&page) {
                reads.records += 1;
                let Some(id) = id_of(r) else {
                    anomaly = true;
                    continue;
                };
                if list == List::PaywiseClaims {
                    anomaly |= !seen.insert(id);
                } else {
                    let n = id.parse::<u64>().ok();
                    anomaly |= n.is_none() || n <= last;
                    last = n;
                }
            }
            match list.next(&url, &page) {
                Some(next) => url = next,
                None => break,
            }
        }
        reads.walks += 1;
        reads.anomalies += u64::from(anomaly);
    }
    reads
}

/// One whole walk of `list` with nothing else going on: `(id, field)` of every record served.
async fn walk(client: &reqwest::Client, base: &str, list: List) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut url = list.first(base);
    for _ in 0..1_000_000 {
        let a = send(client, reqwest::Method::GET, &url, list.auth(), None).await?;
        if a.status != 200 {
            bail!("{url}: {} {}", a.status, a.body);
        }
        for r in list.records(&a.body) {
            let id = id_of(r).ok_or_else(|| anyhow!("{url}: a record without an id: {r}"))?;
            let field = match &r[list.field()] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            out.push((id, field));
        }
        match list.next(&url, &a.body) {
            Some(next) => url = next,
            None => return Ok(out),
        }
    }
    bail!("the walk of {} does not end", list.name())
}

// ------------------------------------------------------------------------------------------------
// The check

/// Acknowledged writes against the list after the load.
#[derive(Debug, Default)]
struct Check {
    listed_before: usize,
    listed_after: usize,
    acked: usize,
    /// Acknowledged and listed exactly once.
    found_once: usize,
    /// Acknowledged, not listed.
    missing: Vec<String>,
    /// Acknowledged, listed more than once.
    duplicated: Vec<String>,
    /// Acknowledged twice (two writes answered with the same id).
    acked_twice: Vec<String>,
    /// Any value listed more than once.
    listed_twice: Vec<String>,
    /// Fixtures no longer listed.
    fixtures_missing: Vec<String>,
    /// Listed, neither a fixture nor acknowledged.
    unknown: Vec<String>,
    /// Writes that got no answer (so that many unknown values are explained).
    unanswered: u64,
}

impl Check {
    fn new(before: &[String], acked: &[String], after: &[String], unanswered: u64) -> Self {
        let mut listed: HashMap<&str, usize> = HashMap::new();
        for v in after {
            *listed.entry(v.as_str()).or_insert(0) += 1;
        }
        let mut acked_n: HashMap<&str, usize> = HashMap::new();
        for v in acked {
            *acked_n.entry(v.as_str()).or_insert(0) += 1;
        }
        let before_set: HashSet<&str> = before.iter().map(String::as_str).collect();
        let mut c = Check {
            listed_before: before.len(),
            listed_after: after.len(),
            acked: acked.len(),
            unanswered,
            ..Check::default()
        };
        for a in acked {
            match listed.get(a.as_str()) {
                None => c.missing.push(a.clone()),
                Some(1) => c.found_once += 1,
                Some(_) => c.duplicated.push(a.clone()),
            }
        }
        c.acked_twice = acked_n
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(k, _)| k.to_string())
            .collect();
        c.listed_twice = listed
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(k, _)| k.to_string())
            .collect();
        c.fixtures_missing = before
            .iter()
            .filter(|b| !listed.contains_key(b.as_str()))
            .cloned()
            .collect();
        c.unknown = listed
            .keys()
            .filter(|k| !before_set.contains(*k) && !acked_n.contains_key(*k))
            .map(|k| k.to_string())
            .collect();
        for v in [&mut c.acked_twice, &mut c.listed_twice, &mut c.unknown] {
            v.sort();
        }
        c
    }

    /// What is wrong, if anything.
    fn failures(&self, what: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut note = |label: &str, v: &[String]| {
            if !v.is_empty() {
                let shown: Vec<&str> = v.iter().take(10).map(String::as_str).collect();
                out.push(format!("{what}: {} {label}: {}", v.len(), shown.join(", ")));
            }
        };
        note("acknowledged but not listed", &self.missing);
        note("acknowledged and listed more than once", &self.duplicated);
        note("acknowledged by two writes", &self.acked_twice);
        note("listed more than once", &self.listed_twice);
        note("fixtures no longer listed", &self.fixtures_missing);
        if self.unknown.len() as u64 > self.unanswered {
            note(
                "listed but never acknowledged (more than the unanswered writes)",
                &self.unknown,
            );
        }
        out
    }

    fn json(&self) -> Value {
        json!({
            "listed_before": self.listed_before,
            "listed_after": self.listed_after,
            "acknowledged": self.acked,
            "found_once": self.found_once,
            "missing": self.missing,
            "duplicated": self.duplicated,
            "acknowledged_twice": self.acked_twice,
            "listed_twice": self.listed_twice,
            "fixtures_missing": self.fixtures_missing,
            "unknown": self.unknown,
            "unanswered_writes": self.unanswered,
        })
    }
}

// ------------------------------------------------------------------------------------------------
// A vendor's run

/// One kind of write of a run, checked.
struct WriteRow {
    vendor: &'static str,
    request: &'static str,
    writes: Writes,
    check: Check,
    /// Acknowledged writes whose listed record differs from what was written (a claim's
    /// reference).
    mismatched: Vec<String>,
}

struct ReadRow {
    vendor: &'static str,
    list: List,
    reads: Reads,
}

struct VendorRun {
    vendor: &'static str,
    /// From the writers' start to the last writer's end.
    seconds: f64,
    writes: Vec<WriteRow>,
    reads: Vec<ReadRow>,
}

fn ids(rows: &[(String, String)]) -> Vec<String> {
    rows.iter().map(|(id, _)| id.clone()).collect()
}

fn fields(rows: &[(String, String)]) -> Vec<String> {
    rows.iter().map(|(_, f)| f.clone()).collect()
}

/// Starts the readers of `lists` (reader `r` walks `lists[r % len]`); the stop flag and their
/// handles.
fn spawn_readers(
    args: &Args,
    client: &reqwest::Client,
    base: &str,
    lists: &[List],
) -> (Arc<AtomicBool>, Vec<(List, tokio::task::JoinHandle<Reads>)>) {
    let stop = Arc::new(AtomicBool::new(false));
    let handles = (0..args.readers)
        .map(|r| {
            let list = lists[r % lists.len()];
            (
                list,
                tokio::spawn(reader(client.clone(), base.to_string(), list, stop.clone())),
            )
        })
        .collect();
    (stop, handles)
}

async fn join_readers(
    vendor: &'static str,
    lists: &[List],
    handles: Vec<(List, tokio::task::JoinHandle<Reads>)>,
) -> Result<Vec<ReadRow>> {
    let mut by_list: Vec<ReadRow> = lists
        .iter()
        .map(|l| ReadRow {
            vendor,
            list: *l,
            reads: Reads::default(),
        })
        .collect();
    for (list, h) in handles {
        let reads = h.await.context("a reader panicked")?;
        if let Some(row) = by_list.iter_mut().find(|r| r.list == list) {
            row.reads.merge(reads);
        }
    }
    Ok(by_list)
}

async fn payt_run(args: &Args, client: &reqwest::Client, base: &str) -> Result<VendorRun> {
    let debtors = send(
        client,
        reqwest::Method::GET,
        &format!(
            "{base}/v1/debtors?administration_id={ADMIN}&per_page={}",
            args.writers.clamp(1, 100)
        ),
        PAYT_AUTH,
        None,
    )
    .await?;
    let debtors: Vec<String> = debtors.body["data"]
        .as_array()
        .map(|d| {
            d.iter()
                .filter_map(|d| d["debtor_number"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if debtors.is_empty() {
        bail!("Payt: administration {ADMIN} lists no debtor");
    }
    let plans_before = walk(client, base, List::PaytPlans).await?;
    let invoices_before = walk(client, base, List::PaytInvoices).await?;
    if invoices_before.iter().any(|(_, n)| n.starts_with(PREFIX)) {
        bail!("Payt: the fixtures already hold invoice numbers starting {PREFIX}");
    }

    let lists = [List::PaytPlans, List::PaytInvoices];
    let (stop, readers) = spawn_readers(args, client, base, &lists);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.duration);
    let writers: Vec<_> = (0..args.writers)
        .map(|w| {
            let debtor = debtors[w % debtors.len()].clone();
            tokio::spawn(payt_writer(client.clone(), base.to_string(), w, debtor, deadline))
        })
        .collect();
    let (mut plans, mut invoices) = (Writes::default(), Writes::default());
    let mut panicked = None;
    for h in writers {
        match h.await {
            Ok((p, i)) => {
                plans.merge(p);
                invoices.merge(i);
            }
            Err(e) => panicked = Some(e),
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let reads = join_readers("Payt", &lists, readers).await?;
    if let Some(e) = panicked {
        bail!("a Payt writer panicked: {e}");
    }

    let plans_after = walk(client, base, List::PaytPlans).await?;
    let invoices_after = walk(client, base, List::PaytInvoices).await?;
    let plan_check = Check::new(&ids(&plans_before), &plans.acked, &ids(&plans_after), plans.unanswered);
    let invoice_check = Check::new(
        &fields(&invoices_before),
        &invoices.acked,
        &fields(&invoices_after),
        invoices.unanswered,
    );
    Ok(VendorRun {
        vendor: "Payt",
        seconds,
        writes: vec![
            WriteRow {
                vendor: "Payt",
                request: "POST /v1/payment_plans",
                writes: plans,
                check: plan_check,
                mismatched: Vec::new(),
            },
            WriteRow {
                vendor: "Payt",
                request: "POST /v1/invoices (one per plan)",
                writes: invoices,
                check: invoice_check,
                mismatched: Vec::new(),
            },
        ],
        reads,
    })
}

async fn paywise_run(args: &Args, client: &reqwest::Client, base: &str) -> Result<VendorRun> {
    let debtors = send(
        client,
        reqwest::Method::GET,
        &format!("{base}/v1/debtors/?limit={}", args.writers.clamp(1, 100)),
        PAYWISE_AUTH,
        None,
    )
    .await?;
    let debtors: Vec<String> = debtors.body["results"]
        .as_array()
        .map(|d| d.iter().filter_map(id_of).collect())
        .unwrap_or_default();
    if debtors.is_empty() {
        bail!("paywise: no debtor listed");
    }
    let before = walk(client, base, List::PaywiseClaims).await?;
    if before.iter().any(|(_, r)| r.starts_with(PREFIX)) {
        bail!("paywise: the fixtures already hold references starting {PREFIX}");
    }

    let lists = [List::PaywiseClaims];
    let (stop, readers) = spawn_readers(args, client, base, &lists);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.duration);
    let writers: Vec<_> = (0..args.writers)
        .map(|w| {
            let debtor = debtors[w % debtors.len()].clone();
            tokio::spawn(paywise_writer(client.clone(), base.to_string(), w, debtor, deadline))
        })
        .collect();
    let mut claims = Writes::default();
    let mut references = Vec::new();
    let mut panicked = None;
    for h in writers {
        match h.await {
            Ok((c, r)) => {
                claims.merge(c);
                references.extend(r);
            }
            Err(e) => panicked = Some(e),
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let reads = join_readers("paywise", &lists, readers).await?;
    if let Some(e) = panicked {
        bail!("a paywise writer panicked: {e}");
    }

    let after = walk(client, base, List::PaywiseClaims).await?;
    let check = Check::new(&ids(&before), &claims.acked, &ids(&after), claims.unanswered);
    let listed: HashMap<&str, &str> = after.iter().map(|(id, r)| (id.as_str(), r.as_str())).collect();
    let mismatched = references
        .iter()
        .filter(|(id, r)| listed.get(id.as_str()).is_some_and(|l| l != r))
        .map(|(id, _)| id.clone())
        .collect();
    Ok(VendorRun {
        vendor: "paywise",
        seconds,
        writes: vec![WriteRow {
            vendor: "paywise",
            request: "POST /v1/claims/",
            writes: claims,
            check,
            mismatched,
        }],
        reads,
    })
}

// ------------------------------------------------------------------------------------------------
// Report

/// The `q` quantile of `sorted`, in ms (0 when empty).
fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[at.min(sorted.len() - 1)].as_secs_f64() * 1e3
}

fn errors_text(errors: &BTreeMap<String, u64>) -> String {
    if errors.is_empty() {
        return "none".to_string();
    }
    errors
        .iter()
        .map(|(k, n)| format!("{k}: {n}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn tables(args: &Args, runs: &mut [VendorRun]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} writers and {} readers per vendor for {} s each; latencies in ms.\n",
        args.writers, args.readers, args.duration
    );
    let _ = writeln!(
        s,
        "| vendor | write | acknowledged | writes/s | p50 | p99 | max | listed once | missing | duplicated | errors |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for run in runs.iter_mut() {
        for row in &mut run.writes {
            row.writes.latencies.sort();
            let l = &row.writes.latencies;
            let _ = writeln!(
                s,
                "| {} | `{}` | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {} |",
                row.vendor,
                row.request,
                row.check.acked,
                row.check.acked as f64 / run.seconds,
                quantile_ms(l, 0.5),
                quantile_ms(l, 0.99),
                l.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
                row.check.found_once,
                row.check.missing.len(),
                row.check.duplicated.len(),
                errors_text(&row.writes.errors),
            );
        }
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "| vendor | read during the writes | walks | pages | pages/s | records/s | p50 | p99 | walk anomalies | errors |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for run in runs.iter_mut() {
        for row in &mut run.reads {
            row.reads.latencies.sort();
            let l = &row.reads.latencies;
            let _ = writeln!(
                s,
                "| {} | `{}` | {} | {} | {:.0} | {:.0} | {:.2} | {:.2} | {} | {} |",
                row.vendor,
                row.list.name(),
                row.reads.walks,
                row.reads.pages,
                row.reads.pages as f64 / run.seconds,
                row.reads.records as f64 / run.seconds,
                quantile_ms(l, 0.5),
                quantile_ms(l, 0.99),
                row.reads.anomalies,
                errors_text(&row.reads.errors),
            );
        }
    }
    s
}

fn json_out(args: &Args, runs: &[VendorRun], failures: &[String]) -> Value {
    let latency = |l: &[Duration]| {
        json!({
            "count": l.len(),
            "p50_ms": quantile_ms(l, 0.5),
            "p99_ms": quantile_ms(l, 0.99),
            "max_ms": l.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        })
    };
    json!({
        "date": chrono::Utc::now().to_rfc3339(),
        "cores": std::thread::available_parallelism().map_or(0, usize::from),
        "duration_s": args.duration,
        "writers": args.writers,
        "readers": args.readers,
        "ok": failures.is_empty(),
        "failures": failures,
        "vendors": runs.iter().map(|run| json!({
            "vendor": run.vendor,
            "seconds": run.seconds,
            "writes": run.writes.iter().map(|w| json!({
                "request": w.request,
                "attempts": w.writes.attempts,
                "acknowledged": w.check.acked,
                "writes_per_s": w.check.acked as f64 / run.seconds,
                "latency": latency(&w.writes.latencies),
                "errors": w.writes.errors,
                "check": w.check.json(),
                "mismatched": w.mismatched,
            })).collect::<Vec<_>>(),
            "reads": run.reads.iter().map(|r| json!({
                "list": r.list.name(),
                "walks": r.reads.walks,
                "pages": r.reads.pages,
                "records": r.reads.records,
                "pages_per_s": r.reads.pages as f64 / run.seconds,
                "records_per_s": r.reads.records as f64 / run.seconds,
                "latency": latency(&r.reads.latencies),
                "walk_anomalies": r.reads.anomalies,
                "errors": r.reads.errors,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

async fn run(args: &Args, bin: &std::path::Path) -> Result<Vec<VendorRun>> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.writers + args.readers + 4)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()?;
    let mock = start(args, bin, &client).await?;
    eprintln!(
        "started {} (Payt {}, paywise {})",
        bin.display(),
        mock.payt,
        mock.paywise
    );
    let mut runs = Vec::new();
    if args.vendor != Some(VendorArg::Paywise) {
        eprintln!(
            "Payt: {} writers, {} readers, {} s",
            args.writers, args.readers, args.duration
        );
        runs.push(payt_run(args, &client, &mock.payt).await?);
    }
    if args.vendor != Some(VendorArg::Payt) {
        eprintln!(
            "paywise: {} writers, {} readers, {} s",
            args.writers, args.readers, args.duration
        );
        runs.push(paywise_run(args, &client, &mock.paywise).await?);
    }
    drop(mock);
    Ok(runs)
}

fn main() -> Result<()> {
    // Only `cargo bench` runs the body; `cargo test --benches` passes --bench too, but not when
    // listing, so a plain test build stays quick.
    if !std::env::args().any(|a| a == "--bench") {
        return Ok(());
    }
    let args = Args::parse();
    if args.writers == 0 || args.duration == 0 {
        bail!("--writers and --duration must be above 0");
    }
    let bin = args
        .bin
        .clone()
        .unwrap_or_else(|| target_dir().join("release").join("payt-paywise-mocks"));
    if !bin.exists() {
        bail!(
            "{} does not exist: run `cargo build --release --bin payt-paywise-mocks` first (just bench-writes does)",
            bin.display()
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut runs = rt.block_on(run(&args, &bin))?;
    let table = tables(&args, &mut runs);
    let mut failures = Vec::new();
    for run in &runs {
        for w in &run.writes {
            failures.extend(w.check.failures(&format!("{} {}", w.vendor, w.request)));
            if !w.mismatched.is_empty() {
                failures.push(format!(
                    "{} {}: {} listed with another reference than written",
                    w.vendor,
                    w.request,
                    w.mismatched.len()
                ));
            }
        }
    }
    println!("{table}");
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| target_dir().join("bench").join("writes.json"));
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&out, serde_json::to_string_pretty(&json_out(&args, &runs, &failures))?)?;
    std::fs::write(out.with_extension("md"), &table)?;
    eprintln!("wrote {}", out.display());
    if failures.is_empty() {
        println!("every acknowledged write is listed exactly once");
        Ok(())
    } else {
        for f in &failures {
            eprintln!("FAILED {f}");
        }
        bail!("{} check(s) failed", failures.len())
    }
}
