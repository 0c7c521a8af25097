//! `--scenario`: the binary lists the scenarios of both mocks, loads one into its mock's default
//! world at start, and refuses an unknown name saying how to see them.

use crate::common::binary;

use std::process::Command;

fn binary() -> Command {
    binary::command()
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
    let out = binary()
        .args(["--scenario", "nope"])
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--scenario list"), "{err}");
}

#[test]
fn a_scenario_is_loaded_into_the_default_world_at_start() {
    let mut child = binary()
        .args(["--scenario", "payt-missed-term"])
        .spawn()
        .expect("starts");
    let banner = binary::banner(&mut child);
    let payt = banner.url("Payt mock     ");
    let banner = banner.lines;
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
