//! `--state-file`: the binary keeps every world of both mocks in one file, saved atomically, so a
//! process killed at any moment (SIGKILL, mid-save) leaves a file the next start loads, a clean
//! stop saves everything, and a broken file stops the start without being replaced.
//!
//! These tests run the real binary (`CARGO_BIN_EXE_payt-paywise-mocks`) on ports the OS picks,
//! on a clock started at the test epoch, and read the bound addresses from its banner.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

const TOKEN: &str = "payt_test_token";

struct Mock {
    child: Child,
    payt: String,
    banner: Vec<String>,
    lines: mpsc::Receiver<String>,
}

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ppm-state-{name}-{}", std::process::id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("clear the scratch directory");
    }
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

fn command(state: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_payt-paywise-mocks"));
    c.args([
        "--payt-addr",
        "127.0.0.1:0",
        "--paywise-addr",
        "127.0.0.1:0",
        "--anchor-date",
        "2026-11-01",
        "--clock-start",
        mock_core::testing::EPOCH,
        "--state-file",
    ])
    .arg(state)
    .args(extra)
    .env("RUST_LOG", "warn")
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    c
}

/// Starts the binary and waits for its banner; `Err(stderr)` if it exits instead.
fn start(state: &Path, extra: &[&str]) -> Result<Mock, String> {
    let mut child = command(state, extra).spawn().expect("the binary starts");
    let stdout = child.stdout.take().expect("piped stdout");
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
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => {
                let done = line.starts_with("seed ");
                banner.push(line);
                if done {
                    break;
                }
            }
            Err(_) => {
                let status = child.wait().expect("the binary ended");
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    e.read_to_string(&mut err).expect("stderr");
                }
                return Err(format!("exit {status}: {err}"));
            }
        }
    }
    let payt = banner
        .iter()
        .find_map(|l| l.strip_prefix("Payt mock     ").and_then(|r| r.split("/v1/").next()))
        .expect("the banner names the Payt address")
        .to_string();
    Ok(Mock {
        child,
        payt,
        banner,
        lines: rx,
    })
}

impl Mock {
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    fn terminate(mut self) -> String {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        assert!(status.success());
        let exit = self.child.wait().expect("exits");
        assert!(exit.success(), "a SIGTERM ends the mock cleanly: {exit}");
        // The reader thread ends with the process's stdout.
        self.lines.iter().collect::<Vec<_>>().join("\n")
    }
}

/// When the file was last replaced (`None` while there is none).
fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

async fn create_debtor(client: &reqwest::Client, base: &str, world: &str, number: &str) {
    let res = client
        .post(format!("{base}/v1/debtors"))
        .bearer_auth(TOKEN)
        .header("x-mock-world", world)
        .json(&json!({"administration_id": 81, "debtors": [
            {"debtor_number": number, "name": "Bewaard", "debtor_identifier": format!("ext-{number}")}
        ]}))
        .send()
        .await
        .expect("the mock answers");
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap_or_default());
}

async fn has_debtor(client: &reqwest::Client, base: &str, world: &str, number: &str) -> bool {
    let res = client
        .get(format!(
            "{base}/v1/debtors/{number}?administration_id=81&identifier_type=debtor_number"
        ))
        .bearer_auth(TOKEN)
        .header("x-mock-world", world)
        .send()
        .await
        .expect("the mock answers");
    match res.status().as_u16() {
        200 => true,
        404 => false,
        s => panic!("unexpected status {s}"),
    }
}

