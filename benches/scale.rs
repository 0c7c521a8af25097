//! The scale benchmark: the release binary started with a small and a large world (`--scale`),
//! how long it takes to generate them, how much memory they take, and how fast the reads that
//! should not depend on the size are: a first page, a page deep in a cursor walk (Payt) or at a
//! deep offset (paywise), filtered pages and a lookup by id.
//!
//! `just bench-scale` (or `cargo build --release --bin payt-paywise-mocks && cargo bench --bench
//! scale -- [flags]`). Each scale (by default 10,000 and 1,000,000; `--scales 1000,100000` for others)
//! is a fresh process on free ports, started as
//! `--scale N --anchor-date 2026-01-15 --clock-start 2026-01-15T12:00:00Z --clock-frozen`:
//!
//! - **generation**: from the spawn to the first answer of the Payt mock (both mocks are built,
//!   side by side on two threads, before either serves), and each mock's own time as its banner
//!   reports it;
//! - **memory**: the process's resident set (`VmRSS`) once both were built (the banner) and
//!   once both serve, and its peak (`VmHWM`);
//! - **latency**: median and p99 of `--requests` sequential requests on one keep-alive connection
//!   (after a few unmeasured ones), per request below.
//!
//! Prints a Markdown table with the ratio of the largest scale to the smallest (the README
//! carries the latest), and writes every number to `<target>/bench/scale.json` (or `--out`). The
//! targets (at a million: each read within 2x of the same at ten thousand, generation under 20 s
//! and memory under 2 GB per mock) are reported, never asserted.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use clap::Parser;
use serde_json::{Value, json};

#[path = "support/mod.rs"]
mod support;

const PAYT_AUTH: &str = "Bearer payt_test_token";
const PAYWISE_AUTH: &str = "Bearer paywise_test_token";
/// A month before the anchor ([`support::ANCHOR`]): the `updated_after` filter.
const MONTH_BEFORE: &str = "2025-12-15T00:00:00Z";

/// The scale benchmark.
#[derive(Debug, Parser)]
#[command(name = "bench-scale")]
struct Args {
    /// The scales to run, smallest first; the ratio column compares the last with the first.
    #[arg(long, value_delimiter = ',', default_value = "10000,1000000")]
    scales: Vec<u64>,
    /// Measured requests per read (after 10 unmeasured ones).
    #[arg(long, default_value_t = 300)]
    requests: usize,
    /// The binary to start (by default the release binary cargo built for this benchmark).
    #[arg(long)]
    bin: Option<PathBuf>,
    /// Where the JSON goes.
    #[arg(long)]
    out: Option<PathBuf>,
    /// How long a start may take before the run gives up (seconds).
    #[arg(long, default_value_t = 300)]
    start_timeout: u64,
    /// Passed by `cargo bench`.
    #[arg(long, hide = true)]
    bench: bool,
}

/// A started binary and what its banner said.
struct Mock {
    started: support::Started,
    /// Spawn to the first answer of the Payt mock.
    first_answer: Duration,
    /// The banner's `generated` line: (payt ms, paywise ms, RSS MiB once both were built; the
    /// two are generated side by side).
    generated: Option<(u64, u64, u64)>,
}

fn parse_generated(line: &str) -> Option<(u64, u64, u64)> {
    // "generated     payt 8123 ms, paywise 456 ms, side by side (resident 2345 MiB)"
    let nums: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect();
    match nums[..] {
        [a, b, c] => Some((a, b, c)),
        _ => None,
    }
}

