//! One binary that runs the Payt and paywise mocks side by side.
//!
//! ```text
//! cargo run --release                      # both mocks on their default ports
//! cargo run --release -- --payt-addr 127.0.0.1:0 --seed 7
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use clap::Parser;
use mock_core::Clock;
use mock_core::statefile::{Persisted, StateFile};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

/// mimalloc rather than the system allocator: a large world (`--scale`) is millions of small
/// allocations, which glibc's malloc spends seconds consolidating and holds more memory for.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Local, stateful stand-ins for the Payt Customer API v1 and the paywise Case Management API v1.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Where the Payt mock listens (port 0 picks a free port; the bound address is printed).
    #[arg(long, env = "PAYT_ADDR", default_value = "127.0.0.1:8180")]
    payt_addr: SocketAddr,
    /// Where the paywise mock listens (port 0 picks a free port; the bound address is printed).
    #[arg(long, env = "PAYWISE_ADDR", default_value = "127.0.0.1:8280")]
    paywise_addr: SocketAddr,
    /// Seed of the generated fixtures: the same seed and anchor date always give the same data.
    #[arg(long, env = "MOCK_SEED", default_value_t = 42)]
    seed: u64,
    /// The date the fixtures are placed around (YYYY-MM-DD). By default the mock clock's date at
    /// start, so overdue invoices, recent tombstones and due terms are as fresh on every day; pin
    /// it for byte-identical data on every day.
    #[arg(long, env = "MOCK_ANCHOR_DATE", value_name = "YYYY-MM-DD")]
    anchor_date: Option<NaiveDate>,
    /// Bearer token the Payt mock accepts (granted administrations 81 and 82, every scope).
    #[arg(long, env = "PAYT_MOCK_TOKEN", default_value = mock_payt::DEFAULT_TOKEN)]
    payt_token: String,
    /// Test-mode bearer token the paywise mock accepts.
    #[arg(long, env = "PAYWISE_MOCK_TOKEN", default_value = mock_paywise::DEFAULT_TOKEN)]
    paywise_token: String,
    /// Production-mode bearer token the paywise mock accepts.
    #[arg(long, env = "PAYWISE_MOCK_PRODUCTION_TOKEN", default_value = mock_paywise::DEFAULT_PRODUCTION_TOKEN)]
    paywise_production_token: String,
    /// Switch off rules the paywise mock enforces beyond paywise's OpenAPI files: `totals`
    /// (claim sums and one currency), `amounts` (at least 0.01), `iban` (check digits).
    #[arg(long, env = "PAYWISE_LENIENT", value_delimiter = ',', value_name = "RULE,...")]
    paywise_lenient: Vec<mock_paywise::state::LenientRule>,
    /// Write Payt ids and cursors as JSON integers instead of strings (the spec's choice), as one
    /// page of Payt's docs shows them.
    #[arg(long, env = "PAYT_INTEGER_IDS")]
    payt_integer_ids: bool,
    /// Subscribe this URL to every Payt webhook event of every administration, in every world
    /// (repeat the flag for more receivers; more through `/_mock/payt/webhooks`).
    #[arg(long = "payt-webhook", env = "PAYT_WEBHOOK_URL", value_name = "URL")]
    payt_webhooks: Vec<String>,
    /// The HMAC-SHA256 key of `X-PAYT-SIGNATURE` for the `--payt-webhook` subscriptions.
    #[arg(long, env = "PAYT_WEBHOOK_SECRET", default_value = mock_payt::webhooks::DEFAULT_SECRET)]
    payt_webhook_secret: String,
    /// Load this named scenario into its mock's default world at start (`list`: print the
    /// scenarios of both mocks and exit). Scenario names say their mock: `payt-...`, `paywise-...`.
    #[arg(long, env = "MOCK_SCENARIO", value_name = "NAME")]
    scenario: Option<String>,
    /// Serve only the vendors' public APIs: no control API, named worlds, journal or fault rules
    /// (`/_mock/...`; the Payt storage and link pages stay, they stand in for Payt's own hosts).
    #[arg(long, env = "MOCK_NO_CONTROL_API")]
    no_control_api: bool,
    /// Fixture size: 1 is the standard data set, 0 only the tenants the tokens need, N times as
    /// many records per tenant.
    #[arg(long, env = "MOCK_SIZE", default_value_t = 1)]
    size: u32,
    /// A large world: N lean credit cases more in Payt administration 81 and N claims more in the
    /// paywise test mode, with proportionate debtors, invoices and payments (0, the default, adds
    /// none). A million takes some seconds and about a gigabyte per mock; see the README.
    #[arg(long, env = "MOCK_SCALE", default_value_t = 0, value_name = "N",
          value_parser = clap::value_parser!(u64).range(..=mock_core::control::MAX_SCALE))]
    scale: u64,
    /// How many worlds each mock may hold at once (the default world included).
    #[arg(long, env = "MOCK_MAX_WORLDS", default_value_t = 64)]
    max_worlds: usize,
    /// How many requests each world's journal keeps (a ring: the oldest go first).
    #[arg(long, env = "MOCK_JOURNAL_CAPACITY", default_value_t = 1000)]
    journal_capacity: usize,
    /// Emulate Payt's documented rate limit (10 requests per second per token, 3 for file
    /// imports) in every world from the start; the control API switches it per world.
    #[arg(long, env = "PAYT_RATE_LIMIT")]
    payt_rate_limit: bool,
    /// Keep every world of both mocks in this file: loaded at start, saved after changes and on
    /// shutdown, written atomically. A file that cannot be loaded stops the start.
    #[arg(long, env = "MOCK_STATE_FILE", value_name = "PATH")]
    state_file: Option<std::path::PathBuf>,
    /// How long after a change the state file is saved at the latest (milliseconds).
    #[arg(long, env = "MOCK_STATE_SAVE_MS", default_value_t = 500, value_name = "MS")]
    state_save_ms: u64,
    /// Start both mocks' clocks at this instant (RFC 3339) instead of the wall clock's time; they
    /// run on from there. Each world's clock is then steered through `/_mock/clock`.
    #[arg(long, env = "MOCK_CLOCK_START", value_name = "RFC3339")]
    clock_start: Option<chrono::DateTime<chrono::Utc>>,
    /// Freeze both mocks' clocks (at --clock-start, or at the time of start): they move only when
    /// a client sets or advances them.
    #[arg(long, env = "MOCK_CLOCK_FROZEN")]
    clock_frozen: bool,
    /// Trust the certificates in this PEM file (besides the public roots) when delivering
    /// webhooks over HTTPS: a local receiver's self-signed certificate or the CA that signed it.
    #[arg(long, env = "MOCK_WEBHOOK_CA_FILE", value_name = "PATH")]
    webhook_ca_file: Option<std::path::PathBuf>,
    /// Accept any TLS certificate when delivering webhooks (local development only).
    #[arg(long, env = "MOCK_WEBHOOK_INSECURE")]
    webhook_insecure: bool,
    /// How long a client may take to send a request's head (milliseconds; 0: no limit); the
    /// connection is then closed.
    #[arg(long, env = "MOCK_HEADER_TIMEOUT_MS", default_value_t = 10_000, value_name = "MS")]
    header_timeout_ms: u64,
    /// How long a request's body may take to arrive once the mock reads it (milliseconds; 0: no
    /// limit): 408 in the vendor's shape.
    #[arg(long, env = "MOCK_BODY_TIMEOUT_MS", default_value_t = 30_000, value_name = "MS")]
    body_timeout_ms: u64,
    /// How long a keep-alive connection may wait for its next request, or leave an answer unread,
    /// before it is closed (milliseconds; 0: no limit).
    #[arg(long, env = "MOCK_IDLE_TIMEOUT_MS", default_value_t = 60_000, value_name = "MS")]
    idle_timeout_ms: u64,
    /// How long a handler may take to answer (milliseconds; 0: no limit): 503 in the vendor's
    /// shape. Above the longest latency a fault rule may inject (60 s).
    #[arg(long, env = "MOCK_HANDLER_TIMEOUT_MS", default_value_t = 90_000, value_name = "MS")]
    handler_timeout_ms: u64,
    /// How many connections each mock keeps open at once; the next is answered 503 and closed.
    /// By default 1024, or less when the open-file limit is low ((limit - 64) / 2).
    #[arg(long, env = "MOCK_MAX_CONNECTIONS", value_name = "N")]
    max_connections: Option<usize>,
    /// The largest request head (request line and headers) in bytes, at least 8192: 431 (414 for
    /// a request line alone that long) in the vendor's shape.
    #[arg(long, env = "MOCK_MAX_HEADER_BYTES", default_value_t = 64 * 1024, value_name = "BYTES")]
    max_header_bytes: usize,
    /// On shutdown, how long open connections may finish their exchange before they are closed
    /// (milliseconds).
    #[arg(long, env = "MOCK_DRAIN_MS", default_value_t = 5_000, value_name = "MS")]
    drain_ms: u64,
}

