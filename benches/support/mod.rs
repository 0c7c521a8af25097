//! What the scale and writes benchmarks share: starting the release binary on free ports on the
//! pinned clock, reading its banner, and polling until a request answers.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

/// The anchor date every run is placed around, and the frozen instant its clock starts at.
pub const ANCHOR: &str = "2026-01-15";
const CLOCK_START: &str = "2026-01-15T12:00:00Z";

/// A started binary: both mocks' origins and every line of its banner. Killed when dropped.
pub struct Started {
    pub child: Child,
    pub payt: String,
    pub paywise: String,
    pub banner: Vec<String>,
}

impl Drop for Started {
    fn drop(&mut self) {
        // SIGKILL: a graceful stop of a large world spends seconds freeing what the OS takes back
        // at once anyway.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `bin` with `extra` arguments on free ports, at [`ANCHOR`] on a frozen clock, and reads
/// its banner (up to the `seed ...` line) by `deadline`.
pub fn start(bin: &Path, extra: &[String], deadline: Instant) -> Result<Started> {
    let mut child = Command::new(bin)
        .args(extra)
        .args(["--payt-addr", "127.0.0.1:0", "--paywise-addr", "127.0.0.1:0"])
        .args(["--anchor-date", ANCHOR, "--clock-start", CLOCK_START, "--clock-frozen"])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // Drained to the end, so the binary never writes into a closed pipe.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // From here on a failure kills the child (the Drop of `Started`).
    let mut started = Started {
        child,
        payt: String::new(),
        paywise: String::new(),
        banner: Vec::new(),
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = rx.recv_timeout(left) else {
            bail!("no complete banner in time");
        };
        if line.starts_with("Payt mock") {
            started.payt = origin(&line).unwrap_or_default();
        } else if line.starts_with("paywise mock") {
            started.paywise = origin(&line).unwrap_or_default();
        }
        let last = line.starts_with("seed ");
        started.banner.push(line);
        if last {
            break;
        }
    }
    if started.payt.is_empty() || started.paywise.is_empty() {
        bail!("the banner names no address");
    }
    Ok(started)
}

/// The origin in a banner line such as `Payt mock     http://127.0.0.1:1234/v1/  (also ...)`.
fn origin(line: &str) -> Option<String> {
    let start = line.find("http://")?;
    let rest = &line[start..];
    let end = rest.find("/v1/")?;
    Some(rest[..end].to_string())
}

/// Polls `url` with `auth` until it answers 2xx (the banner comes before the listeners serve),
/// by `deadline`.
pub async fn wait_ok(client: &reqwest::Client, url: &str, auth: &str, deadline: Instant) -> Result<()> {
    loop {
        if let Ok(r) = client.get(url).header("authorization", auth).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{url}: no answer in time");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}
