//! The HTTP benchmark: our mocks (the release binary) against a bare limit server that sends the
//! same bytes and against Prism, on the same requests, in one run.
//!
//! `just bench` (or `cargo build --release --bin payt-paywise-mocks && cargo bench --bench http --
//! [flags]`). It installs what it needs: wrk from Debian (`apt-get install wrk`) when `wrk` is
//! missing, Prism from npm into `<target>/bench/prism` when it is not there yet.
//!
//! For every request and every server, wrk runs a short warm-up and then the measured load; the
//! servers take turns per request (ours, ours without the control API, the limit server, Prism),
//! so a slower moment of the machine hits them alike. A Lua `done` hook prints wrk's numbers as
//! one JSON line. The limit server is this binary again (`BENCH_LIMIT_SERVER=<file>`): a bare axum
//! server on the same tokio/hyper stack that answers each request with the status, content type
//! and body our mock answered for it, captured once before the load.
//!
//! Prints Markdown tables (the README carries the latest), writes them to `<out>.md` and every
//! number to `<out>` (default `<target>/bench/http.json`). The targets (every request at 50% of
//! the limit server's requests/s or more and 50 times Prism's, p99 under 5 ms for pages of 100 at
//! 32 connections, first answer within 100 ms of the start, resident memory under 50 MB) are
//! reported, never asserted.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use clap::{Parser, ValueEnum};
use serde_json::{Value, json};

/// The environment variable that turns this binary into the limit server (its value: the file of
/// captured answers).
const LIMIT_ENV: &str = "BENCH_LIMIT_SERVER";
/// The Prism release the benchmark installs (the version issue 13 measured, the newest 5.x).
const PRISM_VERSION: &str = "5.16.0";
const PAYT_AUTH: &str = "Bearer payt_test_token";
const PAYWISE_AUTH: &str = "Bearer paywise_test_token";
const ADMIN: u64 = 81;

/// The HTTP benchmark: both mocks against a limit server and Prism.
#[derive(Debug, Parser)]
#[command(name = "bench-http")]
struct Args {
    /// Seconds of measured load per request and server.
    #[arg(long, default_value_t = 5)]
    duration: u64,
    /// Seconds of warm-up load before each measurement (0: none).
    #[arg(long, default_value_t = 1)]
    warmup: u64,
    /// Open connections (wrk -c).
    #[arg(long, default_value_t = 32)]
    connections: u32,
    /// wrk threads (wrk -t).
    #[arg(long, default_value_t = 2)]
    threads: u32,
    /// Skip Prism (no Node.js needed).
    #[arg(long)]
    no_prism: bool,
    /// Skip the column of our mock started with --no-control-api.
    #[arg(long)]
    no_bare_mock: bool,
    /// Only this vendor.
    #[arg(long, value_enum)]
    vendor: Option<VendorArg>,
    /// Where the JSON goes (the Markdown goes next to it, as .md).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Passed by `cargo bench`.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum VendorArg {
    Payt,
    Paywise,
}

impl VendorArg {
    fn name(self) -> &'static str {
        match self {
            Self::Payt => "Payt",
            Self::Paywise => "paywise",
        }
    }

    fn auth(self) -> &'static str {
        match self {
            Self::Payt => PAYT_AUTH,
            Self::Paywise => PAYWISE_AUTH,
        }
    }

    /// The OpenAPI document Prism serves for this vendor. For paywise, paywise's own Case
    /// Management file: the part of our contract that covers claims and debtors
    /// (`contract-tests/contracts/paywise-openapi.json` holds only the 20 operations it lacks).
    fn spec(self) -> &'static str {
        match self {
            Self::Payt => "mock-payt/spec/payt-openapi.json",
            Self::Paywise => "mock-paywise/spec/case-management-v1.yaml",
        }
    }
}

/// One request of the benchmark.
#[derive(Debug, Clone)]
struct Req {
    vendor: VendorArg,
    name: String,
    method: &'static str,
    /// Path and query, percent-encoded as sent.
    path: String,
    body: Option<String>,
    /// A page of 100 records (the p99 target applies).
    page_100: bool,
}

impl Req {
    fn get(vendor: VendorArg, name: impl Into<String>, path: impl Into<String>) -> Self {
        Self {
            vendor,
            name: name.into(),
            method: "GET",
            path: path.into(),
            body: None,
            page_100: false,
        }
    }

    fn page_100(mut self) -> Self {
        self.page_100 = true;
        self
    }

    fn post(vendor: VendorArg, name: impl Into<String>, path: impl Into<String>, body: Value) -> Self {
        Self {
            vendor,
            name: name.into(),
            method: "POST",
            path: path.into(),
            body: Some(body.to_string()),
            page_100: false,
        }
    }

    fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    async fn send(&self, client: &reqwest::Client, base: &str) -> Result<reqwest::Response> {
        let url = format!("{base}{}", self.path);
        let mut rb = match self.method {
            "POST" => client.post(&url),
            _ => client.get(&url),
        }
        .header("Authorization", self.vendor.auth())
        .header("Accept", "application/json");
        if let Some(body) = &self.body {
            rb = rb.header("Content-Type", "application/json").body(body.clone());
        }
        rb.send().await.with_context(|| format!("{} {url}", self.method))
    }
}

/// A child process that is killed when dropped, also on error or panic.
struct Proc {
    child: Child,
}

