//! `contract-report`: turns the journal of the last contract run into the drift report.
//!
//! ```text
//! contract-tests/report [--all] [--require-coverage] [--vendor payt|paywise] [--dir DIR]
//! ```
//!
//! (`contract-tests/report` runs this binary as `cargo test --workspace` builds it; `cargo run -p
//! contract-tests --bin contract-report -- ...` works too but compiles the graph again with the
//! features of contract-tests alone.)
//!
//! Prints the report, writes `report.json` and `junit.xml` beside the journal, and exits 1 when an
//! endpoint or a test failed (or, with `--require-coverage`, when an endpoint had no test).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use contract_tests::contract::{Contract, Vendor};
use contract_tests::{journal, report};

fn main() -> ExitCode {
    let mut all = false;
    let mut require_coverage = false;
    let mut dir: Option<PathBuf> = None;
    let mut vendors = vec![Vendor::Payt, Vendor::Paywise];
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--all" => all = true,
            "--require-coverage" => require_coverage = true,
            "--dir" => dir = args.next().map(PathBuf::from),
            "--vendor" => match args.next().as_deref() {
                Some("payt") => vendors = vec![Vendor::Payt],
                Some("paywise") => vendors = vec![Vendor::Paywise],
                Some("all") => {}
                other => {
                    eprintln!("contract-report: --vendor takes payt, paywise or all, not {other:?}");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                println!("usage: contract-report [--all] [--require-coverage] [--vendor payt|paywise] [--dir DIR]");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("contract-report: unknown argument {other:?} (try --help)");
                return ExitCode::from(2);
            }
        }
    }
    let dir = dir.unwrap_or_else(journal::report_dir);
    let entries = match report::read_journal(&dir) {
        Ok(entries) if !entries.is_empty() => entries,
        Ok(_) | Err(_) => {
            eprintln!(
                "contract-report: no journal in {}: run the contract suite first (just contract)",
                dir.display()
            );
            return ExitCode::from(2);
        }
    };
    let target = std::env::var("CONTRACT_TARGET").unwrap_or_else(|_| "mock".into());
    let contracts: Vec<&Contract> = vendors.into_iter().map(Contract::of).collect();
    let report = report::build(&entries, &contracts, &target);

    // Write errors (a closed pipe: `| head`) are not worth a panic.
    let mut stdout = std::io::stdout().lock();
    let _ = write!(stdout, "{}", report.to_text(all));
    let json = serde_json::to_string_pretty(&report).unwrap_or_default();
    for (name, text) in [("report.json", json), ("junit.xml", report.to_junit())] {
        let path = dir.join(name);
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("contract-report: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    let _ = writeln!(
        stdout,
        "\nWrote {} and {}",
        dir.join("report.json").display(),
        dir.join("junit.xml").display()
    );

    let uncovered = report.not_covered();
    if require_coverage && !uncovered.is_empty() {
        eprintln!("{} endpoints have no contract test:", uncovered.len());
        for e in uncovered {
            eprintln!("  {} {}", e.vendor.name(), e.operation);
        }
        return ExitCode::FAILURE;
    }
    if report.failed() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