#[test]
fn sigkill_during_saves_always_leaves_a_loadable_state_file() {
    let dir = scratch("sigkill");
    let state = dir.join("state.json");
    let rt = runtime();
    let client = reqwest::Client::new();
    let mut created: Vec<String> = Vec::new();
    let mut kept_before = 0;
    let mut saw_a_file = false;
    // Saves as soon as anything changed (every millisecond); a save of the default worlds takes
    // long enough that the kills land in the middle of saves as well as between them (a save
    // that wrote in place would leave a torn file here).
    for round in 0..4 {
        let mock = start(&state, &["--state-save-ms", "1"])
            .unwrap_or_else(|e| panic!("round {round}: the state file did not load: {e}"));
        assert!(
            round == 0 || mock.banner.iter().any(|l| l.contains("loaded from")),
            "round {round} loads the file: {:?}",
            mock.banner
        );
        let kept = rt.block_on(async {
            let mut kept = 0;
            for n in &created {
                if has_debtor(&client, &mock.payt, "default", n).await {
                    kept += 1;
                }
            }
            for i in 0..(3 + round * 3) {
                let n = format!("S-{round}-{i}");
                create_debtor(&client, &mock.payt, "default", &n).await;
                created.push(n);
            }
            kept
        });
        // Every start sees at least what the one before it saw: a save only ever replaces the
        // file with a newer complete state.
        assert!(
            kept >= kept_before,
            "round {round}: {kept} debtors kept, before {kept_before}"
        );
        kept_before = kept;
        // Wait until a save that started after these writes has landed (the file changes), then
        // write once more, so that the kill lands while that change is being saved.
        let before = modified(&state);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while modified(&state) == before {
            assert!(std::time::Instant::now() < deadline, "round {round}: no save landed");
            std::thread::yield_now();
        }
        rt.block_on(async {
            let n = format!("S-{round}-last");
            create_debtor(&client, &mock.payt, "default", &n).await;
            created.push(n);
        });
        saw_a_file |= state.exists();
        mock.kill();
        let stray: Vec<_> = std::fs::read_dir(&dir)
            .expect("dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != "state.json")
            .collect();
        assert!(
            stray.len() <= 1,
            "at most the one interrupted temporary is left: {stray:?}"
        );
    }
    assert!(saw_a_file, "the mock saved at all");
    assert!(kept_before > 0, "records survived the kills");
    // The last start removes what a killed save left behind.
    let mock = start(&state, &[]).expect("loads");
    mock.kill();
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn a_clean_stop_saves_every_world_and_a_restart_loads_them() {
    let dir = scratch("sigterm");
    let state = dir.join("state.json");
    let rt = runtime();
    let client = reqwest::Client::new();
    // A long save interval: only the save on shutdown can have written the last change.
    let mock = start(&state, &["--state-save-ms", "600000"]).expect("starts");
    assert!(mock.banner.iter().any(|l| l.contains("(new; saved after changes)")));
    rt.block_on(async {
        create_debtor(&client, &mock.payt, "default", "T-default").await;
        create_debtor(&client, &mock.payt, "ci-1", "T-ci").await;
        let res = client
            .post(format!("{}/_mock/clock", mock.payt))
            .header("x-mock-world", "ci-1")
            .json(&json!({"action": "set", "at": "2027-03-01T12:00:00Z"}))
            .send()
            .await
            .expect("answers");
        assert_eq!(res.status(), 200);
    });
    let out = mock.terminate();
    assert!(out.contains("saved to"), "{out}");

    let mock = start(&state, &[]).expect("loads");
    assert!(mock.banner.iter().any(|l| l.contains("loaded from")));
    rt.block_on(async {
        assert!(has_debtor(&client, &mock.payt, "default", "T-default").await);
        assert!(!has_debtor(&client, &mock.payt, "default", "T-ci").await);
        assert!(has_debtor(&client, &mock.payt, "ci-1", "T-ci").await);
        let worlds: Value = client
            .get(format!("{}/_mock/worlds", mock.payt))
            .send()
            .await
            .expect("answers")
            .json()
            .await
            .expect("json");
        let names: Vec<&str> = worlds["worlds"]
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(|w| w["name"].as_str())
            .collect();
        assert_eq!(names, ["ci-1", "default"]);
        let clock: Value = client
            .get(format!("{}/_mock/clock", mock.payt))
            .header("x-mock-world", "ci-1")
            .send()
            .await
            .expect("answers")
            .json()
            .await
            .expect("json");
        assert_eq!(clock["today"], "2027-03-01", "the world's clock was kept: {clock}");
    });
    mock.kill();
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn a_broken_state_file_stops_the_start_and_is_left_alone() {
    let dir = scratch("broken");
    let state = dir.join("state.json");
    let cases: [(&[u8], &str); 5] = [
        (b"", "empty"),
        (br#"{"format": "payt-paywise-mocks/state", "version": 1, "mocks": {"payt": {"wor"#, "truncated"),
        (br#"{"format": "payt-paywise-mocks/state", "version": 2, "mocks": {}}"#, "version 2"),
        (br#"{"format": "something-else", "version": 1}"#, "format"),
        (
            br#"{"format": "payt-paywise-mocks/state", "version": 1, "mocks": {"payt": {"worlds": {"default": {"format": "payt-paywise-mocks/world", "version": 1, "vendor": "payt", "world": "default", "seed": {"seed": 1, "size": 1, "anchor": "2026-11-01"}, "clock": {"mode": "running", "offset_ms": 0}, "data": {"db": {}, "ids": {"next": 1, "seed": "00", "stream": 0, "word_pos": "0"}, "tokens": {}}}}}}}"#,
            "ids",
        ),
    ];
    for (content, says) in cases {
        std::fs::write(&state, content).expect("write");
        let err = match start(&state, &[]) {
            Ok(m) => {
                m.kill();
                panic!("a broken file ({says}) was accepted")
            }
            Err(e) => e,
        };
        assert!(err.contains("state.json"), "the message names the file: {err}");
        assert!(err.contains(says), "the message says what is wrong ({says}): {err}");
        assert_eq!(
            std::fs::read(&state).expect("still there"),
            content,
            "the file is left alone"
        );
    }
    std::fs::remove_dir_all(&dir).expect("clean up");
}