impl Proc {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `VmRSS` and `VmHWM` of the process, in KiB.
    fn memory(&self) -> (Option<u64>, Option<u64>) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |key: &str| {
            status
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _killed = self.child.kill();
        let _reaped = self.child.wait();
    }
}

/// A server under test: its process, its base URL per vendor, and what it cost to start.
struct Server {
    label: &'static str,
    proc: Proc,
    bases: HashMap<&'static str, String>,
    start_ms: Vec<(&'static str, f64)>,
    rss_start_kb: Option<u64>,
}

impl Server {
    fn base(&self, vendor: VendorArg) -> Result<&str> {
        self.bases
            .get(vendor.name())
            .map(String::as_str)
            .ok_or_else(|| anyhow!("{} serves no {}", self.label, vendor.name()))
    }

    fn summary(&self) -> Value {
        let (rss, hwm) = self.proc.memory();
        json!({
            "server": self.label,
            "pid": self.proc.pid(),
            "start_to_first_answer_ms": self.start_ms.iter().map(|(v, ms)| (v.to_string(), json!(ms))).collect::<serde_json::Map<_, _>>(),
            "rss_after_start_kib": self.rss_start_kb,
            "rss_after_load_kib": rss,
            "rss_peak_kib": hwm,
        })
    }
}

/// wrk's numbers for one load.
#[derive(Debug, Clone)]
struct Load {
    raw: Value,
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
    errors: u64,
    non_2xx: u64,
    requests: u64,
}

impl Load {
    fn from_wrk(raw: Value) -> Result<Self> {
        let num = |p: &str| {
            raw.pointer(p)
                .and_then(Value::as_f64)
                .ok_or_else(|| anyhow!("wrk gave no {p}: {raw}"))
        };
        let requests = num("/requests")?;
        let duration = num("/duration_us")?;
        let errors = ["connect", "read", "write", "timeout"]
            .iter()
            .map(|e| num(&format!("/errors/{e}")).map(|n| n as u64))
            .sum::<Result<u64>>()?;
        Ok(Self {
            rps: if duration > 0.0 {
                requests / (duration / 1e6)
            } else {
                0.0
            },
            p50_us: num("/latency_us/p50")?,
            p99_us: num("/latency_us/p99")?,
            max_us: num("/latency_us/max")?,
            errors,
            non_2xx: num("/errors/status")? as u64,
            requests: requests as u64,
            raw,
        })
    }

