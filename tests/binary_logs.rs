//! The binary's logs go to stderr, as the README says (stdout carries only the banner a script
//! reads), without terminal colour codes when stderr is not a terminal, and without the token a
//! request carried (tests/redaction.rs proves the latter for every way a client sends one).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn logs_go_to_stderr_without_colour_codes_or_tokens() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_payt-paywise-mocks"))
        .args([
            "--payt-addr",
            "127.0.0.1:0",
            "--paywise-addr",
            "127.0.0.1:0",
            "--size",
            "0",
        ])
        .args(["--clock-start", mock_core::testing::EPOCH, "--clock-frozen"])
        .env("RUST_LOG", "info,tower_http=debug")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).map(|_| text)
    });
    let mut out = Vec::new();
    loop {
        let line = rx.recv_timeout(Duration::from_secs(60)).expect("the banner");
        let done = line.starts_with("seed ");
        out.push(line);
        if done {
            break;
        }
    }
    let payt = out
        .iter()
        .find_map(|l| l.strip_prefix("Payt mock     ").and_then(|r| r.split("/v1/").next()))
        .expect("the Payt address")
        .trim_start_matches("http://")
        .to_string();
    // One request with the token, by hand: tower_http logs it at debug.
    let mut s = std::net::TcpStream::connect(&payt).expect("connects");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("a timeout");
    s.write_all(
        b"GET /v1/administrations/81 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer payt_test_token\r\nConnection: close\r\n\r\n",
    )
    .expect("sent");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("an answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    child.kill().expect("stops");
    child.wait().expect("exits");
    let logged = errors.join().expect("the reader").expect("stderr text");
    out.extend(rx.try_iter());
    assert!(
        logged.contains("finished processing request") && logged.contains("status=200"),
        "the request is logged on stderr: {logged}"
    );
    assert!(!logged.contains('\u{1b}'), "no colour codes: {logged:?}");
    assert!(!logged.contains("payt_test_token"), "{logged}");
    assert!(
        out.iter().all(|l| !l.contains("processing request")),
        "stdout has no log lines: {out:?}"
    );
}
