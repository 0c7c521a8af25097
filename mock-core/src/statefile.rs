//! The state file: every world of every mock in one JSON file that survives restarts.
//!
//! `--state-file PATH` loads the file at start (if it exists) and saves it on shutdown and shortly
//! after every change. A save writes a temporary file beside the target, flushes it to disk
//! (`fsync`), renames it over the target and flushes the directory, so the file on disk is always
//! either the previous complete state or the new complete state, even if the process is killed
//! mid-save. A file that is empty, truncated, not JSON, of another format version or for mocks
//! this program does not run is refused with a message saying what is wrong; it is never replaced
//! silently.
//!
//! ```json
//! {"format": "payt-paywise-mocks/state", "version": 1, "saved_at": "2026-11-01T09:00:00.000Z",
//!  "mocks": {"payt": {"worlds": {"default": {<snapshot>}}}, "paywise": {"worlds": {...}}}}
//! ```
//!
//! Each world is a snapshot as `GET /_mock/snapshot` writes it (see [`crate::world`]).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};

use crate::world::{Vendor, Worlds};

/// The state file format's name.
pub const STATE_FORMAT: &str = "payt-paywise-mocks/state";
/// The version of [`STATE_FORMAT`] this program reads and writes.
pub const STATE_VERSION: u64 = 1;

/// What the state file needs of one mock's worlds.
pub trait Persisted: Send + Sync {
    /// The mock's name in the file (`payt`, `paywise`).
    fn mock(&self) -> &'static str;
    /// Every world, as JSON.
    fn export(&self) -> serde_json::Result<Value>;
    /// Loads what [`Persisted::export`] wrote.
    fn import(&self, value: Value) -> Result<(), String>;
    /// A number that moves with every change.
    fn revision(&self) -> u64;
}

impl<V: Vendor> Persisted for Worlds<V> {
    fn mock(&self) -> &'static str {
        V::NAME
    }
    fn export(&self) -> serde_json::Result<Value> {
        Worlds::export(self)
    }
    fn import(&self, value: Value) -> Result<(), String> {
        Worlds::import(self, value).map_err(|e| e.to_string())
    }
    fn revision(&self) -> u64 {
        Worlds::revision(self)
    }
}

/// One state file and the mocks it holds.
pub struct StateFile {
    path: PathBuf,
    mocks: Vec<Arc<dyn Persisted>>,
    saved: Mutex<Option<u64>>,
    clock: crate::Clock,
}

static TEMP: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `path` so that `path` holds either its old content or all of `bytes`, never
/// a mix: a temporary file in the same directory, `fsync`, rename, `fsync` of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the state file path names no file"))?
        .to_string_lossy()
        .into_owned();
    let temp = dir.join(format!(
        ".{name}.{}-{}.tmp",
        std::process::id(),
        TEMP.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&temp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&temp, path)?;
        #[cfg(unix)]
        File::open(&dir)?.sync_all()?;
        Ok(())
    })();
    if result.is_err() {
        // The temporary file is ours; a failed save must not leave it behind.
        if let Err(e) = fs::remove_file(&temp)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!("cannot remove {}: {e}", temp.display());
        }
    }
    result
}

impl StateFile {
    /// The state file at `path` for `mocks`; `clock` stamps `saved_at`.
    pub fn new(path: impl Into<PathBuf>, mocks: Vec<Arc<dyn Persisted>>, clock: crate::Clock) -> Self {
        Self {
            path: path.into(),
            mocks,
            saved: Mutex::new(None),
            clock,
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Loads the file into the mocks: `Ok(false)` if there is no file yet, `Ok(true)` once loaded,
    /// and an error naming the file and what is wrong with it otherwise (then nothing changed).
    pub fn load(&self) -> Result<bool, String> {
        self.remove_stale_temporaries();
        let shown = self.path.display();
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(format!("cannot read the state file {shown}: {e}")),
        };
        let value = parse(&bytes).map_err(|e| format!("the state file {shown} {e}"))?;
        let Value::Object(mut mocks) = value.get("mocks").cloned().unwrap_or(Value::Null) else {
            return Err(format!("the state file {shown} has no \"mocks\" object"));
        };
        let names: Vec<&str> = self.mocks.iter().map(|m| m.mock()).collect();
        if let Some(unknown) = mocks.keys().find(|k| !names.contains(&k.as_str())) {
            return Err(format!(
                "the state file {shown} holds a mock named {unknown:?}, which this program does not run (it runs {})",
                names.join(" and ")
            ));
        }
        for mock in &self.mocks {
            if let Some(part) = mocks.remove(mock.mock()) {
                mock.import(part)
                    .map_err(|e| format!("the state file {shown} cannot be loaded: {}: {e}", mock.mock()))?;
            }
        }
        *self.saved.lock().unwrap_or_else(PoisonError::into_inner) = Some(self.revision());
        Ok(true)
    }

    /// Removes the temporary files of saves a killed process left behind (`.{name}.*.tmp` beside
    /// the file); the file itself is never touched.
    fn remove_stale_temporaries(&self) {
        let (Some(dir), Some(name)) = (self.path.parent(), self.path.file_name()) else {
            return;
        };
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let prefix = format!(".{}.", name.to_string_lossy());
        let Ok(entries) = fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            if file.starts_with(&prefix)
                && file.ends_with(".tmp")
                && let Err(e) = fs::remove_file(entry.path())
            {
                tracing::warn!("cannot remove the stale temporary {file}: {e}");
            }
        }
    }