    fn json(&self) -> Value {
        let mut v = self.raw.clone();
        if let Some(o) = v.as_object_mut() {
            o.insert("requests_per_s".into(), json!((self.rps * 10.0).round() / 10.0));
        }
        v
    }
}

/// One request's results on every server.
struct Row {
    req: Req,
    ours_status: u16,
    bare_status: Option<u16>,
    prism_status: Option<u16>,
    loads: Vec<(&'static str, Load)>,
}

impl Row {
    fn load(&self, label: &str) -> Option<&Load> {
        self.loads.iter().find(|(l, _)| *l == label).map(|(_, load)| load)
    }
}

const OURS: &str = "ours";
const BARE: &str = "ours --no-control-api";
const LIMIT: &str = "limit server";
const PRISM: &str = "Prism";

fn main() -> Result<()> {
    if let Some(file) = std::env::var_os(LIMIT_ENV) {
        return limit_server(Path::new(&file));
    }
    // Only `cargo bench` runs the body, so `cargo test --benches` stays quick.
    if !std::env::args().any(|a| a == "--bench") {
        return Ok(());
    }
    let args = Args::parse();
    if args.connections < args.threads {
        bail!("--connections must be at least --threads ({})", args.threads);
    }
    run(&args)
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `CARGO_TARGET_DIR`, else the directory this bench binary was built into, else `<workspace>/target`.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        let dir = PathBuf::from(dir);
        return if dir.is_relative() { workspace().join(dir) } else { dir };
    }
    if let Ok(exe) = std::env::current_exe()
        && let Some(deps) = exe.parent()
        && deps.file_name().is_some_and(|n| n == "deps")
        && let Some(target) = deps.parent().and_then(Path::parent)
    {
        return target.to_path_buf();
    }
    workspace().join("target")
}

fn run(args: &Args) -> Result<()> {
    let target = target_dir();
    let mock_bin = target.join("release").join("payt-paywise-mocks");
    if !mock_bin.exists() {
        bail!(
            "{} is missing: run `just bench`, or `cargo build --release --bin payt-paywise-mocks` first",
            mock_bin.display()
        );
    }
    let bench_dir = target.join("bench");
    let work = bench_dir.join("http");
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let out = args.out.clone().unwrap_or_else(|| bench_dir.join("http.json"));

    let wrk_version = ensure_wrk()?;
    let prism = if args.no_prism {
        None
    } else {
        Some(ensure_prism(&bench_dir.join("prism"))?)
    };
    let vendors: Vec<VendorArg> = match args.vendor {
        Some(v) => vec![v],
        None => vec![VendorArg::Payt, VendorArg::Paywise],
    };

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("a tokio runtime")?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .context("an HTTP client")?;

    eprintln!("starting our mock ({})", mock_bin.display());
    let ours = rt.block_on(start_mock(&client, &mock_bin, false, &work))?;
    let bare = if args.no_bare_mock {
        None
    } else {
        eprintln!("starting our mock with --no-control-api");
        Some(rt.block_on(start_mock(&client, &mock_bin, true, &work))?)
    };

    let mut rows: Vec<Row> = Vec::new();
    let mut others: Vec<Value> = Vec::new();
    for &vendor in &vendors {
        let base = ours.base(vendor)?.to_string();
        let reqs = rt.block_on(discover(&client, vendor, &base))?;

        // Capture our answers once; the limit server sends exactly these.
        let mut captured = Vec::new();
        let mut bodies = Vec::new();
        let mut statuses = HashMap::new();
        for r in &reqs {
            let resp = rt.block_on(r.send(&client, &base))?;
            let status = resp.status().as_u16();
            let content_type = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/json")
                .to_string();
            let body = rt.block_on(resp.bytes())?;
            if !(200..300).contains(&status) {
                bail!(
                    "our mock answered {status} to {} {}: {}",
                    r.method,
                    r.path,
                    String::from_utf8_lossy(&body)
                );
            }
            statuses.insert(r.key(), status);
            captured.push(json!({
                "key": r.key(),
                "status": status,
                "content_type": content_type,
                "body_base64": base64::engine::general_purpose::STANDARD.encode(&body),
            }));
            bodies.push((status, body));
        }
        let limit_file = work.join(format!("{}-answers.json", vendor.name()));
        std::fs::write(&limit_file, serde_json::to_vec(&captured)?)
            .with_context(|| format!("cannot write {}", limit_file.display()))?;
        eprintln!("starting the limit server for {}", vendor.name());
        let limit = rt.block_on(start_limit(&client, &limit_file, vendor, &reqs[0]))?;
        // The limit server must send what we sent.
        for (r, (status, body)) in reqs.iter().zip(&bodies) {
            let resp = rt.block_on(r.send(&client, limit.base(vendor)?))?;
            let same_status = resp.status().as_u16() == *status;
            if !same_status || rt.block_on(resp.bytes())? != body {
                bail!("the limit server's answer to {} differs from ours", r.key());
            }
        }

        let prism_server = match &prism {
            Some((bin, _)) => {
                eprintln!("starting Prism for {} ({})", vendor.name(), vendor.spec());
                Some(rt.block_on(start_prism(&client, bin, vendor, &reqs[0], &work))?)
            }
            None => None,
        };

        for (i, r) in reqs.iter().enumerate() {
            let lua = work.join(format!("{}-{i}.lua", vendor.name()));
            std::fs::write(&lua, lua_script(r)).with_context(|| format!("cannot write {}", lua.display()))?;
            let mut bare_status = None;
            if let Some(b) = &bare {
                bare_status = Some(rt.block_on(r.send(&client, b.base(vendor)?))?.status().as_u16());
            }
            let mut prism_status = None;
            if let Some(p) = &prism_server {
                prism_status = Some(rt.block_on(r.send(&client, p.base(vendor)?))?.status().as_u16());
            }
            let mut targets: Vec<(&'static str, &Server)> = vec![(OURS, &ours)];
            if let Some(b) = &bare {
                targets.push((BARE, b));
            }
            targets.push((LIMIT, &limit));
            if let Some(p) = &prism_server {
                targets.push((PRISM, p));
            }
            let mut loads = Vec::new();
            for (label, server) in targets {
                let url = format!("{}{}", server.base(vendor)?, r.path);
                eprintln!("  {:<8} {:<48} {label}", vendor.name(), r.name);
                if args.warmup > 0 {
                    wrk(args, args.warmup, &lua, &url)?;
                }
                loads.push((label, wrk(args, args.duration, &lua, &url)?));
            }
            rows.push(Row {
                req: r.clone(),
                ours_status: statuses.get(&r.key()).copied().unwrap_or(0),
                bare_status,
                prism_status,
                loads,
            });
        }
        others.push(limit.summary());
        if let Some(p) = &prism_server {
            others.push(p.summary());
        }
    }

    let mut servers = vec![ours.summary()];
    if let Some(b) = &bare {
        servers.push(b.summary());
    }
    servers.extend(others);

    let machine = machine();
    let report = Report {
        args,
        rows: &rows,
        servers: &servers,
        machine: &machine,
        wrk: &wrk_version,
        prism: prism.as_ref().map(|(_, v)| v.as_str()),
    };
    let md = report.markdown();
    println!("{md}");
    let json = report.json();
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(&out, serde_json::to_string_pretty(&json)?)
        .with_context(|| format!("cannot write {}", out.display()))?;
    let md_path = out.with_extension("md");
    std::fs::write(&md_path, &md).with_context(|| format!("cannot write {}", md_path.display()))?;
    eprintln!("wrote {} and {}", out.display(), md_path.display());
    Ok(())
}

/// wrk's version line, installing wrk from Debian when it is missing.
fn ensure_wrk() -> Result<String> {
    let version = || {
        Command::new("wrk").arg("-v").output().ok().map(|o| {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            text.lines().next().unwrap_or("wrk").trim().to_string()
        })
    };
    if let Some(v) = version() {
        return Ok(v);
    }
    eprintln!("wrk is missing: installing it with apt-get (Debian's wrk package)");
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let apt = |args: &[&str]| {
        let mut cmd = if root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd.status().is_ok_and(|s| s.success())
    };
    if !apt(&["install", "-y", "wrk"]) {
        let _updated = apt(&["update"]);
        let _installed = apt(&["install", "-y", "wrk"]);
    }
    version().ok_or_else(|| {
        anyhow!(
            "wrk is missing and apt-get could not install it. Install wrk (Debian/Ubuntu: `sudo apt-get install wrk`, \
             macOS: `brew install wrk`, or build https://github.com/wg/wrk) and run again"
        )
    })
}

/// The Prism executable and its version, installing Prism from npm into `dir` when missing.
fn ensure_prism(dir: &Path) -> Result<(PathBuf, String)> {
    let bin = dir.join("node_modules").join(".bin").join("prism");
    let version = || {
        Command::new(&bin)
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match version() {
        Some(v) if v == PRISM_VERSION => return Ok((bin, v)),
        Some(v) => eprintln!("Prism {v} found in {}: installing {PRISM_VERSION}", dir.display()),
        None => eprintln!("installing Prism {PRISM_VERSION} from npm into {}", dir.display()),
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let status = Command::new("npm")
        .arg("install")
        .arg("--prefix")
        .arg(dir)
        .arg("--no-audit")
        .arg("--no-fund")
        .arg(format!("@stoplight/prism-cli@{PRISM_VERSION}"))
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => bail!("npm install of Prism failed ({s}); run with --no-prism to skip Prism"),
        Err(e) => bail!("cannot run npm ({e}): install Node.js 18 or newer with npm, or run with --no-prism"),
    }
    let v = version().ok_or_else(|| anyhow!("{} does not run after the install", bin.display()))?;
    Ok((bin, v))
}

/// A log file for a child's output.
fn log_file(work: &Path, name: &str) -> Result<std::fs::File> {
    let path = work.join(format!("{name}.log"));
    std::fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))
}

/// Reads a child's stdout line by line on a thread (so the pipe never fills) and hands the lines on.
fn lines_of(child: &mut Child) -> Result<mpsc::Receiver<String>> {
    let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout pipe"))?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // The receiver may be gone once the banner is read; keep draining.
            let _sent = tx.send(line);
        }
    });
    Ok(rx)
}

