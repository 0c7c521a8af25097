//! The bytes of records already written: a page of records that have not changed since they were
//! last shown costs a copy of their bytes, not their serialization (which is most of a page's
//! cost: a page of 100 invoices is 136 KB of escaped, formatted JSON).
//!
//! Only the default projection (no `fields`) is kept, the form a sync loop reads over and over.
//! An entry is found by the record's allocation and confirmed by it:
//!
//! - it holds a [`Weak`] to the record, so the allocation cannot be reused by another record
//!   while the entry lives, and the same address is the same allocation;
//! - a stored record never changes in place while an entry points at it: the store changes a
//!   record with `Arc::make_mut`, which moves a record that has weak references into a new
//!   allocation, so a changed record is a new address and a miss;
//! - the entry keeps the overrides it was written with (an invoice's `debtor_number`, say, which
//!   comes from another record) and the resource's opt-in list; an answer with other values is a
//!   miss and replaces it.
//!
//! So a hit gives the very bytes writing the record would give. The cache holds at most
//! [`CAPACITY`] records (about 15 MB of bytes for invoices, plus the records it keeps allocated);
//! when full it starts over.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};

use serde_json::Value;

/// The most records the cache holds.
pub const CAPACITY: usize = 8192;

/// What a record was written with, and the bytes.
struct Entry {
    record: Weak<dyn Any + Send + Sync>,
    opt_in: usize,
    overrides: Vec<(&'static str, Value)>,
    bytes: Arc<[u8]>,
}

/// Every entry by the address of its record.
static CACHE: LazyLock<Mutex<HashMap<usize, Entry>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// The address a record is found by.
fn address<V>(record: &Arc<V>) -> usize {
    Arc::as_ptr(record).cast::<u8>() as usize
}

/// One record to write: the shared record, the resource's opt-in list and the overrides.
pub struct Item<'a, V> {
    /// The record as the store shares it.
    pub record: &'a Arc<V>,
    /// The resource's opt-in properties (`OPT_IN`), part of what the bytes depend on.
    pub opt_in: &'a [&'a str],
    /// Values shown instead of the record's own.
    pub overrides: &'a [(&'static str, Value)],
}

/// The bytes of each item written before with the same opt-in list and overrides, `None` for the
/// others.
pub fn lookup<V: Send + Sync + 'static>(items: &[Item<'_, V>]) -> Vec<Option<Arc<[u8]>>> {
    let cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    items
        .iter()
        .map(|item| {
            let e = cache.get(&address(item.record))?;
            let same = e.record.as_ptr().cast::<u8>() as usize == address(item.record)
                && e.record.strong_count() > 0
                && e.opt_in == item.opt_in.as_ptr() as usize
                && e.overrides.as_slice() == item.overrides;
            same.then(|| Arc::clone(&e.bytes))
        })
        .collect()
}

/// Keeps the bytes `item` was just written as.
pub fn keep<V: Send + Sync + 'static>(written: Vec<(&Item<'_, V>, Arc<[u8]>)>) {
    if written.is_empty() {
        return;
    }
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    if cache.len() + written.len() > CAPACITY {
        cache.clear();
    }
    for (item, bytes) in written {
        let record: Weak<dyn Any + Send + Sync> = Arc::downgrade(item.record) as Weak<dyn Any + Send + Sync>;
        cache.insert(
            address(item.record),
            Entry {
                record,
                opt_in: item.opt_in.as_ptr() as usize,
                overrides: item.overrides.to_vec(),
                bytes,
            },
        );
    }
}