impl Args {
    /// The server limits of each mock.
    fn limits(&self) -> mock_core::server::Limits {
        let ms = |n: u64| (n > 0).then(|| Duration::from_millis(n));
        mock_core::server::Limits {
            header_timeout: ms(self.header_timeout_ms),
            body_timeout: ms(self.body_timeout_ms),
            idle_timeout: ms(self.idle_timeout_ms),
            handler_timeout: ms(self.handler_timeout_ms),
            max_connections: self
                .max_connections
                .unwrap_or_else(|| mock_core::serving::max_connections_for(2)),
            max_header_bytes: self.max_header_bytes,
            drain: Duration::from_millis(self.drain_ms),
            ..mock_core::server::Limits::default()
        }
    }

    /// The clock a mock's default world starts on (each mock gets its own).
    fn clock(&self) -> Clock {
        // wall-clock-ok: the binary serves real time unless told to start elsewhere.
        let clock = Clock::system();
        if let Some(at) = self.clock_start {
            clock.set(at);
            clock.unfreeze();
        }
        if self.clock_frozen {
            clock.set(clock.now());
        }
        clock
    }

    /// `builder` with the settings both mocks share: seed, size, scale, clock, anchor, control
    /// API, world cap, journal size and time-driven rules in the background.
    fn common<V: mock_core::world::Vendor>(
        &self,
        builder: mock_core::harness::Builder<V>,
        anchor: NaiveDate,
    ) -> mock_core::harness::Builder<V> {
        builder
            .seed(self.seed)
            .size(self.size)
            .scale(self.scale)
            .clock(self.clock())
            .anchor_date(anchor)
            .control_api(!self.no_control_api)
            .max_worlds(self.max_worlds)
            .journal_capacity(self.journal_capacity)
            // While a clock runs, invoices fall due and claims are reviewed as time passes.
            .background_rules(true)
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Logs go to stderr (stdout carries the banner a script may read), coloured only on a
    // terminal.
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn")))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Args::parse();
    if args.scenario.as_deref() == Some("list") {
        use mock_core::world::Vendor;
        let all = mock_payt::world::Payt::default()
            .scenarios()
            .into_iter()
            .chain(mock_paywise::world::Paywise::default().scenarios());
        for s in all {
            println!(
                "{}\n    {}\n",
                s.name,
                s.about.split_whitespace().collect::<Vec<_>>().join(" ")
            );
        }
        return Ok(());
    }
    // Before any world starts its webhook dispatchers: each takes the TLS options in force then.
    mock_core::delivery::set_default_tls(mock_core::delivery::TlsOptions {
        ca_file: args.webhook_ca_file.clone(),
        insecure: args.webhook_insecure,
    })
    .map_err(|e| anyhow::anyhow!(e))?;
    if args.webhook_insecure {
        tracing::warn!("webhook deliveries accept any TLS certificate (--webhook-insecure)");
    }
    for url in &args.payt_webhooks {
        mock_core::delivery::check_url(url).map_err(|e| anyhow::anyhow!("--payt-webhook {url}: {e}"))?;
    }
    let anchor = args.anchor_date.unwrap_or_else(|| args.clock().today());

    // Before the banner: a SIGTERM from a script that has read it must find the handler.
    let stop_signal = mock_core::server::shutdown_signal()
        .map_err(|e| anyhow::anyhow!("cannot listen for Ctrl-C and SIGTERM: {e}"))?;
    let payt_listener = TcpListener::bind(args.payt_addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {} for Payt: {e}", args.payt_addr))?;
    let paywise_listener = TcpListener::bind(args.paywise_addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {} for paywise: {e}", args.paywise_addr))?;
    let payt_bound = payt_listener.local_addr()?;
    let paywise_bound = paywise_listener.local_addr()?;

    let control = !args.no_control_api;
    // The two mocks are generated side by side (a large world takes seconds each).
    let started = std::time::Instant::now();
    let build_payt = || {
        let built = args
            .common(mock_payt::MockPayt::builder(), anchor)
            .rate_limit(args.payt_rate_limit)
            .configure(|p| {
                p.token = args.payt_token.clone();
                p.options.integer_ids = args.payt_integer_ids;
                p.webhooks = args
                    .payt_webhooks
                    .iter()
                    .map(|url| (url.clone(), args.payt_webhook_secret.clone()))
                    .collect();
            })
            .build();
        (built, started.elapsed())
    };
    let build_paywise = || {
        let built = args
            .common(mock_paywise::MockPaywise::builder(), anchor)
            .configure(|p| {
                p.token = args.paywise_token.clone();
                p.production_token = args.paywise_production_token.clone();
                p.lenient = args.paywise_lenient.iter().fold(p.lenient, |l, rule| l.with(*rule));
            })
            .build();
        (built, started.elapsed())
    };
    // The paywise thread enters the runtime, so that its default world starts its webhook
    // dispatchers (they need a tokio runtime; without one no webhook would ever be delivered).
    let runtime = tokio::runtime::Handle::current();
    let (((payt_worlds, payt), payt_ms), ((paywise_worlds, paywise), paywise_ms)) = std::thread::scope(|s| {
        let paywise = s.spawn(|| {
            let _entered = runtime.enter();
            build_paywise()
        });
        let payt = build_payt();
        let paywise = paywise
            .join()
            .map_err(|_| anyhow::anyhow!("generating the paywise data failed"))?;
        anyhow::Ok((payt, paywise))
    })?;

    if let Some(name) = &args.scenario {
        use mock_core::world::Vendor;
        let timeline = if payt_worlds.vendor().scenarios().iter().any(|s| s.name == name) {
            payt_worlds.load_scenario(&payt_worlds.default_world(), name).await
        } else if paywise_worlds.vendor().scenarios().iter().any(|s| s.name == name) {
            paywise_worlds
                .load_scenario(&paywise_worlds.default_world(), name)
                .await
        } else {
            anyhow::bail!("no scenario {name:?}: run with --scenario list to see them");
        }
        .map_err(|e| anyhow::anyhow!("scenario {name}: {e}"))?;
        println!(
            "scenario      {name} loaded into the default world ({} changes by the rules)",
            timeline.len()
        );
    }
    let state_file = match &args.state_file {
        Some(path) => {
            let file = Arc::new(StateFile::new(
                path,
                vec![payt_worlds.clone() as Arc<dyn Persisted>, paywise_worlds.clone()],
                args.clock(),
            ));
            match file.load() {
                Ok(true) => println!("state         loaded from {}", path.display()),
                Ok(false) => println!("state         {} (new; saved after changes)", path.display()),
                Err(e) => anyhow::bail!("{e}"),
            }
            file.autosave(Duration::from_millis(args.state_save_ms.max(1)));
            Some(file)
        }
        None => None,
    };

    println!("Payt mock     http://{payt_bound}/v1/  (also /api/v1/)");
    println!(
        "  token       Authorization: Bearer {}  (read-only: {})",
        args.payt_token,
        mock_payt::READONLY_TOKEN
    );
    println!(
        "  basic auth  {}:{}  (companies, sign_up)",
        mock_payt::resources::companies::CLIENT_ID,
        mock_payt::resources::companies::CLIENT_SECRET
    );
    println!(
        "  try         curl -H 'Authorization: Bearer {}' 'http://{payt_bound}/v1/credit_cases?administration_id=81&per_page=2'",
        args.payt_token
    );
    println!("paywise mock  http://{paywise_bound}/v1/");
    println!(
        "  token       Authorization: Bearer {}  (test mode; production: {})",
        args.paywise_token, args.paywise_production_token
    );
    println!(
        "  try         curl -H 'Authorization: Bearer {}' 'http://{paywise_bound}/v1/claims/?limit=2'",
        args.paywise_token
    );
    if control {
        println!(
            "control API   http://{payt_bound}/_mock/  and  http://{paywise_bound}/_mock/  (OpenAPI: /_mock/openapi.json)"
        );
        println!("dashboard     http://{payt_bound}/_mock/dashboard/  and  http://{paywise_bound}/_mock/dashboard/");
        println!("  worlds      X-Mock-World: <name>, or base URL http://{payt_bound}/_mock/w/<name>");
        println!("  reset       curl -X POST http://{payt_bound}/_mock/reset");
        println!("  back office POST http://{paywise_bound}/_mock/paywise/claims/<id>/advance");
        println!(
            "  webhooks    Payt: http://{payt_bound}/_mock/payt/webhooks ({} from --payt-webhook)",
            args.payt_webhooks.len()
        );
    }
    if args.scale > 0 {
        let mib = resident_bytes().map_or_else(|| "?".to_string(), |b| format!("{}", b / (1024 * 1024)));
        println!(
            "generated     payt {} ms, paywise {} ms, side by side (resident {mib} MiB)",
            payt_ms.as_millis(),
            paywise_ms.as_millis(),
        );
    }
    println!(
        "seed {}, size {}, scale {}, fixtures anchored at {anchor}; Ctrl-C stops both",
        args.seed, args.size, args.scale
    );

    let (stop_tx, _) = tokio::sync::broadcast::channel::<()>(1);
    let mut stop_payt = stop_tx.subscribe();
    let mut stop_paywise = stop_tx.subscribe();
    let options = |renderer| mock_core::server::ServeOptions::new(renderer).limits(args.limits());
    let payt_options = options(mock_core::world::Vendor::renderer(payt_worlds.vendor()));
    let paywise_options = options(mock_core::world::Vendor::renderer(paywise_worlds.vendor()));
    let payt_task = tokio::spawn(mock_core::server::serve(
        payt_listener,
        payt,
        payt_options,
        async move {
            let _ = stop_payt.recv().await;
        },
    ));
    let paywise_task = tokio::spawn(mock_core::server::serve(
        paywise_listener,
        paywise,
        paywise_options,
        async move {
            let _ = stop_paywise.recv().await;
        },
    ));
    stop_signal.await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(());
    payt_task.await??;
    paywise_task.await??;
    if let Some(file) = state_file {
        file.save()
            .map_err(|e| anyhow::anyhow!("cannot save the state file {}: {e}", file.path().display()))?;
        println!("state         saved to {}", file.path().display());
    }
    Ok(())
}

/// The process's resident memory (`VmRSS` of `/proc/self/status`), where the system tells it.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mock_paywise::state::LenientRule;

    #[test]
    fn paywise_lenient_takes_a_list_of_rules() {
        let args = Args::parse_from(["mocks", "--paywise-lenient", "totals,iban"]);
        assert_eq!(args.paywise_lenient, [LenientRule::Totals, LenientRule::Iban]);
        assert!(Args::parse_from(["mocks"]).paywise_lenient.is_empty());
        assert!(Args::try_parse_from(["mocks", "--paywise-lenient", "everything"]).is_err());
    }
}
