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

    /// Where the generator stands: the next sequence number and the position of its UUID stream, as
    /// plain data for a world's snapshot.
    pub fn state(&self) -> IdState {
        let rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        IdState {
            next: self.next.load(Ordering::Relaxed),
            seed: hex::encode(rng.get_seed()),
            stream: rng.get_stream(),
            word_pos: rng.get_word_pos().to_string(),
        }
    }

    /// A generator standing where `state` says.
    pub fn from_state(state: &IdState) -> Result<Self, String> {
        let g = Self::new(0, 0);
        g.restore(state)?;
        Ok(g)
    }

    /// Moves the generator to `state` (what [`Self::state`] returned); on an invalid state nothing
    /// changes.
    pub fn restore(&self, state: &IdState) -> Result<(), String> {
        let seed = parse_seed(&state.seed).ok_or("ids.seed must be 64 hex digits")?;
        let word_pos: u128 = state
            .word_pos
            .parse()
            .map_err(|_| "ids.word_pos must be a decimal integer".to_string())?;
        let mut rng = ChaCha8Rng::from_seed(seed);
        rng.set_stream(state.stream);
        rng.set_word_pos(word_pos);
        *self.rng.lock().unwrap_or_else(PoisonError::into_inner) = rng;
        self.next.store(state.next, Ordering::Relaxed);
        Ok(())
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

/// An [`IdGen`]'s position as plain data (see [`IdGen::state`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IdState {
    /// The next sequence number.
    pub next: u64,
    /// The UUID generator's ChaCha seed, 64 hex digits.
    pub seed: String,
    /// The ChaCha stream.
    pub stream: u64,
    /// How many 32-bit words of the stream were used (a decimal string: it is a `u128`).
    pub word_pos: String,
}

fn parse_seed(digits: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(digits, &mut out).ok()?;
    Some(out)
}

/// `len` random lowercase hex characters from the operating system's random source: for what signs
/// or authenticates (webhook secrets, one-time codes, upload signatures). Unlike [`IdGen::hex`] they
/// do not follow from the seed, which is public (the default is 42), so a user who knows it cannot
/// forge a signature.
pub fn secret_hex(len: usize) -> String {
    let mut bytes = vec![0u8; len.div_ceil(2)];
    secret_fill(&mut bytes);
    let mut out = hex::encode(&bytes);
    out.truncate(len);
    out
}

/// `n` random bytes from the operating system's random source (see [`secret_hex`]).
pub fn secret_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    secret_fill(&mut bytes);
    bytes
}

fn secret_fill(bytes: &mut [u8]) {
    if let Err(e) = getrandom::fill(bytes) {
        // Not expected on any platform the mock runs on; the thread generator is seeded from the
        // operating system too.
        tracing::warn!("the operating system's random source failed ({e}); using the thread generator");
        rand::rng().fill_bytes(bytes);
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
    fn a_restored_generator_goes_on_where_the_captured_one_stood() {
        let a = IdGen::new(3, 50);
        a.uuid();
        a.next_seq();
        let state = a.state();
        let b = IdGen::from_state(&state).expect("valid state");
        assert_eq!(a.uuid(), b.uuid());
        assert_eq!(a.next_seq(), b.next_seq());
        assert!(
            b.restore(&IdState {
                seed: "zz".into(),
                ..state
            })
            .is_err()
        );
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
