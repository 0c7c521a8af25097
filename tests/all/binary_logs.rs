//! The binary's logs go to stderr, as the README says (stdout carries only the banner a script
//! reads), without terminal colour codes when stderr is not a terminal, and without the token a
//! request carried (tests/all/redaction.rs proves the latter for every way a client sends one).

use crate::common::binary;

use std::io::{Read, Write};
use std::process::Stdio;
use std::time::Duration;

#[test]
fn logs_go_to_stderr_without_colour_codes_or_tokens() {
    let mut child = binary::command()
        .args(["--size", "0"])
        .env("RUST_LOG", "info,tower_http=debug")
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).map(|_| text)
    });
    let banner = binary::banner(&mut child);
    let payt = banner.addr("Payt mock     ");
    let (mut out, rx) = (banner.lines, banner.rest);
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
