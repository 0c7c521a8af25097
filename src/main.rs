//! One binary that runs the Payt and paywise mocks side by side.
//!
//! ```text
//! cargo run --release                      # both mocks on their default ports
//! cargo run --release -- --payt-addr 127.0.0.1:0 --seed 7
//! ```

use std::net::SocketAddr;

use chrono::NaiveDate;
use clap::Parser;
use mock_core::Clock;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

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
    /// Serve only the vendors' public APIs: no mock-only control routes (`/_mock/...`).
    #[arg(long, env = "MOCK_NO_CONTROL_API")]
    no_control_api: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn")))
        .init();
    let args = Args::parse();
    let clock = Clock::system();
    let anchor = args.anchor_date.unwrap_or_else(|| clock.today());

    let payt_listener = TcpListener::bind(args.payt_addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {} for Payt: {e}", args.payt_addr))?;
    let paywise_listener = TcpListener::bind(args.paywise_addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {} for paywise: {e}", args.paywise_addr))?;
    let payt_bound = payt_listener.local_addr()?;
    let paywise_bound = paywise_listener.local_addr()?;

    let payt = mock_payt::app_with(
        mock_payt::state(args.seed, anchor, &args.payt_token, clock.clone()),
        mock_payt::Options {
            integer_ids: args.payt_integer_ids,
        },
    );
    let mut paywise_state = mock_paywise::state(
        args.seed,
        anchor,
        &args.paywise_token,
        &args.paywise_production_token,
        clock,
    );
    paywise_state.lenient = args
        .paywise_lenient
        .iter()
        .fold(paywise_state.lenient, |l, rule| l.with(*rule));
    mock_paywise::resources::webhooks::start_background(&paywise_state);
    let paywise = mock_paywise::app_with(
        paywise_state,
        mock_paywise::Options {
            control: !args.no_control_api,
        },
    );

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
    if !args.no_control_api {
        println!(
            "  control     POST http://{paywise_bound}/_mock/paywise/claims/<id>/advance  (mock-only back office)"
        );
    }
    println!("seed {}, fixtures anchored at {anchor}; Ctrl-C stops both", args.seed);

    let (stop_tx, _) = tokio::sync::broadcast::channel::<()>(1);
    let mut stop_payt = stop_tx.subscribe();
    let mut stop_paywise = stop_tx.subscribe();
    let payt_task = tokio::spawn(mock_core::server::serve(payt_listener, payt, async move {
        let _ = stop_payt.recv().await;
    }));
    let paywise_task = tokio::spawn(mock_core::server::serve(paywise_listener, paywise, async move {
        let _ = stop_paywise.recv().await;
    }));
    mock_core::server::shutdown_signal().await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(());
    payt_task.await??;
    paywise_task.await??;
    Ok(())
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
