//! What the tests of this crate share: the source-reading guards' file walk, and running the
//! binary ([`binary`]).

use std::path::{Path, PathBuf};

pub mod binary;

/// Every `.rs` file under `dir`, recursively (none if `dir` cannot be read).
pub fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}