/// Polls `req` on `base` until an answer comes (a 2xx one when `need_2xx`); the time since
/// `started` and the status.
async fn first_answer(
    client: &reqwest::Client,
    req: &Req,
    base: &str,
    started: Instant,
    timeout: Duration,
    need_2xx: bool,
) -> Result<(f64, u16)> {
    loop {
        if let Ok(resp) = req.send(client, base).await {
            let status = resp.status();
            if !need_2xx || status.is_success() {
                let ms = started.elapsed().as_secs_f64() * 1e3;
                let _body = resp.bytes().await;
                return Ok((ms, status.as_u16()));
            }
        }
        if started.elapsed() > timeout {
            bail!("no answer to {} from {base} within {timeout:?}", req.key());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// The request polled for the first answer of a fresh mock.
fn probe(vendor: VendorArg) -> Req {
    match vendor {
        VendorArg::Payt => Req::get(
            vendor,
            "probe",
            format!("/v1/credit_cases?administration_id={ADMIN}&per_page=1"),
        ),
        VendorArg::Paywise => Req::get(vendor, "probe", "/v1/claims/?limit=1"),
    }
}

/// Starts our mock on free ports and waits for the first answer of each vendor.
async fn start_mock(client: &reqwest::Client, bin: &Path, bare: bool, work: &Path) -> Result<Server> {
    let label = if bare { BARE } else { OURS };
    let mut cmd = Command::new(bin);
    cmd.args([
        "--payt-addr",
        "127.0.0.1:0",
        "--paywise-addr",
        "127.0.0.1:0",
        "--anchor-date",
        "2026-01-15",
        "--clock-start",
        "2026-01-15T12:00:00Z",
        "--clock-frozen",
    ]);
    if bare {
        cmd.arg("--no-control-api");
    }
    let log = log_file(work, if bare { "mock-no-control-api" } else { "mock" })?;
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let lines = lines_of(&mut child);
    let proc = Proc { child };
    let lines = lines?;
    let mut bases = HashMap::new();
    while bases.len() < 2 {
        let line = lines
            .recv_timeout(Duration::from_secs(60).saturating_sub(started.elapsed()))
            .map_err(|_| anyhow!("our mock printed no addresses (see {}/mock*.log)", work.display()))?;
        for (prefix, vendor) in [("Payt mock", "Payt"), ("paywise mock", "paywise")] {
            if line.starts_with(prefix)
                && let Some(url) = line.split_whitespace().find(|w| w.starts_with("http://"))
            {
                bases.insert(vendor, url.trim_end_matches('/').trim_end_matches("/v1").to_string());
            }
        }
    }
    let mut start_ms = Vec::new();
    let (payt, paywise) = (probe(VendorArg::Payt), probe(VendorArg::Paywise));
    let timeout = Duration::from_secs(60);
    let (a, b) = tokio::join!(
        first_answer(client, &payt, &bases["Payt"], started, timeout, true),
        first_answer(client, &paywise, &bases["paywise"], started, timeout, true),
    );
    start_ms.push(("Payt", a?.0));
    start_ms.push(("paywise", b?.0));
    let rss_start_kb = proc.memory().0;
    Ok(Server {
        label,
        proc,
        bases,
        start_ms,
        rss_start_kb,
    })
}

/// Starts this binary as the limit server for `vendor` with the captured answers in `file`.
async fn start_limit(client: &reqwest::Client, file: &Path, vendor: VendorArg, first: &Req) -> Result<Server> {
    let exe = std::env::current_exe().context("the bench binary's path")?;
    let started = Instant::now();
    let mut child = Command::new(exe)
        .env(LIMIT_ENV, file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start the limit server")?;
    let lines = lines_of(&mut child);
    let proc = Proc { child };
    let base = lines?
        .recv_timeout(Duration::from_secs(30))
        .map_err(|_| anyhow!("the limit server printed no address"))?;
    let (ms, _) = first_answer(client, first, &base, started, Duration::from_secs(30), true).await?;
    let rss_start_kb = proc.memory().0;
    Ok(Server {
        label: LIMIT,
        proc,
        bases: HashMap::from([(vendor.name(), base)]),
        start_ms: vec![(vendor.name(), ms)],
        rss_start_kb,
    })
}

/// Starts Prism on a free port with the vendor's OpenAPI document.
async fn start_prism(
    client: &reqwest::Client,
    bin: &Path,
    vendor: VendorArg,
    first: &Req,
    work: &Path,
) -> Result<Server> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .context("a free port for Prism")?
        .port();
    let log = log_file(work, &format!("prism-{}", vendor.name()))?;
    let started = Instant::now();
    let child = Command::new(bin)
        .current_dir(workspace())
        .args([
            "mock",
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-v",
            "error",
            vendor.spec(),
        ])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let proc = Proc { child };
    let base = format!("http://127.0.0.1:{port}");
    let (ms, _) = first_answer(client, first, &base, started, Duration::from_secs(120), false).await?;
    let rss_start_kb = proc.memory().0;
    Ok(Server {
        label: PRISM,
        proc,
        bases: HashMap::from([(vendor.name(), base)]),
        start_ms: vec![(vendor.name(), ms)],
        rss_start_kb,
    })
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A JSON id (string or number) as text.
fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

async fn get_json(client: &reqwest::Client, vendor: VendorArg, base: &str, path: &str) -> Result<Value> {
    let resp = Req::get(vendor, "discovery", path).send(client, base).await?;
    let status = resp.status();
    let text = resp.text().await?;
    if !status.is_success() {
        bail!("GET {path} answered {status}: {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("GET {path} answered no JSON"))
}

/// The vendor's requests, with ids and filter values found through the API.
async fn discover(client: &reqwest::Client, vendor: VendorArg, base: &str) -> Result<Vec<Req>> {
    match vendor {
        VendorArg::Payt => discover_payt(client, base).await,
        VendorArg::Paywise => discover_paywise(client, base).await,
    }
}

async fn discover_payt(client: &reqwest::Client, base: &str) -> Result<Vec<Req>> {
    let v = VendorArg::Payt;
    let a = format!("administration_id={ADMIN}");
    let first = get_json(client, v, base, &format!("/v1/notifications?{a}&per_page=1")).await?;
    let notification = first
        .pointer("/data/0/id")
        .and_then(id_text)
        .ok_or_else(|| anyhow!("administration {ADMIN} has no notifications"))?;
    // Every invoice's updated_at, to pick an updated_after that keeps about a tenth of them.
    let mut updated = Vec::new();
    let mut debtor_number = None;
    let mut cursor: Option<String> = None;
    loop {
        let page_path = match &cursor {
            Some(c) => format!("/v1/invoices?{a}&per_page=500&cursor={c}"),
            None => format!("/v1/invoices?{a}&per_page=500"),
        };
        let page = get_json(client, v, base, &page_path).await?;
        let data = page["data"].as_array().cloned().unwrap_or_default();
        for inv in &data {
            if let Some(u) = inv["updated_at"].as_str() {
                updated.push(u.to_string());
            }
            if debtor_number.is_none() {
                debtor_number = inv["debtor_number"].as_str().map(str::to_string);
            }
        }
        cursor = page.pointer("/pagination/cursor").and_then(id_text);
        if data.is_empty() || cursor.is_none() {
            break;
        }
    }
    // RFC 3339 UTC timestamps of one format sort as text.
    updated.sort_unstable_by(|x, y| y.cmp(x));
    let after = updated
        .get(updated.len() / 10)
        .cloned()
        .ok_or_else(|| anyhow!("administration {ADMIN} has no invoices"))?;
    let kept = updated.iter().filter(|u| **u > after).count();
    let debtor_number = debtor_number.ok_or_else(|| anyhow!("the invoices name no debtor_number"))?;
    let fields = json!({"only": ["id", "invoice_number", "open_amount", {"invoice_lines": ["description", "total_incl_tax_amount"]}]});
    Ok(vec![
        Req::get(
            v,
            "one notification by id",
            format!("/v1/notifications/{notification}?{a}"),
        ),
        Req::get(
            v,
            "credit cases, per_page=1",
            format!("/v1/credit_cases?{a}&per_page=1"),
        ),
        Req::get(
            v,
            "credit cases, per_page=100",
            format!("/v1/credit_cases?{a}&per_page=100"),
        )
        .page_100(),
        Req::get(v, "invoices, per_page=1", format!("/v1/invoices?{a}&per_page=1")),
        Req::get(v, "invoices, per_page=100", format!("/v1/invoices?{a}&per_page=100")).page_100(),
        Req::get(
            v,
            format!("invoices, updated_after ({kept} of {}), per_page=20", updated.len()),
            format!("/v1/invoices?{a}&updated_after={}&per_page=20", encode(&after)),
        ),
        Req::get(
            v,
            "invoices, per_page=100, fields (4 of them)",
            format!("/v1/invoices?{a}&per_page=100&fields={}", encode(&fields.to_string())),
        )
        .page_100(),
        Req::post(
            v,
            "create a message (POST)",
            "/v1/messages",
            json!({
                "administration_id": ADMIN,
                "debtor_number": debtor_number,
                "message": {"subject": "Benchmark", "body": "A message sent under load."},
            }),
        ),
    ])
}

async fn discover_paywise(client: &reqwest::Client, base: &str) -> Result<Vec<Req>> {
    let v = VendorArg::Paywise;
    let first = get_json(client, v, base, "/v1/claims/?limit=1").await?;
    let claim = first
        .pointer("/results/0/id")
        .and_then(id_text)
        .ok_or_else(|| anyhow!("the paywise mock has no claims"))?;
    let state = first
        .pointer("/results/0/submission_state")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("the first claim has no submission_state"))?
        .to_string();
    let total = first["count"].as_u64().unwrap_or(0);
    let filtered = get_json(
        client,
        v,
        base,
        &format!("/v1/claims/?submission_state={state}&limit=1"),
    )
    .await?;
    let kept = filtered["count"].as_u64().unwrap_or(0);
    Ok(vec![
        Req::get(v, "one claim by id", format!("/v1/claims/{claim}/")),
        Req::get(v, "claims, limit=1", "/v1/claims/?limit=1"),
        Req::get(v, "claims, limit=100", "/v1/claims/?limit=100").page_100(),
        Req::get(v, "debtors, limit=1", "/v1/debtors/?limit=1"),
        Req::get(v, "debtors, limit=100", "/v1/debtors/?limit=100").page_100(),
        Req::get(
            v,
            format!("claims, submission_state ({kept} of {total}), limit=20"),
            format!("/v1/claims/?submission_state={state}&limit=20"),
        ),
        Req::post(
            v,
            "create a debtor (POST)",
            "/v1/debtors/",
            json!({
                "acting_as": "consumer",
                "person": {"first_name": "Lasse", "last_name": "Last"},
                "addresses": [{"street": "Teststraße 1", "zip": "10115", "city": "Berlin", "country": "DE"}],
            }),
        ),
    ])
}

/// The wrk script of a request: method, headers, body, and a `done` hook that prints wrk's
/// numbers as one JSON line.
fn lua_script(r: &Req) -> String {
    let mut s = String::new();
    let _w = writeln!(s, "wrk.method = \"{}\"", r.method);
    let _w = writeln!(s, "wrk.headers[\"Authorization\"] = \"{}\"", r.vendor.auth());
    let _w = writeln!(s, "wrk.headers[\"Accept\"] = \"application/json\"");
    if let Some(body) = &r.body {
        let _w = writeln!(s, "wrk.headers[\"Content-Type\"] = \"application/json\"");
        let _w = writeln!(s, "wrk.body = [==[{body}]==]");
    }
    s.push_str(
        r#"
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%.0f,"p90":%.0f,"p99":%.0f,"max":%.0f,"mean":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"#,
    );
    s
}

/// One wrk run against `url`.
fn wrk(args: &Args, secs: u64, lua: &Path, url: &str) -> Result<Load> {
    let out = Command::new("wrk")
        .arg(format!("-t{}", args.threads))
        .arg(format!("-c{}", args.connections))
        .arg(format!("-d{secs}s"))
        .arg("--latency")
        .arg("-s")
        .arg(lua)
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .context("cannot run wrk")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("BENCH_RESULT "))
        .ok_or_else(|| {
            anyhow!(
                "wrk printed no result for {url}: {stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    Load::from_wrk(serde_json::from_str(line).with_context(|| format!("wrk's result line: {line}"))?)
}

/// The machine: cores, CPU model, kernel.
fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or_else(|| "unknown".to_string(), |(_, m)| m.trim().to_string());
    let nproc = std::thread::available_parallelism().map_or(0, std::num::NonZeroUsize::get);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mem_kib = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse::<u64>().ok()));
    json!({"nproc": nproc, "cpu": cpu, "kernel": kernel.trim(), "mem_total_kib": mem_kib})
}

fn git_revision() -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(workspace())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

struct Report<'a> {
    args: &'a Args,
    rows: &'a [Row],
    servers: &'a [Value],
    machine: &'a Value,
    wrk: &'a str,
    prism: Option<&'a str>,
}

fn ms(us: f64) -> String {
    format!("{:.2} ms", us / 1e3)
}

fn ratio(a: Option<&Load>, b: Option<&Load>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b.rps > 0.0 => Some(a.rps / b.rps),
        _ => None,
    }
}

/// A ratio as "12x" (one decimal under 10).
fn times(x: f64) -> String {
    if x < 10.0 {
        format!("{x:.1}x")
    } else {
        format!("{x:.0}x")
    }
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(|| "?".to_string(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

impl Report<'_> {
    fn date(&self) -> String {
        // wall-clock-ok: the date the benchmark ran, for the report.
        chrono::Utc::now().format("%Y-%m-%d").to_string()
    }

    fn markdown(&self) -> String {
        let mut s = String::new();
        let cpu = self.machine["cpu"].as_str().unwrap_or("?");
        let nproc = self.machine["nproc"].as_u64().unwrap_or(0);
        let _w = writeln!(
            s,
            "{}, {nproc} cores ({cpu}), release build{}; {} with {} threads and {} connections, {} s per \
             request and server after {} s of warm-up, on the same machine as the servers; {}.\n",
            self.date(),
            git_revision().map(|r| format!(" of {r}")).unwrap_or_default(),
            self.wrk.split(" [").next().unwrap_or(self.wrk),
            self.args.threads,
            self.args.connections,
            self.args.duration,
            self.args.warmup,
            match self.prism {
                Some(v) => format!("Prism {v} (static examples, logging at `error`)"),
                None => "Prism skipped".to_string(),
            },
        );
        let bare = self.rows.iter().any(|r| r.load(BARE).is_some());
        for vendor in [VendorArg::Payt, VendorArg::Paywise] {
            let rows: Vec<&Row> = self.rows.iter().filter(|r| r.req.vendor == vendor).collect();
            if rows.is_empty() {
                continue;
            }
            let _w = writeln!(s, "{}:\n", vendor.name());
            let mut head = "| request | ours req/s | p50 | p99 | max |".to_string();
            let mut rule = "|---|--:|--:|--:|--:|".to_string();
            if bare {
                head.push_str(" no control API req/s |");
                rule.push_str("--:|");
            }
            head.push_str(" limit req/s | ours/limit | Prism req/s | ours/Prism | status (ours, Prism) |");
            rule.push_str("--:|--:|--:|--:|---|");
            let _w = writeln!(s, "{head}\n{rule}");
            for r in rows {
                let (ours, limit, prism) = (r.load(OURS), r.load(LIMIT), r.load(PRISM));
                let rps = |l: Option<&Load>| l.map_or_else(|| "–".to_string(), |l| format!("{:.0}", l.rps));
                let lat = |f: fn(&Load) -> f64| ours.map_or_else(|| "–".to_string(), |l| ms(f(l)));
                let mut line = format!(
                    "| {} | {} | {} | {} | {} |",
                    r.req.name,
                    rps(ours),
                    lat(|l| l.p50_us),
                    lat(|l| l.p99_us),
                    lat(|l| l.max_us)
                );
                if bare {
                    let _w = write!(line, " {} |", rps(r.load(BARE)));
                }
                let mut status = r.ours_status.to_string();
                if let Some(b) = r.bare_status
                    && b != r.ours_status
                {
                    let _w = write!(status, " (no control API: {b})");
                }
                match r.prism_status {
                    Some(p) => {
                        let _w = write!(status, ", {p}");
                    }
                    None => status.push_str(", –"),
                }
                for (label, l) in &r.loads {
                    if l.errors > 0 {
                        let _w = write!(status, "; {label}: {} socket errors", l.errors);
                    }
                    if l.non_2xx > 0 && l.non_2xx < l.requests {
                        let _w = write!(status, "; {label}: {} of {} not 2xx", l.non_2xx, l.requests);
                    }
                }
                let _w = writeln!(
                    line,
                    " {} | {} | {} | {} | {status} |",
                    rps(limit),
                    ratio(ours, limit).map_or_else(|| "–".to_string(), |x| format!("{x:.2}")),
                    rps(prism),
                    ratio(ours, prism).map_or_else(|| "–".to_string(), times),
                );
                s.push_str(&line);
            }
            s.push('\n');
        }
        let _w = writeln!(
            s,
            "| server | start to first answer | resident after start | after the load | peak |\n|---|--:|--:|--:|--:|"
        );
        for srv in self.servers {
            let starts = srv["start_to_first_answer_ms"]
                .as_object()
                .map(|o| {
                    o.iter()
                        .map(|(v, ms)| format!("{v} {:.0} ms", ms.as_f64().unwrap_or(0.0)))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            let label = srv["server"].as_str().unwrap_or("?");
            let label = match label {
                OURS => "our mock (both vendors, one process)".to_string(),
                BARE => "our mock, --no-control-api".to_string(),
                other => match srv["start_to_first_answer_ms"]
                    .as_object()
                    .and_then(|o| o.keys().next())
                {
                    Some(vendor) => format!("{other}, {vendor}"),
                    None => other.to_string(),
                },
            };
            let kib = |k: &str| mib(srv[k].as_u64());
            let _w = writeln!(
                s,
                "| {label} | {starts} | {} | {} | {} |",
                kib("rss_after_start_kib"),
                kib("rss_after_load_kib"),
                kib("rss_peak_kib")
            );
        }
        s.push('\n');
        for t in self.targets() {
            let _w = writeln!(s, "- {t}");
        }
        s
    }

    /// The targets of issue 13, as sentences with the measured value.
    fn targets(&self) -> Vec<String> {
        let mut out = Vec::new();
        let met = |ok: bool| if ok { "met" } else { "not met" };
        let worst = |other: &str| {
            self.rows
                .iter()
                .filter_map(|r| ratio(r.load(OURS), r.load(other)).map(|x| (x, r)))
                .min_by(|a, b| a.0.total_cmp(&b.0))
        };
        if let Some((x, r)) = worst(LIMIT) {
            out.push(format!(
                "every request at 50% of the limit server's req/s or more: lowest {:.0}% ({} {}): {}",
                x * 100.0,
                r.req.vendor.name(),
                r.req.name,
                met(x >= 0.5)
            ));
        }
        if let Some((x, r)) = worst(PRISM) {
            out.push(format!(
                "every request at 50x Prism's req/s or more: lowest {} ({} {}): {}",
                times(x),
                r.req.vendor.name(),
                r.req.name,
                met(x >= 50.0)
            ));
        }
        if let Some((p99, r)) = self
            .rows
            .iter()
            .filter(|r| r.req.page_100)
            .filter_map(|r| r.load(OURS).map(|l| (l.p99_us, r)))
            .max_by(|a, b| a.0.total_cmp(&b.0))
        {
            out.push(format!(
                "p99 under 5 ms for pages of 100 at {} connections: highest {} ({} {}): {}",
                self.args.connections,
                ms(p99),
                r.req.vendor.name(),
                r.req.name,
                met(p99 < 5000.0)
            ));
        }
        if let Some(ours) = self.servers.iter().find(|s| s["server"] == OURS) {
            let slowest = ours["start_to_first_answer_ms"]
                .as_object()
                .and_then(|o| o.values().filter_map(Value::as_f64).reduce(f64::max));
            if let Some(ms) = slowest {
                out.push(format!(
                    "start to first answer under 100 ms: {ms:.0} ms (both vendors): {}",
                    met(ms < 100.0)
                ));
            }
            let start = ours["rss_after_start_kib"].as_u64();
            let peak = ours["rss_peak_kib"].as_u64();
            let limit = 50 * 1024;
            out.push(format!(
                "resident memory under 50 MiB: {} after start ({}), peak {} during the load ({})",
                mib(start),
                met(start.is_some_and(|k| k < limit)),
                mib(peak),
                met(peak.is_some_and(|k| k < limit))
            ));
        }
        out
    }

    fn json(&self) -> Value {
        let requests: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                let loads: serde_json::Map<String, Value> =
                    r.loads.iter().map(|(label, l)| (label.to_string(), l.json())).collect();
                json!({
                    "vendor": r.req.vendor.name(),
                    "name": r.req.name,
                    "method": r.req.method,
                    "path": r.req.path,
                    "body": r.req.body,
                    "page_of_100": r.req.page_100,
                    "status": {"ours": r.ours_status, "ours_no_control_api": r.bare_status, "prism": r.prism_status},
                    "results": loads,
                    "ours_over_limit": ratio(r.load(OURS), r.load(LIMIT)),
                    "ours_over_prism": ratio(r.load(OURS), r.load(PRISM)),
                    "ours_over_no_control_api": ratio(r.load(OURS), r.load(BARE)),
                })
            })
            .collect();
        json!({
            "date": self.date(),
            "revision": git_revision(),
            "machine": self.machine,
            "versions": {"wrk": self.wrk, "prism": self.prism},
            "settings": {
                "duration_s": self.args.duration,
                "warmup_s": self.args.warmup,
                "connections": self.args.connections,
                "threads": self.args.threads,
            },
            "servers": self.servers,
            "requests": requests,
            "targets": self.targets(),
        })
    }
}

/// The limit server: answers each request (method, path and query) with the captured status,
/// content type and body, on the same axum/tokio/hyper stack as the mock. Prints its base URL.
fn limit_server(file: &Path) -> Result<()> {
    use axum::body::{Body, Bytes};
    use axum::extract::{Request, State};
    use axum::http::{HeaderValue, StatusCode, header};
    use axum::response::Response;

    struct Canned {
        status: StatusCode,
        content_type: HeaderValue,
        body: Bytes,
    }

    async fn answer(State(answers): State<Arc<HashMap<String, Canned>>>, req: Request) -> Response {
        let key = format!(
            "{} {}",
            req.method(),
            req.uri().path_and_query().map_or("/", |p| p.as_str())
        );
        // Read the body, as the mock does.
        let _body = axum::body::to_bytes(req.into_body(), 1 << 20).await;
        match answers.get(&key) {
            Some(c) => {
                let mut resp = Response::new(Body::from(c.body.clone()));
                *resp.status_mut() = c.status;
                resp.headers_mut().insert(header::CONTENT_TYPE, c.content_type.clone());
                resp
            }
            None => {
                let mut resp = Response::new(Body::from(format!("no captured answer for {key}\n")));
                *resp.status_mut() = StatusCode::NOT_FOUND;
                resp
            }
        }
    }

    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let entries: Vec<Value> = serde_json::from_str(&text)?;
    let mut answers = HashMap::new();
    for e in entries {
        let key = e["key"].as_str().ok_or_else(|| anyhow!("an answer without a key"))?;
        let status = u16::try_from(e["status"].as_u64().unwrap_or(200))?;
        let body = base64::engine::general_purpose::STANDARD.decode(e["body_base64"].as_str().unwrap_or(""))?;
        answers.insert(
            key.to_string(),
            Canned {
                status: StatusCode::from_u16(status)?,
                content_type: HeaderValue::from_str(e["content_type"].as_str().unwrap_or("application/json"))?,
                body: Bytes::from(body),
            },
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("a tokio runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "http://{addr}")?;
        stdout.flush()?;
        let app = axum::Router::new().fallback(answer).with_state(Arc::new(answers));
        axum::serve(listener, app).await?;
        Ok(())
    })
}