async fn start(args: &Args, bin: &std::path::Path, scale: u64, client: &reqwest::Client) -> Result<Mock> {
    let spawned = Instant::now();
    let deadline = spawned + Duration::from_secs(args.start_timeout);
    let started = support::start(bin, &["--scale".to_string(), scale.to_string()], deadline)
        .with_context(|| format!("scale {scale} (within {} s)", args.start_timeout))?;
    let generated = started
        .banner
        .iter()
        .find(|l| l.starts_with("generated"))
        .and_then(|l| parse_generated(l));
    let url = format!("{}/v1/credit_cases?administration_id=81&per_page=1", started.payt);
    support::wait_ok(client, &url, PAYT_AUTH, deadline)
        .await
        .with_context(|| format!("scale {scale} (within {} s)", args.start_timeout))?;
    Ok(Mock {
        first_answer: spawned.elapsed(),
        generated,
        started,
    })
}

/// `VmRSS` and `VmHWM` of process `pid`, in bytes.
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

async fn get_json(client: &reqwest::Client, url: &str, auth: &str) -> Result<Value> {
    let r = client.get(url).header("authorization", auth).send().await?;
    let status = r.status();
    let body = r.bytes().await?;
    if !status.is_success() {
        bail!("GET {url}: {status}: {}", String::from_utf8_lossy(&body));
    }
    Ok(serde_json::from_slice(&body)?)
}

/// One measured read: its name in the table and its URL.
#[derive(Debug, Clone)]
struct Read {
    name: &'static str,
    url: String,
    auth: &'static str,
}

/// Median and p99 of `n` sequential GETs of `read` (after 10 unmeasured ones), in ms, and the
/// answer's size in bytes.
async fn measure(client: &reqwest::Client, read: &Read, n: usize) -> Result<(f64, f64, usize)> {
    let mut size = 0;
    for _ in 0..10 {
        let r = client.get(&read.url).header("authorization", read.auth).send().await?;
        if !r.status().is_success() {
            bail!("{}: {} answered {}", read.name, read.url, r.status());
        }
        size = r.bytes().await?.len();
    }
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = client.get(&read.url).header("authorization", read.auth).send().await?;
        let _ = r.bytes().await?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    Ok((at(0.5), at(0.99), size))
}

