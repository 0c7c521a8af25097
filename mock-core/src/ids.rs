//! Id generation: monotonically increasing sequence numbers and deterministic UUIDs.
//!
//! Records are ordered by their sequence number, which is what makes cursor pagination a range
//! lookup. UUIDs come from a seeded ChaCha generator so a seeded mock hands out the same ids on
//! every run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

/// Hands out sequence numbers and UUIDs.
#[derive(Debug)]
pub struct IdGen {
    next: AtomicU64,
    rng: Mutex<ChaCha8Rng>,
}

impl IdGen {
    /// A generator whose first sequence number is `first` and whose UUIDs derive from `seed`.
    pub fn new(seed: u64, first: u64) -> Self {
        Self {
            next: AtomicU64::new(first),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed ^ 0x05ee_d1d5)),
        }
    }

    /// The next sequence number.
    pub fn next_seq(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// Makes sure the next sequence number is above `seen` (after loading fixtures).
    pub fn bump_past(&self, seen: u64) {
        self.next.fetch_max(seen.saturating_add(1), Ordering::Relaxed);
    }

    /// A random (version 4) UUID drawn from the seeded generator.
    pub fn uuid(&self) -> Uuid {
        let mut bytes = [0u8; 16];
        self.rng
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .fill_bytes(&mut bytes);
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    /// `len` random lowercase hex characters, for secrets and tokens.
    pub fn hex(&self, len: usize) -> String {
        let mut out = String::with_capacity(len);
        while out.len() < len {
            out.push_str(&self.uuid().simple().to_string());
        }
        out.truncate(len);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_uuids_repeat() {
        let a = IdGen::new(9, 1);
        let b = IdGen::new(9, 1);
        assert_eq!(a.uuid(), b.uuid());
        assert_eq!(a.uuid().get_version_num(), 4);
    }

    #[test]
    fn sequence_is_monotonic_and_bumpable() {
        let g = IdGen::new(1, 10);
        assert_eq!(g.next_seq(), 10);
        g.bump_past(100);
        assert_eq!(g.next_seq(), 101);
        g.bump_past(5);
        assert_eq!(g.next_seq(), 102);
    }
}
