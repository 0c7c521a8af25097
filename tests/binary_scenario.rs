//! `--scenario`: the binary lists the scenarios of both mocks, loads one into its mock's default
//! world at start, and refuses an unknown name saying how to see them.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn binary() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_payt-paywise-mocks"));
    c.args(["--payt-addr", "127.0.0.1:0", "--paywise-addr", "127.0.0.1:0"])
        .args(["--clock-start", mock_core::testing::EPOCH, "--clock-frozen"])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    c
}

#[test]
fn list_names_every_scenario_of_both_mocks() {
    let out = binary().args(["--scenario", "list"]).output().expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for name in [
        "payt-overdue-invoices",
        "payt-case-at-summons",
        "payt-missed-term",
        "paywise-claim-question",
        "paywise-judicial-mandate",
    ] {
        assert!(text.lines().any(|l| l == name), "{name} in {text}");
    }
}

#[test]
fn an_unknown_scenario_stops_the_start() {
    let out = binary().args(["--scenario", "nope"]).output().expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--scenario list"), "{err}");
}

#[test]
fn a_scenario_is_loaded_into_the_default_world_at_start() {
    let mut child = binary()
        .args(["--scenario", "payt-missed-term"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut banner = Vec::new();
    loop {
        let line = rx.recv_timeout(Duration::from_secs(60)).expect("the banner");
        let done = line.starts_with("seed ");
        banner.push(line);
        if done {
            break;
        }
    }
    let payt = banner
        .iter()
        .find_map(|l| l.strip_prefix("Payt mock     ").and_then(|r| r.split("/v1/").next()))
        .expect("the Payt address")
        .to_string();
    assert!(
        banner
            .iter()
            .any(|l| l.starts_with("scenario      payt-missed-term loaded")),
        "{banner:?}"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let status = runtime.block_on(async {
        reqwest::Client::new()
            .get(format!(
                "{payt}/v1/invoices/SC-PLAN-1?administration_id=81&identifier_type=invoice_number"
            ))
            .bearer_auth("payt_test_token")
            .send()
            .await
            .expect("answers")
            .status()
    });
    child.kill().ok();
    child.wait().ok();
    assert_eq!(status, 200);
}