/// The id of a Payt list's page data.
fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .map(|d| {
            d.iter()
                .filter_map(|r| {
                    r["id"]
                        .as_str()
                        .map(str::to_string)
                        .or_else(|| r["id"].as_u64().map(|n| n.to_string()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A cursor after which exactly one more full page of 100 Payt credit cases follows: found by
/// doubling to past the end and a binary search back, since the cursor is an id (that of the last
/// record of the previous page) and any id can be one.
async fn deep_cursor(client: &reqwest::Client, payt: &str) -> Result<u64> {
    let page = |c: u64| format!("{payt}/v1/credit_cases?administration_id=81&per_page=100&cursor={c}");
    let full = |v: &Value| v["data"].as_array().is_some_and(|d| d.len() == 100);
    let mut hi = 1024u64;
    while full(&get_json(client, &page(hi), PAYT_AUTH).await?) {
        hi *= 2;
    }
    let mut lo = 0u64;
    // Invariant: a full page follows lo, none follows hi.
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if full(&get_json(client, &page(mid), PAYT_AUTH).await?) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

/// The reads of one started mock, with the values they need found by asking it.
async fn reads(client: &reqwest::Client, mock: &Mock) -> Result<Vec<Read>> {
    let payt = &mock.started.payt;
    let paywise = &mock.started.paywise;
    let cursor = deep_cursor(client, payt).await?;
    let deep = get_json(
        client,
        &format!("{payt}/v1/credit_cases?administration_id=81&per_page=100&cursor={cursor}"),
        PAYT_AUTH,
    )
    .await?;
    let case = ids(&deep)
        .last()
        .cloned()
        .ok_or_else(|| anyhow!("the deep page is empty"))?;
    let debtor = deep["data"][99]["debtor_id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("the deep page's last case has no debtor_id"))?;
    let first = get_json(client, &format!("{paywise}/v1/claims/?limit=100"), PAYWISE_AUTH).await?;
    let count = first["count"].as_u64().ok_or_else(|| anyhow!("no count: {first}"))?;
    let offset = count.saturating_sub(100);
    let last = get_json(
        client,
        &format!("{paywise}/v1/claims/?limit=100&offset={offset}"),
        PAYWISE_AUTH,
    )
    .await?;
    let claim = last["results"]
        .as_array()
        .and_then(|r| r.last())
        .ok_or_else(|| anyhow!("the deep paywise page is empty"))?;
    let claim_id = claim["id"].as_str().unwrap_or_default().to_string();
    let claim_reference = claim["your_reference"].as_str().unwrap_or_default().to_string();
    let payt_read = |name, path: String| Read {
        name,
        url: format!("{payt}{path}"),
        auth: PAYT_AUTH,
    };
    let paywise_read = |name, path: String| Read {
        name,
        url: format!("{paywise}{path}"),
        auth: PAYWISE_AUTH,
    };
    Ok(vec![
        payt_read(
            "payt: first page (credit cases, 100)",
            "/v1/credit_cases?administration_id=81&per_page=100".into(),
        ),
        payt_read(
            "payt: deep cursor page (credit cases, 100)",
            format!("/v1/credit_cases?administration_id=81&per_page=100&cursor={cursor}"),
        ),
        payt_read(
            "payt: invoices updated_after a month (20)",
            format!("/v1/invoices?administration_id=81&updated_after={MONTH_BEFORE}&per_page=20"),
        ),
        payt_read(
            "payt: invoices of one debtor (debtor_ids)",
            format!("/v1/invoices?administration_id=81&debtor_ids={debtor}&per_page=20"),
        ),
        payt_read(
            "payt: credit case by id",
            format!("/v1/credit_cases/{case}?administration_id=81"),
        ),
        paywise_read("paywise: first page (claims, 100)", "/v1/claims/?limit=100".into()),
        paywise_read(
            "paywise: deep offset page (claims, 100)",
            format!("/v1/claims/?limit=100&offset={offset}"),
        ),
        paywise_read(
            "paywise: claims by submission_state (20)",
            "/v1/claims/?limit=20&submission_state=rejected".into(),
        ),
        paywise_read(
            "paywise: claims by your_reference",
            format!("/v1/claims/?your_reference={claim_reference}"),
        ),
        paywise_read("paywise: claim by id", format!("/v1/claims/{claim_id}/")),
    ])
}

/// Everything measured at one scale.
struct Run {
    scale: u64,
    first_answer: Duration,
    generated: Option<(u64, u64, u64)>,
    rss: u64,
    peak: u64,
    reads: Vec<(Read, (f64, f64, usize))>,
}

async fn run(args: &Args, bin: &std::path::Path, scale: u64) -> Result<Run> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(2)
        .build()?;
    eprintln!("scale {scale}: starting {}", bin.display());
    let mock = start(args, bin, scale, &client).await?;
    let (rss, peak) = memory(mock.started.child.id());
    eprintln!(
        "scale {scale}: first answer after {:.2} s, resident {} MiB",
        mock.first_answer.as_secs_f64(),
        rss >> 20
    );
    let mut out = Vec::new();
    for read in reads(&client, &mock).await? {
        let m = measure(&client, &read, args.requests).await?;
        eprintln!(
            "scale {scale}: {:<44} p50 {:>8.3} ms  p99 {:>8.3} ms",
            read.name, m.0, m.1
        );
        out.push((read, m));
    }
    Ok(Run {
        scale,
        first_answer: mock.first_answer,
        generated: mock.generated,
        rss,
        peak,
        reads: out,
    })
}

fn scale_label(n: u64) -> String {
    match n {
        0 => "0".into(),
        n if n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

fn table(runs: &[Run]) -> String {
    let mut s = String::new();
    let (first, last) = (&runs[0], &runs[runs.len() - 1]);
    s += "| read |";
    for r in runs {
        s += &format!(" {} p50 | {} p99 |", scale_label(r.scale), scale_label(r.scale));
    }
    s += &format!(
        " {} / {} (p50) |\n|---|",
        scale_label(last.scale),
        scale_label(first.scale)
    );
    for _ in runs {
        s += "---:|---:|";
    }
    s += "---:|\n";
    for (i, (read, _)) in first.reads.iter().enumerate() {
        s += &format!("| {} |", read.name);
        for r in runs {
            let (p50, p99, _) = r.reads[i].1;
            s += &format!(" {p50:.2} ms | {p99:.2} ms |");
        }
        let ratio = last.reads[i].1.0 / first.reads[i].1.0;
        s += &format!(" {ratio:.2}x |\n");
    }
    s += "\n| start | ";
    s += &runs
        .iter()
        .map(|r| format!("scale {}", scale_label(r.scale)))
        .collect::<Vec<_>>()
        .join(" | ");
    s += " |\n|---|";
    s += &"---:|".repeat(runs.len());
    s += "\n";
    let row = |s: &mut String, name: &str, f: &dyn Fn(&Run) -> String| {
        *s += &format!("| {name} | ");
        *s += &runs.iter().map(f).collect::<Vec<_>>().join(" | ");
        *s += " |\n";
    };
    row(
        &mut s,
        "spawn to first answer (both mocks generated side by side)",
        &|r| format!("{:.2} s", r.first_answer.as_secs_f64()),
    );
    row(&mut s, "payt generation", &|r| {
        r.generated.map_or("-".into(), |g| format!("{:.2} s", g.0 as f64 / 1e3))
    });
    row(&mut s, "paywise generation", &|r| {
        r.generated.map_or("-".into(), |g| format!("{:.2} s", g.1 as f64 / 1e3))
    });
    row(&mut s, "resident once both were built", &|r| {
        r.generated.map_or("-".into(), |g| format!("{} MiB", g.2))
    });
    row(&mut s, "resident once serving (VmRSS)", &|r| {
        format!("{} MiB", r.rss >> 20)
    });
    row(&mut s, "peak resident (VmHWM)", &|r| format!("{} MiB", r.peak >> 20));
    s
}

fn json_out(args: &Args, runs: &[Run]) -> Value {
    json!({
        "date": chrono::Utc::now().to_rfc3339(),
        "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "requests": args.requests,
        "runs": runs.iter().map(|r| json!({
            "scale": r.scale,
            "first_answer_ms": r.first_answer.as_secs_f64() * 1e3,
            "payt_generation_ms": r.generated.map(|g| g.0),
            "paywise_generation_ms": r.generated.map(|g| g.1),
            "resident_after_both_mib": r.generated.map(|g| g.2),
            "resident_serving_bytes": r.rss,
            "peak_resident_bytes": r.peak,
            "reads": r.reads.iter().map(|(read, (p50, p99, size))| json!({
                "name": read.name,
                "url": read.url,
                "p50_ms": p50,
                "p99_ms": p99,
                "bytes": size,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

fn main() -> Result<()> {
    // Only `cargo bench` runs the body; `cargo test --benches` passes --bench too, but not when
    // listing, so a plain test build stays quick.
    if !std::env::args().any(|a| a == "--bench") {
        return Ok(());
    }
    let args = Args::parse();
    if args.scales.is_empty() {
        bail!("--scales names no scale");
    }
    let bin = args
        .bin
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_payt-paywise-mocks")));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut runs = Vec::new();
    for &scale in &args.scales {
        runs.push(rt.block_on(run(&args, &bin, scale))?);
    }
    let table = table(&runs);
    println!("{table}");
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| target_dir().join("bench").join("scale.json"));
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&out, serde_json::to_string_pretty(&json_out(&args, &runs))?)?;
    std::fs::write(out.with_extension("md"), &table)?;
    eprintln!("wrote {}", out.display());
    Ok(())
}
