//! Running the mock binary from a test: the command every such test starts from, and its banner.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The binary on ephemeral ports, on a clock frozen at the test epoch, logging warnings only,
/// with stdout piped (for [`banner`]) and stderr discarded; callers add their flags.
pub fn command() -> Command {
    with_defaults(Command::new(env!("CARGO_BIN_EXE_payt-paywise-mocks")))
}

/// [`command`], run with the soft open-file limit lowered to `limit` (by the shell's `ulimit`).
pub fn command_with_open_files(limit: u32) -> Command {
    let mut c = Command::new("sh");
    c.args(["-c", &format!("ulimit -n {limit} && exec \"$0\" \"$@\"")])
        .arg(env!("CARGO_BIN_EXE_payt-paywise-mocks"));
    with_defaults(c)
}

fn with_defaults(mut c: Command) -> Command {
    c.args(["--payt-addr", "127.0.0.1:0", "--paywise-addr", "127.0.0.1:0"])
        .args(["--clock-start", mock_core::testing::EPOCH, "--clock-frozen"])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    c
}

/// The banner a started binary printed, and the rest of its stdout as it comes.
pub struct Banner {
    pub lines: Vec<String>,
    pub rest: mpsc::Receiver<String>,
}

impl Banner {
    /// The base URL (`http://host:port`) the banner gives `mock` (`"Payt mock     "`,
    /// `"paywise mock  "`: the line's prefix).
    pub fn url(&self, mock: &str) -> String {
        self.lines
            .iter()
            .find_map(|l| l.strip_prefix(mock).and_then(|r| r.split("/v1/").next()))
            .unwrap_or_else(|| panic!("{mock:?} in {:?}", self.lines))
            .to_string()
    }

    /// [`Self::url`] without its scheme: `host:port`.
    pub fn addr(&self, mock: &str) -> String {
        self.url(mock).trim_start_matches("http://").to_string()
    }
}

/// Reads `child`'s stdout up to the banner's last line (`seed ...`), waiting at most a minute.
pub fn banner(child: &mut Child) -> Banner {
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    loop {
        let line = rx.recv_timeout(Duration::from_secs(60)).expect("the banner");
        let done = line.starts_with("seed ");
        lines.push(line);
        if done {
            break;
        }
    }
    Banner { lines, rest: rx }
}