    fn revision(&self) -> u64 {
        self.mocks.iter().map(|m| m.revision()).fold(0, u64::wrapping_add)
    }

    /// Saves every mock now.
    pub fn save(&self) -> io::Result<()> {
        let revision = self.revision();
        let mut mocks = serde_json::Map::new();
        for mock in &self.mocks {
            mocks.insert(mock.mock().to_string(), mock.export().map_err(io::Error::other)?);
        }
        let doc = json!({
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "saved_at": crate::control::timestamp(self.clock.now()),
            "mocks": mocks,
        });
        let bytes = serde_json::to_vec(&doc).map_err(io::Error::other)?;
        write_atomic(&self.path, &bytes)?;
        *self.saved.lock().unwrap_or_else(PoisonError::into_inner) = Some(revision);
        Ok(())
    }

    /// Saves if anything changed since the last save or load; whether it saved.
    pub fn save_if_changed(&self) -> io::Result<bool> {
        let last = *self.saved.lock().unwrap_or_else(PoisonError::into_inner);
        if last == Some(self.revision()) {
            return Ok(false);
        }
        self.save().map(|()| true)
    }

    /// Saves every `every` while anything changed, in the background; failures are logged.
    pub fn autosave(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        let file = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let f = file.clone();
                match tokio::task::spawn_blocking(move || f.save_if_changed()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => tracing::error!("cannot save the state file {}: {e}", file.path.display()),
                    Err(e) => tracing::error!("the state file save failed: {e}"),
                }
            }
        })
    }
}

/// The file's JSON, checked for its format and version.
fn parse(bytes: &[u8]) -> Result<Value, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("is empty: it was truncated or is not a state file; move it away to start afresh".into());
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        if e.is_eof() {
            format!(
                "ends early (truncated at line {}, column {}): move it away to start afresh",
                e.line(),
                e.column()
            )
        } else {
            format!("is not valid JSON ({e}): move it away to start afresh")
        }
    })?;
    match value.get("format").and_then(Value::as_str) {
        Some(STATE_FORMAT) => {}
        Some(other) => return Err(format!("is of format {other:?}, not {STATE_FORMAT:?}")),
        None => return Err(format!("is not a state file (no \"format\": \"{STATE_FORMAT}\")")),
    }
    match value.get("version").and_then(Value::as_u64) {
        Some(STATE_VERSION) => Ok(value),
        Some(v) => Err(format!(
            "is version {v}; this program reads version {STATE_VERSION} (start with another --state-file, or the release that wrote it)"
        )),
        None => Err("has no version number".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "mock-core-statefile-{}-{}",
            std::process::id(),
            TEMP.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&d).expect("temp dir");
        d
    }

    #[test]
    fn an_atomic_write_replaces_the_file_and_leaves_no_temporary() {
        let d = dir();
        let p = d.join("state.json");
        write_atomic(&p, b"one").expect("write");
        write_atomic(&p, b"two").expect("write");
        assert_eq!(fs::read(&p).expect("read"), b"two");
        let left: Vec<_> = fs::read_dir(&d).expect("dir").collect();
        assert_eq!(left.len(), 1, "only the state file is left");
        fs::remove_dir_all(&d).expect("clean up");
    }

    #[test]
    fn bad_files_are_refused_with_what_is_wrong() {
        assert!(parse(b"").is_err_and(|e| e.contains("empty")));
        assert!(parse(br#"{"format": "payt-paywise-mocks/state", "vers"#).is_err_and(|e| e.contains("truncated")));
        assert!(parse(b"{]").is_err_and(|e| e.contains("not valid JSON")));
        assert!(parse(br#"{"format": "other"}"#).is_err_and(|e| e.contains("format")));
        assert!(
            parse(br#"{"format": "payt-paywise-mocks/state", "version": 9}"#).is_err_and(|e| e.contains("version 9"))
        );
        assert!(parse(br#"{"format": "payt-paywise-mocks/state", "version": 1, "mocks": {}}"#).is_ok());
    }

    #[test]
    fn a_missing_file_is_no_error_and_a_bad_one_is_left_alone() {
        let d = dir();
        let p = d.join("state.json");
        let f = StateFile::new(&p, Vec::new(), crate::testing::frozen());
        assert_eq!(f.load(), Ok(false));
        fs::write(&p, b"{\"format\": \"payt-paywise-mocks/state\", \"version\": 1, \"mo").expect("write");
        assert!(
            f.load()
                .is_err_and(|e| e.contains("state.json") && e.contains("truncated"))
        );
        assert!(
            fs::read(&p).expect("still there").ends_with(b"\"mo"),
            "a refused file is not replaced"
        );
        fs::remove_dir_all(&d).expect("clean up");
    }
}
