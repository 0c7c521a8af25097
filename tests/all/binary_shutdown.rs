//! The binary stops within its drain deadline on SIGTERM even while clients hold partial
//! requests (issue 16: it once waited 40 s and more for a client that had sent one byte of a
//! 1000-byte body), answers a request hyper cannot read in the vendor's shape, and keeps serving
//! when it runs out of file descriptors (it once stopped answering for good).

use crate::common::binary;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts the binary (no fixtures, `drain_ms` of drain) and returns it with the Payt and paywise
/// addresses from its banner.
fn start(drain_ms: u64) -> (Child, String, String) {
    let mut child = binary::command()
        .args(["--size", "0", "--drain-ms", &drain_ms.to_string()])
        .spawn()
        .expect("the binary starts");
    let banner = binary::banner(&mut child);
    let payt = banner.addr("Payt mock     ");
    let paywise = banner.addr("paywise mock  ");
    (child, payt, paywise)
}

fn exchange(addr: &str, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    s.write_all(request).expect("write");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn sigterm_with_stalled_clients_exits_within_the_drain_deadline() {
    let drain = Duration::from_millis(500);
    let (mut child, payt, paywise) = start(drain.as_millis() as u64);
    // A malformed request gets each vendor's JSON error.
    let answer = exchange(&payt, b"GARBAGE\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains("\"code\":\"invalid_parameter\""), "{answer}");
    let answer = exchange(&paywise, b"GARBAGE\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains("{\"detail\":"), "{answer}");

    // One byte of a 1000-byte body, a partial head, and an idle keep-alive connection.
    let mut stalled_body = TcpStream::connect(&payt).expect("connect");
    stalled_body
        .write_all(
            b"POST /_mock/reset HTTP/1.1\r\nhost: a\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{",
        )
        .expect("write");
    let mut partial_head = TcpStream::connect(&paywise).expect("connect");
    partial_head
        .write_all(b"GET /v1/claims/ HTTP/1.1\r\nhost: a\r\n")
        .expect("write");
    let mut idle = TcpStream::connect(&payt).expect("connect");
    idle.write_all(b"GET /v1/nothing HTTP/1.1\r\nhost: a\r\n\r\n")
        .expect("write");
    idle.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let mut first = [0u8; 12];
    idle.read_exact(&mut first).expect("an answer");
    assert_eq!(&first, b"HTTP/1.1 404");

    let started = Instant::now();
    let pid = child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
    assert!(status.success());
    let exit = exit_of(&mut child);
    let took = started.elapsed();
    assert!(exit.success(), "exit {exit}");
    assert!(took < drain + Duration::from_secs(3), "SIGTERM took {took:?}");
    drop((stalled_body, partial_head, idle));
}

/// Waits up to 20 s for `child` to exit and returns how it did.
fn exit_of(child: &mut Child) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(exit) = child.try_wait().expect("waits") {
            return exit;
        }
        if started.elapsed() > Duration::from_secs(20) {
            child.kill().ok();
            panic!("still running {:?} after SIGTERM", started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_the_moment_the_banner_is_read_is_a_clean_stop() {
    // CI once saw the binary die of SIGTERM's default action: the handler was installed only
    // when the main task first waited for it, after the banner and the servers. Now it is
    // installed before the banner, so a script that reads the banner and stops the mock at
    // once always gets a clean stop (and a saved state file).
    let dir = std::env::temp_dir().join(format!("ppm-sigterm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let state = dir.join("state.json");
    for _ in 0..5 {
        let mut child = binary::command()
            .args(["--size", "0"])
            .arg("--state-file")
            .arg(&state)
            .spawn()
            .expect("the binary starts");
        let banner = binary::banner(&mut child);
        let pid = child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        assert!(status.success());
        let exit = exit_of(&mut child);
        assert!(exit.success(), "exit {exit}");
        let saved = banner.rest.recv_timeout(Duration::from_secs(5)).expect("a last line");
        assert!(saved.starts_with("state         saved to "), "{saved}");
    }
    std::fs::remove_dir_all(&dir).expect("clear the scratch directory");
}

#[test]
fn out_of_file_descriptors_the_binary_logs_it_and_serves_again_once_some_are_free() {
    // 160 open files and a connection cap above that: accepting runs into EMFILE.
    let mut child = binary::command_with_open_files(160)
        .args(["--size", "0", "--max-connections", "1000"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, log) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let banner = binary::banner(&mut child);
    let payt = banner.addr("Payt mock     ");
    let get = b"GET /v1/nothing HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n";
    assert!(exchange(&payt, get).starts_with("HTTP/1.1 404"));

    // Idle connections until the mock cannot accept more: it says so on stderr.
    let mut idle: Vec<TcpStream> = (0..200).map(|_| TcpStream::connect(&payt).expect("connect")).collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    let reported = loop {
        match log.recv_timeout(Duration::from_millis(100)) {
            Ok(line) if line.contains("accept error") => break line,
            Ok(_) => {}
            Err(_) if Instant::now() > deadline => panic!("no accept error with 200 connections and 160 files"),
            Err(_) => idle.push(TcpStream::connect(&payt).expect("connect")),
        }
    };
    assert!(reported.contains("still serving"), "{reported}");

    // A client that arrives now waits in the listen queue...
    let mut waiting = TcpStream::connect(&payt).expect("connect");
    waiting.write_all(get).expect("write");
    // ...and is answered once the idle connections go, as is everyone after it.
    drop(idle);
    waiting
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut answer = Vec::new();
    let _ = waiting.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    assert!(exchange(&payt, get).starts_with("HTTP/1.1 404"));
    let paywise = banner.addr("paywise mock  ");
    assert!(exchange(&paywise, b"GET /v1/ HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n").starts_with("HTTP/1.1 "));
    child.kill().ok();
    child.wait().ok();
}
